/*
 * delete_topics.c: DeleteTopics (key 20), by name (v0-5) or, from v6, by
 * name or topic id (the answer then names the topic, as the image had it
 * when the request came). The controller validates; the partitions' files
 * go once the last request using them is done.
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
    const rn_str_t *names; /* each topic's name (null for an unknown id), in the arena */
} delete_topics_wait_t;

static void delete_topics_done(rn_admin_op_t *op) {
    const delete_topics_wait_t *wait = (delete_topics_wait_t *)op;
    rn_req_t *req = wait->req;
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
        out->name = wait->names[t];
        /* the topic's id, or an unknown one echoed */
        bool found = !rn_uuid_eq(&results[t].topic_id, &rn_uuid_zero);
        out->topic_id = found ? results[t].topic_id : items[t].id;
        out->error_code = results[t].result.error_code;
        if (results[t].result.message[0])
            out->error_message = rn_str_from_cstr(results[t].result.message);
    }
    rn_handler_respond(req, resp);
}

/* The name a v6 entry's answer carries: its own, or the topic's its id
   names (copied: the image goes on without it), null if none. */
static rn_str_t delete_topics_name(rn_req_t *req, const rn_image_t *img,
                                   const rn_delete_topics_request_delete_topic_state_t *in) {
    return in->name.len >= 0 ? in->name : rn_handler_topic_name_by_id(req, img, &in->topic_id);
}

void rn_handle_delete_topics(rn_core_t *core, rn_req_t *req, void *body) {
    rn_delete_topics_request_t *in = body;
    bool by_state = req->api_version >= 6;
    int32_t listed = by_state ? in->topics.count : in->topic_names.count;
    int32_t count = listed > 0 ? listed : 0;
    rn_ctl_delete_topic_t *items = rn_arena_alloc(&req->arena, (size_t)count * sizeof *items + 1);
    rn_ctl_topic_result_t *results =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof *results + 1);
    rn_str_t *names = rn_arena_alloc(&req->arena, (size_t)count * sizeof *names + 1);
    delete_topics_wait_t *wait = rn_arena_alloc(&req->arena, sizeof *wait);
    RN_ASSERT(items && results && names && wait);
    rn_image_t *img = rn_topics_image(core->node);
    for (int32_t t = 0; t < count; t++) {
        if (by_state) {
            const rn_delete_topics_request_delete_topic_state_t *st = &in->topics.items[t];
            items[t] = (rn_ctl_delete_topic_t){st->name, st->topic_id};
            names[t] = delete_topics_name(req, img, st);
        } else {
            items[t] = (rn_ctl_delete_topic_t){in->topic_names.items[t], rn_uuid_zero};
            names[t] = in->topic_names.items[t];
        }
    }
    rn_image_release(img);
    *wait = (delete_topics_wait_t){.op = {.kind = RN_ADMIN_DELETE_TOPICS,
                                          .items = items,
                                          .count = count,
                                          .results = results,
                                          .reply_loop = &core->loop,
                                          .done = delete_topics_done},
                                   .req = req,
                                   .names = names};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
