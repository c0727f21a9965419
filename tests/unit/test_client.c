/*
 * test_client.c: the outbound client (src/net/client.c) against a small
 * server in this file, over real loopback sockets through rn_io_linux, both
 * on one loop: correlation (in order and out of order), one-way sends,
 * refused connects and backoff, a server restart mid-stream, timeouts, the
 * queue bound, an unresolvable name fixed by set_peer, garbage and bad
 * frames, close with calls pending (also from inside a completion), an
 * ApiVersions round trip through the generated codec, and name lookups
 * (through a backend whose lookups the test answers): a slow one leaves
 * the loop running, one past its deadline backs off and retries, close and
 * a peer change during one, numeric hosts with none, addresses in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/client.h"
#include "proto/gen/api.h"
#include "proto/gen/api_versions_request.h"
#include "proto/gen/api_versions_response.h"
#include "base/endian.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the test server ---- */

typedef enum srv_mode {
    SRV_ECHO,         /* answers each request with its own body */
    SRV_SILENT,       /* reads, never answers */
    SRV_BAD_LENGTH,   /* answers with a frame length no response may have */
    SRV_UNKNOWN_ID,   /* answers with a correlation id nobody asked for */
    SRV_MID_FRAME,    /* sends half a response frame, then closes */
    SRV_REVERSE,      /* holds requests until srv.hold are in, answers last first */
    SRV_API_VERSIONS, /* decodes ApiVersions with the codec and answers it */
} srv_mode_t;

#define SRV_CONNS_MAX 16
#define SRV_HELD_MAX 64

typedef struct srv srv_t;

typedef struct srv_conn {
    rn_watch_t watch;
    srv_t *srv;
    rn_fd_t fd;
    bool open;
    rn_buf_t in;
    rn_buf_t out;
} srv_conn_t;

typedef struct held {
    srv_conn_t *conn;
    int32_t correlation_id;
    int resp_header_version;
    uint8_t *body;
    size_t len;
} held_t;

struct srv {
    rn_loop_t *loop;
    rn_io_t *io;
    rn_fd_t listen_fd;
    rn_watch_t listen_watch;
    uint16_t port;
    srv_mode_t mode;
    srv_conn_t conns[SRV_CONNS_MAX];
    int accepted;
    int frames;         /* request frames read */
    char client_id[64]; /* of the last request */
    int header_version; /* of the last request */
    int hold;           /* SRV_REVERSE: requests to gather */
    held_t held[SRV_HELD_MAX];
    int held_count;
    char software_name[64]; /* of the last ApiVersions request */
};

static void srv_flush(srv_conn_t *conn) {
    while (conn->open && conn->out.len > 0) {
        struct iovec iov = {conn->out.ptr, conn->out.len};
        size_t n = 0;
        rn_err_t err = conn->srv->io->ops->sock_writev(conn->srv->io, conn->fd, &iov, 1, &n);
        if (err != RN_OK) return;
        rn_buf_consume(&conn->out, n);
    }
}

static void srv_conn_close(srv_conn_t *conn) {
    if (!conn->open) return;
    rn_loop_watch(conn->srv->loop, conn->fd, 0, &conn->watch);
    conn->srv->io->ops->sock_close(conn->srv->io, conn->fd);
    conn->open = false;
    rn_buf_free(&conn->in);
    rn_buf_free(&conn->out);
}

static void srv_answer(srv_conn_t *conn, int32_t correlation_id, int resp_header_version,
                       const uint8_t *body, size_t len) {
    uint8_t head[9];
    size_t head_len = 8;
    rn_be32_put(head + 4, (uint32_t)correlation_id);
    if (resp_header_version >= 1) head[head_len++] = 0; /* no tagged fields */
    rn_be32_put(head, (uint32_t)(head_len - 4 + len));
    assert_int_equal(rn_buf_append(&conn->out, head, head_len), RN_OK);
    assert_int_equal(rn_buf_append(&conn->out, body, len), RN_OK);
}

static void srv_api_versions(srv_conn_t *conn, int32_t correlation_id, int16_t version,
                             rn_reader_t *r) {
    rn_arena_t arena;
    rn_arena_init(&arena, 1 << 20);
    rn_api_versions_request_t req;
    assert_int_equal(rn_api_versions_request_decode(r, &arena, version, &req), RN_OK);
    snprintf(conn->srv->software_name, sizeof conn->srv->software_name, "%.*s",
             (int)req.client_software_name.len, req.client_software_name.ptr);
    rn_api_versions_response_api_version_t keys[2] = {{RN_API_PRODUCE, 3, 11}, {RN_API_VOTE, 0, 1}};
    rn_api_versions_response_t resp;
    rn_api_versions_response_init(&resp);
    resp.api_keys.items = keys;
    resp.api_keys.count = 2;
    resp.throttle_time_ms = 7;
    rn_buf_t body;
    rn_buf_init(&body, 1 << 20);
    rn_writer_t w;
    rn_writer_init(&w, &body);
    rn_api_versions_response_encode(&w, version, &resp);
    assert_int_equal(w.err, RN_OK);
    srv_answer(conn, correlation_id, 0, body.ptr, body.len); /* header v0 always */
    rn_buf_free(&body);
    rn_arena_free(&arena);
}

static void srv_reverse(srv_conn_t *conn, int32_t correlation_id, int hv, const uint8_t *body,
                        size_t len) {
    srv_t *srv = conn->srv;
    assert_true(srv->held_count < SRV_HELD_MAX);
    held_t *h = &srv->held[srv->held_count++];
    *h = (held_t){conn, correlation_id, hv, malloc(len + 1), len};
    memcpy(h->body, body, len);
    if (srv->held_count < srv->hold) return;
    for (int i = srv->held_count - 1; i >= 0; i--) {
        h = &srv->held[i];
        srv_answer(h->conn, h->correlation_id, h->resp_header_version, h->body, h->len);
        free(h->body);
    }
    srv->held_count = 0;
}

