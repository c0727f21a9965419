/*
 * txn_markers.c: the markers of a prepared transaction, written by its
 * coordinator shard to every partition of the transaction, COMMIT after
 * PrepareCommit and ABORT after PrepareAbort, with the shard's leader epoch
 * as the coordinator epoch, as Kafka's marker channel does.
 *
 * Each round sends every marker still wanted to its partition's leader as
 * the metadata image names it then: those this node leads through
 * cluster/markers.h (the path WriteTxnMarkers takes here), the others in
 * one WriteTxnMarkers request per leader, over the core's client to that
 * broker (cluster/peers.h). Each is answered once the marker is on every
 * in-sync replica. A partition that could not take its marker for a reason
 * that passes (no leader, another leader by now, too few in-sync replicas,
 * a storage error, a lost connection or a timeout) is sent again after
 * RN_TXN_MARKER_RETRY_MS, to the leader the image names then; a partition
 * that is gone, or whose producer has a newer epoch (or a newer
 * coordinator wrote it), needs none. Once every partition is done the
 * shard stores the transaction's completion.
 *
 * Every step runs on a timer turn of the owner core, never inside a
 * durability callback (the prepare record's, the last marker's): those run
 * within a core's group commit, where a new append would not be synced.
 *
 * Owns its jobs (the shard's list), on the shard's owner core only.
 */
#include "txn/coordinator_int.h"
#include "base/arena.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/markers.h"
#include "cluster/peers.h"
#include "cluster/topics.h"
#include "proto/gen/api.h"
#include "proto/gen/write_txn_markers_request.h"
#include "proto/gen/write_txn_markers_response.h"
#include "proto/kerr.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* WriteTxnMarkers v1, the newest Kafka 3.9 serves. */
#define MARKERS_VERSION 1
/* Where a marker goes this round, besides a broker id. */
#define DEST_NONE (-1) /* no leader the image can reach: the next round */
#define DEST_GONE (-2) /* the partition is gone: needs none */
/* Rounds (of RN_TXN_MARKER_RETRY_MS) before a marker still not written is
   logged as a warning: ten seconds. */
#define MARKERS_WARN_ROUNDS 100

typedef struct rn_txn_marker_job job_t;

/* One WriteTxnMarkers request in flight, for items [start, start+count). */
typedef struct remote {
    job_t *job;
    int32_t broker;
    int32_t start;
    int32_t count;
} remote_t;

struct rn_txn_marker_job {
    rn_markers_t markers; /* first: this round's markers written here */
    job_t *next;
    rn_node_t *node;
    int32_t index;     /* the shard's partition */
    rn_core_t *core;   /* its owner core */
    int32_t in_flight; /* parts of the round not back yet */
    bool dropped;      /* the shard let go: freed once back */
    int32_t rounds;
    rn_timer_t timer;
    char *id;
    char **topics; /* heap copies the items point at */
    int32_t topic_count;
    rn_marker_item_t *items; /* the markers still wanted: count of them */
    int32_t count;
    int32_t *dest;             /* dest[i]: where items[i] goes this round */
    rn_marker_item_t *scratch; /* for ordering items by destination */
    int32_t *scratch_dest;
};

static void job_free(job_t *job) {
    for (int32_t i = 0; i < job->topic_count; i++) free(job->topics[i]);
    free(job->topics);
    free(job->items);
    free(job->dest);
    free(job->scratch);
    free(job->scratch_dest);
    free(job->id);
    free(job);
}

static void job_unlink(rn_txn_shard_t *shard, job_t *job) {
    job_t **link = &shard->jobs;
    while (*link && *link != job) link = &(*link)->next;
    RN_ASSERT(*link == job);
    *link = job->next;
}

/* ---- where each marker goes ---- */

static int32_t item_dest(const rn_image_t *img, const rn_marker_item_t *item) {
    const rn_image_topic_t *it = rn_image_topic(img, item->topic, strlen(item->topic));
    if (!it || item->partition < 0 || item->partition >= it->partition_count) return DEST_GONE;
    int32_t leader = it->partitions[item->partition].leader;
    return leader >= 0 && rn_image_broker(img, leader) ? leader : DEST_NONE;
}

/* Orders the items: this node's first, then by leader, then those with
   none; drops those whose partition is gone. */
