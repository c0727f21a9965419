/*
 * metadata_log.c: appending, syncing and replaying the metadata log.
 *
 * Replay reads frame by frame: header, then body, checks the CRC, then hands
 * each record to the caller. Anything short, oversized or failing its CRC
 * is a torn tail: the file is truncated at that frame and synced.
 */
#include "metadata/metadata_log.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "metadata"
#define FRAME_MAGIC 1

typedef struct frame {
    uint32_t body_len;
    uint32_t crc;
    int32_t epoch;
    uint64_t base_offset;
    uint32_t count;
} frame_t;

static bool parse_header(const uint8_t *h, frame_t *f) {
    f->body_len = rn_be32_get(h);
    f->crc = rn_be32_get(h + 4);
    f->epoch = (int32_t)rn_be32_get(h + 12);
    f->base_offset = rn_be64_get(h + 16);
    f->count = rn_be32_get(h + 24);
    return h[8] == FRAME_MAGIC && h[9] == 0 && h[10] == 0 && h[11] == 0 &&
           f->body_len <= RN_MD_BATCH_BYTES_MAX && f->count <= RN_MD_BATCH_RECORDS_MAX;
}

typedef struct replay {
    rn_md_log_replay_fn fn;
    void *ctx;
    uint64_t base_offset;
} replay_t;

static rn_err_t replay_record(void *ctx, uint32_t index, const rn_md_record_t *rec) {
    replay_t *rp = ctx;
    return rp->fn ? rp->fn(rp->ctx, rp->base_offset + index, rec) : RN_OK;
}

/*
 * Reads the frame at log->size. RN_OK with *whole false means a torn or
 * corrupt frame (or the end): stop and cut there.
 */
static rn_err_t replay_frame(rn_md_log_t *log, uint64_t file_size, replay_t *rp, bool *whole) {
    uint8_t header[RN_MD_LOG_HEADER_BYTES];
    size_t n = 0;
    frame_t f;
    *whole = false;
    if (file_size - log->size < RN_MD_LOG_HEADER_BYTES) return RN_OK;
    rn_err_t err = rn_io_file_pread(log->io, log->fd, header, sizeof(header), log->size, &n);
    if (err != RN_OK) return err;
    if (n < sizeof(header) || !parse_header(header, &f)) return RN_OK;
    if (file_size - log->size - RN_MD_LOG_HEADER_BYTES < f.body_len) return RN_OK;
    uint8_t *body = malloc(f.body_len ? f.body_len : 1);
    if (!body) return RN_ERR_NO_MEMORY;
    err = rn_io_file_pread(log->io, log->fd, body, f.body_len, log->size + sizeof(header), &n);
    if (err != RN_OK || n < f.body_len) goto out;
    uint32_t crc = rn_crc32c(0, header + 8, RN_MD_LOG_HEADER_BYTES - 8);
    crc = rn_crc32c(crc, body, f.body_len);
    if (crc != f.crc) goto out;
    if (f.base_offset != log->next_offset) {
        RN_ERROR(MOD, "%s: batch at byte %llu has offset %llu, expected %llu", log->path,
                 (unsigned long long)log->size, (unsigned long long)f.base_offset,
                 (unsigned long long)log->next_offset);
        err = RN_ERR_CORRUPT;
        goto out;
    }
    rp->base_offset = f.base_offset;
    err = rn_md_batch_each(body, f.body_len, f.count, replay_record, rp);
    if (err == RN_OK) {
        *whole = true;
        log->size += RN_MD_LOG_HEADER_BYTES + f.body_len;
        log->next_offset += f.count;
        log->epoch = f.epoch;
    }
out:
    free(body);
    return err;
}