/* One whole request frame (after its length prefix). */
static void srv_frame(srv_conn_t *conn, const uint8_t *frame, size_t len) {
    srv_t *srv = conn->srv;
    rn_reader_t r;
    rn_reader_init(&r, frame, len);
    int16_t key = rn_read_int16(&r);
    int16_t version = rn_read_int16(&r);
    int32_t correlation_id = rn_read_int32(&r);
    const rn_api_info_t *api = rn_api_info(key);
    assert_non_null(api);
    srv->header_version = rn_api_request_header_version(api, version);
    rn_str_t client_id = rn_read_string(&r, false);
    if (srv->header_version >= 2) rn_read_tagged_skip(&r);
    assert_int_equal(r.err, RN_OK);
    snprintf(srv->client_id, sizeof srv->client_id, "%.*s", (int)client_id.len, client_id.ptr);
    srv->frames++;
    int hv = rn_api_response_header_version(api, version);
    const uint8_t *body = frame + r.pos;
    size_t body_len = len - r.pos;
    static const uint8_t junk[] = {0, 0, 0, 9, 1, 2, 3};
    switch (srv->mode) {
    case SRV_ECHO:
        srv_answer(conn, correlation_id, hv, body, body_len);
        break;
    case SRV_SILENT:
        break;
    case SRV_BAD_LENGTH:
        assert_int_equal(rn_buf_append(&conn->out, "\xff\xff\xff\xf0garbage", 11), RN_OK);
        break;
    case SRV_UNKNOWN_ID:
        srv_answer(conn, correlation_id + 100000, hv, body, body_len);
        break;
    case SRV_MID_FRAME:
        assert_int_equal(rn_buf_append(&conn->out, junk, sizeof junk), RN_OK);
        srv_flush(conn);
        srv_conn_close(conn);
        return;
    case SRV_REVERSE:
        srv_reverse(conn, correlation_id, hv, body, body_len);
        break;
    case SRV_API_VERSIONS:
        assert_int_equal(key, RN_API_API_VERSIONS);
        srv_api_versions(conn, correlation_id, version, &r);
        break;
    }
    srv_flush(conn);
}

static void srv_take_frames(srv_conn_t *conn) {
    size_t pos = 0;
    while (conn->open && conn->in.len - pos >= 4) {
        size_t n = rn_be32_get(conn->in.ptr + pos);
        if (conn->in.len - pos - 4 < n) break;
        srv_frame(conn, conn->in.ptr + pos + 4, n);
        pos += 4 + n;
    }
    if (conn->open) rn_buf_consume(&conn->in, pos);
}

static void srv_conn_ready(rn_watch_t *watch, uint32_t events) {
    srv_conn_t *conn = (srv_conn_t *)watch;
    if (!conn->open) return;
    if (events & RN_IO_EV_WRITE) srv_flush(conn);
    while (conn->open) {
        assert_int_equal(rn_buf_reserve(&conn->in, 64 * 1024), RN_OK);
        size_t n = 0;
        rn_err_t err = conn->srv->io->ops->sock_read(
            conn->srv->io, conn->fd, conn->in.ptr + conn->in.len, conn->in.cap - conn->in.len, &n);
        if (err == RN_ERR_AGAIN) return;
        if (err != RN_OK) {
            srv_conn_close(conn);
            return;
        }
        conn->in.len += n;
        srv_take_frames(conn);
    }
}

static void srv_accept(rn_watch_t *watch, uint32_t events) {
    (void)events;
    srv_t *srv = (srv_t *)((char *)watch - offsetof(srv_t, listen_watch));
    for (;;) {
        rn_fd_t fd;
        if (srv->io->ops->tcp_accept(srv->io, srv->listen_fd, &fd) != RN_OK) return;
        srv_conn_t *conn = NULL;
        for (int i = 0; i < SRV_CONNS_MAX && !conn; i++)
            if (!srv->conns[i].open) conn = &srv->conns[i];
        assert_non_null(conn);
        *conn = (srv_conn_t){.watch.on_ready = srv_conn_ready, .srv = srv, .fd = fd, .open = true};
        rn_buf_init(&conn->in, 64 << 20);
        rn_buf_init(&conn->out, 64 << 20);
        srv->accepted++;
        assert_int_equal(rn_loop_watch(srv->loop, fd, RN_IO_EV_READ | RN_IO_EV_WRITE, &conn->watch),
                         RN_OK);
        srv_conn_ready(&conn->watch, RN_IO_EV_READ);
    }
}

/* Listens on port (0: any); the same port again after srv_stop. */
static void srv_start(srv_t *srv, uint16_t port) {
    assert_int_equal(
        srv->io->ops->tcp_listen(srv->io, "127.0.0.1", port, &srv->listen_fd, &srv->port), RN_OK);
    srv->listen_watch.on_ready = srv_accept;
    assert_int_equal(rn_loop_watch(srv->loop, srv->listen_fd, RN_IO_EV_READ, &srv->listen_watch),
                     RN_OK);
}

/* Closes the listener and every connection (the port stays known). */
static void srv_stop(srv_t *srv) {
    for (int i = 0; i < SRV_CONNS_MAX; i++) srv_conn_close(&srv->conns[i]);
    if (srv->listen_fd != RN_FD_NONE) {
        rn_loop_watch(srv->loop, srv->listen_fd, 0, &srv->listen_watch);
        srv->io->ops->sock_close(srv->io, srv->listen_fd);
        srv->listen_fd = RN_FD_NONE;
    }
    for (int i = 0; i < srv->held_count; i++) free(srv->held[i].body);
    srv->held_count = 0;
}

