/*
 * list_transactions.c: ListTransactions (key 66), versions 0-1: every
 * transactional id of every shard this node coordinates, filtered as Kafka
 * does (states, producer ids, v1: running longer than a duration);
 * COORDINATOR_LOAD_IN_PROGRESS while a shard loads, and the state filters
 * no state has as unknown_state_filters. One op per shard gathers its
 * entries on the heap; they are moved into the answer on the request's
 * core.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "handlers/txn_ops.h"
#include "proto/gen/list_transactions_request.h"
#include "proto/gen/list_transactions_response.h"

#include <stdlib.h>
#include <string.h>

typedef rn_list_transactions_response_transaction_state_t listed_t;

typedef struct list_op {
    rn_txnop_t top;
    listed_t *found; /* heap; transactional_id heap copies */
    int32_t count;
    int16_t refusal;
} list_op_t;

typedef struct list_state {
    const rn_list_transactions_request_t *in;
    int16_t version;
    list_op_t *ops;
    int32_t op_count;
} list_state_t;

static bool state_known(rn_str_t name) {
    for (int s = RN_TXN_EMPTY; s <= RN_TXN_PREPARE_EPOCH_FENCE; s++)
        if (rn_str_eq_cstr(name, rn_txn_state_name((rn_txn_state_t)s))) return true;
    return false;
}

static bool list_wanted(const list_state_t *st, const rn_txn_meta_t *meta, int64_t now_ms) {
    const rn_list_transactions_request_t *in = st->in;
    if (meta->state == RN_TXN_DEAD) return false;
    if (in->producer_id_filters.count > 0) {
        bool hit = false;
        for (int32_t i = 0; i < in->producer_id_filters.count && !hit; i++)
            hit = in->producer_id_filters.items[i] == meta->producer_id;
        if (!hit) return false;
    }
    if (in->state_filters.count > 0) {
        bool hit = false;
        for (int32_t i = 0; i < in->state_filters.count && !hit; i++)
            hit = rn_str_eq_cstr(in->state_filters.items[i], rn_txn_state_name(meta->state));
        if (!hit) return false;
    }
    if (st->version >= 1 && in->duration_filter >= 0 &&
        now_ms - meta->start_ms <= in->duration_filter)
        return false;
    return true;
}

static void list_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    list_op_t *op = (list_op_t *)top;
    list_state_t *st = top->ctx;
    op->refusal = rn_txn_coord_refusal(coord);
    int32_t count = op->refusal ? 0 : rn_txn_coord_count(coord);
    op->found = calloc((size_t)count + 1, sizeof *op->found);
    RN_ASSERT(op->found != NULL);
    int64_t now_ms = rn_txn_now_ms(node);
    for (int32_t i = 0; i < count; i++) {
        const rn_txn_meta_t *meta = rn_txn_coord_meta_at(coord, i);
        if (!list_wanted(st, meta, now_ms)) continue;
        char *id = strdup(rn_txn_coord_id_at(coord, i));
        RN_ASSERT(id != NULL);
        op->found[op->count++] = (listed_t){rn_str_from_cstr(id), meta->producer_id,
                                            rn_str_from_cstr(rn_txn_state_name(meta->state))};
    }
    rn_txnop_reply(top);
}

static void list_finish(rn_txnops_t *ops) {
    list_state_t *st = ops->ctx;
    rn_list_transactions_response_t *resp = ops->resp;
    rn_req_t *req = ops->req;
    int32_t total = 0;
    for (int32_t i = 0; i < st->op_count; i++) total += st->ops[i].count;
    listed_t *all = rn_arena_alloc(&req->arena, (size_t)total * sizeof *all + 1);
    RN_ASSERT(all != NULL);
    int32_t n = 0;
    for (int32_t i = 0; i < st->op_count; i++) {
        list_op_t *op = &st->ops[i];
        if (op->refusal == RN_KERR_COORDINATOR_LOAD_IN_PROGRESS)
            resp->error_code = RN_KERR_COORDINATOR_LOAD_IN_PROGRESS;
        for (int32_t j = 0; j < op->count; j++) {
            all[n] = op->found[j];
            all[n].transactional_id =
                rn_str_from_cstr(rn_handler_cstr(req, op->found[j].transactional_id));
            free((char *)(uintptr_t)op->found[j].transactional_id.ptr);
            n++;
        }
        free(op->found);
    }
    resp->transaction_states = (rn_list_transactions_response_transaction_state_array_t){all, n};
}

void rn_handle_list_transactions(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_list_transactions_request_t *in = body;
    rn_list_transactions_response_t *resp = rn_handler_response_new(req);
    int32_t filters = in->state_filters.count > 0 ? in->state_filters.count : 0;
    rn_str_t *unknown = rn_arena_alloc(&req->arena, (size_t)filters * sizeof *unknown + 1);
    int32_t shards = rn_txn_partition_count(core->node);
    list_state_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    list_op_t *lops = rn_arena_alloc(&req->arena, (size_t)shards * sizeof *lops + 1);
    RN_ASSERT(unknown != NULL && st != NULL && lops != NULL);
    int32_t unknown_count = 0;
    for (int32_t i = 0; i < filters; i++)
        if (!state_known(in->state_filters.items[i]))
            unknown[unknown_count++] = in->state_filters.items[i];
    resp->unknown_state_filters = (rn_str_array_t){unknown, unknown_count};
    *st = (list_state_t){in, req->api_version, lops, 0};
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = list_finish;
    ops->ctx = st;
    for (int32_t p = 0; p < shards; p++) {
        list_op_t *op = &lops[st->op_count];
        memset(op, 0, sizeof *op);
        op->top.ctx = st;
        if (rn_txnops_send_partition(ops, &op->top, p, list_run) == RN_KERR_NONE) st->op_count++;
    }
    rn_txnops_end(ops);
}
