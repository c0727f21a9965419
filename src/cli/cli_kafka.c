/*
 * cli_kafka.c: the librdkafka client every runnel tool uses: configuration
 * (bootstrap, -X settings, captured log lines), metadata with a bounded
 * wait, admin request plumbing, watermarks, and the error messages that
 * tell an operator what went wrong (unreachable broker, unknown topic,
 * an operation the broker does not support).
 *
 * Owns the rd_kafka_t handle of a rn_cli_client_t until rn_cli_client_close.
 * Must never wait without a bound: every call here gives up after the
 * command's --timeout-ms.
 */
#include "cli/cli_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    rn_cli_client_t *cl = rd_kafka_opaque(rk);
    if (cl == NULL) return;
    if (cl->common->verbose)
        fprintf(stderr, "%s: librdkafka %d %s: %s\n", cl->prog, level, fac, buf);
    if (level > 4) return; /* keep warnings and errors only */
    /* Drop librdkafka's "[thrd:...]: " prefix: the rest is the useful part. */
    const char *end = buf[0] == '[' ? strstr(buf, "]: ") : NULL;
    if (end) buf = end + 3;
    pthread_mutex_lock(&cl->log_lock);
    snprintf(cl->last_log, sizeof cl->last_log, "%s", buf);
    pthread_mutex_unlock(&cl->log_lock);
}

void rn_cli_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[256];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr);
    if (res != RD_KAFKA_CONF_OK) fprintf(stderr, "runnel: %s=%s: %s\n", name, value, errstr);
    RN_ASSERT(res == RD_KAFKA_CONF_OK);
}

int rn_cli_conf_new(rn_cli_client_t *cl, const rn_cli_common_t *common, const char *prog,
                    rd_kafka_conf_t **conf_out) {
    RN_ASSERT(cl != NULL && common != NULL && prog != NULL);
    RN_ASSERT(common->bootstrap != NULL);
    memset(cl, 0, sizeof *cl);
    cl->common = common;
    cl->prog = prog;
    pthread_mutex_init(&cl->log_lock, NULL);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", common->bootstrap, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "%s: --bootstrap '%s': %s\n", prog, common->bootstrap, errstr);
        return RN_CLI_EXIT_USAGE;
    }
    rn_cli_conf_set(conf, "client.id", "runnel-cli");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, cl);
    for (int i = 0; i < common->props.count; i++) {
        char key[256];
        const char *value;
        if (!rn_cli_split_kv(common->props.items[i], key, sizeof key, &value) ||
            rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "%s: -X %s: %s\n", prog, common->props.items[i],
                    strchr(common->props.items[i], '=') ? errstr : "expected KEY=VALUE");
            rd_kafka_conf_destroy(conf);
            return RN_CLI_EXIT_USAGE;
        }
    }
    *conf_out = conf;
    return RN_CLI_EXIT_OK;
}

int rn_cli_client_start(rn_cli_client_t *cl, rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    RN_ASSERT(cl->rk == NULL);
    RN_ASSERT(conf != NULL);
    char errstr[512];
    cl->rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (cl->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return rn_cli_fail(cl->prog, "cannot create the client: %s", errstr);
    }
    return RN_CLI_EXIT_OK;
}

int rn_cli_client_open(rn_cli_client_t *cl, const rn_cli_common_t *common, const char *prog) {
    rd_kafka_conf_t *conf = NULL;
    int rc = rn_cli_conf_new(cl, common, prog, &conf);
    if (rc != RN_CLI_EXIT_OK) return rc;
    return rn_cli_client_start(cl, RD_KAFKA_PRODUCER, conf);
}

void rn_cli_client_close(rn_cli_client_t *cl) {
    if (cl->rk) rd_kafka_destroy(cl->rk);
    cl->rk = NULL;
    pthread_mutex_destroy(&cl->log_lock);
}

static void last_log(rn_cli_client_t *cl, char *buf, size_t size) {
    pthread_mutex_lock(&cl->log_lock);
    snprintf(buf, size, "%s", cl->last_log);
    pthread_mutex_unlock(&cl->log_lock);
}

int rn_cli_fail_err(rn_cli_client_t *cl, const char *what, rd_kafka_resp_err_t err,
                    const char *errstr) {
    RN_ASSERT(cl != NULL && what != NULL);
    char log[512];
    const char *msg = errstr && *errstr ? errstr : rd_kafka_err2str(err);
    switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
        last_log(cl, log, sizeof log);
        return rn_cli_fail(cl->prog, "%s: no answer from the cluster at %s within %lld ms (%s%s%s)",
                           what, cl->common->bootstrap, (long long)cl->common->timeout_ms, msg,
                           log[0] ? "; last client error: " : "", log);
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        return rn_cli_fail(cl->prog, "%s: unknown topic (%s)", what, msg);
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
        return rn_cli_fail(cl->prog, "%s: the broker does not support this operation (%s)", what,
                           msg);
    default:
        return rn_cli_fail(cl->prog, "%s: %s (%s)", what, msg, rd_kafka_err2name(err));
    }
}

int rn_cli_metadata(rn_cli_client_t *cl, const rd_kafka_metadata_t **md) {
    RN_ASSERT(cl->rk != NULL);
    RN_ASSERT(md != NULL);
    *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(cl->rk, 1, NULL, md, (int)cl->common->timeout_ms);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return RN_CLI_EXIT_OK;
    *md = NULL;
    char log[512];
    last_log(cl, log, sizeof log);
    if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return rn_cli_fail(cl->prog, "cannot reach the cluster at %s within %lld ms%s%s%s",
                           cl->common->bootstrap, (long long)cl->common->timeout_ms,
                           log[0] ? " (" : "", log, log[0] ? ")" : "");
    return rn_cli_fail_err(cl, "metadata", err, NULL);
}