/* ---- a backend with lookups under the test's control ---- */

/* The Linux backend, but a name ending in ".slow" is looked up by the test:
   resolve_start hands out a handle and resolve_poll answers RN_ERR_AGAIN
   until the test answers it (or dns.answer_all is set). A released lookup
   must never be polled again. Lookups that reach the real resolver (not
   numeric, not ".slow") are counted. */
#define DNS_LOOKUPS_MAX 64

typedef struct dns_lookup {
    char host[64];
    bool released;
    bool answered;
    rn_err_t err;
    rn_io_addrs_t addrs;
} dns_lookup_t;

typedef struct dns {
    rn_io_t io;
    rn_io_ops_t ops;
    dns_lookup_t lookups[DNS_LOOKUPS_MAX];
    int started;  /* fake lookups handed out */
    int released; /* fake lookups given back */
    int polls;    /* of fake lookups */
    int real;     /* lookups handed to the real resolver */
    bool answer_all;
    rn_io_addrs_t answer; /* with answer_all: what every lookup finds */
} dns_t;

static dns_t *dns_of(rn_io_t *io) { return (dns_t *)((char *)io - offsetof(dns_t, io)); }

static dns_lookup_t *dns_fake(dns_t *dns, rn_io_resolve_t *res) {
    dns_lookup_t *l = (dns_lookup_t *)res;
    return l >= dns->lookups && l < dns->lookups + DNS_LOOKUPS_MAX ? l : NULL;
}

static rn_err_t dns_start(rn_io_t *io, const char *host, uint16_t port, rn_io_addrs_t *addrs,
                          rn_io_resolve_t **res) {
    dns_t *dns = dns_of(io);
    size_t len = strlen(host);
    if (len < 5 || strcmp(host + len - 5, ".slow") != 0) {
        rn_err_t err = rn_io_linux()->ops->resolve_start(rn_io_linux(), host, port, addrs, res);
        if (err == RN_ERR_AGAIN) dns->real++;
        return err;
    }
    assert_true(dns->started < DNS_LOOKUPS_MAX);
    dns_lookup_t *l = &dns->lookups[dns->started++];
    snprintf(l->host, sizeof l->host, "%s", host);
    *res = (rn_io_resolve_t *)l;
    return RN_ERR_AGAIN;
}

static rn_err_t dns_poll(rn_io_t *io, rn_io_resolve_t *res, rn_io_addrs_t *addrs) {
    dns_t *dns = dns_of(io);
    dns_lookup_t *l = dns_fake(dns, res);
    if (!l) return rn_io_linux()->ops->resolve_poll(rn_io_linux(), res, addrs);
    assert_false(l->released);
    dns->polls++;
    if (dns->answer_all && !l->answered) {
        l->answered = true;
        l->addrs = dns->answer;
    }
    if (!l->answered) return RN_ERR_AGAIN;
    if (l->err == RN_OK) *addrs = l->addrs;
    return l->err;
}

static void dns_release(rn_io_t *io, rn_io_resolve_t *res) {
    dns_t *dns = dns_of(io);
    dns_lookup_t *l = dns_fake(dns, res);
    if (!l) {
        rn_io_linux()->ops->resolve_release(rn_io_linux(), res);
        return;
    }
    assert_false(l->released);
    l->released = true;
    dns->released++;
}

static void dns_init(dns_t *dns) {
    dns->ops = *rn_io_linux()->ops;
    dns->ops.resolve_start = dns_start;
    dns->ops.resolve_poll = dns_poll;
    dns->ops.resolve_release = dns_release;
    dns->io = (rn_io_t){&dns->ops, rn_io_linux()->impl};
}

/* The addresses of a numeric host, as a lookup would find them. */
static rn_io_addrs_t numeric_addrs(const char *host, uint16_t port) {
    rn_io_addrs_t addrs = {0};
    rn_io_resolve_t *res = NULL;
    assert_int_equal(rn_io_linux()->ops->resolve_start(rn_io_linux(), host, port, &addrs, &res),
                     RN_OK);
    assert_null(res);
    return addrs;
}

/* ---- fixture ---- */

#define CALLS_MAX 256

typedef struct rec {
    int calls; /* completions seen: must end at exactly one */
    rn_err_t err;
    uint8_t body[512];
    size_t len;
    rn_client_t *close_client; /* closes this client from inside the completion */
} rec_t;

typedef struct world {
    dns_t dns; /* the loop's backend */
    rn_loop_t loop;
    srv_t srv;
    rn_client_t client;
    rn_client_opts_t opts;
    rec_t recs[CALLS_MAX];
} world_t;

static void on_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rec_t *rec = ctx;
    rec->calls++;
    rec->err = err;
    rec->len = len;
    if (body && len <= sizeof rec->body) memcpy(rec->body, body, len);
    if (rec->close_client) rn_client_close(rec->close_client);
}

static int setup(void **state) {
    world_t *w = calloc(1, sizeof *w);
    assert_non_null(w);
    dns_init(&w->dns);
    assert_int_equal(rn_loop_init(&w->loop, &w->dns.io, 0), RN_OK);
    w->srv.loop = &w->loop;
    w->srv.io = w->loop.io;
    w->srv.listen_fd = RN_FD_NONE;
    rn_client_opts_default(&w->opts);
    w->opts.client_id = "test-client";
    w->opts.backoff_ms_min = 10;
    w->opts.backoff_ms_max = 80;
    w->opts.request_timeout_ms = 5000;
    *state = w;
    return 0;
}

static int teardown(void **state) {
    world_t *w = *state;
    if (w->client.loop) rn_client_close(&w->client);
    srv_stop(&w->srv);
    rn_loop_turn(&w->loop, 0); /* frees closed connections (mail) */
    rn_loop_drain(&w->loop);
    rn_loop_destroy(&w->loop);
    free(w);
    return 0;
}

