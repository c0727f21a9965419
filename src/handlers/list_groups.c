/*
 * list_groups.c: ListGroups (key 16), versions 0-5: every group of every
 * shard (one op per __consumer_offsets partition), with its state (v4+,
 * filtered by states_filter) and its type (v5+, filtered by types_filter:
 * every group here is "classic", so a filter naming only "consumer" or
 * "share" lists none). Filters match case-insensitively, as Kafka 4's group
 * coordinator does (Kafka 3.9's classic coordinator lists no group at all
 * once any type is named).
 */
#include "handlers/group_ops.h"
#include "proto/gen/list_groups_request.h"
#include "proto/gen/list_groups_response.h"

#include <string.h>
#include <strings.h>

typedef rn_list_groups_response_listed_group_t listed_t;

typedef struct list_op {
    rn_gop_t gop;
    listed_t *groups;
    int32_t count;
} list_op_t;

typedef struct list_state {
    rn_req_t *req;
    const rn_list_groups_request_t *in;
    list_op_t *ops;
    int32_t op_count;
} list_state_t;

/* The type of every group this coordinator keeps (KIP-848's name for the
   protocol of JoinGroup and SyncGroup). */
#define LIST_GROUP_TYPE "classic"

/* Whether `value` passes `filter` (an empty or null filter passes all). */
static bool list_filter_passes(const rn_str_array_t *filter, const char *value) {
    if (filter->count <= 0) return true;
    for (int32_t i = 0; i < filter->count; i++) {
        rn_str_t want = filter->items[i];
        if (want.len >= 0 && (size_t)want.len == strlen(value) &&
            !strncasecmp(want.ptr, value, (size_t)want.len))
            return true;
    }
    return false;
}

static bool list_wanted(const rn_list_groups_request_t *in, int16_t version, const char *state) {
    if (version >= 4 && !list_filter_passes(&in->states_filter, state)) return false;
    if (version >= 5 && !list_filter_passes(&in->types_filter, LIST_GROUP_TYPE)) return false;
    return true;
}

static void list_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    (void)node;
    list_op_t *op = (list_op_t *)gop;
    list_state_t *st = gop->ctx;
    int32_t count = rn_group_coord_group_count(coord);
    op->groups = rn_gops_alloc(st->req, (size_t)count * sizeof *op->groups);
    for (int32_t g = 0; g < count; g++) {
        const rn_group_t *group = rn_group_coord_group_at(coord, g);
        const char *state = rn_group_state_name(rn_group_state(group));
        if (!list_wanted(st->in, st->req->api_version, state)) continue;
        listed_t *out = &op->groups[op->count++];
        rn_list_groups_response_listed_group_init(out);
        out->group_id = rn_gops_str(st->req, rn_group_id(group));
        out->protocol_type = rn_gops_str(st->req, rn_group_protocol_type(group));
        out->group_state = rn_gops_str(st->req, state);
        out->group_type = rn_gops_str(st->req, LIST_GROUP_TYPE);
    }
    rn_gop_reply(gop);
}

static void list_finish(rn_gops_t *gops) {
    list_state_t *st = gops->ctx;
    rn_list_groups_response_t *resp = gops->resp;
    int32_t total = 0;
    for (int32_t i = 0; i < st->op_count; i++) total += st->ops[i].count;
    resp->groups.count = total;
    resp->groups.items = rn_gops_alloc(st->req, (size_t)total * sizeof *resp->groups.items);
    int32_t n = 0;
    for (int32_t i = 0; i < st->op_count; i++)
        for (int32_t g = 0; g < st->ops[i].count; g++)
            resp->groups.items[n++] = st->ops[i].groups[g];
}

void rn_handle_list_groups(rn_core_t *core, rn_req_t *req, void *body) {
    rn_list_groups_response_t *resp = rn_handler_response_new(req);
    list_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (list_state_t){.req = req, .in = body};
    resp->groups.count = 0;
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    int32_t count = rn_group_partition_count(core->node);
    if (count == 0) resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    st->ops = rn_gops_alloc(req, (size_t)count * sizeof *st->ops);
    st->op_count = count;
    for (int32_t p = 0; p < count; p++) {
        st->ops[p] = (list_op_t){.gop = {.ctx = st}};
        if (!rn_gops_send_partition(gops, &st->ops[p].gop, p, list_run))
            resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    gops->finish = list_finish;
    gops->ctx = st;
    rn_gops_end(gops);
}
