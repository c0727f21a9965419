/*
 * partition.h: one partition's live state on its owner core: the log, the
 * idempotent-producer state, the high watermark, and the produce requests
 * waiting for the group commit that makes their batches durable.
 *
 * Only the owner core (rn_partition_t.owner) calls the mutating functions.
 * Other cores read the atomics (high watermark, log start, end) without
 * locks, and read file ranges through pinned segments.
 *
 * Storage failures. The high watermark never passes the durable end (what
 * an fsync covered; with durable=false, what was appended). When a write,
 * a roll or an fsync fails, the log is rolled back to that end
 * (rn_log_rollback): everything written after it is dropped, every produce
 * still waiting gets the error, and the producer state forgets the dropped
 * batches, so nothing reported failed is ever served and a retry appends
 * at the right offset. A failed fsync is never retried: the page cache may
 * have dropped the pages it failed to write. If the rollback itself fails
 * the partition goes offline: every produce and fetch gets
 * KAFKA_STORAGE_ERROR until a restart recovers the log from disk.
 * Appends refused for a storage reason return RN_ERR_NO_SPACE (disk full)
 * or RN_ERR_IO (anything else: EIO, EMFILE, ...).
 *
 * Replication (replicas.c). The metadata image says who leads and who is
 * in sync (rn_partition_lead). On the leader the high watermark is the
 * least durable end over the in-sync replicas: its own fsynced end and
 * each in-sync follower's fetch offset (a follower fetches from its own
 * fsynced end), so a record below it is on the disk of every in-sync
 * replica. acks=all waits for it (rn_partition_wait_hw); acks=1 for the
 * leader's own fsync. A follower takes the leader's high watermark, capped
 * by what it holds.
 */
#ifndef RN_PARTITION_PARTITION_H
#define RN_PARTITION_PARTITION_H

#include "base/limits.h"
#include "io/io.h"
#include "base/stats.h"
#include "partition/producer_state.h"
#include "storage/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_partition rn_partition_t;
typedef struct rn_partition_waiter rn_partition_waiter_t;

typedef enum rn_partition_role {
    RN_PARTITION_LEADER = 0, /* appends produce; the single node's only role */
    RN_PARTITION_FOLLOWER,   /* appends what it fetches from the leader */
    RN_PARTITION_LEADERLESS, /* no usable leader: neither */
} rn_partition_role_t;

/* Who leads and who is in sync, as the metadata image says. */
typedef struct rn_partition_leadership {
    int32_t self_id; /* this node */
    int32_t leader;  /* -1: none */
    int32_t leader_epoch;
    int32_t partition_epoch;
    int16_t replica_count;
    int16_t isr_count;
    int32_t replicas[RN_REPLICAS_MAX];
    int32_t isr[RN_REPLICAS_MAX];
    int32_t min_isr; /* min.insync.replicas */
    /* Bit n: replicas[n] may join the ISR (registered, not fenced, not
       shutting down), as Kafka's leader asks its metadata before it
       proposes a member. */
    uint32_t eligible;
    /* Bit n: replicas[n] is being added by a reassignment: a new, empty
       copy, whatever the leader knew of that broker before. */
    uint32_t adding;
    /* The partition moves (a reassignment) and its topic's
       leader/follower.replication.throttled.replicas names it on this
       broker (replication/throttle.h). */
    bool throttle_leader;
    bool throttle_follower;
} rn_partition_leadership_t;

/* What the leader knows of one follower (index: its place in replicas). */
typedef struct rn_partition_follower {
    int64_t fetch_offset;      /* its durable end at its last fetch; -1: none this epoch */
    int64_t last_fetch_ms;     /* -1: none this epoch */
    int64_t last_caught_up_ms; /* last time its fetch reached the leader's end */
    int64_t end_at_last_fetch; /* the leader's log end at its previous fetch */
} rn_partition_follower_t;

