/*
 * sync_group.c: SyncGroup (key 14), versions 0-5. Followers wait in their
 * group's shard until the leader's assignment arrives and the group's
 * record holding it is durable; each then gets its own. v4 is flexible; v5
 * names the protocol type and name, which must be the group's
 * (INCONSISTENT_GROUP_PROTOCOL otherwise, checked in group_join.c), and the
 * answer names them too (null on an error, as Kafka).
 */
#include "handlers/group_ops.h"
#include "proto/gen/sync_group_request.h"
#include "proto/gen/sync_group_response.h"

typedef struct sync_state {
    rn_gop_t gop;
    rn_group_sync_waiter_t waiter;
    rn_req_t *req;
    const rn_sync_group_request_t *in;
    rn_sync_group_response_t *resp;
} sync_state_t;

static void sync_done(rn_group_sync_waiter_t *waiter, const rn_group_sync_result_t *res) {
    sync_state_t *st = (sync_state_t *)((char *)waiter - offsetof(sync_state_t, waiter));
    st->resp->error_code =
        res->cause != RN_OK ? rn_handler_group_store_kerr(res->cause) : res->error;
    /* As Kafka, an error names no protocol (v5+; absent before). */
    bool ok = st->resp->error_code == RN_KERR_NONE;
    st->resp->protocol_type = rn_gops_str(st->req, ok ? res->protocol_type : NULL);
    st->resp->protocol_name = rn_gops_str(st->req, ok ? res->protocol_name : NULL);
    rn_bytes_t empty = {(const uint8_t *)"", 0};
    st->resp->assignment =
        res->error == RN_KERR_NONE ? rn_gops_bytes(st->req, res->assignment) : empty;
    if (st->resp->assignment.len < 0) st->resp->assignment = empty;
    rn_gop_reply(&st->gop);
}

static void sync_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    sync_state_t *st = gop->ctx;
    const rn_sync_group_request_t *in = st->in;
    int32_t count = in->assignments.count > 0 ? in->assignments.count : 0;
    rn_group_assignment_t *assignments =
        rn_gops_alloc(st->req, (size_t)count * sizeof *assignments);
    for (int32_t i = 0; i < count; i++) {
        assignments[i].member_id = in->assignments.items[i].member_id;
        assignments[i].assignment = in->assignments.items[i].assignment;
    }
    int16_t version = st->req->api_version;
    rn_group_sync_args_t args = {
        .group_id = in->group_id,
        .member_id = in->member_id,
        .instance_id = version >= 3 ? in->group_instance_id : rn_str_null(),
        .protocol_type = version >= 5 ? in->protocol_type : rn_str_null(),
        .protocol_name = version >= 5 ? in->protocol_name : rn_str_null(),
        .generation = in->generation_id,
        .assignments = assignments,
        .assignment_count = count,
    };
    rn_group_sync(coord, &args, &st->waiter, rn_group_now_ms(node));
}

void rn_handle_sync_group(rn_core_t *core, rn_req_t *req, void *body) {
    rn_sync_group_response_t *resp = rn_handler_response_new(req);
    sync_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (sync_state_t){.req = req, .in = body, .resp = resp};
    st->waiter.done = sync_done;
    st->gop.ctx = st;
    resp->assignment = (rn_bytes_t){(const uint8_t *)"", 0};
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, sync_run))
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_gops_end(gops);
}
