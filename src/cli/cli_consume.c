/*
 * cli_consume.c: `runnel consume`, the console consumer. Without --group it
 * assigns every partition of the topic (or --partition) itself, starting at
 * the end, the beginning, an offset or a timestamp; with --group it joins
 * the group and commits what it printed. Stops after --count records, at the
 * end of every partition (--exit-at-end), or on SIGINT/SIGTERM.
 *
 * Owns one librdkafka consumer and the per-partition end-of-partition flags.
 * Never waits unboundedly for the cluster before the first assignment: no
 * broker, or no group assignment, within --timeout-ms is an error.
 */
#include "cli/cli_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How long one poll waits; bounds the reaction time to a signal. */
#define CONSUME_POLL_MS 100

typedef struct consume_args {
    const char *topic, *group, *format_name, *offset, *key_sep;
    int64_t timestamp, count, partition;
    bool from_beginning, exit_at_end;
    rn_cli_format_t format;
} consume_args_t;

typedef struct consume_state {
    const consume_args_t *a;
    int32_t partition_cnt; /* of the topic when we started */
    bool *eof;             /* [partition_cnt] reached the end since the last record */
    int eof_count;
    int assigned; /* partitions currently assigned */
    int64_t printed;
    bool rebalanced; /* the group assigned partitions (maybe none) at least once */
    int64_t started_ms;
} consume_state_t;

/* Set by SIGINT and SIGTERM; the only process-wide mutable state here. */
static volatile sig_atomic_t consume_stop;

static void consume_on_signal(int sig) {
    (void)sig;
    consume_stop = 1;
}

static void reset_eof(consume_state_t *st, int assigned) {
    memset(st->eof, 0, (size_t)st->partition_cnt * sizeof *st->eof);
    st->eof_count = 0;
    st->assigned = assigned;
}

static void consume_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t *parts, void *opaque) {
    rn_cli_client_t *cl = opaque;
    consume_state_t *st = cl->user;
    bool coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (coop)
            rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
        else
            rd_kafka_assign(rk, parts);
        reset_eof(st, coop ? st->assigned + parts->cnt : parts->cnt);
        st->rebalanced = true;
    } else {
        if (coop)
            rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
        else
            rd_kafka_assign(rk, NULL);
        reset_eof(st, coop ? st->assigned - parts->cnt : 0);
    }
}

/* Start offsets for the partitions of an assignment without a group. */
static int start_offsets(rn_cli_client_t *cl, const consume_args_t *a,
                         rd_kafka_topic_partition_list_t *parts) {
    int64_t start = a->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (a->offset) {
        if (!strcmp(a->offset, "beginning"))
            start = RD_KAFKA_OFFSET_BEGINNING;
        else if (!strcmp(a->offset, "end"))
            start = RD_KAFKA_OFFSET_END;
        else if (!rn_cli_parse_i64(a->offset, &start))
            RN_ASSERT(0 && "validated offset");
        else if (start < 0)
            start = RD_KAFKA_OFFSET_TAIL(-start);
    }
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = a->timestamp >= 0 ? a->timestamp : start;
    if (a->timestamp < 0) return RN_CLI_EXIT_OK;
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(cl->rk, parts, (int)cl->common->timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return rn_cli_fail_err(cl, "offsets for time", err, NULL);
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err)
            return rn_cli_fail_err(cl, "offsets for time", parts->elems[i].err, NULL);
        if (parts->elems[i].offset < 0)
            parts->elems[i].offset = RD_KAFKA_OFFSET_END; /* none later */
    }
    return RN_CLI_EXIT_OK;
}

