/*
 * cli_produce.c: `runnel produce`, the console producer: every line of stdin
 * (or --file) becomes one record, optionally split into key and value at the
 * first --key-separator, with the same --header pairs on every record.
 *
 * Owns one librdkafka producer. Delivery is bounded by --timeout-ms per
 * record (message.timeout.ms); a record that fails is reported and makes the
 * exit code 1. Never drops a line silently.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Delivery failures printed one by one before they are only counted. */
#define PRODUCE_ERRORS_SHOWN 5
/* How long a full local queue waits for deliveries before trying again. */
#define PRODUCE_QUEUE_FULL_WAIT_MS 100

typedef struct produce_args {
    const char *topic, *file, *key_sep, *acks, *compression;
    int64_t partition;
    rn_cli_list_t headers;
} produce_args_t;

typedef struct produce_state {
    int64_t sent, delivered, failed;
} produce_state_t;

static void produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque) {
    (void)rk;
    rn_cli_client_t *cl = opaque;
    produce_state_t *st = cl->user;
    RN_ASSERT(st != NULL);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        st->delivered++;
        return;
    }
    if (st->failed++ < PRODUCE_ERRORS_SHOWN)
        rn_cli_fail(cl->prog, "record not delivered: %s", rd_kafka_err2str(msg->err));
}

static int produce_validate(const rn_cli_cmd_t *cmd, produce_args_t *a, const rn_cli_list_t *pos) {
    static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    static const char *const acks[] = {"all", "-1", "0", "1"};
    bool codec_ok = false, acks_ok = false;
    if (pos->count == 1 && a->topic)
        return rn_cli_usage_error(cmd, "give the topic once, as TOPIC or --topic");
    if (pos->count == 1) a->topic = pos->items[0];
    if (a->topic == NULL || a->topic[0] == '\0') return rn_cli_usage_error(cmd, "missing TOPIC");
    for (int i = 0; i < 5; i++) codec_ok |= !strcmp(a->compression, codecs[i]);
    for (int i = 0; i < 4; i++) acks_ok |= !strcmp(a->acks, acks[i]);
    if (!codec_ok)
        return rn_cli_usage_error(cmd, "--compression must be none, gzip, snappy, lz4 or zstd");
    if (!acks_ok) return rn_cli_usage_error(cmd, "--acks must be all, -1, 0 or 1");
    if (a->partition < -1 || a->partition > INT32_MAX)
        return rn_cli_usage_error(cmd, "--partition must be 0 or more");
    if (a->key_sep && a->key_sep[0] == '\0')
        return rn_cli_usage_error(cmd, "--key-separator must not be empty");
    for (int i = 0; i < a->headers.count; i++) {
        char key[256];
        const char *value;
        if (!rn_cli_split_kv(a->headers.items[i], key, sizeof key, &value))
            return rn_cli_usage_error(cmd, "--header '%s': expected KEY=VALUE",
                                      a->headers.items[i]);
    }
    return RN_CLI_CONTINUE;
}

static rd_kafka_headers_t *make_headers(const produce_args_t *a) {
    if (a->headers.count == 0) return NULL;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t)a->headers.count);
    for (int i = 0; i < a->headers.count; i++) {
        char key[256];
        const char *value;
        bool ok = rn_cli_split_kv(a->headers.items[i], key, sizeof key, &value);
        RN_ASSERT(ok);
        rd_kafka_header_add(hdrs, key, -1, value, -1);
    }
    return hdrs;
}

