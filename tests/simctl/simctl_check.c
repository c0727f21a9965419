/*
 * simctl_check.c: the checker of the controller simulation.
 *
 * After every input of a node whose applied image changed:
 *   - one history: the image at each applied index is the same on every
 *     node (the first image seen at an index is kept; later ones must be
 *     rn_image_equal to it), including images rebuilt from snapshots;
 *   - in every image: a partition's leader is registered, not fenced and
 *     not shutting down, and in the ISR; the ISR is within the replicas;
 *   - across the history: one leader per (topic, partition, leader epoch);
 *     along a node's images, a partition's leader epoch never goes back and
 *     its ISR never gains a member (nothing grows an ISR here: there is no
 *     AlterPartition yet), so a new leader always comes from the old ISR.
 *
 * Owns the kept images (one reference each) and the table of leaders.
 */
#include "simctl.h"

#include "base/assert.h"
#include "metadata/image_writer.h"

#include <stdlib.h>
#include <string.h>

typedef struct sc_leader {
    rn_uuid_t topic;
    int32_t partition;
    int32_t epoch;
    int32_t leader;
    int used;
} sc_leader_t;

struct sc_check {
    rn_image_t **at; /* by applied index */
    uint64_t at_cap, index_max;
    sc_leader_t *leaders; /* open addressing */
    uint64_t leaders_cap, leaders_n;
};

sc_check_t *sc_check_create(void) {
    sc_check_t *c = calloc(1, sizeof(*c));
    RN_ASSERT(c != NULL);
    c->leaders_cap = 1024;
    c->leaders = calloc(c->leaders_cap, sizeof(*c->leaders));
    RN_ASSERT(c->leaders != NULL);
    return c;
}

void sc_check_destroy(sc_check_t *c) {
    if (!c) return;
    for (uint64_t i = 0; i < c->at_cap; i++)
        if (c->at[i]) rn_image_release(c->at[i]);
    free(c->at);
    free(c->leaders);
    free(c);
}

uint64_t sc_check_index_max(const sc_check_t *c) { return c->index_max; }

void sc_check_forget(sc_node_t *n) {
    if (n->seen) rn_image_release(n->seen);
    n->seen = NULL;
    n->seen_index = 0;
}

static uint64_t leader_hash(const rn_uuid_t *t, int32_t p, int32_t e) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++) h = (h ^ t->bytes[i]) * 1099511628211ull;
    h = (h ^ (uint32_t)p) * 1099511628211ull;
    return (h ^ (uint32_t)e) * 1099511628211ull;
}

