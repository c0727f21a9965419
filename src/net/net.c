/*
 * net.c: a loop's network layer: the listener (its round-robin hand-off,
 * and what it does when descriptors or memory run out), the end-of-turn
 * flush of finished replies, the idle-connection sweep, and the retry of
 * connections waiting for the budget of partly read frames.
 */
#include "net/net.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/conn.h"

#include <stdlib.h>

#define NET_IDLE_SWEEP_MS 1000

/* An accepted socket travelling to the loop that will own it. */
typedef struct net_handoff {
    rn_mail_t mail;
    rn_net_t *net;
    rn_fd_t fd;
    uint8_t listener;
} net_handoff_t;

static void net_adopt(rn_net_t *net, rn_fd_t fd, uint8_t listener) {
    /* A socket accepted on loop 0 may reach a loop that already stopped. */
    rn_err_t err = net->stopped ? RN_ERR_CLOSED : rn_conn_open(net, fd, listener);
    if (err != RN_OK) {
        RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_ACCEPT), net->loop->now_ms,
                       "cannot adopt connection: %s", rn_err_name(err));
        net->loop->io->ops->sock_close(net->loop->io, fd);
        atomic_fetch_sub(&net->shared->connections_open, 1);
    }
}

static void handoff_arrived(rn_mail_t *mail) {
    net_handoff_t *handoff = (net_handoff_t *)mail;
    net_adopt(handoff->net, handoff->fd, handoff->listener);
    free(handoff);
}

/* ---- accepting ----
 *
 * Out of descriptors, accept(2) fails with EMFILE or ENFILE and leaves the
 * connection in the listen queue; the listener's readiness is edge
 * triggered, so nothing would look at the queue again until yet another
 * connection arrived, and its clients would wait without an answer or a
 * close. We hold what we can and close the rest at once, as we close one
 * past max.connections (and Kafka one past max.connections.per.ip): a
 * client told at once reconnects with its backoff (or tries another
 * broker), while one left in the queue waits out its request timeout. Two
 * mechanisms do it:
 *
 * - Headroom: accept hands out the lowest free descriptor, so a new
 *   socket numbered within RN_FD_RESERVED of the open-files limit means
 *   fewer than that are free. It is closed at once, keeping descriptors
 *   for segment rolls, index and checkpoint writes and the metadata log.
 * - A spare descriptor, for when other work used the headroom up and
 *   accept fails: it is closed to accept one pending connection, which is
 *   closed at once, and reopened; repeated until the queue is empty.
 *
 * Any other accept failure (ENOMEM, ENOBUFS, or EMFILE without a spare)
 * is retried from a timer with a doubling delay, so the queue is looked at
 * again without a new connection. Every case logs a warning, rate limited.
 */

static void net_accept_all(rn_net_listener_t *lis);

static void net_accept_warn(rn_net_t *net, const char *what) {
    RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_ACCEPT), net->loop->now_ms,
                   "%s: closing a new connection at once (open-files limit %lld; raise it, "
                   "e.g. ulimit -n or LimitNOFILE)",
                   what, (long long)net->shared->limits.fd_limit);
}

/* Closes a connection we cannot hold. */
static void net_shed(rn_net_t *net, rn_fd_t fd) {
    net->loop->io->ops->sock_close(net->loop->io, fd);
    rn_stats_add(&net->shared->connections_refused_total, 1);
}

static void net_spare_open(rn_net_t *net) {
    if (net->spare_fd != RN_FD_NONE) return;
    if (rn_io_file_open(net->loop->io, "/dev/null", RN_IO_READ, &net->spare_fd) != RN_OK)
        net->spare_fd = RN_FD_NONE;
}

/* Out of descriptors with connections queued: frees the spare to accept
   one and close it. RN_OK when one was shed (more may be queued),
   RN_ERR_AGAIN when the queue is empty, another error otherwise. */
static rn_err_t net_accept_shed(rn_net_listener_t *lis) {
    rn_net_t *net = lis->net;
    rn_io_t *io = net->loop->io;
    if (net->spare_fd == RN_FD_NONE) return RN_ERR_LIMIT;
    rn_io_file_close(io, net->spare_fd);
    net->spare_fd = RN_FD_NONE;
    rn_fd_t fd;
    rn_err_t err = io->ops->tcp_accept(io, lis->fd, &fd);
    if (err == RN_OK) {
        net_shed(net, fd);
        net_accept_warn(net, "out of file descriptors");
    }
    net_spare_open(net);
    return err;
}

static void net_accept_backoff(rn_net_t *net, rn_err_t err) {
    int64_t ms = net->accept_backoff_ms * 2;
    if (ms < RN_ACCEPT_RETRY_MS_MIN) ms = RN_ACCEPT_RETRY_MS_MIN;
    if (ms > RN_ACCEPT_RETRY_MS_MAX) ms = RN_ACCEPT_RETRY_MS_MAX;
    net->accept_backoff_ms = ms;
    RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_ACCEPT), net->loop->now_ms,
                   "accept failed: %s%s; retrying in %lld ms", rn_err_name(err),
                   err == RN_ERR_LIMIT ? " (out of file descriptors)" : "", (long long)ms);
    rn_loop_timer_start(net->loop, &net->accept_timer, ms);
}

