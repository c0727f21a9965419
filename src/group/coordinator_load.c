/*
 * coordinator_load.c: start-up of the group coordinator (creating
 * __consumer_offsets when absent, one shard per partition, each loaded by
 * replaying its log) and the lag report for metrics and tools.
 */
#include "group/coordinator_int.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/internal_topic.h"
#include "cluster/topics.h"
#include "proto/batch_marker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the topic ---- */

static rn_err_t offsets_topic_ensure(rn_node_t *node) {
    char segment[24];
    snprintf(segment, sizeof segment, "%lld", (long long)node->settings.offsets_segment_bytes);
    /* Compaction (coordinator.c) replaces time and size retention here. */
    const rn_ctl_config_t configs[] = {
        {rn_str_from_cstr("cleanup.policy"), rn_str_from_cstr("compact")},
        {rn_str_from_cstr("segment.bytes"), rn_str_from_cstr(segment)},
        {rn_str_from_cstr("retention.ms"), rn_str_from_cstr("-1")},
        {rn_str_from_cstr("retention.bytes"), rn_str_from_cstr("-1")},
    };
    const rn_internal_topic_t spec = {RN_GROUP_OFFSETS_TOPIC,
                                      node->settings.offsets_partitions,
                                      node->settings.offsets_replication_factor,
                                      "offsets.topic.replication.factor",
                                      "group",
                                      configs,
                                      (int32_t)(sizeof configs / sizeof configs[0])};
    return rn_internal_topic_ensure(node, &spec);
}

/* ---- loading ---- */

typedef struct load_ctx {
    rn_group_shard_t *shard;
    rn_group_coord_t *coord;
    int64_t now_ms;
    int64_t records;
    int64_t producer_id; /* of the transactional batch being read */
} load_ctx_t;

static rn_err_t load_record(void *arg, rn_bytes_t key, rn_bytes_t value) {
    load_ctx_t *ctx = arg;
    ctx->records++;
    return rn_group_rec_apply(ctx->coord, key, value, ctx->now_ms);
}

/* A transaction's offset: pending until its marker. */
static rn_err_t load_pending(void *arg, rn_bytes_t key, rn_bytes_t value) {
    load_ctx_t *ctx = arg;
    ctx->records++;
    rn_group_pending_add(ctx->shard, ctx->producer_id, key, value);
    return RN_OK;
}

/* One batch: offsets and groups, a transaction's offsets, or its marker. */
static rn_err_t load_batch(void *arg, const rn_batch_header_t *hdr, const uint8_t *p, size_t size) {
    load_ctx_t *ctx = arg;
    if (rn_batch_is_control(hdr)) {
        bool commit;
        int32_t coordinator_epoch;
        if (rn_batch_marker_decode(p, size, &commit, &coordinator_epoch) == RN_OK)
            rn_group_pending_end(ctx->shard, hdr->producer_id, commit, ctx->now_ms);
        return RN_OK;
    }
    if (rn_batch_is_transactional(hdr)) {
        ctx->producer_id = hdr->producer_id;
        return rn_group_batch_each(p, size, load_pending, ctx);
    }
    return rn_group_batch_each(p, size, load_record, ctx);
}

static rn_err_t shard_load(rn_group_shard_t *shard) {
    rn_log_t *log = shard->part->log;
    load_ctx_t ctx = {shard, shard->coord, rn_group_now_ms(shard->node), 0, -1};
    rn_err_t err = rn_internal_topic_replay(shard->node, shard->part, "group", load_batch, &ctx);
    shard->bytes_since_checkpoint = (int64_t)rn_log_size_bytes(log);
    if (ctx.records)
        RN_INFO("group", "%s-%d: loaded %lld record(s), %d group(s)", RN_GROUP_OFFSETS_TOPIC,
                shard->index, (long long)ctx.records, rn_group_coord_group_count(shard->coord));
    return err;
}

