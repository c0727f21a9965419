/*
 * coordinator.c: transaction shards in the running broker (see
 * coordinator.h): creation of __transaction_state, one shard per
 * partition following its leadership, loading by replaying the log, and
 * the store hook that appends a transition's record and reports it
 * durable.
 */
#include "txn/coordinator_int.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/internal_topic.h"
#include "cluster/topics.h"
#include "group/coordinator.h"
#include "group/group_records.h"
#include "txn/txn_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t rn_txn_now_ms(const rn_node_t *node) { return rn_io_wall_ms(node->io); }

int32_t rn_txn_partition_count(const rn_node_t *node) { return node->txns ? node->txns->count : 0; }

int32_t rn_txn_partition_for(rn_str_t id, int32_t partition_count) {
    return rn_group_partition_for(id, partition_count);
}

rn_txn_shard_t *rn_txn_shard_of(rn_node_t *node, int32_t p) {
    rn_txn_rt_t *rt = node->txns;
    if (!rt || p < 0 || p >= rt->count) return NULL;
    return &rt->shards[p];
}

rn_txn_coord_t *rn_txn_shard(rn_node_t *node, int32_t p) {
    rn_txn_shard_t *shard = rn_txn_shard_of(node, p);
    return shard && shard->part ? shard->coord : NULL;
}

/* ---- the store hook ---- */

/* A transition's record waiting for the high watermark; freed when done. */
typedef struct store_wait {
    rn_partition_waiter_t waiter; /* first: the callback's pointer is ours */
    rn_node_t *node;
    int32_t index; /* the shard's, looked up again: it may be gone */
    uint64_t load_gen;
    char id[];
} store_wait_t;

static void store_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    store_wait_t *sw = (store_wait_t *)waiter;
    rn_txn_shard_t *shard = rn_txn_shard_of(sw->node, sw->index);
    if (shard && shard->load_gen == sw->load_gen)
        rn_txn_stored(shard->coord, sw->id, err, rn_txn_now_ms(sw->node));
    free(sw);
}

static rn_err_t store_append(rn_txn_shard_t *shard, const char *id, const rn_txn_meta_t *meta,
                             int64_t *last_offset) {
    rn_node_t *node = shard->node;
    shard->key.len = shard->value.len = 0;
    rn_txn_rec_key(&shard->key, id);
    if (meta->state != RN_TXN_DEAD) rn_txn_rec_value(&shard->value, meta);
    /* acks=all, as Kafka writes its transaction log: refused below
       min.insync.replicas (COORDINATOR_NOT_AVAILABLE to the client). */
    rn_err_t err = rn_partition_check_acks_all(shard->part);
    if (err != RN_OK) return err;
    rn_group_batch_t batch;
    rn_group_batch_init(&batch, rn_io_wall_ms(node->io));
    bool tombstone = meta->state == RN_TXN_DEAD; /* an expired id */
    err = rn_group_batch_add(&batch, &shard->key, tombstone ? NULL : &shard->value);
    if (err == RN_OK) {
        rn_group_batch_finish(&batch);
        rn_partition_append_result_t res;
        err = rn_partition_append(shard->part, batch.buf.ptr, batch.buf.len,
                                  rn_io_wall_ms(node->io), &res);
        if (err == RN_OK) {
            rn_core_mark_dirty(&node->cores[shard->part->owner], shard->part);
            *last_offset = res.last_offset;
        }
    }
    rn_group_batch_free(&batch);
    return err;
}

static void hook_store(void *ctx, const char *id, const rn_txn_meta_t *meta) {
    rn_txn_shard_t *shard = ctx;
    int64_t last_offset = -1;
    rn_err_t err = store_append(shard, id, meta, &last_offset);
    if (err != RN_OK) {
        RN_WARN("txn", "%s-%d: writing %s's state failed: %s", RN_TXN_STATE_TOPIC, shard->index, id,
                rn_err_name(err));
        rn_txn_stored(shard->coord, id, err, rn_txn_now_ms(shard->node));
        return;
    }
    size_t len = strlen(id);
    store_wait_t *sw = malloc(sizeof *sw + len + 1);
    RN_ASSERT(sw != NULL);
    sw->node = shard->node;
    sw->index = shard->index;
    sw->load_gen = shard->load_gen;
    memcpy(sw->id, id, len + 1);
    sw->waiter.done = store_durable;
    sw->waiter.offset_needed = last_offset;
    rn_partition_wait_hw(shard->part, &sw->waiter); /* on every in-sync replica; maybe at once */
}

/* ---- the markers hook ---- */

