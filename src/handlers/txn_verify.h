/*
 * txn_verify.h: KIP-890 part 1 on this broker: before a producer's first
 * transactional write to a partition (a Produce batch, a TxnOffsetCommit's
 * offsets), the partition's owner core asks the transactional id's
 * coordinator shard whether that partition is in the producer's ongoing
 * transaction (rn_txn_verify_partition), on the shard's core, and goes on
 * when the answer is back.
 *
 * The caller embeds rn_txn_verify_t and keeps it until `done`, which runs
 * on the core that started the check.
 */
#ifndef RN_HANDLERS_TXN_VERIFY_H
#define RN_HANDLERS_TXN_VERIFY_H

#include "cluster/fanout.h"
#include "cluster/ptable.h"

typedef struct rn_txn_verify rn_txn_verify_t;
struct rn_txn_verify {
    rn_fanout_t fan; /* internal */
    rn_part_op_t op; /* internal */
    int32_t shard;   /* internal: the __transaction_state partition */
    rn_str_t txn_id; /* the caller's, alive until done */
    int64_t producer_id;
    int16_t producer_epoch;
    rn_str_t topic;
    int32_t partition;
    /* The coordinator's answer: NONE, INVALID_TXN_STATE (not in the
       transaction), INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, or a
       coordinator error (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
       COORDINATOR_LOAD_IN_PROGRESS). */
    int16_t kerr;
    void (*done)(rn_txn_verify_t *verify);
};

/* Starts the check from core `from`; false (nothing started) when the
   transactional id's coordinator is not on this node (the image names
   another leader of its partition, or none: the check is skipped, there is
   no broker-to-broker verification yet). The table must hold the
   partitions until done. */
bool rn_txn_verify_start(rn_txn_verify_t *verify, rn_core_t *from, rn_ptable_t *table);

#endif
