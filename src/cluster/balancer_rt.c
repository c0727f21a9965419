/*
 * balancer_rt.c: the balancer on the active controller (see
 * balancer_rt.h). Its step keeps its progress in op->step_state:
 *   [0] phase   [1] Raft index   [2] Raft term of the proposal waited on
 * A pass first elects the preferred leaders where they may lead, then
 * plans; each proposal is waited for before the next phase.
 */
#include "cluster/balancer_rt.h"

#include "base/assert.h"
#include "base/log.h"
#include "metadata/balance_input.h"
#include "metadata/controller_reassign.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define MOD "balancer"

enum { PHASE_ELECT = 0, PHASE_ELECTED, PHASE_MOVED };

struct rn_bal_rt {
    rn_md_rt_t *rt;
    rn_bal_rt_opts_t opts;
    rn_bal_settings_t settings;
    rn_mail_t start_mail;
    rn_timer_t timer;
    rn_admin_op_t op;
    rn_ctl_result_t result;
    bool busy;
    rn_md_batch_t batch;
    uint32_t unfinished; /* the last report's goals_unfinished */
    /* Fenced brokers and since when, as this node saw them while active. */
    int32_t fenced_ids[RN_BROKERS_MAX];
    int64_t fenced_since_ms[RN_BROKERS_MAX];
    int32_t fenced_n;
    uint64_t term; /* the term those were seen in */
    _Atomic int64_t plans, moves, leader_moves_total, bytes, moving_now;
    _Atomic int32_t idle, hard_left;
};

/* ---- absence ---- */

/* When broker id was first seen fenced (the sightings of the last pass);
   now_ms when it was not. */
static int64_t bal_fenced_since(const rn_bal_rt_t *b, int32_t id, int64_t now_ms) {
    for (int32_t k = 0; k < b->fenced_n; k++)
        if (b->fenced_ids[k] == id) return b->fenced_since_ms[k];
    return now_ms;
}

/* Keeps the fenced brokers' first sighting; the absent ones into ids. */
static int32_t bal_absent(rn_bal_rt_t *b, const rn_image_t *img, int64_t now_ms, int32_t *ids) {
    uint64_t term = rn_raft_term(rn_quorum_raft(rn_md_rt_quorum(b->rt)));
    if (term != b->term) { /* a new active controller counts afresh */
        b->fenced_n = 0;
        b->term = term;
    }
    int32_t next_ids[RN_BROKERS_MAX];
    int64_t next_since[RN_BROKERS_MAX];
    int32_t kept = 0, absent = 0;
    for (int32_t n = 0; n < rn_image_broker_count(img) && kept < RN_BROKERS_MAX; n++) {
        const rn_image_broker_t *br = rn_image_broker_at(img, n);
        if (!br->fenced) continue;
        int64_t since = bal_fenced_since(b, br->id, now_ms);
        next_ids[kept] = br->id;
        next_since[kept++] = since;
        if (now_ms - since >= b->opts.absent_ms) ids[absent++] = br->id;
    }
    memcpy(b->fenced_ids, next_ids, (size_t)kept * sizeof next_ids[0]);
    memcpy(b->fenced_since_ms, next_since, (size_t)kept * sizeof next_since[0]);
    b->fenced_n = kept;
    return absent;
}

/* ---- the plan ---- */

static void bal_publish(rn_bal_rt_t *b, const rn_bal_view_t *view, const rn_bal_report_t *rep) {
    int64_t moving = 0;
    for (int32_t n = 0; n < view->in.parts_n; n++) moving += view->parts[n].moving;
    int32_t hard = 0;
    for (int g = 0; g < RN_BAL_G_SOFT_FIRST; g++) hard += rep->after[g];
    atomic_fetch_add(&b->plans, 1);
    atomic_fetch_add(&b->moves, rep->moves_n - rep->leader_moves_n);
    atomic_fetch_add(&b->leader_moves_total, rep->leader_moves_n);
    atomic_fetch_add(&b->bytes, rep->bytes);
    atomic_store(&b->moving_now, moving);
    atomic_store(&b->idle, (int32_t)rep->idle);
    atomic_store(&b->hard_left, hard);
}