/* The retry covers every listener: one backoff for the loop, since what
   failed (descriptors, memory) is the process's, not a socket's. */
static void net_accept_retry(rn_timer_t *timer) {
    rn_net_t *net = (rn_net_t *)((char *)timer - offsetof(rn_net_t, accept_timer));
    if (net->listener_count == 0) return;
    net_spare_open(net);
    for (int n = 0; n < net->listener_count; n++) net_accept_all(&net->listeners[n]);
}

/* Hands an accepted socket to its loop, round robin, unless it is one
   more than max.connections or the open-files limit allow. */
static void net_accept_one(rn_net_listener_t *lis, rn_fd_t fd) {
    rn_net_t *net = lis->net;
    rn_net_shared_t *shared = net->shared;
    rn_io_t *io = net->loop->io;
    int64_t fd_limit = shared->limits.fd_limit;
    if (fd_limit > 0 && fd >= fd_limit - RN_FD_RESERVED) {
        net_shed(net, fd);
        net_accept_warn(net, "file descriptors nearly exhausted");
        return;
    }
    if (atomic_fetch_add(&shared->connections_open, 1) >= shared->limits.connections_max) {
        atomic_fetch_sub(&shared->connections_open, 1);
        net_shed(net, fd);
        RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_REFUSED), net->loop->now_ms,
                       "max.connections (%d) reached; refusing a connection",
                       shared->limits.connections_max);
        return;
    }
    rn_stats_add(&shared->connections_accepted_total, 1);
    unsigned pick = atomic_fetch_add(&shared->accept_next, 1) % (unsigned)shared->net_count;
    rn_net_t *owner = shared->nets[pick];
    if (owner == net) {
        net_adopt(net, fd, lis->index);
        return;
    }
    net_handoff_t *handoff = malloc(sizeof *handoff);
    if (!handoff) {
        RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_NO_MEMORY), net->loop->now_ms,
                       "out of memory handing a connection to loop %u; closing it", pick);
        io->ops->sock_close(io, fd);
        atomic_fetch_sub(&shared->connections_open, 1);
        return;
    }
    handoff->mail.fn = handoff_arrived;
    handoff->net = owner;
    handoff->fd = fd;
    handoff->listener = lis->index;
    rn_loop_post(owner->loop, &handoff->mail);
}

/* Accepts until the queue is empty, a batch is done (the rest waits a
   turn, so a flood of connections cannot hold this loop) or accept fails. */
static void net_accept_all(rn_net_listener_t *lis) {
    rn_net_t *net = lis->net;
    rn_io_t *io = net->loop->io;
    for (int32_t i = 0; i < RN_ACCEPT_BATCH_MAX; i++) {
        rn_fd_t fd;
        rn_err_t err = io->ops->tcp_accept(io, lis->fd, &fd);
        if (err == RN_ERR_LIMIT)
            err = net_accept_shed(lis);
        else if (err == RN_OK)
            net_accept_one(lis, fd);
        if (err == RN_OK) {
            net->accept_backoff_ms = 0;
            continue;
        }
        if (err == RN_ERR_AGAIN) {
            net->accept_backoff_ms = 0;
            rn_loop_timer_stop(net->loop, &net->accept_timer);
            return;
        }
        net_accept_backoff(net, err);
        return;
    }
    rn_loop_timer_start(net->loop, &net->accept_timer, 1);
}

static void net_accept(rn_watch_t *watch, uint32_t events) {
    (void)events;
    rn_net_listener_t *lis =
        (rn_net_listener_t *)((char *)watch - offsetof(rn_net_listener_t, watch));
    rn_net_t *net = lis->net;
    /* A retry already scheduled covers this readiness too. */
    if (net->accept_timer.heap_index >= 0 && net->accept_backoff_ms > 0) return;
    net_accept_all(lis);
}

static void net_idle_sweep(rn_timer_t *timer) {
    rn_net_t *net = (rn_net_t *)((char *)timer - offsetof(rn_net_t, idle_timer));
    int64_t idle_ms = net->shared->limits.idle_ms;
    for (rn_conn_t *conn = net->conns; conn; conn = conn->next) {
        if (!conn->closed && conn->inflight == 0 &&
            net->loop->now_ms - conn->last_active_ms > idle_ms)
            rn_conn_close(conn, "idle longer than connections.max.idle.ms");
    }
    /* Sum up floods that stopped: their windows turn with no new line. */
    for (int cause = 0; cause < RN_NET_LOG__COUNT; cause++)
        rn_log_limit_flush(rn_net_log_limit(net, (rn_net_log_t)cause), net->loop->now_ms);
    rn_loop_timer_start(net->loop, &net->idle_timer, NET_IDLE_SWEEP_MS);
}

/* Retries the connections that stopped for want of budget for a partly
   read frame: budget freed on any loop frees them, so they poll. */
