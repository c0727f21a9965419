/*
 * client.c: one outbound connection per peer (client.h): the call queue,
 * lazy connects with backoff, request frames out, response frames in.
 *
 * Re-entrancy: a completion may send, close the client or move its peer.
 * So no completion runs while the client's lists are half changed: every
 * entry point (a timer, the watcher, close, set_peer) first takes the
 * calls it ends off the lists into a local done list, and runs that list
 * last, touching the client no more. The read path is the one exception,
 * as a response body borrows the read buffer: it runs the completions of
 * each chunk read, then goes on only if its connection is still the
 * client's. A connection (rn_client_link_t) is a heap object of its own,
 * freed by mail on the next mailbox drain: a poller event still queued in
 * this turn, or a read in progress, never touches freed memory. A name
 * lookup in progress is the backend's handle, polled from resolve_timer
 * on this loop only; close and set_peer give it back first, so no answer
 * for an old name or a closed client is ever taken.
 */
#include "net/client.h"
#include "proto/gen/api.h"
#include "proto/gen/request_header.h"
#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Response frame: at least the correlation id. */
#define CLIENT_RESPONSE_BYTES_MIN 4

struct rn_client_req {
    rn_client_req_t *next;
    int32_t correlation_id;
    int16_t api_key;
    int16_t api_version;
    bool one_way;
    int64_t deadline_ms;
    rn_client_done_fn done;
    void *ctx;
    rn_buf_t frame; /* length prefix, request header, body */
    /* Set when the call ends, for the done list. */
    rn_err_t err;
    const uint8_t *body;
    size_t body_len;
};

struct rn_client_link {
    rn_watch_t watch;
    rn_client_t *client; /* NULL once closed */
    rn_fd_t fd;
    bool connected;
    bool closed;
    rn_buf_t rbuf;  /* bytes read, not yet taken as frames */
    rn_mail_t mail; /* frees the link once closed */
};

/* Calls that have ended, to complete once the client is consistent. */
typedef struct done_list {
    rn_client_req_t *head;
    rn_client_req_t *tail;
} done_list_t;

static void client_ready(rn_watch_t *watch, uint32_t events);

/* ---- calls ---- */

static void req_free(rn_client_req_t *req) {
    rn_buf_free(&req->frame);
    free(req);
}

/* Ends a call already off the client's lists (pending not yet dropped). */
static void client_end(rn_client_t *c, done_list_t *dl, rn_client_req_t *req, rn_err_t err) {
    RN_ASSERT(c->pending > 0);
    c->pending--;
    if (err != RN_OK) rn_stats_add(&c->stats.requests_failed_total, 1);
    req->err = err;
    req->next = NULL;
    if (dl->tail)
        dl->tail->next = req;
    else
        dl->head = req;
    dl->tail = req;
}

/* Runs the completions; the client may be closed or gone afterwards, so
   this is the last thing an entry point does with it. */
static void done_list_run(done_list_t *dl) {
    rn_client_req_t *req = dl->head;
    dl->head = dl->tail = NULL;
    while (req) {
        rn_client_req_t *next = req->next;
        if (req->done) req->done(req->ctx, req->err, req->body, req->body_len);
        req_free(req);
        req = next;
    }
}

static void list_append(rn_client_req_t **head, rn_client_req_t **tail, rn_client_req_t *req) {
    req->next = NULL;
    if (*tail)
        (*tail)->next = req;
    else
        *head = req;
    *tail = req;
}

/* ---- timers and backoff ---- */

#define CLIENT_OF(timer, field) ((rn_client_t *)((char *)(timer)-offsetof(rn_client_t, field)))

/* The delay before the next attempt: doubling per failure from min to
   max, spread by the jitter either way. */
static int64_t client_backoff_ms(rn_client_t *c) {
    int64_t delay = c->opts.backoff_ms_min;
    for (int32_t i = 1; i < c->failures && delay < c->opts.backoff_ms_max; i++) delay *= 2;
    if (delay > c->opts.backoff_ms_max) delay = c->opts.backoff_ms_max;
    uint64_t span = 2 * RN_CLIENT_BACKOFF_JITTER_PCT + 1;
    int64_t pct = 100 - RN_CLIENT_BACKOFF_JITTER_PCT + (int64_t)(rn_io_random(c->loop->io) % span);
    delay = delay * pct / 100;
    return delay > 0 ? delay : 1;
}

