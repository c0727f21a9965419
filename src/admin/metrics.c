/*
 * metrics.c: the /metrics answer, gathered at scrape time on the admin
 * thread.
 *
 * It sums every core's counters (cluster/stats.h, and each core's replica
 * fetchers') and reads every live partition's (partition.h) with relaxed
 * loads, so the data path never waits for a scrape; it counts what this
 * node leads and replicates in the metadata image it holds a reference on
 * (replication.h); it asks the group coordinator for lag (which waits
 * for every core, so this must never run on a loop). Label cardinality is
 * bounded: RN_ADMIN_PARTITION_SERIES_MAX partitions and
 * RN_ADMIN_LAG_SERIES_MAX lag rows, with gauges saying what was left out.
 * docs/METRICS.md lists every family. It owns only the text it builds.
 */
#include "admin/admin.h"
#include "admin/prom.h"
#include "cluster/balancer_rt.h"
#include "admin/replication.h"
#include "base/assert.h"
#include "cluster/cleaner_rt.h"
#include "cluster/topics.h"
#include "group/coordinator.h"
#include "proto/gen/api.h"
#include "replication/fetcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- process, connections ---- */

static void metrics_process(rn_prom_t *prom, const rn_admin_sources_t *src, bool ready) {
    rn_prom_family(prom, "runnel_ready", "gauge",
                   "1 once recovery is done, metadata is loaded and listeners are up");
    rn_prom_u64(prom, "runnel_ready", NULL, ready ? 1 : 0);
    /* The cores are being built until ready. */
    if (ready) {
        rn_prom_family(prom, "runnel_cores", "gauge", "Event-loop threads");
        rn_prom_u64(prom, "runnel_cores", NULL, (uint64_t)src->node->core_count);
    }
    rn_net_shared_t *net = src->net;
    rn_prom_family(prom, "runnel_connections_open", "gauge", "Client connections open now");
    rn_prom_i64(prom, "runnel_connections_open", NULL, atomic_load(&net->connections_open));
    rn_prom_family(prom, "runnel_connections_accepted_total", "counter",
                   "Client connections accepted");
    rn_prom_u64(prom, "runnel_connections_accepted_total", NULL,
                rn_stats_read(&net->connections_accepted_total));
    rn_prom_family(
        prom, "runnel_connections_refused_total", "counter",
        "Client connections closed at accept: past max.connections or out of file descriptors");
    rn_prom_u64(prom, "runnel_connections_refused_total", NULL,
                rn_stats_read(&net->connections_refused_total));
    rn_prom_family(prom, "runnel_request_partial_bytes", "gauge",
                   "Buffer bytes of request frames still being read (queued.max.request.bytes)");
    rn_prom_i64(prom, "runnel_request_partial_bytes", NULL, atomic_load(&net->partial_bytes));
}

/* ---- requests, errors, fsync: summed over cores ---- */

static const char *metrics_api_name(int slot) {
    const rn_api_info_t *api = slot < RN_STATS_API_KEYS - 1 ? rn_api_info((int16_t)slot) : NULL;
    return api ? api->name : "other";
}

static void metrics_requests(rn_prom_t *prom, const rn_node_t *node) {
    rn_histo_snap_t *snaps = calloc(RN_STATS_API_KEYS, sizeof *snaps);
    if (!snaps) {
        prom->failed = true;
        return;
    }
    for (int c = 0; c < node->core_count; c++)
        for (int k = 0; k < RN_STATS_API_KEYS; k++)
            rn_histo_add_to(&node->cores[c].stats.requests.latency[k], &snaps[k]);
    char labels[128];
    rn_prom_family(prom, "runnel_requests_total", "counter",
                   "Kafka requests answered (or dropped), by API");
    for (int k = 0; k < RN_STATS_API_KEYS; k++) {
        if (snaps[k].count == 0) continue;
        labels[0] = '\0';
        rn_prom_label(labels, sizeof labels, "api", metrics_api_name(k));
        rn_prom_u64(prom, "runnel_requests_total", labels, snaps[k].count);
    }
    rn_prom_family(prom, "runnel_request_duration_seconds", "histogram",
                   "Time from a request's last byte read to its answer being ready, by API");
    for (int k = 0; k < RN_STATS_API_KEYS; k++) {
        if (snaps[k].count == 0) continue;
        labels[0] = '\0';
        rn_prom_label(labels, sizeof labels, "api", metrics_api_name(k));
        rn_prom_histo(prom, "runnel_request_duration_seconds", labels, &snaps[k]);
    }
    free(snaps);
}

