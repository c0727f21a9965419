/*
 * io_util.c: small file recipes built only on the ops of io.h, so every
 * backend (Linux and the simulator) gets the same crash behaviour.
 */
#include "io/io.h"
#include "base/assert.h"

#include <stdio.h>

rn_err_t rn_io_write_atomic(rn_io_t *io, const char *dir, const char *name, const void *data,
                            size_t len) {
    char path[4096], tmp[4096];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, name);
    int n2 = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    RN_ASSERT(n1 > 0 && (size_t)n1 < sizeof path);
    RN_ASSERT(n2 > 0 && (size_t)n2 < sizeof tmp);
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, tmp, RN_IO_WRITE | RN_IO_CREATE | RN_IO_TRUNC, &fd);
    if (err != RN_OK) return err;
    if (len) err = rn_io_file_pwrite(io, fd, data, len, 0);
    if (err == RN_OK) err = rn_io_file_sync(io, fd);
    rn_io_file_close(io, fd);
    if (err == RN_OK) err = rn_io_rename(io, tmp, path);
    if (err == RN_OK) err = rn_io_dir_sync(io, dir);
    if (err != RN_OK) rn_io_unlink(io, tmp);
    return err;
}

rn_err_t rn_io_read_small(rn_io_t *io, const char *path, void *buf, size_t cap, size_t *len) {
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ, &fd);
    if (err != RN_OK) return err;
    uint64_t size = 0;
    err = rn_io_file_size(io, fd, &size);
    if (err == RN_OK && size > cap) err = RN_ERR_TOO_LARGE;
    if (err == RN_OK) err = rn_io_file_pread(io, fd, buf, (size_t)size, 0, len);
    rn_io_file_close(io, fd);
    return err;
}
