/*
 * controller_isr.c: the controller's decision on a partition leader's ISR
 * changes (AlterPartition; see controller.h): each change checked against
 * the image as Kafka's controller checks it, in its order, and an accepted
 * change turned into one PartitionChangeRecord of the ISR alone.
 *
 * Pure: reads an image, appends records, does no I/O and reads no clock.
 * It never moves leadership: the ISR must hold the sender, which leads.
 */
#include "base/assert.h"
#include "metadata/controller_int.h"

#include <string.h>

static bool isr_has(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++) {
        if (ids[n] == id) return true;
    }
    return false;
}

/* The partition as it stands, under code. */
static void result_of(const rn_image_partition_t *part, int16_t code, rn_ctl_isr_result_t *res) {
    RN_ASSERT(part->isr_count >= 0 && part->isr_count <= RN_REPLICAS_MAX);
    memset(res, 0, sizeof(*res));
    res->error_code = code;
    res->leader = part->leader;
    res->leader_epoch = part->leader_epoch;
    res->partition_epoch = part->partition_epoch;
    res->isr_count = part->isr_count;
    memcpy(res->isr, part->isr, (size_t)part->isr_count * sizeof(int32_t));
}

/* No such partition: nothing to say about it but code. */
static void result_none(int16_t code, rn_ctl_isr_result_t *res) {
    memset(res, 0, sizeof(*res));
    res->error_code = code;
    res->leader = -1;
    res->leader_epoch = -1;
    res->partition_epoch = -1;
}

/* Replicas.validateIsr: distinct members, each a replica (an empty list
   passes here and fails the leader check that follows, as in Kafka). */
static bool isr_shape_ok(const rn_image_partition_t *part, const rn_ctl_isr_change_t *c) {
    if (c->isr_count < 0 || c->isr_count > RN_REPLICAS_MAX) return false; /* RN_CTL_ISR_TOO_LONG */
    for (int16_t n = 0; n < c->isr_count; n++) {
        if (!isr_has(part->replicas, part->replica_count, c->isr[n])) return false;
        if (isr_has(c->isr, n, c->isr[n])) return false;
    }
    return true;
}

/* KIP-903: every member must be registered, unfenced, not shutting down,
   and, when the leader names its broker epoch, registered with that one. */
static bool isr_eligible(const rn_image_t *img, const rn_ctl_isr_change_t *c) {
    for (int16_t n = 0; n < c->isr_count; n++) {
        const rn_image_broker_t *broker = rn_image_broker(img, c->isr[n]);
        if (!broker || broker->in_controlled_shutdown || broker->fenced) return false;
        int64_t epoch = c->isr_broker_epochs[n];
        if (epoch != -1 && epoch != broker->epoch) return false;
    }
    return true;
}

/* Kafka's validateAlterPartitionData after the partition is found. */
static int16_t change_code(const rn_image_t *img, int32_t sender, const rn_image_partition_t *part,
                           const rn_ctl_isr_change_t *c) {
    if (c->leader_epoch > part->leader_epoch || c->partition_epoch > part->partition_epoch)
        return RN_KERR_NOT_CONTROLLER; /* newer than this controller's image */
    if (c->leader_epoch < part->leader_epoch) return RN_KERR_FENCED_LEADER_EPOCH;
    if (sender != part->leader) return RN_KERR_INVALID_REQUEST;
    if (c->partition_epoch < part->partition_epoch) return RN_KERR_INVALID_UPDATE_VERSION;
    if (!isr_shape_ok(part, c) || !isr_has(c->isr, c->isr_count, part->leader))
        return RN_KERR_INVALID_REQUEST;
    if (c->leader_recovery_state != 0) return RN_KERR_INVALID_REQUEST;
    if (!isr_eligible(img, c)) return RN_KERR_INELIGIBLE_REPLICA;
    return RN_KERR_NONE;
}