static void metrics_errors(rn_prom_t *prom, const rn_node_t *node) {
    static const char *const api_names[RN_STATS_ERROR_APIS] = {"Produce", "Fetch"};
    rn_prom_family(prom, "runnel_response_errors_total", "counter",
                   "Non-zero Kafka error codes in Produce and Fetch answers (per partition, "
                   "and Fetch's top-level code), by API and error");
    for (int a = 0; a < RN_STATS_ERROR_APIS; a++) {
        for (int i = 0; i < RN_STATS_ERROR_CODES; i++) {
            uint64_t total = 0;
            for (int c = 0; c < node->core_count; c++)
                total += rn_stats_read(&node->cores[c].stats.errors[a][i]);
            if (total == 0) continue;
            char labels[160] = "";
            rn_prom_label(labels, sizeof labels, "api", api_names[a]);
            rn_prom_label(labels, sizeof labels, "error",
                          rn_kerr_name((int16_t)(i + RN_KERR_CODE_MIN)));
            rn_prom_u64(prom, "runnel_response_errors_total", labels, total);
        }
    }
}

static void metrics_fsync(rn_prom_t *prom, const rn_node_t *node) {
    rn_histo_snap_t snap;
    memset(&snap, 0, sizeof snap);
    for (int c = 0; c < node->core_count; c++) rn_histo_add_to(&node->cores[c].stats.fsync, &snap);
    rn_prom_family(prom, "runnel_fsync_duration_seconds", "histogram",
                   "Time of one partition log fsync in a group commit");
    rn_prom_histo(prom, "runnel_fsync_duration_seconds", NULL, &snap);
}

/* A counter family read at an offset of a stats struct. */
typedef struct offset_metric {
    const char *name;
    const char *type;
    const char *help;
    size_t offset; /* of the _Atomic uint64_t counter in its struct */
} offset_metric_t;

/* Families of rn_core_stats_t counters, each summed over the cores. */
static void metrics_core_sums(rn_prom_t *prom, const rn_node_t *node,
                              const offset_metric_t *metrics, size_t count) {
    for (size_t m = 0; m < count; m++) {
        uint64_t total = 0;
        for (int c = 0; c < node->core_count; c++) {
            const char *stats = (const char *)&node->cores[c].stats;
            total += rn_stats_read((const _Atomic uint64_t *)(stats + metrics[m].offset));
        }
        rn_prom_family(prom, metrics[m].name, metrics[m].type, metrics[m].help);
        rn_prom_u64(prom, metrics[m].name, NULL, total);
    }
}

/* ---- incremental fetch sessions: summed over cores ---- */

static void metrics_fetch_sessions(rn_prom_t *prom, const rn_node_t *node) {
    static const offset_metric_t metrics[] = {
        /* in rn_core_stats_t */
        {"runnel_fetch_sessions", "gauge", "Incremental fetch sessions open (KIP-227)",
         offsetof(rn_core_stats_t, fetch_sessions_open)},
        {"runnel_fetch_session_partitions", "gauge",
         "Partitions held by the open incremental fetch sessions",
         offsetof(rn_core_stats_t, fetch_session_partitions)},
        {"runnel_fetch_session_evictions_total", "counter",
         "Fetch sessions evicted to make room for a new one",
         offsetof(rn_core_stats_t, fetch_session_evictions)},
        {"runnel_fetch_incremental_total", "counter",
         "Incremental fetches accepted (a session and its epoch matched)",
         offsetof(rn_core_stats_t, fetch_incremental)},
    };
    metrics_core_sums(prom, node, metrics, sizeof metrics / sizeof metrics[0]);
}

