/*
 * test_config.c: broker settings: sources and their precedence, environment
 * names, properties syntax, unknown keys, invalid values, derived settings
 * (retention, roll, cores, node id, listeners), the cluster settings (voters,
 * bootstrap servers, roles and their controller listener, timeouts,
 * cluster.id) and the DescribeConfigs view.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "io/io.h"
#include "server/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CPUS 4

static char tmp_dir[] = "/tmp/rn_test_config_XXXXXX";
static char errmsg[512];

/* Writes a properties file in the temp dir and returns its path (static). */
static const char *write_props(const char *text) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/server.properties", tmp_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Loads with args (NULL-ended) and env (NULL-ended). */
static rn_err_t load(rn_config_t *cfg, const char **args, const char **env) {
    int argc = 0;
    while (args && args[argc]) argc++;
    return rn_config_load_io(cfg, rn_io_linux(), CPUS, argc, (char **)args, (char **)env, errmsg,
                             sizeof(errmsg));
}

static void load_ok(rn_config_t *cfg, const char **args, const char **env) {
    rn_err_t err = load(cfg, args, env);
    if (err != RN_OK) fail_msg("load failed: %s", errmsg);
}

/* Loads expecting failure, and that errmsg contains every given fragment. */
static void load_fails(const char **args, const char **env, const char *frag1, const char *frag2) {
    rn_config_t cfg;
    rn_err_t err = load(&cfg, args, env);
    if (err == RN_OK) {
        rn_config_free(&cfg);
        fail_msg("load should fail (%s)", frag1);
    }
    if (frag1 && !strstr(errmsg, frag1)) fail_msg("'%s' not in: %s", frag1, errmsg);
    if (frag2 && !strstr(errmsg, frag2)) fail_msg("'%s' not in: %s", frag2, errmsg);
}

static void test_defaults(void **state) {
    (void)state;
    rn_config_t cfg;
    load_ok(&cfg, NULL, NULL);
    assert_int_equal(cfg.node_id, 0);
    assert_true(cfg.role_broker && cfg.role_controller);
    assert_int_equal(cfg.listener_count, 1);
    assert_string_equal(cfg.listeners[0].name, "PLAINTEXT");
    assert_string_equal(cfg.listeners[0].host, "");
    assert_int_equal(cfg.listeners[0].port, 9092);
    assert_int_equal(cfg.advertised_count, 1);
    assert_int_equal(cfg.log_dir_count, 1);
    assert_string_equal(cfg.log_dirs[0], "/tmp/runnel-logs");
    assert_string_equal(cfg.metadata_log_dir, "/tmp/runnel-logs");
    assert_int_equal(cfg.num_partitions, 1);
    assert_int_equal(cfg.default_replication_factor, 1);
    assert_true(cfg.auto_create_topics_enable);
    assert_int_equal(cfg.log_segment_bytes, 1073741824);
    assert_int_equal(cfg.log_retention_ms, 168LL * 3600 * 1000);
    assert_int_equal(cfg.log_roll_ms, 168LL * 3600 * 1000);
    assert_int_equal(cfg.log_retention_bytes, -1);
    assert_int_equal(cfg.message_max_bytes, 1048588);
    assert_int_equal(cfg.log_flush_interval_messages, 1);
    assert_true(cfg.durable_acks);
    assert_int_equal(cfg.cores, CPUS);
    assert_true(cfg.admin_enabled);
    assert_string_equal(cfg.admin_host, "0.0.0.0");
    assert_int_equal(cfg.admin_port, 9644);
    assert_int_equal(cfg.offsets_topic_num_partitions, 50);
    assert_int_equal(cfg.log_cleanup_policy, RN_CLEANUP_DELETE);
    assert_int_equal(cfg.log_message_timestamp_type, RN_TIMESTAMP_CREATE_TIME);
    assert_int_equal(cfg.socket_request_max_bytes, RN_REQUEST_BYTES_MAX_DEFAULT);
    assert_int_equal(cfg.max_connections, RN_CONNECTIONS_MAX_DEFAULT);
    assert_int_equal(cfg.connections_max_idle_ms, RN_CONN_IDLE_MS_DEFAULT);
    assert_int_equal(cfg.queued_max_request_bytes, RN_QUEUED_REQUEST_BYTES_DEFAULT);
    /* topic defaults follow the broker: flush.messages=1 is durable acks */
    assert_int_equal(cfg.topic_base.typed.flush_messages, 1);
    assert_int_equal(cfg.topic_base.source[RN_TC_FLUSH_MESSAGES], RN_CONFIG_SOURCE_DEFAULT);
    assert_int_equal(cfg.topic_base.typed.retention_ms, 604800000);
    assert_int_equal(cfg.topic_base.typed.segment_bytes, 1073741824);
    rn_config_free(&cfg);
}

