/*
 * membership.h: the active controller's side of broker membership: what a
 * BrokerRegistration or BrokerHeartbeat turns into, and which broker to
 * fence because its heartbeat lease expired.
 *
 * What it does: keeps the heartbeat leases (metadata/controller.h), started
 * afresh for every broker each time this node becomes the active controller
 * (as KRaft does, so a failover fences nobody), and plans, against the
 * applied image, one decision per batch: register (a new registration is
 * fenced), unfence once the broker has applied the metadata up to its own
 * registration, fence on request or on an expired lease. Answers carry
 * Kafka's error codes and messages.
 *
 * What it owns: the leases. Runs on the metadata loop only, and only while
 * this node leads and has applied its whole log (the runtime plans then).
 *
 * What it must never do: read a clock (time comes in), plan a second
 * decision on an image that has not applied the first.
 */
#ifndef RN_CLUSTER_MEMBERSHIP_H
#define RN_CLUSTER_MEMBERSHIP_H

#include "metadata/controller.h"

#include <stdbool.h>
#include <stdint.h>

/* A BrokerRegistration, as the controller needs it. */
typedef struct rn_mbr_register {
    rn_ctl_broker_reg_t reg;
    /* PreviousBrokerEpoch: the epoch of the last registration the broker's
       data folder recorded (-1: none). The live registration's own epoch
       means the same folder, so the same node, registering again. */
    int64_t previous_epoch;
} rn_mbr_register_t;

/* A BrokerHeartbeat, as the controller needs it. */
typedef struct rn_mbr_heartbeat {
    int32_t broker_id;
    int64_t broker_epoch;
    int64_t metadata_offset; /* the offset of the last record it applied */
    bool want_fence;
} rn_mbr_heartbeat_t;

/* The answer to a registration or a heartbeat (an admin op's result). */
typedef struct rn_mbr_result {
    rn_ctl_result_t result; /* first: the runtime fails ops through it */
    int64_t broker_epoch;   /* registration: the epoch given, else -1 */
    bool fenced;            /* heartbeat: fenced once this batch is applied */
    bool caught_up;         /* heartbeat: applied up to its registration */
} rn_mbr_result_t;

/* A broker's connections to this node, as they come and go. */
typedef struct rn_mbr_link {
    int32_t broker_id;
    int32_t open;    /* connections open now that it proved to be its */
    int64_t gone_ms; /* when the last of them closed (-1: one is open) */
} rn_mbr_link_t;

typedef struct rn_mbr {
    rn_ctl_leases_t leases;
    /* Kept across terms: a node that becomes the active controller knows
       which brokers' connections to it closed before (the leader it
       replaces, whose process died). */
    rn_mbr_link_t links[RN_CTL_BROKERS_MAX]; /* sorted by broker id */
    int32_t link_count;
    uint64_t term;      /* the Raft term the leases were started in (0: none) */
    int32_t self_id;    /* this node's broker id: its own old registration is never live */
    int64_t session_ms; /* broker.session.timeout.ms */
} rn_mbr_t;

void rn_mbr_init(rn_mbr_t *mbr, int32_t self_id, int64_t session_ms);
/* Before planning in `term`: a new term starts every lease afresh. */
void rn_mbr_lead(rn_mbr_t *mbr, const rn_image_t *img, uint64_t term, int64_t now_ms);
/* A registration: records into batch (none when nothing changes), res.
   Another incarnation's registration whose lease is live is replaced at
   once when the broker is fenced, is this node's own, or names its epoch
   as previous_epoch (the same data folder: its process is gone); otherwise
   the answer is DUPLICATE_BROKER_REGISTRATION, at once. */
void rn_mbr_plan_register(rn_mbr_t *mbr, const rn_image_t *img, const rn_mbr_register_t *reg,
                          int64_t now_ms, rn_md_batch_t *batch, rn_mbr_result_t *res);
/* A heartbeat: touches the lease; unfences a caught-up broker, fences one
   that asks to be. */
void rn_mbr_plan_heartbeat(rn_mbr_t *mbr, const rn_image_t *img, const rn_mbr_heartbeat_t *hb,
                           int64_t now_ms, rn_md_batch_t *batch, rn_mbr_result_t *res);
/* A connection from broker_id (it proved who it is by a Raft message)
   opened here, or one closed at now_ms. A broker whose connections all
   closed and none came back is gone: its process most likely died (the
   kernel closes a dead process's sockets), while a live broker opens a new
   one within a Raft heartbeat. */
void rn_mbr_link_up(rn_mbr_t *mbr, int32_t broker_id);
void rn_mbr_link_down(rn_mbr_t *mbr, int32_t broker_id, int64_t now_ms);
/* The first unfenced broker whose lease expired, or that has been gone for
   RN_MBR_GONE_FENCE_MS (*gone set then), or -1; never this node's own
   broker, which lives in the same process as the controller. A broker cut
   off without a close (a network partition, a paused process) is fenced
   only when its lease expires. */
int32_t rn_mbr_expired(const rn_mbr_t *mbr, const rn_image_t *img, int64_t now_ms, bool *gone);
/* Fences broker_id (its lease expired): records into batch. */
rn_err_t rn_mbr_plan_fence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch);

#endif
