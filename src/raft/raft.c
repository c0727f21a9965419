/*
 * raft.c: the raft's entry points: creation, rn_raft_step's term rules and
 * dispatch, ticks, elections (pre-vote, vote, check-quorum), proposals,
 * read-index requests, leadership transfer and membership changes.
 *
 * Owns the rn_raft_t it creates. Never does I/O: every effect goes into the
 * struct and leaves through rn_raft_ready (raft_ready.c).
 */
#include "raft_int.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng_next(rn_raft_t *r) {
    uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void timeout_reset(rn_raft_t *r) {
    r->elapsed = 0;
    r->timeout = r->opts.election_ticks + (uint32_t)(rng_next(r) % r->opts.election_ticks);
}

void rn_raft_opts_default(rn_raft_opts_t *opts, rn_raft_id_t id, uint64_t seed) {
    memset(opts, 0, sizeof(*opts));
    opts->id = id;
    opts->election_ticks = RN_RAFT_ELECTION_TICKS_DEFAULT;
    opts->heartbeat_ticks = RN_RAFT_HEARTBEAT_TICKS_DEFAULT;
    opts->append_entries_max = RN_RAFT_APPEND_ENTRIES_MAX;
    opts->snapshot_entries = RN_RAFT_SNAPSHOT_ENTRIES_DEFAULT;
    opts->prevote = 1;
    opts->check_quorum = 1;
    opts->seed = seed;
}

static rn_err_t boot_load(rn_raft_t *r, const rn_raft_boot_t *boot) {
    r->term = boot->term;
    r->vote = boot->vote;
    if (boot->snapshot && boot->snapshot->index) {
        r->snap = *boot->snapshot;
        r->snap.data = NULL;
        if (boot->snapshot->len) {
            r->snap.data = malloc(boot->snapshot->len);
            if (!r->snap.data) return RN_ERR_NO_MEMORY;
            memcpy(r->snap.data, boot->snapshot->data, boot->snapshot->len);
        }
    } else {
        r->snap.config = boot->config;
    }
    for (uint32_t i = 0; i < boot->entries_n; i++) {
        const rn_raft_entry_t *e = &boot->entries[i];
        RN_ASSERT(e->index == rn_raft_log_last(r) + 1);
        rn_err_t err = rn_raft_log_append(r, e->term, e->type, e->data, e->len);
        if (err) return err;
    }
    return RN_OK;
}

rn_err_t rn_raft_create(const rn_raft_opts_t *opts, const rn_raft_boot_t *boot, rn_raft_t **out) {
    RN_ASSERT(opts->id != RN_RAFT_ID_NONE);
    RN_ASSERT(opts->election_ticks > 2 * opts->heartbeat_ticks && opts->heartbeat_ticks > 0);
    RN_ASSERT(opts->append_entries_max >= 1 &&
              opts->append_entries_max <= RN_RAFT_APPEND_ENTRIES_MAX);
    rn_raft_t *r = calloc(1, sizeof(*r));
    if (!r) return RN_ERR_NO_MEMORY;
    r->opts = *opts;
    r->rng = opts->seed ^ ((uint64_t)opts->id << 32);
    rn_err_t err = boot_load(r, boot);
    if (err) {
        rn_raft_destroy(r);
        return err;
    }
    r->commit = r->applied = r->snapshot_asked = r->snap.index;
    r->stable = rn_raft_log_last(r);
    r->unstable = r->stable + 1;
    rn_raft_config_recompute(r);
    r->role = RN_RAFT_FOLLOWER;
    timeout_reset(r);
    *out = r;
    return RN_OK;
}

void rn_raft_destroy(rn_raft_t *r) {
    if (!r) return;
    rn_raft_log_clear(r);
    free(r->log);
    free(r->snap.data);
    free(r);
}

