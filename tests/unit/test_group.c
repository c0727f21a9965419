/*
 * test_group.c: the group state machine (group.h) driven by calls and a
 * fake clock: MEMBER_ID_REQUIRED, join/sync phases (SyncGroup answers held
 * until the group's record is durable, its failure), protocol vote,
 * generations, heartbeats and their errors, session and rebalance
 * timeouts, static members (no rebalance on rejoin, FENCED_INSTANCE_ID),
 * commit checks, offset expiry, deletion, the __consumer_offsets records
 * round trip, and Kafka's coordinator partition of a group id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "group/coordinator.h"
#include "group/group.h"
#include "group/group_records.h"
#include "proto/batch.h"
#include "proto/kerr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- harness ---- */

typedef struct fake {
    uint64_t next_random;
    int64_t wall_ms;
    int changed;
    int removed;
    int offsets_removed;
    rn_group_coord_t *coord;
    bool hold_stores;        /* group_store waits for store_complete */
    int stores;              /* group records written */
    int32_t held_generation; /* the store held, -1: none */
    int64_t now_ms;
} fake_t;

static uint64_t fake_random(void *ctx) {
    return ++((fake_t *)ctx)->next_random * 0x9E3779B97F4A7C15ull;
}
static int64_t fake_wall(void *ctx) { return ((fake_t *)ctx)->wall_ms; }
static void fake_changed(void *ctx, const rn_group_t *group) {
    (void)group;
    ((fake_t *)ctx)->changed++;
}
static void fake_removed(void *ctx, const char *group_id) {
    (void)group_id;
    ((fake_t *)ctx)->removed++;
}
static void fake_offset_removed(void *ctx, const char *g, const char *t, int32_t p) {
    (void)g, (void)t, (void)p;
    ((fake_t *)ctx)->offsets_removed++;
}

static fake_t fake;

static void fake_store(void *ctx, const rn_group_t *group) {
    fake_t *f = ctx;
    f->changed++;
    f->stores++;
    if (f->hold_stores) {
        f->held_generation = rn_group_generation(group);
        return;
    }
    rn_group_stored(f->coord, rn_str_from_cstr(rn_group_id(group)), rn_group_generation(group),
                    RN_OK, f->now_ms);
}

/* The held group record becomes durable (RN_OK) or fails. */
static void store_complete(rn_err_t err, int64_t now_ms) {
    assert_true(fake.held_generation >= 0);
    int32_t generation = fake.held_generation;
    fake.held_generation = -1;
    rn_group_stored(fake.coord, rn_str_from_cstr("g"), generation, err, now_ms);
}

static rn_group_coord_t *coord_new(int32_t initial_delay_ms) {
    memset(&fake, 0, sizeof fake);
    fake.wall_ms = 1700000000000;
    rn_group_config_t cfg = {6000, 300000, initial_delay_ms, 100, 60000, 1000};
    rn_group_hooks_t hooks = {&fake,        fake_random,         fake_wall, fake_changed,
                              fake_removed, fake_offset_removed, fake_store};
    fake.held_generation = -1;
    fake.coord = rn_group_coord_new(&cfg, &hooks, 0);
    return fake.coord;
}

typedef struct join_call {
    rn_group_join_waiter_t waiter;
    int done;
    int16_t error;
    int32_t generation;
    char member_id[128];
    char leader[128];
    char protocol[32];
    int32_t members; /* -1: not the leader */
    bool skip_assignment;
} join_call_t;

static void join_done(rn_group_join_waiter_t *waiter, const rn_group_join_result_t *res) {
    join_call_t *call = (join_call_t *)waiter;
    call->done++;
    call->error = res->error;
    call->generation = res->generation;
    snprintf(call->member_id, sizeof call->member_id, "%s", res->member_id ? res->member_id : "");
    snprintf(call->leader, sizeof call->leader, "%s", res->leader_id ? res->leader_id : "");
    snprintf(call->protocol, sizeof call->protocol, "%s",
             res->protocol_name ? res->protocol_name : "");
    call->members = res->group ? rn_group_member_count(res->group) : -1;
    call->skip_assignment = res->skip_assignment;
}

static const rn_group_protocol_t proto_range[] = {{{"range", 5}, {(const uint8_t *)"m", 1}}};
static const rn_group_protocol_t proto_both[] = {{{"range", 5}, {(const uint8_t *)"a", 1}},
                                                 {{"roundrobin", 10}, {(const uint8_t *)"b", 1}}};
static const rn_group_protocol_t proto_rr[] = {{{"roundrobin", 10}, {(const uint8_t *)"c", 1}}};

/* A JoinGroup; skip_ok as from v9 (a static leader may skip assigning). */
static void join_as(rn_group_coord_t *coord, join_call_t *call, const char *member_id,
                    const char *instance_id, const rn_group_protocol_t *protos, int32_t count,
                    bool skip_ok, int64_t now_ms) {
    memset(call, 0, sizeof *call);
    call->waiter.done = join_done;
    rn_group_join_args_t args = {
        .group_id = rn_str_from_cstr("g"),
        .member_id = rn_str_from_cstr(member_id),
        .instance_id = instance_id ? rn_str_from_cstr(instance_id) : rn_str_null(),
        .protocol_type = rn_str_from_cstr("consumer"),
        .client_id = rn_str_from_cstr("client"),
        .client_host = rn_str_from_cstr("/127.0.0.1"),
        .protocols = protos,
        .protocol_count = count,
        .session_timeout_ms = 10000,
        .rebalance_timeout_ms = 20000,
        .require_known_member_id = true,
        .skip_assignment_ok = skip_ok,
    };
    rn_group_join(coord, &args, &call->waiter, now_ms);
}

static void join(rn_group_coord_t *coord, join_call_t *call, const char *member_id,
                 const char *instance_id, const rn_group_protocol_t *protos, int32_t count,
                 int64_t now_ms) {
    join_as(coord, call, member_id, instance_id, protos, count, false, now_ms);
}

