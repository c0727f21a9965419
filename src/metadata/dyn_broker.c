/*
 * dyn_broker.c: the dynamic broker keys and their effective values (see
 * dyn_broker.h). Pure: reads the image it is given.
 */
#include "metadata/dyn_broker.h"
#include "base/assert.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's default of every throttle: Long.MAX_VALUE, unthrottled. */
#define DYN_UNTHROTTLED "9223372036854775807"

static const rn_config_def_t defs[RN_DYN__COUNT] = {
    [RN_DYN_LEADER_REPLICATION_THROTTLED_RATE] =
        {.name = "leader.replication.throttled.rate",
         .type = RN_CONFIG_LONG,
         .default_text = DYN_UNTHROTTLED,
         .min = 0,
         .max = INT64_MAX,
         .doc = "bytes per second a leader sends to the replicas its topics list in "
                "leader.replication.throttled.replicas while their partition moves"},
    [RN_DYN_FOLLOWER_REPLICATION_THROTTLED_RATE] =
        {.name = "follower.replication.throttled.rate",
         .type = RN_CONFIG_LONG,
         .default_text = DYN_UNTHROTTLED,
         .min = 0,
         .max = INT64_MAX,
         .doc = "bytes per second a follower fetches for the replicas its topics list in "
                "follower.replication.throttled.replicas while their partition moves"},
    [RN_DYN_REPLICA_ALTER_LOG_DIRS_IO_MAX_BYTES_PER_SECOND] =
        {.name = "replica.alter.log.dirs.io.max.bytes.per.second",
         .type = RN_CONFIG_LONG,
         .default_text = DYN_UNTHROTTLED,
         .min = 0,
         .max = INT64_MAX,
         .doc = "bytes per second for moving replicas between log directories (one log "
                "directory per broker here: stored, with no effect)"},
    [RN_DYN_RUNNEL_DRAIN] = {.name = "runnel.drain",
                             .type = RN_CONFIG_BOOL,
                             .default_text = "false",
                             .doc = "true: the balancer moves every replica and leadership off "
                                    "this broker (runnel cluster drain)"},
};

const rn_config_def_t *rn_dyn_def(rn_dyn_key_t key) {
    RN_ASSERT(key >= 0 && key < RN_DYN__COUNT);
    return &defs[key];
}

int rn_dyn_key(const char *name) {
    RN_ASSERT(name != NULL);
    return rn_config_def_find(defs, RN_DYN__COUNT, name);
}

rn_err_t rn_dyn_check(rn_dyn_key_t key, const char *value, char *msg, size_t msg_len) {
    RN_ASSERT(key >= 0 && key < RN_DYN__COUNT);
    RN_ASSERT(msg_len > 0);
    msg[0] = '\0';
    if (!value) {
        snprintf(msg, msg_len, "Null value not supported for : %s", defs[key].name);
        return RN_ERR_INVALID;
    }
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_value_t parsed;
    if (rn_config_value_parse(&defs[key], value, &parsed, why, sizeof why) == RN_OK) return RN_OK;
    snprintf(msg, msg_len, "Invalid value %.64s for configuration %s: %s", value, defs[key].name,
             why);
    return RN_ERR_INVALID;
}

const char *rn_dyn_text(const rn_image_t *img, const char *resource, rn_dyn_key_t key) {
    RN_ASSERT(key >= 0 && key < RN_DYN__COUNT);
    for (int32_t n = 0; n < rn_image_broker_config_count(img); n++) {
        const rn_image_broker_config_t *bc = rn_image_broker_config_at(img, n);
        if (!strcmp(bc->resource, resource) && !strcmp(bc->key, defs[key].name)) return bc->value;
    }
    return NULL;
}

const char *rn_dyn_effective(const rn_image_t *img, int32_t broker_id, rn_dyn_key_t key,
                             rn_config_source_t *source) {
    RN_ASSERT(broker_id >= 0);
    char own[16];
    snprintf(own, sizeof own, "%d", broker_id);
    const char *text = rn_dyn_text(img, own, key);
    *source = RN_CONFIG_SOURCE_DYNAMIC_BROKER;
    if (text) return text;
    text = rn_dyn_text(img, "", key);
    *source = RN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER;
    if (text) return text;
    *source = RN_CONFIG_SOURCE_DEFAULT;
    return defs[key].default_text;
}

int64_t rn_dyn_rate(const rn_image_t *img, int32_t broker_id, rn_dyn_key_t key) {
    rn_config_source_t source;
    const char *text = rn_dyn_effective(img, broker_id, key, &source);
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_value_t value;
    /* The controller checked it; a value it could not have written reads
       as unthrottled rather than as a stop. */
    if (rn_config_value_parse(&defs[key], text, &value, why, sizeof why) != RN_OK) return INT64_MAX;
    RN_ASSERT(value.i >= 0);
    return value.i;
}

bool rn_dyn_resource_id(const char *name, size_t len, int32_t *id) {
    *id = -1;
    if (len == 0) return true;
    bool minus = name[0] == '-';
    size_t n = minus || name[0] == '+' ? 1 : 0;
    if (n == len || len - n > 10) return false;
    int64_t v = 0;
    for (; n < len; n++) {
        if (!isdigit((unsigned char)name[n])) return false;
        v = v * 10 + (name[n] - '0');
    }
    if (minus) v = -v;
    if (v > INT32_MAX || v < INT32_MIN) return false;
    *id = (int32_t)v;
    return true;
}