static void client_backoff(rn_client_t *c) {
    RN_ASSERT(c->link == NULL);
    RN_ASSERT(c->resolve == NULL);
    c->backing_off = true;
    rn_loop_timer_start(c->loop, &c->backoff_timer, client_backoff_ms(c));
}

/* (Re)arms the deadline timer at the earliest deadline of a pending call. */
static void client_deadline_arm(rn_client_t *c) {
    int64_t first = INT64_MAX;
    for (rn_client_req_t *req = c->queue_head; req; req = req->next)
        if (req->deadline_ms < first) first = req->deadline_ms;
    for (rn_client_req_t *req = c->inflight; req; req = req->next)
        if (req->deadline_ms < first) first = req->deadline_ms;
    if (first == INT64_MAX) {
        rn_loop_timer_stop(c->loop, &c->deadline_timer);
        return;
    }
    int64_t delay = first - rn_io_now_ms(c->loop->io);
    rn_loop_timer_start(c->loop, &c->deadline_timer, delay > 0 ? delay : 0);
}

/* Asks for the queue to be worked on from the timer phase, never inside
   the caller's own function. */
static void client_kick(rn_client_t *c) {
    if (c->backing_off || c->resolve || (c->link && !c->link->connected)) return;
    if (c->kick_timer.heap_index < 0) rn_loop_timer_start(c->loop, &c->kick_timer, 0);
}

/* ---- the connection ---- */

static void link_free(rn_mail_t *mail) {
    rn_client_link_t *link = (rn_client_link_t *)((char *)mail - offsetof(rn_client_link_t, mail));
    RN_ASSERT(link->closed);
    rn_buf_free(&link->rbuf);
    free(link);
}

/* Drops the connection: calls in flight on it (and a partly written one)
   end with RN_ERR_CLOSED; queued ones stay for the next connection. */
static void link_close(rn_client_t *c, done_list_t *dl) {
    rn_client_link_t *link = c->link;
    RN_ASSERT(link != NULL);
    RN_ASSERT(!link->closed);
    rn_io_t *io = c->loop->io;
    rn_loop_watch(c->loop, link->fd, 0, &link->watch);
    io->ops->sock_close(io, link->fd);
    link->closed = true;
    link->client = NULL;
    link->mail.fn = link_free;
    rn_loop_post(c->loop, &link->mail);
    c->link = NULL;
    rn_loop_timer_stop(c->loop, &c->connect_timer);
    if (c->head_written > 0) {
        rn_client_req_t *req = c->queue_head;
        c->queue_head = req->next;
        if (!c->queue_head) c->queue_tail = NULL;
        c->head_written = 0;
        client_end(c, dl, req, RN_ERR_CLOSED);
    }
    while (c->inflight) {
        rn_client_req_t *req = c->inflight;
        c->inflight = req->next;
        client_end(c, dl, req, RN_ERR_CLOSED);
    }
    c->inflight_tail = NULL;
}

/* A connect attempt failed: the queued calls end now if the caller asked
   so (rn_client_opts_t.fail_queued_when_unreachable). */
static void client_fail_queued(rn_client_t *c, done_list_t *dl) {
    if (!c->opts.fail_queued_when_unreachable || c->head_written > 0) return;
    while (c->queue_head) {
        rn_client_req_t *req = c->queue_head;
        c->queue_head = req->next;
        client_end(c, dl, req, RN_ERR_CLOSED);
    }
    c->queue_tail = NULL;
}

/* The connection failed or dropped: log (rate limited), close it, and
   wait before the next attempt. */
static void client_disconnect(rn_client_t *c, done_list_t *dl, rn_client_log_t cause,
                              const char *why) {
    if (why)
        RN_LOG_LIMITED(&c->log_limits[cause], c->loop->now_ms, "%s:%u: %s", c->host,
                       (unsigned)c->port, why);
    bool never_connected = !c->link->connected;
    if (never_connected) rn_stats_add(&c->stats.connect_failures_total, 1);
    link_close(c, dl);
    if (never_connected) client_fail_queued(c, dl);
    c->failures++;
    client_backoff(c);
}

