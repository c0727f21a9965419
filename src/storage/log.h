/*
 * log.h: the partition log: Kafka's on-disk layout under
 * `<log.dir>/<topic>-<partition>/`, segments `<20-digit base offset>.log`
 * with `.index` and `.timeindex`, and `partition.checkpoint` (checkpoint.h).
 *
 * Ownership and threads. An rn_log_t belongs to the one loop thread that owns
 * its partition; every function here runs on that thread, except
 * rn_log_read_release, which may run on any thread (a fetch may finish its
 * sendfile elsewhere). The log owns its segments; a read range pins its
 * segment (atomic reference count) so retention or truncation can delete the
 * files while a send is in flight: the handle closes with the last pin.
 *
 * Durability. rn_log_append writes (one pwrite) but never fsyncs. The caller
 * groups appends and calls rn_log_sync once per loop turn; only then is
 * rn_log_synced_offset advanced, and only offsets below it may be
 * acknowledged as durable. rn_log_close is the clean shutdown: it syncs and
 * writes the clean marker so the next open skips recovery.
 *
 * Never decompresses, never copies record bytes, never calls the OS except
 * through rn_io_t.
 */
#ifndef RN_STORAGE_LOG_H
#define RN_STORAGE_LOG_H

#include "io/io.h"
#include "proto/batch.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_log rn_log_t;
typedef struct rn_segment rn_segment_t;

enum {
    RN_LOG_TIMESTAMP_CREATE_TIME = 0, /* message.timestamp.type=CreateTime */
    RN_LOG_TIMESTAMP_LOG_APPEND_TIME = 1,
};

typedef struct rn_log_config {
    int64_t segment_bytes;        /* segment.bytes: roll past this size */
    int64_t segment_ms;           /* segment.ms: roll this long after the first batch */
    int64_t retention_ms;         /* retention.ms; -1: forever */
    int64_t retention_bytes;      /* retention.bytes; -1: unbounded */
    int32_t index_interval_bytes; /* index.interval.bytes */
    int64_t index_bytes_max;      /* segment.index.bytes: roll when an index is full */
    int32_t max_message_bytes;    /* max.message.bytes: largest batch */
    int timestamp_type;           /* RN_LOG_TIMESTAMP_* */
    bool keys_required;           /* cleanup.policy has compact: keyless records refused */
} rn_log_config_t;

/* Kafka's defaults. */
void rn_log_config_default(rn_log_config_t *cfg);

/* Flags for rn_log_append_flags. */
enum {
    RN_LOG_APPEND_ALLOW_CONTROL = 1u << 0, /* coordinator writes of control batches */
};

typedef struct rn_log_append_info {
    int64_t first_offset;       /* base offset of the first batch */
    int64_t last_offset;        /* last offset of the last batch */
    int64_t log_append_time_ms; /* the time written, or -1 under CreateTime */
    int64_t log_start_offset;
    uint32_t batch_count;
    int64_t records_count;
    rn_batch_reason_t reason; /* why validation refused, else RN_BATCH_OK */
} rn_log_append_info_t;

/* A file range for a fetch. Owns a pin on its segment until released. */
typedef struct rn_log_read {
    rn_segment_t *seg; /* pinned, or NULL when len == 0 */
    rn_fd_t fd;        /* the segment's .log file, valid while pinned */
    uint64_t position; /* file position of the first whole batch */
    uint64_t len;      /* bytes of whole batches; 0: nothing to send */
} rn_log_read_t;

/* What the last open found, for logs, metrics and tests. */
typedef struct rn_log_open_stats {
    bool clean;                  /* the clean-shutdown marker was present */
    uint64_t bytes_scanned;      /* bytes validated batch by batch */
    uint64_t bytes_truncated;    /* torn or corrupt tail cut off */
    uint32_t segments_recovered; /* segments scanned */
    uint32_t indexes_rebuilt;    /* segments whose index files were rebuilt */
} rn_log_open_stats_t;

/*
 * Opens (creating it if absent) the log in `dir`, recovering after an
 * unclean stop: scan from the recovery point, cut at the first torn or
 * corrupt batch, rebuild indexes. `dir` is copied; io must outlive the log.
 */
rn_err_t rn_log_open(rn_io_t *io, const char *dir, const rn_log_config_t *cfg, rn_log_t **out);
/* Clean shutdown: syncs, seals the active segment, writes the clean marker.
   Frees the log (segments still pinned by reads live until released). */
