/*
 * admin.h: the admin HTTP port: Prometheus metrics and health endpoints.
 *
 * The server hands the admin layer what it reads (the node, the net
 * layer's shared counters, the ready flag) at start-up. The admin thread
 * only reads: relaxed loads of the cores' and partitions' counters, the
 * partition table (taken under the node's admin lock), and the group lag
 * (rn_group_lag_each, which asks every core and waits), and the loops'
 * liveness pulses (a mail each loop answers; io/loop_pulse.h). It never
 * writes broker state and never runs on a loop thread.
 */
#ifndef RN_ADMIN_ADMIN_H
#define RN_ADMIN_ADMIN_H

#include "base/err.h"
#include "cluster/node.h"
#include "net/net.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Per-partition series in one scrape: past this many partitions only the
   per-topic sums are exported (they still count every partition). */
#define RN_ADMIN_PARTITION_SERIES_MAX 10000
/* Consumer-lag series (group, topic, partition) in one scrape. */
#define RN_ADMIN_LAG_SERIES_MAX 10000
/* Connections the admin port serves at once; scrapers and probes are few. */
#define RN_ADMIN_CONNECTIONS_MAX 64
/* Seconds an idle admin connection is kept. */
#define RN_ADMIN_IDLE_S 30
/* A loop that leaves the liveness probe's pulse unanswered this long is
   stuck, and the process not live. Long on purpose: a loop may wait on a
   slow disk's fsync for seconds, and a restart would not make that disk
   faster. */
#define RN_ADMIN_LIVE_STALL_MS 60000

typedef struct rn_admin_sources {
    rn_node_t *node;
    rn_net_shared_t *net;
    /* True once recovery is done, metadata is loaded, the listener is up
       and the loops run; false again when a stop begins. */
    const atomic_bool *ready;
} rn_admin_sources_t;

typedef struct rn_admin rn_admin_t;

/* The /metrics text (Prometheus 0.0.4), malloc'd; NULL if out of memory
   or past RN_ADMIN_METRICS_BYTES_MAX. Admin thread only: it may block on
   the cores (group lag) and must never run on a loop. */
char *rn_admin_metrics_render(const rn_admin_sources_t *src, size_t *len);

/* Partitions offline after a storage error (partition.h), counted over
   the live partition table. Admin thread. */
uint64_t rn_admin_partitions_offline(rn_node_t *node);
/* Whether a ready broker cannot serve for a storage reason (its log
   directory refuses appends, or partitions are offline); if so the reason,
   one line, goes into buf. */
bool rn_admin_storage_failing(rn_node_t *node, char *buf, size_t cap);

/* Starts the HTTP server on host:port (port 0: any free port) with its own
   thread. `src` must outlive rn_admin_stop. */
rn_err_t rn_admin_start(const char *host, uint16_t port, const rn_admin_sources_t *src,
                        rn_admin_t **out);
/* The port bound (useful with port 0). */
uint16_t rn_admin_port(const rn_admin_t *admin);
/* Stops serving (waits for a request in progress) and frees everything. */
void rn_admin_stop(rn_admin_t *admin);

#endif
