/*
 * log.c: the partition log: the segment list, append (validate, assign
 * offsets in place, roll, one pwrite), group-commit sync, read ranges for
 * fetch, timestamp lookups, truncation and DeleteRecords.
 *
 * Owns its segments (one reference each) and its checkpoint file. Opening and
 * recovery live in recovery.c, retention in retention.c. Never fsyncs outside
 * rn_log_sync / rn_log_close / checkpoint writes, never copies record bytes,
 * never decompresses except inside batch validation (proto/batch.c).
 */
#include "log_int.h"

#include "base/assert.h"
#include "storage/checkpoint.h"

#include <stdlib.h>
#include <string.h>

void rn_log_config_default(rn_log_config_t *cfg) {
    cfg->segment_bytes = RN_SEGMENT_BYTES_DEFAULT;
    cfg->segment_ms = RN_SEGMENT_MS_DEFAULT;
    cfg->retention_ms = RN_RETENTION_MS_DEFAULT;
    cfg->retention_bytes = -1;
    cfg->index_interval_bytes = RN_INDEX_INTERVAL_BYTES_DEFAULT;
    cfg->index_bytes_max = RN_INDEX_BYTES_MAX_DEFAULT;
    cfg->max_message_bytes = RN_MESSAGE_BYTES_MAX_DEFAULT;
    cfg->timestamp_type = RN_LOG_TIMESTAMP_CREATE_TIME;
    cfg->keys_required = false;
}

static void config_check(const rn_log_config_t *cfg) {
    RN_ASSERT(cfg->segment_bytes >= RN_SEGMENT_BYTES_MIN && cfg->segment_bytes <= INT32_MAX);
    RN_ASSERT(cfg->index_interval_bytes >= 0);
    RN_ASSERT(cfg->index_bytes_max >= RN_TIME_INDEX_ENTRY_BYTES &&
              cfg->index_bytes_max <= RN_INDEX_BYTES_MAX_CEILING);
    RN_ASSERT(cfg->max_message_bytes > 0);
    RN_ASSERT(cfg->timestamp_type == RN_LOG_TIMESTAMP_CREATE_TIME ||
              cfg->timestamp_type == RN_LOG_TIMESTAMP_LOG_APPEND_TIME);
}

rn_err_t rn_log_open(rn_io_t *io, const char *dir, const rn_log_config_t *cfg, rn_log_t **out) {
    RN_ASSERT(io != NULL && dir != NULL);
    config_check(cfg);
    if (strlen(dir) + 32 >= RN_STORAGE_PATH_BYTES_MAX) return RN_ERR_TOO_LARGE;
    rn_log_t *log = calloc(1, sizeof(*log));
    if (!log) return RN_ERR_NO_MEMORY;
    log->io = io;
    log->cfg = *cfg;
    log->names_pending_from = -1;
    strcpy(log->dir, dir);
    rn_err_t err = rn_io_dir_create(io, dir);
    if (err == RN_OK) err = rn_log_recover(log);
    if (err != RN_OK) {
        rn_log_free(log);
        return err;
    }
    RN_ASSERT(log->seg_count >= 1);
    *out = log;
    return RN_OK;
}

void rn_log_set_config(rn_log_t *log, const rn_log_config_t *cfg) {
    config_check(cfg);
    log->cfg = *cfg;
}

rn_err_t rn_log_write_checkpoint(rn_log_t *log, bool clean) {
    rn_checkpoint_t cp = {log->start_offset, log->recovery_point, clean, true, log->clean_offset};
    rn_err_t err = rn_checkpoint_write(log->io, log->dir, &cp, &log->epochs);
    if (err != RN_OK) return err;
    log->checkpoint_dirty = false;
    log->names_pending_from = -1; /* its write synced the directory */
    return RN_OK;
}

void rn_log_start_moved(rn_log_t *log) {
    rn_epoch_cache_truncate_start(&log->epochs, log->start_offset);
}

