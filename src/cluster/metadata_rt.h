/*
 * metadata_rt.h: the node's metadata runtime: the quorum (metadata/quorum.h)
 * on a thread and loop of its own, and the admin operations that change
 * metadata through it.
 *
 * Why a thread of its own: committing metadata means writing and syncing the
 * Raft log and waiting for other voters; none of that may hold up a core
 * serving produce and fetch. Cores submit an operation by mail and get it
 * back by mail once its records are committed and applied (or refused).
 *
 * What it owns: the quorum, its loop and thread, the queue of operations.
 * Operations are validated and planned one at a time against the applied
 * image, and only once this node leads and has applied its whole log, so a
 * plan never races a committed change it has not seen.
 *
 * What it must never do: touch a partition (the reconciliation it triggers
 * does, under the node's admin lock) or block on a core.
 */
#ifndef RN_CLUSTER_METADATA_RT_H
#define RN_CLUSTER_METADATA_RT_H

#include "cluster/membership.h"
#include "cluster/node.h"
#include "cluster/quorum_bootstrap.h"
#include "metadata/controller.h"
#include "metadata/controller_reassign.h"
#include "metadata/quorum.h"
#include "net/request.h"

#include <stdbool.h>

typedef enum rn_admin_kind {
    RN_ADMIN_CREATE_TOPICS = 0, /* items: rn_ctl_new_topic_t, results: rn_ctl_topic_result_t */
    RN_ADMIN_DELETE_TOPICS,     /* items: rn_ctl_delete_topic_t, results: rn_ctl_topic_result_t */
    RN_ADMIN_CREATE_PARTITIONS, /* items: rn_ctl_new_partitions_t, results: rn_ctl_result_t */
    RN_ADMIN_ALTER_CONFIGS,     /* items: rn_ctl_alter_resource_t, results: rn_ctl_result_t */
    /* op->step runs on the metadata loop while this node leads (see
       rn_admin_step_fn); results start with an rn_ctl_result_t, count 1. */
    RN_ADMIN_CALL,
    /* Broker membership (cluster/membership.h), one item each: */
    RN_ADMIN_REGISTER_BROKER,       /* items: rn_mbr_register_t, results: rn_mbr_result_t */
    RN_ADMIN_BROKER_HEARTBEAT,      /* items: rn_mbr_heartbeat_t, results: rn_mbr_result_t */
    RN_ADMIN_FENCE_BROKER,          /* the runtime's own, on an expired lease: int32_t id */
    RN_ADMIN_ALLOCATE_PRODUCER_IDS, /* items: rn_ctl_pid_request_t, results: rn_ctl_pid_block_t */
    /* A partition leader's ISR changes (AlterPartition), count 1: items one
       rn_ctl_isr_request_t, results one rn_ctl_isr_reply_t sized for its
       changes (rn_ctl_isr_reply_bytes), read from the image once applied. */
    RN_ADMIN_ALTER_PARTITION,
    /* Leader elections (ElectLeaders, and the active controller's own
       automatic passes), count 1: items one rn_ctl_elect_request_t,
       results one rn_ctl_elect_reply_t, whose lists the done callback
       frees (rn_ctl_elect_reply_free). */
    RN_ADMIN_ELECT_LEADERS,
    /* Partition reassignments (AlterPartitionReassignments, and the active
       controller's own pass completing those in sync), count 1: items one
       rn_ctl_reassign_request_t, results one rn_ctl_reassign_reply_t. */
    RN_ADMIN_REASSIGN,
} rn_admin_kind_t;

typedef struct rn_admin_op rn_admin_op_t;
typedef struct rn_md_rt rn_md_rt_t;
typedef void (*rn_admin_done_fn)(rn_admin_op_t *op);
/* An RN_ADMIN_CALL's work: runs when the op's turn comes (this node leads
   and has applied its whole log) and again at every tick while it returns
   false; returns true once it filled its results. The runtime answers
   NOT_CONTROLLER if leadership is lost meanwhile and REQUEST_TIMED_OUT past
   the deadline. Metadata loop only. */
