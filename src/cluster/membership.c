/*
 * membership.c: the active controller's side of broker membership (see
 * membership.h): leases, registrations, heartbeats and fencing on top of
 * the pure decisions of metadata/controller_brokers.c.
 */
#include "cluster/membership.h"

#include "base/assert.h"

#include <stdio.h>
#include <string.h>

static void mbr_answer(rn_mbr_result_t *res, int16_t code, const char *message) {
    res->result.error_code = code;
    snprintf(res->result.message, sizeof res->result.message, "%s", message ? message : "");
}

/* The link of broker_id, added (closed, never gone) when add and missing. */
static rn_mbr_link_t *mbr_link(rn_mbr_t *mbr, int32_t broker_id, bool add) {
    int32_t at = 0;
    while (at < mbr->link_count && mbr->links[at].broker_id < broker_id) at++;
    if (at < mbr->link_count && mbr->links[at].broker_id == broker_id) return &mbr->links[at];
    if (!add || mbr->link_count == RN_CTL_BROKERS_MAX) return NULL;
    memmove(&mbr->links[at + 1], &mbr->links[at],
            (size_t)(mbr->link_count - at) * sizeof(mbr->links[0]));
    mbr->link_count++;
    mbr->links[at] = (rn_mbr_link_t){broker_id, 0, -1};
    return &mbr->links[at];
}

void rn_mbr_init(rn_mbr_t *mbr, int32_t self_id, int64_t session_ms) {
    RN_ASSERT(session_ms > 0);
    memset(mbr, 0, sizeof *mbr);
    mbr->self_id = self_id;
    mbr->session_ms = session_ms;
}

void rn_mbr_lead(rn_mbr_t *mbr, const rn_image_t *img, uint64_t term, int64_t now_ms) {
    RN_ASSERT(term > 0);
    if (mbr->term == term) return;
    mbr->term = term;
    rn_ctl_leases_init(&mbr->leases, img, now_ms);
}

/* Whether a live registration of broker id may be replaced without
   waiting for its lease: a fenced broker has no session to protect (as
   KRaft), this node's own id is this very process, and a broker naming the
   live registration's epoch as its previous one speaks from the data
   folder that made it: the same node, whose process is gone (a folder
   serves one process). */
static bool mbr_replaceable(const rn_mbr_t *mbr, const rn_image_broker_t *old,
                            const rn_mbr_register_t *reg) {
    return old->fenced || reg->reg.broker_id == mbr->self_id ||
           (reg->previous_epoch >= 0 && reg->previous_epoch == old->epoch);
}

void rn_mbr_plan_register(rn_mbr_t *mbr, const rn_image_t *img, const rn_mbr_register_t *reg,
                          int64_t now_ms, rn_md_batch_t *batch, rn_mbr_result_t *res) {
    RN_ASSERT(mbr->term > 0);
    memset(res, 0, sizeof *res);
    res->broker_epoch = -1;
    int32_t id = reg->reg.broker_id;
    const rn_image_broker_t *old = rn_image_broker(img, id);
    if (old && mbr_replaceable(mbr, old, reg)) rn_ctl_leases_forget(&mbr->leases, id);
    int64_t epoch = -1;
    int16_t code = rn_ctl_plan_register(img, &mbr->leases, &reg->reg, rn_image_next_offset(img),
                                        now_ms, mbr->session_ms, batch, &epoch, &res->result);
    if (code != RN_KERR_NONE) return;
    res->broker_epoch = epoch;
    rn_ctl_leases_touch(&mbr->leases, id, now_ms);
}

/* Kafka's checks of the epoch a heartbeat names. */
static bool mbr_epoch_ok(const rn_image_broker_t *broker, const rn_mbr_heartbeat_t *hb,
                         rn_mbr_result_t *res) {
    char message[RN_CTL_MESSAGE_BYTES];
    if (!broker) {
        snprintf(message, sizeof message, "No broker registration found for broker %d",
                 hb->broker_id);
        mbr_answer(res, RN_KERR_STALE_BROKER_EPOCH, message);
        return false;
    }
    if (broker->epoch != hb->broker_epoch) {
        snprintf(message, sizeof message, "Expected broker epoch %lld, but got broker epoch %lld",
                 (long long)broker->epoch, (long long)hb->broker_epoch);
        mbr_answer(res, RN_KERR_STALE_BROKER_EPOCH, message);
        return false;
    }
    return true;
}

