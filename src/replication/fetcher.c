/*
 * fetcher.c: a core's replica fetchers (see fetcher.h): streams, one per
 * leader, that fetch, append, wait for the fsync and fetch again.
 *
 * An entry is one followed partition. It is pinned by its stream while it
 * follows, by the request in flight that names it, and by the fsync it
 * waits for; it goes (with its partition reference) when the last pin
 * does, so an unfollow in the middle of a fetch is safe.
 */
#include "replication/fetcher.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/client.h"
#include "proto/gen/api.h"
#include "proto/gen/fetch_request.h"
#include "proto/gen/fetch_response.h"
#include "proto/kerr.h"
#include "replication/follower.h"
#include "replication/throttle.h"

#include <stdlib.h>
#include <string.h>

/* Fetch v12: the first with LastFetchedEpoch and DivergingEpoch. */
#define FETCH_VERSION 12

typedef struct stream stream_t;

typedef struct entry {
    rn_partition_t *part; /* referenced */
    stream_t *stream;     /* NULL once unfollowed */
    int pins;
    int64_t retry_at_ms; /* skipped until then, after an error */
    int16_t last_error;  /* logged once per run of the same error */
    int64_t leader_hw;   /* the last answer's, taken once synced */
    int64_t lag;         /* leader_hw minus the log end after that answer */
    rn_partition_waiter_t waiter;
    bool syncing;
    bool throttled; /* in the request in flight under the follower throttle */
} entry_t;

struct stream {
    rn_fetchers_t *f;
    int32_t leader_id;
    rn_client_t client;
    entry_t **entries;
    int32_t count, cap;
    entry_t **sent; /* the request in flight's entries, in its order */
    int32_t sent_count;
    bool in_flight;
    int32_t syncing; /* entries waiting for their fsync */
    rn_timer_t retry_timer;
    bool retry_armed;
    int32_t held;    /* entries the throttle left out of the last request built */
    int64_t lag_max; /* the largest lag of its entries at its last answer */
};

struct rn_fetchers {
    rn_fetchers_opts_t opts;
    stream_t *streams[RN_REPLICA_STREAMS_MAX];
    int32_t stream_count;
    rn_fetchers_stats_t stats;
    bool closed;
};

static void stream_fetch(stream_t *s);

/* ---- lag ---- */

/* The largest lag over every stream, for the metrics. */
static void fetchers_publish_lag(rn_fetchers_t *f) {
    int64_t max = 0;
    for (int32_t i = 0; i < f->stream_count; i++)
        if (f->streams[i]->lag_max > max) max = f->streams[i]->lag_max;
    atomic_store_explicit(&f->stats.max_lag, (uint64_t)max, memory_order_relaxed);
}

/* After an answer: the stream's largest lag, over its entries (a walk as
   long as the one that built the request). */
static void stream_lag_update(stream_t *s) {
    int64_t max = 0;
    for (int32_t i = 0; i < s->count; i++)
        if (s->entries[i]->lag > max) max = s->entries[i]->lag;
    s->lag_max = max;
    fetchers_publish_lag(s->f);
}

/* ---- entries ---- */

static void entry_unpin(entry_t *e) {
    RN_ASSERT(e->pins > 0);
    if (--e->pins > 0) return;
    if (e->part->fetch_entry == e) e->part->fetch_entry = NULL;
    rn_partition_unref(e->part);
    free(e);
}

static void stream_remove(stream_t *s, entry_t *e) {
    int32_t i = 0;
    while (i < s->count && s->entries[i] != e) i++;
    RN_ASSERT(i < s->count); /* an entry is in the stream it names */
    s->entries[i] = s->entries[--s->count];
    if (e->syncing) s->syncing--; /* its fsync no longer holds the stream */
    e->stream = NULL;
    entry_unpin(e);
    if (s->count == 0 && s->lag_max > 0) { /* left with nothing to fetch: no lag */
        s->lag_max = 0;
        fetchers_publish_lag(s->f);
    }
}

/* ---- streams ---- */

static void stream_retry(rn_timer_t *timer) {
    stream_t *s = (stream_t *)((char *)timer - offsetof(stream_t, retry_timer));
    s->retry_armed = false;
    stream_fetch(s);
}

