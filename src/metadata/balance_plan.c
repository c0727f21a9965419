/*
 * balance_plan.c: the balancer's planner (balance_plan.h): the phases that
 * choose moves over the projected cluster of balance_state.c.
 *
 * Hard goals first, in order: drained and absent brokers emptied, rack
 * spread restored, replica and leader caps, disks above the ceiling; each
 * move the legal target that costs the soft goals least. Then the soft
 * goals past their start band (only in a plan that needed no hard move),
 * one move at a time, the legal move with the best cost decrease per byte
 * copied, until every active goal is within its stop band or no move
 * helps; a move never takes a broker across a stop band, so the next plan
 * finds nothing new to do and never undoes it.
 *
 * Owns nothing past the call. Never reads anything but its arguments; scans
 * run in index order and ties keep the first, so equal inputs give equal
 * plans.
 *
 * RN_BAL_MUTANT=4 plants "no hysteresis": soft goals act as soon as they
 * leave their stop band (docs/SIMULATOR.md).
 */
#include "metadata/balance_int.h"

#include "base/assert.h"

#include <math.h>
#include <string.h>

#ifndef RN_BAL_MUTANT
#define RN_BAL_MUTANT 0
#endif

/* A cost change smaller than this is no change (rounding). */
#define BAL_EPS 1e-9

void rn_bal_settings_default(rn_bal_settings_t *set) {
    RN_ASSERT(set != NULL);
    memset(set, 0, sizeof(*set));
    set->disk_ceiling_pct = RN_BAL_DISK_CEILING_PCT_DEFAULT;
    set->moves_per_broker_max = RN_BAL_MOVES_PER_BROKER_DEFAULT;
    set->moves_per_plan_max = RN_BAL_MOVES_PER_PLAN_DEFAULT;
    set->start_pct = RN_BAL_START_PCT_DEFAULT;
    set->stop_pct = RN_BAL_STOP_PCT_DEFAULT;
    set->count_start_min = RN_BAL_COUNT_START_MIN_DEFAULT;
    set->count_stop_min = RN_BAL_COUNT_STOP_MIN_DEFAULT;
    set->disk_start_min_pct = RN_BAL_DISK_START_MIN_PCT_DEFAULT;
    set->disk_stop_min_pct = RN_BAL_DISK_STOP_MIN_PCT_DEFAULT;
    set->net_start_min_bytes_per_s = RN_BAL_NET_START_MIN_BYTES_PER_S_DEFAULT;
    set->net_stop_min_bytes_per_s = RN_BAL_NET_STOP_MIN_BYTES_PER_S_DEFAULT;
    RN_ASSERT(set->stop_pct <= set->start_pct);
}

const char *rn_bal_goal_name(rn_bal_goal_t goal) {
    static const char *const names[RN_BAL_G__COUNT] = {
        [RN_BAL_G_DRAIN] = "drain",
        [RN_BAL_G_RACK] = "rack",
        [RN_BAL_G_REPLICA_CAP] = "replica-cap",
        [RN_BAL_G_LEADER_CAP] = "leader-cap",
        [RN_BAL_G_DISK_CAP] = "disk-ceiling",
        [RN_BAL_G_REPLICAS] = "replicas",
        [RN_BAL_G_LEADERS] = "leaders",
        [RN_BAL_G_TOPIC] = "topic-spread",
        [RN_BAL_G_DISK] = "disk",
        [RN_BAL_G_NET_IN] = "net-in",
        [RN_BAL_G_NET_OUT] = "net-out",
    };
    RN_ASSERT(goal >= 0 && goal < RN_BAL_G__COUNT);
    RN_ASSERT(names[goal] != NULL);
    return names[goal];
}

/* A candidate move: the working list (slots as replaced), the new list in
   its final order, its effects and its change to the soft goals' cost. */
typedef struct bal_cand {
    int32_t raw[RN_REPLICAS_MAX];
    int32_t rep[RN_REPLICAS_MAX];
    bal_effs_t effs;
    bal_eval_t ev;
    bool found;
} bal_cand_t;

