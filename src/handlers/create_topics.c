/*
 * create_topics.c: CreateTopics (key 19). Validation and creation are the
 * controller's (metadata/controller.c through cluster/topics.c); this file
 * maps request entries to controller items and results back, per topic.
 * From v5 a created (or validated) topic's answer lists every topic
 * setting with its value and source, as DescribeConfigs would.
 */
#include "handlers/handler.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "cluster/topics.h"

/* One request entry as a controller item (arrays borrowed or in the arena). */
static void create_topics_item(rn_req_t *req, const rn_create_topics_request_creatable_topic_t *in,
                               rn_ctl_new_topic_t *item) {
    item->name = in->name;
    item->num_partitions = in->num_partitions;
    item->replication_factor = in->replication_factor;
    int32_t assignment_count = in->assignments.count > 0 ? in->assignments.count : 0;
    rn_ctl_assignment_t *assignments =
        rn_handler_alloc(req, (size_t)assignment_count * sizeof *assignments);
    for (int32_t a = 0; a < assignment_count; a++) {
        assignments[a].partition = in->assignments.items[a].partition_index;
        assignments[a].broker_ids = in->assignments.items[a].broker_ids.items;
        assignments[a].broker_count = in->assignments.items[a].broker_ids.count;
    }
    item->assignments = assignments;
    item->assignment_count = assignment_count;
    int32_t config_count = in->configs.count > 0 ? in->configs.count : 0;
    rn_ctl_config_t *configs = rn_handler_alloc(req, (size_t)config_count * sizeof *configs);
    for (int32_t c = 0; c < config_count; c++) {
        configs[c].key = in->configs.items[c].name;
        configs[c].value = in->configs.items[c].value;
    }
    item->configs = configs;
    item->config_count = config_count;
}

/* The value the request gives a setting (a null value gives none). */
static bool create_topics_given(const rn_create_topics_request_creatable_topic_t *in,
                                const char *name, rn_str_t *value) {
    for (int32_t c = 0; c < in->configs.count; c++) {
        const rn_create_topics_request_creatable_topic_config_t *cfg = &in->configs.items[c];
        if (cfg->value.len >= 0 && rn_str_eq_cstr(cfg->name, name)) {
            *value = cfg->value;
            return true;
        }
    }
    return false;
}

/* Every topic setting of a topic created as `in` asks: its override, else
   the broker-wide default (strings borrowed from the request and base). */
static void create_topics_configs(rn_req_t *req, const rn_topic_config_base_t *base,
                                  const rn_create_topics_request_creatable_topic_t *in,
                                  rn_create_topics_response_creatable_topic_result_t *out) {
    out->configs.items = rn_handler_alloc(req, RN_TC__COUNT * sizeof *out->configs.items);
    out->configs.count = RN_TC__COUNT;
    for (int k = 0; k < RN_TC__COUNT; k++) {
        rn_create_topics_response_creatable_topic_configs_t *e = &out->configs.items[k];
        rn_create_topics_response_creatable_topic_configs_init(e);
        const char *name = rn_topic_config_def((rn_tc_key_t)k)->name;
        e->name = rn_str_from_cstr(name);
        rn_config_source_t source = RN_CONFIG_SOURCE_TOPIC;
        if (!create_topics_given(in, name, &e->value)) {
            e->value = rn_str_from_cstr(base->text[k]);
            source = base->source[k];
        }
        e->config_source = (int8_t)source;
        e->read_only = false;
        e->is_sensitive = false;
    }
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
}

/* The request while its topics are created through the metadata quorum. */
typedef struct create_topics_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    rn_node_t *node;
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
    resp->topics.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->topics.items);
    rn_image_t *img = rn_topics_image(wait->node);
    for (int32_t t = 0; t < count; t++) {
        rn_create_topics_response_creatable_topic_result_t *out = &resp->topics.items[t];
        rn_create_topics_response_creatable_topic_result_init(out);
        out->name = wait->in->topics.items[t].name;
        create_topics_result(&results[t], out);
        if (out->error_code == RN_KERR_NONE && req->api_version >= 5)
            create_topics_configs(req, rn_image_config_base(img), &wait->in->topics.items[t], out);
    }
    rn_handler_respond(req, resp);
    rn_image_release(img); /* the defaults' text is the image base's, borrowed until encoded */
}

void rn_handle_create_topics(rn_core_t *core, rn_req_t *req, void *body) {
    rn_create_topics_request_t *in = body;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    rn_ctl_new_topic_t *items = rn_handler_alloc(req, (size_t)count * sizeof *items);
    rn_ctl_topic_result_t *results = rn_handler_alloc(req, (size_t)count * sizeof *results);
    for (int32_t t = 0; t < count; t++) create_topics_item(req, &in->topics.items[t], &items[t]);
    create_topics_wait_t *wait = rn_handler_alloc(req, sizeof *wait);
    *wait = (create_topics_wait_t){.op = {.kind = RN_ADMIN_CREATE_TOPICS,
                                          .validate_only = in->validate_only,
                                          .items = items,
                                          .count = count,
                                          .results = results,
                                          .reply_loop = &core->loop,
                                          .done = create_topics_done},
                                   .req = req,
                                   .node = core->node,
                                   .in = in};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