static int64_t now_ms(world_t *w) { return rn_io_now_ms(w->loop.io); }

#define RUN_UNTIL(w, cond, ms)                                                                     \
    do {                                                                                           \
        int64_t end_ = now_ms(w) + (ms);                                                           \
        while (!(cond) && now_ms(w) < end_) rn_loop_turn(&(w)->loop, 5);                           \
    } while (0)

static void run_for(world_t *w, int ms) {
    int64_t end = now_ms(w) + ms;
    while (now_ms(w) < end) rn_loop_turn(&w->loop, 5);
}

static void client_start(world_t *w, const char *host) {
    assert_int_equal(rn_client_init(&w->client, &w->loop, host, w->srv.port, &w->opts), RN_OK);
}

/* Sends an opaque body: Metadata v12 is flexible (request header v2,
   response header v1), v4 is not (v1 and v0). */
static rn_err_t send_body(world_t *w, int i, int16_t version, bool one_way) {
    static char bodies[CALLS_MAX][32];
    snprintf(bodies[i], sizeof bodies[i], "body-%d", i);
    rn_client_call_t call = {
        .api_key = RN_API_METADATA,
        .api_version = version,
        .body = rn_slice(bodies[i], strlen(bodies[i])),
        .one_way = one_way,
        .done = on_done,
        .ctx = &w->recs[i],
    };
    return rn_client_send(&w->client, &call);
}

static void assert_echoed(world_t *w, int i) {
    char want[32];
    snprintf(want, sizeof want, "body-%d", i);
    assert_int_equal(w->recs[i].calls, 1);
    assert_int_equal(w->recs[i].err, RN_OK);
    assert_int_equal(w->recs[i].len, strlen(want));
    assert_memory_equal(w->recs[i].body, want, strlen(want));
}

static int done_count(world_t *w, int n) {
    int done = 0;
    for (int i = 0; i < n; i++) done += w->recs[i].calls > 0;
    return done;
}

/* ---- cases ---- */

static void test_many_in_flight_in_order(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    assert_false(rn_client_connected(&w->client));
    for (int i = 0; i < 200; i++) assert_int_equal(send_body(w, i, i % 2 ? 12 : 4, false), RN_OK);
    for (int i = 0; i < 200; i++) assert_int_equal(w->recs[i].calls, 0); /* never inside send */
    RUN_UNTIL(w, done_count(w, 200) == 200, 3000);
    for (int i = 0; i < 200; i++) assert_echoed(w, i);
    assert_true(rn_client_connected(&w->client));
    assert_int_equal(w->srv.accepted, 1);
    assert_int_equal(w->srv.frames, 200);
    assert_string_equal(w->srv.client_id, "test-client");
    assert_int_equal(rn_stats_read(&w->client.stats.requests_sent_total), 200);
    assert_int_equal(rn_stats_read(&w->client.stats.requests_failed_total), 0);
    assert_int_equal(rn_stats_read(&w->client.stats.reconnects_total), 0);
    assert_true(rn_stats_read(&w->client.stats.bytes_out_total) > 200 * 20);
    assert_true(rn_stats_read(&w->client.stats.bytes_in_total) > 200 * 10);
    assert_int_equal(rn_client_pending(&w->client), 0);
}

static void test_out_of_order_answers(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_REVERSE;
    w->srv.hold = 20;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 20; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    RUN_UNTIL(w, done_count(w, 20) == 20, 3000);
    for (int i = 0; i < 20; i++) assert_echoed(w, i);
    assert_int_equal(w->srv.accepted, 1);
}

static void test_one_way(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_SILENT;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 5; i++) assert_int_equal(send_body(w, i, 12, true), RN_OK);
    RUN_UNTIL(w, done_count(w, 5) == 5 && w->srv.frames == 5, 3000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(w->recs[i].calls, 1);
        assert_int_equal(w->recs[i].err, RN_OK);
        assert_int_equal(w->recs[i].len, 0);
    }
    assert_int_equal(w->srv.frames, 5);
    assert_int_equal(rn_client_pending(&w->client), 0);
    /* The same connection then carries an ordinary call. */
    w->srv.mode = SRV_ECHO;
    assert_int_equal(send_body(w, 5, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[5].calls, 3000);
    assert_echoed(w, 5);
    assert_int_equal(w->srv.accepted, 1);
}

static void test_refused_then_server_comes_up(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0); /* learn a free port, then free it */
    srv_stop(&w->srv);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 3; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    run_for(w, 300);
    assert_int_equal(done_count(w, 3), 0); /* queued, not failed */
    uint64_t failures = rn_stats_read(&w->client.stats.connect_failures_total);
    /* Backing off 10, 20, 40, 80, 80 ms (+-20%): a few attempts, not hundreds. */
    assert_true(failures >= 3);
    assert_true(failures <= 12);
    assert_true(rn_stats_read(&w->client.stats.reconnects_total) >= 2);
    srv_start(&w->srv, w->srv.port);
    RUN_UNTIL(w, done_count(w, 3) == 3, 3000);
    for (int i = 0; i < 3; i++) assert_echoed(w, i);
    assert_int_equal(w->client.failures, 0); /* reset by the good exchange */
}

/* With fail_queued_when_unreachable, a refused connect ends the queued
   calls at once (RN_ERR_CLOSED) instead of keeping them for the deadline;
   a later call goes out once the peer is up. */