static void hook_markers(void *ctx, const char *id, const rn_txn_meta_t *meta) {
    rn_txn_markers_begin(ctx, id, meta);
}

/* ---- the topic ---- */

static rn_err_t state_topic_ensure(rn_node_t *node) {
    const rn_node_settings_t *set = &node->settings;
    char segment[24], min_isr[16];
    snprintf(segment, sizeof segment, "%lld", (long long)set->txn_segment_bytes);
    int16_t replicas = rn_internal_topic_replicas(node, set->txn_replication_factor);
    int32_t isr = set->txn_min_isr < replicas ? set->txn_min_isr : replicas;
    snprintf(min_isr, sizeof min_isr, "%d", isr);
    const rn_ctl_config_t configs[] = {
        {rn_str_from_cstr("cleanup.policy"), rn_str_from_cstr("compact")},
        {rn_str_from_cstr("segment.bytes"), rn_str_from_cstr(segment)},
        {rn_str_from_cstr("min.insync.replicas"), rn_str_from_cstr(min_isr)},
        {rn_str_from_cstr("unclean.leader.election.enable"), rn_str_from_cstr("false")},
    };
    const rn_internal_topic_t spec = {RN_TXN_STATE_TOPIC,
                                      set->txn_partitions,
                                      set->txn_replication_factor,
                                      "transaction.state.log.replication.factor",
                                      "txn",
                                      configs,
                                      (int32_t)(sizeof configs / sizeof configs[0])};
    return rn_internal_topic_ensure(node, &spec);
}

/* ---- shards ---- */

static void shard_new_coord(rn_txn_shard_t *shard, int16_t refusal) {
    rn_txn_config_t cfg = {.max_timeout_ms = shard->node->settings.txn_max_timeout_ms,
                           .id_expiration_ms = shard->node->settings.txn_id_expiration_ms};
    rn_txn_hooks_t hooks = {shard, hook_store, hook_markers};
    shard->coord = rn_txn_coord_new(&cfg, &hooks);
    rn_txn_coord_set_refusal(shard->coord, refusal);
}

/* Every transaction.abort.timed.out.transaction.cleanup.interval.ms while
   serving: the transactions past their timeout are aborted. */
static void shard_expire_tick(rn_timer_t *timer) {
    rn_txn_shard_t *shard =
        (rn_txn_shard_t *)((char *)timer - offsetof(rn_txn_shard_t, expire_timer));
    if (rn_txn_coord_refusal(shard->coord) != RN_KERR_NONE) return;
    int64_t now_ms = rn_txn_now_ms(shard->node);
    int32_t expired = rn_txn_expire(shard->coord, now_ms);
    if (expired)
        RN_INFO("txn", "%s-%d: aborted %d transaction(s) past their timeout", RN_TXN_STATE_TOPIC,
                shard->index, expired);
    if (now_ms >= shard->ids_check_ms) {
        shard->ids_check_ms = now_ms + shard->node->settings.txn_ids_check_ms;
        expired = rn_txn_expire_ids(shard->coord, now_ms);
        if (expired)
            RN_INFO("txn",
                    "%s-%d: removed %d transactional id(s) idle past "
                    "transactional.id.expiration.ms",
                    RN_TXN_STATE_TOPIC, shard->index, expired);
    }
    rn_loop_timer_start(&shard->node->cores[shard->part->owner].loop, timer,
                        shard->node->settings.txn_abort_check_ms);
}

static void shard_unload(rn_txn_shard_t *shard, int16_t refusal) {
    rn_loop_timer_stop(&shard->node->cores[shard->part->owner].loop, &shard->expire_timer);
    shard->load_gen++;
    rn_txn_markers_drop(shard);
    rn_txn_coord_free(shard->coord);
    shard_new_coord(shard, refusal);
}

typedef struct load_ctx {
    rn_txn_coord_t *coord;
    int64_t records;
} load_ctx_t;

static rn_err_t load_record(void *arg, rn_bytes_t key, rn_bytes_t value) {
    load_ctx_t *ctx = arg;
    rn_str_t id;
    rn_err_t err = rn_txn_rec_parse_key(key, &id);
    if (err == RN_ERR_NOT_FOUND) return RN_OK; /* a newer record type */
    if (err != RN_OK) return err;
    ctx->records++;
    if (value.len < 0) {
        rn_txn_load(ctx->coord, id, NULL);
        return RN_OK;
    }
    rn_txn_meta_t meta;
    rn_txn_meta_init(&meta);
    err = rn_txn_rec_parse_value(value, &meta);
    if (err == RN_OK) rn_txn_load(ctx->coord, id, &meta);
    rn_txn_meta_free(&meta);
    return err;
}