/* An attempt failed before a connection existed (a name that does not
   resolve yet, a lookup past its deadline, no route): log, count, wait. */
static void client_attempt_failed(rn_client_t *c, const char *why) {
    RN_ASSERT(c->link == NULL);
    RN_ASSERT(c->resolve == NULL);
    RN_LOG_LIMITED(&c->log_limits[RN_CLIENT_LOG_CONNECT], c->loop->now_ms, "%s:%u: %s", c->host,
                   (unsigned)c->port, why);
    rn_stats_add(&c->stats.connect_failures_total, 1);
    c->failures++;
    client_backoff(c);
    done_list_t dl = {0};
    client_fail_queued(c, &dl);
    done_list_run(&dl);
}

/* Gives a lookup in progress back to the backend (it frees it once the
   lookup returns); nothing of it is touched again. */
static void client_resolve_drop(rn_client_t *c) {
    if (!c->resolve) return;
    rn_io_t *io = c->loop->io;
    io->ops->resolve_release(io, c->resolve);
    c->resolve = NULL;
    rn_loop_timer_stop(c->loop, &c->resolve_timer);
}

static void client_resolve_failed(rn_client_t *c, rn_err_t err) {
    rn_stats_add(&c->stats.resolve_failures_total, 1);
    char why[96];
    if (err == RN_ERR_TIMEOUT)
        snprintf(why, sizeof why, "name lookup timed out after %lld ms",
                 (long long)c->opts.resolve_timeout_ms);
    else
        snprintf(why, sizeof why, "cannot resolve: %s", rn_err_name(err));
    client_attempt_failed(c, why);
}

/* Connects to one of the addresses the name has: successive failed
   attempts go round them. */
static void client_connect(rn_client_t *c, const rn_io_addrs_t *addrs) {
    RN_ASSERT(c->link == NULL);
    RN_ASSERT(addrs->count > 0 && addrs->count <= RN_IO_RESOLVE_ADDRS_MAX);
    rn_io_t *io = c->loop->io;
    rn_fd_t fd = RN_FD_NONE;
    const rn_io_addr_t *addr = &addrs->addr[(uint32_t)c->failures % addrs->count];
    rn_err_t err = io->ops->tcp_connect(io, addr, &fd);
    rn_client_link_t *link = err == RN_OK ? calloc(1, sizeof *link) : NULL;
    if (link) {
        link->watch.on_ready = client_ready;
        link->client = c;
        link->fd = fd;
        rn_buf_init(&link->rbuf, (size_t)c->opts.response_bytes_max + 4);
        err = rn_loop_watch(c->loop, fd, RN_IO_EV_READ | RN_IO_EV_WRITE, &link->watch);
    } else if (err == RN_OK) {
        err = RN_ERR_NO_MEMORY;
    }
    if (err != RN_OK) {
        if (fd != RN_FD_NONE) io->ops->sock_close(io, fd);
        free(link);
        char why[64];
        snprintf(why, sizeof why, "cannot connect: %s", rn_err_name(err));
        client_attempt_failed(c, why);
        return;
    }
    c->link = link;
    rn_loop_timer_start(c->loop, &c->connect_timer, c->opts.connect_timeout_ms);
}

/* One attempt: the name is looked up again every time (a pod's address
   changes), off the loop unless it is numeric or the backend knows it at
   once; the resolve timer watches a lookup that runs. */
static void client_attempt(rn_client_t *c) {
    RN_ASSERT(c->link == NULL);
    RN_ASSERT(c->resolve == NULL);
    RN_ASSERT(!c->backing_off);
    rn_io_t *io = c->loop->io;
    rn_stats_add(&c->stats.connects_total, 1);
    if (c->attempted) rn_stats_add(&c->stats.reconnects_total, 1);
    c->attempted = true;
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = NULL;
    rn_err_t err = io->ops->resolve_start(io, c->host, c->port, &addrs, &res);
    if (err == RN_OK) {
        client_connect(c, &addrs);
    } else if (err == RN_ERR_AGAIN) {
        RN_ASSERT(res != NULL);
        c->resolve = res;
        c->resolve_deadline_ms = rn_io_now_ms(io) + c->opts.resolve_timeout_ms;
        c->resolve_poll_ms = RN_CLIENT_RESOLVE_POLL_MS_MIN;
        rn_loop_timer_start(c->loop, &c->resolve_timer, c->resolve_poll_ms);
    } else {
        client_resolve_failed(c, err);
    }
}

