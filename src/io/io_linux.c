/*
 * io_linux.c: the Linux backend of the I/O seam (io.h).
 *
 * Owns nothing but a process-wide ops table: handles are plain file
 * descriptors, the poller is epoll (edge-triggered), wakers are eventfds,
 * socket writes are writev and file sends are sendfile. It must never keep
 * per-call state, so any loop thread may use it concurrently. Name lookups
 * are the one exception, and live apart in resolve_linux.c (its resolver
 * threads and their queue).
 */
#include "io/io.h"
#include "io/resolve_linux.h"
#include "base/assert.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static rn_err_t err_from_errno(int e) {
    switch (e) {
    case 0:
        return RN_OK;
    case EAGAIN:
        return RN_ERR_AGAIN;
    case ENOENT:
        return RN_ERR_NOT_FOUND;
    case EEXIST:
        return RN_ERR_EXISTS;
    case ENOSPC:
    case EDQUOT:
        return RN_ERR_NO_SPACE;
    case ENOMEM:
        return RN_ERR_NO_MEMORY;
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
        return RN_ERR_CLOSED;
    case EMFILE:
    case ENFILE:
        return RN_ERR_LIMIT;
    default:
        return RN_ERR_IO;
    }
}

/* ---- clock and randomness ---- */

static int64_t lx_clock_mono_ns(rn_io_t *io) {
    (void)io;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t lx_clock_wall_ms(rn_io_t *io) {
    (void)io;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t lx_random_u64(rn_io_t *io) {
    (void)io;
    uint64_t v = 0;
    ssize_t n = getrandom(&v, sizeof v, 0);
    RN_ASSERT(n == (ssize_t)sizeof v);
    return v;
}

/* ---- files ---- */

static rn_err_t lx_file_open(rn_io_t *io, const char *path, unsigned flags, rn_fd_t *fd) {
    (void)io;
    int oflags = O_CLOEXEC;
    if ((flags & RN_IO_READ) && (flags & RN_IO_WRITE))
        oflags |= O_RDWR;
    else if (flags & RN_IO_WRITE)
        oflags |= O_WRONLY;
    else
        oflags |= O_RDONLY;
    if (flags & RN_IO_CREATE) oflags |= O_CREAT;
    if (flags & RN_IO_EXCL) oflags |= O_EXCL;
    if (flags & RN_IO_TRUNC) oflags |= O_TRUNC;
    int f = open(path, oflags, 0644);
    if (f < 0) return err_from_errno(errno);
    *fd = f;
    return RN_OK;
}

static void lx_close(rn_io_t *io, rn_fd_t fd) {
    (void)io;
    RN_ASSERT(fd >= 0);
    close(fd);
}

static rn_err_t lx_file_pread(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, uint64_t off,
                              size_t *n_read) {
    (void)io;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return err_from_errno(errno);
        if (n == 0) break;
        done += (size_t)n;
    }
    *n_read = done;
    return RN_OK;
}

static rn_err_t lx_file_pwritev(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                                uint64_t off) {
    (void)io;
    RN_ASSERT(iov_count > 0 && iov_count <= IOV_MAX);
    struct iovec local[64];
    const struct iovec *cur = iov;
    int count = iov_count;
    for (;;) {
        ssize_t n = pwritev(fd, cur, count, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return err_from_errno(errno);
        off += (uint64_t)n;
        size_t left = (size_t)n;
        while (count > 0 && left >= cur->iov_len) {
            left -= cur->iov_len;
            cur++;
            count--;
        }
        if (count == 0) return RN_OK;
        /* Short write: rebuild the remainder in a local copy and go on. */
        int k = count < 64 ? count : 64;
        memcpy(local, cur, (size_t)k * sizeof *local);
        local[0].iov_base = (char *)local[0].iov_base + left;
        local[0].iov_len -= left;
        cur = local;
        count = k;
    }
}

static rn_err_t lx_file_sync(rn_io_t *io, rn_fd_t fd) {
    (void)io;
    return fdatasync(fd) == 0 ? RN_OK : err_from_errno(errno);
}

static rn_err_t lx_file_size(rn_io_t *io, rn_fd_t fd, uint64_t *size) {
    (void)io;
    struct stat st;
    if (fstat(fd, &st) != 0) return err_from_errno(errno);
    *size = (uint64_t)st.st_size;
    return RN_OK;
}

static rn_err_t lx_file_truncate(rn_io_t *io, rn_fd_t fd, uint64_t size) {
    (void)io;
    return ftruncate(fd, (off_t)size) == 0 ? RN_OK : err_from_errno(errno);
}

static rn_err_t lx_path_rename(rn_io_t *io, const char *from, const char *to) {
    (void)io;
    return rename(from, to) == 0 ? RN_OK : err_from_errno(errno);
}

static rn_err_t lx_path_unlink(rn_io_t *io, const char *path) {
    (void)io;
    return unlink(path) == 0 ? RN_OK : err_from_errno(errno);
}

static rn_err_t lx_dir_create(rn_io_t *io, const char *path) {
    (void)io;
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return RN_OK;
    return err_from_errno(errno);
}

static rn_err_t lx_dir_remove(rn_io_t *io, const char *path) {
    (void)io;
    return rmdir(path) == 0 ? RN_OK : err_from_errno(errno);
}

static rn_err_t lx_dir_sync(rn_io_t *io, const char *path) {
    (void)io;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err_from_errno(errno);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    return rc == 0 ? RN_OK : err_from_errno(e);
}

static rn_err_t lx_fs_space(rn_io_t *io, const char *path, uint64_t *total, uint64_t *usable) {
    (void)io;
    struct statvfs st;
    if (statvfs(path, &st) != 0) return err_from_errno(errno);
    *total = (uint64_t)st.f_blocks * st.f_frsize;
    *usable = (uint64_t)st.f_bavail * st.f_frsize;
    return RN_OK;
}

/* statfs(2) magic numbers of network file systems (linux/magic.h), where
   fsync and rename do not promise what a local disk does. */
static const struct {
    unsigned long magic;
    const char *name;
} lx_network_fs[] = {
    {0x6969, "nfs"},      {0xFF534D42, "cifs"}, {0xFE534D42, "smb2"}, {0x517B, "smb"},
    {0x65735546, "fuse"}, {0x00C36400, "ceph"}, {0x47504653, "gpfs"}, {0x5346414F, "afs"},
};

static rn_err_t lx_path_info(rn_io_t *io, const char *path, rn_io_path_info_t *info) {
    (void)io;
    struct stat st;
    struct statfs fs;
    if (stat(path, &st) != 0 || statfs(path, &fs) != 0) return err_from_errno(errno);
    memset(info, 0, sizeof *info);
    info->uid = st.st_uid;
    info->gid = st.st_gid;
    info->mode = st.st_mode & 07777;
    info->proc_uid = geteuid();
    info->proc_gid = getegid();
    info->writable = access(path, W_OK | X_OK) == 0;
    for (size_t n = 0; n < sizeof lx_network_fs / sizeof lx_network_fs[0]; n++) {
        if ((unsigned long)fs.f_type == lx_network_fs[n].magic) {
            info->network_fs = true;
            snprintf(info->fs_name, sizeof info->fs_name, "%s", lx_network_fs[n].name);
        }
    }
    return RN_OK;
}

static rn_err_t lx_dir_list(rn_io_t *io, const char *path, rn_io_dir_fn fn, void *ctx) {
    (void)io;
    DIR *dir = opendir(path);
    if (!dir) return err_from_errno(errno);
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        if (fn(ctx, ent->d_name)) break;
    }
    closedir(dir);
    return RN_OK;
}

/* ---- sockets ---- */

static rn_err_t lx_tcp_listen(rn_io_t *io, const char *host, uint16_t port, rn_fd_t *fd,
                              uint16_t *port_bound) {
    (void)io;
    /* Blocking lookup: fine at start-up only (a listener opens before the
       loops run). */
    rn_io_addrs_t addrs;
    rn_err_t err = rn_resolve_blocking(host && *host ? host : NULL, port, AI_PASSIVE, &addrs);
    if (err != RN_OK) return err;
    const struct sockaddr *addr = (const struct sockaddr *)addrs.addr[0].raw;
    int s = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return err_from_errno(errno);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, addr, (socklen_t)addrs.addr[0].len) != 0 || listen(s, 1024) != 0) {
        int e = errno;
        close(s);
        return e == EADDRINUSE ? RN_ERR_EXISTS : err_from_errno(e);
    }
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(s, (struct sockaddr *)&bound, &bound_len) != 0) {
        int e = errno;
        close(s);
        return err_from_errno(e);
    }
    *port_bound = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    *fd = s;
    return RN_OK;
}

