/* index_file.c: chunked reads and writes of fixed-size index entries. */
#include "storage/index_file.h"
#include "base/assert.h"

#define INDEX_FILE_CHUNK_BYTES 4096

rn_err_t rn_index_file_read(rn_io_t *io, const char *path, size_t entry_bytes, uint32_t count_max,
                            rn_err_t (*reserve)(void *ctx, uint32_t n), rn_index_file_take_fn take,
                            void *ctx, uint32_t *count) {
    RN_ASSERT(entry_bytes > 0 && entry_bytes <= INDEX_FILE_CHUNK_BYTES);
    *count = 0;
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ, &fd);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    uint64_t size = 0;
    err = rn_io_file_size(io, fd, &size);
    if (err == RN_OK && (size % entry_bytes != 0 || size / entry_bytes > count_max))
        err = RN_ERR_CORRUPT;
    if (err == RN_OK) err = reserve(ctx, (uint32_t)(size / entry_bytes));
    uint8_t buf[INDEX_FILE_CHUNK_BYTES];
    size_t chunk = sizeof buf - sizeof buf % entry_bytes;
    for (uint64_t off = 0; err == RN_OK && off < size; off += chunk) {
        size_t want = size - off < chunk ? (size_t)(size - off) : chunk, got = 0;
        err = rn_io_file_pread(io, fd, buf, want, off, &got);
        if (err == RN_OK && got != want) err = RN_ERR_CORRUPT;
        for (size_t i = 0; err == RN_OK && i < want; i += entry_bytes) {
            if (!take(ctx, buf + i))
                err = RN_ERR_CORRUPT;
            else
                (*count)++;
        }
    }
    rn_io_file_close(io, fd);
    return err;
}

rn_err_t rn_index_file_write(rn_io_t *io, rn_fd_t fd, size_t entry_bytes, uint32_t from,
                             uint32_t to, bool truncate, rn_index_file_put_fn put,
                             const void *ctx) {
    RN_ASSERT(from <= to);
    RN_ASSERT(entry_bytes > 0 && entry_bytes <= INDEX_FILE_CHUNK_BYTES);
    if (truncate) {
        rn_err_t err = rn_io_file_truncate(io, fd, (uint64_t)from * entry_bytes);
        if (err != RN_OK) return err;
    }
    uint8_t buf[INDEX_FILE_CHUNK_BYTES];
    uint32_t per_chunk = (uint32_t)(sizeof buf / entry_bytes);
    while (from < to) {
        uint32_t n = to - from < per_chunk ? to - from : per_chunk;
        for (uint32_t i = 0; i < n; i++) put(ctx, from + i, buf + (size_t)i * entry_bytes);
        rn_err_t err =
            rn_io_file_pwrite(io, fd, buf, (size_t)n * entry_bytes, (uint64_t)from * entry_bytes);
        if (err != RN_OK) return err;
        from += n;
    }
    return RN_OK;
}
