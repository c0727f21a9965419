/*
 * add_partitions_to_txn.c: AddPartitionsToTxn (key 24), versions 0-5. The
 * client's form (0-3, one transaction): the partitions join the producer's
 * ongoing transaction (or start one) in its transactional id's coordinator
 * shard, once that shard's record is durable. The brokers' batched form
 * (4-5, KIP-890): several transactions, each added the same way or, with
 * verify_only, only checked (each partition NONE when in the ongoing
 * transaction, else INVALID_TXN_STATE). As Kafka, a partition the metadata
 * does not have fails its transaction before the coordinator is asked:
 * UNKNOWN_TOPIC_OR_PARTITION for it, OPERATION_NOT_ATTEMPTED for the
 * others. Every partition otherwise gets the coordinator's one answer.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "handlers/txn_ops.h"
#include "proto/gen/add_partitions_to_txn_request.h"
#include "proto/gen/add_partitions_to_txn_response.h"

#include <stddef.h>
#include <string.h>

/* The first version that may carry PRODUCER_FENCED (KIP-588). */
#define ADD_PARTITIONS_FENCED_VERSION 2

typedef rn_add_partitions_to_txn_request_add_partitions_to_txn_topic_array_t topics_in_t;
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result_array_t topics_out_t;
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result_t topic_out_t;
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_result_t part_out_t;
typedef rn_add_partitions_to_txn_request_add_partitions_to_txn_transaction_t txn_in_t;
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_result_t txn_out_t;

/* One transaction of the request. */
typedef struct add_state {
    rn_txnop_t top;
    rn_txn_waiter_t waiter;
    rn_str_t txn_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool verify_only;
    topics_out_t *out; /* its results, written in place */
    rn_txn_tp_t *parts;
    int32_t count;
    bool answered;      /* its results are written (unknown partitions, verify_only) */
    int16_t error_code; /* else: every partition's */
} add_state_t;

typedef struct add_batch {
    add_state_t *states;
    int32_t count;
} add_batch_t;

/* The results' topics and partitions, every one with `kerr` (arena
   memory, small next to the request's budget, as for Produce). */
static void results_fill(rn_req_t *req, const topics_in_t *topics, topics_out_t *out,
                         int16_t kerr) {
    int32_t tcount = topics->count > 0 ? topics->count : 0;
    topic_out_t *tout = rn_arena_alloc(&req->arena, (size_t)tcount * sizeof *tout + 1);
    RN_ASSERT(tout != NULL);
    for (int32_t t = 0; t < tcount; t++) {
        const rn_int32_array_t *ids = &topics->items[t].partitions;
        int32_t pcount = ids->count > 0 ? ids->count : 0;
        part_out_t *pout = rn_arena_alloc(&req->arena, (size_t)pcount * sizeof *pout + 1);
        RN_ASSERT(pout != NULL);
        for (int32_t i = 0; i < pcount; i++) pout[i] = (part_out_t){ids->items[i], kerr};
        tout[t].name = topics->items[t].name;
        tout[t].results_by_partition.items = pout;
        tout[t].results_by_partition.count = pcount;
    }
    out->items = tout;
    out->count = tcount;
}

/* Marks partitions the metadata lacks UNKNOWN_TOPIC_OR_PARTITION and the
   rest OPERATION_NOT_ATTEMPTED; false (nothing changed) when every one
   exists. */
static bool results_unknown(const rn_image_t *img, topics_out_t *out) {
    bool any = false;
    for (int32_t t = 0; t < out->count && !any; t++) {
        topic_out_t *tout = &out->items[t];
        const rn_image_topic_t *it =
            tout->name.len > 0 ? rn_image_topic(img, tout->name.ptr, (size_t)tout->name.len) : NULL;
        for (int32_t i = 0; i < tout->results_by_partition.count; i++) {
            int32_t index = tout->results_by_partition.items[i].partition_index;
            any |= !(it && index >= 0 && index < it->partition_count);
        }
    }
    for (int32_t t = 0; t < out->count && any; t++) {
        topic_out_t *tout = &out->items[t];
        const rn_image_topic_t *it =
            tout->name.len > 0 ? rn_image_topic(img, tout->name.ptr, (size_t)tout->name.len) : NULL;
        for (int32_t i = 0; i < tout->results_by_partition.count; i++) {
            part_out_t *p = &tout->results_by_partition.items[i];
            bool known = it && p->partition_index >= 0 && p->partition_index < it->partition_count;
            p->partition_error_code =
                known ? RN_KERR_OPERATION_NOT_ATTEMPTED : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    return any;
}

static void add_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t pid,
                     int16_t epoch) {
    (void)pid, (void)epoch;
    add_state_t *st = (add_state_t *)((char *)w - offsetof(add_state_t, waiter));
    st->error_code = store_err != RN_OK ? rn_handler_txn_store_kerr(store_err) : error_code;
    rn_txnop_reply(&st->top);
}

/* verify_only: each partition's own answer, in place (the results follow
   the order of st->parts). A partition not in the transaction is
   TRANSACTION_ABORTABLE here, as Kafka 3.9 answers v4-5 (the partition
   leader asking turns it into its own client's error). */
static void add_verify(add_state_t *st, rn_txn_coord_t *coord) {
    int32_t n = 0;
    for (int32_t t = 0; t < st->out->count; t++) {
        topic_out_t *tout = &st->out->items[t];
        for (int32_t i = 0; i < tout->results_by_partition.count; i++, n++) {
            int16_t kerr = rn_txn_verify_partition(
                coord, st->txn_id, st->producer_id, st->producer_epoch,
                rn_str_from_cstr(st->parts[n].topic), st->parts[n].partition);
            if (kerr == RN_KERR_INVALID_TXN_STATE) kerr = RN_KERR_TRANSACTION_ABORTABLE;
            tout->results_by_partition.items[i].partition_error_code = kerr;
        }
    }
    st->answered = true;
    rn_txnop_reply(&st->top);
}

static void add_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    add_state_t *st = (add_state_t *)top;
    if (st->verify_only) {
        add_verify(st, coord);
        return;
    }
    rn_txn_add_partitions(coord, st->txn_id, st->producer_id, st->producer_epoch, st->parts,
                          st->count, &st->waiter, rn_txn_now_ms(node));
}

