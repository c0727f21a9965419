/*
 * broker.h: wiring a broker from its configuration: the node, one event
 * loop and network layer per core, the listener, the metadata and the
 * partitions; then running until asked to stop, and stopping cleanly
 * (every log synced and checkpointed so the next start skips recovery).
 * The admin HTTP port opens before recovery (so liveness answers during a
 * long one) and reports ready only once the broker serves.
 */
#ifndef RN_SERVER_BROKER_H
#define RN_SERVER_BROKER_H

#include "admin/admin.h"
#include "cluster/node.h"
#include "net/net.h"
#include "server/config.h"
#include "server/identity.h"
#include "server/signals.h"

typedef struct rn_broker {
    rn_node_t node;
    rn_net_shared_t net_shared;
    rn_net_t *nets;
    const rn_config_t *cfg;
    rn_identity_t identity; /* meta.properties as read or written */
    uint16_t port_bound;
    bool loops_started;            /* a broker-only node starts them before it registers */
    struct rn_broker_drain *drain; /* one per core, at shutdown */
    atomic_int cores_drained;      /* cores that have run their drain mail */
    /* The admin HTTP port (NULL when admin.listener is none) and what it
       reads; `ready` is set once the loops serve the recovered partitions. */
    rn_admin_t *admin;
    rn_admin_sources_t admin_sources;
    atomic_bool ready;
    struct rn_lifecycle *lifecycle; /* registration and heartbeats (cluster/lifecycle.h) */
} rn_broker_t;

rn_err_t rn_broker_start(rn_broker_t *broker, rn_io_t *io, const rn_config_t *cfg);
/* Serves until the first stop signal (server/signals.h), then stops
   everything in order. */
void rn_broker_run_until_signal(rn_broker_t *broker, rn_signals_t *signals);

#endif
