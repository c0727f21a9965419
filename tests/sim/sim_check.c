/*
 * sim_check.c: the checker. After every step it validates Raft's safety
 * properties (Figure 3 of the Raft paper):
 *   election safety       at most one leader per term
 *   leader completeness   a new leader holds every entry committed so far
 *   log matching          same index and term imply the same prefix
 *   state-machine safety  every node applies the same entry at an index and
 *                         reaches the same key-value state there
 * and at the end the client history: acknowledged writes are committed, the
 * write order (the log order) respects real time, and reads see neither the
 * future, nor a value older than a write acknowledged before they began, nor
 * go back in time relative to an earlier read of the same key.
 *
 * Owns the global record of committed entries and states, indexed by log
 * index. Never changes a node: it only reads rafts through raft.h.
 */
#include "sim.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

#define HAS_ENTRY 1
#define HAS_STATE 2

struct sim_check {
    uint64_t cap;
    uint64_t *c_term, *c_hash, *s_hash, *c_op;
    uint8_t *has;
    uint64_t commit_max;
    uint32_t *leader_of_term;
    uint64_t terms_cap;
};

sim_check_t *sim_check_create(void) {
    sim_check_t *c = calloc(1, sizeof(*c));
    RN_ASSERT(c != NULL);
    return c;
}

void sim_check_destroy(sim_check_t *c) {
    if (!c) return;
    free(c->c_term);
    free(c->c_hash);
    free(c->s_hash);
    free(c->c_op);
    free(c->has);
    free(c->leader_of_term);
    free(c);
}

static void *grow(void *p, uint64_t old_n, uint64_t n, size_t size) {
    uint8_t *q = realloc(p, (size_t)n * size);
    RN_ASSERT(q != NULL);
    memset(q + old_n * size, 0, (size_t)(n - old_n) * size);
    return q;
}

static void reserve(sim_check_t *c, uint64_t index) {
    if (index < c->cap) return;
    uint64_t cap = c->cap ? c->cap : 1024;
    while (cap <= index) cap *= 2;
    c->c_term = grow(c->c_term, c->cap, cap, sizeof(uint64_t));
    c->c_hash = grow(c->c_hash, c->cap, cap, sizeof(uint64_t));
    c->s_hash = grow(c->s_hash, c->cap, cap, sizeof(uint64_t));
    c->c_op = grow(c->c_op, c->cap, cap, sizeof(uint64_t));
    c->has = grow(c->has, c->cap, cap, 1);
    c->cap = cap;
}

uint64_t sim_check_commit_max(const sim_check_t *c) { return c->commit_max; }

static uint64_t entry_hash(const rn_raft_entry_t *e) {
    uint64_t h = 1469598103934665603ull ^ e->type;
    for (uint32_t i = 0; i < e->len; i++) h = (h ^ e->data[i]) * 1099511628211ull;
    return h;
}

void sim_check_apply(sim_t *s, sim_node_t *n, const rn_raft_entry_t *e) {
    sim_check_t *c = s->check;
    reserve(c, e->index);
    uint64_t h = entry_hash(e);
    if (c->has[e->index] & HAS_ENTRY) {
        if (c->c_term[e->index] != e->term || c->c_hash[e->index] != h)
            sim_fail(s,
                     "state machine safety: node %u applied index %llu term %llu, but term %llu "
                     "was applied there before",
                     n->id, (unsigned long long)e->index, (unsigned long long)e->term,
                     (unsigned long long)c->c_term[e->index]);
        return;
    }
    c->has[e->index] |= HAS_ENTRY;
    c->c_term[e->index] = e->term;
    c->c_hash[e->index] = h;
    if (e->index > c->commit_max) c->commit_max = e->index;
    if (e->type == RN_RAFT_ENTRY_NORMAL) memcpy(&c->c_op[e->index], e->data, 8);
}

void sim_check_state(sim_t *s, sim_node_t *n, uint64_t index) {
    sim_check_t *c = s->check;
    reserve(c, index);
    uint64_t h = sim_kv_hash(n->kv);
    if (!(c->has[index] & HAS_STATE)) {
        if (index == 0 && h != sim_kv_hash((uint64_t[SIM_KEYS]){0}))
            sim_fail(s, "node %u: state at index 0 is not empty", n->id);
        c->has[index] |= HAS_STATE;
        c->s_hash[index] = h;
    } else if (c->s_hash[index] != h) {
        sim_fail(s, "state machine safety: node %u has a different state at index %llu", n->id,
                 (unsigned long long)index);
    }
}