rn_err_t rn_log_close(rn_log_t *log);
/* Releases the log without syncing or writing the clean marker, as if the
   process had died here (tests, simulated crashes). */
void rn_log_close_unclean(rn_log_t *log);
/* Changes the configuration of an open log (topic config update). */
void rn_log_set_config(rn_log_t *log, const rn_log_config_t *cfg);

/* Validates a records blob as rn_log_append would (batch checks, then the
   whole set against segment.bytes); sum->reason says why it failed. For
   callers that must look at validated headers before appending (producer
   sequence checks). */
rn_err_t rn_log_validate(const rn_log_t *log, const uint8_t *records, size_t len, unsigned flags,
                         rn_batch_summary_t *sum);
/* The same with a decompression source lent for compressed batches (NULL:
   validation makes one for the call). */
rn_err_t rn_log_validate_with(const rn_log_t *log, const uint8_t *records, size_t len,
                              unsigned flags, struct rn_batch_inflate *inf,
                              rn_batch_summary_t *sum);
/* Appends a blob rn_log_validate accepted (sum is its summary): assigns
   offsets in place, writes with one pwrite, indexes. No fsync. */
rn_err_t rn_log_append_valid(rn_log_t *log, uint8_t *records, size_t len,
                             const rn_batch_summary_t *sum, int32_t leader_epoch, int64_t now_ms,
                             rn_log_append_info_t *info);
/* The leader epoch of the newest batch, -1 when none. */
int32_t rn_log_latest_epoch(const rn_log_t *log);
/* A follower's append of batches fetched from the leader, validated
   (rn_log_validate) with sum its summary: written as they are, offsets and
   leader epochs kept, each epoch recorded where it begins. RN_ERR_INVALID
   when a batch starts below the log end or the batches are out of order.
   No fsync. */
rn_err_t rn_log_append_replica(rn_log_t *log, const uint8_t *records, size_t len,
                               const rn_batch_summary_t *sum, int64_t now_ms,
                               rn_log_append_info_t *info);
/*
 * Validates `records` (batch.c), assigns offsets from the log end and the
 * leader epoch in place in the caller's buffer (and LogAppendTime if so
 * configured), rolls if needed, writes with one pwrite, updates indexes.
 * Does NOT fsync. Errors: RN_ERR_CORRUPT / RN_ERR_INVALID / RN_ERR_TOO_LARGE
 * with info->reason, RN_ERR_IO / RN_ERR_NO_SPACE from the disk. The buffer
 * is borrowed for the call only.
 */
rn_err_t rn_log_append(rn_log_t *log, uint8_t *records, size_t len, int32_t leader_epoch,
                       int64_t now_ms, rn_log_append_info_t *info);
rn_err_t rn_log_append_flags(rn_log_t *log, uint8_t *records, size_t len, int32_t leader_epoch,
                             int64_t now_ms, unsigned flags, rn_log_append_info_t *info);

/* Makes everything appended so far durable (fdatasync of dirty files; seals
   rolled segments and advances the recovery point). On an error the synced
   offset has moved past every rolled segment that was sealed; nothing
   after it may be taken as durable, even if a later sync succeeds (the
   failed fsync may have lost written pages): roll back (rn_log_rollback). */
rn_err_t rn_log_sync(rn_log_t *log);
/* The next offset not yet durable. */
int64_t rn_log_synced_offset(const rn_log_t *log);

/*
 * The file range of whole batches from the one holding `offset`: at most
 * max_bytes but at least one batch when any exists below max_offset (e.g.
 * the high watermark). One segment per call. RN_ERR_OUT_OF_RANGE if offset
 * is outside [log start, log end]. On success with out->len > 0 the caller
 * must call rn_log_read_release(out) when done sending.
 */
rn_err_t rn_log_read(rn_log_t *log, int64_t offset, int32_t max_bytes, int64_t max_offset,
                     rn_log_read_t *out);
/* Drops the pin; any thread. Safe on an empty read. */
void rn_log_read_release(rn_log_read_t *out);

