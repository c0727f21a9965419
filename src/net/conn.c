/*
 * conn.c: frame assembly, in-order replies and backpressure for one client
 * connection. Small frames are read through a staging buffer (many per read
 * call). A frame larger than it is read straight into its own buffer, which
 * grows (doubling, up to the frame's length) only as its bytes arrive: a
 * length prefix alone costs nothing, and a partly read frame holds at most
 * twice the bytes the peer actually sent. The buffers of partly read frames
 * of every connection share one budget, queued.max.request.bytes; a
 * connection whose frame needs more while the budget is spent stops reading
 * until some is freed (but for one frame at a time, so some frame always
 * completes), while frames already whole are still served.
 * An allocation that fails closes that connection, never the broker.
 * It never looks past the request header's first eight bytes.
 */
#include "net/conn.h"
#include "net/frame.h"
#include "base/assert.h"
#include "base/endian.h"
#include "base/limits.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_RBUF_BYTES (64 * 1024)
#define CONN_IOV_MAX 64
/* A frame leaves the staging buffer once it fills it; its own buffer
   starts at twice that. */
#define CONN_BIG_BYTES_FIRST (2 * CONN_RBUF_BYTES)

static void conn_ready(rn_watch_t *watch, uint32_t events);

/* Names the connection by its peer, or by socket and loop if that fails. */
static void conn_name(rn_conn_t *conn) {
    rn_io_t *io = conn->net->loop->io;
    uint16_t port = 0;
    if (io->ops->sock_peer(io, conn->fd, conn->host, sizeof conn->host, &port) != RN_OK) {
        conn->host[0] = '\0';
        snprintf(conn->peer, sizeof conn->peer, "conn#%d@loop%d", conn->fd, conn->net->loop->id);
        return;
    }
    bool v6 = strchr(conn->host, ':') != NULL;
    snprintf(conn->peer, sizeof conn->peer, v6 ? "[%s]:%u" : "%s:%u", conn->host, (unsigned)port);
}

rn_err_t rn_conn_open(rn_net_t *net, rn_fd_t fd, uint8_t listener) {
    rn_conn_t *conn = calloc(1, sizeof *conn);
    uint8_t *rbuf = malloc(CONN_RBUF_BYTES);
    if (!conn || !rbuf) {
        free(conn);
        free(rbuf);
        return RN_ERR_NO_MEMORY;
    }
    conn->watch.on_ready = conn_ready;
    conn->net = net;
    conn->fd = fd;
    conn->listener = listener;
    conn->rbuf = rbuf;
    conn->peer_node = -1;
    conn->last_active_ms = net->loop->now_ms;
    conn_name(conn);
    rn_err_t err = rn_loop_watch(net->loop, fd, RN_IO_EV_READ | RN_IO_EV_WRITE, &conn->watch);
    if (err != RN_OK) {
        free(rbuf);
        free(conn);
        return err;
    }
    conn->next = net->conns;
    if (net->conns) net->conns->prev = conn;
    net->conns = conn;
    rn_conn_read(conn);
    return RN_OK;
}

static void req_free(rn_req_t *req) {
    atomic_fetch_sub(&req->conn->net->shared->requests_open, 1);
    req->conn->in_bytes -= req->frame_len;
    for (int32_t i = 0; i < req->splice_count; i++)
        if (req->splices[i].release) req->splices[i].release(req->splices[i].pin);
    rn_arena_free(&req->arena);
    rn_buf_free(&req->out);
    free(req->frame);
    free(req);
}

/* ---- the budget of partly read frames (queued.max.request.bytes) ---- */

/* Takes bytes of the broker-wide budget. As Kafka's memory pool does, a
   grant is made while the total is below the limit, so the total stays
   below the limit plus one growth step (at most half a frame: see
   conn_big_grow). */
static bool conn_budget_take(rn_net_shared_t *shared, size_t bytes) {
    int64_t max = shared->limits.partial_bytes_max;
    int64_t used = atomic_load(&shared->partial_bytes);
    do {
        if (max > 0 && used >= max) return false;
    } while (!atomic_compare_exchange_weak(&shared->partial_bytes, &used, used + (int64_t)bytes));
    return true;
}

static void conn_budget_give(rn_net_shared_t *shared, size_t bytes) {
    int64_t before = atomic_fetch_sub(&shared->partial_bytes, (int64_t)bytes);
    RN_ASSERT(before >= (int64_t)bytes);
}

