/*
 * quorum_admin.h: changes to and views of the quorum itself, run as
 * stepping admin operations (RN_ADMIN_CALL, metadata_rt.h) on the active
 * controller: adding a voter (as a learner, promoted once caught up),
 * removing one, and the quorum's state as DescribeQuorum reports it.
 *
 * Node ids are Kafka's; Raft ids are node ids plus one.
 */
#ifndef RN_CLUSTER_QUORUM_ADMIN_H
#define RN_CLUSTER_QUORUM_ADMIN_H

#include "cluster/metadata_rt.h"
#include "proto/wire.h"

/* items of an add or remove: the voter, and for an add where to reach it
   and the data folder it speaks from ("": not known). */
typedef struct rn_voter_change {
    int32_t node_id;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    char dir[RN_QUORUM_DIR_BYTES];
} rn_voter_change_t;

/* One member as DescribeQuorum shows it. */
typedef struct rn_quorum_replica {
    int32_t node_id;
    rn_uuid_t directory_id; /* zero when not known */
    int64_t log_end;        /* Raft index; -1 unknown */
    int64_t last_fetch_ms;  /* -1 unknown */
    int64_t last_caught_up_ms;
    /* Its controller listener ("" when not known): DescribeQuorum v2's nodes. */
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_quorum_replica_t;

/* results of a describe. */
typedef struct rn_quorum_status {
    rn_ctl_result_t result; /* first, as every RN_ADMIN_CALL's */
    int32_t leader_id;
    int32_t leader_epoch;
    int64_t high_watermark;
    int32_t voter_count;
    int32_t observer_count;
    rn_quorum_replica_t voters[RN_RAFT_NODES_MAX];
    rn_quorum_replica_t observers[RN_RAFT_NODES_MAX];
} rn_quorum_status_t;

/* The steps: op->items is one rn_voter_change_t, op->results one
   rn_ctl_result_t; for describe, op->results is an rn_quorum_status_t. */
bool rn_quorum_admin_add_voter(rn_md_rt_t *rt, rn_admin_op_t *op);
bool rn_quorum_admin_remove_voter(rn_md_rt_t *rt, rn_admin_op_t *op);
bool rn_quorum_admin_describe(rn_md_rt_t *rt, rn_admin_op_t *op);

#endif
