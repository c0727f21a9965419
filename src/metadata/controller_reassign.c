/*
 * controller_reassign.c: partition reassignments planned on the image (see
 * controller_reassign.h for the rules).
 *
 * Pure: reads an image, appends records, does no I/O and reads no clock.
 */
#include "metadata/controller_reassign.h"
#include "base/assert.h"
#include "metadata/controller_int.h"

#include <string.h>

/* A replica list: ids in order. */
typedef struct ids {
    int16_t count;
    int32_t items[RN_REPLICAS_MAX * 2];
} ids_t;

static bool ids_has(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t n = 0; n < count; n++)
        if (ids[n] == id) return true;
    return false;
}

/* The members of a that are (in_b) or are not (!in_b) in b, in a's order. */
static void ids_filter(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count,
                       bool in_b, ids_t *out) {
    out->count = 0;
    for (int32_t n = 0; n < a_count; n++)
        if (ids_has(b, b_count, a[n]) == in_b) out->items[out->count++] = a[n];
}

/* The partition's state as one PartitionChangeRecord will set it. */
typedef struct reassign_state {
    ids_t replicas, isr, removing, adding;
    int32_t leader;
} reassign_state_t;

/* The leader after the change: the current one while it stays in the ISR
   and may lead, else the first usable ISR member in `order`; -1: none. */
static int32_t reassign_leader(const rn_image_t *img, const rn_image_partition_t *part,
                               const ids_t *order, const ids_t *isr) {
    if (part->leader >= 0 && ids_has(isr->items, isr->count, part->leader) &&
        ids_has(order->items, order->count, part->leader))
        return part->leader;
    for (int16_t n = 0; n < order->count; n++) {
        int32_t id = order->items[n];
        if (ids_has(isr->items, isr->count, id) && rn_image_broker_usable(rn_image_broker(img, id)))
            return id;
    }
    return -1;
}

/* Finished: the replicas are the target, the ISR its members in it. */
static bool reassign_finish(const rn_image_t *img, const rn_image_partition_t *part,
                            const ids_t *target, const ids_t *isr, reassign_state_t *st) {
#if RN_CTL_MUTANT == RN_CTL_MUTANT_REASSIGN_BEFORE_SYNC
    /* planted bug: the target's members need not be in sync */
    ids_t kept;
    ids_filter(isr->items, isr->count, target->items, target->count, true, &kept);
    if (kept.count == 0) return false;
#else
    for (int16_t n = 0; n < target->count; n++)
        if (!ids_has(isr->items, isr->count, target->items[n])) return false;
    ids_t kept;
    ids_filter(isr->items, isr->count, target->items, target->count, true, &kept);
#endif
    int32_t leader = reassign_leader(img, part, target, &kept);
    if (leader < 0 && part->leader >= 0) return false; /* no one in the target may lead yet */
    memset(st, 0, sizeof *st);
    st->replicas = *target;
    st->isr = kept;
    st->leader = leader;
    return true;
}

static rn_err_t reassign_record(const rn_image_topic_t *topic, int32_t index,
                                const reassign_state_t *st, rn_md_batch_t *batch) {
    const rn_image_partition_t *part = &topic->partitions[index];
    RN_ASSERT(st->replicas.count >= 1 && st->replicas.count <= RN_REPLICAS_MAX);
    RN_ASSERT(st->isr.count >= 1 || part->isr_count == 0);
    rn_md_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = RN_MD_PARTITION_CHANGE;
    rn_md_partition_change_record_t *pc = &rec.u.partition_change;
    pc->topic_id = topic->id;
    pc->partition = index;
    pc->leader = st->leader == part->leader ? RN_MD_LEADER_NO_CHANGE : st->leader;
    pc->replica_count = st->replicas.count;
    memcpy(pc->replicas, st->replicas.items, (size_t)st->replicas.count * sizeof(int32_t));
    pc->isr_count = st->isr.count;
    memcpy(pc->isr, st->isr.items, (size_t)st->isr.count * sizeof(int32_t));
    pc->sets_moving = true;
    pc->moving.removing_count = st->removing.count;
    memcpy(pc->moving.removing, st->removing.items, (size_t)st->removing.count * sizeof(int32_t));
    pc->moving.adding_count = st->adding.count;
    memcpy(pc->moving.adding, st->adding.items, (size_t)st->adding.count * sizeof(int32_t));
    return rn_md_batch_add(batch, &rec);
}

/* The target's own checks, as Kafka's manual assignment checks. */
static int16_t reassign_check_target(const rn_image_t *img, const rn_ctl_reassign_partition_t *p,
                                     rn_ctl_result_t *res) {
    if (p->replica_count <= 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The manual partition assignment includes an empty replica list.");
        return res->error_code;
    }
    if (p->replica_count > RN_REPLICAS_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The manual partition assignment names %d replicas, more than this "
                          "broker's limit of %d.",
                          p->replica_count, RN_REPLICAS_MAX);
        return res->error_code;
    }
    for (int32_t n = 0; n < p->replica_count; n++) {
        if (ids_has(p->replicas, n, p->replicas[n])) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                              "The manual partition assignment includes the broker %d more than "
                              "once.",
                              p->replicas[n]);
            return res->error_code;
        }
        if (!rn_image_broker(img, p->replicas[n])) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                              "The manual partition assignment includes broker %d, but no such "
                              "broker is registered.",
                              p->replicas[n]);
            return res->error_code;
        }
    }
    return RN_KERR_NONE;
}

