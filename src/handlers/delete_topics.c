/*
 * delete_topics.c: DeleteTopics (key 20), by name (v0-5) or id (v6+, not
 * advertised yet). The controller validates; the partitions' files go once
 * the last request using them is done.
 */
#include "handlers/handler.h"
#include "proto/gen/delete_topics_request.h"
#include "proto/gen/delete_topics_response.h"
#include "base/assert.h"
#include "cluster/topics.h"

/* The request while its topics are deleted through the metadata quorum. */
typedef struct delete_topics_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
} delete_topics_wait_t;

static void delete_topics_done(rn_admin_op_t *op) {
    rn_req_t *req = ((delete_topics_wait_t *)op)->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_ctl_delete_topic_t *items = op->items;
    const rn_ctl_topic_result_t *results = op->results;
    int32_t count = op->count;
    rn_delete_topics_response_t *resp = rn_handler_response_new(req);
    resp->responses.items =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof *resp->responses.items + 1);
    RN_ASSERT(resp->responses.items != NULL);
    resp->responses.count = count;
    for (int32_t t = 0; t < count; t++) {
        rn_delete_topics_response_deletable_topic_result_t *out = &resp->responses.items[t];
        rn_delete_topics_response_deletable_topic_result_init(out);
        out->name = items[t].name;
        out->topic_id = results[t].topic_id;
        out->error_code = results[t].result.error_code;
        if (results[t].result.message[0])
            out->error_message = rn_str_from_cstr(results[t].result.message);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_delete_topics(rn_core_t *core, rn_req_t *req, void *body) {
    rn_delete_topics_request_t *in = body;
    int32_t count = in->topic_names.count > 0 ? in->topic_names.count : 0;
    rn_ctl_delete_topic_t *items = rn_arena_alloc(&req->arena, (size_t)count * sizeof *items + 1);
    rn_ctl_topic_result_t *results =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof *results + 1);
    delete_topics_wait_t *wait = rn_arena_alloc(&req->arena, sizeof *wait);
    RN_ASSERT(items && results && wait);
    for (int32_t t = 0; t < count; t++)
        items[t] = (rn_ctl_delete_topic_t){in->topic_names.items[t], rn_uuid_zero};
    *wait = (delete_topics_wait_t){.op = {.kind = RN_ADMIN_DELETE_TOPICS,
                                          .items = items,
                                          .count = count,
                                          .results = results,
                                          .reply_loop = &core->loop,
                                          .done = delete_topics_done},
                                   .req = req};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
