/*
 * describe_configs.c: DescribeConfigs (key 32) for topics (every topic
 * setting with its effective value and source: an override, the broker's
 * static default, or Kafka's default) and for this broker (every setting
 * the configuration knows). Sensitive values are null, as in Kafka.
 */
#include "handlers/handler.h"
#include "proto/gen/describe_configs_request.h"
#include "proto/gen/describe_configs_response.h"
#include "base/assert.h"
#include "cluster/topics.h"

#include <stdio.h>

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4

typedef rn_describe_configs_response_describe_configs_result_t dc_result_t;
typedef rn_describe_configs_response_describe_configs_resource_result_t dc_entry_t;

static void *dc_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    RN_ASSERT(ptr != NULL);
    return ptr;
}

/* Whether `name` is asked for (a null key list asks for all). */
static bool dc_wanted(const rn_str_array_t *keys, const char *name) {
    if (keys->count < 0) return true;
    for (int32_t k = 0; k < keys->count; k++)
        if (rn_str_eq_cstr(keys->items[k], name)) return true;
    return false;
}

static void dc_entry(rn_req_t *req, bool synonyms, dc_entry_t *e, const char *name,
                     const char *value, rn_config_source_t source, bool read_only, bool sensitive) {
    rn_describe_configs_response_describe_configs_resource_result_init(e);
    e->name = rn_str_from_cstr(name);
    e->value = sensitive || !value ? rn_str_null() : rn_str_from_cstr(value);
    e->read_only = read_only;
    e->is_default = source == RN_CONFIG_SOURCE_DEFAULT;
    e->config_source = (int8_t)source;
    e->is_sensitive = sensitive;
    e->synonyms.count = 0;
    if (!synonyms) return;
    e->synonyms.items = dc_alloc(req, sizeof *e->synonyms.items);
    e->synonyms.count = 1;
    rn_describe_configs_response_describe_configs_synonym_init(&e->synonyms.items[0]);
    e->synonyms.items[0].name = e->name;
    e->synonyms.items[0].value = e->value;
    e->synonyms.items[0].source = (int8_t)source;
}

static void dc_topic(rn_req_t *req, const rn_image_t *img, bool synonyms,
                     const rn_describe_configs_request_describe_configs_resource_t *in,
                     dc_result_t *out) {
    const rn_image_topic_t *topic =
        in->resource_name.len > 0
            ? rn_image_topic(img, in->resource_name.ptr, (size_t)in->resource_name.len)
            : NULL;
    if (!topic) {
        out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = rn_str_from_cstr("The topic does not exist.");
        return;
    }
    out->configs.items = dc_alloc(req, RN_TC__COUNT * sizeof *out->configs.items);
    out->configs.count = 0;
    for (int k = 0; k < RN_TC__COUNT; k++) {
        const char *name = rn_topic_config_def((rn_tc_key_t)k)->name;
        if (!dc_wanted(&in->configuration_keys, name)) continue;
        rn_config_source_t source;
        const char *value = rn_image_topic_describe(img, topic, (rn_tc_key_t)k, &source);
        dc_entry(req, synonyms, &out->configs.items[out->configs.count++], name, value, source,
                 false, false);
    }
}

static void dc_broker(rn_req_t *req, const rn_node_t *node, bool synonyms,
                      const rn_describe_configs_request_describe_configs_resource_t *in,
                      dc_result_t *out) {
    char self[16];
    snprintf(self, sizeof self, "%d", node->settings.node_id);
    if (in->resource_name.len > 0 && !rn_str_eq_cstr(in->resource_name, self)) {
        out->error_code = RN_KERR_INVALID_REQUEST;
        out->error_message = rn_str_from_cstr("Unexpected broker id.");
        return;
    }
    int count = 0;
    rn_node_config_item_t item;
    for (int pos = 0; node->broker_config_next(node->broker_config_ctx, &pos, &item);) count++;
    out->configs.items = dc_alloc(req, (size_t)count * sizeof *out->configs.items);
    out->configs.count = 0;
    for (int pos = 0; node->broker_config_next(node->broker_config_ctx, &pos, &item);) {
        if (!dc_wanted(&in->configuration_keys, item.name)) continue;
        dc_entry(req, synonyms, &out->configs.items[out->configs.count++], item.name, item.value,
                 item.source, item.read_only, item.sensitive);
    }
}

void rn_handle_describe_configs(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_configs_request_t *in = body;
    rn_describe_configs_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->resources.count > 0 ? in->resources.count : 0;
    resp->results.count = count;
    resp->results.items = dc_alloc(req, (size_t)count * sizeof *resp->results.items);
    rn_image_t *img = rn_topics_image(core->node);
    bool synonyms = req->api_version >= 1 && in->include_synonyms;
    for (int32_t r = 0; r < count; r++) {
        const rn_describe_configs_request_describe_configs_resource_t *res =
            &in->resources.items[r];
        dc_result_t *out = &resp->results.items[r];
        rn_describe_configs_response_describe_configs_result_init(out);
        out->resource_type = res->resource_type;
        out->resource_name = res->resource_name;
        out->configs.count = 0;
        if (res->resource_type == RESOURCE_TOPIC)
            dc_topic(req, img, synonyms, res, out);
        else if (res->resource_type == RESOURCE_BROKER)
            dc_broker(req, core->node, synonyms, res, out);
        else
            out->error_code = RN_KERR_INVALID_REQUEST;
    }
    rn_handler_respond(req, resp);
    rn_image_release(img); /* the response borrowed its strings until encoded */
}
