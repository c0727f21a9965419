/*
 * cli_bench.c: `runnel bench produce|consume|e2e`, Runnel's producer perf
 * test: the arguments, the topic (created when missing), and the producer
 * threads, each with its own librdkafka producer, sending fixed-size records
 * at a target rate (or as fast as they can) for a count or a duration.
 * Produce latency is produce() to delivery report. The consumer side of
 * consume and e2e lives in cli_bench_consume.c.
 *
 * Owns the producer threads and their clients until
 * rn_cli_bench_producers_join. Never judges a figure: it prints them.
 */
#include "cli/cli_bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct bench_producer {
    rn_cli_bench_run_t *run;
    pthread_t thread;
    rn_cli_client_t cl;
    int64_t share; /* records to send; 0 with --duration */
    char *payload;
    uint64_t rng;
} bench_producer_t;

struct rn_cli_bench_run {
    const rn_cli_common_t *common;
    const rn_cli_bench_args_t *a;
    rn_cli_bench_stats_t *stats;
    const char *prog;
    int count;
    bool started; /* the threads run */
    atomic_int running;
    atomic_bool stop;
    atomic_llong sent;
    bench_producer_t producers[RN_CLI_BENCH_PRODUCERS_MAX];
};

static void bench_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    rn_cli_client_t *cl = opaque;
    bench_producer_t *p = cl->user;
    uint64_t sent_us = (uint64_t)(uintptr_t)msg->_private;
    if (msg->err) {
        if (atomic_fetch_add(&p->run->stats->failed, 1) == 0)
            rn_cli_fail(cl->prog, "record not delivered: %s", rd_kafka_err2str(msg->err));
        return;
    }
    rn_cli_bench_record(p->run->stats, (int64_t)msg->len, rn_cli_bench_now_us() - sent_us);
}

static uint64_t next_rand(uint64_t *state) {
    uint64_t x = *state; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* One record; false when the producer refused it for good. */
static bool send_one(bench_producer_t *p, int64_t seq) {
    const rn_cli_bench_args_t *a = p->run->a;
    char key[32];
    size_t key_len = 0;
    if (a->keys[0] == 's')
        key_len = (size_t)snprintf(key, sizeof key, "%012lld", (long long)seq);
    else if (a->keys[0] == 'r')
        key_len = (size_t)snprintf(key, sizeof key, "%012llu",
                                   (unsigned long long)(next_rand(&p->rng) % 1000000000000ull));
    for (;;) {
        uint64_t now = rn_cli_bench_now_us();
        if (a->mode == RN_CLI_BENCH_E2E) memcpy(p->payload, &now, sizeof now);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->cl.rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key_len ? key : NULL, key_len),
            RD_KAFKA_V_VALUE(p->payload, (size_t)a->size),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)now), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rn_cli_fail_err(&p->cl, "produce", err, NULL);
            return false;
        }
        rd_kafka_poll(p->cl.rk, 1);
        if (atomic_load(&p->run->stop)) return false;
    }
}

static void *producer_main(void *arg) {
    bench_producer_t *p = arg;
    rn_cli_bench_run_t *run = p->run;
    const rn_cli_bench_args_t *a = run->a;
    uint64_t start = rn_cli_bench_now_us();
    uint64_t deadline = a->duration_s > 0 ? start + (uint64_t)a->duration_s * 1000000u : 0;
    double gap_us = a->rate > 0 ? 1e6 * run->count / (double)a->rate : 0;
    for (int64_t i = 0; !atomic_load(&run->stop); i++) {
        if (p->share > 0 && i >= p->share) break;
        uint64_t now = rn_cli_bench_now_us();
        if (deadline && now >= deadline) break;
        uint64_t due = start + (uint64_t)(gap_us * (double)i);
        while (gap_us > 0 && now < due && !atomic_load(&run->stop)) {
            rd_kafka_poll(p->cl.rk, 0);
            uint64_t wait = due - now < 1000 ? due - now : 1000;
            struct timespec ts = {0, (long)wait * 1000};
            nanosleep(&ts, NULL);
            now = rn_cli_bench_now_us();
        }
        if ((deadline && now >= deadline) || !send_one(p, i)) break;
        atomic_fetch_add(&run->sent, 1);
        rd_kafka_poll(p->cl.rk, 0);
    }
    while (rd_kafka_outq_len(p->cl.rk) > 0) rd_kafka_flush(p->cl.rk, 100);
    atomic_fetch_sub(&run->running, 1);
    return NULL;
}