/* Hands one line to the producer, waiting while the local queue is full. */
static rd_kafka_resp_err_t produce_line(rn_cli_client_t *cl, const produce_args_t *a, char *line,
                                        size_t len) {
    char *key = NULL, *value = line;
    size_t key_len = 0, value_len = len;
    char *sep = a->key_sep ? memmem(line, len, a->key_sep, strlen(a->key_sep)) : NULL;
    if (sep) {
        key = line;
        key_len = (size_t)(sep - line);
        value = sep + strlen(a->key_sep);
        value_len = len - key_len - strlen(a->key_sep);
    }
    for (;;) {
        rd_kafka_headers_t *hdrs = make_headers(a);
        rd_kafka_resp_err_t err = rd_kafka_producev(
            cl->rk, RD_KAFKA_V_TOPIC(a->topic), RD_KAFKA_V_PARTITION((int32_t)a->partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
        rd_kafka_poll(cl->rk, PRODUCE_QUEUE_FULL_WAIT_MS);
    }
}

static int produce_stream(rn_cli_client_t *cl, const produce_args_t *a, FILE *in) {
    produce_state_t *st = cl->user;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = RN_CLI_EXIT_OK;
    while ((n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n') len--;
        if (len > RN_CLI_LINE_BYTES_MAX) {
            rc = rn_cli_fail(cl->prog, "line %lld is longer than %d bytes", (long long)st->sent + 1,
                             RN_CLI_LINE_BYTES_MAX);
            break;
        }
        rd_kafka_resp_err_t err = produce_line(cl, a, line, len);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rc = rn_cli_fail_err(cl, "produce", err, NULL);
            break;
        }
        st->sent++;
        rd_kafka_poll(cl->rk, 0);
    }
    if (ferror(in)) rc = rn_cli_fail(cl->prog, "reading input: %s", strerror(errno));
    free(line);
    /* Every record ends delivered or failed within message.timeout.ms. */
    while (rd_kafka_outq_len(cl->rk) > 0) rd_kafka_flush(cl->rk, 1000);
    return st->failed > 0 ? RN_CLI_EXIT_FAIL : rc;
}

static int produce_run(rn_cli_client_t *cl, const produce_args_t *a, FILE *in) {
    const rd_kafka_metadata_t *md = NULL;
    int rc = rn_cli_metadata(cl, &md);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_require_topics(cl, md, &a->topic, 1);
    if (rc == RN_CLI_EXIT_OK && a->partition >= rn_cli_md_topic(md, a->topic)->partition_cnt)
        rc = rn_cli_fail(cl->prog, "topic '%s' has no partition %lld (it has %d)", a->topic,
                         (long long)a->partition, rn_cli_md_topic(md, a->topic)->partition_cnt);
    if (md) rd_kafka_metadata_destroy(md);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rc = produce_stream(cl, a, in);
    produce_state_t *st = cl->user;
    if (cl->common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_str(&js, "topic", a->topic);
        rn_cli_json_int(&js, "records", st->delivered);
        rn_cli_json_int(&js, "failed", st->sent - st->delivered);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    } else {
        fprintf(stderr, "%s: %lld records delivered to '%s', %lld failed\n", cl->prog,
                (long long)st->delivered, a->topic, (long long)(st->sent - st->delivered));
    }
    return rc;
}

static int produce_start(const rn_cli_common_t *common, const produce_args_t *a, FILE *in,
                         const char *prog) {
    rn_cli_client_t cl;
    produce_state_t st = {0};
    rd_kafka_conf_t *conf = NULL;
    int rc = rn_cli_conf_new(&cl, common, prog, &conf);
    if (rc != RN_CLI_EXIT_OK) return rc;
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%lld", (long long)common->timeout_ms);
    rn_cli_conf_set(conf, "acks", a->acks);
    rn_cli_conf_set(conf, "compression.codec", a->compression);
    rn_cli_conf_set(conf, "message.timeout.ms", timeout);
    rd_kafka_conf_set_dr_msg_cb(conf, produce_dr);
    cl.user = &st;
    rc = rn_cli_client_start(&cl, RD_KAFKA_PRODUCER, conf);
    if (rc == RN_CLI_EXIT_OK) rc = produce_run(&cl, a, in);
    rn_cli_client_close(&cl);
    return rc;
}

int rn_cli_produce(int argc, char **argv) {
    produce_args_t a = {.acks = "all", .compression = "none", .partition = -1};
    const rn_cli_opt_t opts[] = {
        {"topic", 't', RN_CLI_OPT_STR, &a.topic, "TOPIC", "the topic (or give it as TOPIC)"},
        {"file", 'f', RN_CLI_OPT_STR, &a.file, "PATH", "read lines from PATH instead of stdin"},
        {"key-separator", 'k', RN_CLI_OPT_STR, &a.key_sep, "SEP",
         "split each line at the first SEP into key and value"},
        {"header", 'H', RN_CLI_OPT_LIST, &a.headers, "KEY=VALUE",
         "a header on every record (repeatable)"},
        {"partition", 'p', RN_CLI_OPT_INT, &a.partition, "N",
         "write to partition N (default: by key hash, or spread without a key)"},
        {"acks", 'a', RN_CLI_OPT_STR, &a.acks, "all|0|1", "acknowledgements (default all)"},
        {"compression", 'z', RN_CLI_OPT_STR, &a.compression, "CODEC",
         "none, gzip, snappy, lz4 or zstd (default none)"},
    };
    const rn_cli_cmd_t cmd = {
        "runnel produce",
        "[TOPIC]",
        "Write each input line as one record.",
        "A line without the key separator becomes a record with no key. Delivery\n"
        "of each record is bounded by --timeout-ms.\n",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        0,
        1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc == RN_CLI_CONTINUE) rc = produce_validate(&cmd, &a, &pos);
    if (rc != RN_CLI_CONTINUE) return rc;
    FILE *in = stdin;
    if (a.file && strcmp(a.file, "-") != 0 && (in = fopen(a.file, "r")) == NULL)
        return rn_cli_fail(cmd.prog, "cannot open '%s': %s", a.file, strerror(errno));
    rc = produce_start(&common, &a, in, cmd.prog);
    if (in != stdin) fclose(in);
    return rc;
}
