/*
 * topic_config.h: topic-level settings, their validation, and a topic's
 * effective configuration.
 *
 * What it does: defines every topic setting Kafka has (names, types, defaults,
 * validators), checks override values as CreateTopics and AlterConfigs need,
 * and resolves a topic's effective settings from its overrides on top of the
 * broker-wide defaults, with the source DescribeConfigs reports for each:
 * TOPIC (an override), STATIC_BROKER (the broker setting was given in the
 * file, environment or --set) or DEFAULT.
 *
 * What it owns: nothing beyond the static definition table. A base borrows
 * its default texts from whoever filled it (server/config.c keeps them alive
 * for the process); override texts are owned by the metadata image.
 *
 * What it must never do: know the broker's setting names or sources (the
 * server layer maps them into a base), or accept an unknown or invalid value.
 */
#ifndef RN_METADATA_TOPIC_CONFIG_H
#define RN_METADATA_TOPIC_CONFIG_H

#include "metadata/config_value.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys, in the order of Kafka's alphabetical documentation. */
typedef enum rn_tc_key {
    RN_TC_CLEANUP_POLICY,
    RN_TC_COMPRESSION_GZIP_LEVEL,
    RN_TC_COMPRESSION_LZ4_LEVEL,
    RN_TC_COMPRESSION_TYPE,
    RN_TC_COMPRESSION_ZSTD_LEVEL,
    RN_TC_DELETE_RETENTION_MS,
    RN_TC_FILE_DELETE_DELAY_MS,
    RN_TC_FLUSH_MESSAGES,
    RN_TC_FLUSH_MS,
    RN_TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS,
    RN_TC_INDEX_INTERVAL_BYTES,
    RN_TC_LEADER_REPLICATION_THROTTLED_REPLICAS,
    RN_TC_LOCAL_RETENTION_BYTES,
    RN_TC_LOCAL_RETENTION_MS,
    RN_TC_MAX_COMPACTION_LAG_MS,
    RN_TC_MAX_MESSAGE_BYTES,
    RN_TC_MESSAGE_DOWNCONVERSION_ENABLE,
    RN_TC_MESSAGE_FORMAT_VERSION,
    RN_TC_MESSAGE_TIMESTAMP_AFTER_MAX_MS,
    RN_TC_MESSAGE_TIMESTAMP_BEFORE_MAX_MS,
    RN_TC_MESSAGE_TIMESTAMP_DIFFERENCE_MAX_MS,
    RN_TC_MESSAGE_TIMESTAMP_TYPE,
    RN_TC_MIN_CLEANABLE_DIRTY_RATIO,
    RN_TC_MIN_COMPACTION_LAG_MS,
    RN_TC_MIN_INSYNC_REPLICAS,
    RN_TC_PREALLOCATE,
    RN_TC_REMOTE_LOG_COPY_DISABLE,
    RN_TC_REMOTE_LOG_DELETE_ON_DISABLE,
    RN_TC_REMOTE_STORAGE_ENABLE,
    RN_TC_RETENTION_BYTES,
    RN_TC_RETENTION_MS,
    RN_TC_SEGMENT_BYTES,
    RN_TC_SEGMENT_INDEX_BYTES,
    RN_TC_SEGMENT_JITTER_MS,
    RN_TC_SEGMENT_MS,
    RN_TC_UNCLEAN_LEADER_ELECTION_ENABLE,
    RN_TC__COUNT
} rn_tc_key_t;

/* cleanup.policy bits (the order of the allowed values). */
enum {
    RN_CLEANUP_COMPACT = 1u << 0,
    RN_CLEANUP_DELETE = 1u << 1,
};

/* message.timestamp.type */
typedef enum rn_timestamp_type {
    RN_TIMESTAMP_CREATE_TIME = 0,
    RN_TIMESTAMP_LOG_APPEND_TIME = 1,
} rn_timestamp_type_t;

/* compression.type (the order of the allowed values). */
typedef enum rn_topic_compression {
    RN_TOPIC_COMPRESSION_UNCOMPRESSED = 0,
    RN_TOPIC_COMPRESSION_ZSTD,
    RN_TOPIC_COMPRESSION_LZ4,
    RN_TOPIC_COMPRESSION_SNAPPY,
    RN_TOPIC_COMPRESSION_GZIP,
    RN_TOPIC_COMPRESSION_PRODUCER,
} rn_topic_compression_t;