static void job_route(job_t *job, const rn_image_t *img) {
    int32_t self = job->node->settings.node_id;
    for (int32_t i = 0; i < job->count; i++) job->dest[i] = item_dest(img, &job->items[i]);
    int32_t out = 0;
    int32_t next = self; /* the destination placed now */
    for (;;) {
        int32_t following = INT32_MAX; /* the smallest broker id past next */
        for (int32_t i = 0; i < job->count; i++) {
            int32_t d = job->dest[i];
            if (d == next) {
                job->scratch[out] = job->items[i];
                job->scratch_dest[out++] = d;
            } else if (d >= 0 && d != self && (next == self || d > next) && d < following) {
                following = d;
            }
        }
        if (next == DEST_NONE) break;
        next = following != INT32_MAX ? following : DEST_NONE;
    }
    memcpy(job->items, job->scratch, (size_t)out * sizeof *job->items);
    memcpy(job->dest, job->scratch_dest, (size_t)out * sizeof *job->dest);
    job->count = out;
}

/* ---- a round's end ---- */

/* Whether the metadata still has the partition (a partition this node
   keeps no replica of, led by another broker). */
static bool partition_exists(rn_node_t *node, const rn_marker_item_t *item) {
    rn_image_t *img = rn_topics_image(node);
    const rn_image_topic_t *it = rn_image_topic(img, item->topic, strlen(item->topic));
    bool exists = it && item->partition >= 0 && item->partition < it->partition_count;
    rn_image_release(img);
    return exists;
}

/* An outcome after which the partition needs no marker again: written, the
   partition gone, or its producer already past this epoch. */
static bool item_final(rn_node_t *node, const rn_marker_item_t *item) {
    if (item->err == RN_ERR_NOT_FOUND) return !partition_exists(node, item);
    return item->err == RN_OK || item->err == RN_ERR_STALE;
}

/* Every part of the round is back (on the owner core, maybe inside its
   group commit): keeps the markers to send again and arms the timer. */
static void job_back(job_t *job) {
    if (job->dropped) {
        job_free(job);
        return;
    }
    int32_t left = 0;
    job->rounds++;
    for (int32_t i = 0; i < job->count; i++) {
        rn_marker_item_t *item = &job->items[i];
        if (item_final(job->node, item)) continue;
        if (job->rounds == MARKERS_WARN_ROUNDS)
            RN_WARN("txn", "%s: the marker for %s-%d is still not written (%s): retrying", job->id,
                    item->topic, item->partition, rn_err_name(item->err));
        RN_DEBUG_LOG("txn", "%s: marker for %s-%d not written (%s): again in %d ms", job->id,
                     item->topic, item->partition, rn_err_name(item->err), RN_TXN_MARKER_RETRY_MS);
        job->items[left++] = *item;
    }
    job->count = left;
    rn_loop_timer_start(&job->core->loop, &job->timer, left ? RN_TXN_MARKER_RETRY_MS : 0);
}

static void part_back(job_t *job) {
    RN_ASSERT(job->in_flight > 0);
    if (--job->in_flight == 0) job_back(job);
}

static void local_back(rn_markers_t *markers) { part_back((job_t *)markers); }

/* ---- markers to another broker ---- */

/* Kafka's marker channel: these need the marker no more. */
static rn_err_t remote_err(int16_t kerr) {
    switch (kerr) {
    case RN_KERR_NONE:
        return RN_OK;
    case RN_KERR_INVALID_PRODUCER_EPOCH:
    case RN_KERR_TRANSACTION_COORDINATOR_FENCED:
        return RN_ERR_STALE;
    case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
        return RN_ERR_NOT_FOUND; /* final once the image drops it */
    case RN_KERR_NOT_ENOUGH_REPLICAS:
    case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return RN_ERR_FEW_REPLICAS;
    default:
        return RN_ERR_NOT_LEADER; /* tried again, at the leader then */
    }
}

static rn_marker_item_t *remote_match(job_t *job, const remote_t *r, rn_str_t topic,
                                      int32_t partition) {
    for (int32_t i = r->start; i < r->start + r->count; i++) {
        rn_marker_item_t *item = &job->items[i];
        if (item->partition == partition && (int32_t)strlen(item->topic) == topic.len &&
            !memcmp(item->topic, topic.ptr, (size_t)topic.len))
            return item;
    }
    return NULL;
}

