/*
 * segment.c: one segment's files: append with one pwrite, header scans
 * through a read window, range lookup for fetch, truncation, deletion.
 *
 * Owns the segment's handles and indexes; frees them with the last
 * reference. Never validates batch contents (the log did) and never fsyncs
 * outside rn_segment_sync / rn_segment_seal.
 */
#include "segment.h"

#include "base/assert.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rn_segment_file_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                          const char *ext) {
    RN_ASSERT(base_offset >= 0);
    int n = snprintf(out, cap, "%s/%020" PRId64 "%s", dir, base_offset, ext);
    return n > 0 && (size_t)n < cap;
}

static void ext_path(const rn_segment_t *seg, const char *ext, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s", seg->path, ext);
    RN_ASSERT(n > 0 && (size_t)n < cap);
}

static rn_segment_t *seg_new(rn_io_t *io, const char *dir, int64_t base_offset,
                             int64_t index_bytes_max) {
    rn_segment_t *seg = calloc(1, sizeof(*seg));
    if (!seg) return NULL;
    if (!rn_segment_file_path(seg->path, sizeof seg->path - 16, dir, base_offset, "")) {
        free(seg);
        return NULL;
    }
    seg->io = io;
    seg->base_offset = base_offset;
    seg->next_offset = base_offset;
    seg->fd = RN_FD_NONE;
    seg->max_timestamp_ms = -1;
    seg->max_timestamp_offset = -1;
    seg->roll_timestamp_ms = -1;
    seg->created_ms = -1;
    rn_offset_index_init(&seg->oidx, base_offset, index_bytes_max);
    rn_time_index_init(&seg->tidx, base_offset, index_bytes_max);
    atomic_init(&seg->refs, 1);
    return seg;
}

static void seg_close_files(rn_segment_t *seg) {
    if (seg->fd != RN_FD_NONE) rn_io_file_close(seg->io, seg->fd);
    seg->fd = RN_FD_NONE;
}

static void seg_free(rn_segment_t *seg) {
    seg_close_files(seg);
    rn_offset_index_free(&seg->oidx);
    rn_time_index_free(&seg->tidx);
    free(seg);
}

/* Creates the index files (emptying stale ones when `flags` has TRUNC) and
   marks the segment active: its indexes are written on every flush. */
static rn_err_t open_index_files(rn_segment_t *seg, unsigned flags) {
    static const char *const exts[] = {".index", ".timeindex"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char path[RN_STORAGE_PATH_BYTES_MAX];
        ext_path(seg, exts[i], path, sizeof path);
        rn_fd_t fd;
        rn_err_t err = rn_io_file_open(seg->io, path, RN_IO_WRITE | flags, &fd);
        if (err != RN_OK) return err;
        rn_io_file_close(seg->io, fd);
    }
    seg->active = true;
    return RN_OK;
}

/* A new segment whose records file is "<base><log_ext>", created empty. */
static rn_err_t seg_create_log(rn_io_t *io, const char *dir, int64_t base_offset,
                               int64_t index_bytes_max, const char *log_ext, rn_segment_t **out) {
    rn_segment_t *seg = seg_new(io, dir, base_offset, index_bytes_max);
    if (!seg) return RN_ERR_NO_MEMORY;
    char path[RN_STORAGE_PATH_BYTES_MAX];
    ext_path(seg, log_ext, path, sizeof path);
    unsigned flags = RN_IO_READ | RN_IO_WRITE | RN_IO_CREATE | RN_IO_TRUNC;
    rn_err_t err = rn_io_file_open(io, path, flags, &seg->fd);
    if (err != RN_OK) {
        seg_free(seg);
        return err;
    }
    *out = seg;
    return RN_OK;
}

rn_err_t rn_segment_create(rn_io_t *io, const char *dir, int64_t base_offset,
                           int64_t index_bytes_max, rn_segment_t **out) {
    rn_segment_t *seg = NULL;
    rn_err_t err = seg_create_log(io, dir, base_offset, index_bytes_max, ".log", &seg);
    if (err != RN_OK) return err;
    err = open_index_files(seg, RN_IO_CREATE | RN_IO_TRUNC);
    if (err != RN_OK) {
        /* No empty file of a segment that never joined the log stays
           behind (an index open can fail after the .log was created). */
        if (seg->fd != RN_FD_NONE) (void)rn_segment_delete(seg);
        seg_free(seg);
        return err;
    }
    *out = seg;
    return RN_OK;
}

rn_err_t rn_segment_create_cleaned(rn_io_t *io, const char *dir, int64_t base_offset,
                                   int64_t index_bytes_max, rn_segment_t **out) {
    return seg_create_log(io, dir, base_offset, index_bytes_max, ".log.cleaned", out);
}

