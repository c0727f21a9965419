/*
 * raft.h: Raft consensus as a pure state machine.
 *
 * What it does: leader election (with pre-vote and check-quorum), log
 * replication (batched, pipelined), the commit rule, snapshots and
 * InstallSnapshot, single-voter membership changes with catching-up learners,
 * leadership transfer and linearizable reads (read index).
 *
 * What it owns: its in-memory log (entries past the snapshot, with copies of
 * their data), the latest snapshot's bytes, per-peer progress and the queue of
 * outgoing messages.
 *
 * What it must never do: any I/O, read a clock, or touch a mutable global. It
 * only changes in rn_raft_step (a message), rn_raft_tick (time), the propose /
 * read / transfer / config calls, and rn_raft_advance. Randomness (election
 * timeouts) comes from a PRNG seeded by the caller and held in the struct.
 *
 * The driver loop, in this order (the order is what keeps Raft safe):
 *
 *     rn_raft_ready_t rd;
 *     while (rn_raft_ready(r, &rd)) {
 *         1. rd.snapshot: persist it, restore the state machine from it
 *         2. rd.state_changed: persist (rd.term, rd.vote)
 *         3. rd.entries: truncate the stored log after rd.entries[0].index - 1
 *            and append them; sync                        (steps 1-3: durable)
 *         4. send rd.msgs                                 (only after 1-3)
 *         5. apply rd.committed in order; serve rd.reads once applied
 *         6. rn_raft_advance(r, &rd)
 *     }
 *
 * Pointers inside rd borrow from the raft and stay valid until
 * rn_raft_advance; the driver must not call into the raft in between.
 * If persisting fails the node must stop (crash) and restart from disk.
 */
#ifndef RN_RAFT_RAFT_H
#define RN_RAFT_RAFT_H

#include "base/err.h"
#include "base/limits.h"

#include <stddef.h>
#include <stdint.h>

typedef uint32_t rn_raft_id_t;
#define RN_RAFT_ID_NONE 0u

typedef enum rn_raft_role {
    RN_RAFT_FOLLOWER = 0,
    RN_RAFT_PRECANDIDATE,
    RN_RAFT_CANDIDATE,
    RN_RAFT_LEADER,
} rn_raft_role_t;

typedef enum rn_raft_entry_type {
    RN_RAFT_ENTRY_NORMAL = 0, /* state machine command */
    RN_RAFT_ENTRY_NOOP,       /* appended by a new leader to commit its term */
    RN_RAFT_ENTRY_CONFIG,     /* data is an encoded rn_raft_config_t */
} rn_raft_entry_type_t;

/* One log entry. Inside the raft, data is owned (heap copy); in a message
   decoded off the wire it borrows the receive buffer. */
typedef struct rn_raft_entry {
    uint64_t term;
    uint64_t index;
    uint8_t type; /* rn_raft_entry_type_t */
    uint32_t len;
    uint8_t *data;
} rn_raft_entry_t;

/* Membership: voters decide; learners only receive the log. */
typedef struct rn_raft_config {
    uint32_t voters_n;
    uint32_t learners_n;
    rn_raft_id_t voters[RN_RAFT_NODES_MAX];
    rn_raft_id_t learners[RN_RAFT_NODES_MAX];
} rn_raft_config_t;

#define RN_RAFT_CONFIG_BYTES_MAX (8 + 8 * RN_RAFT_NODES_MAX)

typedef struct rn_raft_snapshot {
    uint64_t index; /* last entry the snapshot covers; 0: none */
    uint64_t term;
    rn_raft_config_t config;
    uint32_t len;
    uint8_t *data; /* state machine image, owned by whoever holds the struct */
} rn_raft_snapshot_t;

typedef enum rn_raft_msg_type {
    RN_RAFT_MSG_PREVOTE = 1,
    RN_RAFT_MSG_PREVOTE_RESP,
    RN_RAFT_MSG_VOTE,
    RN_RAFT_MSG_VOTE_RESP,
    RN_RAFT_MSG_APPEND,
    RN_RAFT_MSG_APPEND_RESP, /* also answers SNAPSHOT */
    RN_RAFT_MSG_SNAPSHOT,
    RN_RAFT_MSG_TIMEOUT_NOW,
    RN_RAFT_MSG__COUNT
} rn_raft_msg_type_t;

