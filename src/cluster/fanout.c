/* fanout.c: per-partition ops to owner cores and back (see fanout.h). */
#include "cluster/fanout.h"
#include "base/assert.h"

void rn_fanout_begin(rn_fanout_t *fan, rn_core_t *origin, void (*done)(rn_fanout_t *fan)) {
    RN_ASSERT(done != NULL);
    fan->origin = origin;
    fan->pending = 1; /* held until rn_fanout_end */
    fan->done = done;
}

static void fanout_op_run(rn_mail_t *mail) {
    rn_part_op_t *op = (rn_part_op_t *)mail;
    op->run(op);
}

static void fanout_op_back(rn_mail_t *mail) {
    rn_fanout_t *fan = ((rn_part_op_t *)mail)->fan;
    RN_ASSERT(fan->pending > 0);
    if (--fan->pending == 0) fan->done(fan);
}

void rn_fanout_send(rn_fanout_t *fan, rn_part_op_t *op, void (*run)(rn_part_op_t *op)) {
    RN_ASSERT(op->part != NULL);
    RN_ASSERT(fan->pending > 0);
    op->fan = fan;
    op->run = run;
    op->mail.fn = fanout_op_run;
    fan->pending++;
    rn_core_t *owner = rn_part_op_owner(op);
    if (owner == fan->origin)
        run(op);
    else
        rn_loop_post(&owner->loop, &op->mail);
}

void rn_fanout_reply(rn_part_op_t *op) {
    op->mail.fn = fanout_op_back;
    rn_core_t *origin = op->fan->origin;
    if (rn_part_op_owner(op) == origin)
        fanout_op_back(&op->mail);
    else
        rn_loop_post(&origin->loop, &op->mail);
}

void rn_fanout_end(rn_fanout_t *fan) {
    RN_ASSERT(fan->pending > 0);
    if (--fan->pending == 0) fan->done(fan);
}
