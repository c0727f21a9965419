/*
 * describe_configs.c: DescribeConfigs (key 32) for topics (every topic
 * setting with its effective value and source: an override, the broker's
 * static default, or Kafka's default) and for this broker (every setting
 * the configuration knows, and the dynamic broker keys of
 * metadata/dyn_broker.h with Kafka's sources: DYNAMIC_BROKER_CONFIG for
 * this broker's own entry, DYNAMIC_DEFAULT_BROKER_CONFIG for the cluster
 * default's, DEFAULT_CONFIG otherwise; the resource "" lists the cluster
 * default's entries alone). Sensitive values are null, as in Kafka. From v3
 * each setting carries its type and, when asked, its documentation.
 */
#include "handlers/handler.h"
#include "proto/gen/describe_configs_request.h"
#include "proto/gen/describe_configs_response.h"
#include "cluster/topics.h"
#include "metadata/dyn_broker.h"

#include <stdio.h>

#define RESOURCE_TOPIC 2
#define RESOURCE_BROKER 4

typedef rn_describe_configs_response_describe_configs_result_t dc_result_t;
typedef rn_describe_configs_response_describe_configs_resource_result_t dc_entry_t;

/* Whether `name` is asked for (a null key list asks for all). */
static bool dc_wanted(const rn_str_array_t *keys, const char *name) {
    if (keys->count < 0) return true;
    for (int32_t k = 0; k < keys->count; k++)
        if (rn_str_eq_cstr(keys->items[k], name)) return true;
    return false;
}

/* What the request asks beside the values. */
typedef struct dc_asked {
    bool synonyms;
    bool documentation;
} dc_asked_t;

/* One setting as DescribeConfigs reports it. */
typedef struct dc_setting {
    const char *name;
    const char *value;
    rn_config_source_t source;
    bool read_only;
    bool sensitive;
    rn_config_type_t type;
    const char *doc;
} dc_setting_t;

static void dc_entry(rn_req_t *req, dc_asked_t asked, dc_entry_t *e, const dc_setting_t *set) {
    rn_describe_configs_response_describe_configs_resource_result_init(e);
    e->name = rn_str_from_cstr(set->name);
    e->value = set->sensitive || !set->value ? rn_str_null() : rn_str_from_cstr(set->value);
    e->read_only = set->read_only;
    e->is_default = set->source == RN_CONFIG_SOURCE_DEFAULT;
    e->config_source = (int8_t)set->source;
    e->is_sensitive = set->sensitive;
    e->config_type = (int8_t)set->type;
    e->documentation = asked.documentation && set->doc ? rn_str_from_cstr(set->doc) : rn_str_null();
    e->synonyms.count = 0;
    if (!asked.synonyms) return;
    e->synonyms.items = rn_handler_alloc(req, sizeof *e->synonyms.items);
    e->synonyms.count = 1;
    rn_describe_configs_response_describe_configs_synonym_init(&e->synonyms.items[0]);
    e->synonyms.items[0].name = e->name;
    e->synonyms.items[0].value = e->value;
    e->synonyms.items[0].source = (int8_t)set->source;
}

static void dc_topic(rn_req_t *req, const rn_image_t *img, dc_asked_t asked,
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
    out->configs.items = rn_handler_alloc(req, RN_TC__COUNT * sizeof *out->configs.items);
    out->configs.count = 0;
    for (int k = 0; k < RN_TC__COUNT; k++) {
        const rn_config_def_t *def = rn_topic_config_def((rn_tc_key_t)k);
        if (!dc_wanted(&in->configuration_keys, def->name)) continue;
        dc_setting_t set = {def->name, NULL,    RN_CONFIG_SOURCE_DEFAULT, false, false,
                            def->type, def->doc};
        set.value = rn_image_topic_describe(img, topic, (rn_tc_key_t)k, &set.source);
        dc_entry(req, asked, &out->configs.items[out->configs.count++], &set);
    }
}

/* A dynamic broker key as Kafka shows it: read-only in DescribeConfigs
   (Kafka's own answer), with its dynamic levels as synonyms. resource:
   "<id>" for a broker, "" for the cluster default alone. */
static void dc_dynamic(rn_req_t *req, const rn_image_t *img, dc_asked_t asked, const char *resource,
                       rn_dyn_key_t key, dc_entry_t *e) {
    const rn_config_def_t *def = rn_dyn_def(key);
    dc_setting_t set = {def->name, NULL,    RN_CONFIG_SOURCE_DEFAULT, true, false,
                        def->type, def->doc};
    const char *own = resource[0] ? rn_dyn_text(img, resource, key) : NULL;
    const char *dflt = rn_dyn_text(img, "", key);
    set.value = own ? own : dflt ? dflt : def->default_text;
    set.source = own    ? RN_CONFIG_SOURCE_DYNAMIC_BROKER
                 : dflt ? RN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER
                        : RN_CONFIG_SOURCE_DEFAULT;
    dc_entry(req, (dc_asked_t){false, asked.documentation}, e, &set);
    if (!asked.synonyms) return;
    e->synonyms.items = rn_handler_alloc(req, 2 * sizeof *e->synonyms.items);
    e->synonyms.count = 0;
    const char *levels[2] = {own, dflt};
    const rn_config_source_t sources[2] = {RN_CONFIG_SOURCE_DYNAMIC_BROKER,
                                           RN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER};
    for (int n = 0; n < 2; n++) {
        if (!levels[n]) continue;
        rn_describe_configs_response_describe_configs_synonym_t *syn =
            &e->synonyms.items[e->synonyms.count++];
        rn_describe_configs_response_describe_configs_synonym_init(syn);
        syn->name = e->name;
        syn->value = rn_str_from_cstr(levels[n]);
        syn->source = (int8_t)sources[n];
    }
}

