/*
 * cleaner.h: log compaction (cleanup.policy=compact), Kafka's log cleaner.
 *
 * A clean keeps, in the cleanable part of a log, the latest record of every
 * key. The cleanable part is the sealed segments below the high watermark
 * whose newest record is older than min.compaction.lag.ms; the active
 * segment is never cleaned. It runs in three steps, so the slow one runs off
 * the event loops:
 *
 *   1. rn_log_clean_prepare, on the log's owner thread: pins the cleanable
 *      segments into a job (segments are reference counted).
 *   2. rn_clean_run, on the cleaner's thread: maps each key of the dirty
 *      part (past the last clean) to its latest offset, within a bounded
 *      map, then rewrites the segments from the log start into groups of at
 *      most segment.bytes, each a new segment "<base>.log.cleaned" with its
 *      indexes "<base>.index.cleaned" and "<base>.timeindex.cleaned", all
 *      fsynced. The live log is not touched.
 *   3. rn_log_clean_commit, on the owner thread again: if the group's old
 *      segments are still the log's, swaps each group in (below), else
 *      drops it. rn_clean_job_free releases whatever is left.
 *
 * The swap, crash-safe at every step (recovery.c finishes or discards it):
 *   a. rename <base>.index.cleaned and .timeindex.cleaned to *.swap, then
 *      <base>.log.cleaned to <base>.log.swap: the commit point. Dir fsync.
 *   b. unlink the group's other segments (bases after <base>);
 *   c. rename the index swaps, then <base>.log.swap, over the old first
 *      segment's files; dir fsync.
 * Recovery: a *.cleaned file, or an index *.swap with no <base>.log.swap, is
 * an unfinished clean: deleted. A <base>.log.swap is a committed one: every
 * other segment whose base lies within the swap's offsets is deleted, the
 * index swaps and then the log swap are renamed into place. Readers holding
 * a pinned old segment keep reading its open file.
 *
 * What is kept: per record, the latest offset of its key (records past what
 * the map covers are all kept); records without a key go. A tombstone (null
 * value) is kept until delete.retention.ms after the clean that first kept
 * it: that clean stamps the batch's delete horizon (attribute bit 6, the
 * horizon as base timestamp, KIP-534), a later clean past the horizon drops
 * it. Offsets are preserved (gaps); a rewritten batch keeps its base offset,
 * last offset delta and producer id, epoch and base sequence, and a batch
 * left with no record stays as an empty batch when it is the last of its
 * producer in the cleaned part (idempotent state survives, as Kafka).
 * Control batches are copied as they are. Compressed batches are decoded
 * and, when some of their records go, written again with the same codec.
 * A batch that fails its CRC or does not parse stops the clean with
 * RN_ERR_CORRUPT: the log stays as it was.
 */
#ifndef RN_STORAGE_CLEANER_H
#define RN_STORAGE_CLEANER_H

#include "storage/log.h"
#include "storage/segment.h"

#include <stdbool.h>
#include <stdint.h>

/* Called with bytes read or written; sleeps to keep the I/O budget.
   Returns false when the clean should stop now (shutdown). */
typedef bool (*rn_clean_throttle_fn)(void *ctx, uint64_t bytes);

typedef struct rn_clean_params {
    int64_t now_ms;              /* wall clock, for delete horizons */
    int64_t delete_retention_ms; /* delete.retention.ms */
    int64_t segment_bytes;       /* segment.bytes: a group's size bound */
    uint64_t map_bytes;          /* log.cleaner.dedupe.buffer.size */
    rn_clean_throttle_fn throttle;
    void *throttle_ctx;
} rn_clean_params_t;

/* One new segment and the old ones it replaces (job->segs[first, first+n)). */
typedef struct rn_clean_group {
    uint32_t first;
    uint32_t n;
    rn_segment_t *seg; /* the cleaned segment, or NULL when not written */
} rn_clean_group_t;

typedef struct rn_clean_job {
    rn_io_t *io;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    int32_t index_interval_bytes;
    int64_t index_bytes_max;
    rn_segment_t **segs; /* pinned, in order, from the log start */
    uint32_t count;
    int64_t first_dirty;      /* the last clean reached here */
    int64_t log_start;        /* records below it are not served anyway */
    uint64_t clean_bytes;     /* bytes of segments below first_dirty */
    uint64_t dirty_bytes;     /* bytes of the rest */
    int64_t dirty_first_ts;   /* first timestamp of the first dirty segment */
    rn_clean_group_t *groups; /* filled by rn_clean_run */
    uint32_t group_count;
    int64_t map_end;     /* offsets below it were mapped: the next first dirty */
    uint64_t bytes_read; /* of the old segments rewritten (the key map's pass not counted) */
    uint64_t bytes_written;
    int64_t records_removed;
} rn_clean_job_t;

/* Pins the cleanable segments of `log` into job (owner thread). Segments
   must end at or below offset_max (the high watermark) and hold nothing
   newer than lag_before_ms (now - min.compaction.lag.ms).
   RN_ERR_NOT_FOUND when nothing is dirty and cleanable. */
rn_err_t rn_log_clean_prepare(rn_log_t *log, int64_t offset_max, int64_t lag_before_ms,
                              rn_clean_job_t *job);
/* Dirty bytes over the cleanable bytes, 0..1. */
double rn_clean_job_dirty_ratio(const rn_clean_job_t *job);
/* Cleans (any thread; touches only the job's pinned segments and new files). */
rn_err_t rn_clean_run(rn_clean_job_t *job, const rn_clean_params_t *params);
/* Swaps the cleaned groups into the log (owner thread); a group whose
   segments left the log meanwhile is dropped. *swapped gets the number of
   groups swapped in. */
rn_err_t rn_log_clean_commit(rn_log_t *log, rn_clean_job_t *job, uint32_t *swapped);
/* Drops the pins and any cleaned files not swapped in (any thread). */
void rn_clean_job_free(rn_clean_job_t *job);

/* Recovery (recovery.c): finishes or discards a swap left by a crash in
   the directory `dir` before its segments are listed. */
rn_err_t rn_clean_recover_dir(rn_io_t *io, const char *dir);

#endif
