/*
 * coordinator_int.h: the runtime structs shared by coordinator.c (the
 * topic, shards, loading, writes) and txn_markers.c (the markers of
 * prepared transactions). Nothing outside src/txn/ includes this.
 */
#ifndef RN_TXN_COORDINATOR_INT_H
#define RN_TXN_COORDINATOR_INT_H

#include "txn/coordinator.h"

typedef struct rn_txn_shard {
    rn_node_t *node;
    int32_t index;
    rn_partition_t *part; /* referenced; NULL: no replica here */
    int32_t leader_epoch; /* the epoch it was loaded for; -1: not serving */
    uint64_t load_gen;    /* bumped at each (un)load: older writes are ignored */
    rn_txn_coord_t *coord;
    rn_buf_t key;
    rn_buf_t value;
    rn_timer_t expire_timer; /* transaction.timeout.ms, while serving */
    int64_t ids_check_ms;    /* when idle transactional ids are next expired */
    /* The marker writes of its prepared transactions (txn_markers.c). */
    struct rn_txn_marker_job *jobs;
} rn_txn_shard_t;

struct rn_txn_rt {
    rn_node_t *node;
    int32_t count;
    rn_txn_shard_t *shards;
};

/* The shard of partition p, NULL when the coordinator is gone. */
rn_txn_shard_t *rn_txn_shard_of(rn_node_t *node, int32_t p);

/* The markers hook: writes the prepared transaction's markers to its
   partitions (retrying what fails for a reason that passes), then reports
   rn_txn_markers_done to the shard, on a later turn of the owner core. */
void rn_txn_markers_begin(rn_txn_shard_t *shard, const char *id, const rn_txn_meta_t *meta);
/* Forgets the shard's marker writes (it unloads or stops): those in
   flight finish and are dropped. */
void rn_txn_markers_drop(rn_txn_shard_t *shard);

#endif
