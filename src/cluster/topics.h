/*
 * topics.h: topic lifecycle on this node: metadata changes through the
 * controller (validated, logged, applied to the image) and the matching
 * live partitions (opened, grown, retired, reconfigured) published as a new
 * partition table. Every call but rn_topics_image takes the node's admin
 * lock; any loop thread may call them. Results are Kafka error codes with
 * Kafka's messages, per item, as the controller gives them.
 */
#ifndef RN_CLUSTER_TOPICS_H
#define RN_CLUSTER_TOPICS_H

#include "cluster/node.h"
#include "metadata/controller.h"
#include "proto/kerr.h"
#include "proto/wire.h"

#include <stdbool.h>

/* Opens the metadata log and every topic of its image (recovering logs). */
rn_err_t rn_topics_open_all(rn_node_t *node);
/* Closes every partition cleanly and the metadata log (shutdown). */
void rn_topics_close_all(rn_node_t *node);

bool rn_topics_name_valid(rn_str_t name);
bool rn_topics_is_internal(const char *name);

void rn_topics_create(rn_node_t *node, const rn_ctl_new_topic_t *topics, int32_t count,
                      bool validate_only, rn_ctl_topic_result_t *results);
/* Creates `name` with the defaults if auto.create.topics.enable is on:
   NONE when it exists afterwards, else UNKNOWN_TOPIC_OR_PARTITION or the
   validation error. */
int16_t rn_topics_auto_create(rn_node_t *node, rn_str_t name);
void rn_topics_delete(rn_node_t *node, const rn_ctl_delete_topic_t *topics, int32_t count,
                      rn_ctl_topic_result_t *results);
void rn_topics_grow(rn_node_t *node, const rn_ctl_new_partitions_t *topics, int32_t count,
                    bool validate_only, rn_ctl_result_t *results);
void rn_topics_alter_configs(rn_node_t *node, const rn_ctl_alter_resource_t *resources,
                             int32_t count, bool incremental, bool validate_only,
                             rn_ctl_result_t *results);
/* The current metadata image, referenced (rn_image_release it); any thread. */
rn_image_t *rn_topics_image(rn_node_t *node);

#endif