/* Fills c for the list raw of p; false when it breaks a hard goal or the
   bound (counted: the report says when the bound alone held moves back). */
static bool bal_try(bal_t *bal, int32_t p, const int32_t *raw, bal_cand_t *c) {
    RN_ASSERT(!bal->parts[p].locked);
    int32_t rf = bal->parts[p].rf;
    c->found = false;
    memcpy(c->raw, raw, sizeof(int32_t) * (size_t)rf);
    memcpy(c->rep, raw, sizeof(int32_t) * (size_t)rf);
    bal_order(bal, p, c->rep);
    bal_effects(bal, p, c->rep, &c->effs);
    bal_verdict_t v = bal_legal(bal, p, c->rep, &c->effs);
    if (v == BAL_BOUNDED) bal->bound_refusals++;
    if (v != BAL_LEGAL) return false;
    bal_evaluate(bal, p, &c->effs, &c->ev);
    c->found = true;
    return true;
}

/* The legal broker to put in slot of cur (p's working list) that costs the
   soft goals least; with more_racks, only one that adds a rack. */
static bool bal_pick_target(bal_t *bal, int32_t p, const int32_t *cur, int32_t slot,
                            bool more_racks, bal_cand_t *best) {
    int32_t rf = bal->parts[p].rf;
    int32_t racks = bal_distinct_racks(bal, cur, rf);
    best->found = false;
    for (int32_t y = 0; y < bal->nb; y++) {
        if (bal_holds(cur, rf, y)) continue;
        int32_t raw[RN_REPLICAS_MAX];
        memcpy(raw, cur, sizeof(int32_t) * (size_t)rf);
        raw[slot] = y;
        if (more_racks && bal_distinct_racks(bal, raw, rf) <= racks) continue;
        bal_cand_t c;
        if (!bal_try(bal, p, raw, &c)) continue;
        if (best->found && c.ev.d_total >= best->ev.d_total - BAL_EPS) continue;
        *best = c;
        best->found = true;
    }
    return best->found;
}

static bool bal_full(const bal_t *bal) { return bal->moves_n >= bal->moves_max; }

/* Drained and absent brokers: every replica on one goes to the best legal
   broker, all of a partition's in one move when they can. */
static void bal_fix_drain(bal_t *bal) {
    for (int32_t p = 0; p < bal->np && !bal_full(bal); p++) {
        bal_part_t *part = &bal->parts[p];
        if (part->locked) continue;
        int32_t cur[RN_REPLICAS_MAX];
        memcpy(cur, part->rep, sizeof(cur));
        bal_cand_t last = {.found = false}, c;
        for (int32_t i = 0; i < part->rf; i++) {
            if (!bal->b[cur[i]].leaving || !bal_pick_target(bal, p, cur, i, false, &c)) continue;
            memcpy(cur, c.raw, sizeof(cur));
            last = c;
        }
        if (last.found) bal_apply(bal, p, last.rep, &last.effs, RN_BAL_G_DRAIN);
    }
    RN_ASSERT(bal->moves_n <= bal->moves_max);
}

/* Whether slot i's rack is also another replica's. */
static bool bal_rack_shared(const bal_t *bal, const bal_part_t *part, int32_t i) {
    for (int32_t j = 0; j < part->rf; j++)
        if (j != i && bal->b[part->rep[j]].rack == bal->b[part->rep[i]].rack) return true;
    return false;
}

/* Partitions on fewer racks than they need: a replica that shares its rack
   goes to a broker in a rack the partition lacks (a follower first). */
static void bal_fix_racks(bal_t *bal) {
    for (int32_t p = 0; p < bal->np && !bal_full(bal); p++) {
        bal_part_t *part = &bal->parts[p];
        if (part->locked) continue;
        if (bal_distinct_racks(bal, part->rep, part->rf) >= bal_rack_target(bal, part->rf))
            continue;
        for (int32_t i = part->rf - 1; i >= 0; i--) {
            bal_cand_t c;
            if (!bal_rack_shared(bal, part, i)) continue;
            if (!bal_pick_target(bal, p, part->rep, i, true, &c)) continue;
            bal_apply(bal, p, c.rep, &c.effs, RN_BAL_G_RACK);
            break;
        }
    }
}