/* ---- replication: this node's view in the metadata image ---- */

static void metrics_replication_gauges(rn_prom_t *prom, rn_node_t *node) {
    rn_admin_repl_counts_t counts;
    rn_image_t *img = rn_topics_image(node);
    rn_admin_repl_count(img, node->settings.node_id, &counts);
    rn_image_release(img);
    const struct {
        const char *name;
        const char *help;
        uint64_t value;
    } gauges[] = {
        {"runnel_partitions_leader", "Partitions this broker leads", counts.leader},
        {"runnel_partitions_under_replicated",
         "Partitions led here whose in-sync replicas are fewer than their replicas",
         counts.under_replicated},
        /* The name of earlier releases, kept for dashboards built on it. */
        {"runnel_under_replicated_partitions",
         "Same as runnel_partitions_under_replicated (the earlier name)", counts.under_replicated},
        {"runnel_partitions_under_min_isr",
         "Partitions led here whose in-sync replicas are fewer than min.insync.replicas",
         counts.under_min_isr},
        {"runnel_partitions_at_min_isr",
         "Partitions led here whose in-sync replicas are exactly min.insync.replicas",
         counts.at_min_isr},
        {"runnel_partitions_leaderless", "Partitions with a replica here and no leader",
         counts.leaderless},
        {"runnel_replicas_out_of_sync",
         "Partitions with a replica here that is not in their in-sync replicas",
         counts.out_of_sync},
    };
    for (size_t g = 0; g < sizeof gauges / sizeof gauges[0]; g++) {
        rn_prom_family(prom, gauges[g].name, "gauge", gauges[g].help);
        rn_prom_u64(prom, gauges[g].name, NULL, gauges[g].value);
    }
}

/* The ISR changes this node's leaders asked for, and its replica fetchers. */
static void metrics_replication_counters(rn_prom_t *prom, const rn_node_t *node) {
    static const offset_metric_t isr[] = {
        /* in rn_core_stats_t */
        {"runnel_isr_shrinks_total", "counter",
         "ISR shrinks this broker's leaders asked for and the controller took",
         offsetof(rn_core_stats_t, isr_shrinks)},
        {"runnel_isr_expands_total", "counter",
         "ISR expansions this broker's leaders asked for and the controller took",
         offsetof(rn_core_stats_t, isr_expands)},
        {"runnel_isr_updates_failed_total", "counter",
         "ISR changes this broker's leaders asked for that the controller refused",
         offsetof(rn_core_stats_t, isr_updates_failed)},
    };
    metrics_core_sums(prom, node, isr, sizeof isr / sizeof isr[0]);
    static const offset_metric_t fetchers[] = {
        /* in rn_fetchers_stats_t */
        {"runnel_replica_fetch_requests_total", "counter", "Fetch requests sent to leaders",
         offsetof(rn_fetchers_stats_t, fetches_total)},
        {"runnel_replica_fetch_errors_total", "counter",
         "Replica fetches that failed, whole or for one partition",
         offsetof(rn_fetchers_stats_t, fetch_errors_total)},
        {"runnel_replica_fetch_bytes_total", "counter",
         "Record batch bytes fetched from leaders and appended",
         offsetof(rn_fetchers_stats_t, bytes_total)},
        {"runnel_replica_truncations_total", "counter",
         "Follower logs cut where they parted from the leader's",
         offsetof(rn_fetchers_stats_t, truncations_total)},
    };
    for (size_t m = 0; m < sizeof fetchers / sizeof fetchers[0]; m++) {
        uint64_t total = 0;
        for (int c = 0; c < node->core_count; c++) {
            if (!node->cores[c].fetchers) continue;
            const char *st = (const char *)rn_fetchers_stats(node->cores[c].fetchers);
            total += rn_stats_read((const _Atomic uint64_t *)(st + fetchers[m].offset));
        }
        rn_prom_family(prom, fetchers[m].name, fetchers[m].type, fetchers[m].help);
        rn_prom_u64(prom, fetchers[m].name, NULL, total);
    }
}