/* A topic's effective settings, typed, as storage and handlers read them. */
typedef struct rn_topic_config {
    uint32_t cleanup_policy; /* RN_CLEANUP_* bits */
    rn_topic_compression_t compression_type;
    int32_t compression_gzip_level;
    int32_t compression_lz4_level;
    int32_t compression_zstd_level;
    int64_t delete_retention_ms;
    int64_t file_delete_delay_ms;
    int64_t flush_messages; /* 1: fsync before every acknowledgement (durable) */
    int64_t flush_ms;
    int32_t index_interval_bytes;
    int64_t local_retention_bytes;
    int64_t local_retention_ms;
    int64_t max_compaction_lag_ms;
    int32_t max_message_bytes;
    bool message_downconversion_enable;
    int64_t message_timestamp_after_max_ms;
    int64_t message_timestamp_before_max_ms;
    int64_t message_timestamp_difference_max_ms;
    rn_timestamp_type_t message_timestamp_type;
    double min_cleanable_dirty_ratio;
    int64_t min_compaction_lag_ms;
    int32_t min_insync_replicas;
    bool preallocate;
    bool remote_storage_enable;
    int64_t retention_bytes; /* -1: no size limit */
    int64_t retention_ms;    /* -1: keep forever */
    int32_t segment_bytes;
    int32_t segment_index_bytes;
    int64_t segment_jitter_ms;
    int64_t segment_ms;
    bool unclean_leader_election_enable;
} rn_topic_config_t;

/*
 * The broker-wide defaults of every topic setting: text (borrowed), source
 * (DEFAULT or STATIC_BROKER) and the typed form. Built once at start-up and
 * read-only afterwards, so any thread may read it.
 */
typedef struct rn_topic_config_base {
    const char *text[RN_TC__COUNT];
    rn_config_source_t source[RN_TC__COUNT];
    rn_topic_config_t typed;
} rn_topic_config_base_t;

/* Overrides of one topic, by key; NULL is "not overridden". */
typedef const char *rn_topic_overrides_t[RN_TC__COUNT];

/* The definition of a key, and the key of a name (-1 if unknown). */
const rn_config_def_t *rn_topic_config_def(rn_tc_key_t key);
int rn_topic_config_key(const char *name);
/* The broker setting that gives a key its default ("log.retention.ms"), or NULL. */
const char *rn_topic_config_synonym(rn_tc_key_t key);

/* Fills base with Kafka's topic defaults, every source DEFAULT. */
void rn_topic_config_base_init(rn_topic_config_base_t *base);
/*
 * Sets the broker-wide default of one key. text is borrowed and must outlive
 * base. RN_ERR_INVALID (with why) if the text is not a valid value.
 */
rn_err_t rn_topic_config_base_set(rn_topic_config_base_t *base, rn_tc_key_t key, const char *text,
                                  rn_config_source_t source, char *why, size_t why_len);

/*
 * Checks one override as CreateTopics and AlterConfigs receive it. Returns
 * RN_OK and sets *key; RN_ERR_NOT_FOUND for a name Kafka does not know
 * ("Unknown topic config name: x"); RN_ERR_INVALID for a bad value ("Invalid
 * value v for configuration x: reason"). msg gets Kafka's error message.
 */
rn_err_t rn_topic_config_check(const char *name, const char *value, rn_tc_key_t *key, char *msg,
                               size_t msg_len);

/*
 * Resolves the effective settings: each override parsed on top of the base.
 * An override that no longer parses (written by a newer version) is skipped
 * and counted; returns that count (0 normally).
 */
int rn_topic_config_resolve(const rn_topic_config_base_t *base,
                            const rn_topic_overrides_t overrides, rn_topic_config_t *out);

/* The text and source DescribeConfigs reports for one key of a topic. */
const char *rn_topic_config_describe(const rn_topic_config_base_t *base,
                                     const rn_topic_overrides_t overrides, rn_tc_key_t key,
                                     rn_config_source_t *source);

#endif