void rn_log_free(rn_log_t *log) {
    for (uint32_t i = 0; i < log->seg_count; i++) rn_segment_unref(log->segs[i]);
    free(log->segs);
    rn_epoch_cache_free(&log->epochs);
    free(log);
}

rn_err_t rn_log_close(rn_log_t *log) {
    rn_err_t err = rn_log_sync(log);
    if (err == RN_OK) err = rn_segment_seal(rn_log_active(log));
    if (err == RN_OK) {
        log->recovery_point = rn_log_active(log)->base_offset;
        err = rn_log_write_checkpoint(log, true);
    }
    rn_log_free(log);
    return err;
}

void rn_log_close_unclean(rn_log_t *log) { rn_log_free(log); }

rn_err_t rn_log_push_segment(rn_log_t *log, rn_segment_t *seg) {
    if (log->seg_count == log->seg_cap) {
        if (log->seg_cap >= RN_LOG_SEGMENTS_MAX) return RN_ERR_LIMIT;
        uint32_t cap = log->seg_cap ? log->seg_cap * 2 : 8;
        if (cap > RN_LOG_SEGMENTS_MAX) cap = RN_LOG_SEGMENTS_MAX;
        rn_segment_t **segs = realloc(log->segs, (size_t)cap * sizeof(*segs));
        if (!segs) return RN_ERR_NO_MEMORY;
        log->segs = segs;
        log->seg_cap = cap;
    }
    RN_ASSERT(log->seg_count == 0 ||
              log->segs[log->seg_count - 1]->next_offset <= seg->base_offset);
    log->segs[log->seg_count++] = seg;
    return RN_OK;
}

rn_err_t rn_log_roll(rn_log_t *log) {
    rn_segment_t *active = rn_log_active(log);
    RN_ASSERT(!rn_segment_empty(active));
    rn_segment_t *seg;
    rn_err_t err =
        rn_segment_create(log->io, log->dir, active->next_offset, log->cfg.index_bytes_max, &seg);
    if (err != RN_OK) return err;
    err = rn_log_push_segment(log, seg);
    if (err != RN_OK) {
        (void)rn_segment_delete(seg);
        rn_segment_unref(seg);
        return err;
    }
    if (log->names_pending_from < 0) log->names_pending_from = seg->base_offset;
    return RN_OK;
}

/* Kafka's roll rules: size, age of the first batch, full index, offsets that
   no longer fit an int32 relative offset. Never rolls an empty segment. */
static bool should_roll(const rn_log_t *log, size_t len, int64_t records, int64_t now_ms) {
    const rn_segment_t *seg = rn_log_active(log);
    if (rn_segment_empty(seg)) return false;
    if (seg->size_bytes + len > (uint64_t)log->cfg.segment_bytes) return true;
    /* Kafka ages a segment from its first batch's timestamp; a producer
       stamping records far in the past would then roll on every append, so
       the age counts from the later of that and the first append. */
    int64_t born_ms =
        seg->roll_timestamp_ms > seg->created_ms ? seg->roll_timestamp_ms : seg->created_ms;
    if (log->cfg.segment_ms > 0 && now_ms - born_ms > log->cfg.segment_ms) return true;
    if (rn_offset_index_full(&seg->oidx) || rn_time_index_full(&seg->tidx)) return true;
    return seg->next_offset + records - 1 - seg->base_offset > INT32_MAX;
}

/* Rewrites base offsets, leader epoch and LogAppendTime in place. */
static void assign_offsets(rn_log_t *log, uint8_t *records, size_t len, int32_t leader_epoch,
                           int64_t now_ms, rn_log_append_info_t *info) {
    int64_t next = rn_log_active(log)->next_offset;
    bool log_append_time = log->cfg.timestamp_type == RN_LOG_TIMESTAMP_LOG_APPEND_TIME;
    info->first_offset = next;
    for (size_t off = 0; off < len;) {
        uint8_t *p = records + off;
        rn_batch_header_t hdr;
        rn_batch_header_parse(p, &hdr);
        rn_batch_set_base_offset(p, next);
        rn_batch_set_leader_epoch(p, leader_epoch);
        if (log_append_time) rn_batch_set_log_append_time(p, now_ms);
        next += (int64_t)hdr.last_offset_delta + 1;
        off += rn_batch_size(&hdr);
    }
    info->last_offset = next - 1;
    info->log_append_time_ms = log_append_time ? now_ms : -1;
}

