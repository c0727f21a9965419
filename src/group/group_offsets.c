/*
 * group_offsets.c: committed offsets of the groups of one shard (a hash
 * table per group keyed by topic and partition), Kafka's checks before a
 * commit, offset expiry (offsets.retention.minutes), and the admin
 * operations DeleteGroups and OffsetDelete. Pure (group.h): persistence of
 * tombstones goes out through the shard's hooks.
 */
#include "group/group_int.h"
#include "base/assert.h"
#include "proto/kerr.h"

#include <stdlib.h>
#include <string.h>

static uint32_t okey_hash(rn_str_t topic, int32_t partition) {
    uint32_t h = rn_group_hash(topic.ptr ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0);
    return (h ^ (uint32_t)partition) * 16777619u;
}

static group_okey_t *okey_find(const rn_group_t *group, rn_str_t topic, int32_t partition,
                               group_okey_t ***link_out) {
    if (group->obucket_count == 0) return NULL;
    uint32_t h = okey_hash(topic, partition);
    group_okey_t **link = &group->obuckets[h & (uint32_t)(group->obucket_count - 1)];
    for (; *link; link = &(*link)->next) {
        group_okey_t *key = *link;
        if (key->hash == h && key->partition == partition && rn_group_str_is(topic, key->topic)) {
            if (link_out) *link_out = link;
            return key;
        }
    }
    return NULL;
}

static void okey_free(group_okey_t *key) {
    free(key->topic);
    free(key->metadata);
    free(key);
}

static void offsets_grow(rn_group_t *group) {
    int32_t count = group->obucket_count ? group->obucket_count * 2 : 16;
    group_okey_t **buckets = calloc((size_t)count, sizeof *buckets);
    RN_ASSERT(buckets != NULL);
    for (int32_t b = 0; b < group->obucket_count; b++) {
        group_okey_t *key = group->obuckets[b];
        while (key) {
            group_okey_t *next = key->next;
            uint32_t slot = key->hash & (uint32_t)(count - 1);
            key->next = buckets[slot];
            buckets[slot] = key;
            key = next;
        }
    }
    free(group->obuckets);
    group->obuckets = buckets;
    group->obucket_count = count;
}

void rn_group_offsets_free(rn_group_t *group) {
    for (int32_t b = 0; b < group->obucket_count; b++) {
        group_okey_t *key = group->obuckets[b];
        while (key) {
            group_okey_t *next = key->next;
            okey_free(key);
            key = next;
        }
    }
    free(group->obuckets);
    group->obuckets = NULL;
    group->obucket_count = 0;
    group->offset_count = 0;
}

rn_err_t rn_group_offset_put(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t topic,
                             int32_t partition, const rn_group_offset_t *value) {
    rn_group_t *group = rn_group_get_or_create(coord, group_id);
    if (!group) return RN_ERR_LIMIT;
    group_okey_t *key = okey_find(group, topic, partition, NULL);
    if (!key) {
        if (group->offset_count >= RN_GROUP_OFFSETS_MAX) return RN_ERR_LIMIT;
        if (group->offset_count >= group->obucket_count) offsets_grow(group);
        key = calloc(1, sizeof *key);
        RN_ASSERT(key != NULL);
        key->hash = okey_hash(topic, partition);
        key->partition = partition;
        key->topic = rn_group_strdup(topic);
        uint32_t slot = key->hash & (uint32_t)(group->obucket_count - 1);
        key->next = group->obuckets[slot];
        group->obuckets[slot] = key;
        group->offset_count++;
    }
    free(key->metadata);
    key->metadata = strdup(value->metadata ? value->metadata : "");
    RN_ASSERT(key->metadata != NULL);
    key->value = *value;
    key->value.metadata = key->metadata;
    return RN_OK;
}

bool rn_group_offset_remove(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t topic,
                            int32_t partition) {
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return false;
    group_okey_t **link = NULL;
    group_okey_t *key = okey_find(group, topic, partition, &link);
    if (!key) return false;
    *link = key->next;
    okey_free(key);
    group->offset_count--;
    return true;
}

