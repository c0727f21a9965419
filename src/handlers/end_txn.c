/*
 * end_txn.c: EndTxn (key 26), versions 0-4: the producer commits or
 * aborts its ongoing transaction. The coordinator shard stores
 * PrepareCommit or PrepareAbort and answers once that is durable; the
 * transaction then completes (its markers, then CompleteCommit or
 * CompleteAbort) on its own. A retry of a decided outcome is answered as
 * Kafka does (NONE once complete, CONCURRENT_TRANSACTIONS while
 * completing, INVALID_TXN_STATE for the other outcome).
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "handlers/txn_ops.h"
#include "proto/gen/end_txn_request.h"
#include "proto/gen/end_txn_response.h"

#include <stddef.h>

/* The first version that may carry PRODUCER_FENCED (KIP-588). */
#define END_TXN_FENCED_VERSION 2

typedef struct end_state {
    rn_txnop_t top;
    rn_txn_waiter_t waiter;
    const rn_end_txn_request_t *in;
    rn_end_txn_response_t *resp;
} end_state_t;

static void end_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t pid,
                     int16_t epoch) {
    (void)pid, (void)epoch;
    end_state_t *st = (end_state_t *)((char *)w - offsetof(end_state_t, waiter));
    st->resp->error_code = store_err != RN_OK ? rn_handler_txn_store_kerr(store_err) : error_code;
    rn_txnop_reply(&st->top);
}

static void end_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    end_state_t *st = top->ctx;
    rn_txn_end(coord, st->in->transactional_id, st->in->producer_id, st->in->producer_epoch,
               st->in->committed, &st->waiter, rn_txn_now_ms(node));
}

static void end_finish(rn_txnops_t *ops) {
    rn_end_txn_response_t *resp = ops->resp;
    resp->error_code =
        rn_txnops_fenced_kerr(resp->error_code, ops->req->api_version, END_TXN_FENCED_VERSION);
}

void rn_handle_end_txn(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_end_txn_request_t *in = body;
    rn_end_txn_response_t *resp = rn_handler_response_new(req);
    end_state_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    RN_ASSERT(st != NULL);
    *st = (end_state_t){.in = in, .resp = resp};
    st->top.ctx = st;
    st->waiter.done = end_done;
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = end_finish;
    int16_t kerr = rn_txnops_send(ops, &st->top, in->transactional_id, end_run);
    if (kerr != RN_KERR_NONE) resp->error_code = kerr; /* else the op answers */
    rn_txnops_end(ops);
}
