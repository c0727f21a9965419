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
#include <stdlib.h>
#include <string.h>

#define MAGIC "runnel-partition-checkpoint "
#define VERSION 3
#define VERSION_EPOCHS 2 /* the first version with the epoch lines */

rn_err_t rn_checkpoint_write(rn_io_t *io, const char *dir, const rn_checkpoint_t *cp,
                             const rn_epoch_cache_t *epochs) {
    RN_ASSERT(cp->log_start_offset >= 0);
    RN_ASSERT(cp->recovery_point >= 0);
    RN_ASSERT(cp->clean_offset >= 0);
    RN_ASSERT(epochs->n <= RN_EPOCH_CACHE_ENTRIES_MAX);
    char *buf = malloc(RN_CHECKPOINT_BYTES_MAX);
    if (!buf) return RN_ERR_NO_MEMORY;
    size_t cap = RN_CHECKPOINT_BYTES_MAX, n = 0;
    n += (size_t)snprintf(buf, cap,
                          MAGIC "%d\nlog_start_offset %" PRId64 "\nrecovery_point %" PRId64
                                "\nclean_shutdown %d\nclean_offset %" PRId64 "\nleader_epochs %u\n",
                          VERSION, cp->log_start_offset, cp->recovery_point,
                          cp->clean_shutdown ? 1 : 0, cp->clean_offset, epochs->n);
    for (uint32_t i = 0; i < epochs->n; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%" PRId32 " %" PRId64 "\n", epochs->v[i].epoch,
                              epochs->v[i].start_offset);
    RN_ASSERT(n < cap - 16);
    uint32_t crc = rn_crc32c(0, buf, n);
    n += (size_t)snprintf(buf + n, cap - n, "crc %08x\n", crc);
    RN_ASSERT(n < cap);
    rn_err_t err = rn_io_write_atomic(io, dir, RN_CHECKPOINT_FILE, buf, n);
    free(buf);
    return err;
}

/* The epoch lines of a version 2 file, from p on; the rest must be the crc
   line. */
static rn_err_t read_epochs(const char **p, rn_epoch_cache_t *epochs) {
    unsigned count = 0;
    int used = 0;
    if (sscanf(*p, "leader_epochs %u\n%n", &count, &used) != 1 || used == 0 ||
        count > RN_EPOCH_CACHE_ENTRIES_MAX)
        return RN_ERR_CORRUPT;
    *p += used;
    for (unsigned i = 0; i < count; i++) {
        int32_t epoch = 0;
        int64_t start = 0;
        used = 0;
        if (sscanf(*p, "%" SCNd32 " %" SCNd64 "\n%n", &epoch, &start, &used) != 2 || used == 0)
            return RN_ERR_CORRUPT;
        *p += used;
        bool changed = false;
        const rn_epoch_entry_t *last = epochs->n ? &epochs->v[epochs->n - 1] : NULL;
        if (epoch < 0 || start < 0 ||
            (last && (epoch <= last->epoch || start <= last->start_offset)))
            return RN_ERR_CORRUPT; /* entries only grow */
        rn_err_t err = rn_epoch_cache_assign(epochs, epoch, start, &changed);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}

static rn_err_t parse(const char *buf, size_t len, rn_checkpoint_t *cp, rn_epoch_cache_t *epochs) {
    const char *crc_line = strstr(buf, "crc ");
    if (!crc_line || strlen(buf) != len) return RN_ERR_CORRUPT;
    uint32_t crc_want = rn_crc32c(0, buf, (size_t)(crc_line - buf));
    int version = 0, clean = 0, used = 0;
    if (sscanf(buf,
               MAGIC "%d\nlog_start_offset %" SCNd64 "\nrecovery_point %" SCNd64
                     "\nclean_shutdown %d\n%n",
               &version, &cp->log_start_offset, &cp->recovery_point, &clean, &used) != 4 ||
        used == 0 || version < 1 || version > VERSION)
        return RN_ERR_CORRUPT;
    const char *p = buf + used;
    cp->clean_offset = 0;
    if (version >= 3) {
        used = 0;
        if (sscanf(p, "clean_offset %" SCNd64 "\n%n", &cp->clean_offset, &used) != 1 || used == 0 ||
            cp->clean_offset < 0)
            return RN_ERR_CORRUPT;
        p += used;
    }
    if (version >= VERSION_EPOCHS) {
        rn_err_t err = read_epochs(&p, epochs);
        if (err != RN_OK) return err;
    }
    unsigned crc_got = 0;
    if (p != crc_line || sscanf(p, "crc %x", &crc_got) != 1 || crc_got != crc_want)
        return RN_ERR_CORRUPT;
    if (cp->log_start_offset < 0 || cp->recovery_point < 0) return RN_ERR_CORRUPT;
    cp->clean_shutdown = clean == 1;
    cp->has_epochs = version >= VERSION_EPOCHS;
    return RN_OK;
}

rn_err_t rn_checkpoint_read(rn_io_t *io, const char *dir, rn_checkpoint_t *cp,
                            rn_epoch_cache_t *epochs) {
    char path[RN_STORAGE_PATH_BYTES_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, RN_CHECKPOINT_FILE);
    RN_ASSERT(n > 0 && (size_t)n < sizeof path);
    epochs->n = 0;
    char *buf = malloc(RN_CHECKPOINT_BYTES_MAX + 1);
    if (!buf) return RN_ERR_NO_MEMORY;
    size_t len = 0;
    rn_err_t err = rn_io_read_small(io, path, buf, RN_CHECKPOINT_BYTES_MAX, &len);
    if (err == RN_ERR_TOO_LARGE) err = RN_ERR_CORRUPT;
    if (err == RN_OK) {
        buf[len] = '\0';
        err = parse(buf, len, cp, epochs);
    }
    if (err != RN_OK) epochs->n = 0;
    free(buf);
    return err;
}
