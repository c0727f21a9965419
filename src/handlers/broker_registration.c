/*
 * broker_registration.c: BrokerRegistration (key 62), on the controller
 * listener: a broker joins the cluster. The request becomes a registration
 * op planned by the active controller (cluster/membership.h); a new
 * registration is fenced until the broker's heartbeats show it caught up.
 * A controller that is not active answers NOT_CONTROLLER (the broker asks
 * the active one), a broker of another cluster INCONSISTENT_CLUSTER_ID (one
 * naming no cluster, a new folder that has not heard the id yet, may
 * join), and
 * a broker id another incarnation holds with a live lease
 * DUPLICATE_BROKER_REGISTRATION, at once, as Kafka's controller does;
 * unless PreviousBrokerEpoch names that registration's epoch: the same
 * data folder registering again (cluster/membership.h).
 */
#include "handlers/handler.h"
#include "proto/gen/broker_registration_request.h"
#include "proto/gen/broker_registration_response.h"

#include <stdio.h>
#include <string.h>

typedef struct registration {
    rn_admin_op_t op;
    rn_req_t *req;
    rn_mbr_register_t reg;
    rn_md_endpoint_t endpoints[RN_BROKER_ENDPOINTS_MAX];
    rn_mbr_result_t result;
} registration_t;

static void registration_answer(rn_req_t *req, int16_t code, int64_t epoch) {
    rn_broker_registration_response_t *resp = rn_handler_response_new(req);
    resp->error_code = code;
    resp->broker_epoch = code == RN_KERR_NONE ? epoch : -1;
    rn_handler_respond(req, resp);
}

static void registration_done(rn_admin_op_t *op) {
    registration_t *r = (registration_t *)op;
    registration_answer(r->req, r->result.result.error_code, r->result.broker_epoch);
}

/* Kafka's checks before the controller sees it; NONE when it may go on. */
static int16_t registration_check(rn_core_t *core, const rn_broker_registration_request_t *in) {
    const char *want = rn_md_rt_cluster_id(rn_md_rt_of_core(core));
    /* None named: a broker with a new folder that has not heard the
       cluster's id yet (cluster/lifecycle.c); it takes the log's. */
    bool named = in->cluster_id.len > 0;
    if (want[0] && named && !rn_str_eq(in->cluster_id, rn_str_from_cstr(want)))
        return RN_KERR_INCONSISTENT_CLUSTER_ID;
    if (in->broker_id < 0 || in->listeners.count < 0 ||
        in->listeners.count > RN_BROKER_ENDPOINTS_MAX)
        return RN_KERR_INVALID_REQUEST;
    if (in->rack.len > RN_BROKER_RACK_BYTES_MAX) return RN_KERR_INVALID_REQUEST;
    return RN_KERR_NONE;
}

void rn_handle_broker_registration(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_broker_registration_request_t *in = body;
    int16_t code = registration_check(core, in);
    if (code != RN_KERR_NONE) {
        char why[160];
        snprintf(why, sizeof why, "it names cluster %.*s, this is %s",
                 in->cluster_id.len > 0 ? (int)in->cluster_id.len : 0,
                 in->cluster_id.len > 0 ? in->cluster_id.ptr : "",
                 rn_md_rt_cluster_id(rn_md_rt_of_core(core)));
        rn_md_rt_member_refused(rn_md_rt_of_core(core), "the registration", in->broker_id, code,
                                code == RN_KERR_INCONSISTENT_CLUSTER_ID ? why : "");
        registration_answer(req, code, -1);
        return;
    }
    registration_t *r = rn_arena_alloc(&req->arena, sizeof *r);
    if (!r) {
        registration_answer(req, RN_KERR_UNKNOWN_SERVER_ERROR, -1);
        return;
    }
    memset(r, 0, sizeof *r);
    r->req = req;
    for (int32_t n = 0; n < in->listeners.count; n++) {
        const rn_broker_registration_request_listener_t *lis = &in->listeners.items[n];
        r->endpoints[n] =
            (rn_md_endpoint_t){lis->name, lis->host, lis->port, lis->security_protocol};
    }
    r->reg.reg = (rn_ctl_broker_reg_t){in->broker_id, in->incarnation_id,
                                       r->endpoints,  (int16_t)in->listeners.count,
                                       in->rack,      {{0}}};
    /* One data folder per broker: the first directory named (v2+). */
    if (in->log_dirs.count > 0) r->reg.reg.directory_id = in->log_dirs.items[0];
    r->reg.previous_epoch = in->previous_broker_epoch; /* -1 before v3 */
    r->op = (rn_admin_op_t){.kind = RN_ADMIN_REGISTER_BROKER,
                            .items = &r->reg,
                            .count = 1,
                            .results = &r->result,
                            .reply_loop = &core->loop,
                            .done = registration_done,
                            .no_forward = true};
    rn_md_rt_submit(rn_md_rt_of_core(core), &r->op);
}