static void test_unreachable_fails_queued(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    srv_stop(&w->srv);
    w->opts.fail_queued_when_unreachable = true;
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 3; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    RUN_UNTIL(w, done_count(w, 3) == 3, 1000);
    for (int i = 0; i < 3; i++) assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    assert_int_equal(rn_client_pending(&w->client), 0);
    srv_start(&w->srv, w->srv.port);
    assert_int_equal(send_body(w, 3, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[3].calls, 3000);
    assert_echoed(w, 3);
}

static void test_server_restart_mid_stream(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    w->srv.mode = SRV_SILENT;
    for (int i = 1; i <= 3; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    RUN_UNTIL(w, w->srv.frames == 4, 3000);
    srv_stop(&w->srv);
    RUN_UNTIL(w, done_count(w, 4) == 4, 3000);
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(w->recs[i].calls, 1);
        assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    }
    assert_false(rn_client_connected(&w->client));
    w->srv.mode = SRV_ECHO;
    srv_start(&w->srv, w->srv.port);
    for (int i = 4; i < 6; i++) assert_int_equal(send_body(w, i, 4, false), RN_OK);
    RUN_UNTIL(w, done_count(w, 6) == 6, 3000);
    for (int i = 4; i < 6; i++) assert_echoed(w, i);
    assert_int_equal(w->srv.accepted, 2);
    assert_int_equal(rn_stats_read(&w->client.stats.requests_failed_total), 3);
}

static void test_timeout_closes_connection(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_SILENT;
    w->opts.request_timeout_ms = 100;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    int64_t start = now_ms(w);
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(w->recs[0].err, RN_ERR_TIMEOUT);
    assert_true(now_ms(w) - start >= 100);
    assert_false(rn_client_connected(&w->client)); /* a late answer must not be matched */
    /* A call on a new connection gets its own answer. */
    w->srv.mode = SRV_ECHO;
    assert_int_equal(send_body(w, 1, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[1].calls, 3000);
    assert_echoed(w, 1);
    assert_int_equal(w->srv.accepted, 2);
    assert_int_equal(w->recs[0].calls, 1);
}

static void test_timeout_while_queued(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    srv_stop(&w->srv); /* nobody listens */
    client_start(w, "127.0.0.1");
    static const char body[] = "x";
    rn_client_call_t call = {.api_key = RN_API_METADATA,
                             .api_version = 12,
                             .body = rn_slice(body, 1),
                             .timeout_ms = 60,
                             .done = on_done,
                             .ctx = &w->recs[0]};
    assert_int_equal(rn_client_send(&w->client, &call), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_int_equal(w->recs[0].err, RN_ERR_TIMEOUT);
    run_for(w, 50);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(rn_client_pending(&w->client), 0);
}

static void test_queue_bound(void **state) {
    world_t *w = *state;
    w->opts.queue_max = 4;
    srv_start(&w->srv, 0);
    srv_stop(&w->srv);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 4; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    assert_int_equal(send_body(w, 4, 12, false), RN_ERR_LIMIT);
    run_for(w, 50);
    assert_int_equal(send_body(w, 4, 12, false), RN_ERR_LIMIT);
    assert_int_equal(done_count(w, 5), 0);
    rn_client_close(&w->client);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w->recs[i].calls, 1);
        assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    }
    assert_int_equal(w->recs[4].calls, 0); /* refused at send: no completion */
    assert_int_equal(send_body(w, 5, 12, false), RN_ERR_CLOSED);
}

static void test_unresolvable_name_then_set_peer(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    assert_int_equal(
        rn_client_init(&w->client, &w->loop, "no-such-host.invalid", w->srv.port, &w->opts), RN_OK);
    for (int i = 0; i < 2; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    run_for(w, 250);
    assert_int_equal(done_count(w, 2), 0);
    assert_true(rn_stats_read(&w->client.stats.connect_failures_total) >= 2);
    assert_int_equal(w->srv.accepted, 0);
    rn_client_set_peer(&w->client, "127.0.0.1", w->srv.port);
    RUN_UNTIL(w, done_count(w, 2) == 2, 3000);
    for (int i = 0; i < 2; i++) assert_echoed(w, i);
}

static void garbage_closes_and_reconnects(world_t *w, srv_mode_t bad) {
    w->srv.mode = bad;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(w->recs[0].err, RN_ERR_CLOSED);
    assert_false(rn_client_connected(&w->client));
    w->srv.mode = SRV_ECHO;
    assert_int_equal(send_body(w, 1, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[1].calls, 3000);
    assert_echoed(w, 1);
    assert_int_equal(w->srv.accepted, 2);
}

static void test_bad_frame_length_closes(void **state) {
    garbage_closes_and_reconnects(*state, SRV_BAD_LENGTH);
}

static void test_unknown_correlation_id_closes(void **state) {
    garbage_closes_and_reconnects(*state, SRV_UNKNOWN_ID);
}

static void test_peer_closes_mid_frame(void **state) {
    garbage_closes_and_reconnects(*state, SRV_MID_FRAME);
}

static void test_response_over_max_closes(void **state) {
    world_t *w = *state;
    w->opts.response_bytes_max = 64;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    static char big[200];
    memset(big, 'b', sizeof big);
    rn_client_call_t call = {.api_key = RN_API_METADATA,
                             .api_version = 12,
                             .body = rn_slice(big, sizeof big),
                             .done = on_done,
                             .ctx = &w->recs[0]};
    assert_int_equal(rn_client_send(&w->client, &call), RN_OK);
    assert_int_equal(send_body(w, 1, 12, false), RN_OK);
    RUN_UNTIL(w, done_count(w, 2) == 2, 3000);
    assert_int_equal(w->recs[0].err, RN_ERR_CLOSED);
    assert_int_equal(w->recs[1].err, RN_ERR_CLOSED);
}

/* A request larger than the socket takes at once is written in parts, and
   a response larger than the staging buffer grows the read buffer. */
#define LARGE_BYTES (4 * 1024 * 1024)
static void large_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rec_t *rec = ctx;
    rec->calls++;
    rec->err = err;
    rec->len = len;
    bool same = len == LARGE_BYTES;
    for (size_t i = 0; same && i < len; i++) same = body[i] == (uint8_t)(i * 7);
    rec->body[0] = same;
}

static void test_large_request_and_response(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    uint8_t *big = malloc(LARGE_BYTES);
    assert_non_null(big);
    for (size_t i = 0; i < LARGE_BYTES; i++) big[i] = (uint8_t)(i * 7);
    rn_client_call_t call = {.api_key = RN_API_METADATA,
                             .api_version = 12,
                             .body = rn_slice(big, LARGE_BYTES),
                             .done = large_done,
                             .ctx = &w->recs[0]};
    assert_int_equal(rn_client_send(&w->client, &call), RN_OK);
    free(big); /* the client encoded its own copy */
    assert_int_equal(send_body(w, 1, 12, false), RN_OK);
    RUN_UNTIL(w, done_count(w, 2) == 2, 5000);
    assert_int_equal(w->recs[0].err, RN_OK);
    assert_int_equal(w->recs[0].len, LARGE_BYTES);
    assert_int_equal(w->recs[0].body[0], 1);
    assert_echoed(w, 1);
}

static void test_close_with_calls_pending(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_SILENT;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 3; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    RUN_UNTIL(w, w->srv.frames == 3, 3000);                                          /* in flight */
    for (int i = 3; i < 6; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK); /* queued */
    rn_client_close(&w->client);
    rn_client_close(&w->client); /* idempotent */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(w->recs[i].calls, 1);
        assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    }
    run_for(w, 50);
    for (int i = 0; i < 6; i++) assert_int_equal(w->recs[i].calls, 1);
    assert_int_equal(rn_stats_read(&w->client.stats.requests_failed_total), 6);
}

static void test_close_from_inside_a_completion(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_REVERSE;
    w->srv.hold = 4;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    for (int i = 0; i < 6; i++) assert_int_equal(send_body(w, i, 12, false), RN_OK);
    /* Answered last first: call 3 completes first and closes the client.
       2, 1 and 0 were answered in the same read (their completions carry
       their bodies) or come too late (RN_ERR_CLOSED); 4 and 5 are still in
       flight. Each completes exactly once. */
    w->recs[3].close_client = &w->client;
    RUN_UNTIL(w, done_count(w, 6) == 6, 3000);
    assert_echoed(w, 3);
    for (int i = 0; i < 3; i++) {
        if (w->recs[i].err == RN_OK)
            assert_echoed(w, i);
        else
            assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    }
    for (int i = 4; i < 6; i++) assert_int_equal(w->recs[i].err, RN_ERR_CLOSED);
    run_for(w, 50);
    for (int i = 0; i < 6; i++) assert_int_equal(w->recs[i].calls, 1);
    assert_false(rn_client_connected(&w->client));
}

static void api_versions_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rec_t *rec = ctx;
    rec->calls++;
    rec->err = err;
    assert_int_equal(err, RN_OK);
    rn_arena_t arena;
    rn_arena_init(&arena, 1 << 20);
    rn_reader_t r;
    rn_reader_init(&r, body, len);
    rn_api_versions_response_t resp;
    assert_int_equal(rn_api_versions_response_decode(&r, &arena, 3, &resp), RN_OK);
    assert_int_equal(r.pos, len);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.throttle_time_ms, 7);
    assert_int_equal(resp.api_keys.count, 2);
    assert_int_equal(resp.api_keys.items[1].api_key, RN_API_VOTE);
    assert_int_equal(resp.api_keys.items[0].max_version, 11);
    rec->len = (size_t)resp.api_keys.count;
    rn_arena_free(&arena);
}