/* The replication throttles of moving replicas (replication/throttle.h),
   one series per direction: leader (what this node answers throttled
   followers) and follower (what it fetches as a throttled follower). */
static void metrics_throttles(rn_prom_t *prom, rn_node_t *node) {
    rn_throttle_t *dirs[2] = {&node->throttle_leader, &node->throttle_follower};
    static const char *const names[2] = {"leader", "follower"};
    char labels[2][64];
    for (int d = 0; d < 2; d++) {
        labels[d][0] = '\0';
        rn_prom_label(labels[d], sizeof labels[d], "direction", names[d]);
    }
    rn_prom_family(prom, "runnel_replication_throttled_bytes_total", "counter",
                   "Record bytes of moving replicas sent or fetched under a replication throttle");
    for (int d = 0; d < 2; d++)
        rn_prom_u64(prom, "runnel_replication_throttled_bytes_total", labels[d],
                    rn_stats_read(&dirs[d]->bytes_total));
    rn_prom_family(prom, "runnel_replication_throttled_seconds_total", "counter",
                   "Time throttled partitions were held back, the throttle over its rate");
    for (int d = 0; d < 2; d++)
        rn_prom_f64(prom, "runnel_replication_throttled_seconds_total", labels[d],
                    (double)rn_stats_read(&dirs[d]->held_us_total) / 1e6);
    rn_prom_family(prom, "runnel_replication_throttle_holds_total", "counter",
                   "Times a throttled partition was left out of a fetch or its answer");
    for (int d = 0; d < 2; d++)
        rn_prom_u64(prom, "runnel_replication_throttle_holds_total", labels[d],
                    rn_stats_read(&dirs[d]->holds_total));
    rn_prom_family(prom, "runnel_replication_throttle_rate_bytes", "gauge",
                   "The throttle's rate in bytes per second (-1: unthrottled)");
    for (int d = 0; d < 2; d++) {
        int64_t rate = rn_throttle_rate(dirs[d]);
        rn_prom_i64(prom, "runnel_replication_throttle_rate_bytes", labels[d],
                    rate == INT64_MAX ? -1 : rate);
    }
}

static void metrics_replica_lag(rn_prom_t *prom, const rn_node_t *node) {
    uint64_t max = 0;
    for (int c = 0; c < node->core_count; c++) {
        if (!node->cores[c].fetchers) continue;
        uint64_t lag = rn_stats_read(&rn_fetchers_stats(node->cores[c].fetchers)->max_lag);
        if (lag > max) max = lag;
    }
    rn_prom_family(prom, "runnel_replica_max_lag", "gauge",
                   "The largest lag in records (leader high watermark minus log end) of a "
                   "partition this broker follows, as of its last fetch");
    rn_prom_u64(prom, "runnel_replica_max_lag", NULL, max);
}

/* ---- partitions and topics ---- */

typedef struct part_metric {
    const char *name;       /* per-partition family */
    const char *topic_name; /* per-topic sum family, or NULL */
    const char *type;
    const char *help;
    size_t field; /* offset of an _Atomic uint64_t in rn_partition_t */
} part_metric_t;