static void socket_tune(int s) {
    int one = 1;
    /* Kafka sets TCP_NODELAY: Nagle plus delayed ACK costs 40 ms per reply. */
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static rn_err_t lx_tcp_accept(rn_io_t *io, rn_fd_t listen_fd, rn_fd_t *fd) {
    (void)io;
    for (;;) {
        int s = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s >= 0) {
            socket_tune(s);
            *fd = s;
            return RN_OK;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return err_from_errno(errno);
    }
}

static rn_err_t lx_sock_peer(rn_io_t *io, rn_fd_t fd, char *host, size_t host_cap, uint16_t *port) {
    (void)io;
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    if (getpeername(fd, (struct sockaddr *)&addr, &len) != 0) return err_from_errno(errno);
    const void *ip = NULL;
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)&addr;
        ip = &in4->sin_addr;
        *port = ntohs(in4->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&addr;
        ip = &in6->sin6_addr;
        *port = ntohs(in6->sin6_port);
    } else {
        return RN_ERR_INVALID;
    }
    if (!inet_ntop(addr.ss_family, ip, host, (socklen_t)host_cap)) return err_from_errno(errno);
    return RN_OK;
}

static rn_err_t lx_tcp_connect(rn_io_t *io, const rn_io_addr_t *addr, rn_fd_t *fd) {
    (void)io;
    const struct sockaddr *sa = (const struct sockaddr *)addr->raw;
    RN_ASSERT(addr->len >= sizeof(sa_family_t) && addr->len <= sizeof addr->raw);
    int s = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return err_from_errno(errno);
    socket_tune(s);
    if (connect(s, sa, (socklen_t)addr->len) != 0 && errno != EINPROGRESS) {
        int e = errno;
        close(s);
        return err_from_errno(e);
    }
    *fd = s;
    return RN_OK;
}

