/*
 * part_ops.h: the common shape of requests that do one small thing per
 * partition on its owner core (ListOffsets, DeleteRecords,
 * OffsetForLeaderEpoch, DescribeLogDirs): look the partition up, run on the
 * owner writing straight into the response slot, answer when all are back.
 */
#ifndef RN_HANDLERS_PART_OPS_H
#define RN_HANDLERS_PART_OPS_H

#include "cluster/fanout.h"
#include "handlers/handler.h"

typedef struct rn_pop rn_pop_t;

typedef struct rn_pop_batch {
    rn_fanout_t fan;
    rn_req_t *req;
    void *resp;
    rn_ptable_t *table;
    rn_pop_t *sent;    /* every op sent, to release their partitions */
    rn_image_t *image; /* referenced from begin to end, for the leader check */
    int32_t node_id;
    bool lead_only;   /* send only to partitions this node leads */
    const void *body; /* the decoded request, for the ops; may be NULL */
    /* Optional, on the request's core once every op is back, before the
       response is written (moves what ops gathered on the heap into it). */
    void (*finish)(struct rn_pop_batch *batch);
} rn_pop_batch_t;

struct rn_pop {
    rn_part_op_t op;
    rn_pop_t *next;
    const void *in; /* the request's partition entry */
    void *out;      /* the response's partition entry, written on the owner */
};

/* Starts a batch answering `resp` once every op is back. */
rn_pop_batch_t *rn_pop_batch_begin(rn_core_t *core, rn_req_t *req, void *resp);
/* Allocates an op for topic/index; NULL (and nothing sent) when the
   partition does not exist here or, with lead_only, this node does not
   lead it, so the caller writes the error itself (rn_pop_refusal). */
rn_pop_t *rn_pop_send(rn_pop_batch_t *batch, rn_str_t topic, int32_t index, const void *in,
                      void *out, void (*run)(rn_part_op_t *op));
void rn_pop_batch_end(rn_pop_batch_t *batch);
/* Why rn_pop_send sent nothing: NOT_LEADER_OR_FOLLOWER or
   UNKNOWN_TOPIC_OR_PARTITION. */
int16_t rn_pop_refusal(const rn_pop_batch_t *batch, rn_str_t topic, int32_t index);
/* Arena allocation that the request's budget always covers. */
void *rn_pop_alloc(rn_req_t *req, size_t bytes);

#endif
