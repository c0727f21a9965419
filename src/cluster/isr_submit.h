/*
 * isr_submit.h: a partition leader's ISR changes, sent to the active
 * controller (AlterPartition; the decision is metadata/controller.h's "ISR
 * changes", the controller side handlers/alter_partition.c).
 *
 * What it does: rn_isr_submit_send takes a leader's changes (shrinks and
 * expands of the partitions it leads, with the leader and partition epochs
 * it knows and the members' broker epochs) and hands them to the metadata
 * runtime as one RN_ADMIN_ALTER_PARTITION op, carrying this broker's id and
 * broker epoch (rn_node_t.broker_epoch). Where this node is the active
 * controller the changes are planned there; elsewhere the runtime forwards
 * them as AlterPartition v3 to the active controller's controller listener
 * and the answer is matched back to the changes by topic id and partition.
 * Either way done runs once, on the submitting core's loop, with one result
 * per change, after the accepted changes are committed and applied.
 *
 * Results: error_code NONE with the partition's state after the change
 * (the partition epoch one higher; the same state, unchanged, when the ISR
 * was already that); or Kafka's code with leader -1, epochs -1 and an empty
 * ISR. A request-wide error gives every result its code: NOT_CONTROLLER
 * (no active controller reached, its answer undecodable or silent on a
 * change, leadership lost before the commit) and REQUEST_TIMED_OUT are
 * worth a retry; STALE_BROKER_EPOCH means this broker is not (or no longer)
 * registered with that epoch. Per change, the codes are the controller's
 * (docs/CLUSTER.md, "ISR changes").
 *
 * What it owns: while in flight, the op, a copy of the reply and the
 * encoded request, inside the caller's rn_isr_submit_t; all freed before
 * done runs. The caller owns the struct, its changes and results, which
 * must live until done.
 *
 * What it must never do: block the loop, or run done inside the send.
 */
#ifndef RN_CLUSTER_ISR_SUBMIT_H
#define RN_CLUSTER_ISR_SUBMIT_H

#include "base/buf.h"
#include "cluster/metadata_rt.h"
#include "cluster/node.h"
#include "metadata/controller.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rn_isr_submit rn_isr_submit_t;
/* On the submitting core's loop, once. */
typedef void (*rn_isr_done_fn)(rn_isr_submit_t *s);

struct rn_isr_submit {
    /* filled by the caller */
    int32_t count; /* 1 .. RN_ISR_CHANGES_MAX; a leader splits more */
    rn_ctl_isr_change_t *changes;
    rn_ctl_isr_result_t *results; /* count of them, filled when done runs */
    rn_isr_done_fn done;
    void *ctx;
    /* private: the op, its request, the reply it is planned into, and the
       encoded AlterPartition to forward */
    rn_admin_op_t op;
    rn_ctl_isr_request_t request;
    rn_ctl_isr_reply_t *reply;
    rn_buf_t raw;
};

/* Sends the changes to the active controller from core's loop: planned
   there if this node leads, else forwarded as AlterPartition v3; done runs
   once on core's loop with results filled. While the node's metadata
   runtime runs (not after its stop has begun). */
void rn_isr_submit_send(rn_core_t *core, rn_isr_submit_t *s);

/* The AlterPartition v3 body for req (changes of one topic side by side
   share its entry), appended to out (rn_buf_init'd by the caller). */
rn_err_t rn_isr_submit_encode(const rn_ctl_isr_request_t *req, rn_buf_t *out);
/* The active controller's AlterPartition v3 answer (body) into one result
   per change of req, as the results above say. */
void rn_isr_submit_decode(const uint8_t *body, size_t len, const rn_ctl_isr_request_t *req,
                          rn_ctl_isr_result_t *results);

#endif
