/*
 * simctl.h: the controller simulation: the real metadata quorum and the
 * real controller decisions on several nodes in one process.
 *
 * One run (sc_run) is one seed: 3 or 5 combined nodes (a metadata quorum
 * voter and a broker each), two broker-only nodes and a client, all over the
 * simulator backend of the I/O seam (src/io/io_sim.h). Each voter runs
 * rn_quorum_t on its simulated disk; the one that leads and has applied its
 * whole log acts as the active controller: it keeps heartbeat leases,
 * registers, fences and unfences brokers, and plans the client's topic
 * creations and growths with rn_controller_t, proposing each batch through
 * the quorum. Faults come from the seed; the checker (simctl_check.c)
 * validates every applied image and the history of leaders.
 *
 * Owns: the world, the nodes, the client and the checker's history. Never
 * reads the real clock, the real disk or a global: a seed replays byte for
 * byte.
 */
#ifndef RN_TESTS_SIMCTL_SIMCTL_H
#define RN_TESTS_SIMCTL_SIMCTL_H

#include "io/io_sim.h"
#include "metadata/controller.h"
#include "metadata/image.h"
#include "metadata/quorum.h"
#include "raft/raft.h"

#include <stdint.h>
#include <stdio.h>

#define SC_VOTERS_MAX 5
#define SC_BROKER_ONLY 2
/* World nodes: voters 1..V, broker-only V+1..V+2, the client V+3. */
#define SC_NODES_MAX (SC_VOTERS_MAX + SC_BROKER_ONLY + 1)
#define SC_REASON_BYTES 512
#define SC_TOPICS_MAX 48
#define SC_NAME_BYTES 24

#define SC_MS 1000000LL
#define SC_TICK_NS (10 * SC_MS)      /* quorum tick */
#define SC_HEARTBEAT_NS (50 * SC_MS) /* broker heartbeat interval */
#define SC_SESSION_MS 500            /* broker session timeout */
#define SC_REGISTER_RETRY_NS (100 * SC_MS)
#define SC_CLIENT_TIMEOUT_NS (400 * SC_MS)
#define SC_LIVENESS_NS (6000 * SC_MS) /* per liveness phase after healing */

/* Messages between nodes (their own small format; Raft's is raft_msg.c). */
enum {
    SC_MSG_RAFT = 1, /* then the sender's folder incarnation (u32), an encoded rn_raft_msg_t */
    SC_MSG_REGISTER,
    SC_MSG_REGISTER_RESP,
    SC_MSG_HEARTBEAT,
    SC_MSG_HEARTBEAT_RESP,
    SC_MSG_CREATE,
    SC_MSG_GROW,
    SC_MSG_OP_RESP,
};

/* Codes of the answers besides Kafka's. */
#define SC_NOT_CONTROLLER 41 /* NOT_CONTROLLER, as Kafka numbers it */
#define SC_STALE_EPOCH 1000  /* heartbeat of an epoch not registered: register again */

typedef struct sc_msg {
    uint8_t kind;
    uint8_t fenced;
    int16_t code;
    int32_t broker_id;
    uint32_t hint; /* the node the sender believes leads, 0: none */
    int32_t count; /* partitions */
    int16_t rf;
    uint64_t token;
    int64_t epoch;
    rn_uuid_t incarnation;
    char name[SC_NAME_BYTES];
} sc_msg_t;

typedef enum sc_broker_state { SC_B_DOWN, SC_B_UNREGISTERED, SC_B_REGISTERED } sc_broker_state_t;

typedef struct sc_broker {
    sc_broker_state_t state;
    rn_uuid_t incarnation;
    int64_t epoch;
    int fenced;
    uint32_t hint;
    uint32_t unanswered;
    int64_t next_local_ns;
} sc_broker_t;

typedef enum sc_op_kind {
    SC_OP_NONE,
    SC_OP_REGISTER,
    SC_OP_FENCE,
    SC_OP_UNFENCE,
    SC_OP_CLIENT
} sc_op_kind_t;

/* A client request waiting at the controller. */
typedef struct sc_request {
    int used;
    sc_msg_t msg;
    uint32_t from;
} sc_request_t;