static void test_api_versions_through_the_codec(void **state) {
    world_t *w = *state;
    w->srv.mode = SRV_API_VERSIONS;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    rn_api_versions_request_t req;
    rn_api_versions_request_init(&req);
    req.client_software_name = rn_str_from_cstr("runnel-peer");
    req.client_software_version = rn_str_from_cstr("1.0");
    rn_client_call_t call = {.api_key = RN_API_API_VERSIONS,
                             .api_version = 3,
                             .msg = &req,
                             .done = api_versions_done,
                             .ctx = &w->recs[0]};
    assert_int_equal(rn_client_send(&w->client, &call), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(w->recs[0].len, 2);
    assert_int_equal(w->srv.header_version, 2);
    assert_string_equal(w->srv.software_name, "runnel-peer");
    assert_string_equal(w->srv.client_id, "test-client");
}

/* A backend whose connects never complete: tcp_connect hands out the read
   end of a pipe, which never turns writable. */
typedef struct stall {
    rn_io_t io;
    rn_io_ops_t ops;
    int write_ends[64];
    int count;
} stall_t;

static stall_t *stall_of(rn_io_t *io) { return (stall_t *)((char *)io - offsetof(stall_t, io)); }

static rn_err_t stall_connect(rn_io_t *io, const rn_io_addr_t *addr, rn_fd_t *fd) {
    (void)addr;
    stall_t *stall = stall_of(io);
    int ends[2];
    assert_int_equal(pipe2(ends, O_NONBLOCK | O_CLOEXEC), 0);
    assert_true(stall->count < 64);
    stall->write_ends[stall->count++] = ends[1];
    *fd = ends[0];
    return RN_OK;
}

static void test_connect_timeout(void **state) {
    world_t *w = *state;
    stall_t *stall = calloc(1, sizeof *stall);
    assert_non_null(stall);
    stall->ops = *rn_io_linux()->ops;
    stall->ops.tcp_connect = stall_connect;
    stall->io = (rn_io_t){&stall->ops, rn_io_linux()->impl};
    rn_loop_t loop;
    assert_int_equal(rn_loop_init(&loop, &stall->io, 1), RN_OK);
    rn_client_t client;
    w->opts.connect_timeout_ms = 50;
    assert_int_equal(rn_client_init(&client, &loop, "127.0.0.1", 9, &w->opts), RN_OK);
    rn_client_call_t call = {
        .api_key = RN_API_METADATA, .api_version = 12, .done = on_done, .ctx = &w->recs[0]};
    assert_int_equal(rn_client_send(&client, &call), RN_OK);
    int64_t end = now_ms(w) + 400;
    while (now_ms(w) < end) rn_loop_turn(&loop, 5);
    /* Each attempt waits its 50 ms, then backs off 10-80 ms: 3 to 7 tries. */
    uint64_t failures = rn_stats_read(&client.stats.connect_failures_total);
    assert_true(failures >= 3);
    assert_true(failures <= 7);
    /* Every attempt got a fresh connect (the last may still be waiting). */
    assert_int_equal(rn_stats_read(&client.stats.connects_total), stall->count);
    assert_true((uint64_t)stall->count - failures <= 1);
    assert_int_equal(w->recs[0].calls, 0); /* still queued */
    rn_client_close(&client);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(w->recs[0].err, RN_ERR_CLOSED);
    rn_loop_turn(&loop, 0);
    rn_loop_drain(&loop);
    rn_loop_destroy(&loop);
    for (int i = 0; i < stall->count; i++) close(stall->write_ends[i]);
    free(stall);
}

/* A timer on the client's loop: counts its firings, every 5 ms. */
typedef struct ticker {
    rn_timer_t timer;
    rn_loop_t *loop;
    int fired;
} ticker_t;

static void ticker_fire(rn_timer_t *timer) {
    ticker_t *t = (ticker_t *)timer;
    t->fired++;
    rn_loop_timer_start(t->loop, &t->timer, 5);
}

static void ticker_start(ticker_t *t, rn_loop_t *loop) {
    *t = (ticker_t){.loop = loop};
    rn_timer_init(&t->timer, ticker_fire);
    rn_loop_timer_start(loop, &t->timer, 5);
}

/* A lookup that does not come back (a DNS server that does not answer)
   leaves the loop running: its other timers fire on time while the
   client waits, and the call goes out once the name resolves. */
static void test_slow_lookup_does_not_block_the_loop(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    w->opts.resolve_timeout_ms = 60000;
    client_start(w, "peer.slow");
    ticker_t ticker;
    ticker_start(&ticker, &w->loop);
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    int64_t start = now_ms(w);
    run_for(w, 200);
    int64_t took = now_ms(w) - start;
    assert_true(took < 1000);
    assert_true(ticker.fired >= 10); /* every 5 ms: about 40 */
    assert_true(rn_client_resolving(&w->client));
    assert_int_equal(w->dns.started, 1);
    assert_string_equal(w->dns.lookups[0].host, "peer.slow");
    assert_true(w->dns.polls >= 5); /* looked at, never waited on */
    assert_int_equal(w->recs[0].calls, 0);
    assert_int_equal(w->srv.accepted, 0);
    assert_int_equal(rn_stats_read(&w->client.stats.connects_total), 1);
    assert_int_equal(rn_stats_read(&w->client.stats.connect_failures_total), 0);
    /* The name resolves: the waiting call goes out. */
    w->dns.lookups[0].addrs = numeric_addrs("127.0.0.1", w->srv.port);
    w->dns.lookups[0].answered = true;
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    assert_false(rn_client_resolving(&w->client));
    assert_int_equal(w->dns.released, 1);
    assert_int_equal(w->srv.accepted, 1);
    assert_int_equal(rn_stats_read(&w->client.stats.connects_total), 1);
    assert_int_equal(rn_stats_read(&w->client.stats.resolve_failures_total), 0);
    rn_loop_timer_stop(&w->loop, &ticker.timer);
}

/* A lookup past its deadline is a failed attempt: it is given back, the
   client backs off and looks the name up again, until it resolves. */
static void test_lookup_timeout_backs_off_and_retries(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    w->opts.resolve_timeout_ms = 30;
    client_start(w, "peer.slow");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    run_for(w, 400);
    /* Each try waits 30 ms, then backs off 10-80 ms: 3 to 10 of them. */
    uint64_t failed = rn_stats_read(&w->client.stats.resolve_failures_total);
    assert_true(failed >= 3);
    assert_true(failed <= 10);
    assert_int_equal(rn_stats_read(&w->client.stats.connect_failures_total), failed);
    assert_int_equal(rn_stats_read(&w->client.stats.connects_total), w->dns.started);
    assert_true((uint64_t)w->dns.started - failed <= 1); /* the last may still run */
    assert_int_equal(w->dns.released, (int)failed);
    assert_int_equal(w->recs[0].calls, 0); /* still queued: "not yet", not fatal */
    w->dns.answer = numeric_addrs("127.0.0.1", w->srv.port);
    w->dns.answer_all = true;
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    assert_int_equal(w->dns.released, w->dns.started);
    assert_int_equal(w->client.failures, 0);
}

/* A name that does not resolve (yet) fails its attempt at once and is
   tried again after the backoff. */
static void test_lookup_failure_retries(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "peer.slow");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->dns.started == 1 && w->dns.polls > 0, 1000);
    w->dns.lookups[0].err = RN_ERR_NOT_FOUND;
    w->dns.lookups[0].answered = true;
    RUN_UNTIL(w, w->dns.started == 2, 1000);
    assert_int_equal(rn_stats_read(&w->client.stats.resolve_failures_total), 1);
    assert_int_equal(rn_stats_read(&w->client.stats.connect_failures_total), 1);
    assert_int_equal(w->dns.released, 1);
    assert_int_equal(w->recs[0].calls, 0);
    w->dns.lookups[1].addrs = numeric_addrs("127.0.0.1", w->srv.port);
    w->dns.lookups[1].answered = true;
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
}

