/*
 * topic_config.c: the table of topic settings, their validation and the
 * resolution of a topic's effective settings.
 *
 * Defaults and validators follow Kafka 3.9's LogConfig. Each key also names
 * the field of rn_topic_config_t its typed value lands in.
 */
#include "metadata/topic_config.h"

#include "base/assert.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L_MAX "9223372036854775807"
#define I64_MAX INT64_MAX
#define I32_MAX INT32_MAX

static const char *const allowed_cleanup[] = {"compact", "delete", NULL};
static const char *const allowed_timestamp[] = {"CreateTime", "LogAppendTime", NULL};
static const char *const allowed_compression[] = {"uncompressed", "zstd",     "lz4", "snappy",
                                                  "gzip",         "producer", NULL};
/* message.format.version: the versions Kafka 3.9 parses (its MetadataVersion
   names, and the release names up to 3.9). Accepted and ignored, as Kafka
   does from 3.0 on: every batch is stored as sent, in format v2. */
static const char *const message_format_versions[] = {
    "0.8.0",      "0.8.1",      "0.8.2",      "0.9.0",   "0.10.0-IV0", "0.10.0-IV1", "0.10.0",
    "0.10.1-IV0", "0.10.1-IV1", "0.10.1-IV2", "0.10.1",  "0.10.2-IV0", "0.10.2",     "0.11.0-IV0",
    "0.11.0-IV1", "0.11.0-IV2", "0.11.0",     "1.0-IV0", "1.0",        "1.1-IV0",    "1.1",
    "2.0-IV0",    "2.0-IV1",    "2.0",        "2.1-IV0", "2.1-IV1",    "2.1-IV2",    "2.1",
    "2.2-IV0",    "2.2-IV1",    "2.2",        "2.3-IV0", "2.3-IV1",    "2.3",        "2.4-IV0",
    "2.4-IV1",    "2.4",        "2.5-IV0",    "2.5",     "2.6-IV0",    "2.6",        "2.7-IV0",
    "2.7-IV1",    "2.7-IV2",    "2.7",        "2.8-IV0", "2.8-IV1",    "2.8",        "3.0-IV0",
    "3.0-IV1",    "3.0",        "3.1-IV0",    "3.1",     "3.2-IV0",    "3.2",        "3.3-IV0",
    "3.3-IV1",    "3.3-IV2",    "3.3-IV3",    "3.3",     "3.4-IV0",    "3.4",        "3.5-IV0",
    "3.5-IV1",    "3.5-IV2",    "3.5",        "3.6-IV0", "3.6-IV1",    "3.6-IV2",    "3.6",
    "3.7-IV0",    "3.7-IV1",    "3.7-IV2",    "3.7-IV3", "3.7-IV4",    "3.7",        "3.8-IV0",
    "3.8",        "3.9-IV0",    "3.9",        "4.0-IV0", "4.0-IV1",    NULL};

#define LONG_DEF(n, d, lo, doc_)                                                                   \
    { .name = n, .type = RN_CONFIG_LONG, .default_text = d, .min = lo, .max = I64_MAX, .doc = doc_ }
#define INT_DEF(n, d, lo, hi, doc_)                                                                \
    { .name = n, .type = RN_CONFIG_INT, .default_text = d, .min = lo, .max = hi, .doc = doc_ }
#define BOOL_DEF(n, d, doc_)                                                                       \
    { .name = n, .type = RN_CONFIG_BOOL, .default_text = d, .doc = doc_ }