/* ---- writing ---- */

/* Takes n written bytes off the queue: whole frames go in flight (or, one
   way, end with RN_OK). */
static void client_advance(rn_client_t *c, done_list_t *dl, size_t n) {
    rn_stats_add(&c->stats.bytes_out_total, n);
    while (n > 0) {
        rn_client_req_t *req = c->queue_head;
        RN_ASSERT(req != NULL);
        size_t left = req->frame.len - c->head_written;
        if (n < left) {
            c->head_written += n;
            return;
        }
        n -= left;
        c->head_written = 0;
        c->queue_head = req->next;
        if (!c->queue_head) c->queue_tail = NULL;
        rn_stats_add(&c->stats.requests_sent_total, 1);
        if (req->one_way) {
            c->failures = 0; /* written whole: the peer takes our bytes */
            client_end(c, dl, req, RN_OK);
        } else {
            list_append(&c->inflight, &c->inflight_tail, req);
        }
    }
}

/* Writes queued frames until the socket is full or the queue empty. */
static void client_write(rn_client_t *c, done_list_t *dl) {
    rn_io_t *io = c->loop->io;
    while (c->link && c->link->connected && c->queue_head) {
        struct iovec iov[RN_CLIENT_IOV_MAX];
        int count = 0;
        size_t skip = c->head_written;
        for (rn_client_req_t *req = c->queue_head; req && count < RN_CLIENT_IOV_MAX;
             req = req->next) {
            iov[count].iov_base = req->frame.ptr + skip;
            iov[count].iov_len = req->frame.len - skip;
            count++;
            skip = 0;
        }
        size_t n = 0;
        rn_err_t err = io->ops->sock_writev(io, c->link->fd, iov, count, &n);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            client_disconnect(c, dl, RN_CLIENT_LOG_CLOSE, "write failed");
            return;
        }
        client_advance(c, dl, n);
    }
}

/* ---- reading ---- */

/* Takes the call a response answers off the in-flight list. */
static rn_client_req_t *client_inflight_take(rn_client_t *c, int32_t correlation_id) {
    rn_client_req_t *prev = NULL;
    for (rn_client_req_t *req = c->inflight; req; prev = req, req = req->next) {
        if (req->correlation_id != correlation_id) continue;
        if (prev)
            prev->next = req->next;
        else
            c->inflight = req->next;
        if (c->inflight_tail == req) c->inflight_tail = prev;
        req->next = NULL;
        return req;
    }
    return NULL;
}

/* One whole response frame (without its length prefix). Returns false if
   it closed the connection. */
static bool client_response(rn_client_t *c, done_list_t *dl, const uint8_t *frame, size_t len) {
    rn_reader_t r;
    rn_reader_init(&r, frame, len);
    int32_t correlation_id = rn_read_int32(&r);
    rn_client_req_t *req = client_inflight_take(c, correlation_id);
    if (!req) {
        char why[96];
        snprintf(why, sizeof why, "response with unknown correlation id %d", correlation_id);
        client_disconnect(c, dl, RN_CLIENT_LOG_PROTOCOL, why);
        return false;
    }
    /* Runnel's own keys (outside Kafka's table) answer with header v0. */
    const rn_api_info_t *api = rn_api_info(req->api_key);
    if (api && rn_api_response_header_version(api, req->api_version) >= 1) rn_read_tagged_skip(&r);
    if (r.err != RN_OK) {
        client_end(c, dl, req, RN_ERR_CLOSED);
        client_disconnect(c, dl, RN_CLIENT_LOG_PROTOCOL, "malformed response header");
        return false;
    }
    c->failures = 0;
    req->body = frame + r.pos;
    req->body_len = len - r.pos;
    client_end(c, dl, req, RN_OK);
    return true;
}

/* Splits whole frames off the read buffer into dl; returns the bytes
   taken, or SIZE_MAX if a bad frame closed the connection. */
