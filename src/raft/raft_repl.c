/*
 * raft_repl.c: log replication. The follower's AppendEntries and
 * InstallSnapshot handlers; the leader's sending (probe, pipelined replicate,
 * snapshot), its response handler, the commit rule and read-index rounds.
 *
 * Owns no memory of its own: entries go through raft_log.c. Never sends an
 * acknowledgement for entries the driver has not yet persisted: responses are
 * queued in the same ready as the entries, and the driver persists first.
 */
#include "raft_int.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

static void send_snapshot(rn_raft_t *r, rn_raft_progress_t *pr) {
    rn_raft_msg_t m = {0};
    m.type = RN_RAFT_MSG_SNAPSHOT;
    m.to = pr->id;
    m.snapshot = r->snap;
    m.snapshot.data = NULL; /* resolved at ready time */
    m.read_seq = r->read_seq;
    m.commit = r->commit;
    rn_raft_send(r, &m);
    pr->state = RN_RAFT_PR_SNAPSHOT;
    pr->paused = 1;
}

/* Sends the next batch to pr; returns 1 if a message went out. */
int rn_raft_send_append(rn_raft_t *r, rn_raft_progress_t *pr, int allow_empty) {
    if (pr->state == RN_RAFT_PR_SNAPSHOT) return 0;
    if (pr->state == RN_RAFT_PR_PROBE && pr->paused) return 0;
    if (pr->state == RN_RAFT_PR_REPLICATE && pr->inflight_n == RN_RAFT_INFLIGHT_MAX) return 0;
    uint64_t prev = pr->next - 1, last = rn_raft_log_last(r);
    if (prev < r->snap.index) {
        send_snapshot(r, pr);
        return 1;
    }
    uint32_t n = 0;
    size_t bytes = 0;
    for (uint64_t i = pr->next; i <= last && n < r->opts.append_entries_max; i++, n++) {
        size_t len = rn_raft_log_get(r, i)->len;
        if (n > 0 && bytes + len > RN_RAFT_APPEND_BYTES_MAX) break;
        bytes += len;
    }
    if (n == 0 && !allow_empty) return 0;
    rn_raft_msg_t m = {0};
    m.type = RN_RAFT_MSG_APPEND;
    m.to = pr->id;
    m.index = prev;
    m.log_term = rn_raft_term_at(r, prev);
    m.commit = r->commit;
    m.read_seq = r->read_seq;
    m.entries_n = n;
    uint32_t slot = r->msgs_n;
    rn_raft_send(r, &m);
    if (slot < r->msgs_n) r->msgs_last_term[slot] = rn_raft_term_at(r, prev + n);
    if (pr->state == RN_RAFT_PR_PROBE) {
        pr->paused = 1;
    } else if (n > 0) {
        pr->next = prev + n + 1;
        pr->inflight[pr->inflight_n++] = prev + n;
    }
    return 1;
}

/* An empty append at a known match: confirms leadership for read index and
   carries the commit index. */
void rn_raft_send_heartbeat(rn_raft_t *r, rn_raft_progress_t *pr) {
    uint64_t prev = pr->match < r->snap.index ? r->snap.index : pr->match;
    rn_raft_msg_t m = {0};
    m.type = RN_RAFT_MSG_APPEND;
    m.to = pr->id;
    m.index = prev;
    m.log_term = rn_raft_term_at(r, prev);
    m.commit = r->commit < prev ? r->commit : prev;
    m.read_seq = r->read_seq;
    uint32_t slot = r->msgs_n;
    rn_raft_send(r, &m);
    if (slot < r->msgs_n) r->msgs_last_term[slot] = m.log_term;
}

void rn_raft_broadcast_append(rn_raft_t *r) {
    for (uint32_t i = 0; i < r->prs_n; i++) {
        rn_raft_progress_t *pr = &r->prs[i];
        while (rn_raft_send_append(r, pr, 0) && pr->state == RN_RAFT_PR_REPLICATE) {
        }
    }
}

