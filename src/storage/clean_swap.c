/*
 * clean_swap.c: the log cleaner's steps on the log itself (cleaner.h):
 * pinning the cleanable segments into a job, swapping cleaned groups in
 * with the rename sequence cleaner.h draws, releasing a job, and finishing
 * or discarding at open a swap that a crash cut short.
 *
 * Prepare and commit run on the log's owner thread and change the segment
 * list there only; recovery runs before the segments are listed. Never
 * reads or writes record bytes (cleaner.c does).
 */
#include "log_int.h"

#include "base/assert.h"
#include "base/log.h"
#include "storage/cleaner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- prepare ---- */

/* A sealed segment left empty by an earlier clean (all its records
   superseded) is cleanable too: it must not hide the segments after it. */
static bool cleanable(const rn_segment_t *seg, int64_t offset_max, int64_t lag_before_ms) {
    if (seg->active) return false;
    return seg->next_offset <= offset_max && seg->max_timestamp_ms <= lag_before_ms;
}

rn_err_t rn_log_clean_prepare(rn_log_t *log, int64_t offset_max, int64_t lag_before_ms,
                              rn_clean_job_t *job) {
    memset(job, 0, sizeof(*job));
    uint32_t n = 0;
    while (n + 1 < log->seg_count && cleanable(log->segs[n], offset_max, lag_before_ms)) n++;
    if (log->clean_offset < log->start_offset) log->clean_offset = log->start_offset;
    if (n == 0 || log->segs[n - 1]->next_offset <= log->clean_offset) return RN_ERR_NOT_FOUND;
    job->segs = calloc(n, sizeof(rn_segment_t *));
    if (!job->segs) return RN_ERR_NO_MEMORY;
    job->io = log->io;
    strcpy(job->dir, log->dir);
    job->index_interval_bytes = log->cfg.index_interval_bytes;
    job->index_bytes_max = log->cfg.index_bytes_max;
    job->first_dirty = log->clean_offset;
    job->log_start = log->start_offset;
    job->dirty_first_ts = -1;
    for (uint32_t i = 0; i < n; i++) {
        rn_segment_t *seg = log->segs[i];
        rn_segment_ref(seg);
        job->segs[job->count++] = seg;
        if (seg->next_offset <= job->first_dirty) {
            job->clean_bytes += seg->size_bytes;
            continue;
        }
        job->dirty_bytes += seg->size_bytes;
        if (job->dirty_first_ts < 0) job->dirty_first_ts = seg->roll_timestamp_ms;
    }
    return RN_OK;
}

double rn_clean_job_dirty_ratio(const rn_clean_job_t *job) {
    uint64_t total = job->clean_bytes + job->dirty_bytes;
    return total ? (double)job->dirty_bytes / (double)total : 0.0;
}

/* ---- file names ---- */

static void seg_file(const rn_segment_t *seg, const char *ext, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s", seg->path, ext);
    RN_ASSERT(n > 0 && (size_t)n < cap);
}

static rn_err_t seg_rename(const rn_segment_t *seg, const char *from_ext, const char *to_ext) {
    char from[RN_STORAGE_PATH_BYTES_MAX], to[RN_STORAGE_PATH_BYTES_MAX];
    seg_file(seg, from_ext, from, sizeof from);
    seg_file(seg, to_ext, to, sizeof to);
    return rn_io_rename(seg->io, from, to);
}

/* Removes the new segment's files under every name a swap can leave. */
static void discard_cleaned(rn_segment_t *seg) {
    static const char *const exts[] = {".log.cleaned", ".index.cleaned", ".timeindex.cleaned",
                                       ".log.swap",    ".index.swap",    ".timeindex.swap"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        char path[RN_STORAGE_PATH_BYTES_MAX];
        seg_file(seg, exts[i], path, sizeof path);
        (void)rn_io_unlink(seg->io, path);
    }
}

/* ---- commit ---- */

/* Where the group's old segments sit in the log now, or -1 if they left. */
static int64_t group_position(const rn_log_t *log, const rn_clean_job_t *job,
                              const rn_clean_group_t *group) {
    rn_segment_t *first = job->segs[group->first];
    for (uint32_t i = 0; i + group->n < log->seg_count; i++) {
        if (log->segs[i] != first) continue;
        for (uint32_t k = 0; k < group->n; k++)
            if (log->segs[i + k] != job->segs[group->first + k] || log->segs[i + k]->deleted)
                return -1;
        return i;
    }
    return -1;
}

/* Steps a to c of cleaner.h for one group at position pos. An error before
   the commit point leaves the log as it was; after it, the log in memory
   is swapped anyway (recovery would finish the swap from the files). */
