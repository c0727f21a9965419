/*
 * group_join.c: the classic rebalance protocol of one group shard: JoinGroup
 * (member ids, MEMBER_ID_REQUIRED, static members), the join phase and its
 * completion (generation, protocol vote, leader), SyncGroup (the leader's
 * assignment), Heartbeat, LeaveGroup, and the session, rebalance and
 * initial-delay timeouts. Follows Kafka's GroupCoordinator; pure (group.h).
 */
#include "group/group_int.h"
#include "base/assert.h"
#include "proto/kerr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- answering waiters ---- */

static void join_answer(rn_group_t *group, rn_group_member_t *member, int16_t error,
                        bool with_members) {
    rn_group_join_waiter_t *waiter = member->join_waiter;
    if (!waiter) return;
    member->join_waiter = NULL;
    rn_group_join_result_t res = {
        .error = error,
        .generation = error == RN_KERR_NONE ? group->generation : -1,
        .protocol_type = group->protocol_type,
        .protocol_name = error == RN_KERR_NONE ? group->protocol_name : NULL,
        .leader_id = error == RN_KERR_NONE && group->leader_id ? group->leader_id : "",
        .member_id = member->member_id,
        .group = with_members && error == RN_KERR_NONE ? group : NULL,
    };
    waiter->done(waiter, &res);
}

static void join_answer_error(rn_group_join_waiter_t *waiter, int16_t error,
                              const char *member_id) {
    rn_group_join_result_t res = {
        .error = error, .generation = -1, .leader_id = "", .member_id = member_id ? member_id : ""};
    waiter->done(waiter, &res);
}

static void sync_answer(rn_group_t *group, rn_group_member_t *member, int16_t error) {
    rn_group_sync_waiter_t *waiter = member->sync_waiter;
    if (!waiter) return;
    member->sync_waiter = NULL;
    rn_group_sync_result_t res = {.error = error,
                                  .protocol_type = group->protocol_type,
                                  .protocol_name = group->protocol_name};
    if (error == RN_KERR_NONE) res.assignment = rn_group_member_assignment(member);
    waiter->done(waiter, &res);
}

/* ---- protocols ---- */

static bool member_supports(const rn_group_member_t *member, const char *name, size_t len) {
    for (int32_t i = 0; i < member->protocol_count; i++)
        if (strlen(member->protocols[i].name) == len &&
            !memcmp(member->protocols[i].name, name, len))
            return true;
    return false;
}

/* Whether every member supports protocol `name`. */
static bool all_support(const rn_group_t *group, const char *name, size_t len) {
    for (int32_t i = 0; i < group->member_count; i++)
        if (!member_supports(group->members[i], name, len)) return false;
    return true;
}

static bool supports_protocols(const rn_group_t *group, const rn_group_join_args_t *args) {
    if (args->protocol_type.len <= 0 || args->protocol_count <= 0) return false;
    if (group->member_count == 0) return true;
    if (!rn_group_str_is(args->protocol_type, group->protocol_type)) return false;
    for (int32_t i = 0; i < args->protocol_count; i++) {
        rn_str_t name = args->protocols[i].name;
        if (name.len >= 0 && all_support(group, name.ptr, (size_t)name.len)) return true;
    }
    return false;
}

/* Kafka's vote: each member votes for its most preferred protocol that
   every member supports; the most votes wins (ties: the first member's
   preference order). */
static const char *select_protocol(const rn_group_t *group) {
    const rn_group_member_t *first = group->members[0];
    const char *best = NULL;
    int32_t best_votes = -1;
    for (int32_t c = 0; c < first->protocol_count; c++) {
        const char *cand = first->protocols[c].name;
        if (!all_support(group, cand, strlen(cand))) continue;
        int32_t votes = 0;
        for (int32_t m = 0; m < group->member_count; m++) {
            const rn_group_member_t *member = group->members[m];
            for (int32_t i = 0; i < member->protocol_count; i++) {
                const char *name = member->protocols[i].name;
                if (!all_support(group, name, strlen(name))) continue;
                if (!strcmp(name, cand)) votes++;
                break;
            }
        }
        if (votes > best_votes) {
            best = cand;
            best_votes = votes;
        }
    }
    return best;
}