static void stream_backoff(stream_t *s, int64_t delay_ms) {
    if (s->retry_armed || s->f->closed) return;
    s->retry_armed = true;
    rn_loop_timer_start(s->f->opts.loop, &s->retry_timer, delay_ms);
}

static stream_t *stream_find(rn_fetchers_t *f, int32_t leader_id) {
    for (int32_t i = 0; i < f->stream_count; i++)
        if (f->streams[i]->leader_id == leader_id) return f->streams[i];
    return NULL;
}

static stream_t *stream_get(rn_fetchers_t *f, int32_t leader_id, const char *host, uint16_t port) {
    stream_t *s = stream_find(f, leader_id);
    if (s) {
        if (strcmp(s->client.host, host) || s->client.port != port)
            rn_client_set_peer(&s->client, host, port);
        return s;
    }
    RN_ASSERT(f->stream_count < RN_REPLICA_STREAMS_MAX);
    s = calloc(1, sizeof *s);
    RN_ASSERT(s != NULL);
    s->f = f;
    s->leader_id = leader_id;
    rn_client_opts_t opts;
    rn_client_opts_default(&opts);
    opts.client_id = "runnel-replica-fetcher";
    /* A fetch is held up to wait_ms by the leader: well within this. */
    opts.request_timeout_ms = RN_CLIENT_REQUEST_TIMEOUT_MS_DEFAULT;
    opts.response_bytes_max = f->opts.response_bytes + RN_REPLICA_FETCH_PARTITION_BYTES_DEFAULT;
    rn_err_t err = rn_client_init(&s->client, f->opts.loop, host, port, &opts);
    RN_ASSERT(err == RN_OK); /* host lengths are bounded by the image's */
    rn_timer_init(&s->retry_timer, stream_retry);
    f->streams[f->stream_count++] = s;
    return s;
}

/* ---- requests ---- */

/* Whether e is fetched in the next request. */
static bool entry_ready(const stream_t *s, const entry_t *e, int64_t now_ms) {
    return !e->syncing && now_ms >= e->retry_at_ms && rn_follower_may_fetch(e->part, s->leader_id);
}

/* Whether the follower throttle holds e back now (counted when it does);
   e->throttled says whether what it fetches counts against the quota. */
static bool entry_held(stream_t *s, entry_t *e, int64_t now_ms) {
    rn_throttle_t *throttle = s->f->opts.throttle;
    e->throttled = throttle && rn_throttle_follower_applies(e->part);
    if (!e->throttled || !rn_throttle_exceeded(throttle, now_ms)) return false;
    rn_throttle_hold(throttle, now_ms);
    s->held++;
    return true;
}

static void entry_request(const rn_fetchers_t *f, const entry_t *e,
                          rn_fetch_request_fetch_partition_t *out) {
    rn_follower_ask_t ask;
    rn_follower_ask(e->part, &ask); /* from the log end, durable: see stream_fetch */
    rn_fetch_request_fetch_partition_init(out);
    out->partition = e->part->index;
    out->current_leader_epoch = ask.current_leader_epoch;
    out->fetch_offset = ask.fetch_offset;
    out->last_fetched_epoch = ask.last_fetched_epoch;
    out->log_start_offset = ask.log_start_offset;
    out->partition_max_bytes = f->opts.partition_bytes;
}

/* The request's topics: consecutive entries of one topic share one. */
static bool stream_build(stream_t *s, rn_arena_t *arena, rn_fetch_request_t *req) {
    rn_fetchers_t *f = s->f;
    rn_fetch_request_init(req);
    req->replica_id = f->opts.node_id;
    req->max_wait_ms = f->opts.wait_ms;
    req->min_bytes = 1;
    req->max_bytes = f->opts.response_bytes;
    req->session_epoch = -1; /* sessionless: every partition every time */
    req->topics.items = rn_arena_alloc(arena, (size_t)s->count * sizeof *req->topics.items + 1);
    rn_fetch_request_fetch_partition_t *parts =
        rn_arena_alloc(arena, (size_t)s->count * sizeof *parts + 1);
    if (!req->topics.items || !parts) return false;
    req->topics.count = 0;
    s->sent_count = 0;
    rn_fetch_request_fetch_topic_t *topic = NULL;
    s->held = 0;
    for (int32_t i = 0; i < s->count; i++) {
        entry_t *e = s->entries[i];
        if (!entry_ready(s, e, f->opts.loop->now_ms) || entry_held(s, e, f->opts.loop->now_ms))
            continue;
        const char *name = e->part->topic;
        if (!topic || topic->topic.len != (int32_t)strlen(name) ||
            memcmp(topic->topic.ptr, name, (size_t)topic->topic.len)) {
            topic = &req->topics.items[req->topics.count++];
            rn_fetch_request_fetch_topic_init(topic);
            topic->topic = rn_str_from_cstr(name);
            topic->partitions.items = parts;
            topic->partitions.count = 0;
        }
        entry_request(f, e, &topic->partitions.items[topic->partitions.count++]);
        parts++;
        e->pins++;
        s->sent[s->sent_count++] = e;
    }
    return true;
}

