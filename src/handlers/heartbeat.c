/* heartbeat.c: Heartbeat (key 12), versions 0-4 (v4 flexible), answered by the group's shard. */
#include "handlers/group_ops.h"
#include "proto/gen/heartbeat_request.h"
#include "proto/gen/heartbeat_response.h"

typedef struct heartbeat_state {
    rn_gop_t gop;
    rn_req_t *req;
    const rn_heartbeat_request_t *in;
    rn_heartbeat_response_t *resp;
} heartbeat_state_t;

static void heartbeat_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    heartbeat_state_t *st = gop->ctx;
    const rn_heartbeat_request_t *in = st->in;
    rn_str_t instance = st->req->api_version >= 3 ? in->group_instance_id : rn_str_null();
    st->resp->error_code = rn_group_heartbeat(coord, in->group_id, in->member_id, instance,
                                              in->generation_id, rn_group_now_ms(node));
    rn_gop_reply(gop);
}

void rn_handle_heartbeat(rn_core_t *core, rn_req_t *req, void *body) {
    rn_heartbeat_response_t *resp = rn_handler_response_new(req);
    heartbeat_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (heartbeat_state_t){.req = req, .in = body, .resp = resp};
    st->gop.ctx = st;
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, heartbeat_run))
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_gops_end(gops);
}
