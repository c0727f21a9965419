/*
 * producer_ids.h: producer ids for InitProducerId, unique in the cluster.
 *
 * Each core hands out the ids of a block of its own; a new block comes from
 * the active controller, which records how far blocks have gone in the
 * metadata log (a ProducerIdsRecord, as Kafka's AllocateProducerIds), so no
 * two brokers, and no restart, ever hand out one id twice. A node that does
 * not lead asks the active controller with AllocateProducerIds. While a
 * core waits for a block, the InitProducerId requests it cannot answer wait
 * with it, in arrival order.
 *
 * The ids a release before the log handed out were kept in a `producer_ids`
 * file in the log folder; the blocks this node asks for start above it.
 *
 * What it owns: each core's block state (rn_pid_core_t), on that core only.
 */
#ifndef RN_CLUSTER_PRODUCER_IDS_H
#define RN_CLUSTER_PRODUCER_IDS_H

#include "base/buf.h"
#include "cluster/metadata_rt.h"
#include "cluster/node.h"

typedef struct rn_pid_waiter rn_pid_waiter_t;
/* The id (>= 0), or -1 with the Kafka error code. On the waiter's core. */
typedef void (*rn_pid_ready_fn)(rn_pid_waiter_t *w, int64_t producer_id, int16_t error_code);

struct rn_pid_waiter {
    rn_pid_waiter_t *next;
    rn_pid_ready_fn ready;
};

typedef struct rn_pid_core {
    rn_core_t *core;
    int64_t next, end; /* the block's ids left: [next, end) */
    rn_pid_waiter_t *head, *tail;
    bool asking; /* op in flight */
    rn_admin_op_t op;
    rn_ctl_pid_request_t request;
    rn_ctl_pid_block_t block;
    rn_buf_t raw; /* the AllocateProducerIds to forward */
} rn_pid_core_t;

/* The floor a release before the metadata log left in its file (0: none);
   at start, before the cores serve. */
rn_err_t rn_producer_ids_load_floor(rn_node_t *node);
/* Hands w an id now, or once the core has a new block. On core's loop. */
void rn_producer_ids_take(rn_core_t *core, rn_pid_waiter_t *w);
/* Frees a core's state; the core's loop and the metadata runtime have
   stopped. */
void rn_producer_ids_core_free(rn_core_t *core);

#endif