static int producer_open(bench_producer_t *p, int index) {
    rn_cli_bench_run_t *run = p->run;
    rd_kafka_conf_t *conf = NULL;
    int rc = rn_cli_conf_new(&p->cl, run->common, run->prog, &conf);
    if (rc != RN_CLI_EXIT_OK) return rc;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%lld",
             (long long)(run->common->timeout_ms > 30000 ? run->common->timeout_ms : 30000));
    rn_cli_conf_set(conf, "acks", run->a->acks);
    rn_cli_conf_set(conf, "compression.codec", run->a->compression);
    rn_cli_conf_set(conf, "message.timeout.ms", timeout);
    rd_kafka_conf_set_dr_msg_cb(conf, bench_dr);
    p->cl.user = p;
    p->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(index + 1);
    p->payload = malloc((size_t)run->a->size + 1);
    RN_ASSERT(p->payload != NULL);
    for (int64_t i = 0; i < run->a->size; i++)
        p->payload[i] = (char)('a' + next_rand(&p->rng) % 26);
    return rn_cli_client_start(&p->cl, RD_KAFKA_PRODUCER, conf);
}

int rn_cli_bench_producers_start(rn_cli_bench_run_t **out, const rn_cli_common_t *common,
                                 const rn_cli_bench_args_t *a, rn_cli_bench_stats_t *stats,
                                 const char *prog) {
    RN_ASSERT(a->producers >= 1 && a->producers <= RN_CLI_BENCH_PRODUCERS_MAX);
    rn_cli_bench_run_t *run = calloc(1, sizeof *run);
    RN_ASSERT(run != NULL);
    *run = (rn_cli_bench_run_t){
        .common = common, .a = a, .stats = stats, .prog = prog, .count = (int)a->producers};
    int rc = RN_CLI_EXIT_OK;
    for (int i = 0; i < run->count && rc == RN_CLI_EXIT_OK; i++) {
        run->producers[i].run = run;
        run->producers[i].share = a->count / run->count + (i < a->count % run->count ? 1 : 0);
        rc = producer_open(&run->producers[i], i);
    }
    atomic_store(&run->running, run->count);
    for (int i = 0; i < run->count && rc == RN_CLI_EXIT_OK; i++) {
        int err =
            pthread_create(&run->producers[i].thread, NULL, producer_main, &run->producers[i]);
        RN_ASSERT(err == 0);
        run->started = true;
    }
    *out = run;
    if (rc != RN_CLI_EXIT_OK) atomic_store(&run->running, 0);
    return rc;
}

bool rn_cli_bench_producers_running(const rn_cli_bench_run_t *run) {
    return atomic_load(&run->running) > 0;
}

int64_t rn_cli_bench_producers_sent(const rn_cli_bench_run_t *run) {
    return atomic_load(&run->sent);
}

void rn_cli_bench_producers_stop(rn_cli_bench_run_t *run) { atomic_store(&run->stop, true); }

int rn_cli_bench_producers_join(rn_cli_bench_run_t *run) {
    for (int i = 0; i < run->count; i++) {
        bench_producer_t *p = &run->producers[i];
        if (run->started) pthread_join(p->thread, NULL);
        if (p->payload) rn_cli_client_close(&p->cl);
        free(p->payload);
    }
    int rc = atomic_load(&run->stats->failed) > 0 ? RN_CLI_EXIT_FAIL : RN_CLI_EXIT_OK;
    free(run);
    return rc;
}