/* A new dynamic member: MEMBER_ID_REQUIRED, then the join with its id. */
static void join_new(rn_group_coord_t *coord, join_call_t *call, int64_t now_ms) {
    join(coord, call, "", NULL, proto_range, 1, now_ms);
    assert_int_equal(call->error, RN_KERR_MEMBER_ID_REQUIRED);
    char id[128];
    snprintf(id, sizeof id, "%s", call->member_id);
    join(coord, call, id, NULL, proto_range, 1, now_ms);
}

typedef struct sync_call {
    rn_group_sync_waiter_t waiter;
    int done;
    int16_t error;
    rn_err_t cause;
    char assignment[32];
} sync_call_t;

static void sync_done(rn_group_sync_waiter_t *waiter, const rn_group_sync_result_t *res) {
    sync_call_t *call = (sync_call_t *)waiter;
    call->done++;
    call->error = res->error;
    call->cause = res->cause;
    int len = res->assignment.len > 0 ? res->assignment.len : 0;
    snprintf(call->assignment, sizeof call->assignment, "%.*s", len,
             len ? (const char *)res->assignment.ptr : "");
}

static void sync_group(rn_group_coord_t *coord, sync_call_t *call, const char *member_id,
                       int32_t generation, const rn_group_assignment_t *assignments, int32_t count,
                       int64_t now_ms) {
    memset(call, 0, sizeof *call);
    call->waiter.done = sync_done;
    rn_group_sync_args_t args = {rn_str_from_cstr("g"), rn_str_from_cstr(member_id),
                                 rn_str_null(),         rn_str_null(),
                                 rn_str_null(),         generation,
                                 assignments,           count};
    rn_group_sync(coord, &args, &call->waiter, now_ms);
}

static rn_group_state_t state_of(rn_group_coord_t *coord) {
    return rn_group_state(rn_group_find(coord, rn_str_from_cstr("g")));
}

static int16_t heartbeat(rn_group_coord_t *coord, const char *member, int32_t gen, int64_t now) {
    return rn_group_heartbeat(coord, rn_str_from_cstr("g"), rn_str_from_cstr(member), rn_str_null(),
                              gen, now);
}

/* ---- tests ---- */

static void test_single_member(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a;
    join_new(coord, &a, 0);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.error, RN_KERR_NONE);
    assert_int_equal(a.generation, 1);
    assert_string_equal(a.leader, a.member_id);
    assert_string_equal(a.protocol, "range");
    assert_int_equal(a.members, 1);
    assert_int_equal(state_of(coord), RN_GROUP_COMPLETING_REBALANCE);
    rn_group_assignment_t asg = {rn_str_from_cstr(a.member_id), {(const uint8_t *)"p0-11", 5}};
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, &asg, 1, 10);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.error, RN_KERR_NONE);
    assert_string_equal(s.assignment, "p0-11");
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    assert_int_equal(fake.changed, 1);
    assert_int_equal(heartbeat(coord, a.member_id, 1, 20), RN_KERR_NONE);
    assert_int_equal(heartbeat(coord, a.member_id, 2, 20), RN_KERR_ILLEGAL_GENERATION);
    assert_int_equal(heartbeat(coord, "nobody", 1, 20), RN_KERR_UNKNOWN_MEMBER_ID);
    rn_group_coord_free(coord);
}

static void test_two_members_rebalance(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b;
    join_new(coord, &a, 0);
    sync_call_t sa, sb;
    sync_group(coord, &sa, a.member_id, 1, NULL, 0, 0);
    join_new(coord, &b, 100);
    assert_int_equal(b.done, 0); /* waits for a to rejoin */
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(coord, a.member_id, 1, 200), RN_KERR_REBALANCE_IN_PROGRESS);
    char a_id[128];
    snprintf(a_id, sizeof a_id, "%s", a.member_id);
    join(coord, &a, a_id, NULL, proto_range, 1, 300);
    assert_int_equal(a.done, 1);
    assert_int_equal(b.done, 1);
    assert_int_equal(a.generation, 2);
    assert_int_equal(b.generation, 2);
    assert_int_equal(a.members, 2); /* a stays the leader */
    assert_int_equal(b.members, -1);
    assert_string_equal(b.leader, a_id);
    sync_group(coord, &sb, b.member_id, 2, NULL, 0, 400);
    assert_int_equal(sb.done, 0); /* waits for the leader */
    rn_group_assignment_t asg[] = {{rn_str_from_cstr(a_id), {(const uint8_t *)"A", 1}},
                                   {rn_str_from_cstr(b.member_id), {(const uint8_t *)"B", 1}}};
    sync_group(coord, &sa, a_id, 2, asg, 2, 500);
    assert_int_equal(sa.done, 1);
    assert_int_equal(sb.done, 1);
    assert_string_equal(sa.assignment, "A");
    assert_string_equal(sb.assignment, "B");
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    rn_group_coord_free(coord);
}

static void test_session_expiry(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b;
    join_new(coord, &a, 0);
    join_new(coord, &b, 0);
    char a_id[128];
    snprintf(a_id, sizeof a_id, "%s", a.member_id);
    join(coord, &a, a_id, NULL, proto_range, 1, 0);
    assert_int_equal(a.generation, 2);
    sync_call_t sa, sb;
    sync_group(coord, &sb, b.member_id, 2, NULL, 0, 0);
    sync_group(coord, &sa, a_id, 2, NULL, 0, 0);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    for (int64_t now = 1000; now <= 9000; now += 1000) {
        assert_int_equal(heartbeat(coord, a_id, 2, now), RN_KERR_NONE);
        rn_group_coord_tick(coord, now);
    }
    rn_group_coord_tick(coord, 10001); /* b's session (10 s) is over */
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(coord, b.member_id, 2, 10002), RN_KERR_UNKNOWN_MEMBER_ID);
    join(coord, &a, a_id, NULL, proto_range, 1, 10003);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.generation, 3);
    assert_int_equal(a.members, 1);
    rn_group_coord_free(coord);
}

