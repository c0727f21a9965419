/*
 * image.h: the metadata image, an immutable snapshot of topics, partitions
 * and configs built by applying metadata records.
 *
 * What it does: holds every topic by name (sorted, and hashed for O(1)
 * lookups) and by id, each with its partitions (replicas, ISR, leader,
 * epochs), its config overrides and its effective typed config; the
 * registered brokers, sorted by id; the producer-id allocation point;
 * broker-level dynamic configs. A builder applies records on top of an image
 * and finishes into a new image; topics that did not change are shared
 * between the two, and so is the broker list while no broker record changes
 * it (copy on write: it is a few KiB, copied only by a batch that touches a
 * broker, which is rare next to topic changes).
 *
 * What it owns: an image owns references to its topics; a topic owns its
 * name, partitions and override texts. Images and topics are refcounted
 * with atomics and freed by whoever drops the last reference, on any thread.
 *
 * Threading: an image never changes once finished, so any thread may read
 * it while holding a reference. One owner (the controller) publishes new
 * images into an rn_image_cell_t; loop threads take a reference with
 * rn_image_acquire, lock-free, and drop it with rn_image_release.
 *
 * What it must never do: change a finished image or topic; block.
 */
#ifndef RN_METADATA_IMAGE_H
#define RN_METADATA_IMAGE_H

#include "base/err.h"
#include "base/limits.h"
#include "metadata/records.h"
#include "metadata/topic_config.h"
#include "proto/wire.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_image_partition {
    int32_t leader; /* -1: none */
    int32_t leader_epoch;
    int32_t partition_epoch;
    int16_t replica_count;
    int16_t isr_count;
    int32_t replicas[RN_REPLICAS_MAX];
    int32_t isr[RN_REPLICAS_MAX];
    /* A reassignment in progress: bit n set when replicas[n] is being added
       (adding) or leaves once every target replica is in sync (removing);
       the target is the replicas not removing. Both 0: none. */
    uint32_t adding_mask;
    uint32_t removing_mask;
} rn_image_partition_t;

typedef struct rn_image_topic {
    atomic_long refs; /* private */
    bool frozen;      /* private: shared by a finished image */
    char name[RN_TOPIC_NAME_BYTES_MAX + 1];
    size_t name_len;
    rn_uuid_t id;
    int32_t partition_count;
    int32_t partition_cap;               /* private */
    rn_image_partition_t *partitions;    /* index = partition number */
    const char *overrides[RN_TC__COUNT]; /* owned texts; NULL = not overridden */
    int32_t override_count;
    rn_topic_config_t config; /* effective: overrides over broker defaults */
} rn_image_topic_t;

typedef struct rn_image_endpoint {
    char name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1]; /* listener name */
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    int16_t security_protocol; /* RN_MD_PROTOCOL_* */
} rn_image_endpoint_t;

/* A registered broker, as its last RegisterBrokerRecord and the fence,
   unfence and change records since. */
typedef struct rn_image_broker {
    int32_t id;
    rn_uuid_t incarnation_id;
    int64_t epoch; /* the metadata offset of its registration */
    int16_t endpoint_count;
    rn_image_endpoint_t endpoints[RN_BROKER_ENDPOINTS_MAX];
    bool has_rack;
    char rack[RN_BROKER_RACK_BYTES_MAX + 1];
    bool fenced;
    bool in_controlled_shutdown;
    rn_uuid_t directory_id; /* the data folder it registered from; zero: unknown */
} rn_image_broker_t;

/* A broker-level dynamic config entry (resource "" = cluster default). */
typedef struct rn_image_broker_config {
    char *resource;
    char *key;
    char *value;
} rn_image_broker_config_t;

typedef struct rn_image rn_image_t;

/* ---- reading (any thread holding a reference) ---- */

/* A topic by name; NULL if absent. O(1). */
const rn_image_topic_t *rn_image_topic(const rn_image_t *img, const char *name, size_t name_len);
/* A topic whose name differs from `name` only by '.' versus '_' (Kafka
   refuses to create such a pair); NULL if none. O(1). */
const rn_image_topic_t *rn_image_topic_colliding(const rn_image_t *img, const char *name,
                                                 size_t name_len);
/* A topic by id; NULL if absent. O(1). */
const rn_image_topic_t *rn_image_topic_by_id(const rn_image_t *img, const rn_uuid_t *id);
/* Topics in name order: index 0 .. rn_image_topic_count - 1. */
int32_t rn_image_topic_count(const rn_image_t *img);
const rn_image_topic_t *rn_image_topic_at(const rn_image_t *img, int32_t index);
/* Partitions over all topics. */
int64_t rn_image_partition_total(const rn_image_t *img);
/* Whether a reassignment of part is in progress. */
bool rn_image_partition_moving(const rn_image_partition_t *part);
/* The replicas of part whose bit is set in mask, in replica order, into ids
   (RN_REPLICAS_MAX); returns how many. */
int16_t rn_image_partition_pick(const rn_image_partition_t *part, uint32_t mask, int32_t *ids);
/* Where a reassignment leads: the replicas not removing, in replica order
   (every replica when none is in progress); returns how many. */
