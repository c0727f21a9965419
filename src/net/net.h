/*
 * net.h: the network layer of one loop: its connections, the listener (on
 * loop 0 only, handing accepted sockets round-robin to every loop), frame
 * assembly, in-order replies, backpressure and idle timeouts.
 *
 * The layer knows frames, not APIs: each complete frame becomes an rn_req_t
 * passed to on_request (the dispatcher, given at start-up). It must never
 * decode a request body or block.
 */
#ifndef RN_NET_NET_H
#define RN_NET_NET_H

#include "io/loop.h"
#include "base/log_limit.h"
#include "base/stats.h"
#include "net/request.h"

#include <stdatomic.h>

typedef struct rn_net rn_net_t;
typedef struct rn_net_shared rn_net_shared_t;
typedef void (*rn_net_request_fn)(void *ctx, rn_req_t *req);

typedef struct rn_net_limits {
    int32_t request_bytes_max; /* socket.request.max.bytes */
    int32_t connections_max;   /* max.connections, whole broker */
    int64_t idle_ms;           /* connections.max.idle.ms */
    /* queued.max.request.bytes: buffer bytes of partly read frames over
       every connection; <= 0 is unbounded. See conn.c for how it holds. */
    int64_t partial_bytes_max;
    /* The process's open-files limit (0: unknown): the listener closes a
       new connection that would leave fewer than RN_FD_RESERVED free. */
    int64_t fd_limit;
} rn_net_limits_t;

/* Causes of the log lines a client can provoke, one per connection or
   request. Each is rate limited on its own (base/log_limit.h), so a flood
   of one kind neither fills the log nor hides the lines of another. */
typedef enum rn_net_log {
    RN_NET_LOG_ACCEPT = 0,          /* accept or adoption of a socket failed */
    RN_NET_LOG_REFUSED,             /* closed at accept: past max.connections */
    RN_NET_LOG_NO_MEMORY,           /* an allocation on the request path failed */
    RN_NET_LOG_BAD_FRAME,           /* frame length out of bounds */
    RN_NET_LOG_UNKNOWN_API,         /* API key not in the table */
    RN_NET_LOG_UNSUPPORTED_VERSION, /* version outside the API's range */
    RN_NET_LOG_MALFORMED,           /* request header or body does not decode */
    RN_NET_LOG_RESPONSE,            /* a response could not be built */
    RN_NET_LOG_CLOSE,               /* any other close: peer mid-frame, write, idle */
    RN_NET_LOG__COUNT
} rn_net_log_t;

/* State every loop's net layer shares: limits, counters, the loop ring. */
struct rn_net_shared {
    rn_net_limits_t limits;
    rn_net_t **nets; /* one per loop */
    int net_count;
    atomic_int connections_open;
    atomic_int requests_open; /* read but not yet freed, across every loop */
    /* Buffer bytes held by frames still being read (not the staging
       buffers), across every loop; bounded by limits.partial_bytes_max. */
    _Atomic int64_t partial_bytes;
    /* 1 while one frame grows past the budget (conn.c, the overdraft). */
    atomic_int overdraft_taken;
    atomic_uint accept_next; /* round-robin cursor */
    /* Written by the listening loop only (rn_stats_add), read by metrics. */
    _Atomic uint64_t connections_accepted_total;
    _Atomic uint64_t connections_refused_total; /* past max.connections */
    rn_net_request_fn on_request;
    /* A connection whose peer_node was set closed, for any reason (NULL:
       not wanted); called on its loop with that loop's request_ctx. */
    void (*on_peer_close)(void *ctx, int32_t peer_node);
    rn_log_limit_t log_limits[RN_NET_LOG__COUNT]; /* one per rn_net_log_t */
};

/* One listening socket; its index names the listener a connection came
   in on (rn_conn_t.listener), which the handlers answer for. */
typedef struct rn_net_listener {
    rn_net_t *net;
    rn_fd_t fd;
    rn_watch_t watch;
    uint8_t index;
} rn_net_listener_t;

struct rn_net {
    rn_loop_t *loop;
    rn_net_shared_t *shared;
    rn_conn_t *conns; /* every connection of this loop */
    rn_conn_t *dirty; /* connections with replies to write this turn */
    /* The listening sockets (none except on the listening loop). */
    rn_net_listener_t listeners[RN_NET_LISTENERS_MAX];
    int listener_count;
    rn_fd_t spare_fd;          /* held to accept-and-close when out of descriptors */
    rn_timer_t accept_timer;   /* retries accept after a failure, or a batch */
    int64_t accept_backoff_ms; /* current retry delay; 0 after a success */
    rn_timer_t idle_timer;
    /* Connections stopped until the partial-frame budget has room, and the
       timer that retries them (budget freed on any loop frees them). */
    rn_conn_t *budget_waiters;
    rn_timer_t budget_timer;
    uint64_t requests_total;
    void *request_ctx; /* handed to on_request with each request of this loop */
    int stopped;       /* rn_net_shutdown ran: late hand-offs are closed */
    /* Count and latency of finished requests, written by this loop only;
       handed in at start-up by the server (NULL: not counted). */
    rn_stats_requests_t *request_stats;
};

/* Sets up the shared counters and log limiters; before any rn_net_init. */
void rn_net_shared_init(rn_net_shared_t *shared);
/* The limiter of one cause, for RN_LOG_LIMITED at net->loop->now_ms. */
static inline rn_log_limit_t *rn_net_log_limit(rn_net_t *net, rn_net_log_t cause) {
    return &net->shared->log_limits[cause];
}

rn_err_t rn_net_init(rn_net_t *net, rn_loop_t *loop, rn_net_shared_t *shared, void *request_ctx);
/* Binds host:port on this loop as listener `index` (what its connections'
   `listener` says); *port_bound receives the port (for port 0). At most
   RN_NET_LISTENERS_MAX per loop. */
rn_err_t rn_net_listen(rn_net_t *net, const char *host, uint16_t port, uint8_t index,
                       uint16_t *port_bound);
/* Closes the listener and every connection; loop thread only. */
void rn_net_shutdown(rn_net_t *net);
/* The loop hook that writes finished replies; registered by rn_net_init. */
void rn_net_flush(void *net);

#endif
