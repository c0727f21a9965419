/*
 * coordinator_int.h: the runtime structs shared by coordinator.c (records,
 * commits, timers, compaction) and coordinator_load.c (start-up, loading,
 * lag). Nothing outside src/group/coordinator*.c includes this.
 */
#ifndef RN_GROUP_COORDINATOR_INT_H
#define RN_GROUP_COORDINATOR_INT_H

#include "group/coordinator.h"
#include "group/group_records.h"

/* Longest sleep of a core's group timer (offset expiry checks, safety). */
#define GROUP_TIMER_MS_MAX 5000

/* An offset of an open transaction (TxnOffsetCommit): its record, applied
   when its producer's COMMIT marker is durable, dropped at ABORT. */
typedef struct rn_group_txn_pending {
    int64_t producer_id;
    rn_bytes_t key; /* heap copies */
    rn_bytes_t value;
} rn_group_txn_pending_t;

typedef struct rn_group_shard {
    rn_node_t *node;
    int32_t index;
    rn_partition_t *part; /* referenced; NULL: no replica here */
    int32_t leader_epoch; /* the epoch it was loaded for; -1: not serving */
    rn_group_coord_t *coord;
    rn_group_batch_t out; /* records produced by the shard, not yet written */
    rn_buf_t key;
    rn_buf_t value;
    int64_t bytes_since_checkpoint;
    int64_t checkpoint_bytes; /* size of the last checkpoint (live state) */
    bool checkpointing;       /* waiting for a checkpoint to be durable */
    int64_t checkpoint_start;
    rn_partition_waiter_t checkpoint_waiter;
    rn_group_txn_pending_t *pending; /* offsets of open transactions */
    int32_t pending_count;
    int32_t pending_cap;
} rn_group_shard_t;

typedef struct rn_group_core {
    rn_group_rt_t *rt;
    int core;
    rn_timer_t timer;
    int64_t armed_ms; /* INT64_MAX: not armed */
} rn_group_core_t;

struct rn_group_rt {
    rn_node_t *node;
    int32_t count;
    rn_group_shard_t *shards;
    rn_group_core_t cores[RN_CORES_MAX];
};

uint64_t rn_group_hook_random(void *ctx);
int64_t rn_group_hook_wall_ms(void *ctx);
void rn_group_hook_group_changed(void *ctx, const rn_group_t *group);
void rn_group_hook_group_removed(void *ctx, const char *group_id);
void rn_group_hook_offset_removed(void *ctx, const char *group_id, const char *topic,
                                  int32_t partition);
void rn_group_hook_group_store(void *ctx, const rn_group_t *group);
/* The per-core timer's function. */
void rn_group_core_tick(rn_timer_t *timer);
/* Pending transactional offsets (coordinator.c): one more record of
   producer_id's transaction; its producer's transaction ends (a COMMIT
   applies its records to the shard, an ABORT drops them); all forgotten. */
void rn_group_pending_add(rn_group_shard_t *shard, int64_t producer_id, rn_bytes_t key,
                          rn_bytes_t value);
void rn_group_pending_end(rn_group_shard_t *shard, int64_t producer_id, bool commit,
                          int64_t now_ms);
void rn_group_pending_clear(rn_group_shard_t *shard);
/* A NUL-terminated heap copy. */
char *rn_group_str_dup(rn_str_t str);

#endif
