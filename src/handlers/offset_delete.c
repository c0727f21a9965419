/*
 * offset_delete.c: OffsetDelete (key 47), version 0: drops committed
 * offsets of a group (tombstones written). GROUP_ID_NOT_FOUND for an
 * unknown group; NON_EMPTY_GROUP for a live group outside the consumer
 * protocol; GROUP_SUBSCRIBED_TO_TOPIC per partition of a topic a live
 * consumer member subscribes to.
 */
#include "handlers/group_ops.h"
#include "proto/gen/offset_delete_request.h"
#include "proto/gen/offset_delete_response.h"

typedef struct odelete_state {
    rn_gop_t gop;
    rn_req_t *req;
    const rn_offset_delete_request_t *in;
    rn_offset_delete_response_t *resp;
} odelete_state_t;

static void odelete_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    odelete_state_t *st = gop->ctx;
    const rn_offset_delete_request_t *in = st->in;
    rn_offset_delete_response_t *resp = st->resp;
    resp->error_code = rn_group_offset_delete_check(coord, in->group_id);
    if (resp->error_code != RN_KERR_NONE) {
        resp->topics.count = 0;
        rn_gop_reply(gop);
        return;
    }
    const rn_group_t *group = rn_group_find(coord, in->group_id);
    bool live = rn_group_state(group) != RN_GROUP_EMPTY;
    for (int32_t t = 0; t < resp->topics.count; t++) {
        rn_offset_delete_response_offset_delete_response_topic_t *tout = &resp->topics.items[t];
        bool subscribed = live && rn_group_subscribed(group, tout->name);
        for (int32_t p = 0; p < tout->partitions.count; p++) {
            rn_offset_delete_response_offset_delete_response_partition_t *out =
                &tout->partitions.items[p];
            if (!rn_ptable_partition(gop->gops->table, tout->name, out->partition_index))
                out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            else if (subscribed)
                out->error_code = RN_KERR_GROUP_SUBSCRIBED_TO_TOPIC;
            else
                rn_group_forget_offset(node, gop->partition, in->group_id, tout->name,
                                       out->partition_index);
        }
    }
    rn_gop_reply(gop);
}

void rn_handle_offset_delete(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_offset_delete_request_t *in = body;
    rn_offset_delete_response_t *resp = rn_handler_response_new(req);
    odelete_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (odelete_state_t){.req = req, .in = in, .resp = resp};
    st->gop.ctx = st;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = count;
    resp->topics.items = rn_gops_alloc(req, (size_t)count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < count; t++) {
        const rn_offset_delete_request_offset_delete_request_topic_t *tin = &in->topics.items[t];
        int32_t pcount = tin->partitions.count > 0 ? tin->partitions.count : 0;
        resp->topics.items[t].name = tin->name;
        resp->topics.items[t].partitions.count = pcount;
        resp->topics.items[t].partitions.items =
            rn_gops_alloc(req, (size_t)pcount * sizeof *resp->topics.items[t].partitions.items);
        for (int32_t p = 0; p < pcount; p++) {
            resp->topics.items[t].partitions.items[p].partition_index =
                tin->partitions.items[p].partition_index;
            resp->topics.items[t].partitions.items[p].error_code = RN_KERR_NONE;
        }
    }
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, in->group_id, odelete_run))
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_gops_end(gops);
}