void rn_raft_send(rn_raft_t *r, const rn_raft_msg_t *msg) {
    RN_ASSERT(msg->to != r->opts.id);
    if (r->msgs_n == RN_RAFT_MSGS_OUT_MAX) {
        r->msgs_dropped_total++; /* Raft tolerates loss; the peer is retried */
        return;
    }
    rn_raft_msg_t *m = &r->msgs[r->msgs_n++];
    *m = *msg;
    m->from = r->opts.id;
    if (!m->term) m->term = r->term;
}

static void reads_drop(rn_raft_t *r) { r->reads_pending_n = 0; }

void rn_raft_become_follower(rn_raft_t *r, uint64_t term, rn_raft_id_t leader) {
    RN_ASSERT(term >= r->term);
    if (term > r->term) {
        r->term = term;
        r->vote = RN_RAFT_ID_NONE;
        r->vote_lag = 0;
        r->state_dirty = 1;
    }
    r->role = RN_RAFT_FOLLOWER;
    r->leader = leader;
    r->transferee = RN_RAFT_ID_NONE;
    reads_drop(r);
    timeout_reset(r);
}

static void become_leader(rn_raft_t *r) {
    RN_ASSERT(r->role == RN_RAFT_CANDIDATE);
    r->role = RN_RAFT_LEADER;
    r->leader = r->opts.id;
    r->transferee = RN_RAFT_ID_NONE;
    r->hb_elapsed = 0;
    r->elapsed = 0;
    reads_drop(r);
    rn_raft_pr_reset(r);
    /* A no-op of the new term lets earlier entries commit (§5.4.2). */
    rn_err_t err = rn_raft_log_append(r, r->term, RN_RAFT_ENTRY_NOOP, NULL, 0);
    RN_ASSERT(err == RN_OK || err == RN_ERR_LIMIT);
    rn_raft_broadcast_append(r);
    rn_raft_maybe_commit(r);
}

/* Who may vote: voters; a planted bug also lets learners vote. */
static int may_vote(const rn_raft_t *r, rn_raft_id_t id) {
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_LEARNER_VOTE
    if (rn_raft_config_has_learner(&r->config, id)) return 1;
#endif
    return rn_raft_config_has_voter(&r->config, id);
}

/* Counts a vote; returns 1 won, -1 lost, 0 undecided. */
static int tally(rn_raft_t *r, rn_raft_id_t from, int granted) {
    rn_raft_id_t *list = granted ? r->granted : r->rejected;
    uint32_t *n = granted ? &r->granted_n : &r->rejected_n;
    int seen = 0;
    for (uint32_t i = 0; i < r->granted_n; i++) seen |= r->granted[i] == from;
    for (uint32_t i = 0; i < r->rejected_n; i++) seen |= r->rejected[i] == from;
    if (!seen && may_vote(r, from) && *n < RN_RAFT_NODES_MAX) list[(*n)++] = from;
    uint32_t q = rn_raft_quorum(r);
    if (r->granted_n >= q) return 1;
    if (r->rejected_n >= q) return -1;
    return 0;
}

void rn_raft_campaign(rn_raft_t *r, int pre, int transfer) {
    RN_ASSERT(rn_raft_config_has_voter(&r->config, r->opts.id));
    uint64_t term = r->term + 1;
    if (pre) {
        r->role = RN_RAFT_PRECANDIDATE;
    } else {
        r->role = RN_RAFT_CANDIDATE;
        r->term = term;
        r->vote = r->opts.id;
        r->vote_lag = 0;
        r->state_dirty = 1;
    }
    r->leader = RN_RAFT_ID_NONE;
    r->granted_n = r->rejected_n = 0;
    reads_drop(r);
    timeout_reset(r);
    if (tally(r, r->opts.id, 1) == 1) {
        if (pre)
            rn_raft_campaign(r, 0, transfer);
        else
            become_leader(r);
        return;
    }
    rn_raft_msg_t m = {0};
    m.type = pre ? RN_RAFT_MSG_PREVOTE : RN_RAFT_MSG_VOTE;
    m.term = term;
    m.index = rn_raft_log_last(r);
    m.log_term = rn_raft_log_last_term(r);
    m.transfer = (uint8_t)transfer;
    const rn_raft_config_t *cfg = &r->config;
    for (uint32_t i = 0; i < cfg->voters_n + cfg->learners_n; i++) {
        rn_raft_id_t id = i < cfg->voters_n ? cfg->voters[i] : cfg->learners[i - cfg->voters_n];
        if (id == r->opts.id || !may_vote(r, id)) continue;
        m.to = id;
        rn_raft_send(r, &m);
    }
}