static const rn_config_def_t defs[RN_TC__COUNT] = {
    [RN_TC_CLEANUP_POLICY] = {.name = "cleanup.policy",
                              .type = RN_CONFIG_LIST,
                              .default_text = "delete",
                              .allowed = allowed_cleanup,
                              .flags = RN_CONFIG_F_NONEMPTY,
                              .synonym = "log.cleanup.policy",
                              .doc = "delete: remove old segments; compact: keep the latest "
                                     "record per key, refuse records without a key"},
    [RN_TC_COMPRESSION_GZIP_LEVEL] = {.name = "compression.gzip.level",
                                      .type = RN_CONFIG_INT,
                                      .default_text = "-1",
                                      .min = 1,
                                      .max = 9,
                                      .flags = RN_CONFIG_F_MINUS_ONE,
                                      .synonym = "compression.gzip.level",
                                      .doc = "gzip level when the broker recompresses"},
    [RN_TC_COMPRESSION_LZ4_LEVEL] =
        INT_DEF("compression.lz4.level", "9", 1, 17, "lz4 level when the broker recompresses"),
    [RN_TC_COMPRESSION_TYPE] = {.name = "compression.type",
                                .type = RN_CONFIG_STRING,
                                .default_text = "producer",
                                .allowed = allowed_compression,
                                .synonym = "compression.type",
                                .doc = "producer keeps batches as sent (Runnel stores them "
                                       "unchanged); other codecs are not applied yet"},
    [RN_TC_COMPRESSION_ZSTD_LEVEL] = INT_DEF("compression.zstd.level", "3", -131072, 22,
                                             "zstd level when the broker recompresses"),
    [RN_TC_DELETE_RETENTION_MS] = LONG_DEF("delete.retention.ms", "86400000", 0,
                                           "how long delete tombstones stay in compacted logs"),
    [RN_TC_FILE_DELETE_DELAY_MS] = LONG_DEF(
        "file.delete.delay.ms", "60000", 0,
        "wait before removing a deleted topic's files (retention removes segments at once)"),
    [RN_TC_FLUSH_MESSAGES] = LONG_DEF("flush.messages", L_MAX, 1,
                                      "fsync after this many messages; 1 = fsync before "
                                      "acknowledging (Runnel's broker default)"),
    [RN_TC_FLUSH_MS] = LONG_DEF("flush.ms", L_MAX, 0, "fsync at least this often"),
    [RN_TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS] =
        {.name = "follower.replication.throttled.replicas",
         .type = RN_CONFIG_LIST,
         .default_text = "",
         .doc = "replicas throttled on the follower side (partition:broker,"
                " or *)"},
    [RN_TC_INDEX_INTERVAL_BYTES] =
        INT_DEF("index.interval.bytes", "4096", 0, I32_MAX, "bytes between offset index entries"),
    [RN_TC_LEADER_REPLICATION_THROTTLED_REPLICAS] =
        {.name = "leader.replication.throttled.replicas",
         .type = RN_CONFIG_LIST,
         .default_text = "",
         .doc = "replicas throttled on the leader side (partition:broker,"
                " or *)"},
    [RN_TC_LOCAL_RETENTION_BYTES] = LONG_DEF("local.retention.bytes", "-2", -2,
                                             "tiered storage: local bytes kept (-2: "
                                             "retention.bytes)"),
    [RN_TC_LOCAL_RETENTION_MS] = LONG_DEF("local.retention.ms", "-2", -2,
                                          "tiered storage: local time kept (-2: retention.ms)"),
    [RN_TC_MAX_COMPACTION_LAG_MS] =
        LONG_DEF("max.compaction.lag.ms", L_MAX, 1, "longest a record stays uncompacted"),
    [RN_TC_MAX_MESSAGE_BYTES] = INT_DEF("max.message.bytes", "1048588", 0, I32_MAX,
                                        "largest record batch the topic accepts"),
    [RN_TC_MESSAGE_DOWNCONVERSION_ENABLE] = BOOL_DEF("message.downconversion.enable", "true",
                                                     "convert for old fetchers (ignored: "
                                                     "Runnel serves v2 batches only)"),
    [RN_TC_MESSAGE_FORMAT_VERSION] = {.name = "message.format.version",
                                      .type = RN_CONFIG_STRING,
                                      .default_text = "3.0-IV1",
                                      .flags = RN_CONFIG_F_IGNORED,
                                      .doc = "deprecated; any version Kafka knows is accepted "
                                             "and ignored (always format v2)"},
    [RN_TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS] = LONG_DEF("message.timestamp.after.max.ms", L_MAX, 0,
                                                      "how far ahead of the broker's clock "
                                                      "a CreateTime may be"),
    [RN_TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS] = LONG_DEF("message.timestamp.before.max.ms", L_MAX, 0,
                                                       "how far behind the broker's "
                                                       "clock a CreateTime may be"),
    [RN_TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS] =
        LONG_DEF("message.timestamp.difference.max.ms", L_MAX, 0,
                 "deprecated: both bounds of a CreateTime's distance from the clock"),
    [RN_TC_MESSAGE_TIMESTAMP_TYPE] = {.name = "message.timestamp.type",
                                      .type = RN_CONFIG_STRING,
                                      .default_text = "CreateTime",
                                      .allowed = allowed_timestamp,
                                      .synonym = "log.message.timestamp.type",
                                      .doc = "CreateTime keeps the producer's timestamps; "
                                             "LogAppendTime stamps the broker's clock"},
    [RN_TC_MIN_CLEANABLE_DIRTY_RATIO] = {.name = "min.cleanable.dirty.ratio",
                                         .type = RN_CONFIG_DOUBLE,
                                         .default_text = "0.5",
                                         .min_double = 0.0,
                                         .max_double = 1.0,
                                         .synonym = "log.cleaner.min.cleanable.ratio",
                                         .doc = "dirty share of a log that triggers compaction"},
    [RN_TC_MIN_COMPACTION_LAG_MS] =
        LONG_DEF("min.compaction.lag.ms", "0", 0, "shortest a record stays uncompacted"),
    [RN_TC_MIN_INSYNC_REPLICAS] =
        INT_DEF("min.insync.replicas", "1", 1, I32_MAX, "in-sync replicas an acks=all write needs"),
    [RN_TC_PREALLOCATE] = BOOL_DEF("preallocate", "false", "preallocate segment files"),
    [RN_TC_REMOTE_LOG_COPY_DISABLE] = BOOL_DEF("remote.log.copy.disable", "false",
                                               "tiered storage: stop copying (not supported)"),
    [RN_TC_REMOTE_LOG_DELETE_ON_DISABLE] = BOOL_DEF("remote.log.delete.on.disable", "false",
                                                    "tiered storage: delete remote data when "
                                                    "disabled (not supported)"),
    [RN_TC_REMOTE_STORAGE_ENABLE] =
        BOOL_DEF("remote.storage.enable", "false", "tiered storage (not supported: must be false)"),
    [RN_TC_RETENTION_BYTES] = {.name = "retention.bytes",
                               .type = RN_CONFIG_LONG,
                               .default_text = "-1",
                               .min = INT64_MIN,
                               .max = I64_MAX,
                               .synonym = "log.retention.bytes",
                               .doc = "size a partition may grow to before old segments are "
                                      "deleted; -1 = no limit"},
    [RN_TC_RETENTION_MS] = {.name = "retention.ms",
                            .type = RN_CONFIG_LONG,
                            .default_text = "604800000",
                            .min = -1,
                            .max = I64_MAX,
                            .synonym = "log.retention.ms",
                            .doc = "age after which segments are deleted; -1 = forever"},
    [RN_TC_SEGMENT_BYTES] = INT_DEF("segment.bytes", "1073741824", 14, I32_MAX,
                                    "size at which a new segment is rolled"),
    [RN_TC_SEGMENT_INDEX_BYTES] = INT_DEF("segment.index.bytes", "10485760", 4, I32_MAX,
                                          "largest offset or time index of a segment"),
    [RN_TC_SEGMENT_JITTER_MS] =
        LONG_DEF("segment.jitter.ms", "0", 0, "random jitter subtracted from segment.ms"),
    [RN_TC_SEGMENT_MS] =
        LONG_DEF("segment.ms", "604800000", 1, "age at which a new segment is rolled"),
    [RN_TC_UNCLEAN_LEADER_ELECTION_ENABLE] = BOOL_DEF("unclean.leader.election.enable", "false",
                                                      "elect a leader from outside "
                                                      "the ISR as a last resort"),
};