/* The dynamic keys after the static settings (or alone for ""). */
static void dc_broker_dynamic(rn_req_t *req, const rn_image_t *img, dc_asked_t asked,
                              const char *resource, const rn_str_array_t *keys, dc_result_t *out) {
    for (int k = 0; k < RN_DYN__COUNT; k++) {
        if (!dc_wanted(keys, rn_dyn_def((rn_dyn_key_t)k)->name)) continue;
        if (!resource[0] && !rn_dyn_text(img, "", (rn_dyn_key_t)k)) continue;
        /* As Kafka, which lists the log-dir move rate only once it is set. */
        if (k == RN_DYN_REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND &&
            !(resource[0] && rn_dyn_text(img, resource, (rn_dyn_key_t)k)) &&
            !rn_dyn_text(img, "", (rn_dyn_key_t)k))
            continue;
        dc_dynamic(req, img, asked, resource, (rn_dyn_key_t)k,
                   &out->configs.items[out->configs.count++]);
    }
}

/* Whether keys name only what the cluster keeps about a broker
   (runnel.drain), which any broker answers for any id from the image. */
static bool dc_cluster_keys(const rn_str_array_t *keys) {
    if (keys->count <= 0) return false;
    for (int32_t n = 0; n < keys->count; n++)
        if (!rn_str_eq_cstr(keys->items[n], rn_dyn_def(RN_DYN_RUNNEL_DRAIN)->name)) return false;
    return true;
}

static void dc_broker(rn_req_t *req, const rn_node_t *node, const rn_image_t *img, dc_asked_t asked,
                      const rn_describe_configs_request_describe_configs_resource_t *in,
                      dc_result_t *out) {
    char self[16], named[16];
    snprintf(self, sizeof self, "%d", node->settings.node_id);
    bool other = in->resource_name.len > 0 && !rn_str_eq_cstr(in->resource_name, self);
    if (other && (in->resource_name.len >= (int32_t)sizeof named ||
                  !dc_cluster_keys(&in->configuration_keys))) {
        out->error_code = RN_KERR_INVALID_REQUEST;
        out->error_message = rn_str_from_cstr("Unexpected broker id.");
        return;
    }
    int count = RN_DYN__COUNT;
    rn_node_config_item_t item;
    for (int pos = 0; node->broker_config_next(node->broker_config_ctx, &pos, &item);) count++;
    out->configs.items = rn_handler_alloc(req, (size_t)count * sizeof *out->configs.items);
    out->configs.count = 0;
    snprintf(named, sizeof named, "%.*s", other ? in->resource_name.len : 0,
             other ? in->resource_name.ptr : "");
    const char *resource = other ? named : in->resource_name.len > 0 ? self : "";
    for (int pos = 0;
         !other && resource[0] && node->broker_config_next(node->broker_config_ctx, &pos, &item);) {
        if (!dc_wanted(&in->configuration_keys, item.name) || rn_dyn_key(item.name) >= 0) continue;
        const dc_setting_t set = {item.name,      item.value, item.source, item.read_only,
                                  item.sensitive, item.type,  item.doc};
        dc_entry(req, asked, &out->configs.items[out->configs.count++], &set);
    }
    dc_broker_dynamic(req, img, asked, resource, &in->configuration_keys, out);
}

void rn_handle_describe_configs(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_configs_request_t *in = body;
    rn_describe_configs_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->resources.count > 0 ? in->resources.count : 0;
    resp->results.count = count;
    resp->results.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->results.items);
    rn_image_t *img = rn_topics_image(core->node);
    const dc_asked_t asked = {req->api_version >= 1 && in->include_synonyms,
                              req->api_version >= 3 && in->include_documentation};
    for (int32_t r = 0; r < count; r++) {
        const rn_describe_configs_request_describe_configs_resource_t *res =
            &in->resources.items[r];
        dc_result_t *out = &resp->results.items[r];
        rn_describe_configs_response_describe_configs_result_init(out);
        out->resource_type = res->resource_type;
        out->resource_name = res->resource_name;
        out->configs.count = 0;
        if (res->resource_type == RESOURCE_TOPIC)
            dc_topic(req, img, asked, res, out);
        else if (res->resource_type == RESOURCE_BROKER)
            dc_broker(req, core->node, img, asked, res, out);
        else
            out->error_code = RN_KERR_INVALID_REQUEST;
    }
    rn_handler_respond(req, resp);
    rn_image_release(img); /* the response borrowed its strings until encoded */
}