/* Grants step more bytes to conn's frame: from the budget while it has
   room; past it, to one frame of the broker at a time, the overdraft,
   which keeps growing until it completes or its connection closes. A frame
   waiting for budget is waiting for others to complete, and each of those
   may be waiting too, its peer's bytes (even its close) stuck behind its
   full buffer; the overdraft lets one finish, and so each in turn. So the
   total stays below the limit plus one growth step plus one frame. */
static bool conn_budget_grant(rn_conn_t *conn, size_t step) {
    rn_net_shared_t *shared = conn->net->shared;
    if (!conn->overdraft) {
        if (conn_budget_take(shared, step)) return true;
        int taken = 0;
        if (!atomic_compare_exchange_strong(&shared->overdraft_taken, &taken, 1)) return false;
        conn->overdraft = 1;
    }
    atomic_fetch_add(&shared->partial_bytes, (int64_t)step);
    return true;
}

/* Gives up the overdraft once the frame holding it is whole or dropped. */
static void conn_overdraft_end(rn_conn_t *conn) {
    if (!conn->overdraft) return;
    conn->overdraft = 0;
    atomic_store(&conn->net->shared->overdraft_taken, 0);
}

/* Parks the connection until the net layer's retry timer. A waiting
   connection reads nothing, so it would never see its peer leave: one
   known to be gone (or that goes while waiting, conn_ready) is closed
   instead, giving its bytes back. Returns 0 if so. */
static int conn_budget_wait(rn_conn_t *conn) {
    rn_net_t *net = conn->net;
    RN_ASSERT(!conn->budget_wait);
    if (conn->peer_hup) {
        rn_conn_close(conn, "peer closed mid-frame");
        return 0;
    }
    conn->budget_wait = 1;
    conn->budget_next = net->budget_waiters;
    net->budget_waiters = conn;
    if (net->budget_timer.heap_index < 0)
        rn_loop_timer_start(net->loop, &net->budget_timer, RN_TIMER_TICK_MS);
    return 1;
}

/* Takes a closing connection off the wait list. One not found there is on
   the list the retry timer is walking, which skips closed connections. */
static void conn_budget_unwait(rn_conn_t *conn) {
    rn_conn_t **link = &conn->net->budget_waiters;
    while (*link && *link != conn) link = &(*link)->budget_next;
    if (*link) {
        *link = conn->budget_next;
        conn->budget_next = NULL;
    }
    conn->budget_wait = 0;
}

/* Drops a partly read frame and gives its bytes back. */
static void conn_big_drop(rn_conn_t *conn) {
    if (conn->big_cap) conn_budget_give(conn->net->shared, conn->big_cap);
    conn_overdraft_end(conn);
    free(conn->big);
    conn->big = NULL;
    conn->big_len = conn->big_cap = conn->big_need = 0;
}

void rn_conn_close_as(rn_conn_t *conn, rn_net_log_t cause, const char *why) {
    if (conn->closed) return;
    rn_net_t *net = conn->net;
    if (why)
        RN_LOG_LIMITED(rn_net_log_limit(net, cause), net->loop->now_ms, "%s: closing: %s",
                       conn->peer, why);
    if (conn->budget_wait) conn_budget_unwait(conn);
    conn_big_drop(conn);
    rn_loop_watch(net->loop, conn->fd, 0, &conn->watch);
    net->loop->io->ops->sock_close(net->loop->io, conn->fd);
    conn->closed = 1;
    atomic_fetch_sub(&net->shared->connections_open, 1);
    if (conn->peer_node >= 0 && net->shared->on_peer_close)
        net->shared->on_peer_close(net->request_ctx, conn->peer_node);
    rn_conn_mark_dirty(conn); /* the flush hook reaps it: never free mid-callback */
}

void rn_conn_close(rn_conn_t *conn, const char *why) {
    rn_conn_close_as(conn, RN_NET_LOG_CLOSE, why);
}

void rn_conn_reap(rn_conn_t *conn) {
    RN_ASSERT(conn->closed);
    RN_ASSERT(!conn->dirty);
    rn_req_t **link = &conn->head;
    conn->tail = NULL;
    while (*link) {
        rn_req_t *req = *link;
        if (req->finished) {
            *link = req->next;
            conn->inflight--;
            req_free(req);
        } else {
            conn->tail = req;
            link = &req->next;
        }
    }
    if (conn->head) return;
    rn_net_t *net = conn->net;
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        net->conns = conn->next;
    if (conn->next) conn->next->prev = conn->prev;
    RN_ASSERT(conn->big == NULL); /* dropped at close */
    free(conn->rbuf);
    free(conn);
}