static void member_set_protocols(rn_group_member_t *member, const rn_group_join_args_t *args) {
    for (int32_t i = 0; i < member->protocol_count; i++) {
        free(member->protocols[i].name);
        free(member->protocols[i].meta);
    }
    free(member->protocols);
    member->protocol_count = args->protocol_count;
    member->protocols = calloc((size_t)args->protocol_count, sizeof *member->protocols);
    RN_ASSERT(member->protocols != NULL);
    for (int32_t i = 0; i < args->protocol_count; i++) {
        const rn_group_protocol_t *in = &args->protocols[i];
        int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
        member->protocols[i].name = rn_group_strdup(in->name);
        member->protocols[i].meta = malloc((size_t)len + 1);
        RN_ASSERT(member->protocols[i].meta != NULL);
        if (len) memcpy(member->protocols[i].meta, in->metadata.ptr, (size_t)len);
        member->protocols[i].meta_len = len;
    }
    member->session_timeout_ms = args->session_timeout_ms;
    member->rebalance_timeout_ms = args->rebalance_timeout_ms;
}

static bool member_matches(const rn_group_member_t *member, const rn_group_join_args_t *args) {
    if (member->protocol_count != args->protocol_count) return false;
    for (int32_t i = 0; i < args->protocol_count; i++) {
        const rn_group_protocol_t *in = &args->protocols[i];
        const group_mproto_t *have = &member->protocols[i];
        int32_t len = in->metadata.len > 0 ? in->metadata.len : 0;
        if (!rn_group_str_is(in->name, have->name) || len != have->meta_len) return false;
        if (len && memcmp(in->metadata.ptr, have->meta, (size_t)len)) return false;
    }
    return true;
}

/* ---- the join phase ---- */

static int32_t group_rebalance_timeout(const rn_group_t *group) {
    int32_t timeout = 0;
    for (int32_t i = 0; i < group->member_count; i++)
        if (group->members[i]->rebalance_timeout_ms > timeout)
            timeout = group->members[i]->rebalance_timeout_ms;
    return timeout;
}

static void prepare_rebalance(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    if (group->state == RN_GROUP_COMPLETING_REBALANCE) {
        for (int32_t i = 0; i < group->member_count; i++) {
            rn_group_member_t *member = group->members[i];
            member->assignment_len = 0;
            sync_answer(group, member, RN_KERR_REBALANCE_IN_PROGRESS);
        }
    }
    int32_t delay = coord->cfg.initial_rebalance_delay_ms;
    if (group->state == RN_GROUP_EMPTY && delay > 0) {
        group->initial_delay = true;
        group->new_member_added = false;
        group->initial_delay_end_ms = now_ms + group_rebalance_timeout(group);
        group->rebalance_deadline_ms = now_ms + delay;
    } else {
        group->initial_delay = false;
        group->rebalance_deadline_ms = now_ms + group_rebalance_timeout(group);
    }
    rn_group_coord_note_deadline(coord, group->rebalance_deadline_ms);
    rn_group_set_state(coord, group, RN_GROUP_PREPARING_REBALANCE);
}

static void maybe_prepare_rebalance(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    if (group->state == RN_GROUP_STABLE || group->state == RN_GROUP_COMPLETING_REBALANCE ||
        group->state == RN_GROUP_EMPTY)
        prepare_rebalance(coord, group, now_ms);
}

/* Ends the join phase: drops dynamic members that did not rejoin, starts the
   next generation (or goes Empty) and answers every waiting JoinGroup. */