static rn_err_t isr_record(const rn_ctl_isr_change_t *c, rn_md_batch_t *batch) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rn_md_partition_change_record_t *pc = &rec.u.partition_change;
    pc->topic_id = c->topic_id;
    pc->partition = c->partition;
    pc->leader = RN_MD_LEADER_NO_CHANGE;
    pc->replica_count = RN_MD_LIST_NO_CHANGE;
    pc->isr_count = c->isr_count;
    memcpy(pc->isr, c->isr, (size_t)c->isr_count * sizeof(int32_t));
    return rn_md_batch_add(batch, &rec);
}

/* One change: its result, and its record when it is accepted and alters
   the ISR (the result then shows the partition after it). */
static rn_err_t plan_change(const rn_image_t *img, const rn_ctl_isr_request_t *req, int32_t index,
                            rn_ctl_isr_result_t *res, rn_md_batch_t *batch) {
    const rn_ctl_isr_change_t *c = &req->changes[index];
    /* A partition named twice is decided twice on the same image, as
       Kafka's controller does: both records apply, the last one wins. */
    const rn_image_topic_t *topic = rn_image_topic_by_id(img, &c->topic_id);
    if (!topic) {
        result_none(RN_KERR_UNKNOWN_TOPIC_ID, res);
        return RN_OK;
    }
    if (c->partition < 0 || c->partition >= topic->partition_count) {
        result_none(RN_KERR_UNKNOWN_TOPIC_OR_PARTITION, res);
        return RN_OK;
    }
    const rn_image_partition_t *part = &topic->partitions[c->partition];
    int16_t code = change_code(img, req->broker_id, part, c);
    result_of(part, code, res);
    bool same = c->isr_count == part->isr_count &&
                memcmp(c->isr, part->isr, (size_t)c->isr_count * sizeof(int32_t)) == 0;
    if (code != RN_KERR_NONE || same) return RN_OK;
    rn_err_t err = isr_record(c, batch);
    if (err != RN_OK) return err;
    rn_image_partition_t after = *part; /* as the image applies the record */
    after.partition_epoch = part->partition_epoch + 1;
    after.isr_count = c->isr_count;
    memcpy(after.isr, c->isr, (size_t)c->isr_count * sizeof(int32_t));
    result_of(&after, RN_KERR_NONE, res);
    return RN_OK;
}

rn_err_t rn_ctl_plan_alter_partition(const rn_image_t *img, const rn_ctl_isr_request_t *req,
                                     rn_ctl_isr_result_t *results, rn_md_batch_t *batch) {
    RN_ASSERT(req->count >= 0 && req->count <= RN_ISR_CHANGES_MAX);
    RN_ASSERT(req->count == 0 || (req->changes != NULL && results != NULL));
    const rn_image_broker_t *sender = rn_image_broker(img, req->broker_id);
    if (!sender || sender->epoch != req->broker_epoch) {
        for (int32_t n = 0; n < req->count; n++)
            result_none(RN_KERR_STALE_BROKER_EPOCH, &results[n]);
        return RN_ERR_STALE;
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    for (int32_t n = 0; n < req->count; n++) {
        rn_err_t err = plan_change(img, req, n, &results[n], batch);
        if (err != RN_OK) {
            batch->buf.len = len;
            batch->count = count;
            return err;
        }
    }
    return RN_OK;
}

void rn_ctl_isr_results_from(const rn_image_t *img, const rn_ctl_isr_request_t *req,
                             rn_ctl_isr_result_t *results) {
    for (int32_t n = 0; n < req->count; n++) {
        if (results[n].error_code != RN_KERR_NONE) continue;
        const rn_ctl_isr_change_t *c = &req->changes[n];
        const rn_image_topic_t *topic = rn_image_topic_by_id(img, &c->topic_id);
        /* A later entry applied in the same step may have removed it (the
           change landed through another leader): the planned state stays. */
        if (topic && c->partition < topic->partition_count)
            result_of(&topic->partitions[c->partition], RN_KERR_NONE, &results[n]);
    }
}
