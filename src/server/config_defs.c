/*
 * config_defs.c: the table of broker settings.
 *
 * One row per setting: Kafka's name, type, default, bounds or allowed values,
 * flags, the topic setting it is the default of, and the doc line
 * docs/CONFIGURATION.md repeats. Defaults are Kafka's except where the row's
 * doc says "Runnel" and docs/CONFIGURATION.md explains why. Rows marked
 * RN_CONFIG_F_IGNORED are Kafka settings Runnel accepts so existing files and
 * manifests keep working, but that have no effect; giving one logs a warning.
 */
#include "server/config.h"

#include "base/limits.h"

#define L_MAX "9223372036854775807"
#define I64_MAX INT64_MAX
#define I32_MAX INT32_MAX

/* Defaults that limits.h also names (checked in test_config.c). */
static const char *const allowed_roles[] = {"broker", "controller", NULL};
static const char *const allowed_cleanup[] = {"compact", "delete", NULL};
static const char *const allowed_timestamp[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const allowed_compression[] = {"uncompressed", "zstd", "lz4", "snappy",
                                                  "gzip", "producer", NULL};

#define INT(n, d, lo, hi, doc_) \
    {.name = n, .type = RN_CONFIG_INT, .default_text = d, .min = lo, .max = hi, .doc = doc_}
#define LONG(n, d, lo, doc_) \
    {.name = n, .type = RN_CONFIG_LONG, .default_text = d, .min = lo, .max = I64_MAX, .doc = doc_}
#define BOOL(n, d, doc_) {.name = n, .type = RN_CONFIG_BOOL, .default_text = d, .doc = doc_}
#define STRING(n, d, doc_) {.name = n, .type = RN_CONFIG_STRING, .default_text = d, .doc = doc_}
#define LIST(n, d, doc_) {.name = n, .type = RN_CONFIG_LIST, .default_text = d, .doc = doc_}
#define NULL_INT(n, lo, doc_)                                                             \
    {.name = n, .type = RN_CONFIG_INT, .min = lo, .max = I32_MAX, .flags = RN_CONFIG_F_NULLABLE, \
     .doc = doc_}
#define NULL_LONG(n, lo, doc_)                                                             \
    {.name = n, .type = RN_CONFIG_LONG, .min = lo, .max = I64_MAX, .flags = RN_CONFIG_F_NULLABLE, \
     .doc = doc_}
/* A Kafka setting accepted for compatibility and ignored. */
#define IGNORED(n, t, d)                                                                  \
    {.name = n, .type = t, .default_text = d, .min = INT64_MIN, .max = I64_MAX,          \
     .min_double = -1e300, .max_double = 1e300,                                          \
     .flags = RN_CONFIG_F_IGNORED | RN_CONFIG_F_NULLABLE, .doc = "ignored by Runnel"}

static const rn_config_def_t defs[] = {
    /* ---- identity and roles ---- */
    {.name = "node.id", .type = RN_CONFIG_INT, .default_text = "0", .min = 0, .max = I32_MAX,
     .flags = RN_CONFIG_F_MINUS_ONE,
     .doc = "this node's id; -1 = the trailing ordinal of the host name (StatefulSet pod "
            "runnel-2 is node 2)"},
    NULL_INT("broker.id", -1, "older name of node.id; must agree with it when both are set"),
    {.name = "process.roles", .type = RN_CONFIG_LIST, .default_text = "broker,controller",
     .allowed = allowed_roles, .flags = RN_CONFIG_F_NONEMPTY,
     .doc = "broker, controller, or both (combined; the single-node default)"},
    {.name = "broker.rack", .type = RN_CONFIG_STRING, .flags = RN_CONFIG_F_NULLABLE,
     .doc = "rack of this broker, reported in Metadata"},
    LIST("controller.quorum.voters", "",
         "id@host:port of each controller voter; empty = this node alone (single node)"),
    LIST("controller.quorum.bootstrap.servers", "",
         "host:port of controllers to discover the quorum from"),

    /* ---- network ---- */
    {.name = "listeners", .type = RN_CONFIG_LIST, .default_text = "PLAINTEXT://:9092",
     .flags = RN_CONFIG_F_NONEMPTY,
     .doc = "NAME://host:port to listen on; empty host = all interfaces"},
    {.name = "advertised.listeners", .type = RN_CONFIG_LIST, .flags = RN_CONFIG_F_NULLABLE,
     .doc = "NAME://host:port given to clients; default: listeners without controller ones"},
    LIST("listener.security.protocol.map",
         "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
         "listener name to security protocol; Runnel serves PLAINTEXT only for now"),
    LIST("controller.listener.names", "", "listeners that serve the controller quorum"),
    {.name = "inter.broker.listener.name", .type = RN_CONFIG_STRING,
     .flags = RN_CONFIG_F_NULLABLE, .doc = "listener brokers use among themselves"},
    INT("socket.request.max.bytes", "104857600", 1,
        RN_REQUEST_BYTES_MAX_CEILING, "largest request frame accepted"),
    INT("max.connections", "10000", 0, I32_MAX,
        "Runnel default 10000 (Kafka: unbounded): connections accepted at once"),
    LONG("connections.max.idle.ms", "600000", -1,
         "close connections idle this long; -1 = never"),
    INT("cores", "0", 0, RN_CORES_MAX,
        "Runnel: event-loop threads, each serving network and disk; 0 = the CPU count"),
    INT("num.io.threads", "8", 1, I32_MAX,
        "Kafka's request threads; when given and cores is not, sets cores"),
    INT("num.network.threads", "3", 1, I32_MAX,
        "ignored: Runnel's cores loops do network work too"),
    STRING("admin.listener", "0.0.0.0:9644",
           "Runnel: host:port of the admin HTTP port (metrics, health); none = off"),
    INT("fetch.max.bytes", "57671680", 1024, I32_MAX, "largest Fetch response"),

    /* ---- storage ---- */
    {.name = "log.dirs", .type = RN_CONFIG_LIST, .flags = RN_CONFIG_F_NULLABLE,
     .doc = "folders holding partition data; default: log.dir"},
    {.name = "log.dir", .type = RN_CONFIG_STRING, .default_text = "/tmp/runnel-logs",
     .flags = RN_CONFIG_F_NONEMPTY,
     .doc = "Runnel default /tmp/runnel-logs: the data folder when log.dirs is unset"},
    {.name = "metadata.log.dir", .type = RN_CONFIG_STRING, .flags = RN_CONFIG_F_NULLABLE,
     .doc = "folder of __cluster_metadata-0; default: the first of log.dirs"},
    {.name = "log.segment.bytes", .type = RN_CONFIG_INT, .default_text = "1073741824",
     .min = 14, .max = I32_MAX, .synonym = "segment.bytes",
     .doc = "size at which a new segment is rolled"},
    NULL_LONG("log.roll.ms", 1, "age at which a segment is rolled; default: log.roll.hours"),
    INT("log.roll.hours", "168", 1, I32_MAX, "log.roll.ms in hours"),
    NULL_LONG("log.roll.jitter.ms", 0, "jitter subtracted from the roll age"),
    INT("log.roll.jitter.hours", "0", 0, I32_MAX, "log.roll.jitter.ms in hours"),
    NULL_LONG("log.retention.ms", -1,
              "age after which segments are deleted; -1 = forever; wins over minutes, hours"),
    NULL_INT("log.retention.minutes", -1, "retention in minutes; wins over hours"),
    INT("log.retention.hours", "168", -1, I32_MAX, "retention in hours"),
    {.name = "log.retention.bytes", .type = RN_CONFIG_LONG, .default_text = "-1",
     .min = INT64_MIN, .max = I64_MAX, .synonym = "retention.bytes",
     .doc = "size a partition may grow to before old segments go; -1 = no limit"},
    LONG("log.retention.check.interval.ms", "300000", 1, "how often retention runs"),
    {.name = "log.index.interval.bytes", .type = RN_CONFIG_INT, .default_text = "4096",
     .min = 0, .max = I32_MAX, .synonym = "index.interval.bytes",
     .doc = "bytes between offset index entries"},
    {.name = "log.index.size.max.bytes", .type = RN_CONFIG_INT, .default_text = "10485760",
     .min = 4, .max = I32_MAX, .synonym = "segment.index.bytes",
     .doc = "largest index of one segment"},
    {.name = "message.max.bytes", .type = RN_CONFIG_INT, .default_text = "1048588",
     .min = 0, .max = I32_MAX, .synonym = "max.message.bytes",
     .doc = "largest record batch accepted"},
    {.name = "log.message.timestamp.type", .type = RN_CONFIG_STRING,
     .default_text = "CreateTime", .allowed = allowed_timestamp,
     .synonym = "message.timestamp.type", .doc = "CreateTime or LogAppendTime"},
    {.name = "log.message.timestamp.before.max.ms", .type = RN_CONFIG_LONG,
     .default_text = L_MAX, .max = I64_MAX, .synonym = "message.timestamp.before.max.ms",
     .doc = "how far behind the clock a CreateTime may be"},
    {.name = "log.message.timestamp.after.max.ms", .type = RN_CONFIG_LONG,
     .default_text = L_MAX, .max = I64_MAX, .synonym = "message.timestamp.after.max.ms",
     .doc = "how far ahead of the clock a CreateTime may be"},
    {.name = "log.message.timestamp.difference.max.ms", .type = RN_CONFIG_LONG,
     .default_text = L_MAX, .max = I64_MAX, .synonym = "message.timestamp.difference.max.ms",
     .doc = "deprecated: both bounds at once"},
    {.name = "log.cleanup.policy", .type = RN_CONFIG_LIST, .default_text = "delete",
     .allowed = allowed_cleanup, .flags = RN_CONFIG_F_NONEMPTY, .synonym = "cleanup.policy",
     .doc = "delete and/or compact"},
    {.name = "log.flush.interval.messages", .type = RN_CONFIG_LONG, .default_text = "1",
     .min = 1, .max = I64_MAX, .synonym = "flush.messages",
     .doc = "Runnel default 1: fsync before acknowledging (group commit); "
            "9223372036854775807 = Kafka's page-cache behaviour"},
    {.name = "log.flush.interval.ms", .type = RN_CONFIG_LONG, .min = 0, .max = I64_MAX,
     .flags = RN_CONFIG_F_NULLABLE, .synonym = "flush.ms",
     .doc = "fsync at least this often; default: never on a timer"},
    {.name = "log.segment.delete.delay.ms", .type = RN_CONFIG_LONG, .default_text = "60000",
     .max = I64_MAX, .synonym = "file.delete.delay.ms",
     .doc = "wait before deleting a removed segment's files"},
    {.name = "log.preallocate", .type = RN_CONFIG_BOOL, .default_text = "false",
     .synonym = "preallocate", .doc = "preallocate segment files"},
    {.name = "log.cleaner.enable", .type = RN_CONFIG_BOOL, .default_text = "true",
     .doc = "run compaction for compact topics (compaction arrives later)"},
    {.name = "log.cleaner.delete.retention.ms", .type = RN_CONFIG_LONG,
     .default_text = "86400000", .max = I64_MAX, .synonym = "delete.retention.ms",
     .doc = "how long tombstones stay in compacted logs"},
    {.name = "log.cleaner.min.compaction.lag.ms", .type = RN_CONFIG_LONG, .default_text = "0",
     .max = I64_MAX, .synonym = "min.compaction.lag.ms",
     .doc = "shortest a record stays uncompacted"},
    {.name = "log.cleaner.max.compaction.lag.ms", .type = RN_CONFIG_LONG,
     .default_text = L_MAX, .min = 1, .max = I64_MAX, .synonym = "max.compaction.lag.ms",
     .doc = "longest a record stays uncompacted"},
    {.name = "log.cleaner.min.cleanable.ratio", .type = RN_CONFIG_DOUBLE,
     .default_text = "0.5", .min_double = 0, .max_double = 1,
     .synonym = "min.cleanable.dirty.ratio", .doc = "dirty share that triggers compaction"},
    {.name = "log.message.downconversion.enable", .type = RN_CONFIG_BOOL,
     .default_text = "true", .synonym = "message.downconversion.enable",
     .doc = "ignored: Runnel serves v2 batches only"},
    {.name = "log.local.retention.ms", .type = RN_CONFIG_LONG, .default_text = "-2",
     .min = -2, .max = I64_MAX, .synonym = "local.retention.ms",
     .doc = "tiered storage (not supported)"},
    {.name = "log.local.retention.bytes", .type = RN_CONFIG_LONG, .default_text = "-2",
     .min = -2, .max = I64_MAX, .synonym = "local.retention.bytes",
     .doc = "tiered storage (not supported)"},
    {.name = "compression.type", .type = RN_CONFIG_STRING, .default_text = "producer",
     .allowed = allowed_compression, .synonym = "compression.type",
     .doc = "producer keeps batches as sent"},
    {.name = "compression.gzip.level", .type = RN_CONFIG_INT, .default_text = "-1", .min = 1,
     .max = 9, .flags = RN_CONFIG_F_MINUS_ONE, .synonym = "compression.gzip.level",
     .doc = "gzip level when recompressing"},
    {.name = "compression.lz4.level", .type = RN_CONFIG_INT, .default_text = "9", .min = 1,
     .max = 17, .synonym = "compression.lz4.level", .doc = "lz4 level when recompressing"},
    {.name = "compression.zstd.level", .type = RN_CONFIG_INT, .default_text = "3",
     .min = -131072, .max = 22, .synonym = "compression.zstd.level",
     .doc = "zstd level when recompressing"},

    /* ---- topics, groups, transactions, replication ---- */
    INT("num.partitions", "1", 1, RN_TOPIC_PARTITIONS_MAX, "partitions of a new topic"),
    INT("default.replication.factor", "1", 1, RN_REPLICAS_MAX, "replicas of a new topic"),
    BOOL("auto.create.topics.enable", "true",
         "create a topic when Metadata or Produce names an unknown one"),
    BOOL("delete.topic.enable", "true", "allow DeleteTopics"),
    {.name = "min.insync.replicas", .type = RN_CONFIG_INT, .default_text = "1", .min = 1,
     .max = I32_MAX, .synonym = "min.insync.replicas",
     .doc = "in-sync replicas an acks=all write needs"},
    {.name = "unclean.leader.election.enable", .type = RN_CONFIG_BOOL,
     .default_text = "false", .synonym = "unclean.leader.election.enable",
     .doc = "elect a leader from outside the ISR as a last resort"},
    INT("offsets.topic.num.partitions", "50", 1, RN_TOPIC_PARTITIONS_MAX,
        "partitions of __consumer_offsets"),
    INT("offsets.topic.replication.factor", "3", 1, RN_REPLICAS_MAX,
        "replicas of __consumer_offsets, capped at the brokers present"),
    INT("offsets.retention.minutes", "10080", 1, I32_MAX, "how long committed offsets stay"),
    INT("transaction.state.log.num.partitions", "50", 1, RN_TOPIC_PARTITIONS_MAX,
        "partitions of __transaction_state"),
    INT("transaction.state.log.replication.factor", "3", 1, RN_REPLICAS_MAX,
        "replicas of __transaction_state, capped at the brokers present"),
    INT("transaction.state.log.min.isr", "2", 1, I32_MAX,
        "min.insync.replicas of __transaction_state, capped at its replicas"),
    INT("transaction.max.timeout.ms", "900000", 1, I32_MAX, "longest transaction timeout"),
    INT("transactional.id.expiration.ms", "604800000", 1, I32_MAX,
        "forget idle transactional ids after this long"),
    INT("producer.id.expiration.ms", "86400000", 1, I32_MAX,
        "forget idle producer ids after this long"),
    INT("group.initial.rebalance.delay.ms", "3000", 0, I32_MAX,
        "wait for more members before the first rebalance"),
    INT("group.min.session.timeout.ms", "6000", 0, I32_MAX, "shortest session timeout"),
    INT("group.max.session.timeout.ms", "1800000", 0, I32_MAX, "longest session timeout"),
    INT("group.max.size", "2147483647", 1, I32_MAX, "members of one group"),
    LONG("replica.lag.time.max.ms", "30000", 0, "a follower this far behind leaves the ISR"),

    /* ---- Kafka settings accepted and ignored ---- */
    IGNORED("num.recovery.threads.per.data.dir", RN_CONFIG_INT, "1"),
    IGNORED("num.replica.fetchers", RN_CONFIG_INT, "1"),
    IGNORED("background.threads", RN_CONFIG_INT, "10"),
    IGNORED("queued.max.requests", RN_CONFIG_INT, "500"),
    IGNORED("socket.send.buffer.bytes", RN_CONFIG_INT, "102400"),
    IGNORED("socket.receive.buffer.bytes", RN_CONFIG_INT, "102400"),
    IGNORED("socket.listen.backlog.size", RN_CONFIG_INT, "50"),
    IGNORED("log.flush.scheduler.interval.ms", RN_CONFIG_LONG, L_MAX),
    IGNORED("log.flush.offset.checkpoint.interval.ms", RN_CONFIG_INT, "60000"),
    IGNORED("log.flush.start.offset.checkpoint.interval.ms", RN_CONFIG_INT, "60000"),
    IGNORED("log.cleaner.threads", RN_CONFIG_INT, "1"),
    IGNORED("log.cleaner.dedupe.buffer.size", RN_CONFIG_LONG, "134217728"),
    IGNORED("log.cleaner.io.buffer.size", RN_CONFIG_INT, "524288"),
    IGNORED("log.cleaner.backoff.ms", RN_CONFIG_LONG, "15000"),
    IGNORED("log.message.format.version", RN_CONFIG_STRING, "3.0-IV1"),
    IGNORED("inter.broker.protocol.version", RN_CONFIG_STRING, "3.9-IV0"),
    IGNORED("auto.leader.rebalance.enable", RN_CONFIG_BOOL, "true"),
    IGNORED("leader.imbalance.check.interval.seconds", RN_CONFIG_LONG, "300"),
    IGNORED("leader.imbalance.per.broker.percentage", RN_CONFIG_INT, "10"),
    IGNORED("replica.fetch.max.bytes", RN_CONFIG_INT, "1048576"),
    IGNORED("replica.fetch.wait.max.ms", RN_CONFIG_INT, "500"),
    IGNORED("replica.fetch.min.bytes", RN_CONFIG_INT, "1"),
    IGNORED("replica.socket.timeout.ms", RN_CONFIG_INT, "30000"),
    IGNORED("replica.high.watermark.checkpoint.interval.ms", RN_CONFIG_LONG, "5000"),
    IGNORED("controlled.shutdown.enable", RN_CONFIG_BOOL, "true"),
    IGNORED("metric.reporters", RN_CONFIG_LIST, ""),
    IGNORED("metrics.num.samples", RN_CONFIG_INT, "2"),
    IGNORED("metrics.sample.window.ms", RN_CONFIG_LONG, "30000"),
    IGNORED("metrics.recording.level", RN_CONFIG_STRING, "INFO"),
    IGNORED("group.coordinator.rebalance.protocols", RN_CONFIG_LIST, "classic"),
    IGNORED("controller.quorum.election.timeout.ms", RN_CONFIG_INT, "1000"),
    IGNORED("controller.quorum.fetch.timeout.ms", RN_CONFIG_INT, "2000"),
    IGNORED("metadata.log.segment.bytes", RN_CONFIG_INT, "1073741824"),
    IGNORED("metadata.max.retention.ms", RN_CONFIG_LONG, "604800000"),
    IGNORED("metadata.max.retention.bytes", RN_CONFIG_LONG, "104857600"),
    IGNORED("max.connections.per.ip", RN_CONFIG_INT, "2147483647"),
    IGNORED("max.incremental.fetch.session.cache.slots", RN_CONFIG_INT, "1000"),
    IGNORED("offsets.commit.required.acks", RN_CONFIG_INT, "-1"),
    IGNORED("offsets.load.buffer.size", RN_CONFIG_INT, "5242880"),
    IGNORED("offsets.topic.segment.bytes", RN_CONFIG_INT, "104857600"),
    IGNORED("transaction.state.log.segment.bytes", RN_CONFIG_INT, "104857600"),
};

const rn_config_def_t *rn_config_defs(int *count) {
    *count = (int)(sizeof(defs) / sizeof(defs[0]));
    return defs;
}