/* The reorder of p that makes slot j's replica the preferred leader, if it
   is legal and j is in sync on a broker that may lead. */
static bool bal_try_reorder(bal_t *bal, int32_t p, int32_t j, bal_cand_t *c) {
    RN_ASSERT(j > 0 && j < bal->parts[p].rf);
    const bal_part_t *part = &bal->parts[p];
    int32_t b = part->rep[j];
    if (!bal->b[b].eligible || !(part->isr_bits & (1ULL << b))) return false;
    int32_t raw[RN_REPLICAS_MAX];
    memcpy(raw, part->rep, sizeof(raw));
    raw[j] = raw[0];
    raw[0] = b;
    return bal_try(bal, p, raw, c);
}

/* One replica off broker x, over the replica cap: of every partition on
   it, the move that costs the soft goals least. */
static bool bal_fix_replica_cap_once(bal_t *bal, int32_t x) {
    RN_ASSERT(bal->b[x].eligible && bal->set->replicas_per_broker_max > 0);
    bal_cand_t c, best = {.found = false};
    int32_t best_p = -1;
    for (int32_t p = 0; p < bal->np; p++) {
        bal_part_t *part = &bal->parts[p];
        if (part->locked) continue;
        for (int32_t i = 0; i < part->rf; i++)
            if (part->rep[i] == x && bal_pick_target(bal, p, part->rep, i, false, &c) &&
                (!best.found || c.ev.d_total < best.ev.d_total - BAL_EPS)) {
                best = c;
                best_p = p;
            }
    }
    if (!best.found) return false;
    RN_ASSERT(!bal_holds(best.rep, bal->parts[best_p].rf, x));
    bal_apply(bal, best_p, best.rep, &best.effs, RN_BAL_G_REPLICA_CAP);
    return true;
}

/* One preferred leader off broker x, over the leader cap: the reorder that
   costs the soft goals least. */
static bool bal_fix_leader_cap_once(bal_t *bal, int32_t x) {
    RN_ASSERT(bal->b[x].eligible && bal->set->leaders_per_broker_max > 0);
    bal_cand_t c, best = {.found = false};
    int32_t best_p = -1;
    for (int32_t p = 0; p < bal->np; p++) {
        bal_part_t *part = &bal->parts[p];
        if (part->locked || part->rep[0] != x) continue;
        for (int32_t j = 1; j < part->rf; j++)
            if (bal_try_reorder(bal, p, j, &c) &&
                (!best.found || c.ev.d_total < best.ev.d_total - BAL_EPS)) {
                best = c;
                best_p = p;
            }
    }
    if (!best.found) return false;
    RN_ASSERT(best.rep[0] != x);
    bal_apply(bal, best_p, best.rep, &best.effs, RN_BAL_G_LEADER_CAP);
    return true;
}

/* Brokers over the replica cap move replicas off; over the leader cap hand
   leadership to another in-sync replica. */
static void bal_fix_caps(bal_t *bal) {
    const rn_bal_settings_t *set = bal->set;
    for (int32_t x = 0; x < bal->nb; x++) {
        const bal_broker_t *b = &bal->b[x];
        if (!b->eligible) continue;
        while (!bal_full(bal) && set->replicas_per_broker_max > 0 &&
               b->replicas > set->replicas_per_broker_max)
            if (!bal_fix_replica_cap_once(bal, x)) break;
        while (!bal_full(bal) && set->leaders_per_broker_max > 0 &&
               b->leaders > set->leaders_per_broker_max)
            if (!bal_fix_leader_cap_once(bal, x)) break;
    }
}

/* One move off broker x, over its disk ceiling: the largest partition that
   has a legal target (fewest moves to get under). */
