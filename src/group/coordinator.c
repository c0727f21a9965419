/*
 * coordinator.c: group shards in the running broker (see coordinator.h):
 * creation of __consumer_offsets, loading, the records a shard produces,
 * OffsetCommit appends, the group record a SyncGroup waits for (both
 * acknowledged once durable), the per-core timer, and compaction by
 * checkpoint.
 */
#include "group/coordinator_int.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/topics.h"
#include "group/group_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int64_t rn_group_now_ms(const rn_node_t *node) { return rn_io_now_ms(node->io); }

int32_t rn_group_partition_count(const rn_node_t *node) {
    return node->groups ? node->groups->count : 0;
}

char *rn_group_str_dup(rn_str_t str) {
    size_t len = str.len > 0 ? (size_t)str.len : 0;
    char *out = malloc(len + 1);
    RN_ASSERT(out != NULL);
    if (len) memcpy(out, str.ptr, len);
    out[len] = '\0';
    return out;
}

/* ---- Kafka's partition of a group ---- */

/* The next UTF-16 code unit(s) of a UTF-8 string, as Java decodes it
   (malformed bytes become U+FFFD). Returns the bytes consumed. */
static size_t utf8_next(const uint8_t *p, size_t left, uint32_t *cp) {
    uint8_t b = p[0];
    size_t need = b < 0x80             ? 0
                  : (b & 0xE0) == 0xC0 ? 1
                  : (b & 0xF0) == 0xE0 ? 2
                  : (b & 0xF8) == 0xF0 ? 3
                                       : 9;
    if (need == 0) {
        *cp = b;
        return 1;
    }
    if (need == 9 || need >= left) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = b & (0x3Fu >> need);
    for (size_t i = 1; i <= need; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    *cp = v;
    return need + 1;
}

int32_t rn_group_partition_for(rn_str_t group_id, int32_t partition_count) {
    RN_ASSERT(partition_count > 0);
    uint32_t h = 0;
    const uint8_t *p = (const uint8_t *)group_id.ptr;
    size_t len = group_id.len > 0 ? (size_t)group_id.len : 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_next(p + i, len - i, &cp);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31u * h + (0xD800u + (cp >> 10));
            h = 31u * h + (0xDC00u + (cp & 0x3FFu));
        } else {
            h = 31u * h + cp;
        }
    }
    int32_t hash = (int32_t)h;
    int32_t abs_hash = hash == INT32_MIN ? 0 : (hash < 0 ? -hash : hash);
    return abs_hash % partition_count;
}

/* ---- the shard's hooks: records to write ---- */

static void shard_flush(rn_group_shard_t *shard);
static void core_arm(rn_group_core_t *gc, int64_t deadline_ms);

static void shard_add(rn_group_shard_t *shard, bool tombstone) {
    if (rn_group_batch_add(&shard->out, &shard->key, tombstone ? NULL : &shard->value) == RN_OK)
        return;
    shard_flush(shard);
    rn_err_t err = rn_group_batch_add(&shard->out, &shard->key, tombstone ? NULL : &shard->value);
    if (err != RN_OK)
        RN_ERROR("group", "%s-%d: a record of %zu bytes does not fit a batch",
                 RN_GROUP_OFFSETS_TOPIC, shard->index, shard->value.len);
}

uint64_t rn_group_hook_random(void *ctx) {
    return rn_io_random(((rn_group_shard_t *)ctx)->node->io);
}
int64_t rn_group_hook_wall_ms(void *ctx) {
    return rn_io_wall_ms(((rn_group_shard_t *)ctx)->node->io);
}

void rn_group_hook_group_changed(void *ctx, const rn_group_t *group) {
    rn_group_shard_t *shard = ctx;
    shard->key.len = shard->value.len = 0;
    rn_group_rec_group_key(&shard->key, rn_group_id(group));
    rn_group_rec_group_value(&shard->value, group);
    shard_add(shard, false);
}

void rn_group_hook_group_removed(void *ctx, const char *group_id) {
    rn_group_shard_t *shard = ctx;
    shard->key.len = 0;
    rn_group_rec_group_key(&shard->key, group_id);
    shard_add(shard, true);
}

void rn_group_hook_offset_removed(void *ctx, const char *group_id, const char *topic,
                                  int32_t partition) {
    rn_group_shard_t *shard = ctx;
    shard->key.len = 0;
    rn_group_rec_offset_key(&shard->key, group_id, topic, partition);
    shard_add(shard, true);
}

