/*
 * dyn_broker.h: the broker settings that change at run time, through
 * IncrementalAlterConfigs and AlterConfigs on BROKER resources, and their
 * effective values from the metadata image.
 *
 * What it does: keeps the one table of dynamic broker keys (today the
 * replication throttles: leader.replication.throttled.rate,
 * follower.replication.throttled.rate and
 * replica.alter.log.dirs.io.max.bytes.per.second, bytes per second, longs
 * >= 0, Kafka's default Long.MAX_VALUE meaning unthrottled; and Runnel's
 * runnel.drain, a boolean: true has the balancer move every replica and
 * leadership off the broker, docs/BALANCING.md), checks a value
 * as Kafka's broker does (its messages), and resolves a key for one broker
 * as Kafka does: the broker's own entry (resource "<id>",
 * DYNAMIC_BROKER_CONFIG), else the cluster default (resource "",
 * DYNAMIC_DEFAULT_BROKER_CONFIG), else the default (DEFAULT_CONFIG).
 *
 * What it owns: the static table. Entries live in the image as BROKER
 * ConfigRecords (rn_image_broker_config_*).
 *
 * What it must never do: accept a key outside the table as dynamic, or a
 * value the table's type and bounds refuse.
 */
#ifndef RN_METADATA_DYN_BROKER_H
#define RN_METADATA_DYN_BROKER_H

#include "metadata/config_value.h"
#include "metadata/image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rn_dyn_key {
    RN_DYN_LEADER_REPLICATION_THROTTLED_RATE,
    RN_DYN_FOLLOWER_REPLICATION_THROTTLED_RATE,
    RN_DYN_REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND,
    RN_DYN_RUNNEL_DRAIN, /* Runnel's own: the balancer empties the broker */
    RN_DYN__COUNT
} rn_dyn_key_t;

/* A key's definition (name, type, bounds, default text, doc). */
const rn_config_def_t *rn_dyn_def(rn_dyn_key_t key);
/* The key named `name`, or -1 when it is not a dynamic broker key. */
int rn_dyn_key(const char *name);

/* Checks value (NULL: null) for key; on failure writes Kafka's message into
   msg ("Invalid value abc for configuration k: Not a number of type LONG")
   and returns RN_ERR_INVALID. */
rn_err_t rn_dyn_check(rn_dyn_key_t key, const char *value, char *msg, size_t msg_len);

/* The text of key as set on resource ("<id>" or "" for the cluster
   default) in img; NULL when not set there. */
const char *rn_dyn_text(const rn_image_t *img, const char *resource, rn_dyn_key_t key);

/* The effective text of key for broker_id and where it comes from
   (DYNAMIC_BROKER, DYNAMIC_DEFAULT_BROKER or DEFAULT). */
const char *rn_dyn_effective(const rn_image_t *img, int32_t broker_id, rn_dyn_key_t key,
                             rn_config_source_t *source);

/* The effective value of a rate key for broker_id, bytes per second;
   INT64_MAX when unthrottled (Kafka's default). */
int64_t rn_dyn_rate(const rn_image_t *img, int32_t broker_id, rn_dyn_key_t key);

/* Parses a BROKER resource name as Java's Integer.valueOf: "" (the
   cluster default, *id -1) or a decimal int, maybe signed (a negative id
   is the caller's to refuse). false for anything else. */
bool rn_dyn_resource_id(const char *name, size_t len, int32_t *id);

#endif
