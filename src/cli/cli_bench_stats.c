/*
 * cli_bench_stats.c: the measurements of `runnel bench`: an HDR-style
 * histogram (log buckets with 64 linear sub-buckets per power of two, so a
 * few kilobytes cover microseconds to hours at ~1.6% resolution), counters
 * shared between threads, the once-a-second progress line and the summary.
 *
 * Owns the histograms inside rn_cli_bench_stats_t; the lock guards them, the
 * counters are atomics. Never times anything as pass or fail.
 */
#include "cli/cli_bench.h"

#include <string.h>
#include <time.h>

#define SUB_COUNT (1u << RN_CLI_HIST_SUB_BITS)
#define VALUE_MAX ((1ull << RN_CLI_HIST_MAX_BITS) - 1)
#define MIB (1024.0 * 1024.0)

static int bucket_of(uint64_t v) {
    if (v < SUB_COUNT) return (int)v;
    int top = 63 - __builtin_clzll(v); /* >= SUB_BITS */
    int shift = top - RN_CLI_HIST_SUB_BITS;
    return (shift + 1) * (int)SUB_COUNT + (int)((v >> shift) - SUB_COUNT);
}

/* The largest value that falls in bucket idx. */
static uint64_t bucket_top(int idx) {
    if (idx < (int)SUB_COUNT) return (uint64_t)idx;
    int shift = idx / (int)SUB_COUNT - 1;
    uint64_t mantissa = (uint64_t)(idx % (int)SUB_COUNT) + SUB_COUNT;
    return ((mantissa + 1) << shift) - 1;
}

void rn_cli_hist_reset(rn_cli_hist_t *hist) {
    RN_ASSERT(hist != NULL);
    memset(hist, 0, sizeof *hist);
}

void rn_cli_hist_add(rn_cli_hist_t *hist, uint64_t value_us) {
    uint64_t v = value_us > VALUE_MAX ? VALUE_MAX : value_us;
    int idx = bucket_of(v);
    RN_ASSERT(idx >= 0 && idx < RN_CLI_HIST_BUCKETS);
    RN_ASSERT(bucket_top(idx) >= v);
    hist->counts[idx]++;
    hist->total++;
    hist->sum_us += (double)v;
    if (v > hist->max_us) hist->max_us = v;
}

void rn_cli_hist_merge(rn_cli_hist_t *into, const rn_cli_hist_t *from) {
    RN_ASSERT(into != NULL && from != NULL);
    for (int i = 0; i < RN_CLI_HIST_BUCKETS; i++) into->counts[i] += from->counts[i];
    into->total += from->total;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us) into->max_us = from->max_us;
}

uint64_t rn_cli_hist_quantile(const rn_cli_hist_t *hist, double q) {
    RN_ASSERT(q >= 0.0 && q <= 1.0);
    if (hist->total == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)hist->total + 0.5);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < RN_CLI_HIST_BUCKETS; i++) {
        seen += hist->counts[i];
        if (seen >= rank) {
            uint64_t top = bucket_top(i);
            return top < hist->max_us ? top : hist->max_us;
        }
    }
    return hist->max_us;
}

uint64_t rn_cli_bench_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void rn_cli_bench_stats_init(rn_cli_bench_stats_t *stats) {
    memset(stats, 0, sizeof *stats);
    atomic_init(&stats->records, 0);
    atomic_init(&stats->bytes, 0);
    atomic_init(&stats->failed, 0);
    pthread_mutex_init(&stats->lock, NULL);
}

void rn_cli_bench_stats_free(rn_cli_bench_stats_t *stats) { pthread_mutex_destroy(&stats->lock); }

void rn_cli_bench_record(rn_cli_bench_stats_t *stats, int64_t bytes, uint64_t latency_us) {
    RN_ASSERT(bytes >= 0);
    atomic_fetch_add(&stats->records, 1);
    atomic_fetch_add(&stats->bytes, bytes);
    pthread_mutex_lock(&stats->lock);
    rn_cli_hist_add(&stats->interval, latency_us);
    rn_cli_hist_add(&stats->total, latency_us);
    pthread_mutex_unlock(&stats->lock);
}

