/*
 * node.c: partition ownership, the per-core group commit, fetch wake-ups,
 * the storage-health reports of produce appends, and the grace period that
 * frees replaced partition tables.
 */
#include "cluster/node.h"
#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

typedef struct rn_node_retired {
    struct rn_node_retired *next;
    rn_ptable_t *table;
    uint64_t turns[RN_CORES_MAX]; /* each loop's turn count at retirement */
} rn_node_retired_t;

int rn_node_owner(const rn_node_t *node, const char *topic, int32_t index) {
    uint32_t h = 2166136261u; /* FNV-1a over name and index */
    for (const char *p = topic; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ (uint32_t)index) * 16777619u;
    /* Consecutive partitions of a topic land on consecutive cores. */
    return (int)((h + (uint32_t)index) % (uint32_t)node->core_count);
}

void rn_core_note_append(rn_core_t *core, const rn_partition_t *part, rn_err_t err) {
    RN_ASSERT(part->owner == core->id);
    rn_node_t *node = core->node;
    rn_err_t cause = err != RN_OK && part->storage_cause != RN_OK ? part->storage_cause : err;
    rn_storage_health_note(&node->storage_health, err, cause, rn_io_now_ms(core->loop.io),
                           node->settings.log_dir);
}

void rn_core_mark_dirty(rn_core_t *core, rn_partition_t *part) {
    RN_ASSERT(part->owner == core->id);
    if (part->dirty) return;
    part->dirty = true;
    if (core->dirty_count == core->dirty_cap) {
        int32_t cap = core->dirty_cap ? core->dirty_cap * 2 : 64;
        rn_partition_t **dirty = realloc(core->dirty, (size_t)cap * sizeof *dirty);
        RN_ASSERT(dirty != NULL);
        core->dirty = dirty;
        core->dirty_cap = cap;
    }
    rn_partition_ref(part);
    core->dirty[core->dirty_count++] = part;
}

static void core_flush_one(void *ctx, int32_t index) {
    rn_core_t *core = ctx;
    rn_partition_flush(core->dirty[index]);
}

void rn_core_group_commit(void *arg) {
    rn_core_t *core = arg;
    if (core->dirty_count == 0) return;
    /* The loop waits here: no append can reach these logs until they are
       synced, and each partition is flushed by exactly one thread. Workers
       help only when there are several fsyncs to wait on. */
    int32_t syncs = 0;
    for (int32_t i = 0; i < core->dirty_count && syncs < 2; i++) syncs += core->dirty[i]->durable;
    rn_workers_run(syncs >= 2 ? core->node->workers : NULL, core->dirty_count, core_flush_one,
                   core);
    for (int32_t i = 0; i < core->dirty_count; i++) {
        rn_partition_t *part = core->dirty[i];
        int64_t sync_ns = rn_partition_sync_done(part);
        if (sync_ns >= 0) rn_histo_observe_ns(&core->stats.fsync, sync_ns);
        rn_partition_unref(part);
    }
    core->dirty_count = 0;
    rn_node_poke_all(core->node);
}

void rn_node_poke_all(rn_node_t *node) {
    for (int i = 0; i < node->core_count; i++) {
        rn_core_t *core = &node->cores[i];
        if (!atomic_load_explicit(&core->has_parked, memory_order_acquire)) continue;
        if (atomic_exchange_explicit(&core->poke_queued, 1, memory_order_acq_rel)) continue;
        rn_loop_post(&core->loop, &core->poke);
    }
}

rn_ptable_t *rn_node_table_acquire(rn_node_t *node) {
    pthread_mutex_lock(&node->admin_lock);
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    pthread_mutex_unlock(&node->admin_lock);
    return table;
}

void rn_node_publish(rn_node_t *node, rn_ptable_t *table) {
    rn_ptable_t *old = rn_ptable_swap(&node->ptable, table);
    if (old) {
        rn_node_retired_t *retired = calloc(1, sizeof *retired);
        RN_ASSERT(retired != NULL);
        retired->table = old;
        for (int i = 0; i < node->core_count; i++)
            retired->turns[i] = atomic_load(&node->cores[i].loop.turns);
        retired->next = node->retired;
        node->retired = retired;
    }
    rn_node_reclaim(node);
}

int rn_node_reclaim(rn_node_t *node) {
    int freed = 0;
    rn_node_retired_t **link = &node->retired;
    while (*link) {
        rn_node_retired_t *retired = *link;
        int passed = 1;
        for (int i = 0; i < node->core_count && passed; i++)
            passed = atomic_load(&node->cores[i].loop.turns) > retired->turns[i];
        if (!passed) {
            link = &retired->next;
            continue;
        }
        *link = retired->next;
        rn_ptable_release(retired->table);
        free(retired);
        freed++;
    }
    return freed;
}

void rn_node_reclaim_stopped(rn_node_t *node) {
    while (node->retired) {
        rn_node_retired_t *retired = node->retired;
        node->retired = retired->next;
        rn_ptable_release(retired->table);
        free(retired);
    }
}