static void test_rebalance_timeout(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b;
    join_new(coord, &a, 0);
    sync_call_t sa;
    sync_group(coord, &sa, a.member_id, 1, NULL, 0, 0);
    join_new(coord, &b, 1000); /* a never rejoins */
    assert_int_equal(b.done, 0);
    heartbeat(coord, a.member_id, 1, 5000);
    heartbeat(coord, a.member_id, 1, 14000); /* alive, but never rejoins */
    rn_group_coord_tick(coord, 20999);
    assert_int_equal(b.done, 0);
    rn_group_coord_tick(coord, 21000); /* rebalance timeout: 20 s */
    assert_int_equal(b.done, 1);
    assert_int_equal(b.generation, 2);
    assert_int_equal(b.members, 1); /* a was dropped, b leads */
    rn_group_coord_free(coord);
}

static void test_initial_delay(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(3000);
    join_call_t a, b;
    join_new(coord, &a, 0);
    assert_int_equal(a.done, 0);
    join_new(coord, &b, 1000);
    rn_group_coord_tick(coord, 3000); /* extended: b joined during the delay */
    assert_int_equal(a.done, 0);
    rn_group_coord_tick(coord, 6000);
    assert_int_equal(a.done, 1);
    assert_int_equal(b.done, 1);
    assert_int_equal(a.generation, 1);
    rn_group_coord_free(coord);
}

