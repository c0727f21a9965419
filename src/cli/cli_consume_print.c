/*
 * cli_consume_print.c: how `runnel consume` prints one record: the value
 * alone, key and value, or a JSON line with topic, partition, offset,
 * timestamp, key, headers and value.
 *
 * Borrows the message; owns nothing. Keys and values are written as they
 * are (value, kv) or as JSON strings whose invalid UTF-8 bytes appear as
 * \u00XX (json). Never reads from the network.
 */
#include "cli/cli_int.h"

#include <string.h>

bool rn_cli_format_parse(const char *name, rn_cli_format_t *fmt) {
    RN_ASSERT(name != NULL && fmt != NULL);
    if (!strcmp(name, "value"))
        *fmt = RN_CLI_FORMAT_VALUE;
    else if (!strcmp(name, "kv"))
        *fmt = RN_CLI_FORMAT_KV;
    else if (!strcmp(name, "json"))
        *fmt = RN_CLI_FORMAT_JSON;
    else
        return false;
    return true;
}

static void print_headers(rn_cli_json_t *js, const rd_kafka_message_t *msg) {
    rd_kafka_headers_t *hdrs = NULL;
    rn_cli_json_arr(js, "headers");
    /* The message keeps ownership of hdrs. */
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); i++) {
            rn_cli_json_obj(js, NULL);
            rn_cli_json_str(js, "key", name);
            rn_cli_json_bytes(js, "value", value, size);
            rn_cli_json_end_obj(js);
        }
    }
    rn_cli_json_end_arr(js);
}

static void print_json(FILE *out, const rd_kafka_message_t *msg) {
    rn_cli_json_t js;
    rd_kafka_timestamp_type_t ts_type;
    int64_t ts = rd_kafka_message_timestamp(msg, &ts_type);
    rn_cli_json_init(&js, out);
    rn_cli_json_obj(&js, NULL);
    rn_cli_json_str(&js, "topic", rd_kafka_topic_name(msg->rkt));
    rn_cli_json_int(&js, "partition", msg->partition);
    rn_cli_json_int(&js, "offset", msg->offset);
    rn_cli_json_int(&js, "timestamp", ts);
    rn_cli_json_str(&js, "timestamp_type",
                    ts_type == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "create"
                    : ts_type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "log_append"
                                                                    : "none");
    rn_cli_json_bytes(&js, "key", msg->key, msg->key_len);
    print_headers(&js, msg);
    rn_cli_json_bytes(&js, "value", msg->payload, msg->len);
    rn_cli_json_end_obj(&js);
    rn_cli_json_done(&js);
}

void rn_cli_print_record(FILE *out, rn_cli_format_t fmt, const char *key_sep,
                         const rd_kafka_message_t *msg) {
    RN_ASSERT(out != NULL && msg != NULL);
    RN_ASSERT(msg->err == RD_KAFKA_RESP_ERR_NO_ERROR);
    switch (fmt) {
    case RN_CLI_FORMAT_JSON:
        print_json(out, msg);
        return;
    case RN_CLI_FORMAT_KV:
        if (msg->key) fwrite(msg->key, 1, msg->key_len, out);
        fputs(key_sep, out);
        /* fall through */
    case RN_CLI_FORMAT_VALUE:
        if (msg->payload) fwrite(msg->payload, 1, msg->len, out);
        fputc('\n', out);
        return;
    }
}
