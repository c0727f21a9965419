/*
 * describe_producers.c: DescribeProducers (key 61), version 0: the active
 * producers of each partition this node leads (id, epoch, last sequence,
 * last timestamp, the first offset of its ongoing transaction here), read
 * on the partition's owner core. NOT_LEADER_OR_FOLLOWER where another
 * broker leads, UNKNOWN_TOPIC_OR_PARTITION for a partition that does not
 * exist. The coordinator epoch of a producer's last marker is not kept
 * (-1). Owner cores gather on the heap; the request's core moves it into
 * the answer.
 */
#include "handlers/part_ops.h"
#include "base/assert.h"
#include "partition/txns.h"
#include "proto/gen/describe_producers_request.h"
#include "proto/gen/describe_producers_response.h"

#include <stdlib.h>
#include <string.h>

typedef rn_describe_producers_response_producer_state_t producer_out_t;
typedef rn_describe_producers_response_partition_response_t part_out_t;

typedef struct gather {
    rn_partition_t *part;
    producer_out_t *items;
    int32_t count;
} gather_t;

static void gather_one(void *ctx, int64_t producer_id, int16_t epoch, int32_t last_sequence,
                       int64_t last_timestamp_ms) {
    gather_t *g = ctx;
    producer_out_t *out = &g->items[g->count++];
    out->producer_id = producer_id;
    out->producer_epoch = epoch;
    out->last_sequence = last_sequence;
    out->last_timestamp = last_timestamp_ms;
    out->coordinator_epoch = -1;
    out->current_txn_start_offset = rn_txns_ongoing_first(g->part->txns, producer_id);
}

/* On the owner core. */
static void describe_producers_run(rn_part_op_t *op) {
    rn_pop_t *pop = (rn_pop_t *)op;
    part_out_t *out = pop->out;
    rn_partition_t *part = op->part;
    out->error_code =
        part->role == RN_PARTITION_LEADER ? RN_KERR_NONE : RN_KERR_NOT_LEADER_OR_FOLLOWER;
    if (out->error_code == RN_KERR_NONE) {
        gather_t g = {part, NULL, 0};
        g.items = calloc((size_t)rn_producer_state_count(part->producers) + 1, sizeof *g.items);
        RN_ASSERT(g.items != NULL);
        rn_producer_state_each(part->producers, gather_one, &g);
        out->active_producers.items = g.items; /* heap until finish */
        out->active_producers.count = g.count;
    }
    rn_fanout_reply(op);
}

static void describe_producers_finish(rn_pop_batch_t *batch) {
    rn_describe_producers_response_t *resp = batch->resp;
    for (int32_t t = 0; t < resp->topics.count; t++) {
        for (int32_t p = 0; p < resp->topics.items[t].partitions.count; p++) {
            part_out_t *out = &resp->topics.items[t].partitions.items[p];
            producer_out_t *heap = out->active_producers.items;
            if (!heap) continue;
            size_t bytes = (size_t)out->active_producers.count * sizeof *heap;
            out->active_producers.items = rn_pop_alloc(batch->req, bytes);
            if (bytes) memcpy(out->active_producers.items, heap, bytes);
            free(heap);
        }
    }
}

void rn_handle_describe_producers(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_producers_request_t *in = body;
    rn_describe_producers_response_t *resp = rn_handler_response_new(req);
    rn_pop_batch_t *batch = rn_pop_batch_begin(core, req, resp);
    batch->lead_only = true;
    batch->finish = describe_producers_finish;
    int32_t topic_count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = topic_count;
    resp->topics.items = rn_pop_alloc(req, (size_t)topic_count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < topic_count; t++) {
        const rn_describe_producers_request_topic_request_t *topic = &in->topics.items[t];
        rn_describe_producers_response_topic_response_t *tout = &resp->topics.items[t];
        int32_t count = topic->partition_indexes.count > 0 ? topic->partition_indexes.count : 0;
        tout->name = topic->name;
        tout->partitions.count = count;
        tout->partitions.items = rn_pop_alloc(req, (size_t)count * sizeof *tout->partitions.items);
        for (int32_t p = 0; p < count; p++) {
            int32_t index = topic->partition_indexes.items[p];
            part_out_t *pout = &tout->partitions.items[p];
            rn_describe_producers_response_partition_response_init(pout);
            pout->partition_index = index;
            pout->active_producers =
                (rn_describe_producers_response_producer_state_array_t){NULL, 0};
            if (!rn_pop_send(batch, topic->name, index, NULL, pout, describe_producers_run))
                pout->error_code = rn_pop_refusal(batch, topic->name, index);
        }
    }
    rn_pop_batch_end(batch);
}