static const part_metric_t part_metrics[] = {
    {"runnel_partition_bytes_in_total", "runnel_topic_bytes_in_total", "counter",
     "Record batch bytes appended by Produce", offsetof(rn_partition_t, bytes_in_total)},
    {"runnel_partition_records_in_total", "runnel_topic_records_in_total", "counter",
     "Records (offsets) appended by Produce", offsetof(rn_partition_t, records_in_total)},
    {"runnel_partition_bytes_out_total", "runnel_topic_bytes_out_total", "counter",
     "Record batch bytes sent in Fetch answers", offsetof(rn_partition_t, bytes_out_total)},
    {"runnel_partition_log_size_bytes", "runnel_topic_log_size_bytes", "gauge",
     "Bytes of the partition's log segments on disk", offsetof(rn_partition_t, size_bytes)},
    {"runnel_partition_log_segments", NULL, "gauge", "Segments in the partition's log",
     offsetof(rn_partition_t, segment_count)},
    {"runnel_partition_transactions_ongoing", "runnel_topic_transactions_ongoing", "gauge",
     "Transactions with records in the partition and no marker yet (they hold the last "
     "stable offset back)",
     offsetof(rn_partition_t, txn_ongoing)},
    {"runnel_partition_txn_markers_total", "runnel_topic_txn_markers_total", "counter",
     "Transaction markers (COMMIT or ABORT control batches) appended since the broker started",
     offsetof(rn_partition_t, txn_markers_total)},
    {"runnel_partition_txn_aborted_total", "runnel_topic_txn_aborted_total", "counter",
     "Transactions with records in the partition that ended in ABORT since the broker started",
     offsetof(rn_partition_t, txn_aborted_total)},
};
#define PART_METRIC_COUNT (sizeof part_metrics / sizeof part_metrics[0])

static uint64_t part_value(const rn_partition_t *part, const part_metric_t *metric) {
    return rn_stats_read((const _Atomic uint64_t *)((const char *)part + metric->field));
}

static bool part_live(const rn_partition_t *part) { return part && !atomic_load(&part->deleted); }

static void metrics_partition_family(rn_prom_t *prom, const rn_ptable_t *table,
                                     const part_metric_t *metric) {
    rn_prom_family(prom, metric->name, metric->type, metric->help);
    int32_t emitted = 0;
    for (int32_t t = 0; t < table->topic_count; t++) {
        const rn_topic_rt_t *rt = table->topics[t];
        for (int32_t p = 0; p < rt->partition_count; p++) {
            if (!part_live(rt->parts[p])) continue;
            if (emitted++ >= RN_ADMIN_PARTITION_SERIES_MAX) return;
            char labels[RN_PROM_LABELS_BYTES_MAX] = "";
            char index[16];
            snprintf(index, sizeof index, "%d", p);
            rn_prom_label(labels, sizeof labels, "topic", rt->name);
            rn_prom_label(labels, sizeof labels, "partition", index);
            rn_prom_u64(prom, metric->name, labels, part_value(rt->parts[p], metric));
        }
    }
}

static void metrics_topic_family(rn_prom_t *prom, const rn_ptable_t *table,
                                 const part_metric_t *metric) {
    rn_prom_family(prom, metric->topic_name, metric->type, metric->help);
    for (int32_t t = 0; t < table->topic_count; t++) {
        const rn_topic_rt_t *rt = table->topics[t];
        uint64_t total = 0;
        for (int32_t p = 0; p < rt->partition_count; p++)
            if (part_live(rt->parts[p])) total += part_value(rt->parts[p], metric);
        char labels[RN_PROM_LABELS_BYTES_MAX] = "";
        rn_prom_label(labels, sizeof labels, "topic", rt->name);
        rn_prom_u64(prom, metric->topic_name, labels, total);
    }
}

