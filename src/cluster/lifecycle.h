/*
 * lifecycle.h: the broker side of cluster membership: this node registers
 * with the active controller, heartbeats, and asks to be fenced when it
 * stops.
 *
 * What it does: after the metadata runtime is up, sends a
 * BrokerRegistration (broker id, cluster id, an incarnation id drawn at
 * every start, the advertised listeners, rack, the metadata.version range)
 * and then a BrokerHeartbeat every broker.heartbeat.interval.ms with the
 * broker epoch it was given and the offset of the last metadata record it
 * applied (more often while fenced, so it is unfenced as soon as it has
 * caught up). Both travel as admin ops of the metadata runtime: run on the
 * spot where this node is the active controller, otherwise sent as encoded
 * requests over the outbound client to the active controller's controller
 * listener (the runtime forwards them to whichever node leads now, so a
 * controller change re-targets them). An error is retried after a backoff
 * (Kafka's reconnect backoff, 50 ms doubling to 1 s); STALE_BROKER_EPOCH
 * (the controller does not know this registration) registers again;
 * DUPLICATE_BROKER_REGISTRATION at start (another live incarnation holds
 * this id, not from this data folder) ends the start at once
 * (docs/CLUSTER.md). The broker epoch it holds is published in
 * rn_node_t.broker_epoch (-1 while not registered), which a partition
 * leader's AlterPartition carries.
 *
 * What it owns: its state, requests and timer, all on the metadata loop.
 *
 * What it must never do: block the metadata loop; run after
 * rn_lifecycle_stop has returned.
 */
#ifndef RN_CLUSTER_LIFECYCLE_H
#define RN_CLUSTER_LIFECYCLE_H

#include "cluster/node.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_lifecycle rn_lifecycle_t;

typedef struct rn_lifecycle_listener {
    char name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    int16_t security_protocol; /* RN_MD_PROTOCOL_* */
} rn_lifecycle_listener_t;

typedef struct rn_lifecycle_opts {
    int32_t broker_id;
    rn_lifecycle_listener_t listeners[RN_BROKER_ENDPOINTS_MAX];
    int16_t listener_count;
    const char *rack; /* copied; NULL: none */
    int64_t heartbeat_interval_ms;
    /* Start returns only once this node is registered and unfenced, so
       the node's internal topics find a usable broker and clients find it
       listed (bounded by RN_LIFECYCLE_START_WAIT_MS). */
    bool wait_unfenced;
    /* Stop asks the controller to fence this node first, so its
       leaderships move before it goes (a cluster). */
    bool fence_on_stop;
    /* The epoch of the last registration this node's data folder recorded
       (-1: none), sent as PreviousBrokerEpoch: the controller then knows a
       live registration of this id as this folder's. previous_pending: one
       was under way when the last run ended, so the live registration may
       be this folder's though the controller cannot tell. */
    int64_t previous_epoch;
    bool previous_pending;
    /* Records the folder's registration: before one is sent (pending) and
       once it is accepted or refused. Metadata loop; NULL: none. */
    void (*record)(void *ctx, int64_t epoch, bool pending);
    void *record_ctx;
    /* broker.session.timeout.ms: how long the registration of a process
       that died can stay live. */
    int64_t session_timeout_ms;
} rn_lifecycle_opts_t;

/* Starts registering on the metadata runtime's loop (node->md_rt).
   RN_ERR_EXISTS: the controller answered DUPLICATE_BROKER_REGISTRATION
   (another incarnation holds this id with a live lease, and it is not this
   folder's registration), so another process runs this node id; logged
   with what to do. Past a registration cut short by the last run's end it
   first waits for that lease to run out. Stop and free it all the same. */
rn_err_t rn_lifecycle_start(rn_node_t *node, const rn_lifecycle_opts_t *opts, rn_lifecycle_t **out);
/* Stops heartbeating (first asking to be fenced when fence_on_stop), waiting
   at most RN_LIFECYCLE_STOP_WAIT_MS; call before the metadata runtime stops. */
void rn_lifecycle_stop(rn_lifecycle_t *lc);
/* Frees it; only once the metadata runtime has stopped. */
void rn_lifecycle_free(rn_lifecycle_t *lc);

/* From any thread: it has been registered and unfenced since start. */
bool rn_lifecycle_unfenced(rn_lifecycle_t *lc);

#endif