rn_err_t rn_log_validate(const rn_log_t *log, const uint8_t *records, size_t len, unsigned flags,
                         rn_batch_summary_t *sum) {
    return rn_log_validate_with(log, records, len, flags, NULL, sum);
}

rn_err_t rn_log_validate_with(const rn_log_t *log, const uint8_t *records, size_t len,
                              unsigned flags, struct rn_batch_inflate *inf,
                              rn_batch_summary_t *sum) {
    rn_batch_limits_t lim = {log->cfg.max_message_bytes, 0};
    if (flags & RN_LOG_APPEND_ALLOW_CONTROL) lim.flags |= RN_BATCH_ALLOW_CONTROL;
    if (log->cfg.keys_required) lim.flags |= RN_BATCH_REQUIRE_KEYS;
    rn_err_t err = rn_batch_validate_with(records, len, &lim, inf, sum);
    if (err == RN_OK && len > (uint64_t)log->cfg.segment_bytes) {
        sum->reason = RN_BATCH_LIST_TOO_LARGE;
        err = RN_ERR_TOO_LARGE;
    }
    return err;
}

rn_err_t rn_log_append_valid(rn_log_t *log, uint8_t *records, size_t len,
                             const rn_batch_summary_t *sum, int32_t leader_epoch, int64_t now_ms,
                             rn_log_append_info_t *info) {
    RN_ASSERT(info != NULL);
    RN_ASSERT(sum->reason == RN_BATCH_OK && sum->bytes_valid == len);
    memset(info, 0, sizeof(*info));
    info->first_offset = info->last_offset = info->log_append_time_ms = -1;
    info->log_start_offset = log->start_offset;
    rn_err_t err = RN_OK;
    if (should_roll(log, len, sum->records_count, now_ms)) {
        err = rn_log_roll(log);
        if (err != RN_OK) return err;
    }
    /* Before the write: a write that fails is rolled back, epochs too. A
       new epoch needs no checkpoint of its own: what is past the recovery
       point, recovery assigns again from the batches. */
    bool new_epoch = false;
    err = rn_epoch_cache_assign(&log->epochs, leader_epoch, rn_log_end_offset(log), &new_epoch);
    if (err != RN_OK) return err;
    assign_offsets(log, records, len, leader_epoch, now_ms, info);
    rn_segment_t *seg = rn_log_active(log);
    bool first = rn_segment_empty(seg);
    err = rn_segment_append(seg, records, len, log->cfg.index_interval_bytes);
    if (err != RN_OK) return err;
    if (first) seg->created_ms = now_ms;
    RN_ASSERT(seg->next_offset == info->last_offset + 1);
    info->batch_count = sum->batch_count;
    info->records_count = sum->records_count;
    return RN_OK;
}

/* The leader's offsets and epochs kept: each batch must start at or past
   the log end (a compacted leader log has gaps), in order. */
static rn_err_t replica_batches_check(rn_log_t *log, const uint8_t *records, size_t len) {
    int64_t next = rn_log_end_offset(log);
    for (size_t off = 0; off < len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(records + off, &hdr);
        if (hdr.base_offset < next || hdr.partition_leader_epoch < 0) return RN_ERR_INVALID;
        next = rn_batch_last_offset(&hdr) + 1;
        off += rn_batch_size(&hdr);
    }
    return RN_OK;
}

/* Records each batch's leader epoch where it begins, as the leader's log
   has them. */
