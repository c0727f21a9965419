/*
 * replicas.c: a partition's replication state on its owner core: its role
 * from the metadata image, the leader's view of each follower, the high
 * watermark they allow, and the acks=all produces waiting for it.
 *
 * The high watermark rule (the leader): the least of its own durable end
 * and the fetch offset of every other in-sync replica. A follower fetches
 * from its own fsynced end, so everything below the high watermark is on
 * the disk of every in-sync replica. A new leader epoch starts each
 * follower afresh: until every in-sync follower has fetched in this epoch
 * (a fetch the leader checked against its epochs), the high watermark
 * stays where it is. It never goes back on the leader.
 *
 * It owns nothing beyond the partition's fields; it never sends anything.
 */
#include "partition/partition.h"
#include "base/assert.h"
#include "proto/kerr.h"

#include <string.h>

int rn_partition_replica_slot(const rn_partition_t *part, int32_t id) {
    for (int16_t n = 0; n < part->lead.replica_count; n++)
        if (part->lead.replicas[n] == id) return n;
    return -1;
}

int64_t rn_partition_durable_end(const rn_partition_t *part) {
    return part->durable ? rn_log_synced_offset(part->log) : rn_log_end_offset(part->log);
}

static int16_t isr_size(const rn_partition_t *part) {
    return part->lead.isr_count > 0 ? part->lead.isr_count : 1;
}

static void hw_unlink(rn_partition_t *part, rn_partition_waiter_t *waiter) {
    if (waiter->prev)
        waiter->prev->next = waiter->next;
    else
        part->hw_waiters = waiter->next;
    if (waiter->next)
        waiter->next->prev = waiter->prev;
    else
        part->hw_waiters_tail = waiter->prev;
    waiter->next = waiter->prev = NULL;
}

/* Kafka's checkEnoughReplicasReachOffset: reached, but with too few
   in-sync replicas to count as acknowledged by min.insync.replicas. */
static rn_err_t reached(const rn_partition_t *part) {
    return isr_size(part) < part->lead.min_isr ? RN_ERR_FEW_REPLICAS_AFTER : RN_OK;
}

static void hw_release(rn_partition_t *part) {
    int64_t hw = rn_partition_hw(part);
    while (part->hw_waiters && part->hw_waiters->offset_needed < hw) {
        rn_partition_waiter_t *waiter = part->hw_waiters;
        hw_unlink(part, waiter);
        waiter->done(waiter, reached(part));
    }
}

void rn_partition_fail_hw_waiters(rn_partition_t *part, rn_err_t err) {
    while (part->hw_waiters) {
        rn_partition_waiter_t *waiter = part->hw_waiters;
        hw_unlink(part, waiter);
        waiter->done(waiter, err);
    }
}

void rn_partition_close_hw(rn_partition_t *part) {
    part->hw_closed = true;
    rn_partition_fail_hw_waiters(part, RN_ERR_NOT_LEADER);
}

/* The least fetch offset over members (self excluded) into *end; false
   when one has not fetched in this epoch. */
static bool least_fetched(const rn_partition_t *part, const int32_t *members, int16_t count,
                          int64_t *end) {
    for (int16_t n = 0; n < count; n++) {
        int32_t id = members[n];
        if (id == part->lead.self_id) continue;
        int slot = rn_partition_replica_slot(part, id);
        RN_ASSERT(slot >= 0); /* ISRs are kept within the replicas */
        int64_t fetched = part->followers[slot].fetch_offset;
        if (fetched < 0) return false;
        if (fetched < *end) *end = fetched;
    }
    return true;
}

void rn_partition_advance_hw(rn_partition_t *part) {
    if (part->role != RN_PARTITION_LEADER || rn_partition_offline(part)) return;
    int64_t end = rn_partition_durable_end(part);
#if RN_REPL_MUTANT == RN_REPL_MUTANT_HW_LEADER_ALONE
    (void)least_fetched; /* planted bug: the followers are not asked */
#else
    if (!least_fetched(part, part->lead.isr, part->lead.isr_count, &end)) return;
    if (!least_fetched(part, part->pending_isr, part->pending_isr_count, &end)) return;
#endif
    if (end > rn_partition_hw(part))
        atomic_store_explicit(&part->high_watermark, end, memory_order_release);
    hw_release(part);
}

/* The followers' state follows its broker when the replica list changes
   within a leader epoch (a reassignment reorders, adds or drops replicas):
   the slots are positions in the list, the state belongs to the broker. A
   replica new to the list starts afresh. */
static void followers_remap(rn_partition_t *part, const rn_partition_leadership_t *ld,
                            int64_t now_ms) {
    rn_partition_follower_t next[RN_REPLICAS_MAX];
    for (int16_t n = 0; n < RN_REPLICAS_MAX; n++) {
        int slot = n < ld->replica_count ? rn_partition_replica_slot(part, ld->replicas[n]) : -1;
        next[n] = slot >= 0 ? part->followers[slot] : (rn_partition_follower_t){-1, -1, now_ms, -1};
    }
    memcpy(part->followers, next, sizeof next);
}