static size_t client_take_frames(rn_client_t *c, rn_client_link_t *link, done_list_t *dl) {
    size_t pos = 0;
    while (link->rbuf.len - pos >= 4) {
        int32_t n = (int32_t)rn_be32_get(link->rbuf.ptr + pos);
        if (n < CLIENT_RESPONSE_BYTES_MIN || n > c->opts.response_bytes_max) {
            char why[96];
            snprintf(why, sizeof why, "response frame length %d outside [%d, %d]", n,
                     CLIENT_RESPONSE_BYTES_MIN, c->opts.response_bytes_max);
            client_disconnect(c, dl, RN_CLIENT_LOG_PROTOCOL, why);
            return SIZE_MAX;
        }
        if (link->rbuf.len - pos - 4 < (size_t)n) break;
        if (!client_response(c, dl, link->rbuf.ptr + pos + 4, (size_t)n)) return SIZE_MAX;
        pos += 4 + (size_t)n;
    }
    return pos;
}

/* Room for the next read: the staging size, or more of a frame larger than
   the buffer (doubling as its bytes arrive, so an announced length alone
   costs nothing). */
static rn_err_t link_room(rn_client_link_t *link) {
    rn_buf_t *rbuf = &link->rbuf;
    if (rbuf->cap - rbuf->len > 0) return RN_OK;
    size_t want = RN_CLIENT_RBUF_BYTES;
    if (rbuf->len >= 4) {
        size_t need = 4 + (size_t)rn_be32_get(rbuf->ptr) - rbuf->len;
        size_t step = rbuf->cap > want ? rbuf->cap : want;
        want = need < step ? need : step;
    }
    /* Whatever is buffered is at most one partial frame, and a frame fits. */
    if (want > rbuf->len_max - rbuf->len) want = rbuf->len_max - rbuf->len;
    RN_ASSERT(want > 0);
    return rn_buf_reserve(rbuf, want);
}

/* Reads until the socket is drained, completing calls per chunk read.
   Returns when the connection is no longer the client's. */
static void client_read(rn_client_t *c, rn_client_link_t *link) {
    rn_io_t *io = c->loop->io;
    for (;;) {
        done_list_t dl = {0};
        if (link_room(link) != RN_OK) {
            client_disconnect(c, &dl, RN_CLIENT_LOG_CLOSE, "out of memory for a response");
            done_list_run(&dl);
            return;
        }
        size_t n = 0;
        rn_buf_t *rbuf = &link->rbuf;
        rn_err_t err =
            io->ops->sock_read(io, link->fd, rbuf->ptr + rbuf->len, rbuf->cap - rbuf->len, &n);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            client_disconnect(c, &dl, RN_CLIENT_LOG_CLOSE,
                              err == RN_ERR_CLOSED ? "closed by the peer" : rn_err_name(err));
            done_list_run(&dl);
            return;
        }
        rn_stats_add(&c->stats.bytes_in_total, n);
        rbuf->len += n;
        size_t taken = client_take_frames(c, link, &dl);
        done_list_run(&dl); /* bodies borrow rbuf: it stays put until here */
        if (taken == SIZE_MAX || link->closed) return;
        rn_buf_consume(rbuf, taken);
    }
}

/* ---- entry points from the loop ---- */

static void client_ready(rn_watch_t *watch, uint32_t events) {
    rn_client_link_t *link = (rn_client_link_t *)watch;
    if (link->closed) return; /* an event queued before it closed */
    rn_client_t *c = link->client;
    done_list_t dl = {0};
    if (!link->connected) {
        if (events & RN_IO_EV_HUP) {
            client_disconnect(c, &dl, RN_CLIENT_LOG_CONNECT, "connect refused or reset");
            done_list_run(&dl);
            return;
        }
        if (!(events & RN_IO_EV_WRITE)) return;
        link->connected = true;
        rn_loop_timer_stop(c->loop, &c->connect_timer);
    }
    if (events & RN_IO_EV_WRITE) client_write(c, &dl);
    done_list_run(&dl);
    if (!link->closed && (events & (RN_IO_EV_READ | RN_IO_EV_HUP))) client_read(c, link);
}

static void client_kick_fire(rn_timer_t *timer) {
    rn_client_t *c = CLIENT_OF(timer, kick_timer);
    done_list_t dl = {0};
    if (!c->link && !c->backing_off && !c->resolve && c->queue_head) client_attempt(c);
    if (c->link && c->link->connected) client_write(c, &dl);
    done_list_run(&dl);
}