static rn_err_t replica_epochs(rn_log_t *log, const uint8_t *records, size_t len) {
    for (size_t off = 0; off < len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(records + off, &hdr);
        bool changed = false;
        rn_err_t err = rn_epoch_cache_assign(&log->epochs, hdr.partition_leader_epoch,
                                             hdr.base_offset, &changed);
        if (err != RN_OK) return err;
        off += rn_batch_size(&hdr);
    }
    return RN_OK;
}

int32_t rn_log_latest_epoch(const rn_log_t *log) { return rn_epoch_cache_latest(&log->epochs); }

rn_err_t rn_log_append_replica(rn_log_t *log, const uint8_t *records, size_t len,
                               const rn_batch_summary_t *sum, int64_t now_ms,
                               rn_log_append_info_t *info) {
    RN_ASSERT(sum->reason == RN_BATCH_OK && sum->bytes_valid == len);
    memset(info, 0, sizeof(*info));
    info->first_offset = info->last_offset = info->log_append_time_ms = -1;
    info->log_start_offset = log->start_offset;
    rn_err_t err = replica_batches_check(log, records, len);
    if (err != RN_OK) return err;
    if (should_roll(log, len, sum->records_count, now_ms)) {
        err = rn_log_roll(log);
        if (err != RN_OK) return err;
    }
    err = replica_epochs(log, records, len);
    if (err != RN_OK) return err;
    rn_segment_t *seg = rn_log_active(log);
    bool first = rn_segment_empty(seg);
    err = rn_segment_append(seg, records, len, log->cfg.index_interval_bytes);
    if (err != RN_OK) return err;
    if (first) seg->created_ms = now_ms;
    rn_batch_header_t hdr;
    rn_batch_header_parse(records, &hdr);
    info->first_offset = hdr.base_offset;
    info->last_offset = seg->next_offset - 1;
    info->batch_count = sum->batch_count;
    info->records_count = sum->records_count;
    return RN_OK;
}

rn_err_t rn_log_append_flags(rn_log_t *log, uint8_t *records, size_t len, int32_t leader_epoch,
                             int64_t now_ms, unsigned flags, rn_log_append_info_t *info) {
    RN_ASSERT(info != NULL);
    rn_batch_summary_t sum;
    rn_err_t err = rn_log_validate(log, records, len, flags, &sum);
    if (err != RN_OK) {
        memset(info, 0, sizeof(*info));
        info->first_offset = info->last_offset = info->log_append_time_ms = -1;
        info->log_start_offset = log->start_offset;
        info->reason = sum.reason;
        return err;
    }
    return rn_log_append_valid(log, records, len, &sum, leader_epoch, now_ms, info);
}

rn_err_t rn_log_append(rn_log_t *log, uint8_t *records, size_t len, int32_t leader_epoch,
                       int64_t now_ms, rn_log_append_info_t *info) {
    return rn_log_append_flags(log, records, len, leader_epoch, now_ms, 0, info);
}

/* The log is durable below offset, as far as its segments' names are. */
static void synced_to(rn_log_t *log, int64_t offset) {
    if (log->names_pending_from >= 0 && offset > log->names_pending_from)
        offset = log->names_pending_from;
    if (offset > log->synced_offset) log->synced_offset = offset;
}

/* Seals, oldest first, the rolled segments not sealed yet (they sit just
   before the active one). Each sealed segment is durable whole, so the
   synced offset advances past it at once (as far as the names are
   durable): a later failure in the same sync keeps what did reach the
   disk. */
static rn_err_t seal_rolled(rn_log_t *log, bool *sealed) {
    uint32_t first = log->seg_count - 1;
    while (first > 0 && log->segs[first - 1]->active) first--;
    for (uint32_t i = first; i + 1 < log->seg_count; i++) {
        rn_segment_t *seg = log->segs[i];
        rn_err_t err = rn_segment_seal(seg);
        if (err != RN_OK) return err;
        synced_to(log, seg->next_offset);
        /* The next segment's name is durable only once the checkpoint's
           directory sync ran; owed even if this sync fails later on. */
        log->checkpoint_dirty = true;
        *sealed = true;
    }
    return RN_OK;
}

