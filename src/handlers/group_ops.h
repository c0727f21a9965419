/*
 * group_ops.h: how the group APIs reach the group coordinator: each group
 * named by a request lives in the shard of one __consumer_offsets partition
 * (rn_group_partition_for), on the core owning that partition. A handler
 * sends one op per group there (cluster/fanout.h); the op runs against the
 * shard on that core and replies, now or later (a JoinGroup waiting for
 * the others), with rn_gop_reply; the response goes out on the request's
 * core once every op has replied.
 *
 * Response memory written on the owner core comes from the request's arena
 * through rn_gops_alloc, one allocation at a time: the ops of one request
 * (ListGroups visits every shard, DescribeGroups one per group) run on
 * several cores at once.
 */
#ifndef RN_HANDLERS_GROUP_OPS_H
#define RN_HANDLERS_GROUP_OPS_H

#include "cluster/fanout.h"
#include "group/coordinator.h"
#include "handlers/handler.h"

typedef struct rn_gop rn_gop_t;
typedef struct rn_gops rn_gops_t;

struct rn_gop {
    rn_part_op_t op;
    rn_gops_t *gops;
    int32_t partition; /* of __consumer_offsets */
    /* On the owner core; must lead to exactly one rn_gop_reply. */
    void (*run)(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node);
    void *ctx; /* the handler's */
};

struct rn_gops {
    rn_fanout_t fan;
    rn_req_t *req;
    void *resp;
    rn_ptable_t *table;
    /* Optional, on the request's core before the response is written. */
    void (*finish)(rn_gops_t *gops);
    void *ctx;
};

rn_gops_t *rn_gops_begin(rn_core_t *core, rn_req_t *req, void *resp);
/* Sends gop to the shard of `group_id`; false (nothing sent) when the
   coordinator is not available. */
bool rn_gops_send(rn_gops_t *gops, rn_gop_t *gop, rn_str_t group_id,
                  void (*run)(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node));
/* Sends gop to shard `partition` directly (ListGroups visits them all). */
bool rn_gops_send_partition(rn_gops_t *gops, rn_gop_t *gop, int32_t partition,
                            void (*run)(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node));
void rn_gops_end(rn_gops_t *gops);
/* On the owner core: this op is answered. */
void rn_gop_reply(rn_gop_t *gop);

/* Arena memory for response parts (asserted: responses are small next to
   the request's budget; callers bound what they copy); safe from the ops'
   cores at once (rn_arena_alloc_shared). */
void *rn_gops_alloc(rn_req_t *req, size_t bytes);
/* An arena copy of a C string (NULL stays a null string). */
rn_str_t rn_gops_str(rn_req_t *req, const char *cstr);
rn_bytes_t rn_gops_bytes(rn_req_t *req, rn_bytes_t bytes);
/* The first OffsetCommit and OffsetFetch version naming topics by id. */
#define RN_GROUP_TOPIC_ID_VERSION 10

/* Topic ids (OffsetCommit and OffsetFetch v10), from the node's metadata
   image, on the request's core: the name of topic `id` as an arena copy
   (a null string when no topic has it), and the id of topic `name`
   (rn_uuid_zero when none). */
rn_str_t rn_gops_topic_name(rn_core_t *core, rn_req_t *req, const rn_uuid_t *id);
rn_uuid_t rn_gops_topic_id(rn_core_t *core, rn_str_t name);
/* The request's client id (from its header) and the client's host. */
rn_str_t rn_gops_client_id(rn_req_t *req);
rn_str_t rn_gops_client_host(rn_req_t *req);

#endif
