/*
 * offset_index.c: the sparse offset index, in memory with a lazily written
 * file in Kafka's `.index` format.
 *
 * Owns the entry array. Never syncs: a lost or torn index file is detected at
 * load (rn_offset_index_load) and rebuilt from the log by the caller.
 */
#include "offset_index.h"
#include "index_file.h"

#include "base/assert.h"
#include "base/limits.h"
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

#define ENTRY_BYTES RN_OFFSET_INDEX_ENTRY_BYTES

void rn_offset_index_init(rn_offset_index_t *idx, int64_t base_offset, int64_t bytes_max) {
    RN_ASSERT(base_offset >= 0);
    RN_ASSERT(bytes_max >= ENTRY_BYTES && bytes_max <= RN_INDEX_BYTES_MAX_CEILING);
    memset(idx, 0, sizeof(*idx));
    idx->base_offset = base_offset;
    idx->count_max = (uint32_t)(bytes_max / ENTRY_BYTES);
}

void rn_offset_index_free(rn_offset_index_t *idx) {
    free(idx->entries);
    idx->entries = NULL;
    idx->count = idx->cap = idx->flushed = 0;
}

static rn_err_t reserve(rn_offset_index_t *idx, uint32_t need) {
    if (need <= idx->cap) return RN_OK;
    uint32_t cap = idx->cap ? idx->cap : 64;
    while (cap < need) cap *= 2;
    if (cap > idx->count_max) cap = idx->count_max;
    rn_offset_index_entry_t *e = realloc(idx->entries, (size_t)cap * sizeof(*e));
    if (!e) return RN_ERR_NO_MEMORY;
    idx->entries = e;
    idx->cap = cap;
    return RN_OK;
}

rn_err_t rn_offset_index_append(rn_offset_index_t *idx, int64_t offset, uint64_t position) {
    RN_ASSERT(offset >= idx->base_offset && offset - idx->base_offset <= INT32_MAX);
    RN_ASSERT(position <= INT32_MAX);
    if (idx->count > 0) {
        const rn_offset_index_entry_t *last = &idx->entries[idx->count - 1];
        RN_ASSERT(offset - idx->base_offset > last->rel_offset);
        RN_ASSERT((int64_t)position > last->position);
    }
    if (rn_offset_index_full(idx)) return RN_ERR_LIMIT;
    rn_err_t err = reserve(idx, idx->count + 1);
    if (err != RN_OK) return err;
    idx->entries[idx->count].rel_offset = (int32_t)(offset - idx->base_offset);
    idx->entries[idx->count].position = (int32_t)position;
    idx->count++;
    return RN_OK;
}

uint64_t rn_offset_index_lookup(const rn_offset_index_t *idx, int64_t offset) {
    if (offset < idx->base_offset || idx->count == 0) return 0;
    int64_t rel = offset - idx->base_offset;
    /* last entry with rel_offset <= rel */
    uint32_t lo = 0, hi = idx->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (idx->entries[mid].rel_offset <= rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : (uint64_t)idx->entries[lo - 1].position;
}

bool rn_offset_index_last(const rn_offset_index_t *idx, int64_t *offset, uint64_t *position) {
    if (idx->count == 0) return false;
    *offset = idx->base_offset + idx->entries[idx->count - 1].rel_offset;
    *position = (uint64_t)idx->entries[idx->count - 1].position;
    return true;
}

void rn_offset_index_truncate(rn_offset_index_t *idx, int64_t offset) {
    while (idx->count > 0 && idx->base_offset + idx->entries[idx->count - 1].rel_offset >= offset)
        idx->count--;
    if (idx->flushed > idx->count) {
        idx->flushed = idx->count;
        idx->file_stale = true;
    }
}

void rn_offset_index_clear(rn_offset_index_t *idx) { rn_offset_index_truncate(idx, INT64_MIN); }

static bool entry_ok(const rn_offset_index_t *idx, const rn_offset_index_entry_t *e,
                     uint64_t seg_bytes) {
    if (e->rel_offset < 0 || e->position < 0 || (uint64_t)e->position >= seg_bytes) return false;
    if (idx->count == 0) return true;
    const rn_offset_index_entry_t *last = &idx->entries[idx->count - 1];
    return e->rel_offset > last->rel_offset && e->position > last->position;
}

/* State of one load: the index and the segment size entries must fit. */
typedef struct oidx_load {
    rn_offset_index_t *idx;
    uint64_t seg_bytes;
} oidx_load_t;

static rn_err_t oidx_reserve(void *ctx, uint32_t n) {
    return reserve(((oidx_load_t *)ctx)->idx, n);
}

static bool oidx_take(void *ctx, const uint8_t *p) {
    oidx_load_t *ld = ctx;
    rn_offset_index_entry_t e = {(int32_t)rn_be32_get(p), (int32_t)rn_be32_get(p + 4)};
    if (!entry_ok(ld->idx, &e, ld->seg_bytes)) return false;
    ld->idx->entries[ld->idx->count++] = e;
    return true;
}

rn_err_t rn_offset_index_load(rn_offset_index_t *idx, rn_io_t *io, const char *path,
                              uint64_t seg_bytes) {
    RN_ASSERT(idx->count == 0);
    oidx_load_t ld = {idx, seg_bytes};
    uint32_t count;
    rn_err_t err = rn_index_file_read(io, path, ENTRY_BYTES, idx->count_max, oidx_reserve,
                                      oidx_take, &ld, &count);
    if (err != RN_OK) idx->count = 0;
    idx->flushed = idx->count;
    idx->file_stale = err != RN_OK;
    return err;
}

static void oidx_put(const void *ctx, uint32_t i, uint8_t *out) {
    const rn_offset_index_entry_t *e = &((const rn_offset_index_t *)ctx)->entries[i];
    rn_be32_put(out, (uint32_t)e->rel_offset);
    rn_be32_put(out + 4, (uint32_t)e->position);
}

rn_err_t rn_offset_index_flush(rn_offset_index_t *idx, rn_io_t *io, rn_fd_t fd) {
    RN_ASSERT(idx->flushed <= idx->count);
    rn_err_t err = rn_index_file_write(io, fd, ENTRY_BYTES, idx->flushed, idx->count,
                                       idx->file_stale, oidx_put, idx);
    if (err != RN_OK) return err;
    idx->file_stale = false;
    idx->flushed = idx->count;
    return RN_OK;
}
