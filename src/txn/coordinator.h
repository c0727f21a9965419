/*
 * coordinator.h: the transaction coordinator in the running broker: one
 * transaction shard (txn.h) per partition of __transaction_state, living on
 * the core that owns that partition, serving while this node leads the
 * partition, loaded from its log at each new leader epoch, and writing each
 * transition there before it answers (on every in-sync replica: the
 * partition's high watermark passes the record).
 *
 * Threads. A shard is touched only on its partition's owner core: the
 * handlers get there with a partition op (cluster/fanout.h) on the
 * __transaction_state partition of the transactional id
 * (rn_txn_partition_for). Every function below but rn_txn_start,
 * rn_txn_stop, rn_txn_partition_for and rn_txn_partition_count runs there.
 *
 * Compaction: the topic is cleanup.policy=compact (the log cleaner keeps
 * the latest record per transactional id).
 */
#ifndef RN_TXN_COORDINATOR_H
#define RN_TXN_COORDINATOR_H

#include "cluster/node.h"
#include "txn/txn.h"

#define RN_TXN_STATE_TOPIC "__transaction_state"

typedef struct rn_txn_rt rn_txn_rt_t;

/* Creates __transaction_state if absent and makes a shard per partition,
   serving nothing until rn_txn_lead. Call once at start-up, after
   rn_group_start. */
rn_err_t rn_txn_start(rn_node_t *node);
/* Frees every shard (parked requests are not answered: call once the
   loops and connections are stopped, before the partitions are closed). */
void rn_txn_stop(rn_node_t *node);

/* On part's owner core, as the image gives a partition of
   __transaction_state its leadership (as rn_group_lead). */
void rn_txn_lead(rn_node_t *node, rn_partition_t *part, bool leads, int32_t leader_epoch);

/* Kafka's partition of a transactional id: abs(javaStringHashCode(id)) %
   count, the same hash as a group's. */
int32_t rn_txn_partition_for(rn_str_t id, int32_t partition_count);
/* The number of __transaction_state partitions (0 before start). */
int32_t rn_txn_partition_count(const rn_node_t *node);

/* The shard of partition p; NULL if the coordinator is not running or the
   node keeps no replica of p. Owner core of p only. */
rn_txn_coord_t *rn_txn_shard(rn_node_t *node, int32_t p);
/* The monotonic clock shards run on. */
int64_t rn_txn_now_ms(const rn_node_t *node);

#endif
