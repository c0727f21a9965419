/*
 * io.h: the one seam between Runnel and the operating system.
 *
 * Every socket, file, fsync, clock, timer wake-up and random number goes
 * through an rn_io_t. Two backends implement it: io_linux.c (epoll, writev,
 * sendfile, fdatasync) and io_sim.c (in-memory network and disk, virtual
 * clock, seeded faults). Code above this layer never calls the OS itself, so a
 * whole cluster can run deterministically in one process.
 *
 * Handles (rn_fd_t) are small non-negative ints owned by the backend. All calls
 * are non-blocking for sockets (RN_ERR_AGAIN means "wait for the poller") and
 * blocking for files. Name lookups never block the caller: a name that is not
 * a numeric address is looked up off the caller's thread (Linux: a small
 * resolver pool, io/resolve_linux.c) and polled for its result. An rn_io_t
 * may be shared by several loop threads on Linux; the simulator runs one
 * thread.
 */
#ifndef RN_IO_IO_H
#define RN_IO_IO_H

#include "base/err.h"
#include "base/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

typedef int rn_fd_t;
#define RN_FD_NONE (-1)

typedef struct rn_io rn_io_t;

/* file_open flags */
enum {
    RN_IO_READ = 1u << 0,
    RN_IO_WRITE = 1u << 1,
    RN_IO_CREATE = 1u << 2, /* create if absent */
    RN_IO_EXCL = 1u << 3,   /* with CREATE: fail with RN_ERR_EXISTS if present */
    RN_IO_TRUNC = 1u << 4,  /* truncate to zero on open */
};

/* poller interest and readiness bits */
enum {
    RN_IO_EV_READ = 1u << 0,
    RN_IO_EV_WRITE = 1u << 1,
    RN_IO_EV_HUP = 1u << 2, /* peer closed or error: read to learn which */
};

typedef struct rn_io_event {
    void *ctx;       /* what was registered with poller_set */
    uint32_t events; /* RN_IO_EV_* bits */
} rn_io_event_t;

/* One socket address, as the backend that made it lays it out (Linux: a
   struct sockaddr, port included); opaque above this layer. */
typedef struct rn_io_addr {
    _Alignas(8) uint8_t raw[128];
    uint32_t len;
} rn_io_addr_t;

/* The addresses one lookup gave, in the resolver's order of preference. */
typedef struct rn_io_addrs {
    uint32_t count; /* 1..RN_IO_RESOLVE_ADDRS_MAX once resolved */
    rn_io_addr_t addr[RN_IO_RESOLVE_ADDRS_MAX];
} rn_io_addrs_t;

/* A lookup in progress, owned by the backend until resolve_release. */
typedef struct rn_io_resolve rn_io_resolve_t;

/* Who owns a path and who asks: what a start-up check needs to say why a
   data folder refuses this process and how to fix it. */
typedef struct rn_io_path_info {
    uint32_t uid, gid;           /* the path's owner */
    uint32_t mode;               /* its permission bits (07777) */
    uint32_t proc_uid, proc_gid; /* this process's effective ids */
    bool writable;               /* this process may create files in it */
    bool network_fs;             /* NFS, CIFS/SMB or another network file system */
    char fs_name[16];            /* that file system's name ("nfs"), else "" */
} rn_io_path_info_t;

/* Called once per directory entry (not "." or ".."); return non-zero to stop. */
typedef int (*rn_io_dir_fn)(void *ctx, const char *name);