static rn_err_t lx_sock_read(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, size_t *n) {
    (void)io;
    for (;;) {
        ssize_t r = read(fd, buf, len);
        if (r > 0) {
            *n = (size_t)r;
            return RN_OK;
        }
        if (r == 0) return RN_ERR_CLOSED;
        if (errno == EINTR) continue;
        return err_from_errno(errno);
    }
}

static rn_err_t lx_sock_writev(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                               size_t *n) {
    (void)io;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iov_count;
    for (;;) {
        /* sendmsg rather than writev: MSG_NOSIGNAL instead of SIGPIPE. */
        ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (w >= 0) {
            *n = (size_t)w;
            return w > 0 ? RN_OK : RN_ERR_AGAIN;
        }
        if (errno == EINTR) continue;
        return err_from_errno(errno);
    }
}

static rn_err_t lx_sock_sendfile(rn_io_t *io, rn_fd_t fd, rn_fd_t file_fd, uint64_t off, size_t len,
                                 size_t *n) {
    (void)io;
    off_t pos = (off_t)off;
    for (;;) {
        ssize_t w = sendfile(fd, file_fd, &pos, len);
        if (w > 0) {
            *n = (size_t)w;
            return RN_OK;
        }
        if (w == 0) return RN_ERR_IO; /* the file is shorter than promised */
        if (errno == EINTR) continue;
        return err_from_errno(errno);
    }
}

/* ---- name lookups ---- */

static rn_err_t lx_resolve_start(rn_io_t *io, const char *host, uint16_t port, rn_io_addrs_t *addrs,
                                 rn_io_resolve_t **res) {
    (void)io;
    return rn_resolve_start(host, port, addrs, res);
}

static rn_err_t lx_resolve_poll(rn_io_t *io, rn_io_resolve_t *res, rn_io_addrs_t *addrs) {
    (void)io;
    return rn_resolve_poll(res, addrs);
}

static void lx_resolve_release(rn_io_t *io, rn_io_resolve_t *res) {
    (void)io;
    rn_resolve_release(res);
}

/* ---- readiness and wake-ups ---- */

static rn_err_t lx_poller_create(rn_io_t *io, rn_fd_t *poller) {
    (void)io;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return err_from_errno(errno);
    *poller = ep;
    return RN_OK;
}