/* Synonyms that the short definition macros could not carry. */
static const char *const synonyms[RN_TC__COUNT] = {
    [RN_TC_COMPRESSION_LZ4_LEVEL] = "compression.lz4.level",
    [RN_TC_COMPRESSION_ZSTD_LEVEL] = "compression.zstd.level",
    [RN_TC_DELETE_RETENTION_MS] = "log.cleaner.delete.retention.ms",
    [RN_TC_FILE_DELETE_DELAY_MS] = "log.segment.delete.delay.ms",
    [RN_TC_FLUSH_MESSAGES] = "log.flush.interval.messages",
    [RN_TC_FLUSH_MS] = "log.flush.interval.ms",
    [RN_TC_INDEX_INTERVAL_BYTES] = "log.index.interval.bytes",
    [RN_TC_LOCAL_RETENTION_BYTES] = "log.local.retention.bytes",
    [RN_TC_LOCAL_RETENTION_MS] = "log.local.retention.ms",
    [RN_TC_MAX_COMPACTION_LAG_MS] = "log.cleaner.max.compaction.lag.ms",
    [RN_TC_MAX_MESSAGE_BYTES] = "message.max.bytes",
    [RN_TC_MESSAGE_DOWNCONVERSION_ENABLE] = "log.message.downconversion.enable",
    [RN_TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS] = "log.message.timestamp.after.max.ms",
    [RN_TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS] = "log.message.timestamp.before.max.ms",
    [RN_TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS] = "log.message.timestamp.difference.max.ms",
    [RN_TC_MIN_COMPACTION_LAG_MS] = "log.cleaner.min.compaction.lag.ms",
    [RN_TC_MIN_INSYNC_REPLICAS] = "min.insync.replicas",
    [RN_TC_PREALLOCATE] = "log.preallocate",
    [RN_TC_SEGMENT_BYTES] = "log.segment.bytes",
    [RN_TC_SEGMENT_INDEX_BYTES] = "log.index.size.max.bytes",
    [RN_TC_SEGMENT_JITTER_MS] = "log.roll.jitter.ms",
    [RN_TC_SEGMENT_MS] = "log.roll.ms",
    [RN_TC_UNCLEAN_LEADER_ELECTION_ENABLE] = "unclean.leader.election.enable",
};