static void handle_prevote(rn_raft_t *r, const rn_raft_msg_t *m) {
    int grant = m->term > r->term && rn_raft_log_up_to_date(r, m->log_term, m->index);
    rn_raft_msg_t resp = {0};
    resp.type = RN_RAFT_MSG_PREVOTE_RESP;
    resp.to = m->from;
    resp.term = grant ? m->term : r->term;
    resp.reject = (uint8_t)!grant;
    rn_raft_send(r, &resp);
}

static void handle_vote(rn_raft_t *r, const rn_raft_msg_t *m) {
    int can = r->vote == m->from || (r->vote == RN_RAFT_ID_NONE && r->leader == RN_RAFT_ID_NONE);
    int grant = can && rn_raft_log_up_to_date(r, m->log_term, m->index);
    if (grant) {
        r->vote = m->from;
        timeout_reset(r);
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_VOTE_UNPERSISTED
        r->vote_lag = 1; /* answered, never persisted */
#else
        r->state_dirty = 1;
#endif
    }
    rn_raft_msg_t resp = {0};
    resp.type = RN_RAFT_MSG_VOTE_RESP;
    resp.to = m->from;
    resp.reject = (uint8_t)!grant;
    rn_raft_send(r, &resp);
}

static void handle_vote_resp(rn_raft_t *r, const rn_raft_msg_t *m) {
    int pre = m->type == RN_RAFT_MSG_PREVOTE_RESP;
    if (r->role != (pre ? RN_RAFT_PRECANDIDATE : RN_RAFT_CANDIDATE)) return;
    int res = tally(r, m->from, !m->reject);
    if (res == 1) {
        if (pre)
            rn_raft_campaign(r, 0, 0);
        else
            become_leader(r);
    } else if (res == -1) {
        rn_raft_become_follower(r, r->term, RN_RAFT_ID_NONE);
    }
}

static void handle_timeout_now(rn_raft_t *r, const rn_raft_msg_t *m) {
    (void)m;
    if (!rn_raft_config_has_voter(&r->config, r->opts.id)) return;
    rn_raft_campaign(r, 0, 1);
}

static int in_lease(const rn_raft_t *r) {
    return r->opts.check_quorum && r->leader != RN_RAFT_ID_NONE &&
           r->elapsed < r->opts.election_ticks;
}