const rn_group_offset_t *rn_group_offset_get(const rn_group_t *group, rn_str_t topic,
                                             int32_t partition) {
    const group_okey_t *key = okey_find(group, topic, partition, NULL);
    return key ? &key->value : NULL;
}

void rn_group_offsets_each(const rn_group_t *group, rn_group_offset_fn fn, void *ctx) {
    for (int32_t b = 0; b < group->obucket_count; b++)
        for (const group_okey_t *key = group->obuckets[b]; key; key = key->next)
            if (fn(ctx, key->topic, key->partition, &key->value)) return;
}

int32_t rn_group_offset_count(const rn_group_t *group) { return group->offset_count; }

int16_t rn_group_commit_check(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                              rn_str_t instance_id, int32_t generation, int64_t now_ms) {
    if (coord->refusal) return coord->refusal;
    if (group_id.len <= 0 || group_id.len > RN_GROUP_ID_BYTES_MAX) return RN_KERR_INVALID_GROUP_ID;
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return generation < 0 ? RN_KERR_NONE : RN_KERR_ILLEGAL_GENERATION;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_group_member_t *by_instance = rn_group_member_by_instance(group, instance_id);
    if (by_instance && !rn_group_str_is(member_id, by_instance->member_id))
        return RN_KERR_FENCED_INSTANCE_ID;
    if (generation < 0 && group->state == RN_GROUP_EMPTY) return RN_KERR_NONE;
    if (group->state == RN_GROUP_COMPLETING_REBALANCE) return RN_KERR_REBALANCE_IN_PROGRESS;
    rn_group_member_t *member = rn_group_member_find(group, member_id);
    if (!member) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (generation != group->generation) return RN_KERR_ILLEGAL_GENERATION;
    member->deadline_ms = now_ms + member->session_timeout_ms;
    return RN_KERR_NONE;
}

int16_t rn_group_txn_commit_check(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                                  rn_str_t instance_id, int32_t generation) {
    if (coord->refusal) return coord->refusal;
    if (group_id.len <= 0 || group_id.len > RN_GROUP_ID_BYTES_MAX) return RN_KERR_INVALID_GROUP_ID;
    rn_group_t *group = rn_group_find(coord, group_id);
    bool names_member = generation >= 0 || member_id.len > 0 || instance_id.len >= 0;
    if (!group) return generation < 0 ? RN_KERR_NONE : RN_KERR_UNKNOWN_MEMBER_ID;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    if (generation < 0 && group->state == RN_GROUP_EMPTY) return RN_KERR_NONE;
    if (!names_member) return RN_KERR_NONE;
    if (instance_id.len >= 0) {
        rn_group_member_t *by_instance = rn_group_member_by_instance(group, instance_id);
        if (!by_instance) return RN_KERR_UNKNOWN_MEMBER_ID;
        if (!rn_group_str_is(member_id, by_instance->member_id)) return RN_KERR_FENCED_INSTANCE_ID;
    } else if (!rn_group_member_find(group, member_id)) {
        return RN_KERR_UNKNOWN_MEMBER_ID;
    }
    return generation == group->generation ? RN_KERR_NONE : RN_KERR_ILLEGAL_GENERATION;
}

/* ---- the consumer protocol's subscription (topics only) ---- */

/* Whether a ConsumerProtocolSubscription (versions 0-3, not flexible:
   int16 version, int32 topic count, int16-length topic names, ...) names
   `topic`. Undecodable metadata counts as subscribed (the safe answer). */
static bool subscription_has(rn_bytes_t meta, rn_str_t topic) {
    rn_reader_t r;
    rn_reader_init(&r, meta.ptr, meta.len > 0 ? (size_t)meta.len : 0);
    (void)rn_read_int16(&r);
    int32_t count = rn_read_int32(&r);
    if (r.err != RN_OK || count < 0) return true;
    for (int32_t i = 0; i < count && r.err == RN_OK; i++) {
        rn_str_t name = rn_read_string(&r, false);
        if (r.err == RN_OK && rn_str_eq(name, topic)) return true;
    }
    return r.err != RN_OK;
}

