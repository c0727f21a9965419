/*
 * records.h: metadata records and their binary encoding.
 *
 * What it does: defines the records that describe brokers (registration,
 * fencing, controlled shutdown), topics, partitions and their changes,
 * configs and producer-id blocks (the type numbers are those of Kafka's
 * KRaft metadata records), encodes them into batches and decodes them with
 * the bounds-checked reader of proto/wire.h. A batch is the unit the
 * metadata log writes and checksums, and that a Raft quorum will replicate.
 *
 * What it owns: a batch owns its encoded bytes. A decoded record borrows its
 * strings from the bytes it was decoded from.
 *
 * What it must never do: trust a length or count it reads; accept a version
 * it does not know.
 *
 * Encoding of one record (all integers big-endian; a string is an int16
 * length, -1 for null, then that many bytes; a bool is one byte, 0 or 1):
 *
 *   offset size  field
 *   0      1     type (rn_md_type_t)
 *   1      1     version (0 for every type but RegisterBrokerRecord, 1,
 *                 and PartitionRecord and PartitionChangeRecord, 1 when they
 *                 carry a reassignment's lists, else 0)
 *   2      ...   body, by type:
 *
 *   RegisterBrokerRecord (0) broker_id i32 | incarnation_id 16 |
 *                           broker_epoch i64 | endpoint_count i16 |
 *                           endpoints * count | rack string (null: none) |
 *                           fenced bool | in_controlled_shutdown bool |
 *                           (version 1) directory_id 16: the data folder
 *                           it registered from (version 0: unknown)
 *       endpoint            name string | host string | port u16 |
 *                           security_protocol i16
 *   UnregisterBrokerRecord (1) broker_id i32 | broker_epoch i64
 *   TopicRecord (2)         topic_id 16 | name string
 *   PartitionRecord (3)     topic_id 16 | partition i32 | leader i32 |
 *                           leader_epoch i32 | partition_epoch i32 |
 *                           replica_count i16 | replicas i32 * count |
 *                           isr_count i16 | isr i32 * count |
 *                           (version 1) removing_count i16 | removing i32 *
 *                           count | adding_count i16 | adding i32 * count:
 *                           a reassignment in progress, each a subset of
 *                           the replicas (version 0: none)
 *   ConfigRecord (4)        resource_type i8 | resource_name string |
 *                           key string | value string (null: delete)
 *   PartitionChangeRecord (5) topic_id 16 | partition i32 |
 *                           leader i32 (-1 none, -2 no change) |
 *                           isr_count i16 (-1 no change) | isr i32 * count |
 *                           replica_count i16 (-1 no change) |
 *                           replicas i32 * count |
 *                           (version 1) removing and adding as in a
 *                           PartitionRecord, replacing the partition's
 *                           (version 0: unchanged)
 *   FenceBrokerRecord (7)   broker_id i32 | broker_epoch i64
 *   UnfenceBrokerRecord (8) broker_id i32 | broker_epoch i64
 *   RemoveTopicRecord (9)   topic_id 16
 *   ProducerIdsRecord (15)  broker_id i32 | broker_epoch i64 |
 *                           next_producer_id i64
 *   BrokerRegistrationChangeRecord (17) broker_id i32 | broker_epoch i64 |
 *                           fenced i8 | in_controlled_shutdown i8
 *   VoterDirectoryRecord (120, Runnel's own: Kafka keeps voters in control
 *                           records) voter_id i32 | directory_id string:
 *                           the data folder a quorum member votes from; the
 *                           image ignores it, the quorum reads it
 *   ClusterIdRecord (121, Runnel's own: Kafka's cluster id comes from the
 *                           format step) cluster_id string: the first
 *                           leader of a new cluster writes it; every node
 *                           takes it (image ignores it, the quorum reads it)
 *                           (each -1 no change, 0 no, 1 yes)
 *
 * Decoding is strict: a bool other than 0 or 1, a tri-state other than -1,
 * 0 or 1, a security protocol Kafka does not define, a negative broker id
 * or a count or string over its limit is RN_ERR_CORRUPT.
 *
 * A batch body is a sequence of [size u32][record of that size].
 */
