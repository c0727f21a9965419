/*
 * client.h: the outbound side of the network layer: one Kafka-protocol
 * connection to one peer (another node's controller or broker listener).
 *
 * What it does: queues calls (API key, version, body), connects lazily on
 * the first call and again after each disconnect (re-resolving the peer's
 * name on every attempt, backing off between failed ones), writes request
 * frames with the request header (v1, or v2 for flexible versions),
 * matches response frames by correlation id and hands each caller the
 * response body once. Every call ends in exactly one completion: RN_OK with
 * the body, RN_ERR_CLOSED (the connection dropped after the request left,
 * or the client was closed), RN_ERR_TIMEOUT (its deadline passed).
 *
 * What it owns: a copy of the peer's address and client id, the queued and
 * in-flight calls (their encoded frames), the current connection and its
 * read buffer, and its counters. Everything runs on the owning loop's
 * thread and all I/O goes through rn_io_t (io/io.h), so it runs on any
 * backend.
 *
 * An attempt goes: resolving (the peer's name is looked up through the
 * seam, off the loop; a numeric host skips it), connecting, connected; a
 * failed step, or a lookup past resolve_timeout_ms, ends the attempt and
 * the client backs off before the next. A lookup still running when the
 * client closes or its peer moves is given back to the backend, which
 * frees it once it returns. Successive attempts go round the addresses a
 * name has (an IPv6 one that refuses, then the IPv4 one).
 *
 * What it must never do: block (a name lookup included), decode a
 * response body (callers do, with the generated codec), run a completion
 * inside rn_client_send, or retry a request that may have reached the
 * peer (the caller decides).
 *
 * A timed-out request that was already written closes the connection, as
 * Kafka's own client does: a late answer could otherwise be taken for
 * another's, and a peer that stopped answering is most often gone (a
 * half-open connection). The other requests in flight complete with
 * RN_ERR_CLOSED; the queued ones go out on the next connection.
 */
#ifndef RN_NET_CLIENT_H
#define RN_NET_CLIENT_H

#include "base/buf.h"
#include "base/limits.h"
#include "base/log_limit.h"
#include "base/stats.h"
#include "io/loop.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Completion of one call, on the client's loop thread. body is the response
   after its header (NULL for a one-way call), borrowed for the duration of
   the call only; err is RN_OK, RN_ERR_CLOSED or RN_ERR_TIMEOUT. */
typedef void (*rn_client_done_fn)(void *ctx, rn_err_t err, const uint8_t *body, size_t len);

typedef struct rn_client_opts {
    const char *client_id;      /* copied; NULL: "runnel" */
    int64_t request_timeout_ms; /* from send to response */
    int64_t resolve_timeout_ms; /* a name lookup of one attempt */
    int64_t connect_timeout_ms; /* from tcp_connect to connected */
    int64_t backoff_ms_min;     /* first retry delay after a failure */
    int64_t backoff_ms_max;     /* doubling stops here */
    int32_t queue_max;          /* calls queued or in flight at once */
    int32_t response_bytes_max; /* a larger response frame closes the connection */
    /* A failed connect attempt ends the queued calls with RN_ERR_CLOSED
       instead of keeping them for the next attempt: for a peer whose role
       may have moved elsewhere (the active controller), where the caller
       would rather ask again, maybe another node, than wait for this one. */
    bool fail_queued_when_unreachable;
} rn_client_opts_t;

/* One request. Exactly one of body (already encoded, the bytes after the
   request header) or msg (the API's request struct, encoded at send with
   the generated codec) is set. */
typedef struct rn_client_call {
    int16_t api_key;
    int16_t api_version;
    rn_slice_t body;
    const void *msg;
    bool one_way;           /* no response comes (acks=0): done runs once written */
    int64_t timeout_ms;     /* 0: the client's request timeout */
    rn_client_done_fn done; /* may be NULL */
    void *ctx;
} rn_client_call_t;

/* Counters a metric reads from any thread (written by the loop only). */
typedef struct rn_client_stats {
    _Atomic uint64_t requests_sent_total;    /* frames fully written */
    _Atomic uint64_t requests_failed_total;  /* completed with an error */
    _Atomic uint64_t connects_total;         /* attempts started */
    _Atomic uint64_t reconnects_total;       /* attempts after the first */
    _Atomic uint64_t connect_failures_total; /* attempts failed, lookups included */
    _Atomic uint64_t resolve_failures_total; /* lookups failed or timed out */
    _Atomic uint64_t bytes_out_total;
    _Atomic uint64_t bytes_in_total;
} rn_client_stats_t;

