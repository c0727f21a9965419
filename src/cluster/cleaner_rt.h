/*
 * cleaner_rt.h: the log cleaner in the running node: one thread of its own
 * (log.cleaner.threads = 1) that, every log.cleaner.backoff.ms while there
 * is nothing to do, looks over the partitions of the topics whose
 * cleanup.policy has compact (the internal topics excepted: the group
 * coordinator compacts __consumer_offsets its own way, coordinator.h),
 * picks the log with the largest dirty ratio at or past
 * min.cleanable.dirty.ratio (or one past max.compaction.lag.ms) and cleans
 * it (storage/cleaner.h), within log.cleaner.io.max.bytes.per.second.
 *
 * It never touches a log itself: pinning the cleanable segments and
 * swapping the cleaned ones in run on the partition's owner core, by mail,
 * while the cleaner thread waits; the reading and writing in between run on
 * the cleaner thread, so produce and fetch never wait for a clean.
 * Counters for /metrics are relaxed atomics, read from any thread.
 */
#ifndef RN_CLUSTER_CLEANER_RT_H
#define RN_CLUSTER_CLEANER_RT_H

#include "cluster/node.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct rn_cleaner_stats {
    _Atomic uint64_t bytes_cleaned_total; /* bytes of old segments read by cleans */
    _Atomic uint64_t bytes_written_total; /* bytes of cleaned segments written */
    _Atomic uint64_t cleans_total;        /* cleans swapped in */
    _Atomic uint64_t errors_total;        /* cleans that failed (the log left as it was) */
    _Atomic int64_t last_clean_ms;        /* how long the last clean took */
    _Atomic uint64_t dirty_ratio_max_ppm; /* the largest dirty ratio seen at the last look */
    _Atomic int64_t records_removed_total;
} rn_cleaner_stats_t;

typedef struct rn_cleaner_rt rn_cleaner_rt_t;

/* Starts the cleaner thread (when log.cleaner.enable); *out NULL when off. */
rn_err_t rn_cleaner_start(rn_node_t *node, rn_cleaner_rt_t **out);
/* Stops and joins it; call while the loops still run (it may be waiting on
   one). NULL is fine. */
void rn_cleaner_stop(rn_cleaner_rt_t *rt);
/* Counters, or NULL when the cleaner is off. */
const rn_cleaner_stats_t *rn_cleaner_stats(const rn_cleaner_rt_t *rt);

#endif
