/*
 * broker_heartbeat.c: BrokerHeartbeat (key 63), on the controller listener:
 * a registered broker renews its lease and says how far it has applied the
 * metadata log. The active controller (cluster/membership.h) unfences a
 * broker that has applied its own registration and fences one that asks to
 * be; an unknown broker or another epoch is STALE_BROKER_EPOCH (the broker
 * registers again), a controller that is not active NOT_CONTROLLER.
 */
#include "handlers/handler.h"
#include "proto/gen/broker_heartbeat_request.h"
#include "proto/gen/broker_heartbeat_response.h"

#include <string.h>

typedef struct heartbeat {
    rn_admin_op_t op;
    rn_req_t *req;
    rn_mbr_heartbeat_t hb;
    rn_mbr_result_t result;
} heartbeat_t;

static void heartbeat_answer(rn_req_t *req, const rn_mbr_result_t *res) {
    rn_broker_heartbeat_response_t *resp = rn_handler_response_new(req);
    resp->error_code = res->result.error_code;
    resp->is_caught_up = res->result.error_code == RN_KERR_NONE && res->caught_up;
    resp->is_fenced = res->result.error_code != RN_KERR_NONE || res->fenced;
    resp->should_shut_down = false;
    rn_handler_respond(req, resp);
}

static void heartbeat_done(rn_admin_op_t *op) {
    heartbeat_t *h = (heartbeat_t *)op;
    heartbeat_answer(h->req, &h->result);
}

void rn_handle_broker_heartbeat(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_broker_heartbeat_request_t *in = body;
    heartbeat_t *h = rn_arena_alloc(&req->arena, sizeof *h);
    if (!h) {
        rn_mbr_result_t res = {.result = {.error_code = RN_KERR_UNKNOWN_SERVER_ERROR}};
        heartbeat_answer(req, &res);
        return;
    }
    memset(h, 0, sizeof *h);
    h->req = req;
    h->hb = (rn_mbr_heartbeat_t){in->broker_id, in->broker_epoch, in->current_metadata_offset,
                                 in->want_fence};
    h->op = (rn_admin_op_t){.kind = RN_ADMIN_BROKER_HEARTBEAT,
                            .items = &h->hb,
                            .count = 1,
                            .results = &h->result,
                            .reply_loop = &core->loop,
                            .done = heartbeat_done,
                            .no_forward = true};
    rn_md_rt_submit(rn_md_rt_of_core(core), &h->op);
}
