/*
 * stats.h: lock-free counters and latency histograms for metrics.
 *
 * Every instance has one writer thread (the loop that owns it) and any
 * number of readers (the admin HTTP thread). The writer updates with a
 * relaxed load and a relaxed store (no read-modify-write, no lock, no
 * allocation, no system call); readers take relaxed loads and sum over
 * cores at scrape time. A reader may see a histogram mid-update (count one
 * ahead of a bucket); Prometheus tolerates that skew of one observation.
 * Nothing here formats text: src/admin/ does that.
 */
#ifndef RN_BASE_STATS_H
#define RN_BASE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Histogram buckets (upper bounds, seconds) for request and fsync
   latencies: 100 us to 10 s, about 2.5x apart; past the last is +Inf. */
#define RN_HISTO_BUCKETS 16
/* API keys tracked one by one: Kafka 3.9's highest key is 74. A key at or
   past this (or negative) counts in the last slot. */
#define RN_STATS_API_KEYS 96

typedef struct rn_histo {
    _Atomic uint64_t buckets[RN_HISTO_BUCKETS + 1]; /* not cumulative; last: +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} rn_histo_t;

/* A plain-integer copy for summing and formatting; buckets not cumulative. */
typedef struct rn_histo_snap {
    uint64_t buckets[RN_HISTO_BUCKETS + 1];
    uint64_t count;
    uint64_t sum_ns;
} rn_histo_snap_t;

/* Requests finished on one loop: count and latency per API key. */
typedef struct rn_stats_requests {
    rn_histo_t latency[RN_STATS_API_KEYS];
} rn_stats_requests_t;

/* Upper bound of bucket i (0 <= i < RN_HISTO_BUCKETS), in nanoseconds. */
int64_t rn_histo_bound_ns(int i);
/* Single writer: adds one observation. Negative durations count as 0. */
void rn_histo_observe_ns(rn_histo_t *histo, int64_t ns);
/* Any thread: adds the histogram's current values into *snap. */
void rn_histo_add_to(const rn_histo_t *histo, rn_histo_snap_t *snap);

/* Single writer: a relaxed increment by `n` (load + store, no RMW). */
static inline void rn_stats_add(_Atomic uint64_t *counter, uint64_t n) {
    uint64_t v = atomic_load_explicit(counter, memory_order_relaxed);
    atomic_store_explicit(counter, v + n, memory_order_relaxed);
}

static inline uint64_t rn_stats_read(const _Atomic uint64_t *counter) {
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Single writer: one finished request of api_key that took ns. */
void rn_stats_request_done(rn_stats_requests_t *stats, int16_t api_key, int64_t ns);
/* The slot of an API key (the last slot for keys outside the table). */
int rn_stats_api_slot(int16_t api_key);

#endif