static void client_backoff_fire(rn_timer_t *timer) {
    rn_client_t *c = CLIENT_OF(timer, backoff_timer);
    c->backing_off = false;
    if (c->queue_head) client_attempt(c); /* else the next send connects */
}

/* Looks at the lookup in progress: connects once it has an address, ends
   the attempt if it failed or ran past its deadline, else looks again a
   little later (doubling up to RN_CLIENT_RESOLVE_POLL_MS_MAX). */
static void client_resolve_fire(rn_timer_t *timer) {
    rn_client_t *c = CLIENT_OF(timer, resolve_timer);
    RN_ASSERT(c->resolve != NULL);
    RN_ASSERT(c->link == NULL);
    rn_io_t *io = c->loop->io;
    rn_io_addrs_t addrs;
    rn_err_t err = io->ops->resolve_poll(io, c->resolve, &addrs);
    int64_t left_ms = c->resolve_deadline_ms - rn_io_now_ms(io);
    if (err == RN_ERR_AGAIN && left_ms > 0) {
        c->resolve_poll_ms *= 2;
        if (c->resolve_poll_ms > RN_CLIENT_RESOLVE_POLL_MS_MAX)
            c->resolve_poll_ms = RN_CLIENT_RESOLVE_POLL_MS_MAX;
        rn_loop_timer_start(c->loop, &c->resolve_timer,
                            left_ms < c->resolve_poll_ms ? left_ms : c->resolve_poll_ms);
        return;
    }
    client_resolve_drop(c);
    if (err == RN_OK)
        client_connect(c, &addrs);
    else
        client_resolve_failed(c, err == RN_ERR_AGAIN ? RN_ERR_TIMEOUT : err);
}

static void client_connect_fire(rn_timer_t *timer) {
    rn_client_t *c = CLIENT_OF(timer, connect_timer);
    done_list_t dl = {0};
    RN_ASSERT(c->link && !c->link->connected);
    char why[64];
    snprintf(why, sizeof why, "connect timed out after %lld ms",
             (long long)c->opts.connect_timeout_ms);
    client_disconnect(c, &dl, RN_CLIENT_LOG_CONNECT, why);
    done_list_run(&dl);
}

/* Ends the expired calls of one list but `keep` (a partly written head). */
static int client_expire_list(rn_client_t *c, done_list_t *dl, rn_client_req_t **head,
                              rn_client_req_t **tail, const rn_client_req_t *keep, int64_t now_ms) {
    int expired = 0;
    rn_client_req_t *prev = NULL, *req = *head;
    while (req) {
        rn_client_req_t *next = req->next;
        if (req->deadline_ms > now_ms || req == keep) {
            prev = req;
            req = next;
            continue;
        }
        if (prev)
            prev->next = next;
        else
            *head = next;
        if (*tail == req) *tail = prev;
        expired++;
        client_end(c, dl, req, RN_ERR_TIMEOUT);
        req = next;
    }
    return expired;
}

/* Calls past their deadline end with RN_ERR_TIMEOUT. One that was written
   (even in part) closes the connection: its answer may still come, and
   would be taken for another's after a reconnect. */
static void client_deadline_fire(rn_timer_t *timer) {
    rn_client_t *c = CLIENT_OF(timer, deadline_timer);
    done_list_t dl = {0};
    int64_t now_ms = rn_io_now_ms(c->loop->io);
    rn_client_req_t *partial = c->head_written ? c->queue_head : NULL;
    bool partial_expired = partial && partial->deadline_ms <= now_ms;
    int on_wire = client_expire_list(c, &dl, &c->inflight, &c->inflight_tail, NULL, now_ms);
    client_expire_list(c, &dl, &c->queue_head, &c->queue_tail, partial, now_ms);
    if (partial_expired) {
        RN_ASSERT(c->queue_head == partial);
        c->queue_head = partial->next;
        if (!c->queue_head) c->queue_tail = NULL;
        c->head_written = 0;
        client_end(c, &dl, partial, RN_ERR_TIMEOUT);
    }
    if ((on_wire || partial_expired) && c->link)
        client_disconnect(c, &dl, RN_CLIENT_LOG_CLOSE, "request timed out");
    client_deadline_arm(c);
    done_list_run(&dl);
}