static rn_err_t swap_group(rn_log_t *log, rn_clean_job_t *job, rn_clean_group_t *group,
                           uint32_t pos) {
    rn_segment_t *seg = group->seg;
    rn_err_t err = seg_rename(seg, ".index.cleaned", ".index.swap");
    if (err == RN_OK) err = seg_rename(seg, ".timeindex.cleaned", ".timeindex.swap");
    if (err == RN_OK) err = seg_rename(seg, ".log.cleaned", ".log.swap"); /* committed */
    if (err != RN_OK) return err;
    rn_err_t late = rn_io_dir_sync(log->io, log->dir);
    for (uint32_t k = 1; k < group->n; k++) {
        rn_err_t e = rn_segment_delete(job->segs[group->first + k]);
        if (late == RN_OK && e != RN_OK) late = e;
    }
    static const char *const exts[] = {".index", ".timeindex", ".log"};
    for (size_t i = 0; i < 3; i++) {
        char swap_ext[24];
        snprintf(swap_ext, sizeof swap_ext, "%s.swap", exts[i]);
        rn_err_t e = seg_rename(seg, swap_ext, exts[i]);
        if (late == RN_OK && e != RN_OK) late = e;
    }
    if (late == RN_OK) late = rn_io_dir_sync(log->io, log->dir);
    rn_segment_forget(job->segs[group->first]);
    for (uint32_t k = 0; k < group->n; k++) rn_segment_unref(log->segs[pos + k]);
    log->segs[pos] = seg;
    memmove(log->segs + pos + 1, log->segs + pos + group->n,
            (size_t)(log->seg_count - pos - group->n) * sizeof(log->segs[0]));
    log->seg_count -= group->n - 1;
    group->seg = NULL; /* the log's reference now */
    if (late != RN_OK)
        RN_ERROR("storage",
                 "%s: cleaned segment swapped in, but finishing the swap failed: %s; "
                 "the next start finishes it",
                 seg->path, rn_err_name(late));
    return RN_OK;
}

rn_err_t rn_log_clean_commit(rn_log_t *log, rn_clean_job_t *job, uint32_t *swapped) {
    *swapped = 0;
    if (job->map_end > log->clean_offset) {
        /* Durable before the swap: a first dirty offset ahead of the files
           (a crash before the swap) only leaves some duplicates to a later
           clean; one behind them would make log-check take the cleaned gaps
           for faults. */
        log->clean_offset = job->map_end;
        rn_err_t err = rn_log_write_checkpoint(log, false);
        if (err != RN_OK) return err;
    }
    for (uint32_t g = 0; g < job->group_count; g++) {
        rn_clean_group_t *group = &job->groups[g];
        if (!group->seg) continue;
        int64_t pos = group_position(log, job, group);
        if (pos < 0) continue; /* retention or truncation took them: dropped at free */
        rn_err_t err = swap_group(log, job, group, (uint32_t)pos);
        if (err != RN_OK) return err;
        (*swapped)++;
    }
    return RN_OK;
}

void rn_clean_job_free(rn_clean_job_t *job) {
    for (uint32_t g = 0; g < job->group_count; g++) {
        rn_segment_t *seg = job->groups[g].seg;
        if (!seg) continue;
        discard_cleaned(seg);
        rn_segment_unref(seg);
    }
    for (uint32_t i = 0; i < job->count; i++) rn_segment_unref(job->segs[i]);
    free(job->groups);
    free(job->segs);
    memset(job, 0, sizeof(*job));
}

/* ---- recovery ---- */

typedef struct swap_scan {
    rn_io_t *io;
    const char *dir;
    int64_t swaps[RN_CLEAN_RECOVER_SWAPS_MAX]; /* bases with a <base>.log.swap */
    uint32_t swap_count;
    int64_t *logs; /* bases with a <base>.log */
    uint32_t log_count;
    uint32_t log_cap;
    bool failed;
    bool changed; /* something was removed: the directory needs a sync */
} swap_scan_t;