/* Every heartbeat interval: retransmit what is unacknowledged (messages
   may have been lost) and let probes and snapshots go out again. */
void rn_raft_heartbeat_tick(rn_raft_t *r) {
    for (uint32_t i = 0; i < r->prs_n; i++) {
        rn_raft_progress_t *pr = &r->prs[i];
        if (pr->state == RN_RAFT_PR_REPLICATE) {
            pr->next = pr->match + 1;
            pr->inflight_n = 0;
        } else if (pr->state == RN_RAFT_PR_SNAPSHOT) {
            pr->state = RN_RAFT_PR_PROBE;
        }
        pr->paused = 0;
        rn_raft_send_append(r, pr, 1);
    }
}

static void sort_desc(uint64_t *v, uint32_t n) {
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = i; j > 0 && v[j] > v[j - 1]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* The quorum-th highest of a per-voter value (self given separately). */
static uint64_t quorum_value(rn_raft_t *r, uint64_t self, int read_seq) {
    uint64_t v[RN_RAFT_NODES_MAX];
    uint32_t n = 0;
    const rn_raft_config_t *cfg = &r->config;
    for (uint32_t i = 0; i < cfg->voters_n; i++) {
        if (cfg->voters[i] == r->opts.id) {
            v[n++] = self;
            continue;
        }
        rn_raft_progress_t *pr = rn_raft_pr_find(r, cfg->voters[i]);
        RN_ASSERT(pr != NULL);
        v[n++] = read_seq ? pr->read_seq_acked : pr->match;
    }
    sort_desc(v, n);
    uint32_t q = rn_raft_quorum(r);
    RN_ASSERT(q >= 1 && q <= n);
    return v[q - 1];
}

/* The commit rule (§5.3, §5.4.2): an index stored on a quorum commits, but
   only if its entry is of the leader's own term. */
int rn_raft_maybe_commit(rn_raft_t *r) {
    RN_ASSERT(r->role == RN_RAFT_LEADER);
    uint64_t n = quorum_value(r, r->stable, 0);
    if (n <= r->commit) return 0;
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_COMMIT_OLD_TERM
    if (rn_raft_term_at(r, n) == 0) return 0;
#else
    if (rn_raft_term_at(r, n) != r->term) return 0;
#endif
    r->commit = n;
    if (!rn_raft_config_has_voter(&r->config, r->opts.id) && r->config_index <= r->commit) {
        rn_raft_become_follower(r, r->term, RN_RAFT_ID_NONE); /* removed itself */
        return 1;
    }
    rn_raft_broadcast_append(r);
    return 1;
}

void rn_raft_reads_check(rn_raft_t *r) {
    if (r->reads_pending_n == 0 || r->role != RN_RAFT_LEADER) return;
    if (r->config.voters_n == 0) return;
    uint64_t self = rn_raft_config_has_voter(&r->config, r->opts.id) ? r->read_seq : 0;
    uint64_t seq = quorum_value(r, self, 1);
    uint32_t done = 0;
    while (done < r->reads_pending_n && r->reads_pending[done].seq <= seq &&
           r->reads_out_n < RN_RAFT_READS_PENDING_MAX) {
        rn_raft_read_t *out = &r->reads_out[r->reads_out_n++];
        out->ctx = r->reads_pending[done].ctx;
        out->index = r->reads_pending[done].index;
        done++;
    }
    memmove(r->reads_pending, r->reads_pending + done,
            (r->reads_pending_n - done) * sizeof(r->reads_pending[0]));
    r->reads_pending_n -= done;
}

static void append_resp_reject(rn_raft_t *r, rn_raft_progress_t *pr, const rn_raft_msg_t *m) {
    if (pr->state == RN_RAFT_PR_SNAPSHOT) return;
    /* The follower holds less than it acknowledged: its disk lost entries
       (emptied or replaced). Such an answer may also be a late copy of one
       sent before an acknowledgement; taking it as a loss then costs only a
       resend of what the follower has. */
    int lost = m->hint < pr->match;
    if (!lost && pr->state == RN_RAFT_PR_PROBE && m->index != pr->next - 1) return;  /* stale */
    if (!lost && pr->state == RN_RAFT_PR_REPLICATE && m->index <= pr->match) return; /* stale */
    uint64_t next = m->index < m->hint + 1 ? m->index : m->hint + 1;
    if (lost) {
        /* Its acknowledgements no longer stand: replicate again from what
           it has. Commits already made stay made, and its votes must not
           count either, which the driver sees to (metadata/quorum.h). */
        pr->match = m->hint;
    }
    if (next < pr->match + 1) next = pr->match + 1;
    if (next < 1) next = 1;
    pr->state = RN_RAFT_PR_PROBE;
    pr->next = next;
    pr->paused = 0;
    pr->inflight_n = 0;
    rn_raft_send_append(r, pr, 1);
}

static void inflight_free(rn_raft_progress_t *pr) {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < pr->inflight_n; i++)
        if (pr->inflight[i] > pr->match) pr->inflight[keep++] = pr->inflight[i];
    pr->inflight_n = keep;
}