static void complete_join(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    for (int32_t i = 0; i < group->member_count;) {
        rn_group_member_t *member = group->members[i];
        if (member->join_waiter || member->instance_id) {
            i++;
            continue;
        }
        rn_group_member_t *last = group->members[--group->member_count];
        group->members[i] = last;
        sync_answer(group, member, RN_KERR_UNKNOWN_MEMBER_ID);
        if (group->leader_id && !strcmp(group->leader_id, member->member_id)) {
            free(group->leader_id);
            group->leader_id = NULL;
        }
        rn_group_member_free(member);
    }
    group->rebalance_deadline_ms = GROUP_NO_DEADLINE;
    group->initial_delay = false;
    group->generation++;
    free(group->protocol_name);
    group->protocol_name = NULL;
    if (group->member_count == 0) {
        free(group->leader_id);
        group->leader_id = NULL;
        rn_group_set_state(coord, group, RN_GROUP_EMPTY);
        group->has_metadata = true;
        coord->hooks.group_changed(coord->hooks.ctx, group);
        return;
    }
    const char *proto = select_protocol(group);
    RN_ASSERT(proto != NULL); /* every join checked supports_protocols */
    group->protocol_name = strdup(proto);
    RN_ASSERT(group->protocol_name != NULL);
    if (!group->leader_id) {
        rn_group_member_t *leader = group->members[0];
        for (int32_t i = 0; i < group->member_count; i++)
            if (group->members[i]->join_waiter) {
                leader = group->members[i];
                break;
            }
        group->leader_id = strdup(leader->member_id);
        RN_ASSERT(group->leader_id != NULL);
    }
    rn_group_set_state(coord, group, RN_GROUP_COMPLETING_REBALANCE);
    for (int32_t i = 0; i < group->member_count; i++) {
        rn_group_member_t *member = group->members[i];
        member->is_new = false;
        member->deadline_ms = now_ms + member->session_timeout_ms;
        rn_group_coord_note_deadline(coord, member->deadline_ms);
        join_answer(group, member, RN_KERR_NONE, !strcmp(member->member_id, group->leader_id));
    }
}

static void try_complete_join(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    if (group->state != RN_GROUP_PREPARING_REBALANCE || group->initial_delay) return;
    if (group->pending_count > 0) return;
    for (int32_t i = 0; i < group->member_count; i++)
        if (!group->members[i]->join_waiter) return;
    complete_join(coord, group, now_ms);
}

/* ---- joining ---- */

/* A new member id: "<prefix>-<uuid>", the prefix being the instance id of a
   static member and the client id of a dynamic one (as Kafka). */
static char *member_id_new(rn_group_coord_t *coord, const rn_group_join_args_t *args) {
    rn_str_t prefix = args->instance_id.len >= 0 ? args->instance_id : args->client_id;
    uint64_t a = coord->hooks.random(coord->hooks.ctx);
    uint64_t b = coord->hooks.random(coord->hooks.ctx);
    int32_t len = prefix.len > 0 ? prefix.len : 0;
    if (len > 255) len = 255;
    char *id = malloc((size_t)len + 40);
    RN_ASSERT(id != NULL);
    snprintf(id, (size_t)len + 40, "%.*s-%08x-%04x-%04x-%04x-%012llx", (int)len,
             len ? prefix.ptr : "", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffffu,
             (unsigned)a & 0xffffu, (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffull));
    return id;
}

static void member_waiter_set(rn_group_t *group, rn_group_member_t *member,
                              rn_group_join_waiter_t *waiter) {
    if (member->join_waiter) join_answer(group, member, RN_KERR_REBALANCE_IN_PROGRESS, false);
    member->join_waiter = waiter;
}

static void member_add(rn_group_coord_t *coord, rn_group_t *group, char *member_id,
                       const rn_group_join_args_t *args, rn_group_join_waiter_t *waiter,
                       int64_t now_ms) {
    rn_group_member_t *member = calloc(1, sizeof *member);
    RN_ASSERT(member != NULL);
    member->member_id = member_id;
    member->instance_id = args->instance_id.len >= 0 ? rn_group_strdup(args->instance_id) : NULL;
    member->client_id = rn_group_strdup(args->client_id);
    member->client_host = rn_group_strdup(args->client_host);
    member_set_protocols(member, args);
    member->is_new = true;
    member->deadline_ms = now_ms + RN_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS;
    rn_group_coord_note_deadline(coord, member->deadline_ms);
    if (group->member_count == 0) {
        free(group->protocol_type);
        group->protocol_type = rn_group_strdup(args->protocol_type);
    }
    if (group->member_count == group->member_cap) {
        group->member_cap = group->member_cap ? group->member_cap * 2 : 4;
        group->members =
            realloc(group->members, (size_t)group->member_cap * sizeof *group->members);
        RN_ASSERT(group->members != NULL);
    }
    group->members[group->member_count++] = member;
    if (!group->leader_id) {
        group->leader_id = strdup(member_id);
        RN_ASSERT(group->leader_id != NULL);
    }
    group->new_member_added = true;
    member->join_waiter = waiter;
    maybe_prepare_rebalance(coord, group, now_ms);
    try_complete_join(coord, group, now_ms);
}

