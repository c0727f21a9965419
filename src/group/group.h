/*
 * group.h: Kafka's classic consumer-group coordinator as a pure state
 * machine: groups, members, generations, rebalances, static membership and
 * committed offsets of the groups of ONE __consumer_offsets partition (a
 * "shard", rn_group_coord_t).
 *
 * Driven only by calls (join, sync, heartbeat, leave, commit, ...) and by
 * time (rn_group_coord_tick with a monotonic now_ms). It does no I/O, takes
 * no locks and reads no clock: durability and randomness come in through
 * rn_group_hooks_t, so the broker (group/coordinator.c), a unit test or the
 * simulator can drive it alike. One thread owns a shard.
 *
 * Asynchronous answers. JoinGroup and SyncGroup may wait (for the other
 * members, for the leader's assignment): the caller passes a waiter embedded
 * in its own request state; the shard keeps the pointer and calls
 * waiter->done exactly once, maybe from inside this call, maybe from a later
 * call or tick. Result strings and bytes are borrowed for the callback only.
 *
 * Owns every group, member and offset (heap); never keeps a pointer into a
 * caller's buffer after returning.
 *
 * State machine (Kafka's GroupCoordinator):
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
 *   CompletingRebalance --leader's sync, its record durable--> Stable
 *   Stable/CompletingRebalance --join of a new or changed member, leave,
 *   session expiry--> PreparingRebalance
 *   PreparingRebalance --nobody rejoined--> Empty
 *   Empty --deleted or offsets expired--> Dead (freed)
 */
#ifndef RN_GROUP_GROUP_H
#define RN_GROUP_GROUP_H

#include "proto/wire.h"

#include <stdbool.h>
#include <stdint.h>

/* Limits of the group layer (each with why). */
/* Groups one shard holds: 50 shards by default, so 5M groups per broker. */
#define RN_GROUP_COUNT_MAX 100000
/* Members of one group regardless of group.max.size (a join is a few KiB). */
#define RN_GROUP_MEMBERS_MAX 10000
/* Protocols one member offers (Java offers 1-3 assignors). */
#define RN_GROUP_PROTOCOLS_MAX 32
/* Bytes of a group id, member id, instance id, client id or protocol name:
   Kafka allows more, but no client sends more than a few hundred. */
#define RN_GROUP_ID_BYTES_MAX 1024
/* Bytes of one protocol's metadata or one assignment (Kafka: 1 MiB). */
#define RN_GROUP_METADATA_BYTES_MAX (1024 * 1024)
/* Committed offsets one group holds. */
#define RN_GROUP_OFFSETS_MAX 1000000
/* offset.metadata.max.bytes, Kafka's default. */
#define RN_GROUP_OFFSET_METADATA_BYTES_MAX 4096
/* Kafka's new-member join timeout: a member that joined but never rejoins. */
#define RN_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS 300000

typedef enum rn_group_state {
    RN_GROUP_EMPTY = 0,
    RN_GROUP_PREPARING_REBALANCE,
    RN_GROUP_COMPLETING_REBALANCE,
    RN_GROUP_STABLE,
    RN_GROUP_DEAD,
} rn_group_state_t;

typedef struct rn_group rn_group_t;
typedef struct rn_group_member rn_group_member_t;
typedef struct rn_group_coord rn_group_coord_t;

typedef struct rn_group_config {
    int32_t session_timeout_min_ms;     /* group.min.session.timeout.ms */
    int32_t session_timeout_max_ms;     /* group.max.session.timeout.ms */
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int32_t group_max_size;             /* group.max.size */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes */
    int64_t offsets_retention_check_ms; /* how often expiry runs */
} rn_group_config_t;

/* What the shard asks of its owner. Every field but ctx is required. */
typedef struct rn_group_hooks {
    void *ctx;
    /* A fresh random number (member ids). */
    uint64_t (*random)(void *ctx);
    /* Wall-clock ms, for commit and state timestamps. */
    int64_t (*wall_ms)(void *ctx);
    /* Persist the group's metadata (new generation, assignment, empty). */
    void (*group_changed)(void *ctx, const rn_group_t *group);
    /* Persist a tombstone for the group's metadata. */
    void (*group_removed)(void *ctx, const char *group_id);
    /* Persist a tombstone for one committed offset (expiry, OffsetDelete). */
    void (*offset_removed)(void *ctx, const char *group_id, const char *topic, int32_t partition);
    /* Persist the group's metadata with the assignment the leader's
       SyncGroup just gave, then call rn_group_stored with the group's
       generation once that record is durable or failed (maybe from within
       this call). The SyncGroup answers wait for it, as Kafka's do. */
    void (*group_store)(void *ctx, const rn_group_t *group);
} rn_group_hooks_t;

/* One protocol a member offers: name and opaque assignor metadata. */
typedef struct rn_group_protocol {
    rn_str_t name;
    rn_bytes_t metadata;
} rn_group_protocol_t;

