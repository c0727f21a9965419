/*
 * replicas_rt.c: replication on the node's cores (see replicas_rt.h).
 *
 * ISR changes: every RN_ISR_CHECK_MS each core looks at the partitions it
 * leads (rn_partition_isr_wanted) and sends what should change to the
 * active controller in one AlterPartition (isr_submit.h), one request in
 * flight per core. A change stays pending on its partition until the image
 * brings the next partition epoch; one refused for good is dropped and
 * looked at again on the next tick, against the image by then; one whose
 * outcome is unknown (no answer, or this leader behind the controller)
 * stays pending and is asked again (rn_partition_isr_answered). Each
 * answer is counted in the core's stats (shrinks and expands taken,
 * refusals).
 */
#include "cluster/replicas_rt.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/isr_submit.h"
#include "cluster/peers.h"
#include "group/coordinator.h"
#include "replication/fetcher.h"
#include "txn/coordinator.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rn_isr_core {
    rn_core_t *core;
    rn_timer_t timer;
    bool in_flight;
    rn_isr_submit_t sub;
    rn_ctl_isr_change_t changes[RN_ISR_CHANGES_MAX];
    rn_ctl_isr_result_t results[RN_ISR_CHANGES_MAX];
    rn_partition_t *parts[RN_ISR_CHANGES_MAX]; /* referenced while in flight */
    uint8_t kinds[RN_ISR_CHANGES_MAX];         /* ISR_SHRINK | ISR_EXPAND, for the metrics */
} rn_isr_core_t;

enum { ISR_SHRINK = 1, ISR_EXPAND = 2 };

/* Counts a change the controller answered, as Kafka does: shrinks and
   expands once taken, failures when refused. */
static void isr_count_answer(rn_core_stats_t *stats, uint8_t kinds, bool taken) {
    if (!taken) rn_stats_add(&stats->isr_updates_failed, 1);
    if (taken && (kinds & ISR_SHRINK)) rn_stats_add(&stats->isr_shrinks, 1);
    if (taken && (kinds & ISR_EXPAND)) rn_stats_add(&stats->isr_expands, 1);
}

static bool isr_has(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++)
        if (ids[n] == id) return true;
    return false;
}

/* Whether going from `was` to `isr` removes members, adds some, or both. */
static uint8_t isr_kinds(const int32_t *was, int16_t was_count, const int32_t *isr, int16_t count) {
    uint8_t kinds = 0;
    for (int16_t n = 0; n < was_count; n++)
        if (!isr_has(isr, count, was[n])) kinds |= ISR_SHRINK;
    for (int16_t n = 0; n < count; n++)
        if (!isr_has(was, was_count, isr[n])) kinds |= ISR_EXPAND;
    return kinds;
}

static void isr_answered(rn_isr_submit_t *sub) {
    rn_isr_core_t *ic = sub->ctx;
    for (int32_t i = 0; i < sub->count; i++) {
        rn_partition_t *part = ic->parts[i];
        const rn_ctl_isr_result_t *res = &ic->results[i];
        bool taken = res->error_code == RN_KERR_NONE;
        isr_count_answer(&ic->core->stats, ic->kinds[i], taken);
        if (!taken)
            RN_INFO("replica", "%s-%d: ISR change refused: %s", part->topic, part->index,
                    rn_kerr_name(res->error_code));
        /* Taken and in the image, or refused for good: nothing is pending
           any more; an unknown outcome stays pending and is asked again. */
        rn_partition_isr_answered(part, res->error_code, res->partition_epoch);
        rn_partition_unref(part);
    }
    ic->in_flight = false;
}

static void isr_text(const int32_t *ids, int16_t count, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int16_t n = 0; n < count && len < cap; n++)
        len += (size_t)snprintf(out + len, cap - len, "%s%d", n ? "," : "", ids[n]);
}

/* One partition this core leads: its change, if it wants one. */
static void isr_consider(rn_isr_core_t *ic, const rn_topic_rt_t *rt, rn_partition_t *part,
                         int64_t now_ms, int32_t *count) {
    int32_t isr[RN_REPLICAS_MAX];
    int16_t isr_count = 0;
    int64_t lag_ms = ic->core->node->settings.replica_lag_time_max_ms;
    if (!rn_partition_isr_wanted(part, now_ms, lag_ms, isr, &isr_count)) return;
    rn_ctl_isr_change_t *ch = &ic->changes[*count];
    memset(ch, 0, sizeof *ch);
    ch->topic_id = rt->topic_id;
    ch->partition = part->index;
    ch->leader_epoch = part->lead.leader_epoch;
    ch->partition_epoch = part->lead.partition_epoch;
    ch->isr_count = isr_count;
    for (int16_t n = 0; n < isr_count; n++) {
        ch->isr[n] = isr[n];
        ch->isr_broker_epochs[n] = -1;
    }
    char was[96], want[96];
    isr_text(part->lead.isr, part->lead.isr_count, was, sizeof was);
    isr_text(isr, isr_count, want, sizeof want);
    RN_INFO("replica", "%s-%d: %s the ISR from [%s] to [%s] (partition epoch %d)", part->topic,
            part->index, isr_count < part->lead.isr_count ? "shrinking" : "expanding", was, want,
            part->lead.partition_epoch);
    ic->kinds[*count] = isr_kinds(part->lead.isr, part->lead.isr_count, isr, isr_count);
    rn_partition_isr_asked(part, isr, isr_count);
    rn_partition_ref(part);
    ic->parts[(*count)++] = part;
}

