/*
 * init_producer_id.c: InitProducerId (key 22), versions 0-5.
 *
 * Idempotent producers (no transactional id): a fresh producer id with
 * epoch 0, from this core's block of ids unique in the cluster
 * (cluster/producer_ids.h; the answer waits while the core asks the active
 * controller for a new block). A producer asking to bump its own id's
 * epoch (v3+, KIP-360) gets the next epoch, or a fresh id when the epoch
 * would overflow.
 *
 * Transactional producers: the transactional id's coordinator shard
 * (txn_ops.h) gives the id's producer id a new epoch, fencing the previous
 * one (an ongoing transaction of it is aborted and the caller retries on
 * CONCURRENT_TRANSACTIONS); a new id, or one whose epochs ran out, first
 * takes a fresh producer id from the shard's core's block.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/producer_ids.h"
#include "cluster/topics.h"
#include "handlers/txn_ops.h"
#include "txn/coordinator.h"
#include "proto/gen/init_producer_id_request.h"
#include "proto/gen/init_producer_id_response.h"

#include <stddef.h>
#include <stdint.h>

/* The first version that may carry PRODUCER_FENCED (KIP-588). */
#define INIT_PID_FENCED_VERSION 4

typedef struct pid_wait {
    rn_pid_waiter_t waiter; /* first */
    rn_req_t *req;
    rn_init_producer_id_response_t *resp;
} pid_wait_t;

static void pid_ready(rn_pid_waiter_t *w, int64_t producer_id, int16_t error_code) {
    pid_wait_t *wait = (pid_wait_t *)w;
    wait->resp->error_code = error_code;
    wait->resp->producer_id = producer_id;
    wait->resp->producer_epoch = error_code == RN_KERR_NONE ? 0 : -1;
    rn_handler_respond(wait->req, wait->resp);
}

static void init_idempotent(rn_core_t *core, rn_req_t *req, const rn_init_producer_id_request_t *in,
                            rn_init_producer_id_response_t *resp) {
    if (in->producer_id >= 0 && in->producer_epoch >= 0 && in->producer_epoch < INT16_MAX - 1) {
        resp->producer_id = in->producer_id;
        resp->producer_epoch = (int16_t)(in->producer_epoch + 1);
        rn_handler_respond(req, resp);
        return;
    }
    pid_wait_t *wait = rn_arena_alloc(&req->arena, sizeof *wait);
    RN_ASSERT(wait != NULL);
    *wait = (pid_wait_t){{NULL, pid_ready}, req, resp};
    rn_producer_ids_take(core, &wait->waiter);
}

/* ---- transactional ---- */

typedef struct txn_init {
    rn_txnop_t top;
    rn_txn_waiter_t waiter;
    rn_pid_waiter_t pid_waiter;
    const rn_init_producer_id_request_t *in;
    rn_init_producer_id_response_t *resp;
    rn_node_t *node;
} txn_init_t;

static void txn_init_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err,
                          int64_t producer_id, int16_t producer_epoch) {
    txn_init_t *st = (txn_init_t *)((char *)w - offsetof(txn_init_t, waiter));
    st->resp->error_code = store_err != RN_OK ? rn_handler_txn_store_kerr(store_err) : error_code;
    st->resp->producer_id = st->resp->error_code == RN_KERR_NONE ? producer_id : -1;
    st->resp->producer_epoch = st->resp->error_code == RN_KERR_NONE ? producer_epoch : -1;
    rn_txnop_reply(&st->top);
}

static void txn_init_call(txn_init_t *st, rn_txn_coord_t *coord, int64_t new_pid) {
    const rn_init_producer_id_request_t *in = st->in;
    rn_txn_init_pid(coord, in->transactional_id, in->transaction_timeout_ms, in->producer_id,
                    in->producer_epoch, new_pid, &st->waiter, rn_txn_now_ms(st->node));
}

/* A fresh producer id arrived (on the shard's core). */
static void txn_pid_ready(rn_pid_waiter_t *w, int64_t producer_id, int16_t error_code) {
    txn_init_t *st = (txn_init_t *)((char *)w - offsetof(txn_init_t, pid_waiter));
    rn_txn_coord_t *coord = rn_txn_shard(st->node, st->top.partition);
    if (error_code != RN_KERR_NONE || !coord) {
        txn_init_done(&st->waiter, coord ? error_code : RN_KERR_NOT_COORDINATOR, RN_OK, -1, -1);
        return;
    }
    txn_init_call(st, coord, producer_id);
}

static void txn_init_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    txn_init_t *st = top->ctx;
    st->node = node;
    if (rn_txn_coord_refusal(coord) == RN_KERR_NONE &&
        rn_txn_init_needs_pid(coord, st->in->transactional_id, st->in->producer_epoch)) {
        st->pid_waiter = (rn_pid_waiter_t){NULL, txn_pid_ready};
        rn_producer_ids_take(&node->cores[top->op.part->owner], &st->pid_waiter);
        return;
    }
    txn_init_call(st, coord, -1);
}

static void txn_init_finish(rn_txnops_t *ops) {
    rn_init_producer_id_response_t *resp = ops->resp;
    resp->error_code =
        rn_txnops_fenced_kerr(resp->error_code, ops->req->api_version, INIT_PID_FENCED_VERSION);
}

/* Kafka's checks before the coordinator: the id, the producer id and
   epoch given together or not at all, the timeout. */
static int16_t txn_init_check(rn_node_t *node, const rn_init_producer_id_request_t *in) {
    if (in->transactional_id.len == 0) return RN_KERR_INVALID_REQUEST;
    if ((in->producer_id < 0) != (in->producer_epoch < 0)) return RN_KERR_INVALID_REQUEST;
    if (in->transaction_timeout_ms <= 0 ||
        in->transaction_timeout_ms > node->settings.txn_max_timeout_ms)
        return RN_KERR_INVALID_TRANSACTION_TIMEOUT;
    return RN_KERR_NONE;
}

static void init_transactional(rn_core_t *core, rn_req_t *req,
                               const rn_init_producer_id_request_t *in,
                               rn_init_producer_id_response_t *resp) {
    resp->error_code = txn_init_check(core->node, in);
    if (resp->error_code != RN_KERR_NONE) {
        rn_handler_respond(req, resp);
        return;
    }
    txn_init_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    RN_ASSERT(st != NULL);
    *st = (txn_init_t){.in = in, .resp = resp};
    st->top.ctx = st;
    st->waiter.done = txn_init_done;
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = txn_init_finish;
    int16_t kerr = rn_txnops_send(ops, &st->top, in->transactional_id, txn_init_run);
    if (kerr != RN_KERR_NONE) resp->error_code = kerr; /* else the op answers */
    rn_txnops_end(ops);
}

void rn_handle_init_producer_id(rn_core_t *core, rn_req_t *req, void *body) {
    rn_init_producer_id_request_t *in = body;
    rn_init_producer_id_response_t *resp = rn_handler_response_new(req);
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    if (in->transactional_id.len >= 0)
        init_transactional(core, req, in, resp);
    else
        init_idempotent(core, req, in, resp);
}
