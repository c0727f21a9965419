/*
 * epoch_cache.c: a partition's leader epochs (see epoch_cache.h).
 */
#include "storage/epoch_cache.h"

#include "base/limits.h"

#include <stdlib.h>
#include <string.h>

void rn_epoch_cache_init(rn_epoch_cache_t *c) { memset(c, 0, sizeof *c); }

void rn_epoch_cache_free(rn_epoch_cache_t *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

int32_t rn_epoch_cache_latest(const rn_epoch_cache_t *c) {
    return c->n ? c->v[c->n - 1].epoch : -1;
}

rn_err_t rn_epoch_cache_assign(rn_epoch_cache_t *c, int32_t epoch, int64_t start_offset,
                               bool *changed) {
    *changed = false;
    if (epoch < 0 || start_offset < 0) return RN_OK;
    const rn_epoch_entry_t *last = c->n ? &c->v[c->n - 1] : NULL;
    if (last && last->epoch == epoch && last->start_offset <= start_offset) return RN_OK;
    uint32_t keep = c->n;
    while (keep > 0 &&
           (c->v[keep - 1].epoch >= epoch || c->v[keep - 1].start_offset >= start_offset))
        keep--;
    if (keep == c->n && c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 4;
        rn_epoch_entry_t *grown = realloc(c->v, (size_t)cap * sizeof *grown);
        if (!grown) return RN_ERR_NO_MEMORY;
        c->v = grown;
        c->cap = cap;
    }
    c->n = keep;
    if (c->n == RN_EPOCH_CACHE_ENTRIES_MAX) { /* the oldest epoch goes first */
        memmove(c->v, c->v + 1, (size_t)(c->n - 1) * sizeof *c->v);
        c->n--;
    }
    c->v[c->n++] = (rn_epoch_entry_t){epoch, start_offset};
    *changed = true;
    return RN_OK;
}

bool rn_epoch_cache_truncate_end(rn_epoch_cache_t *c, int64_t end_offset) {
    uint32_t keep = c->n;
    while (keep > 0 && c->v[keep - 1].start_offset >= end_offset) keep--;
    bool changed = keep != c->n;
    c->n = keep;
    return changed;
}

bool rn_epoch_cache_truncate_start(rn_epoch_cache_t *c, int64_t start_offset) {
    uint32_t first = 0; /* the last entry that starts at or before start_offset */
    while (first + 1 < c->n && c->v[first + 1].start_offset <= start_offset) first++;
    bool changed = first > 0;
    if (first > 0) {
        memmove(c->v, c->v + first, (size_t)(c->n - first) * sizeof *c->v);
        c->n -= first;
    }
    if (c->n && c->v[0].start_offset < start_offset) {
        c->v[0].start_offset = start_offset;
        changed = true;
    }
    return changed;
}

void rn_epoch_cache_end_offset(const rn_epoch_cache_t *c, int32_t requested, int32_t current,
                               int64_t log_end, int32_t *epoch, int64_t *end_offset) {
    *epoch = -1;
    *end_offset = -1;
    int32_t latest = rn_epoch_cache_latest(c);
    if (requested < 0) return;
    if (requested == latest || (requested == current && current > latest)) {
        *epoch = requested;
        *end_offset = log_end;
        return;
    }
    /* the first entry newer than requested: where requested (or the
       newest before it) ended */
    uint32_t higher = 0;
    while (higher < c->n && c->v[higher].epoch <= requested) higher++;
    int64_t next_start = higher < c->n ? c->v[higher].start_offset : -1;
    if (higher == c->n) {
        if (current <= latest || requested > current) return; /* newer than any known */
        next_start = log_end; /* the current epoch, no batch of it yet, begins at the end */
    }
    /* requested older than every entry: its end is where the first began */
    *epoch = higher > 0 ? c->v[higher - 1].epoch : requested;
    *end_offset = next_start;
}