static void metrics_partition_counts(rn_prom_t *prom, const rn_ptable_t *table) {
    uint64_t partitions = 0;
    for (int32_t t = 0; t < table->topic_count; t++)
        for (int32_t p = 0; p < table->topics[t]->partition_count; p++)
            partitions += part_live(table->topics[t]->parts[p]);
    rn_prom_family(prom, "runnel_topics", "gauge", "Topics, internal ones included");
    rn_prom_u64(prom, "runnel_topics", NULL, (uint64_t)table->topic_count);
    rn_prom_family(prom, "runnel_partitions", "gauge",
                   "Partitions whose log this broker holds (led or followed)");
    rn_prom_u64(prom, "runnel_partitions", NULL, partitions);
    rn_prom_family(prom, "runnel_metrics_partitions_omitted", "gauge",
                   "Partitions past the per-partition series limit of one scrape");
    rn_prom_u64(prom, "runnel_metrics_partitions_omitted", NULL,
                partitions > RN_ADMIN_PARTITION_SERIES_MAX
                    ? partitions - RN_ADMIN_PARTITION_SERIES_MAX
                    : 0);
}

static void metrics_partitions(rn_prom_t *prom, rn_node_t *node) {
    rn_ptable_t *table = rn_node_table_acquire(node); /* not a loop thread */
    metrics_partition_counts(prom, table);
    for (size_t m = 0; m < PART_METRIC_COUNT; m++) {
        if (part_metrics[m].topic_name) metrics_topic_family(prom, table, &part_metrics[m]);
        metrics_partition_family(prom, table, &part_metrics[m]);
    }
    rn_ptable_release(table);
}

/* ---- storage health ---- */

uint64_t rn_admin_partitions_offline(rn_node_t *node) {
    rn_ptable_t *table = rn_node_table_acquire(node); /* not a loop thread */
    uint64_t offline = 0;
    for (int32_t t = 0; t < table->topic_count; t++) {
        const rn_topic_rt_t *rt = table->topics[t];
        for (int32_t p = 0; p < rt->partition_count; p++)
            offline += part_live(rt->parts[p]) && rn_partition_offline(rt->parts[p]);
    }
    rn_ptable_release(table);
    return offline;
}

bool rn_admin_storage_failing(rn_node_t *node, char *buf, size_t cap) {
    int64_t now_ms = rn_io_now_ms(node->io);
    if (rn_storage_health_failing(&node->storage_health, now_ms, node->settings.log_dir, buf, cap))
        return true;
    uint64_t offline = rn_admin_partitions_offline(node);
    if (offline == 0) return false;
    snprintf(buf, cap, "%llu partition(s) offline after a storage error (restart to recover)",
             (unsigned long long)offline);
    return true;
}

static void metrics_storage(rn_prom_t *prom, rn_node_t *node) {
    rn_storage_health_t *health = &node->storage_health;
    int64_t now_ms = rn_io_now_ms(node->io);
    bool failing = rn_storage_health_failing(health, now_ms, node->settings.log_dir, NULL, 0);
    rn_prom_family(prom, "runnel_log_dirs_failing", "gauge",
                   "Log directories refusing appends now (disk full or another I/O error)");
    rn_prom_u64(prom, "runnel_log_dirs_failing", NULL, failing ? 1 : 0);
    rn_prom_family(prom, "runnel_partitions_offline", "gauge",
                   "Partitions refusing produce and fetch after a storage error they could not "
                   "undo, until a restart");
    rn_prom_u64(prom, "runnel_partitions_offline", NULL, rn_admin_partitions_offline(node));
    rn_prom_family(prom, "runnel_appends_refused_total", "counter",
                   "Produce appends refused for a storage error (disk full, I/O error), answered "
                   "KAFKA_STORAGE_ERROR");
    rn_prom_u64(prom, "runnel_appends_refused_total", NULL,
                atomic_load_explicit(&health->refused_total, memory_order_relaxed));
}

/* ---- the log cleaner ---- */