/* ---- the API ---- */

void rn_client_opts_default(rn_client_opts_t *opts) {
    *opts = (rn_client_opts_t){
        .client_id = NULL,
        .request_timeout_ms = RN_CLIENT_REQUEST_TIMEOUT_MS_DEFAULT,
        .resolve_timeout_ms = RN_CLIENT_RESOLVE_TIMEOUT_MS_DEFAULT,
        .connect_timeout_ms = RN_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT,
        .backoff_ms_min = RN_CLIENT_BACKOFF_MS_MIN_DEFAULT,
        .backoff_ms_max = RN_CLIENT_BACKOFF_MS_MAX_DEFAULT,
        .queue_max = RN_CLIENT_QUEUE_MAX_DEFAULT,
        .response_bytes_max = RN_CLIENT_RESPONSE_BYTES_MAX_DEFAULT,
    };
}

static void client_logs_init(rn_client_t *c) {
    static const struct {
        rn_log_level_t level;
        const char *cause;
    } causes[RN_CLIENT_LOG__COUNT] = {
        [RN_CLIENT_LOG_CONNECT] = {RN_LOG_WARN, "failed connects to a peer"},
        [RN_CLIENT_LOG_PROTOCOL] = {RN_LOG_WARN, "bad responses from a peer"},
        [RN_CLIENT_LOG_CLOSE] = {RN_LOG_INFO, "connections to a peer closed"},
    };
    for (int i = 0; i < RN_CLIENT_LOG__COUNT; i++)
        rn_log_limit_init(&c->log_limits[i], causes[i].level, "client", causes[i].cause,
                          RN_LOG_LIMIT_LINES, RN_LOG_LIMIT_WINDOW_MS);
}

static bool client_opts_valid(const rn_client_opts_t *opts) {
    return opts->request_timeout_ms > 0 && opts->resolve_timeout_ms > 0 &&
           opts->connect_timeout_ms > 0 && opts->backoff_ms_min > 0 &&
           opts->backoff_ms_max >= opts->backoff_ms_min && opts->queue_max > 0 &&
           opts->queue_max <= RN_CLIENT_QUEUE_MAX_CEILING &&
           opts->response_bytes_max >= CLIENT_RESPONSE_BYTES_MIN &&
           opts->response_bytes_max <= RN_REQUEST_BYTES_MAX_CEILING;
}

rn_err_t rn_client_init(rn_client_t *c, rn_loop_t *loop, const char *host, uint16_t port,
                        const rn_client_opts_t *opts) {
    RN_ASSERT(loop != NULL);
    RN_ASSERT(host != NULL);
    *c = (rn_client_t){0};
    if (opts)
        c->opts = *opts;
    else
        rn_client_opts_default(&c->opts);
    const char *client_id = c->opts.client_id ? c->opts.client_id : "runnel";
    if (!client_opts_valid(&c->opts) || strlen(host) >= sizeof c->host ||
        strlen(client_id) >= sizeof c->client_id)
        return RN_ERR_INVALID;
    memcpy(c->host, host, strlen(host) + 1);
    memcpy(c->client_id, client_id, strlen(client_id) + 1);
    c->opts.client_id = c->client_id;
    c->port = port;
    c->loop = loop;
    rn_timer_init(&c->kick_timer, client_kick_fire);
    rn_timer_init(&c->backoff_timer, client_backoff_fire);
    rn_timer_init(&c->resolve_timer, client_resolve_fire);
    rn_timer_init(&c->connect_timer, client_connect_fire);
    rn_timer_init(&c->deadline_timer, client_deadline_fire);
    client_logs_init(c);
    return RN_OK;
}