static void check_new_leader(sim_t *s, sim_node_t *n, uint64_t term) {
    sim_check_t *c = s->check;
    if (term >= c->terms_cap) {
        uint64_t cap = c->terms_cap ? c->terms_cap : 64;
        while (cap <= term) cap *= 2;
        c->leader_of_term = grow(c->leader_of_term, c->terms_cap, cap, sizeof(uint32_t));
        c->terms_cap = cap;
    }
    if (c->leader_of_term[term] && c->leader_of_term[term] != n->id) {
        sim_fail(s, "election safety: nodes %u and %u both lead term %llu", c->leader_of_term[term],
                 n->id, (unsigned long long)term);
        return;
    }
    c->leader_of_term[term] = n->id;
    s->stats.elections++;
    const rn_raft_config_t *cfg = rn_raft_config(n->raft);
    uint32_t votes = 0;
    for (uint32_t i = 0; i < cfg->voters_n; i++) {
        rn_raft_id_t v = cfg->voters[i];
        if (v == n->id || (n->grants_term == term && v < 32 && (n->grants_mask >> v) & 1)) votes++;
    }
    if (votes < cfg->voters_n / 2 + 1)
        sim_fail(s, "election: node %u leads term %llu with %u of %u voters' votes", n->id,
                 (unsigned long long)term, votes, cfg->voters_n);
    sim_trace(s, "node %u leader of term %llu (last %llu, commit %llu)", n->id,
              (unsigned long long)term, (unsigned long long)rn_raft_last_index(n->raft),
              (unsigned long long)rn_raft_commit(n->raft));
    uint64_t from = rn_raft_snapshot_index(n->raft) + 1;
    for (uint64_t i = from; i <= c->commit_max && !s->failed; i++) {
        if (!(c->has[i] & HAS_ENTRY)) continue;
        if (rn_raft_term_at(n->raft, i) != c->c_term[i])
            sim_fail(s,
                     "leader completeness: leader %u of term %llu lacks committed index %llu "
                     "(term %llu)",
                     n->id, (unsigned long long)term, (unsigned long long)i,
                     (unsigned long long)c->c_term[i]);
    }
    if (rn_raft_snapshot_index(n->raft) > 0 && from - 1 <= c->commit_max &&
        (c->has[from - 1] & HAS_ENTRY) && rn_raft_term_at(n->raft, from - 1) != c->c_term[from - 1])
        sim_fail(s, "leader completeness: leader %u snapshot term differs at %llu", n->id,
                 (unsigned long long)(from - 1));
}

void sim_check_node(sim_t *s, sim_node_t *n) {
    rn_raft_role_t role = rn_raft_role(n->raft);
    uint64_t term = rn_raft_term(n->raft);
    if (term < n->term_seen) sim_fail(s, "node %u: term went back", n->id);
    uint64_t commit = rn_raft_commit(n->raft);
    if (role == RN_RAFT_LEADER && (n->role_seen != RN_RAFT_LEADER || n->term_seen != term)) {
        check_new_leader(s, n, term);
    } else if (role == RN_RAFT_LEADER && commit > n->commit_seen &&
               rn_raft_term_at(n->raft, commit) != term) {
        /* A leader commits by counting only entries of its own term (§5.4.2). */
        sim_fail(s, "commit rule: leader %u of term %llu committed index %llu of term %llu", n->id,
                 (unsigned long long)term, (unsigned long long)commit,
                 (unsigned long long)rn_raft_term_at(n->raft, commit));
    } else if (role != n->role_seen || term != n->term_seen)
        sim_trace(s, "node %u %s term %llu", n->id, rn_raft_role_name(role),
                  (unsigned long long)term);
    n->role_seen = role;
    n->term_seen = term;
    n->commit_seen = commit;
    if (rn_raft_commit(n->raft) > rn_raft_last_index(n->raft))
        sim_fail(s, "node %u: commit past its log", n->id);
}

/* Log matching, checked where n's log changed, against every live node;
   and terms never decrease along a log. */
