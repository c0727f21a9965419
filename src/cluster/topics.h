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

#include "cluster/metadata_rt.h"
#include "cluster/node.h"
#include "metadata/controller.h"
#include "proto/kerr.h"
#include "proto/wire.h"

#include <stdbool.h>

/* Starts the metadata runtime (the quorum, recovering the metadata log)
   and opens every topic of its image (recovering partition logs). */
rn_err_t rn_topics_open_all(rn_node_t *node, const rn_md_rt_opts_t *opts);
/* Stops the metadata runtime (before the cores stop: it answers them). */
void rn_topics_stop_metadata(rn_node_t *node);
/* Closes every partition cleanly and the controller (shutdown). */
void rn_topics_close_all(rn_node_t *node);
/* Makes the live partitions match the controller's image; admin_lock held. */
rn_err_t rn_topics_reconcile(rn_node_t *node);

bool rn_topics_name_valid(rn_str_t name);
bool rn_topics_is_internal(const char *name);

/* An admin change through the metadata quorum; op->done runs on
   op->reply_loop once it is committed or refused (metadata_rt.h). */
void rn_topics_submit(rn_node_t *node, rn_admin_op_t *op);
/* Creates topics and waits; never on a loop thread (start-up). */
void rn_topics_create(rn_node_t *node, const rn_ctl_new_topic_t *topics, int32_t count,
                      rn_ctl_topic_result_t *results);
/* Asks for `name` with the defaults if auto.create.topics.enable is on, and
   does not wait: NONE when asked for (the topic shows once committed), else
   UNKNOWN_TOPIC_OR_PARTITION or INVALID_TOPIC_EXCEPTION. */
int16_t rn_topics_auto_create(rn_node_t *node, rn_str_t name);
/* The current metadata image, referenced (rn_image_release it); any thread. */
rn_image_t *rn_topics_image(rn_node_t *node);

#endif