/* "<20 digits><ext>" -> base, or -1. */
static int64_t base_of(const char *name, const char *ext) {
    size_t len = strlen(name), ext_len = strlen(ext);
    if (len != 20 + ext_len || strcmp(name + 20, ext) != 0) return -1;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

static bool has_suffix(const char *name, const char *ext) {
    size_t len = strlen(name), ext_len = strlen(ext);
    return len > ext_len && strcmp(name + len - ext_len, ext) == 0;
}

static int scan_one(void *ctx, const char *name) {
    swap_scan_t *sc = ctx;
    int64_t base;
    if (has_suffix(name, ".cleaned")) {
        char path[RN_STORAGE_PATH_BYTES_MAX];
        if (snprintf(path, sizeof path, "%s/%s", sc->dir, name) < (int)sizeof path)
            (void)rn_io_unlink(sc->io, path); /* a clean not committed */
        sc->changed = true;
    } else if ((base = base_of(name, ".log.swap")) >= 0) {
        if (sc->swap_count == RN_CLEAN_RECOVER_SWAPS_MAX) {
            sc->failed = true;
            return 1;
        }
        sc->swaps[sc->swap_count++] = base;
    } else if ((base = base_of(name, ".log")) >= 0) {
        if (sc->log_count == sc->log_cap) {
            uint32_t cap = sc->log_cap ? sc->log_cap * 2 : 64;
            int64_t *logs =
                cap <= RN_LOG_SEGMENTS_MAX ? realloc(sc->logs, cap * sizeof(int64_t)) : NULL;
            if (!logs) {
                sc->failed = true;
                return 1;
            }
            sc->logs = logs;
            sc->log_cap = cap;
        }
        sc->logs[sc->log_count++] = base;
    }
    return 0;
}

static void path_of(const swap_scan_t *sc, int64_t base, const char *ext, char *out, size_t cap) {
    bool ok = rn_segment_file_path(out, cap, sc->dir, base, ext);
    RN_ASSERT(ok);
}

/* The last offset the swap file holds (headers only), or -1 if none. */
static rn_err_t swap_last_offset(const swap_scan_t *sc, int64_t base, int64_t *last) {
    char path[RN_STORAGE_PATH_BYTES_MAX];
    path_of(sc, base, ".log.swap", path, sizeof path);
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(sc->io, path, RN_IO_READ, &fd);
    if (err != RN_OK) return err;
    uint64_t size = 0, pos = 0;
    err = rn_io_file_size(sc->io, fd, &size);
    *last = -1;
    while (err == RN_OK && pos + RN_BATCH_HEADER_BYTES <= size) {
        uint8_t raw[RN_BATCH_HEADER_BYTES];
        size_t got = 0;
        err = rn_io_file_pread(sc->io, fd, raw, sizeof raw, pos, &got);
        if (err != RN_OK || got != sizeof raw) break;
        rn_batch_header_t hdr;
        rn_batch_header_parse(raw, &hdr);
        if (hdr.batch_length < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD) break;
        *last = rn_batch_last_offset(&hdr);
        pos += rn_batch_size(&hdr);
    }
    rn_io_file_close(sc->io, fd);
    return err;
}

/* Finishes the committed swap of base: steps b and c of cleaner.h. */
static rn_err_t finish_swap(const swap_scan_t *sc, int64_t base) {
    int64_t last;
    rn_err_t err = swap_last_offset(sc, base, &last);
    if (err != RN_OK) return err;
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    for (uint32_t i = 0; i < sc->log_count; i++) {
        if (sc->logs[i] <= base || sc->logs[i] > last) continue;
        for (size_t e = 0; e < 3; e++) {
            char path[RN_STORAGE_PATH_BYTES_MAX];
            path_of(sc, sc->logs[i], exts[e], path, sizeof path);
            (void)rn_io_unlink(sc->io, path);
        }
    }
    static const char *const order[] = {".index", ".timeindex", ".log"};
    for (size_t e = 0; e < 3 && err == RN_OK; e++) {
        char from[RN_STORAGE_PATH_BYTES_MAX], to[RN_STORAGE_PATH_BYTES_MAX], ext[24];
        snprintf(ext, sizeof ext, "%s.swap", order[e]);
        path_of(sc, base, ext, from, sizeof from);
        path_of(sc, base, order[e], to, sizeof to);
        err = rn_io_rename(sc->io, from, to);
        if (err == RN_ERR_NOT_FOUND && e < 2) err = RN_OK; /* renamed before the crash */
    }
    RN_WARN("storage", "%s: finished a log cleaner swap at base %lld a stop interrupted", sc->dir,
            (long long)base);
    return err;
}

/* Index swaps with no log swap: the commit point was never reached. */
static int drop_orphan_index_swap(void *ctx, const char *name) {
    swap_scan_t *sc = ctx;
    int64_t base = base_of(name, ".index.swap");
    if (base < 0) base = base_of(name, ".timeindex.swap");
    if (base < 0) return 0;
    char path[RN_STORAGE_PATH_BYTES_MAX];
    path_of(sc, base, ".log.swap", path, sizeof path);
    rn_fd_t fd;
    if (rn_io_file_open(sc->io, path, RN_IO_READ, &fd) == RN_OK) {
        rn_io_file_close(sc->io, fd);
        return 0;
    }
    if (snprintf(path, sizeof path, "%s/%s", sc->dir, name) < (int)sizeof path)
        (void)rn_io_unlink(sc->io, path);
    sc->changed = true;
    return 0;
}

rn_err_t rn_clean_recover_dir(rn_io_t *io, const char *dir) {
    swap_scan_t *sc = calloc(1, sizeof(*sc));
    if (!sc) return RN_ERR_NO_MEMORY;
    sc->io = io;
    sc->dir = dir;
    rn_err_t err = rn_io_dir_list(io, dir, scan_one, sc);
    if (err == RN_OK && sc->failed) err = RN_ERR_LIMIT;
    if (err == RN_OK) err = rn_io_dir_list(io, dir, drop_orphan_index_swap, sc);
    for (uint32_t i = 0; err == RN_OK && i < sc->swap_count; i++)
        err = finish_swap(sc, sc->swaps[i]);
    if (err == RN_OK && (sc->changed || sc->swap_count > 0)) err = rn_io_dir_sync(io, dir);
    free(sc->logs);
    free(sc);
    return err;
}