static void test_protocol_vote_and_errors(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b, c;
    join(coord, &a, "", NULL, proto_both, 2, 0);
    char a_id[128];
    snprintf(a_id, sizeof a_id, "%s", a.member_id);
    join(coord, &a, a_id, NULL, proto_both, 2, 0);
    join(coord, &b, "", NULL, proto_rr, 1, 0);
    char b_id[128];
    snprintf(b_id, sizeof b_id, "%s", b.member_id);
    join(coord, &b, b_id, NULL, proto_rr, 1, 0);
    join(coord, &a, a_id, NULL, proto_both, 2, 0);
    assert_int_equal(a.done, 1);
    assert_string_equal(a.protocol, "roundrobin");
    join(coord, &c, "", NULL, proto_range, 1, 0); /* range only: not every member has it */
    assert_int_equal(c.error, RN_KERR_INCONSISTENT_GROUP_PROTOCOL);
    rn_group_join_args_t args = {.group_id = rn_str_from_cstr("g"),
                                 .member_id = rn_str_from_cstr(""),
                                 .instance_id = rn_str_null(),
                                 .protocol_type = rn_str_from_cstr("consumer"),
                                 .protocols = proto_range,
                                 .protocol_count = 1,
                                 .session_timeout_ms = 10,
                                 .rebalance_timeout_ms = 10};
    join_call_t d = {.waiter.done = join_done};
    rn_group_join(coord, &args, &d.waiter, 0);
    assert_int_equal(d.error, RN_KERR_INVALID_SESSION_TIMEOUT);
    rn_group_coord_set_refusal(coord, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    join(coord, &c, "", NULL, proto_range, 1, 0);
    assert_int_equal(c.error, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    rn_group_coord_free(coord);
}

static void test_static_member_rejoin(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a;
    join(coord, &a, "", "inst-1", proto_range, 1, 0); /* static: no MEMBER_ID_REQUIRED */
    assert_int_equal(a.error, RN_KERR_NONE);
    char old_id[128];
    snprintf(old_id, sizeof old_id, "%s", a.member_id);
    rn_group_assignment_t asg = {rn_str_from_cstr(old_id), {(const uint8_t *)"mine", 4}};
    sync_call_t s;
    sync_group(coord, &s, old_id, 1, &asg, 1, 0);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    join(coord, &a, "", "inst-1", proto_range, 1, 1000); /* restarted process */
    assert_int_equal(a.done, 1);
    assert_int_equal(a.error, RN_KERR_NONE);
    assert_int_equal(a.generation, 1); /* no rebalance */
    assert_string_not_equal(a.member_id, old_id);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    assert_int_equal(rn_group_heartbeat(coord, rn_str_from_cstr("g"), rn_str_from_cstr(old_id),
                                        rn_str_from_cstr("inst-1"), 1, 1000),
                     RN_KERR_FENCED_INSTANCE_ID);
    sync_group(coord, &s, a.member_id, 1, NULL, 0, 1000);
    assert_int_equal(s.error, RN_KERR_NONE);
    assert_string_equal(s.assignment, "mine");
    rn_group_coord_free(coord);
}

/* Static members "inst-a" (the leader) and "inst-b", both offering
   protos, Stable at generation 2 with assignments "A" and "B". */
static void static_pair(rn_group_coord_t *coord, const rn_group_protocol_t *protos, int32_t count,
                        char a_id[128], char b_id[128]) {
    join_call_t a, b;
    join(coord, &a, "", "inst-a", protos, count, 0);
    assert_int_equal(a.generation, 1);
    snprintf(a_id, 128, "%s", a.member_id);
    sync_call_t sa, sb;
    sync_group(coord, &sa, a_id, 1, NULL, 0, 0);
    join(coord, &b, "", "inst-b", protos, count, 0);
    join(coord, &a, a_id, "inst-a", protos, count, 0);
    snprintf(b_id, 128, "%s", b.member_id);
    assert_int_equal(b.generation, 2);
    assert_string_equal(b.leader, a_id);
    rn_group_assignment_t asg[] = {{rn_str_from_cstr(a_id), {(const uint8_t *)"A", 1}},
                                   {rn_str_from_cstr(b_id), {(const uint8_t *)"B", 1}}};
    sync_group(coord, &sb, b_id, 2, NULL, 0, 0);
    sync_group(coord, &sa, a_id, 2, asg, 2, 0);
    assert_int_equal(sb.done, 1);
    assert_int_equal(sb.error, RN_KERR_NONE);
    assert_string_equal(sb.assignment, "B");
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
}

static int16_t heartbeat_static(rn_group_coord_t *coord, const char *member, const char *instance,
                                int32_t gen, int64_t now) {
    return rn_group_heartbeat(coord, rn_str_from_cstr("g"), rn_str_from_cstr(member),
                              rn_str_from_cstr(instance), gen, now);
}

static void sync_static(rn_group_coord_t *coord, sync_call_t *call, const char *member_id,
                        const char *instance, int32_t generation, int64_t now_ms) {
    memset(call, 0, sizeof *call);
    call->waiter.done = sync_done;
    rn_group_sync_args_t args = {rn_str_from_cstr("g"),
                                 rn_str_from_cstr(member_id),
                                 rn_str_from_cstr(instance),
                                 rn_str_null(),
                                 rn_str_null(),
                                 generation,
                                 NULL,
                                 0};
    rn_group_sync(coord, &args, &call->waiter, now_ms);
}

/* The same protocol with other metadata: a restarted consumer that owns no
   partitions yet, or lists its topics in another order. */
static const rn_group_protocol_t proto_range_new[] = {{{"range", 5}, {(const uint8_t *)"m2", 2}}};

/* A restarted follower with new metadata for the same protocol takes its
   entry back with no rebalance: same generation, old assignment, the
   other member undisturbed; its old id is fenced everywhere. */
static void test_static_rejoin_new_metadata(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    char a_id[128], b_id[128];
    static_pair(coord, proto_range, 1, a_id, b_id);
    join_call_t b;
    join(coord, &b, "", "inst-b", proto_range_new, 1, 1000);
    assert_int_equal(b.done, 1);
    assert_int_equal(b.error, RN_KERR_NONE);
    assert_int_equal(b.generation, 2);
    assert_string_equal(b.protocol, "range");
    assert_string_equal(b.leader, a_id);
    assert_int_equal(b.members, -1);
    assert_string_not_equal(b.member_id, b_id);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    assert_int_equal(heartbeat_static(coord, a_id, "inst-a", 2, 1100), RN_KERR_NONE);
    sync_call_t s;
    sync_static(coord, &s, b.member_id, "inst-b", 2, 1200);
    assert_int_equal(s.error, RN_KERR_NONE);
    assert_string_equal(s.assignment, "B");
    assert_int_equal(heartbeat_static(coord, b_id, "inst-b", 2, 1300), RN_KERR_FENCED_INSTANCE_ID);
    sync_static(coord, &s, b_id, "inst-b", 2, 1300);
    assert_int_equal(s.error, RN_KERR_FENCED_INSTANCE_ID);
    rn_str_t g = rn_str_from_cstr("g");
    assert_int_equal(rn_group_commit_check(coord, g, rn_str_from_cstr(b_id),
                                           rn_str_from_cstr("inst-b"), 2, 1300),
                     RN_KERR_FENCED_INSTANCE_ID);
    join_call_t old;
    join(coord, &old, b_id, "inst-b", proto_range, 1, 1300);
    assert_int_equal(old.error, RN_KERR_FENCED_INSTANCE_ID);
    assert_int_equal(
        rn_group_leave(coord, g, rn_str_from_cstr(b_id), rn_str_from_cstr("inst-b"), 1300),
        RN_KERR_FENCED_INSTANCE_ID);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    rn_group_coord_free(coord);
}

/* A restarted leader is answered as a follower (the leader id before the
   takeover, no member list), gets its old assignment, and leads the next
   rebalance under its new id. */
static void test_static_leader_rejoin(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    char a_id[128], b_id[128];
    static_pair(coord, proto_range, 1, a_id, b_id);
    join_call_t a;
    join(coord, &a, "", "inst-a", proto_range_new, 1, 1000);
    assert_int_equal(a.error, RN_KERR_NONE);
    assert_int_equal(a.generation, 2);
    assert_string_equal(a.leader, a_id); /* the old id: a does not assign */
    assert_int_equal(a.members, -1);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    assert_string_equal(rn_group_leader(rn_group_find(coord, rn_str_from_cstr("g"))), a.member_id);
    sync_call_t s;
    sync_static(coord, &s, a.member_id, "inst-a", 2, 1100);
    assert_string_equal(s.assignment, "A");
    assert_int_equal(heartbeat_static(coord, b_id, "inst-b", 2, 1200), RN_KERR_NONE);
    char new_a[128];
    snprintf(new_a, sizeof new_a, "%s", a.member_id);
    join_call_t b;
    join(coord, &b, b_id, "inst-b", proto_range_new, 1, 1300); /* b's subscription changed */
    assert_int_equal(b.done, 0);
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    join(coord, &a, new_a, "inst-a", proto_range_new, 1, 1400);
    assert_int_equal(b.generation, 3);
    assert_string_equal(b.leader, new_a);
    assert_int_equal(a.members, 2);
    rn_group_coord_free(coord);
}

/* From JoinGroup v9 a static leader back in a Stable group is told it leads
   (its new id), with every member and skip_assignment; a follower back is
   told nothing more. Neither rebalances, and SyncGroup gives each its own. */
static void test_static_leader_rejoin_skip_assignment(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    char a_id[128], b_id[128];
    static_pair(coord, proto_range, 1, a_id, b_id);
    join_call_t a;
    join_as(coord, &a, "", "inst-a", proto_range_new, 1, true, 1000);
    assert_int_equal(a.error, RN_KERR_NONE);
    assert_int_equal(a.generation, 2);
    assert_string_not_equal(a.member_id, a_id);
    assert_string_equal(a.leader, a.member_id);
    assert_int_equal(a.members, 2);
    assert_true(a.skip_assignment);
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    sync_call_t s;
    sync_static(coord, &s, a.member_id, "inst-a", 2, 1100);
    assert_string_equal(s.assignment, "A");
    join_call_t b;
    join_as(coord, &b, "", "inst-b", proto_range_new, 1, true, 1200);
    assert_int_equal(b.error, RN_KERR_NONE);
    assert_int_equal(b.generation, 2);
    assert_string_equal(b.leader, a.member_id);
    assert_int_equal(b.members, -1);
    assert_false(b.skip_assignment);
    sync_static(coord, &s, b.member_id, "inst-b", 2, 1300);
    assert_string_equal(s.assignment, "B");
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    rn_group_coord_free(coord);
}

/* A rejoin that changes the protocol the group would select rebalances. */
static void test_static_rejoin_protocol_change(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    char a_id[128], b_id[128];
    static_pair(coord, proto_both, 2, a_id, b_id);
    join_call_t b;
    join(coord, &b, "", "inst-b", proto_rr, 1, 1000);
    assert_int_equal(b.done, 0);
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat_static(coord, a_id, "inst-a", 2, 1100),
                     RN_KERR_REBALANCE_IN_PROGRESS);
    join_call_t a;
    join(coord, &a, a_id, "inst-a", proto_both, 2, 1200);
    assert_int_equal(a.generation, 3);
    assert_string_equal(a.protocol, "roundrobin");
    assert_int_equal(b.generation, 3);
    rn_group_coord_free(coord);
}

/* A static member is removed only by its session timeout (or a leave by
   instance id); a restart after that is a new member and rebalances. */
static void test_static_expiry_and_leave(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    char a_id[128], b_id[128];
    static_pair(coord, proto_range, 1, a_id, b_id);
    for (int64_t now = 1000; now <= 9000; now += 1000) {
        assert_int_equal(heartbeat_static(coord, a_id, "inst-a", 2, now), RN_KERR_NONE);
        rn_group_coord_tick(coord, now);
    }
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    rn_group_coord_tick(coord, 10001); /* b's session (10 s) is over */
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat_static(coord, b_id, "inst-b", 2, 10002), RN_KERR_UNKNOWN_MEMBER_ID);
    join_call_t a, b;
    join(coord, &a, a_id, "inst-a", proto_range, 1, 10003);
    assert_int_equal(a.generation, 3);
    assert_int_equal(a.members, 1);
    sync_call_t s;
    sync_static(coord, &s, a_id, "inst-a", 3, 10004);
    join(coord, &b, "", "inst-b", proto_range, 1, 10005); /* back: a new member */
    assert_int_equal(b.done, 0);
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    join(coord, &a, a_id, "inst-a", proto_range, 1, 10006);
    assert_int_equal(b.generation, 4);
    rn_str_t g = rn_str_from_cstr("g");
    assert_int_equal(
        rn_group_leave(coord, g, rn_str_from_cstr(""), rn_str_from_cstr("nobody"), 10007),
        RN_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(
        rn_group_leave(coord, g, rn_str_from_cstr(""), rn_str_from_cstr("inst-b"), 10007),
        RN_KERR_NONE); /* an administrative removal by instance id */
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    join(coord, &a, a_id, "inst-a", proto_range, 1, 10008);
    assert_int_equal(a.generation, 5);
    assert_int_equal(a.members, 1);
    rn_group_coord_free(coord);
}

/* Kafka's JoinGroup details: a static member's id starts with its instance
   id; an error to a JoinGroup naming a member id echoes that id; a member
   id joining with an instance id the group does not know is unknown. */
static void test_join_member_ids(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b;
    join(coord, &a, "", "inst-a", proto_range, 1, 0);
    assert_int_equal(a.error, RN_KERR_NONE);
    assert_memory_equal(a.member_id, "inst-a-", 7);
    char a_id[128];
    snprintf(a_id, sizeof a_id, "%s", a.member_id);
    sync_call_t s;
    sync_group(coord, &s, a_id, 1, NULL, 0, 0);
    join(coord, &b, "ghost", NULL, proto_range, 1, 0);
    assert_int_equal(b.error, RN_KERR_UNKNOWN_MEMBER_ID);
    assert_string_equal(b.member_id, "ghost");
    join(coord, &b, "ghost", "inst-a", proto_range, 1, 0);
    assert_int_equal(b.error, RN_KERR_FENCED_INSTANCE_ID);
    assert_string_equal(b.member_id, "ghost");
    join(coord, &b, a_id, NULL, proto_rr, 1, 0);
    assert_int_equal(b.error, RN_KERR_INCONSISTENT_GROUP_PROTOCOL);
    assert_string_equal(b.member_id, a_id);
    join(coord, &b, "", NULL, proto_range, 1, 0); /* a dynamic member ... */
    assert_int_equal(b.error, RN_KERR_MEMBER_ID_REQUIRED);
    char b_id[128];
    snprintf(b_id, sizeof b_id, "%s", b.member_id);
    assert_memory_equal(b_id, "client-", 7);
    join(coord, &b, b_id, NULL, proto_range, 1, 0);
    join(coord, &a, a_id, "inst-a", proto_range, 1, 0);
    assert_int_equal(b.generation, 2);
    join(coord, &b, b_id, "inst-b", proto_range, 1, 10); /* ... naming an unknown instance */
    assert_int_equal(b.error, RN_KERR_UNKNOWN_MEMBER_ID);
    assert_string_equal(b.member_id, b_id);
    rn_group_coord_free(coord);
}

/* A client that got MEMBER_ID_REQUIRED and never came back (librdkafka
   drops such an answer when it resubscribes meanwhile) holds the join phase
   only until that id's session timeout, as Kafka: then the phase completes
   without waiting for the rebalance timeout. */
static void test_pending_expiry_completes_join(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a, b, x;
    join_new(coord, &a, 0);
    char a_id[128];
    snprintf(a_id, sizeof a_id, "%s", a.member_id);
    sync_call_t s;
    sync_group(coord, &s, a_id, 1, NULL, 0, 0);
    join(coord, &x, "", NULL, proto_range, 1, 1000); /* pending until 11000 */
    assert_int_equal(x.error, RN_KERR_MEMBER_ID_REQUIRED);
    join_new(coord, &b, 1000);
    join(coord, &a, a_id, NULL, proto_range, 1, 2000);
    assert_int_equal(a.done, 0); /* every member is in; the pending id is not */
    rn_group_coord_tick(coord, 10999);
    assert_int_equal(a.done, 0);
    rn_group_coord_tick(coord, 11000); /* rebalance timeout would be 21000 */
    assert_int_equal(a.done, 1);
    assert_int_equal(b.done, 1);
    assert_int_equal(a.generation, 2);
    assert_int_equal(a.members, 2);
    rn_group_coord_free(coord);
}

static void test_leave(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a;
    join_new(coord, &a, 0);
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, NULL, 0, 0);
    assert_int_equal(
        rn_group_leave(coord, rn_str_from_cstr("g"), rn_str_from_cstr("x"), rn_str_null(), 0),
        RN_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rn_group_leave(coord, rn_str_from_cstr("g"), rn_str_from_cstr(a.member_id),
                                    rn_str_null(), 0),
                     RN_KERR_NONE);
    rn_group_coord_tick(coord, 1); /* nobody left to rejoin */
    assert_int_equal(state_of(coord), RN_GROUP_EMPTY);
    assert_int_equal(rn_group_generation(rn_group_find(coord, rn_str_from_cstr("g"))), 2);
    rn_group_coord_free(coord);
}