/* A produce waiting until its last offset is durable. */
struct rn_partition_waiter {
    rn_partition_waiter_t *next;
    int64_t offset_needed; /* durable once synced offset > this */
    void (*done)(rn_partition_waiter_t *waiter, rn_err_t err);
    rn_partition_waiter_t *prev; /* the high watermark's list only */
};

struct rn_partition {
    char topic[RN_TOPIC_NAME_BYTES_MAX + 1];
    int32_t index;
    int owner; /* core id */
    rn_io_t *io;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    rn_log_t *log;
    rn_producer_state_t *producers;
    struct rn_txns *txns; /* ongoing and aborted transactions (txns.h) */
    /* The first offset of an ongoing transaction (INT64_MAX: none); the
       last stable offset is the smaller of it and the high watermark. */
    _Atomic int64_t first_unstable;
    int32_t leader_epoch;
    bool durable;                   /* acks wait for fsync */
    bool dirty;                     /* appended since the last sync (owner only) */
    atomic_bool deleted;            /* set by the admin path, read by the owner */
    atomic_bool offline;            /* a rollback failed: no produce or fetch until
                                       restart (set by the owner, read by any core) */
    rn_err_t sync_err;              /* result of the last rn_partition_flush */
    rn_err_t storage_cause;         /* what the disk said at the last storage
                                       failure (owner only; for log lines) */
    int64_t sync_ns;                /* its fsync time, or -1 when none ran */
    rn_partition_waiter_t *waiters; /* in offset order */
    rn_partition_waiter_t *waiters_tail;
    /* Replication (owner only): the image's view, the leader's view of
       each follower, and the acks=all produces waiting for the high
       watermark (in offset order; a timed-out one leaves from anywhere). */
    rn_partition_role_t role;
    bool led; /* rn_partition_lead has run: role and lead are the image's */
    rn_partition_leadership_t lead;
    rn_partition_follower_t followers[RN_REPLICAS_MAX];
    int64_t epoch_start_offset; /* the log end when this leader epoch began here */
    rn_partition_waiter_t *hw_waiters;
    rn_partition_waiter_t *hw_waiters_tail;
    bool hw_closed;    /* the node is stopping: a new wait fails at once */
    void *fetch_entry; /* the replica fetcher's handle while it follows */
    /* An ISR change asked of the controller and not yet in the image
       (0: none): the high watermark counts its members too, so a replica
       the controller adds has everything below it (KIP-497's maximal
       ISR). */
    int16_t pending_isr_count;
    int32_t pending_isr[RN_REPLICAS_MAX];
    bool pending_isr_resend; /* its outcome is unknown: asked again */
    _Atomic int64_t high_watermark;
    _Atomic int64_t log_start;
    _Atomic int64_t log_end;
    atomic_int refs;
    /* Metrics (base/stats.h): written by the owner core with relaxed
       stores, read by the admin thread. bytes_out_total is the exception:
       the core that sends a Fetch adds to it (a relaxed fetch-add). */
    _Atomic uint64_t bytes_in_total;   /* record batch bytes appended */
    _Atomic uint64_t records_in_total; /* offsets assigned by appends */
    _Atomic uint64_t bytes_out_total;  /* record bytes sent to fetchers */
    _Atomic uint64_t size_bytes;       /* log bytes on disk, every segment */
    _Atomic uint64_t segment_count;
    _Atomic uint64_t txn_ongoing;       /* transactions ongoing here now */
    _Atomic uint64_t txn_markers_total; /* transaction markers appended */
    _Atomic uint64_t txn_aborted_total; /* of which ABORT with records here */
};

typedef struct rn_partition_append_result {
    int64_t base_offset;
    int64_t last_offset;
    int64_t log_append_time_ms; /* -1 for CreateTime */
    int64_t log_start_offset;
    bool duplicate;             /* a retried batch: offsets are the original ones */
    rn_batch_reason_t reason;   /* why validation refused the records, else OK */
    rn_batch_keyless_t keyless; /* the refused batch's keyless records (RN_BATCH_NO_KEY) */
} rn_partition_append_result_t;

