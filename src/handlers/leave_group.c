/*
 * leave_group.c: LeaveGroup (key 13), versions 0-5: one member (v0-2) or a
 * list of members by member id or instance id (v3+), each answered alone.
 * v4 is flexible; v5 gives each member a reason, which changes nothing.
 */
#include "handlers/group_ops.h"
#include "proto/gen/leave_group_request.h"
#include "proto/gen/leave_group_response.h"

typedef struct leave_state {
    rn_gop_t gop;
    rn_req_t *req;
    const rn_leave_group_request_t *in;
    rn_leave_group_response_t *resp;
} leave_state_t;

static void leave_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    leave_state_t *st = gop->ctx;
    const rn_leave_group_request_t *in = st->in;
    rn_leave_group_response_t *resp = st->resp;
    int64_t now = rn_group_now_ms(node);
    if (st->req->api_version < 3) {
        resp->error_code = rn_group_leave(coord, in->group_id, in->member_id, rn_str_null(), now);
        rn_gop_reply(gop);
        return;
    }
    int32_t count = in->members.count > 0 ? in->members.count : 0;
    resp->members.count = count;
    resp->members.items = rn_gops_alloc(st->req, (size_t)count * sizeof *resp->members.items);
    for (int32_t i = 0; i < count; i++) {
        const rn_leave_group_request_member_identity_t *m = &in->members.items[i];
        rn_leave_group_response_member_response_t *out = &resp->members.items[i];
        rn_leave_group_response_member_response_init(out);
        out->member_id = m->member_id;
        out->group_instance_id = m->group_instance_id;
        out->error_code =
            rn_group_leave(coord, in->group_id, m->member_id, m->group_instance_id, now);
        if (out->error_code == RN_KERR_COORDINATOR_LOAD_IN_PROGRESS)
            resp->error_code = out->error_code;
    }
    rn_gop_reply(gop);
}

void rn_handle_leave_group(rn_core_t *core, rn_req_t *req, void *body) {
    rn_leave_group_response_t *resp = rn_handler_response_new(req);
    leave_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (leave_state_t){.req = req, .in = body, .resp = resp};
    st->gop.ctx = st;
    resp->members.count = 0;
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, leave_run))
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_gops_end(gops);
}