/* The term rules every message passes first; returns 0 to drop it. */
static int step_term(rn_raft_t *r, const rn_raft_msg_t *m) {
    uint8_t t = m->type;
    if (m->term > r->term) {
        if ((t == RN_RAFT_MSG_VOTE || t == RN_RAFT_MSG_PREVOTE) && !m->transfer && in_lease(r))
            return 0; /* we heard from a live leader: ignore a disruptive candidate */
        if (t == RN_RAFT_MSG_PREVOTE || (t == RN_RAFT_MSG_PREVOTE_RESP && !m->reject))
            return 1; /* pre-vote never changes terms */
        int from_leader =
            t == RN_RAFT_MSG_APPEND || t == RN_RAFT_MSG_SNAPSHOT || t == RN_RAFT_MSG_TIMEOUT_NOW;
        uint32_t elapsed = r->elapsed, timeout = r->timeout;
        rn_raft_become_follower(r, m->term, from_leader ? m->from : RN_RAFT_ID_NONE);
        if (!from_leader) {
            /* A newer term is no news of a leader: the election timer runs
               on (it restarts only for a vote granted, §5.2). Else
               candidates whose logs lag, each bumping the term in turn,
               could hold back for ever the one node that would win. */
            r->elapsed = elapsed;
            r->timeout = timeout;
        }
        return 1;
    }
    if (m->term < r->term) {
        if (t == RN_RAFT_MSG_APPEND || t == RN_RAFT_MSG_SNAPSHOT || t == RN_RAFT_MSG_PREVOTE ||
            t == RN_RAFT_MSG_VOTE) {
            /* Tell a stale leader or candidate about the newer term (§5.1).
               Staying silent to a candidate can deadlock: members whose
               configs differ may never send it anything else. */
            rn_raft_msg_t resp = {0};
            resp.type = t == RN_RAFT_MSG_PREVOTE ? RN_RAFT_MSG_PREVOTE_RESP
                        : t == RN_RAFT_MSG_VOTE  ? RN_RAFT_MSG_VOTE_RESP
                                                 : RN_RAFT_MSG_APPEND_RESP;
            resp.to = m->from;
            resp.reject = 1;
            resp.index = m->index;
            resp.hint = rn_raft_log_last(r);
            rn_raft_send(r, &resp);
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_STALE_APPEND
            if (t == RN_RAFT_MSG_APPEND) rn_raft_handle_append(r, m);
#endif
        }
        return 0;
    }
    return 1;
}

void rn_raft_step(rn_raft_t *r, const rn_raft_msg_t *m) {
    RN_ASSERT(!r->in_ready);
    RN_ASSERT(m->to == r->opts.id);
    if (m->from == r->opts.id || m->type == 0 || m->type >= RN_RAFT_MSG__COUNT) return;
    if (!step_term(r, m)) return;
    switch (m->type) {
    case RN_RAFT_MSG_PREVOTE:
        handle_prevote(r, m);
        break;
    case RN_RAFT_MSG_VOTE:
        handle_vote(r, m);
        break;
    case RN_RAFT_MSG_PREVOTE_RESP:
    case RN_RAFT_MSG_VOTE_RESP:
        handle_vote_resp(r, m);
        break;
    case RN_RAFT_MSG_APPEND:
    case RN_RAFT_MSG_SNAPSHOT:
        if (r->role != RN_RAFT_FOLLOWER || r->leader != m->from)
            rn_raft_become_follower(r, r->term, m->from);
        r->elapsed = 0;
        if (m->type == RN_RAFT_MSG_APPEND)
            rn_raft_handle_append(r, m);
        else
            rn_raft_handle_snapshot(r, m);
        break;
    case RN_RAFT_MSG_APPEND_RESP:
        if (r->role == RN_RAFT_LEADER) rn_raft_handle_append_resp(r, m);
        break;
    case RN_RAFT_MSG_TIMEOUT_NOW:
        handle_timeout_now(r, m);
        break;
    default:
        break;
    }
}

static int quorum_active(rn_raft_t *r) {
    uint32_t n = rn_raft_config_has_voter(&r->config, r->opts.id);
    for (uint32_t i = 0; i < r->prs_n; i++) {
        if (r->prs[i].active && rn_raft_config_has_voter(&r->config, r->prs[i].id)) n++;
        r->prs[i].active = 0;
    }
    return n >= rn_raft_quorum(r);
}

static void tick_leader(rn_raft_t *r) {
    r->hb_elapsed++;
    if (++r->elapsed >= r->opts.election_ticks) {
        r->elapsed = 0;
        r->transferee = RN_RAFT_ID_NONE; /* a transfer gets one election timeout */
        if (r->opts.check_quorum && !quorum_active(r)) {
            rn_raft_become_follower(r, r->term, RN_RAFT_ID_NONE);
            return;
        }
    }
    if (r->hb_elapsed >= r->opts.heartbeat_ticks) {
        r->hb_elapsed = 0;
        rn_raft_heartbeat_tick(r);
    }
}