/* ---- appending ---- */

static rn_err_t shard_append(rn_group_shard_t *shard, rn_group_batch_t *batch,
                             rn_partition_append_result_t *res) {
    rn_group_batch_finish(batch);
    rn_node_t *node = shard->node;
    rn_partition_t *part = shard->part;
    rn_err_t err =
        rn_partition_append(part, batch->buf.ptr, batch->buf.len, rn_io_wall_ms(node->io), res);
    if (err == RN_OK) {
        rn_core_mark_dirty(&node->cores[part->owner], part);
        shard->bytes_since_checkpoint += (int64_t)batch->buf.len;
    } else {
        RN_ERROR("group", "%s-%d: append failed: %s", RN_GROUP_OFFSETS_TOPIC, shard->index,
                 rn_err_name(err));
    }
    return err;
}

static void shard_flush(rn_group_shard_t *shard) {
    if (shard->out.count == 0) return;
    rn_partition_append_result_t res;
    (void)shard_append(shard, &shard->out, &res);
    rn_group_batch_reset(&shard->out, rn_io_wall_ms(shard->node->io));
}

/* ---- the group's record after the leader's SyncGroup ---- */

/* A group record waiting for the group commit; freed when it completes. */
typedef struct store_wait {
    rn_partition_waiter_t waiter; /* first: the callback's pointer is ours */
    rn_group_shard_t *shard;
    int32_t generation;
    char group_id[];
} store_wait_t;

static void store_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    store_wait_t *sw = (store_wait_t *)waiter;
    rn_group_shard_t *shard = sw->shard;
    rn_node_t *node = shard->node;
    rn_group_stored(shard->coord, rn_str_from_cstr(sw->group_id), sw->generation, err,
                    rn_group_now_ms(node));
    free(sw);
    if (err != RN_OK && node->groups) /* the group rebalances: its deadline */
        core_arm(&node->groups->cores[shard->part->owner], rn_group_coord_deadline(shard->coord));
}

void rn_group_hook_group_store(void *ctx, const rn_group_t *group) {
    rn_group_shard_t *shard = ctx;
    rn_node_t *node = shard->node;
    rn_str_t group_id = rn_str_from_cstr(rn_group_id(group));
    int32_t generation = rn_group_generation(group);
    shard_flush(shard); /* records the shard produced before go first */
    rn_group_hook_group_changed(shard, group);
    rn_err_t err = RN_ERR_TOO_LARGE; /* the record fits no batch (logged) */
    rn_partition_append_result_t res;
    if (shard->out.count > 0) {
        err = shard_append(shard, &shard->out, &res);
        rn_group_batch_reset(&shard->out, rn_io_wall_ms(node->io));
    }
    if (err == RN_OK) {
        size_t len = (size_t)group_id.len;
        store_wait_t *sw = malloc(sizeof *sw + len + 1);
        RN_ASSERT(sw != NULL);
        sw->shard = shard;
        sw->generation = generation;
        memcpy(sw->group_id, group_id.ptr, len + 1);
        sw->waiter.done = store_durable;
        sw->waiter.offset_needed = res.last_offset;
        rn_partition_wait_hw(shard->part, &sw->waiter); /* on every in-sync replica */
        return;
    }
    rn_group_stored(shard->coord, group_id, generation, err, rn_group_now_ms(node));
}

/* ---- compaction by checkpoint ---- */

typedef struct checkpoint_ctx {
    rn_group_shard_t *shard;
    const char *group_id;
} checkpoint_ctx_t;

static int checkpoint_offset(void *arg, const char *topic, int32_t partition,
                             const rn_group_offset_t *value) {
    checkpoint_ctx_t *ctx = arg;
    rn_group_shard_t *shard = ctx->shard;
    shard->key.len = shard->value.len = 0;
    rn_group_rec_offset_key(&shard->key, ctx->group_id, topic, partition);
    rn_group_rec_offset_value(&shard->value, value);
    shard_add(shard, false);
    return 0;
}

