/*
 * alter_configs.c: AlterConfigs (key 33, the legacy form: the entries of a
 * resource replace its whole override set) and IncrementalAlterConfigs
 * (key 44: SET, DELETE, APPEND, SUBTRACT per key). Validation and the
 * records are the controller's; changed topic settings reach the logs of
 * their partitions through cluster/topics.c. A BROKER resource must name
 * this broker or be "" (the cluster default), as Kafka's broker checks
 * before it forwards: one naming another broker is answered here.
 */
#include "handlers/handler.h"
#include "proto/gen/alter_configs_request.h"
#include "proto/gen/alter_configs_response.h"
#include "proto/gen/incremental_alter_configs_request.h"
#include "proto/gen/incremental_alter_configs_response.h"
#include "cluster/topics.h"
#include "metadata/dyn_broker.h"

#include <stdio.h>
#include <string.h>

static void ac_fill(const rn_ctl_result_t *res, int16_t *error_code, rn_str_t *error_message) {
    *error_code = res->error_code;
    *error_message = res->message[0] ? rn_str_from_cstr(res->message) : rn_str_null();
}

/* The request while its changes go through the metadata quorum. */
typedef struct ac_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
} ac_wait_t;

/* Whether every key of the resource is one the cluster keeps about a
   broker rather than one the broker applies (runnel.drain): any broker
   takes it, so a broker that is down can be drained. */
static bool ac_cluster_managed(const rn_ctl_alter_resource_t *item) {
    for (int32_t n = 0; n < item->alter_count; n++)
        if (!rn_str_eq(item->alters[n].key,
                       rn_str_from_cstr(rn_dyn_def(RN_DYN_RUNNEL_DRAIN)->name)))
            return false;
    return item->alter_count > 0;
}

/* Kafka's broker-side check of a BROKER resource's name (ConfigAdminManager):
   an integer, and this broker's id unless "" (a forwarded request was
   checked by the broker that took it) or the keys are the cluster's
   (ac_cluster_managed). true when it answers the item. */
static bool ac_check_broker(const rn_core_t *core, const rn_req_t *req,
                            const rn_ctl_alter_resource_t *item, rn_ctl_result_t *res) {
    if (item->resource_type != RN_MD_RESOURCE_BROKER) return false;
    char name[32];
    int32_t id = -1;
    int32_t len = item->resource_name.len > 0 ? item->resource_name.len : 0;
    snprintf(name, sizeof name, "%.*s", len, len ? item->resource_name.ptr : "");
    if (len >= (int32_t)sizeof name || !rn_dyn_resource_id(name, strlen(name), &id)) {
        res->error_code = RN_KERR_INVALID_REQUEST;
        snprintf(res->message, sizeof res->message, "Node id must be an integer, but it is: %.*s",
                 len > 200 ? 200 : len, len ? item->resource_name.ptr : "");
        return true;
    }
    if (len == 0 || req->forwarded || id == core->node->settings.node_id) return false;
    if (ac_cluster_managed(item)) return false;
    res->error_code = RN_KERR_INVALID_REQUEST;
    snprintf(res->message, sizeof res->message,
             "Unexpected broker id, expected %d, but received %s", core->node->settings.node_id,
             name);
    return true;
}

static void ac_submit(rn_core_t *core, rn_req_t *req, rn_ctl_alter_resource_t *items, int32_t count,
                      bool incremental, bool validate_only, rn_admin_done_fn done) {
    ac_wait_t *wait = rn_handler_alloc(req, sizeof *wait);
    *wait = (ac_wait_t){
        .op = {.kind = RN_ADMIN_ALTER_CONFIGS,
               .validate_only = validate_only,
               .incremental = incremental,
               .items = items,
               .count = count,
               .results = rn_handler_alloc(req, (size_t)count * sizeof(rn_ctl_result_t)),
               .reply_loop = &core->loop,
               .done = done},
        .req = req};
    rn_handler_admin_prepare(core, req, &wait->op);
    int32_t checked = 0;
    rn_ctl_result_t *results = wait->op.results;
    for (int32_t r = 0; r < count; r++) {
        items[r].checked = ac_check_broker(core, req, &items[r], &results[r]);
        checked += items[r].checked;
    }
    if (count > 0 && checked == count) { /* nothing left for the controller */
        done(&wait->op);
        return;
    }
    rn_topics_submit(core->node, &wait->op);
}