void rn_raft_tick(rn_raft_t *r) {
    RN_ASSERT(!r->in_ready);
    if (r->role == RN_RAFT_LEADER) {
        tick_leader(r);
        return;
    }
    if (++r->elapsed < r->timeout) return;
    if (!rn_raft_config_has_voter(&r->config, r->opts.id)) {
        timeout_reset(r);
        return;
    }
    if (r->role == RN_RAFT_FOLLOWER) r->leader = RN_RAFT_ID_NONE;
    rn_raft_campaign(r, r->opts.prevote, 0);
}

void rn_raft_campaign_now(rn_raft_t *r) {
    RN_ASSERT(!r->in_ready);
    RN_ASSERT(rn_raft_config_has_voter(&r->config, r->opts.id));
    if (r->role == RN_RAFT_LEADER) return;
    rn_raft_campaign(r, r->opts.prevote, 0);
}

rn_err_t rn_raft_propose(rn_raft_t *r, const void *data, uint32_t len, uint64_t *index,
                         uint64_t *term) {
    RN_ASSERT(!r->in_ready);
    if (r->role != RN_RAFT_LEADER || r->transferee != RN_RAFT_ID_NONE) return RN_ERR_STALE;
    if (len > RN_RAFT_ENTRY_BYTES_MAX) return RN_ERR_TOO_LARGE;
    rn_err_t err = rn_raft_log_append(r, r->term, RN_RAFT_ENTRY_NORMAL, data, len);
    if (err) return err;
    *index = rn_raft_log_last(r);
    *term = r->term;
    rn_raft_broadcast_append(r);
    return RN_OK;
}

rn_err_t rn_raft_read_index(rn_raft_t *r, uint64_t ctx) {
    RN_ASSERT(!r->in_ready);
    if (r->role != RN_RAFT_LEADER) return RN_ERR_STALE;
    if (rn_raft_term_at(r, r->commit) != r->term) return RN_ERR_AGAIN;
    if (r->reads_pending_n == RN_RAFT_READS_PENDING_MAX) return RN_ERR_LIMIT;
    rn_raft_read_pending_t *rp = &r->reads_pending[r->reads_pending_n++];
    rp->ctx = ctx;
    rp->index = r->commit;
    rp->seq = ++r->read_seq;
    r->read_broadcast = 1;
    rn_raft_reads_check(r);
    return RN_OK;
}

rn_err_t rn_raft_transfer(rn_raft_t *r, rn_raft_id_t target) {
    RN_ASSERT(!r->in_ready);
    if (r->role != RN_RAFT_LEADER) return RN_ERR_STALE;
    if (target == r->opts.id || !rn_raft_config_has_voter(&r->config, target))
        return RN_ERR_INVALID;
    rn_raft_progress_t *pr = rn_raft_pr_find(r, target);
    RN_ASSERT(pr != NULL);
    r->transferee = target;
    r->elapsed = 0;
    if (pr->match == rn_raft_log_last(r)) {
        rn_raft_msg_t m = {0};
        m.type = RN_RAFT_MSG_TIMEOUT_NOW;
        m.to = target;
        rn_raft_send(r, &m);
    } else {
        rn_raft_send_append(r, pr, 1);
    }
    return RN_OK;
}

static void config_remove(rn_raft_id_t *ids, uint32_t *n, rn_raft_id_t id) {
    for (uint32_t i = 0; i < *n; i++) {
        if (ids[i] != id) continue;
        ids[i] = ids[--*n];
        return;
    }
}