static void checkpoint_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    rn_group_shard_t *shard =
        (rn_group_shard_t *)((char *)waiter - offsetof(rn_group_shard_t, checkpoint_waiter));
    shard->checkpointing = false;
    if (err != RN_OK || shard->part->deleted) return;
    int64_t before = rn_partition_start(shard->part);
    err = rn_partition_delete_records(shard->part, shard->checkpoint_start);
    if (err != RN_OK)
        RN_WARN("group", "%s-%d: compaction could not move the log start: %s",
                RN_GROUP_OFFSETS_TOPIC, shard->index, rn_err_name(err));
    else
        RN_DEBUG_LOG("group", "%s-%d: compacted, log start %lld -> %lld", RN_GROUP_OFFSETS_TOPIC,
                     shard->index, (long long)before, (long long)shard->checkpoint_start);
}

/* Appends the whole live state; once durable, everything before it goes. */
static void shard_checkpoint(rn_group_shard_t *shard) {
    shard_flush(shard);
    rn_partition_t *part = shard->part;
    shard->checkpoint_start = rn_log_end_offset(part->log);
    int64_t bytes_before = shard->bytes_since_checkpoint;
    rn_group_coord_t *coord = shard->coord;
    for (int32_t g = 0; g < rn_group_coord_group_count(coord); g++) {
        const rn_group_t *group = rn_group_coord_group_at(coord, g);
        if (rn_group_has_metadata(group)) rn_group_hook_group_changed(shard, group);
        checkpoint_ctx_t ctx = {shard, rn_group_id(group)};
        rn_group_offsets_each(group, checkpoint_offset, &ctx);
    }
    shard_flush(shard);
    shard->checkpoint_bytes = shard->bytes_since_checkpoint - bytes_before;
    shard->bytes_since_checkpoint = 0;
    /* The log start may move only below the high watermark: once every
       in-sync replica holds the checkpoint (maybe at once). */
    shard->checkpointing = true;
    shard->checkpoint_waiter.offset_needed = rn_log_end_offset(part->log) - 1;
    shard->checkpoint_waiter.done = checkpoint_durable;
    rn_partition_wait_hw(part, &shard->checkpoint_waiter);
}

static void shard_maybe_compact(rn_group_shard_t *shard) {
    /* An open transaction's offsets live only in the log until its marker:
       the log start must not pass them. */
    if (shard->pending_count > 0) return;
    int64_t threshold = 2 * shard->checkpoint_bytes;
    int64_t segment = shard->node->settings.offsets_segment_bytes;
    if (threshold < segment) threshold = segment;
    if (threshold < RN_GROUP_COMPACT_BYTES_MIN) threshold = RN_GROUP_COMPACT_BYTES_MIN;
    if (shard->checkpointing || shard->bytes_since_checkpoint < threshold) return;
    shard_checkpoint(shard);
}

/* ---- per-core timer ---- */

static rn_group_shard_t *shard_of(rn_node_t *node, int32_t p) {
    rn_group_rt_t *rt = node->groups;
    if (!rt || p < 0 || p >= rt->count) return NULL;
    return &rt->shards[p];
}

static void core_arm(rn_group_core_t *gc, int64_t deadline_ms) {
    rn_node_t *node = gc->rt->node;
    int64_t now = rn_group_now_ms(node);
    if (deadline_ms > now + GROUP_TIMER_MS_MAX) deadline_ms = now + GROUP_TIMER_MS_MAX;
    if (gc->armed_ms <= deadline_ms && gc->timer.heap_index >= 0) return;
    gc->armed_ms = deadline_ms;
    rn_loop_timer_start(&node->cores[gc->core].loop, &gc->timer,
                        deadline_ms > now ? deadline_ms - now : 0);
}

void rn_group_core_tick(rn_timer_t *timer) {
    rn_group_core_t *gc = (rn_group_core_t *)((char *)timer - offsetof(rn_group_core_t, timer));
    rn_group_rt_t *rt = gc->rt;
    int64_t now = rn_group_now_ms(rt->node);
    int64_t next = INT64_MAX;
    for (int32_t p = 0; p < rt->count; p++) {
        rn_group_shard_t *shard = &rt->shards[p];
        if (!shard->part || shard->part->owner != gc->core ||
            rn_group_coord_refusal(shard->coord) != RN_KERR_NONE)
            continue;
        rn_group_coord_tick(shard->coord, now);
        shard_flush(shard);
        shard_maybe_compact(shard);
        int64_t deadline = rn_group_coord_deadline(shard->coord);
        if (deadline < next) next = deadline;
    }
    gc->armed_ms = INT64_MAX;
    core_arm(gc, next);
}

rn_group_coord_t *rn_group_shard(rn_node_t *node, int32_t p) {
    rn_group_shard_t *shard = shard_of(node, p);
    if (!shard || !shard->part) return NULL;
    return shard->coord;
}