/* ---- reading ---- */

static int conn_can_take(const rn_conn_t *conn) {
    return conn->inflight < RN_CONN_INFLIGHT_REQUESTS_MAX &&
           conn->in_bytes < RN_CONN_INFLIGHT_BYTES_MAX && conn->out_bytes < RN_CONN_OUT_BYTES_MAX;
}

static void conn_no_memory(rn_conn_t *conn, const char *what) {
    rn_conn_close_as(conn, RN_NET_LOG_NO_MEMORY, what);
}

/* Takes ownership of frame and hands the request to the dispatcher. */
static void conn_dispatch(rn_conn_t *conn, uint8_t *frame, size_t len) {
    rn_net_t *net = conn->net;
    rn_req_t *req = calloc(1, sizeof *req);
    if (!req) {
        free(frame);
        conn_no_memory(conn, "out of memory for a request");
        return;
    }
    req->conn = conn;
    req->frame = frame;
    req->frame_len = len;
    req->api_key = (int16_t)rn_be16_get(frame);
    req->api_version = (int16_t)rn_be16_get(frame + 2);
    req->correlation_id = (int32_t)rn_be32_get(frame + 4);
    req->received_ns = rn_io_now_ns(net->loop->io);
    size_t budget = len * RN_PROTO_ARENA_FACTOR + RN_PROTO_ARENA_BYTES_MIN;
    rn_arena_init(&req->arena, budget);
    rn_buf_init(&req->out, RN_RESPONSE_BYTES_MAX);
    if (conn->tail)
        conn->tail->next = req;
    else
        conn->head = req;
    conn->tail = req;
    conn->inflight++;
    conn->in_bytes += len;
    net->requests_total++;
    atomic_fetch_add(&net->shared->requests_open, 1);
    net->shared->on_request(net->request_ctx, req);
}

/* Makes room for more of the big frame: its buffer doubles, up to the
   frame's length, so each step is at most half the frame. Returns 1 with
   room made, 0 when the budget has none now (the connection waits), -1
   when the connection was closed instead (out of memory, or the peer is
   gone). */
static int conn_big_grow(rn_conn_t *conn) {
    RN_ASSERT(conn->big_cap < conn->big_need);
    size_t cap = conn->big_cap ? conn->big_cap * 2 : CONN_BIG_BYTES_FIRST;
    if (cap > conn->big_need) cap = conn->big_need;
    size_t step = cap - conn->big_cap;
    if (!conn_budget_grant(conn, step)) return conn_budget_wait(conn) ? 0 : -1;
    uint8_t *grown = realloc(conn->big, cap);
    if (!grown) {
        conn_budget_give(conn->net->shared, step);
        conn_no_memory(conn, "out of memory for a request frame");
        return -1;
    }
    conn->big = grown;
    conn->big_cap = cap;
    return 1;
}

/* The staging buffer is full with the start of a frame larger than it:
   moves those bytes to the frame's own buffer. Returns 0 if it must wait
   for budget or the connection was closed. */
static int conn_big_start(rn_conn_t *conn, int32_t len) {
    RN_ASSERT(conn->rbuf_len == CONN_RBUF_BYTES);
    RN_ASSERT((size_t)len > CONN_RBUF_BYTES - 4);
    conn->big_need = (size_t)len;
    if (conn_big_grow(conn) <= 0) return 0;
    conn->big_len = CONN_RBUF_BYTES - 4;
    memcpy(conn->big, conn->rbuf + 4, conn->big_len);
    conn->rbuf_len = 0;
    return 1;
}

/* Splits whole frames off the staging buffer. Returns 0 if the connection
   was closed or must wait for budget. */
