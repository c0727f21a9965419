/*
 * fetch_session.c: the per-core cache of incremental fetch sessions and the
 * partition list of each (see fetch_session.h). Owns the sessions, their
 * partition arrays, topic names and lookup indexes; used on its core's loop
 * thread only.
 */
#include "handlers/fetch_session.h"
#include "base/assert.h"
#include "base/limits.h"
#include <stdlib.h>
#include <string.h>

struct rn_fetch_sessions {
    rn_fsess_t **items;
    int32_t count;
    int32_t slots;
    int core_id;
    int core_count;
    int64_t eviction_ms;
    uint64_t rng;
    int64_t partitions; /* over every session in the cache */
    rn_core_stats_t *stats;
};

/* ---- the gauges ---- */

static void sessions_publish(rn_fetch_sessions_t *cache) {
    atomic_store_explicit(&cache->stats->fetch_sessions_open, (uint64_t)cache->count,
                          memory_order_relaxed);
    atomic_store_explicit(&cache->stats->fetch_session_partitions, (uint64_t)cache->partitions,
                          memory_order_relaxed);
}

static void sessions_count_parts(rn_fsess_t *sess, int32_t delta) {
    if (sess->removed) return;
    sess->cache->partitions += delta;
    RN_ASSERT(sess->cache->partitions >= 0);
    sessions_publish(sess->cache);
}

/* ---- the partition index of one session ---- */

static uint32_t part_hash(const char *topic, int32_t len, int32_t partition) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int32_t i = 0; i < len; i++) h = (h ^ (uint8_t)topic[i]) * 16777619u;
    return (h ^ (uint32_t)partition) * 16777619u;
}

static bool part_is(const rn_fsess_part_t *p, rn_str_t topic, int32_t partition) {
    return p->partition == partition && p->topic_len == topic.len &&
           memcmp(p->topic, topic.ptr, (size_t)topic.len) == 0;
}

/* The index slot of topic/partition: where it is, or the empty slot where
   it would go. */
static int32_t index_slot(const rn_fsess_t *sess, rn_str_t topic, int32_t partition) {
    uint32_t mask = (uint32_t)sess->index_cap - 1;
    uint32_t at = part_hash(topic.ptr, topic.len, partition) & mask;
    while (sess->index[at] != 0) {
        const rn_fsess_part_t *p = &sess->parts[sess->index[at] - 1];
        if (part_is(p, topic, partition)) break;
        at = (at + 1) & mask;
    }
    return (int32_t)at;
}

static bool index_rebuild(rn_fsess_t *sess, int32_t want_parts) {
    int32_t cap = 16;
    while (cap < 2 * want_parts) cap *= 2;
    if (cap != sess->index_cap) {
        int32_t *index = calloc((size_t)cap, sizeof *index);
        if (!index) return false;
        free(sess->index);
        sess->index = index;
        sess->index_cap = cap;
    } else {
        memset(sess->index, 0, (size_t)cap * sizeof *sess->index);
    }
    for (int32_t i = 0; i < sess->count; i++) {
        rn_fsess_part_t *p = &sess->parts[i];
        rn_str_t name = {p->topic, p->topic_len};
        sess->index[index_slot(sess, name, p->partition)] = i + 1;
    }
    return true;
}

/* ---- one session ---- */

static void session_free(rn_fsess_t *sess) {
    for (int32_t i = 0; i < sess->count; i++) free(sess->parts[i].topic);
    free(sess->parts);
    free(sess->index);
    free(sess);
}

rn_fsess_part_t *rn_fetch_session_set(rn_fsess_t *sess, rn_str_t topic, int32_t partition,
                                      int64_t fetch_offset, int32_t max_bytes) {
    RN_ASSERT(topic.len >= 0);
    RN_ASSERT(!sess->removed);
    if (2 * (sess->count + 1) > sess->index_cap && !index_rebuild(sess, sess->count + 1))
        return NULL;
    int32_t slot = index_slot(sess, topic, partition);
    if (sess->index[slot] != 0) {
        rn_fsess_part_t *p = &sess->parts[sess->index[slot] - 1];
        p->fetch_offset = fetch_offset;
        p->max_bytes = max_bytes;
        return p;
    }
    if (sess->count == sess->cap) {
        int32_t cap = sess->cap ? 2 * sess->cap : 8;
        rn_fsess_part_t *parts = realloc(sess->parts, (size_t)cap * sizeof *parts);
        if (!parts) return NULL;
        sess->parts = parts;
        sess->cap = cap;
    }
    char *name = malloc((size_t)topic.len + 1);
    if (!name) return NULL;
    memcpy(name, topic.ptr, (size_t)topic.len);
    name[topic.len] = '\0';
    sess->parts[sess->count] =
        (rn_fsess_part_t){name, topic.len, partition, fetch_offset, max_bytes, -1, -1};
    sess->index[slot] = ++sess->count;
    sessions_count_parts(sess, 1);
    return &sess->parts[sess->count - 1];
}

