/*
 * controller_brokers.c: the controller's decisions on brokers: register,
 * fence, unfence, controlled shutdown, and the heartbeat leases that say
 * when to fence.
 *
 * Every plan reads an image and appends records; nothing here does I/O or
 * reads a clock. Leadership moves follow KRaft: a new leader is the first
 * replica, in replica order, that is in the ISR and usable (registered, not
 * fenced, not shutting down); a broker leaving leaves the ISR too, unless it
 * is the last member, in which case the partition keeps it and waits with
 * no leader rather than electing a replica that may lack committed data;
 * unless its topic sets unclean.leader.election.enable: then the first
 * usable replica leads, with an ISR of it alone (controller_elect.c).
 */
#include "base/assert.h"
#include "metadata/controller_int.h"

#include <string.h>

/* ---- leases ---- */

static int32_t lease_find(const rn_ctl_leases_t *leases, int32_t id) {
    int32_t lo = 0, hi = leases->count;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (leases->items[mid].broker_id == id) return mid;
        if (leases->items[mid].broker_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

void rn_ctl_leases_init(rn_ctl_leases_t *leases, const rn_image_t *img, int64_t now_ms) {
    memset(leases, 0, sizeof(*leases));
    for (int32_t n = 0; img && n < rn_image_broker_count(img); n++)
        rn_ctl_leases_touch(leases, rn_image_broker_at(img, n)->id, now_ms);
}

void rn_ctl_leases_touch(rn_ctl_leases_t *leases, int32_t broker_id, int64_t now_ms) {
    int32_t at = lease_find(leases, broker_id);
    if (at < 0) {
        at = -at - 1;
        RN_ASSERT(leases->count < RN_CTL_BROKERS_MAX); /* callers touch registered brokers */
        memmove(&leases->items[at + 1], &leases->items[at],
                (size_t)(leases->count - at) * sizeof(leases->items[0]));
        leases->count++;
        leases->items[at].broker_id = broker_id;
        leases->items[at].last_ms = now_ms;
    }
    if (now_ms > leases->items[at].last_ms) leases->items[at].last_ms = now_ms;
}

void rn_ctl_leases_forget(rn_ctl_leases_t *leases, int32_t broker_id) {
    int32_t at = lease_find(leases, broker_id);
    if (at < 0) return;
    memmove(&leases->items[at], &leases->items[at + 1],
            (size_t)(leases->count - at - 1) * sizeof(leases->items[0]));
    leases->count--;
}

bool rn_ctl_leases_live(const rn_ctl_leases_t *leases, int32_t broker_id, int64_t now_ms,
                        int64_t session_timeout_ms) {
    RN_ASSERT(session_timeout_ms > 0);
    int32_t at = lease_find(leases, broker_id);
#if RN_CTL_MUTANT == RN_CTL_MUTANT_LEASE_NEVER_EXPIRES
    return at >= 0;
#endif
    return at >= 0 && now_ms - leases->items[at].last_ms < session_timeout_ms;
}

int32_t rn_ctl_leases_expired(const rn_ctl_leases_t *leases, const rn_image_t *img, int64_t now_ms,
                              int64_t session_timeout_ms, int32_t *ids) {
    int32_t count = 0;
    for (int32_t n = 0; n < rn_image_broker_count(img); n++) {
        const rn_image_broker_t *broker = rn_image_broker_at(img, n);
        if (broker->fenced || rn_ctl_leases_live(leases, broker->id, now_ms, session_timeout_ms))
            continue;
        ids[count++] = broker->id;
    }
    RN_ASSERT(count <= RN_CTL_BROKERS_MAX);
    return count;
}

/* ---- leadership moves ---- */

static bool in_list(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++) {
        if (ids[n] == id) return true;
    }
    return false;
}

/* May `id` lead, `gone` being the broker leaving? */
static bool can_lead(const rn_image_t *img, int32_t id, int32_t gone) {
    return id != gone && rn_image_broker_usable(rn_image_broker(img, id));
}

static rn_md_record_t change_of(const rn_image_topic_t *topic, int32_t partition) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = topic->id;
    rec.u.partition_change.partition = partition;
    rec.u.partition_change.leader = RN_MD_LEADER_NO_CHANGE;
    rec.u.partition_change.isr_count = RN_MD_LIST_NO_CHANGE;
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    return rec;
}

