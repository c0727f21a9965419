/*
 * conn.h: one inbound client connection, owned by one loop.
 *
 * Holds a staging read buffer, the partly read frame too large for it, the
 * FIFO of requests in arrival order and the write cursor into the oldest
 * finished one. Freed once it is closed and no
 * request of it is still being worked on elsewhere.
 */
#ifndef RN_NET_CONN_H
#define RN_NET_CONN_H

#include "net/net.h"

struct rn_conn {
    rn_watch_t watch;
    rn_net_t *net;
    rn_conn_t *next; /* net->conns list */
    rn_conn_t *prev;
    rn_conn_t *dirty_next; /* net->dirty list */
    int dirty;
    rn_fd_t fd;
    int closed;       /* socket closed; waiting for requests to drain */
    int read_blocked; /* stopped reading: in-flight or output limit */
    uint8_t *rbuf;    /* staging buffer for small frames */
    size_t rbuf_len;
    /* A frame too large for rbuf, read directly into a buffer that grows
       as its bytes arrive; big_cap is counted in shared->partial_bytes. */
    uint8_t *big;
    size_t big_len;         /* bytes of it read */
    size_t big_cap;         /* bytes allocated */
    size_t big_need;        /* the frame's length */
    int budget_wait;        /* stopped until queued.max.request.bytes has room */
    int peer_hup;           /* the poller said the peer closed (or reset) */
    int overdraft;          /* this frame holds shared->overdraft_taken */
    rn_conn_t *budget_next; /* net->budget_waiters list */
    rn_req_t *head;         /* oldest request, next to be written */
    rn_req_t *tail;
    int32_t inflight;
    size_t in_bytes;     /* frame bytes of requests not yet freed */
    size_t out_bytes;    /* queued response bytes not yet written */
    size_t head_written; /* bytes of head's response already written */
    int64_t last_active_ms;
    char host[48]; /* peer address, "" if unknown (INET6_ADDRSTRLEN fits) */
    char peer[64]; /* how logs name the connection: host:port */
    /* The cluster node the peer proved to be by what it sent (set by the
       dispatcher; -1: none): its close is reported to on_peer_close. */
    int32_t peer_node;
    /* The listener it came in on (rn_net_listen's index): Metadata and the
       other answers naming brokers give their endpoints on that listener. */
    uint8_t listener;
};

/* Adopts a socket accepted on listener `listener` on this loop. */
rn_err_t rn_conn_open(rn_net_t *net, rn_fd_t fd, uint8_t listener);
/* Closes the socket now; the struct lives until its requests finish. A
   non-NULL why is logged under `cause`'s rate limit. */
void rn_conn_close_as(rn_conn_t *conn, rn_net_log_t cause, const char *why);
/* rn_conn_close_as with the generic RN_NET_LOG_CLOSE cause. */
void rn_conn_close(rn_conn_t *conn, const char *why);
/* Frees a closed connection's finished requests, and the connection once
   none remain; called only from the flush hook, never mid-callback. */
void rn_conn_reap(rn_conn_t *conn);
/* Resumes reading after backpressure lifted (called after writes, and by
   the net layer's retry once the budget of partial frames may have room). */
void rn_conn_read(rn_conn_t *conn);
/* Writes finished replies in order; returns when blocked or done. */
void rn_conn_write(rn_conn_t *conn);
void rn_conn_mark_dirty(rn_conn_t *conn);

#endif