static void test_commit_checks_and_delete(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    rn_str_t g = rn_str_from_cstr("g"), none = rn_str_null(), empty = rn_str_from_cstr("");
    assert_int_equal(rn_group_commit_check(coord, g, empty, none, -1, 0), RN_KERR_NONE);
    assert_int_equal(rn_group_commit_check(coord, g, empty, none, 3, 0),
                     RN_KERR_ILLEGAL_GENERATION);
    join_call_t a;
    join_new(coord, &a, 0);
    assert_int_equal(rn_group_commit_check(coord, g, rn_str_from_cstr(a.member_id), none, 1, 0),
                     RN_KERR_REBALANCE_IN_PROGRESS);
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, NULL, 0, 0);
    assert_int_equal(rn_group_commit_check(coord, g, rn_str_from_cstr(a.member_id), none, 1, 0),
                     RN_KERR_NONE);
    assert_int_equal(rn_group_commit_check(coord, g, empty, none, -1, 0),
                     RN_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rn_group_delete(coord, g), RN_KERR_NON_EMPTY_GROUP);
    assert_int_equal(rn_group_delete(coord, rn_str_from_cstr("nope")), RN_KERR_GROUP_ID_NOT_FOUND);
    rn_group_leave(coord, g, rn_str_from_cstr(a.member_id), none, 0);
    rn_group_coord_tick(coord, 1);
    rn_group_offset_t v = {5, -1, "", 0, -1};
    assert_int_equal(rn_group_offset_put(coord, g, rn_str_from_cstr("t"), 0, &v), RN_OK);
    assert_int_equal(rn_group_delete(coord, g), RN_KERR_NONE);
    assert_int_equal(fake.offsets_removed, 1);
    assert_int_equal(fake.removed, 1);
    assert_null(rn_group_find(coord, g));
    rn_group_coord_free(coord);
}