/* Closing the client gives its lookup back (never polled again); a lookup
   on the real resolver given back while it may still run is freed when it
   returns (ASan checks). */
static void test_close_during_lookup(void **state) {
    world_t *w = *state;
    client_start(w, "peer.slow");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->dns.polls > 0, 1000);
    assert_true(rn_client_resolving(&w->client));
    rn_client_close(&w->client);
    assert_int_equal(w->recs[0].calls, 1);
    assert_int_equal(w->recs[0].err, RN_ERR_CLOSED);
    assert_false(rn_client_resolving(&w->client));
    assert_int_equal(w->dns.released, 1);
    int polls = w->dns.polls;
    run_for(w, 50);
    assert_int_equal(w->dns.polls, polls);
    assert_int_equal(w->dns.started, 1);
    /* The same on the real resolver, many times over. */
    for (int i = 0; i < 20; i++) {
        rn_client_t client;
        assert_int_equal(rn_client_init(&client, &w->loop, "localhost", 9, &w->opts), RN_OK);
        rn_client_call_t call = {.api_key = RN_API_METADATA, .api_version = 12};
        assert_int_equal(rn_client_send(&client, &call), RN_OK);
        rn_loop_turn(&w->loop, 0); /* the kick starts the lookup */
        rn_client_close(&client);
    }
    assert_true(w->dns.real >= 1);
    run_for(w, 100);
}