static void test_precedence(void **state) {
    (void)state;
    const char *path = write_props("num.partitions=2\nlog.segment.bytes=1000000\n"
                                   "message.max.bytes=5000\nmin.insync.replicas=2\n");
    const char *env[] = {"KAFKA_CFG_NUM_PARTITIONS=3",
                         "KAFKA_CFG_MESSAGE_MAX_BYTES=6000",
                         "RUNNEL_MESSAGE_MAX_BYTES=7000",
                         "RUNNEL_MIN_INSYNC_REPLICAS=3",
                         "PATH=/bin",
                         NULL};
    const char *args[] = {"--config", path, "--set", "min.insync.replicas=4", NULL};
    rn_config_t cfg;
    load_ok(&cfg, args, env);
    assert_int_equal(cfg.num_partitions, 3);          /* env over file */
    assert_int_equal(cfg.log_segment_bytes, 1000000); /* file over default */
    assert_int_equal(cfg.message_max_bytes, 7000);    /* RUNNEL_ over KAFKA_CFG_ */
    assert_int_equal(cfg.min_insync_replicas, 4);     /* --set over env */
    assert_int_equal(rn_config_get(&cfg, "num.partitions")->origin, RN_CONFIG_ORIGIN_ENV);
    assert_int_equal(rn_config_get(&cfg, "log.segment.bytes")->origin, RN_CONFIG_ORIGIN_FILE);
    assert_int_equal(rn_config_get(&cfg, "min.insync.replicas")->origin, RN_CONFIG_ORIGIN_SET);
    assert_int_equal(rn_config_get(&cfg, "log.retention.bytes")->origin, RN_CONFIG_ORIGIN_DEFAULT);
    assert_null(rn_config_get(&cfg, "no.such.key"));
    /* broker settings become topic defaults with source STATIC_BROKER */
    assert_int_equal(cfg.topic_base.typed.segment_bytes, 1000000);
    assert_int_equal(cfg.topic_base.source[RN_TC_SEGMENT_BYTES], RN_CONFIG_SOURCE_STATIC_BROKER);
    assert_int_equal(cfg.topic_base.typed.max_message_bytes, 7000);
    assert_int_equal(cfg.topic_base.typed.min_insync_replicas, 4);
    rn_config_free(&cfg);

    /* later --set wins over an earlier one */
    const char *args2[] = {"--set", "num.partitions=5", "--set=num.partitions=6", NULL};
    load_ok(&cfg, args2, NULL);
    assert_int_equal(cfg.num_partitions, 6);
    rn_config_free(&cfg);
}

static void test_env_mapping(void **state) {
    (void)state;
    const char *env[] = {"KAFKA_CFG_LOG_RETENTION_MS=1000", "RUNNEL_LOG_DIRS=/a,/b",
                         "RUNNEL_AUTO_CREATE_TOPICS_ENABLE=false",
                         "KAFKA_CFG_ADVERTISED_LISTENERS=PLAINTEXT://kafka-0.kafka:9092",
                         "RUNNEL_CORES=2",
                         /* Kubernetes service links for a Service named runnel */
                         "RUNNEL_PORT=tcp://10.0.0.1:9092", "RUNNEL_SERVICE_HOST=10.0.0.1",
                         "RUNNEL_SERVICE_PORT_KAFKA=9092", "RUNNEL_PORT_9092_TCP_ADDR=10.0.0.1",
                         "RUNNEL_ADMIN_SERVICE_HOST=10.0.0.2", NULL};
    rn_config_t cfg;
    load_ok(&cfg, NULL, env);
    assert_int_equal(cfg.log_retention_ms, 1000);
    assert_int_equal(cfg.log_dir_count, 2);
    assert_string_equal(cfg.log_dirs[0], "/a");
    assert_string_equal(cfg.log_dirs[1], "/b");
    assert_false(cfg.auto_create_topics_enable);
    assert_int_equal(cfg.advertised_count, 1);
    assert_string_equal(cfg.advertised[0].host, "kafka-0.kafka");
    assert_int_equal(cfg.cores, 2);
    /* the service links are remembered for the debug line, nothing else */
    assert_string_equal(cfg.env_ignored, "RUNNEL_PORT, RUNNEL_SERVICE_HOST, "
                                         "RUNNEL_SERVICE_PORT_KAFKA, RUNNEL_PORT_9092_TCP_ADDR, "
                                         "RUNNEL_ADMIN_SERVICE_HOST");
    assert_int_equal(cfg.log_level, RN_LOG_INFO);
    rn_config_free(&cfg);

    const char *level[] = {"RUNNEL_LOG_LEVEL=debug", NULL};
    load_ok(&cfg, NULL, level);
    assert_int_equal(cfg.log_level, RN_LOG_DEBUG);
    assert_string_equal(cfg.env_ignored, "");
    rn_config_free(&cfg);

    /* a budget of partly read requests that cannot hold one maximal frame */
    const char *small[] = {"--set", "queued.max.request.bytes=1000", NULL};
    load_fails(small, NULL, "queued.max.request.bytes", "socket.request.max.bytes");
    const char *unbounded[] = {"--set", "queued.max.request.bytes=-1", NULL};
    load_ok(&cfg, unbounded, NULL);
    assert_int_equal(cfg.queued_max_request_bytes, -1);
    rn_config_free(&cfg);

    const char *bad[] = {"RUNNEL_NO_SUCH_SETTING=1", NULL};
    load_fails(NULL, bad, "RUNNEL_NO_SUCH_SETTING", "no.such.setting");
    const char *bad2[] = {"KAFKA_CFG_LOG_SEGMENT_BYTES=abc", NULL};
    load_fails(NULL, bad2, "KAFKA_CFG_LOG_SEGMENT_BYTES", "log.segment.bytes");
}

/* No two settings share an environment name (underscores are ambiguous). */
static void test_env_names_unique(void **state) {
    (void)state;
    int count = 0;
    const rn_config_def_t *defs = rn_config_defs(&count);
    assert_true(count > 50);
    for (int a = 0; a < count; a++) {
        char ea[RN_CONFIG_KEY_BYTES_MAX + 1];
        snprintf(ea, sizeof(ea), "%s", defs[a].name);
        for (char *p = ea; *p; p++) *p = *p == '.' || *p == '-' ? '_' : *p;
        for (int b = a + 1; b < count; b++) {
            char eb[RN_CONFIG_KEY_BYTES_MAX + 1];
            snprintf(eb, sizeof(eb), "%s", defs[b].name);
            for (char *p = eb; *p; p++) *p = *p == '.' || *p == '-' ? '_' : *p;
            if (strcmp(ea, eb) == 0) fail_msg("%s and %s collide", defs[a].name, defs[b].name);
        }
        assert_non_null(defs[a].doc);
    }
}