#if RN_CTL_MUTANT == RN_CTL_MUTANT_EPOCH_NOT_BUMPED
/* The change restated as a whole PartitionRecord carrying the old epochs. */
static void restated(const rn_image_partition_t *part, rn_md_record_t *rec) {
    rn_md_partition_change_record_t pc = rec->u.partition_change;
    memset(rec, 0, sizeof(*rec));
    rec->type = RN_MD_PARTITION;
    rn_md_partition_record_t *p = &rec->u.partition;
    p->topic_id = pc.topic_id;
    p->partition = pc.partition;
    p->leader = pc.leader == RN_MD_LEADER_NO_CHANGE ? part->leader : pc.leader;
    p->leader_epoch = part->leader_epoch;
    p->partition_epoch = part->partition_epoch + 1;
    p->replica_count = part->replica_count;
    memcpy(p->replicas, part->replicas, sizeof(p->replicas));
    p->isr_count = pc.isr_count == RN_MD_LIST_NO_CHANGE ? part->isr_count : pc.isr_count;
    memcpy(p->isr, pc.isr_count == RN_MD_LIST_NO_CHANGE ? part->isr : pc.isr, sizeof(p->isr));
}
#endif

/* Takes `gone` out of part's ISR and leadership into pc: a new leader is
   the first ISR member in replica order that may lead; the last member
   stays in the ISR and the partition waits for it, unless its data is lost
   (`lost`: it came back with another data folder), when the ISR empties.
   False when nothing changes. */
static bool leave_isr(const rn_image_t *img, const rn_image_partition_t *part, int32_t gone,
                      bool lost, rn_md_partition_change_record_t *pc) {
    if (part->isr_count == 1 && !lost) { /* the last member: the partition waits for it */
        if (part->leader != gone) return false;
        pc->leader = -1;
        return true;
    }
    pc->isr_count = 0;
    for (int16_t n = 0; n < part->isr_count; n++) {
        if (part->isr[n] != gone) pc->isr[pc->isr_count++] = part->isr[n];
    }
    if (part->leader != gone) return true;
    pc->leader = -1;
    for (int16_t n = 0; n < part->replica_count && pc->leader < 0; n++) {
        int32_t id = part->replicas[n];
        if (in_list(pc->isr, pc->isr_count, id) && can_lead(img, id, gone)) pc->leader = id;
    }
    RN_ASSERT(pc->leader != gone);
    return true;
}

/* The change taking `gone` out of one partition's ISR and leadership;
   false when the partition needs none. Left without a leader, a partition
   whose topic has unclean.leader.election.enable elects the first usable
   replica, whose ISR becomes it alone. */
static bool leave_partition(const rn_image_t *img, const rn_image_topic_t *topic, int32_t index,
                            int32_t gone, bool lost, rn_md_record_t *rec) {
    const rn_image_partition_t *part = &topic->partitions[index];
    if (!in_list(part->isr, part->isr_count, gone)) return false;
    *rec = change_of(topic, index);
    rn_md_partition_change_record_t *pc = &rec->u.partition_change;
    bool changed = leave_isr(img, part, gone, lost, pc);
    int32_t leader = pc->leader == RN_MD_LEADER_NO_CHANGE ? part->leader : pc->leader;
    if (leader < 0 && topic->config.unclean_leader_election_enable) {
        int32_t unclean = rn_ctl_first_usable(img, part, NULL, 0, gone, -1);
        if (unclean >= 0) {
            rn_ctl_unclean_elect(topic, index, unclean, rec);
            changed = true;
        }
    }
#if RN_CTL_MUTANT == RN_CTL_MUTANT_EPOCH_NOT_BUMPED
    if (part->leader == gone && part->isr_count > 1) restated(part, rec);
#endif
    return changed;
}

/* Moves leadership and ISR membership off `gone` in every partition; with
   `lost`, its last memberships too. */
static rn_err_t leave_all(const rn_image_t *img, int32_t gone, bool lost, rn_md_batch_t *batch) {
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            rn_md_record_t rec;
            if (!leave_partition(img, topic, p, gone, lost, &rec)) continue;
            rn_err_t err = rn_md_batch_add(batch, &rec);
            if (err != RN_OK) return err;
        }
    }
    return RN_OK;
}

/* The leader a partition without one takes as `id` is unfenced: id where
   the ISR holds it; where the topic allows unclean elections and no ISR
   member may lead, the first replica that may (id or another), its ISR
   then it alone. Returns false when it stays without a leader. */