void rn_group_shard_done(rn_node_t *node, int32_t p) {
    rn_group_shard_t *shard = shard_of(node, p);
    RN_ASSERT(shard != NULL);
    shard_flush(shard);
    shard_maybe_compact(shard);
    core_arm(&node->groups->cores[shard->part->owner], rn_group_coord_deadline(shard->coord));
}

/* ---- commits ---- */

rn_err_t rn_group_commit(rn_node_t *node, int32_t p, rn_str_t group_id,
                         const rn_group_commit_item_t *items, int32_t count,
                         rn_partition_waiter_t *waiter) {
    rn_group_shard_t *shard = shard_of(node, p);
    RN_ASSERT(shard != NULL && count > 0);
    char *gid = rn_group_str_dup(group_id);
    rn_group_batch_t batch;
    rn_group_batch_init(&batch, rn_io_wall_ms(node->io));
    rn_err_t err = RN_OK;
    for (int32_t i = 0; i < count && err == RN_OK; i++) {
        char topic[RN_TOPIC_NAME_BYTES_MAX + 1];
        size_t len = items[i].topic.len > 0 ? (size_t)items[i].topic.len : 0;
        if (len > RN_TOPIC_NAME_BYTES_MAX) len = RN_TOPIC_NAME_BYTES_MAX;
        memcpy(topic, items[i].topic.ptr, len);
        topic[len] = '\0';
        shard->key.len = shard->value.len = 0;
        rn_group_rec_offset_key(&shard->key, gid, topic, items[i].partition);
        rn_group_rec_offset_value(&shard->value, &items[i].value);
        err = rn_group_batch_add(&batch, &shard->key, &shard->value);
    }
    free(gid);
    rn_partition_append_result_t res;
    if (err == RN_OK) err = shard_append(shard, &batch, &res);
    rn_group_batch_free(&batch);
    if (err != RN_OK) return err;
    for (int32_t i = 0; i < count; i++)
        (void)rn_group_offset_put(shard->coord, group_id, items[i].topic, items[i].partition,
                                  &items[i].value);
    waiter->offset_needed = res.last_offset;
    rn_partition_wait_hw(shard->part, waiter); /* on every in-sync replica; maybe at once */
    return RN_OK;
}

void rn_group_forget_offset(rn_node_t *node, int32_t p, rn_str_t group_id, rn_str_t topic,
                            int32_t partition) {
    rn_group_shard_t *shard = shard_of(node, p);
    RN_ASSERT(shard != NULL);
    if (!rn_group_offset_remove(shard->coord, group_id, topic, partition)) return;
    char *gid = rn_group_str_dup(group_id);
    char *tname = rn_group_str_dup(topic);
    rn_group_hook_offset_removed(shard, gid, tname, partition);
    free(gid);
    free(tname);
}

/* ---- transactional offsets ---- */

static rn_bytes_t bytes_dup(const uint8_t *ptr, size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    RN_ASSERT(copy != NULL);
    if (len) memcpy(copy, ptr, len);
    return (rn_bytes_t){copy, (int32_t)len};
}

void rn_group_pending_add(rn_group_shard_t *shard, int64_t producer_id, rn_bytes_t key,
                          rn_bytes_t value) {
    if (shard->pending_count == shard->pending_cap) {
        shard->pending_cap = shard->pending_cap ? shard->pending_cap * 2 : 16;
        shard->pending =
            realloc(shard->pending, (size_t)shard->pending_cap * sizeof *shard->pending);
        RN_ASSERT(shard->pending != NULL);
    }
    rn_group_txn_pending_t *entry = &shard->pending[shard->pending_count++];
    entry->producer_id = producer_id;
    entry->key = bytes_dup(key.ptr, key.len > 0 ? (size_t)key.len : 0);
    entry->value = value.len < 0 ? (rn_bytes_t){NULL, -1} : bytes_dup(value.ptr, (size_t)value.len);
}

static void pending_free(rn_group_txn_pending_t *entry) {
    free((void *)(uintptr_t)entry->key.ptr);
    free((void *)(uintptr_t)entry->value.ptr);
}