rn_err_t rn_segment_open(rn_io_t *io, const char *dir, int64_t base_offset, int64_t index_bytes_max,
                         rn_segment_t **out) {
    rn_segment_t *seg = seg_new(io, dir, base_offset, index_bytes_max);
    if (!seg) return RN_ERR_NO_MEMORY;
    char path[RN_STORAGE_PATH_BYTES_MAX];
    ext_path(seg, ".log", path, sizeof path);
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ | RN_IO_WRITE, &seg->fd);
    if (err == RN_OK) err = rn_io_file_size(io, seg->fd, &seg->size_bytes);
    if (err == RN_OK && seg->size_bytes > INT32_MAX) err = RN_ERR_CORRUPT;
    if (err != RN_OK) {
        seg_free(seg);
        return err;
    }
    seg->synced_bytes = seg->size_bytes;
    *out = seg;
    return RN_OK;
}

void rn_segment_ref(rn_segment_t *seg) {
    int prev = atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
    RN_ASSERT(prev > 0);
}

void rn_segment_unref(rn_segment_t *seg) {
    int prev = atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel);
    RN_ASSERT(prev > 0);
    if (prev == 1) seg_free(seg);
}

void rn_segment_index_batch(rn_segment_t *seg, const rn_batch_header_t *hdr, uint64_t position,
                            int32_t index_interval_bytes) {
    RN_ASSERT(hdr->base_offset >= seg->next_offset);
    RN_ASSERT(position + rn_batch_size(hdr) <= seg->size_bytes);
    int64_t last = rn_batch_last_offset(hdr);
    if (seg->roll_timestamp_ms < 0) seg->roll_timestamp_ms = hdr->max_timestamp;
    if (hdr->max_timestamp > seg->max_timestamp_ms) {
        seg->max_timestamp_ms = hdr->max_timestamp;
        seg->max_timestamp_offset = last;
    }
    seg->bytes_since_index += (uint32_t)rn_batch_size(hdr);
    if (seg->bytes_since_index > (uint32_t)index_interval_bytes) {
        /* A failed index append (full, no memory) only leaves the index
           sparser; lookups stay correct. */
        (void)rn_offset_index_append(&seg->oidx, hdr->base_offset, position);
        if (seg->max_timestamp_ms >= 0)
            (void)rn_time_index_maybe_append(&seg->tidx, seg->max_timestamp_ms,
                                             seg->max_timestamp_offset);
        seg->bytes_since_index = 0;
    }
    seg->next_offset = last + 1;
}

rn_err_t rn_segment_append(rn_segment_t *seg, const uint8_t *blob, size_t len,
                           int32_t index_interval_bytes) {
    RN_ASSERT(!seg->deleted);
    RN_ASSERT(seg->size_bytes + len <= INT32_MAX);
    rn_err_t err = rn_io_file_pwrite(seg->io, seg->fd, blob, len, seg->size_bytes);
    if (err != RN_OK) {
        /* Drop whatever part landed so the file ends at a batch boundary. */
        (void)rn_io_file_truncate(seg->io, seg->fd, seg->size_bytes);
        return err;
    }
    uint64_t pos = seg->size_bytes;
    seg->size_bytes += len;
    for (size_t off = 0; off < len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(blob + off, &hdr);
        rn_segment_index_batch(seg, &hdr, pos + off, index_interval_bytes);
        off += rn_batch_size(&hdr);
    }
    return RN_OK;
}

/* Opens one index file, writes what is pending (and fsyncs it when asked),
   closes it. */
static rn_err_t flush_index_file(rn_segment_t *seg, const char *ext, bool pending, bool sync,
                                 rn_err_t (*flush)(void *idx, rn_io_t *io, rn_fd_t fd), void *idx) {
    if (!pending && !sync) return RN_OK;
    char path[RN_STORAGE_PATH_BYTES_MAX];
    ext_path(seg, ext, path, sizeof path);
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(seg->io, path, RN_IO_WRITE | RN_IO_CREATE, &fd);
    if (err != RN_OK) return err;
    if (pending) err = flush(idx, seg->io, fd);
    if (err == RN_OK && sync) err = rn_io_file_sync(seg->io, fd);
    rn_io_file_close(seg->io, fd);
    return err;
}

static rn_err_t oidx_flush(void *idx, rn_io_t *io, rn_fd_t fd) {
    return rn_offset_index_flush(idx, io, fd);
}

static rn_err_t tidx_flush(void *idx, rn_io_t *io, rn_fd_t fd) {
    return rn_time_index_flush(idx, io, fd);
}