/* A transaction's offsets (TxnOffsetCommit) as Kafka 3.9's classic group
   checks them: no rebalance check, and generation -1 names no member. */
static void test_txn_commit_checks(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    rn_str_t g = rn_str_from_cstr("g"), none = rn_str_null(), empty = rn_str_from_cstr("");
    rn_str_t nobody = rn_str_from_cstr("nobody");
    assert_int_equal(rn_group_txn_commit_check(coord, g, empty, none, -1), RN_KERR_NONE);
    assert_int_equal(rn_group_txn_commit_check(coord, g, nobody, none, -1), RN_KERR_NONE);
    assert_int_equal(rn_group_txn_commit_check(coord, g, empty, none, 5),
                     RN_KERR_UNKNOWN_MEMBER_ID);
    join_call_t a;
    join_new(coord, &a, 0);
    rn_str_t member = rn_str_from_cstr(a.member_id);
    /* CompletingRebalance: a transaction's offsets are still taken */
    assert_int_equal(rn_group_txn_commit_check(coord, g, member, none, 1), RN_KERR_NONE);
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, NULL, 0, 0);
    assert_int_equal(rn_group_txn_commit_check(coord, g, member, none, 1), RN_KERR_NONE);
    assert_int_equal(rn_group_txn_commit_check(coord, g, member, none, 2),
                     RN_KERR_ILLEGAL_GENERATION);
    assert_int_equal(rn_group_txn_commit_check(coord, g, nobody, none, 1),
                     RN_KERR_UNKNOWN_MEMBER_ID);
    assert_int_equal(rn_group_txn_commit_check(coord, g, member, rn_str_from_cstr("i"), 1),
                     RN_KERR_UNKNOWN_MEMBER_ID);
    /* a non-empty group and no member named: taken (not a plain commit) */
    assert_int_equal(rn_group_txn_commit_check(coord, g, empty, none, -1), RN_KERR_NONE);
    rn_group_coord_set_refusal(coord, RN_KERR_NOT_COORDINATOR);
    assert_int_equal(rn_group_txn_commit_check(coord, g, member, none, 1), RN_KERR_NOT_COORDINATOR);
    rn_group_coord_free(coord);
}

static void test_offset_expiry(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    rn_str_t g = rn_str_from_cstr("g"), t = rn_str_from_cstr("t");
    rn_group_offset_t v = {5, -1, "meta", fake.wall_ms, -1};
    rn_group_offset_put(coord, rn_str_from_cstr("standalone"), t, 0, &v);
    join_call_t a;
    join_new(coord, &a, 0);
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, NULL, 0, 0);
    rn_group_offset_put(coord, g, t, 1, &v);
    rn_group_coord_tick(coord, 0); /* starts the expiry clock */
    fake.wall_ms += 61000;         /* past offsets retention (60 s) */
    for (int64_t now = 500; now <= 1500; now += 500) {
        heartbeat(coord, a.member_id, 1, now);
        rn_group_coord_tick(coord, now);
    }
    assert_null(rn_group_find(coord, rn_str_from_cstr("standalone")));
    assert_non_null(rn_group_offset_get(rn_group_find(coord, g), t, 1)); /* group is live */
    rn_group_leave(coord, g, rn_str_from_cstr(a.member_id), rn_str_null(), 1600);
    rn_group_coord_tick(coord, 1601); /* now Empty, counted from here */
    fake.wall_ms += 61000;
    rn_group_coord_tick(coord, 3000);
    assert_null(rn_group_find(coord, g));
    rn_group_coord_free(coord);
}