/* Encodes the whole request frame of a call into req->frame. */
static rn_err_t client_encode(rn_client_t *c, rn_client_req_t *req, const rn_client_call_t *call) {
    /* A key outside Kafka's table is one of Runnel's own (the Raft
       transport's, the quorum probe's): header v1, its body given encoded;
       an answer, if one is due, comes with header v0. */
    const rn_api_info_t *api = rn_api_info(call->api_key);
    RN_ASSERT(api != NULL || call->msg == NULL);
    RN_ASSERT(!api || call->api_version >= api->version_min);
    RN_ASSERT(!api || call->api_version <= api->version_max_defined);
    rn_request_header_t header = {call->api_key, call->api_version, req->correlation_id,
                                  rn_str_from_cstr(c->client_id)};
    int16_t header_version = api ? rn_api_request_header_version(api, call->api_version) : 1;
    size_t body_len = call->msg ? api->request_size(call->api_version, call->msg) : call->body.len;
    size_t len = rn_request_header_size(header_version, &header) + body_len;
    if (len > RN_CLIENT_REQUEST_BYTES_MAX) return RN_ERR_TOO_LARGE;
    rn_buf_init(&req->frame, 4 + len);
    rn_err_t err = rn_buf_reserve(&req->frame, 4 + len);
    if (err != RN_OK) return err;
    rn_writer_t w;
    rn_writer_init(&w, &req->frame);
    rn_write_int32(&w, (int32_t)len);
    rn_request_header_encode(&w, header_version, &header);
    if (call->msg)
        api->request_encode(&w, call->api_version, call->msg);
    else
        rn_write_raw(&w, call->body.ptr, call->body.len);
    if (w.err != RN_OK) return w.err;
    RN_ASSERT(req->frame.len == 4 + len);
    return RN_OK;
}

rn_err_t rn_client_send(rn_client_t *c, const rn_client_call_t *call) {
    RN_ASSERT(call->body.len == 0 || call->msg == NULL);
    if (c->closed) return RN_ERR_CLOSED;
    if (c->pending >= c->opts.queue_max) return RN_ERR_LIMIT;
    rn_client_req_t *req = calloc(1, sizeof *req);
    if (!req) return RN_ERR_NO_MEMORY;
    req->correlation_id = c->correlation_next;
    rn_err_t err = client_encode(c, req, call);
    if (err != RN_OK) {
        req_free(req);
        return err;
    }
    c->correlation_next = c->correlation_next == INT32_MAX ? 0 : c->correlation_next + 1;
    req->api_key = call->api_key;
    req->api_version = call->api_version;
    req->one_way = call->one_way;
    req->done = call->done;
    req->ctx = call->ctx;
    int64_t timeout_ms = call->timeout_ms > 0 ? call->timeout_ms : c->opts.request_timeout_ms;
    req->deadline_ms = rn_io_now_ms(c->loop->io) + timeout_ms;
    list_append(&c->queue_head, &c->queue_tail, req);
    c->pending++;
    if (c->deadline_timer.heap_index < 0 || req->deadline_ms < c->deadline_timer.deadline_ms)
        rn_loop_timer_start(c->loop, &c->deadline_timer, timeout_ms);
    client_kick(c);
    return RN_OK;
}

void rn_client_set_peer(rn_client_t *c, const char *host, uint16_t port) {
    RN_ASSERT(host != NULL);
    RN_ASSERT(strlen(host) < sizeof c->host);
    if (c->closed || (port == c->port && strcmp(host, c->host) == 0)) return;
    memcpy(c->host, host, strlen(host) + 1);
    c->port = port;
    done_list_t dl = {0};
    client_resolve_drop(c); /* a lookup of the old name */
    if (c->link) link_close(c, &dl);
    c->failures = 0;
    c->backing_off = false;
    rn_loop_timer_stop(c->loop, &c->backoff_timer);
    client_kick(c);
    done_list_run(&dl);
}

void rn_client_close(rn_client_t *c) {
    if (c->closed) return;
    c->closed = true;
    done_list_t dl = {0};
    client_resolve_drop(c);
    if (c->link) link_close(c, &dl);
    while (c->queue_head) {
        rn_client_req_t *req = c->queue_head;
        c->queue_head = req->next;
        client_end(c, &dl, req, RN_ERR_CLOSED);
    }
    c->queue_tail = NULL;
    c->head_written = 0;
    RN_ASSERT(c->pending == 0);
    rn_loop_timer_stop(c->loop, &c->kick_timer);
    rn_loop_timer_stop(c->loop, &c->backoff_timer);
    rn_loop_timer_stop(c->loop, &c->connect_timer);
    rn_loop_timer_stop(c->loop, &c->deadline_timer);
    done_list_run(&dl);
}

bool rn_client_connected(const rn_client_t *c) { return c->link && c->link->connected; }