rn_err_t rn_log_sync(rn_log_t *log) {
    bool sealed = false;
    rn_err_t err = seal_rolled(log, &sealed);
    if (err != RN_OK) return err;
    rn_segment_t *active = rn_log_active(log);
    int64_t end = active->next_offset;
    err = rn_segment_sync(active);
    if (err != RN_OK) return err;
    synced_to(log, end);
    if (log->dir_sync_pending && rn_io_dir_sync(log->io, log->dir) == RN_OK)
        log->dir_sync_pending = false;
    if (sealed || log->checkpoint_dirty) {
        log->recovery_point = active->base_offset;
        err = rn_log_write_checkpoint(log, false);
        synced_to(log, end); /* the names it made durable */
    }
    return err;
}

int64_t rn_log_synced_offset(const rn_log_t *log) { return log->synced_offset; }
int64_t rn_log_start_offset(const rn_log_t *log) { return log->start_offset; }
int64_t rn_log_end_offset(const rn_log_t *log) { return rn_log_active(log)->next_offset; }
uint32_t rn_log_segment_count(const rn_log_t *log) { return log->seg_count; }
const rn_log_open_stats_t *rn_log_open_stats(const rn_log_t *log) { return &log->stats; }
const char *rn_log_dir(const rn_log_t *log) { return log->dir; }

void rn_log_epoch_end(const rn_log_t *log, int32_t requested, int32_t current, int32_t *epoch,
                      int64_t *end_offset) {
    rn_epoch_cache_end_offset(&log->epochs, requested, current, rn_log_end_offset(log), epoch,
                              end_offset);
}

uint64_t rn_log_size_bytes(const rn_log_t *log) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < log->seg_count; i++) total += log->segs[i]->size_bytes;
    return total;
}

