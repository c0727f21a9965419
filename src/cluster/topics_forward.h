/*
 * topics_forward.h: a node's own topic creations (the internal topics at
 * start, topics auto-created for a client's Metadata) written as the
 * CreateTopics request a client would send, so that a node which is not
 * the active controller forwards them there (a broker-only node, or any
 * node when the active controller is controller-only), and the
 * controller's answer read back into the results.
 */
#ifndef RN_CLUSTER_TOPICS_FORWARD_H
#define RN_CLUSTER_TOPICS_FORWARD_H

#include "base/buf.h"
#include "cluster/metadata_rt.h"
#include "metadata/controller.h"

/* The CreateTopics version of a forwarded creation (non-flexible, with
   error messages; every Runnel node serves it). */
#define RN_TOPICS_FORWARD_VERSION 4

/* Encodes a CreateTopics body for topics[0..count) into raw (initialised
   here; the caller frees it) and points op's api_key, api_version and raw
   at it, so the runtime may forward op. */
void rn_topics_forward_prepare(rn_admin_op_t *op, const rn_ctl_new_topic_t *topics, int32_t count,
                               rn_buf_t *raw);
/* After op was answered: when the leader answered it (op->forwarded), its
   per-topic errors into results[0..count) (matched by name; a topic the
   answer lacks is UNKNOWN_SERVER_ERROR); frees the answer. */
void rn_topics_forward_results(rn_admin_op_t *op, const rn_ctl_new_topic_t *topics, int32_t count,
                               rn_ctl_topic_result_t *results);

#endif
