/*
 * cli_bench_consume.c: the consumer side of `runnel bench consume` (read
 * the topic from its beginning as fast as possible) and `runnel bench e2e`
 * (producer threads send records stamped with their send time; this
 * consumer, assigned at the end offsets taken before the first send, takes
 * the difference on arrival).
 *
 * Owns one librdkafka consumer that never joins a group or commits. Every
 * wait is bounded: no record for --timeout-ms while some are due ends the
 * run with an error.
 */
#include "cli/cli_bench.h"

#include <string.h>
#include <unistd.h>

typedef struct bench_consumer {
    rn_cli_client_t cl;
    const rn_cli_bench_args_t *a;
    rn_cli_bench_stats_t stats;
    int64_t available; /* records between the watermarks at assignment */
} bench_consumer_t;

static int consumer_open(bench_consumer_t *bc, const rn_cli_common_t *common, const char *prog) {
    rd_kafka_conf_t *conf = NULL;
    int rc = rn_cli_conf_new(&bc->cl, common, prog, &conf);
    if (rc != RN_CLI_EXIT_OK) return rc;
    char group[64];
    snprintf(group, sizeof group, "runnel-bench-%ld", (long)getpid());
    rn_cli_conf_set(conf, "group.id", group); /* librdkafka needs one even to assign */
    rn_cli_conf_set(conf, "enable.auto.commit", "false");
    rn_cli_conf_set(conf, "enable.auto.offset.store", "false");
    rn_cli_conf_set(conf, "enable.partition.eof", "true");
    rc = rn_cli_client_start(&bc->cl, RD_KAFKA_CONSUMER, conf);
    if (rc == RN_CLI_EXIT_OK) rd_kafka_poll_set_consumer(bc->cl.rk);
    return rc;
}

/* e2e: wait (bounded) until every partition reported its end once, so the
   fetchers run before the first record is sent and its latency does not
   include the consumer's start-up. */
static int consumer_warm_up(bench_consumer_t *bc, int partitions) {
    int eofs = 0;
    uint64_t deadline = rn_cli_bench_now_us() + (uint64_t)bc->cl.common->timeout_ms * 1000u;
    while (eofs < partitions && rn_cli_bench_now_us() < deadline && !rn_cli_bench_interrupted()) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(bc->cl.rk, 50);
        if (msg && msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) eofs++;
        if (msg) rd_kafka_message_destroy(msg);
    }
    if (eofs < partitions)
        return rn_cli_fail(bc->cl.prog, "the consumer did not reach the end of '%s' within %lld ms",
                           bc->a->topic, (long long)bc->cl.common->timeout_ms);
    return RN_CLI_EXIT_OK;
}

/* Assigns every partition at its low (consume) or high (e2e) watermark. */
static int consumer_assign(bench_consumer_t *bc) {
    const rd_kafka_metadata_t *md = NULL;
    int rc = rn_cli_metadata(&bc->cl, &md);
    if (rc != RN_CLI_EXIT_OK) return rc;
    const rd_kafka_metadata_topic_t *mt = rn_cli_md_topic(md, bc->a->topic);
    rd_kafka_topic_partition_list_t *parts =
        rd_kafka_topic_partition_list_new(mt ? mt->partition_cnt : 0);
    if (mt == NULL) rc = rn_cli_fail(bc->cl.prog, "unknown topic '%s'", bc->a->topic);
    for (int p = 0; mt && p < mt->partition_cnt && rc == RN_CLI_EXIT_OK; p++) {
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t err =
            rn_cli_watermarks(&bc->cl, bc->a->topic, mt->partitions[p].id, &low, &high);
        if (err) {
            rc = rn_cli_fail_err(&bc->cl, "watermarks", err, NULL);
            break;
        }
        bc->available += high - low;
        rd_kafka_topic_partition_list_add(parts, bc->a->topic, mt->partitions[p].id)->offset =
            bc->a->mode == RN_CLI_BENCH_E2E ? high : low;
    }
    if (rc == RN_CLI_EXIT_OK) {
        rd_kafka_resp_err_t err = rd_kafka_assign(bc->cl.rk, parts);
        if (err) rc = rn_cli_fail_err(&bc->cl, "assign", err, NULL);
    }
    if (rc == RN_CLI_EXIT_OK && bc->a->mode == RN_CLI_BENCH_E2E)
        rc = consumer_warm_up(bc, parts->cnt);
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_metadata_destroy(md);
    return rc;
}