/* The moves as one reassignment request (one topic entry per move). */
static rn_err_t bal_propose(rn_bal_rt_t *b, const rn_bal_view_t *view, const rn_bal_move_t *moves,
                            int32_t count, rn_admin_op_t *op) {
    rn_ctl_reassign_topic_t *topics = calloc((size_t)count, sizeof *topics);
    rn_ctl_reassign_partition_t *parts = calloc((size_t)count, sizeof *parts);
    rn_ctl_result_t *results = calloc((size_t)count, sizeof *results);
    RN_ASSERT(topics && parts && results);
    for (int32_t n = 0; n < count; n++) {
        const rn_bal_move_t *m = &moves[n];
        const rn_image_topic_t *topic = view->topic_of[m->part];
        parts[n] = (rn_ctl_reassign_partition_t){view->parts[m->part].partition, m->replicas,
                                                 m->replicas_n};
        topics[n] = (rn_ctl_reassign_topic_t){rn_str_from_cstr(topic->name), &parts[n], 1};
    }
    rn_ctl_reassign_request_t req = {topics, count, false};
    rn_quorum_t *q = rn_md_rt_quorum(b->rt);
    rn_md_batch_reset(&b->batch);
    /* Planned again on the image the planner read: a move the image now
       refuses is left out, and the others go. */
    rn_err_t err = rn_ctl_plan_reassign(rn_quorum_image(q), &req, results, &b->batch);
    if (err == RN_OK && b->batch.count > 0)
        err = rn_controller_check(&rn_md_rt_node(b->rt)->controller, &b->batch);
    if (err == RN_OK && b->batch.count > 0)
        err = rn_quorum_propose(q, &b->batch, &op->step_state[1], &op->step_state[2]);
    free(topics);
    free(parts);
    free(results);
    return err;
}

/* Plans on the applied image; true when there is nothing to wait for. */
static bool bal_plan(rn_bal_rt_t *b, rn_admin_op_t *op) {
    const rn_image_t *img = rn_quorum_image(rn_md_rt_quorum(b->rt));
    op->step_state[0] = PHASE_MOVED;
    if (rn_image_broker_count(img) == 0) return true;
    int32_t absent[RN_BROKERS_MAX];
    int32_t absent_n = bal_absent(b, img, rn_md_rt_loop(b->rt)->now_ms, absent);
    rn_bal_view_t view;
    rn_err_t err = rn_bal_view_build(img, absent, absent_n, &view);
    if (err != RN_OK) {
        RN_WARN(MOD, "cannot read the cluster for a plan: %s", rn_err_name(err));
        return true;
    }
    view.in.goals_unfinished = b->unfinished;
    rn_bal_move_t *moves = calloc((size_t)b->settings.moves_per_plan_max, sizeof *moves);
    RN_ASSERT(moves != NULL);
    int32_t count = 0;
    rn_bal_report_t rep;
    err = rn_bal_plan(&view.in, &b->settings, moves, b->settings.moves_per_plan_max, &count, &rep);
    if (err == RN_OK) {
        bal_publish(b, &view, &rep);
        b->unfinished = rep.goals_unfinished;
        if (count > 0) err = bal_propose(b, &view, moves, count, op);
        if (err == RN_OK && count > 0)
            RN_INFO(MOD, "%d move(s) planned (%d leader move(s), %lld bytes to copy)", count,
                    rep.leader_moves_n, (long long)rep.bytes);
    }
    if (err != RN_OK) RN_WARN(MOD, "the plan could not be recorded: %s", rn_err_name(err));
    free(moves);
    rn_bal_view_free(&view);
    return err != RN_OK || count == 0 || b->batch.count == 0; /* nothing proposed */
}

/* First the preferred replicas take the lead where they may (the
   reorders of earlier plans, a broker back): as the leader imbalance pass
   does, when auto.leader.rebalance.enable lets it. True when nothing was
   proposed. */