static rn_err_t change_apply(rn_raft_t *r, rn_raft_config_t *cfg, rn_raft_config_op_t op,
                             rn_raft_id_t id) {
    int voter = rn_raft_config_has_voter(cfg, id), learner = rn_raft_config_has_learner(cfg, id);
    switch (op) {
    case RN_RAFT_ADD_LEARNER:
        if (voter || learner || id == RN_RAFT_ID_NONE) return RN_ERR_INVALID;
        if (cfg->voters_n + cfg->learners_n >= RN_RAFT_NODES_MAX) return RN_ERR_LIMIT;
        cfg->learners[cfg->learners_n++] = id;
        return RN_OK;
    case RN_RAFT_PROMOTE: {
        if (!learner) return RN_ERR_INVALID;
        rn_raft_progress_t *pr = rn_raft_pr_find(r, id);
        if (!pr || pr->match + RN_RAFT_CATCHUP_LAG_MAX < rn_raft_log_last(r)) return RN_ERR_AGAIN;
        config_remove(cfg->learners, &cfg->learners_n, id);
        cfg->voters[cfg->voters_n++] = id;
        return RN_OK;
    }
    case RN_RAFT_REMOVE:
        if (voter && cfg->voters_n == 1) return RN_ERR_INVALID;
        if (!voter && !learner) return RN_ERR_INVALID;
        config_remove(cfg->voters, &cfg->voters_n, id);
        config_remove(cfg->learners, &cfg->learners_n, id);
        return RN_OK;
    }
    return RN_ERR_INVALID;
}

rn_err_t rn_raft_change(rn_raft_t *r, rn_raft_config_op_t op, rn_raft_id_t id) {
    RN_ASSERT(!r->in_ready);
    if (r->role != RN_RAFT_LEADER || r->transferee != RN_RAFT_ID_NONE) return RN_ERR_STALE;
    /* One change at a time, and only once this leader committed in its term. */
    if (r->config_index > r->commit || rn_raft_term_at(r, r->commit) != r->term)
        return RN_ERR_AGAIN;
    rn_raft_config_t cfg = r->config;
    rn_err_t err = change_apply(r, &cfg, op, id);
    if (err) return err;
    uint8_t buf[RN_RAFT_CONFIG_BYTES_MAX];
    uint32_t len = rn_raft_config_encode(&cfg, buf, sizeof(buf));
    err = rn_raft_log_append(r, r->term, RN_RAFT_ENTRY_CONFIG, buf, len);
    if (err) return err;
    rn_raft_config_set(r, &cfg, rn_raft_log_last(r));
    rn_raft_broadcast_append(r);
    rn_raft_maybe_commit(r);
    return RN_OK;
}

rn_raft_role_t rn_raft_role(const rn_raft_t *r) { return r->role; }
rn_raft_id_t rn_raft_id(const rn_raft_t *r) { return r->opts.id; }
rn_raft_id_t rn_raft_leader(const rn_raft_t *r) { return r->leader; }
uint64_t rn_raft_term(const rn_raft_t *r) { return r->term; }
uint64_t rn_raft_commit(const rn_raft_t *r) { return r->commit; }
uint64_t rn_raft_applied(const rn_raft_t *r) { return r->applied; }
uint64_t rn_raft_last_index(const rn_raft_t *r) { return rn_raft_log_last(r); }
uint64_t rn_raft_snapshot_index(const rn_raft_t *r) { return r->snap.index; }
const rn_raft_config_t *rn_raft_config(const rn_raft_t *r) { return &r->config; }
const rn_raft_snapshot_t *rn_raft_snapshot(const rn_raft_t *r) { return &r->snap; }

const char *rn_raft_role_name(rn_raft_role_t role) {
    static const char *const names[] = {"follower", "precandidate", "candidate", "leader"};
    return role <= RN_RAFT_LEADER ? names[role] : "?";
}

const char *rn_raft_msg_name(uint8_t type) {
    static const char *const names[RN_RAFT_MSG__COUNT] = {
        "?",      "prevote",     "prevote_resp", "vote",        "vote_resp",
        "append", "append_resp", "snapshot",     "timeout_now",
    };
    return type < RN_RAFT_MSG__COUNT ? names[type] : "?";
}

uint64_t rn_raft_match(const rn_raft_t *r, rn_raft_id_t id) {
    if (r->role != RN_RAFT_LEADER) return 0;
    if (id == r->opts.id) return rn_raft_log_last(r);
    const rn_raft_progress_t *pr = rn_raft_pr_find((rn_raft_t *)(uintptr_t)r, id);
    return pr ? pr->match : 0;
}
