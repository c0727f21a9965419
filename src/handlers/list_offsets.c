/*
 * list_offsets.c: ListOffsets (key 2): earliest (-2), latest (-1: the high
 * watermark, or for read_committed, v2+ isolation level 1, the last stable
 * offset), or the first offset whose timestamp is at least the one asked
 * (time index, then a scan of one batch) below that same bound, as Kafka
 * answers. Newer versions add the largest timestamp (-3, v7+), the local
 * log start (-4, v8+: the log start, with no tiered storage), the latest
 * tiered offset (-5, v9+: none) and the earliest offset pending upload to
 * tiered storage (-6, v11+: none); v10's timeout is for tiered storage.
 */
#include "handlers/part_ops.h"
#include "proto/gen/list_offsets_request.h"
#include "proto/gen/list_offsets_response.h"

#define LIST_OFFSETS_LATEST (-1)
#define LIST_OFFSETS_EARLIEST (-2)
#define LIST_OFFSETS_MAX_TIMESTAMP (-3)
#define LIST_OFFSETS_EARLIEST_LOCAL (-4)
#define LIST_OFFSETS_LATEST_TIERED (-5)
#define LIST_OFFSETS_EARLIEST_PENDING_UPLOAD (-6)

/* The version that introduced a special timestamp (-1 and -2: every one);
   INT16_MAX for one no version knows. */
static int16_t list_offsets_since(int64_t timestamp) {
    switch (timestamp) {
    case LIST_OFFSETS_LATEST:
    case LIST_OFFSETS_EARLIEST:
        return 0;
    case LIST_OFFSETS_MAX_TIMESTAMP:
        return 7;
    case LIST_OFFSETS_EARLIEST_LOCAL:
        return 8;
    case LIST_OFFSETS_LATEST_TIERED:
        return 9;
    case LIST_OFFSETS_EARLIEST_PENDING_UPLOAD:
        return 11;
    default:
        return INT16_MAX;
    }
}

/* The offset and timestamp of a lookup that found one below end (the
   bound of what this reader may see), else none (-1, -1). */
static void list_offsets_found(rn_list_offsets_response_list_offsets_partition_response_t *out,
                               rn_err_t err, int64_t offset, int64_t timestamp, int64_t end) {
    if (err == RN_OK && offset < end) {
        out->offset = offset;
        out->timestamp = timestamp;
    } else if (err == RN_OK || err == RN_ERR_NOT_FOUND) {
        out->offset = -1;
    } else {
        out->error_code = rn_handler_kerr(err);
        out->offset = -1;
    }
}

int16_t rn_handler_check_epoch(const rn_partition_t *part, int32_t current_leader_epoch) {
    if (current_leader_epoch < 0 || current_leader_epoch == part->leader_epoch) return RN_KERR_NONE;
    return current_leader_epoch > part->leader_epoch ? RN_KERR_UNKNOWN_LEADER_EPOCH
                                                     : RN_KERR_FENCED_LEADER_EPOCH;
}

static void list_offsets_run(rn_part_op_t *op) {
    rn_pop_t *pop = (rn_pop_t *)op;
    const rn_list_offsets_request_list_offsets_partition_t *in = pop->in;
    rn_list_offsets_response_list_offsets_partition_response_t *out = pop->out;
    rn_partition_t *part = op->part;
    out->error_code = rn_handler_check_epoch(part, in->current_leader_epoch);
    out->leader_epoch = part->leader_epoch;
    out->timestamp = -1;
    const rn_pop_batch_t *batch = (rn_pop_batch_t *)op->fan;
    const rn_list_offsets_request_t *req_in = batch->body;
    bool committed = req_in->isolation_level == 1;
    int64_t end = committed ? rn_partition_lso(part) : rn_partition_hw(part);
    int64_t offset = -1, timestamp = -1;
    if (out->error_code != RN_KERR_NONE) {
        out->offset = -1;
    } else if (in->timestamp < 0 && list_offsets_since(in->timestamp) > batch->req->api_version) {
        out->error_code = RN_KERR_UNSUPPORTED_VERSION; /* a newer version's, or none */
        out->offset = -1;
    } else if (in->timestamp == LIST_OFFSETS_LATEST) {
        out->offset = end;
    } else if (in->timestamp == LIST_OFFSETS_EARLIEST ||
               in->timestamp == LIST_OFFSETS_EARLIEST_LOCAL) {
        out->offset = rn_partition_start(part);
    } else if (in->timestamp == LIST_OFFSETS_LATEST_TIERED ||
               in->timestamp == LIST_OFFSETS_EARLIEST_PENDING_UPLOAD) {
        out->offset = -1; /* nothing is tiered: none, with no epoch, as Kafka answers */
        out->leader_epoch = -1;
    } else if (in->timestamp == LIST_OFFSETS_MAX_TIMESTAMP) {
        rn_err_t err = rn_log_max_timestamp(part->log, &offset, &timestamp);
        list_offsets_found(out, err, offset, timestamp, end);
    } else {
        rn_err_t err = rn_log_offset_for_timestamp(part->log, in->timestamp, &offset, &timestamp);
        list_offsets_found(out, err, offset, timestamp, end);
    }
    if (out->error_code != RN_KERR_NONE) out->leader_epoch = -1; /* as Kafka answers */
    rn_fanout_reply(op);
}

void rn_handle_list_offsets(rn_core_t *core, rn_req_t *req, void *body) {
    rn_list_offsets_request_t *in = body;
    rn_list_offsets_response_t *resp = rn_handler_response_new(req);
    rn_pop_batch_t *batch = rn_pop_batch_begin(core, req, resp);
    batch->lead_only = true; /* as Kafka: offsets come from the leader */
    batch->body = in;
    int32_t topic_count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = topic_count;
    resp->topics.items = rn_pop_alloc(req, (size_t)topic_count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < topic_count; t++) {
        const rn_list_offsets_request_list_offsets_topic_t *topic = &in->topics.items[t];
        rn_list_offsets_response_list_offsets_topic_response_t *tout = &resp->topics.items[t];
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        tout->name = topic->name;
        tout->partitions.count = count;
        tout->partitions.items = rn_pop_alloc(req, (size_t)count * sizeof *tout->partitions.items);
        for (int32_t p = 0; p < count; p++) {
            const rn_list_offsets_request_list_offsets_partition_t *pin =
                &topic->partitions.items[p];
            rn_list_offsets_response_list_offsets_partition_response_t *pout =
                &tout->partitions.items[p];
            rn_list_offsets_response_list_offsets_partition_response_init(pout);
            pout->partition_index = pin->partition_index;
            if (!rn_pop_send(batch, topic->name, pin->partition_index, pin, pout,
                             list_offsets_run)) {
                pout->error_code = rn_pop_refusal(batch, topic->name, pin->partition_index);
                pout->offset = -1;
                pout->timestamp = -1;
            }
        }
    }
    rn_pop_batch_end(batch);
}
