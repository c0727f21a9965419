/*
 * log_int.h: the partition log's state, shared by log.c, recovery.c and
 * retention.c only. Nothing outside src/storage includes it.
 */
#ifndef RN_STORAGE_LOG_INT_H
#define RN_STORAGE_LOG_INT_H

#include "base/limits.h"
#include "storage/epoch_cache.h"
#include "storage/log.h"
#include "storage/segment.h"

struct rn_log {
    rn_io_t *io;
    rn_log_config_t cfg;
    rn_segment_t **segs; /* by base offset; the last is the active segment */
    uint32_t seg_count;
    uint32_t seg_cap;
    int64_t start_offset;   /* log start offset */
    int64_t synced_offset;  /* next offset not yet durable */
    int64_t recovery_point; /* as last checkpointed */
    bool checkpoint_dirty;  /* log start moved since the last checkpoint */
    bool dir_sync_pending;  /* a rollback unlinked segments; the directory
                               sync that makes it durable has not succeeded */
    /* The base offset of the oldest segment a roll created since the last
       directory sync (its name may not survive a power loss, so nothing in
       it counts as synced); -1: every name is durable. */
    int64_t names_pending_from;
    int64_t clean_offset; /* the log cleaner's first dirty offset (cleaner.h);
                             kept in the checkpoint */
    rn_log_open_stats_t stats;
    rn_epoch_cache_t epochs; /* reaches the disk with the checkpoint */
    char dir[RN_STORAGE_PATH_BYTES_MAX];
};

static inline rn_segment_t *rn_log_active(const rn_log_t *log) {
    return log->segs[log->seg_count - 1];
}

/* Loads segments, recovers if needed (recovery.c). */
rn_err_t rn_log_recover(rn_log_t *log);
/* Appends a new empty active segment at the log end (log.c). */
rn_err_t rn_log_roll(rn_log_t *log);
/* Deletes the first n segments (rolling first when n is all of them) and
   moves the log start up to the new first segment (log.c). */
rn_err_t rn_log_delete_prefix(rn_log_t *log, uint32_t n);
/* Adds a segment at the end of the list (log.c). */
rn_err_t rn_log_push_segment(rn_log_t *log, rn_segment_t *seg);
/* Writes the checkpoint with the current state and clean flag (log.c). */
rn_err_t rn_log_write_checkpoint(rn_log_t *log, bool clean);
/* The log start moved up to log->start_offset: the epochs follow (log.c). */
void rn_log_start_moved(rn_log_t *log);
/* Frees the log and what it owns, closing nothing more (log.c). */
void rn_log_free(rn_log_t *log);

#endif
