/*
 * fetch_session.h: incremental fetch sessions (KIP-227), one cache per core.
 *
 * A session remembers, for one fetching client, the partitions it fetches
 * (fetch offset and max bytes as last asked) and what the broker last
 * answered for each (high watermark and log start), so later fetches name
 * only what changed and answers hold only what changed.
 *
 * Each core owns a cache of its own, used only on its loop thread: no lock,
 * and nothing shared between cores. A session lives on the core of the
 * connection that opened it; its id says which (id % core count), as
 * Kafka's shards own ranges of ids. The slots of
 * max.incremental.fetch.session.cache.slots are split between the cores,
 * and a full cache evicts within itself by Kafka's rules: first a session
 * unused for the eviction time, else the least valuable evictable one
 * (unprivileged before privileged, then fewer partitions, then lower id)
 * when the new session is worth at least as much. A session becomes
 * evictable by any new one once it is older than the eviction time; a
 * consumer's session can be evicted at once by a replica's (privileged).
 *
 * A fetch in flight holds its session (rn_fetch_session_hold): a removed or
 * evicted session is freed only when the last hold is released.
 */
#ifndef RN_HANDLERS_FETCH_SESSION_H
#define RN_HANDLERS_FETCH_SESSION_H

#include "cluster/stats.h"
#include "proto/wire.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_fetch_sessions rn_fetch_sessions_t;

/* One partition of a session. */
typedef struct rn_fsess_part {
    char *topic; /* owned, NUL-terminated */
    int32_t topic_len;
    int32_t partition;
    int64_t fetch_offset; /* as the client last asked */
    int32_t max_bytes;
    int64_t hw;        /* as last answered; -1 (after an error, or new): answer it */
    int64_t log_start; /* as last answered */
} rn_fsess_part_t;

typedef struct rn_fsess {
    int32_t id;
    int32_t epoch;   /* the epoch the next request must carry */
    bool privileged; /* opened by a replica (replica_id >= 0) */
    bool removed;    /* out of the cache, freed with its last hold */
    int32_t holds;
    int64_t created_ms;
    int64_t used_ms;
    /* As of the last use (Kafka's touch): the size and whether any new
       session, or only a privileged one, may evict it. */
    int32_t size_at_use;
    bool evictable_by_all;
    bool evictable_by_privileged;
    rn_fsess_part_t *parts; /* in session order */
    int32_t count;
    int32_t cap;
    int32_t *index; /* open addressing over parts: part + 1, 0 empty */
    int32_t index_cap;
    rn_fetch_sessions_t *cache;
} rn_fsess_t;

/* A cache for core core_id of core_count, holding at most slots sessions
   (0: none is ever opened); counters go to stats (this core's). */
rn_fetch_sessions_t *rn_fetch_sessions_new(int core_id, int core_count, int32_t slots,
                                           int64_t eviction_ms, uint64_t seed,
                                           rn_core_stats_t *stats);
/* Frees every session; no fetch may hold one any more. */
void rn_fetch_sessions_free(rn_fetch_sessions_t *cache);
/* The core that owns session id. */
int rn_fetch_sessions_owner(const rn_fetch_sessions_t *cache, int32_t id);

/* The live session id, or NULL. */
rn_fsess_t *rn_fetch_session_find(rn_fetch_sessions_t *cache, int32_t id);
/* A new empty session (epoch 1) for a client whose request names size
   partitions, evicting one if the cache is full and Kafka's rules allow;
   NULL when there is no room. */
rn_fsess_t *rn_fetch_session_open(rn_fetch_sessions_t *cache, int64_t now_ms, bool privileged,
                                  int32_t size);
/* Takes the session out of the cache (freed now, or with its last hold). */
void rn_fetch_session_remove(rn_fsess_t *sess);
/* Notes a use: last-use time and what may evict it (Kafka's touch). */
void rn_fetch_session_touch(rn_fsess_t *sess, int64_t now_ms);
void rn_fetch_session_hold(rn_fsess_t *sess);
void rn_fetch_session_release(rn_fsess_t *sess);

/* Adds topic/partition (high watermark -1, so it is answered next) or
   updates its fetch position; the part, or NULL when out of memory. */
rn_fsess_part_t *rn_fetch_session_set(rn_fsess_t *sess, rn_str_t topic, int32_t partition,
                                      int64_t fetch_offset, int32_t max_bytes);
/* Drops topic/partition if the session has it (order of the rest kept). */
void rn_fetch_session_forget(rn_fsess_t *sess, rn_str_t topic, int32_t partition);
/* Moves the parts flagged in to_end (by index) behind the others, both in
   order: partitions that just sent data go last next time (Kafka's
   fairness under max_bytes). */
void rn_fetch_session_rotate(rn_fsess_t *sess, const uint8_t *to_end);
/* The next epoch after epoch, as Kafka's FetchMetadata.nextEpoch. */
int32_t rn_fetch_session_next_epoch(int32_t epoch);

#endif
