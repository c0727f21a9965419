/*
 * cli_int.h: what the runnel tools share: exit codes, limits, the option
 * parser (cli_args.c), table and JSON output (cli_output.c), the librdkafka
 * client wrapper (cli_kafka.c), and each tool's entry point.
 *
 * Everything here lives in the CLI process only. The broker never includes
 * this header and never links librdkafka; all librdkafka use stays in src/cli/.
 */
#ifndef RN_CLI_CLI_INT_H
#define RN_CLI_CLI_INT_H

#include "base/assert.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ---- exit codes (documented in docs/CLI.md) ---- */

#define RN_CLI_EXIT_OK 0    /* the operation succeeded */
#define RN_CLI_EXIT_FAIL 1  /* the operation failed: broker, topic, group or I/O */
#define RN_CLI_EXIT_USAGE 2 /* bad arguments; nothing was sent */
/* rn_cli_parse's "carry on" answer; never an exit code. */
#define RN_CLI_CONTINUE (-1)

/* ---- limits ---- */

/* Repetitions of one repeated option (--config, --header, -X): far more than
   a command line holds in practice, small enough to keep on the stack. */
#define RN_CLI_REPEAT_MAX 256
/* Positional arguments (topic or group names) of one command. */
#define RN_CLI_POSITIONAL_MAX 256
/* Default bound on any wait for the cluster: an unreachable broker fails in
   this many milliseconds with a clear message. */
#define RN_CLI_TIMEOUT_MS_DEFAULT 10000
/* Ceiling for --timeout-ms: a day; anything longer is a typo. */
#define RN_CLI_TIMEOUT_MS_MAX (24LL * 3600 * 1000)
/* Admin results come back within the request timeout; this margin covers
   librdkafka's own bookkeeping after it gives up. */
#define RN_CLI_ADMIN_SLACK_MS 2000
/* Columns of one table. */
#define RN_CLI_TABLE_COLS_MAX 12
/* Nesting depth of the JSON writer. */
#define RN_CLI_JSON_DEPTH_MAX 16
/* The largest line (record) the console producer reads: Kafka's default
   message.max.bytes is 1 MiB; leave room for raised broker limits. */
#define RN_CLI_LINE_BYTES_MAX (64 * 1024 * 1024)
/* Partitions a tool handles in one topic (create, grow, describe). */
#define RN_CLI_PARTITIONS_MAX 100000

/* Nodes of `runnel dev cluster`: a quorum has at most RN_RAFT_NODES_MAX
   voters, and every dev node is a voter. */
#define RN_CLI_DEV_NODES_MAX 9
/* How long `runnel dev cluster` waits for its nodes after SIGTERM before
   SIGKILL: a broker's clean stop takes well under a second today; leave room
   for a controlled shutdown that moves leadership first. */
#define RN_CLI_DEV_STOP_MS 30000
/* Bytes of a path `runnel dev cluster` builds (PATH_MAX). */
#define RN_CLI_DEV_PATH_BYTES 4096
/* The --set items `runnel dev cluster` gives each node itself. */
#define RN_CLI_DEV_CHILD_SETS 10

/* Bytes of one "host:port" of --bootstrap or --host: a DNS name is at most
   253 characters, plus the port. */
#define RN_CLI_HOSTPORT_BYTES 272
/* The largest response the raw client (cli_wire.c) accepts: a Metadata
   answer of a cluster with 100,000 partitions fits well within it. */
#define RN_CLI_RESPONSE_BYTES_MAX (64 * 1024 * 1024)

RN_STATIC_ASSERT(RN_CLI_TIMEOUT_MS_DEFAULT <= RN_CLI_TIMEOUT_MS_MAX, "default within ceiling");

/* ---- option parsing (cli_args.c) ---- */

typedef enum rn_cli_opt_kind {
    RN_CLI_OPT_FLAG, /* bool *, no value */
    RN_CLI_OPT_STR,  /* const char **, one value (last wins) */
    RN_CLI_OPT_INT,  /* int64_t *, one integer value (last wins) */
    RN_CLI_OPT_LIST, /* rn_cli_list_t *, repeated values in order */
} rn_cli_opt_kind_t;

