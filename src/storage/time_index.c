/*
 * time_index.c: the sparse time index, in memory with a lazily written file
 * in Kafka's `.timeindex` format.
 *
 * Owns the entry array. Never syncs: a lost or torn file is detected at load
 * and rebuilt from the log by the caller.
 */
#include "time_index.h"
#include "index_file.h"

#include "base/assert.h"
#include "base/limits.h"
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY_BYTES RN_TIME_INDEX_ENTRY_BYTES

void rn_time_index_init(rn_time_index_t *tidx, int64_t base_offset, int64_t bytes_max) {
    RN_ASSERT(base_offset >= 0);
    RN_ASSERT(bytes_max >= ENTRY_BYTES && bytes_max <= RN_INDEX_BYTES_MAX_CEILING);
    memset(tidx, 0, sizeof(*tidx));
    tidx->base_offset = base_offset;
    tidx->count_max = (uint32_t)(bytes_max / ENTRY_BYTES);
}

void rn_time_index_free(rn_time_index_t *tidx) {
    free(tidx->entries);
    tidx->entries = NULL;
    tidx->count = tidx->cap = tidx->flushed = 0;
}

static rn_err_t reserve(rn_time_index_t *tidx, uint32_t need) {
    if (need <= tidx->cap) return RN_OK;
    uint32_t cap = tidx->cap ? tidx->cap : 64;
    while (cap < need) cap *= 2;
    if (cap > tidx->count_max) cap = tidx->count_max;
    rn_time_index_entry_t *e = realloc(tidx->entries, (size_t)cap * sizeof(*e));
    if (!e) return RN_ERR_NO_MEMORY;
    tidx->entries = e;
    tidx->cap = cap;
    return RN_OK;
}

rn_err_t rn_time_index_maybe_append(rn_time_index_t *tidx, int64_t timestamp_ms, int64_t offset) {
    RN_ASSERT(offset >= tidx->base_offset && offset - tidx->base_offset <= INT32_MAX);
    if (tidx->count > 0) {
        const rn_time_index_entry_t *last = &tidx->entries[tidx->count - 1];
        if (timestamp_ms <= last->timestamp_ms) return RN_OK;
        RN_ASSERT(offset - tidx->base_offset >= last->rel_offset);
    }
    if (rn_time_index_full(tidx)) return RN_ERR_LIMIT;
    rn_err_t err = reserve(tidx, tidx->count + 1);
    if (err != RN_OK) return err;
    tidx->entries[tidx->count].timestamp_ms = timestamp_ms;
    tidx->entries[tidx->count].rel_offset = (int32_t)(offset - tidx->base_offset);
    tidx->count++;
    return RN_OK;
}

int64_t rn_time_index_lookup(const rn_time_index_t *tidx, int64_t ts_ms) {
    /* last entry with timestamp < ts_ms */
    uint32_t lo = 0, hi = tidx->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (tidx->entries[mid].timestamp_ms < ts_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? tidx->base_offset : tidx->base_offset + tidx->entries[lo - 1].rel_offset;
}

bool rn_time_index_last(const rn_time_index_t *tidx, int64_t *timestamp_ms, int64_t *offset) {
    if (tidx->count == 0) return false;
    *timestamp_ms = tidx->entries[tidx->count - 1].timestamp_ms;
    *offset = tidx->base_offset + tidx->entries[tidx->count - 1].rel_offset;
    return true;
}

void rn_time_index_truncate(rn_time_index_t *tidx, int64_t offset) {
    while (tidx->count > 0 &&
           tidx->base_offset + tidx->entries[tidx->count - 1].rel_offset >= offset)
        tidx->count--;
    if (tidx->flushed > tidx->count) {
        tidx->flushed = tidx->count;
        tidx->file_stale = true;
    }
}

void rn_time_index_clear(rn_time_index_t *tidx) { rn_time_index_truncate(tidx, INT64_MIN); }

static bool entry_ok(const rn_time_index_t *tidx, const rn_time_index_entry_t *e,
                     int64_t next_offset) {
    if (e->rel_offset < 0 || tidx->base_offset + e->rel_offset >= next_offset) return false;
    if (tidx->count == 0) return true;
    const rn_time_index_entry_t *last = &tidx->entries[tidx->count - 1];
    return e->timestamp_ms > last->timestamp_ms && e->rel_offset >= last->rel_offset;
}

/* State of one load: the index and the offset entries must stay below. */
typedef struct tidx_load {
    rn_time_index_t *tidx;
    int64_t next_offset;
} tidx_load_t;

static rn_err_t tidx_reserve(void *ctx, uint32_t n) {
    return reserve(((tidx_load_t *)ctx)->tidx, n);
}

static bool tidx_take(void *ctx, const uint8_t *p) {
    tidx_load_t *ld = ctx;
    rn_time_index_entry_t e = {(int64_t)rn_be64_get(p), (int32_t)rn_be32_get(p + 8)};
    if (!entry_ok(ld->tidx, &e, ld->next_offset)) return false;
    ld->tidx->entries[ld->tidx->count++] = e;
    return true;
}

rn_err_t rn_time_index_load(rn_time_index_t *tidx, rn_io_t *io, const char *path,
                            int64_t next_offset) {
    RN_ASSERT(tidx->count == 0);
    tidx_load_t ld = {tidx, next_offset};
    uint32_t count;
    rn_err_t err = rn_index_file_read(io, path, ENTRY_BYTES, tidx->count_max, tidx_reserve,
                                      tidx_take, &ld, &count);
    if (err != RN_OK) tidx->count = 0;
    tidx->flushed = tidx->count;
    tidx->file_stale = err != RN_OK;
    return err;
}

static void tidx_put(const void *ctx, uint32_t i, uint8_t *out) {
    const rn_time_index_entry_t *e = &((const rn_time_index_t *)ctx)->entries[i];
    rn_be64_put(out, (uint64_t)e->timestamp_ms);
    rn_be32_put(out + 8, (uint32_t)e->rel_offset);
}

rn_err_t rn_time_index_flush(rn_time_index_t *tidx, rn_io_t *io, rn_fd_t fd) {
    RN_ASSERT(tidx->flushed <= tidx->count);
    rn_err_t err = rn_index_file_write(io, fd, ENTRY_BYTES, tidx->flushed, tidx->count,
                                       tidx->file_stale, tidx_put, tidx);
    if (err != RN_OK) return err;
    tidx->file_stale = false;
    tidx->flushed = tidx->count;
    return RN_OK;
}