static void add_finish(rn_txnops_t *ops) {
    add_batch_t *batch = ops->ctx;
    for (int32_t s = 0; s < batch->count; s++) {
        add_state_t *st = &batch->states[s];
        if (st->answered) continue;
        int16_t kerr = rn_txnops_fenced_kerr(st->error_code, ops->req->api_version,
                                             ADD_PARTITIONS_FENCED_VERSION);
        for (int32_t t = 0; t < st->out->count; t++) {
            topic_out_t *tout = &st->out->items[t];
            for (int32_t i = 0; i < tout->results_by_partition.count; i++)
                tout->results_by_partition.items[i].partition_error_code = kerr;
        }
    }
}

/* The request's partitions as NUL-terminated pairs in the arena. */
static void parts_copy(rn_req_t *req, const topics_in_t *topics, add_state_t *st) {
    int32_t total = 0;
    for (int32_t t = 0; t < topics->count; t++)
        total += topics->items[t].partitions.count > 0 ? topics->items[t].partitions.count : 0;
    st->parts = rn_arena_alloc(&req->arena, (size_t)total * sizeof *st->parts + 1);
    RN_ASSERT(st->parts != NULL);
    for (int32_t t = 0; t < topics->count; t++) {
        char *name = rn_handler_cstr(req, topics->items[t].name);
        RN_ASSERT(name != NULL);
        const rn_int32_array_t *ids = &topics->items[t].partitions;
        for (int32_t i = 0; i < ids->count; i++)
            st->parts[st->count++] = (rn_txn_tp_t){name, ids->items[i]};
    }
}

/* One transaction: its results laid out, then sent to its shard unless a
   partition is unknown. */
static void add_one(rn_txnops_t *ops, const rn_image_t *img, add_state_t *st,
                    const topics_in_t *topics) {
    rn_req_t *req = ops->req;
    results_fill(req, topics, st->out, RN_KERR_NONE);
    if (results_unknown(img, st->out)) {
        st->answered = true;
        return;
    }
    parts_copy(req, topics, st);
    st->waiter.done = add_done;
    int16_t kerr = rn_txnops_send(ops, &st->top, st->txn_id, add_run);
    if (kerr != RN_KERR_NONE) st->error_code = kerr; /* else the op answers */
}

void rn_handle_add_partitions_to_txn(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_add_partitions_to_txn_request_t *in = body;
    rn_add_partitions_to_txn_response_t *resp = rn_handler_response_new(req);
    bool batched = req->api_version >= 4;
    int32_t count = !batched ? 1 : in->transactions.count > 0 ? in->transactions.count : 0;
    add_batch_t *batch = rn_arena_alloc(&req->arena, sizeof *batch);
    add_state_t *states = rn_arena_alloc(&req->arena, (size_t)count * sizeof *states + 1);
    txn_out_t *touts = rn_arena_alloc(&req->arena, (size_t)count * sizeof *touts + 1);
    RN_ASSERT(batch != NULL && states != NULL && touts != NULL);
    *batch = (add_batch_t){states, count};
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = add_finish;
    ops->ctx = batch;
    rn_image_t *img = rn_topics_image(core->node);
    for (int32_t s = 0; s < count; s++) {
        add_state_t *st = &states[s];
        memset(st, 0, sizeof *st);
        if (!batched) {
            st->txn_id = in->v3_and_below_transactional_id;
            st->producer_id = in->v3_and_below_producer_id;
            st->producer_epoch = in->v3_and_below_producer_epoch;
            st->out = &resp->results_by_topic_v3_and_below;
            add_one(ops, img, st, &in->v3_and_below_topics);
            continue;
        }
        const txn_in_t *txn = &in->transactions.items[s];
        st->txn_id = txn->transactional_id;
        st->producer_id = txn->producer_id;
        st->producer_epoch = txn->producer_epoch;
        st->verify_only = txn->verify_only;
        touts[s].transactional_id = txn->transactional_id;
        st->out = &touts[s].topic_results;
        add_one(ops, img, st, &txn->topics);
    }
    rn_image_release(img);
    if (batched)
        resp->results_by_transaction =
            (rn_add_partitions_to_txn_response_add_partitions_to_txn_result_array_t){touts, count};
    rn_txnops_end(ops);
}