typedef struct sc_node {
    struct sc *sim;
    uint32_t id; /* world node; Raft id; broker id + 1 */
    int up, voter, is_client;
    rn_io_t *io;
    rn_quorum_t *q;
    rn_controller_t ctl;
    int ctl_open;
    int64_t next_tick_local_ns;
    int64_t restart_at_ns; /* when down; INT64_MAX: stays down */
    /* the active controller's state (lost when it stops leading) */
    int active;
    uint64_t active_term;
    rn_ctl_leases_t leases;
    sc_op_kind_t op;
    uint64_t op_index, op_term;
    sc_request_t op_req; /* the request answered once the op commits */
    int64_t op_epoch;
    sc_request_t regs[SC_NODES_MAX + 1]; /* by world node of the broker */
    uint32_t unfence_want;               /* bit per world node */
    sc_request_t client_req;
    rn_raft_role_t role_seen;
    uint32_t dir_gen; /* incarnation of its data folder: a wipe makes a new one */
    /* checker: the last image this incarnation applied */
    rn_image_t *seen;
    uint64_t seen_index;
    sc_broker_t broker; /* every node but the client */
} sc_node_t;

typedef struct sc_client {
    int64_t next_at_ns;
    int64_t deadline_ns;
    uint64_t token; /* of the request in flight, 0: none */
    uint32_t hint;
    int waiting;
    int redirected; /* resend to the hint at once */
    sc_msg_t req;
    int topics_n;
    char topics[SC_TOPICS_MAX][SC_NAME_BYTES];
    uint32_t next_name;
} sc_client_t;

typedef struct sc_check sc_check_t;

typedef struct sc_stats {
    uint64_t faults, steps, elections, proposals, fences, unfences, registrations, topics;
    uint64_t wipes, readds;
} sc_stats_t;

typedef struct sc {
    uint64_t seed;
    rn_sim_t *world;
    uint32_t voters_n, nodes_n, client_id;
    uint32_t snapshot_entries;
    sc_node_t nodes[SC_NODES_MAX + 1];
    sc_client_t client;
    rn_topic_config_base_t base;
    int64_t heal_at_ns, next_fault_ns, phase_deadline_ns;
    int phase;        /* 0 faults, 1 healed (dead broker down), 2 dead broker back, 3 done */
    uint32_t dead;    /* the broker kept down in phase 1 */
    uint32_t wiped;   /* the voter whose disk was wiped, until added back; 0: none */
    int wipe_removed; /* it has left the leader's configuration */
    char live_topic[SC_NAME_BYTES];
    sc_check_t *check;
    FILE *trace;
    int failed;
    char reason[SC_REASON_BYTES];
    sc_stats_t stats;
    uint8_t *buf;
    size_t buf_cap;
    rn_raft_entry_t *entries; /* decode scratch */
} sc_t;

/* simctl_run.c */
int sc_run(uint64_t seed, FILE *trace, sc_stats_t *stats, char *reason, size_t reason_cap,
           rn_sim_stats_t *world_stats);
void sc_fail(sc_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_trace(sc_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_send(sc_t *s, sc_node_t *from, uint32_t to, const sc_msg_t *m);
int64_t sc_local_ms(const sc_t *s, const sc_node_t *n);

/* simctl_node.c: the quorum and the active controller on a voter */
void sc_node_start(sc_t *s, sc_node_t *n);
void sc_node_stop(sc_t *s, sc_node_t *n);
void sc_node_tick(sc_t *s, sc_node_t *n);
void sc_node_raft(sc_t *s, sc_node_t *n, const uint8_t *data, size_t len);
void sc_node_request(sc_t *s, sc_node_t *n, uint32_t from, const sc_msg_t *m);
/* The data-folder id of node id's folder incarnation gen. */
const char *sc_node_dir(uint32_t id, uint32_t gen, char *out, size_t cap);
/* May this node plan now (it leads and has applied its whole log)? */
int sc_node_may_plan(const sc_node_t *n);

/* simctl_check.c */
sc_check_t *sc_check_create(void);
void sc_check_destroy(sc_check_t *c);
/* After any input of node n: checks the image it applied, if new. */
void sc_check_node(sc_t *s, sc_node_t *n);
void sc_check_forget(sc_node_t *n); /* the node crashed */
uint64_t sc_check_index_max(const sc_check_t *c);

#endif
