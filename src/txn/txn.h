/*
 * txn.h: Kafka's transaction coordinator as a pure state machine: the
 * transactional ids of ONE __transaction_state partition (a "shard",
 * rn_txn_coord_t), each mapped to a producer id and epoch, with its
 * transaction's state and partitions.
 *
 * States, as Kafka's TransactionState (the number is the one the log
 * stores): Empty 0, Ongoing 1, PrepareCommit 2, PrepareAbort 3,
 * CompleteCommit 4, CompleteAbort 5, Dead 6, PrepareEpochFence 7 (never
 * stored). Every change is a transition: the shard computes the next
 * metadata, hands it to the `store` hook (a record to append to its
 * partition) and holds the transaction "pending" until rn_txn_stored says
 * the record is durable (or failed); meanwhile every other request for that
 * id gets CONCURRENT_TRANSACTIONS, as Kafka's pendingState. A request then
 * gets its answer through its waiter.
 *
 * A prepared transaction (PrepareCommit, PrepareAbort) completes through
 * the `markers` hook: the runtime writes the markers and calls
 * rn_txn_markers_done, and the shard stores CompleteCommit/CompleteAbort.
 * Without the hook it completes at once.
 *
 * Driven only by calls and a `now_ms`; on one thread (the partition's owner
 * core); never touches a log, a socket or a clock.
 */
#ifndef RN_TXN_TXN_H
#define RN_TXN_TXN_H

#include "base/err.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum rn_txn_state {
    RN_TXN_EMPTY = 0,
    RN_TXN_ONGOING = 1,
    RN_TXN_PREPARE_COMMIT = 2,
    RN_TXN_PREPARE_ABORT = 3,
    RN_TXN_COMPLETE_COMMIT = 4,
    RN_TXN_COMPLETE_ABORT = 5,
    RN_TXN_DEAD = 6,
    RN_TXN_PREPARE_EPOCH_FENCE = 7,
} rn_txn_state_t;

/* Kafka's name of a state ("Ongoing", ...). */
const char *rn_txn_state_name(rn_txn_state_t state);

/* One partition of a transaction; topic is a heap string. */
typedef struct rn_txn_tp {
    char *topic;
    int32_t partition;
} rn_txn_tp_t;

/* What a transactional id's record stores (Kafka's TransactionLogValue). */
typedef struct rn_txn_meta {
    int64_t producer_id;
    int64_t prev_producer_id;    /* before an epoch overflow gave a new id; -1 */
    int16_t producer_epoch;      /* -1: none yet */
    int16_t last_producer_epoch; /* in memory only (KIP-360 retries); -1 */
    int32_t timeout_ms;
    rn_txn_state_t state;
    rn_txn_tp_t *parts; /* owned */
    int32_t part_count;
    int32_t part_cap;
    int64_t start_ms; /* the transaction's first partition; -1 */
    int64_t update_ms;
} rn_txn_meta_t;

void rn_txn_meta_init(rn_txn_meta_t *meta);
void rn_txn_meta_free(rn_txn_meta_t *meta);
/* Deep copy into an initialized dst (its partitions are replaced). */
void rn_txn_meta_copy(rn_txn_meta_t *dst, const rn_txn_meta_t *src);
/* Adds a partition unless present. */
void rn_txn_meta_add(rn_txn_meta_t *meta, rn_str_t topic, int32_t partition);
bool rn_txn_meta_has(const rn_txn_meta_t *meta, rn_str_t topic, int32_t partition);

typedef struct rn_txn_coord rn_txn_coord_t;
typedef struct rn_txn rn_txn_t;
typedef struct rn_txn_waiter rn_txn_waiter_t;

/* A request's answer: a Kafka code, or store_err (not RN_OK) when the
   record could not be written (the handler maps it); the producer id and
   epoch the transactional id has now. Called exactly once per call that
   took the waiter, maybe within that call. */
struct rn_txn_waiter {
    void (*done)(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t producer_id,
                 int16_t producer_epoch);
};

typedef struct rn_txn_hooks {
    void *ctx;
    /* Append the record of id's next metadata (state Dead: a tombstone);
       answer with rn_txn_stored. */
    void (*store)(void *ctx, const char *id, const rn_txn_meta_t *meta);
    /* Write the markers of a prepared transaction; answer with
       rn_txn_markers_done. NULL: none to write. */
    void (*markers)(void *ctx, const char *id, const rn_txn_meta_t *meta);
} rn_txn_hooks_t;

