/*
 * balance_check.c: what a candidate move would do to the projected cluster
 * (balance_int.h): whether it keeps every hard goal and the concurrency
 * bound (bal_legal), and how it changes each soft goal's cost
 * (bal_evaluate).
 *
 * Owns nothing and changes nothing: both answer questions about a bal_t.
 * Must never accept a move that adds a replica on a broker that may not
 * receive one, leaves a partition on fewer racks than it needs (or fewer
 * than it has), takes a broker past a cap or the disk ceiling, drops every
 * in-sync replica, or passes the bound.
 *
 * RN_BAL_MUTANT plants the bugs the balance simulation must catch
 * (docs/SIMULATOR.md): 1 ignores racks, 2 ignores the disk ceiling,
 * 3 ignores the concurrency bound, 5 lets drained brokers receive.
 */
#include "metadata/balance_int.h"

#include "base/assert.h"

#include <math.h>
#include <string.h>

#ifndef RN_BAL_MUTANT
#define RN_BAL_MUTANT 0
#endif

/* Every broker the new list adds may receive, and no broker appears twice. */
static bool bal_receivers_ok(const bal_t *bal, int32_t p, const int32_t *rep_new) {
    const bal_part_t *part = &bal->parts[p];
    for (int32_t i = 0; i < part->rf; i++) {
        RN_ASSERT(!bal_holds(rep_new + i + 1, part->rf - i - 1, rep_new[i]));
        if (bal_holds(part->rep, part->rf, rep_new[i])) continue;
        const bal_broker_t *b = &bal->b[rep_new[i]];
        bool may = b->eligible;
        if (RN_BAL_MUTANT == 5) may = bal->in->brokers[rep_new[i]].usable;
        if (!may) return false;
    }
    return true;
}

/* The new list spans at least as many racks as the partition needs, or as
   it spans now when it already spans fewer. */
static bool bal_racks_ok(const bal_t *bal, int32_t p, const int32_t *rep_new) {
    RN_ASSERT(bal->racks_avail <= bal->nb);
    if (RN_BAL_MUTANT == 1) return true;
    const bal_part_t *part = &bal->parts[p];
    int32_t need = bal_rack_target(bal, part->rf);
    int32_t now = bal_distinct_racks(bal, part->rep, part->rf);
    int32_t floor = now < need ? now : need;
    return bal_distinct_racks(bal, rep_new, part->rf) >= floor;
}

/* The new list keeps an in-sync replica that stays, when there is one (a
   single replica is copied before it is removed). */
static bool bal_isr_ok(const bal_t *bal, int32_t p, const int32_t *rep_new) {
    RN_ASSERT(bal->parts[p].rf <= RN_REPLICAS_MAX);
    const bal_part_t *part = &bal->parts[p];
    if (part->rf < 2) return true;
    bool any = false;
    for (int32_t i = 0; i < part->rf; i++) {
        int32_t b = part->rep[i];
        if (!(part->isr_bits & (1ULL << b)) || bal->b[b].leaving) continue;
        any = true;
        if (bal_holds(rep_new, part->rf, b)) return true;
    }
    return !any;
}

/* A replica move completes only once every replica its list keeps is in
   sync (metadata/controller_reassign.h): one keeping a replica out of the
   ISR (its broker down, not yet absent) would wait for it, holding its
   slot of the bound. A reorder completes at once. */
static bool bal_completes(const bal_t *bal, int32_t p, const int32_t *rep_new) {
    const bal_part_t *part = &bal->parts[p];
    bool reorder = true;
    for (int32_t i = 0; i < part->rf; i++) reorder &= bal_holds(part->rep, part->rf, rep_new[i]);
    if (reorder) return true;
    for (int32_t i = 0; i < part->rf; i++) {
        int32_t b = rep_new[i];
        if (bal_holds(part->rep, part->rf, b) && !(part->isr_bits & (1ULL << b))) return false;
    }
    return true;
}

/* Caps and the disk ceiling on every broker that gains. */
static bool bal_caps_ok(const bal_t *bal, const bal_effs_t *effs) {
    RN_ASSERT(effs->n <= BAL_EFF_MAX);
    const rn_bal_settings_t *set = bal->set;
    for (int32_t i = 0; i < effs->n; i++) {
        const bal_eff_t *e = &effs->e[i];
        const bal_broker_t *b = &bal->b[e->b];
        if (e->d_replicas > 0 && set->replicas_per_broker_max > 0 &&
            b->replicas + e->d_replicas > set->replicas_per_broker_max)
            return false;
        if (e->d_leaders > 0 && set->leaders_per_broker_max > 0 &&
            b->leaders + e->d_leaders > set->leaders_per_broker_max)
            return false;
        if (RN_BAL_MUTANT != 2 && e->d_used > 0 && b->cap > 0 &&
            !bal_disk_fits(bal, b->used_in + e->d_used, b->cap))
            return false;
    }
    return true;
}