static rn_err_t flush_indexes(rn_segment_t *seg, bool sync) {
    if (!seg->active) return RN_OK;
    bool oidx_pending = seg->oidx.flushed < seg->oidx.count || seg->oidx.file_stale;
    bool tidx_pending = seg->tidx.flushed < seg->tidx.count || seg->tidx.file_stale;
    rn_err_t err = flush_index_file(seg, ".index", oidx_pending, sync, oidx_flush, &seg->oidx);
    if (err == RN_OK)
        err = flush_index_file(seg, ".timeindex", tidx_pending, sync, tidx_flush, &seg->tidx);
    return err;
}

rn_err_t rn_segment_sync(rn_segment_t *seg) {
    rn_err_t err = flush_indexes(seg, false);
    if (err != RN_OK || seg->synced_bytes == seg->size_bytes) return err;
    uint64_t size = seg->size_bytes;
    err = rn_io_file_sync(seg->io, seg->fd);
    if (err == RN_OK) seg->synced_bytes = size;
    return err;
}

rn_err_t rn_segment_seal(rn_segment_t *seg) {
    if (seg->max_timestamp_ms >= 0)
        (void)rn_time_index_maybe_append(&seg->tidx, seg->max_timestamp_ms,
                                         seg->max_timestamp_offset);
    if (!seg->active) {
        rn_err_t err = open_index_files(seg, RN_IO_CREATE);
        if (err != RN_OK) return err;
    }
    rn_err_t err = flush_indexes(seg, true);
    if (err == RN_OK) err = rn_segment_sync(seg); /* nothing index-wise left to write */
    if (err != RN_OK) return err;
    seg->active = false;
    return RN_OK;
}

rn_err_t rn_segment_write_index_files(rn_segment_t *seg, const char *suffix) {
    RN_ASSERT(!seg->active);
    if (seg->max_timestamp_ms >= 0)
        (void)rn_time_index_maybe_append(&seg->tidx, seg->max_timestamp_ms,
                                         seg->max_timestamp_offset);
    seg->oidx.file_stale = seg->tidx.file_stale = true; /* a stale file of the name is cut */
    char ext[32];
    int n = snprintf(ext, sizeof ext, ".index%s", suffix);
    RN_ASSERT(n > 0 && (size_t)n < sizeof ext);
    rn_err_t err = flush_index_file(seg, ext, true, true, oidx_flush, &seg->oidx);
    n = snprintf(ext, sizeof ext, ".timeindex%s", suffix);
    RN_ASSERT(n > 0 && (size_t)n < sizeof ext);
    if (err == RN_OK) err = flush_index_file(seg, ext, true, true, tidx_flush, &seg->tidx);
    return err;
}

void rn_segment_forget(rn_segment_t *seg) {
    RN_ASSERT(!seg->deleted);
    seg->deleted = true;
}

rn_err_t rn_segment_unseal(rn_segment_t *seg) {
    if (seg->active) return RN_OK;
    return open_index_files(seg, RN_IO_CREATE);
}

void rn_segment_cursor_init(rn_segment_cursor_t *cur, rn_segment_t *seg) {
    cur->seg = seg;
    cur->win_off = 0;
    cur->win_len = 0;
}

rn_err_t rn_segment_cursor_header(rn_segment_cursor_t *cur, uint64_t pos, rn_batch_header_t *hdr) {
    rn_segment_t *seg = cur->seg;
    if (pos >= seg->size_bytes) return RN_ERR_NOT_FOUND;
    if (seg->size_bytes - pos < RN_BATCH_HEADER_BYTES) return RN_ERR_CORRUPT;
    if (pos < cur->win_off || pos + RN_BATCH_HEADER_BYTES > cur->win_off + cur->win_len) {
        uint64_t avail = seg->size_bytes - pos;
        size_t want = avail < sizeof cur->win ? (size_t)avail : sizeof cur->win;
        size_t got = 0;
        rn_err_t err = rn_io_file_pread(seg->io, seg->fd, cur->win, want, pos, &got);
        if (err != RN_OK) return err;
        if (got < RN_BATCH_HEADER_BYTES) return RN_ERR_CORRUPT;
        cur->win_off = pos;
        cur->win_len = got;
    }
    rn_batch_header_parse(cur->win + (pos - cur->win_off), hdr);
    if (hdr->batch_length < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD) return RN_ERR_CORRUPT;
    if (rn_batch_size(hdr) > seg->size_bytes - pos) return RN_ERR_CORRUPT;
    if (hdr->last_offset_delta < 0) return RN_ERR_CORRUPT;
    return RN_OK;
}

static rn_err_t find_with(rn_segment_cursor_t *cur, int64_t offset, uint64_t *pos,
                          rn_batch_header_t *hdr) {
    uint64_t p = rn_offset_index_lookup(&cur->seg->oidx, offset);
    for (;;) {
        rn_err_t err = rn_segment_cursor_header(cur, p, hdr);
        if (err != RN_OK) return err;
        if (rn_batch_last_offset(hdr) >= offset) {
            *pos = p;
            return RN_OK;
        }
        p += rn_batch_size(hdr);
    }
}