typedef struct rn_io_ops {
    /* ---- clock and randomness ---- */
    int64_t (*clock_mono_ns)(rn_io_t *io); /* monotonic, for timeouts */
    int64_t (*clock_wall_ms)(rn_io_t *io); /* Unix epoch ms, for timestamps */
    uint64_t (*random_u64)(rn_io_t *io);

    /* ---- files (blocking) ---- */
    rn_err_t (*file_open)(rn_io_t *io, const char *path, unsigned flags, rn_fd_t *fd);
    void (*file_close)(rn_io_t *io, rn_fd_t fd);
    /* Reads up to len bytes at off; *n_read < len only at end of file. */
    rn_err_t (*file_pread)(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, uint64_t off,
                           size_t *n_read);
    /* Writes all of iov at off, or fails. */
    rn_err_t (*file_pwritev)(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                             uint64_t off);
    /* Makes written data durable (fdatasync). */
    rn_err_t (*file_sync)(rn_io_t *io, rn_fd_t fd);
    rn_err_t (*file_size)(rn_io_t *io, rn_fd_t fd, uint64_t *size);
    rn_err_t (*file_truncate)(rn_io_t *io, rn_fd_t fd, uint64_t size);
    rn_err_t (*path_rename)(rn_io_t *io, const char *from, const char *to);
    rn_err_t (*path_unlink)(rn_io_t *io, const char *path);
    /* Creates one directory level; RN_OK if it already exists. */
    rn_err_t (*dir_create)(rn_io_t *io, const char *path);
    rn_err_t (*dir_remove)(rn_io_t *io, const char *path); /* must be empty */
    /* Makes creates, renames and unlinks inside the directory durable. */
    rn_err_t (*dir_sync)(rn_io_t *io, const char *path);
    rn_err_t (*dir_list)(rn_io_t *io, const char *path, rn_io_dir_fn fn, void *ctx);
    /* The size of the file system holding path and what an unprivileged
       writer may still use of it; RN_ERR_NOT_FOUND where there is none. */
    rn_err_t (*fs_space)(rn_io_t *io, const char *path, uint64_t *total, uint64_t *usable);
    /* The owner, mode and file system of an existing path, and whether this
       process may create files in it; RN_ERR_NOT_FOUND where there is none. */
    rn_err_t (*path_info)(rn_io_t *io, const char *path, rn_io_path_info_t *info);

    /* ---- sockets (non-blocking) ---- */
    /* Binds host:port (port 0 picks one) and listens; *port_bound gets it. */
    rn_err_t (*tcp_listen)(rn_io_t *io, const char *host, uint16_t port, rn_fd_t *fd,
                           uint16_t *port_bound);
    /* RN_ERR_AGAIN when no connection is pending. */
    rn_err_t (*tcp_accept)(rn_io_t *io, rn_fd_t listen_fd, rn_fd_t *fd);
    /* Starts a connect to an address a lookup gave; completion shows as
       RN_IO_EV_WRITE on the poller. */
    rn_err_t (*tcp_connect)(rn_io_t *io, const rn_io_addr_t *addr, rn_fd_t *fd);
    /* *n > 0 bytes read, or RN_ERR_AGAIN, or RN_ERR_CLOSED at end of stream. */
    rn_err_t (*sock_read)(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, size_t *n);
    /* Writes what the socket takes now; *n may be short; RN_ERR_AGAIN if none. */
    rn_err_t (*sock_writev)(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                            size_t *n);
    /* Sends len bytes of file from off without copying through user space. */
    rn_err_t (*sock_sendfile)(rn_io_t *io, rn_fd_t fd, rn_fd_t file_fd, uint64_t off, size_t len,
                              size_t *n);
    void (*sock_close)(rn_io_t *io, rn_fd_t fd);
    /* The peer's address as text (IPv4 dotted, IPv6 without brackets) and
       port, for logs and what DescribeGroups shows as a member's host. */
    rn_err_t (*sock_peer)(rn_io_t *io, rn_fd_t fd, char *host, size_t host_cap, uint16_t *port);

    /* ---- name lookups (non-blocking) ---- */
    /* Starts finding the addresses of host:port. A numeric host (an IPv4 or
       IPv6 literal), or a name the backend knows at once, gives RN_OK with
       *addrs set and *res NULL. Otherwise RN_ERR_AGAIN with *res, a lookup
       running off the caller's thread: poll it, then release it. Other
       errors (nothing started): RN_ERR_NOT_FOUND, RN_ERR_LIMIT (too many
       lookups running in the process), RN_ERR_NO_MEMORY. */
    rn_err_t (*resolve_start)(rn_io_t *io, const char *host, uint16_t port, rn_io_addrs_t *addrs,
                              rn_io_resolve_t **res);
    /* RN_ERR_AGAIN while the lookup runs; then RN_OK with *addrs set, or
       RN_ERR_NOT_FOUND (the name does not resolve, or the lookup failed).
       Never blocks; the lookup stays the caller's until released. */
    rn_err_t (*resolve_poll)(rn_io_t *io, rn_io_resolve_t *res, rn_io_addrs_t *addrs);
    /* Gives a lookup back, finished or not (a running one is abandoned: its
       memory goes once it returns). The caller never touches res again. */
    void (*resolve_release)(rn_io_t *io, rn_io_resolve_t *res);

    /* ---- readiness and wake-ups ---- */
    rn_err_t (*poller_create)(rn_io_t *io, rn_fd_t *poller);
    void (*poller_close)(rn_io_t *io, rn_fd_t poller);
    /* Sets interest in fd (edge-triggered); events == 0 removes it. */
    rn_err_t (*poller_set)(rn_io_t *io, rn_fd_t poller, rn_fd_t fd, uint32_t events, void *ctx);
    /* Waits up to timeout_ms (-1: forever) and returns the number of events. */
    int (*poller_wait)(rn_io_t *io, rn_fd_t poller, rn_io_event_t *events, int events_max,
                       int timeout_ms);
    /* A waker is a pollable handle another thread can signal (eventfd). */
    rn_err_t (*waker_create)(rn_io_t *io, rn_fd_t *fd);
    void (*waker_signal)(rn_io_t *io, rn_fd_t fd);
    void (*waker_drain)(rn_io_t *io, rn_fd_t fd);
    /* Lets other runnable threads have this CPU for a moment (sched_yield). */
    void (*cpu_yield)(rn_io_t *io);
} rn_io_ops_t;

