/*
 * group.c: the group shard: its table of groups, lookups, member
 * bookkeeping, timeouts, loading from stored records, and read access for
 * describe/list/persist. The rebalance protocol itself is group_join.c,
 * committed offsets group_offsets.c. Pure: no I/O, no clock (group.h).
 */
#include "group/group_int.h"
#include "base/assert.h"
#include "proto/kerr.h"

#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

uint32_t rn_group_hash(const char *ptr, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)ptr[i]) * 16777619u;
    return h;
}

char *rn_group_strdup(rn_str_t str) {
    size_t len = str.len > 0 ? (size_t)str.len : 0;
    char *out = malloc(len + 1);
    RN_ASSERT(out != NULL);
    if (len) memcpy(out, str.ptr, len);
    out[len] = '\0';
    return out;
}

bool rn_group_str_is(rn_str_t str, const char *cstr) {
    if (!cstr) return str.len <= 0;
    size_t len = strlen(cstr);
    return str.len >= 0 && (size_t)str.len == len && memcmp(str.ptr, cstr, len) == 0;
}

void rn_group_coord_note_deadline(rn_group_coord_t *coord, int64_t deadline_ms) {
    if (deadline_ms < coord->deadline_ms) coord->deadline_ms = deadline_ms;
}

/* ---- the shard ---- */

rn_group_coord_t *rn_group_coord_new(const rn_group_config_t *cfg, const rn_group_hooks_t *hooks,
                                     int32_t partition) {
    RN_ASSERT(hooks->random && hooks->wall_ms && hooks->group_changed);
    RN_ASSERT(hooks->group_removed && hooks->offset_removed && hooks->group_store);
    rn_group_coord_t *coord = calloc(1, sizeof *coord);
    RN_ASSERT(coord != NULL);
    coord->cfg = *cfg;
    coord->hooks = *hooks;
    coord->partition = partition;
    coord->bucket_count = 64;
    coord->buckets = calloc((size_t)coord->bucket_count, sizeof *coord->buckets);
    RN_ASSERT(coord->buckets != NULL);
    coord->deadline_ms = GROUP_NO_DEADLINE;
    return coord;
}

static void group_free(rn_group_t *group) {
    for (int32_t i = 0; i < group->member_count; i++) rn_group_member_free(group->members[i]);
    for (int32_t i = 0; i < group->pending_count; i++) free(group->pending[i].member_id);
    rn_group_offsets_free(group);
    free(group->members);
    free(group->pending);
    free(group->id);
    free(group->protocol_type);
    free(group->protocol_name);
    free(group->leader_id);
    free(group);
}

static void coord_free(rn_group_coord_t *coord, bool answer) {
    if (!coord) return;
    for (int32_t g = 0; g < coord->group_count; g++) {
        rn_group_t *group = coord->groups[g];
        for (int32_t i = 0; answer && i < group->member_count; i++) {
            rn_group_member_t *member = group->members[i];
            if (member->join_waiter) {
                rn_group_join_waiter_t *waiter = member->join_waiter;
                member->join_waiter = NULL;
                rn_group_join_result_t res = {.error = RN_KERR_NOT_COORDINATOR,
                                              .generation = -1,
                                              .member_id = member->member_id};
                waiter->done(waiter, &res);
            }
            if (member->sync_waiter) {
                rn_group_sync_waiter_t *waiter = member->sync_waiter;
                member->sync_waiter = NULL;
                rn_group_sync_result_t res = {.error = RN_KERR_NOT_COORDINATOR};
                waiter->done(waiter, &res);
            }
        }
        group_free(group);
    }
    free(coord->groups);
    free(coord->buckets);
    free(coord);
}

void rn_group_coord_free(rn_group_coord_t *coord) { coord_free(coord, true); }
void rn_group_coord_discard(rn_group_coord_t *coord) { coord_free(coord, false); }

void rn_group_coord_set_refusal(rn_group_coord_t *coord, int16_t kerr) { coord->refusal = kerr; }
int16_t rn_group_coord_refusal(const rn_group_coord_t *coord) { return coord->refusal; }
int32_t rn_group_coord_partition(const rn_group_coord_t *coord) { return coord->partition; }
int32_t rn_group_coord_group_count(const rn_group_coord_t *coord) { return coord->group_count; }
int64_t rn_group_coord_deadline(const rn_group_coord_t *coord) {
    int64_t deadline = coord->deadline_ms;
    if (coord->expiry_next_ms > 0 && coord->expiry_next_ms < deadline)
        deadline = coord->expiry_next_ms;
    return deadline;
}

