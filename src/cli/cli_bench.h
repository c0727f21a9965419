/*
 * cli_bench.h: what the parts of `runnel bench` share: the latency histogram
 * and report (cli_bench_stats.c), the producer threads (cli_bench.c) and the
 * consumer side of consume and e2e (cli_bench_consume.c).
 */
#ifndef RN_CLI_CLI_BENCH_H
#define RN_CLI_CLI_BENCH_H

#include "cli/cli_int.h"

#include <stdatomic.h>

/* ---- histogram: HDR-style log buckets of microseconds ---- */

/* 2^6 sub-buckets per power of two: a recorded value is off by at most 1/64
   (about 1.6%) of itself. */
#define RN_CLI_HIST_SUB_BITS 6
/* Values are clamped to 2^36 us (about 19 hours). */
#define RN_CLI_HIST_MAX_BITS 36
#define RN_CLI_HIST_BUCKETS                                                                        \
    ((RN_CLI_HIST_MAX_BITS - RN_CLI_HIST_SUB_BITS + 1) << RN_CLI_HIST_SUB_BITS)

typedef struct rn_cli_hist {
    uint64_t counts[RN_CLI_HIST_BUCKETS];
    uint64_t total;
    uint64_t max_us;
    double sum_us;
} rn_cli_hist_t;

void rn_cli_hist_reset(rn_cli_hist_t *hist);
void rn_cli_hist_add(rn_cli_hist_t *hist, uint64_t value_us);
void rn_cli_hist_merge(rn_cli_hist_t *into, const rn_cli_hist_t *from);
/* The value at quantile q (0..1): the upper edge of its bucket, never above
   the largest value recorded. 0 when empty. */
uint64_t rn_cli_hist_quantile(const rn_cli_hist_t *hist, double q);

/* ---- limits ---- */

/* Producer threads of one run: each has its own librdkafka producer and
   threads; the machine runs out long before. */
#define RN_CLI_BENCH_PRODUCERS_MAX 64
/* Largest record: Kafka's default message.max.bytes is 1 MiB. */
#define RN_CLI_BENCH_RECORD_BYTES_MAX (16 * 1024 * 1024)
/* e2e records carry their send time in their first bytes. */
#define RN_CLI_BENCH_E2E_BYTES_MIN 8
/* Records sent when neither --count nor --duration is given. */
#define RN_CLI_BENCH_COUNT_DEFAULT 1000000
/* Longest --duration: a day. */
#define RN_CLI_BENCH_DURATION_S_MAX (24 * 3600)

/* ---- a run ---- */

typedef enum rn_cli_bench_mode {
    RN_CLI_BENCH_PRODUCE,
    RN_CLI_BENCH_CONSUME,
    RN_CLI_BENCH_E2E
} rn_cli_bench_mode_t;

typedef struct rn_cli_bench_args {
    rn_cli_bench_mode_t mode;
    const char *topic, *acks, *compression, *keys;
    int64_t size, count, duration_s, rate, partitions, producers;
} rn_cli_bench_args_t;

/* Counters and latencies, shared between the worker threads and the
   reporting thread. */
typedef struct rn_cli_bench_stats {
    atomic_llong records, bytes, failed;
    pthread_mutex_t lock; /* guards the two histograms */
    rn_cli_hist_t interval, total;
} rn_cli_bench_stats_t;

void rn_cli_bench_stats_init(rn_cli_bench_stats_t *stats);
void rn_cli_bench_stats_free(rn_cli_bench_stats_t *stats);
void rn_cli_bench_record(rn_cli_bench_stats_t *stats, int64_t bytes, uint64_t latency_us);
/* One progress line on stderr for the last interval; resets the interval. */
void rn_cli_bench_progress(rn_cli_bench_stats_t *stats, const char *prog, int64_t records_before,
                           int64_t bytes_before, double interval_s, bool latency);
/* The final summary, a table line or JSON on stdout. */
void rn_cli_bench_summary(rn_cli_bench_stats_t *stats, const rn_cli_common_t *common,
                          const rn_cli_bench_args_t *a, double seconds, bool latency);
/* Monotonic microseconds. */
uint64_t rn_cli_bench_now_us(void);

/* Producer threads (cli_bench.c). */
typedef struct rn_cli_bench_run rn_cli_bench_run_t;
int rn_cli_bench_producers_start(rn_cli_bench_run_t **run, const rn_cli_common_t *common,
                                 const rn_cli_bench_args_t *a, rn_cli_bench_stats_t *stats,
                                 const char *prog);
bool rn_cli_bench_producers_running(const rn_cli_bench_run_t *run);
int64_t rn_cli_bench_producers_sent(const rn_cli_bench_run_t *run);
/* Asks the producers to stop early (SIGINT). */
void rn_cli_bench_producers_stop(rn_cli_bench_run_t *run);
/* Joins the threads; returns RN_CLI_EXIT_FAIL if any record failed. */
int rn_cli_bench_producers_join(rn_cli_bench_run_t *run);

/* Arguments, topic and the produce driver (cli_bench_cmd.c). */
void rn_cli_bench_catch_signals(void);
bool rn_cli_bench_interrupted(void);
/* Creates the topic with --partitions when it is missing. Returns an exit code. */
int rn_cli_bench_ensure_topic(rn_cli_client_t *cl, const rn_cli_bench_args_t *a);

/* The consumer side (cli_bench_consume.c). */
int rn_cli_bench_consume_run(const rn_cli_common_t *common, const rn_cli_bench_args_t *a,
                             const char *prog);

#endif