/* The state a new target (or, target == orig, a cancel) leads to. */
static int16_t reassign_state(const rn_image_t *img, const rn_image_partition_t *part,
                              const ids_t *target, reassign_state_t *st, rn_ctl_result_t *res) {
    ids_t orig;
    orig.count = rn_image_partition_pick(part, ~part->adding_mask, orig.items);
    memset(st, 0, sizeof *st);
    ids_filter(target->items, target->count, orig.items, orig.count, false, &st->adding);
    ids_filter(orig.items, orig.count, target->items, target->count, false, &st->removing);
    if (target->count + st->removing.count > RN_REPLICAS_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The reassignment would hold %d replicas at once, more than this "
                          "broker's limit of %d.",
                          target->count + st->removing.count, RN_REPLICAS_MAX);
        return res->error_code;
    }
    st->replicas = *target;
    for (int16_t n = 0; n < st->removing.count; n++)
        st->replicas.items[st->replicas.count++] = st->removing.items[n];
    ids_filter(part->isr, part->isr_count, st->replicas.items, st->replicas.count, true, &st->isr);
    if (st->isr.count == 0 && part->isr_count > 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The change would leave the partition without an in-sync replica: "
                          "every member of its ISR is a replica being added.");
        return res->error_code;
    }
    reassign_state_t done;
    if (st->adding.count == 0 && reassign_finish(img, part, target, &st->isr, &done)) {
        *st = done;
        return RN_KERR_NONE;
    }
    /* The leader stays unless it was a replica being added that a cancel
       drops; then a usable ISR member, or none until one is unfenced. */
    st->leader = reassign_leader(img, part, &st->replicas, &st->isr);
    return RN_KERR_NONE;
}

/* Whether st changes nothing of part. */
static bool reassign_same(const rn_image_partition_t *part, const reassign_state_t *st) {
    if (rn_image_partition_moving(part) || st->adding.count || st->removing.count) return false;
    return st->replicas.count == part->replica_count &&
           memcmp(st->replicas.items, part->replicas,
                  (size_t)part->replica_count * sizeof(int32_t)) == 0;
}

static rn_err_t plan_one(const rn_image_t *img, const rn_image_topic_t *topic,
                         const rn_ctl_reassign_partition_t *p, rn_ctl_result_t *res,
                         rn_md_batch_t *batch) {
    const rn_image_partition_t *part = &topic->partitions[p->partition];
    ids_t target;
    if (!p->replicas) {
        if (!rn_image_partition_moving(part)) {
            rn_ctl_result_set(res, RN_KERR_NO_REASSIGNMENT_IN_PROGRESS,
                              "No reassignment is in progress for %s-%d.", topic->name,
                              p->partition);
            return RN_OK;
        }
        target.count = rn_image_partition_pick(part, ~part->adding_mask, target.items);
    } else {
        if (reassign_check_target(img, p, res) != RN_KERR_NONE) return RN_OK;
        target.count = (int16_t)p->replica_count;
        memcpy(target.items, p->replicas, (size_t)p->replica_count * sizeof(int32_t));
    }
    reassign_state_t st;
    if (reassign_state(img, part, &target, &st, res) != RN_KERR_NONE) return RN_OK;
    if (reassign_same(part, &st)) return RN_OK;
    return reassign_record(topic, p->partition, &st, batch);
}

int32_t rn_ctl_reassign_partition_total(const rn_ctl_reassign_request_t *req) {
    int32_t total = 0;
    for (int32_t t = 0; t < req->topic_count; t++) total += req->topics[t].count;
    return total;
}

rn_err_t rn_ctl_plan_reassign(const rn_image_t *img, const rn_ctl_reassign_request_t *req,
                              rn_ctl_result_t *results, rn_md_batch_t *batch) {
    RN_ASSERT(!req->automatic);
    RN_ASSERT(req->topic_count >= 0);
    /* A partition named twice is decided twice on the same image, as
       Kafka's controller does: both records apply, the last one wins. */
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    int32_t at = 0;
    for (int32_t t = 0; t < req->topic_count; t++) {
        const rn_ctl_reassign_topic_t *rt = &req->topics[t];
        const rn_image_topic_t *topic =
            rt->name.len > 0 ? rn_image_topic(img, rt->name.ptr, (size_t)rt->name.len) : NULL;
        for (int32_t i = 0; i < rt->count; i++) {
            const rn_ctl_reassign_partition_t *p = &rt->partitions[i];
            rn_ctl_result_t *res = &results[at++];
            rn_ctl_result_set(res, RN_KERR_NONE, NULL);
            if (!topic || p->partition < 0 || p->partition >= topic->partition_count) {
                rn_ctl_result_set(res, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                                  "Unable to find partition %.*s-%d.", (int)rt->name.len,
                                  rt->name.len > 0 ? rt->name.ptr : "", p->partition);
                continue;
            }
            rn_err_t err = plan_one(img, topic, p, res, batch);
            if (err != RN_OK) {
                batch->buf.len = len;
                batch->count = count;
                return err;
            }
        }
    }
    return RN_OK;
}

rn_err_t rn_ctl_plan_reassign_progress(const rn_image_t *img, int32_t max_changes,
                                       rn_md_batch_t *batch, int32_t *completed, bool *more) {
    RN_ASSERT(max_changes > 0);
    *completed = 0;
    *more = false;
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            if (!rn_image_partition_moving(part)) continue;
            ids_t target, isr;
            target.count = rn_image_partition_target(part, target.items);
            isr.count = part->isr_count;
            memcpy(isr.items, part->isr, (size_t)part->isr_count * sizeof(int32_t));
            reassign_state_t st;
            if (!reassign_finish(img, part, &target, &isr, &st)) continue;
            if (*completed == max_changes) {
                *more = true;
                return RN_OK;
            }
            rn_err_t err = reassign_record(topic, p, &st, batch);
            if (err != RN_OK) return err;
            (*completed)++;
        }
    }
    return RN_OK;
}
