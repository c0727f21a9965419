/*
 * add_partitions_to_txn.c: AddPartitionsToTxn (key 24), versions 0-3 (the
 * client's form): the partitions join the producer's ongoing transaction
 * (or start one) in its transactional id's coordinator shard, once that
 * shard's record is durable. As Kafka, a partition the metadata does not
 * have fails the request before the coordinator is asked:
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
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result_t topic_out_t;
typedef rn_add_partitions_to_txn_response_add_partitions_to_txn_partition_result_t part_out_t;

typedef struct add_state {
    rn_txnop_t top;
    rn_txn_waiter_t waiter;
    const rn_add_partitions_to_txn_request_t *in;
    rn_txn_tp_t *parts;
    int32_t count;
    int16_t error_code;
    rn_node_t *node;
} add_state_t;

/* The response's topics and partitions, every one with `kerr` (arena
   memory, small next to the request's budget, as for Produce). */
static void results_fill(rn_req_t *req, const topics_in_t *topics,
                         rn_add_partitions_to_txn_response_t *resp, int16_t kerr) {
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
    resp->results_by_topic_v3_and_below.items = tout;
    resp->results_by_topic_v3_and_below.count = tcount;
}

/* Marks partitions the metadata lacks UNKNOWN_TOPIC_OR_PARTITION and the
   rest OPERATION_NOT_ATTEMPTED; false when every one exists. */
static bool results_unknown(rn_core_t *core, rn_add_partitions_to_txn_response_t *resp) {
    rn_image_t *img = rn_topics_image(core->node);
    bool any = false;
    for (int32_t t = 0; t < resp->results_by_topic_v3_and_below.count; t++) {
        topic_out_t *tout = &resp->results_by_topic_v3_and_below.items[t];
        const rn_image_topic_t *it =
            tout->name.len > 0 ? rn_image_topic(img, tout->name.ptr, (size_t)tout->name.len) : NULL;
        for (int32_t i = 0; i < tout->results_by_partition.count; i++) {
            part_out_t *p = &tout->results_by_partition.items[i];
            bool known = it && p->partition_index >= 0 && p->partition_index < it->partition_count;
            p->partition_error_code =
                known ? RN_KERR_OPERATION_NOT_ATTEMPTED : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
            any |= !known;
        }
    }
    rn_image_release(img);
    return any;
}

static void add_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t pid,
                     int16_t epoch) {
    (void)pid, (void)epoch;
    add_state_t *st = (add_state_t *)((char *)w - offsetof(add_state_t, waiter));
    st->error_code = store_err != RN_OK ? rn_handler_txn_store_kerr(store_err) : error_code;
    rn_txnop_reply(&st->top);
}

static void add_run(rn_txnop_t *top, rn_txn_coord_t *coord, rn_node_t *node) {
    add_state_t *st = top->ctx;
    const rn_add_partitions_to_txn_request_t *in = st->in;
    rn_txn_add_partitions(coord, in->v3_and_below_transactional_id, in->v3_and_below_producer_id,
                          in->v3_and_below_producer_epoch, st->parts, st->count, &st->waiter,
                          rn_txn_now_ms(node));
}

static void add_finish(rn_txnops_t *ops) {
    add_state_t *st = ops->ctx;
    rn_add_partitions_to_txn_response_t *resp = ops->resp;
    int16_t kerr =
        rn_txnops_fenced_kerr(st->error_code, ops->req->api_version, ADD_PARTITIONS_FENCED_VERSION);
    for (int32_t t = 0; t < resp->results_by_topic_v3_and_below.count; t++) {
        topic_out_t *tout = &resp->results_by_topic_v3_and_below.items[t];
        for (int32_t i = 0; i < tout->results_by_partition.count; i++)
            tout->results_by_partition.items[i].partition_error_code = kerr;
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

void rn_handle_add_partitions_to_txn(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_add_partitions_to_txn_request_t *in = body;
    rn_add_partitions_to_txn_response_t *resp = rn_handler_response_new(req);
    const topics_in_t *topics = &in->v3_and_below_topics;
    add_state_t *st = rn_arena_alloc(&req->arena, sizeof *st);
    RN_ASSERT(st != NULL);
    *st = (add_state_t){.in = in};
    results_fill(req, topics, resp, RN_KERR_NONE);
    if (results_unknown(core, resp)) {
        rn_handler_respond(req, resp);
        return;
    }
    parts_copy(req, topics, st);
    st->top.ctx = st;
    st->waiter.done = add_done;
    rn_txnops_t *ops = rn_txnops_begin(core, req, resp);
    ops->finish = add_finish;
    ops->ctx = st;
    int16_t kerr = rn_txnops_send(ops, &st->top, in->v3_and_below_transactional_id, add_run);
    if (kerr != RN_KERR_NONE) st->error_code = kerr; /* else the op answers */
    rn_txnops_end(ops);
}