static void remote_apply(job_t *job, const remote_t *r, const uint8_t *body, size_t len) {
    rn_arena_t arena;
    rn_arena_init(&arena, (size_t)r->count * 64 + 4096 + len);
    rn_reader_t rd;
    rn_reader_init(&rd, body, len);
    rn_write_txn_markers_response_t resp;
    rn_write_txn_markers_response_init(&resp);
    if (rn_write_txn_markers_response_decode(&rd, &arena, MARKERS_VERSION, &resp) == RN_OK) {
        for (int32_t m = 0; m < resp.markers.count; m++) {
            const rn_write_txn_markers_response_writable_txn_marker_result_t *mk =
                &resp.markers.items[m];
            for (int32_t t = 0; t < mk->topics.count; t++)
                for (int32_t p = 0; p < mk->topics.items[t].partitions.count; p++) {
                    const rn_write_txn_markers_response_writable_txn_marker_partition_result_t *pr =
                        &mk->topics.items[t].partitions.items[p];
                    rn_marker_item_t *item =
                        remote_match(job, r, mk->topics.items[t].name, pr->partition_index);
                    if (item) item->err = remote_err(pr->error_code);
                }
        }
    }
    rn_arena_free(&arena);
}

static void remote_answered(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    remote_t *r = ctx;
    job_t *job = r->job;
    /* Unanswered (a lost connection, a timeout, a short answer): again. */
    for (int32_t i = r->start; i < r->start + r->count; i++)
        job->items[i].err = err != RN_OK ? err : RN_ERR_CLOSED;
    if (err == RN_OK && !job->dropped) remote_apply(job, r, body, len);
    free(r);
    part_back(job);
}

/* The request for items [start, start+count), one topic entry per run of
   the same topic; NULL past the arena. */
static bool remote_build(job_t *job, rn_arena_t *arena, int32_t start, int32_t count,
                         rn_write_txn_markers_request_t *req) {
    rn_write_txn_markers_request_init(req);
    rn_write_txn_markers_request_writable_txn_marker_t *mk = rn_arena_alloc(arena, sizeof *mk);
    rn_write_txn_markers_request_writable_txn_marker_topic_t *topics =
        rn_arena_alloc(arena, (size_t)count * sizeof *topics);
    int32_t *ids = rn_arena_alloc(arena, (size_t)count * sizeof *ids);
    if (!mk || !topics || !ids) return false;
    const rn_partition_marker_t *marker = &job->items[start].marker;
    rn_write_txn_markers_request_writable_txn_marker_init(mk);
    mk->producer_id = marker->producer_id;
    mk->producer_epoch = marker->producer_epoch;
    mk->transaction_result = marker->commit;
    mk->coordinator_epoch = marker->coordinator_epoch;
    mk->topics.items = topics;
    mk->topics.count = 0;
    rn_write_txn_markers_request_writable_txn_marker_topic_t *topic = NULL;
    for (int32_t i = start; i < start + count; i++) {
        const rn_marker_item_t *item = &job->items[i];
        if (!topic || strcmp(item->topic, job->items[i - 1].topic)) {
            topic = &topics[mk->topics.count++];
            rn_write_txn_markers_request_writable_txn_marker_topic_init(topic);
            topic->name = rn_str_from_cstr(item->topic);
            topic->partition_indexes.items = &ids[i - start];
            topic->partition_indexes.count = 0;
        }
        topic->partition_indexes.items[topic->partition_indexes.count++] = item->partition;
    }
    req->markers.items = mk;
    req->markers.count = 1;
    return true;
}

/* Sends items [start, start+count) to broker; false when it cannot go now
   (no address, the client's queue full or closed). */
