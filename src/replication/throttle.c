/*
 * throttle.c: throttled-replica matching and the lock-free byte-rate
 * limiter of the replication throttles (see throttle.h).
 */
#include "replication/throttle.h"
#include "base/assert.h"
#include "base/limits.h"
#include "metadata/config_value.h"

#include <ctype.h>
#include <string.h>

void rn_throttle_init(rn_throttle_t *t) {
    RN_ASSERT(t != NULL);
    atomic_store(&t->rate_bytes_per_s, INT64_MAX);
    atomic_store(&t->tat_us, 0);
    atomic_store(&t->held_until_us, 0);
    atomic_store(&t->bytes_total, 0);
    atomic_store(&t->held_us_total, 0);
    atomic_store(&t->holds_total, 0);
}

void rn_throttle_set_rate(rn_throttle_t *t, int64_t rate_bytes_per_s) {
    RN_ASSERT(rate_bytes_per_s >= 0);
    atomic_store_explicit(&t->rate_bytes_per_s, rate_bytes_per_s, memory_order_relaxed);
}

int64_t rn_throttle_rate(const rn_throttle_t *t) {
    return atomic_load_explicit(&t->rate_bytes_per_s, memory_order_relaxed);
}

/* Microseconds past now at which the limiter is under quota again;
   <= 0 when it is now. */
static int64_t throttle_debt_us(rn_throttle_t *t, int64_t now_us) {
    int64_t tat = atomic_load_explicit(&t->tat_us, memory_order_relaxed);
    return tat - now_us - (int64_t)RN_REPL_THROTTLE_BURST_MS * 1000;
}

bool rn_throttle_exceeded(rn_throttle_t *t, int64_t now_ms) {
    RN_ASSERT(now_ms >= 0);
    int64_t rate = rn_throttle_rate(t);
    if (rate == INT64_MAX) return false;
    if (rate == 0) return true; /* a zero quota holds everything back */
    return throttle_debt_us(t, now_ms * 1000) > 0;
}

void rn_throttle_record(rn_throttle_t *t, uint64_t bytes, int64_t now_ms) {
    RN_ASSERT(now_ms >= 0);
    RN_ASSERT(bytes <= (uint64_t)RN_REPL_THROTTLE_RECORD_BYTES_MAX);
    atomic_fetch_add_explicit(&t->bytes_total, bytes, memory_order_relaxed);
    int64_t rate = rn_throttle_rate(t);
    if (rate == INT64_MAX || rate == 0 || bytes == 0) return;
    /* bytes <= 2^40 and 10^6 < 2^20: the product fits. */
    int64_t cost_us = (int64_t)bytes * 1000000 / rate;
    int64_t now_us = now_ms * 1000;
    int64_t old = atomic_load_explicit(&t->tat_us, memory_order_relaxed);
    int64_t next;
    do {
        next = (old > now_us ? old : now_us) + cost_us;
    } while (!atomic_compare_exchange_weak_explicit(&t->tat_us, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

void rn_throttle_hold(rn_throttle_t *t, int64_t now_ms) {
    RN_ASSERT(now_ms >= 0);
    atomic_fetch_add_explicit(&t->holds_total, 1, memory_order_relaxed);
    int64_t now_us = now_ms * 1000;
    int64_t debt = throttle_debt_us(t, now_us);
    int64_t end = now_us + (debt > 0 ? debt : 1000); /* a zero quota: a ms per hold */
    int64_t old = atomic_load_explicit(&t->held_until_us, memory_order_relaxed);
    while (end > old) {
        if (atomic_compare_exchange_weak_explicit(&t->held_until_us, &old, end,
                                                  memory_order_relaxed, memory_order_relaxed)) {
            int64_t from = old > now_us ? old : now_us;
            atomic_fetch_add_explicit(&t->held_us_total, (uint64_t)(end - from),
                                      memory_order_relaxed);
            return;
        }
    }
}

int64_t rn_throttle_wait_ms(rn_throttle_t *t, int64_t now_ms) {
    if (!rn_throttle_exceeded(t, now_ms)) return 0;
    int64_t debt = throttle_debt_us(t, now_ms * 1000);
    return debt > 0 ? (debt + 999) / 1000 : 1;
}

/* ---- the lists ---- */

typedef struct listed_find {
    int32_t partition;
    int32_t broker;
    bool found;
} listed_find_t;

/* A decimal number at *p (blanks around it skipped); -1 when none or
   larger than an int32. */
static int64_t listed_number(const char *item, size_t len, size_t *p) {
    while (*p < len && isblank((unsigned char)item[*p])) (*p)++;
    int64_t v = -1;
    while (*p < len && isdigit((unsigned char)item[*p])) {
        v = (v < 0 ? 0 : v * 10) + (item[*p] - '0');
        if (v > INT32_MAX) return -1;
        (*p)++;
    }
    while (*p < len && isblank((unsigned char)item[*p])) (*p)++;
    return v;
}

static bool listed_item(void *ctx, const char *item, size_t len) {
    listed_find_t *f = ctx;
    if (len == 1 && item[0] == '*') {
        f->found = true;
        return false;
    }
    size_t p = 0;
    int64_t part = listed_number(item, len, &p);
    if (part < 0 || p >= len || item[p] != ':') return true; /* malformed: ignored */
    p++;
    int64_t broker = listed_number(item, len, &p);
    if (broker < 0 || p != len) return true;
    f->found = part == f->partition && broker == f->broker;
    return !f->found;
}

bool rn_throttle_listed(const char *list, int32_t partition, int32_t broker) {
    RN_ASSERT(partition >= 0);
    if (!list || !list[0] || broker < 0) return false;
    listed_find_t f = {partition, broker, false};
    rn_config_list_each(list, listed_item, &f);
    return f.found;
}

/* ---- decisions ---- */

static bool throttle_in_isr(const rn_partition_leadership_t *lead, int32_t id) {
    RN_ASSERT(lead->isr_count >= 0 && lead->isr_count <= RN_REPLICAS_MAX);
    for (int16_t n = 0; n < lead->isr_count; n++)
        if (lead->isr[n] == id) return true;
    return false;
}

bool rn_throttle_leader_applies(const rn_partition_t *part, int32_t replica_id) {
    RN_ASSERT(part != NULL);
    return part->lead.throttle_leader && replica_id >= 0 &&
           !throttle_in_isr(&part->lead, replica_id);
}

bool rn_throttle_follower_applies(const rn_partition_t *part) {
    RN_ASSERT(part != NULL);
    return part->lead.throttle_follower && !throttle_in_isr(&part->lead, part->lead.self_id);
}