static void member_update(rn_group_coord_t *coord, rn_group_t *group, rn_group_member_t *member,
                          const rn_group_join_args_t *args, rn_group_join_waiter_t *waiter,
                          int64_t now_ms) {
    member_set_protocols(member, args);
    member_waiter_set(group, member, waiter);
    maybe_prepare_rebalance(coord, group, now_ms);
    try_complete_join(coord, group, now_ms);
}

/* Answers a static member that took over its entry in a Stable group whose
   selected protocol stays: the current generation, no rebalance. Before
   JoinGroup v9, as Kafka, the leader named is the one before the takeover,
   so a returning leader acts as a follower and gets its old assignment from
   SyncGroup. From v9 (KIP-814) a returning leader is told it leads, with
   every member's metadata, and skip_assignment: it learns the group but
   does not assign (a Stable group would not pass a new assignment on). */
static void join_static_keep(rn_group_coord_t *coord, rn_group_t *group,
                             const rn_group_member_t *member, const char *old_leader,
                             bool skip_assignment_ok, rn_group_join_waiter_t *waiter) {
    coord->hooks.group_changed(coord->hooks.ctx, group);
    bool leader = group->leader_id && !strcmp(group->leader_id, member->member_id);
    const char *named = skip_assignment_ok ? group->leader_id : old_leader;
    rn_group_join_result_t res = {.error = RN_KERR_NONE,
                                  .generation = group->generation,
                                  .protocol_type = group->protocol_type,
                                  .protocol_name = group->protocol_name,
                                  .leader_id = named ? named : "",
                                  .member_id = member->member_id,
                                  .group = leader && skip_assignment_ok ? group : NULL,
                                  .skip_assignment = leader && skip_assignment_ok};
    waiter->done(waiter, &res);
}

/* Whether the protocol the group would select now is the one it runs. */
static bool protocol_unchanged(const rn_group_t *group) {
    const char *next = select_protocol(group);
    return next && group->protocol_name && !strcmp(next, group->protocol_name);
}

/* A static member coming back with a new member id takes over its old
   entry (fencing the old id) with the protocols it sends now. As Kafka, a
   Stable group rebalances only if that changes the selected protocol: new
   metadata alone (a restarted client no longer owning its partitions, a
   reordered subscription) keeps the generation and every assignment. */
static void join_static_replace(rn_group_coord_t *coord, rn_group_t *group,
                                rn_group_member_t *member, const rn_group_join_args_t *args,
                                rn_group_join_waiter_t *waiter, int64_t now_ms) {
    char *new_id = member_id_new(coord, args);
    join_answer(group, member, RN_KERR_FENCED_INSTANCE_ID, false);
    sync_answer(group, member, RN_KERR_FENCED_INSTANCE_ID);
    char *old_leader = group->leader_id ? strdup(group->leader_id) : NULL;
    if (group->leader_id && !strcmp(group->leader_id, member->member_id)) {
        free(group->leader_id);
        group->leader_id = strdup(new_id);
        RN_ASSERT(group->leader_id != NULL);
    }
    free(member->member_id);
    member->member_id = new_id;
    member->deadline_ms = now_ms + args->session_timeout_ms;
    rn_group_coord_note_deadline(coord, member->deadline_ms);
    member_set_protocols(member, args);
    if (group->state == RN_GROUP_STABLE && protocol_unchanged(group)) {
        join_static_keep(coord, group, member, old_leader, args->skip_assignment_ok, waiter);
    } else {
        member->join_waiter = waiter;
        if (group->state == RN_GROUP_COMPLETING_REBALANCE)
            prepare_rebalance(coord, group, now_ms);
        else
            maybe_prepare_rebalance(coord, group, now_ms);
        try_complete_join(coord, group, now_ms);
    }
    free(old_leader);
}