static rn_err_t replay_all(rn_md_log_t *log, rn_md_log_replay_fn fn, void *ctx) {
    uint64_t file_size = 0;
    rn_err_t err = rn_io_file_size(log->io, log->fd, &file_size);
    replay_t rp = {fn, ctx, 0};
    bool whole = true;
    while (err == RN_OK && whole) err = replay_frame(log, file_size, &rp, &whole);
    if (err != RN_OK) {
        RN_ERROR(MOD, "%s: replay stopped at byte %llu: %s", log->path,
                 (unsigned long long)log->size, rn_err_name(err));
        return err;
    }
    if (log->size == file_size) return RN_OK;
    log->cut_bytes = file_size - log->size;
    RN_WARN(MOD, "%s: cutting a torn or corrupt tail of %llu bytes at byte %llu", log->path,
            (unsigned long long)log->cut_bytes, (unsigned long long)log->size);
    err = rn_io_file_truncate(log->io, log->fd, log->size);
    if (err == RN_OK) err = rn_io_file_sync(log->io, log->fd);
    return err;
}

rn_err_t rn_md_log_open(rn_md_log_t *log, rn_io_t *io, const char *data_dir, rn_md_log_replay_fn fn,
                        void *ctx) {
    RN_ASSERT(io != NULL);
    RN_ASSERT(data_dir != NULL);
    memset(log, 0, sizeof(*log));
    log->io = io;
    log->fd = RN_FD_NONE;
    int n1 = snprintf(log->dir, sizeof(log->dir), "%s/%s", data_dir, RN_MD_LOG_DIR_NAME);
    int n2 = snprintf(log->path, sizeof(log->path), "%s/%s", log->dir, RN_MD_LOG_FILE_NAME);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof(log->path)) return RN_ERR_TOO_LARGE;
    rn_err_t err = rn_io_dir_create(io, data_dir);
    if (err == RN_OK) err = rn_io_dir_create(io, log->dir);
    if (err == RN_OK)
        err = rn_io_file_open(io, log->path, RN_IO_READ | RN_IO_WRITE | RN_IO_CREATE, &log->fd);
    /* Make the folder and file themselves durable (cheap; once per start). */
    if (err == RN_OK) err = rn_io_dir_sync(io, log->dir);
    if (err == RN_OK) err = rn_io_dir_sync(io, data_dir);
    if (err == RN_OK) err = replay_all(log, fn, ctx);
    if (err != RN_OK) rn_md_log_close(log);
    return err;
}

rn_err_t rn_md_log_append(rn_md_log_t *log, const rn_md_batch_t *batch, uint64_t *base_offset) {
    RN_ASSERT(log->fd != RN_FD_NONE);
    RN_ASSERT(batch->count > 0);
    if (log->failed) return RN_ERR_IO;
    uint8_t header[RN_MD_LOG_HEADER_BYTES] = {0};
    rn_be32_put(header, (uint32_t)batch->buf.len);
    header[8] = FRAME_MAGIC;
    rn_be32_put(header + 12, (uint32_t)log->epoch);
    rn_be64_put(header + 16, log->next_offset);
    rn_be32_put(header + 24, batch->count);
    uint32_t crc = rn_crc32c(0, header + 8, RN_MD_LOG_HEADER_BYTES - 8);
    rn_be32_put(header + 4, rn_crc32c(crc, batch->buf.ptr, batch->buf.len));
    struct iovec iov[2] = {{header, sizeof(header)}, {batch->buf.ptr, batch->buf.len}};
    rn_err_t err = rn_io_file_pwritev(log->io, log->fd, iov, 2, log->size);
    if (err == RN_OK) err = rn_io_file_sync(log->io, log->fd);
    if (err != RN_OK) {
        /* The tail may hold part of this batch; the next open cuts it. */
        log->failed = true;
        RN_ERROR(MOD, "%s: append failed: %s", log->path, rn_err_name(err));
        return err;
    }
    if (base_offset) *base_offset = log->next_offset;
    log->size += sizeof(header) + batch->buf.len;
    log->next_offset += batch->count;
    return RN_OK;
}

void rn_md_log_close(rn_md_log_t *log) {
    if (log->fd != RN_FD_NONE) rn_io_file_close(log->io, log->fd);
    log->fd = RN_FD_NONE;
}
