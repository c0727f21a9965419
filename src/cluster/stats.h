/*
 * stats.h: the metrics one core keeps about its own work.
 *
 * Each rn_core_t embeds one rn_core_stats_t. Only that core's thread writes
 * it (base/stats.h: relaxed load and store, a few instructions, no lock);
 * the admin thread reads every core's and sums them at scrape time.
 * Per-partition counters live in rn_partition_t instead.
 */
#ifndef RN_CLUSTER_STATS_H
#define RN_CLUSTER_STATS_H

#include "base/stats.h"
#include "proto/kerr.h"

/* APIs whose per-partition error codes are counted. */
typedef enum rn_stats_error_api {
    RN_STATS_ERRORS_PRODUCE = 0,
    RN_STATS_ERRORS_FETCH = 1,
    RN_STATS_ERROR_APIS = 2,
} rn_stats_error_api_t;

/* Slots per API: Kafka codes RN_KERR_CODE_MIN..RN_KERR_CODE_MAX. */
#define RN_STATS_ERROR_CODES (RN_KERR_CODE_MAX - RN_KERR_CODE_MIN + 1)

typedef struct rn_core_stats {
    rn_stats_requests_t requests; /* written by this core's net layer */
    rn_histo_t fsync;             /* one observation per partition synced */
    /* Non-zero error codes in Produce and Fetch answers (partition level,
       and Fetch's top-level code), by code. */
    _Atomic uint64_t errors[RN_STATS_ERROR_APIS][RN_STATS_ERROR_CODES];
    /* Incremental fetch sessions (handlers/fetch_session.c): open now and
       their partitions (gauges), evictions, incremental fetches served. */
    _Atomic uint64_t fetch_sessions_open;
    _Atomic uint64_t fetch_session_partitions;
    _Atomic uint64_t fetch_session_evictions;
    _Atomic uint64_t fetch_incremental;
    /* ISR changes this core's leaders asked for and the controller took
       (cluster/replicas_rt.c; a change that adds and removes counts in
       both), and those it refused (Kafka's IsrShrinksPerSec,
       IsrExpandsPerSec and FailedIsrUpdatesPerSec, as totals). */
    _Atomic uint64_t isr_shrinks;
    _Atomic uint64_t isr_expands;
    _Atomic uint64_t isr_updates_failed;
} rn_core_stats_t;

/* Counts one answer's error code on the calling core; 0 is not counted. */
static inline void rn_core_stats_error(rn_core_stats_t *stats, rn_stats_error_api_t api,
                                       int16_t code) {
    if (code == 0 || code < RN_KERR_CODE_MIN || code > RN_KERR_CODE_MAX) return;
    rn_stats_add(&stats->errors[api][code - RN_KERR_CODE_MIN], 1);
}

#endif
