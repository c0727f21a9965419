/*
 * balance_input.c: the planner's input read off an image (see
 * balance_input.h).
 */
#include "metadata/balance_input.h"
#include "base/assert.h"
#include "metadata/dyn_broker.h"

#include <stdlib.h>
#include <string.h>

bool rn_bal_drained(const rn_image_t *img, int32_t id) {
    rn_config_source_t source;
    const char *value = rn_dyn_effective(img, id, RN_DYN_RUNNEL_DRAIN, &source);
    return value && !strcmp(value, "true");
}

static bool ids_has(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t n = 0; n < count; n++)
        if (ids[n] == id) return true;
    return false;
}

/* Adds broker id (registered or not) unless listed; false when full. */
static bool view_broker(rn_bal_view_t *view, const rn_image_t *img, int32_t id,
                        const int32_t *absent, int32_t absent_n) {
    for (int32_t n = 0; n < view->in.brokers_n; n++)
        if (view->brokers[n].id == id) return true;
    if (view->in.brokers_n == RN_BROKERS_MAX) return false;
    const rn_image_broker_t *b = rn_image_broker(img, id);
    rn_bal_broker_t *out = &view->brokers[view->in.brokers_n++];
    memset(out, 0, sizeof *out);
    out->id = id;
    out->rack = b && b->has_rack ? b->rack : NULL;
    out->usable = rn_image_broker_usable(b);
    out->drained = rn_bal_drained(img, id);
    out->absent = !b || ids_has(absent, absent_n, id);
    out->disk_capacity_bytes = -1;
    out->disk_used_bytes = -1;
    return true;
}

static void view_partition(const rn_image_partition_t *ip, int32_t topic, int32_t p,
                           rn_bal_partition_t *out) {
    memset(out, 0, sizeof *out);
    out->topic = topic;
    out->partition = p;
    out->replicas_n = ip->replica_count;
    memcpy(out->replicas, ip->replicas, (size_t)ip->replica_count * sizeof(int32_t));
    out->leader = ip->leader;
    out->isr_n = ip->isr_count;
    memcpy(out->isr, ip->isr, (size_t)ip->isr_count * sizeof(int32_t));
    out->moving = rn_image_partition_moving(ip);
}

rn_err_t rn_bal_view_build(const rn_image_t *img, const int32_t *absent, int32_t absent_n,
                           rn_bal_view_t *view) {
    memset(view, 0, sizeof *view);
    int64_t total = rn_image_partition_total(img);
    if (total > RN_BAL_PARTITIONS_MAX) return RN_ERR_LIMIT;
    view->brokers = calloc(RN_BROKERS_MAX, sizeof *view->brokers);
    view->parts = calloc((size_t)total + 1, sizeof *view->parts);
    view->topic_of = calloc((size_t)total + 1, sizeof *view->topic_of);
    if (!view->brokers || !view->parts || !view->topic_of) {
        rn_bal_view_free(view);
        return RN_ERR_NO_MEMORY;
    }
    bool fits = true;
    for (int32_t n = 0; n < rn_image_broker_count(img); n++)
        fits &= view_broker(view, img, rn_image_broker_at(img, n)->id, absent, absent_n);
    int32_t at = 0;
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *ip = &topic->partitions[p];
            for (int16_t r = 0; r < ip->replica_count; r++)
                fits &= view_broker(view, img, ip->replicas[r], absent, absent_n);
            view_partition(ip, t, p, &view->parts[at]);
            view->topic_of[at++] = topic;
        }
    }
    if (!fits) {
        rn_bal_view_free(view);
        return RN_ERR_LIMIT; /* more broker ids than a cluster may hold */
    }
    RN_ASSERT(at == total);
    view->in =
        (rn_bal_input_t){.brokers = view->brokers,
                         .brokers_n = view->in.brokers_n,
                         .parts = view->parts,
                         .parts_n = at,
                         .topics_n = rn_image_topic_count(img) > 0 ? rn_image_topic_count(img) : 1};
    return RN_OK;
}

void rn_bal_view_free(rn_bal_view_t *view) {
    free(view->brokers);
    free(view->parts);
    free((void *)view->topic_of);
    memset(view, 0, sizeof *view);
}