/* A replica being added is a new, empty copy. This leader may have skipped
   the images in which the broker left and came back (it takes the newest
   it hears of), so what it recorded of that broker's old copy (a fetch
   offset at the end) must not make the new one look in sync: whenever the
   partition changes, a replica being added starts afresh and is judged by
   its next fetch. It is outside the ISR, so the high watermark does not
   move back. */
static void followers_forget_adding(rn_partition_t *part, const rn_partition_leadership_t *ld,
                                    int64_t now_ms) {
    for (int16_t n = 0; n < ld->replica_count; n++)
        if (ld->adding & (1u << n))
            part->followers[n] = (rn_partition_follower_t){-1, -1, now_ms, -1};
}

rn_partition_role_t rn_partition_lead(rn_partition_t *part, const rn_partition_leadership_t *ld,
                                      int64_t now_ms) {
    RN_ASSERT(ld->replica_count >= 0 && ld->replica_count <= RN_REPLICAS_MAX);
    RN_ASSERT(ld->isr_count >= 0 && ld->isr_count <= ld->replica_count);
    rn_partition_role_t role = ld->leader == ld->self_id ? RN_PARTITION_LEADER
                               : ld->leader >= 0         ? RN_PARTITION_FOLLOWER
                                                         : RN_PARTITION_LEADERLESS;
    bool new_term = !part->led || role != part->role || ld->leader_epoch != part->lead.leader_epoch;
    /* A replicated partition just opened knows no high watermark it can
       trust: its log may end past what the in-sync replicas hold (a
       leader killed while followers were behind). It starts at the log
       start and rises as the leader's rule or the leader allows. A sole
       replica's whole recovered log is durable: the rule gives it at once. */
    if (!part->led && ld->replica_count > 1)
        atomic_store_explicit(&part->high_watermark, rn_log_start_offset(part->log),
                              memory_order_release);
    part->led = true;
    /* The image moved on: whatever was asked is decided one way or the
       other (a later ask starts from this ISR). */
    if (new_term || ld->partition_epoch != part->lead.partition_epoch) {
        part->pending_isr_count = 0;
        part->pending_isr_resend = false;
    }
    bool same_list =
        part->lead.replica_count == ld->replica_count &&
        !memcmp(part->lead.replicas, ld->replicas, (size_t)ld->replica_count * sizeof(int32_t));
    bool remap = RN_REPL_MUTANT != RN_REPL_MUTANT_FOLLOWERS_BY_SLOT; /* planted bug: no remap */
    if (remap && !new_term && !same_list) followers_remap(part, ld, now_ms);
    if (!new_term && ld->partition_epoch != part->lead.partition_epoch)
        followers_forget_adding(part, ld, now_ms);
    part->lead = *ld;
    part->leader_epoch = ld->leader_epoch;
    part->role = role;
    if (role == RN_PARTITION_LEADER && new_term) {
        for (int16_t n = 0; n < RN_REPLICAS_MAX; n++)
            part->followers[n] = (rn_partition_follower_t){-1, -1, now_ms, -1};
        part->epoch_start_offset = rn_log_end_offset(part->log);
    }
    if (role != RN_PARTITION_LEADER)
        rn_partition_fail_hw_waiters(part, RN_ERR_NOT_LEADER);
    else
        rn_partition_advance_hw(part); /* a smaller ISR may let it move */
    return role;
}

rn_err_t rn_partition_follower_fetched(rn_partition_t *part, int32_t replica_id,
                                       int64_t fetch_offset, int64_t now_ms) {
    if (part->role != RN_PARTITION_LEADER) return RN_ERR_NOT_LEADER;
    int slot = rn_partition_replica_slot(part, replica_id);
    if (slot < 0 || replica_id == part->lead.self_id) return RN_ERR_NOT_FOUND;
    RN_ASSERT(fetch_offset >= 0);
    rn_partition_follower_t *f = &part->followers[slot];
    int64_t end = rn_partition_durable_end(part);
    /* Kafka's rule: caught up at this fetch if it reached the leader's end
       (its durable end: a follower reads no further); at the previous
       fetch's time if it reached the end the leader had then. */
    if (fetch_offset >= end)
        f->last_caught_up_ms = now_ms;
    else if (f->end_at_last_fetch >= 0 && fetch_offset >= f->end_at_last_fetch)
        f->last_caught_up_ms = f->last_fetch_ms;
    f->fetch_offset = fetch_offset;
    f->last_fetch_ms = now_ms;
    f->end_at_last_fetch = end;
    rn_partition_advance_hw(part);
    return RN_OK;
}

void rn_partition_follow_hw(rn_partition_t *part, int64_t leader_hw) {
    if (part->role != RN_PARTITION_FOLLOWER) return;
    int64_t end = rn_partition_durable_end(part);
    int64_t hw = leader_hw < end ? leader_hw : end;
    if (hw > rn_partition_hw(part))
        atomic_store_explicit(&part->high_watermark, hw, memory_order_release);
}