/*
 * One message. Fields by type:
 *   PREVOTE/VOTE      index, log_term = candidate's last entry; transfer
 *   *_RESP            reject
 *   APPEND            index, log_term = previous entry; entries; commit
 *   APPEND_RESP       index = last matching index (success) or the rejected
 *                     previous index (reject); hint = responder's last index
 *   SNAPSHOT          snapshot (index, term, config, data)
 *   APPEND, APPEND_RESP, SNAPSHOT carry read_seq (read-index rounds).
 */
typedef struct rn_raft_msg {
    uint8_t type;
    uint8_t reject;
    uint8_t transfer;
    rn_raft_id_t from;
    rn_raft_id_t to;
    uint64_t term;
    uint64_t index;
    uint64_t log_term;
    uint64_t commit;
    uint64_t hint;
    uint64_t read_seq;
    uint32_t entries_n;
    rn_raft_entry_t *entries;    /* borrowed */
    rn_raft_snapshot_t snapshot; /* data borrowed */
} rn_raft_msg_t;

/* A linearizable read that may be served once applied >= index. */
typedef struct rn_raft_read {
    uint64_t ctx; /* the caller's token */
    uint64_t index;
} rn_raft_read_t;

typedef struct rn_raft_opts {
    rn_raft_id_t id;
    uint32_t election_ticks;     /* RN_RAFT_ELECTION_TICKS_DEFAULT */
    uint32_t heartbeat_ticks;    /* RN_RAFT_HEARTBEAT_TICKS_DEFAULT */
    uint32_t append_entries_max; /* per message, <= RN_RAFT_APPEND_ENTRIES_MAX */
    uint32_t snapshot_entries;   /* applied entries between snapshots */
    int prevote;
    int check_quorum;
    uint64_t seed; /* election timeout randomness */
} rn_raft_opts_t;

/* What the node recovered from disk; entries borrowed, copied by init. */
typedef struct rn_raft_boot {
    uint64_t term;
    rn_raft_id_t vote;
    const rn_raft_snapshot_t *snapshot; /* NULL: none, use config */
    rn_raft_config_t config;            /* initial config if no snapshot */
    const rn_raft_entry_t *entries;     /* after the snapshot, contiguous */
    uint32_t entries_n;
} rn_raft_boot_t;

typedef struct rn_raft_ready {
    const rn_raft_snapshot_t *snapshot; /* to persist and install, or NULL */
    int state_changed;
    uint64_t term;
    rn_raft_id_t vote;
    const rn_raft_entry_t *entries; /* to persist */
    uint32_t entries_n;
    const rn_raft_msg_t *msgs; /* to send after persisting */
    uint32_t msgs_n;
    const rn_raft_entry_t *committed; /* to apply */
    uint32_t committed_n;
    const rn_raft_read_t *reads;
    uint32_t reads_n;
    uint64_t snapshot_want; /* non-zero: take a snapshot at this applied index */
} rn_raft_ready_t;

typedef struct rn_raft rn_raft_t;

/* Creates a node from what it recovered; sets *out. RN_ERR_NO_MEMORY. */
rn_err_t rn_raft_create(const rn_raft_opts_t *opts, const rn_raft_boot_t *boot, rn_raft_t **out);
void rn_raft_destroy(rn_raft_t *r);
void rn_raft_opts_default(rn_raft_opts_t *opts, rn_raft_id_t id, uint64_t seed);

/* Inputs. */
void rn_raft_step(rn_raft_t *r, const rn_raft_msg_t *msg);
void rn_raft_tick(rn_raft_t *r);
/* Appends a command; RN_ERR_STALE if not leader (or transferring),
   RN_ERR_TOO_LARGE, RN_ERR_LIMIT when the in-memory log is full. */
rn_err_t rn_raft_propose(rn_raft_t *r, const void *data, uint32_t len, uint64_t *index,
                         uint64_t *term);
/* Starts a read-index round for token ctx; the read comes back in
   rd.reads. RN_ERR_STALE if not leader, RN_ERR_AGAIN if this leader has not
   committed an entry of its term yet, RN_ERR_LIMIT if too many wait. */
rn_err_t rn_raft_read_index(rn_raft_t *r, uint64_t ctx);
/* Starts an election now instead of at the election timeout (pre-vote
   first when enabled). Safe for any voter at any time; a sole voter becomes
   leader at once, so a single node does not wait out a timeout at start. */
void rn_raft_campaign_now(rn_raft_t *r);
/* Moves leadership to target; RN_ERR_STALE if not leader, RN_ERR_INVALID if
   target is not another voter. */
rn_err_t rn_raft_transfer(rn_raft_t *r, rn_raft_id_t target);

