/*
 * quorum_bootstrap.h: a dynamic metadata quorum (KIP-853), found through
 * controller.quorum.bootstrap.servers when controller.quorum.voters is
 * empty. The voter set lives only in the log (Raft configuration entries).
 *
 * What it does:
 * - asks every bootstrap server what it knows (Runnel's own probe request on
 *   the controller listener, RN_API_QUORUM_PROBE) and answers such probes:
 *   who the answering node is, whether its folder holds Raft state, whom it
 *   follows, and the members it knows (with their controller listeners, so
 *   every node learns where every member is);
 * - decides, for a controller whose folder held no Raft state at start,
 *   whether to form a new cluster, join the existing one or wait
 *   (rn_qb_decide, a pure function): only the node that is the first
 *   bootstrap server forms, and only when a majority of the servers answer
 *   and none of them has state or a leader; a folder with Raft state never
 *   forms again;
 * - forms: writes the first entry of a new log (a configuration naming this
 *   node the sole voter, term 1) into the empty store (rn_qb_form_store);
 * - joins (controller.quorum.auto.join.enable): asks the leader with
 *   AddRaftVoter to add this node (a learner first, promoted once caught
 *   up); when the log still names this node a voter speaking from another
 *   data folder (its disk was replaced), it first removes that voter with
 *   RemoveRaftVoter, as Kafka's auto-join does.
 *
 * What it owns: one outbound client per bootstrap server, their last
 * answers, and the join call in flight. Runs on the metadata loop only.
 *
 * What it must never do: form a cluster from a folder with Raft state, or
 * from any node but the first bootstrap server; trust an answer older than
 * RN_QB_ANSWER_FRESH_MS; block the loop.
 *
 * Probe request body (after a request header v1, key RN_API_QUORUM_PROBE,
 * version 0):
 *
 *   offset size  field
 *   0      1     format = 1
 *   1      4     the asking node's id
 *
 * Probe response body (after a response header v0):
 *
 *   0      1     format = 1
 *   1      4     node id of the answering node
 *   5      1     flags: 1 = its folder holds Raft state
 *   6      8     its Raft term
 *   14     4     the leader it knows (node id), -1: none
 *   18     2+n   cluster id the log records (int16 length; 0: none yet)
 *   ...    2     member count (at most RN_QB_MEMBERS_MAX), then each:
 *                  4    node id
 *                  1    role: 1 voter, 2 learner, 0 only a known address
 *                  2+n  data folder id the log records ("" unknown)
 *                  2+n  controller listener host ("" unknown)
 *                  2    port
 */
#ifndef RN_CLUSTER_QUORUM_BOOTSTRAP_H
#define RN_CLUSTER_QUORUM_BOOTSTRAP_H

#include "base/limits.h"
#include "base/log_limit.h"
#include "io/io.h"
#include "io/loop.h"
#include "net/client.h"
#include "net/request.h"
#include "proto/wire.h"
#include "raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

#define RN_API_QUORUM_PROBE 32002
#define RN_QB_FORMAT 1
#define RN_QB_ID_BYTES 32 /* a cluster or directory id as text, NUL included */

typedef struct rn_md_rt rn_md_rt_t;

/* ---- the decision (pure) ---- */

/* What one bootstrap server said (answered false: nothing current). */
typedef struct rn_qb_seen {
    bool answered;
    int32_t node_id;
    bool has_state;
    int32_t leader_id; /* -1: none */
} rn_qb_seen_t;

typedef struct rn_qb_view {
    int32_t self_id;
    bool has_state;              /* this node's folder held Raft state at start */
    const rn_qb_seen_t *servers; /* in controller.quorum.bootstrap.servers order */
    int server_count;
    bool wait_over; /* RN_QB_FORM_WAIT_MS passed since the first probe */
} rn_qb_view_t;

typedef enum rn_qb_decision {
    RN_QB_WAIT = 0, /* ask again later */
    RN_QB_FOLLOW,   /* this folder's log decides: never bootstrap */
    RN_QB_FORM,     /* start a new cluster, this node its sole voter */
    RN_QB_JOIN,     /* a quorum exists with a leader: join it */
} rn_qb_decision_t;

/* Why a WAIT, for the log line. */
typedef enum rn_qb_why {
    RN_QB_WHY_NONE = 0,
    RN_QB_WHY_NOT_FIRST,   /* only the first bootstrap server forms a cluster */
    RN_QB_WHY_NO_MAJORITY, /* too few servers answer to know none has a cluster */
    RN_QB_WHY_NO_LEADER,   /* a server has state but knows no leader yet */
    RN_QB_WHY_ANSWERS,     /* the first server waits for every answer, for a bound */
} rn_qb_why_t;

/* What a node does from what the bootstrap servers say; *server gets the
   index of a server that names the leader (JOIN: the leader itself when it
   is one of them), *why the reason of a WAIT. */
rn_qb_decision_t rn_qb_decide(const rn_qb_view_t *view, int *server, rn_qb_why_t *why);
const char *rn_qb_why_text(rn_qb_why_t why);