const rn_group_t *rn_group_coord_group_at(const rn_group_coord_t *coord, int32_t i) {
    RN_ASSERT(i >= 0 && i < coord->group_count);
    return coord->groups[i];
}

rn_group_t *rn_group_find(rn_group_coord_t *coord, rn_str_t group_id) {
    if (group_id.len < 0) return NULL;
    uint32_t h = rn_group_hash(group_id.ptr, (size_t)group_id.len);
    for (rn_group_t *group = coord->buckets[h & (uint32_t)(coord->bucket_count - 1)]; group;
         group = group->next)
        if (group->hash == h && rn_group_str_is(group_id, group->id)) return group;
    return NULL;
}

static void coord_rehash(rn_group_coord_t *coord) {
    int32_t count = coord->bucket_count * 2;
    rn_group_t **buckets = calloc((size_t)count, sizeof *buckets);
    RN_ASSERT(buckets != NULL);
    for (int32_t g = 0; g < coord->group_count; g++) {
        rn_group_t *group = coord->groups[g];
        uint32_t b = group->hash & (uint32_t)(count - 1);
        group->next = buckets[b];
        buckets[b] = group;
    }
    free(coord->buckets);
    coord->buckets = buckets;
    coord->bucket_count = count;
}

rn_group_t *rn_group_get_or_create(rn_group_coord_t *coord, rn_str_t group_id) {
    rn_group_t *group = rn_group_find(coord, group_id);
    if (group) return group;
    if (coord->group_count >= RN_GROUP_COUNT_MAX) return NULL;
    if (coord->group_count == coord->group_cap) {
        coord->group_cap = coord->group_cap ? coord->group_cap * 2 : 16;
        coord->groups = realloc(coord->groups, (size_t)coord->group_cap * sizeof *coord->groups);
        RN_ASSERT(coord->groups != NULL);
    }
    group = calloc(1, sizeof *group);
    RN_ASSERT(group != NULL);
    group->id = rn_group_strdup(group_id);
    group->hash = rn_group_hash(group->id, strlen(group->id));
    group->state = RN_GROUP_EMPTY;
    group->rebalance_deadline_ms = GROUP_NO_DEADLINE;
    group->storing_generation = -1;
    group->state_timestamp_ms = coord->hooks.wall_ms(coord->hooks.ctx);
    group->index = coord->group_count;
    coord->groups[coord->group_count++] = group;
    if (coord->group_count > coord->bucket_count) coord_rehash(coord);
    uint32_t b = group->hash & (uint32_t)(coord->bucket_count - 1);
    group->next = coord->buckets[b];
    coord->buckets[b] = group;
    return group;
}

void rn_group_destroy(rn_group_coord_t *coord, rn_group_t *group) {
    RN_ASSERT(group->member_count == 0);
    RN_ASSERT(coord->groups[group->index] == group);
    rn_group_t **link = &coord->buckets[group->hash & (uint32_t)(coord->bucket_count - 1)];
    while (*link != group) link = &(*link)->next;
    *link = group->next;
    rn_group_t *last = coord->groups[--coord->group_count];
    coord->groups[group->index] = last;
    last->index = group->index;
    group_free(group);
}

void rn_group_set_state(rn_group_coord_t *coord, rn_group_t *group, rn_group_state_t state) {
    group->state = state;
    group->state_timestamp_ms = coord->hooks.wall_ms(coord->hooks.ctx);
}

/* ---- members ---- */

rn_group_member_t *rn_group_member_find(const rn_group_t *group, rn_str_t member_id) {
    if (member_id.len <= 0) return NULL;
    for (int32_t i = 0; i < group->member_count; i++)
        if (rn_group_str_is(member_id, group->members[i]->member_id)) return group->members[i];
    return NULL;
}

rn_group_member_t *rn_group_member_by_instance(const rn_group_t *group, rn_str_t instance_id) {
    if (instance_id.len < 0) return NULL;
    for (int32_t i = 0; i < group->member_count; i++) {
        const char *id = group->members[i]->instance_id;
        if (id && rn_group_str_is(instance_id, id)) return group->members[i];
    }
    return NULL;
}