/* A replica move counts against the bound of each broker it adds or
   removes, but an absent one (it does no work). */
static bool bal_bound_ok(const bal_t *bal, const bal_effs_t *effs) {
    RN_ASSERT(bal->set->moves_per_broker_max >= 1);
    if (RN_BAL_MUTANT == 3) return true;
    bool copies = false;
    for (int32_t i = 0; i < effs->n; i++) copies |= effs->e[i].d_replicas > 0;
    if (!copies) return true;
    for (int32_t i = 0; i < effs->n; i++) {
        const bal_eff_t *e = &effs->e[i];
        if (e->d_replicas == 0 || bal->b[e->b].absent) continue;
        if (bal->b[e->b].moves + 1 > bal->set->moves_per_broker_max) return false;
    }
    return true;
}

bool bal_at_bound(const bal_t *bal, int32_t b) {
    RN_ASSERT(b >= 0 && b < bal->nb);
    if (RN_BAL_MUTANT == 3) return false;
    return !bal->b[b].absent && bal->b[b].moves >= bal->set->moves_per_broker_max;
}

bal_verdict_t bal_legal(const bal_t *bal, int32_t p, const int32_t *rep_new,
                        const bal_effs_t *effs) {
    RN_ASSERT(p >= 0 && p < bal->np);
    RN_ASSERT(!bal->parts[p].locked);
    if (!bal_receivers_ok(bal, p, rep_new)) return BAL_ILLEGAL;
    if (!bal_racks_ok(bal, p, rep_new)) return BAL_ILLEGAL;
    if (!bal_isr_ok(bal, p, rep_new)) return BAL_ILLEGAL;
    if (!bal_completes(bal, p, rep_new)) return BAL_ILLEGAL;
    if (!bal_caps_ok(bal, effs)) return BAL_ILLEGAL;
    if (!bal_bound_ok(bal, effs)) return BAL_BOUNDED;
    return BAL_LEGAL;
}

/* How far past the stop band a deviation lies, in units of the band. */
static double bal_over(double dev, double stop) {
    double x = fabs(dev) - stop;
    return x > 0 ? x / stop : 0;
}

/* Whether a deviation that changed from d0 to d1 moved the wrong way past
   the stop band: a broker that gains ends above it, or one that loses ends
   below it. A move that keeps every broker on its side of the band cannot
   make its own undoing worth anything later (docs/BALANCING.md). */
static bool bal_crosses(double d0, double d1, double stop) {
    double slack = 1e-9 * fmax(1.0, stop);
    if (d1 > d0) return d1 > stop + slack;
    if (d1 < d0) return d1 < -stop - slack;
    return false;
}

static void bal_eval_broker(const bal_t *bal, const bal_eff_t *e, bal_eval_t *ev) {
    RN_ASSERT(e->b >= 0 && e->b < bal->nb);
    const bal_broker_t *b = &bal->b[e->b];
    bal_broker_t after = *b;
    after.replicas += e->d_replicas;
    after.leaders += e->d_leaders;
    after.used += e->d_used;
    after.net_in += e->d_in;
    after.net_out += e->d_out;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (g == RN_BAL_G_TOPIC || !bal_counted(bal, (rn_bal_goal_t)g, e->b)) continue;
        double d0 = bal_metric(b, (rn_bal_goal_t)g) - bal->mean[g];
        double d1 = bal_metric(&after, (rn_bal_goal_t)g) - bal->mean[g];
        ev->d_cost[g] += bal_over(d1, bal->stop[g]) - bal_over(d0, bal->stop[g]);
        if (bal_crosses(d0, d1, bal->stop[g])) ev->keeps_bands = false;
    }
}

void bal_evaluate(const bal_t *bal, int32_t p, const bal_effs_t *effs, bal_eval_t *ev) {
    RN_ASSERT(p >= 0 && p < bal->np);
    memset(ev, 0, sizeof(*ev));
    ev->keeps_bands = true;
    int32_t t = bal->in->parts[p].topic;
    double mean, start, stop;
    bal_topic_band(bal, t, &mean, &start, &stop);
    (void)start;
    for (int32_t i = 0; i < effs->n; i++) {
        const bal_eff_t *e = &effs->e[i];
        if (!bal->b[e->b].eligible) continue;
        bal_eval_broker(bal, e, ev);
        double c0 = bal->tcnt[(int64_t)t * bal->nb + e->b];
        double d0 = c0 - mean, d1 = c0 + e->d_replicas - mean;
        ev->d_cost[RN_BAL_G_TOPIC] += bal_over(d1, stop) - bal_over(d0, stop);
        if (bal_crosses(d0, d1, stop)) ev->keeps_bands = false;
    }
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) ev->d_total += ev->d_cost[g];
    RN_ASSERT(isfinite(ev->d_total));
}
