/*
 * sim.h: the Raft cluster simulation harness.
 *
 * One run (sim_run) is one seed: a 3- or 5-voter cluster plus a spare node,
 * all in this process over the simulator backend of the I/O seam
 * (src/io/io_sim.h), a replicated key-value store on top, clients issuing
 * writes and linearizable reads, and a fault schedule drawn from the seed.
 * The checker (sim_check.c) validates the Raft invariants after every step
 * and the client history at the end.
 *
 * Owns: the world, the nodes (store, raft, key-value state), the clients and
 * the history. Never: reads the real clock, the real disk or a global; every
 * choice comes from the world's PRNG, so a seed replays byte for byte.
 */
#ifndef RN_TESTS_SIM_SIM_H
#define RN_TESTS_SIM_SIM_H

#include "io/io_sim.h"
#include "raft/raft.h"
#include "raft/raft_log_store.h"

#include <stdint.h>
#include <stdio.h>

#define SIM_KEYS 3
#define SIM_CLIENTS 3
#define SIM_NODES_MAX 6 /* 5 voters and a spare */
#define SIM_READS_MAX 64
#define SIM_REASON_BYTES 512

/* One client operation, as the checker sees it. */
typedef struct sim_op {
    uint8_t is_read;
    uint8_t done;    /* a response came back */
    uint8_t invoked; /* the write reached a leader's log (else it never happened) */
    uint32_t key;
    uint64_t value; /* written value (unique), or the value a read returned */
    int64_t inv_ns, resp_ns;
} sim_op_t;

typedef struct sim_node {
    uint32_t id;
    int up;
    rn_io_t *io;
    rn_raft_store_t *st;
    rn_raft_t *raft;
    uint64_t kv[SIM_KEYS];
    int64_t next_tick_local_ns;
    int64_t restart_at_ns;               /* when down */
    rn_raft_read_t reads[SIM_READS_MAX]; /* confirmed reads waiting to apply */
    uint32_t reads_n;
    rn_raft_role_t role_seen;
    uint64_t term_seen;
    uint64_t commit_seen;
    /* What the node promised, kept across its crashes (it is on its disk). */
    uint64_t voted_term;
    rn_raft_id_t voted_for;
    uint64_t acked_term, acked_index; /* last successful append answer */
    /* Votes granted to this node as a candidate, as delivered. */
    uint64_t grants_term;
    uint32_t grants_mask;
} sim_node_t;

typedef struct sim_client {
    int64_t next_at_ns; /* next action; -1 while waiting on a node */
    int64_t deadline_ns;
    uint32_t op;   /* history index of the current op, or UINT32_MAX */
    uint32_t hint; /* node believed to lead */
    uint32_t waiting_node;
} sim_client_t;

typedef struct sim_check sim_check_t;

typedef struct sim_stats {
    uint64_t faults;
    uint64_t steps;
    uint64_t elections;
    uint64_t ops_done;
} sim_stats_t;

typedef struct sim {
    uint64_t seed;
    rn_sim_t *world;
    uint32_t voters_n, nodes_n;
    int boot_learner; /* the spare starts as a learner */
    sim_node_t nodes[SIM_NODES_MAX + 1];
    sim_client_t clients[SIM_CLIENTS];
    sim_op_t *ops;
    uint32_t ops_n, ops_cap;
    rn_raft_opts_t opts; /* template; id and seed per node */
    int64_t heal_at_ns, end_ns, next_fault_ns;
    int healed;
    int64_t live_write_ns, live_read_ns, live_leader_ns;
    uint32_t crash_mid_ready_ppm;
    sim_check_t *check;
    FILE *trace;
    int failed;
    char reason[SIM_REASON_BYTES];
    sim_stats_t stats;
    uint8_t *msg_buf;
    size_t msg_buf_cap;
} sim_t;

/* sim_run.c */
int sim_run(uint64_t seed, FILE *trace, sim_stats_t *stats, char *reason, size_t reason_cap,
            rn_sim_stats_t *world_stats);
void sim_fail(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sim_node.c */
void sim_node_start(sim_t *s, sim_node_t *n);
void sim_node_crash(sim_t *s, sim_node_t *n, const char *why);
void sim_node_drive(sim_t *s, sim_node_t *n);
void sim_node_deliver(sim_t *s, sim_node_t *n, const uint8_t *data, size_t len);
void sim_node_tick(sim_t *s, sim_node_t *n);
uint64_t sim_kv_hash(const uint64_t *kv);

/* sim_client.c */
void sim_client_step(sim_t *s, sim_client_t *c);
void sim_client_applied(sim_t *s, uint64_t op_value);
void sim_client_read_done(sim_t *s, sim_node_t *n, uint64_t ctx, uint64_t value);

/* sim_check.c */
sim_check_t *sim_check_create(void);
void sim_check_destroy(sim_check_t *c);
void sim_check_node(sim_t *s, sim_node_t *n);
void sim_check_log_change(sim_t *s, sim_node_t *n, uint64_t from, uint64_t to);
void sim_check_send(sim_t *s, sim_node_t *n, const rn_raft_msg_t *m);
void sim_check_recv(sim_t *s, sim_node_t *n, const rn_raft_msg_t *m);
void sim_check_truncate(sim_t *s, sim_node_t *n, uint64_t from);
void sim_check_apply(sim_t *s, sim_node_t *n, const rn_raft_entry_t *e);
void sim_check_state(sim_t *s, sim_node_t *n, uint64_t index);
uint64_t sim_check_commit_max(const sim_check_t *c);
/* The committed write at index (its op value), 0 if none. */
uint64_t sim_check_op_at(const sim_check_t *c, uint64_t index);
/* sim_history.c */
void sim_check_history(sim_t *s);

#endif