static bool remote_send(job_t *job, const rn_image_t *img, int32_t broker, int32_t start,
                        int32_t count) {
    rn_client_t *client = job->core->peers ? rn_peers_client(job->core->peers, img, broker) : NULL;
    if (!client) return false;
    rn_arena_t arena;
    rn_arena_init(&arena, (size_t)count * 64 + 4096);
    rn_write_txn_markers_request_t req;
    bool built = remote_build(job, &arena, start, count, &req);
    RN_ASSERT(built); /* the arena covers any partition count */
    remote_t *r = malloc(sizeof *r);
    RN_ASSERT(r != NULL);
    *r = (remote_t){job, broker, start, count};
    rn_client_call_t call = {.api_key = RN_API_WRITE_TXN_MARKERS,
                             .api_version = MARKERS_VERSION,
                             .msg = &req,
                             .done = remote_answered,
                             .ctx = r};
    rn_err_t err = rn_client_send(client, &call);
    rn_arena_free(&arena);
    if (err != RN_OK) {
        free(r);
        return false;
    }
    job->in_flight++;
    return true;
}

/* ---- a round ---- */

static void job_send(job_t *job) {
    rn_image_t *img = rn_topics_image(job->node);
    job_route(job, img);
    int32_t self = job->node->settings.node_id;
    job->in_flight = 1; /* the round itself, until every part is out */
    int32_t local = 0;
    while (local < job->count && job->dest[local] == self) local++;
    for (int32_t i = local; i < job->count;) {
        int32_t end = i;
        while (end < job->count && job->dest[end] == job->dest[i]) end++;
        rn_err_t why = job->dest[i] == DEST_NONE ? RN_ERR_NOT_LEADER : RN_ERR_CLOSED;
        if (job->dest[i] == DEST_NONE || !remote_send(job, img, job->dest[i], i, end - i))
            for (int32_t n = i; n < end; n++) job->items[n].err = why;
        i = end;
    }
    rn_image_release(img);
    if (local > 0) {
        job->in_flight++;
        job->markers.items = job->items;
        job->markers.count = local;
        rn_markers_write(job->core, &job->markers);
    }
    part_back(job);
}

static void job_tick(rn_timer_t *timer) {
    job_t *job = (job_t *)((char *)timer - offsetof(job_t, timer));
    RN_ASSERT(!job->dropped && job->in_flight == 0);
    if (job->count > 0) {
        job_send(job);
        return;
    }
    rn_txn_shard_t *shard = rn_txn_shard_of(job->node, job->index);
    job_unlink(shard, job);
    rn_txn_markers_done(shard->coord, job->id, rn_txn_now_ms(job->node));
    job_free(job);
}

void rn_txn_markers_begin(rn_txn_shard_t *shard, const char *id, const rn_txn_meta_t *meta) {
    job_t *job = calloc(1, sizeof *job);
    RN_ASSERT(job != NULL);
    job->node = shard->node;
    job->index = shard->index;
    job->core = &shard->node->cores[shard->part->owner];
    job->id = strdup(id);
    int32_t count = meta->part_count;
    size_t n = (size_t)count + 1;
    job->topics = calloc(n, sizeof *job->topics);
    job->items = calloc(n, sizeof *job->items);
    job->scratch = calloc(n, sizeof *job->scratch);
    job->dest = calloc(n, sizeof *job->dest);
    job->scratch_dest = calloc(n, sizeof *job->scratch_dest);
    RN_ASSERT(job->id && job->topics && job->items && job->scratch && job->dest &&
              job->scratch_dest);
    rn_partition_marker_t marker = {meta->producer_id, meta->producer_epoch,
                                    meta->state == RN_TXN_PREPARE_COMMIT, shard->leader_epoch};
    for (int32_t i = 0; i < count; i++) {
        job->topics[i] = strdup(meta->parts[i].topic);
        RN_ASSERT(job->topics[i] != NULL);
        job->items[i] = (rn_marker_item_t){
            .topic = job->topics[i], .partition = meta->parts[i].partition, .marker = marker};
    }
    job->topic_count = count;
    job->count = count;
    job->markers.done = local_back;
    rn_timer_init(&job->timer, job_tick);
    job->next = shard->jobs;
    shard->jobs = job;
    /* Sent on the next turn: this may run inside the group commit that
       made the prepare record durable. */
    rn_loop_timer_start(&job->core->loop, &job->timer, 0);
}

void rn_txn_markers_drop(rn_txn_shard_t *shard) {
    while (shard->jobs) {
        job_t *job = shard->jobs;
        shard->jobs = job->next;
        if (job->in_flight > 0) {
            job->dropped = true;
            continue;
        }
        rn_loop_timer_stop(&job->core->loop, &job->timer);
        job_free(job);
    }
}