static void join_new_member(rn_group_coord_t *coord, rn_group_t *group,
                            const rn_group_join_args_t *args, rn_group_join_waiter_t *waiter,
                            int64_t now_ms) {
    if (!supports_protocols(group, args)) {
        join_answer_error(waiter, RN_KERR_INCONSISTENT_GROUP_PROTOCOL, "");
        return;
    }
    rn_group_member_t *known = rn_group_member_by_instance(group, args->instance_id);
    if (known) {
        join_static_replace(coord, group, known, args, waiter, now_ms);
        return;
    }
    if (group->member_count + group->pending_count >= coord->cfg.group_max_size ||
        group->member_count >= RN_GROUP_MEMBERS_MAX) {
        join_answer_error(waiter, RN_KERR_GROUP_MAX_SIZE_REACHED, "");
        return;
    }
    char *member_id = member_id_new(coord, args);
    if (args->instance_id.len < 0 && args->require_known_member_id) {
        if (group->pending_count == group->pending_cap) {
            group->pending_cap = group->pending_cap ? group->pending_cap * 2 : 4;
            group->pending =
                realloc(group->pending, (size_t)group->pending_cap * sizeof *group->pending);
            RN_ASSERT(group->pending != NULL);
        }
        group_pending_t *pending = &group->pending[group->pending_count++];
        pending->member_id = member_id;
        pending->deadline_ms = now_ms + args->session_timeout_ms;
        rn_group_coord_note_deadline(coord, pending->deadline_ms);
        join_answer_error(waiter, RN_KERR_MEMBER_ID_REQUIRED, member_id);
        return;
    }
    member_add(coord, group, member_id, args, waiter, now_ms);
}

/* An error to a JoinGroup naming a member id, which is echoed as Kafka does. */
static void join_answer_error_to(rn_group_join_waiter_t *waiter, int16_t error,
                                 rn_str_t member_id) {
    char *id = rn_group_strdup(member_id);
    join_answer_error(waiter, error, id);
    free(id);
}

/* Kafka's checks of a JoinGroup naming a member id, in its order: the
   protocols, a pending id (admitted), a fenced instance, then an unknown
   member or an instance id the group does not know. */
static void join_known_member(rn_group_coord_t *coord, rn_group_t *group,
                              const rn_group_join_args_t *args, rn_group_join_waiter_t *waiter,
                              int64_t now_ms) {
    if (!supports_protocols(group, args)) {
        join_answer_error_to(waiter, RN_KERR_INCONSISTENT_GROUP_PROTOCOL, args->member_id);
        return;
    }
    if (rn_group_pending_remove(group, args->member_id)) {
        member_add(coord, group, rn_group_strdup(args->member_id), args, waiter, now_ms);
        return;
    }
    rn_group_member_t *by_instance = rn_group_member_by_instance(group, args->instance_id);
    if (by_instance && !rn_group_str_is(args->member_id, by_instance->member_id)) {
        join_answer_error_to(waiter, RN_KERR_FENCED_INSTANCE_ID, args->member_id);
        return;
    }
    rn_group_member_t *member = rn_group_member_find(group, args->member_id);
    if (!member || (args->instance_id.len >= 0 && !by_instance) || group->state == RN_GROUP_EMPTY ||
        group->state == RN_GROUP_DEAD) {
        join_answer_error_to(waiter, RN_KERR_UNKNOWN_MEMBER_ID, args->member_id);
        return;
    }
    member->deadline_ms = now_ms + member->session_timeout_ms;
    bool same = member_matches(member, args);
    bool leader = group->leader_id && !strcmp(group->leader_id, member->member_id);
    if (group->state == RN_GROUP_COMPLETING_REBALANCE && same) {
        member_waiter_set(group, member, waiter);
        join_answer(group, member, RN_KERR_NONE, leader);
    } else if (group->state == RN_GROUP_STABLE && same && !leader) {
        member_waiter_set(group, member, waiter);
        join_answer(group, member, RN_KERR_NONE, false);
    } else {
        member_update(coord, group, member, args, waiter, now_ms);
    }
}

