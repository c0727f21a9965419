/*
 * topics.h: topic lifecycle on this node: metadata changes through the
 * controller (validated, logged, applied to the image) and the matching
 * live partitions (opened, grown, retired) published as a new partition
 * table. All calls take the node's admin lock; they run on any loop thread.
 * Results are Kafka error codes, with a message where Kafka gives one.
 */
#ifndef RN_CLUSTER_TOPICS_H
#define RN_CLUSTER_TOPICS_H

#include "cluster/node.h"
#include "proto/kerr.h"
#include "proto/wire.h"

#include <stdbool.h>

#define RN_TOPICS_ERRMSG_BYTES 256

typedef struct rn_topic_spec {
    rn_str_t name;
    int32_t partitions;          /* -1: num.partitions */
    int16_t replication_factor;  /* -1: default.replication.factor */
    const rn_str_t *config_keys; /* count entries each */
    const rn_str_t *config_values;
    int32_t config_count;
    bool validate_only;
} rn_topic_spec_t;

/* Opens every topic of the metadata image at start-up (recovering logs). */
rn_err_t rn_topics_open_all(rn_node_t *node);
/* Closes every partition cleanly (shutdown). */
void rn_topics_close_all(rn_node_t *node);

bool rn_topics_name_valid(rn_str_t name);
bool rn_topics_is_internal(const char *name);

/* Creates a topic; on success *out_partitions gets the count used. */
int16_t rn_topics_create(rn_node_t *node, const rn_topic_spec_t *spec, int32_t *out_partitions,
                         char *errmsg, size_t errmsg_len);
/* Creates `name` with the defaults if auto.create.topics.enable is on:
   NONE when it exists afterwards, else UNKNOWN_TOPIC_OR_PARTITION or the
   validation error. */
int16_t rn_topics_auto_create(rn_node_t *node, rn_str_t name);
int16_t rn_topics_delete(rn_node_t *node, rn_str_t name, char *errmsg, size_t errmsg_len);
int16_t rn_topics_grow(rn_node_t *node, rn_str_t name, int32_t count, bool validate_only,
                       char *errmsg, size_t errmsg_len);

#endif