#if RN_CTL_MUTANT != RN_CTL_MUTANT_UNFENCE_OUTSIDE_ISR
static bool lead_one(const rn_image_t *img, const rn_image_topic_t *topic, int32_t index,
                     int32_t id, rn_md_record_t *rec) {
    const rn_image_partition_t *part = &topic->partitions[index];
    *rec = change_of(topic, index);
    if (in_list(part->isr, part->isr_count, id)) {
        rec->u.partition_change.leader = id;
        return true;
    }
    if (!topic->config.unclean_leader_election_enable) return false;
    if (rn_ctl_first_usable(img, part, part->isr, part->isr_count, -1, id) >= 0) return false;
    int32_t unclean = rn_ctl_first_usable(img, part, NULL, 0, -1, id);
    if (unclean < 0) return false;
    rn_ctl_unclean_elect(topic, index, unclean, rec);
    return true;
}
#endif

/* Elects a leader where a partition has none, as `id` is unfenced. */
static rn_err_t lead_leaderless(const rn_image_t *img, int32_t id, rn_md_batch_t *batch) {
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
#if RN_CTL_MUTANT == RN_CTL_MUTANT_UNFENCE_OUTSIDE_ISR
            if (part->leader >= 0 || !in_list(part->replicas, part->replica_count, id)) continue;
            rn_md_record_t rec = change_of(topic, p);
            rec.u.partition_change.leader = id;
            if (!in_list(part->isr, part->isr_count, id)) { /* joins the ISR to lead it */
                rn_md_partition_change_record_t *pc = &rec.u.partition_change;
                pc->isr_count = part->isr_count;
                memcpy(pc->isr, part->isr, (size_t)part->isr_count * sizeof(int32_t));
                pc->isr[pc->isr_count++] = id;
            }
#else
            rn_md_record_t rec;
            if (part->leader >= 0 || !lead_one(img, topic, p, id, &rec)) continue;
#endif
            rn_err_t err = rn_md_batch_add(batch, &rec);
            if (err != RN_OK) return err;
        }
    }
    return RN_OK;
}

/* Takes a failed plan's records back out of the batch. */
static rn_err_t rolled_back(rn_md_batch_t *batch, size_t len, uint32_t count, rn_err_t err) {
    if (err == RN_OK) return RN_OK;
    batch->buf.len = len;
    batch->count = count;
    return err;
}

static rn_err_t epoch_record(rn_md_batch_t *batch, rn_md_type_t type,
                             const rn_image_broker_t *broker) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = type;
    rec.u.broker_epoch.broker_id = broker->id;
    rec.u.broker_epoch.broker_epoch = broker->epoch;
    return rn_md_batch_add(batch, &rec);
}

/* ---- plans ---- */

rn_err_t rn_ctl_plan_fence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch) {
    const rn_image_broker_t *broker = rn_image_broker(img, broker_id);
    if (!broker) return RN_ERR_NOT_FOUND;
    if (broker->fenced) return RN_OK;
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    rn_err_t err = epoch_record(batch, RN_MD_FENCE_BROKER, broker);
#if RN_CTL_MUTANT != RN_CTL_MUTANT_FENCE_KEEPS_LEADERS
    if (err == RN_OK) err = leave_all(img, broker_id, false, batch);
#endif
    return rolled_back(batch, len, count, err);
}

rn_err_t rn_ctl_plan_unfence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch) {
    const rn_image_broker_t *broker = rn_image_broker(img, broker_id);
    if (!broker) return RN_ERR_NOT_FOUND;
    if (!broker->fenced) return RN_OK;
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    rn_err_t err = epoch_record(batch, RN_MD_UNFENCE_BROKER, broker);
    if (err == RN_OK && !broker->in_controlled_shutdown)
        err = lead_leaderless(img, broker_id, batch);
    return rolled_back(batch, len, count, err);
}

rn_err_t rn_ctl_plan_controlled_shutdown(const rn_image_t *img, int32_t broker_id,
                                         rn_md_batch_t *batch) {
    const rn_image_broker_t *broker = rn_image_broker(img, broker_id);
    if (!broker) return RN_ERR_NOT_FOUND;
    if (broker->in_controlled_shutdown) return RN_OK;
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_BROKER_CHANGE;
    rec.u.broker_change.broker_id = broker->id;
    rec.u.broker_change.broker_epoch = broker->epoch;
    rec.u.broker_change.fenced = RN_MD_FLAG_NO_CHANGE;
    rec.u.broker_change.in_controlled_shutdown = 1;
    rn_err_t err = rn_md_batch_add(batch, &rec);
    if (err == RN_OK) err = leave_all(img, broker_id, false, batch);
    return rolled_back(batch, len, count, err);
}