typedef bool (*rn_admin_step_fn)(struct rn_md_rt *rt, rn_admin_op_t *op);

/*
 * One admin operation. The submitter owns the struct, the items and the
 * results array, all of which must live until done runs. done runs exactly
 * once, on reply_loop's thread (or, when reply_loop is NULL, on the metadata
 * thread: only for waiters that are not loops).
 */
struct rn_admin_op {
    rn_mail_t mail; /* private: carries the op there and back */
    rn_admin_kind_t kind;
    bool validate_only;
    bool incremental; /* ALTER_CONFIGS: IncrementalAlterConfigs */
    const void *items;
    int32_t count;
    void *results;
    rn_loop_t *reply_loop;
    rn_admin_done_fn done;
    void *ctx;
    rn_admin_step_fn step;  /* RN_ADMIN_CALL only */
    uint64_t step_state[4]; /* RN_ADMIN_CALL: the step's own progress */
    /* The request as the client sent it, so a node that does not lead can
       forward it to the one that does (api_key 0 and an empty body: it
       cannot be forwarded); no_forward: it was forwarded here already. */
    int16_t api_key;
    int16_t api_version;
    rn_slice_t raw;
    bool no_forward;
    /* Set when it was forwarded: the leader's response body (malloc'd; the
       done callback relays and frees it). results are not filled then. */
    uint8_t *forwarded;
    size_t forwarded_len;
    /* private */
    struct rn_md_rt *rt;
    rn_admin_op_t *next;
    uint64_t index, term;
    int64_t deadline_ms;
};

typedef struct rn_md_rt rn_md_rt_t;