int16_t rn_image_partition_target(const rn_image_partition_t *part, int32_t *ids);
/* Metadata offset the next record will get (= records applied so far). */
uint64_t rn_image_next_offset(const rn_image_t *img);
/* First producer id of the next block to allocate. */
int64_t rn_image_next_producer_id(const rn_image_t *img);
/* The broker defaults effective configs were resolved against. */
const rn_topic_config_base_t *rn_image_config_base(const rn_image_t *img);
/* Registered brokers in id order: index 0 .. rn_image_broker_count - 1. */
int32_t rn_image_broker_count(const rn_image_t *img);
const rn_image_broker_t *rn_image_broker_at(const rn_image_t *img, int32_t index);
/* A registered broker by id; NULL if absent. O(log n). */
const rn_image_broker_t *rn_image_broker(const rn_image_t *img, int32_t id);
/* Registered, not fenced and not shutting down: may lead and get replicas. */
bool rn_image_broker_usable(const rn_image_broker_t *broker);
/* Where another broker reaches `broker`: its endpoint named `listener`
   (inter.broker.listener.name), else its first (listener "", or one it did
   not register); NULL when it registered none. */
const rn_image_endpoint_t *rn_image_broker_endpoint(const rn_image_broker_t *broker,
                                                    const char *listener);
int32_t rn_image_broker_config_count(const rn_image_t *img);
const rn_image_broker_config_t *rn_image_broker_config_at(const rn_image_t *img, int32_t index);
/* DescribeConfigs text and source of one key of a topic. */
const char *rn_image_topic_describe(const rn_image_t *img, const rn_image_topic_t *topic,
                                    rn_tc_key_t key, rn_config_source_t *source);

/* ---- references ---- */

/* A new empty image (one reference). base is borrowed and must outlive every
   image built from this one. NULL when out of memory. */
rn_image_t *rn_image_empty(const rn_topic_config_base_t *base);
void rn_image_retain(rn_image_t *img);
/* Drops a reference; the last one frees the image and its unshared topics. */
void rn_image_release(rn_image_t *img);

/* ---- building (the owner's thread) ---- */

typedef struct rn_image_builder {
    rn_image_t *img; /* private: the image under construction */
} rn_image_builder_t;

/* Starts from base (not changed; its topics are shared until modified). */
rn_err_t rn_image_builder_init(rn_image_builder_t *b, const rn_image_t *base);
/*
 * Applies one record with its offset (which must be the next one).
 * RN_ERR_CORRUPT when the record contradicts the image (a partition of an
 * unknown topic, a topic name taken twice, an unregister, fence, unfence or
 * change of a broker that is not registered or with an epoch other than its
 * registration's, a partition change leaving the leader out of the ISR or
 * the ISR outside the replicas): logs replicated from a correct controller
 * never do that. RN_ERR_NO_MEMORY, RN_ERR_LIMIT possible.
 *
 * RegisterBroker replaces any registration of that id, with the record's
 * broker_epoch; UnregisterBroker removes it. PartitionChange bumps the
 * partition epoch, and the leader epoch when the leader changes, as Kafka.
 */
rn_err_t rn_image_builder_apply(rn_image_builder_t *b, uint64_t offset, const rn_md_record_t *rec);
/* Applies every record of a batch whose first record has base_offset. */
rn_err_t rn_image_builder_apply_batch(rn_image_builder_t *b, uint64_t base_offset,
                                      const rn_md_batch_t *batch);
/* Moves the next offset forward (never back): after a snapshot's records,
   the image continues at the offset that follows the snapshot. */
void rn_image_builder_set_next_offset(rn_image_builder_t *b, uint64_t next_offset);
/* Finishes: returns the new image (one reference) and the builder is spent;
   NULL when out of memory, and the builder must then be aborted. */
rn_image_t *rn_image_builder_finish(rn_image_builder_t *b);
/* Abandons the build. */
void rn_image_builder_abort(rn_image_builder_t *b);

/* ---- publishing: one writer, many lock-free readers ---- */

/*
 * Holds the current image as a pointer packed with a count of readers in the
 * middle of acquiring it, so the publisher never frees an image a reader is
 * about to take a reference on.
 */
typedef struct rn_image_cell {
    _Atomic uint64_t word;
} rn_image_cell_t;

/* Takes over img's reference. */
void rn_image_cell_init(rn_image_cell_t *cell, rn_image_t *img);
/* Releases the published image. No reader may use the cell afterwards. */
void rn_image_cell_destroy(rn_image_cell_t *cell);
/* The current image with a new reference (release it when done). Any thread. */
rn_image_t *rn_image_acquire(rn_image_cell_t *cell);
/* The current image's address, without a reference: only to compare with one
   already held ("has it changed?"). */
const rn_image_t *rn_image_cell_peek(rn_image_cell_t *cell);
/* Installs img (taking over its reference) and drops the cell's reference
   to the previous image. Only the owner calls this. */
void rn_image_publish(rn_image_cell_t *cell, rn_image_t *img);

#endif