typedef struct replay {
    rn_group_coord_t *coord;
} replay_t;

static rn_err_t replay_record(void *ctx, rn_bytes_t key, rn_bytes_t value) {
    return rn_group_rec_apply(((replay_t *)ctx)->coord, key, value, 0);
}

static void test_records_round_trip(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    join_call_t a;
    join(coord, &a, "", "inst-9", proto_range, 1, 0);
    rn_group_assignment_t asg = {rn_str_from_cstr(a.member_id), {(const uint8_t *)"xyz", 3}};
    sync_call_t s;
    sync_group(coord, &s, a.member_id, 1, &asg, 1, 0);
    const rn_group_t *group = rn_group_find(coord, rn_str_from_cstr("g"));
    rn_group_batch_t batch;
    rn_group_batch_init(&batch, 1234);
    rn_buf_t key, value;
    rn_buf_init(&key, 1 << 20);
    rn_buf_init(&value, 1 << 20);
    rn_group_rec_group_key(&key, "g");
    rn_group_rec_group_value(&value, group);
    assert_int_equal(rn_group_batch_add(&batch, &key, &value), RN_OK);
    rn_group_offset_t v = {42, 7, "hello", 99, -1};
    key.len = value.len = 0;
    rn_group_rec_offset_key(&key, "g", "topic", 3);
    rn_group_rec_offset_value(&value, &v);
    assert_int_equal(rn_group_batch_add(&batch, &key, &value), RN_OK);
    key.len = 0;
    rn_group_rec_offset_key(&key, "g", "topic", 4);
    assert_int_equal(rn_group_batch_add(&batch, &key, NULL), RN_OK); /* tombstone */
    rn_group_batch_finish(&batch);
    rn_batch_limits_t lim = {1 << 20, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(batch.buf.ptr, batch.buf.len, &lim, &sum), RN_OK);
    assert_int_equal(sum.records_count, 3);
    rn_group_coord_t *loaded = coord_new(0);
    replay_t ctx = {loaded};
    assert_int_equal(rn_group_batch_each(batch.buf.ptr, batch.buf.len, replay_record, &ctx), RN_OK);
    const rn_group_t *back = rn_group_find(loaded, rn_str_from_cstr("g"));
    assert_non_null(back);
    assert_int_equal(rn_group_state(back), RN_GROUP_STABLE);
    assert_int_equal(rn_group_generation(back), 1);
    assert_string_equal(rn_group_protocol_name(back), "range");
    assert_int_equal(rn_group_member_count(back), 1);
    const rn_group_member_t *m = rn_group_member_at(back, 0);
    assert_string_equal(rn_group_member_id(m), a.member_id);
    assert_string_equal(rn_group_member_instance_id(m), "inst-9");
    rn_bytes_t got = rn_group_member_assignment(m);
    assert_int_equal(got.len, 3);
    assert_memory_equal(got.ptr, "xyz", 3);
    const rn_group_offset_t *o = rn_group_offset_get(back, rn_str_from_cstr("topic"), 3);
    assert_non_null(o);
    assert_int_equal(o->offset, 42);
    assert_int_equal(o->leader_epoch, 7);
    assert_string_equal(o->metadata, "hello");
    assert_int_equal(o->commit_timestamp_ms, 99);
    assert_null(rn_group_offset_get(back, rn_str_from_cstr("topic"), 4));
    rn_buf_free(&key);
    rn_buf_free(&value);
    rn_group_batch_free(&batch);
    rn_group_coord_free(loaded);
    rn_group_coord_free(coord);
}

static void test_partition_for(void **state) {
    (void)state;
    /* Expected values: Java's String.hashCode, Utils.abs, % 50. */
    assert_int_equal(rn_group_partition_for(rn_str_from_cstr("abc"), 50), 4);
    assert_int_equal(rn_group_partition_for(rn_str_from_cstr("my-group"), 50), 12);
    assert_int_equal(rn_group_partition_for(rn_str_from_cstr("console-consumer-1"), 50), 24);
    assert_int_equal(rn_group_partition_for(rn_str_from_cstr("grupp\xc3\xa9-\xf0\x9f\x98\x80"), 50),
                     49);
    assert_int_equal(rn_group_partition_for(rn_str_from_cstr(""), 50), 0);
}

/* As Kafka's storeGroup callback: the leader's SyncGroup writes the group's
   record with the assignment; the group stays CompletingRebalance and no
   SyncGroup is answered until that record is durable. */
static void two_members_completing(rn_group_coord_t *coord, join_call_t *a, join_call_t *b,
                                   char *a_id, size_t a_size) {
    join_new(coord, a, 0);
    sync_call_t s;
    sync_group(coord, &s, a->member_id, 1, NULL, 0, 0);
    join_new(coord, b, 100);
    snprintf(a_id, a_size, "%s", a->member_id);
    join(coord, a, a_id, NULL, proto_range, 1, 300);
    assert_int_equal(b->generation, 2);
    assert_int_equal(state_of(coord), RN_GROUP_COMPLETING_REBALANCE);
}

