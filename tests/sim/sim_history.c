/*
 * sim_history.c: the end-of-run check of the client history against the
 * committed log (see sim_check.c for the list of properties).
 *
 * Writes carry unique values (op index + 1), so each read names the one
 * write it observed, and the log fixes the order of writes. Owns nothing.
 */
#include "sim.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

typedef struct hist {
    uint64_t *pos;   /* op index -> log index of its write, 0: not committed */
    uint64_t *order; /* log order of committed writes (op indexes) */
    uint32_t order_n;
} hist_t;

static void hist_build(sim_t *s, hist_t *h) {
    h->pos = calloc(s->ops_n + 1, sizeof(uint64_t));
    h->order = calloc(s->ops_n + 1, sizeof(uint64_t));
    RN_ASSERT(h->pos && h->order);
    h->order_n = 0;
    uint64_t max = sim_check_commit_max(s->check);
    for (uint64_t i = 1; i <= max; i++) {
        uint64_t v = sim_check_op_at(s->check, i);
        if (v == 0 || v > s->ops_n) continue;
        if (h->pos[v - 1]) {
            sim_fail(s, "history: write %llu committed twice", (unsigned long long)v);
            continue;
        }
        h->pos[v - 1] = i;
        h->order[h->order_n++] = v - 1;
    }
}

static void check_writes(sim_t *s, const hist_t *h) {
    for (uint32_t i = 0; i < s->ops_n; i++) {
        const sim_op_t *op = &s->ops[i];
        if (!op->is_read && op->done && !h->pos[i])
            sim_fail(s, "history: acknowledged write %u is not in the committed log", i + 1);
    }
    /* Log order respects real time: no write later in the log finished
       before an earlier-in-the-log write began. */
    int64_t min_resp = INT64_MAX;
    for (uint32_t k = h->order_n; k-- > 0;) {
        const sim_op_t *op = &s->ops[h->order[k]];
        if (min_resp < op->inv_ns)
            sim_fail(s,
                     "history: write %llu precedes in the log a write acknowledged before it "
                     "began",
                     (unsigned long long)h->order[k] + 1);
        if (op->done && op->resp_ns < min_resp) min_resp = op->resp_ns;
    }
}

/* Position of the write a read observed (0: the initial value). */
static uint64_t read_pos(sim_t *s, const hist_t *h, const sim_op_t *r) {
    if (r->value == 0) return 0;
    if (r->value > s->ops_n) {
        sim_fail(s, "history: read returned a value never written");
        return 0;
    }
    const sim_op_t *w = &s->ops[r->value - 1];
    if (w->is_read || w->key != r->key || !h->pos[r->value - 1]) {
        sim_fail(s, "history: read of key %u returned %llu, not a committed write of that key",
                 r->key, (unsigned long long)r->value);
        return 0;
    }
    if (w->inv_ns > r->resp_ns) sim_fail(s, "history: read returned a write from the future");
    return h->pos[r->value - 1];
}

static void check_read(sim_t *s, const hist_t *h, uint32_t ri, const uint64_t *rpos) {
    const sim_op_t *r = &s->ops[ri];
    uint64_t p = rpos[ri];
    for (uint32_t k = 0; k < h->order_n && !s->failed; k++) {
        const sim_op_t *w = &s->ops[h->order[k]];
        uint64_t wp = h->pos[h->order[k]];
        if (wp <= p && w->inv_ns > r->resp_ns)
            sim_fail(s, "history: read %u saw a state including write %llu invoked after it",
                     ri + 1, (unsigned long long)h->order[k] + 1);
        if (wp > p && w->key == r->key && w->done && w->resp_ns < r->inv_ns)
            sim_fail(s,
                     "history: stale read %u of key %u: write %llu was acknowledged before "
                     "it began",
                     ri + 1, r->key, (unsigned long long)h->order[k] + 1);
    }
    for (uint32_t j = 0; j < s->ops_n && !s->failed; j++) {
        const sim_op_t *q = &s->ops[j];
        if (!q->is_read || !q->done || q->key != r->key) continue;
        if (q->resp_ns < r->inv_ns && rpos[j] > p)
            sim_fail(s, "history: read %u went back in time after read %u", ri + 1, j + 1);
    }
}

void sim_check_history(sim_t *s) {
    hist_t h;
    hist_build(s, &h);
    check_writes(s, &h);
    uint64_t *rpos = calloc(s->ops_n + 1, sizeof(uint64_t));
    RN_ASSERT(rpos != NULL);
    for (uint32_t i = 0; i < s->ops_n && !s->failed; i++)
        if (s->ops[i].is_read && s->ops[i].done) rpos[i] = read_pos(s, &h, &s->ops[i]);
    for (uint32_t i = 0; i < s->ops_n && !s->failed; i++)
        if (s->ops[i].is_read && s->ops[i].done) check_read(s, &h, i, rpos);
    free(rpos);
    free(h.pos);
    free(h.order);
}
