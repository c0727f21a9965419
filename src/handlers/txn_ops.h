/*
 * txn_ops.h: how the transaction APIs reach the transaction coordinator:
 * a transactional id lives in the shard of one __transaction_state
 * partition (rn_txn_partition_for), on the core owning that partition. A
 * handler sends its op there (cluster/fanout.h); the op runs against the
 * shard on that core and replies, now or once the shard's record is
 * durable, with rn_txnop_reply; the response goes out on the request's
 * core once every op has replied.
 *
 * Ops of one request may run on several cores at once: they write only
 * their own parts of the response and keep what they allocate on the heap
 * until `finish`, on the request's core, moves it into the request's
 * arena.
 */
#ifndef RN_HANDLERS_TXN_OPS_H
#define RN_HANDLERS_TXN_OPS_H

#include "cluster/fanout.h"
#include "handlers/handler.h"
#include "txn/coordinator.h"

typedef struct rn_txnop rn_txnop_t;
typedef struct rn_txnops rn_txnops_t;

struct rn_txnop {
    rn_part_op_t op;
    rn_txnops_t *ops;
    int32_t partition; /* of __transaction_state */
    /* On the owner core; must lead to exactly one rn_txnop_reply. */
    void (*run)(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node);
    void *ctx; /* the handler's */
};

struct rn_txnops {
    rn_fanout_t fan;
    rn_req_t *req;
    void *resp;
    rn_ptable_t *table;
    /* Optional, on the request's core before the response is written. */
    void (*finish)(rn_txnops_t *ops);
    void *ctx;
};

rn_txnops_t *rn_txnops_begin(rn_core_t *core, rn_req_t *req, void *resp);
/* Sends top to the shard of transactional id `id`: NONE, or (nothing
   sent) COORDINATOR_NOT_AVAILABLE when the coordinator is not running,
   NOT_COORDINATOR when this node keeps no replica of the id's partition. */
int16_t rn_txnops_send(rn_txnops_t *ops, rn_txnop_t *top, rn_str_t id,
                       void (*run)(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node));
/* Sends top to shard `partition` directly (ListTransactions visits them
   all): as rn_txnops_send. */
int16_t rn_txnops_send_partition(rn_txnops_t *ops, rn_txnop_t *top, int32_t partition,
                                 void (*run)(rn_txnop_t *top, rn_txn_coord_t *coord,
                                             rn_node_t *node));
void rn_txnops_end(rn_txnops_t *ops);
/* On the owner core: this op is answered. */
void rn_txnop_reply(rn_txnop_t *top);

/* Kafka before KIP-588's versions: PRODUCER_FENCED reads as
   INVALID_PRODUCER_EPOCH to a client older than `first_fenced_version`. */
int16_t rn_txnops_fenced_kerr(int16_t kerr, int16_t version, int16_t first_fenced_version);

#endif