typedef struct rn_cli_list {
    int count;
    const char *items[RN_CLI_REPEAT_MAX]; /* borrowed from argv */
} rn_cli_list_t;

typedef struct rn_cli_opt {
    const char *name; /* long name without the dashes */
    char short_name;  /* 0 when there is none */
    rn_cli_opt_kind_t kind;
    void *target; /* see rn_cli_opt_kind_t */
    const char *metavar;
    const char *help;
} rn_cli_opt_t;

/* Options every tool takes. */
typedef struct rn_cli_common {
    const char *bootstrap;
    int64_t timeout_ms;
    bool json;
    bool verbose;
    rn_cli_list_t props; /* -X key=value: librdkafka settings */
} rn_cli_common_t;

typedef struct rn_cli_cmd {
    const char *prog;       /* "runnel topic create" */
    const char *args_usage; /* "TOPIC [TOPIC...]" or "" */
    const char *summary;    /* one sentence */
    const char *details;    /* more help text, or NULL */
    const rn_cli_opt_t *opts;
    int opt_count;
    int pos_min, pos_max;
} rn_cli_cmd_t;

/* Parses argv[1..] (argv[0] is the verb) into the command's targets, common
   and pos. Returns RN_CLI_CONTINUE, or an exit code: RN_CLI_EXIT_OK after
   printing --help, RN_CLI_EXIT_USAGE after printing what was wrong. */
int rn_cli_parse(const rn_cli_cmd_t *cmd, rn_cli_common_t *common, rn_cli_list_t *pos, int argc,
                 char **argv);