void rn_partition_wait_hw(rn_partition_t *part, rn_partition_waiter_t *waiter) {
    RN_ASSERT(part->role == RN_PARTITION_LEADER);
    if (part->hw_closed) {
        waiter->done(waiter, RN_ERR_NOT_LEADER);
        return;
    }
    if (rn_partition_hw(part) > waiter->offset_needed) {
        waiter->done(waiter, reached(part));
        return;
    }
    waiter->next = NULL;
    waiter->prev = part->hw_waiters_tail;
    if (part->hw_waiters_tail)
        part->hw_waiters_tail->next = waiter;
    else
        part->hw_waiters = waiter;
    part->hw_waiters_tail = waiter;
}

bool rn_partition_unwait_hw(rn_partition_t *part, rn_partition_waiter_t *waiter) {
    for (rn_partition_waiter_t *w = part->hw_waiters; w; w = w->next) {
        if (w != waiter) continue;
        hw_unlink(part, waiter);
        return true;
    }
    return false;
}

rn_err_t rn_partition_check_acks_all(const rn_partition_t *part) {
    if (part->role != RN_PARTITION_LEADER) return RN_ERR_NOT_LEADER;
    return isr_size(part) < part->lead.min_isr ? RN_ERR_FEW_REPLICAS : RN_OK;
}

static bool in_list(const int32_t *list, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++)
        if (list[n] == id) return true;
    return false;
}

bool rn_partition_isr_wanted(const rn_partition_t *part, int64_t now_ms, int64_t lag_max_ms,
                             int32_t *isr, int16_t *isr_count) {
    if (part->role != RN_PARTITION_LEADER || part->lead.isr_count == 0 ||
        rn_partition_offline((rn_partition_t *)part))
        return false;
    if (part->pending_isr_count > 0) {
        if (!part->pending_isr_resend) return false;
        memcpy(isr, part->pending_isr, (size_t)part->pending_isr_count * sizeof *isr);
        *isr_count = part->pending_isr_count;
        return true;
    }
    int64_t hw = rn_partition_hw((rn_partition_t *)part);
    int64_t end = rn_partition_durable_end(part);
    bool changed = false;
    *isr_count = 0;
    for (int16_t n = 0; n < part->lead.replica_count; n++) {
        int32_t id = part->lead.replicas[n];
        const rn_partition_follower_t *f = &part->followers[n];
        bool member = in_list(part->lead.isr, part->lead.isr_count, id);
        bool keep = member;
        if (id == part->lead.self_id) {
            keep = true;
        } else if (member) {
            /* Kafka's isCaughtUp: at the leader's end, however long ago it
               fetched (an idle partition keeps a silent follower until the
               controller fences it), else caught up within the lag. */
            keep = f->fetch_offset >= end || now_ms - f->last_caught_up_ms <= lag_max_ms;
        } else {
            keep = (part->lead.eligible >> n & 1u) && f->fetch_offset >= 0 &&
                   f->fetch_offset >= hw && f->fetch_offset >= part->epoch_start_offset;
        }
        changed |= keep != member;
        if (keep) isr[(*isr_count)++] = id;
    }
    return changed;
}

void rn_partition_isr_asked(rn_partition_t *part, const int32_t *isr, int16_t isr_count) {
    RN_ASSERT(isr_count > 0 && isr_count <= RN_REPLICAS_MAX);
    memcpy(part->pending_isr, isr, (size_t)isr_count * sizeof *isr);
    part->pending_isr_count = isr_count;
    part->pending_isr_resend = false;
}

void rn_partition_isr_settled(rn_partition_t *part) {
    part->pending_isr_count = 0;
    part->pending_isr_resend = false;
    rn_partition_advance_hw(part);
}

/* Refusals the controller decided on the partition as it stands, with
   this leader's epochs current: the change was not applied. */
static bool isr_refused_for_good(int16_t error_code) {
    return error_code == RN_KERR_INELIGIBLE_REPLICA || error_code == RN_KERR_INVALID_REQUEST ||
           error_code == RN_KERR_UNKNOWN_TOPIC_ID ||
           error_code == RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
}

void rn_partition_isr_answered(rn_partition_t *part, int16_t error_code, int32_t partition_epoch) {
    if (part->pending_isr_count == 0) return; /* the image moved on meanwhile */
    if (error_code == RN_KERR_NONE) {
        if (part->lead.partition_epoch >= partition_epoch) rn_partition_isr_settled(part);
        return;
    }
    if (!isr_refused_for_good(error_code)) {
        part->pending_isr_resend = true;
        return;
    }
    rn_partition_isr_settled(part);
}

int32_t rn_partition_read_replica(const rn_partition_t *part, const int32_t *candidates,
                                  int16_t count, int64_t fetch_offset) {
    int32_t best = -1;
    int64_t best_end = -1;
    for (int16_t i = 0; i < count; i++) {
        int32_t id = candidates[i];
        int slot = rn_partition_replica_slot(part, id);
        if (slot < 0 || id == part->lead.self_id ||
            !in_list(part->lead.isr, part->lead.isr_count, id))
            continue;
        int64_t end = part->followers[slot].fetch_offset;
        if (end >= fetch_offset && end > best_end) {
            best = id;
            best_end = end;
        }
    }
    return best;
}