/* Same endpoints and rack as registered. */
static bool registration_same(const rn_image_broker_t *broker, const rn_ctl_broker_reg_t *reg) {
    if (broker->endpoint_count != reg->endpoint_count) return false;
    if (broker->has_rack != (reg->rack.len >= 0)) return false;
    if (broker->has_rack && !rn_str_eq(reg->rack, rn_str_from_cstr(broker->rack))) return false;
    for (int16_t n = 0; n < reg->endpoint_count; n++) {
        const rn_image_endpoint_t *have = &broker->endpoints[n];
        const rn_md_endpoint_t *want = &reg->endpoints[n];
        if (!rn_str_eq(want->name, rn_str_from_cstr(have->name)) ||
            !rn_str_eq(want->host, rn_str_from_cstr(have->host)) || want->port != have->port ||
            want->security_protocol != have->security_protocol)
            return false;
    }
    return true;
}

static rn_err_t register_record(const rn_ctl_broker_reg_t *reg, int64_t epoch,
                                rn_md_batch_t *batch) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_REGISTER_BROKER;
    rn_md_register_broker_record_t *r = &rec.u.register_broker;
    r->broker_id = reg->broker_id;
    r->incarnation_id = reg->incarnation_id;
    r->broker_epoch = epoch;
    r->endpoint_count = reg->endpoint_count;
    memcpy(r->endpoints, reg->endpoints, (size_t)reg->endpoint_count * sizeof(r->endpoints[0]));
    r->rack = reg->rack;
    r->fenced = true;
    r->directory_id = reg->directory_id;
    return rn_md_batch_add(batch, &rec);
}

/* A registration from another data folder than the one registered: what
   the old folder held is not on the new one (a disk replaced or emptied). */
static bool folder_replaced(const rn_image_broker_t *old, const rn_ctl_broker_reg_t *reg) {
    static const rn_uuid_t unknown;
    return old && !rn_uuid_eq(&old->directory_id, &unknown) &&
           !rn_uuid_eq(&reg->directory_id, &unknown) &&
           !rn_uuid_eq(&old->directory_id, &reg->directory_id);
}

int16_t rn_ctl_plan_register(const rn_image_t *img, const rn_ctl_leases_t *leases,
                             const rn_ctl_broker_reg_t *reg, uint64_t next_offset, int64_t now_ms,
                             int64_t session_timeout_ms, rn_md_batch_t *batch,
                             int64_t *broker_epoch, rn_ctl_result_t *res) {
    RN_ASSERT(reg->endpoint_count >= 0 && reg->endpoint_count <= RN_BROKER_ENDPOINTS_MAX);
    RN_ASSERT(next_offset <= (uint64_t)INT64_MAX - batch->count);
    rn_ctl_result_set(res, RN_KERR_NONE, NULL);
    const rn_image_broker_t *old = rn_image_broker(img, reg->broker_id);
    bool same = old && rn_uuid_eq(&old->incarnation_id, &reg->incarnation_id);
    if (old && !same && rn_ctl_leases_live(leases, reg->broker_id, now_ms, session_timeout_ms)) {
        rn_ctl_result_set(res, RN_KERR_DUPLICATE_BROKER_REGISTRATION,
                          "Another broker is registered with that broker id.");
        return res->error_code;
    }
    if (same && registration_same(old, reg)) {
        *broker_epoch = old->epoch;
        return RN_KERR_NONE;
    }
    if (!old && rn_image_broker_count(img) >= RN_BROKERS_MAX) {
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                          "The cluster already has this node's limit of %d brokers.",
                          RN_BROKERS_MAX);
        return res->error_code;
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    int64_t epoch = (int64_t)(next_offset + batch->count);
    rn_err_t err = register_record(reg, epoch, batch);
    /* the old registration's partitions: as if it had been fenced, and
       forgotten altogether when its folder is gone */
    if (err == RN_OK && old) err = leave_all(img, reg->broker_id, folder_replaced(old, reg), batch);
    if (rolled_back(batch, len, count, err) != RN_OK) {
        rn_ctl_result_set(
            res, err == RN_ERR_INVALID ? RN_KERR_INVALID_REQUEST : RN_KERR_UNKNOWN_SERVER_ERROR,
            "The registration cannot be recorded: %s.", rn_err_name(err));
        return res->error_code;
    }
    *broker_epoch = epoch;
    return RN_KERR_NONE;
}