/* A fresh, empty coordinator for the shard, refusing with `refusal`. */
static void shard_new_coord(rn_group_shard_t *shard, int16_t refusal) {
    const rn_node_settings_t *set = &shard->node->settings;
    rn_group_config_t cfg = {
        .session_timeout_min_ms = set->group_min_session_timeout_ms,
        .session_timeout_max_ms = set->group_max_session_timeout_ms,
        .initial_rebalance_delay_ms = set->group_initial_rebalance_delay_ms,
        .group_max_size = set->group_max_size,
        .offsets_retention_ms = set->offsets_retention_ms,
        .offsets_retention_check_ms = set->offsets_retention_check_ms,
    };
    rn_group_hooks_t hooks = {shard,
                              rn_group_hook_random,
                              rn_group_hook_wall_ms,
                              rn_group_hook_group_changed,
                              rn_group_hook_group_removed,
                              rn_group_hook_offset_removed,
                              rn_group_hook_group_store};
    shard->coord = rn_group_coord_new(&cfg, &hooks, shard->index);
    rn_group_coord_set_refusal(shard->coord, refusal);
}

/* part: this node's replica of the shard's partition, or NULL when it
   keeps none (it never coordinates those groups). */
static void shard_init(rn_node_t *node, rn_group_shard_t *shard, int32_t index,
                       rn_partition_t *part) {
    shard->node = node;
    shard->index = index;
    if (part) rn_partition_ref(part);
    shard->part = part;
    shard->leader_epoch = -1;
    shard_new_coord(shard, RN_KERR_NOT_COORDINATOR);
    rn_group_batch_init(&shard->out, rn_io_wall_ms(node->io));
    rn_buf_init(&shard->key, RN_GROUP_BATCH_BYTES_MAX);
    rn_buf_init(&shard->value, RN_GROUP_BATCH_BYTES_MAX);
}

rn_err_t rn_group_start(rn_node_t *node) {
    RN_ASSERT(node->groups == NULL);
    rn_err_t err = offsets_topic_ensure(node);
    if (err != RN_OK) return err;
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    const rn_topic_rt_t *topic =
        rn_ptable_find(table, RN_GROUP_OFFSETS_TOPIC, strlen(RN_GROUP_OFFSETS_TOPIC));
    RN_ASSERT(topic != NULL);
    rn_group_rt_t *rt = calloc(1, sizeof *rt);
    RN_ASSERT(rt != NULL);
    rt->node = node;
    rt->count = topic->partition_count;
    rt->shards = calloc((size_t)rt->count, sizeof *rt->shards);
    RN_ASSERT(rt->shards != NULL);
    /* Each shard serves once this node leads its partition
       (rn_group_lead): the leadership the image gives reaches the owner
       cores as soon as the loops run. */
    for (int32_t p = 0; p < rt->count; p++) shard_init(node, &rt->shards[p], p, topic->parts[p]);
    rn_ptable_release(table);
    for (int c = 0; c < node->core_count; c++) {
        rn_group_core_t *gc = &rt->cores[c];
        gc->rt = rt;
        gc->core = c;
        gc->armed_ms = INT64_MAX;
        rn_timer_init(&gc->timer, rn_group_core_tick);
        rn_loop_timer_start(&node->cores[c].loop, &gc->timer, 0);
    }
    node->groups = rt;
    return RN_OK;
}

/* Leadership moved away: every group of the shard is forgotten here (its
   waiters answered NOT_COORDINATOR); the new leader loads them from its
   copy of the log. */
static void shard_unload(rn_group_shard_t *shard, int16_t refusal) {
    rn_group_pending_clear(shard);
    rn_group_coord_free(shard->coord);
    shard_new_coord(shard, refusal);
    rn_group_batch_reset(&shard->out, rn_io_wall_ms(shard->node->io));
    shard->checkpointing = false;
    shard->bytes_since_checkpoint = 0;
}

