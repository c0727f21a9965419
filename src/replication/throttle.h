/*
 * throttle.h: replication throttles for moving replicas, below the
 * transport: which replicas are throttled, and a node-wide byte-rate
 * limiter per direction (the leader's answers to followers, the follower's
 * fetches).
 *
 * What it does: a topic's leader.replication.throttled.replicas and
 * follower.replication.throttled.replicas list "partition:broker" pairs
 * (or "*", every replica); a pair names the broker on which that
 * partition's traffic is throttled, on the leader side (what it answers)
 * or the follower side (what it fetches). rn_throttle_listed matches a
 * list as Kafka reads it: items trimmed, a malformed item ignored. A
 * partition is throttled here only while it is being reassigned (the
 * image's adding or removing mask), so the throttle applies to moving
 * replicas alone and ends with the move, even if the configs stay; and
 * never for a replica in the ISR (in-sync traffic is never held back).
 *
 * The limiter (rn_throttle_t) is a GCRA, one atomic "theoretical arrival
 * time" per direction, shared by every core without a lock: recording n
 * bytes pushes it n / rate seconds on; the limiter is over its quota while
 * it lies more than RN_REPL_THROTTLE_BURST_MS ahead of now. As in Kafka,
 * the check comes before a fetch and the bytes are recorded after it, so a
 * direction passes at most rate * T plus a burst and one answer in T.
 * Over quota, a throttled partition is left out (of the leader's answer, or
 * of the follower's request) and the time so held is counted.
 *
 * Time is an argument (the I/O seam's clock, in ms); nothing here reads a
 * clock, sends or allocates.
 */
#ifndef RN_REPLICATION_THROTTLE_H
#define RN_REPLICATION_THROTTLE_H

#include "partition/partition.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_throttle {
    _Atomic int64_t rate_bytes_per_s; /* INT64_MAX: unthrottled */
    _Atomic int64_t tat_us;           /* when the recorded bytes are paid off */
    _Atomic int64_t held_until_us;    /* end of the last holding interval counted */
    /* Metrics (any thread reads them). */
    _Atomic uint64_t bytes_total;   /* throttled bytes recorded */
    _Atomic uint64_t held_us_total; /* time partitions were held back */
    _Atomic uint64_t holds_total;   /* partitions left out of a fetch */
} rn_throttle_t;

void rn_throttle_init(rn_throttle_t *t);
/* A new rate (bytes per second, >= 0; INT64_MAX: unthrottled). Any thread. */
void rn_throttle_set_rate(rn_throttle_t *t, int64_t rate_bytes_per_s);
int64_t rn_throttle_rate(const rn_throttle_t *t);
/* Whether the direction is over its quota at now_ms. Any thread. */
bool rn_throttle_exceeded(rn_throttle_t *t, int64_t now_ms);
/* Records throttled bytes sent or fetched at now_ms. Any thread. */
void rn_throttle_record(rn_throttle_t *t, uint64_t bytes, int64_t now_ms);
/* A throttled partition left out at now_ms: counted, with the time until
   the limiter is under its quota again (overlapping holds count once). */
void rn_throttle_hold(rn_throttle_t *t, int64_t now_ms);
/* Milliseconds until the limiter is under its quota (0: it is now). */
int64_t rn_throttle_wait_ms(rn_throttle_t *t, int64_t now_ms);

/* Whether a throttled-replicas list (NULL or "": none) names partition p
   on broker: "*" anywhere, or a "p:broker" item (blanks around the items
   and the colon allowed); malformed items are ignored. */
bool rn_throttle_listed(const char *list, int32_t partition, int32_t broker);

/* The leader's decision: a follower's fetch of part (which this node
   leads) is throttled when the partition's leadership marks it throttled
   on the leader side and replica_id is outside the ISR. */
bool rn_throttle_leader_applies(const rn_partition_t *part, int32_t replica_id);
/* The follower's: part (followed here) is throttled when its leadership
   marks it on the follower side and this replica is outside the ISR. */
bool rn_throttle_follower_applies(const rn_partition_t *part);

#endif
