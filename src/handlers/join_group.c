/*
 * join_group.c: JoinGroup (key 11), versions 0-9. The request travels to
 * its group's shard (group_ops.h) and waits there, as a waiter of the group
 * state machine, until the join phase completes; the leader's answer
 * carries every member's metadata, copied into the response. v6 is
 * flexible; from v7 the answer names the protocol type and name (null
 * when none, as Kafka; "" before v7); v8 adds a reason, which changes
 * nothing; v9 lets a static leader returning to a Stable group be told
 * skip_assignment (group.h).
 */
#include "handlers/group_ops.h"
#include "base/assert.h"
#include "proto/gen/join_group_request.h"
#include "proto/gen/join_group_response.h"

typedef struct join_state {
    rn_gop_t gop;
    rn_group_join_waiter_t waiter;
    rn_req_t *req;
    const rn_join_group_request_t *in;
    rn_join_group_response_t *resp;
    rn_str_t client_id;
    rn_str_t client_host;
} join_state_t;

static void join_members(join_state_t *st, const rn_group_t *group) {
    rn_join_group_response_t *resp = st->resp;
    int32_t count = rn_group_member_count(group);
    resp->members.count = count;
    resp->members.items = rn_gops_alloc(st->req, (size_t)count * sizeof *resp->members.items);
    for (int32_t i = 0; i < count; i++) {
        const rn_group_member_t *member = rn_group_member_at(group, i);
        rn_join_group_response_join_group_response_member_t *out = &resp->members.items[i];
        rn_join_group_response_join_group_response_member_init(out);
        out->member_id = rn_gops_str(st->req, rn_group_member_id(member));
        out->group_instance_id = rn_gops_str(st->req, rn_group_member_instance_id(member));
        out->metadata = rn_gops_bytes(st->req, rn_group_member_metadata(group, member));
    }
}

static void join_done(rn_group_join_waiter_t *waiter, const rn_group_join_result_t *res) {
    join_state_t *st = (join_state_t *)((char *)waiter - offsetof(join_state_t, waiter));
    rn_join_group_response_t *resp = st->resp;
    const char *none = st->req->api_version >= 7 ? NULL : "";
    resp->error_code = res->error;
    resp->generation_id = res->generation;
    /* As Kafka, an error names no protocol type (v7+; absent before). */
    resp->protocol_type =
        rn_gops_str(st->req, res->error == RN_KERR_NONE ? res->protocol_type : NULL);
    resp->protocol_name = rn_gops_str(st->req, res->protocol_name ? res->protocol_name : none);
    resp->skip_assignment = res->skip_assignment;
    resp->leader = rn_gops_str(st->req, res->leader_id ? res->leader_id : "");
    resp->member_id = rn_gops_str(st->req, res->member_id ? res->member_id : "");
    resp->members.count = 0;
    if (res->group) join_members(st, res->group);
    rn_gop_reply(&st->gop);
}

static void join_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    join_state_t *st = gop->ctx;
    const rn_join_group_request_t *in = st->in;
    int32_t count = in->protocols.count > 0 ? in->protocols.count : 0;
    rn_group_protocol_t *protocols = rn_gops_alloc(st->req, (size_t)count * sizeof *protocols);
    for (int32_t i = 0; i < count; i++) {
        protocols[i].name = in->protocols.items[i].name;
        protocols[i].metadata = in->protocols.items[i].metadata;
    }
    rn_group_join_args_t args = {
        .group_id = in->group_id,
        .member_id = in->member_id,
        .instance_id = st->req->api_version >= 5 ? in->group_instance_id : rn_str_null(),
        .protocol_type = in->protocol_type,
        .client_id = st->client_id,
        .client_host = st->client_host,
        .protocols = protocols,
        .protocol_count = count,
        .session_timeout_ms = in->session_timeout_ms,
        .rebalance_timeout_ms =
            st->req->api_version >= 1 ? in->rebalance_timeout_ms : in->session_timeout_ms,
        .require_known_member_id = st->req->api_version >= 4,
        .skip_assignment_ok = st->req->api_version >= 9,
    };
    rn_group_join(coord, &args, &st->waiter, rn_group_now_ms(node));
}

void rn_handle_join_group(rn_core_t *core, rn_req_t *req, void *body) {
    rn_join_group_response_t *resp = rn_handler_response_new(req);
    join_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (join_state_t){.req = req, .in = body, .resp = resp};
    st->waiter.done = join_done;
    st->gop.ctx = st;
    st->client_id = rn_gops_client_id(req);
    st->client_host = rn_gops_client_host(req);
    resp->protocol_name = req->api_version >= 7 ? rn_str_null() : rn_str_from_cstr("");
    resp->leader = rn_str_from_cstr("");
    resp->member_id = rn_str_from_cstr("");
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, join_run)) {
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
        resp->generation_id = -1;
    }
    rn_gops_end(gops);
}