/* Where a key's typed value lands in rn_topic_config_t. */
typedef enum field_kind { F_NONE, F_I32, F_I64, F_BOOL, F_DOUBLE, F_ENUM, F_MASK } field_kind_t;
typedef struct field {
    field_kind_t kind;
    size_t offset;
} field_t;

#define FIELD(k, member)                                                                           \
    { k, offsetof(rn_topic_config_t, member) }
static const field_t fields[RN_TC__COUNT] = {
    [RN_TC_CLEANUP_POLICY] = FIELD(F_MASK, cleanup_policy),
    [RN_TC_COMPRESSION_GZIP_LEVEL] = FIELD(F_I32, compression_gzip_level),
    [RN_TC_COMPRESSION_LZ4_LEVEL] = FIELD(F_I32, compression_lz4_level),
    [RN_TC_COMPRESSION_TYPE] = FIELD(F_ENUM, compression_type),
    [RN_TC_COMPRESSION_ZSTD_LEVEL] = FIELD(F_I32, compression_zstd_level),
    [RN_TC_DELETE_RETENTION_MS] = FIELD(F_I64, delete_retention_ms),
    [RN_TC_FILE_DELETE_DELAY_MS] = FIELD(F_I64, file_delete_delay_ms),
    [RN_TC_FLUSH_MESSAGES] = FIELD(F_I64, flush_messages),
    [RN_TC_FLUSH_MS] = FIELD(F_I64, flush_ms),
    [RN_TC_INDEX_INTERVAL_BYTES] = FIELD(F_I32, index_interval_bytes),
    [RN_TC_LOCAL_RETENTION_BYTES] = FIELD(F_I64, local_retention_bytes),
    [RN_TC_LOCAL_RETENTION_MS] = FIELD(F_I64, local_retention_ms),
    [RN_TC_MAX_COMPACTION_LAG_MS] = FIELD(F_I64, max_compaction_lag_ms),
    [RN_TC_MAX_MESSAGE_BYTES] = FIELD(F_I32, max_message_bytes),
    [RN_TC_MESSAGE_DOWNCONVERSION_ENABLE] = FIELD(F_BOOL, message_downconversion_enable),
    [RN_TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS] = FIELD(F_I64, message_timestamp_after_max_ms),
    [RN_TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS] = FIELD(F_I64, message_timestamp_before_max_ms),
    [RN_TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS] = FIELD(F_I64, message_timestamp_difference_max_ms),
    [RN_TC_MESSAGE_TIMESTAMP_TYPE] = FIELD(F_ENUM, message_timestamp_type),
    [RN_TC_MIN_CLEANABLE_DIRTY_RATIO] = FIELD(F_DOUBLE, min_cleanable_dirty_ratio),
    [RN_TC_MIN_COMPACTION_LAG_MS] = FIELD(F_I64, min_compaction_lag_ms),
    [RN_TC_MIN_INSYNC_REPLICAS] = FIELD(F_I32, min_insync_replicas),
    [RN_TC_PREALLOCATE] = FIELD(F_BOOL, preallocate),
    [RN_TC_REMOTE_STORAGE_ENABLE] = FIELD(F_BOOL, remote_storage_enable),
    [RN_TC_RETENTION_BYTES] = FIELD(F_I64, retention_bytes),
    [RN_TC_RETENTION_MS] = FIELD(F_I64, retention_ms),
    [RN_TC_SEGMENT_BYTES] = FIELD(F_I32, segment_bytes),
    [RN_TC_SEGMENT_INDEX_BYTES] = FIELD(F_I32, segment_index_bytes),
    [RN_TC_SEGMENT_JITTER_MS] = FIELD(F_I64, segment_jitter_ms),
    [RN_TC_SEGMENT_MS] = FIELD(F_I64, segment_ms),
    [RN_TC_UNCLEAN_LEADER_ELECTION_ENABLE] = FIELD(F_BOOL, unclean_leader_election_enable),
};