static void take(bench_consumer_t *bc, const rd_kafka_message_t *msg) {
    uint64_t latency = 0;
    if (bc->a->mode == RN_CLI_BENCH_E2E && msg->len >= sizeof(uint64_t)) {
        uint64_t sent_us;
        memcpy(&sent_us, msg->payload, sizeof sent_us);
        uint64_t now = rn_cli_bench_now_us();
        latency = now > sent_us ? now - sent_us : 0;
    }
    rn_cli_bench_record(&bc->stats, (int64_t)msg->len, latency);
}

/* True when the run is over; *rc says how it ended. */
static bool consume_over(bench_consumer_t *bc, rn_cli_bench_run_t *run, uint64_t start,
                         uint64_t last_msg, int *rc) {
    const rn_cli_bench_args_t *a = bc->a;
    int64_t got = atomic_load(&bc->stats.records);
    uint64_t now = rn_cli_bench_now_us();
    bool producing = run && rn_cli_bench_producers_running(run);
    if (rn_cli_bench_interrupted()) return true;
    if (a->mode == RN_CLI_BENCH_CONSUME) {
        int64_t target = a->count > 0 ? a->count : bc->available;
        if (a->duration_s > 0 && now - start >= (uint64_t)a->duration_s * 1000000u) return true;
        if (target > 0 && got >= target) return true;
        if (target == 0 && a->duration_s == 0) {
            *rc = rn_cli_fail(bc->cl.prog, "topic '%s' is empty; nothing to read", a->topic);
            return true;
        }
    } else if (!producing && got >= rn_cli_bench_producers_sent(run)) {
        return true;
    }
    if (!producing && now - last_msg > (uint64_t)bc->cl.common->timeout_ms * 1000u) {
        *rc = rn_cli_fail(bc->cl.prog, "no record for %lld ms after %lld records; stopping",
                          (long long)bc->cl.common->timeout_ms, (long long)got);
        return true;
    }
    return false;
}

static int consume_loop(bench_consumer_t *bc, rn_cli_bench_run_t *run, uint64_t start) {
    uint64_t last = start, last_msg = start;
    int64_t records_before = 0, bytes_before = 0;
    int rc = RN_CLI_EXIT_OK;
    bool e2e = bc->a->mode == RN_CLI_BENCH_E2E;
    while (!consume_over(bc, run, start, last_msg, &rc)) {
        if (run && rn_cli_bench_interrupted()) rn_cli_bench_producers_stop(run);
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(bc->cl.rk, 50);
        if (msg && msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            take(bc, msg);
            last_msg = rn_cli_bench_now_us();
        } else if (msg && msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && bc->cl.common->verbose) {
            rn_cli_warn(bc->cl.prog, "%s", rd_kafka_message_errstr(msg));
        }
        if (msg) rd_kafka_message_destroy(msg);
        uint64_t now = rn_cli_bench_now_us();
        if (now - last >= 1000000u) {
            rn_cli_bench_progress(&bc->stats, bc->cl.prog, records_before, bytes_before,
                                  (double)(now - last) / 1e6, e2e);
            records_before = atomic_load(&bc->stats.records);
            bytes_before = atomic_load(&bc->stats.bytes);
            last = now;
        }
    }
    double seconds = (double)(rn_cli_bench_now_us() - start) / 1e6;
    if (rc == RN_CLI_EXIT_OK) rn_cli_bench_summary(&bc->stats, bc->cl.common, bc->a, seconds, e2e);
    return rc;
}

int rn_cli_bench_consume_run(const rn_cli_common_t *common, const rn_cli_bench_args_t *a,
                             const char *prog) {
    RN_ASSERT(a->mode == RN_CLI_BENCH_CONSUME || a->mode == RN_CLI_BENCH_E2E);
    bench_consumer_t bc = {.a = a};
    rn_cli_bench_stats_init(&bc.stats);
    rn_cli_bench_stats_t produced;
    rn_cli_bench_stats_init(&produced);
    rn_cli_bench_run_t *run = NULL;
    int rc = consumer_open(&bc, common, prog);
    if (rc == RN_CLI_EXIT_OK) rc = consumer_assign(&bc);
    uint64_t start = rn_cli_bench_now_us();
    if (rc == RN_CLI_EXIT_OK && a->mode == RN_CLI_BENCH_E2E)
        rc = rn_cli_bench_producers_start(&run, common, a, &produced, prog);
    if (rc == RN_CLI_EXIT_OK) rc = consume_loop(&bc, run, start);
    if (run) {
        rn_cli_bench_producers_stop(run);
        int join_rc = rn_cli_bench_producers_join(run);
        if (rc == RN_CLI_EXIT_OK) rc = join_rc;
    }
    if (bc.cl.rk) rd_kafka_consumer_close(bc.cl.rk);
    rn_cli_client_close(&bc.cl);
    rn_cli_bench_stats_free(&produced);
    rn_cli_bench_stats_free(&bc.stats);
    return rc;
}
