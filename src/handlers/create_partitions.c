/*
 * create_partitions.c: CreatePartitions (key 37): grows topics to a new
 * total; the controller refuses shrinking or equal counts with Kafka's
 * INVALID_PARTITIONS messages.
 */
#include "handlers/handler.h"
#include "proto/gen/create_partitions_request.h"
#include "proto/gen/create_partitions_response.h"
#include "cluster/topics.h"

static void create_partitions_item(rn_req_t *req,
                                   const rn_create_partitions_request_create_partitions_topic_t *in,
                                   rn_ctl_new_partitions_t *item) {
    item->name = in->name;
    item->count = in->count;
    item->assignments = NULL;
    item->assignment_count = 0;
    if (in->assignments.count < 0) return;
    int32_t n = in->assignments.count;
    rn_ctl_assignment_t *assignments = rn_handler_alloc(req, (size_t)n * sizeof *assignments);
    for (int32_t a = 0; a < n; a++) {
        assignments[a].partition = -1;
        assignments[a].broker_ids = in->assignments.items[a].broker_ids.items;
        assignments[a].broker_count = in->assignments.items[a].broker_ids.count;
    }
    item->assignments = assignments;
    item->assignment_count = n;
}

/* The request while its partitions are added through the metadata quorum. */
typedef struct create_partitions_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
} create_partitions_wait_t;

static void create_partitions_done(rn_admin_op_t *op) {
    rn_req_t *req = ((create_partitions_wait_t *)op)->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_ctl_new_partitions_t *items = op->items;
    const rn_ctl_result_t *results = op->results;
    int32_t count = op->count;
    rn_create_partitions_response_t *resp = rn_handler_response_new(req);
    resp->results.count = count;
    resp->results.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->results.items);
    for (int32_t t = 0; t < count; t++) {
        rn_create_partitions_response_create_partitions_topic_result_t *out =
            &resp->results.items[t];
        rn_create_partitions_response_create_partitions_topic_result_init(out);
        out->name = items[t].name;
        out->error_code = results[t].error_code;
        if (results[t].message[0]) out->error_message = rn_str_from_cstr(results[t].message);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_create_partitions(rn_core_t *core, rn_req_t *req, void *body) {
    rn_create_partitions_request_t *in = body;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    rn_ctl_new_partitions_t *items = rn_handler_alloc(req, (size_t)count * sizeof *items);
    rn_ctl_result_t *results = rn_handler_alloc(req, (size_t)count * sizeof *results);
    for (int32_t t = 0; t < count; t++)
        create_partitions_item(req, &in->topics.items[t], &items[t]);
    create_partitions_wait_t *wait = rn_handler_alloc(req, sizeof *wait);
    *wait = (create_partitions_wait_t){.op = {.kind = RN_ADMIN_CREATE_PARTITIONS,
                                              .validate_only = in->validate_only,
                                              .items = items,
                                              .count = count,
                                              .results = results,
                                              .reply_loop = &core->loop,
                                              .done = create_partitions_done},
                                       .req = req};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