void sim_check_log_change(sim_t *s, sim_node_t *n, uint64_t from, uint64_t to) {
    for (uint64_t i = from < 2 ? 2 : from; i <= to + 1; i++) {
        uint64_t t = rn_raft_term_at(n->raft, i), prev = rn_raft_term_at(n->raft, i - 1);
        if (t && prev && t < prev) {
            sim_fail(s, "log: node %u has term %llu at %llu after term %llu", n->id,
                     (unsigned long long)t, (unsigned long long)i, (unsigned long long)prev);
            return;
        }
    }
    for (uint32_t k = 1; k <= s->nodes_n && !s->failed; k++) {
        sim_node_t *m = &s->nodes[k];
        if (m == n || !m->up) continue;
        for (uint64_t i = from < 2 ? 2 : from; i <= to + 1; i++) {
            uint64_t a = rn_raft_term_at(n->raft, i), b = rn_raft_term_at(m->raft, i);
            if (!a || a != b) continue;
            uint64_t pa = rn_raft_term_at(n->raft, i - 1), pb = rn_raft_term_at(m->raft, i - 1);
            if (pa && pb && pa != pb) {
                sim_fail(s,
                         "log matching: nodes %u and %u agree at %llu (term %llu) but differ "
                         "at %llu (%llu vs %llu)",
                         n->id, m->id, (unsigned long long)i, (unsigned long long)a,
                         (unsigned long long)(i - 1), (unsigned long long)pa,
                         (unsigned long long)pb);
                return;
            }
        }
    }
}

uint64_t sim_check_op_at(const sim_check_t *c, uint64_t index) {
    return index < c->cap && (c->has[index] & HAS_ENTRY) ? c->c_op[index] : 0;
}

/* The promises a node makes in its answers (checked as they leave):
   a vote is persisted before it is granted and never given to two
   candidates in one term; acknowledged entries are persisted. */
void sim_check_send(sim_t *s, sim_node_t *n, const rn_raft_msg_t *m) {
    if (m->type == RN_RAFT_MSG_VOTE_RESP && !m->reject) {
        uint64_t term = 0;
        rn_raft_id_t vote = RN_RAFT_ID_NONE;
        rn_raft_store_state(n->st, &term, &vote);
        if (term != m->term || vote != m->to)
            sim_fail(s, "node %u granted its vote to %u in term %llu before persisting it", n->id,
                     m->to, (unsigned long long)m->term);
        if (n->voted_term == m->term && n->voted_for != m->to)
            sim_fail(s, "node %u voted for both %u and %u in term %llu", n->id, n->voted_for, m->to,
                     (unsigned long long)m->term);
        n->voted_term = m->term;
        n->voted_for = m->to;
    }
    if (m->type == RN_RAFT_MSG_APPEND_RESP && !m->reject) {
        uint64_t i = m->index;
        if (i > rn_raft_snapshot_index(n->raft) &&
            rn_raft_store_term_at(n->st, i) != rn_raft_term_at(n->raft, i))
            sim_fail(s, "node %u acknowledged index %llu before persisting it", n->id,
                     (unsigned long long)i);
        if (n->acked_term != m->term) n->acked_index = 0;
        n->acked_term = m->term;
        if (i > n->acked_index) n->acked_index = i;
    }
}

/* In one term a follower hears from one leader, whose log only grows: it
   never cuts entries it acknowledged in its current term. */
void sim_check_truncate(sim_t *s, sim_node_t *n, uint64_t from) {
    if (n->acked_term == rn_raft_term(n->raft) && from <= n->acked_index)
        sim_fail(s, "node %u cut its log at %llu in term %llu after acknowledging up to %llu",
                 n->id, (unsigned long long)from, (unsigned long long)n->acked_term,
                 (unsigned long long)n->acked_index);
}

void sim_check_recv(sim_t *s, sim_node_t *n, const rn_raft_msg_t *m) {
    (void)s;
    if (m->type != RN_RAFT_MSG_VOTE_RESP || m->reject || m->from > 31) return;
    if (m->term < n->grants_term) return; /* a late answer from an older election */
    if (n->grants_term != m->term) n->grants_mask = 0;
    n->grants_term = m->term;
    n->grants_mask |= 1u << m->from;
}