bool rn_group_subscribed(const rn_group_t *group, rn_str_t topic) {
    if (!group->protocol_type || strcmp(group->protocol_type, "consumer")) return false;
    for (int32_t i = 0; i < group->member_count; i++)
        if (subscription_has(rn_group_member_metadata(group, group->members[i]), topic))
            return true;
    return false;
}

/* ---- administration ---- */

static int remove_each(void *ctx, const char *topic, int32_t partition,
                       const rn_group_offset_t *value) {
    (void)value;
    rn_group_coord_t *coord = ((void **)ctx)[0];
    const rn_group_t *group = ((void **)ctx)[1];
    coord->hooks.offset_removed(coord->hooks.ctx, group->id, topic, partition);
    return 0;
}

/* Writes tombstones for every offset and the metadata, then frees it. */
static void group_drop(rn_group_coord_t *coord, rn_group_t *group) {
    void *ctx[2] = {coord, group};
    rn_group_offsets_each(group, remove_each, ctx);
    if (group->has_metadata) coord->hooks.group_removed(coord->hooks.ctx, group->id);
    for (int32_t i = 0; i < group->pending_count; i++) free(group->pending[i].member_id);
    group->pending_count = 0;
    rn_group_destroy(coord, group);
}

int16_t rn_group_delete(rn_group_coord_t *coord, rn_str_t group_id) {
    if (coord->refusal) return coord->refusal;
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return RN_KERR_GROUP_ID_NOT_FOUND;
    if (group->state != RN_GROUP_EMPTY || group->member_count > 0) return RN_KERR_NON_EMPTY_GROUP;
    group_drop(coord, group);
    return RN_KERR_NONE;
}

int16_t rn_group_offset_delete_check(rn_group_coord_t *coord, rn_str_t group_id) {
    if (coord->refusal) return coord->refusal;
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return RN_KERR_GROUP_ID_NOT_FOUND;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_GROUP_ID_NOT_FOUND;
    bool consumer = group->protocol_type && !strcmp(group->protocol_type, "consumer");
    if (group->state != RN_GROUP_EMPTY && !consumer) return RN_KERR_NON_EMPTY_GROUP;
    return RN_KERR_NONE;
}

/* ---- expiry ---- */

typedef struct expire_ctx {
    rn_group_coord_t *coord;
    rn_group_t *group;
    int64_t wall_ms;
    int64_t base_ms; /* -1: each offset's commit time */
    group_okey_t *doomed;
} expire_ctx_t;

static bool offset_expired(const expire_ctx_t *ctx, const rn_group_offset_t *value) {
    if (value->expire_timestamp_ms >= 0) return ctx->wall_ms >= value->expire_timestamp_ms;
    int64_t base = ctx->base_ms >= 0 ? ctx->base_ms : value->commit_timestamp_ms;
    return ctx->wall_ms - base >= ctx->coord->cfg.offsets_retention_ms;
}

bool rn_group_expire_offsets(rn_group_coord_t *coord, rn_group_t *group, int64_t wall_ms) {
    /* Kafka 2.1+: a group-managed group's offsets expire only once it is
       Empty, counted from when it became Empty; a standalone group's
       (no protocol type) from each commit. */
    bool managed = group->protocol_type && group->protocol_type[0];
    if (managed && group->state != RN_GROUP_EMPTY) return false;
    expire_ctx_t ctx = {coord, group, wall_ms, managed ? group->state_timestamp_ms : -1, NULL};
    for (int32_t b = 0; b < group->obucket_count; b++) {
        group_okey_t **link = &group->obuckets[b];
        while (*link) {
            group_okey_t *key = *link;
            if (!offset_expired(&ctx, &key->value)) {
                link = &key->next;
                continue;
            }
            *link = key->next;
            group->offset_count--;
            coord->hooks.offset_removed(coord->hooks.ctx, group->id, key->topic, key->partition);
            okey_free(key);
        }
    }
    if (group->state != RN_GROUP_EMPTY || group->offset_count > 0 || group->member_count > 0 ||
        group->pending_count > 0)
        return false;
    group_drop(coord, group);
    return true;
}
