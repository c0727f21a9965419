/*
 * rdk_roundtrip: move N records through one topic with librdkafka and check
 * that every record comes back byte for byte.
 *
 * Produce: idempotent producer, acks=all, the given compression codec; record i
 * goes to partition i % P with a key, a value of the given size, three headers
 * (one with a null value) and CreateTime base_ms + i, all derived from the seed
 * and i. Every delivery report must succeed at offset i / P.
 *
 * Consume: a consumer with an unused group id, assign() of every partition from offset
 * 0, until each partition has returned its count. Record at (p, o) must be
 * record o * P + p: key, value, headers and timestamp compared exactly.
 *
 *   rdk_roundtrip -b HOST:PORT -t TOPIC [-p PARTS] [-n RECORDS] [-s VALUE_BYTES]
 *                 [-c none|gzip|snappy|lz4|zstd] [-S SEED] [-T TIMEOUT_S]
 *
 * Prints one summary line; exits 0 only if every record came back exactly.
 * Built by tests/interop/test_librdkafka.py: cc -O2 rdk_roundtrip.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY_BYTES_MAX 64
#define VALUE_BYTES_MAX (1 << 20)
#define PARTS_MAX 1024
#define ERRORS_SHOWN_MAX 10

typedef struct {
    const char *bootstrap;
    const char *topic;
    const char *codec;
    int parts;
    int64_t records;
    size_t value_bytes;
    uint64_t seed;
    int timeout_s;
    int64_t base_ms;
} opts_t;

typedef struct {
    int64_t delivered;
    int64_t failed;
    int64_t wrong_offset;
} dr_state_t;

static dr_state_t dr; /* delivery reports, filled by on_delivery */
static int errors_shown;
static int64_t mismatches;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    mismatches++;
    if (errors_shown >= ERRORS_SHOWN_MAX) return;
    errors_shown++;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: the deterministic content generator. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static size_t make_key(const opts_t *o, int64_t i, char *key) {
    uint64_t h = mix(o->seed ^ (uint64_t)i);
    return (size_t)snprintf(key, KEY_BYTES_MAX, "k%" PRId64 "-%016" PRIx64, i, h);
}

/* The value: 16 pseudo-random bytes then a repeating pattern, so codecs have
 * something to compress and every byte still depends on seed and i. */
static void make_value(const opts_t *o, int64_t i, unsigned char *val) {
    uint64_t h = mix(o->seed * 31 + (uint64_t)i);
    for (size_t j = 0; j < o->value_bytes; j++) {
        if (j % 8 == 0 && j < 16) h = mix(h);
        val[j] = j < 16 ? (unsigned char)(h >> ((j % 8) * 8))
                        : (unsigned char)('a' + (j + (size_t)i) % 26);
    }
}

static void make_hdr(int64_t i, unsigned char out[8]) {
    for (int j = 0; j < 8; j++) out[j] = (unsigned char)((uint64_t)i >> (56 - 8 * j));
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    const opts_t *o = opaque;
    int64_t i = (int64_t)(intptr_t)msg->_private;
    if (msg->err) {
        dr.failed++;
        fail("delivery of record %" PRId64 " failed: %s", i, rd_kafka_err2str(msg->err));
        return;
    }
    dr.delivered++;
    if (msg->offset != i / o->parts) {
        dr.wrong_offset++;
        fail("record %" PRId64 " acknowledged at offset %" PRId64 ", expected %" PRId64, i,
             msg->offset, i / o->parts);
    }
}

static rd_kafka_conf_t *base_conf(const opts_t *o) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
        fprintf(stderr, "conf: %s\n", err);
        exit(2);
    }
    return conf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "conf %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

static int produce_all(opts_t *o) {
    memset(&dr, 0, sizeof dr);
    rd_kafka_conf_t *conf = base_conf(o);
    conf_set(conf, "enable.idempotence", "true");
    conf_set(conf, "acks", "all");
    conf_set(conf, "compression.codec", o->codec);
    conf_set(conf, "linger.ms", "20");
    conf_set(conf, "batch.num.messages", "10000");
    conf_set(conf, "queue.buffering.max.messages", "500000");
    conf_set(conf, "message.timeout.ms", "120000");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, o);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", err);
        return -1;
    }
    static unsigned char val[VALUE_BYTES_MAX];
    char key[KEY_BYTES_MAX];
    unsigned char idx[8];
    for (int64_t i = 0; i < o->records; i++) {
        size_t key_len = make_key(o, i, key);
        make_value(o, i, val);
        make_hdr(i, idx);
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION((int32_t)(i % o->parts)),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                RD_KAFKA_V_VALUE(val, o->value_bytes), RD_KAFKA_V_TIMESTAMP(o->base_ms + i),
                RD_KAFKA_V_HEADER("idx", idx, 8), RD_KAFKA_V_HEADER("codec", o->codec, -1),
                RD_KAFKA_V_HEADER("null", NULL, 0), RD_KAFKA_V_OPAQUE((void *)(intptr_t)i),
                RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "producev %" PRId64 ": %s\n", i, rd_kafka_err2str(e));
                rd_kafka_destroy(rk);
                return -1;
            }
            rd_kafka_poll(rk, 10);
        }
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t fe = rd_kafka_flush(rk, o->timeout_s * 1000);
    if (fe)
        fprintf(stderr, "flush: %s (%d still queued)\n", rd_kafka_err2str(fe),
                rd_kafka_outq_len(rk));
    rd_kafka_destroy(rk);
    printf("produced: %" PRId64 " delivered, %" PRId64 " failed, %" PRId64 " at a wrong offset\n",
           dr.delivered, dr.failed, dr.wrong_offset);
    return (fe || dr.failed || dr.wrong_offset || dr.delivered != o->records) ? -1 : 0;
}