struct rn_io {
    const rn_io_ops_t *ops;
    void *impl; /* backend state */
};

/* The Linux backend; one process-wide instance, safe to share across threads. */
rn_io_t *rn_io_linux(void);

/* Convenience wrappers: code reads rn_io_file_sync(io, fd), not io->ops->... */
static inline int64_t rn_io_now_ns(rn_io_t *io) { return io->ops->clock_mono_ns(io); }
static inline int64_t rn_io_now_ms(rn_io_t *io) { return io->ops->clock_mono_ns(io) / 1000000; }
static inline int64_t rn_io_wall_ms(rn_io_t *io) { return io->ops->clock_wall_ms(io); }
static inline uint64_t rn_io_random(rn_io_t *io) { return io->ops->random_u64(io); }

static inline rn_err_t rn_io_file_open(rn_io_t *io, const char *path, unsigned flags, rn_fd_t *fd) {
    return io->ops->file_open(io, path, flags, fd);
}
static inline void rn_io_file_close(rn_io_t *io, rn_fd_t fd) { io->ops->file_close(io, fd); }
static inline rn_err_t rn_io_file_pread(rn_io_t *io, rn_fd_t fd, void *buf, size_t len,
                                        uint64_t off, size_t *n_read) {
    return io->ops->file_pread(io, fd, buf, len, off, n_read);
}
static inline rn_err_t rn_io_file_pwritev(rn_io_t *io, rn_fd_t fd, const struct iovec *iov,
                                          int iov_count, uint64_t off) {
    return io->ops->file_pwritev(io, fd, iov, iov_count, off);
}
static inline rn_err_t rn_io_file_pwrite(rn_io_t *io, rn_fd_t fd, const void *buf, size_t len,
                                         uint64_t off) {
    struct iovec iov = {(void *)(uintptr_t)buf, len};
    return io->ops->file_pwritev(io, fd, &iov, 1, off);
}
static inline rn_err_t rn_io_file_sync(rn_io_t *io, rn_fd_t fd) {
    return io->ops->file_sync(io, fd);
}
static inline rn_err_t rn_io_file_size(rn_io_t *io, rn_fd_t fd, uint64_t *size) {
    return io->ops->file_size(io, fd, size);
}
static inline rn_err_t rn_io_file_truncate(rn_io_t *io, rn_fd_t fd, uint64_t size) {
    return io->ops->file_truncate(io, fd, size);
}
static inline rn_err_t rn_io_rename(rn_io_t *io, const char *from, const char *to) {
    return io->ops->path_rename(io, from, to);
}
static inline rn_err_t rn_io_unlink(rn_io_t *io, const char *path) {
    return io->ops->path_unlink(io, path);
}
static inline rn_err_t rn_io_dir_create(rn_io_t *io, const char *path) {
    return io->ops->dir_create(io, path);
}
static inline rn_err_t rn_io_dir_remove(rn_io_t *io, const char *path) {
    return io->ops->dir_remove(io, path);
}
static inline rn_err_t rn_io_dir_sync(rn_io_t *io, const char *path) {
    return io->ops->dir_sync(io, path);
}
static inline rn_err_t rn_io_dir_list(rn_io_t *io, const char *path, rn_io_dir_fn fn, void *ctx) {
    return io->ops->dir_list(io, path, fn, ctx);
}
static inline rn_err_t rn_io_fs_space(rn_io_t *io, const char *path, uint64_t *total,
                                      uint64_t *usable) {
    return io->ops->fs_space(io, path, total, usable);
}
static inline rn_err_t rn_io_path_info(rn_io_t *io, const char *path, rn_io_path_info_t *info) {
    return io->ops->path_info(io, path, info);
}

/*
 * Writes `len` bytes to `path` atomically and durably: a temp file beside it,
 * fsync, rename over path, fsync the directory. Readers see the old or the new
 * content, never a mix, whenever a crash happens. Built on the ops above, so
 * it works on every backend.
 */
rn_err_t rn_io_write_atomic(rn_io_t *io, const char *dir, const char *name, const void *data,
                            size_t len);
/* Reads a whole small file into buf (at most cap bytes) and sets *len. */
rn_err_t rn_io_read_small(rn_io_t *io, const char *path, void *buf, size_t cap, size_t *len);

#endif