const rd_kafka_metadata_topic_t *rn_cli_md_topic(const rd_kafka_metadata_t *md, const char *name) {
    RN_ASSERT(md != NULL && name != NULL);
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, name) && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return &md->topics[i];
    return NULL;
}

int rn_cli_require_topics(rn_cli_client_t *cl, const rd_kafka_metadata_t *md,
                          const char *const *names, int count) {
    RN_ASSERT(count >= 0);
    for (int i = 0; i < count; i++)
        if (rn_cli_md_topic(md, names[i]) == NULL)
            return rn_cli_fail(cl->prog, "unknown topic '%s'", names[i]);
    return RN_CLI_EXIT_OK;
}

void rn_cli_admin_begin(rn_cli_client_t *cl, rd_kafka_admin_op_t op, rn_cli_admin_t *call) {
    RN_ASSERT(cl->rk != NULL);
    call->queue = rd_kafka_queue_new(cl->rk);
    call->opt = rd_kafka_AdminOptions_new(cl->rk, op);
    RN_ASSERT(call->queue != NULL && call->opt != NULL);
    char errstr[256];
    int ms = (int)cl->common->timeout_ms;
    rd_kafka_resp_err_t err =
        rd_kafka_AdminOptions_set_request_timeout(call->opt, ms, errstr, sizeof errstr);
    RN_ASSERT(err == RD_KAFKA_RESP_ERR_NO_ERROR);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
        op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS) {
        err = rd_kafka_AdminOptions_set_operation_timeout(call->opt, ms, errstr, sizeof errstr);
        RN_ASSERT(err == RD_KAFKA_RESP_ERR_NO_ERROR);
    }
}

void rn_cli_admin_end(rn_cli_admin_t *call) {
    rd_kafka_AdminOptions_destroy(call->opt);
    rd_kafka_queue_destroy(call->queue);
    call->opt = NULL;
    call->queue = NULL;
}

rd_kafka_event_t *rn_cli_admin_wait(rn_cli_client_t *cl, rn_cli_admin_t *call, const char *what) {
    RN_ASSERT(cl->rk != NULL && call->queue != NULL);
    int wait_ms = (int)(cl->common->timeout_ms + RN_CLI_ADMIN_SLACK_MS);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(call->queue, wait_ms);
    if (ev == NULL) {
        rn_cli_fail_err(cl, what, RD_KAFKA_RESP_ERR__TIMED_OUT, NULL);
        return NULL;
    }
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rn_cli_fail_err(cl, what, err, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

rd_kafka_resp_err_t rn_cli_watermarks(rn_cli_client_t *cl, const char *topic, int32_t partition,
                                      int64_t *low, int64_t *high) {
    RN_ASSERT(cl->rk != NULL && topic != NULL);
    RN_ASSERT(partition >= 0);
    return rd_kafka_query_watermark_offsets(cl->rk, topic, partition, low, high,
                                            (int)cl->common->timeout_ms);
}

int64_t rn_cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "+hh:mm", "+hhmm", "-hh" or "Z" after the time; seconds east of UTC. */
static bool parse_zone(const char *p, long *east_s) {
    if (!strcmp(p, "Z") || !strcmp(p, "z")) {
        *east_s = 0;
        return true;
    }
    int hh = 0, mm = 0;
    if ((p[0] != '+' && p[0] != '-') || !isdigit((unsigned char)p[1])) return false;
    int n = sscanf(p + 1, "%2d:%2d", &hh, &mm);
    if (n < 2) {
        hh = mm = 0;
        n = sscanf(p + 1, "%2d%2d", &hh, &mm);
    }
    if (n < 1) return false;
    if (hh > 23 || mm > 59) return false;
    *east_s = (p[0] == '-' ? -1 : 1) * (long)(hh * 3600 + mm * 60);
    return true;
}

bool rn_cli_parse_time_ms(const char *text, int64_t *ms) {
    RN_ASSERT(text != NULL && ms != NULL);
    if (rn_cli_parse_i64(text, ms)) return *ms >= 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(text, "%Y-%m-%d", &tm);
    if (p == NULL) return false;
    int millis = 0;
    if (*p == 'T' || *p == ' ') {
        const char *q = strptime(p + 1, "%H:%M", &tm);
        if (q == NULL) return false;
        p = q;
        if (*p == ':' && (q = strptime(p + 1, "%S", &tm)) != NULL) p = q;
        if (*p == '.') {
            int digits = 0;
            for (p++; isdigit((unsigned char)*p); p++, digits++)
                if (digits < 3) millis = millis * 10 + (*p - '0');
            for (; digits > 0 && digits < 3; digits++) millis *= 10;
        }
    }
    long east_s = 0;
    time_t secs;
    if (*p == '\0') {
        tm.tm_isdst = -1;
        secs = mktime(&tm); /* no zone: local time, as Kafka's tools */
    } else {
        if (!parse_zone(p, &east_s)) return false;
        secs = timegm(&tm) - east_s;
    }
    if (secs == (time_t)-1) return false;
    *ms = (int64_t)secs * 1000 + millis;
    return true;
}