/* The peer moves while its old name is being looked up: the lookup is
   given back and the next attempt goes to the new address at once. */
static void test_peer_change_during_lookup(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "old.slow");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->dns.polls > 0, 1000);
    rn_client_set_peer(&w->client, "new.slow", w->srv.port);
    assert_int_equal(w->dns.released, 1);
    assert_false(rn_client_resolving(&w->client));
    RUN_UNTIL(w, w->dns.started == 2, 1000);
    assert_string_equal(w->dns.lookups[1].host, "new.slow");
    rn_client_set_peer(&w->client, "127.0.0.1", w->srv.port);
    assert_int_equal(w->dns.released, 2);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    assert_int_equal(w->dns.started, 2);
    assert_int_equal(w->srv.accepted, 1);
    assert_int_equal(rn_stats_read(&w->client.stats.resolve_failures_total), 0);
}

/* A numeric host is connected at once, with no lookup; a name goes to the
   resolver (off the loop) and is connected once it resolves. */
static void test_numeric_hosts_skip_the_lookup(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0);
    client_start(w, "127.0.0.1");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    rn_loop_turn(&w->loop, 0); /* the kick: the connect starts in this turn */
    assert_false(rn_client_resolving(&w->client));
    assert_non_null(w->client.link);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    assert_int_equal(w->dns.real, 0);
    /* IPv6 literals too (no socket needed to tell). */
    rn_io_addrs_t addrs;
    rn_io_resolve_t *res = NULL;
    assert_int_equal(w->dns.io.ops->resolve_start(&w->dns.io, "::1", 9, &addrs, &res), RN_OK);
    assert_null(res);
    assert_int_equal(addrs.count, 1);
    assert_int_equal(w->dns.real, 0);
    /* A name is looked up by the resolver. */
    rn_client_set_peer(&w->client, "localhost", w->srv.port);
    assert_int_equal(send_body(w, 1, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[1].calls, 3000);
    assert_echoed(w, 1);
    assert_int_equal(w->dns.real, 1);
}

/* Successive attempts go round the addresses of a name: the first
   refuses, the second is the peer. */
static void test_addresses_tried_in_turn(void **state) {
    world_t *w = *state;
    srv_start(&w->srv, 0); /* learn a free port, then free it */
    uint16_t dead = w->srv.port;
    srv_stop(&w->srv);
    srv_start(&w->srv, 0);
    rn_io_addrs_t good = numeric_addrs("127.0.0.1", w->srv.port);
    w->dns.answer = numeric_addrs("127.0.0.1", dead);
    w->dns.answer.addr[1] = good.addr[0];
    w->dns.answer.count = 2;
    w->dns.answer_all = true;
    client_start(w, "two.slow");
    assert_int_equal(send_body(w, 0, 12, false), RN_OK);
    RUN_UNTIL(w, w->recs[0].calls, 3000);
    assert_echoed(w, 0);
    assert_int_equal(rn_stats_read(&w->client.stats.connect_failures_total), 1);
    assert_int_equal(w->dns.started, 2); /* looked up again for the retry */
}

static void test_init_refuses_bad_options(void **state) {
    world_t *w = *state;
    rn_client_opts_t opts = w->opts;
    opts.backoff_ms_max = opts.backoff_ms_min - 1;
    assert_int_equal(rn_client_init(&w->client, &w->loop, "127.0.0.1", 1, &opts), RN_ERR_INVALID);
    char host[RN_CONFIG_HOST_BYTES_MAX + 2];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    assert_int_equal(rn_client_init(&w->client, &w->loop, host, 1, NULL), RN_ERR_INVALID);
    assert_int_equal(rn_client_init(&w->client, &w->loop, "127.0.0.1", 1, NULL), RN_OK);
    assert_string_equal(w->client.client_id, "runnel");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_many_in_flight_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_way, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_then_server_comes_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_fails_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_restart_mid_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_closes_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_while_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unresolvable_name_then_set_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frame_length_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_correlation_id_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_closes_mid_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_over_max_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_request_and_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_calls_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_inside_a_completion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_versions_through_the_codec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_lookup_does_not_block_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_timeout_backs_off_and_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_failure_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_during_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_change_during_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numeric_hosts_skip_the_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_addresses_tried_in_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_refuses_bad_options, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