/* Calls fn on each partition core leads, until fn returns false. */
static void each_led(rn_core_t *core,
                     bool (*fn)(void *ctx, const rn_topic_rt_t *rt, rn_partition_t *part),
                     void *ctx) {
    rn_ptable_t *table = rn_ptable_acquire(&core->node->ptable);
    bool more = true;
    for (int32_t t = 0; table && more && t < table->topic_count; t++) {
        const rn_topic_rt_t *rt = table->topics[t];
        for (int32_t p = 0; more && p < rt->partition_count; p++) {
            rn_partition_t *part = rt->parts[p];
            if (part && part->owner == core->id && part->role == RN_PARTITION_LEADER)
                more = fn(ctx, rt, part);
        }
    }
    if (table) rn_ptable_release(table);
}

typedef struct isr_scan {
    rn_isr_core_t *ic;
    int32_t count;
} isr_scan_t;

static bool isr_scan_one(void *ctx, const rn_topic_rt_t *rt, rn_partition_t *part) {
    isr_scan_t *scan = ctx;
    isr_consider(scan->ic, rt, part, scan->ic->core->loop.now_ms, &scan->count);
    return scan->count < RN_ISR_CHANGES_MAX;
}

static void isr_tick(rn_timer_t *timer) {
    rn_isr_core_t *ic = (rn_isr_core_t *)((char *)timer - offsetof(rn_isr_core_t, timer));
    rn_core_t *core = ic->core;
    rn_loop_timer_start(&core->loop, &ic->timer, RN_ISR_CHECK_MS);
    if (ic->in_flight || !core->node->md_rt) return;
    isr_scan_t scan = {ic, 0};
    each_led(core, isr_scan_one, &scan);
    int32_t count = scan.count;
    if (count == 0) return;
    ic->in_flight = true;
    ic->sub.count = count;
    ic->sub.changes = ic->changes;
    ic->sub.results = ic->results;
    ic->sub.done = isr_answered;
    ic->sub.ctx = ic;
    rn_isr_submit_send(core, &ic->sub);
}

static void replicas_appended(void *ctx, rn_partition_t *part) { rn_core_mark_dirty(ctx, part); }

void rn_replicas_rt_core_init(rn_core_t *core) {
    rn_fetchers_opts_t opts = {
        .loop = &core->loop,
        .node_id = core->node->settings.node_id,
        .wait_ms = RN_REPLICA_FETCH_WAIT_MS_DEFAULT,
        .partition_bytes = RN_REPLICA_FETCH_PARTITION_BYTES_DEFAULT,
        .response_bytes = RN_REPLICA_FETCH_RESPONSE_BYTES_DEFAULT,
        .backoff_ms = RN_REPLICA_FETCH_BACKOFF_MS_DEFAULT,
        .inflate = core->inflate,
        .throttle = &core->node->throttle_follower,
        .appended = replicas_appended,
        .ctx = core,
    };
    core->fetchers = rn_fetchers_new(&opts);
    RN_ASSERT(core->fetchers != NULL);
    core->peers = rn_peers_new(&core->loop, core->node->settings.inter_broker_listener);
    rn_isr_core_t *ic = calloc(1, sizeof *ic);
    RN_ASSERT(ic != NULL);
    ic->core = core;
    rn_timer_init(&ic->timer, isr_tick);
    rn_loop_timer_start(&core->loop, &ic->timer, RN_ISR_CHECK_MS);
    core->isr = ic;
}

static bool close_hw(void *ctx, const rn_topic_rt_t *rt, rn_partition_t *part) {
    (void)ctx;
    (void)rt;
    rn_partition_close_hw(part);
    return true;
}

void rn_replicas_rt_core_close(rn_core_t *core) {
    if (core->fetchers) rn_fetchers_close(core->fetchers);
    rn_peers_close(core->peers);
    if (core->isr) rn_loop_timer_stop(&core->loop, &core->isr->timer);
}

void rn_replicas_rt_core_drain(rn_core_t *core) { each_led(core, close_hw, NULL); }

void rn_replicas_rt_core_free(rn_core_t *core) {
    rn_fetchers_free(core->fetchers);
    core->fetchers = NULL;
    rn_peers_free(core->peers);
    core->peers = NULL;
    /* A change still in flight died with the metadata runtime's stop: its
       partitions' references go with them (the node is going). */
    if (core->isr && core->isr->in_flight)
        for (int32_t i = 0; i < core->isr->sub.count; i++) rn_partition_unref(core->isr->parts[i]);
    free(core->isr);
    core->isr = NULL;
}

void rn_replicas_rt_lead(rn_core_t *core, rn_partition_t *part,
                         const rn_partition_leadership_t *lead, const char *host, uint16_t port) {
    RN_ASSERT(part->owner == core->id);
    int64_t hw = rn_partition_hw(part);
    rn_partition_role_t role = rn_partition_lead(part, lead, core->loop.now_ms);
    if (role == RN_PARTITION_FOLLOWER && host[0])
        rn_fetchers_follow(core->fetchers, part, lead->leader, host, port);
    else
        rn_fetchers_unfollow(core->fetchers, part);
    if (rn_partition_hw(part) != hw) rn_node_poke_all(core->node);
    /* A group coordinator follows its offsets partition's leadership. */
    if (!strcmp(part->topic, RN_GROUP_OFFSETS_TOPIC))
        rn_group_lead(core->node, part, role == RN_PARTITION_LEADER, lead->leader_epoch);
    /* So does a transaction coordinator its transaction state partition. */
    if (!strcmp(part->topic, RN_TXN_STATE_TOPIC))
        rn_txn_lead(core->node, part, role == RN_PARTITION_LEADER, lead->leader_epoch);
}