int64_t rn_log_start_offset(const rn_log_t *log);
int64_t rn_log_end_offset(const rn_log_t *log);
uint64_t rn_log_size_bytes(const rn_log_t *log);
uint32_t rn_log_segment_count(const rn_log_t *log);
const rn_log_open_stats_t *rn_log_open_stats(const rn_log_t *log);
const char *rn_log_dir(const rn_log_t *log);
/* Where leader epoch `requested` ended in this log, as OffsetForLeaderEpoch
   answers (rn_epoch_cache_end_offset); current is the partition's epoch. */
void rn_log_epoch_end(const rn_log_t *log, int32_t requested, int32_t current, int32_t *epoch,
                      int64_t *end_offset);

/*
 * ListOffsets by timestamp: the first offset whose timestamp >= ts_ms and
 * that timestamp (uncompressed CreateTime batches: the exact record;
 * compressed or LogAppendTime batches: the batch's base offset and max
 * timestamp, as nothing is decompressed). RN_ERR_NOT_FOUND when no record
 * is that recent.
 */
rn_err_t rn_log_offset_for_timestamp(rn_log_t *log, int64_t ts_ms, int64_t *offset,
                                     int64_t *timestamp_ms);
/* ListOffsets -3: the largest timestamp and the offset of the first record
   that has it (of its batch, as rn_log_offset_for_timestamp, for a
   compressed or LogAppendTime one); RN_ERR_NOT_FOUND on an empty log. */
rn_err_t rn_log_max_timestamp(rn_log_t *log, int64_t *offset, int64_t *timestamp_ms);

/* DeleteRecords: moves the log start offset up to `offset` (<= log end;
   the caller checks the high watermark), deletes segments wholly below it
   and makes the new start durable before returning. */
rn_err_t rn_log_delete_records(rn_log_t *log, int64_t offset);
/*
 * Deletes whole segments by retention.ms then retention.bytes, oldest first,
 * only segments whose every offset is below offset_max (pass the high
 * watermark). The active segment goes too when Kafka would (it is old or
 * over the size and wholly below offset_max): a new empty one replaces it.
 * *deleted (may be NULL) gets the number of segments removed.
 */
rn_err_t rn_log_apply_retention(rn_log_t *log, int64_t now_ms, int64_t offset_max,
                                uint32_t *deleted);
/* A follower far behind a leader whose log now starts at offset (past this
   log's end): every segment goes and the log starts over, empty, there
   (Kafka's truncateFullyAndStartAt). */
rn_err_t rn_log_restart_at(rn_log_t *log, int64_t offset);
/* Drops every batch at or after `offset` (replication: diverged follower).
   The log end becomes the start of the batch holding offset. */
rn_err_t rn_log_truncate(rn_log_t *log, int64_t offset);

/*
 * Undoes what was written after `offset`, the durable end (an fsync
 * covered everything before it), after a failed write, roll or sync: later
 * segments are emptied and removed (a freshly rolled one included), the
 * segment holding `offset` is cut there, indexes and the log end follow.
 * Each cut is made durable through the segment's open handle before the
 * call returns, so a crash never brings the dropped bytes back, and no new
 * file is opened (the failure may have been a lack of handles). Removing a
 * segment's name is made durable when a directory sync succeeds, here or at
 * a later rn_log_sync; until then a crash can leave an empty segment file,
 * which recovery deletes. An error means the log on disk may still hold
 * the dropped bytes: the caller must stop using the log (it is recovered
 * at the next open). `offset` is a batch boundary in [log start, log end].
 */
rn_err_t rn_log_rollback(rn_log_t *log, int64_t offset);

/* Calls fn for each batch header from the batch holding `offset` to the log
   end (producer state rebuild). fn returns non-zero to stop. */
typedef int (*rn_log_header_fn)(void *ctx, const rn_batch_header_t *hdr);
rn_err_t rn_log_scan_headers(rn_log_t *log, int64_t offset, rn_log_header_fn fn, void *ctx);
/* The same, also handing fn the first bytes of each control batch (a
   transaction marker's record: at most RN_LOG_SCAN_CONTROL_BYTES; NULL and
   0 for other batches). */
#define RN_LOG_SCAN_CONTROL_BYTES 128
typedef int (*rn_log_batch_fn)(void *ctx, const rn_batch_header_t *hdr, const uint8_t *control,
                               size_t control_len);
rn_err_t rn_log_scan_batches(rn_log_t *log, int64_t offset, rn_log_batch_fn fn, void *ctx);

#endif