/* Index of the last segment with base_offset <= offset (0 if none). */
static uint32_t segment_for(const rn_log_t *log, int64_t offset) {
    uint32_t lo = 0, hi = log->seg_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (log->segs[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

/* Whether no batch of seg holds offset or a later one: a compacted
   segment ends in a gap (cleaner.h), served by the next segment. */
static bool gap_to_end(rn_segment_t *seg, int64_t offset) {
    uint64_t pos;
    rn_batch_header_t hdr;
    return rn_segment_find(seg, offset, &pos, &hdr) == RN_ERR_NOT_FOUND;
}

rn_err_t rn_log_read(rn_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset,
                     rn_log_read_t *out) {
    RN_ASSERT(out != NULL);
    RN_ASSERT(max_bytes >= 0);
    memset(out, 0, sizeof(*out));
    out->fd = RN_FD_NONE;
    int64_t end = rn_log_end_offset(log);
    if (offset < log->start_offset || offset > end) return RN_ERR_OUT_OF_RANGE;
    if (max_offset > end) max_offset = end;
    for (uint32_t i = segment_for(log, offset); i < log->seg_count; i++) {
        rn_segment_t *seg = log->segs[i];
        if (seg->base_offset >= max_offset) break;
        uint64_t pos, len;
        rn_err_t err = rn_segment_read(seg, offset, max_bytes, max_offset, &pos, &len);
        if (err != RN_OK) return err;
        if (len == 0 && offset < seg->next_offset && !gap_to_end(seg, offset))
            break;              /* stopped by max_offset */
        if (len == 0) continue; /* past this segment's end */
        rn_segment_ref(seg);
        out->seg = seg;
        out->fd = seg->fd;
        out->position = pos;
        out->len = len;
        break;
    }
    return RN_OK;
}

void rn_log_read_release(rn_log_read_t *out) {
    if (out->seg) rn_segment_unref(out->seg);
    out->seg = NULL;
    out->fd = RN_FD_NONE;
    out->len = 0;
}

/* ---- timestamps ---- */

/* The first batch at or after `pos` whose max timestamp >= ts_ms. */
static rn_err_t find_batch_by_time(rn_segment_t *seg, int64_t ts_ms, uint64_t *pos,
                                   rn_batch_header_t *hdr) {
    int64_t from = rn_time_index_lookup(&seg->tidx, ts_ms);
    uint64_t p = rn_offset_index_lookup(&seg->oidx, from);
    rn_segment_cursor_t cur;
    rn_segment_cursor_init(&cur, seg);
    for (;;) {
        rn_err_t err = rn_segment_cursor_header(&cur, p, hdr);
        if (err != RN_OK) return err;
        if (hdr->max_timestamp >= ts_ms) {
            *pos = p;
            return RN_OK;
        }
        p += rn_batch_size(hdr);
    }
}

/* Exact record lookup inside an uncompressed CreateTime batch. */
static rn_err_t record_by_time(rn_segment_t *seg, uint64_t pos, const rn_batch_header_t *hdr,
                               int64_t ts_ms, int64_t *offset) {
    size_t size = rn_batch_size(hdr);
    uint8_t *buf = malloc(size);
    if (!buf) return RN_ERR_NO_MEMORY;
    size_t got = 0;
    rn_err_t err = rn_io_file_pread(seg->io, seg->fd, buf, size, pos, &got);
    if (err == RN_OK && got != size) err = RN_ERR_CORRUPT;
    if (err == RN_OK) {
        int64_t found = rn_batch_offset_for_timestamp(buf, hdr, ts_ms);
        *offset = found >= 0 ? found : hdr->base_offset;
    }
    free(buf);
    return err;
}

rn_err_t rn_log_offset_for_timestamp(rn_log_t *log, int64_t ts_ms, int64_t *offset,
                                     int64_t *timestamp_ms) {
    for (uint32_t i = 0; i < log->seg_count; i++) {
        rn_segment_t *seg = log->segs[i];
        if (seg->max_timestamp_ms < ts_ms || rn_segment_empty(seg)) continue;
        if (seg->next_offset <= log->start_offset) continue;
        uint64_t pos;
        rn_batch_header_t hdr;
        rn_err_t err = find_batch_by_time(seg, ts_ms, &pos, &hdr);
        if (err == RN_ERR_NOT_FOUND) continue;
        if (err != RN_OK) return err;
        *offset = hdr.base_offset;
        *timestamp_ms = hdr.max_timestamp;
        bool exact = rn_batch_compression(&hdr) == RN_BATCH_COMPRESSION_NONE &&
                     !(hdr.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME);
        if (exact) {
            err = record_by_time(seg, pos, &hdr, ts_ms, offset);
            if (err != RN_OK) return err;
        }
        if (*offset < log->start_offset) *offset = log->start_offset;
        return RN_OK;
    }
    return RN_ERR_NOT_FOUND;
}

rn_err_t rn_log_max_timestamp(rn_log_t *log, int64_t *offset, int64_t *timestamp_ms) {
    int64_t max_ts = -1;
    bool any = false;
    for (uint32_t i = 0; i < log->seg_count; i++) {
        const rn_segment_t *seg = log->segs[i];
        if (rn_segment_empty(seg) || seg->next_offset <= log->start_offset) continue;
        if (!any || seg->max_timestamp_ms > max_ts) max_ts = seg->max_timestamp_ms;
        any = true;
    }
    if (!any) return RN_ERR_NOT_FOUND;
    /* The first record at least that recent is the first that has it. */
    return rn_log_offset_for_timestamp(log, max_ts, offset, timestamp_ms);
}

/* ---- truncation and scans ---- */

static void drop_tail(rn_log_t *log, uint32_t keep) {
    while (log->seg_count > keep) {
        rn_segment_t *seg = log->segs[--log->seg_count];
        (void)rn_segment_delete(seg);
        rn_segment_unref(seg);
    }
}

/* Cuts the log at offset, or (fully) starts it over empty at offset. */
static rn_err_t truncate_to(rn_log_t *log, int64_t offset, bool fully) {
    if (log->clean_offset > offset) log->clean_offset = offset; /* what follows is new */
    rn_err_t err;
    if (fully) {
        /* Nothing left: start over empty at offset, as Kafka's
           truncateFullyAndStartAt. The new name differs from every old one. */
        rn_segment_t *seg;
        err = rn_segment_create(log->io, log->dir, offset, log->cfg.index_bytes_max, &seg);
        if (err != RN_OK) return err;
        drop_tail(log, 0);
        err = rn_log_push_segment(log, seg);
        RN_ASSERT(err == RN_OK); /* the list has room: it was just emptied */
        log->start_offset = seg->base_offset;
    } else {
        uint32_t i = segment_for(log, offset);
        if (log->segs[i]->base_offset == offset && i > 0) i--;
        if (log->seg_count > i + 1) log->dir_sync_pending = true;
        drop_tail(log, i + 1);
        /* The later segments are gone durably before this one is cut: a
           crash between the two must never leave a cut segment followed by
           a later one, a hole the recovery would take for a whole log. */
        err = log->dir_sync_pending ? rn_io_dir_sync(log->io, log->dir) : RN_OK;
        if (err != RN_OK) return err;
        log->dir_sync_pending = false;
        err = rn_segment_truncate(rn_log_active(log), offset);
        if (err == RN_OK) err = rn_segment_unseal(rn_log_active(log));
        if (err != RN_OK) return err;
    }
    int64_t end = rn_log_end_offset(log);
    if (log->synced_offset > end) log->synced_offset = end;
    if (log->start_offset > end) log->start_offset = end;
    rn_epoch_cache_truncate_end(&log->epochs, end);
    rn_log_start_moved(log);
    log->recovery_point = rn_log_active(log)->base_offset;
    if (fully && log->names_pending_from < 0) log->names_pending_from = end;
    err = rn_io_dir_sync(log->io, log->dir);
    if (err == RN_OK) log->names_pending_from = -1;
    if (err == RN_OK && fully) log->synced_offset = end; /* empty, and named durably */
    if (err == RN_OK) err = rn_log_write_checkpoint(log, false);
    return err;
}

rn_err_t rn_log_truncate(rn_log_t *log, int64_t offset) {
    RN_ASSERT(offset >= 0);
    if (offset >= rn_log_end_offset(log)) return RN_OK;
    return truncate_to(log, offset, offset < log->segs[0]->base_offset);
}

rn_err_t rn_log_restart_at(rn_log_t *log, int64_t offset) {
    RN_ASSERT(offset >= rn_log_end_offset(log));
    return truncate_to(log, offset, true);
}

/* ---- rollback after a failed write or sync ---- */

/* Empties a segment leaving the log, durably through its own handle, then
   unlinks its files. Should the unlinks not reach the disk before a crash,
   what is left is an empty segment file, which recovery removes; never the
   dropped bytes. Needs no new file handle (the failure may be EMFILE). */
static rn_err_t discard_segment(rn_segment_t *seg) {
    rn_err_t err = rn_segment_truncate_bytes(seg, 0);
    if (err == RN_OK) err = rn_io_file_sync(seg->io, seg->fd);
    if (err == RN_OK) err = rn_segment_delete(seg);
    return err;
}

/* Cuts the segment that keeps the rollback point and makes the cut
   durable. The cut to its own size also drops bytes that a failed write
   left past the last whole batch. */
static rn_err_t cut_segment(rn_segment_t *seg, int64_t offset) {
    rn_err_t err = offset < seg->next_offset ? rn_segment_truncate(seg, offset) : RN_OK;
    if (err == RN_OK) err = rn_segment_truncate_bytes(seg, seg->size_bytes);
    if (err == RN_OK) err = rn_io_file_sync(seg->io, seg->fd);
    if (err != RN_OK) return err;
    seg->synced_bytes = seg->size_bytes;
    return rn_segment_unseal(seg); /* opens files only if it was sealed */
}

rn_err_t rn_log_rollback(rn_log_t *log, int64_t offset) {
    RN_ASSERT(offset >= log->start_offset);
    RN_ASSERT(offset <= rn_log_end_offset(log));
    if (log->clean_offset > offset) log->clean_offset = offset;
    uint32_t keep = segment_for(log, offset) + 1;
    bool dropped = keep < log->seg_count;
    while (log->seg_count > keep) {
        rn_segment_t *seg = rn_log_active(log);
        rn_err_t err = discard_segment(seg);
        if (err != RN_OK) return err;
        log->seg_count--;
        rn_segment_unref(seg);
    }
    rn_segment_t *active = rn_log_active(log);
    rn_err_t err = cut_segment(active, offset);
    if (err != RN_OK) return err;
    RN_ASSERT(rn_log_end_offset(log) == offset);
    rn_epoch_cache_truncate_end(&log->epochs, offset);
    if (log->synced_offset > offset) log->synced_offset = offset;
    if (log->recovery_point > active->base_offset) {
        log->recovery_point = active->base_offset;
        log->checkpoint_dirty = true;
    }
    if (dropped && rn_io_dir_sync(log->io, log->dir) != RN_OK) log->dir_sync_pending = true;
    return RN_OK;
}

/* Walks the batches from the one holding offset to the log end, handing
   each header (and, when control, the first bytes of a control batch) to
   fn until it returns nonzero. */
static rn_err_t log_scan(rn_log_t *log, int64_t offset, bool control, rn_log_batch_fn fn,
                         void *ctx) {
    for (uint32_t i = segment_for(log, offset); i < log->seg_count; i++) {
        rn_segment_t *seg = log->segs[i];
        uint64_t pos;
        rn_batch_header_t hdr;
        rn_err_t err = rn_segment_find(seg, offset, &pos, &hdr);
        if (err == RN_ERR_NOT_FOUND) continue;
        if (err != RN_OK) return err;
        rn_segment_cursor_t cur;
        rn_segment_cursor_init(&cur, seg);
        for (;;) {
            uint8_t head[RN_LOG_SCAN_CONTROL_BYTES];
            size_t got = 0;
            if (control && rn_batch_is_control(&hdr)) {
                size_t want = rn_batch_size(&hdr) < sizeof head ? rn_batch_size(&hdr) : sizeof head;
                err = rn_io_file_pread(seg->io, seg->fd, head, want, pos, &got);
                if (err != RN_OK) return err;
            }
            if (fn(ctx, &hdr, got ? head : NULL, got)) return RN_OK;
            pos += rn_batch_size(&hdr);
            err = rn_segment_cursor_header(&cur, pos, &hdr);
            if (err == RN_ERR_NOT_FOUND) break;
            if (err != RN_OK) return err;
        }
    }
    return RN_OK;
}

typedef struct header_scan {
    rn_log_header_fn fn;
    void *ctx;
} header_scan_t;

static int header_only(void *ctx, const rn_batch_header_t *hdr, const uint8_t *control,
                       size_t len) {
    (void)control;
    (void)len;
    header_scan_t *scan = ctx;
    return scan->fn(scan->ctx, hdr);
}

rn_err_t rn_log_scan_headers(rn_log_t *log, int64_t offset, rn_log_header_fn fn, void *ctx) {
    header_scan_t scan = {fn, ctx};
    return log_scan(log, offset, false, header_only, &scan);
}

rn_err_t rn_log_scan_batches(rn_log_t *log, int64_t offset, rn_log_batch_fn fn, void *ctx) {
    return log_scan(log, offset, true, fn, ctx);
}