void rn_group_lead(rn_node_t *node, rn_partition_t *part, bool leads, int32_t leader_epoch) {
    rn_group_rt_t *rt = node->groups;
    if (!rt || part->index >= rt->count || rt->shards[part->index].part != part) return;
    rn_group_shard_t *shard = &rt->shards[part->index];
    bool serving = rn_group_coord_refusal(shard->coord) == RN_KERR_NONE;
    if (leads == serving && (!leads || shard->leader_epoch == leader_epoch)) return;
    if (!leads) {
        shard_unload(shard, RN_KERR_NOT_COORDINATOR);
        shard->leader_epoch = -1;
        RN_INFO("group", "%s-%d: no longer the coordinator of its groups", RN_GROUP_OFFSETS_TOPIC,
                shard->index);
        return;
    }
    /* Led anew (this epoch): what the log holds now is the truth. */
    shard_unload(shard, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    rn_err_t err = shard_load(shard);
    if (err != RN_OK) {
        RN_ERROR("group", "%s-%d: loading failed: %s", RN_GROUP_OFFSETS_TOPIC, shard->index,
                 rn_err_name(err));
        rn_group_coord_set_refusal(shard->coord, RN_KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    rn_group_coord_set_refusal(shard->coord, RN_KERR_NONE);
    shard->leader_epoch = leader_epoch;
    rn_group_shard_done(node, shard->index);
}

void rn_group_stop(rn_node_t *node) {
    rn_group_rt_t *rt = node->groups;
    if (!rt) return;
    node->groups = NULL;
    for (int32_t p = 0; p < rt->count; p++) {
        rn_group_shard_t *shard = &rt->shards[p];
        if (!shard->coord) continue; /* start failed before this one */
        rn_group_coord_discard(shard->coord);
        rn_group_pending_clear(shard);
        free(shard->pending);
        rn_group_batch_free(&shard->out);
        rn_buf_free(&shard->key);
        rn_buf_free(&shard->value);
        if (shard->part) rn_partition_unref(shard->part);
    }
    free(rt->shards);
    free(rt);
}

/* ---- lag ---- */

typedef struct lag_row {
    char *group_id;
    char *topic;
    int32_t partition;
    int64_t committed;
    int64_t end_offset;
} lag_row_t;

typedef struct lag_call {
    rn_mail_t mail;
    rn_group_rt_t *rt;
    int core;
    lag_row_t *rows;
    int32_t count;
    int32_t cap;
    rn_ptable_t *table;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int *left;
} lag_call_t;

static int lag_offset(void *arg, const char *topic, int32_t partition,
                      const rn_group_offset_t *value) {
    void **ctx = arg;
    lag_call_t *call = ctx[0];
    const rn_group_t *group = ctx[1];
    if (call->count == call->cap) {
        call->cap = call->cap ? call->cap * 2 : 64;
        call->rows = realloc(call->rows, (size_t)call->cap * sizeof *call->rows);
        RN_ASSERT(call->rows != NULL);
    }
    rn_partition_t *part = rn_ptable_partition(call->table, rn_str_from_cstr(topic), partition);
    lag_row_t *row = &call->rows[call->count++];
    row->group_id = strdup(rn_group_id(group));
    row->topic = strdup(topic);
    RN_ASSERT(row->group_id && row->topic);
    row->partition = partition;
    row->committed = value->offset;
    row->end_offset = part ? rn_partition_hw(part) : -1;
    return 0;
}

static void lag_on_core(rn_mail_t *mail) {
    lag_call_t *call = (lag_call_t *)mail;
    rn_group_rt_t *rt = call->rt;
    for (int32_t p = 0; p < rt->count; p++) {
        rn_group_shard_t *shard = &rt->shards[p];
        if (!shard->part || shard->part->owner != call->core) continue;
        for (int32_t g = 0; g < rn_group_coord_group_count(shard->coord); g++) {
            const rn_group_t *group = rn_group_coord_group_at(shard->coord, g);
            void *ctx[2] = {call, (void *)(uintptr_t)group};
            rn_group_offsets_each(group, lag_offset, ctx);
        }
    }
    pthread_mutex_lock(call->lock);
    (*call->left)--;
    pthread_cond_signal(call->cond);
    pthread_mutex_unlock(call->lock);
}

void rn_group_lag_each(rn_node_t *node, rn_group_lag_fn fn, void *ctx) {
    rn_group_rt_t *rt = node->groups;
    if (!rt) return;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    int left = node->core_count;
    lag_call_t *calls = calloc((size_t)node->core_count, sizeof *calls);
    RN_ASSERT(calls != NULL);
    rn_ptable_t *table = rn_node_table_acquire(node); /* not a loop thread */
    for (int c = 0; c < node->core_count; c++) {
        calls[c] = (lag_call_t){
            .rt = rt, .core = c, .table = table, .lock = &lock, .cond = &cond, .left = &left};
        calls[c].mail.fn = lag_on_core;
        rn_loop_post(&node->cores[c].loop, &calls[c].mail);
    }
    pthread_mutex_lock(&lock);
    while (left > 0) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    rn_ptable_release(table);
    for (int c = 0; c < node->core_count; c++) {
        for (int32_t i = 0; i < calls[c].count; i++) {
            lag_row_t *row = &calls[c].rows[i];
            fn(ctx, row->group_id, row->topic, row->partition, row->committed, row->end_offset);
            free(row->group_id);
            free(row->topic);
        }
        free(calls[c].rows);
    }
    free(calls);
}