/* Opens (recovering) or creates the partition's log under dir. */
rn_err_t rn_partition_open(rn_io_t *io, const char *log_dir, const char *topic, int32_t index,
                           const rn_log_config_t *cfg, bool durable, int owner,
                           rn_partition_t **out);
void rn_partition_ref(rn_partition_t *part);
/* The last reference closes the log (cleanly) and frees the struct. */
void rn_partition_unref(rn_partition_t *part);
/* Closes the log cleanly now (producer snapshot, checkpoints, the
   clean-shutdown mark), leaving the struct to its last reference. Only when
   nothing else can touch the partition: at shutdown, with the loops stopped. */
void rn_partition_close(rn_partition_t *part);
/* Marks the partition deleted and renames its directory to retired_dir, so
   that a new topic of the same name starts empty (cluster/purge.h removes
   the files later). The owner stops appending once it sees the mark; the
   log stays open for readers until the last reference goes, and is then
   released without writing anything. Admin path, admin lock held. */
rn_err_t rn_partition_retire(rn_partition_t *part, const char *retired_dir);

/* Validates, checks producer sequences, assigns offsets and writes records
   (owned by the caller, rewritten in place). Owner core only. No fsync.
   A storage failure rolls the log back to its durable end and fails the
   waiters (see above) before returning RN_ERR_IO or RN_ERR_NO_SPACE. */
rn_err_t rn_partition_append(rn_partition_t *part, uint8_t *records, size_t len, int64_t now_ms,
                             rn_partition_append_result_t *res);
/* The same, lending validation a decompression source (the owner core's)
   for compressed batches instead of making one per call. */
rn_err_t rn_partition_append_with(rn_partition_t *part, uint8_t *records, size_t len,
                                  int64_t now_ms, struct rn_batch_inflate *inf,
                                  rn_partition_append_result_t *res);
/* A coordinator's own write (Kafka's AppendOrigin.COORDINATOR): its
   producer's batches are not checked for sequence (a transactional offset
   commit always starts at 0). */
#define RN_PARTITION_APPEND_COORDINATOR (1u << 31)

/* The same with the log's append flags (RN_LOG_APPEND_ALLOW_CONTROL: the
   transaction markers this broker writes itself) and
   RN_PARTITION_APPEND_COORDINATOR. */
rn_err_t rn_partition_append_flags(rn_partition_t *part, uint8_t *records, size_t len,
                                   uint32_t flags, int64_t now_ms, struct rn_batch_inflate *inf,
                                   rn_partition_append_result_t *res);

/* A transaction marker: the end of producer_id's transaction in this
   partition (Kafka's control batch: one COMMIT or ABORT record carrying the
   coordinator's epoch). */
typedef struct rn_partition_marker {
    int64_t producer_id;
    int16_t producer_epoch;
    bool commit;
    int32_t coordinator_epoch;
} rn_partition_marker_t;

/* Appends the marker's control batch (leader only; no fsync): as
   rn_partition_append, RN_ERR_STALE for an epoch older than the
   producer's. */
rn_err_t rn_partition_append_marker(rn_partition_t *part, const rn_partition_marker_t *marker,
                                    int64_t now_ms, rn_partition_append_result_t *res);
/* A follower's append of batches fetched from its leader (whole batches;
   owned by the caller, not changed): validated, written with the leader's
   offsets and epochs, producer state kept. RN_ERR_NOT_LEADER unless this
   replica follows; RN_ERR_INVALID for batches out of order; storage
   failures as rn_partition_append. No fsync. */
rn_err_t rn_partition_append_replica(rn_partition_t *part, const uint8_t *records, size_t len,
                                     int64_t now_ms, struct rn_batch_inflate *inf);
/* A follower drops every batch at or past offset (its log diverged from
   the leader's); the high watermark follows the new end. */
rn_err_t rn_partition_truncate(rn_partition_t *part, int64_t offset);
/* A follower: the leader's log start, taken up to this log's end. */
rn_err_t rn_partition_follow_start(rn_partition_t *part, int64_t leader_start);
/* A follower whose whole log lies below the leader's log start: it starts
   over, empty, at offset. */