const rn_config_def_t *rn_topic_config_def(rn_tc_key_t key) {
    RN_ASSERT(key >= 0 && key < RN_TC__COUNT);
    RN_ASSERT(defs[key].name != NULL);
    return &defs[key];
}

/* The broker setting that defaults a key, or NULL. */
const char *rn_topic_config_synonym(rn_tc_key_t key) {
    RN_ASSERT(key >= 0 && key < RN_TC__COUNT);
    return defs[key].synonym ? defs[key].synonym : synonyms[key];
}

int rn_topic_config_key(const char *name) { return rn_config_def_find(defs, RN_TC__COUNT, name); }

static void store(rn_topic_config_t *out, rn_tc_key_t key, const rn_config_value_t *value) {
    const field_t *f = &fields[key];
    char *at = (char *)out + f->offset;
    switch (f->kind) {
    case F_NONE:
        return;
    case F_I32:
        *(int32_t *)(void *)at = (int32_t)value->i;
        return;
    case F_I64:
        *(int64_t *)(void *)at = value->i;
        return;
    case F_BOOL:
        *(bool *)at = value->i != 0;
        return;
    case F_DOUBLE:
        *(double *)(void *)at = value->d;
        return;
    case F_ENUM:
        *(int *)(void *)at = (int)value->i;
        return;
    case F_MASK:
        *(uint32_t *)(void *)at = (uint32_t)value->i;
        return;
    }
}

/* Checks beyond the definition's bounds; writes why on failure. */
static rn_err_t check_extra(rn_tc_key_t key, const char *text, const rn_config_value_t *value,
                            char *why, size_t why_len);

void rn_topic_config_base_init(rn_topic_config_base_t *base) {
    RN_STATIC_ASSERT(sizeof(rn_timestamp_type_t) == sizeof(int), "enum fields store as int");
    RN_STATIC_ASSERT(sizeof(rn_topic_compression_t) == sizeof(int), "enum fields store as int");
    memset(base, 0, sizeof(*base));
    for (int key = 0; key < RN_TC__COUNT; key++) {
        char why[RN_CONFIG_WHY_BYTES];
        rn_config_value_t value;
        RN_ASSERT(defs[key].name != NULL);
        rn_err_t err =
            rn_config_value_parse(&defs[key], defs[key].default_text, &value, why, sizeof(why));
        RN_ASSERT(err == RN_OK); /* every default is valid */
        base->text[key] = defs[key].default_text;
        base->source[key] = RN_CONFIG_SOURCE_DEFAULT;
        store(&base->typed, (rn_tc_key_t)key, &value);
    }
}

rn_err_t rn_topic_config_base_set(rn_topic_config_base_t *base, rn_tc_key_t key, const char *text,
                                  rn_config_source_t source, char *why, size_t why_len) {
    RN_ASSERT(key >= 0 && key < RN_TC__COUNT);
    RN_ASSERT(text != NULL);
    rn_config_value_t value;
    rn_err_t err = rn_config_value_parse(&defs[key], text, &value, why, why_len);
    if (err == RN_OK) err = check_extra(key, text, &value, why, why_len);
    if (err != RN_OK) return err;
    base->text[key] = text;
    base->source[key] = source;
    store(&base->typed, key, &value);
    return RN_OK;
}

/* One "partition:broker" pair of a throttled-replicas list, or "*". */
static bool throttled_item_ok(void *ctx, const char *item, size_t item_len) {
    bool *ok = ctx;
    if (item_len == 1 && item[0] == '*') return true;
    size_t n = 0, digits = 0;
    while (n < item_len && isdigit((unsigned char)item[n])) n++, digits++;
    if (digits == 0 || n >= item_len || item[n] != ':') goto bad;
    n++;
    digits = 0;
    while (n < item_len && isdigit((unsigned char)item[n])) n++, digits++;
    if (digits == 0 || n != item_len) goto bad;
    return true;
bad:
    *ok = false;
    return false;
}