/* Prints "prog: msg" and a usage hint to stderr; returns RN_CLI_EXIT_USAGE. */
int rn_cli_usage_error(const rn_cli_cmd_t *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Splits "key=value" at the first '='. Returns false when there is none or
   the key is empty. */
bool rn_cli_split_kv(const char *kv, char *key, size_t key_size, const char **value);
/* Strict integer parse of the whole string. */
bool rn_cli_parse_i64(const char *text, int64_t *value);

/* A tool with verbs: `runnel topic create ...`. */
typedef struct rn_cli_verb {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the verb */
} rn_cli_verb_t;

/* Runs argv[1] (the verb) of the tool `prog`; handles --help and unknown
   verbs. argv[0] is the tool name. */
int rn_cli_dispatch(const char *prog, const rn_cli_verb_t *verbs, int verb_count, int argc,
                    char **argv);

/* ---- output (cli_output.c) ---- */

/* Prints "prog: message" to stderr; returns RN_CLI_EXIT_FAIL. */
int rn_cli_fail(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "prog: warning: message" to stderr. */
void rn_cli_warn(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct rn_cli_table {
    int cols;
    const char *headers[RN_CLI_TABLE_COLS_MAX];
    char **cells; /* owned; rows * cols strings, row-major */
    int cell_count;
    int cell_cap;
} rn_cli_table_t;

void rn_cli_table_init(rn_cli_table_t *tab, int cols, const char *const *headers);
/* Appends one cell (rows fill left to right). */
void rn_cli_table_cell(rn_cli_table_t *tab, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rn_cli_table_print(const rn_cli_table_t *tab, FILE *out);
void rn_cli_table_free(rn_cli_table_t *tab);

/* A compact JSON writer onto a stream; keys are NULL inside arrays. */
typedef struct rn_cli_json {
    FILE *out;
    int depth;
    bool need_comma[RN_CLI_JSON_DEPTH_MAX];
} rn_cli_json_t;

void rn_cli_json_init(rn_cli_json_t *js, FILE *out);
void rn_cli_json_obj(rn_cli_json_t *js, const char *key);
void rn_cli_json_arr(rn_cli_json_t *js, const char *key);
void rn_cli_json_end_obj(rn_cli_json_t *js);
void rn_cli_json_end_arr(rn_cli_json_t *js);
void rn_cli_json_str(rn_cli_json_t *js, const char *key, const char *value); /* NULL: null */
/* Bytes as a JSON string (valid UTF-8 kept, other bytes as \u00XX); NULL: null. */
void rn_cli_json_bytes(rn_cli_json_t *js, const char *key, const void *data, size_t len);
void rn_cli_json_int(rn_cli_json_t *js, const char *key, int64_t value);
void rn_cli_json_num(rn_cli_json_t *js, const char *key, double value);
void rn_cli_json_bool(rn_cli_json_t *js, const char *key, bool value);
void rn_cli_json_null(rn_cli_json_t *js, const char *key);
/* Ends a top-level value with a newline. */
void rn_cli_json_done(rn_cli_json_t *js);

/* ---- librdkafka client (cli_kafka.c) ---- */

typedef struct rn_cli_client {
    rd_kafka_t *rk;
    const rn_cli_common_t *common;
    const char *prog;
    pthread_mutex_t log_lock;
    char last_log[512]; /* last librdkafka warning or error, for messages */
    void *user;         /* the tool's own state, for callbacks */
} rn_cli_client_t;

/* A conf with bootstrap.servers, the log capture and every -X applied.
   Returns RN_CLI_EXIT_OK, or RN_CLI_EXIT_USAGE after printing a bad -X. */
int rn_cli_conf_new(rn_cli_client_t *cl, const rn_cli_common_t *common, const char *prog,
                    rd_kafka_conf_t **conf);
/* Sets one librdkafka property; a failure is a programmer error. */
void rn_cli_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value);
/* Creates the handle from conf (consumed). Returns an exit code. */
int rn_cli_client_start(rn_cli_client_t *cl, rd_kafka_type_t type, rd_kafka_conf_t *conf);
/* rn_cli_conf_new + rn_cli_client_start for an admin-only client. */
int rn_cli_client_open(rn_cli_client_t *cl, const rn_cli_common_t *common, const char *prog);
void rn_cli_client_close(rn_cli_client_t *cl);
/* Metadata of every topic within the timeout. On failure prints why (an
   unreachable broker says so) and returns RN_CLI_EXIT_FAIL. */
int rn_cli_metadata(rn_cli_client_t *cl, const rd_kafka_metadata_t **md);
const rd_kafka_metadata_topic_t *rn_cli_md_topic(const rd_kafka_metadata_t *md, const char *name);
/* Fails with "unknown topic" unless every name exists. */
int rn_cli_require_topics(rn_cli_client_t *cl, const rd_kafka_metadata_t *md,
                          const char *const *names, int count);
/* One admin request: the queue its result comes back on and its options,
   with the request (and operation) timeout set from --timeout-ms. */
typedef struct rn_cli_admin {
    rd_kafka_queue_t *queue;
    rd_kafka_AdminOptions_t *opt;
} rn_cli_admin_t;
void rn_cli_admin_begin(rn_cli_client_t *cl, rd_kafka_admin_op_t op, rn_cli_admin_t *call);
/* Waits for the result; NULL (after printing) on timeout or a
   request-level error. The event is the caller's to destroy. */
rd_kafka_event_t *rn_cli_admin_wait(rn_cli_client_t *cl, rn_cli_admin_t *call, const char *what);
/* Frees the queue and options, after the event is destroyed. */
void rn_cli_admin_end(rn_cli_admin_t *call);
/* Prints "prog: what: error" with a hint for common codes; returns
   RN_CLI_EXIT_FAIL. */
int rn_cli_fail_err(rn_cli_client_t *cl, const char *what, rd_kafka_resp_err_t err,
                    const char *errstr);
/* Low and high watermarks of one partition within the timeout. */
rd_kafka_resp_err_t rn_cli_watermarks(rn_cli_client_t *cl, const char *topic, int32_t partition,
                                      int64_t *low, int64_t *high);
int64_t rn_cli_now_ms(void);
/* Parses ISO 8601 "2024-05-01T12:00:00[.sss][Z|+hh:mm]" (or a bare date,
   or milliseconds since the epoch) into epoch milliseconds. */
bool rn_cli_parse_time_ms(const char *text, int64_t *ms);

/* ---- raw Kafka requests (cli_wire.c) ---- */

#include "base/arena.h"

/* One blocking connection to a bootstrap broker. */
typedef struct rn_cli_wire {
    int fd;
    int32_t correlation_id;
    const char *prog;
    const rn_cli_common_t *common;
} rn_cli_wire_t;

/* Connects to the first --bootstrap address that accepts within the
   timeout. Returns an exit code (printed why on failure). */
int rn_cli_wire_open(rn_cli_wire_t *w, const rn_cli_common_t *common, const char *prog);
void rn_cli_wire_close(rn_cli_wire_t *w);
/* Sends req (the generated request struct of api_key) at `version` and
   decodes the answer into resp (its response struct), arrays and strings in
   arena. Returns an exit code (printed why on failure). */
int rn_cli_wire_call(rn_cli_wire_t *w, int16_t api_key, int16_t version, const void *req,
                     rn_arena_t *arena, void *resp);

/* ---- the tools ---- */

int rn_cli_cluster_drain(int argc, char **argv);
int rn_cli_cluster_undrain(int argc, char **argv);
int rn_cli_cluster_decommission(int argc, char **argv);
int rn_cli_cluster_scale(int argc, char **argv);
int rn_cli_cluster_balance(int argc, char **argv);
int rn_cli_topic(int argc, char **argv);
int rn_cli_topic_describe(int argc, char **argv);
int rn_cli_topic_alter(int argc, char **argv);
/* DescribeConfigs of one topic: the result event (the caller destroys it)
   and its resource, or NULL after printing why. */
rd_kafka_event_t *rn_cli_topic_configs(rn_cli_client_t *cl, const char *topic,
                                       const rd_kafka_ConfigResource_t **res);
int rn_cli_produce(int argc, char **argv);
int rn_cli_consume(int argc, char **argv);
/* Output of one consumed record (cli_consume_print.c). */
typedef enum rn_cli_format {
    RN_CLI_FORMAT_VALUE, /* the value, one per line */
    RN_CLI_FORMAT_KV,    /* key, separator, value */
    RN_CLI_FORMAT_JSON,  /* one JSON object per line */
} rn_cli_format_t;
bool rn_cli_format_parse(const char *name, rn_cli_format_t *fmt);
void rn_cli_print_record(FILE *out, rn_cli_format_t fmt, const char *key_sep,
                         const rd_kafka_message_t *msg);
int rn_cli_group(int argc, char **argv);
int rn_cli_group_describe(int argc, char **argv);
int rn_cli_group_reset(int argc, char **argv);
/* What the group tools learn about one group (cli_group_describe.c). */
typedef struct rn_cli_group_info {
    rd_kafka_event_t *desc_ev; /* owns desc */
    const rd_kafka_ConsumerGroupDescription_t *desc;
    rd_kafka_event_t *offs_ev; /* owns committed */
    const rd_kafka_topic_partition_list_t *committed;
} rn_cli_group_info_t;
/* DescribeConsumerGroups of one group into info->desc. Returns an exit code. */
int rn_cli_group_describe_one(rn_cli_client_t *cl, const char *group, rn_cli_group_info_t *info);
/* ListConsumerGroupOffsets of one group (every partition) into
   info->committed. Returns an exit code. */
int rn_cli_group_committed(rn_cli_client_t *cl, const char *group, rn_cli_group_info_t *info);
void rn_cli_group_info_free(rn_cli_group_info_t *info);
int rn_cli_cluster(int argc, char **argv);
/* `runnel cluster quorum ...` (cli_quorum.c). */
int rn_cli_cluster_quorum(int argc, char **argv);
/* DescribeQuorum of the metadata log through w; prints it (a table, or a
   "quorum" member of the JSON object js is inside). Returns an exit code. */
int rn_cli_quorum_show(rn_cli_wire_t *w, rn_cli_json_t *js);
int rn_cli_bench(int argc, char **argv);
int rn_cli_dev(int argc, char **argv);

#endif
