/*
 * create_topics.c: CreateTopics (key 19). Validation and creation are the
 * controller's (metadata/controller.c through cluster/topics.c); this file
 * maps request entries to controller items and results back, per topic.
 */
#include "handlers/handler.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "base/assert.h"
#include "cluster/topics.h"

static void *create_topics_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    RN_ASSERT(ptr != NULL); /* within the response budget (dispatch.c) */
    return ptr;
}

/* One request entry as a controller item (arrays borrowed or in the arena). */
static void create_topics_item(rn_req_t *req, const rn_create_topics_request_creatable_topic_t *in,
                               rn_ctl_new_topic_t *item) {
    item->name = in->name;
    item->num_partitions = in->num_partitions;
    item->replication_factor = in->replication_factor;
    int32_t assignment_count = in->assignments.count > 0 ? in->assignments.count : 0;
    rn_ctl_assignment_t *assignments =
        create_topics_alloc(req, (size_t)assignment_count * sizeof *assignments);
    for (int32_t a = 0; a < assignment_count; a++) {
        assignments[a].partition = in->assignments.items[a].partition_index;
        assignments[a].broker_ids = in->assignments.items[a].broker_ids.items;
        assignments[a].broker_count = in->assignments.items[a].broker_ids.count;
    }
    item->assignments = assignments;
    item->assignment_count = assignment_count;
    int32_t config_count = in->configs.count > 0 ? in->configs.count : 0;
    rn_ctl_config_t *configs = create_topics_alloc(req, (size_t)config_count * sizeof *configs);
    for (int32_t c = 0; c < config_count; c++) {
        configs[c].key = in->configs.items[c].name;
        configs[c].value = in->configs.items[c].value;
    }
    item->configs = configs;
    item->config_count = config_count;
}

static void create_topics_result(const rn_ctl_topic_result_t *res,
                                 rn_create_topics_response_creatable_topic_result_t *out) {
    out->error_code = res->result.error_code;
    if (res->result.message[0]) out->error_message = rn_str_from_cstr(res->result.message);
    if (out->error_code != RN_KERR_NONE) {
        out->topic_config_error_code = out->error_code;
        return;
    }
    out->topic_id = res->topic_id;
    out->num_partitions = res->num_partitions;
    out->replication_factor = res->replication_factor;
    out->configs.count = -1; /* null: clients describe configs with DescribeConfigs */
}

/* The request while its topics are created through the metadata quorum. */
typedef struct create_topics_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    rn_create_topics_request_t *in;
} create_topics_wait_t;

static void create_topics_done(rn_admin_op_t *op) {
    create_topics_wait_t *wait = (create_topics_wait_t *)op;
    rn_req_t *req = wait->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_ctl_topic_result_t *results = op->results;
    rn_create_topics_response_t *resp = rn_handler_response_new(req);
    int32_t count = op->count;
    resp->topics.count = count;
    resp->topics.items = create_topics_alloc(req, (size_t)count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < count; t++) {
        rn_create_topics_response_creatable_topic_result_init(&resp->topics.items[t]);
        resp->topics.items[t].name = wait->in->topics.items[t].name;
        create_topics_result(&results[t], &resp->topics.items[t]);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_create_topics(rn_core_t *core, rn_req_t *req, void *body) {
    rn_create_topics_request_t *in = body;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    rn_ctl_new_topic_t *items = create_topics_alloc(req, (size_t)count * sizeof *items);
    rn_ctl_topic_result_t *results = create_topics_alloc(req, (size_t)count * sizeof *results);
    for (int32_t t = 0; t < count; t++) create_topics_item(req, &in->topics.items[t], &items[t]);
    create_topics_wait_t *wait = create_topics_alloc(req, sizeof *wait);
    *wait = (create_topics_wait_t){.op = {.kind = RN_ADMIN_CREATE_TOPICS,
                                          .validate_only = in->validate_only,
                                          .items = items,
                                          .count = count,
                                          .results = results,
                                          .reply_loop = &core->loop,
                                          .done = create_topics_done},
                                   .req = req,
                                   .in = in};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
