/*
 * raft_int.h: the inside of rn_raft_t, shared by the raft_*.c files only.
 *
 * Owns nothing beyond the struct layout. Must never be included from outside
 * src/raft/: other modules see rn_raft_t through raft.h's functions.
 *
 * Log layout in memory: log[i] holds index snap.index + 1 + i. Entries up to
 * `stable` are durable; entries from `unstable` on have not yet been handed
 * to the driver to persist (stable < unstable always, stable + 1 may be less
 * than unstable while a ready is between rn_raft_ready and rn_raft_advance).
 */
#ifndef RN_RAFT_RAFT_INT_H
#define RN_RAFT_RAFT_INT_H

#include "raft.h"

typedef enum rn_raft_pr_state {
    RN_RAFT_PR_PROBE = 0, /* one append at a time until the match is found */
    RN_RAFT_PR_REPLICATE, /* pipelined appends */
    RN_RAFT_PR_SNAPSHOT,  /* an InstallSnapshot is on its way */
} rn_raft_pr_state_t;

/* What the leader knows about one other member. */
typedef struct rn_raft_progress {
    rn_raft_id_t id;
    uint8_t state;
    uint8_t paused; /* probe: an append is outstanding */
    uint8_t active; /* heard from since the last check-quorum round */
    uint64_t match;
    uint64_t next;
    uint64_t read_seq_acked;
    uint32_t inflight_n;
    uint64_t inflight[RN_RAFT_INFLIGHT_MAX]; /* last index of each append in flight */
} rn_raft_progress_t;

typedef struct rn_raft_read_pending {
    uint64_t ctx;
    uint64_t index;
    uint64_t seq;
} rn_raft_read_pending_t;

struct rn_raft {
    rn_raft_opts_t opts;
    uint64_t rng;

    /* persistent state */
    uint64_t term;
    rn_raft_id_t vote;
    int state_dirty;
    int vote_lag; /* mutant VOTE_UNPERSISTED only */

    /* log */
    rn_raft_snapshot_t snap;
    int snap_unstable;
    rn_raft_entry_t *log;
    uint32_t log_n;
    uint32_t log_cap;
    uint64_t stable;
    uint64_t unstable;
    uint64_t commit;
    uint64_t applied;
    uint64_t snapshot_asked;

    /* role */
    rn_raft_role_t role;
    rn_raft_id_t leader;
    uint32_t elapsed;
    uint32_t timeout;
    uint32_t hb_elapsed;
    uint32_t granted_n;
    uint32_t rejected_n;
    rn_raft_id_t granted[RN_RAFT_NODES_MAX];
    rn_raft_id_t rejected[RN_RAFT_NODES_MAX];

    /* membership */
    rn_raft_config_t config;
    uint64_t config_index;
    rn_raft_progress_t prs[RN_RAFT_NODES_MAX];
    uint32_t prs_n;

    /* leadership transfer */
    rn_raft_id_t transferee;

    /* read index */
    uint64_t read_seq;
    int read_broadcast;
    rn_raft_read_pending_t reads_pending[RN_RAFT_READS_PENDING_MAX];
    uint32_t reads_pending_n;
    rn_raft_read_t reads_out[RN_RAFT_READS_PENDING_MAX];
    uint32_t reads_out_n;

    /* outbox */
    rn_raft_msg_t msgs[RN_RAFT_MSGS_OUT_MAX];
    uint64_t msgs_last_term[RN_RAFT_MSGS_OUT_MAX]; /* APPEND: term of its last entry */
    uint32_t msgs_n;
    uint64_t msgs_dropped_total;

    int in_ready;
};

/* raft_log.c */
uint64_t rn_raft_log_last(const rn_raft_t *r);
uint64_t rn_raft_log_last_term(const rn_raft_t *r);
rn_raft_entry_t *rn_raft_log_get(const rn_raft_t *r, uint64_t index);
rn_err_t rn_raft_log_append(rn_raft_t *r, uint64_t term, uint8_t type, const void *data,
                            uint32_t len);
void rn_raft_log_truncate_from(rn_raft_t *r, uint64_t index);
void rn_raft_log_compact_to(rn_raft_t *r, uint64_t index);
void rn_raft_log_clear(rn_raft_t *r);
int rn_raft_log_up_to_date(const rn_raft_t *r, uint64_t last_term, uint64_t last_index);

/* raft_config.c */
void rn_raft_config_recompute(rn_raft_t *r);
void rn_raft_config_set(rn_raft_t *r, const rn_raft_config_t *cfg, uint64_t index);
int rn_raft_config_at(const rn_raft_t *r, uint64_t index, rn_raft_config_t *cfg);
rn_raft_progress_t *rn_raft_pr_find(rn_raft_t *r, rn_raft_id_t id);
void rn_raft_pr_reset(rn_raft_t *r);
uint32_t rn_raft_quorum(const rn_raft_t *r);

/* raft.c */
void rn_raft_send(rn_raft_t *r, const rn_raft_msg_t *msg);
void rn_raft_become_follower(rn_raft_t *r, uint64_t term, rn_raft_id_t leader);
void rn_raft_campaign(rn_raft_t *r, int pre, int transfer);

/* raft_repl.c */
void rn_raft_handle_append(rn_raft_t *r, const rn_raft_msg_t *m);
void rn_raft_handle_append_resp(rn_raft_t *r, const rn_raft_msg_t *m);
void rn_raft_handle_snapshot(rn_raft_t *r, const rn_raft_msg_t *m);
int rn_raft_send_append(rn_raft_t *r, rn_raft_progress_t *pr, int allow_empty);
void rn_raft_send_heartbeat(rn_raft_t *r, rn_raft_progress_t *pr);
void rn_raft_broadcast_append(rn_raft_t *r);
void rn_raft_heartbeat_tick(rn_raft_t *r);
int rn_raft_maybe_commit(rn_raft_t *r);
void rn_raft_reads_check(rn_raft_t *r);

#endif
