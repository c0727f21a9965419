/* part_ops.c: per-partition request fan-out with in-place response slots. */
#include "handlers/part_ops.h"
#include "base/assert.h"

static void pop_batch_done(rn_fanout_t *fan) {
    rn_pop_batch_t *batch = (rn_pop_batch_t *)fan;
    rn_handler_respond(batch->req, batch->resp);
    for (rn_pop_t *pop = batch->sent; pop; pop = pop->next) rn_partition_unref(pop->op.part);
    rn_ptable_release(batch->table);
}

void *rn_pop_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    /* Responses allocate within RN_RESPONSE_BYTES_MAX (set by dispatch.c
       once the request is decoded); one entry per partition asked. */
    RN_ASSERT(ptr != NULL);
    return ptr;
}

rn_pop_batch_t *rn_pop_batch_begin(rn_core_t *core, rn_req_t *req, void *resp) {
    rn_pop_batch_t *batch = rn_pop_alloc(req, sizeof *batch);
    batch->req = req;
    batch->resp = resp;
    batch->table = rn_ptable_acquire(&core->node->ptable);
    rn_fanout_begin(&batch->fan, core, pop_batch_done);
    return batch;
}

rn_pop_t *rn_pop_send(rn_pop_batch_t *batch, rn_str_t topic, int32_t index, const void *in,
                      void *out, void (*run)(rn_part_op_t *op)) {
    rn_partition_t *part = rn_ptable_partition(batch->table, topic, index);
    if (!part) return NULL;
    rn_pop_t *pop = rn_pop_alloc(batch->req, sizeof *pop);
    rn_partition_ref(part);
    pop->op.part = part;
    pop->in = in;
    pop->out = out;
    pop->next = batch->sent;
    batch->sent = pop;
    rn_fanout_send(&batch->fan, &pop->op, run);
    return pop;
}

void rn_pop_batch_end(rn_pop_batch_t *batch) { rn_fanout_end(&batch->fan); }