static void stream_answered(void *ctx, rn_err_t err, const uint8_t *body, size_t len);

/* Sends the next fetch unless one is out or an fsync is awaited: a
   follower asks from its log end only once that end is durable. */
static void stream_fetch(stream_t *s) {
    rn_fetchers_t *f = s->f;
    if (f->closed || s->in_flight || s->syncing > 0 || s->retry_armed || s->count == 0) return;
    entry_t **sent = realloc(s->sent, (size_t)s->count * sizeof *sent + 1);
    RN_ASSERT(sent != NULL);
    s->sent = sent;
    rn_arena_t arena;
    rn_arena_init(&arena, RN_REPLICA_FETCH_ARENA_BYTES);
    rn_fetch_request_t req;
    bool built = stream_build(s, &arena, &req);
    RN_ASSERT(built);         /* the arena covers any partition count */
    if (s->sent_count == 0) { /* every partition is pausing after an error, or held */
        rn_arena_free(&arena);
        int64_t wait_ms = f->opts.backoff_ms;
        if (s->held > 0) { /* until the throttle is under its quota again */
            int64_t under_ms = rn_throttle_wait_ms(f->opts.throttle, f->opts.loop->now_ms);
            wait_ms = under_ms > 0 && under_ms < wait_ms ? under_ms : wait_ms;
        }
        stream_backoff(s, wait_ms);
        return;
    }
    rn_client_call_t call = {.api_key = RN_API_FETCH,
                             .api_version = FETCH_VERSION,
                             .msg = &req,
                             .timeout_ms = f->opts.wait_ms + RN_CLIENT_REQUEST_TIMEOUT_MS_DEFAULT,
                             .done = stream_answered,
                             .ctx = s};
    rn_err_t err = rn_client_send(&s->client, &call);
    rn_arena_free(&arena);
    if (err != RN_OK) {
        for (int32_t i = 0; i < s->sent_count; i++) entry_unpin(s->sent[i]);
        s->sent_count = 0;
        stream_backoff(s, f->opts.backoff_ms);
        return;
    }
    s->in_flight = true;
    rn_stats_add(&f->stats.fetches_total, 1);
}

/* ---- answers ---- */

static void entry_synced(rn_partition_waiter_t *waiter, rn_err_t err) {
    entry_t *e = (entry_t *)((char *)waiter - offsetof(entry_t, waiter));
    e->syncing = false;
    if (err == RN_OK) rn_partition_follow_hw(e->part, e->leader_hw);
    stream_t *s = e->stream;
    if (s) {
        RN_ASSERT(s->syncing > 0);
        s->syncing--;
    }
    entry_unpin(e);
    if (s && s->syncing == 0) stream_fetch(s);
}

/* Holds e (and its stream) until its log end is fsynced, by the core's
   group commit; false when it is durable already. */
static bool entry_await_sync(stream_t *s, entry_t *e) {
    rn_partition_t *part = e->part;
    int64_t end = rn_log_end_offset(part->log);
    if (!part->durable || rn_log_synced_offset(part->log) >= end || end == 0) return false;
    s->f->opts.appended(s->f->opts.ctx, part);
    e->syncing = true;
    e->pins++;
    s->syncing++;
    e->waiter.offset_needed = end - 1;
    e->waiter.done = entry_synced;
    rn_partition_wait_durable(part, &e->waiter);
    return true;
}