/* ---- the probe's answer ---- */

typedef struct rn_qb_member {
    int32_t node_id;
    uint8_t role; /* 1 voter, 2 learner, 0 only an address */
    char dir[RN_QB_ID_BYTES];
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_qb_member_t;

typedef struct rn_qb_answer {
    int32_t node_id;
    bool has_state;
    uint64_t term;
    int32_t leader_id;
    char cluster_id[RN_QB_ID_BYTES];
    int32_t member_count;
    rn_qb_member_t members[RN_QB_MEMBERS_MAX];
} rn_qb_answer_t;

#define RN_QB_ROLE_PEER 0
#define RN_QB_ROLE_VOTER 1
#define RN_QB_ROLE_LEARNER 2

void rn_qb_answer_encode(rn_writer_t *w, const rn_qb_answer_t *ans);
/* RN_ERR_CORRUPT for bytes that are not an answer. */
rn_err_t rn_qb_answer_decode(const uint8_t *body, size_t len, rn_qb_answer_t *ans);
/* The member with node id, or NULL. */
const rn_qb_member_t *rn_qb_answer_member(const rn_qb_answer_t *ans, int32_t node_id);

/* ---- the runtime ---- */

typedef struct rn_qb_server {
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    rn_client_t client;
    bool client_ready;
    bool inflight;
    int64_t next_probe_ms;
    int64_t sent_ms;     /* the probe in flight, or the last answered one */
    int64_t answered_ms; /* -1: never */
    int64_t learned_ms;  /* the answer whose members were learned */
    rn_qb_answer_t answer;
} rn_qb_server_t;

typedef enum rn_qb_phase {
    RN_QB_PHASE_OFF = 0,  /* a static quorum, or the single node */
    RN_QB_PHASE_DECIDING, /* an empty controller: form, join or wait */
    RN_QB_PHASE_JOINING,  /* a controller asking to become a voter */
    RN_QB_PHASE_SETTLED,  /* a voter, or a member that does not join */
} rn_qb_phase_t;

typedef struct rn_qb_endpoint {
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_qb_endpoint_t;

typedef struct rn_qb_opts {
    int32_t node_id;
    bool controller; /* may form or join the quorum as a voter */
    bool auto_join;  /* controller.quorum.auto.join.enable */
    /* A voter of a static quorum (controller.quorum.voters, the servers
       here) on an empty folder: it never decides or forms, it only
       replaces its entry of a former folder, if the log holds one. */
    bool rejoin_only;
    rn_qb_endpoint_t servers[RN_CONFIG_QUORUM_BOOTSTRAP_MAX];
    int server_count;
    /* This node's controller listener (to be added as a voter with, when
       no bootstrap server turns out to be this node). */
    char listener_name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    rn_qb_endpoint_t listener;
    const char *directory_id; /* borrowed: this data folder's id */
} rn_qb_opts_t;

typedef struct rn_qb {
    rn_qb_opts_t opts;
    rn_loop_t *loop;
    rn_qb_phase_t phase;
    bool had_state;     /* the folder held Raft state at start */
    int64_t started_ms; /* -1 until the first tick */
    rn_qb_server_t servers[RN_CONFIG_QUORUM_BOOTSTRAP_MAX];
    rn_client_t join_client; /* AddRaftVoter / RemoveRaftVoter: apart from the
                                probes, which must not wait behind them */
    bool join_ready;
    bool join_inflight;
    int64_t join_next_ms;
    int64_t join_done_ms; /* answers probed before this do not count for joining */
    rn_log_limit_t wait_limit;
    rn_log_limit_t join_limit;
} rn_qb_t;

/* Sets up the clients (nothing is sent before the first tick). phase:
   DECIDING for a controller whose folder held no Raft state, else JOINING
   (a controller with auto-join, which checks it is a voter) or SETTLED. */
rn_err_t rn_qb_init(rn_qb_t *qb, rn_loop_t *loop, const rn_qb_opts_t *opts, bool has_state);
void rn_qb_close(rn_qb_t *qb);
/* At every tick of the metadata loop: probes, learns members' addresses,
   and forms, joins or waits. */
void rn_qb_tick(rn_qb_t *qb, rn_md_rt_t *rt);
/* The leader a current answer names (a Raft id; RN_RAFT_ID_NONE: none). */
rn_raft_id_t rn_qb_leader(const rn_qb_t *qb, int64_t now_ms);
/* This node's controller listener as the others reach it: the bootstrap
   server that answered with this node's id, else the listener itself. */
const rn_qb_endpoint_t *rn_qb_own_endpoint(const rn_qb_t *qb);
/* Answers one probe (on the metadata loop). */
void rn_qb_serve(rn_md_rt_t *rt, rn_req_t *req);

/* Writes the first entry of a new log into the empty Raft store of
   metadata_dir (the __cluster_metadata-0 folder): a configuration whose sole
   voter is self, at index 1 of term 1. RN_ERR_INVALID when the store is
   not empty. */
rn_err_t rn_qb_form_store(rn_io_t *io, const char *metadata_dir, rn_raft_id_t self);

#endif
