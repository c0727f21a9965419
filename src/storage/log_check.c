/*
 * log_check.c: the read-only partition check (log_check.h). Reads each
 * segment whole through the I/O seam, walks its batches with the same
 * validation the append path uses, then checks the index files against the
 * batch boundaries it found.
 */
#include "storage/log_check.h"
#include "base/assert.h"
#include "base/limits.h"
#include "proto/batch.h"
#include "storage/checkpoint.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_CHECK_SEGMENTS_MAX 1000000

typedef struct check_ctx {
    rn_io_t *io;
    const char *dir;
    rn_log_check_t *chk;
    int64_t *bases; /* segment base offsets, sorted */
    uint32_t base_count;
    uint32_t base_cap;
    int64_t clean_offset; /* below it the log cleaner may have left gaps */
} check_ctx_t;

static void check_problem(check_ctx_t *cx, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cx->chk->problems++;
    if (cx->chk->report) cx->chk->report(cx->chk->ctx, cx->dir, what);
}

static int check_list_one(void *ctx, const char *name) {
    check_ctx_t *cx = ctx;
    size_t len = strlen(name);
    if (len != 24 || strcmp(name + 20, ".log") != 0) return 0;
    char *end = NULL;
    long long base = strtoll(name, &end, 10);
    if (end != name + 20 || base < 0) return 0;
    if (cx->base_count == cx->base_cap) {
        uint32_t cap = cx->base_cap ? cx->base_cap * 2 : 16;
        if (cap > LOG_CHECK_SEGMENTS_MAX) return 1;
        int64_t *bases = realloc(cx->bases, cap * sizeof *bases);
        if (!bases) return 1;
        cx->bases = bases;
        cx->base_cap = cap;
    }
    cx->bases[cx->base_count++] = base;
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Reads a whole file into a fresh buffer; *len 0 and NULL when absent. */
static rn_err_t check_read(rn_io_t *io, const char *path, uint8_t **data, size_t *len) {
    *data = NULL;
    *len = 0;
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ, &fd);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    uint64_t size = 0;
    err = rn_io_file_size(io, fd, &size);
    if (err == RN_OK && size > 0) {
        *data = malloc((size_t)size);
        err = *data ? rn_io_file_pread(io, fd, *data, (size_t)size, 0, len) : RN_ERR_NO_MEMORY;
    }
    rn_io_file_close(io, fd);
    return err;
}

/* Batch start positions of one segment, and its next offset. */
typedef struct check_seg {
    int64_t base;
    int64_t next;
    uint64_t *starts;
    int64_t *start_offsets;
    uint32_t count;
    uint32_t cap;
} check_seg_t;

static bool check_push_start(check_seg_t *seg, uint64_t pos, int64_t base_offset) {
    if (seg->count == seg->cap) {
        uint32_t cap = seg->cap ? seg->cap * 2 : 256;
        uint64_t *starts = realloc(seg->starts, cap * sizeof *starts);
        if (!starts) return false;
        seg->starts = starts;
        int64_t *offsets = realloc(seg->start_offsets, cap * sizeof *offsets);
        if (!offsets) return false;
        seg->start_offsets = offsets;
        seg->cap = cap;
    }
    seg->starts[seg->count] = pos;
    seg->start_offsets[seg->count++] = base_offset;
    return true;
}

/* The log cleaner (cleaner.h) drops records and whole batches below the
   checkpoint's clean offset: there, shortened batches and offset gaps are
   what it leaves, not faults. Overlaps are faults everywhere. */
static bool check_gap_ok(const check_ctx_t *cx, int64_t expected, int64_t got) {
    return got > expected && expected < cx->clean_offset;
}

static void check_batches(check_ctx_t *cx, check_seg_t *seg, const uint8_t *data, size_t len) {
    size_t pos = 0;
    seg->next = seg->base;
    while (pos < len) {
        if (len - pos < RN_BATCH_HEADER_BYTES) {
            check_problem(cx, "segment %020" PRId64 ": %zu stray bytes at the end (torn tail)",
                          seg->base, len - pos);
            return;
        }
        rn_batch_header_t hdr;
        rn_batch_header_parse(data + pos, &hdr);
        rn_batch_limits_t lim = {0, RN_BATCH_ALLOW_CONTROL};
        if (hdr.base_offset < cx->clean_offset) lim.flags |= RN_BATCH_ALLOW_COMPACTED;
        rn_batch_reason_t why = rn_batch_check_header(&hdr, len - pos, &lim);
        if (why == RN_BATCH_OK) why = rn_batch_check_body(data + pos, &hdr, &lim);
        if (why != RN_BATCH_OK) {
            check_problem(cx, "segment %020" PRId64 ": batch at position %zu: %s", seg->base, pos,
                          rn_batch_reason_name(why));
            return;
        }
        if (hdr.base_offset != seg->next && !check_gap_ok(cx, seg->next, hdr.base_offset))
            check_problem(cx,
                          "segment %020" PRId64 ": batch at position %zu has base offset %" PRId64
                          ", expected %" PRId64,
                          seg->base, pos, hdr.base_offset, seg->next);
        if (!check_push_start(seg, pos, hdr.base_offset)) {
            check_problem(cx, "segment %020" PRId64 ": out of memory", seg->base);
            return;
        }
        seg->next = rn_batch_last_offset(&hdr) + 1;
        pos += rn_batch_size(&hdr);
        cx->chk->batches++;
    }
}