/* Errors that mean the leader's metadata is a moment behind this
   follower's (a new leader, epoch or topic not applied there yet): asked
   again soon, not after the full backoff, so a failover costs the
   in-sync replicas no second. */
static bool entry_error_transient(int16_t kerr) {
    return kerr == RN_KERR_NOT_LEADER_OR_FOLLOWER || kerr == RN_KERR_UNKNOWN_TOPIC_OR_PARTITION ||
           kerr == RN_KERR_FENCED_LEADER_EPOCH || kerr == RN_KERR_UNKNOWN_LEADER_EPOCH;
}

static void entry_pause(stream_t *s, entry_t *e, int16_t kerr) {
    rn_fetchers_t *f = s->f;
    int64_t backoff_ms =
        entry_error_transient(kerr) && f->opts.backoff_ms > RN_REPLICA_FETCH_METADATA_BACKOFF_MS
            ? RN_REPLICA_FETCH_METADATA_BACKOFF_MS
            : f->opts.backoff_ms;
    e->retry_at_ms = f->opts.loop->now_ms + backoff_ms;
    rn_stats_add(&f->stats.fetch_errors_total, 1);
    if (kerr != e->last_error)
        RN_INFO("replica", "%s-%d: fetch from broker %d: %s; retrying in %lld ms", e->part->topic,
                e->part->index, s->leader_id, rn_kerr_name(kerr), (long long)backoff_ms);
    e->last_error = kerr;
    stream_backoff(s, backoff_ms);
}

static void entry_answered(stream_t *s, entry_t *e, const rn_fetch_response_partition_data_t *in) {
    if (!e->stream || e->part->role != RN_PARTITION_FOLLOWER) return; /* moved on meanwhile */
    rn_fetchers_t *f = s->f;
    rn_follower_answer_t answer = {
        .error_code = in->error_code,
        .high_watermark = in->high_watermark,
        .log_start_offset = in->log_start_offset,
        .diverging_epoch = in->diverging_epoch.epoch,
        .diverging_end = in->diverging_epoch.end_offset,
        .records = in->records.ptr,
        .records_len = in->records.len > 0 ? (size_t)in->records.len : 0,
    };
    rn_follower_result_t res;
    rn_follower_outcome_t outcome = rn_follower_take(
        e->part, s->leader_id, &answer, rn_io_wall_ms(f->opts.loop->io), f->opts.inflate, &res);
    if (res.truncated) rn_stats_add(&f->stats.truncations_total, 1);
    if (in->error_code == RN_KERR_NONE) e->last_error = RN_KERR_NONE;
    if (outcome == RN_FOLLOWER_PAUSE) {
        entry_pause(s, e, res.kerr);
        return;
    }
    if (outcome == RN_FOLLOWER_RESTARTED || outcome == RN_FOLLOWER_TRUNCATED) return;
    e->leader_hw = in->high_watermark;
    e->lag = res.lag;
    if (outcome == RN_FOLLOWER_APPENDED) {
        rn_stats_add(&f->stats.bytes_total, res.appended);
        if (e->throttled) rn_throttle_record(f->opts.throttle, res.appended, f->opts.loop->now_ms);
        if (!entry_await_sync(s, e)) rn_partition_follow_hw(e->part, in->high_watermark);
    }
}

/* The sent entry answering topic/index: in order, else searched. */
static entry_t *sent_match(stream_t *s, int32_t *pos, rn_str_t topic, int32_t index) {
    for (int32_t n = 0; n < s->sent_count; n++) {
        int32_t i = (*pos + n) % s->sent_count;
        entry_t *e = s->sent[i];
        if (e->part->index == index && (int32_t)strlen(e->part->topic) == topic.len &&
            !memcmp(e->part->topic, topic.ptr, (size_t)topic.len)) {
            *pos = i + 1;
            return e;
        }
    }
    return NULL;
}