static int conn_take_frames(rn_conn_t *conn) {
    size_t pos = 0;
    int32_t frame_max = conn->net->shared->limits.request_bytes_max;
    while (conn_can_take(conn) && !conn->closed) {
        int32_t len = 0;
        int complete = 0;
        rn_frame_status_t st =
            rn_frame_peek(conn->rbuf + pos, conn->rbuf_len - pos, frame_max, &len, &complete);
        if (st == RN_FRAME_NEED_MORE) break;
        if (st == RN_FRAME_BAD) {
            char why[96];
            snprintf(why, sizeof why, "frame length %d outside [%d, %d]", len, RN_FRAME_BYTES_MIN,
                     frame_max);
            rn_conn_close_as(conn, RN_NET_LOG_BAD_FRAME, why);
            return 0;
        }
        if (!complete) {
            /* Staged until it fills the buffer: a prefix alone costs nothing. */
            if (pos == 0 && conn->rbuf_len == CONN_RBUF_BYTES) return conn_big_start(conn, len);
            break;
        }
        uint8_t *frame = malloc((size_t)len);
        if (!frame) {
            conn_no_memory(conn, "out of memory for a request frame");
            return 0;
        }
        memcpy(frame, conn->rbuf + pos + 4, (size_t)len);
        pos += 4 + (size_t)len;
        conn_dispatch(conn, frame, (size_t)len);
    }
    if (conn->closed) return 0;
    memmove(conn->rbuf, conn->rbuf + pos, conn->rbuf_len - pos);
    conn->rbuf_len -= pos;
    return 1;
}

/* Bytes of the big frame have arrived; hands it on once whole. */
static void conn_big_read(rn_conn_t *conn, size_t n) {
    conn->big_len += n;
    if (conn->big_len < conn->big_need) return;
    RN_ASSERT(conn->big_cap == conn->big_need);
    uint8_t *frame = conn->big;
    size_t len = conn->big_need;
    conn->big = NULL;
    conn->big_len = conn->big_cap = conn->big_need = 0;
    conn_budget_give(conn->net->shared, len);
    conn_overdraft_end(conn);
    conn_dispatch(conn, frame, len);
}

void rn_conn_read(rn_conn_t *conn) {
    rn_io_t *io = conn->net->loop->io;
    while (!conn->closed && !conn->budget_wait) {
        if (!conn->big && !conn_take_frames(conn)) return;
        if (!conn_can_take(conn)) {
            conn->read_blocked = 1;
            return;
        }
        conn->read_blocked = 0;
        if (conn->big && conn->big_len == conn->big_cap && conn_big_grow(conn) <= 0) return;
        uint8_t *dst = conn->big ? conn->big + conn->big_len : conn->rbuf + conn->rbuf_len;
        size_t room = conn->big ? conn->big_cap - conn->big_len : CONN_RBUF_BYTES - conn->rbuf_len;
        RN_ASSERT(room > 0);
        size_t n = 0;
        rn_err_t err = io->ops->sock_read(io, conn->fd, dst, room, &n);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            rn_conn_close(conn, conn->rbuf_len || conn->big ? "peer closed mid-frame" : NULL);
            return;
        }
        conn->last_active_ms = conn->net->loop->now_ms;
        if (conn->big)
            conn_big_read(conn, n);
        else
            conn->rbuf_len += n;
    }
}

/* ---- writing ---- */

size_t rn_req_out_bytes(const rn_req_t *req) {
    size_t total = req->out.len;
    for (int32_t i = 0; i < req->splice_count; i++) total += req->splices[i].len;
    return total;
}

rn_err_t rn_req_add_splice(rn_req_t *req, const rn_splice_t *splice) {
    RN_ASSERT(splice->pos == req->out.len);
    if (req->splice_count == req->splice_cap) {
        int32_t cap = req->splice_cap ? req->splice_cap * 2 : 8;
        rn_splice_t *grown = rn_arena_alloc(&req->arena, (size_t)cap * sizeof *grown);
        if (!grown) return RN_ERR_NO_MEMORY;
        if (req->splice_count)
            memcpy(grown, req->splices, (size_t)req->splice_count * sizeof *grown);
        req->splices = grown;
        req->splice_cap = cap;
    }
    req->splices[req->splice_count++] = *splice;
    return RN_OK;
}

void rn_req_finish(rn_req_t *req) {
    RN_ASSERT(!req->finished);
    rn_conn_t *conn = req->conn;
    req->finished = 1;
    rn_net_t *net = conn->net;
    if (net->request_stats)
        rn_stats_request_done(net->request_stats, req->api_key,
                              rn_io_now_ns(net->loop->io) - req->received_ns);
    if (!req->no_response && !conn->closed) conn->out_bytes += rn_req_out_bytes(req);
    rn_conn_mark_dirty(conn);
}

void rn_conn_mark_dirty(rn_conn_t *conn) {
    if (conn->dirty) return;
    conn->dirty = 1;
    conn->dirty_next = conn->net->dirty;
    conn->net->dirty = conn;
}

/* The piece of req's response at stream offset w: a buffer range (fd NONE)
   or a file range. Returns 0 when w is at the end. */