typedef struct rn_group_join_args {
    rn_str_t group_id;
    rn_str_t member_id;   /* "" for a new member */
    rn_str_t instance_id; /* len -1: dynamic member */
    rn_str_t protocol_type;
    rn_str_t client_id;
    rn_str_t client_host;
    const rn_group_protocol_t *protocols;
    int32_t protocol_count;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    bool require_known_member_id; /* JoinGroup v4+ */
    bool skip_assignment_ok;      /* JoinGroup v9+: may be told skip_assignment */
} rn_group_join_args_t;

/* A JoinGroup answer; borrowed for the callback only. For the leader,
   `group` is set so the caller can copy every member's metadata
   (rn_group_member_at, rn_group_member_metadata). */
typedef struct rn_group_join_result {
    int16_t error;
    int32_t generation;
    const char *protocol_type;
    const char *protocol_name; /* NULL when none */
    const char *leader_id;
    const char *member_id;
    const rn_group_t *group; /* non-NULL for the leader */
    bool skip_assignment;    /* the leader must not assign (a static leader's
                                return to a Stable group, JoinGroup v9+) */
} rn_group_join_result_t;

typedef struct rn_group_join_waiter rn_group_join_waiter_t;
struct rn_group_join_waiter {
    void (*done)(rn_group_join_waiter_t *waiter, const rn_group_join_result_t *res);
};

typedef struct rn_group_assignment {
    rn_str_t member_id;
    rn_bytes_t assignment;
} rn_group_assignment_t;

typedef struct rn_group_sync_args {
    rn_str_t group_id;
    rn_str_t member_id;
    rn_str_t instance_id;
    rn_str_t protocol_type; /* len -1: not checked (before v5) */
    rn_str_t protocol_name;
    int32_t generation;
    const rn_group_assignment_t *assignments; /* the leader's, else none */
    int32_t assignment_count;
} rn_group_sync_args_t;

typedef struct rn_group_sync_result {
    int16_t error;
    rn_err_t cause; /* not RN_OK: the group's record could not be written;
                       the caller maps this to the Kafka error (error is
                       then UNKNOWN_SERVER_ERROR) */
    const char *protocol_type;
    const char *protocol_name;
    rn_bytes_t assignment;
} rn_group_sync_result_t;

typedef struct rn_group_sync_waiter rn_group_sync_waiter_t;
struct rn_group_sync_waiter {
    void (*done)(rn_group_sync_waiter_t *waiter, const rn_group_sync_result_t *res);
};

/* One committed offset, as stored and as fetched. */
typedef struct rn_group_offset {
    int64_t offset;
    int32_t leader_epoch; /* -1: unknown */
    const char *metadata; /* owned by the shard; "" when none */
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms; /* -1: by the group's retention */
} rn_group_offset_t;

/* ---- shards ---- */

rn_group_coord_t *rn_group_coord_new(const rn_group_config_t *cfg, const rn_group_hooks_t *hooks,
                                     int32_t partition);
/* Answers every waiter with NOT_COORDINATOR and frees everything. */
void rn_group_coord_free(rn_group_coord_t *coord);
/* Frees everything without answering waiters (shutdown, once the requests
   they belong to are gone). */
void rn_group_coord_discard(rn_group_coord_t *coord);
/* What every request is answered while the shard does not serve:
   COORDINATOR_LOAD_IN_PROGRESS while it loads, NOT_COORDINATOR while
   another broker leads its partition; NONE (the default) while it serves. */
void rn_group_coord_set_refusal(rn_group_coord_t *coord, int16_t kerr);
int16_t rn_group_coord_refusal(const rn_group_coord_t *coord);
/* Fires due timeouts (rebalance, session, initial delay, offset expiry). */
void rn_group_coord_tick(rn_group_coord_t *coord, int64_t now_ms);
/* The earliest time tick has work (INT64_MAX when none). */
int64_t rn_group_coord_deadline(const rn_group_coord_t *coord);
int32_t rn_group_coord_partition(const rn_group_coord_t *coord);
int32_t rn_group_coord_group_count(const rn_group_coord_t *coord);
/* The i-th group (0 <= i < count) in no particular order, for listing. */
const rn_group_t *rn_group_coord_group_at(const rn_group_coord_t *coord, int32_t i);
rn_group_t *rn_group_find(rn_group_coord_t *coord, rn_str_t group_id);

/* ---- the group protocol ---- */

void rn_group_join(rn_group_coord_t *coord, const rn_group_join_args_t *args,
                   rn_group_join_waiter_t *waiter, int64_t now_ms);
void rn_group_sync(rn_group_coord_t *coord, const rn_group_sync_args_t *args,
                   rn_group_sync_waiter_t *waiter, int64_t now_ms);
/* The end of a group_store hook's write of the group's record for
   `generation`: RN_OK moves the group to Stable and answers every parked
   SyncGroup with its assignment; an error answers them with it (`cause`)
   and rebalances. Ignored, as Kafka does, if the group has moved on
   (another state or generation: a member joined or left meanwhile). */
void rn_group_stored(rn_group_coord_t *coord, rn_str_t group_id, int32_t generation, rn_err_t err,
                     int64_t now_ms);
int16_t rn_group_heartbeat(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                           rn_str_t instance_id, int32_t generation, int64_t now_ms);
/* One leaving member (LeaveGroup v3+ names several); member_id "" with an
   instance id leaves by instance. */