static rn_err_t stream_apply(stream_t *s, const uint8_t *body, size_t len) {
    rn_arena_t arena;
    rn_arena_init(&arena, RN_REPLICA_FETCH_ARENA_BYTES);
    rn_reader_t r;
    rn_reader_init(&r, body, len);
    rn_fetch_response_t resp;
    rn_fetch_response_init(&resp);
    rn_err_t err = rn_fetch_response_decode(&r, &arena, FETCH_VERSION, &resp);
    if (err == RN_OK && resp.error_code != RN_KERR_NONE) err = RN_ERR_INVALID;
    int32_t pos = 0;
    for (int32_t t = 0; err == RN_OK && t < resp.responses.count; t++) {
        const rn_fetch_response_fetchable_topic_response_t *topic = &resp.responses.items[t];
        for (int32_t p = 0; p < topic->partitions.count; p++) {
            const rn_fetch_response_partition_data_t *in = &topic->partitions.items[p];
            entry_t *e = sent_match(s, &pos, topic->topic, in->partition_index);
            if (e) entry_answered(s, e, in);
        }
    }
    rn_arena_free(&arena);
    return err;
}

static void stream_answered(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    stream_t *s = ctx;
    s->in_flight = false;
    if (err == RN_OK && !s->f->closed) err = stream_apply(s, body, len);
    for (int32_t i = 0; i < s->sent_count; i++) entry_unpin(s->sent[i]);
    s->sent_count = 0;
    if (s->f->closed) return;
    if (err == RN_OK) stream_lag_update(s);
    if (err != RN_OK) {
        rn_stats_add(&s->f->stats.fetch_errors_total, 1);
        stream_backoff(s, s->f->opts.backoff_ms);
        return;
    }
    stream_fetch(s);
}

/* ---- the API ---- */

rn_fetchers_t *rn_fetchers_new(const rn_fetchers_opts_t *opts) {
    RN_ASSERT(opts->loop != NULL && opts->appended != NULL);
    rn_fetchers_t *f = calloc(1, sizeof *f);
    if (f) f->opts = *opts;
    return f;
}

void rn_fetchers_follow(rn_fetchers_t *f, rn_partition_t *part, int32_t leader_id, const char *host,
                        uint16_t port) {
    RN_ASSERT(leader_id >= 0);
    if (f->closed) return;
    entry_t *e = part->fetch_entry;
    if (e && e->stream && e->stream->leader_id == leader_id) {
        stream_get(f, leader_id, host, port); /* the leader may have moved */
        e->retry_at_ms = 0;
        stream_fetch(e->stream);
        return;
    }
    if (e) rn_fetchers_unfollow(f, part);
    stream_t *s = stream_get(f, leader_id, host, port);
    e = calloc(1, sizeof *e);
    RN_ASSERT(e != NULL);
    rn_partition_ref(part);
    *e = (entry_t){.part = part, .stream = s, .pins = 1, .leader_hw = -1};
    part->fetch_entry = e;
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->entries = realloc(s->entries, (size_t)s->cap * sizeof *s->entries);
        RN_ASSERT(s->entries != NULL);
    }
    s->entries[s->count++] = e;
    /* Written while it led and not synced yet: durable before it is
       named as this replica's fetch offset. */
    if (!entry_await_sync(s, e)) stream_fetch(s);
}

void rn_fetchers_unfollow(rn_fetchers_t *f, rn_partition_t *part) {
    (void)f;
    entry_t *e = part->fetch_entry;
    if (!e) return;
    part->fetch_entry = NULL;
    if (e->stream) stream_remove(e->stream, e);
}

void rn_fetchers_close(rn_fetchers_t *f) {
    f->closed = true;
    for (int32_t i = 0; i < f->stream_count; i++) {
        stream_t *s = f->streams[i];
        if (s->retry_armed) rn_loop_timer_stop(f->opts.loop, &s->retry_timer);
        s->retry_armed = false;
        rn_client_close(&s->client); /* completes the fetch in flight */
        while (s->count > 0) stream_remove(s, s->entries[s->count - 1]);
    }
}

void rn_fetchers_free(rn_fetchers_t *f) {
    if (!f) return;
    RN_ASSERT(f->closed);
    for (int32_t i = 0; i < f->stream_count; i++) {
        free(f->streams[i]->entries);
        free(f->streams[i]->sent);
        free(f->streams[i]);
    }
    free(f);
}

const rn_fetchers_stats_t *rn_fetchers_stats(const rn_fetchers_t *f) { return &f->stats; }