static void ac_legacy_done(rn_admin_op_t *op) {
    rn_req_t *req = ((ac_wait_t *)op)->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_ctl_alter_resource_t *items = op->items;
    const rn_ctl_result_t *results = op->results;
    int32_t count = op->count;
    rn_alter_configs_response_t *resp = rn_handler_response_new(req);
    resp->responses.count = count;
    resp->responses.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->responses.items);
    for (int32_t r = 0; r < count; r++) {
        rn_alter_configs_response_alter_configs_resource_response_t *out =
            &resp->responses.items[r];
        rn_alter_configs_response_alter_configs_resource_response_init(out);
        out->resource_type = items[r].resource_type;
        out->resource_name = items[r].resource_name;
        ac_fill(&results[r], &out->error_code, &out->error_message);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_alter_configs(rn_core_t *core, rn_req_t *req, void *body) {
    rn_alter_configs_request_t *in = body;
    int32_t count = in->resources.count > 0 ? in->resources.count : 0;
    rn_ctl_alter_resource_t *items = rn_handler_alloc(req, (size_t)count * sizeof *items);
    for (int32_t r = 0; r < count; r++) {
        const rn_alter_configs_request_alter_configs_resource_t *res = &in->resources.items[r];
        int32_t n = res->configs.count > 0 ? res->configs.count : 0;
        rn_ctl_alter_t *alters = rn_handler_alloc(req, (size_t)n * sizeof *alters);
        for (int32_t c = 0; c < n; c++)
            alters[c] = (rn_ctl_alter_t){res->configs.items[c].name, res->configs.items[c].value,
                                         RN_CTL_OP_SET};
        items[r] =
            (rn_ctl_alter_resource_t){res->resource_type, res->resource_name, alters, n, false};
    }
    ac_submit(core, req, items, count, false, in->validate_only, ac_legacy_done);
}

static void ac_incremental_done(rn_admin_op_t *op) {
    rn_req_t *req = ((ac_wait_t *)op)->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_ctl_alter_resource_t *items = op->items;
    const rn_ctl_result_t *results = op->results;
    int32_t count = op->count;
    rn_incremental_alter_configs_response_t *resp = rn_handler_response_new(req);
    resp->responses.count = count;
    resp->responses.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->responses.items);
    for (int32_t r = 0; r < count; r++) {
        rn_incremental_alter_configs_response_alter_configs_resource_response_t *out =
            &resp->responses.items[r];
        rn_incremental_alter_configs_response_alter_configs_resource_response_init(out);
        out->resource_type = items[r].resource_type;
        out->resource_name = items[r].resource_name;
        ac_fill(&results[r], &out->error_code, &out->error_message);
    }
    rn_handler_respond(req, resp);
}

void rn_handle_incremental_alter_configs(rn_core_t *core, rn_req_t *req, void *body) {
    rn_incremental_alter_configs_request_t *in = body;
    int32_t count = in->resources.count > 0 ? in->resources.count : 0;
    rn_ctl_alter_resource_t *items = rn_handler_alloc(req, (size_t)count * sizeof *items);
    for (int32_t r = 0; r < count; r++) {
        const rn_incremental_alter_configs_request_alter_configs_resource_t *res =
            &in->resources.items[r];
        int32_t n = res->configs.count > 0 ? res->configs.count : 0;
        rn_ctl_alter_t *alters = rn_handler_alloc(req, (size_t)n * sizeof *alters);
        for (int32_t c = 0; c < n; c++)
            alters[c] = (rn_ctl_alter_t){res->configs.items[c].name, res->configs.items[c].value,
                                         res->configs.items[c].config_operation};
        items[r] =
            (rn_ctl_alter_resource_t){res->resource_type, res->resource_name, alters, n, false};
    }
    ac_submit(core, req, items, count, true, in->validate_only, ac_incremental_done);
}
