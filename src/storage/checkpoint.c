/*
 * checkpoint.c: reads and writes `partition.checkpoint` (format in
 * checkpoint.h). Writes go through rn_io_write_atomic only; a file that fails
 * its CRC or its syntax is reported as RN_ERR_CORRUPT, never half-trusted.
 */
#include "checkpoint.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAGIC_LINE "runnel-partition-checkpoint 1\n"

rn_err_t rn_checkpoint_write(rn_io_t *io, const char *dir, const rn_checkpoint_t *cp) {
    RN_ASSERT(cp->log_start_offset >= 0);
    RN_ASSERT(cp->recovery_point >= 0);
    char buf[RN_CHECKPOINT_BYTES_MAX];
    int n = snprintf(buf, sizeof buf,
                     MAGIC_LINE "log_start_offset %" PRId64 "\nrecovery_point %" PRId64
                                "\nclean_shutdown %d\n",
                     cp->log_start_offset, cp->recovery_point, cp->clean_shutdown ? 1 : 0);
    RN_ASSERT(n > 0 && (size_t)n < sizeof buf - 16);
    uint32_t crc = rn_crc32c(0, buf, (size_t)n);
    int m = snprintf(buf + n, sizeof buf - (size_t)n, "crc %08x\n", crc);
    RN_ASSERT(m > 0 && (size_t)(n + m) < sizeof buf);
    return rn_io_write_atomic(io, dir, RN_CHECKPOINT_FILE, buf, (size_t)(n + m));
}

rn_err_t rn_checkpoint_read(rn_io_t *io, const char *dir, rn_checkpoint_t *cp) {
    char path[RN_STORAGE_PATH_BYTES_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, RN_CHECKPOINT_FILE);
    RN_ASSERT(n > 0 && (size_t)n < sizeof path);
    char buf[RN_CHECKPOINT_BYTES_MAX + 1];
    size_t len = 0;
    rn_err_t err = rn_io_read_small(io, path, buf, RN_CHECKPOINT_BYTES_MAX, &len);
    if (err == RN_ERR_TOO_LARGE) return RN_ERR_CORRUPT;
    if (err != RN_OK) return err;
    buf[len] = '\0';
    char *crc_line = strstr(buf, "crc ");
    if (!crc_line || strlen(buf) != len) return RN_ERR_CORRUPT;
    uint32_t crc_want = rn_crc32c(0, buf, (size_t)(crc_line - buf));
    unsigned crc_got = 0;
    int clean = 0;
    int k = sscanf(buf,
                   MAGIC_LINE "log_start_offset %" SCNd64 "\nrecovery_point %" SCNd64
                              "\nclean_shutdown %d\ncrc %x",
                   &cp->log_start_offset, &cp->recovery_point, &clean, &crc_got);
    if (k != 4 || crc_got != crc_want) return RN_ERR_CORRUPT;
    if (cp->log_start_offset < 0 || cp->recovery_point < 0) return RN_ERR_CORRUPT;
    cp->clean_shutdown = clean == 1;
    return RN_OK;
}