/* One batch: transactional ids' records. Transaction markers (a
   transactional offset commit's end) hold none of this coordinator's. */
static rn_err_t load_batch(void *arg, const rn_batch_header_t *hdr, const uint8_t *p, size_t size) {
    return rn_batch_is_control(hdr) ? RN_OK : rn_group_batch_each(p, size, load_record, arg);
}

static rn_err_t shard_load(rn_txn_shard_t *shard) {
    load_ctx_t ctx = {shard->coord, 0};
    rn_err_t err = rn_internal_topic_replay(shard->node, shard->part, "txn", load_batch, &ctx);
    if (ctx.records)
        RN_INFO("txn", "%s-%d: loaded %lld record(s), %d transactional id(s)", RN_TXN_STATE_TOPIC,
                shard->index, (long long)ctx.records, rn_txn_coord_count(shard->coord));
    return err;
}

void rn_txn_lead(rn_node_t *node, rn_partition_t *part, bool leads, int32_t leader_epoch) {
    rn_txn_rt_t *rt = node->txns;
    if (!rt || part->index >= rt->count || rt->shards[part->index].part != part) return;
    rn_txn_shard_t *shard = &rt->shards[part->index];
    bool serving = rn_txn_coord_refusal(shard->coord) == RN_KERR_NONE;
    if (leads == serving && (!leads || shard->leader_epoch == leader_epoch)) return;
    if (!leads) {
        shard_unload(shard, RN_KERR_NOT_COORDINATOR);
        shard->leader_epoch = -1;
        RN_INFO("txn", "%s-%d: no longer the coordinator of its transactional ids",
                RN_TXN_STATE_TOPIC, shard->index);
        return;
    }
    /* Led anew (this epoch): what the log holds now is the truth. */
    shard_unload(shard, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    rn_err_t err = shard_load(shard);
    if (err != RN_OK) {
        RN_ERROR("txn", "%s-%d: loading failed: %s", RN_TXN_STATE_TOPIC, shard->index,
                 rn_err_name(err));
        rn_txn_coord_set_refusal(shard->coord, RN_KERR_COORDINATOR_NOT_AVAILABLE);
        return;
    }
    rn_txn_coord_set_refusal(shard->coord, RN_KERR_NONE);
    shard->leader_epoch = leader_epoch;
    rn_txn_loaded(shard->coord, rn_txn_now_ms(node)); /* prepared ones complete */
    rn_loop_timer_start(&node->cores[part->owner].loop, &shard->expire_timer,
                        node->settings.txn_abort_check_ms);
}

rn_err_t rn_txn_start(rn_node_t *node) {
    RN_ASSERT(node->txns == NULL);
    rn_err_t err = state_topic_ensure(node);
    if (err != RN_OK) return err;
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    const rn_topic_rt_t *topic =
        rn_ptable_find(table, RN_TXN_STATE_TOPIC, strlen(RN_TXN_STATE_TOPIC));
    RN_ASSERT(topic != NULL);
    rn_txn_rt_t *rt = calloc(1, sizeof *rt);
    RN_ASSERT(rt != NULL);
    rt->node = node;
    rt->count = topic->partition_count;
    rt->shards = calloc((size_t)rt->count, sizeof *rt->shards);
    RN_ASSERT(rt->shards != NULL);
    for (int32_t p = 0; p < rt->count; p++) {
        rn_txn_shard_t *shard = &rt->shards[p];
        shard->node = node;
        shard->index = p;
        shard->part = topic->parts[p];
        if (shard->part) rn_partition_ref(shard->part);
        shard->leader_epoch = -1;
        rn_timer_init(&shard->expire_timer, shard_expire_tick);
        shard_new_coord(shard, RN_KERR_NOT_COORDINATOR);
        rn_buf_init(&shard->key, RN_GROUP_BATCH_BYTES_MAX);
        rn_buf_init(&shard->value, RN_GROUP_BATCH_BYTES_MAX);
    }
    rn_ptable_release(table);
    node->txns = rt;
    return RN_OK;
}

void rn_txn_stop(rn_node_t *node) {
    rn_txn_rt_t *rt = node->txns;
    if (!rt) return;
    node->txns = NULL;
    for (int32_t p = 0; p < rt->count; p++) {
        rn_txn_shard_t *shard = &rt->shards[p];
        rn_txn_coord_discard(shard->coord);
        rn_txn_markers_drop(shard);
        rn_buf_free(&shard->key);
        rn_buf_free(&shard->value);
        if (shard->part) rn_partition_unref(shard->part);
    }
    free(rt->shards);
    free(rt);
}