/* The commit index moved: every follower hears it now (the one whose ack
   moved it included) rather than at the next heartbeat, so a leader that
   stops right after a commit (a controller fencing itself on its way out)
   leaves it known behind it. */
static void commit_tell_all(rn_raft_t *r) {
    for (uint32_t i = 0; i < r->prs_n; i++) {
        rn_raft_progress_t *pr = &r->prs[i];
        if (pr->id != r->opts.id && pr->state == RN_RAFT_PR_REPLICATE)
            rn_raft_send_heartbeat(r, pr);
    }
}

void rn_raft_handle_append_resp(rn_raft_t *r, const rn_raft_msg_t *m) {
    rn_raft_progress_t *pr = rn_raft_pr_find(r, m->from);
    if (!pr) return;
    pr->active = 1;
    if (m->read_seq > pr->read_seq_acked && m->read_seq <= r->read_seq) {
        pr->read_seq_acked = m->read_seq;
        rn_raft_reads_check(r);
    }
    if (m->reject) {
        append_resp_reject(r, pr, m);
        return;
    }
    if (m->index > rn_raft_log_last(r)) return; /* cannot be: ignore a bogus ack */
    uint64_t match_was = pr->match;
    if (m->index > pr->match) pr->match = m->index;
    if (pr->next < pr->match + 1) pr->next = pr->match + 1;
    if (pr->state != RN_RAFT_PR_REPLICATE) {
        pr->state = RN_RAFT_PR_REPLICATE;
        pr->next = pr->match + 1;
        pr->inflight_n = 0;
        pr->paused = 0;
    }
    inflight_free(pr);
    if (rn_raft_maybe_commit(r)) {
        if (r->role != RN_RAFT_LEADER) return;
        commit_tell_all(r);
    }
    if (r->transferee == pr->id && pr->match == rn_raft_log_last(r)) {
        rn_raft_msg_t tn = {0};
        tn.type = RN_RAFT_MSG_TIMEOUT_NOW;
        tn.to = pr->id;
        rn_raft_send(r, &tn);
    }
    int sent = 0;
    while (rn_raft_send_append(r, pr, 0) && pr->state == RN_RAFT_PR_REPLICATE) sent = 1;
    /* A follower slower than the quorum acknowledges entries already
       committed without it: every commit it was told stopped at its old
       match. Tell it now, not at the next heartbeat, so each node applies
       a change (a new topic) within a round trip of the others. */
    if (!sent && pr->match > match_was && r->commit > match_was) rn_raft_send_heartbeat(r, pr);
}

/* Replaces a conflicting entry in place and keeps the stale tail: the
   planted NO_TRUNCATE bug. */
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_NO_TRUNCATE
static void overwrite_keep_tail(rn_raft_t *r, const rn_raft_entry_t *e, uint64_t idx) {
    rn_raft_entry_t *old = rn_raft_log_get(r, idx);
    free(old->data);
    old->data = e->len ? malloc(e->len) : NULL;
    RN_ASSERT(e->len == 0 || old->data != NULL);
    if (e->len) memcpy(old->data, e->data, e->len);
    old->len = e->len;
    old->term = e->term;
    old->type = e->type;
    if (r->stable >= idx) r->stable = idx - 1;
    if (r->unstable > idx) r->unstable = idx;
}
#endif