/* As Kafka's MetadataVersion.fromVersionString: past the third dot-separated
   part of a 0.x version, or the second of a later one, parts are ignored
   ("0.10.0.1" is 0.10.0, "2.8.1" is 2.8); the rest must name a version. */
static bool message_format_version_ok(const char *text) {
    while (isspace((unsigned char)*text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    int parts = strncmp(text, "0.", 2) == 0 ? 3 : 2;
    size_t key_len = len;
    for (size_t n = 0, dots = 0; n < len; n++) {
        if (text[n] != '.' || ++dots != (size_t)parts) continue;
        /* Only dots after it: empty trailing parts, which Java's split drops. */
        size_t rest = n + 1;
        while (rest < len && text[rest] == '.') rest++;
        if (rest < len) key_len = n;
        break;
    }
    for (const char *const *v = message_format_versions; *v; v++)
        if (strlen(*v) == key_len && strncmp(*v, text, key_len) == 0) return true;
    return false;
}

static rn_err_t check_extra(rn_tc_key_t key, const char *text, const rn_config_value_t *value,
                            char *why, size_t why_len) {
    if (key == RN_TC_MESSAGE_FORMAT_VERSION && !message_format_version_ok(text)) {
        snprintf(why, why_len, "Version %s is not a valid version", text);
        return RN_ERR_INVALID;
    }
    if (key == RN_TC_REMOTE_STORAGE_ENABLE && value->i) {
        snprintf(why, why_len, "Tiered storage is not supported by this broker");
        return RN_ERR_INVALID;
    }
    if (key == RN_TC_LEADER_REPLICATION_THROTTLED_REPLICAS ||
        key == RN_TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS) {
        bool ok = true;
        rn_config_list_each(text, throttled_item_ok, &ok);
        if (!ok) {
            snprintf(why, why_len,
                     "must be the literal '*' or a list of replicas in the following format: "
                     "[partitionId]:[brokerId],[partitionId]:[brokerId],...");
            return RN_ERR_INVALID;
        }
    }
    return RN_OK;
}

rn_err_t rn_topic_config_check(const char *name, const char *value, rn_tc_key_t *key, char *msg,
                               size_t msg_len) {
    RN_ASSERT(name != NULL);
    RN_ASSERT(msg_len > 0);
    int found = rn_topic_config_key(name);
    if (found < 0) {
        snprintf(msg, msg_len, "Unknown topic config name: %s", name);
        return RN_ERR_NOT_FOUND;
    }
    if (value == NULL) {
        snprintf(msg, msg_len, "Null value not supported for topic configs: %s", name);
        return RN_ERR_INVALID;
    }
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_value_t parsed;
    rn_err_t err = rn_config_value_parse(&defs[found], value, &parsed, why, sizeof(why));
    if (err == RN_OK) err = check_extra((rn_tc_key_t)found, value, &parsed, why, sizeof(why));
    if (err != RN_OK) {
        snprintf(msg, msg_len, "Invalid value %s for configuration %s: %s", value, name, why);
        return RN_ERR_INVALID;
    }
    *key = (rn_tc_key_t)found;
    return RN_OK;
}

int rn_topic_config_resolve(const rn_topic_config_base_t *base,
                            const rn_topic_overrides_t overrides, rn_topic_config_t *out) {
    RN_ASSERT(base != NULL);
    RN_ASSERT(out != NULL);
    *out = base->typed;
    int skipped = 0;
    for (int key = 0; key < RN_TC__COUNT; key++) {
        if (overrides == NULL || overrides[key] == NULL) continue;
        char why[RN_CONFIG_WHY_BYTES];
        rn_config_value_t value;
        if (rn_config_value_parse(&defs[key], overrides[key], &value, why, sizeof(why)) != RN_OK ||
            check_extra((rn_tc_key_t)key, overrides[key], &value, why, sizeof(why)) != RN_OK) {
            skipped++;
            continue;
        }
        store(out, (rn_tc_key_t)key, &value);
    }
    return skipped;
}

const char *rn_topic_config_describe(const rn_topic_config_base_t *base,
                                     const rn_topic_overrides_t overrides, rn_tc_key_t key,
                                     rn_config_source_t *source) {
    RN_ASSERT(key >= 0 && key < RN_TC__COUNT);
    RN_ASSERT(source != NULL);
    if (overrides && overrides[key]) {
        *source = RN_CONFIG_SOURCE_TOPIC;
        return overrides[key];
    }
    *source = base->source[key];
    return base->text[key];
}
