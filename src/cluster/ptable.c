/*
 * ptable.c: the immutable, refcounted table of live topics: an array sorted
 * by name plus an open-addressing hash index over it. Topic entries are
 * owned by the table; partitions are shared (refcounted) between tables.
 */
#include "cluster/ptable.h"
#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

static uint32_t name_hash(const char *name, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h;
}

static int topic_cmp(const void *a, const void *b) {
    return strcmp((*(rn_topic_rt_t *const *)a)->name, (*(rn_topic_rt_t *const *)b)->name);
}

rn_ptable_t *rn_ptable_build(rn_topic_rt_t **topics, int32_t topic_count) {
    RN_ASSERT(topic_count >= 0);
    rn_ptable_t *table = calloc(1, sizeof *table);
    RN_ASSERT(table != NULL);
    atomic_init(&table->refs, 1);
    table->topic_count = topic_count;
    table->topics = calloc((size_t)topic_count + 1, sizeof *table->topics);
    RN_ASSERT(table->topics != NULL);
    if (topic_count) memcpy(table->topics, topics, (size_t)topic_count * sizeof *topics);
    qsort(table->topics, (size_t)topic_count, sizeof *table->topics, topic_cmp);
    int32_t buckets = 16;
    while (buckets < topic_count * 2) buckets *= 2;
    table->bucket_count = buckets;
    table->buckets = malloc((size_t)buckets * sizeof *table->buckets);
    RN_ASSERT(table->buckets != NULL);
    memset(table->buckets, 0xff, (size_t)buckets * sizeof *table->buckets);
    for (int32_t i = 0; i < topic_count; i++) {
        const char *name = table->topics[i]->name;
        uint32_t slot = name_hash(name, strlen(name)) & (uint32_t)(buckets - 1);
        while (table->buckets[slot] >= 0) slot = (slot + 1) & (uint32_t)(buckets - 1);
        table->buckets[slot] = i;
    }
    return table;
}

rn_ptable_t *rn_ptable_acquire(_Atomic(rn_ptable_t *) *slot) {
    /* Safe without a lock because a replaced table is only released after
       every loop has begun a new turn (rn_node_reclaim), and a loop loads
       and references the table within one turn. */
    rn_ptable_t *table = atomic_load_explicit(slot, memory_order_acquire);
    int refs = atomic_fetch_add_explicit(&table->refs, 1, memory_order_acq_rel);
    RN_ASSERT(refs > 0);
    return table;
}

static void topic_rt_free(rn_topic_rt_t *topic) {
    for (int32_t i = 0; i < topic->partition_count; i++)
        if (topic->parts[i]) rn_partition_unref(topic->parts[i]);
    free(topic->parts);
    free(topic->leads);
    free(topic->name);
    free(topic);
}

void rn_ptable_release(rn_ptable_t *table) {
    if (atomic_fetch_sub_explicit(&table->refs, 1, memory_order_acq_rel) != 1) return;
    for (int32_t i = 0; i < table->topic_count; i++) topic_rt_free(table->topics[i]);
    free(table->topics);
    free(table->buckets);
    free(table);
}

rn_ptable_t *rn_ptable_swap(_Atomic(rn_ptable_t *) *slot, rn_ptable_t *table) {
    return atomic_exchange_explicit(slot, table, memory_order_acq_rel);
}

const rn_topic_rt_t *rn_ptable_find(const rn_ptable_t *table, const char *name, size_t len) {
    uint32_t mask = (uint32_t)(table->bucket_count - 1);
    for (uint32_t slot = name_hash(name, len) & mask;; slot = (slot + 1) & mask) {
        int32_t i = table->buckets[slot];
        if (i < 0) return NULL;
        const rn_topic_rt_t *topic = table->topics[i];
        if (strlen(topic->name) == len && memcmp(topic->name, name, len) == 0) return topic;
    }
}

const rn_topic_rt_t *rn_ptable_find_id(const rn_ptable_t *table, const rn_uuid_t *id) {
    for (int32_t i = 0; i < table->topic_count; i++)
        if (rn_uuid_eq(&table->topics[i]->topic_id, id)) return table->topics[i];
    return NULL;
}

rn_partition_t *rn_ptable_partition(const rn_ptable_t *table, rn_str_t topic, int32_t index) {
    if (topic.len <= 0) return NULL;
    const rn_topic_rt_t *rt = rn_ptable_find(table, topic.ptr, (size_t)topic.len);
    if (!rt || index < 0 || index >= rt->partition_count) return NULL;
    return rt->parts[index];
}

rn_topic_rt_t *rn_topic_rt_new(const char *name, const rn_uuid_t *id, int32_t partition_count) {
    RN_ASSERT(partition_count >= 0);
    rn_topic_rt_t *topic = calloc(1, sizeof *topic);
    RN_ASSERT(topic != NULL);
    topic->name = strdup(name);
    topic->topic_id = *id;
    topic->partition_count = partition_count;
    topic->parts = calloc((size_t)partition_count + 1, sizeof *topic->parts);
    topic->leads = calloc((size_t)partition_count + 1, sizeof *topic->leads);
    RN_ASSERT(topic->name != NULL && topic->parts != NULL && topic->leads != NULL);
    return topic;
}

rn_topic_rt_t *rn_topic_rt_grow(const rn_topic_rt_t *topic, int32_t partition_count) {
    RN_ASSERT(partition_count >= topic->partition_count);
    rn_topic_rt_t *copy = rn_topic_rt_new(topic->name, &topic->topic_id, partition_count);
    copy->config = topic->config;
    for (int32_t i = 0; i < topic->partition_count; i++) {
        copy->parts[i] = topic->parts[i]; /* NULL: not a replica on this node */
        copy->leads[i] = topic->leads[i];
        if (copy->parts[i]) rn_partition_ref(copy->parts[i]);
    }
    return copy;
}
