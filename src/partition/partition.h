/*
 * partition.h: one partition's live state on its owner core: the log, the
 * idempotent-producer state, the high watermark, and the produce requests
 * waiting for the group commit that makes their batches durable.
 *
 * Only the owner core (rn_partition_t.owner) calls the mutating functions.
 * Other cores read the atomics (high watermark, log start, end) without
 * locks, and read file ranges through pinned segments.
 *
 * Storage failures. The high watermark never passes the durable end (what
 * an fsync covered; with durable=false, what was appended). When a write,
 * a roll or an fsync fails, the log is rolled back to that end
 * (rn_log_rollback): everything written after it is dropped, every produce
 * still waiting gets the error, and the producer state forgets the dropped
 * batches, so nothing reported failed is ever served and a retry appends
 * at the right offset. A failed fsync is never retried: the page cache may
 * have dropped the pages it failed to write. If the rollback itself fails
 * the partition goes offline: every produce and fetch gets
 * KAFKA_STORAGE_ERROR until a restart recovers the log from disk.
 * Appends refused for a storage reason return RN_ERR_NO_SPACE (disk full)
 * or RN_ERR_IO (anything else: EIO, EMFILE, ...).
 */
#ifndef RN_PARTITION_PARTITION_H
#define RN_PARTITION_PARTITION_H

#include "base/limits.h"
#include "io/io.h"
#include "base/stats.h"
#include "partition/producer_state.h"
#include "storage/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_partition rn_partition_t;
typedef struct rn_partition_waiter rn_partition_waiter_t;

/* A produce waiting until its last offset is durable. */
struct rn_partition_waiter {
    rn_partition_waiter_t *next;
    int64_t offset_needed; /* durable once synced offset > this */
    void (*done)(rn_partition_waiter_t *waiter, rn_err_t err);
};

struct rn_partition {
    char topic[RN_TOPIC_NAME_BYTES_MAX + 1];
    int32_t index;
    int owner; /* core id */
    rn_io_t *io;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    rn_log_t *log;
    rn_producer_state_t *producers;
    int32_t leader_epoch;
    bool durable;                   /* acks wait for fsync */
    bool dirty;                     /* appended since the last sync (owner only) */
    atomic_bool deleted;            /* set by the admin path, read by the owner */
    atomic_bool offline;            /* a rollback failed: no produce or fetch until
                                       restart (set by the owner, read by any core) */
    rn_err_t sync_err;              /* result of the last rn_partition_flush */
    rn_err_t storage_cause;         /* what the disk said at the last storage
                                       failure (owner only; for log lines) */
    int64_t sync_ns;                /* its fsync time, or -1 when none ran */
    rn_partition_waiter_t *waiters; /* in offset order */
    rn_partition_waiter_t *waiters_tail;
    _Atomic int64_t high_watermark;
    _Atomic int64_t log_start;
    _Atomic int64_t log_end;
    atomic_int refs;
    /* Metrics (base/stats.h): written by the owner core with relaxed
       stores, read by the admin thread. bytes_out_total is the exception:
       the core that sends a Fetch adds to it (a relaxed fetch-add). */
    _Atomic uint64_t bytes_in_total;   /* record batch bytes appended */
    _Atomic uint64_t records_in_total; /* offsets assigned by appends */
    _Atomic uint64_t bytes_out_total;  /* record bytes sent to fetchers */
    _Atomic uint64_t size_bytes;       /* log bytes on disk, every segment */
    _Atomic uint64_t segment_count;
};

typedef struct rn_partition_append_result {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time_ms; /* -1 for CreateTime */
    int64_t log_start_offset;
    bool duplicate;             /* a retried batch: offsets are the original ones */
    rn_batch_reason_t reason;   /* why validation refused the records, else OK */
    rn_batch_keyless_t keyless; /* the refused batch's keyless records (RN_BATCH_NO_KEY) */
} rn_partition_append_result_t;

/* Opens (recovering) or creates the partition's log under dir. */
rn_err_t rn_partition_open(rn_io_t *io, const char *log_dir, const char *topic, int32_t index,
                           const rn_log_config_t *cfg, bool durable, int owner,
                           rn_partition_t **out);
void rn_partition_ref(rn_partition_t *part);
/* The last reference closes the log (cleanly) and frees the struct. */
void rn_partition_unref(rn_partition_t *part);
/* Closes the log cleanly now (producer snapshot, checkpoints, the
   clean-shutdown mark), leaving the struct to its last reference. Only when
   nothing else can touch the partition: at shutdown, with the loops stopped. */
void rn_partition_close(rn_partition_t *part);
/* Marks the partition deleted and renames its directory to retired_dir, so
   that a new topic of the same name starts empty (cluster/purge.h removes
   the files later). The owner stops appending once it sees the mark; the
   log stays open for readers until the last reference goes, and is then
   released without writing anything. Admin path, admin lock held. */
rn_err_t rn_partition_retire(rn_partition_t *part, const char *retired_dir);

/* Validates, checks producer sequences, assigns offsets and writes records
   (owned by the caller, rewritten in place). Owner core only. No fsync.
   A storage failure rolls the log back to its durable end and fails the
   waiters (see above) before returning RN_ERR_IO or RN_ERR_NO_SPACE. */
rn_err_t rn_partition_append(rn_partition_t *part, uint8_t *records, size_t len, int64_t now_ms,
                             rn_partition_append_result_t *res);
/* The same, lending validation a decompression source (the owner core's)
   for compressed batches instead of making one per call. */
rn_err_t rn_partition_append_with(rn_partition_t *part, uint8_t *records, size_t len,
                                  int64_t now_ms, struct rn_batch_inflate *inf,
                                  rn_partition_append_result_t *res);
/* Queues a waiter that completes once offset_needed is durable. */
void rn_partition_wait_durable(rn_partition_t *part, rn_partition_waiter_t *waiter);
/* Syncs the log if dirty and durable, keeping the outcome for
   rn_partition_sync_done. Touches only this partition's log, so the owner
   core may run it for several partitions at once on worker threads while
   it waits for them. */
void rn_partition_flush(rn_partition_t *part);
/* On the owner core after rn_partition_flush: advances the high watermark
   and completes waiters. Returns the fsync time in ns, or -1 if none ran. */
int64_t rn_partition_sync_done(rn_partition_t *part);
/* Both of the above, in order. */
int64_t rn_partition_sync(rn_partition_t *part);
/* Moves the log start up to offset (<= high watermark); owner core. */
rn_err_t rn_partition_delete_records(rn_partition_t *part, int64_t offset);
/* Retention, log-start checkpoints and the size metrics; owner core, on a
   timer. */
void rn_partition_housekeep(rn_partition_t *part, int64_t now_ms);

static inline bool rn_partition_offline(rn_partition_t *part) {
    return atomic_load_explicit(&part->offline, memory_order_acquire);
}
static inline int64_t rn_partition_hw(rn_partition_t *part) {
    return atomic_load_explicit(&part->high_watermark, memory_order_acquire);
}
static inline int64_t rn_partition_start(rn_partition_t *part) {
    return atomic_load_explicit(&part->log_start, memory_order_acquire);
}

#endif