void rn_fetch_session_forget(rn_fsess_t *sess, rn_str_t topic, int32_t partition) {
    if (sess->count == 0 || topic.len < 0) return;
    int32_t slot = index_slot(sess, topic, partition);
    if (sess->index[slot] == 0) return;
    int32_t at = sess->index[slot] - 1;
    free(sess->parts[at].topic);
    memmove(&sess->parts[at], &sess->parts[at + 1],
            (size_t)(sess->count - at - 1) * sizeof *sess->parts);
    sess->count--;
    sessions_count_parts(sess, -1);
    /* Same size as before: rebuilding it never allocates. */
    bool rebuilt = index_rebuild(sess, sess->index_cap / 2);
    RN_ASSERT(rebuilt);
}

void rn_fetch_session_rotate(rn_fsess_t *sess, const uint8_t *to_end) {
    int32_t moved = 0;
    for (int32_t i = 0; i < sess->count; i++) moved += to_end[i] != 0;
    if (moved == 0 || moved == sess->count) return;
    rn_fsess_part_t *tail = malloc((size_t)moved * sizeof *tail);
    if (!tail) return; /* fairness only: the order may stay as it is */
    int32_t kept = 0, moved_at = 0;
    for (int32_t i = 0; i < sess->count; i++) {
        if (to_end[i])
            tail[moved_at++] = sess->parts[i];
        else
            sess->parts[kept++] = sess->parts[i];
    }
    memcpy(&sess->parts[kept], tail, (size_t)moved * sizeof *tail);
    free(tail);
    bool rebuilt = index_rebuild(sess, sess->index_cap / 2);
    RN_ASSERT(rebuilt);
}

int32_t rn_fetch_session_next_epoch(int32_t epoch) {
    if (epoch < 0) return -1;
    return epoch == INT32_MAX ? 1 : epoch + 1;
}

/* ---- the cache ---- */

rn_fetch_sessions_t *rn_fetch_sessions_new(int core_id, int core_count, int32_t slots,
                                           int64_t eviction_ms, uint64_t seed,
                                           rn_core_stats_t *stats) {
    RN_ASSERT(core_count > 0 && core_id >= 0 && core_id < core_count);
    RN_ASSERT(slots >= 0 && slots <= RN_FETCH_SESSION_SLOTS_MAX);
    rn_fetch_sessions_t *cache = calloc(1, sizeof *cache);
    if (!cache) return NULL;
    /* The node's slots split between the cores, the first cores taking
       the remainder. */
    cache->slots = slots / core_count + (core_id < slots % core_count ? 1 : 0);
    cache->items = calloc((size_t)cache->slots + 1, sizeof *cache->items);
    if (!cache->items) {
        free(cache);
        return NULL;
    }
    cache->core_id = core_id;
    cache->core_count = core_count;
    cache->eviction_ms = eviction_ms;
    cache->rng = seed | 1;
    cache->stats = stats;
    return cache;
}

void rn_fetch_sessions_free(rn_fetch_sessions_t *cache) {
    if (!cache) return;
    for (int32_t i = 0; i < cache->count; i++) {
        RN_ASSERT(cache->items[i]->holds == 0);
        session_free(cache->items[i]);
    }
    free(cache->items);
    free(cache);
}

int rn_fetch_sessions_owner(const rn_fetch_sessions_t *cache, int32_t id) {
    RN_ASSERT(id > 0);
    return id % cache->core_count;
}

rn_fsess_t *rn_fetch_session_find(rn_fetch_sessions_t *cache, int32_t id) {
    for (int32_t i = 0; i < cache->count; i++)
        if (cache->items[i]->id == id) return cache->items[i];
    return NULL;
}

static uint64_t sessions_random(rn_fetch_sessions_t *cache) {
    uint64_t x = cache->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    cache->rng = x;
    return x;
}