static int16_t join_check(const rn_group_coord_t *coord, const rn_group_join_args_t *args) {
    if (coord->refusal) return coord->refusal;
    if (args->group_id.len <= 0 || args->group_id.len > RN_GROUP_ID_BYTES_MAX)
        return RN_KERR_INVALID_GROUP_ID;
    if (args->session_timeout_ms < coord->cfg.session_timeout_min_ms ||
        args->session_timeout_ms > coord->cfg.session_timeout_max_ms)
        return RN_KERR_INVALID_SESSION_TIMEOUT;
    if (args->member_id.len > RN_GROUP_ID_BYTES_MAX ||
        args->instance_id.len > RN_GROUP_ID_BYTES_MAX ||
        args->protocol_type.len > RN_GROUP_ID_BYTES_MAX ||
        args->protocol_count > RN_GROUP_PROTOCOLS_MAX)
        return RN_KERR_INVALID_REQUEST;
    if (args->instance_id.len == 0) return RN_KERR_INVALID_REQUEST;
    for (int32_t i = 0; i < args->protocol_count; i++)
        if (args->protocols[i].name.len > RN_GROUP_ID_BYTES_MAX ||
            args->protocols[i].name.len < 0 ||
            args->protocols[i].metadata.len > RN_GROUP_METADATA_BYTES_MAX)
            return RN_KERR_INVALID_REQUEST;
    return RN_KERR_NONE;
}

void rn_group_join(rn_group_coord_t *coord, const rn_group_join_args_t *args,
                   rn_group_join_waiter_t *waiter, int64_t now_ms) {
    RN_ASSERT(waiter && waiter->done);
    int16_t err = join_check(coord, args);
    if (err != RN_KERR_NONE) {
        join_answer_error(waiter, err, "");
        return;
    }
    bool unknown = args->member_id.len <= 0;
    rn_group_t *group = unknown ? rn_group_get_or_create(coord, args->group_id)
                                : rn_group_find(coord, args->group_id);
    if (!group) {
        join_answer_error_to(
            waiter, unknown ? RN_KERR_COORDINATOR_NOT_AVAILABLE : RN_KERR_UNKNOWN_MEMBER_ID,
            args->member_id);
        return;
    }
    if (group->state == RN_GROUP_DEAD)
        join_answer_error_to(waiter, RN_KERR_COORDINATOR_NOT_AVAILABLE, args->member_id);
    else if (unknown)
        join_new_member(coord, group, args, waiter, now_ms);
    else
        join_known_member(coord, group, args, waiter, now_ms);
}

/* ---- SyncGroup ---- */

/* The leader's assignment: kept on the members and written with the
   group's record; the group stays CompletingRebalance, and every SyncGroup
   parked, until that record is durable (rn_group_stored), as Kafka's
   storeGroup callback. */
static void sync_apply(rn_group_coord_t *coord, rn_group_t *group,
                       const rn_group_sync_args_t *args) {
    for (int32_t i = 0; i < group->member_count; i++) group->members[i]->assignment_len = 0;
    for (int32_t a = 0; a < args->assignment_count; a++) {
        rn_group_member_t *member = rn_group_member_find(group, args->assignments[a].member_id);
        rn_bytes_t bytes = args->assignments[a].assignment;
        if (!member || bytes.len <= 0 || bytes.len > RN_GROUP_METADATA_BYTES_MAX) continue;
        uint8_t *copy = realloc(member->assignment, (size_t)bytes.len);
        RN_ASSERT(copy != NULL);
        memcpy(copy, bytes.ptr, (size_t)bytes.len);
        member->assignment = copy;
        member->assignment_len = bytes.len;
    }
    group->storing_generation = group->generation;
    coord->hooks.group_store(coord->hooks.ctx, group); /* may call rn_group_stored */
}

static void stored_error(rn_group_coord_t *coord, rn_group_t *group, rn_err_t err, int64_t now_ms) {
    rn_group_sync_result_t res = {.error = RN_KERR_UNKNOWN_SERVER_ERROR, .cause = err};
    for (int32_t i = 0; i < group->member_count; i++) {
        rn_group_member_t *member = group->members[i];
        member->assignment_len = 0;
        rn_group_sync_waiter_t *waiter = member->sync_waiter;
        if (!waiter) continue;
        member->sync_waiter = NULL;
        waiter->done(waiter, &res);
    }
    prepare_rebalance(coord, group, now_ms);
}

