/*
 * quorum_admin.c: adding and removing voters, and describing the quorum
 * (see quorum_admin.h). Each step function runs on the metadata loop of
 * the active controller and keeps its progress in op->step_state:
 *   [0] phase   [1] Raft index that must commit before the next phase
 */
#include "cluster/quorum_admin.h"

#include "base/log.h"
#include "proto/uuid_text.h"

#include <stdio.h>
#include <string.h>

#define MOD "quorum"

enum { PHASE_START = 0, PHASE_LEARNER_COMMIT, PHASE_PROMOTE, PHASE_VOTER_COMMIT };

static rn_raft_id_t admin_raft_id(int32_t node_id) { return (rn_raft_id_t)node_id + 1; }

static bool admin_fail(rn_admin_op_t *op, int16_t code, const char *fmt, int32_t node_id) {
    rn_ctl_result_t *res = op->results;
    res->error_code = code;
    snprintf(res->message, sizeof res->message, fmt, node_id);
    return true;
}

static bool admin_committed(const rn_quorum_t *q, const rn_admin_op_t *op) {
    return rn_raft_commit(rn_quorum_raft(q)) >= op->step_state[1];
}

/* Proposes a change; false to try again later (another change pending, or
   the learner still lags), true once proposed or refused. */
static bool admin_change(rn_quorum_t *q, rn_admin_op_t *op, rn_raft_config_op_t what,
                         uint64_t next_phase) {
    const rn_voter_change_t *vc = op->items;
    rn_err_t err = rn_quorum_change(q, what, admin_raft_id(vc->node_id), vc->dir);
    if (err == RN_ERR_AGAIN) return false;
    if (err != RN_OK) {
        admin_fail(op, RN_KERR_UNKNOWN_SERVER_ERROR, "The quorum refused the change of voter %d.",
                   vc->node_id);
        op->step_state[0] = PHASE_VOTER_COMMIT;
        op->step_state[1] = 0;
        return true;
    }
    op->step_state[0] = next_phase;
    op->step_state[1] = rn_raft_last_index(rn_quorum_raft(q));
    return true;
}

bool rn_quorum_admin_add_voter(rn_md_rt_t *rt, rn_admin_op_t *op) {
    rn_quorum_t *q = rn_md_rt_quorum(rt);
    const rn_voter_change_t *vc = op->items;
    rn_raft_id_t id = admin_raft_id(vc->node_id);
    const rn_raft_config_t *cfg = rn_raft_config(rn_quorum_raft(q));
    switch (op->step_state[0]) {
    case PHASE_START:
        if (rn_raft_config_has_voter(cfg, id))
            return admin_fail(op, RN_KERR_DUPLICATE_VOTER,
                              "The voter id %d is already part of the set of voters.", vc->node_id);
        if (rn_raft_config_has_learner(cfg, id)) {
            op->step_state[0] = PHASE_PROMOTE;
            return false;
        }
        if (rn_md_rt_peer_set(rt, id, vc->host, vc->port) != RN_OK)
            return admin_fail(op, RN_KERR_INVALID_REQUEST,
                              "No room for another member to reach (voter %d).", vc->node_id);
        admin_change(q, op, RN_RAFT_ADD_LEARNER, PHASE_LEARNER_COMMIT);
        return false;
    case PHASE_LEARNER_COMMIT:
        if (admin_committed(q, op)) op->step_state[0] = PHASE_PROMOTE;
        return false;
    case PHASE_PROMOTE:
        admin_change(q, op, RN_RAFT_PROMOTE, PHASE_VOTER_COMMIT);
        return false;
    default:
        if (!admin_committed(q, op)) return false;
        if (((rn_ctl_result_t *)op->results)->error_code == RN_KERR_NONE)
            RN_INFO(MOD, "node %d is a voter", vc->node_id);
        return true;
    }
}

bool rn_quorum_admin_remove_voter(rn_md_rt_t *rt, rn_admin_op_t *op) {
    rn_quorum_t *q = rn_md_rt_quorum(rt);
    const rn_voter_change_t *vc = op->items;
    rn_raft_id_t id = admin_raft_id(vc->node_id);
    const rn_raft_config_t *cfg = rn_raft_config(rn_quorum_raft(q));
    if (op->step_state[0] == PHASE_START) {
        if (!rn_raft_config_has_voter(cfg, id) && !rn_raft_config_has_learner(cfg, id))
            return admin_fail(op, RN_KERR_VOTER_NOT_FOUND,
                              "The voter id %d is not part of the set of voters.", vc->node_id);
        admin_change(q, op, RN_RAFT_REMOVE, PHASE_VOTER_COMMIT);
        return false;
    }
    if (!admin_committed(q, op)) return false;
    if (((rn_ctl_result_t *)op->results)->error_code == RN_KERR_NONE)
        RN_INFO(MOD, "node %d left the quorum", vc->node_id);
    return true;
}

/* ---- describe ---- */

static void admin_replica(rn_md_rt_t *rt, rn_raft_id_t id, int64_t commit,
                          rn_quorum_replica_t *out) {
    const rn_raft_t *r = rn_quorum_raft(rn_md_rt_quorum(rt));
    rn_node_t *node = rn_md_rt_node(rt);
    bool self = id == rn_raft_id(r);
    memset(out, 0, sizeof *out);
    out->node_id = (int32_t)id - 1;
    rn_uuid_from_text(self ? node->directory_id : rn_quorum_member_dir(rn_md_rt_quorum(rt), id),
                      &out->directory_id);
    uint64_t match = rn_raft_match(r, id);
    out->log_end = match ? (int64_t)match : -1;
    int64_t now_ms = rn_io_wall_ms(node->io);
    out->last_fetch_ms = self ? now_ms : rn_md_rt_last_ack_ms(rt, id);
    out->last_caught_up_ms = self || (match && (int64_t)match >= commit) ? out->last_fetch_ms : -1;
    if (!rn_md_rt_endpoint(rt, id, out->host, sizeof out->host, &out->port)) out->host[0] = '\0';
}

bool rn_quorum_admin_describe(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_raft_t *r = rn_quorum_raft(rn_md_rt_quorum(rt));
    rn_quorum_status_t *st = op->results;
    const rn_raft_config_t *cfg = rn_raft_config(r);
    st->leader_id = (int32_t)rn_raft_id(r) - 1;
    st->leader_epoch = (int32_t)rn_raft_term(r);
    st->high_watermark = (int64_t)rn_raft_commit(r);
    st->voter_count = (int32_t)cfg->voters_n;
    st->observer_count = (int32_t)cfg->learners_n;
    for (uint32_t i = 0; i < cfg->voters_n; i++)
        admin_replica(rt, cfg->voters[i], st->high_watermark, &st->voters[i]);
    for (uint32_t i = 0; i < cfg->learners_n; i++)
        admin_replica(rt, cfg->learners[i], st->high_watermark, &st->observers[i]);
    return true;
}
