/*
 * serve.h: the leader's side of a fetch of one partition, below the
 * transport: the checks a fetch naming leader epochs goes through, and a
 * follower's fetch recorded (its position, the high watermark it allows).
 *
 * What it does: checks the fetcher's current leader epoch against this
 * replica's (Kafka's checkCurrentLeaderEpoch), tells whether the fetcher's
 * log parts from this one before the fetch offset (KIP-320's diverging
 * epoch), and for a follower (a replica id) checks the fetch offset,
 * records it on the partition (rn_partition_follower_fetched) and says how
 * far it may read: up to the durable end (rn_partition_durable_end), where
 * a consumer stops at the high watermark. The Fetch handler calls it on the owner core; the
 * replication simulator (tests/simrepl) calls it with its own message passing.
 *
 * What it owns: nothing; it reads and updates the partition it is given,
 * on that partition's owner core. It never reads the log's bytes (the
 * caller does, up to read_upto) and never sends anything.
 */
#ifndef RN_REPLICATION_SERVE_H
#define RN_REPLICATION_SERVE_H

#include "partition/partition.h"

#include <stdbool.h>
#include <stdint.h>

/* One partition of a fetch, as the fetcher names it. */
typedef struct rn_repl_fetch {
    int32_t replica_id;           /* a follower's broker id; -1 for a consumer */
    int32_t current_leader_epoch; /* -1: not checked */
    int32_t last_fetched_epoch;   /* -1: no divergence check */
    int64_t fetch_offset;
} rn_repl_fetch_t;

/* What the leader decided. At most one of kerr, diverged and err is set. */
typedef struct rn_repl_served {
    int16_t kerr;  /* FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, else NONE */
    bool diverged; /* answer with div_epoch/div_end and no records */
    int32_t div_epoch;
    int64_t div_end;
    /* A follower's fetch: RN_ERR_OUT_OF_RANGE (below the log start or past
       the end), RN_ERR_NOT_LEADER (not led here, or not a replica). */
    rn_err_t err;
    bool follower;     /* a follower's fetch, recorded */
    int64_t read_upto; /* a follower: read [fetch_offset, read_upto), the durable end */
    bool hw_moved;     /* the follower's fetch moved the high watermark */
} rn_repl_served_t;

/* The fetcher's current leader epoch against this replica's: older is
   fenced, newer not known yet; NONE when equal or not given. */
int16_t rn_repl_epoch_kerr(const rn_partition_t *part, int32_t current_leader_epoch);

/* KIP-320: whether a log whose last batch has epoch last_fetched_epoch
   parts from this one before fetch_offset (that epoch ends earlier here,
   or is unknown here); if so *epoch and *end say where it ends here (the
   log start under epoch 0 when nothing as old is known). */
bool rn_repl_diverged(rn_partition_t *part, int32_t last_fetched_epoch, int64_t fetch_offset,
                      int32_t *epoch, int64_t *end);

/* Decides one partition of a fetch on a replica that may serve it (the
   caller checked the partition exists, is online, and leads, or follows
   for a consumer's KIP-392 read): epochs, then divergence, then, for a
   follower, its fetch offset recorded. A consumer's read (up to the high
   watermark, or sent to another replica) is left to the caller. */
void rn_repl_serve(rn_partition_t *part, const rn_repl_fetch_t *in, int64_t now_ms,
                   rn_repl_served_t *out);

#endif