static bool bal_fix_disk_once(bal_t *bal, int32_t x) {
    RN_ASSERT(bal->b[x].eligible && bal->b[x].cap > 0);
    bal_cand_t c, best = {.found = false};
    int32_t best_p = -1;
    for (int32_t p = 0; p < bal->np; p++) {
        bal_part_t *part = &bal->parts[p];
        if (part->locked || !bal_holds(part->rep, part->rf, x)) continue;
        if (bal->in->parts[p].size_bytes == 0) continue; /* frees nothing */
        if (best.found && bal->in->parts[p].size_bytes <= bal->in->parts[best_p].size_bytes)
            continue;
        for (int32_t i = 0; i < part->rf; i++)
            if (part->rep[i] == x && bal_pick_target(bal, p, part->rep, i, false, &c)) {
                best = c;
                best_p = p;
            }
    }
    if (!best.found) return false;
    RN_ASSERT(!bal_holds(best.rep, bal->parts[best_p].rf, x));
    bal_apply(bal, best_p, best.rep, &best.effs, RN_BAL_G_DISK_CAP);
    return true;
}

static void bal_fix_disk(bal_t *bal) {
    for (int32_t x = 0; x < bal->nb; x++) {
        const bal_broker_t *b = &bal->b[x];
        if (!b->eligible || b->cap <= 0) continue;
        while (!bal_full(bal) && !bal_disk_fits(bal, b->used, b->cap))
            if (!bal_fix_disk_once(bal, x)) break;
    }
}

/* Whether a goal acts from its stop band: one the last plan left
   unfinished (or every goal, under the planted no-hysteresis bug). */
static bool bal_from_stop(const bal_t *bal, int g) {
    return RN_BAL_MUTANT == 4 || (bal->in->goals_unfinished & (1u << g)) != 0;
}

/* Marks the soft goals past their start band (or their stop band, for one
   left unfinished); true if any is. */
static bool bal_mark_active(bal_t *bal) {
    RN_ASSERT(bal->nb >= 1 && bal->nb <= RN_BROKERS_MAX);
    bool any = false;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (g == RN_BAL_G_TOPIC) continue;
        double band = bal_from_stop(bal, g) ? bal->stop[g] : bal->start[g];
        for (int32_t b = 0; b < bal->nb; b++)
            if (bal_counted(bal, (rn_bal_goal_t)g, b) &&
                fabs(bal_soft_dev(bal, (rn_bal_goal_t)g, b)) > band + BAL_EPS)
                bal->active[g] = true;
        any |= bal->active[g];
    }
    for (int32_t t = 0; t < bal->nt && !bal->active[RN_BAL_G_TOPIC]; t++) {
        double mean, start, stop;
        bal_topic_band(bal, t, &mean, &start, &stop);
        double band = bal_from_stop(bal, RN_BAL_G_TOPIC) ? stop : start;
        for (int32_t b = 0; b < bal->nb; b++)
            if (bal->b[b].eligible &&
                fabs(bal->tcnt[(int64_t)t * bal->nb + b] - mean) > band + BAL_EPS)
                bal->active[RN_BAL_G_TOPIC] = true;
    }
    return any || bal->active[RN_BAL_G_TOPIC];
}

/* Brokers past the stop band of an active per-broker goal: above the mean
   (hi: worth taking from) or below (lo: worth giving to). A replica move
   that touches neither, nor a topic's such broker, cannot lower the cost. */
static void bal_sides(const bal_t *bal, uint64_t *hi, uint64_t *lo) {
    *hi = *lo = 0;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (g == RN_BAL_G_TOPIC || !bal->active[g]) continue;
        for (int32_t b = 0; b < bal->nb; b++) {
            if (!bal_counted(bal, (rn_bal_goal_t)g, b)) continue;
            double dev = bal_soft_dev(bal, (rn_bal_goal_t)g, b);
            if (dev > bal->stop[g]) *hi |= 1ULL << b;
            if (dev < -bal->stop[g]) *lo |= 1ULL << b;
        }
    }
}

/* Whether a soft move is worth taking: it lowers the total cost and the
   active goals' cost without raising any one of them, and takes no broker
   past a start band. Since no active goal's cost ever rises, a later move
   rarely has reason to undo an earlier one. */
