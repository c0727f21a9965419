/*
 * add_offsets_to_txn.c: AddOffsetsToTxn (key 25), versions 0-4: the
 * group's __consumer_offsets partition joins the producer's transaction
 * (as AddPartitionsToTxn), so the offsets TxnOffsetCommit writes there are
 * committed or aborted with it.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "group/coordinator.h"
#include "handlers/txn_ops.h"
#include "proto/gen/add_offsets_to_txn_request.h"
#include "proto/gen/add_offsets_to_txn_response.h"

#include <stddef.h>

/* The first version that may carry PRODUCER_FENCED (KIP-588). */
#define ADD_OFFSETS_FENCED_VERSION 2

typedef struct offsets_state {
    rn_txnop_t top;
    rn_txn_waiter_t waiter;
    const rn_add_offsets_to_txn_request_t *in;
    rn_add_offsets_to_txn_response_t *resp;
    rn_txn_tp_t part; /* the group's offsets partition */
} offsets_state_t;

static void offsets_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t pid,
                         int16_t epoch) {
    (void)pid, (void)epoch;
    offsets_state_t *st = (offsets_state_t *)((char *)w - offsetof(offsets_state_t, waiter));
    st->resp->error_code = store_err != RN_OK ? rn_handler_txn_store_kerr(store_err) : error_code;
    rn_txnop_reply(&st->top);
}

static void offsets_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    offsets_state_t *st = top->ctx;
    rn_txn_add_partitions(coord, st->in->transactional_id, st->in->producer_id,
                          st->in->producer_epoch, &st->part, 1, &st->waiter, rn_txn_now_ms(node));
}

static void offsets_finish(rn_txnops_t *ops) {
    rn_add_offsets_to_txn_response_t *resp = ops->resp;
    resp->error_code =
        rn_txnops_fenced_kerr(resp->error_code, ops->req->api_version, ADD_OFFSETS_FENCED_VERSION);
}

void rn_handle_add_offsets_to_txn(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_add_offsets_to_txn_request_t *in = body;
    rn_add_offsets_to_txn_response_t *resp = rn_handler_response_new(req);
    int32_t groups = rn_group_partition_count(core->node);
    if (groups == 0 || in->group_id.len < 0) {
        resp->error_code =
            groups == 0 ? RN_KERR_COORDINATOR_NOT_AVAILABLE : RN_KERR_INVALID_REQUEST;
        rn_handler_respond(req, resp);
        return;
    }
    offsets_state_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    RN_ASSERT(st != NULL);
    *st = (offsets_state_t){.in = in, .resp = resp};
    st->part =
        (rn_txn_tp_t){(char *)RN_GROUP_OFFSETS_TOPIC, rn_group_partition_for(in->group_id, groups)};
    st->top.ctx = st;
    st->waiter.done = offsets_done;
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = offsets_finish;
    int16_t kerr = rn_txnops_send(ops, &st->top, in->transactional_id, offsets_run);
    if (kerr != RN_KERR_NONE) resp->error_code = kerr; /* else the op answers */
    rn_txnops_end(ops);
}