static int header_is(rd_kafka_headers_t *hdrs, const char *name, const void *want, size_t len) {
    const void *v = NULL;
    size_t vlen = 0;
    if (rd_kafka_header_get_last(hdrs, name, &v, &vlen) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
    if (want == NULL) return v == NULL;
    return v != NULL && vlen == len && memcmp(v, want, len) == 0;
}

static void check_record(const opts_t *o, const rd_kafka_message_t *m, unsigned char *val) {
    int64_t i = m->offset * o->parts + m->partition;
    char key[KEY_BYTES_MAX];
    size_t key_len = make_key(o, i, key);
    if (m->key_len != key_len || memcmp(m->key, key, key_len) != 0)
        fail("p%d o%" PRId64 ": key differs", (int)m->partition, m->offset);
    make_value(o, i, val);
    if (m->len != o->value_bytes || memcmp(m->payload, val, o->value_bytes) != 0)
        fail("p%d o%" PRId64 ": value differs (len %zu)", (int)m->partition, m->offset, m->len);
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    if (tstype != RD_KAFKA_TIMESTAMP_CREATE_TIME || ts != o->base_ms + i)
        fail("p%d o%" PRId64 ": timestamp %" PRId64 " type %d, expected %" PRId64 " CreateTime",
             (int)m->partition, m->offset, ts, (int)tstype, o->base_ms + i);
    rd_kafka_headers_t *hdrs = NULL;
    unsigned char idx[8];
    make_hdr(i, idx);
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_cnt(hdrs) != 3 || !header_is(hdrs, "idx", idx, 8) ||
        !header_is(hdrs, "codec", o->codec, strlen(o->codec)) || !header_is(hdrs, "null", NULL, 0))
        fail("p%d o%" PRId64 ": headers differ", (int)m->partition, m->offset);
}

static int consume_all(opts_t *o) {
    rd_kafka_conf_t *conf = base_conf(o);
    /* librdkafka's assign() needs a group.id; nothing is committed to it. */
    char group[256];
    snprintf(group, sizeof group, "rdk-roundtrip-%s", o->topic);
    conf_set(conf, "group.id", group);
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.auto.offset.store", "false");
    conf_set(conf, "check.crcs", "true");
    conf_set(conf, "fetch.max.bytes", "52428800");
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        return -1;
    }
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(o->parts);
    for (int p = 0; p < o->parts; p++)
        rd_kafka_topic_partition_list_add(parts, o->topic, p)->offset = 0;
    rd_kafka_resp_err_t ae = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (ae) {
        fprintf(stderr, "assign: %s\n", rd_kafka_err2str(ae));
        rd_kafka_destroy(rk);
        return -1;
    }
    static int64_t next[PARTS_MAX];
    static unsigned char val[VALUE_BYTES_MAX];
    int64_t got = 0;
    double deadline = mono_s() + o->timeout_s;
    while (got < o->records && mono_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fail("consume error: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        int p = (int)m->partition;
        if (p < 0 || p >= o->parts || m->offset != next[p]) {
            fail("p%d: offset %" PRId64 ", expected %" PRId64, p, m->offset,
                 p >= 0 && p < o->parts ? next[p] : -1);
        } else {
            next[p]++;
            got++;
            check_record(o, m, val);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("consumed: %" PRId64 " of %" PRId64 " records\n", got, o->records);
    return got == o->records ? 0 : -1;
}

int main(int argc, char **argv) {
    opts_t o = {.bootstrap = "127.0.0.1:9092",
                .topic = "rdk-roundtrip",
                .codec = "none",
                .parts = 8,
                .records = 1000000,
                .value_bytes = 100,
                .seed = 1,
                .timeout_s = 300};
    int c;
    while ((c = getopt(argc, argv, "b:t:p:n:s:c:S:T:")) != -1) {
        switch (c) {
        case 'b':
            o.bootstrap = optarg;
            break;
        case 't':
            o.topic = optarg;
            break;
        case 'p':
            o.parts = atoi(optarg);
            break;
        case 'n':
            o.records = strtoll(optarg, NULL, 10);
            break;
        case 's':
            o.value_bytes = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'c':
            o.codec = optarg;
            break;
        case 'S':
            o.seed = strtoull(optarg, NULL, 10);
            break;
        case 'T':
            o.timeout_s = atoi(optarg);
            break;
        default:
            fprintf(stderr,
                    "usage: %s -b HOST:PORT -t TOPIC [-p PARTS] [-n RECORDS] "
                    "[-s VALUE_BYTES] [-c CODEC] [-S SEED] [-T TIMEOUT_S]\n",
                    argv[0]);
            return 2;
        }
    }
    if (o.parts < 1 || o.parts > PARTS_MAX || o.records < 0 || o.value_bytes > VALUE_BYTES_MAX) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    o.base_ms = now_ms() - o.records; /* every timestamp at or before now */
    double t0 = mono_s();
    int prc = produce_all(&o);
    double t1 = mono_s();
    int crc = prc == 0 ? consume_all(&o) : -1;
    double t2 = mono_s();
    printf("codec %s: %" PRId64 " records x %zu B, %d partitions: produce %.1fs, consume %.1fs, "
           "%" PRId64 " mismatches: %s\n",
           o.codec, o.records, o.value_bytes, o.parts, t1 - t0, t2 - t1, mismatches,
           prc == 0 && crc == 0 && mismatches == 0 ? "OK" : "FAILED");
    return prc == 0 && crc == 0 && mismatches == 0 ? 0 : 1;
}