static bool bal_soft_ok(const bal_t *bal, const bal_cand_t *c) {
    if (!c->ev.keeps_bands || c->ev.d_total > -BAL_EPS) return false;
    double active = 0;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (!bal->active[g]) continue;
        if (c->ev.d_cost[g] > BAL_EPS) return false;
        active += c->ev.d_cost[g];
    }
    return active < -BAL_EPS;
}

/* The best soft move so far and its benefit per byte. */
typedef struct bal_best {
    bal_cand_t c;
    int32_t p;
    double score;
} bal_best_t;

static void bal_consider(const bal_t *bal, int32_t p, const bal_cand_t *c, int64_t bytes,
                         bal_best_t *best) {
    if (!bal_soft_ok(bal, c)) return;
    double score = -c->ev.d_total / ((double)bytes + (double)RN_BAL_BYTES_FLOOR);
    if (best->c.found && score <= best->score) return;
    best->c = *c;
    best->c.found = true;
    best->p = p;
    best->score = score;
}

/* Replica moves of p's slot i worth evaluating, into best. Bytes move only
   between brokers whose disks are both known or both unknown, so the disk
   goal's mean holds still. */
static void bal_soft_slot(bal_t *bal, int32_t p, int32_t i, uint64_t hi, uint64_t lo,
                          bal_best_t *best) {
    const bal_part_t *part = &bal->parts[p];
    int32_t x = part->rep[i], t = bal->in->parts[p].topic;
    if (!bal->b[x].eligible) return;
    double mean, start, stop;
    bal_topic_band(bal, t, &mean, &start, &stop);
    bool topic = bal->active[RN_BAL_G_TOPIC];
    const int32_t *tc = &bal->tcnt[(int64_t)t * bal->nb];
    if (bal_at_bound(bal, x)) {
        bal->bound_refusals++;
        return;
    }
    bool x_helps = (hi & (1ULL << x)) || (topic && tc[x] - mean > stop);
    int64_t size = bal->in->parts[p].size_bytes;
    for (int32_t y = 0; y < bal->nb; y++) {
        if (!bal->b[y].eligible || bal_holds(part->rep, part->rf, y)) continue;
        if (size > 0 && (bal->b[x].cap > 0) != (bal->b[y].cap > 0)) continue;
        if (!x_helps && !(lo & (1ULL << y)) && !(topic && tc[y] - mean < -stop)) continue;
        if (bal_at_bound(bal, y)) {
            bal->bound_refusals++;
            continue;
        }
        int32_t raw[RN_REPLICAS_MAX];
        memcpy(raw, part->rep, sizeof(raw));
        raw[i] = y;
        bal_cand_t c;
        /* The lead never leaves the eligible brokers: their leader count,
           whose mean the soft goals aim at, holds still. */
        if (bal_try(bal, p, raw, &c) && bal->b[c.rep[0]].eligible)
            bal_consider(bal, p, &c, size, best);
    }
}

/* The active goal a move lowers most: its reason. */
static rn_bal_goal_t bal_reason(const bal_t *bal, const bal_eval_t *ev) {
    rn_bal_goal_t reason = RN_BAL_G__COUNT;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++)
        if (bal->active[g] && (reason == RN_BAL_G__COUNT || ev->d_cost[g] < ev->d_cost[reason]))
            reason = (rn_bal_goal_t)g;
    RN_ASSERT(reason != RN_BAL_G__COUNT);
    return reason;
}

/* One soft move, the best by benefit per byte; false when none helps. */
static bool bal_soft_once(bal_t *bal) {
    RN_ASSERT(!bal_full(bal));
    uint64_t hi, lo;
    bal_sides(bal, &hi, &lo);
    bal_best_t best = {.c.found = false, .p = -1, .score = 0};
    for (int32_t p = 0; p < bal->np; p++) {
        const bal_part_t *part = &bal->parts[p];
        if (part->locked) continue;
        for (int32_t j = 1; j < part->rf && bal->b[part->rep[0]].eligible; j++) {
            bal_cand_t c;
            if (bal_try_reorder(bal, p, j, &c)) bal_consider(bal, p, &c, 0, &best);
        }
        for (int32_t i = 0; i < part->rf; i++) bal_soft_slot(bal, p, i, hi, lo, &best);
    }
    if (!best.c.found) return false;
    bal_apply(bal, best.p, best.c.rep, &best.c.effs, bal_reason(bal, &best.c.ev));
    bal_bands(bal);
    return true;
}