typedef enum rn_raft_config_op {
    RN_RAFT_ADD_LEARNER = 0,
    RN_RAFT_PROMOTE, /* learner to voter, once caught up */
    RN_RAFT_REMOVE,  /* voter or learner */
} rn_raft_config_op_t;
/* Proposes one membership change; RN_ERR_AGAIN while another change is
   uncommitted, this leader has no commit in its term yet, or a learner to
   promote still lags; RN_ERR_INVALID for a change that makes no sense. */
rn_err_t rn_raft_change(rn_raft_t *r, rn_raft_config_op_t op, rn_raft_id_t id);

int rn_raft_ready(rn_raft_t *r, rn_raft_ready_t *rd);
void rn_raft_advance(rn_raft_t *r, const rn_raft_ready_t *rd);
/* The driver took a snapshot of the state machine at applied index `index`
   (and persisted it); the raft keeps a copy and drops the log up to it. */
rn_err_t rn_raft_snapshot_done(rn_raft_t *r, uint64_t index, const void *data, uint32_t len);

/* Read-only views (for the driver and the simulator's checker). */
rn_raft_role_t rn_raft_role(const rn_raft_t *r);
rn_raft_id_t rn_raft_id(const rn_raft_t *r);
rn_raft_id_t rn_raft_leader(const rn_raft_t *r);
uint64_t rn_raft_term(const rn_raft_t *r);
uint64_t rn_raft_commit(const rn_raft_t *r);
uint64_t rn_raft_applied(const rn_raft_t *r);
uint64_t rn_raft_last_index(const rn_raft_t *r);
uint64_t rn_raft_snapshot_index(const rn_raft_t *r);
/* Term of the entry at index, 0 if outside [snapshot index, last index]. */
uint64_t rn_raft_term_at(const rn_raft_t *r, uint64_t index);
/* Entry at index, NULL if compacted or absent. */
const rn_raft_entry_t *rn_raft_entry_at(const rn_raft_t *r, uint64_t index);
const rn_raft_config_t *rn_raft_config(const rn_raft_t *r);
/* A leader's view of how far member id's log matches its own (0: unknown,
   or not the leader). */
uint64_t rn_raft_match(const rn_raft_t *r, rn_raft_id_t id);
/* The latest snapshot (index 0: none); data valid until the next change. */
const rn_raft_snapshot_t *rn_raft_snapshot(const rn_raft_t *r);
int rn_raft_config_has_voter(const rn_raft_config_t *cfg, rn_raft_id_t id);
int rn_raft_config_has_learner(const rn_raft_config_t *cfg, rn_raft_id_t id);
const char *rn_raft_role_name(rn_raft_role_t role);
const char *rn_raft_msg_name(uint8_t type);

/* Config entry data. */
uint32_t rn_raft_config_encode(const rn_raft_config_t *cfg, uint8_t *out, uint32_t cap);
rn_err_t rn_raft_config_decode(const uint8_t *data, uint32_t len, rn_raft_config_t *cfg);

/*
 * Wire codec (raft_msg.c). Encoded size first, then encode into a buffer of
 * at least that size; decode borrows from buf (entries go into a caller's
 * array of entries_cap slots).
 */
size_t rn_raft_msg_size(const rn_raft_msg_t *msg);
size_t rn_raft_msg_encode(const rn_raft_msg_t *msg, uint8_t *buf, size_t cap);
rn_err_t rn_raft_msg_decode(const uint8_t *buf, size_t len, rn_raft_msg_t *msg,
                            rn_raft_entry_t *entries, uint32_t entries_cap);

/*
 * Planted bugs for the simulator's mutation test. Exactly one may be chosen
 * at compile time with -DRN_RAFT_MUTANT=<n>; 0 (the default) is correct Raft.
 */
#define RN_RAFT_MUTANT_NONE 0
#define RN_RAFT_MUTANT_COMMIT_OLD_TERM 1  /* commit an earlier term's entry by counting */
#define RN_RAFT_MUTANT_VOTE_UNPERSISTED 2 /* answer a vote before persisting it */
#define RN_RAFT_MUTANT_STALE_APPEND 3     /* accept AppendEntries from a stale term */
#define RN_RAFT_MUTANT_NO_TRUNCATE 4      /* skip log truncation on conflict */
#define RN_RAFT_MUTANT_LEARNER_VOTE 5     /* count a learner's vote */
#define RN_RAFT_MUTANT_SHORT_LOG_VOTE 6   /* vote for a candidate with a shorter log */
#define RN_RAFT_MUTANT__COUNT 7
#ifndef RN_RAFT_MUTANT
#define RN_RAFT_MUTANT RN_RAFT_MUTANT_NONE
#endif

#endif