typedef struct rn_txn_config {
    int32_t max_timeout_ms;   /* transaction.max.timeout.ms */
    int64_t id_expiration_ms; /* transactional.id.expiration.ms */
} rn_txn_config_t;

rn_txn_coord_t *rn_txn_coord_new(const rn_txn_config_t *cfg, const rn_txn_hooks_t *hooks);
/* Frees the shard; parked waiters get NOT_COORDINATOR. */
void rn_txn_coord_free(rn_txn_coord_t *coord);
/* Frees without answering (shutdown: the requests are gone). */
void rn_txn_coord_discard(rn_txn_coord_t *coord);

/* NONE while serving; else what every request gets (NOT_COORDINATOR,
   COORDINATOR_LOAD_IN_PROGRESS). */
void rn_txn_coord_set_refusal(rn_txn_coord_t *coord, int16_t kerr);
int16_t rn_txn_coord_refusal(const rn_txn_coord_t *coord);

/* Loading: applies a stored record (meta NULL: a tombstone). */
void rn_txn_load(rn_txn_coord_t *coord, rn_str_t id, const rn_txn_meta_t *meta);
/* After loading: prepared transactions complete (markers again). */
void rn_txn_loaded(rn_txn_coord_t *coord, int64_t now_ms);

/* InitProducerId with a transactional id. The caller checked the id is not
   empty and the timeout; expected_pid/epoch are -1 unless the producer
   names its current ones (KIP-360). new_pid: a fresh producer id when
   rn_txn_init_needs_pid said so, else -1. */
void rn_txn_init_pid(rn_txn_coord_t *coord, rn_str_t id, int32_t timeout_ms, int64_t expected_pid,
                     int16_t expected_epoch, int64_t new_pid, rn_txn_waiter_t *w, int64_t now_ms);
/* Whether rn_txn_init_pid would need a fresh producer id now. */
bool rn_txn_init_needs_pid(const rn_txn_coord_t *coord, rn_str_t id, int16_t expected_epoch);

/* AddPartitionsToTxn (and AddOffsetsToTxn: the group's offsets partition);
   one answer for all the partitions. */
void rn_txn_add_partitions(rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id,
                           int16_t producer_epoch, const rn_txn_tp_t *parts, int32_t count,
                           rn_txn_waiter_t *w, int64_t now_ms);
/* AddPartitionsToTxn v4+ verify_only (KIP-890): NONE when every partition
   is in the ongoing transaction of that producer, else the error. */
int16_t rn_txn_verify_partition(const rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id,
                                int16_t producer_epoch, rn_str_t topic, int32_t partition);

/* EndTxn from a client. */
void rn_txn_end(rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id, int16_t producer_epoch,
                bool commit, rn_txn_waiter_t *w, int64_t now_ms);

/* transaction.timeout.ms: every ongoing transaction older than its timeout
   (from its first partition) is aborted by the coordinator, its producer
   fenced (epoch + 1), as Kafka's abortTimedOutTransactions. Returns how
   many. */
int32_t rn_txn_expire(rn_txn_coord_t *coord, int64_t now_ms);

/* transactional.id.expiration.ms: every id with no transaction (Empty or
   complete) not used for that long is removed: stored as Dead (a tombstone
   in the log), then forgotten, as Kafka's removeExpiredTransactionalIds.
   Returns how many were started. */
int32_t rn_txn_expire_ids(rn_txn_coord_t *coord, int64_t now_ms);

/* The store hook's record for id is durable (RN_OK) or failed. */
void rn_txn_stored(rn_txn_coord_t *coord, const char *id, rn_err_t err, int64_t now_ms);
/* The markers of id's prepared transaction are written. */
void rn_txn_markers_done(rn_txn_coord_t *coord, const char *id, int64_t now_ms);

/* Read access (tests, DescribeTransactions, checkpoints). */
int32_t rn_txn_coord_count(const rn_txn_coord_t *coord);
/* The i-th id and its current metadata. */
const char *rn_txn_coord_id_at(const rn_txn_coord_t *coord, int32_t i);
const rn_txn_meta_t *rn_txn_coord_meta_at(const rn_txn_coord_t *coord, int32_t i);
/* The current metadata of id, NULL if unknown. */
const rn_txn_meta_t *rn_txn_find(const rn_txn_coord_t *coord, rn_str_t id);

#endif