void rn_cli_bench_progress(rn_cli_bench_stats_t *stats, const char *prog, int64_t records_before,
                           int64_t bytes_before, double interval_s, bool latency) {
    RN_ASSERT(interval_s > 0);
    int64_t records = atomic_load(&stats->records) - records_before;
    int64_t bytes = atomic_load(&stats->bytes) - bytes_before;
    fprintf(stderr, "%s: %10.0f records/s %9.2f MB/s", prog, (double)records / interval_s,
            (double)bytes / MIB / interval_s);
    pthread_mutex_lock(&stats->lock);
    if (latency)
        fprintf(stderr, "  latency ms p50 %.3f p99 %.3f max %.3f",
                (double)rn_cli_hist_quantile(&stats->interval, 0.5) / 1000.0,
                (double)rn_cli_hist_quantile(&stats->interval, 0.99) / 1000.0,
                (double)stats->interval.max_us / 1000.0);
    rn_cli_hist_reset(&stats->interval);
    pthread_mutex_unlock(&stats->lock);
    fputc('\n', stderr);
}

static void summary_json(const rn_cli_hist_t *hist, const rn_cli_bench_args_t *a, int64_t records,
                         int64_t bytes, int64_t failed, double seconds, bool latency) {
    static const char *const modes[] = {"produce", "consume", "e2e"};
    rn_cli_json_t js;
    rn_cli_json_init(&js, stdout);
    rn_cli_json_obj(&js, NULL);
    rn_cli_json_str(&js, "mode", modes[a->mode]);
    rn_cli_json_str(&js, "topic", a->topic);
    rn_cli_json_int(&js, "records", records);
    rn_cli_json_int(&js, "bytes", bytes);
    rn_cli_json_int(&js, "failed", failed);
    rn_cli_json_num(&js, "seconds", seconds);
    rn_cli_json_num(&js, "records_per_sec", seconds > 0 ? (double)records / seconds : 0);
    rn_cli_json_num(&js, "mb_per_sec", seconds > 0 ? (double)bytes / MIB / seconds : 0);
    if (latency) {
        rn_cli_json_obj(&js, "latency_ms");
        rn_cli_json_num(&js, "p50", (double)rn_cli_hist_quantile(hist, 0.5) / 1000.0);
        rn_cli_json_num(&js, "p99", (double)rn_cli_hist_quantile(hist, 0.99) / 1000.0);
        rn_cli_json_num(&js, "p999", (double)rn_cli_hist_quantile(hist, 0.999) / 1000.0);
        rn_cli_json_num(&js, "max", (double)hist->max_us / 1000.0);
        rn_cli_json_num(&js, "mean", hist->total ? hist->sum_us / (double)hist->total / 1000.0 : 0);
        rn_cli_json_end_obj(&js);
    } else {
        rn_cli_json_null(&js, "latency_ms");
    }
    rn_cli_json_end_obj(&js);
    rn_cli_json_done(&js);
}

void rn_cli_bench_summary(rn_cli_bench_stats_t *stats, const rn_cli_common_t *common,
                          const rn_cli_bench_args_t *a, double seconds, bool latency) {
    RN_ASSERT(seconds >= 0);
    int64_t records = atomic_load(&stats->records), bytes = atomic_load(&stats->bytes);
    int64_t failed = atomic_load(&stats->failed);
    pthread_mutex_lock(&stats->lock);
    const rn_cli_hist_t *h = &stats->total;
    if (common->json) {
        summary_json(h, a, records, bytes, failed, seconds, latency);
    } else {
        printf("%lld records (%.2f MB) in %.2f s: %.1f records/s, %.2f MB/s", (long long)records,
               (double)bytes / MIB, seconds, seconds > 0 ? (double)records / seconds : 0,
               seconds > 0 ? (double)bytes / MIB / seconds : 0);
        if (failed) printf(", %lld failed", (long long)failed);
        printf("\n");
        if (latency)
            printf("latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  mean %.3f\n",
                   (double)rn_cli_hist_quantile(h, 0.5) / 1000.0,
                   (double)rn_cli_hist_quantile(h, 0.99) / 1000.0,
                   (double)rn_cli_hist_quantile(h, 0.999) / 1000.0, (double)h->max_us / 1000.0,
                   h->total ? h->sum_us / (double)h->total / 1000.0 : 0);
    }
    pthread_mutex_unlock(&stats->lock);
}