static void test_properties_syntax(void **state) {
    (void)state;
    const char *path = write_props("# a comment\n"
                                   "! another comment \\\n"
                                   "\n"
                                   "   num.partitions = 7   \n"
                                   "log.retention.bytes: 12345\r\n"
                                   "log.segment.bytes 2000000\n"
                                   "log.dirs=/data/one,\\\n"
                                   "         /data/two\n"
                                   "broker.rack=rack\\u0041\\t\n"
                                   "\t\fdefault.replication.factor=1\n"
                                   "log.cleanup.policy = compact , delete\n"
                                   "auto.create.topics.enable=FALSE");
    const char *args[] = {path, NULL}; /* positional, as kafka-server-start.sh */
    rn_config_t cfg;
    load_ok(&cfg, args, NULL);
    assert_int_equal(cfg.num_partitions, 7);
    assert_int_equal(cfg.log_retention_bytes, 12345);
    assert_int_equal(cfg.log_segment_bytes, 2000000);
    assert_int_equal(cfg.log_dir_count, 2);
    assert_string_equal(cfg.log_dirs[0], "/data/one");
    assert_string_equal(cfg.log_dirs[1], "/data/two");
    assert_string_equal(cfg.rack, "rackA\t");
    assert_int_equal(cfg.log_cleanup_policy, RN_CLEANUP_COMPACT | RN_CLEANUP_DELETE);
    assert_false(cfg.auto_create_topics_enable);
    rn_config_free(&cfg);
}

static void test_unknown_keys(void **state) {
    (void)state;
    const char *path = write_props("num.partitions=1\n\nlog.segmnet.bytes=100\n");
    const char *args[] = {"--config", path, NULL};
    load_fails(args, NULL, "log.segmnet.bytes", "server.properties:3");
    const char *args2[] = {"--set", "bogus=1", NULL};
    load_fails(args2, NULL, "unknown setting bogus", "--set");
    const char *args3[] = {"--set", "retention.ms=1", NULL};
    load_fails(args3, NULL, "topic setting", "log.retention.ms");
    const char *args4[] = {"--set", "zookeeper.connect=zk:2181", NULL};
    load_fails(args4, NULL, "zookeeper.connect", "ZooKeeper");
    const char *args5[] = {"--bogus", NULL};
    load_fails(args5, NULL, "unknown option --bogus", NULL);
    const char *args6[] = {"--set", "novalue", NULL};
    load_fails(args6, NULL, "key=value", NULL);
    const char *args7[] = {"--config", "/nonexistent/file.properties", NULL};
    load_fails(args7, NULL, "/nonexistent/file.properties", NULL);

    /* Kafka settings Runnel ignores are accepted (with a warning) */
    rn_log_set_level(RN_LOG_ERROR);
    const char *args8[] = {
        "--set",      "num.network.threads=5",         "--set", "ssl.keystore.location=/x",
        "--override", "socket.send.buffer.bytes=1000", NULL};
    rn_config_t cfg;
    load_ok(&cfg, args8, NULL);
    assert_int_equal(cfg.cores, CPUS);
    rn_config_free(&cfg);
    rn_log_set_level(RN_LOG_INFO);
}

static void test_invalid_values(void **state) {
    (void)state;
    const char *a1[] = {"--set", "log.segment.bytes=abc", NULL};
    load_fails(a1, NULL, "'abc'", "Not a number of type INT");
    const char *a2[] = {"--set", "log.segment.bytes=10", NULL};
    load_fails(a2, NULL, "at least 14", "from 14 to 2147483647");
    const char *a3[] = {"--set", "auto.create.topics.enable=yes", NULL};
    load_fails(a3, NULL, "auto.create.topics.enable", "true or false");
    const char *a4[] = {"--set", "log.message.timestamp.type=Now", NULL};
    load_fails(a4, NULL, "CreateTime, LogAppendTime", "'Now'");
    const char *a5[] = {"--set", "log.cleanup.policy=delete,shred", NULL};
    load_fails(a5, NULL, "log.cleanup.policy", "compact, delete");
    const char *a6[] = {"--set", "process.roles=", NULL};
    load_fails(a6, NULL, "process.roles", "Empty list");
    const char *a7[] = {"--set", "num.partitions=3000000000", NULL};
    load_fails(a7, NULL, "num.partitions", "Not a number");
    const char *a8[] = {"--set", "cores=1000", NULL};
    load_fails(a8, NULL, "cores", "no more than");
    const char *a9[] = {"--set", "log.cleaner.min.cleanable.ratio=1.5", NULL};
    load_fails(a9, NULL, "log.cleaner.min.cleanable.ratio", "no more than 1");
    const char *a10[] = {"--set", "admin.listener=nonsense", NULL};
    load_fails(a10, NULL, "admin.listener", "host:port");
    const char *a11[] = {"--set", "log.flush.interval.messages=0", NULL};
    load_fails(a11, NULL, "log.flush.interval.messages", "at least 1");
}

/* The leader election settings, Kafka's defaults and ranges; turning the
   balance off leaves no interval. */