static rn_err_t lx_poller_set(rn_io_t *io, rn_fd_t poller, rn_fd_t fd, uint32_t events, void *ctx) {
    (void)io;
    if (events == 0) {
        epoll_ctl(poller, EPOLL_CTL_DEL, fd, NULL);
        return RN_OK;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLET | EPOLLRDHUP;
    if (events & RN_IO_EV_READ) ev.events |= EPOLLIN;
    if (events & RN_IO_EV_WRITE) ev.events |= EPOLLOUT;
    ev.data.ptr = ctx;
    if (epoll_ctl(poller, EPOLL_CTL_MOD, fd, &ev) == 0) return RN_OK;
    if (errno != ENOENT) return err_from_errno(errno);
    return epoll_ctl(poller, EPOLL_CTL_ADD, fd, &ev) == 0 ? RN_OK : err_from_errno(errno);
}

static int lx_poller_wait(rn_io_t *io, rn_fd_t poller, rn_io_event_t *events, int events_max,
                          int timeout_ms) {
    (void)io;
    struct epoll_event evs[256];
    if (events_max > 256) events_max = 256;
    int n = epoll_wait(poller, evs, events_max, timeout_ms);
    if (n < 0) return 0; /* EINTR: the caller's loop turns again */
    for (int i = 0; i < n; i++) {
        uint32_t e = 0;
        if (evs[i].events & EPOLLIN) e |= RN_IO_EV_READ;
        if (evs[i].events & EPOLLOUT) e |= RN_IO_EV_WRITE;
        if (evs[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) e |= RN_IO_EV_HUP | RN_IO_EV_READ;
        events[i].ctx = evs[i].data.ptr;
        events[i].events = e;
    }
    return n;
}

static rn_err_t lx_waker_create(rn_io_t *io, rn_fd_t *fd) {
    (void)io;
    int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (e < 0) return err_from_errno(errno);
    *fd = e;
    return RN_OK;
}

static void lx_waker_signal(rn_io_t *io, rn_fd_t fd) {
    (void)io;
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    (void)n; /* a full counter already means "wake up" */
}

static void lx_cpu_yield(rn_io_t *io) {
    (void)io;
    sched_yield();
}

static void lx_waker_drain(rn_io_t *io, rn_fd_t fd) {
    (void)io;
    uint64_t v;
    ssize_t n = read(fd, &v, sizeof v);
    (void)n;
}

static const rn_io_ops_t linux_ops = {
    .clock_mono_ns = lx_clock_mono_ns,
    .clock_wall_ms = lx_clock_wall_ms,
    .random_u64 = lx_random_u64,
    .file_open = lx_file_open,
    .file_close = lx_close,
    .file_pread = lx_file_pread,
    .file_pwritev = lx_file_pwritev,
    .file_sync = lx_file_sync,
    .file_size = lx_file_size,
    .file_truncate = lx_file_truncate,
    .path_rename = lx_path_rename,
    .path_unlink = lx_path_unlink,
    .dir_create = lx_dir_create,
    .dir_remove = lx_dir_remove,
    .dir_sync = lx_dir_sync,
    .fs_space = lx_fs_space,
    .path_info = lx_path_info,
    .dir_list = lx_dir_list,
    .tcp_listen = lx_tcp_listen,
    .tcp_accept = lx_tcp_accept,
    .sock_peer = lx_sock_peer,
    .tcp_connect = lx_tcp_connect,
    .sock_read = lx_sock_read,
    .sock_writev = lx_sock_writev,
    .sock_sendfile = lx_sock_sendfile,
    .sock_close = lx_close,
    .resolve_start = lx_resolve_start,
    .resolve_poll = lx_resolve_poll,
    .resolve_release = lx_resolve_release,
    .poller_create = lx_poller_create,
    .poller_close = lx_close,
    .poller_set = lx_poller_set,
    .poller_wait = lx_poller_wait,
    .waker_create = lx_waker_create,
    .waker_signal = lx_waker_signal,
    .waker_drain = lx_waker_drain,
    .cpu_yield = lx_cpu_yield,
};

rn_io_t *rn_io_linux(void) {
    static rn_io_t io_linux = {&linux_ops, NULL};
    return &io_linux;
}
