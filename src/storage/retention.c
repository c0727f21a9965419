/*
 * retention.c: deletes whole segments, oldest first: by retention.ms, by
 * retention.bytes, and below the log start offset (DeleteRecords).
 *
 * Owns no state of its own; works on the log's segment list. Never deletes a
 * segment holding an offset at or above the caller's bound (the high
 * watermark), never cuts inside a segment, and deletes the active segment only
 * as Kafka does: when it is non-empty and itself qualifies, after rolling a
 * new empty one in its place.
 */
#include "log_int.h"

#include "base/assert.h"

#include <string.h>

rn_err_t rn_log_delete_prefix(rn_log_t *log, uint32_t n) {
    RN_ASSERT(n <= log->seg_count);
    if (n == 0) return RN_OK;
    if (n == log->seg_count) {
        rn_err_t err = rn_log_roll(log);
        if (err != RN_OK) return err;
    }
    rn_err_t first = RN_OK;
    for (uint32_t i = 0; i < n; i++) {
        rn_err_t err = rn_segment_delete(log->segs[i]);
        if (err != RN_OK && first == RN_OK) first = err;
        rn_segment_unref(log->segs[i]);
    }
    memmove(log->segs, log->segs + n, (size_t)(log->seg_count - n) * sizeof(log->segs[0]));
    log->seg_count -= n;
    if (log->start_offset < log->segs[0]->base_offset) {
        log->start_offset = log->segs[0]->base_offset;
        rn_log_start_moved(log);
        log->checkpoint_dirty = true;
    }
    if (log->recovery_point < log->segs[0]->base_offset)
        log->recovery_point = log->segs[0]->base_offset;
    rn_err_t err = rn_io_dir_sync(log->io, log->dir);
    return first != RN_OK ? first : err;
}

/* How many leading segments may go at all: wholly below offset_max, and the
   active one only if non-empty. */
static uint32_t deletable_max(const rn_log_t *log, int64_t offset_max) {
    uint32_t n = 0;
    while (n < log->seg_count) {
        const rn_segment_t *seg = log->segs[n];
        if (seg->next_offset > offset_max) break;
        if (n == log->seg_count - 1 && rn_segment_empty(seg)) break;
        n++;
    }
    return n;
}

static uint32_t expired_by_time(const rn_log_t *log, int64_t now_ms, uint32_t n_max) {
    if (log->cfg.retention_ms < 0) return 0;
    uint32_t n = 0;
    while (n < n_max && now_ms - log->segs[n]->max_timestamp_ms > log->cfg.retention_ms) n++;
    return n;
}

static uint32_t expired_by_size(const rn_log_t *log, uint32_t n_max) {
    if (log->cfg.retention_bytes < 0) return 0;
    uint64_t total = rn_log_size_bytes(log);
    if (total <= (uint64_t)log->cfg.retention_bytes) return 0;
    int64_t excess = (int64_t)(total - (uint64_t)log->cfg.retention_bytes);
    uint32_t n = 0;
    while (n < n_max && excess - (int64_t)log->segs[n]->size_bytes >= 0) {
        excess -= (int64_t)log->segs[n]->size_bytes;
        n++;
    }
    return n;
}

rn_err_t rn_log_apply_retention(rn_log_t *log, int64_t now_ms, int64_t offset_max,
                                uint32_t *deleted) {
    uint32_t total = 0;
    uint32_t n = expired_by_time(log, now_ms, deletable_max(log, offset_max));
    rn_err_t err = rn_log_delete_prefix(log, n);
    total += n;
    if (err == RN_OK) {
        n = expired_by_size(log, deletable_max(log, offset_max));
        err = rn_log_delete_prefix(log, n);
        total += n;
    }
    if (deleted) *deleted = total;
    return err;
}

rn_err_t rn_log_delete_records(rn_log_t *log, int64_t offset) {
    int64_t end = rn_log_end_offset(log);
    if (offset > end) return RN_ERR_OUT_OF_RANGE;
    if (offset <= log->start_offset) return RN_OK;
    log->start_offset = offset;
    rn_log_start_moved(log);
    uint32_t n = 0;
    while (n < log->seg_count && log->segs[n]->next_offset <= offset &&
           !(n == log->seg_count - 1 && rn_segment_empty(log->segs[n])))
        n++;
    rn_err_t err = rn_log_delete_prefix(log, n);
    if (err != RN_OK) return err;
    RN_ASSERT(log->start_offset == offset);
    return rn_log_write_checkpoint(log, false);
}
