/*
 * raft_ready.c: hands the raft's effects to the driver (rn_raft_ready) and
 * takes back its acknowledgement (rn_raft_advance); snapshots taken by the
 * driver come back through rn_raft_snapshot_done.
 *
 * Owns nothing new: the ready borrows from the raft. Messages queued before
 * the log changed under them (a truncation, a compaction, a new snapshot)
 * are dropped here rather than sent with the wrong entries: Raft tolerates a
 * lost message, never a wrong one.
 */
#include "raft_int.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

/* Points a queued message at the entries or snapshot bytes it carries;
   returns 0 if they are gone. */
static int msg_resolve(rn_raft_t *r, rn_raft_msg_t *m, uint64_t last_term) {
    if (m->type == RN_RAFT_MSG_SNAPSHOT) {
        if (m->snapshot.index != r->snap.index || m->snapshot.term != r->snap.term) return 0;
        m->snapshot.data = r->snap.data;
        return 1;
    }
    if (m->type != RN_RAFT_MSG_APPEND) return 1;
    uint64_t last = m->index + m->entries_n;
    if (m->index < r->snap.index || last > rn_raft_log_last(r)) return 0;
    if (rn_raft_term_at(r, m->index) != m->log_term || rn_raft_term_at(r, last) != last_term)
        return 0;
    m->entries = m->entries_n ? rn_raft_log_get(r, m->index + 1) : NULL;
    return 1;
}

static void msgs_resolve(rn_raft_t *r) {
    if (r->read_broadcast) {
        r->read_broadcast = 0;
        if (r->role == RN_RAFT_LEADER)
            for (uint32_t i = 0; i < r->prs_n; i++) rn_raft_send_heartbeat(r, &r->prs[i]);
    }
    uint32_t keep = 0;
    for (uint32_t i = 0; i < r->msgs_n; i++) {
        if (!msg_resolve(r, &r->msgs[i], r->msgs_last_term[i])) {
            r->msgs_dropped_total++;
            continue;
        }
        r->msgs_last_term[keep] = r->msgs_last_term[i];
        r->msgs[keep++] = r->msgs[i];
    }
    r->msgs_n = keep;
}

static void ready_state(rn_raft_t *r, rn_raft_ready_t *rd) {
    if (!r->state_dirty) return;
    rd->state_changed = 1;
    rd->term = r->term;
    rd->vote = r->vote;
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_VOTE_UNPERSISTED
    /* The planted bug: a granted vote is answered but never persisted. */
    if (r->vote_lag) rd->vote = RN_RAFT_ID_NONE;
#endif
}

int rn_raft_ready(rn_raft_t *r, rn_raft_ready_t *rd) {
    RN_ASSERT(!r->in_ready);
    memset(rd, 0, sizeof(*rd));
    msgs_resolve(r);
    uint64_t last = rn_raft_log_last(r);
    if (r->snap_unstable) rd->snapshot = &r->snap;
    ready_state(r, rd);
    if (r->unstable <= last) {
        rd->entries = rn_raft_log_get(r, r->unstable);
        rd->entries_n = (uint32_t)(last - r->unstable + 1);
    }
    rd->msgs = r->msgs;
    rd->msgs_n = r->msgs_n;
    uint64_t apply_to = r->commit < last ? r->commit : last;
    if (apply_to > r->applied) {
        rd->committed = rn_raft_log_get(r, r->applied + 1);
        rd->committed_n = (uint32_t)(apply_to - r->applied);
    }
    rd->reads = r->reads_out;
    rd->reads_n = r->reads_out_n;
    uint64_t applied = r->applied + rd->committed_n;
    if (applied > r->snapshot_asked && applied - r->snap.index >= r->opts.snapshot_entries) {
        rd->snapshot_want = applied;
        r->snapshot_asked = applied;
    }
    int any = rd->snapshot || rd->state_changed || rd->entries_n || rd->msgs_n || rd->committed_n ||
              rd->reads_n || rd->snapshot_want;
    r->in_ready = any;
    return any;
}

void rn_raft_advance(rn_raft_t *r, const rn_raft_ready_t *rd) {
    RN_ASSERT(r->in_ready);
    r->in_ready = 0;
    if (rd->snapshot) r->snap_unstable = 0;
    if (rd->state_changed) r->state_dirty = 0;
    if (rd->entries_n) {
        const rn_raft_entry_t *last = &rd->entries[rd->entries_n - 1];
        r->stable = last->index;
        r->unstable = last->index + 1;
    }
    if (rd->committed_n) r->applied = rd->committed[rd->committed_n - 1].index;
    RN_ASSERT(r->applied <= r->commit);
    r->msgs_n = 0;
    r->reads_out_n = 0;
    if (r->role == RN_RAFT_LEADER && rd->entries_n) rn_raft_maybe_commit(r);
}

rn_err_t rn_raft_snapshot_done(rn_raft_t *r, uint64_t index, const void *data, uint32_t len) {
    RN_ASSERT(!r->in_ready);
    RN_ASSERT(index <= r->applied);
    if (index <= r->snap.index) return RN_OK;
    if (len > RN_RAFT_SNAPSHOT_BYTES_MAX) return RN_ERR_TOO_LARGE;
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return RN_ERR_NO_MEMORY;
        memcpy(copy, data, len);
    }
    rn_raft_config_t cfg;
    rn_raft_config_at(r, index, &cfg);
    uint64_t term = rn_raft_term_at(r, index);
    RN_ASSERT(term != 0);
    rn_raft_log_compact_to(r, index);
    free(r->snap.data);
    r->snap.index = index;
    r->snap.term = term;
    r->snap.config = cfg;
    r->snap.len = len;
    r->snap.data = copy;
    return RN_OK;
}