/* A free id this core owns: id % core_count == core_id, never 0. */
static int32_t sessions_new_id(rn_fetch_sessions_t *cache) {
    uint64_t span = ((uint64_t)INT32_MAX - (uint64_t)cache->core_id) / (uint64_t)cache->core_count;
    for (;;) {
        uint64_t k = sessions_random(cache) % (span + 1);
        int64_t id = (int64_t)k * cache->core_count + cache->core_id;
        if (id > 0 && id <= INT32_MAX && !rn_fetch_session_find(cache, (int32_t)id))
            return (int32_t)id;
    }
}

void rn_fetch_session_remove(rn_fsess_t *sess) {
    RN_ASSERT(!sess->removed);
    rn_fetch_sessions_t *cache = sess->cache;
    for (int32_t i = 0; i < cache->count; i++) {
        if (cache->items[i] != sess) continue;
        cache->items[i] = cache->items[--cache->count];
        break;
    }
    sessions_count_parts(sess, -sess->count);
    sess->removed = true;
    sessions_publish(cache);
    if (sess->holds == 0) session_free(sess);
}

void rn_fetch_session_hold(rn_fsess_t *sess) { sess->holds++; }

void rn_fetch_session_release(rn_fsess_t *sess) {
    RN_ASSERT(sess->holds > 0);
    if (--sess->holds == 0 && sess->removed) session_free(sess);
}

void rn_fetch_session_touch(rn_fsess_t *sess, int64_t now_ms) {
    int64_t eviction_ms = sess->cache->eviction_ms;
    sess->used_ms = now_ms;
    sess->size_at_use = sess->count;
    sess->evictable_by_all = now_ms - sess->created_ms > eviction_ms;
    sess->evictable_by_privileged = !sess->privileged || sess->evictable_by_all;
    sessions_publish(sess->cache);
}

/* Kafka's EvictableKey order: unprivileged first, then smaller, then lower
   id. Negative when a is worth less than b. */
static int evict_key_cmp(bool a_priv, int32_t a_size, int32_t a_id, const rn_fsess_t *b) {
    if (a_priv != b->privileged) return a_priv ? 1 : -1;
    if (a_size != b->size_at_use) return a_size < b->size_at_use ? -1 : 1;
    return a_id < b->id ? -1 : (a_id > b->id ? 1 : 0);
}

/* Kafka's tryEvict: the least recently used session if it has been unused
   for the eviction time, else the least valuable evictable one, if the new
   session is worth at least as much. */
static bool sessions_evict(rn_fetch_sessions_t *cache, int64_t now_ms, bool privileged,
                           int32_t size) {
    rn_fsess_t *stale = NULL, *victim = NULL;
    for (int32_t i = 0; i < cache->count; i++) {
        rn_fsess_t *s = cache->items[i];
        if (!stale || s->used_ms < stale->used_ms ||
            (s->used_ms == stale->used_ms && s->id < stale->id))
            stale = s;
        bool evictable = privileged ? s->evictable_by_privileged : s->evictable_by_all;
        if (evictable &&
            (!victim || evict_key_cmp(s->privileged, s->size_at_use, s->id, victim) < 0))
            victim = s;
    }
    if (!stale) return false;
    if (now_ms - stale->used_ms > cache->eviction_ms)
        victim = stale;
    else if (!victim || evict_key_cmp(privileged, size, 0, victim) < 0)
        return false;
    rn_fetch_session_remove(victim);
    rn_stats_add(&cache->stats->fetch_session_evictions, 1);
    return true;
}

rn_fsess_t *rn_fetch_session_open(rn_fetch_sessions_t *cache, int64_t now_ms, bool privileged,
                                  int32_t size) {
    if (cache->count >= cache->slots && !sessions_evict(cache, now_ms, privileged, size))
        return NULL;
    rn_fsess_t *sess = calloc(1, sizeof *sess);
    if (!sess) return NULL;
    sess->cache = cache;
    sess->id = sessions_new_id(cache);
    sess->epoch = 1;
    sess->privileged = privileged;
    sess->created_ms = now_ms;
    if (!index_rebuild(sess, size > 0 ? size : 1)) {
        free(sess);
        return NULL;
    }
    cache->items[cache->count++] = sess;
    rn_fetch_session_touch(sess, now_ms);
    return sess;
}