void rn_group_stored(rn_group_coord_t *coord, rn_str_t group_id, int32_t generation, rn_err_t err,
                     int64_t now_ms) {
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group || group->state != RN_GROUP_COMPLETING_REBALANCE ||
        group->generation != generation || group->storing_generation != generation)
        return; /* moved on meanwhile: nothing to answer */
    group->storing_generation = -1;
    if (err != RN_OK) {
        stored_error(coord, group, err, now_ms);
        return;
    }
    rn_group_set_state(coord, group, RN_GROUP_STABLE);
    group->has_metadata = true;
    for (int32_t i = 0; i < group->member_count; i++)
        sync_answer(group, group->members[i], RN_KERR_NONE);
}

static int16_t sync_check(rn_group_coord_t *coord, rn_group_t *group,
                          const rn_group_sync_args_t *args, rn_group_member_t **out) {
    if (coord->refusal) return coord->refusal;
    if (!group) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_group_member_t *by_instance = rn_group_member_by_instance(group, args->instance_id);
    if (by_instance && !rn_group_str_is(args->member_id, by_instance->member_id))
        return RN_KERR_FENCED_INSTANCE_ID;
    rn_group_member_t *member = rn_group_member_find(group, args->member_id);
    if (!member) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (args->generation != group->generation) return RN_KERR_ILLEGAL_GENERATION;
    if ((args->protocol_type.len >= 0 &&
         !rn_group_str_is(args->protocol_type, group->protocol_type)) ||
        (args->protocol_name.len >= 0 &&
         !rn_group_str_is(args->protocol_name, group->protocol_name)))
        return RN_KERR_INCONSISTENT_GROUP_PROTOCOL;
    if (group->state == RN_GROUP_EMPTY) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (group->state == RN_GROUP_PREPARING_REBALANCE) return RN_KERR_REBALANCE_IN_PROGRESS;
    *out = member;
    return RN_KERR_NONE;
}

void rn_group_sync(rn_group_coord_t *coord, const rn_group_sync_args_t *args,
                   rn_group_sync_waiter_t *waiter, int64_t now_ms) {
    RN_ASSERT(waiter && waiter->done);
    rn_group_t *group = rn_group_find(coord, args->group_id);
    rn_group_member_t *member = NULL;
    int16_t err = sync_check(coord, group, args, &member);
    if (err != RN_KERR_NONE) {
        rn_group_sync_result_t res = {.error = err};
        waiter->done(waiter, &res);
        return;
    }
    member->deadline_ms = now_ms + member->session_timeout_ms;
    if (member->sync_waiter) sync_answer(group, member, RN_KERR_REBALANCE_IN_PROGRESS);
    member->sync_waiter = waiter;
    if (group->state == RN_GROUP_STABLE) {
        sync_answer(group, member, RN_KERR_NONE);
        return;
    }
    RN_ASSERT(group->state == RN_GROUP_COMPLETING_REBALANCE);
    if (group->storing_generation == group->generation) return; /* answered once stored */
    if (group->leader_id && !strcmp(group->leader_id, member->member_id))
        sync_apply(coord, group, args);
}

/* ---- Heartbeat and LeaveGroup ---- */

int16_t rn_group_heartbeat(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                           rn_str_t instance_id, int32_t generation, int64_t now_ms) {
    if (coord->refusal) return coord->refusal;
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_group_member_t *by_instance = rn_group_member_by_instance(group, instance_id);
    if (by_instance && !rn_group_str_is(member_id, by_instance->member_id))
        return RN_KERR_FENCED_INSTANCE_ID;
    rn_group_member_t *member = rn_group_member_find(group, member_id);
    if (!member || group->state == RN_GROUP_EMPTY) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (generation != group->generation) return RN_KERR_ILLEGAL_GENERATION;
    member->deadline_ms = now_ms + member->session_timeout_ms;
    if (group->state == RN_GROUP_PREPARING_REBALANCE) return RN_KERR_REBALANCE_IN_PROGRESS;
    return RN_KERR_NONE;
}

