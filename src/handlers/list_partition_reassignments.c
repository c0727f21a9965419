/*
 * list_partition_reassignments.c: ListPartitionReassignments (key 46,
 * version 0, KIP-455): the reassignments in progress, with each
 * partition's replicas and the ones being added and removed, for every
 * partition (a null topic list) or those named (names and indexes that do
 * not exist, or are not moving, are left out, as Kafka does). Answered
 * from the active controller's image, so a reassignment it has just
 * accepted shows at once; another node forwards it there.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "proto/gen/list_partition_reassignments_request.h"
#include "proto/gen/list_partition_reassignments_response.h"

#include <string.h>

typedef struct lpr_result {
    rn_ctl_result_t result; /* first: the runtime fails ops through it */
    rn_image_t *img;        /* the active controller's image, referenced */
} lpr_result_t;

typedef struct lpr_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    const rn_list_partition_reassignments_request_t *in;
    lpr_result_t res;
} lpr_wait_t;

/* On the metadata loop of the active controller: keep its image. */
static bool lpr_step(rn_md_rt_t *rt, rn_admin_op_t *op) {
    lpr_result_t *res = op->results;
    const rn_image_t *img = rn_quorum_image(rn_md_rt_quorum(rt));
    rn_image_retain((rn_image_t *)img);
    res->img = (rn_image_t *)img;
    return true;
}

static void lpr_ids(rn_req_t *req, const rn_image_partition_t *part, uint32_t mask,
                    rn_int32_array_t *out) {
    out->items = rn_handler_alloc(req, RN_REPLICAS_MAX * sizeof(int32_t));
    out->count = rn_image_partition_pick(part, mask, out->items);
}

/* The moving partitions of topic among `which` (NULL: all of them). */
static void lpr_topic(rn_req_t *req, const rn_image_topic_t *topic, const rn_int32_array_t *which,
                      rn_list_partition_reassignments_response_t *resp) {
    int32_t asked = which ? (which->count > 0 ? which->count : 0) : topic->partition_count;
    rn_list_partition_reassignments_response_ongoing_partition_reassignment_t *parts = NULL;
    int32_t count = 0;
    for (int32_t i = 0; i < asked; i++) {
        int32_t p = which ? which->items[i] : i;
        if (p < 0 || p >= topic->partition_count) continue;
        const rn_image_partition_t *part = &topic->partitions[p];
        if (!rn_image_partition_moving(part)) continue;
        if (!parts) parts = rn_handler_alloc(req, (size_t)asked * sizeof *parts);
        rn_list_partition_reassignments_response_ongoing_partition_reassignment_t *out =
            &parts[count++];
        rn_list_partition_reassignments_response_ongoing_partition_reassignment_init(out);
        out->partition_index = p;
        lpr_ids(req, part, UINT32_MAX, &out->replicas);
        lpr_ids(req, part, part->adding_mask, &out->adding_replicas);
        lpr_ids(req, part, part->removing_mask, &out->removing_replicas);
    }
    if (count == 0) return;
    rn_list_partition_reassignments_response_ongoing_topic_reassignment_t *t =
        &resp->topics.items[resp->topics.count++];
    rn_list_partition_reassignments_response_ongoing_topic_reassignment_init(t);
    char *name = rn_handler_cstr(req, rn_str_from_cstr(topic->name));
    RN_ASSERT(name != NULL);
    t->name = rn_str_from_cstr(name);
    t->partitions.items = parts;
    t->partitions.count = count;
}

static void lpr_answer(rn_req_t *req, const rn_list_partition_reassignments_request_t *in,
                       const rn_image_t *img, rn_list_partition_reassignments_response_t *resp) {
    int32_t named = in->topics.count;
    int32_t slots = named >= 0 ? named : rn_image_topic_count(img);
    resp->topics.items = rn_handler_alloc(req, (size_t)slots * sizeof *resp->topics.items);
    resp->topics.count = 0;
    if (named < 0) {
        for (int32_t t = 0; t < slots; t++) lpr_topic(req, rn_image_topic_at(img, t), NULL, resp);
        return;
    }
    for (int32_t t = 0; t < named; t++) {
        const rn_list_partition_reassignments_request_list_partition_reassignments_topics_t *q =
            &in->topics.items[t];
        const rn_image_topic_t *topic =
            q->name.len > 0 ? rn_image_topic(img, q->name.ptr, (size_t)q->name.len) : NULL;
        if (topic) lpr_topic(req, topic, &q->partition_indexes, resp);
    }
}

static void lpr_done(rn_admin_op_t *op) {
    lpr_wait_t *w = (lpr_wait_t *)op;
    rn_req_t *req = w->req;
    if (rn_handler_admin_relayed(req, op)) return;
    rn_list_partition_reassignments_response_t *resp = rn_handler_response_new(req);
    resp->error_code = w->res.result.error_code;
    if (w->res.result.message[0]) {
        char *msg = rn_handler_cstr(req, rn_str_from_cstr(w->res.result.message));
        RN_ASSERT(msg != NULL);
        resp->error_message = rn_str_from_cstr(msg);
    }
    if (w->res.img) {
        if (resp->error_code == RN_KERR_NONE) lpr_answer(req, w->in, w->res.img, resp);
        rn_image_release(w->res.img);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_list_partition_reassignments(rn_core_t *core, rn_req_t *req, void *body) {
    lpr_wait_t *w = rn_handler_alloc(req, sizeof *w);
    memset(w, 0, sizeof *w);
    w->req = req;
    w->in = body;
    w->op = (rn_admin_op_t){
        .kind = RN_ADMIN_CALL, .count = 1, .results = &w->res, .done = lpr_done, .step = lpr_step};
    rn_handler_admin_prepare(core, req, &w->op);
    rn_topics_submit(core->node, &w->op);
}
