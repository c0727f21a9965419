/*
 * txn_verify.h: KIP-890 part 1: before a producer's first transactional
 * write to a partition (a Produce batch, a TxnOffsetCommit's offsets), the
 * partition's owner core asks the transactional id's coordinator whether
 * that partition is in the producer's ongoing transaction, and goes on when
 * the answer is back. A coordinator on this node (the image names it the
 * leader of the id's __transaction_state partition) is asked on its shard's
 * core (rn_txn_verify_partition); one on another broker with
 * AddPartitionsToTxn v5, verify_only, over the core's client to that broker
 * (cluster/peers.h), as Kafka 3.9's brokers do with
 * transaction.partition.verification.enable.
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
       transaction), INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED (or
       INVALID_PRODUCER_EPOCH from another broker), or a coordinator error
       (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
       COORDINATOR_LOAD_IN_PROGRESS). */
    int16_t kerr;
    void (*done)(rn_txn_verify_t *verify);
};

/* Starts the check from core `from` (on its thread); false (nothing
   started, the write goes on unchecked) when the image names no leader of
   the coordinator's partition, or its broker cannot be asked now (no
   listener, the client's queue full). A broker that does not answer is
   COORDINATOR_NOT_AVAILABLE. The table must hold the partitions until
   done. */
bool rn_txn_verify_start(rn_txn_verify_t *verify, rn_core_t *from, rn_ptable_t *table);

#endif
