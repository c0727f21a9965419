/*
 * quorum_voters.c: AddRaftVoter (key 80) and RemoveRaftVoter (key 81), as
 * kafka-metadata-quorum.sh add-controller / remove-controller and
 * `runnel cluster quorum` send them. The change runs on the active
 * controller (cluster/quorum_admin.c): an added voter joins as a learner
 * and is promoted once caught up; a voter whose data folder was emptied is
 * removed and added back this way before its votes count again.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/quorum_admin.h"
#include "cluster/topics.h"
#include "proto/gen/add_raft_voter_request.h"
#include "proto/gen/add_raft_voter_response.h"
#include "proto/gen/remove_raft_voter_request.h"
#include "proto/gen/remove_raft_voter_response.h"
#include "proto/uuid_text.h"

#include <stdio.h>
#include <string.h>

/* The request while the change runs. */
typedef struct voters_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    rn_voter_change_t change;
    rn_ctl_result_t result;
} voters_wait_t;

/* A request naming another cluster is refused before anything runs. */
static bool voters_cluster_ok(const rn_node_t *node, rn_str_t cluster_id) {
    return cluster_id.len < 0 ||
           ((size_t)cluster_id.len == strlen(node->cluster_id) &&
            memcmp(cluster_id.ptr, node->cluster_id, strlen(node->cluster_id)) == 0);
}

static voters_wait_t *voters_start(rn_core_t *core, rn_req_t *req, int32_t node_id,
                                   rn_admin_step_fn step, rn_admin_done_fn done) {
    voters_wait_t *wait = rn_arena_alloc(&req->arena, sizeof *wait);
    RN_ASSERT(wait != NULL);
    memset(wait, 0, sizeof *wait);
    wait->req = req;
    wait->change.node_id = node_id;
    wait->op = (rn_admin_op_t){.kind = RN_ADMIN_CALL,
                               .items = &wait->change,
                               .count = 1,
                               .results = &wait->result,
                               .done = done,
                               .step = step};
    rn_handler_admin_prepare(core, req, &wait->op);
    return wait;
}

static void voters_add_done(rn_admin_op_t *op) {
    voters_wait_t *wait = (voters_wait_t *)op;
    rn_req_t *req = wait->req;
    if (rn_handler_admin_relayed(req, op)) return;
    rn_add_raft_voter_response_t *resp = rn_handler_response_new(req);
    resp->error_code = wait->result.error_code;
    resp->error_message =
        wait->result.message[0] ? rn_str_from_cstr(wait->result.message) : rn_str_null();
    rn_handler_respond(req, resp);
}

void rn_handle_add_raft_voter(rn_core_t *core, rn_req_t *req, void *body) {
    rn_add_raft_voter_request_t *in = body;
    if (!voters_cluster_ok(core->node, in->cluster_id) || in->listeners.count <= 0 ||
        in->voter_id < 0 || in->listeners.items[0].host.len > RN_CONFIG_HOST_BYTES_MAX) {
        rn_add_raft_voter_response_t *resp = rn_handler_response_new(req);
        resp->error_code =
            in->listeners.count <= 0 || in->voter_id < 0 ? RN_KERR_INVALID_REQUEST
            : in->listeners.count > 0 && !voters_cluster_ok(core->node, in->cluster_id)
                ? RN_KERR_INCONSISTENT_CLUSTER_ID
                : RN_KERR_INVALID_REQUEST;
        rn_handler_respond(req, resp);
        return;
    }
    voters_wait_t *wait =
        voters_start(core, req, in->voter_id, rn_quorum_admin_add_voter, voters_add_done);
    const rn_add_raft_voter_request_listener_t *lis = &in->listeners.items[0];
    memcpy(wait->change.host, lis->host.ptr, (size_t)lis->host.len);
    wait->change.port = lis->port;
    rn_uuid_t none = {0};
    if (!rn_uuid_eq(&in->voter_directory_id, &none))
        rn_uuid_to_text(&in->voter_directory_id, wait->change.dir);
    rn_topics_submit(core->node, &wait->op);
}

static void voters_remove_done(rn_admin_op_t *op) {
    voters_wait_t *wait = (voters_wait_t *)op;
    rn_req_t *req = wait->req;
    if (rn_handler_admin_relayed(req, op)) return;
    rn_remove_raft_voter_response_t *resp = rn_handler_response_new(req);
    resp->error_code = wait->result.error_code;
    resp->error_message =
        wait->result.message[0] ? rn_str_from_cstr(wait->result.message) : rn_str_null();
    rn_handler_respond(req, resp);
}

void rn_handle_remove_raft_voter(rn_core_t *core, rn_req_t *req, void *body) {
    rn_remove_raft_voter_request_t *in = body;
    if (!voters_cluster_ok(core->node, in->cluster_id) || in->voter_id < 0) {
        rn_remove_raft_voter_response_t *resp = rn_handler_response_new(req);
        resp->error_code =
            in->voter_id < 0 ? RN_KERR_INVALID_REQUEST : RN_KERR_INCONSISTENT_CLUSTER_ID;
        rn_handler_respond(req, resp);
        return;
    }
    voters_wait_t *wait =
        voters_start(core, req, in->voter_id, rn_quorum_admin_remove_voter, voters_remove_done);
    rn_topics_submit(core->node, &wait->op);
}
