/*
 * log_check.h: an offline, read-only check of one partition directory, for
 * tests and operators (`runnel log-check`): every batch of every segment is
 * whole and valid (lengths, CRC-32C, record framing), offsets run on without
 * gaps or overlaps within and across segments (below the checkpoint's clean
 * offset the log cleaner's gaps and shortened batches are allowed), and the
 * offset and time
 * index entries point where they claim. It never writes, truncates or
 * rebuilds anything; a broker must not have the directory open.
 */
#ifndef RN_STORAGE_LOG_CHECK_H
#define RN_STORAGE_LOG_CHECK_H

#include "io/io.h"

#include <stdint.h>

typedef struct rn_log_check {
    uint32_t segments;
    uint64_t batches;
    int64_t first_offset; /* -1 when empty */
    int64_t next_offset;
    uint32_t problems;
    /* Called once per problem found, with a one-line description. */
    void (*report)(void *ctx, const char *dir, const char *what);
    void *ctx;
} rn_log_check_t;

/* Checks dir; returns RN_OK when it could be read (problems are counted in
   chk->problems), or the error that stopped reading. */
rn_err_t rn_log_check_dir(rn_io_t *io, const char *dir, rn_log_check_t *chk);

#endif