int16_t rn_group_leave(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                       rn_str_t instance_id, int64_t now_ms);

/* ---- committed offsets ---- */

/* Kafka's checks before a commit: NONE, or the error every partition of
   the commit gets. Refreshes the member's session on success. */
int16_t rn_group_commit_check(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                              rn_str_t instance_id, int32_t generation, int64_t now_ms);
/* The same for a transaction's offsets (TxnOffsetCommit), as Kafka 3.9's
   classic group validates them: an Empty (or unknown) group takes
   generation -1 from anyone; a generation, member id or instance id given
   names a member (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) of that
   generation (ILLEGAL_GENERATION); no rebalance check. */
int16_t rn_group_txn_commit_check(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t member_id,
                                  rn_str_t instance_id, int32_t generation);
/* Stores one offset (creating the group, Empty, if absent). */
rn_err_t rn_group_offset_put(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t topic,
                             int32_t partition, const rn_group_offset_t *value);
/* Removes one offset; true if it was there. */
bool rn_group_offset_remove(rn_group_coord_t *coord, rn_str_t group_id, rn_str_t topic,
                            int32_t partition);
const rn_group_offset_t *rn_group_offset_get(const rn_group_t *group, rn_str_t topic,
                                             int32_t partition);
/* Calls fn for every offset of the group; fn returns non-zero to stop. */
typedef int (*rn_group_offset_fn)(void *ctx, const char *topic, int32_t partition,
                                  const rn_group_offset_t *value);
void rn_group_offsets_each(const rn_group_t *group, rn_group_offset_fn fn, void *ctx);
int32_t rn_group_offset_count(const rn_group_t *group);

/* ---- administration ---- */

/* DeleteGroups: NONE (offsets and metadata dropped, tombstones written),
   GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP. */
int16_t rn_group_delete(rn_group_coord_t *coord, rn_str_t group_id);
/* OffsetDelete's group-level check: NONE, GROUP_ID_NOT_FOUND,
   NON_EMPTY_GROUP (a consumer group that is not Empty is checked per
   topic with rn_group_subscribed). */
int16_t rn_group_offset_delete_check(rn_group_coord_t *coord, rn_str_t group_id);
/* Whether a live consumer-protocol member subscribes to topic. */
bool rn_group_subscribed(const rn_group_t *group, rn_str_t topic);

/* ---- loading (replay of __consumer_offsets) ---- */

typedef struct rn_group_loaded_member {
    rn_str_t member_id;
    rn_str_t instance_id;
    rn_str_t client_id;
    rn_str_t client_host;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    rn_bytes_t subscription;
    rn_bytes_t assignment;
} rn_group_loaded_member_t;

typedef struct rn_group_loaded {
    rn_str_t group_id;
    rn_str_t protocol_type;
    int32_t generation;
    rn_str_t protocol_name; /* len -1: none */
    rn_str_t leader_id;
    int64_t state_timestamp_ms;
    const rn_group_loaded_member_t *members;
    int32_t member_count;
} rn_group_loaded_t;

/* Replaces the group's metadata with a stored one (Stable with its
   members, or Empty); offsets are kept. */
rn_err_t rn_group_load(rn_group_coord_t *coord, const rn_group_loaded_t *loaded, int64_t now_ms);
/* A group metadata tombstone: forgets members and generation. */
void rn_group_load_tombstone(rn_group_coord_t *coord, rn_str_t group_id);

/* ---- reading a group (describe, list, persistence) ---- */

const char *rn_group_id(const rn_group_t *group);
rn_group_state_t rn_group_state(const rn_group_t *group);
/* Kafka's state names: "Empty", "PreparingRebalance", ... */
const char *rn_group_state_name(rn_group_state_t state);
int32_t rn_group_generation(const rn_group_t *group);
const char *rn_group_protocol_type(const rn_group_t *group); /* "" when none */
const char *rn_group_protocol_name(const rn_group_t *group); /* NULL when none */
const char *rn_group_leader(const rn_group_t *group);        /* NULL when none */
int64_t rn_group_state_timestamp(const rn_group_t *group);   /* wall ms */
/* Whether a metadata record exists or should (a group-managed group). */
bool rn_group_has_metadata(const rn_group_t *group);
int32_t rn_group_member_count(const rn_group_t *group);
const rn_group_member_t *rn_group_member_at(const rn_group_t *group, int32_t i);

const char *rn_group_member_id(const rn_group_member_t *member);
const char *rn_group_member_instance_id(const rn_group_member_t *member); /* NULL if none */
const char *rn_group_member_client_id(const rn_group_member_t *member);
const char *rn_group_member_client_host(const rn_group_member_t *member);
int32_t rn_group_member_session_timeout(const rn_group_member_t *member);
int32_t rn_group_member_rebalance_timeout(const rn_group_member_t *member);
/* The member's metadata for the group's selected protocol (or its first). */
rn_bytes_t rn_group_member_metadata(const rn_group_t *group, const rn_group_member_t *member);
rn_bytes_t rn_group_member_assignment(const rn_group_member_t *member);

#endif
