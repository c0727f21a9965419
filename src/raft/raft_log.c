/*
 * raft_log.c: the raft's in-memory log (entries past the snapshot).
 *
 * Owns the entries array and each entry's data copy. Never touches disk: the
 * driver persists what rn_raft_ready hands it. Truncation and compaction keep
 * `stable` and `unstable` consistent so the next ready re-persists whatever
 * changed.
 */
#include "raft_int.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

uint64_t rn_raft_log_last(const rn_raft_t *r) { return r->snap.index + r->log_n; }

uint64_t rn_raft_log_last_term(const rn_raft_t *r) {
    return r->log_n ? r->log[r->log_n - 1].term : r->snap.term;
}

rn_raft_entry_t *rn_raft_log_get(const rn_raft_t *r, uint64_t index) {
    if (index <= r->snap.index || index > rn_raft_log_last(r)) return NULL;
    rn_raft_entry_t *e = &r->log[index - r->snap.index - 1];
    RN_ASSERT(e->index == index);
    return e;
}

uint64_t rn_raft_term_at(const rn_raft_t *r, uint64_t index) {
    if (index == r->snap.index) return r->snap.term;
    const rn_raft_entry_t *e = rn_raft_log_get(r, index);
    return e ? e->term : 0;
}

const rn_raft_entry_t *rn_raft_entry_at(const rn_raft_t *r, uint64_t index) {
    return rn_raft_log_get(r, index);
}

rn_err_t rn_raft_log_append(rn_raft_t *r, uint64_t term, uint8_t type, const void *data,
                            uint32_t len) {
    RN_ASSERT(term >= rn_raft_log_last_term(r));
    RN_ASSERT(len <= RN_RAFT_ENTRY_BYTES_MAX);
    if (r->log_n >= RN_RAFT_LOG_ENTRIES_MAX) return RN_ERR_LIMIT;
    if (r->log_n == r->log_cap) {
        uint32_t cap = r->log_cap ? r->log_cap * 2 : 64;
        rn_raft_entry_t *log = realloc(r->log, cap * sizeof(*log));
        if (!log) return RN_ERR_NO_MEMORY;
        r->log = log;
        r->log_cap = cap;
    }
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return RN_ERR_NO_MEMORY;
        memcpy(copy, data, len);
    }
    rn_raft_entry_t *e = &r->log[r->log_n++];
    e->term = term;
    e->index = rn_raft_log_last(r);
    e->type = type;
    e->len = len;
    e->data = copy;
    return RN_OK;
}

/* Drops entries from index on (a conflict); they must not be committed. */
void rn_raft_log_truncate_from(rn_raft_t *r, uint64_t index) {
    RN_ASSERT(index > r->snap.index);
    RN_ASSERT(index > r->commit);
    uint64_t last = rn_raft_log_last(r);
    for (uint64_t i = index; i <= last; i++) free(rn_raft_log_get(r, i)->data);
    if (index <= last) r->log_n = (uint32_t)(index - r->snap.index - 1);
    if (r->stable >= index) r->stable = index - 1;
    if (r->unstable > index) r->unstable = index;
}

/* Drops entries up to and including index (now covered by the snapshot). */
void rn_raft_log_compact_to(rn_raft_t *r, uint64_t index) {
    RN_ASSERT(index >= r->snap.index);
    RN_ASSERT(index <= rn_raft_log_last(r));
    uint32_t drop = (uint32_t)(index - r->snap.index);
    for (uint32_t i = 0; i < drop; i++) free(r->log[i].data);
    memmove(r->log, r->log + drop, (r->log_n - drop) * sizeof(*r->log));
    r->log_n -= drop;
}

void rn_raft_log_clear(rn_raft_t *r) {
    for (uint32_t i = 0; i < r->log_n; i++) free(r->log[i].data);
    r->log_n = 0;
}

/* The election restriction (§5.4.1): is a candidate's log at least as
   up to date as ours? */
int rn_raft_log_up_to_date(const rn_raft_t *r, uint64_t last_term, uint64_t last_index) {
    uint64_t my_term = rn_raft_log_last_term(r);
#if RN_RAFT_MUTANT == RN_RAFT_MUTANT_SHORT_LOG_VOTE
    (void)last_index;
    return last_term >= my_term;
#else
    return last_term > my_term || (last_term == my_term && last_index >= rn_raft_log_last(r));
#endif
}
