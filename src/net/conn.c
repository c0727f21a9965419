/*
 * conn.c: frame assembly, in-order replies and backpressure for one client
 * connection. Small frames are read through a staging buffer (many per read
 * call); a frame larger than it is read straight into its own allocation.
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

rn_err_t rn_conn_open(rn_net_t *net, rn_fd_t fd) {
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
    conn->rbuf = rbuf;
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

void rn_conn_close_as(rn_conn_t *conn, rn_net_log_t cause, const char *why) {
    if (conn->closed) return;
    rn_net_t *net = conn->net;
    if (why)
        RN_LOG_LIMITED(rn_net_log_limit(net, cause), net->loop->now_ms, "%s: closing: %s",
                       conn->peer, why);
    rn_loop_watch(net->loop, conn->fd, 0, &conn->watch);
    net->loop->io->ops->sock_close(net->loop->io, conn->fd);
    conn->closed = 1;
    atomic_fetch_sub(&net->shared->connections_open, 1);
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
    free(conn->big);
    free(conn->rbuf);
    free(conn);
}

/* ---- reading ---- */

static int conn_can_take(const rn_conn_t *conn) {
    return conn->inflight < RN_CONN_INFLIGHT_REQUESTS_MAX &&
           conn->in_bytes < RN_CONN_INFLIGHT_BYTES_MAX && conn->out_bytes < RN_CONN_OUT_BYTES_MAX;
}

/* Takes ownership of frame and hands the request to the dispatcher. */
static void conn_dispatch(rn_conn_t *conn, uint8_t *frame, size_t len) {
    rn_net_t *net = conn->net;
    rn_req_t *req = calloc(1, sizeof *req);
    RN_ASSERT(req != NULL);
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

/* Splits whole frames off the staging buffer. Returns 0 if the connection
   was closed for a bad frame. */
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
        uint8_t *frame = malloc((size_t)len);
        RN_ASSERT(frame != NULL);
        size_t have = conn->rbuf_len - pos - 4;
        if (!complete) {
            /* Finish it in its own buffer, read directly. */
            memcpy(frame, conn->rbuf + pos + 4, have);
            conn->big = frame;
            conn->big_len = have;
            conn->big_need = (size_t)len;
            pos = conn->rbuf_len;
            break;
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

void rn_conn_read(rn_conn_t *conn) {
    rn_io_t *io = conn->net->loop->io;
    while (!conn->closed) {
        if (!conn->big && !conn_take_frames(conn)) return;
        if (!conn_can_take(conn)) {
            conn->read_blocked = 1;
            return;
        }
        conn->read_blocked = 0;
        uint8_t *dst = conn->big ? conn->big + conn->big_len : conn->rbuf + conn->rbuf_len;
        size_t room = conn->big ? conn->big_need - conn->big_len : CONN_RBUF_BYTES - conn->rbuf_len;
        size_t n = 0;
        rn_err_t err = io->ops->sock_read(io, conn->fd, dst, room, &n);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            rn_conn_close(conn, conn->rbuf_len || conn->big ? "peer closed mid-frame" : NULL);
            return;
        }
        conn->last_active_ms = conn->net->loop->now_ms;
        if (!conn->big) {
            conn->rbuf_len += n;
            continue;
        }
        conn->big_len += n;
        if (conn->big_len == conn->big_need) {
            uint8_t *frame = conn->big;
            conn->big = NULL;
            conn_dispatch(conn, frame, conn->big_need);
        }
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
    if (events & RN_IO_EV_WRITE) rn_conn_write(conn);
    if (!conn->closed && (events & RN_IO_EV_READ)) rn_conn_read(conn);
}