static int consume_assign(rn_cli_client_t *cl, consume_state_t *st) {
    const consume_args_t *a = st->a;
    if (a->group) {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, a->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(cl->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        return err ? rn_cli_fail_err(cl, "subscribe", err, NULL) : RN_CLI_EXIT_OK;
    }
    int first = a->partition >= 0 ? (int)a->partition : 0;
    int last = a->partition >= 0 ? (int)a->partition : st->partition_cnt - 1;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(last - first + 1);
    for (int p = first; p <= last; p++) rd_kafka_topic_partition_list_add(parts, a->topic, p);
    int rc = start_offsets(cl, a, parts);
    if (rc == RN_CLI_EXIT_OK) {
        rd_kafka_resp_err_t err = rd_kafka_assign(cl->rk, parts);
        if (err)
            rc = rn_cli_fail_err(cl, "assign", err, NULL);
        else
            reset_eof(st, parts->cnt);
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

/* An error event from the consumer: RN_CLI_CONTINUE when it is transient. */
static int consume_error(rn_cli_client_t *cl, consume_state_t *st, const rd_kafka_message_t *msg) {
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (msg->partition >= 0 && msg->partition < st->partition_cnt && !st->eof[msg->partition]) {
            st->eof[msg->partition] = true;
            st->eof_count++;
        }
        return RN_CLI_CONTINUE;
    }
    switch (msg->err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        return rn_cli_fail_err(cl, "consume", msg->err, rd_kafka_message_errstr(msg));
    default:
        if (cl->common->verbose) rn_cli_warn(cl->prog, "consume: %s", rd_kafka_message_errstr(msg));
        return RN_CLI_CONTINUE;
    }
}

static bool consume_done(const rn_cli_client_t *cl, const consume_state_t *st, int *rc) {
    const consume_args_t *a = st->a;
    if (consume_stop) return true;
    if (a->count > 0 && st->printed >= a->count) return true;
    if (a->exit_at_end && st->assigned > 0 && st->eof_count >= st->assigned) return true;
    if (a->group && !st->rebalanced && rn_cli_now_ms() - st->started_ms > cl->common->timeout_ms) {
        *rc = rn_cli_fail(cl->prog,
                          "group '%s' got no assignment within %lld ms (is the group coordinator "
                          "reachable, and does the broker support consumer groups?)",
                          a->group, (long long)cl->common->timeout_ms);
        return true;
    }
    return false;
}

static int consume_loop(rn_cli_client_t *cl, consume_state_t *st) {
    int rc = RN_CLI_EXIT_OK;
    while (!consume_done(cl, st, &rc)) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(cl->rk, CONSUME_POLL_MS);
        if (msg == NULL) {
            fflush(stdout);
            continue;
        }
        if (msg->err) {
            rc = consume_error(cl, st, msg);
            rd_kafka_message_destroy(msg);
            if (rc != RN_CLI_CONTINUE) return rc;
            rc = RN_CLI_EXIT_OK;
            continue;
        }
        if (msg->partition >= 0 && msg->partition < st->partition_cnt && st->eof[msg->partition]) {
            st->eof[msg->partition] = false;
            st->eof_count--;
        }
        rn_cli_print_record(stdout, st->a->format, st->a->key_sep, msg);
        st->printed++;
        rd_kafka_message_destroy(msg);
    }
    fflush(stdout);
    return rc;
}

static int consume_run(rn_cli_client_t *cl, consume_state_t *st) {
    const consume_args_t *a = st->a;
    const rd_kafka_metadata_t *md = NULL;
    int rc = rn_cli_metadata(cl, &md);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_require_topics(cl, md, &a->topic, 1);
    if (rc == RN_CLI_EXIT_OK) {
        st->partition_cnt = rn_cli_md_topic(md, a->topic)->partition_cnt;
        if (a->partition >= st->partition_cnt)
            rc = rn_cli_fail(cl->prog, "topic '%s' has no partition %lld (it has %d)", a->topic,
                             (long long)a->partition, st->partition_cnt);
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (rc != RN_CLI_EXIT_OK) return rc;
    st->eof = calloc((size_t)st->partition_cnt + 1, sizeof *st->eof);
    RN_ASSERT(st->eof != NULL);
    rc = consume_assign(cl, st);
    if (rc == RN_CLI_EXIT_OK) {
        signal(SIGINT, consume_on_signal);
        signal(SIGTERM, consume_on_signal);
        st->started_ms = rn_cli_now_ms();
        rc = consume_loop(cl, st);
    }
    rd_kafka_consumer_close(cl->rk); /* commits what was printed, leaves the group */
    if (rc == RN_CLI_EXIT_OK)
        fprintf(stderr, "%s: %lld records\n", cl->prog, (long long)st->printed);
    free(st->eof);
    return rc;
}

static int consume_start(const rn_cli_common_t *common, const consume_args_t *a, const char *prog) {
    rn_cli_client_t cl;
    consume_state_t st = {.a = a};
    rd_kafka_conf_t *conf = NULL;
    int rc = rn_cli_conf_new(&cl, common, prog, &conf);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rn_cli_conf_set(conf, "enable.partition.eof", "true");
    rn_cli_conf_set(conf, "auto.offset.reset", a->from_beginning ? "earliest" : "latest");
    if (a->group) {
        rn_cli_conf_set(conf, "group.id", a->group);
        rd_kafka_conf_set_rebalance_cb(conf, consume_rebalance);
    } else {
        /* librdkafka wants a group.id even to assign partitions itself; this
           one never joins or commits. */
        char group[64];
        snprintf(group, sizeof group, "runnel-consume-%ld", (long)getpid());
        rn_cli_conf_set(conf, "group.id", group);
        rn_cli_conf_set(conf, "enable.auto.commit", "false");
        rn_cli_conf_set(conf, "enable.auto.offset.store", "false");
    }
    cl.user = &st;
    rc = rn_cli_client_start(&cl, RD_KAFKA_CONSUMER, conf);
    if (rc == RN_CLI_EXIT_OK) {
        rd_kafka_poll_set_consumer(cl.rk);
        rc = consume_run(&cl, &st);
    }
    rn_cli_client_close(&cl);
    return rc;
}

static int consume_validate(const rn_cli_cmd_t *cmd, consume_args_t *a, const rn_cli_list_t *pos,
                            bool json) {
    int64_t n;
    if (pos->count == 1 && a->topic)
        return rn_cli_usage_error(cmd, "give the topic once, as TOPIC or --topic");
    if (pos->count == 1) a->topic = pos->items[0];
    if (a->topic == NULL || a->topic[0] == '\0') return rn_cli_usage_error(cmd, "missing TOPIC");
    if (json && a->format_name == NULL) a->format_name = "json";
    if (a->format_name == NULL) a->format_name = "value";
    if (!rn_cli_format_parse(a->format_name, &a->format))
        return rn_cli_usage_error(cmd, "--format must be value, kv or json");
    if (a->offset && strcmp(a->offset, "beginning") && strcmp(a->offset, "end") &&
        !rn_cli_parse_i64(a->offset, &n))
        return rn_cli_usage_error(cmd, "--offset must be beginning, end, N or -N");
    if ((a->offset != NULL) + (a->timestamp >= 0) + a->from_beginning > 1)
        return rn_cli_usage_error(cmd, "give at most one of --from-beginning, --offset and "
                                       "--timestamp");
    if (a->group && (a->offset || a->timestamp >= 0 || a->partition >= 0))
        return rn_cli_usage_error(cmd, "--offset, --timestamp and --partition need no --group "
                                       "(a group resumes from its committed offsets)");
    if (a->count < 0) return rn_cli_usage_error(cmd, "--count must be 0 or more");
    if (a->partition < -1 || a->partition > INT32_MAX)
        return rn_cli_usage_error(cmd, "--partition must be 0 or more");
    return RN_CLI_CONTINUE;
}

int rn_cli_consume(int argc, char **argv) {
    consume_args_t a = {.timestamp = -1, .partition = -1, .key_sep = "\t"};
    const char *timestamp = NULL;
    const rn_cli_opt_t opts[] = {
        {"topic", 't', RN_CLI_OPT_STR, &a.topic, "TOPIC", "the topic (or give it as TOPIC)"},
        {"group", 'g', RN_CLI_OPT_STR, &a.group, "GROUP",
         "consume as a member of GROUP and commit offsets"},
        {"from-beginning", 'B', RN_CLI_OPT_FLAG, &a.from_beginning, NULL,
         "start at the earliest record (default: only new records)"},
        {"offset", 'o', RN_CLI_OPT_STR, &a.offset, "N|-N|beginning|end",
         "start at offset N, or N records before the end, in every partition"},
        {"timestamp", 'T', RN_CLI_OPT_STR, &timestamp, "MS|ISO8601",
         "start at the first record at or after this time"},
        {"partition", 'p', RN_CLI_OPT_INT, &a.partition, "N", "only partition N"},
        {"count", 'n', RN_CLI_OPT_INT, &a.count, "N", "stop after N records"},
        {"exit-at-end", 'e', RN_CLI_OPT_FLAG, &a.exit_at_end, NULL,
         "stop once every partition is read to its end"},
        {"format", 0, RN_CLI_OPT_STR, &a.format_name, "value|kv|json",
         "output: the value, key<SEP>value, or JSON lines (default value; json with --json)"},
        {"key-separator", 'k', RN_CLI_OPT_STR, &a.key_sep, "SEP",
         "between key and value in kv format (default a tab)"},
    };
    const rn_cli_cmd_t cmd = {
        "runnel consume",
        "[TOPIC]",
        "Print the records of a topic.",
        "JSON lines carry topic, partition, offset, timestamp, timestamp_type, key,\n"
        "headers ([{\"key\":...,\"value\":...}]) and value; a null key or value is null.\n",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        0,
        1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc == RN_CLI_CONTINUE && timestamp && !rn_cli_parse_time_ms(timestamp, &a.timestamp))
        rc = rn_cli_usage_error(&cmd, "--timestamp '%s': expected milliseconds or ISO 8601",
                                timestamp);
    if (rc == RN_CLI_CONTINUE) rc = consume_validate(&cmd, &a, &pos, common.json);
    if (rc != RN_CLI_CONTINUE) return rc;
    return consume_start(&common, &a, cmd.prog);
}