static bool bal_elect(rn_bal_rt_t *b, rn_admin_op_t *op) {
    if (!b->opts.elect) return true;
    rn_quorum_t *q = rn_md_rt_quorum(b->rt);
    rn_md_batch_reset(&b->batch);
    int32_t elected = 0;
    bool more = false;
    rn_err_t err = rn_ctl_plan_rebalance(rn_quorum_image(q), 0, RN_ELECTIONS_PER_PASS_MAX,
                                         &b->batch, &elected, &more);
    if (err == RN_OK && elected > 0)
        err = rn_quorum_propose(q, &b->batch, &op->step_state[1], &op->step_state[2]);
    if (err != RN_OK)
        RN_WARN(MOD, "the preferred leaders could not be elected: %s", rn_err_name(err));
    else if (elected > 0)
        RN_INFO(MOD, "%d partition(s) moved to their preferred replica", elected);
    return err != RN_OK || elected == 0;
}

/* The step: elect, wait; plan, wait. */
static bool bal_step(rn_md_rt_t *rt, rn_admin_op_t *op) {
    rn_bal_rt_t *b = op->ctx;
    RN_ASSERT(b->rt == rt);
    int outcome = 0;
    switch (op->step_state[0]) {
    case PHASE_ELECT:
        op->step_state[0] = PHASE_ELECTED;
        return bal_elect(b, op) ? bal_plan(b, op) : false;
    case PHASE_ELECTED:
        outcome = rn_quorum_outcome(rn_md_rt_quorum(rt), op->step_state[1], op->step_state[2]);
        if (outcome == 0) return false;
        return outcome < 0 || bal_plan(b, op);
    default:
        outcome = rn_quorum_outcome(rn_md_rt_quorum(rt), op->step_state[1], op->step_state[2]);
        return outcome != 0;
    }
}

/* ---- the timer ---- */

static void bal_done(rn_admin_op_t *op) {
    rn_bal_rt_t *b = op->ctx;
    b->busy = false;
}

static void bal_tick(rn_timer_t *timer) {
    rn_bal_rt_t *b = (rn_bal_rt_t *)((char *)timer - offsetof(rn_bal_rt_t, timer));
    rn_loop_t *loop = rn_md_rt_loop(b->rt);
    if (!b->busy && rn_raft_role(rn_quorum_raft(rn_md_rt_quorum(b->rt))) == RN_RAFT_LEADER) {
        b->busy = true;
        b->op = (rn_admin_op_t){.kind = RN_ADMIN_CALL,
                                .count = 1,
                                .results = &b->result,
                                .done = bal_done,
                                .ctx = b,
                                .step = bal_step,
                                .no_forward = true};
        rn_md_rt_submit(b->rt, &b->op);
    }
    rn_loop_timer_start(loop, &b->timer, b->opts.interval_ms);
}

static void bal_start_arrived(rn_mail_t *mail) {
    rn_bal_rt_t *b = (rn_bal_rt_t *)((char *)mail - offsetof(rn_bal_rt_t, start_mail));
    rn_timer_init(&b->timer, bal_tick);
    rn_loop_timer_start(rn_md_rt_loop(b->rt), &b->timer, b->opts.interval_ms);
}

rn_bal_rt_t *rn_bal_rt_start(rn_md_rt_t *rt, const rn_bal_rt_opts_t *opts) {
    if (opts->interval_ms <= 0) return NULL;
    rn_bal_rt_t *b = calloc(1, sizeof *b);
    RN_ASSERT(b != NULL);
    b->rt = rt;
    b->opts = *opts;
    rn_bal_settings_default(&b->settings);
    if (opts->moves_per_broker > 0) b->settings.moves_per_broker_max = opts->moves_per_broker;
    rn_md_batch_init(&b->batch);
    b->start_mail.fn = bal_start_arrived;
    rn_loop_post(rn_md_rt_loop(rt), &b->start_mail);
    return b;
}

void rn_bal_rt_free(rn_bal_rt_t *b) {
    if (!b) return;
    RN_ASSERT(!b->busy); /* the runtime answers every op before it stops */
    rn_md_batch_free(&b->batch);
    free(b);
}

void rn_bal_rt_status(const rn_bal_rt_t *b, rn_bal_status_t *out) {
    memset(out, 0, sizeof *out);
    if (!b) return;
    out->plans = atomic_load(&b->plans);
    out->moves = atomic_load(&b->moves);
    out->leader_moves = atomic_load(&b->leader_moves_total);
    out->bytes_planned = atomic_load(&b->bytes);
    out->moving_now = atomic_load(&b->moving_now);
    out->idle = atomic_load(&b->idle);
    out->hard_left = atomic_load(&b->hard_left);
}