/* Zeros when the cleaner is off (log.cleaner.enable=false). */
static void metrics_cleaner(rn_prom_t *prom, const rn_node_t *node) {
    static const offset_metric_t counters[] = {
        /* in rn_cleaner_stats_t */
        {"runnel_log_cleaner_bytes_cleaned_total", "counter",
         "Bytes of old segments the log cleaner rewrote (compacted topics)",
         offsetof(rn_cleaner_stats_t, bytes_cleaned_total)},
        {"runnel_log_cleaner_bytes_written_total", "counter",
         "Bytes of cleaned segments the log cleaner wrote",
         offsetof(rn_cleaner_stats_t, bytes_written_total)},
        {"runnel_log_cleaner_cleans_total", "counter", "Cleans swapped into a log",
         offsetof(rn_cleaner_stats_t, cleans_total)},
        {"runnel_log_cleaner_errors_total", "counter",
         "Cleans that failed (a corrupt batch, an I/O error): the log left as it was",
         offsetof(rn_cleaner_stats_t, errors_total)},
    };
    static const rn_cleaner_stats_t off;
    const rn_cleaner_stats_t *st = rn_cleaner_stats(node->cleaner);
    if (!st) st = &off;
    for (size_t m = 0; m < sizeof counters / sizeof counters[0]; m++) {
        const char *at = (const char *)st + counters[m].offset;
        rn_prom_family(prom, counters[m].name, counters[m].type, counters[m].help);
        rn_prom_u64(prom, counters[m].name, NULL,
                    atomic_load_explicit((const _Atomic uint64_t *)at, memory_order_relaxed));
    }
    rn_prom_family(prom, "runnel_log_cleaner_last_clean_seconds", "gauge",
                   "How long the last clean took");
    rn_prom_f64(prom, "runnel_log_cleaner_last_clean_seconds", NULL,
                (double)atomic_load_explicit(&st->last_clean_ms, memory_order_relaxed) / 1e3);
    rn_prom_family(prom, "runnel_log_cleaner_dirty_ratio_max", "gauge",
                   "The largest dirty ratio of a compacted log at the cleaner's last look");
    rn_prom_f64(prom, "runnel_log_cleaner_dirty_ratio_max", NULL,
                (double)atomic_load_explicit(&st->dirty_ratio_max_ppm, memory_order_relaxed) / 1e6);
}

/* The balancer's last plan, on the node that is (or was) the active
   controller; zero elsewhere. */
static void metrics_balancer(rn_prom_t *prom, const rn_node_t *node) {
    rn_bal_status_t st;
    rn_bal_rt_status(node->balancer, &st);
    static const struct {
        const char *name, *type, *help;
        size_t offset;
    } rows[] = {
        {"runnel_balancer_plans_total", "counter", "Plans the balancer made",
         offsetof(rn_bal_status_t, plans)},
        {"runnel_balancer_moves_total", "counter", "Replica moves the balancer asked for",
         offsetof(rn_bal_status_t, moves)},
        {"runnel_balancer_leader_moves_total", "counter",
         "Leader moves (replica reorders) the balancer asked for",
         offsetof(rn_bal_status_t, leader_moves)},
        {"runnel_balancer_bytes_planned_total", "counter",
         "Bytes the balancer's replica moves copy (as the brokers report partition sizes)",
         offsetof(rn_bal_status_t, bytes_planned)},
        {"runnel_balancer_moves_in_flight", "gauge",
         "Partitions being reassigned at the balancer's last plan",
         offsetof(rn_bal_status_t, moving_now)},
    };
    for (size_t m = 0; m < sizeof rows / sizeof rows[0]; m++) {
        rn_prom_family(prom, rows[m].name, rows[m].type, rows[m].help);
        rn_prom_i64(prom, rows[m].name, NULL,
                    *(const int64_t *)((const char *)&st + rows[m].offset));
    }
    rn_prom_family(prom, "runnel_balancer_hard_goal_violations", "gauge",
                   "Hard-goal violations (drained or absent brokers' replicas, racks, caps, disk) "
                   "left after the balancer's last plan");
    rn_prom_i64(prom, "runnel_balancer_hard_goal_violations", NULL, st.hard_left);
    rn_prom_family(prom, "runnel_balancer_balanced", "gauge",
                   "1 when the balancer's last plan found every goal met");
    rn_prom_i64(prom, "runnel_balancer_balanced", NULL, st.idle == RN_BAL_BALANCED);
}

