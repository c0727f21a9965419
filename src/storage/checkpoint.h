/*
 * checkpoint.h: the partition's small state file, `partition.checkpoint`,
 * written atomically (rn_io_write_atomic: temp file, fsync, rename, fsync the
 * directory) so a crash leaves the old or the new content, never a mix.
 *
 * Owns nothing beyond the call. Never decides the values (the log does).
 *
 * Format: text lines, then a CRC-32C (hex) of every byte before that line:
 *
 *   runnel-partition-checkpoint 1
 *   log_start_offset <int64>
 *   recovery_point <int64>      every segment below it is durable with its
 *                               indexes; recovery scans from here
 *   clean_shutdown <0|1>        1: the log was closed cleanly, skip scanning
 *   crc <8 hex digits>
 */
#ifndef RN_STORAGE_CHECKPOINT_H
#define RN_STORAGE_CHECKPOINT_H

#include "io/io.h"

#include <stdbool.h>
#include <stdint.h>

#define RN_CHECKPOINT_FILE "partition.checkpoint"

typedef struct rn_checkpoint {
    int64_t log_start_offset;
    int64_t recovery_point;
    bool clean_shutdown;
} rn_checkpoint_t;

/* RN_ERR_NOT_FOUND when absent, RN_ERR_CORRUPT when unreadable. */
rn_err_t rn_checkpoint_read(rn_io_t *io, const char *dir, rn_checkpoint_t *cp);
rn_err_t rn_checkpoint_write(rn_io_t *io, const char *dir, const rn_checkpoint_t *cp);

#endif
