/*
 * fetcher.h: a core's replica fetchers: the partitions this core owns and
 * follows, fetched from their leaders.
 *
 * What it does: one stream per leader broker (one outbound connection,
 * many partitions per Fetch). A stream sends a Fetch (v12, with this
 * node's replica id, each partition's log end, its last fetched epoch and
 * the leader epoch it knows), appends the batches it gets as they are
 * (offsets, epochs and producer fields kept), and asks again only once
 * what it appended is fsynced (the core's group commit), so the offset a
 * follower fetches from is durable on it and the leader may count it
 * toward the high watermark. A diverging epoch in the answer truncates the
 * log where it parts from the leader's (KIP-320's fetch, in place of a
 * separate OffsetForLeaderEpoch); the leader's high watermark is taken,
 * capped by the local durable end. Errors pause the partition (or the
 * stream, for a failed connection) for replica.fetch.backoff.ms. A moving
 * replica under a follower throttle (throttle.h) is left out of the
 * requests while the node's follower quota is exceeded, and what it
 * appends is recorded against that quota.
 *
 * What it owns: its streams, their clients and a reference to each
 * partition it follows. Everything runs on the core's loop thread.
 *
 * What it must never do: block the loop, append to a partition this
 * replica does not follow, or ask from an offset that is not durable.
 */
#ifndef RN_REPLICATION_FETCHER_H
#define RN_REPLICATION_FETCHER_H

#include "io/loop.h"
#include "partition/partition.h"

#include <stdint.h>

typedef struct rn_fetchers rn_fetchers_t;

typedef struct rn_fetchers_opts {
    rn_loop_t *loop;
    int32_t node_id; /* the replica id fetches carry */
    int32_t wait_ms; /* replica.fetch.wait.max.ms */
    int32_t partition_bytes;
    int32_t response_bytes;
    int64_t backoff_ms;
    struct rn_batch_inflate *inflate; /* lent to validation; may be NULL */
    /* The node's follower-side replication throttle (throttle.h), shared
       by every core's fetchers; NULL: none. Over its quota, the throttled
       partitions are left out of the requests until it is under again. */
    struct rn_throttle *throttle;
    /* A partition was appended to: the core syncs it at the end of the
       turn (its group commit). */
    void (*appended)(void *ctx, rn_partition_t *part);
    void *ctx;
} rn_fetchers_opts_t;

/* Counters read by the metrics (any thread; written by the loop). */
typedef struct rn_fetchers_stats {
    _Atomic uint64_t fetches_total;
    _Atomic uint64_t fetch_errors_total;
    _Atomic uint64_t bytes_total;       /* record bytes appended */
    _Atomic uint64_t truncations_total; /* logs cut at a diverging epoch */
    /* The largest lag (the leader's high watermark minus this log's end,
       as of each partition's last answer) over the partitions followed;
       Kafka's ReplicaFetcherManager MaxLag. A gauge. */
    _Atomic uint64_t max_lag;
} rn_fetchers_stats_t;

/* NULL when out of memory. */
rn_fetchers_t *rn_fetchers_new(const rn_fetchers_opts_t *opts);
/* Closes every stream (pending fetches complete as closed) and drops the
   partitions. Loop thread; the loop drains the clients' memory next. */
void rn_fetchers_close(rn_fetchers_t *f);
void rn_fetchers_free(rn_fetchers_t *f);
/* part (this core's) follows leader_id, reached at host:port: it moves to
   that leader's stream, which fetches it from its log end. */
void rn_fetchers_follow(rn_fetchers_t *f, rn_partition_t *part, int32_t leader_id, const char *host,
                        uint16_t port);
/* part no longer follows (it leads, has no leader, or is gone). */
void rn_fetchers_unfollow(rn_fetchers_t *f, rn_partition_t *part);
const rn_fetchers_stats_t *rn_fetchers_stats(const rn_fetchers_t *f);

#endif