/* A voter's controller listener. */
typedef struct rn_md_voter {
    rn_raft_id_t id;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_md_voter_t;

/* Requests on the controller listener other than Raft messages (ApiVersions,
   DescribeQuorum, broker registration and heartbeats), run on the metadata
   loop; the server layer hands the handlers' one in at start. */
typedef void (*rn_md_request_fn)(void *core, rn_req_t *req);

typedef struct rn_md_rt_opts {
    rn_raft_id_t node_id;
    rn_raft_config_t boot; /* voters of a new quorum */
    /* controller.quorum.voters with their addresses; none: a sole voter. */
    rn_md_voter_t voters[RN_RAFT_NODES_MAX];
    int voter_count;
    /* The controller listener to open (port 0: none, the single node). */
    char listen_host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t listen_port;
    char listener_name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    rn_md_request_fn on_request;
    /* Called on the metadata loop when this node takes the cluster id the
       log records (its own was provisional: a new folder of a new cluster
       member); the server layer writes it to meta.properties. */
    void (*on_cluster_id)(void *ctx, const char *cluster_id);
    void *hook_ctx;
    /* A dynamic quorum (controller.quorum.bootstrap.servers with no
       voters): boot is empty, the voter set comes from the log, and the
       node finds, forms or joins the quorum through the bootstrap servers
       (cluster/quorum_bootstrap.h). */
    bool dynamic;
    rn_qb_opts_t bootstrap;
    int64_t election_timeout_ms;
    int64_t request_timeout_ms; /* an operation not committed by then fails */
    /* broker.session.timeout.ms: the active controller fences a broker
       whose last heartbeat is older (0: the default). */
    int64_t broker_session_timeout_ms;
    /* Automatic leader elections on the active controller: every
       leader_imbalance_check_ms (leader.imbalance.check.interval.seconds;
       0: never, as auto.leader.rebalance.enable=false) the preferred-leader
       election of the brokers past leader_imbalance_percentage
       (leader.imbalance.per.broker.percentage); every unclean_check_ms
       (unclean.leader.election.interval.ms; 0: never) an unclean election
       for each leaderless partition whose topic allows one. */
    int64_t leader_imbalance_check_ms;
    int32_t leader_imbalance_percentage;
    int64_t unclean_check_ms;
} rn_md_rt_opts_t;

/* Opens the quorum and the controller on top of it and starts the thread;
   returns once this node has applied every committed record it can learn
   of (a sole voter: at once), so partitions open from a current image. */
rn_err_t rn_md_rt_start(rn_node_t *node, const rn_md_rt_opts_t *opts, rn_md_rt_t **out);
/* Stops the thread; operations still queued fail. */
void rn_md_rt_stop(rn_md_rt_t *rt);

/* From any thread. */
void rn_md_rt_submit(rn_md_rt_t *rt, rn_admin_op_t *op);
/* Submits and waits; never from a loop thread. */
void rn_md_rt_run(rn_md_rt_t *rt, rn_admin_op_t *op);

/* A Raft message (RN_API_RAFT_MESSAGE) on the broker listener of a
   broker-only node, which has no controller listener: the body is copied
   to the metadata loop and stepped there; no response. From a core. */
void rn_md_rt_raft_from_broker(rn_md_rt_t *rt, rn_req_t *req);

/* For the controller listener's handlers, on the metadata loop. */
/* The runtime whose controller listener core is (its handlers' core; it
   serves before node->md_rt is set, while start waits to catch up). */
rn_md_rt_t *rn_md_rt_of_core(rn_core_t *core);
rn_quorum_t *rn_md_rt_quorum(rn_md_rt_t *rt);
rn_node_t *rn_md_rt_node(rn_md_rt_t *rt);
rn_loop_t *rn_md_rt_loop(rn_md_rt_t *rt);
/* The wall-clock ms of member id's last answer to an append (-1: none). */
int64_t rn_md_rt_last_ack_ms(const rn_md_rt_t *rt, rn_raft_id_t id);
/* Reaches member id at host:port from now on (a voter being added). */
rn_err_t rn_md_rt_peer_set(rn_md_rt_t *rt, rn_raft_id_t id, const char *host, uint16_t port);
/* Where voter id (a Raft id) is reached, from controller.quorum.voters or
   an added voter; NULL when not known. Any thread (set at start). */
const rn_md_voter_t *rn_md_rt_voter(const rn_md_rt_t *rt, rn_raft_id_t id);
/* Where member id's controller listener is reached: controller.quorum.voters,
   else what the transport knows (an added voter, a dynamic quorum's
   member), else this node's own listener. false when not known. Metadata
   loop only. */
bool rn_md_rt_endpoint(rn_md_rt_t *rt, rn_raft_id_t id, char *host, size_t host_cap,
                       uint16_t *port);
/* Logs (rate limited) a registration or heartbeat refused with code. */
void rn_md_rt_member_refused(rn_md_rt_t *rt, const char *what, int32_t broker_id, int16_t code,
                             const char *message);
/* The name of the controller listener, for what DescribeQuorum shows. */
const char *rn_md_rt_listener_name(const rn_md_rt_t *rt);
/* The controller listener's bound port (0: none). */
uint16_t rn_md_rt_port(const rn_md_rt_t *rt);
/* The metadata loop's pulse, for the liveness probe. */
rn_loop_pulse_t *rn_md_rt_pulse(rn_md_rt_t *rt);
/* The cluster id brokers must register with: the one the log records
   ("" until this node has settled it). */
const char *rn_md_rt_cluster_id(const rn_md_rt_t *rt);
/* The Raft transport (its peers: where members are reached). Metadata
   loop only. */
struct rn_qt *rn_md_rt_transport(rn_md_rt_t *rt);
/* A dynamic quorum's first node starts a new log whose sole voter it is
   (quorum_bootstrap.c decided so) and campaigns; RN_ERR_INVALID, changing
   nothing, when its folder holds Raft state. Metadata loop only. */
rn_err_t rn_md_rt_form(rn_md_rt_t *rt);

#endif