static void test_leader_elections(void **state) {
    (void)state;
    rn_config_t cfg;
    load_ok(&cfg, NULL, NULL);
    assert_int_equal(cfg.leader_imbalance_check_interval_ms, 300000);
    assert_int_equal(cfg.leader_imbalance_per_broker_percentage, 10);
    assert_int_equal(cfg.unclean_leader_election_interval_ms, 300000);
    assert_false(cfg.unclean_leader_election_enable);
    rn_config_free(&cfg);
    const char *set[] = {"--set", "leader.imbalance.check.interval.seconds=1",
                         "--set", "leader.imbalance.per.broker.percentage=-3",
                         "--set", "unclean.leader.election.interval.ms=1000",
                         NULL};
    load_ok(&cfg, set, NULL);
    assert_int_equal(cfg.leader_imbalance_check_interval_ms, 1000);
    assert_int_equal(cfg.leader_imbalance_per_broker_percentage, -3);
    assert_int_equal(cfg.unclean_leader_election_interval_ms, 1000);
    rn_config_free(&cfg);
    const char *off[] = {"--set", "auto.leader.rebalance.enable=false", NULL};
    load_ok(&cfg, off, NULL);
    assert_int_equal(cfg.leader_imbalance_check_interval_ms, 0);
    rn_config_free(&cfg);
    const char *huge[] = {"--set", "leader.imbalance.check.interval.seconds=9223372036854775807",
                          NULL};
    load_ok(&cfg, huge, NULL);
    assert_int_equal(cfg.leader_imbalance_check_interval_ms, INT64_MAX);
    rn_config_free(&cfg);
    const char *zero[] = {"--set", "leader.imbalance.check.interval.seconds=0", NULL};
    load_fails(zero, NULL, "leader.imbalance.check.interval.seconds", "at least 1");
    const char *never[] = {"--set", "unclean.leader.election.interval.ms=0", NULL};
    load_fails(never, NULL, "unclean.leader.election.interval.ms", "at least 1");
}

static void test_retention_precedence(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *a1[] = {"--set", "log.retention.hours=2", NULL};
    load_ok(&cfg, a1, NULL);
    assert_int_equal(cfg.log_retention_ms, 2 * 3600 * 1000);
    assert_int_equal(cfg.topic_base.typed.retention_ms, 2 * 3600 * 1000);
    assert_int_equal(cfg.topic_base.source[RN_TC_RETENTION_MS], RN_CONFIG_SOURCE_STATIC_BROKER);
    rn_config_free(&cfg);
    const char *a2[] = {"--set", "log.retention.hours=2", "--set", "log.retention.minutes=3", NULL};
    load_ok(&cfg, a2, NULL);
    assert_int_equal(cfg.log_retention_ms, 3 * 60 * 1000);
    rn_config_free(&cfg);
    const char *a3[] = {"--set", "log.retention.ms=5000", "--set", "log.retention.minutes=3",
                        "--set", "log.retention.hours=2", NULL};
    load_ok(&cfg, a3, NULL);
    assert_int_equal(cfg.log_retention_ms, 5000);
    assert_string_equal(cfg.topic_base.text[RN_TC_RETENTION_MS], "5000");
    rn_config_free(&cfg);
    const char *a4[] = {"--set", "log.retention.ms=-1", NULL};
    load_ok(&cfg, a4, NULL);
    assert_int_equal(cfg.log_retention_ms, -1);
    assert_int_equal(cfg.topic_base.typed.retention_ms, -1);
    rn_config_free(&cfg);
    const char *a5[] = {"--set", "log.retention.hours=-1", NULL};
    load_ok(&cfg, a5, NULL);
    assert_int_equal(cfg.log_retention_ms, -1);
    rn_config_free(&cfg);
    /* default: 168 hours, source DEFAULT */
    load_ok(&cfg, NULL, NULL);
    assert_int_equal(cfg.topic_base.source[RN_TC_RETENTION_MS], RN_CONFIG_SOURCE_DEFAULT);
    rn_config_free(&cfg);
    /* roll: ms over hours */
    const char *a6[] = {"--set", "log.roll.hours=1", "--set", "log.roll.ms=60000", NULL};
    load_ok(&cfg, a6, NULL);
    assert_int_equal(cfg.log_roll_ms, 60000);
    assert_int_equal(cfg.topic_base.typed.segment_ms, 60000);
    rn_config_free(&cfg);
}

