/*
 * txn_markers.c: the markers of a prepared transaction, written by its
 * coordinator shard to every partition of the transaction through
 * cluster/markers.h (the path WriteTxnMarkers takes), COMMIT after
 * PrepareCommit and ABORT after PrepareAbort, with the shard's leader epoch
 * as the coordinator epoch. A partition that could not take its marker for
 * a reason that passes (no leader here yet, too few in-sync replicas, a
 * storage error; led by another broker, which needs WriteTxnMarkers over
 * the network, not built yet) is written again after RN_TXN_MARKER_RETRY_MS;
 * a partition that is gone, or whose producer has a newer epoch, needs none
 * (as Kafka's marker channel). Once every partition is done the shard stores the
 * transaction's completion.
 *
 * Every step runs on a timer turn of the owner core, never inside a
 * durability callback (the prepare record's, the last marker's): those run
 * within a core's group commit, where a new append would not be synced.
 *
 * Owns its jobs (the shard's list), on the shard's owner core only.
 */
#include "txn/coordinator_int.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/markers.h"
#include "cluster/topics.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct rn_txn_marker_job {
    rn_markers_t markers; /* first */
    struct rn_txn_marker_job *next;
    rn_node_t *node;
    int32_t index;   /* the shard's partition */
    rn_core_t *core; /* its owner core */
    bool in_flight;
    bool dropped; /* the shard let go: freed once back */
    bool warned;  /* a partition led elsewhere was logged */
    rn_timer_t timer;
    char *id;
    char **topics; /* heap copies the items point at */
    int32_t topic_count;
    rn_marker_item_t *items;
} job_t;

static void job_free(job_t *job) {
    for (int32_t i = 0; i < job->topic_count; i++) free(job->topics[i]);
    free(job->topics);
    free(job->items);
    free(job->id);
    free(job);
}

static void job_unlink(rn_txn_shard_t *shard, job_t *job) {
    job_t **link = &shard->jobs;
    while (*link && *link != job) link = &(*link)->next;
    RN_ASSERT(*link == job);
    *link = job->next;
}

static void job_send(job_t *job) {
    job->in_flight = true;
    rn_markers_write(job->core, &job->markers);
}

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
   partition gone, or its producer already past this epoch. A partition
   another broker leads would need WriteTxnMarkers over the network (not
   built yet): it is tried again, and the transaction stays prepared, rather
   than completed without its marker. */
static bool item_final(rn_node_t *node, const rn_marker_item_t *item) {
    if (item->err == RN_ERR_NOT_FOUND) return !partition_exists(node, item);
    return item->err == RN_OK || item->err == RN_ERR_STALE;
}

/* Every marker has its outcome (on the owner core, maybe inside its group
   commit): keeps those to write again and arms the timer. */
static void job_back(rn_markers_t *markers) {
    job_t *job = (job_t *)markers;
    job->in_flight = false;
    if (job->dropped) {
        job_free(job);
        return;
    }
    int32_t left = 0;
    for (int32_t i = 0; i < markers->count; i++) {
        rn_marker_item_t *item = &markers->items[i];
        if (item_final(job->node, item)) continue;
        if (item->err == RN_ERR_NOT_FOUND && !job->warned) {
            job->warned = true;
            RN_WARN("txn",
                    "%s: %s-%d is led by another broker: transaction markers are "
                    "written only to partitions this node leads; the transaction stays prepared",
                    job->id, item->topic, item->partition);
        }
        RN_DEBUG_LOG("txn", "%s: marker for %s-%d not written (%s): again in %d ms", job->id,
                     item->topic, item->partition, rn_err_name(item->err), RN_TXN_MARKER_RETRY_MS);
        markers->items[left++] = *item;
    }
    markers->count = left;
    rn_loop_timer_start(&job->core->loop, &job->timer, left ? RN_TXN_MARKER_RETRY_MS : 0);
}

static void job_tick(rn_timer_t *timer) {
    job_t *job = (job_t *)((char *)timer - offsetof(job_t, timer));
    RN_ASSERT(!job->dropped && !job->in_flight);
    if (job->markers.count > 0) {
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
    job->topics = calloc((size_t)count + 1, sizeof *job->topics);
    job->items = calloc((size_t)count + 1, sizeof *job->items);
    RN_ASSERT(job->id && job->topics && job->items);
    rn_partition_marker_t marker = {meta->producer_id, meta->producer_epoch,
                                    meta->state == RN_TXN_PREPARE_COMMIT, shard->leader_epoch};
    for (int32_t i = 0; i < count; i++) {
        job->topics[i] = strdup(meta->parts[i].topic);
        RN_ASSERT(job->topics[i] != NULL);
        job->items[i] = (rn_marker_item_t){
            .topic = job->topics[i], .partition = meta->parts[i].partition, .marker = marker};
    }
    job->topic_count = count;
    job->markers.items = job->items;
    job->markers.count = count;
    job->markers.done = job_back;
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
        if (job->in_flight) {
            job->dropped = true;
            continue;
        }
        rn_loop_timer_stop(&job->core->loop, &job->timer);
        job_free(job);
    }
}
