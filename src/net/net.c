/*
 * net.c: a loop's network layer: the listener and its round-robin hand-off,
 * the end-of-turn flush of finished replies, and the idle-connection sweep.
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
} net_handoff_t;

static void net_adopt(rn_net_t *net, rn_fd_t fd) {
    /* A socket accepted on loop 0 may reach a loop that already stopped. */
    rn_err_t err = net->stopped ? RN_ERR_CLOSED : rn_conn_open(net, fd);
    if (err != RN_OK) {
        RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_ACCEPT), net->loop->now_ms,
                       "cannot adopt connection: %s", rn_err_name(err));
        net->loop->io->ops->sock_close(net->loop->io, fd);
        atomic_fetch_sub(&net->shared->connections_open, 1);
    }
}

static void handoff_arrived(rn_mail_t *mail) {
    net_handoff_t *handoff = (net_handoff_t *)mail;
    net_adopt(handoff->net, handoff->fd);
    free(handoff);
}

static void net_accept(rn_watch_t *watch, uint32_t events) {
    (void)events;
    rn_net_t *net = (rn_net_t *)((char *)watch - offsetof(rn_net_t, listen_watch));
    rn_net_shared_t *shared = net->shared;
    rn_io_t *io = net->loop->io;
    for (;;) {
        rn_fd_t fd;
        rn_err_t err = io->ops->tcp_accept(io, net->listen_fd, &fd);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_ACCEPT), net->loop->now_ms,
                           "accept failed: %s", rn_err_name(err));
            return;
        }
        if (atomic_fetch_add(&shared->connections_open, 1) >= shared->limits.connections_max) {
            atomic_fetch_sub(&shared->connections_open, 1);
            rn_stats_add(&shared->connections_refused_total, 1);
            RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_REFUSED), net->loop->now_ms,
                           "max.connections (%d) reached; refusing a connection",
                           shared->limits.connections_max);
            io->ops->sock_close(io, fd);
            continue;
        }
        rn_stats_add(&shared->connections_accepted_total, 1);
        unsigned pick = atomic_fetch_add(&shared->accept_next, 1) % (unsigned)shared->net_count;
        rn_net_t *owner = shared->nets[pick];
        if (owner == net) {
            net_adopt(net, fd);
            continue;
        }
        net_handoff_t *handoff = malloc(sizeof *handoff);
        if (!handoff) {
            RN_LOG_LIMITED(rn_net_log_limit(net, RN_NET_LOG_NO_MEMORY), net->loop->now_ms,
                           "out of memory handing a connection to loop %d; closing it", pick);
            io->ops->sock_close(io, fd);
            atomic_fetch_sub(&shared->connections_open, 1);
            continue;
        }
        handoff->mail.fn = handoff_arrived;
        handoff->net = owner;
        handoff->fd = fd;
        rn_loop_post(owner->loop, &handoff->mail);
    }
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
    net->listen_fd = RN_FD_NONE;
    net->listen_watch.on_ready = net_accept;
    rn_timer_init(&net->idle_timer, net_idle_sweep);
    rn_timer_init(&net->budget_timer, net_budget_retry);
    rn_loop_timer_start(loop, &net->idle_timer, NET_IDLE_SWEEP_MS);
    rn_loop_add_hook(loop, rn_net_flush, net);
    return RN_OK;
}

rn_err_t rn_net_listen(rn_net_t *net, const char *host, uint16_t port, uint16_t *port_bound) {
    rn_io_t *io = net->loop->io;
    rn_err_t err = io->ops->tcp_listen(io, host, port, &net->listen_fd, port_bound);
    if (err != RN_OK) return err;
    return rn_loop_watch(net->loop, net->listen_fd, RN_IO_EV_READ, &net->listen_watch);
}

void rn_net_shutdown(rn_net_t *net) {
    rn_io_t *io = net->loop->io;
    net->stopped = 1;
    if (net->listen_fd != RN_FD_NONE) {
        rn_loop_watch(net->loop, net->listen_fd, 0, &net->listen_watch);
        io->ops->sock_close(io, net->listen_fd);
        net->listen_fd = RN_FD_NONE;
    }
    for (rn_conn_t *conn = net->conns; conn; conn = conn->next) rn_conn_close(conn, NULL);
    rn_loop_timer_stop(net->loop, &net->idle_timer);
    rn_loop_timer_stop(net->loop, &net->budget_timer);
    rn_net_flush(net);
}