void rn_group_member_free(rn_group_member_t *member) {
    for (int32_t i = 0; i < member->protocol_count; i++) {
        free(member->protocols[i].name);
        free(member->protocols[i].meta);
    }
    free(member->protocols);
    free(member->member_id);
    free(member->instance_id);
    free(member->client_id);
    free(member->client_host);
    free(member->assignment);
    free(member);
}

bool rn_group_pending_remove(rn_group_t *group, rn_str_t member_id) {
    for (int32_t i = 0; i < group->pending_count; i++) {
        if (!rn_group_str_is(member_id, group->pending[i].member_id)) continue;
        free(group->pending[i].member_id);
        group->pending[i] = group->pending[--group->pending_count];
        return true;
    }
    return false;
}

/* ---- time ---- */

void rn_group_coord_tick(rn_group_coord_t *coord, int64_t now_ms) {
    int64_t wall_ms = coord->hooks.wall_ms(coord->hooks.ctx);
    bool expire = false;
    if (coord->expiry_next_ms == 0) {
        coord->expiry_next_ms = now_ms + coord->cfg.offsets_retention_check_ms;
    } else if (now_ms >= coord->expiry_next_ms) {
        expire = true;
        coord->expiry_next_ms = now_ms + coord->cfg.offsets_retention_check_ms;
    }
    if (now_ms < coord->deadline_ms && !expire) return;
    coord->deadline_ms = GROUP_NO_DEADLINE;
    for (int32_t g = 0; g < coord->group_count;) {
        rn_group_t *group = coord->groups[g];
        rn_group_tick_group(coord, group, now_ms);
        if (expire && coord->refusal == RN_KERR_NONE &&
            rn_group_expire_offsets(coord, group, wall_ms))
            continue; /* the slot now holds another group */
        g++;
    }
}

/* ---- loading ---- */

static rn_group_member_t *load_member(const rn_group_loaded_t *loaded,
                                      const rn_group_loaded_member_t *lm, int64_t now_ms) {
    rn_group_member_t *member = calloc(1, sizeof *member);
    RN_ASSERT(member != NULL);
    member->member_id = rn_group_strdup(lm->member_id);
    member->instance_id = lm->instance_id.len >= 0 ? rn_group_strdup(lm->instance_id) : NULL;
    member->client_id = rn_group_strdup(lm->client_id);
    member->client_host = rn_group_strdup(lm->client_host);
    member->session_timeout_ms = lm->session_timeout_ms;
    member->rebalance_timeout_ms = lm->rebalance_timeout_ms;
    member->protocols = calloc(1, sizeof *member->protocols);
    RN_ASSERT(member->protocols != NULL);
    member->protocol_count = 1;
    member->protocols[0].name = rn_group_strdup(loaded->protocol_name);
    int32_t len = lm->subscription.len > 0 ? lm->subscription.len : 0;
    member->protocols[0].meta = malloc((size_t)len + 1);
    RN_ASSERT(member->protocols[0].meta != NULL);
    if (len) memcpy(member->protocols[0].meta, lm->subscription.ptr, (size_t)len);
    member->protocols[0].meta_len = len;
    len = lm->assignment.len > 0 ? lm->assignment.len : 0;
    member->assignment = malloc((size_t)len + 1);
    RN_ASSERT(member->assignment != NULL);
    if (len) memcpy(member->assignment, lm->assignment.ptr, (size_t)len);
    member->assignment_len = len;
    member->deadline_ms = now_ms + lm->session_timeout_ms;
    return member;
}

static void group_clear_members(rn_group_t *group) {
    for (int32_t i = 0; i < group->member_count; i++) {
        RN_ASSERT(!group->members[i]->join_waiter && !group->members[i]->sync_waiter);
        rn_group_member_free(group->members[i]);
    }
    group->member_count = 0;
    free(group->protocol_type);
    free(group->protocol_name);
    free(group->leader_id);
    group->protocol_type = group->protocol_name = group->leader_id = NULL;
}

