/*
 * checkpoint.h: the partition's small state file, `partition.checkpoint`,
 * written atomically (rn_io_write_atomic: temp file, fsync, rename, fsync the
 * directory) so a crash leaves the old or the new content, never a mix.
 *
 * Owns nothing beyond the call. Never decides the values (the log does).
 *
 * Format: text lines, then a CRC-32C (hex) of every byte before that line:
 *
 *   runnel-partition-checkpoint 3
 *   log_start_offset <int64>
 *   recovery_point <int64>      every segment below it is durable with its
 *                               indexes; recovery scans from here
 *   clean_shutdown <0|1>        1: the log was closed cleanly, skip scanning
 *   clean_offset <int64>        the log cleaner's first dirty offset: below
 *                               it the log was cleaned (cleaner.h)
 *   leader_epochs <count>       then one line per entry of the epoch cache:
 *   <epoch> <start offset>      (epoch_cache.h), oldest first
 *   crc <8 hex digits>
 *
 * Version 1 (a release before the epoch cache) has no clean_offset and no
 * epoch lines; it reads with has_epochs false. Version 2 (a release before
 * the log cleaner kept its place) has no clean_offset line; 1 and 2 read
 * with clean_offset 0 (the next clean maps the whole log once).
 */
#ifndef RN_STORAGE_CHECKPOINT_H
#define RN_STORAGE_CHECKPOINT_H

#include "io/io.h"
#include "storage/epoch_cache.h"

#include <stdbool.h>
#include <stdint.h>

#define RN_CHECKPOINT_FILE "partition.checkpoint"

typedef struct rn_checkpoint {
    int64_t log_start_offset;
    int64_t recovery_point;
    bool clean_shutdown;
    bool has_epochs;      /* read: the file kept the epoch cache (version 2 on) */
    int64_t clean_offset; /* the cleaner's first dirty offset; 0 before version 3 */
} rn_checkpoint_t;

/* RN_ERR_NOT_FOUND when absent, RN_ERR_CORRUPT when unreadable. The epoch
   lines fill epochs (emptied first). */
rn_err_t rn_checkpoint_read(rn_io_t *io, const char *dir, rn_checkpoint_t *cp,
                            rn_epoch_cache_t *epochs);
rn_err_t rn_checkpoint_write(rn_io_t *io, const char *dir, const rn_checkpoint_t *cp,
                             const rn_epoch_cache_t *epochs);

#endif