/* Index of the batch starting exactly at position, or -1. */
static int64_t check_find_start(const check_seg_t *seg, uint64_t position) {
    uint32_t lo = 0, hi = seg->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seg->starts[mid] < position)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < seg->count && seg->starts[lo] == position ? (int64_t)lo : -1;
}

static void check_offset_index(check_ctx_t *cx, check_seg_t *seg, const uint8_t *data, size_t len) {
    if (len % 8)
        check_problem(cx, "index %020" PRId64 ": %zu bytes, not whole entries", seg->base, len);
    int64_t prev = -1;
    for (size_t i = 0; i + 8 <= len; i += 8) {
        int64_t offset = seg->base + (int32_t)rn_be32_get(data + i);
        uint64_t position = (uint64_t)(uint32_t)(int32_t)rn_be32_get(data + i + 4);
        int64_t at = check_find_start(seg, position);
        if (offset <= prev || offset >= seg->next || at < 0 || seg->start_offsets[at] > offset) {
            check_problem(cx,
                          "index %020" PRId64 ": entry %zu (offset %" PRId64 ", position %" PRIu64
                          ") does not match the log",
                          seg->base, i / 8, offset, position);
            return;
        }
        prev = offset;
    }
}

static void check_time_index(check_ctx_t *cx, check_seg_t *seg, const uint8_t *data, size_t len) {
    if (len % 12)
        check_problem(cx, "time index %020" PRId64 ": %zu bytes, not whole entries", seg->base,
                      len);
    int64_t prev_ts = INT64_MIN, prev_offset = -1;
    for (size_t i = 0; i + 12 <= len; i += 12) {
        int64_t ts = (int64_t)rn_be64_get(data + i);
        int64_t offset = seg->base + (int32_t)rn_be32_get(data + i + 8);
        if (ts <= prev_ts || offset < prev_offset || offset >= seg->next) {
            check_problem(cx,
                          "time index %020" PRId64 ": entry %zu (timestamp %" PRId64
                          ", offset %" PRId64 ") out of order or past the log",
                          seg->base, i / 12, ts, offset);
            return;
        }
        prev_ts = ts;
        prev_offset = offset;
    }
}

/* Reads <dir>/<base><ext> and hands its bytes to `check`. */
static rn_err_t check_file(check_ctx_t *cx, check_seg_t *seg, const char *ext,
                           void (*check)(check_ctx_t *, check_seg_t *, const uint8_t *, size_t)) {
    char path[RN_STORAGE_PATH_BYTES_MAX + 32];
    snprintf(path, sizeof path, "%s/%020" PRId64 "%s", cx->dir, seg->base, ext);
    uint8_t *data;
    size_t len;
    rn_err_t err = check_read(cx->io, path, &data, &len);
    if (err == RN_OK && check) check(cx, seg, data, len);
    free(data);
    return err;
}

static rn_err_t check_segment(check_ctx_t *cx, int64_t base, int64_t *expect_next) {
    check_seg_t seg = {.base = base};
    rn_err_t err = check_file(cx, &seg, ".log", check_batches);
    if (err == RN_OK) err = check_file(cx, &seg, ".index", check_offset_index);
    if (err == RN_OK) err = check_file(cx, &seg, ".timeindex", check_time_index);
    if (*expect_next >= 0 && base != *expect_next && !check_gap_ok(cx, *expect_next, base))
        check_problem(
            cx, "segment %020" PRId64 " starts at %" PRId64 " but the previous ends at %" PRId64,
            base, base, *expect_next);
    if (cx->chk->first_offset < 0) cx->chk->first_offset = base;
    *expect_next = seg.next;
    cx->chk->next_offset = seg.next;
    free(seg.starts);
    free(seg.start_offsets);
    return err;
}

rn_err_t rn_log_check_dir(rn_io_t *io, const char *dir, rn_log_check_t *chk) {
    RN_ASSERT(chk != NULL);
    chk->segments = 0;
    chk->batches = 0;
    chk->first_offset = -1;
    chk->next_offset = 0;
    chk->problems = 0;
    check_ctx_t cx = {io, dir, chk, NULL, 0, 0, 0};
    rn_checkpoint_t cp;
    rn_epoch_cache_t epochs;
    rn_epoch_cache_init(&epochs);
    if (rn_checkpoint_read(io, dir, &cp, &epochs) == RN_OK) cx.clean_offset = cp.clean_offset;
    rn_epoch_cache_free(&epochs);
    rn_err_t err = rn_io_dir_list(io, dir, check_list_one, &cx);
    if (err == RN_OK) qsort(cx.bases, cx.base_count, sizeof *cx.bases, cmp_i64);
    int64_t expect_next = -1;
    for (uint32_t i = 0; err == RN_OK && i < cx.base_count; i++) {
        err = check_segment(&cx, cx.bases[i], &expect_next);
        chk->segments++;
    }
    free(cx.bases);
    return err;
}
