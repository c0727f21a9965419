/* txn_ops.c: routing transaction requests to their coordinator shard (see txn_ops.h). */
#include "handlers/txn_ops.h"
#include "base/assert.h"

#include <string.h>

static void txnops_done(rn_fanout_t *fan) {
    rn_txnops_t *ops = (rn_txnops_t *)fan;
    if (ops->finish) ops->finish(ops);
    rn_ptable_release(ops->table);
    rn_handler_respond(ops->req, ops->resp);
}

rn_txnops_t *rn_txnops_begin(rn_core_t *core, rn_req_t *req, void *resp) {
    rn_txnops_t *ops = rn_arena_alloc(&req->arena, sizeof *ops);
    RN_ASSERT(ops != NULL);
    memset(ops, 0, sizeof *ops);
    ops->req = req;
    ops->resp = resp;
    ops->table = rn_ptable_acquire(&core->node->ptable);
    rn_fanout_begin(&ops->fan, core, txnops_done);
    return ops;
}

static void txnop_run(rn_part_op_t *op) {
    rn_txnop_t *top = (rn_txnop_t *)op;
    rn_node_t *node = rn_part_op_owner(op)->node;
    rn_txn_coord_t *coord = rn_txn_shard(node, top->partition);
    RN_ASSERT(coord != NULL);
    top->run(top, coord, node);
}

int16_t rn_txnops_send(rn_txnops_t *ops, rn_txnop_t *top, rn_str_t id,
                       void (*run)(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node)) {
    int32_t count = rn_txn_partition_count(ops->fan.origin->node);
    if (count == 0) return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    return rn_txnops_send_partition(ops, top, rn_txn_partition_for(id, count), run);
}

int16_t rn_txnops_send_partition(rn_txnops_t *ops, rn_txnop_t *top, int32_t partition,
                                 void (*run)(rn_txnop_t *top, rn_txn_coord_t *coord,
                                             rn_node_t *node)) {
    if (rn_txn_partition_count(ops->fan.origin->node) == 0)
        return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_str_t topic = rn_str_from_cstr(RN_TXN_STATE_TOPIC);
    rn_partition_t *part = rn_ptable_partition(ops->table, topic, partition);
    if (!part) return RN_KERR_NOT_COORDINATOR; /* no replica here: another node leads it */
    top->op.part = part;                       /* the table holds it until the response */
    top->ops = ops;
    top->partition = partition;
    top->run = run;
    rn_fanout_send(&ops->fan, &top->op, txnop_run);
    return RN_KERR_NONE;
}

void rn_txnops_end(rn_txnops_t *ops) { rn_fanout_end(&ops->fan); }

void rn_txnop_reply(rn_txnop_t *top) { rn_fanout_reply(&top->op); }

int16_t rn_txnops_fenced_kerr(int16_t kerr, int16_t version, int16_t first_fenced_version) {
    if (kerr == RN_KERR_PRODUCER_FENCED && version < first_fenced_version)
        return RN_KERR_INVALID_PRODUCER_EPOCH;
    return kerr;
}