static bool bal_any(const int32_t *viol, int first, int end) {
    for (int g = first; g < end; g++)
        if (viol[g] > 0) return true;
    return false;
}

/* The report's totals and, for an empty plan, why it is empty. */
static void bal_report(const bal_t *bal, bool active, rn_bal_report_t *rep) {
    rep->moves_n = bal->moves_n;
    for (int32_t i = 0; i < bal->moves_n; i++) {
        rep->bytes += bal->moves[i].bytes;
        rep->leader_moves_n += bal->moves[i].kind == RN_BAL_LEADER_MOVE;
    }
    rep->bound_refusals = bal->bound_refusals;
    if (bal->moves_n > 0)
        rep->idle = RN_BAL_BUSY;
    else if (active || bal_any(rep->before, 0, RN_BAL_G_SOFT_FIRST))
        rep->idle = bal->bound_refusals > 0 ? RN_BAL_BOUND : RN_BAL_NO_LEGAL_MOVE;
    else if (bal_any(rep->before, RN_BAL_G_SOFT_FIRST, RN_BAL_G__COUNT))
        rep->idle = RN_BAL_HYSTERESIS;
    else
        rep->idle = RN_BAL_BALANCED;
    RN_ASSERT(rep->bytes >= 0);
}

/* The active soft goals still off their stop band when the bounds cut the
   plan short: the next plan goes on with them. */
static uint32_t bal_unfinished(const bal_t *bal, const rn_bal_report_t *rep) {
    if (!bal_full(bal) && bal->bound_refusals == 0) return 0;
    uint32_t goals = 0;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++)
        if (bal->active[g] && rep->after[g] > 0) goals |= 1u << g;
    RN_ASSERT((goals & ((1u << RN_BAL_G_SOFT_FIRST) - 1)) == 0);
    return goals;
}

rn_err_t rn_bal_plan(const rn_bal_input_t *in, const rn_bal_settings_t *set, rn_bal_move_t *moves,
                     int32_t moves_cap, int32_t *moves_n, rn_bal_report_t *rep) {
    RN_ASSERT(in != NULL && set != NULL && rep != NULL && moves_n != NULL);
    RN_ASSERT(moves_cap >= 0 && (moves_cap == 0 || moves != NULL));
    RN_ASSERT(set->moves_per_broker_max >= 1 && set->moves_per_plan_max >= 0);
    memset(rep, 0, sizeof(*rep));
    *moves_n = 0;
    bal_t bal;
    rn_err_t err = bal_init(&bal, in, set);
    if (err != RN_OK) return err;
    bal.moves = moves;
    bal.moves_max = moves_cap < set->moves_per_plan_max ? moves_cap : set->moves_per_plan_max;
    bal_bands(&bal);
    bal_count(&bal, rep->before);
    bal_fix_drain(&bal);
    bal_fix_racks(&bal);
    bal_fix_caps(&bal);
    bal_fix_disk(&bal);
    bal_bands(&bal);
    /* Soft moves wait for the hard goals' moves to complete: the means
       they aim at hold still once drained replicas have landed. */
    bool hard_moved = bal.moves_n > 0;
    bool active = bal_mark_active(&bal) && !hard_moved;
    while (active && !bal_full(&bal) && bal_soft_once(&bal)) {
    }
    bal_count(&bal, rep->after);
    bal_report(&bal, active, rep);
    rep->goals_unfinished = hard_moved ? in->goals_unfinished : bal_unfinished(&bal, rep);
    *moves_n = bal.moves_n;
    bal_free(&bal);
    return RN_OK;
}