rn_err_t rn_partition_restart_at(rn_partition_t *part, int64_t offset);
/* Queues a waiter that completes once offset_needed is durable. */
void rn_partition_wait_durable(rn_partition_t *part, rn_partition_waiter_t *waiter);
/* Syncs the log if dirty and durable, keeping the outcome for
   rn_partition_sync_done. Touches only this partition's log, so the owner
   core may run it for several partitions at once on worker threads while
   it waits for them. */
void rn_partition_flush(rn_partition_t *part);
/* On the owner core after rn_partition_flush: advances the high watermark
   and completes waiters. Returns the fsync time in ns, or -1 if none ran. */
int64_t rn_partition_sync_done(rn_partition_t *part);
/* Both of the above, in order. */
int64_t rn_partition_sync(rn_partition_t *part);
/* Moves the log start up to offset (<= high watermark); owner core. */
rn_err_t rn_partition_delete_records(rn_partition_t *part, int64_t offset);
/* Retention, log-start checkpoints and the size metrics; owner core, on a
   timer. */
void rn_partition_housekeep(rn_partition_t *part, int64_t now_ms);

/* ---- replication (replicas.c); owner core ---- */

/* Takes the image's leadership. Becoming leader starts every follower
   afresh (the high watermark waits until each in-sync one has fetched in
   this epoch); losing it fails the produces waiting for the high watermark
   with RN_ERR_NOT_LEADER. Returns the new role. */
rn_partition_role_t rn_partition_lead(rn_partition_t *part, const rn_partition_leadership_t *ld,
                                      int64_t now_ms);
/* A follower's fetch from its durable end fetch_offset: recorded, and the
   high watermark moves if it can. RN_ERR_NOT_LEADER when this replica does
   not lead; RN_ERR_NOT_FOUND when replica_id is no replica. */
rn_err_t rn_partition_follower_fetched(rn_partition_t *part, int32_t replica_id,
                                       int64_t fetch_offset, int64_t now_ms);
/* What this replica holds durably: its fsynced end (the log end when the
   partition is not durable). A leader serves its followers no further, so
   no follower ever holds a record the leader may still lose (a failed
   fsync rolls it back; a power loss drops it) and write again differently
   in the same leader epoch. */
int64_t rn_partition_durable_end(const rn_partition_t *part);
/* The leader's high watermark as the durable ends allow now (never back);
   completes the produces it covers. The group commit calls it. */
void rn_partition_advance_hw(rn_partition_t *part);
/* A follower: the leader's high watermark, capped by this log's durable
   end. */
void rn_partition_follow_hw(rn_partition_t *part, int64_t leader_hw);
/* Queues an acks=all produce until the high watermark passes
   waiter->offset_needed; done gets RN_ERR_FEW_REPLICAS_AFTER when the ISR
   is below min.insync.replicas by then. */
void rn_partition_wait_hw(rn_partition_t *part, rn_partition_waiter_t *waiter);
/* Takes a waiter out of the high watermark's list (its deadline passed);
   false when it is not there (already completed). */
bool rn_partition_unwait_hw(rn_partition_t *part, rn_partition_waiter_t *waiter);
/* Whether acks=all may append now: this replica leads and the ISR holds
   at least min.insync.replicas (RN_ERR_NOT_LEADER / RN_ERR_FEW_REPLICAS). */
rn_err_t rn_partition_check_acks_all(const rn_partition_t *part);
/* The ISR this leader should ask the controller for now (false: none, or
   a change is pending; a pending change whose outcome is unknown is asked
   again): followers behind the leader's log end and not
   caught up for lag_max_ms (replica.lag.time.max.ms) leave; a replica
   outside it whose fetch offset reached the high watermark and this
   epoch's start joins. */
bool rn_partition_isr_wanted(const rn_partition_t *part, int64_t now_ms, int64_t lag_max_ms,
                             int32_t *isr, int16_t *isr_count);