static void test_sync_waits_for_record(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    fake.hold_stores = true;
    join_call_t a, b;
    char a_id[128];
    two_members_completing(coord, &a, &b, a_id, sizeof a_id);
    sync_call_t sa, sb;
    sync_group(coord, &sb, b.member_id, 2, NULL, 0, 400);
    rn_group_assignment_t asg[] = {{rn_str_from_cstr(a_id), {(const uint8_t *)"A", 1}},
                                   {rn_str_from_cstr(b.member_id), {(const uint8_t *)"B", 1}}};
    int stores = fake.stores;
    sync_group(coord, &sa, a_id, 2, asg, 2, 500);
    assert_int_equal(fake.stores, stores + 1);
    assert_int_equal(fake.held_generation, 2);
    assert_int_equal(sa.done, 0); /* held until the record is durable */
    assert_int_equal(sb.done, 0);
    assert_int_equal(state_of(coord), RN_GROUP_COMPLETING_REBALANCE);
    assert_int_equal(heartbeat(coord, b.member_id, 2, 550), RN_KERR_NONE);
    sync_call_t retry; /* the leader again: replaces its wait, no second record */
    sync_group(coord, &retry, a_id, 2, asg, 2, 560);
    assert_int_equal(fake.stores, stores + 1);
    assert_int_equal(sa.done, 1);
    assert_int_equal(sa.error, RN_KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(retry.done, 0);
    store_complete(RN_OK, 600);
    assert_int_equal(retry.done, 1);
    assert_int_equal(sb.done, 1);
    assert_int_equal(retry.error, RN_KERR_NONE);
    assert_int_equal(sb.error, RN_KERR_NONE);
    assert_string_equal(retry.assignment, "A");
    assert_string_equal(sb.assignment, "B");
    assert_int_equal(state_of(coord), RN_GROUP_STABLE);
    rn_group_coord_free(coord);
}

/* A failed write answers every parked SyncGroup with the failure and
   rebalances (Kafka: resetAndPropagateAssignmentError, then
   maybePrepareRebalance). */
static void test_sync_record_fails(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    fake.hold_stores = true;
    join_call_t a, b;
    char a_id[128];
    two_members_completing(coord, &a, &b, a_id, sizeof a_id);
    sync_call_t sa, sb;
    sync_group(coord, &sb, b.member_id, 2, NULL, 0, 400);
    rn_group_assignment_t asg = {rn_str_from_cstr(a_id), {(const uint8_t *)"A", 1}};
    sync_group(coord, &sa, a_id, 2, &asg, 1, 500);
    assert_int_equal(sa.done + sb.done, 0);
    store_complete(RN_ERR_IO, 600);
    assert_int_equal(sa.done, 1);
    assert_int_equal(sb.done, 1);
    assert_int_equal(sa.error, RN_KERR_UNKNOWN_SERVER_ERROR);
    assert_int_equal(sa.cause, RN_ERR_IO);
    assert_int_equal(sb.cause, RN_ERR_IO);
    assert_string_equal(sa.assignment, "");
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    assert_int_equal(heartbeat(coord, a_id, 2, 700), RN_KERR_REBALANCE_IN_PROGRESS);
    rn_group_coord_free(coord);
}

/* A member joining while the record is written moves the group on: the
   parked SyncGroups get REBALANCE_IN_PROGRESS at once, and the write's
   completion is ignored (another state, then another generation). */
static void test_sync_record_generation_moved(void **state) {
    (void)state;
    rn_group_coord_t *coord = coord_new(0);
    fake.hold_stores = true;
    join_call_t a, b, c;
    char a_id[128], b_id[128];
    two_members_completing(coord, &a, &b, a_id, sizeof a_id);
    snprintf(b_id, sizeof b_id, "%s", b.member_id);
    sync_call_t sa;
    rn_group_assignment_t asg = {rn_str_from_cstr(a_id), {(const uint8_t *)"A", 1}};
    sync_group(coord, &sa, a_id, 2, &asg, 1, 500);
    assert_int_equal(sa.done, 0);
    join_new(coord, &c, 550);
    assert_int_equal(sa.done, 1);
    assert_int_equal(sa.error, RN_KERR_REBALANCE_IN_PROGRESS);
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    int32_t held = fake.held_generation;
    store_complete(RN_OK, 560); /* ignored: PreparingRebalance */
    assert_int_equal(state_of(coord), RN_GROUP_PREPARING_REBALANCE);
    join(coord, &a, a_id, NULL, proto_range, 1, 600);
    join(coord, &b, b_id, NULL, proto_range, 1, 600);
    assert_int_equal(c.generation, 3);
    assert_int_equal(state_of(coord), RN_GROUP_COMPLETING_REBALANCE);
    fake.held_generation = held;
    store_complete(RN_OK, 700); /* generation 2's, late: ignored */
    assert_int_equal(state_of(coord), RN_GROUP_COMPLETING_REBALANCE);
    sync_call_t sc;
    sync_group(coord, &sc, c.member_id, 3, NULL, 0, 800);
    assert_int_equal(sc.done, 0);
    rn_group_coord_free(coord);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_member),
        cmocka_unit_test(test_two_members_rebalance),
        cmocka_unit_test(test_sync_waits_for_record),
        cmocka_unit_test(test_sync_record_fails),
        cmocka_unit_test(test_sync_record_generation_moved),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_rebalance_timeout),
        cmocka_unit_test(test_initial_delay),
        cmocka_unit_test(test_protocol_vote_and_errors),
        cmocka_unit_test(test_static_member_rejoin),
        cmocka_unit_test(test_static_rejoin_new_metadata),
        cmocka_unit_test(test_static_leader_rejoin),
        cmocka_unit_test(test_static_leader_rejoin_skip_assignment),
        cmocka_unit_test(test_static_rejoin_protocol_change),
        cmocka_unit_test(test_static_expiry_and_leave),
        cmocka_unit_test(test_join_member_ids),
        cmocka_unit_test(test_pending_expiry_completes_join),
        cmocka_unit_test(test_leave),
        cmocka_unit_test(test_commit_checks_and_delete),
        cmocka_unit_test(test_txn_commit_checks),
        cmocka_unit_test(test_offset_expiry),
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_partition_for),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