static sc_leader_t *leader_slot(sc_leader_t *tab, uint64_t cap, const rn_uuid_t *t, int32_t p,
                                int32_t e) {
    uint64_t i = leader_hash(t, p, e) & (cap - 1);
    while (tab[i].used &&
           !(tab[i].partition == p && tab[i].epoch == e && rn_uuid_eq(&tab[i].topic, t)))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static void leaders_grow(sc_check_t *c) {
    uint64_t cap = c->leaders_cap * 2;
    sc_leader_t *tab = calloc(cap, sizeof(*tab));
    RN_ASSERT(tab != NULL);
    for (uint64_t i = 0; i < c->leaders_cap; i++) {
        sc_leader_t *o = &c->leaders[i];
        if (o->used) *leader_slot(tab, cap, &o->topic, o->partition, o->epoch) = *o;
    }
    free(c->leaders);
    c->leaders = tab;
    c->leaders_cap = cap;
}

/* One leader per (topic, partition, leader epoch) over the whole history. */
static void check_epoch_leader(sc_t *s, const rn_image_topic_t *t, int32_t p,
                               const rn_image_partition_t *part, uint64_t index) {
    sc_check_t *c = s->check;
    if (2 * (c->leaders_n + 1) > c->leaders_cap) leaders_grow(c);
    sc_leader_t *slot = leader_slot(c->leaders, c->leaders_cap, &t->id, p, part->leader_epoch);
    if (!slot->used) {
        *slot = (sc_leader_t){t->id, p, part->leader_epoch, part->leader, 1};
        c->leaders_n++;
    } else if (slot->leader != part->leader) {
        sc_fail(s, "%s-%d: leader epoch %d has two leaders, %d and %d (index %llu)", t->name, p,
                part->leader_epoch, slot->leader, part->leader, (unsigned long long)index);
    }
}

static int has(const int32_t *ids, int16_t n, int32_t id) {
    for (int16_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static void check_partition(sc_t *s, const rn_image_t *img, const rn_image_topic_t *t, int32_t p,
                            uint64_t index) {
    const rn_image_partition_t *part = &t->partitions[p];
    for (int16_t i = 0; i < part->isr_count; i++)
        if (!has(part->replicas, part->replica_count, part->isr[i]))
            sc_fail(s, "%s-%d: ISR member %d is not a replica (index %llu)", t->name, p,
                    part->isr[i], (unsigned long long)index);
    if (part->leader >= 0) {
        const rn_image_broker_t *b = rn_image_broker(img, part->leader);
        if (!b)
            sc_fail(s, "%s-%d: leader %d is not registered (index %llu)", t->name, p, part->leader,
                    (unsigned long long)index);
        else if (b->fenced || b->in_controlled_shutdown)
            sc_fail(s, "%s-%d: leader %d is %s (index %llu)", t->name, p, part->leader,
                    b->fenced ? "fenced" : "shutting down", (unsigned long long)index);
        if (!has(part->isr, part->isr_count, part->leader))
            sc_fail(s, "%s-%d: leader %d is not in the ISR (index %llu)", t->name, p, part->leader,
                    (unsigned long long)index);
    }
    check_epoch_leader(s, t, p, part, index);
}

/* Along one node's images: epochs never go back, the ISR never grows. */
static void check_step(sc_t *s, const rn_image_t *old, const rn_image_t *img, uint64_t index) {
    for (int32_t i = 0; i < rn_image_topic_count(img); i++) {
        const rn_image_topic_t *t = rn_image_topic_at(img, i);
        const rn_image_topic_t *o = rn_image_topic_by_id(old, &t->id);
        for (int32_t p = 0; o && p < t->partition_count && p < o->partition_count; p++) {
            const rn_image_partition_t *a = &o->partitions[p], *b = &t->partitions[p];
            if (b->leader_epoch < a->leader_epoch)
                sc_fail(s, "%s-%d: leader epoch went back from %d to %d (index %llu)", t->name, p,
                        a->leader_epoch, b->leader_epoch, (unsigned long long)index);
            for (int16_t k = 0; k < b->isr_count; k++)
                if (!has(a->isr, a->isr_count, b->isr[k]))
                    sc_fail(s, "%s-%d: broker %d joined the ISR (leader %d, index %llu)", t->name,
                            p, b->isr[k], b->leader, (unsigned long long)index);
        }
    }
}

static void check_history(sc_t *s, sc_node_t *n, const rn_image_t *img, uint64_t index) {
    sc_check_t *c = s->check;
    if (index >= c->at_cap) {
        uint64_t cap = c->at_cap ? c->at_cap : 256;
        while (cap <= index) cap *= 2;
        c->at = realloc(c->at, cap * sizeof(*c->at));
        RN_ASSERT(c->at != NULL);
        memset(c->at + c->at_cap, 0, (cap - c->at_cap) * sizeof(*c->at));
        c->at_cap = cap;
    }
    if (index > c->index_max) c->index_max = index;
    if (!c->at[index]) {
        rn_image_retain((rn_image_t *)img);
        c->at[index] = (rn_image_t *)img;
        return;
    }
    if (!rn_image_equal(c->at[index], img))
        sc_fail(s, "node %u: its image at index %llu differs from the one applied first there",
                n->id, (unsigned long long)index);
}

void sc_check_node(sc_t *s, sc_node_t *n) {
    if (!n->q || s->failed) return;
    const rn_image_t *img = rn_quorum_image(n->q);
    uint64_t index = rn_raft_applied(rn_quorum_raft(n->q));
    if (img == n->seen) return;
    if (n->seen && index < n->seen_index)
        sc_fail(s, "node %u: applied index went back from %llu to %llu", n->id,
                (unsigned long long)n->seen_index, (unsigned long long)index);
    check_history(s, n, img, index);
    for (int32_t i = 0; i < rn_image_topic_count(img); i++) {
        const rn_image_topic_t *t = rn_image_topic_at(img, i);
        for (int32_t p = 0; p < t->partition_count; p++) check_partition(s, img, t, p, index);
    }
    if (n->seen) check_step(s, n->seen, img, index);
    sc_check_forget(n);
    rn_image_retain((rn_image_t *)img);
    n->seen = (rn_image_t *)img;
    n->seen_index = index;
}