/* A change asked for (rn_partition_isr_wanted's) is pending until the
   image brings any new ISR, or rn_partition_isr_settled drops it. */
void rn_partition_isr_asked(rn_partition_t *part, const int32_t *isr, int16_t isr_count);
void rn_partition_isr_settled(rn_partition_t *part);
/* The controller's answer to the change asked (Kafka's code, and the
   partition epoch it gives when taken). Taken: settled once the image has
   that epoch. Refused for a reason of its own (an ineligible member, a
   malformed list, an unknown partition): dropped. Otherwise the outcome
   is unknown (no answer in time, another controller, or this leader's view
   is behind the controller's: the change may have been applied): it stays
   pending, its members counting toward the high watermark, until the
   image brings a new partition epoch, and is asked again meanwhile. */
void rn_partition_isr_answered(rn_partition_t *part, int16_t error_code, int32_t partition_epoch);
/* KIP-392 on the leader: of the candidates (replicas in the consumer's
   rack), the in-sync follower that holds fetch_offset and the most after
   it; -1 when none does (the leader serves). */
int32_t rn_partition_read_replica(const rn_partition_t *part, const int32_t *candidates,
                                  int16_t count, int64_t fetch_offset);
/* Fails every produce waiting for the high watermark with err. */
void rn_partition_fail_hw_waiters(rn_partition_t *part, rn_err_t err);
/* The node is stopping: fails the waits for the high watermark with
   RN_ERR_NOT_LEADER, and every wait asked from now on at once (an append
   whose fsync completes after the stop began must not wait out it). */
void rn_partition_close_hw(rn_partition_t *part);
/* The place of replica id in the leadership's replicas, or -1. */
int rn_partition_replica_slot(const rn_partition_t *part, int32_t id);

/*
 * Planted bugs for the replication simulator's mutation test
 * (tests/simrepl). Exactly one may be chosen at compile time with
 * -DRN_REPL_MUTANT=<n>; 0 (the default) is correct replication. Two more
 * are the controller's (metadata/controller_int.h): an out-of-ISR replica
 * elected leader (RN_CTL_MUTANT_UNFENCE_OUTSIDE_ISR) and a reassignment
 * completed before its new replicas are in sync
 * (RN_CTL_MUTANT_REASSIGN_BEFORE_SYNC).
 */
#define RN_REPL_MUTANT_NONE 0
#define RN_REPL_MUTANT_HW_LEADER_ALONE                                                             \
    1                                /* replicas.c: the high watermark from the leader alone       \
                                      */
#define RN_REPL_MUTANT_NO_TRUNCATE 2 /* follower.c: a diverging epoch truncates nothing */
/* replicas.c: a follower's state stays in its slot when a reassignment
   reorders the replicas, so it is credited to another broker */
#define RN_REPL_MUTANT_FOLLOWERS_BY_SLOT 3
#define RN_REPL_MUTANT__COUNT 4
#ifndef RN_REPL_MUTANT
#define RN_REPL_MUTANT RN_REPL_MUTANT_NONE
#endif

static inline bool rn_partition_offline(rn_partition_t *part) {
    return atomic_load_explicit(&part->offline, memory_order_acquire);
}
static inline int64_t rn_partition_hw(rn_partition_t *part) {
    return atomic_load_explicit(&part->high_watermark, memory_order_acquire);
}
/* Kafka's last stable offset: below it every transaction is decided; a
   read_committed fetch reads up to it. Any thread. */
static inline int64_t rn_partition_lso(rn_partition_t *part) {
    int64_t hw = atomic_load_explicit(&part->high_watermark, memory_order_acquire);
    int64_t first = atomic_load_explicit(&part->first_unstable, memory_order_acquire);
    return first < hw ? first : hw;
}
static inline int64_t rn_partition_start(rn_partition_t *part) {
    return atomic_load_explicit(&part->log_start, memory_order_acquire);
}

#endif
