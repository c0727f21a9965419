/*
 * create_topics.c: CreateTopics (key 19). Validation and creation are the
 * controller's (cluster/topics.c); this file maps one request entry to one
 * call and reports Kafka's codes and messages per topic. A name repeated in
 * one request is INVALID_REQUEST for each of its entries, as in Kafka.
 */
#include "handlers/handler.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "base/assert.h"
#include "cluster/topics.h"

#include <string.h>

static bool create_topics_repeated(const rn_create_topics_request_t *in, int32_t t) {
    for (int32_t i = 0; i < in->topics.count; i++)
        if (i != t && rn_str_eq(in->topics.items[i].name, in->topics.items[t].name)) return true;
    return false;
}

static void create_topics_one(rn_core_t *core, rn_req_t *req, const rn_create_topics_request_t *in,
                              int32_t t, rn_create_topics_response_creatable_topic_result_t *out) {
    const rn_create_topics_request_creatable_topic_t *topic = &in->topics.items[t];
    rn_create_topics_response_creatable_topic_result_init(out);
    out->name = topic->name;
    if (create_topics_repeated(in, t)) {
        out->error_code = RN_KERR_INVALID_REQUEST;
        out->error_message = rn_str_from_cstr("Duplicate topic name.");
        return;
    }
    int32_t config_count = topic->configs.count > 0 ? topic->configs.count : 0;
    rn_str_t *keys = rn_arena_alloc(&req->arena, (size_t)config_count * sizeof *keys + 1);
    rn_str_t *values = rn_arena_alloc(&req->arena, (size_t)config_count * sizeof *values + 1);
    RN_ASSERT(keys && values);
    for (int32_t c = 0; c < config_count; c++) {
        keys[c] = topic->configs.items[c].name;
        values[c] = topic->configs.items[c].value;
    }
    int32_t partitions = topic->num_partitions;
    int16_t rf = topic->replication_factor;
    if (topic->assignments.count > 0) {
        if (partitions != -1 || rf != -1) {
            out->error_code = RN_KERR_INVALID_REQUEST;
            out->error_message = rn_str_from_cstr(
                "Both numPartitions or replicationFactor and replicasAssignments were set. "
                "Both cannot be used at the same time.");
            return;
        }
        partitions = topic->assignments.count;
        rf = (int16_t)topic->assignments.items[0].broker_ids.count;
    }
    rn_topic_spec_t spec = {topic->name, partitions, rf, keys, values, config_count,
                            in->validate_only};
    char *errmsg = rn_arena_alloc(&req->arena, RN_TOPICS_ERRMSG_BYTES);
    RN_ASSERT(errmsg != NULL);
    int32_t created = 0;
    out->error_code = rn_topics_create(core->node, &spec, &created, errmsg, RN_TOPICS_ERRMSG_BYTES);
    if (out->error_code != RN_KERR_NONE) {
        out->error_message = rn_str_from_cstr(errmsg);
        out->topic_config_error_code = out->error_code;
        return;
    }
    out->num_partitions = created;
    out->replication_factor = 1;
    rn_ptable_t *table = rn_ptable_acquire(&core->node->ptable);
    const rn_topic_rt_t *rt = rn_ptable_find(table, topic->name.ptr, (size_t)topic->name.len);
    if (rt) out->topic_id = rt->topic_id;
    rn_ptable_release(table);
    out->configs.count = -1; /* null: describe the configs with DescribeConfigs */
}

void rn_handle_create_topics(rn_core_t *core, rn_req_t *req, void *body) {
    rn_create_topics_request_t *in = body;
    rn_create_topics_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = count;
    resp->topics.items = rn_arena_alloc(&req->arena, (size_t)count * sizeof *resp->topics.items + 1);
    RN_ASSERT(resp->topics.items != NULL);
    for (int32_t t = 0; t < count; t++) create_topics_one(core, req, in, t, &resp->topics.items[t]);
    rn_handler_respond(req, resp);
}
