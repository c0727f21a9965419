/*
 * alter_partition_reassignments.c: AlterPartitionReassignments (key 45,
 * version 0, KIP-455): a target replica list per partition, or null to
 * cancel the reassignment in progress (metadata/controller_reassign.h).
 * Decided and recorded by the active controller, forwarded to it by a node
 * that is not; answered once the changes are committed and applied. The
 * copying itself follows from the image: the new replicas open and fetch,
 * and the controller completes the move once they are in sync. A
 * request-wide failure (NOT_CONTROLLER, REQUEST_TIMED_OUT) is the top-level
 * code, and every partition named gets it, as Kafka answers.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "proto/gen/alter_partition_reassignments_request.h"
#include "proto/gen/alter_partition_reassignments_response.h"

#include <string.h>

typedef struct apr_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    const rn_alter_partition_reassignments_request_t *in;
    rn_ctl_reassign_request_t reassign;
    rn_ctl_reassign_reply_t reply;
} apr_wait_t;

static rn_str_t apr_message(rn_req_t *req, const rn_ctl_result_t *res) {
    if (!res->message[0]) return rn_str_null();
    char *copy = rn_handler_cstr(req, rn_str_from_cstr(res->message));
    RN_ASSERT(copy != NULL);
    return rn_str_from_cstr(copy);
}

/* Per topic, per partition, in request order: the controller's result, or
   the request-wide one when the change did not land. */
static void apr_answer(rn_req_t *req, const apr_wait_t *w,
                       rn_alter_partition_reassignments_response_t *resp) {
    const rn_alter_partition_reassignments_request_t *in = w->in;
    const rn_ctl_result_t *all = &w->reply.result;
    bool failed = all->error_code != RN_KERR_NONE;
    resp->error_code = all->error_code;
    resp->error_message = apr_message(req, all);
    int32_t topics = in->topics.count > 0 ? in->topics.count : 0;
    resp->responses.count = topics;
    resp->responses.items = rn_handler_alloc(req, (size_t)topics * sizeof *resp->responses.items);
    int32_t at = 0;
    for (int32_t t = 0; t < topics; t++) {
        const rn_alter_partition_reassignments_request_reassignable_topic_t *topic =
            &in->topics.items[t];
        rn_alter_partition_reassignments_response_reassignable_topic_response_t *out =
            &resp->responses.items[t];
        rn_alter_partition_reassignments_response_reassignable_topic_response_init(out);
        out->name = topic->name;
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        out->partitions.count = count;
        out->partitions.items =
            rn_handler_alloc(req, (size_t)count * sizeof *out->partitions.items);
        for (int32_t p = 0; p < count; p++) {
            const rn_ctl_result_t *res = failed ? all : &w->reply.results[at++];
            rn_alter_partition_reassignments_response_reassignable_partition_response_t *r =
                &out->partitions.items[p];
            rn_alter_partition_reassignments_response_reassignable_partition_response_init(r);
            r->partition_index = topic->partitions.items[p].partition_index;
            r->error_code = res->error_code;
            r->error_message = apr_message(req, res);
        }
    }
}

static void apr_done(rn_admin_op_t *op) {
    apr_wait_t *w = (apr_wait_t *)op;
    rn_req_t *req = w->req;
    if (rn_handler_admin_relayed(req, op)) return;
    rn_alter_partition_reassignments_response_t *resp = rn_handler_response_new(req);
    apr_answer(req, w, resp);
    rn_handler_respond(req, resp);
}

/* The request as the controller takes it (borrowing its lists). */
static void apr_request(rn_req_t *req, const rn_alter_partition_reassignments_request_t *in,
                        rn_ctl_reassign_request_t *out) {
    int32_t topics = in->topics.count > 0 ? in->topics.count : 0;
    rn_ctl_reassign_topic_t *items = rn_handler_alloc(req, (size_t)topics * sizeof *items);
    for (int32_t t = 0; t < topics; t++) {
        const rn_alter_partition_reassignments_request_reassignable_topic_t *topic =
            &in->topics.items[t];
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        rn_ctl_reassign_partition_t *parts = rn_handler_alloc(req, (size_t)count * sizeof *parts);
        for (int32_t p = 0; p < count; p++) {
            const rn_alter_partition_reassignments_request_reassignable_partition_t *part =
                &topic->partitions.items[p];
            bool cancel = part->replicas.count < 0;
            parts[p] =
                (rn_ctl_reassign_partition_t){.partition = part->partition_index,
                                              .replicas = cancel ? NULL : part->replicas.items,
                                              .replica_count = cancel ? 0 : part->replicas.count};
            /* An empty list is a target (refused), not a cancel. */
            if (!cancel && !parts[p].replicas)
                parts[p].replicas = rn_handler_alloc(req, sizeof(int32_t));
        }
        items[t] = (rn_ctl_reassign_topic_t){topic->name, parts, count};
    }
    *out = (rn_ctl_reassign_request_t){.topics = items, .topic_count = topics};
}

void rn_handle_alter_partition_reassignments(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_alter_partition_reassignments_request_t *in = body;
    apr_wait_t *w = rn_handler_alloc(req, sizeof *w);
    memset(w, 0, sizeof *w);
    w->req = req;
    w->in = in;
    apr_request(req, in, &w->reassign);
    int32_t total = rn_ctl_reassign_partition_total(&w->reassign);
    w->reply.results = rn_handler_alloc(req, (size_t)total * sizeof *w->reply.results);
    w->op = (rn_admin_op_t){.kind = RN_ADMIN_REASSIGN,
                            .items = &w->reassign,
                            .count = 1,
                            .results = &w->reply,
                            .done = apr_done};
    rn_handler_admin_prepare(core, req, &w->op);
    rn_topics_submit(core->node, &w->op);
}