rn_err_t rn_group_load(rn_group_coord_t *coord, const rn_group_loaded_t *loaded, int64_t now_ms) {
    if (loaded->member_count < 0 || loaded->member_count > RN_GROUP_MEMBERS_MAX)
        return RN_ERR_LIMIT;
    rn_group_t *group = rn_group_get_or_create(coord, loaded->group_id);
    if (!group) return RN_ERR_LIMIT;
    group_clear_members(group);
    group->generation = loaded->generation;
    group->has_metadata = true;
    group->protocol_type = rn_group_strdup(loaded->protocol_type);
    group->protocol_name =
        loaded->protocol_name.len >= 0 ? rn_group_strdup(loaded->protocol_name) : NULL;
    group->state_timestamp_ms = loaded->state_timestamp_ms;
    group->state = RN_GROUP_EMPTY;
    if (loaded->member_count == 0 || !group->protocol_name) return RN_OK;
    group->leader_id = loaded->leader_id.len >= 0 ? rn_group_strdup(loaded->leader_id) : NULL;
    group->member_cap = loaded->member_count;
    group->members = realloc(group->members, (size_t)group->member_cap * sizeof *group->members);
    RN_ASSERT(group->members != NULL);
    for (int32_t i = 0; i < loaded->member_count; i++) {
        rn_group_member_t *member = load_member(loaded, &loaded->members[i], now_ms);
        group->members[group->member_count++] = member;
        rn_group_coord_note_deadline(coord, member->deadline_ms);
    }
    group->state = RN_GROUP_STABLE;
    return RN_OK;
}

void rn_group_load_tombstone(rn_group_coord_t *coord, rn_str_t group_id) {
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return;
    group_clear_members(group);
    group->generation = 0;
    group->has_metadata = false;
    group->state = RN_GROUP_EMPTY;
    if (group->offset_count == 0) rn_group_destroy(coord, group);
}

/* ---- reading ---- */

const char *rn_group_id(const rn_group_t *group) { return group->id; }
rn_group_state_t rn_group_state(const rn_group_t *group) { return group->state; }
int32_t rn_group_generation(const rn_group_t *group) { return group->generation; }
const char *rn_group_protocol_type(const rn_group_t *group) {
    return group->protocol_type ? group->protocol_type : "";
}
const char *rn_group_protocol_name(const rn_group_t *group) { return group->protocol_name; }
const char *rn_group_leader(const rn_group_t *group) { return group->leader_id; }
int64_t rn_group_state_timestamp(const rn_group_t *group) { return group->state_timestamp_ms; }
bool rn_group_has_metadata(const rn_group_t *group) { return group->has_metadata; }
int32_t rn_group_member_count(const rn_group_t *group) { return group->member_count; }
const rn_group_member_t *rn_group_member_at(const rn_group_t *group, int32_t i) {
    RN_ASSERT(i >= 0 && i < group->member_count);
    return group->members[i];
}

const char *rn_group_state_name(rn_group_state_t state) {
    switch (state) {
    case RN_GROUP_EMPTY:
        return "Empty";
    case RN_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case RN_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case RN_GROUP_STABLE:
        return "Stable";
    case RN_GROUP_DEAD:
        return "Dead";
    }
    return "Unknown";
}

const char *rn_group_member_id(const rn_group_member_t *member) { return member->member_id; }
const char *rn_group_member_instance_id(const rn_group_member_t *member) {
    return member->instance_id;
}
const char *rn_group_member_client_id(const rn_group_member_t *member) { return member->client_id; }
const char *rn_group_member_client_host(const rn_group_member_t *member) {
    return member->client_host;
}
int32_t rn_group_member_session_timeout(const rn_group_member_t *member) {
    return member->session_timeout_ms;
}
int32_t rn_group_member_rebalance_timeout(const rn_group_member_t *member) {
    return member->rebalance_timeout_ms;
}

rn_bytes_t rn_group_member_metadata(const rn_group_t *group, const rn_group_member_t *member) {
    rn_bytes_t out = {NULL, 0};
    if (member->protocol_count == 0) return out;
    const group_mproto_t *proto = &member->protocols[0];
    for (int32_t i = 0; group->protocol_name && i < member->protocol_count; i++)
        if (!strcmp(member->protocols[i].name, group->protocol_name)) proto = &member->protocols[i];
    out.ptr = proto->meta;
    out.len = proto->meta_len;
    return out;
}

rn_bytes_t rn_group_member_assignment(const rn_group_member_t *member) {
    rn_bytes_t out = {member->assignment, member->assignment ? member->assignment_len : 0};
    return out;
}