static void test_listeners(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *a1[] = {"--set",
                        "listeners=PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093,"
                        "INTERNAL://[::1]:9094",
                        "--set",
                        "controller.listener.names=CONTROLLER",
                        "--set",
                        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,"
                        "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT",
                        NULL};
    load_ok(&cfg, a1, NULL);
    assert_int_equal(cfg.listener_count, 3);
    assert_true(cfg.listeners[1].controller);
    assert_string_equal(cfg.listeners[1].host, "127.0.0.1");
    assert_string_equal(cfg.listeners[2].host, "::1");
    assert_int_equal(cfg.listeners[2].port, 9094);
    /* advertised defaults to the non-controller listeners */
    assert_int_equal(cfg.advertised_count, 2);
    assert_string_equal(cfg.advertised[0].name, "PLAINTEXT");
    assert_string_equal(cfg.advertised[1].name, "INTERNAL");
    rn_config_free(&cfg);

    /* a controller listener not in the default map is PLAINTEXT, as in Kafka */
    const char *a2[] = {"--set", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "--set",
                        "controller.listener.names=CONTROLLER", NULL};
    load_ok(&cfg, a2, NULL);
    assert_int_equal(cfg.advertised_count, 1);
    rn_config_free(&cfg);

    const char *b1[] = {"--set", "listeners=SSL://:9093", NULL};
    load_fails(b1, NULL, "SSL", "PLAINTEXT only");
    const char *b2[] = {"--set", "listeners=PLAINTEXT://:http", NULL};
    load_fails(b2, NULL, "listeners", "port");
    const char *b3[] = {"--set", "listeners=PLAINTEXT://:9092,PLAINTEXT://:9093", NULL};
    load_fails(b3, NULL, "PLAINTEXT", "twice");
    const char *b4[] = {"--set", "advertised.listeners=PLAINTEXT://0.0.0.0:9092", NULL};
    load_fails(b4, NULL, "advertised.listeners", "non-routable");
    const char *b5[] = {"--set", "listeners=FOO://:9092", NULL};
    load_fails(b5, NULL, "FOO", "listener.security.protocol.map");
    const char *b6[] = {"--set", "listeners=localhost:9092", NULL};
    load_fails(b6, NULL, "NAME://host:port", NULL);
    const char *b7[] = {"--set", "listeners=A://:9092,B://:9092", "--set",
                        "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT", NULL};
    load_fails(b7, NULL, "same port", NULL);
    /* as Kafka: every advertised listener is one of `listeners` */
    const char *b8[] = {"--set", "advertised.listeners=OTHER://h:1", "--set",
                        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT", NULL};
    load_fails(b8, NULL, "must be equal to or a subset of the ones defined in listeners",
               "Found OTHER. The valid options based on the current configuration are PLAINTEXT");
    /* a broker serves at most RN_NET_LISTENERS_MAX client listeners */
    const char *b9[] = {"--set", "listeners=A://:1,B://:2,C://:3,D://:4,E://:5", "--set",
                        "listener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT,C:PLAINTEXT,"
                        "D:PLAINTEXT,E:PLAINTEXT",
                        NULL};
    load_fails(b9, NULL, "5 listeners not named in controller.listener.names", "at most 4");

    const char *a3[] = {"--set", "admin.listener=none", NULL};
    load_ok(&cfg, a3, NULL);
    assert_false(cfg.admin_enabled);
    rn_config_free(&cfg);
    const char *a4[] = {"--set", "admin.listener=127.0.0.1:0", NULL};
    load_ok(&cfg, a4, NULL);
    assert_true(cfg.admin_enabled);
    assert_string_equal(cfg.admin_host, "127.0.0.1");
    assert_int_equal(cfg.admin_port, 0);
    rn_config_free(&cfg);
}

static void test_node_id_and_cores(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *a1[] = {"--set", "broker.id=3", NULL};
    load_ok(&cfg, a1, NULL);
    assert_int_equal(cfg.node_id, 3);
    rn_config_free(&cfg);
    const char *a2[] = {"--set", "broker.id=3", "--set", "node.id=4", NULL};
    load_fails(a2, NULL, "disagree", NULL);
    const char *a3[] = {"--set", "node.id=-1", NULL};
    const char *env[] = {"HOSTNAME=runnel-12", NULL};
    load_ok(&cfg, a3, env);
    assert_int_equal(cfg.node_id, 12);
    rn_config_free(&cfg);
    const char *env2[] = {"HOSTNAME=laptop", NULL};
    load_fails(a3, env2, "node.id=-1", "laptop");

    const char *a4[] = {"--set", "num.io.threads=3", NULL};
    load_ok(&cfg, a4, NULL);
    assert_int_equal(cfg.cores, 3);
    rn_config_free(&cfg);
    const char *a5[] = {"--set", "num.io.threads=3", "--set", "cores=5", NULL};
    load_ok(&cfg, a5, NULL);
    assert_int_equal(cfg.cores, 5);
    rn_config_free(&cfg);
    const char *a6[] = {"--set", "num.io.threads=500", NULL};
    load_ok(&cfg, a6, NULL);
    assert_int_equal(cfg.cores, RN_CORES_MAX);
    rn_config_free(&cfg);
    const char *a7[] = {"--set", "log.flush.interval.messages=9223372036854775807", NULL};
    load_ok(&cfg, a7, NULL);
    assert_false(cfg.durable_acks);
    assert_int_equal(cfg.topic_base.typed.flush_messages, INT64_MAX);
    rn_config_free(&cfg);
}

/* ---- cluster settings ---- */

/* Node 1 of three combined nodes; later settings override these. */
static const char *const cluster_base[] = {
    "node.id=1", "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
    "controller.listener.names=CONTROLLER",
    "controller.quorum.voters=1@127.0.0.1:9093,2@localhost:9095,3@[::1]:9097", NULL};

/* "--set" arguments for cluster_base then extra (both NULL-ended). */
static const char **cluster_args(const char *const *extra) {
    static const char *args[64];
    int n = 0;
    for (int i = 0; cluster_base[i]; i++) args[n++] = "--set", args[n++] = cluster_base[i];
    for (int i = 0; extra && extra[i]; i++) args[n++] = "--set", args[n++] = extra[i];
    assert_true(n < 64);
    args[n] = NULL;
    return args;
}

static void cluster_fails(const char *const *extra, const char *frag1, const char *frag2) {
    load_fails(cluster_args(extra), NULL, frag1, frag2);
}

static void test_cluster_single_node_defaults(void **state) {
    (void)state;
    rn_config_t cfg;
    load_ok(&cfg, NULL, NULL);
    assert_false(cfg.clustered);
    assert_int_equal(cfg.voter_count, 0);
    assert_int_equal(cfg.quorum_bootstrap_count, 0);
    assert_false(cfg.has_controller_listener);
    assert_false(cfg.has_inter_broker_listener);
    assert_int_equal(cfg.quorum_election_timeout_ms, 1000);
    assert_int_equal(cfg.quorum_fetch_timeout_ms, 2000);
    assert_int_equal(cfg.quorum_request_timeout_ms, 2000);
    assert_int_equal(cfg.broker_session_timeout_ms, 9000);
    assert_int_equal(cfg.broker_heartbeat_interval_ms, 2000);
    assert_string_equal(cfg.cluster_id, "");
    rn_config_free(&cfg);
    /* a single node may still name its controller listener, as before */
    const char *a1[] = {"--set", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093", "--set",
                        "controller.listener.names=CONTROLLER", NULL};
    load_ok(&cfg, a1, NULL);
    assert_false(cfg.clustered);
    rn_config_free(&cfg);
}

static void test_cluster_voters(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *extra[] = {
        "controller.quorum.election.timeout.ms=1500", "controller.quorum.fetch.timeout.ms=3000",
        "controller.quorum.request.timeout.ms=2500",  "broker.session.timeout.ms=6000",
        "broker.heartbeat.interval.ms=500",           NULL};
    load_ok(&cfg, cluster_args(extra), NULL);
    assert_true(cfg.clustered);
    assert_int_equal(cfg.voter_count, 3);
    assert_int_equal(cfg.voters[0].id, 1);
    assert_string_equal(cfg.voters[0].host, "127.0.0.1");
    assert_int_equal(cfg.voters[0].port, 9093);
    assert_string_equal(cfg.voters[1].host, "localhost");
    assert_int_equal(cfg.voters[2].id, 3);
    assert_string_equal(cfg.voters[2].host, "::1"); /* brackets dropped */
    assert_int_equal(cfg.voters[2].port, 9097);
    assert_true(cfg.has_controller_listener);
    assert_string_equal(cfg.controller_listener.name, "CONTROLLER");
    assert_string_equal(cfg.controller_listener.host, "127.0.0.1");
    assert_int_equal(cfg.controller_listener.port, 9093);
    assert_true(cfg.has_inter_broker_listener);
    assert_string_equal(cfg.inter_broker_listener.name, "PLAINTEXT");
    assert_int_equal(cfg.inter_broker_listener.port, 9092);
    assert_int_equal(cfg.quorum_election_timeout_ms, 1500);
    assert_int_equal(cfg.quorum_fetch_timeout_ms, 3000);
    assert_int_equal(cfg.quorum_request_timeout_ms, 2500);
    assert_int_equal(cfg.broker_session_timeout_ms, 6000);
    assert_int_equal(cfg.broker_heartbeat_interval_ms, 500);
    /* the controller listener is never advertised to clients */
    assert_int_equal(cfg.advertised_count, 1);
    rn_config_free(&cfg);

    /* unbracketed IPv6: the last colon splits host and port, as in Kafka */
    const char *v6[] = {"controller.quorum.voters=1@::1:9093", NULL};
    load_ok(&cfg, cluster_args(v6), NULL);
    assert_string_equal(cfg.voters[0].host, "::1");
    rn_config_free(&cfg);
}

static void test_cluster_voters_invalid(void **state) {
    (void)state;
    const char *bad_id[] = {"controller.quorum.voters=x@localhost:9093", NULL};
    cluster_fails(bad_id, "failed to parse voter ID as an integer from 'x'", NULL);
    const char *neg_id[] = {"controller.quorum.voters=-1@localhost:9093", NULL};
    cluster_fails(neg_id, "voter ID", "'-1'");
    const char *no_at[] = {"controller.quorum.voters=1localhost:9093", NULL};
    cluster_fails(no_at, "'1localhost:9093'", "{id}@{host}:{port}");
    const char *no_port[] = {"controller.quorum.voters=1@localhost", NULL};
    cluster_fails(no_port, "failed to parse the port from 'localhost'", "{id}@{host}:{port}");
    const char *empty_port[] = {"controller.quorum.voters=1@localhost:", NULL};
    cluster_fails(empty_port, "failed to parse the port", NULL);
    const char *no_host[] = {"controller.quorum.voters=1@:9093", NULL};
    cluster_fails(no_host, "failed to parse the host name from ':9093'", NULL);
    const char *big_port[] = {"controller.quorum.voters=1@localhost:99999", NULL};
    cluster_fails(big_port, "port out of range: '99999'", NULL);
    const char *zero_port[] = {"controller.quorum.voters=1@localhost:0", NULL};
    cluster_fails(zero_port, "port out of range: '0'", NULL);
    const char *dup[] = {"controller.quorum.voters=1@127.0.0.1:9093,2@b:1,1@c:2", NULL};
    cluster_fails(dup, "voter ID 1 appears twice", "127.0.0.1:9093 and c:2");
    const char *many[] = {"controller.quorum.voters=1@127.0.0.1:9093,2@h:1,3@h:2,4@h:3,5@h:4,"
                          "6@h:5,7@h:6,8@h:7,9@h:8,10@h:9",
                          NULL};
    cluster_fails(many, "more than 9 voters", NULL);
}

static void test_cluster_bootstrap_servers(void **state) {
    (void)state;
    rn_config_t cfg;
    /* KIP-853: bootstrap servers alone, a dynamic quorum */
    const char *dyn[] = {"controller.quorum.voters=",
                         "controller.quorum.bootstrap.servers=127.0.0.1:9093, [::1]:9095", NULL};
    load_ok(&cfg, cluster_args(dyn), NULL);
    assert_true(cfg.clustered);
    assert_int_equal(cfg.voter_count, 0);
    assert_int_equal(cfg.quorum_bootstrap_count, 2);
    assert_string_equal(cfg.quorum_bootstrap[0].host, "127.0.0.1");
    assert_int_equal(cfg.quorum_bootstrap[0].port, 9093);
    assert_string_equal(cfg.quorum_bootstrap[1].host, "::1");
    assert_int_equal(cfg.quorum_bootstrap[1].port, 9095);
    assert_true(cfg.has_controller_listener);
    rn_config_free(&cfg);
    /* both, as Kafka allows: the voters are the quorum, the servers find it */
    const char *both[] = {"controller.quorum.bootstrap.servers=localhost:9095", NULL};
    load_ok(&cfg, cluster_args(both), NULL);
    assert_int_equal(cfg.voter_count, 3);
    assert_int_equal(cfg.quorum_bootstrap_count, 1);
    rn_config_free(&cfg);
    const char *no_port[] = {"controller.quorum.bootstrap.servers=localhost", NULL};
    cluster_fails(no_port, "failed to parse the port from 'localhost'", "{host}:{port}");
    const char *no_host[] = {"controller.quorum.bootstrap.servers=:9093", NULL};
    cluster_fails(no_host, "failed to parse the host name", "controller.quorum.bootstrap.servers");
}

static void test_cluster_controller_checks(void **state) {
    (void)state;
    const char *not_voter[] = {"node.id=4", NULL};
    cluster_fails(not_voter, "the node id 4 must be included in the set of voters",
                  "controller.quorum.voters={1, 2, 3}");
    const char *wrong_port[] = {"controller.quorum.voters=1@127.0.0.1:9999", NULL};
    cluster_fails(wrong_port, "1@127.0.0.1:9999 names port 9999",
                  "no listener of controller.listener.names listens on it");
    /* (with CONTROLLER still listening, the listener's protocol fails first, as in Kafka) */
    const char *no_names[] = {"controller.listener.names=", "listeners=PLAINTEXT://:9092", NULL};
    cluster_fails(no_names,
                  "controller.listener.names must contain at least one value appearing in the "
                  "'listeners' configuration",
                  NULL);
    const char *names_missing[] = {"controller.listener.names=CONTROLLER,OTHER", NULL};
    cluster_fails(names_missing, "must only contain values appearing in the 'listeners'", "OTHER");
    const char *unmapped[] = {"listener.security.protocol.map=PLAINTEXT:PLAINTEXT", NULL};
    cluster_fails(unmapped, "CONTROLLER", "listener.security.protocol.map");
    const char *heartbeat[] = {"broker.heartbeat.interval.ms=9000", NULL};
    cluster_fails(heartbeat, "broker.heartbeat.interval.ms (9000) must be less than",
                  "broker.session.timeout.ms (9000)");
    const char *election[] = {"controller.quorum.election.timeout.ms=0", NULL};
    cluster_fails(election, "controller.quorum.election.timeout.ms", "at least 1");
    const char *controller_only[] = {"process.roles=controller", "listeners=CONTROLLER://:9093",
                                     "controller.quorum.voters=", NULL};
    cluster_fails(controller_only, "either controller.quorum.bootstrap.servers must contain",
                  "controller.quorum.voters must contain a parseable set");
}

/* A broker-only node 4 of the cluster of cluster_base. */
static void test_cluster_broker_only(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *ok[] = {"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://:9192", NULL};
    load_ok(&cfg, cluster_args(ok), NULL);
    assert_true(cfg.role_broker && !cfg.role_controller);
    assert_true(cfg.has_controller_listener);
    assert_string_equal(cfg.controller_listener.name, "CONTROLLER");
    assert_int_equal(cfg.controller_listener.port, 0);
    rn_config_free(&cfg);
    const char *voter[] = {"process.roles=broker", "listeners=PLAINTEXT://:9192", NULL};
    cluster_fails(voter, "just the 'broker' role, the node id 1 must not be included",
                  "controller.quorum.voters={1, 2, 3}");
    const char *ctl_listener[] = {"process.roles=broker", "node.id=4", NULL};
    cluster_fails(ctl_listener, "controller.listener.names must not contain a value appearing",
                  "just the broker role");
    const char *no_names[] = {"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://:9192",
                              "controller.listener.names=", NULL};
    cluster_fails(no_names, "controller.listener.names must contain at least one value",
                  "just the broker role");
    const char *unmapped[] = {"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://:9192",
                              "listener.security.protocol.map=PLAINTEXT:PLAINTEXT", NULL};
    cluster_fails(unmapped, "CONTROLLER", "listener.security.protocol.map");
    const char *alone[] = {"process.roles=broker", "node.id=4", "listeners=PLAINTEXT://:9192",
                           "controller.quorum.voters=", NULL};
    cluster_fails(alone, "If using process.roles, either controller.quorum.bootstrap.servers",
                  NULL);
}

/* A pod that kubectl scale added past the replica count the voter list was
   written for serves as a broker only; a voter list written out by hand
   still refuses a combined node outside it, as Kafka does. */
static void test_cluster_scaled_past_voters(void **state) {
    (void)state;
    const char *args[] = {"--set", "node.id=${ORDINAL}",
                          "--set", "process.roles=broker,controller",
                          "--set", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
                          "--set", "controller.listener.names=CONTROLLER",
                          "--set", "controller.quorum.voters=${EACH}@${STATEFULSET}-${EACH}.h:9093",
                          NULL};
    const char *pod3[] = {"POD_NAME=runnel-3", "REPLICAS=3", NULL};
    rn_config_t cfg;
    load_ok(&cfg, args, pod3);
    assert_int_equal(cfg.node_id, 3);
    assert_true(cfg.role_broker && !cfg.role_controller);
    assert_int_equal(cfg.listener_count, 1);
    assert_string_equal(cfg.listeners[0].name, "PLAINTEXT");
    assert_true(cfg.has_controller_listener);
    assert_string_equal(cfg.controller_listener.name, "CONTROLLER");
    assert_int_equal(cfg.voter_count, 3);
    rn_config_free(&cfg);
    /* A pod within the replica count stays a voter. */
    const char *pod2[] = {"POD_NAME=runnel-2", "REPLICAS=3", NULL};
    load_ok(&cfg, args, pod2);
    assert_true(cfg.role_broker && cfg.role_controller);
    assert_int_equal(cfg.listener_count, 2);
    rn_config_free(&cfg);
    /* The same voters written out: node 3 is refused. */
    const char *literal[] = {"--set", "node.id=3",
                             "--set", "process.roles=broker,controller",
                             "--set", "listeners=PLAINTEXT://:9092,CONTROLLER://:9093",
                             "--set", "controller.listener.names=CONTROLLER",
                             "--set", "controller.quorum.voters=0@a:9093,1@b:9093,2@c:9093",
                             NULL};
    load_fails(literal, NULL, "the node id 3 must be included in the set of voters", NULL);
    /* A controller-only pod past the voters cannot serve as a broker. */
    const char *ctl[] = {"--set", "node.id=${ORDINAL}",
                         "--set", "process.roles=controller",
                         "--set", "listeners=CONTROLLER://:9093",
                         "--set", "controller.listener.names=CONTROLLER",
                         "--set", "controller.quorum.voters=${EACH}@${STATEFULSET}-${EACH}.h:9093",
                         NULL};
    load_fails(ctl, pod3, "the node id 3 must be included in the set of voters", NULL);
}

static void test_cluster_inter_broker_and_id(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *ctl[] = {"inter.broker.listener.name=CONTROLLER", NULL};
    cluster_fails(ctl,
                  "inter.broker.listener.name must be a listener name defined in "
                  "advertised.listeners",
                  "are PLAINTEXT");
    const char *unknown[] = {"inter.broker.listener.name=FOO", NULL};
    cluster_fails(unknown, "Listener with name FOO defined in inter.broker.listener.name",
                  "listener.security.protocol.map");
    /* no PLAINTEXT listener: the default name fails in a cluster */
    const char *no_plain[] = {"listeners=INTERNAL://:9092,CONTROLLER://127.0.0.1:9093",
                              "listener.security.protocol.map=INTERNAL:PLAINTEXT,"
                              "CONTROLLER:PLAINTEXT",
                              NULL};
    cluster_fails(no_plain, "Listener with name PLAINTEXT", NULL);
    const char *internal[] = {"listeners=INTERNAL://:9092,CONTROLLER://127.0.0.1:9093",
                              "listener.security.protocol.map=INTERNAL:PLAINTEXT,"
                              "CONTROLLER:PLAINTEXT",
                              "inter.broker.listener.name=internal", NULL};
    load_ok(&cfg, cluster_args(internal), NULL);
    assert_string_equal(cfg.inter_broker_listener.name, "INTERNAL");
    rn_config_free(&cfg);
    /* a single node checks the name only when given */
    const char *single[] = {"--set", "inter.broker.listener.name=NOPE", NULL};
    load_fails(single, NULL, "NOPE", NULL);

    const char *id[] = {"--set", "cluster.id= MkU3OEVBNTcwNTJENDM2Qg ", NULL};
    load_ok(&cfg, id, NULL);
    assert_string_equal(cfg.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
    rn_config_free(&cfg);
    const char *short_id[] = {"--set", "cluster.id=abc", NULL};
    load_fails(short_id, NULL, "cluster.id", "22 base64url characters (16 bytes");
    const char *long_id[] = {"--set", "cluster.id=MkU3OEVBNTcwNTJENDM2QgAAAA", NULL};
    load_fails(long_id, NULL, "cluster.id", "not 26");
    const char *bad_char[] = {"--set", "cluster.id=MkU3OEVBNTcwNTJENDM2Q+", NULL};
    load_fails(bad_char, NULL, "cluster.id", "'+' is not a base64url character");
    const char *not_canonical[] = {"--set", "cluster.id=MkU3OEVBNTcwNTJENDM2QB", NULL};
    load_fails(not_canonical, NULL, "cluster.id", "canonical");
    const char *zero[] = {"--set", "cluster.id=AAAAAAAAAAAAAAAAAAAAAA", NULL};
    load_fails(zero, NULL, "cluster.id", "reserved");
}

static void test_describe_iterator(void **state) {
    (void)state;
    rn_config_t cfg;
    const char *a1[] = {"--set", "num.partitions=9", "--set", "queued.max.requests=10", NULL};
    rn_log_set_level(RN_LOG_ERROR);
    load_ok(&cfg, a1, NULL);
    rn_log_set_level(RN_LOG_INFO);
    int pos = 0, seen = 0;
    bool saw_partitions = false, saw_queued = false, saw_ignored_default = false;
    rn_config_item_t item;
    while (rn_config_next(&cfg, &pos, &item)) {
        seen++;
        if (strcmp(item.def->name, "num.partitions") == 0) {
            saw_partitions = true;
            assert_string_equal(item.value, "9");
            assert_int_equal(item.source, RN_CONFIG_SOURCE_STATIC_BROKER);
            assert_int_equal(item.origin, RN_CONFIG_ORIGIN_SET);
        }
        if (strcmp(item.def->name, "queued.max.requests") == 0) saw_queued = true;
        if (strcmp(item.def->name, "background.threads") == 0) saw_ignored_default = true;
        if (strcmp(item.def->name, "log.segment.bytes") == 0)
            assert_int_equal(item.source, RN_CONFIG_SOURCE_DEFAULT);
    }
    assert_true(seen > 50);
    assert_true(saw_partitions);
    assert_true(saw_queued);
    assert_false(saw_ignored_default);
    rn_config_free(&cfg);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    assert_non_null(mkdtemp(tmp_dir));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_env_mapping),
        cmocka_unit_test(test_env_names_unique),
        cmocka_unit_test(test_properties_syntax),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_leader_elections),
        cmocka_unit_test(test_retention_precedence),
        cmocka_unit_test(test_listeners),
        cmocka_unit_test(test_node_id_and_cores),
        cmocka_unit_test(test_describe_iterator),
        cmocka_unit_test(test_cluster_single_node_defaults),
        cmocka_unit_test(test_cluster_voters),
        cmocka_unit_test(test_cluster_voters_invalid),
        cmocka_unit_test(test_cluster_bootstrap_servers),
        cmocka_unit_test(test_cluster_controller_checks),
        cmocka_unit_test(test_cluster_broker_only),
        cmocka_unit_test(test_cluster_scaled_past_voters),
        cmocka_unit_test(test_cluster_inter_broker_and_id),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return failed;
}
