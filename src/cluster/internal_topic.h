/*
 * internal_topic.h: creating an internal topic (__consumer_offsets,
 * __transaction_state) at start-up, before the listener opens, and
 * replaying one of its partitions' log when its coordinator shard loads.
 *
 * The controller caps an internal topic's replicas at the brokers present,
 * and the nodes of a new cluster register one by one: the first to start
 * would make it RF 1 for good. So a creation first waits, bounded, for the
 * brokers its replication factor wants (or those this node knows of); the
 * bound runs from the node's start, shared by every internal topic. A
 * node that does not lead the quorum waits for the leader's creation to
 * reach it instead (every node asks for the topic at start; one wins).
 *
 * Creation runs on the starting thread, never on a loop; a replay on the
 * partition's owner core. Owns nothing.
 */
#ifndef RN_CLUSTER_INTERNAL_TOPIC_H
#define RN_CLUSTER_INTERNAL_TOPIC_H

#include "cluster/node.h"
#include "metadata/controller.h"
#include "proto/batch.h"

typedef struct rn_internal_topic {
    const char *name;
    int32_t partitions;
    int16_t replication_factor;
    const char *rf_setting; /* the setting named when fewer brokers came */
    const char *log_module; /* the log lines' module */
    const rn_ctl_config_t *configs;
    int32_t config_count;
} rn_internal_topic_t;

/* Creates the topic unless it exists; RN_ERR_IO (logged) when the
   controller refuses it or none answers in time. */
rn_err_t rn_internal_topic_ensure(rn_node_t *node, const rn_internal_topic_t *spec);
/* Whether the topic is in this node's partition table. */
bool rn_internal_topic_exists(rn_node_t *node, const char *name);
/* The replicas it will get: the factor, capped by the brokers this node
   knows of (a single node: 1). */
int16_t rn_internal_topic_replicas(const rn_node_t *node, int16_t replication_factor);

/* One whole batch of the log (its parsed header, its bytes). An error is
   logged and the batch skipped; the replay goes on. */
typedef rn_err_t (*rn_internal_topic_batch_fn)(void *ctx, const rn_batch_header_t *hdr,
                                               const uint8_t *batch, size_t size);
/* Replays part's log from its start to its end, every whole batch in
   order, through fn (a malformed one is logged under log_module and
   skipped). Returns a read error, after which the replay stops. */
rn_err_t rn_internal_topic_replay(rn_node_t *node, rn_partition_t *part, const char *log_module,
                                  rn_internal_topic_batch_fn fn, void *ctx);

#endif