#ifndef RN_METADATA_RECORDS_H
#define RN_METADATA_RECORDS_H

#include "base/buf.h"
#include "base/err.h"
#include "base/limits.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum rn_md_type {
    RN_MD_REGISTER_BROKER = 0,
    RN_MD_UNREGISTER_BROKER = 1,
    RN_MD_TOPIC = 2,
    RN_MD_PARTITION = 3,
    RN_MD_CONFIG = 4,
    RN_MD_PARTITION_CHANGE = 5,
    RN_MD_FENCE_BROKER = 7,
    RN_MD_UNFENCE_BROKER = 8,
    RN_MD_REMOVE_TOPIC = 9,
    RN_MD_PRODUCER_IDS = 15,
    RN_MD_BROKER_CHANGE = 17,
    RN_MD_VOTER_DIR = 120,
    RN_MD_CLUSTER_ID = 121,
} rn_md_type_t;

typedef struct rn_md_cluster_id_record {
    rn_str_t cluster_id;
} rn_md_cluster_id_record_t;

typedef struct rn_md_voter_dir_record {
    int32_t voter_id; /* node id */
    rn_str_t directory_id;
} rn_md_voter_dir_record_t;

/* PartitionChangeRecord: the leader is unchanged; a list is unchanged. */
#define RN_MD_LEADER_NO_CHANGE (-2)
#define RN_MD_LIST_NO_CHANGE (-1)
/* BrokerRegistrationChangeRecord tri-state fields. */
#define RN_MD_FLAG_NO_CHANGE (-1)

/* Security protocols, as Kafka's SecurityProtocol ids. */
enum {
    RN_MD_PROTOCOL_PLAINTEXT = 0,
    RN_MD_PROTOCOL_SSL = 1,
    RN_MD_PROTOCOL_SASL_PLAINTEXT = 2,
    RN_MD_PROTOCOL_SASL_SSL = 3,
};

/* Config resource types, as Kafka's ConfigResource.Type. */
enum {
    RN_MD_RESOURCE_TOPIC = 2,
    RN_MD_RESOURCE_BROKER = 4,
};

typedef struct rn_md_topic_record {
    rn_uuid_t topic_id;
    rn_str_t name;
} rn_md_topic_record_t;

/* A reassignment in progress (Kafka's RemovingReplicas and AddingReplicas):
   the replicas it takes away once the new ones are in sync, and the ones it
   adds. Both empty: none. */
typedef struct rn_md_moving {
    int16_t removing_count;
    int16_t adding_count;
    int32_t removing[RN_REPLICAS_MAX];
    int32_t adding[RN_REPLICAS_MAX];
} rn_md_moving_t;

typedef struct rn_md_partition_record {
    rn_uuid_t topic_id;
    int32_t partition;
    int32_t leader; /* -1: none */
    int32_t leader_epoch;
    int32_t partition_epoch;
    int16_t replica_count;
    int16_t isr_count;
    int32_t replicas[RN_REPLICAS_MAX];
    int32_t isr[RN_REPLICAS_MAX];
    rn_md_moving_t moving;
} rn_md_partition_record_t;

typedef struct rn_md_config_record {
    int8_t resource_type;   /* RN_MD_RESOURCE_* */
    rn_str_t resource_name; /* topic name; broker id as text, "" = cluster default */
    rn_str_t key;
    rn_str_t value; /* len -1 (null): remove the override */
} rn_md_config_record_t;

typedef struct rn_md_remove_topic_record {
    rn_uuid_t topic_id;
} rn_md_remove_topic_record_t;

typedef struct rn_md_producer_ids_record {
    int32_t broker_id;
    int64_t broker_epoch;
    int64_t next_producer_id; /* first id of the next block to hand out */
} rn_md_producer_ids_record_t;

typedef struct rn_md_endpoint {
    rn_str_t name; /* listener name */
    rn_str_t host;
    uint16_t port;
    int16_t security_protocol; /* RN_MD_PROTOCOL_* */
} rn_md_endpoint_t;

