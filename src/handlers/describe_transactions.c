/*
 * describe_transactions.c: DescribeTransactions (key 65), version 0: each
 * transactional id's state, timeout, start time, producer id and epoch and
 * partitions, from its coordinator shard; TRANSACTIONAL_ID_NOT_FOUND for an
 * id the shard does not know, NOT_COORDINATOR where this node does not
 * coordinate it. Each id's op writes its own entry; its partitions are
 * gathered on the heap and moved into the answer on the request's core.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "handlers/txn_ops.h"
#include "proto/gen/describe_transactions_request.h"
#include "proto/gen/describe_transactions_response.h"

#include <stdlib.h>
#include <string.h>

typedef rn_describe_transactions_response_transaction_state_t state_out_t;
typedef rn_describe_transactions_response_topic_data_t topic_out_t;

typedef struct describe_op {
    rn_txnop_t top;
    state_out_t *out;
    rn_txn_tp_t *parts; /* heap copies (topics borrowed from the shard are not kept) */
    int32_t part_count;
} describe_op_t;

typedef struct describe_state {
    const rn_describe_transactions_request_t *in;
    describe_op_t *ops;
} describe_state_t;

static void describe_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    (void)node;
    describe_op_t *op = (describe_op_t *)top;
    int16_t refusal = rn_txn_coord_refusal(coord);
    const rn_txn_meta_t *meta = refusal ? NULL : rn_txn_find(coord, op->out->transactional_id);
    op->out->error_code = refusal ? refusal
                          : meta  ? RN_KERR_NONE
                                  : RN_KERR_TRANSACTIONAL_ID_NOT_FOUND;
    if (meta) {
        op->out->transaction_state = rn_str_from_cstr(rn_txn_state_name(meta->state));
        op->out->transaction_timeout_ms = meta->timeout_ms;
        op->out->transaction_start_time_ms = meta->start_ms;
        op->out->producer_id = meta->producer_id;
        op->out->producer_epoch = meta->producer_epoch;
        op->parts = calloc((size_t)meta->part_count + 1, sizeof *op->parts);
        RN_ASSERT(op->parts != NULL);
        for (int32_t i = 0; i < meta->part_count; i++) {
            op->parts[i].topic = strdup(meta->parts[i].topic);
            RN_ASSERT(op->parts[i].topic != NULL);
            op->parts[i].partition = meta->parts[i].partition;
        }
        op->part_count = meta->part_count;
    }
    rn_txnop_reply(top);
}

/* The op's partitions grouped by topic, into the arena; the heap freed. */
static void describe_topics(rn_req_t *req, describe_op_t *op) {
    topic_out_t *topics = rn_arena_alloc(&req->arena, (size_t)op->part_count * sizeof *topics + 1);
    int32_t *ids = rn_arena_alloc(&req->arena, (size_t)op->part_count * sizeof *ids + 1);
    RN_ASSERT(topics != NULL && ids != NULL);
    int32_t topic_count = 0, used = 0;
    for (int32_t i = 0; i < op->part_count; i++) {
        const char *name = op->parts[i].topic;
        bool seen = false;
        for (int32_t j = 0; j < i && !seen; j++) seen = !strcmp(op->parts[j].topic, name);
        if (seen) continue;
        topic_out_t *t = &topics[topic_count++];
        t->topic = rn_str_from_cstr(rn_handler_cstr(req, rn_str_from_cstr(name)));
        t->partitions.items = &ids[used];
        t->partitions.count = 0;
        for (int32_t j = i; j < op->part_count; j++)
            if (!strcmp(op->parts[j].topic, name))
                ids[used + t->partitions.count++] = op->parts[j].partition;
        used += t->partitions.count;
    }
    op->out->topics = (rn_describe_transactions_response_topic_data_array_t){topics, topic_count};
    for (int32_t i = 0; i < op->part_count; i++) free(op->parts[i].topic);
    free(op->parts);
    op->parts = NULL;
}

static void describe_finish(rn_txnops_t *ops) {
    describe_state_t *st = ops->ctx;
    for (int32_t i = 0; i < st->in->transactional_ids.count; i++)
        describe_topics(ops->req, &st->ops[i]);
}

void rn_handle_describe_transactions(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_describe_transactions_request_t *in = body;
    rn_describe_transactions_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->transactional_ids.count > 0 ? in->transactional_ids.count : 0;
    describe_state_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    state_out_t *outs = rn_arena_alloc(&req->arena, (size_t)count * sizeof *outs + 1);
    describe_op_t *dops = rn_arena_alloc(&req->arena, (size_t)count * sizeof *dops + 1);
    RN_ASSERT(st != NULL && outs != NULL && dops != NULL);
    *st = (describe_state_t){in, dops};
    resp->transaction_states =
        (rn_describe_transactions_response_transaction_state_array_t){outs, count};
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = describe_finish;
    ops->ctx = st;
    for (int32_t i = 0; i < count; i++) {
        rn_describe_transactions_response_transaction_state_init(&outs[i]);
        outs[i].transactional_id = in->transactional_ids.items[i];
        outs[i].transaction_state = rn_str_from_cstr("");
        outs[i].producer_id = -1;
        outs[i].producer_epoch = -1;
        outs[i].transaction_start_time_ms = -1;
        dops[i] = (describe_op_t){.out = &outs[i]};
        dops[i].top.ctx = st;
        int16_t kerr =
            rn_txnops_send(ops, &dops[i].top, in->transactional_ids.items[i], describe_run);
        if (kerr != RN_KERR_NONE) outs[i].error_code = kerr;
    }
    rn_txnops_end(ops);
}