void rn_group_pending_end(rn_group_shard_t *shard, int64_t producer_id, bool commit,
                          int64_t now_ms) {
    int32_t kept = 0;
    for (int32_t i = 0; i < shard->pending_count; i++) {
        rn_group_txn_pending_t *entry = &shard->pending[i];
        if (entry->producer_id != producer_id) {
            shard->pending[kept++] = *entry;
            continue;
        }
        if (commit && rn_group_rec_apply(shard->coord, entry->key, entry->value, now_ms) != RN_OK)
            RN_WARN("group", "%s-%d: a committed transactional offset is malformed",
                    RN_GROUP_OFFSETS_TOPIC, shard->index);
        pending_free(entry);
    }
    shard->pending_count = kept;
}

void rn_group_pending_clear(rn_group_shard_t *shard) {
    for (int32_t i = 0; i < shard->pending_count; i++) pending_free(&shard->pending[i]);
    shard->pending_count = 0;
}

rn_err_t rn_group_txn_commit(rn_node_t *node, int32_t p, rn_str_t group_id, int64_t producer_id,
                             int16_t producer_epoch, const rn_group_commit_item_t *items,
                             int32_t count, rn_partition_waiter_t *waiter) {
    rn_group_shard_t *shard = shard_of(node, p);
    RN_ASSERT(shard != NULL && count > 0);
    if (shard->pending_count + count > RN_GROUP_TXN_PENDING_MAX) return RN_ERR_LIMIT;
    char *gid = rn_group_str_dup(group_id);
    rn_group_batch_t batch;
    rn_group_batch_init(&batch, rn_io_wall_ms(node->io));
    rn_err_t err = RN_OK;
    int32_t first = shard->pending_count;
    for (int32_t i = 0; i < count && err == RN_OK; i++) {
        char *topic = rn_group_str_dup(items[i].topic);
        shard->key.len = shard->value.len = 0;
        rn_group_rec_offset_key(&shard->key, gid, topic, items[i].partition);
        rn_group_rec_offset_value(&shard->value, &items[i].value);
        free(topic);
        err = rn_group_batch_add(&batch, &shard->key, &shard->value);
        if (err == RN_OK)
            rn_group_pending_add(shard, producer_id,
                                 (rn_bytes_t){shard->key.ptr, (int32_t)shard->key.len},
                                 (rn_bytes_t){shard->value.ptr, (int32_t)shard->value.len});
    }
    free(gid);
    rn_partition_append_result_t res;
    if (err == RN_OK) {
        rn_group_batch_finish_txn(&batch, producer_id, producer_epoch);
        err = rn_partition_append_flags(shard->part, batch.buf.ptr, batch.buf.len,
                                        RN_PARTITION_APPEND_COORDINATOR, rn_io_wall_ms(node->io),
                                        NULL, &res);
        if (err == RN_OK) {
            rn_core_mark_dirty(&node->cores[shard->part->owner], shard->part);
            shard->bytes_since_checkpoint += (int64_t)batch.buf.len;
        }
    }
    rn_group_batch_free(&batch);
    if (err != RN_OK) { /* nothing written: the entries added go again */
        for (int32_t i = first; i < shard->pending_count; i++) pending_free(&shard->pending[i]);
        shard->pending_count = first;
        return err;
    }
    waiter->offset_needed = res.last_offset;
    rn_partition_wait_hw(shard->part, waiter); /* on every in-sync replica; maybe at once */
    return RN_OK;
}

void rn_group_txn_complete(rn_node_t *node, rn_partition_t *part, int64_t producer_id,
                           bool commit) {
    rn_group_shard_t *shard = shard_of(node, part->index);
    if (!shard || shard->part != part || rn_group_coord_refusal(shard->coord) != RN_KERR_NONE)
        return;
    rn_group_pending_end(shard, producer_id, commit, rn_group_now_ms(node));
}

bool rn_group_txn_pending(rn_node_t *node, int32_t p, rn_str_t group_id, rn_str_t topic,
                          int32_t partition) {
    rn_group_shard_t *shard = shard_of(node, p);
    if (!shard || shard->pending_count == 0) return false;
    char *gid = rn_group_str_dup(group_id);
    char *tname = rn_group_str_dup(topic);
    shard->key.len = 0;
    rn_group_rec_offset_key(&shard->key, gid, tname, partition);
    free(gid);
    free(tname);
    for (int32_t i = 0; i < shard->pending_count; i++) {
        const rn_group_txn_pending_t *entry = &shard->pending[i];
        if ((size_t)entry->key.len == shard->key.len &&
            !memcmp(entry->key.ptr, shard->key.ptr, shard->key.len))
            return true;
    }
    return false;
}
