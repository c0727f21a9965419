/*
 * replication.c: replication as one node sees it in the metadata image
 * (see replication.h): the gauges of /metrics, the replicas that keep
 * /health/ready at 503, and the partitions that make /health/restart-safe
 * 503. Pure functions of an image and a node id; they own nothing.
 */
#include "admin/replication.h"
#include "base/assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool repl_has(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++)
        if (ids[n] == id) return true;
    return false;
}

void rn_admin_repl_count(const rn_image_t *img, int32_t node_id, rn_admin_repl_counts_t *out) {
    RN_ASSERT(img != NULL);
    memset(out, 0, sizeof *out);
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        int32_t min_isr = topic->config.min_insync_replicas;
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            if (part->leader == node_id) {
                out->leader++;
                out->under_replicated += part->isr_count < part->replica_count;
                out->under_min_isr += part->isr_count < min_isr;
                out->at_min_isr += part->isr_count == min_isr;
            }
            if (!repl_has(part->replicas, part->replica_count, node_id)) continue;
            out->leaderless += part->leader < 0;
            out->out_of_sync += !repl_has(part->isr, part->isr_count, node_id);
        }
    }
}

/* ---- named lists ---- */

/* A list of partitions being written into buf[0..cap): the first
   RN_ADMIN_HEALTH_PARTITIONS_NAMED get a text, the rest only a count. */
typedef struct repl_list {
    char *buf;
    size_t cap;
    size_t len;
    uint64_t count;
} repl_list_t;

static void list_init(repl_list_t *list, char *buf, size_t cap) {
    RN_ASSERT(buf != NULL && cap >= 1);
    *list = (repl_list_t){.buf = buf, .cap = cap};
    buf[0] = '\0';
}

/* Appends printf-style text, cut at the buffer's end. */
__attribute__((format(printf, 2, 3))) static void list_put(repl_list_t *list, const char *fmt,
                                                           ...) {
    if (list->len + 1 >= list->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(list->buf + list->len, list->cap - list->len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    list->len += (size_t)n < list->cap - list->len ? (size_t)n : list->cap - list->len - 1;
}

/* Whether the next partition is named (and counts it either way). */
static bool list_next(repl_list_t *list) {
    return list->count++ < RN_ADMIN_HEALTH_PARTITIONS_NAMED;
}

static uint64_t list_more(const repl_list_t *list) {
    return list->count > RN_ADMIN_HEALTH_PARTITIONS_NAMED
               ? list->count - RN_ADMIN_HEALTH_PARTITIONS_NAMED
               : 0;
}

static void ids_put(repl_list_t *list, const int32_t *ids, int16_t count) {
    list_put(list, "[");
    for (int16_t n = 0; n < count; n++) list_put(list, "%s%d", n ? "," : "", ids[n]);
    list_put(list, "]");
}

/* ---- the readiness rule ---- */

uint64_t rn_admin_repl_not_in_sync(const rn_image_t *img, int32_t node_id, char *buf, size_t cap) {
    RN_ASSERT(img != NULL);
    repl_list_t list;
    list_init(&list, buf, cap);
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            if (part->leader < 0 || !repl_has(part->replicas, part->replica_count, node_id) ||
                repl_has(part->isr, part->isr_count, node_id))
                continue;
            if (list_next(&list))
                list_put(&list, "%s%s-%d", list.count > 1 ? ", " : "", topic->name, p);
        }
    }
    if (list_more(&list) > 0)
        list_put(&list, ", and %llu more", (unsigned long long)list_more(&list));
    return list.count;
}

/* ---- the restart rule ---- */

/* One partition that stopping node_id would take below min.insync.replicas. */
static void unsafe_put(repl_list_t *list, const rn_image_topic_t *topic, int32_t index,
                       const rn_image_partition_t *part) {
    list_put(list, "%s-%d: ", topic->name, index);
    if (part->replica_count == 1) {
        list_put(list, "no other replica: unavailable until this node is back\n");
        return;
    }
    list_put(list, "ISR ");
    ids_put(list, part->isr, part->isr_count);
    list_put(list, " would shrink to %d, below min.insync.replicas %d\n", part->isr_count - 1,
             topic->config.min_insync_replicas);
}

uint64_t rn_admin_repl_stop_unsafe(const rn_image_t *img, int32_t node_id, char *buf, size_t cap) {
    RN_ASSERT(img != NULL);
    repl_list_t list;
    list_init(&list, buf, cap);
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        int32_t min_isr = topic->config.min_insync_replicas;
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            if (!repl_has(part->isr, part->isr_count, node_id)) continue;
            if (part->isr_count - 1 >= min_isr && part->replica_count > 1) continue;
            if (list_next(&list)) unsafe_put(&list, topic, p, part);
        }
    }
    if (list_more(&list) > 0)
        list_put(&list, "and %llu more\n", (unsigned long long)list_more(&list));
    return list.count;
}
