/*
 * balancer_rt.h: the balancer on the active controller: every
 * balancer.interval.ms it reads the applied image, asks the planner
 * (metadata/balance_plan.h) for moves, and records them as
 * reassignments (metadata/controller_reassign.h), which the copying and
 * the completion pass carry out. Each pass first elects the preferred
 * leaders where they may lead (when auto.leader.rebalance.enable), so the
 * replicas the planner reorders, and a broker that came back, lead. One plan at a time, as a
 * stepping admin operation of the metadata runtime, so it runs only while this node leads and has
 * applied its whole log, and stops with the leadership.
 *
 * Absence: a broker fenced for balancer.absent.timeout.ms while this node
 * is the active controller (a new one starts the count afresh), or an id
 * replicas name that no registration holds, is absent: the planner
 * rebuilds its replicas on the others. When it registers again it is no
 * longer absent and the planner fills it again.
 *
 * Owns its timer, its op and the arrays of the plan in flight. Metadata
 * loop only.
 */
#ifndef RN_CLUSTER_BALANCER_RT_H
#define RN_CLUSTER_BALANCER_RT_H

#include "cluster/metadata_rt.h"
#include "metadata/balance_plan.h"

typedef struct rn_bal_rt_opts {
    int64_t interval_ms;      /* balancer.interval.ms; 0: off (balancer.enable=false) */
    int64_t absent_ms;        /* balancer.absent.timeout.ms */
    int32_t moves_per_broker; /* balancer.moves.per.broker.max */
    bool elect; /* auto.leader.rebalance.enable: preferred leaders elected at each pass */
} rn_bal_rt_opts_t;

/* What the last plan said, for /metrics and the CLI (any thread reads it
   with the atomics of rn_bal_rt_status). */
typedef struct rn_bal_status {
    int64_t plans, moves, leader_moves, bytes_planned;
    int64_t moving_now; /* partitions with a reassignment in progress at the last plan */
    int32_t idle;       /* rn_bal_idle_t of the last plan */
    int32_t hard_left;  /* hard-goal violations the last plan left */
} rn_bal_status_t;

typedef struct rn_bal_rt rn_bal_rt_t;

/* Starts the balancer on rt's metadata loop. NULL when opts turn it off. */
rn_bal_rt_t *rn_bal_rt_start(rn_md_rt_t *rt, const rn_bal_rt_opts_t *opts);
/* Stops it (the runtime's loop has stopped). */
void rn_bal_rt_free(rn_bal_rt_t *b);
/* The last plan's figures. Any thread. */
void rn_bal_rt_status(const rn_bal_rt_t *b, rn_bal_status_t *out);

#endif