typedef struct piece {
    const uint8_t *ptr;
    rn_fd_t fd;
    uint64_t off;
    size_t len;
} piece_t;

static int req_piece(const rn_req_t *req, size_t w, piece_t *piece) {
    size_t s = 0, b = 0;
    for (int32_t i = 0; i <= req->splice_count; i++) {
        size_t end = i < req->splice_count ? req->splices[i].pos : req->out.len;
        if (w < s + (end - b)) {
            *piece = (piece_t){req->out.ptr + b + (w - s), RN_FD_NONE, 0, end - b - (w - s)};
            return 1;
        }
        s += end - b;
        b = end;
        if (i == req->splice_count) break;
        const rn_splice_t *sp = &req->splices[i];
        if (w < s + sp->len) {
            *piece = (piece_t){NULL, sp->fd, sp->off + (w - s), sp->len - (w - s)};
            return 1;
        }
        s += sp->len;
    }
    return 0;
}

/* Drops the head request once fully written. */
static void conn_pop_head(rn_conn_t *conn) {
    rn_req_t *req = conn->head;
    conn->head = req->next;
    if (!conn->head) conn->tail = NULL;
    conn->inflight--;
    conn->head_written = 0;
    req_free(req);
}

/* Writes buffer pieces of consecutive finished requests in one writev.
   Returns bytes written or 0 when the socket is full (or closed). */
static size_t conn_writev(rn_conn_t *conn) {
    struct iovec iov[CONN_IOV_MAX];
    int count = 0;
    size_t w = conn->head_written;
    for (rn_req_t *req = conn->head; req && req->finished && count < CONN_IOV_MAX;
         req = req->next) {
        piece_t piece;
        if (req->no_response) continue;
        while (count < CONN_IOV_MAX && req_piece(req, w, &piece) && piece.fd == RN_FD_NONE) {
            iov[count].iov_base = (void *)(uintptr_t)piece.ptr;
            iov[count].iov_len = piece.len;
            count++;
            w += piece.len;
        }
        if (req_piece(req, w, &piece)) break; /* a file range comes next */
        w = 0;
    }
    if (count == 0) return 0;
    size_t n = 0;
    rn_io_t *io = conn->net->loop->io;
    rn_err_t err = io->ops->sock_writev(io, conn->fd, iov, count, &n);
    if (err != RN_OK) {
        if (err != RN_ERR_AGAIN) rn_conn_close(conn, "write failed");
        return 0;
    }
    return n;
}

/* Advances the head cursor by n written bytes, popping finished requests. */
static void conn_advance(rn_conn_t *conn, size_t n) {
    conn->out_bytes -= n;
    while (conn->head && conn->head->finished) {
        rn_req_t *req = conn->head;
        size_t total = req->no_response ? 0 : rn_req_out_bytes(req);
        size_t left = total - conn->head_written;
        if (n < left) {
            conn->head_written += n;
            return;
        }
        n -= left;
        conn_pop_head(conn);
    }
    RN_ASSERT(n == 0);
}

void rn_conn_write(rn_conn_t *conn) {
    rn_io_t *io = conn->net->loop->io;
    while (!conn->closed && conn->head && conn->head->finished) {
        rn_req_t *req = conn->head;
        piece_t piece;
        if (req->no_response || !req_piece(req, conn->head_written, &piece)) {
            conn_advance(conn, 0);
            continue;
        }
        size_t n = 0;
        if (piece.fd != RN_FD_NONE) {
            rn_err_t err = io->ops->sock_sendfile(io, conn->fd, piece.fd, piece.off, piece.len, &n);
            if (err == RN_ERR_AGAIN) break;
            if (err != RN_OK) {
                rn_conn_close(conn, "sendfile failed");
                return;
            }
        } else if ((n = conn_writev(conn)) == 0) {
            break;
        }
        conn_advance(conn, n);
    }
    if (!conn->closed && conn->read_blocked && conn_can_take(conn)) rn_conn_read(conn);
}

static void conn_ready(rn_watch_t *watch, uint32_t events) {
    rn_conn_t *conn = (rn_conn_t *)watch;
    if (events & RN_IO_EV_HUP) {
        conn->peer_hup = 1;
        if (conn->budget_wait) rn_conn_close(conn, "peer closed mid-frame");
    }
    if (events & RN_IO_EV_WRITE) rn_conn_write(conn);
    if (!conn->closed && (events & RN_IO_EV_READ)) rn_conn_read(conn);
}
