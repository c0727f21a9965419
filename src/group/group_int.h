/*
 * group_int.h: the group shard's internals, shared by group.c (shards,
 * lookups, timeouts), group_join.c (the rebalance protocol) and
 * group_offsets.c (committed offsets, administration). Nothing outside
 * src/group/group*.c includes this.
 */
#ifndef RN_GROUP_GROUP_INT_H
#define RN_GROUP_GROUP_INT_H

#include "group/group.h"

#include <stdint.h>

#define GROUP_NO_DEADLINE INT64_MAX

typedef struct group_mproto {
    char *name;
    uint8_t *meta;
    int32_t meta_len;
} group_mproto_t;

struct rn_group_member {
    char *member_id;
    char *instance_id; /* NULL: dynamic */
    char *client_id;
    char *client_host;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    group_mproto_t *protocols;
    int32_t protocol_count;
    uint8_t *assignment;
    int32_t assignment_len;
    rn_group_join_waiter_t *join_waiter;
    rn_group_sync_waiter_t *sync_waiter;
    int64_t deadline_ms; /* session (or new-member join) expiry */
    bool is_new;         /* joined, not yet through a completed join */
};

typedef struct group_pending {
    char *member_id;
    int64_t deadline_ms;
} group_pending_t;

typedef struct group_okey group_okey_t;
struct group_okey {
    group_okey_t *next;
    uint32_t hash;
    int32_t partition;
    char *topic;
    char *metadata;
    rn_group_offset_t value; /* value.metadata points at metadata */
};

struct rn_group {
    rn_group_t *next; /* hash chain */
    int32_t index;    /* in coord->groups */
    uint32_t hash;
    char *id;
    rn_group_state_t state;
    int32_t generation;
    char *protocol_type;        /* NULL: none yet */
    char *protocol_name;        /* NULL: none */
    char *leader_id;            /* NULL: none */
    int64_t state_timestamp_ms; /* wall ms of the last state change */
    bool has_metadata;          /* a metadata record was written or loaded */
    int32_t storing_generation; /* the leader's assignment of this generation
                                   is being written; -1: none */
    rn_group_member_t **members;
    int32_t member_count;
    int32_t member_cap;
    group_pending_t *pending; /* ids given by MEMBER_ID_REQUIRED */
    int32_t pending_count;
    int32_t pending_cap;
    int64_t rebalance_deadline_ms; /* PreparingRebalance: forced completion */
    bool initial_delay;            /* in group.initial.rebalance.delay.ms */
    bool new_member_added;         /* during the initial delay */
    int64_t initial_delay_end_ms;  /* the delay never runs past this */
    group_okey_t **obuckets;
    int32_t obucket_count; /* power of two, or 0 */
    int32_t offset_count;
};

struct rn_group_coord {
    rn_group_config_t cfg;
    rn_group_hooks_t hooks;
    int32_t partition;
    /* NONE while it serves; else what every request is answered:
       COORDINATOR_LOAD_IN_PROGRESS while loading, NOT_COORDINATOR while
       another broker leads its partition. */
    int16_t refusal;
    rn_group_t **groups; /* dense, for listing */
    int32_t group_count;
    int32_t group_cap;
    rn_group_t **buckets; /* power of two */
    int32_t bucket_count;
    int64_t deadline_ms;    /* earliest known timeout; may be early */
    int64_t expiry_next_ms; /* next offset-expiry pass; 0: not yet set */
};

uint32_t rn_group_hash(const char *ptr, size_t len);
char *rn_group_strdup(rn_str_t str);
bool rn_group_str_is(rn_str_t str, const char *cstr); /* NULL cstr matches null/"" */
/* Lowers the shard's deadline to at most deadline_ms. */
void rn_group_coord_note_deadline(rn_group_coord_t *coord, int64_t deadline_ms);

/* Finds or creates (Empty) a group; NULL past RN_GROUP_COUNT_MAX. */
rn_group_t *rn_group_get_or_create(rn_group_coord_t *coord, rn_str_t group_id);
/* Unlinks and frees an Empty group with no waiters. */
void rn_group_destroy(rn_group_coord_t *coord, rn_group_t *group);
void rn_group_set_state(rn_group_coord_t *coord, rn_group_t *group, rn_group_state_t state);

rn_group_member_t *rn_group_member_find(const rn_group_t *group, rn_str_t member_id);
rn_group_member_t *rn_group_member_by_instance(const rn_group_t *group, rn_str_t instance_id);
void rn_group_member_free(rn_group_member_t *member);
/* Removes and frees the member, answering its waiters with UNKNOWN_MEMBER_ID,
   then moves the group on (rebalance, or completes a pending join). */
void rn_group_member_remove(rn_group_coord_t *coord, rn_group_t *group, rn_group_member_t *member,
                            int64_t now_ms);
/* Drops a MEMBER_ID_REQUIRED id; true if it was pending. */
bool rn_group_pending_remove(rn_group_t *group, rn_str_t member_id);

/* Timeouts of one group (group_join.c). */
void rn_group_tick_group(rn_group_coord_t *coord, rn_group_t *group, int64_t now_ms);
/* Offset expiry of one group; true if the group is now gone. */
bool rn_group_expire_offsets(rn_group_coord_t *coord, rn_group_t *group, int64_t wall_ms);
void rn_group_offsets_free(rn_group_t *group);

#endif