rn_err_t rn_segment_find(rn_segment_t *seg, int64_t offset, uint64_t *pos, rn_batch_header_t *hdr) {
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    return find_with(&cur, offset, pos, hdr);
}

rn_err_t rn_segment_read(rn_segment_t *seg, int64_t offset, int32_t max_bytes, int64_t max_offset,
                         uint64_t *pos, uint64_t *len) {
    RN_ASSERT(max_bytes >= 0);
    *pos = 0;
    *len = 0;
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    rn_batch_header_t hdr;
    uint64_t start;
    rn_err_t err = find_with(&cur, offset, &start, &hdr);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    uint64_t total = 0;
    for (;;) {
        if (rn_batch_last_offset(&hdr) >= max_offset) break;
        uint64_t size = rn_batch_size(&hdr);
        if (total > 0 && total + size > (uint64_t)max_bytes) break;
        total += size;
        if (total >= (uint64_t)max_bytes) break;
        err = rn_segment_cursor_header(&cur, start + total, &hdr);
        if (err == RN_ERR_NOT_FOUND) break;
        if (err != RN_OK) return err;
    }
    *pos = start;
    *len = total;
    RN_ASSERT(start + total <= seg->size_bytes);
    return RN_OK;
}

static rn_err_t cut_file(rn_segment_t *seg, uint64_t pos) {
    RN_ASSERT(pos <= seg->size_bytes || pos <= INT32_MAX);
    rn_err_t err = rn_io_file_truncate(seg->io, seg->fd, pos);
    if (err != RN_OK) return err;
    seg->size_bytes = pos;
    if (seg->synced_bytes > pos) seg->synced_bytes = pos;
    return RN_OK;
}

rn_err_t rn_segment_truncate_bytes(rn_segment_t *seg, uint64_t pos) {
    RN_ASSERT(!seg->deleted);
    return cut_file(seg, pos);
}

/* After a cut: the largest timestamp and the bytes since the last index entry,
   from the time index's last entry plus a scan of the batches after it. */
static rn_err_t restat(rn_segment_t *seg) {
    int64_t ts = -1, ts_offset = -1, idx_offset;
    uint64_t idx_pos = 0, pos = 0;
    if (rn_time_index_last(&seg->tidx, &ts, &ts_offset))
        pos = rn_offset_index_lookup(&seg->oidx, ts_offset);
    seg->max_timestamp_ms = ts;
    seg->max_timestamp_offset = ts_offset;
    if (!rn_offset_index_last(&seg->oidx, &idx_offset, &idx_pos)) idx_pos = 0;
    seg->bytes_since_index = (uint32_t)(seg->size_bytes - idx_pos);
    if (seg->size_bytes == 0) seg->roll_timestamp_ms = seg->created_ms = -1;
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    for (;;) {
        rn_batch_header_t hdr;
        rn_err_t err = rn_segment_cursor_header(&cur, pos, &hdr);
        if (err == RN_ERR_NOT_FOUND) return RN_OK;
        if (err != RN_OK) return err;
        if (hdr.max_timestamp > seg->max_timestamp_ms) {
            seg->max_timestamp_ms = hdr.max_timestamp;
            seg->max_timestamp_offset = rn_batch_last_offset(&hdr);
        }
        pos += rn_batch_size(&hdr);
    }
}

rn_err_t rn_segment_truncate(rn_segment_t *seg, int64_t offset) {
    RN_ASSERT(!seg->deleted);
    rn_batch_header_t hdr;
    uint64_t pos;
    rn_err_t err = rn_segment_find(seg, offset, &pos, &hdr);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    int64_t cut = pos == 0 ? seg->base_offset : hdr.base_offset;
    err = cut_file(seg, pos);
    if (err != RN_OK) return err;
    rn_offset_index_truncate(&seg->oidx, cut);
    rn_time_index_truncate(&seg->tidx, cut);
    seg->next_offset = cut;
    err = restat(seg);
    RN_ASSERT(seg->next_offset <= offset || pos == 0);
    return err;
}

rn_err_t rn_segment_delete(rn_segment_t *seg) {
    RN_ASSERT(!seg->deleted);
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    rn_err_t first = RN_OK;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char path[RN_STORAGE_PATH_BYTES_MAX];
        ext_path(seg, exts[i], path, sizeof path);
        rn_err_t err = rn_io_unlink(seg->io, path);
        if (err != RN_OK && err != RN_ERR_NOT_FOUND && first == RN_OK) first = err;
    }
    seg->deleted = true;
    return first;
}