void rn_group_member_remove(rn_group_coord_t *coord, rn_group_t *group, rn_group_member_t *member,
                            int64_t now_ms) {
    join_answer(group, member, RN_KERR_UNKNOWN_MEMBER_ID, false);
    sync_answer(group, member, RN_KERR_UNKNOWN_MEMBER_ID);
    for (int32_t i = 0; i < group->member_count; i++) {
        if (group->members[i] != member) continue;
        group->members[i] = group->members[--group->member_count];
        break;
    }
    if (group->leader_id && !strcmp(group->leader_id, member->member_id)) {
        free(group->leader_id);
        group->leader_id = group->member_count ? strdup(group->members[0]->member_id) : NULL;
    }
    rn_group_member_free(member);
    if (group->state == RN_GROUP_STABLE || group->state == RN_GROUP_COMPLETING_REBALANCE)
        prepare_rebalance(coord, group, now_ms);
    try_complete_join(coord, group, now_ms);
}

int16_t rn_group_leave(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                       rn_str_t instance_id, int64_t now_ms) {
    if (coord->refusal) return coord->refusal;
    rn_group_t *group = rn_group_find(coord, group_id);
    if (!group) return RN_KERR_UNKNOWN_MEMBER_ID;
    if (group->state == RN_GROUP_DEAD) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_group_member_t *member;
    if (instance_id.len >= 0) {
        member = rn_group_member_by_instance(group, instance_id);
        if (!member) return RN_KERR_UNKNOWN_MEMBER_ID;
        if (member_id.len > 0 && !rn_group_str_is(member_id, member->member_id))
            return RN_KERR_FENCED_INSTANCE_ID;
    } else {
        if (rn_group_pending_remove(group, member_id)) {
            try_complete_join(coord, group, now_ms);
            return RN_KERR_NONE;
        }
        member = rn_group_member_find(group, member_id);
        if (!member) return RN_KERR_UNKNOWN_MEMBER_ID;
    }
    rn_group_member_remove(coord, group, member, now_ms);
    return RN_KERR_NONE;
}

/* ---- timeouts ---- */

static void tick_join_phase(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    if (group->state != RN_GROUP_PREPARING_REBALANCE) return;
    if (now_ms < group->rebalance_deadline_ms) {
        rn_group_coord_note_deadline(coord, group->rebalance_deadline_ms);
        return;
    }
    if (group->initial_delay) {
        int64_t left = group->initial_delay_end_ms - now_ms;
        if (group->new_member_added && left > 0) {
            int64_t delay = coord->cfg.initial_rebalance_delay_ms;
            group->new_member_added = false;
            group->rebalance_deadline_ms = now_ms + (delay < left ? delay : left);
            rn_group_coord_note_deadline(coord, group->rebalance_deadline_ms);
            return;
        }
        group->initial_delay = false;
    }
    complete_join(coord, group, now_ms);
}

/* Drops MEMBER_ID_REQUIRED ids whose session ran out; a join phase that
   waited only for them completes now (as Kafka), not at its rebalance
   timeout. */
static void tick_pending(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    bool expired = false;
    for (int32_t i = 0; i < group->pending_count;) {
        if (group->pending[i].deadline_ms > now_ms) {
            rn_group_coord_note_deadline(coord, group->pending[i].deadline_ms);
            i++;
            continue;
        }
        free(group->pending[i].member_id);
        group->pending[i] = group->pending[--group->pending_count];
        expired = true;
    }
    if (expired) try_complete_join(coord, group, now_ms);
}

void rn_group_tick_group(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms) {
    tick_pending(coord, group, now_ms);
    for (int32_t i = 0; i < group->member_count;) {
        rn_group_member_t *member = group->members[i];
        if (member->deadline_ms > now_ms) {
            rn_group_coord_note_deadline(coord, member->deadline_ms);
            i++;
        } else if (!member->is_new && (member->join_waiter || member->sync_waiter)) {
            member->deadline_ms = now_ms + member->session_timeout_ms; /* kept alive */
            rn_group_coord_note_deadline(coord, member->deadline_ms);
            i++;
        } else {
            rn_group_member_remove(coord, group, member, now_ms); /* reorders members */
            i = 0;
        }
    }
    tick_join_phase(coord, group, now_ms);
}