/* Causes of the client's log lines, each rate limited on its own. */
typedef enum rn_client_log {
    RN_CLIENT_LOG_CONNECT = 0, /* a connect attempt failed (lookup, refused, timeout) */
    RN_CLIENT_LOG_PROTOCOL,    /* the peer sent a bad frame or an unknown id */
    RN_CLIENT_LOG_CLOSE,       /* the connection dropped */
    RN_CLIENT_LOG__COUNT
} rn_client_log_t;

typedef struct rn_client_req rn_client_req_t;
typedef struct rn_client_link rn_client_link_t;

typedef struct rn_client {
    rn_loop_t *loop;
    rn_client_opts_t opts;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    char client_id[RN_CLIENT_ID_BYTES_MAX + 1];
    rn_client_link_t *link;   /* current connection, NULL when none */
    rn_io_resolve_t *resolve; /* the lookup of the attempt resolving, or NULL */
    int64_t resolve_deadline_ms;
    int64_t resolve_poll_ms; /* the next wait before looking at it */
    /* Calls not yet fully written, oldest first; the head may be partly
       written on link (head_written bytes). */
    rn_client_req_t *queue_head;
    rn_client_req_t *queue_tail;
    size_t head_written;
    rn_client_req_t *inflight; /* written, awaiting a response; oldest first */
    rn_client_req_t *inflight_tail;
    int32_t pending; /* calls queued plus in flight */
    int32_t correlation_next;
    int32_t failures; /* failed attempts since the last good exchange */
    bool backing_off; /* backoff_timer armed: no attempt before it fires */
    bool attempted;   /* a connect was ever attempted */
    bool closed;
    rn_timer_t kick_timer; /* runs the work a send asks for, outside send */
    rn_timer_t backoff_timer;
    rn_timer_t resolve_timer; /* looks at the lookup, or ends it at its deadline */
    rn_timer_t connect_timer;
    rn_timer_t deadline_timer; /* the earliest deadline of a pending call */
    rn_client_stats_t stats;
    rn_log_limit_t log_limits[RN_CLIENT_LOG__COUNT];
} rn_client_t;

/* The defaults of every option (limits.h). */
void rn_client_opts_default(rn_client_opts_t *opts);
/* Sets up a client of host:port on loop; nothing is connected until the
   first send. opts NULL: the defaults. RN_ERR_INVALID for a host or client
   id longer than their limits. Loop thread only, as is every call below. */
rn_err_t rn_client_init(rn_client_t *c, rn_loop_t *loop, const char *host, uint16_t port,
                        const rn_client_opts_t *opts);
/* The peer moved: the next attempt goes to host:port. A connection to the
   old address is dropped (its requests in flight complete with
   RN_ERR_CLOSED, before this returns) and the backoff starts over. */
void rn_client_set_peer(rn_client_t *c, const char *host, uint16_t port);
/* Queues a call; its completion runs later, never inside this function.
   RN_ERR_LIMIT: queue_max calls are pending; RN_ERR_CLOSED: the client is
   closed; RN_ERR_TOO_LARGE / RN_ERR_INVALID: the request does not encode.
   A call refused here gets no completion. */
rn_err_t rn_client_send(rn_client_t *c, const rn_client_call_t *call);
/* Completes every pending call with RN_ERR_CLOSED (before returning) and
   drops the connection; later sends get RN_ERR_CLOSED. Safe from inside a
   completion and idempotent. The connection's memory is released by the
   loop's next mailbox drain (a turn, or rn_loop_drain); c itself may be
   freed once this has returned outside the client's own completions. */
void rn_client_close(rn_client_t *c);
/* True while a connection is established (not while connecting). */
bool rn_client_connected(const rn_client_t *c);
/* True while an attempt waits for the peer's name to be looked up. */
static inline bool rn_client_resolving(const rn_client_t *c) { return c->resolve != NULL; }
/* Calls queued or in flight. */
static inline int32_t rn_client_pending(const rn_client_t *c) { return c->pending; }

#endif