void rn_mbr_plan_heartbeat(rn_mbr_t *mbr, const rn_image_t *img, const rn_mbr_heartbeat_t *hb,
                           int64_t now_ms, rn_md_batch_t *batch, rn_mbr_result_t *res) {
    RN_ASSERT(mbr->term > 0);
    memset(res, 0, sizeof *res);
    res->broker_epoch = -1;
    const rn_image_broker_t *broker = rn_image_broker(img, hb->broker_id);
    if (!mbr_epoch_ok(broker, hb, res)) return;
    rn_ctl_leases_touch(&mbr->leases, hb->broker_id, now_ms);
    rn_mbr_link_t *link = mbr_link(mbr, hb->broker_id, false);
    if (link) link->gone_ms = -1; /* alive, whichever way it came */
    /* The registration record's offset is the broker epoch: a broker that
       applied it has caught up with its own joining (KRaft's rule). */
    res->caught_up = hb->metadata_offset >= broker->epoch;
    res->fenced = broker->fenced;
    rn_err_t err = RN_OK;
    if (hb->want_fence && !broker->fenced) {
        err = rn_ctl_plan_fence(img, hb->broker_id, batch);
        res->fenced = err == RN_OK;
    } else if (!hb->want_fence && broker->fenced && res->caught_up) {
        err = rn_ctl_plan_unfence(img, hb->broker_id, batch);
        res->fenced = err != RN_OK;
    }
    if (err != RN_OK) {
        char message[RN_CTL_MESSAGE_BYTES];
        snprintf(message, sizeof message, "The broker's state cannot be recorded: %s.",
                 rn_err_name(err));
        mbr_answer(res, RN_KERR_UNKNOWN_SERVER_ERROR, message);
    }
}

void rn_mbr_link_up(rn_mbr_t *mbr, int32_t broker_id) {
    rn_mbr_link_t *link = mbr_link(mbr, broker_id, true);
    if (!link) return; /* more node ids than brokers: leases alone judge */
    link->open++;
    link->gone_ms = -1;
}

void rn_mbr_link_down(rn_mbr_t *mbr, int32_t broker_id, int64_t now_ms) {
    rn_mbr_link_t *link = mbr_link(mbr, broker_id, false);
    if (!link || link->open == 0) return;
    if (--link->open == 0) link->gone_ms = now_ms;
}

/* Whether broker_id has been gone long enough to fence: its last
   connection closed RN_MBR_GONE_FENCE_MS ago, none came back and no
   heartbeat came since (one that comes another way is a sign of life). */
static bool mbr_gone(const rn_mbr_link_t *link, int64_t now_ms) {
    return link->gone_ms >= 0 && now_ms - link->gone_ms >= RN_MBR_GONE_FENCE_MS;
}

int32_t rn_mbr_expired(const rn_mbr_t *mbr, const rn_image_t *img, int64_t now_ms, bool *gone) {
    *gone = false;
    if (mbr->term == 0) return -1;
    int32_t ids[RN_CTL_BROKERS_MAX];
    int32_t count = rn_ctl_leases_expired(&mbr->leases, img, now_ms, mbr->session_ms, ids);
    /* This node's own broker runs in this very process: while its
       controller runs to judge, it is alive (a stalled loop is no reason to
       take every partition of a single node offline). */
    for (int32_t n = 0; n < count; n++)
        if (ids[n] != mbr->self_id) return ids[n];
    for (int32_t n = 0; n < mbr->link_count; n++) {
        int32_t id = mbr->links[n].broker_id;
        const rn_image_broker_t *broker = rn_image_broker(img, id);
        if (id == mbr->self_id || !broker || broker->fenced || !mbr_gone(&mbr->links[n], now_ms))
            continue;
        *gone = true;
        return id;
    }
    return -1;
}

rn_err_t rn_mbr_plan_fence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch) {
    return rn_ctl_plan_fence(img, broker_id, batch);
}
