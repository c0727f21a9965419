/*
 * cli_bench_cmd.c: the `runnel bench` command: its verbs and arguments,
 * creating the topic when missing, and the produce run (start the producer
 * threads, print progress every second, then the summary).
 *
 * Owns the signal flag that ends a run early (SIGINT/SIGTERM), still with a
 * summary of what was measured.
 */
#include "cli/cli_bench.h"

#include <signal.h>
#include <string.h>
#include <time.h>

/* Set by SIGINT/SIGTERM; the only process-wide mutable state of bench. */
static volatile sig_atomic_t bench_interrupted;

static void bench_on_signal(int sig) {
    (void)sig;
    bench_interrupted = 1;
}

void rn_cli_bench_catch_signals(void) {
    signal(SIGINT, bench_on_signal);
    signal(SIGTERM, bench_on_signal);
}

bool rn_cli_bench_interrupted(void) { return bench_interrupted != 0; }

static int create_topic(rn_cli_client_t *cl, const rn_cli_bench_args_t *a) {
    char errstr[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(a->topic, (int)a->partitions, -1, errstr, sizeof errstr);
    RN_ASSERT(nt != NULL);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_CREATETOPICS, &call);
    rd_kafka_CreateTopics(cl->rk, &nt, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "create topic");
    int rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rd_kafka_resp_err_t err =
            n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = RN_CLI_EXIT_OK;
        else
            rn_cli_fail_err(cl, "create topic", err,
                            n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

int rn_cli_bench_ensure_topic(rn_cli_client_t *cl, const rn_cli_bench_args_t *a) {
    const rd_kafka_metadata_t *md = NULL;
    int rc = rn_cli_metadata(cl, &md);
    if (rc != RN_CLI_EXIT_OK) return rc;
    const rd_kafka_metadata_topic_t *mt = rn_cli_md_topic(md, a->topic);
    if (mt && a->partitions > 0 && mt->partition_cnt != a->partitions)
        rn_cli_warn(cl->prog, "topic '%s' exists with %d partitions; --partitions ignored",
                    a->topic, mt->partition_cnt);
    bool missing = mt == NULL;
    rd_kafka_metadata_destroy(md);
    if (!missing) return RN_CLI_EXIT_OK;
    if (a->mode == RN_CLI_BENCH_CONSUME)
        return rn_cli_fail(cl->prog, "unknown topic '%s'", a->topic);
    rc = create_topic(cl, a);
    /* Wait (bounded) until the new topic shows in metadata with its leaders. */
    for (int64_t waited = 0; rc == RN_CLI_EXIT_OK && waited < cl->common->timeout_ms;
         waited += 100) {
        if (rn_cli_metadata(cl, &md) != RN_CLI_EXIT_OK) return RN_CLI_EXIT_FAIL;
        mt = rn_cli_md_topic(md, a->topic);
        bool ready = mt && mt->partition_cnt > 0;
        for (int p = 0; ready && p < mt->partition_cnt; p++) ready = mt->partitions[p].leader >= 0;
        rd_kafka_metadata_destroy(md);
        if (ready) return RN_CLI_EXIT_OK;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return rc == RN_CLI_EXIT_OK ? rn_cli_fail(cl->prog, "topic '%s' has no leaders yet", a->topic)
                                : rc;
}

static int bench_produce_run(const rn_cli_common_t *common, const rn_cli_bench_args_t *a,
                             const char *prog) {
    rn_cli_bench_stats_t stats;
    rn_cli_bench_stats_init(&stats);
    rn_cli_bench_run_t *run = NULL;
    uint64_t start = rn_cli_bench_now_us(), last = start;
    int64_t records_before = 0, bytes_before = 0;
    int rc = rn_cli_bench_producers_start(&run, common, a, &stats, prog);
    while (rc == RN_CLI_EXIT_OK && rn_cli_bench_producers_running(run)) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        if (rn_cli_bench_interrupted()) rn_cli_bench_producers_stop(run);
        uint64_t now = rn_cli_bench_now_us();
        if (now - last >= 1000000u) {
            rn_cli_bench_progress(&stats, prog, records_before, bytes_before,
                                  (double)(now - last) / 1e6, true);
            records_before = atomic_load(&stats.records);
            bytes_before = atomic_load(&stats.bytes);
            last = now;
        }
    }
    double seconds = (double)(rn_cli_bench_now_us() - start) / 1e6;
    int join_rc = rn_cli_bench_producers_join(run);
    if (rc == RN_CLI_EXIT_OK) {
        rn_cli_bench_summary(&stats, common, a, seconds, true);
        rc = join_rc;
    }
    rn_cli_bench_stats_free(&stats);
    return rc;
}

static int bench_validate(const rn_cli_cmd_t *cmd, rn_cli_bench_args_t *a) {
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    bool codec_ok = false;
    for (int i = 0; i < 5; i++) codec_ok |= !strcmp(a->compression, codecs[i]);
    int64_t size_min = a->mode == RN_CLI_BENCH_E2E ? RN_CLI_BENCH_E2E_BYTES_MIN : 0;
    if (a->size < size_min || a->size > RN_CLI_BENCH_RECORD_BYTES_MAX)
        return rn_cli_usage_error(cmd, "--size must be between %lld and %d", (long long)size_min,
                                  RN_CLI_BENCH_RECORD_BYTES_MAX);
    if (a->count < 0 || a->duration_s < 0 || a->duration_s > RN_CLI_BENCH_DURATION_S_MAX)
        return rn_cli_usage_error(cmd, "--count must be 0 or more and --duration 0..%d",
                                  RN_CLI_BENCH_DURATION_S_MAX);
    if (a->rate < 0) return rn_cli_usage_error(cmd, "--rate must be 0 (unlimited) or more");
    if (a->producers < 1 || a->producers > RN_CLI_BENCH_PRODUCERS_MAX)
        return rn_cli_usage_error(cmd, "--producers must be between 1 and %d",
                                  RN_CLI_BENCH_PRODUCERS_MAX);
    if (a->partitions == 0 || a->partitions < -1 || a->partitions > RN_CLI_PARTITIONS_MAX)
        return rn_cli_usage_error(cmd, "--partitions must be between 1 and %d",
                                  RN_CLI_PARTITIONS_MAX);
    if (strcmp(a->keys, "none") && strcmp(a->keys, "random") && strcmp(a->keys, "seq"))
        return rn_cli_usage_error(cmd, "--keys must be none, random or seq");
    if (!codec_ok)
        return rn_cli_usage_error(cmd, "--compression must be none, gzip, snappy, lz4 or zstd");
    if (strcmp(a->acks, "all") && strcmp(a->acks, "-1") && strcmp(a->acks, "0") &&
        strcmp(a->acks, "1"))
        return rn_cli_usage_error(cmd, "--acks must be all, -1, 0 or 1");
    if (a->count == 0 && a->duration_s == 0 && a->mode != RN_CLI_BENCH_CONSUME)
        a->count = RN_CLI_BENCH_COUNT_DEFAULT;
    return RN_CLI_CONTINUE;
}

static int bench_main(rn_cli_bench_mode_t mode, const char *prog, int argc, char **argv) {
    rn_cli_bench_args_t a = {.mode = mode,
                             .topic = "runnel-bench",
                             .acks = "all",
                             .compression = "none",
                             .keys = "none",
                             .size = 100,
                             .partitions = -1,
                             .producers = 1};
    const rn_cli_opt_t opts[] = {
        {"topic", 't', RN_CLI_OPT_STR, &a.topic, "TOPIC", "the topic (default runnel-bench)"},
        {"count", 'n', RN_CLI_OPT_INT, &a.count, "N",
         mode == RN_CLI_BENCH_CONSUME ? "records to read (default: all there are)"
                                      : "records to send (default 1000000 unless --duration)"},
        {"duration", 'd', RN_CLI_OPT_INT, &a.duration_s, "SECONDS", "run this long instead"},
        {"size", 's', RN_CLI_OPT_INT, &a.size, "BYTES", "record value size (default 100)"},
        {"rate", 'r', RN_CLI_OPT_INT, &a.rate, "N",
         "target records/s over all producers (default: unlimited)"},
        {"acks", 'a', RN_CLI_OPT_STR, &a.acks, "all|0|1", "acknowledgements (default all)"},
        {"compression", 'z', RN_CLI_OPT_STR, &a.compression, "CODEC",
         "none, gzip, snappy, lz4 or zstd"},
        {"partitions", 'p', RN_CLI_OPT_INT, &a.partitions, "N",
         "partitions when the topic is created (default: the broker's)"},
        {"keys", 0, RN_CLI_OPT_STR, &a.keys, "none|random|seq", "record keys (default none)"},
        {"producers", 'P', RN_CLI_OPT_INT, &a.producers, "N",
         "producer threads, each its own client"},
    };
    static const char *const summaries[] = {
        "Measure produce throughput and latency (produce() to delivery report).",
        "Measure consume throughput, reading the topic from its beginning.",
        "Measure end-to-end latency: produce time to consume time, in one process."};
    const rn_cli_cmd_t cmd = {
        prog,
        "",
        summaries[mode],
        "Prints a progress line every second on stderr and a summary with\n"
        "records/s, MB/s (MiB) and latency p50, p99, p99.9 and max on stdout.\n",
        opts,
        mode == RN_CLI_BENCH_CONSUME ? 3 : 10,
        0,
        0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc == RN_CLI_CONTINUE) rc = bench_validate(&cmd, &a);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    rc = rn_cli_client_open(&cl, &common, prog);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_bench_ensure_topic(&cl, &a);
    rn_cli_client_close(&cl);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rn_cli_bench_catch_signals();
    if (mode == RN_CLI_BENCH_PRODUCE) return bench_produce_run(&common, &a, prog);
    return rn_cli_bench_consume_run(&common, &a, prog);
}

static int bench_produce(int argc, char **argv) {
    return bench_main(RN_CLI_BENCH_PRODUCE, "runnel bench produce", argc, argv);
}

static int bench_consume(int argc, char **argv) {
    return bench_main(RN_CLI_BENCH_CONSUME, "runnel bench consume", argc, argv);
}

static int bench_e2e(int argc, char **argv) {
    return bench_main(RN_CLI_BENCH_E2E, "runnel bench e2e", argc, argv);
}

int rn_cli_bench(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"produce", "producer throughput and latency", bench_produce},
        {"consume", "consumer throughput", bench_consume},
        {"e2e", "end-to-end latency, producing and consuming", bench_e2e},
    };
    return rn_cli_dispatch("bench", verbs, 3, argc, argv);
}
