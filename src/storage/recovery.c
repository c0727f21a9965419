/*
 * recovery.c: opening a partition log: list the directory, load segments
 * and indexes, and after an unclean stop scan from the recovery point,
 * validating batch by batch (batch.c), cutting the log at the first torn or
 * corrupt batch and rebuilding the indexes of every segment it scanned.
 *
 * After a clean stop (checkpoint says so) nothing is scanned beyond the tail
 * of the active segment after its last index entry (bounded by
 * index.interval.bytes), whatever the data size. Owns a read buffer for the
 * duration of a scan only. Never trusts an index file it has not checked,
 * never keeps bytes past the first bad batch of a scanned segment.
 */
#include "log_int.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "storage/checkpoint.h"
#include "storage/cleaner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- directory listing ---- */

typedef struct listing {
    rn_log_t *log;
    int64_t *bases;
    uint32_t count;
    uint32_t cap;
    bool failed;
} listing_t;

/* "<20 digits><ext>" -> base offset, or -1. */
static int64_t parse_name(const char *name, const char *ext) {
    size_t len = strlen(name), ext_len = strlen(ext);
    if (len != 20 + ext_len || strcmp(name + 20, ext) != 0) return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return -1;
        if (v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static bool ends_with(const char *name, const char *ext) {
    size_t len = strlen(name), ext_len = strlen(ext);
    return len >= ext_len && strcmp(name + len - ext_len, ext) == 0;
}

static int list_one(void *ctx, const char *name) {
    listing_t *ls = ctx;
    if (ends_with(name, ".tmp")) {
        char path[RN_STORAGE_PATH_BYTES_MAX];
        if (snprintf(path, sizeof path, "%s/%s", ls->log->dir, name) < (int)sizeof path)
            (void)rn_io_unlink(ls->log->io, path); /* an interrupted atomic write */
        return 0;
    }
    int64_t base = parse_name(name, ".log");
    if (base < 0) return 0;
    if (ls->count == ls->cap) {
        if (ls->cap >= RN_LOG_SEGMENTS_MAX) {
            ls->failed = true;
            return 1;
        }
        uint32_t cap = ls->cap ? ls->cap * 2 : 16;
        int64_t *bases = realloc(ls->bases, (size_t)cap * sizeof(*bases));
        if (!bases) {
            ls->failed = true;
            return 1;
        }
        ls->bases = bases;
        ls->cap = cap;
    }
    ls->bases[ls->count++] = base;
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Removes a segment that is not part of the log: an empty file that a
   rollback (log.c) emptied and unlinked without the unlink reaching the
   disk. A log never holds an empty segment before another one. */
static void remove_stray(rn_log_t *log, rn_segment_t *seg) {
    RN_WARN("storage", "%s: removing an empty segment left by an undone append", seg->path);
    (void)rn_segment_delete(seg);
    rn_segment_unref(seg);
    log->dir_sync_pending = true;
}

static rn_err_t open_segments(rn_log_t *log) {
    listing_t ls = {log, NULL, 0, 0, false};
    rn_err_t err = rn_io_dir_list(log->io, log->dir, list_one, &ls);
    if (err == RN_OK && ls.failed) err = RN_ERR_LIMIT;
    if (ls.count > 1) qsort(ls.bases, ls.count, sizeof(int64_t), cmp_i64);
    for (uint32_t i = 0; err == RN_OK && i < ls.count; i++) {
        rn_segment_t *seg;
        err = rn_segment_open(log->io, log->dir, ls.bases[i], log->cfg.index_bytes_max, &seg);
        if (err != RN_OK) break;
        if (rn_segment_empty(seg) && i + 1 < ls.count) {
            remove_stray(log, seg);
            continue;
        }
        err = rn_log_push_segment(log, seg);
        if (err != RN_OK) rn_segment_unref(seg);
    }
    free(ls.bases);
    return err;
}

/* ---- validating scan ---- */

typedef struct scan_buf {
    uint8_t *ptr;
    size_t cap;
    uint64_t off; /* file position of ptr[0] */
    size_t len;
} scan_buf_t;

/* Makes [pos, pos + need) readable in the buffer (need <= cap). */
static rn_err_t buf_cover(rn_segment_t *seg, scan_buf_t *buf, uint64_t pos, size_t need) {
    RN_ASSERT(need <= buf->cap);
    if (pos >= buf->off && pos + need <= buf->off + buf->len) return RN_OK;
    uint64_t avail = seg->size_bytes - pos;
    size_t want = avail < buf->cap ? (size_t)avail : buf->cap;
    size_t got = 0;
    buf->len = 0;
    rn_err_t err = rn_io_file_pread(seg->io, seg->fd, buf->ptr, want, pos, &got);
    if (err != RN_OK) return err;
    buf->off = pos;
    buf->len = got;
    return got >= need ? RN_OK : RN_ERR_CORRUPT;
}

/* CRC of a batch too large for the buffer, streamed through it. */
static rn_err_t crc_streamed(rn_segment_t *seg, scan_buf_t *buf, uint64_t pos,
                             const rn_batch_header_t *hdr, bool *ok) {
    uint64_t p = pos + RN_BATCH_OFF_ATTRIBUTES, end = pos + rn_batch_size(hdr);
    uint32_t crc = 0;
    buf->len = 0;
    while (p < end) {
        size_t want = end - p < buf->cap ? (size_t)(end - p) : buf->cap, got = 0;
        rn_err_t err = rn_io_file_pread(seg->io, seg->fd, buf->ptr, want, p, &got);
        if (err != RN_OK) return err;
        if (got != want) return RN_ERR_CORRUPT;
        crc = rn_crc32c(crc, buf->ptr, want);
        p += want;
    }
    *ok = crc == hdr->crc;
    return RN_OK;
}

/* Checks the batch at pos; *ok false means "cut here". */
static rn_err_t check_batch_at(rn_segment_t *seg, scan_buf_t *buf, uint64_t pos,
                               rn_batch_header_t *hdr, bool *ok) {
    static const rn_batch_limits_t lim = {RN_STORAGE_BATCH_BYTES_CEILING,
                                          RN_BATCH_ALLOW_CONTROL | RN_BATCH_SKIP_RECORDS |
                                              RN_BATCH_ALLOW_COMPACTED};
    *ok = false;
    if (seg->size_bytes - pos < RN_BATCH_HEADER_BYTES) return RN_OK;
    rn_err_t err = buf_cover(seg, buf, pos, RN_BATCH_HEADER_BYTES);
    if (err != RN_OK) return err;
    rn_batch_header_parse(buf->ptr + (pos - buf->off), hdr);
    if (rn_batch_check_header(hdr, seg->size_bytes - pos, &lim) != RN_BATCH_OK) return RN_OK;
    if (hdr->base_offset < seg->next_offset) return RN_OK;
    if (rn_batch_last_offset(hdr) - seg->base_offset > INT32_MAX) return RN_OK;
    size_t size = rn_batch_size(hdr);
    if (size > buf->cap) return crc_streamed(seg, buf, pos, hdr, ok);
    err = buf_cover(seg, buf, pos, size);
    if (err != RN_OK) return err;
    *ok = rn_batch_check_body(buf->ptr + (pos - buf->off), hdr, &lim) == RN_BATCH_OK;
    return RN_OK;
}

static void reset_segment(rn_segment_t *seg) {
    rn_offset_index_clear(&seg->oidx);
    rn_time_index_clear(&seg->tidx);
    seg->oidx.file_stale = seg->tidx.file_stale = true; /* rewrite the files whole */
    seg->next_offset = seg->base_offset;
    seg->max_timestamp_ms = seg->max_timestamp_offset = seg->roll_timestamp_ms = -1;
    seg->bytes_since_index = 0;
    seg->synced_bytes = 0;
}

/* Scans the whole segment, rebuilding its indexes; cuts at the first bad
   batch. *cut tells whether anything was dropped. With epochs, the leader
   epoch of each batch is assigned (a segment past the recovery point: the
   checkpoint may not have seen them). */
static rn_err_t recover_segment(rn_log_t *log, rn_segment_t *seg, bool epochs, bool *cut) {
    reset_segment(seg);
    scan_buf_t buf = {malloc(RN_RECOVERY_CHUNK_BYTES), RN_RECOVERY_CHUNK_BYTES, 0, 0};
    if (!buf.ptr) return RN_ERR_NO_MEMORY;
    uint64_t pos = 0;
    rn_err_t err = RN_OK;
    while (pos < seg->size_bytes) {
        rn_batch_header_t hdr;
        bool ok;
        err = check_batch_at(seg, &buf, pos, &hdr, &ok);
        if (err != RN_OK || !ok) break;
        bool changed = false;
        if (epochs)
            err = rn_epoch_cache_assign(&log->epochs, hdr.partition_leader_epoch, hdr.base_offset,
                                        &changed);
        if (err != RN_OK) break;
        rn_segment_index_batch(seg, &hdr, pos, log->cfg.index_interval_bytes);
        pos += rn_batch_size(&hdr);
    }
    free(buf.ptr);
    if (err != RN_OK) return err;
    if (pos > 0) seg->created_ms = rn_io_wall_ms(seg->io);
    log->stats.bytes_scanned += pos;
    log->stats.segments_recovered++;
    log->stats.indexes_rebuilt++;
    *cut = pos < seg->size_bytes;
    if (*cut) {
        log->stats.bytes_truncated += seg->size_bytes - pos;
        RN_WARN("storage", "%s: cut %llu bytes of torn or corrupt data at position %llu", seg->path,
                (unsigned long long)(seg->size_bytes - pos), (unsigned long long)pos);
        err = rn_segment_truncate_bytes(seg, pos);
    }
    return err;
}

/* ---- trusted segments (below the recovery point, or after a clean stop) ---- */

static void index_path(const rn_segment_t *seg, const char *ext, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s", seg->path, ext);
    RN_ASSERT(n > 0 && (size_t)n < cap);
}

/* Header-only walk of the batches after the last offset index entry, to find
   the log end: bounded by index.interval.bytes. RN_ERR_CORRUPT: rebuild. */
static rn_err_t scan_tail(rn_log_t *log, rn_segment_t *seg) {
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    rn_batch_header_t hdr;
    int64_t idx_offset;
    uint64_t pos = 0;
    if (rn_offset_index_last(&seg->oidx, &idx_offset, &pos)) {
        rn_err_t err = rn_segment_cursor_header(&cur, pos, &hdr);
        if (err != RN_OK) return RN_ERR_CORRUPT;
        if (hdr.base_offset != idx_offset) return RN_ERR_CORRUPT;
        seg->next_offset = rn_batch_last_offset(&hdr) + 1;
        if (hdr.max_timestamp > seg->max_timestamp_ms) {
            seg->max_timestamp_ms = hdr.max_timestamp;
            seg->max_timestamp_offset = rn_batch_last_offset(&hdr);
        }
        pos += rn_batch_size(&hdr);
    }
    seg->bytes_since_index = 0;
    for (;;) {
        rn_err_t err = rn_segment_cursor_header(&cur, pos, &hdr);
        if (err == RN_ERR_NOT_FOUND) return RN_OK;
        if (err != RN_OK) return err == RN_ERR_IO ? err : RN_ERR_CORRUPT;
        if (hdr.base_offset < seg->next_offset || hdr.magic != RN_BATCH_MAGIC)
            return RN_ERR_CORRUPT;
        if (rn_batch_last_offset(&hdr) - seg->base_offset > INT32_MAX) return RN_ERR_CORRUPT;
        rn_segment_index_batch(seg, &hdr, pos, log->cfg.index_interval_bytes);
        pos += rn_batch_size(&hdr);
    }
}

static rn_err_t first_timestamp(rn_segment_t *seg) {
    if (rn_segment_empty(seg)) return RN_OK;
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    rn_batch_header_t hdr;
    rn_err_t err = rn_segment_cursor_header(&cur, 0, &hdr);
    if (err != RN_OK) return err == RN_ERR_IO ? err : RN_ERR_CORRUPT;
    seg->roll_timestamp_ms = hdr.max_timestamp;
    seg->created_ms = rn_io_wall_ms(seg->io);
    return RN_OK;
}

/* Loads and checks a segment's indexes without scanning its data (but for
   the active segment's short tail). *bad: the indexes need a rebuild. */
static rn_err_t load_segment(rn_log_t *log, rn_segment_t *seg, int64_t next_base, bool *bad) {
    char path[RN_STORAGE_PATH_BYTES_MAX];
    *bad = false;
    index_path(seg, ".index", path, sizeof path);
    rn_err_t err = rn_offset_index_load(&seg->oidx, log->io, path, seg->size_bytes);
    if (err == RN_OK) {
        index_path(seg, ".timeindex", path, sizeof path);
        err = rn_time_index_load(&seg->tidx, log->io, path, next_base >= 0 ? next_base : INT64_MAX);
    }
    if (err == RN_OK && rn_time_index_last(&seg->tidx, &seg->max_timestamp_ms,
                                           &seg->max_timestamp_offset) == false) {
        seg->max_timestamp_ms = seg->max_timestamp_offset = -1;
    }
    if (err == RN_OK) {
        if (next_base >= 0)
            seg->next_offset = rn_segment_empty(seg) ? seg->base_offset : next_base;
        else
            err = scan_tail(log, seg);
    }
    if (err == RN_OK && seg->max_timestamp_offset >= seg->next_offset) err = RN_ERR_CORRUPT;
    if (err == RN_OK) err = first_timestamp(seg);
    if (err == RN_ERR_CORRUPT) {
        *bad = true;
        return RN_OK;
    }
    return err;
}

/* ---- the open sequence ---- */

static void drop_from(rn_log_t *log, uint32_t first) {
    while (log->seg_count > first) {
        rn_segment_t *seg = log->segs[--log->seg_count];
        log->stats.bytes_truncated += seg->size_bytes;
        (void)rn_segment_delete(seg);
        rn_segment_unref(seg);
    }
}

static rn_err_t load_all(rn_log_t *log, const rn_checkpoint_t *cp) {
    for (uint32_t i = 0; i < log->seg_count; i++) {
        rn_segment_t *seg = log->segs[i];
        bool last = i == log->seg_count - 1;
        int64_t next_base = last ? -1 : log->segs[i + 1]->base_offset;
        bool scan = !cp->clean_shutdown && (last || next_base > cp->recovery_point);
        bool bad = false, cut = false;
        rn_err_t err;
        if (!scan) {
            err = load_segment(log, seg, next_base, &bad);
            if (err != RN_OK) return err;
            if (!bad) continue;
            RN_WARN("storage", "%s: index files inconsistent; rebuilding", seg->path);
        }
        err = recover_segment(log, seg, scan, &cut);
        if (err != RN_OK) return err;
        if (cut && scan && !last) {
            drop_from(log, i + 1); /* nothing after a torn batch can be trusted */
            break;
        }
    }
    return RN_OK;
}

static bool needs_seal(const rn_segment_t *seg) {
    return seg->oidx.file_stale || seg->tidx.file_stale || seg->oidx.flushed < seg->oidx.count ||
           seg->tidx.flushed < seg->tidx.count || seg->synced_bytes < seg->size_bytes;
}

/* An empty last segment must start where the one before it ends; one that
   does not is a stray (see remove_stray). */
static void drop_stray_tail(rn_log_t *log) {
    if (log->seg_count < 2) return;
    rn_segment_t *last = rn_log_active(log);
    if (!rn_segment_empty(last) || last->base_offset == log->segs[log->seg_count - 2]->next_offset)
        return;
    log->seg_count--;
    remove_stray(log, last);
}

static rn_err_t finish_open(rn_log_t *log, const rn_checkpoint_t *cp) {
    drop_stray_tail(log);
    rn_segment_t *active = rn_log_active(log);
    int64_t end = active->next_offset;
    log->start_offset = cp->log_start_offset;
    if (log->start_offset < log->segs[0]->base_offset)
        log->start_offset = log->segs[0]->base_offset;
    if (log->start_offset > end) log->start_offset = end;
    uint32_t below = 0; /* segments wholly below the log start go, as Kafka */
    while (below + 1 < log->seg_count && log->segs[below]->next_offset <= log->start_offset)
        below++;
    rn_err_t err = rn_log_delete_prefix(log, below);
    if (err != RN_OK) return err;
    for (uint32_t i = 0; i + 1 < log->seg_count; i++) {
        if (!needs_seal(log->segs[i])) continue;
        err = rn_segment_seal(log->segs[i]);
        if (err != RN_OK) return err;
    }
    err = rn_segment_unseal(active);
    if (err == RN_OK) err = rn_segment_sync(active);
    if (err == RN_OK && (log->stats.bytes_truncated > 0 || log->dir_sync_pending))
        err = rn_io_dir_sync(log->io, log->dir);
    if (err != RN_OK) return err;
    log->dir_sync_pending = false;
    log->synced_offset = end;
    rn_epoch_cache_truncate_end(&log->epochs, end);
    rn_log_start_moved(log);
    log->recovery_point = active->base_offset;
    /* Clears the clean marker before any append can happen. */
    return rn_log_write_checkpoint(log, false);
}

/* The epochs of a log whose checkpoint kept none (a release before the
   epoch cache, or no checkpoint): from every batch header, once. */
typedef struct epoch_walk {
    rn_epoch_cache_t *epochs;
    rn_err_t err;
} epoch_walk_t;

static int epoch_of_batch(void *ctx, const rn_batch_header_t *hdr) {
    epoch_walk_t *walk = ctx;
    bool changed = false;
    walk->err = rn_epoch_cache_assign(walk->epochs, hdr->partition_leader_epoch, hdr->base_offset,
                                      &changed);
    return walk->err != RN_OK;
}

static rn_err_t rebuild_epochs(rn_log_t *log) {
    log->epochs.n = 0;
    epoch_walk_t walk = {&log->epochs, RN_OK};
    rn_err_t err = rn_log_scan_headers(log, log->segs[0]->base_offset, epoch_of_batch, &walk);
    return err != RN_OK ? err : walk.err;
}

rn_err_t rn_log_recover(rn_log_t *log) {
    RN_ASSERT(log->seg_count == 0);
    rn_checkpoint_t cp = {0, 0, false, false, 0};
    rn_err_t err = rn_checkpoint_read(log->io, log->dir, &cp, &log->epochs);
    if (err == RN_ERR_CORRUPT)
        RN_WARN("storage", "%s: checkpoint unreadable; recovering from the start", log->dir);
    if (err == RN_ERR_NOT_FOUND || err == RN_ERR_CORRUPT) {
        cp = (rn_checkpoint_t){0, 0, false, false, 0};
        err = RN_OK;
    }
    if (err != RN_OK) return err;
    /* What is past the recovery point the scan assigns again. */
    if (!cp.clean_shutdown) rn_epoch_cache_truncate_end(&log->epochs, cp.recovery_point);
    log->stats.clean = cp.clean_shutdown;
    log->clean_offset = cp.clean_offset;           /* prepare clamps it to the log */
    err = rn_clean_recover_dir(log->io, log->dir); /* a clean a crash cut short */
    if (err == RN_OK) err = open_segments(log);
    if (err == RN_OK && log->seg_count == 0) {
        rn_segment_t *seg;
        err = rn_segment_create(log->io, log->dir, cp.log_start_offset, log->cfg.index_bytes_max,
                                &seg);
        if (err == RN_OK) err = rn_log_push_segment(log, seg);
    }
    if (err == RN_OK) err = load_all(log, &cp);
    if (err == RN_OK && !cp.has_epochs) err = rebuild_epochs(log);
    if (err == RN_OK) err = finish_open(log, &cp);
    return err;
}
