/*
 * coordinator.h: the group coordinator in the running broker: one group
 * shard (group.h) per partition of __consumer_offsets, living on the core
 * that owns that partition, persisted to that partition's log and loaded
 * from it at start-up; a timer per core that drives the shards' timeouts;
 * the compaction that keeps the log bounded; and the lag report.
 *
 * Threads. A shard is touched only on its partition's owner core: the
 * handlers get there with a partition op (cluster/fanout.h) on the
 * __consumer_offsets partition of the group (rn_group_partition_for). Every
 * function below but rn_group_start, rn_group_partition_for and
 * rn_group_lag_each runs on that core.
 *
 * Compaction. The shard holds the latest value of every key in memory, so
 * once enough bytes were appended since the last time (at least a segment,
 * and twice the live state), it appends the whole live state again (a
 * checkpoint: every group's metadata and offsets), waits until that is
 * durable, and moves the log start to the checkpoint's first offset
 * (DeleteRecords), which deletes every whole segment before it. What
 * remains is the checkpoint and what followed it: the latest value per key,
 * tombstones dropped, with no change to the storage layer.
 *
 * Never blocks a loop thread; never touches another core's shard.
 */
#ifndef RN_GROUP_COORDINATOR_H
#define RN_GROUP_COORDINATOR_H

#include "cluster/node.h"
#include "group/group.h"

#define RN_GROUP_OFFSETS_TOPIC "__consumer_offsets"
/* A checkpoint is written after at least this many bytes were appended. */
#define RN_GROUP_COMPACT_BYTES_MIN (1024 * 1024)

typedef struct rn_group_rt rn_group_rt_t;

/* Creates __consumer_offsets if absent and makes a shard per partition,
   serving nothing until rn_group_lead (on the calling thread, before the
   loops run). Call once at start-up. */
rn_err_t rn_group_start(rn_node_t *node);

/* Frees every shard (parked requests are not answered: call once the loops
   and connections are stopped, before the partitions are closed). */
void rn_group_stop(rn_node_t *node);

/* On part's owner core, as the image gives a partition of
   __consumer_offsets its leadership: a shard serves the groups of a
   partition this node leads, loaded from its log at each new leader
   epoch, and answers NOT_COORDINATOR otherwise (its groups forgotten). */
void rn_group_lead(rn_node_t *node, rn_partition_t *part, bool leads, int32_t leader_epoch);

/* Kafka's coordinator partition: abs(javaStringHashCode(group_id)) % count,
   with Java's UTF-16 hashing of the id and Utils.abs. */
int32_t rn_group_partition_for(rn_str_t group_id, int32_t partition_count);
/* The number of __consumer_offsets partitions (0 before start). */
int32_t rn_group_partition_count(const rn_node_t *node);

/* The shard of partition p; NULL if the coordinator is not running. Owner
   core of p only. */
rn_group_coord_t *rn_group_shard(rn_node_t *node, int32_t p);
/* After any call into a shard: writes the records it produced and re-arms
   the core's timer for its next deadline. */
void rn_group_shard_done(rn_node_t *node, int32_t p);
/* The monotonic clock shards run on. */
int64_t rn_group_now_ms(const rn_node_t *node);

/* One committed offset of an OffsetCommit. */
typedef struct rn_group_commit_item {
    rn_str_t topic;
    int32_t partition;
    rn_group_offset_t value;
} rn_group_commit_item_t;

/* Appends the offsets to p's log and applies them to the shard; `waiter`
   then completes once they are durable (maybe within this call when acks
   do not wait for fsync). An error means nothing was written and the waiter
   will not be called. */
rn_err_t rn_group_commit(rn_node_t *node, int32_t p, rn_str_t group_id,
                         const rn_group_commit_item_t *items, int32_t count,
                         rn_partition_waiter_t *waiter);
/* TxnOffsetCommit's offsets: one transactional batch of producer_id (its
   epoch) appended to p's log and held pending in the shard until the
   transaction's marker; `waiter` completes once the batch is durable. An
   error means nothing was written (RN_ERR_LIMIT: too many pending). */
rn_err_t rn_group_txn_commit(rn_node_t *node, int32_t p, rn_str_t group_id, int64_t producer_id,
                             int16_t producer_epoch, const rn_group_commit_item_t *items,
                             int32_t count, rn_partition_waiter_t *waiter);
/* On part's owner core, once a transaction marker of producer_id is
   durable on part (a __consumer_offsets partition): its pending offsets
   become the group's (commit) or go (abort). */
void rn_group_txn_complete(rn_node_t *node, rn_partition_t *part, int64_t producer_id, bool commit);

/* Whether an open transaction holds an offset of group_id for
   topic/partition in shard p (OffsetFetch's require_stable). */
bool rn_group_txn_pending(rn_node_t *node, int32_t p, rn_str_t group_id, rn_str_t topic,
                          int32_t partition);

/* Writes a tombstone for one offset and forgets it (OffsetDelete). */
void rn_group_forget_offset(rn_node_t *node, int32_t p, rn_str_t group_id, rn_str_t topic,
                            int32_t partition);

/* Lag per group and partition: the committed offset and the partition's end
   (high watermark; -1 if the partition is gone). For metrics and tools:
   call from a thread that is NOT a loop thread; it asks every core and
   waits for the answers. fn runs on the calling thread. */
typedef void (*rn_group_lag_fn)(void *ctx, const char *group_id, const char *topic,
                                int32_t partition, int64_t committed, int64_t end_offset);
void rn_group_lag_each(rn_node_t *node, rn_group_lag_fn fn, void *ctx);

#endif
