/*
 * elect_leaders.c: ElectLeaders (key 43, versions 0-2; v0 elects the
 * preferred replica, v1 adds the election type and a top-level code):
 * preferred or unclean elections for the partitions named, or for every
 * partition when the list is null (metadata/controller.h, "leader
 * elections"). Decided and recorded by the active controller, forwarded to
 * it by a node that is not; answered once the changes are committed and
 * applied. A request-wide error (an unknown election type, NOT_CONTROLLER,
 * REQUEST_TIMED_OUT) is the top-level code, and every partition named gets
 * it with its message, as in Kafka's error answers.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "proto/gen/elect_leaders_request.h"
#include "proto/gen/elect_leaders_response.h"

#include <stdio.h>
#include <string.h>

typedef struct elect_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    const rn_elect_leaders_request_t *in;
    rn_ctl_elect_request_t elect;
    rn_ctl_elect_reply_t reply;
} elect_wait_t;

/* A copy of text in the request's arena (NULL: a null string). */
static rn_str_t elect_text(rn_req_t *req, const char *text) {
    if (!text) return rn_str_null();
    char *copy = rn_handler_cstr(req, rn_str_from_cstr(text));
    RN_ASSERT(copy != NULL);
    return rn_str_from_cstr(copy);
}

/* A request-wide error: each partition named takes it (none when all were
   asked for). */
static void elect_answer_error(rn_req_t *req, const rn_elect_leaders_request_t *in,
                               const rn_ctl_result_t *error, rn_elect_leaders_response_t *resp) {
    int32_t topics = in->topic_partitions.count > 0 ? in->topic_partitions.count : 0;
    resp->error_code = error->error_code;
    resp->replica_election_results.count = topics;
    resp->replica_election_results.items =
        rn_handler_alloc(req, (size_t)topics * sizeof *resp->replica_election_results.items);
    rn_str_t message = elect_text(req, error->message[0] ? error->message : NULL);
    for (int32_t t = 0; t < topics; t++) {
        const rn_elect_leaders_request_topic_partitions_t *topic = &in->topic_partitions.items[t];
        rn_elect_leaders_response_replica_election_result_t *out =
            &resp->replica_election_results.items[t];
        rn_elect_leaders_response_replica_election_result_init(out);
        out->topic = topic->topic;
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        out->partition_result.count = count;
        out->partition_result.items =
            rn_handler_alloc(req, (size_t)count * sizeof *out->partition_result.items);
        for (int32_t p = 0; p < count; p++) {
            rn_elect_leaders_response_partition_result_t *res = &out->partition_result.items[p];
            rn_elect_leaders_response_partition_result_init(res);
            res->partition_id = topic->partitions.items[p];
            res->error_code = error->error_code;
            res->error_message = message;
        }
    }
}

/* The controller's results, per topic, per partition. */
static void elect_answer_results(rn_req_t *req, const rn_ctl_elect_reply_t *reply,
                                 rn_elect_leaders_response_t *resp) {
    resp->replica_election_results.count = reply->topic_count;
    resp->replica_election_results.items = rn_handler_alloc(
        req, (size_t)reply->topic_count * sizeof *resp->replica_election_results.items);
    for (int32_t t = 0; t < reply->topic_count; t++) {
        const rn_ctl_elect_topic_result_t *topic = &reply->topics[t];
        rn_elect_leaders_response_replica_election_result_t *out =
            &resp->replica_election_results.items[t];
        rn_elect_leaders_response_replica_election_result_init(out);
        out->topic = elect_text(req, topic->name);
        out->partition_result.count = topic->count;
        out->partition_result.items =
            rn_handler_alloc(req, (size_t)topic->count * sizeof *out->partition_result.items);
        for (int32_t p = 0; p < topic->count; p++) {
            const rn_ctl_elect_result_t *in = &reply->results[topic->first + p];
            rn_elect_leaders_response_partition_result_t *res = &out->partition_result.items[p];
            char buf[RN_CTL_MESSAGE_BYTES + RN_TOPIC_NAME_BYTES_MAX];
            rn_elect_leaders_response_partition_result_init(res);
            res->partition_id = in->partition;
            res->error_code = in->error_code;
            res->error_message =
                elect_text(req, rn_ctl_elect_message(in, topic->name, buf, sizeof buf));
        }
    }
}

static void elect_done(rn_admin_op_t *op) {
    elect_wait_t *w = (elect_wait_t *)op;
    rn_req_t *req = w->req;
    if (!rn_handler_admin_relayed(req, op)) {
        rn_elect_leaders_response_t *resp = rn_handler_response_new(req);
        if (w->reply.result.error_code != RN_KERR_NONE)
            elect_answer_error(req, w->in, &w->reply.result, resp);
        else
            elect_answer_results(req, &w->reply, resp);
        rn_handler_respond(req, resp);
    }
    rn_ctl_elect_reply_free(&w->reply);
}

void rn_handle_elect_leaders(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_elect_leaders_request_t *in = body;
    elect_wait_t *w = rn_handler_alloc(req, sizeof *w);
    memset(w, 0, sizeof *w);
    w->req = req;
    w->in = in;
    /* v0 has no type: it elects the preferred replica. */
    w->elect.election_type = req->api_version >= 1 ? in->election_type : RN_CTL_ELECT_PREFERRED;
    int32_t topics = in->topic_partitions.count;
    if (topics >= 0) {
        rn_ctl_elect_topic_t *items = rn_handler_alloc(req, (size_t)topics * sizeof *items);
        for (int32_t t = 0; t < topics; t++) {
            const rn_elect_leaders_request_topic_partitions_t *topic =
                &in->topic_partitions.items[t];
            items[t] =
                (rn_ctl_elect_topic_t){topic->topic, topic->partitions.items,
                                       topic->partitions.count > 0 ? topic->partitions.count : 0};
        }
        w->elect.topics = items;
        w->elect.topic_count = topics;
    }
    w->op = (rn_admin_op_t){.kind = RN_ADMIN_ELECT_LEADERS,
                            .items = &w->elect,
                            .count = 1,
                            .results = &w->reply,
                            .done = elect_done};
    rn_handler_admin_prepare(core, req, &w->op);
    rn_topics_submit(core->node, &w->op);
}