static void net_budget_retry(rn_timer_t *timer) {
    rn_net_t *net = (rn_net_t *)((char *)timer - offsetof(rn_net_t, budget_timer));
    rn_conn_t *conn = net->budget_waiters;
    net->budget_waiters = NULL;
    while (conn) {
        rn_conn_t *next = conn->budget_next;
        conn->budget_next = NULL;
        int waiting = conn->budget_wait;
        conn->budget_wait = 0;
        if (waiting && !conn->closed) rn_conn_read(conn); /* may wait again */
        conn = next;
    }
}

void rn_net_flush(void *arg) {
    rn_net_t *net = arg;
    while (net->dirty) {
        rn_conn_t *conn = net->dirty;
        net->dirty = conn->dirty_next;
        conn->dirty = 0;
        if (!conn->closed) rn_conn_write(conn);
        if (conn->closed && !conn->dirty) rn_conn_reap(conn);
    }
}

void rn_net_shared_init(rn_net_shared_t *shared) {
    static const struct {
        rn_log_level_t level;
        const char *cause;
    } causes[RN_NET_LOG__COUNT] = {
        [RN_NET_LOG_ACCEPT] = {RN_LOG_WARN, "accept failures"},
        [RN_NET_LOG_REFUSED] = {RN_LOG_WARN, "connections refused"},
        [RN_NET_LOG_NO_MEMORY] = {RN_LOG_WARN, "out of memory for a request"},
        [RN_NET_LOG_BAD_FRAME] = {RN_LOG_INFO, "bad frame lengths"},
        [RN_NET_LOG_UNKNOWN_API] = {RN_LOG_INFO, "unknown API keys"},
        [RN_NET_LOG_UNSUPPORTED_VERSION] = {RN_LOG_INFO, "unsupported API versions"},
        [RN_NET_LOG_MALFORMED] = {RN_LOG_INFO, "malformed requests"},
        [RN_NET_LOG_RESPONSE] = {RN_LOG_ERROR, "responses not built"},
        [RN_NET_LOG_CLOSE] = {RN_LOG_INFO, "connections closed"},
    };
    for (int i = 0; i < RN_NET_LOG__COUNT; i++)
        rn_log_limit_init(&shared->log_limits[i], causes[i].level, "net", causes[i].cause,
                          RN_LOG_LIMIT_LINES, RN_LOG_LIMIT_WINDOW_MS);
}

rn_err_t rn_net_init(rn_net_t *net, rn_loop_t *loop, rn_net_shared_t *shared, void *request_ctx) {
    *net = (rn_net_t){0};
    net->request_ctx = request_ctx;
    net->loop = loop;
    net->shared = shared;
    rn_timer_init(&net->idle_timer, net_idle_sweep);
    rn_timer_init(&net->budget_timer, net_budget_retry);
    rn_timer_init(&net->accept_timer, net_accept_retry);
    net->spare_fd = RN_FD_NONE;
    rn_loop_timer_start(loop, &net->idle_timer, NET_IDLE_SWEEP_MS);
    rn_loop_add_hook(loop, rn_net_flush, net);
    return RN_OK;
}

rn_err_t rn_net_listen(rn_net_t *net, const char *host, uint16_t port, uint8_t index,
                       uint16_t *port_bound) {
    RN_ASSERT(net->listener_count < RN_NET_LISTENERS_MAX);
    rn_io_t *io = net->loop->io;
    rn_net_listener_t *lis = &net->listeners[net->listener_count];
    *lis = (rn_net_listener_t){.net = net, .fd = RN_FD_NONE, .index = index};
    lis->watch.on_ready = net_accept;
    rn_err_t err = io->ops->tcp_listen(io, host, port, &lis->fd, port_bound);
    if (err != RN_OK) return err;
    net->listener_count++;
    if (net->spare_fd == RN_FD_NONE) net_spare_open(net);
    return rn_loop_watch(net->loop, lis->fd, RN_IO_EV_READ, &lis->watch);
}

void rn_net_shutdown(rn_net_t *net) {
    rn_io_t *io = net->loop->io;
    net->stopped = 1;
    for (int n = 0; n < net->listener_count; n++) {
        rn_net_listener_t *lis = &net->listeners[n];
        rn_loop_watch(net->loop, lis->fd, 0, &lis->watch);
        io->ops->sock_close(io, lis->fd);
    }
    net->listener_count = 0;
    if (net->spare_fd != RN_FD_NONE) rn_io_file_close(io, net->spare_fd);
    net->spare_fd = RN_FD_NONE;
    rn_loop_timer_stop(net->loop, &net->accept_timer);
    for (rn_conn_t *conn = net->conns; conn; conn = conn->next) rn_conn_close(conn, NULL);
    rn_loop_timer_stop(net->loop, &net->idle_timer);
    rn_loop_timer_stop(net->loop, &net->budget_timer);
    /* Say what was held back before the process goes. */
    for (int cause = 0; cause < RN_NET_LOG__COUNT; cause++)
        rn_log_limit_flush(rn_net_log_limit(net, (rn_net_log_t)cause),
                           net->loop->now_ms + RN_LOG_LIMIT_WINDOW_MS);
    rn_net_flush(net);
}