/* Appends m's entries after m->index, cutting our log at the first
   conflict (§5.3). Returns the index of the last entry now known to match. */
static uint64_t append_entries(rn_raft_t *r, const rn_raft_msg_t *m) {
    int cfg_changed = 0;
    uint64_t idx = m->index;
    for (uint32_t k = 0; k < m->entries_n; k++) {
        const rn_raft_entry_t *e = &m->entries[k];
        idx = m->index + 1 + k;
        if (idx <= rn_raft_log_last(r)) {
            if (rn_raft_term_at(r, idx) == e->term) continue;
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_NO_TRUNCATE
            overwrite_keep_tail(r, e, idx);
            cfg_changed = 1;
            continue;
#else
            rn_raft_log_truncate_from(r, idx);
            cfg_changed = 1;
#endif
        }
        if (e->term < rn_raft_log_last_term(r) ||
            rn_raft_log_append(r, e->term, e->type, e->data, e->len) != RN_OK) {
            idx--; /* out of memory or log full: acknowledge what we hold */
            break;
        }
        cfg_changed |= e->type == RN_RAFT_ENTRY_CONFIG;
    }
    if (cfg_changed) rn_raft_config_recompute(r);
    return idx;
}

void rn_raft_handle_append(rn_raft_t *r, const rn_raft_msg_t *m) {
    rn_raft_msg_t resp = {0};
    resp.type = RN_RAFT_MSG_APPEND_RESP;
    resp.to = m->from;
    resp.read_seq = m->read_seq;
    if (m->index < r->commit) {
        resp.index = r->commit; /* all of that is committed, hence matching */
        rn_raft_send(r, &resp);
        return;
    }
    if (m->index > rn_raft_log_last(r) || rn_raft_term_at(r, m->index) != m->log_term) {
        resp.reject = 1;
        resp.index = m->index;
        resp.hint = rn_raft_log_last(r);
        rn_raft_send(r, &resp);
        return;
    }
    uint64_t last_new = append_entries(r, m);
    uint64_t commit = m->commit < last_new ? m->commit : last_new;
    if (commit > r->commit) r->commit = commit;
    resp.index = last_new;
    rn_raft_send(r, &resp);
}

static rn_err_t snapshot_install(rn_raft_t *r, const rn_raft_snapshot_t *s) {
    uint8_t *copy = NULL;
    if (s->len) {
        copy = malloc(s->len);
        if (!copy) return RN_ERR_NO_MEMORY;
        memcpy(copy, s->data, s->len);
    }
    rn_raft_log_clear(r);
    free(r->snap.data);
    r->snap = *s;
    r->snap.data = copy;
    r->snap_unstable = 1;
    r->commit = r->applied = r->stable = r->snapshot_asked = s->index;
    r->unstable = s->index + 1;
    rn_raft_config_recompute(r);
    return RN_OK;
}

void rn_raft_handle_snapshot(rn_raft_t *r, const rn_raft_msg_t *m) {
    const rn_raft_snapshot_t *s = &m->snapshot;
    rn_raft_msg_t resp = {0};
    resp.type = RN_RAFT_MSG_APPEND_RESP;
    resp.to = m->from;
    resp.read_seq = m->read_seq;
    if (s->index <= r->commit) {
        resp.index = r->commit;
    } else if (rn_raft_term_at(r, s->index) == s->term) {
        r->commit = s->index; /* we hold that prefix already */
        resp.index = s->index;
    } else if (snapshot_install(r, s) == RN_OK) {
        resp.index = s->index;
    } else {
        return; /* no memory: the leader retries */
    }
    rn_raft_send(r, &resp);
}
