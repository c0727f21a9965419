/*
 * fanout.h: running per-partition work on the cores that own the
 * partitions, and collecting the replies on the request's core.
 *
 * A request begins a fan-out, sends one op per partition (the op runs on
 * the owner's thread: in place when that is this core, else through the
 * owner's mailbox), and ends it. Each op replies exactly once from the
 * owner's thread (possibly on a later turn, after a group commit); when
 * every op has replied and the fan-out has ended, `done` runs on the
 * origin core. Ops are embedded in the caller's structs and never copied.
 */
#ifndef RN_CLUSTER_FANOUT_H
#define RN_CLUSTER_FANOUT_H

#include "cluster/node.h"

typedef struct rn_fanout rn_fanout_t;
typedef struct rn_part_op rn_part_op_t;

struct rn_part_op {
    rn_mail_t mail;
    rn_fanout_t *fan;
    rn_partition_t *part;
    void (*run)(rn_part_op_t *op); /* on the owner core */
};

struct rn_fanout {
    rn_core_t *origin;
    int32_t pending;
    void (*done)(rn_fanout_t *fan); /* on the origin core */
};

void rn_fanout_begin(rn_fanout_t *fan, rn_core_t *origin, void (*done)(rn_fanout_t *fan));
/* Runs op->run for op->part on its owner core. */
void rn_fanout_send(rn_fanout_t *fan, rn_part_op_t *op, void (*run)(rn_part_op_t *op));
/* From the owner core: this op is finished. */
void rn_fanout_reply(rn_part_op_t *op);
/* No more sends; `done` runs once all replies are in (maybe now). */
void rn_fanout_end(rn_fanout_t *fan);
/* The owner core of an op's partition. */
static inline rn_core_t *rn_part_op_owner(const rn_part_op_t *op) {
    return &op->fan->origin->node->cores[op->part->owner];
}

#endif
