/*
 * delete_records.c: DeleteRecords (key 21): moves each partition's log
 * start offset up to the given offset (-1: the high watermark), deleting
 * the segments wholly below it. Offsets past the high watermark are
 * OFFSET_OUT_OF_RANGE, as in Kafka.
 */
#include "handlers/part_ops.h"
#include "proto/gen/delete_records_request.h"
#include "proto/gen/delete_records_response.h"

static void delete_records_run(rn_part_op_t *op) {
    rn_pop_t *pop = (rn_pop_t *)op;
    const rn_delete_records_request_delete_records_partition_t *in = pop->in;
    rn_delete_records_response_delete_records_partition_result_t *out = pop->out;
    rn_partition_t *part = op->part;
    int64_t hw = rn_partition_hw(part);
    int64_t offset = in->offset == -1 ? hw : in->offset;
    if (offset < 0 || offset > hw) {
        out->error_code = RN_KERR_OFFSET_OUT_OF_RANGE;
    } else {
        rn_err_t err = rn_partition_delete_records(part, offset);
        out->error_code = rn_handler_kerr(err);
    }
    out->low_watermark = out->error_code == RN_KERR_NONE ? rn_partition_start(part) : -1;
    rn_fanout_reply(op);
}

void rn_handle_delete_records(rn_core_t *core, rn_req_t *req, void *body) {
    rn_delete_records_request_t *in = body;
    rn_delete_records_response_t *resp = rn_handler_response_new(req);
    rn_pop_batch_t *batch = rn_pop_batch_begin(core, req, resp);
    int32_t topic_count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = topic_count;
    resp->topics.items = rn_pop_alloc(req, (size_t)topic_count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < topic_count; t++) {
        const rn_delete_records_request_delete_records_topic_t *topic = &in->topics.items[t];
        rn_delete_records_response_delete_records_topic_result_t *tout = &resp->topics.items[t];
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        tout->name = topic->name;
        tout->partitions.count = count;
        tout->partitions.items = rn_pop_alloc(req, (size_t)count * sizeof *tout->partitions.items);
        for (int32_t p = 0; p < count; p++) {
            const rn_delete_records_request_delete_records_partition_t *pin =
                &topic->partitions.items[p];
            rn_delete_records_response_delete_records_partition_result_t *pout =
                &tout->partitions.items[p];
            rn_delete_records_response_delete_records_partition_result_init(pout);
            pout->partition_index = pin->partition_index;
            if (!rn_pop_send(batch, topic->name, pin->partition_index, pin, pout,
                             delete_records_run)) {
                pout->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                pout->low_watermark = -1;
            }
        }
    }
    rn_pop_batch_end(batch);
}