/* ---- consumer lag ---- */

typedef struct lag_rows {
    rn_prom_t lag;
    rn_prom_t committed;
    uint64_t count;
    uint64_t omitted;
} lag_rows_t;

static void metrics_lag_row(void *ctx, const char *group_id, const char *topic, int32_t partition,
                            int64_t committed, int64_t end_offset) {
    lag_rows_t *rows = ctx;
    if (end_offset < 0 || committed < 0) return; /* partition gone, or nothing committed */
    char labels[RN_PROM_LABELS_BYTES_MAX] = "";
    char index[16];
    snprintf(index, sizeof index, "%d", partition);
    if (rows->count >= RN_ADMIN_LAG_SERIES_MAX ||
        !rn_prom_label(labels, sizeof labels, "group", group_id) ||
        !rn_prom_label(labels, sizeof labels, "topic", topic) ||
        !rn_prom_label(labels, sizeof labels, "partition", index)) {
        rows->omitted++;
        return;
    }
    rows->count++;
    rn_prom_i64(&rows->lag, "runnel_consumer_group_lag", labels,
                end_offset > committed ? end_offset - committed : 0);
    rn_prom_i64(&rows->committed, "runnel_consumer_group_committed_offset", labels, committed);
}

/* Moves what `part` built to the end of prom. */
static void metrics_append(rn_prom_t *prom, rn_prom_t *part) {
    size_t len = 0;
    char *text = rn_prom_take(part, &len);
    if (!text) {
        prom->failed = true;
        return;
    }
    rn_prom_raw(prom, text, len);
    free(text);
}

static void metrics_lag(rn_prom_t *prom, rn_node_t *node) {
    lag_rows_t rows;
    memset(&rows, 0, sizeof rows);
    rn_prom_init(&rows.lag);
    rn_prom_init(&rows.committed);
    rn_group_lag_each(node, metrics_lag_row, &rows);
    rn_prom_family(prom, "runnel_consumer_group_lag", "gauge",
                   "Records between a group's committed offset and the partition's high "
                   "watermark");
    metrics_append(prom, &rows.lag);
    rn_prom_family(prom, "runnel_consumer_group_committed_offset", "gauge",
                   "A group's committed offset");
    metrics_append(prom, &rows.committed);
    rn_prom_family(prom, "runnel_metrics_lag_series_omitted", "gauge",
                   "Lag rows past the series limit of one scrape (or with labels too long)");
    rn_prom_u64(prom, "runnel_metrics_lag_series_omitted", NULL, rows.omitted);
}

char *rn_admin_metrics_render(const rn_admin_sources_t *src, size_t *len) {
    RN_ASSERT(src->node != NULL);
    RN_ASSERT(src->net != NULL);
    rn_prom_t prom;
    rn_prom_init(&prom);
    /* Before ready the partition table and the groups may be half built. */
    bool ready = atomic_load(src->ready);
    metrics_process(&prom, src, ready);
    if (ready) {
        metrics_requests(&prom, src->node);
        metrics_errors(&prom, src->node);
        metrics_fsync(&prom, src->node);
        metrics_fetch_sessions(&prom, src->node);
        metrics_replication_gauges(&prom, src->node);
        metrics_replication_counters(&prom, src->node);
        metrics_replica_lag(&prom, src->node);
        metrics_throttles(&prom, src->node);
        metrics_partitions(&prom, src->node);
        metrics_storage(&prom, src->node);
        metrics_cleaner(&prom, src->node);
        metrics_balancer(&prom, src->node);
        metrics_lag(&prom, src->node);
    }
    return rn_prom_take(&prom, len);
}
