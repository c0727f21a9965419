/*
 * offset_for_leader_epoch.c: OffsetForLeaderEpoch (key 23): where a leader
 * epoch ended in the partition's log, from its leader-epoch cache
 * (storage/epoch_cache.h), on the partition's owner core. The Java consumer
 * uses it to validate its position after a change of leader; a follower
 * finds with it where to truncate.
 */
#include "handlers/part_ops.h"
#include "proto/gen/offset_for_leader_epoch_request.h"
#include "proto/gen/offset_for_leader_epoch_response.h"

static void epoch_end_run(rn_part_op_t *op) {
    rn_pop_t *pop = (rn_pop_t *)op;
    const rn_offset_for_leader_epoch_request_offset_for_leader_partition_t *in = pop->in;
    rn_offset_for_leader_epoch_response_epoch_end_offset_t *out = pop->out;
    rn_partition_t *part = op->part;
    out->error_code = rn_handler_check_epoch(part, in->current_leader_epoch);
    if (out->error_code == RN_KERR_NONE)
        rn_log_epoch_end(part->log, in->leader_epoch, part->leader_epoch, &out->leader_epoch,
                         &out->end_offset);
    rn_fanout_reply(op);
}

void rn_handle_offset_for_leader_epoch(rn_core_t *core, rn_req_t *req, void *body) {
    rn_offset_for_leader_epoch_request_t *in = body;
    rn_offset_for_leader_epoch_response_t *resp = rn_handler_response_new(req);
    rn_pop_batch_t *batch = rn_pop_batch_begin(core, req, resp);
    int32_t topic_count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = topic_count;
    resp->topics.items = rn_pop_alloc(req, (size_t)topic_count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < topic_count; t++) {
        const rn_offset_for_leader_epoch_request_offset_for_leader_topic_t *topic =
            &in->topics.items[t];
        rn_offset_for_leader_epoch_response_offset_for_leader_topic_result_t *tout =
            &resp->topics.items[t];
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        tout->topic = topic->topic;
        tout->partitions.count = count;
        tout->partitions.items = rn_pop_alloc(req, (size_t)count * sizeof *tout->partitions.items);
        for (int32_t p = 0; p < count; p++) {
            const rn_offset_for_leader_epoch_request_offset_for_leader_partition_t *pin =
                &topic->partitions.items[p];
            rn_offset_for_leader_epoch_response_epoch_end_offset_t *pout =
                &tout->partitions.items[p];
            rn_offset_for_leader_epoch_response_epoch_end_offset_init(pout);
            pout->partition = pin->partition;
            if (!rn_pop_send(batch, topic->topic, pin->partition, pin, pout, epoch_end_run))
                pout->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
    rn_pop_batch_end(batch);
}
