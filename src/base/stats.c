/*
 * stats.c: histogram bucketing and single-writer updates (see stats.h).
 * It owns no memory and never blocks.
 */
#include "base/stats.h"
#include "base/assert.h"

static const int64_t histo_bounds_ns[RN_HISTO_BUCKETS] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,    10000000,   25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

int64_t rn_histo_bound_ns(int i) {
    RN_ASSERT(i >= 0);
    RN_ASSERT(i < RN_HISTO_BUCKETS);
    return histo_bounds_ns[i];
}

/* The first bucket whose bound holds ns: a binary search over 16 bounds. */
static int histo_bucket(int64_t ns) {
    int lo = 0, hi = RN_HISTO_BUCKETS;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (ns <= histo_bounds_ns[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo; /* RN_HISTO_BUCKETS: +Inf */
}

void rn_histo_observe_ns(rn_histo_t *histo, int64_t ns) {
    if (ns < 0) ns = 0;
    int b = histo_bucket(ns);
    RN_ASSERT(b >= 0 && b <= RN_HISTO_BUCKETS);
    rn_stats_add(&histo->buckets[b], 1);
    rn_stats_add(&histo->sum_ns, (uint64_t)ns);
    rn_stats_add(&histo->count, 1);
}

void rn_histo_add_to(const rn_histo_t *histo, rn_histo_snap_t *snap) {
    for (int i = 0; i <= RN_HISTO_BUCKETS; i++)
        snap->buckets[i] += rn_stats_read(&histo->buckets[i]);
    snap->count += rn_stats_read(&histo->count);
    snap->sum_ns += rn_stats_read(&histo->sum_ns);
}

int rn_stats_api_slot(int16_t api_key) {
    return api_key >= 0 && api_key < RN_STATS_API_KEYS - 1 ? api_key : RN_STATS_API_KEYS - 1;
}

void rn_stats_request_done(rn_stats_requests_t *stats, int16_t api_key, int64_t ns) {
    rn_histo_observe_ns(&stats->latency[rn_stats_api_slot(api_key)], ns);
}
