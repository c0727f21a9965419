/*
 * write_txn_markers.c: WriteTxnMarkers (key 27), versions 0-1: a
 * transaction coordinator asks this broker to end transactions in the
 * partitions it leads. Each partition's marker goes through
 * cluster/markers.h (the path the local coordinator uses too) and is
 * answered once on every in-sync replica. As Kafka 3.9 without an
 * authorizer, any client may send it.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/markers.h"
#include "cluster/topics.h"
#include "proto/gen/write_txn_markers_request.h"
#include "proto/gen/write_txn_markers_response.h"

#include <string.h>

typedef rn_write_txn_markers_response_writable_txn_marker_result_t marker_out_t;
typedef rn_write_txn_markers_response_writable_txn_marker_topic_result_t topic_out_t;
typedef rn_write_txn_markers_response_writable_txn_marker_partition_result_t part_out_t;

typedef struct markers_state {
    rn_markers_t markers; /* first */
    rn_req_t *req;
    rn_write_txn_markers_response_t *resp;
    part_out_t **outs; /* outs[i]: the answer of items[i] */
} markers_state_t;

static int32_t count_items(const rn_write_txn_markers_request_t *in) {
    int32_t n = 0;
    for (int32_t m = 0; m < in->markers.count; m++)
        for (int32_t t = 0; t < in->markers.items[m].topics.count; t++)
            n += in->markers.items[m].topics.items[t].partition_indexes.count;
    return n;
}

/* The response's shape and one item per partition, pointing at its answer. */
static void markers_plan(rn_req_t *req, const rn_write_txn_markers_request_t *in,
                         markers_state_t *st) {
    rn_write_txn_markers_response_t *resp = st->resp;
    int32_t total = count_items(in);
    st->markers.items = rn_handler_alloc(req, (size_t)total * sizeof *st->markers.items);
    st->outs = rn_handler_alloc(req, (size_t)total * sizeof *st->outs);
    memset(st->markers.items, 0, (size_t)total * sizeof *st->markers.items);
    resp->markers.count = in->markers.count;
    resp->markers.items = rn_handler_alloc(req, (size_t)in->markers.count * sizeof(marker_out_t));
    for (int32_t m = 0; m < in->markers.count; m++) {
        const rn_write_txn_markers_request_writable_txn_marker_t *mk = &in->markers.items[m];
        marker_out_t *mout = &resp->markers.items[m];
        mout->producer_id = mk->producer_id;
        mout->topics.count = mk->topics.count;
        mout->topics.items = rn_handler_alloc(req, (size_t)mk->topics.count * sizeof(topic_out_t));
        for (int32_t t = 0; t < mk->topics.count; t++) {
            const rn_int32_array_t *ids = &mk->topics.items[t].partition_indexes;
            topic_out_t *tout = &mout->topics.items[t];
            tout->name = mk->topics.items[t].name;
            tout->partitions.count = ids->count;
            tout->partitions.items = rn_handler_alloc(req, (size_t)ids->count * sizeof(part_out_t));
            const char *topic = rn_handler_cstr(req, tout->name);
            RN_ASSERT(topic != NULL);
            for (int32_t i = 0; i < ids->count; i++) {
                part_out_t *pout = &tout->partitions.items[i];
                *pout = (part_out_t){ids->items[i], RN_KERR_NONE};
                rn_marker_item_t *item = &st->markers.items[st->markers.count];
                item->topic = topic;
                item->partition = ids->items[i];
                item->marker =
                    (rn_partition_marker_t){mk->producer_id, mk->producer_epoch,
                                            mk->transaction_result, mk->coordinator_epoch};
                st->outs[st->markers.count++] = pout;
            }
        }
    }
}

static void markers_done(rn_markers_t *markers) {
    markers_state_t *st = (markers_state_t *)markers;
    for (int32_t i = 0; i < markers->count; i++)
        st->outs[i]->error_code = rn_handler_kerr(markers->items[i].err);
    rn_handler_respond(st->req, st->resp);
}

void rn_handle_write_txn_markers(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_write_txn_markers_request_t *in = body;
    markers_state_t *st = rn_handler_alloc(req, sizeof *st);
    memset(st, 0, sizeof *st);
    st->req = req;
    st->resp = rn_handler_response_new(req);
    markers_plan(req, in, st);
    st->markers.done = markers_done;
    rn_markers_write(core, &st->markers);
}