typedef struct rn_md_register_broker_record {
    int32_t broker_id;
    rn_uuid_t incarnation_id;
    int64_t broker_epoch;
    int16_t endpoint_count;
    rn_md_endpoint_t endpoints[RN_BROKER_ENDPOINTS_MAX];
    rn_str_t rack; /* len -1 (null): none */
    bool fenced;
    bool in_controlled_shutdown;
    rn_uuid_t directory_id; /* its data folder's directory.id; zero: unknown */
} rn_md_register_broker_record_t;

/* UnregisterBrokerRecord, FenceBrokerRecord and UnfenceBrokerRecord. */
typedef struct rn_md_broker_epoch_record {
    int32_t broker_id;
    int64_t broker_epoch;
} rn_md_broker_epoch_record_t;

typedef struct rn_md_broker_change_record {
    int32_t broker_id;
    int64_t broker_epoch;
    int8_t fenced;                 /* RN_MD_FLAG_NO_CHANGE, 0 or 1 */
    int8_t in_controlled_shutdown; /* RN_MD_FLAG_NO_CHANGE, 0 or 1 */
} rn_md_broker_change_record_t;

typedef struct rn_md_partition_change_record {
    rn_uuid_t topic_id;
    int32_t partition;
    int32_t leader;        /* -1: none; RN_MD_LEADER_NO_CHANGE */
    int16_t isr_count;     /* RN_MD_LIST_NO_CHANGE: isr unchanged */
    int16_t replica_count; /* RN_MD_LIST_NO_CHANGE: replicas unchanged */
    int32_t isr[RN_REPLICAS_MAX];
    int32_t replicas[RN_REPLICAS_MAX];
    bool sets_moving; /* false: the reassignment lists stay as they are */
    rn_md_moving_t moving;
} rn_md_partition_change_record_t;

typedef struct rn_md_record {
    rn_md_type_t type;
    union {
        rn_md_register_broker_record_t register_broker;
        rn_md_broker_epoch_record_t broker_epoch; /* unregister, fence, unfence */
        rn_md_broker_change_record_t broker_change;
        rn_md_partition_change_record_t partition_change;
        rn_md_topic_record_t topic;
        rn_md_partition_record_t partition;
        rn_md_config_record_t config;
        rn_md_remove_topic_record_t remove_topic;
        rn_md_producer_ids_record_t producer_ids;
        rn_md_voter_dir_record_t voter_dir;
        rn_md_cluster_id_record_t cluster_id;
    } u;
} rn_md_record_t;

/* Encoded records, ready to be written or applied. */
typedef struct rn_md_batch {
    rn_buf_t buf; /* body: [size u32][record] ... */
    uint32_t count;
} rn_md_batch_t;

void rn_md_batch_init(rn_md_batch_t *batch);
void rn_md_batch_free(rn_md_batch_t *batch);
void rn_md_batch_reset(rn_md_batch_t *batch);
/* Appends one record; RN_ERR_TOO_LARGE or RN_ERR_LIMIT past the batch limits,
   RN_ERR_INVALID if a field is out of range (a string over its limit). */
rn_err_t rn_md_batch_add(rn_md_batch_t *batch, const rn_md_record_t *rec);

/* Decodes one record; strings borrow from `bytes`. RN_ERR_CORRUPT for
   malformed bytes, RN_ERR_INVALID for an unknown type or version. */
rn_err_t rn_md_record_decode(const uint8_t *bytes, size_t len, rn_md_record_t *rec);

/* Called per record of a batch body, with its index. */
typedef rn_err_t (*rn_md_record_fn)(void *ctx, uint32_t index, const rn_md_record_t *rec);
/* Decodes each of `count` records of a batch body and calls fn; stops at the
   first error (its own, or fn's). The body must hold exactly count records. */
rn_err_t rn_md_batch_each(const uint8_t *body, size_t len, uint32_t count, rn_md_record_fn fn,
                          void *ctx);

/* A C string in a fixed buffer from a borrowed string ("" for null). */
void rn_md_str_copy(rn_str_t s, char *out, size_t out_len);

#endif
