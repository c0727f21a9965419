/*
 * simbal_check.c: the balance simulation's checks, computed from the
 * simulated cluster on their own (never from the planner's state): each
 * plan keeps every hard goal and the bound, moves no partition twice or
 * back, serves only soft goals past their start band, and is empty when
 * the cluster is within its bands (hysteresis);
 * the end state has drained and absent brokers empty unless no broker
 * could take their replicas, and a report that says why it stopped.
 *
 * Owns nothing. Never changes the cluster; a failed check calls sb_fail.
 */
#include "simbal.h"

#include "base/assert.h"

#include <math.h>
#include <string.h>

/* A partition the planner must leave alone: without a leader in its ISR. */
static bool sb_leaderless(const rn_bal_partition_t *part) {
    for (int32_t i = 0; i < part->isr_n; i++)
        if (part->isr[i] == part->leader) return false;
    return true;
}

static bool sb_leaving(const sb_t *s, int32_t id) {
    const rn_bal_broker_t *br = &s->brokers[sb_index(s, id)];
    return br->drained || br->absent;
}

static bool sb_has(const int32_t *list, int32_t n, int32_t id) {
    for (int32_t i = 0; i < n; i++)
        if (list[i] == id) return true;
    return false;
}

static int64_t sb_ceiling(const sb_t *s, int32_t b) {
    int64_t cap = s->brokers[b].disk_capacity_bytes;
    return cap / 100 * s->set.disk_ceiling_pct + cap % 100 * s->set.disk_ceiling_pct / 100;
}

/* Racks a partition must span: its RF, at most the racks of eligible
   brokers (a broker without a rack is one of its own). */
static int32_t sb_racks(const sb_t *s, const int32_t *list, int32_t n, bool eligible_only) {
    const char *seen[SB_BROKERS_MAX];
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t b = eligible_only ? i : sb_index(s, list[i]);
        if (eligible_only && !sb_eligible(s, b)) continue;
        const char *r = s->brokers[b].rack;
        bool dup = false;
        for (int32_t j = 0; j < k && r; j++) dup |= seen[j] && strcmp(seen[j], r) == 0;
        if (!dup) seen[k++] = r;
    }
    return k;
}

static int32_t sb_rack_floor(const sb_t *s, const rn_bal_partition_t *part) {
    int32_t avail = sb_racks(s, NULL, s->brokers_n, true);
    int32_t need = part->replicas_n < avail ? part->replicas_n : avail;
    int32_t now = sb_racks(s, part->replicas, part->replicas_n, false);
    return now < need ? now : need;
}

/* The ISR rule: a list keeps an in-sync replica that is not leaving. */
static bool sb_isr_kept(const sb_t *s, const rn_bal_partition_t *part, const int32_t *list) {
    if (part->replicas_n < 2) return true;
    bool any = false;
    for (int32_t i = 0; i < part->isr_n; i++) {
        if (sb_leaving(s, part->isr[i])) continue;
        any = true;
        if (sb_has(list, part->replicas_n, part->isr[i])) return true;
    }
    return !any;
}

/* What one plan does to each broker. */
typedef struct sb_delta {
    int64_t incoming[SB_BROKERS_MAX];
    int32_t replicas[SB_BROKERS_MAX];
    int32_t leaders[SB_BROKERS_MAX];
    int32_t touched[SB_BROKERS_MAX];
} sb_delta_t;

/* The move's list itself: a real change, RF kept, no duplicate, known ids,
   bytes and kind as its additions say. Returns the replicas added. */
static int32_t sb_check_list(sb_t *s, const rn_bal_move_t *mv) {
    const rn_bal_partition_t *part = &s->parts[mv->part];
    if (mv->replicas_n != part->replicas_n)
        sb_fail(s, "p%d: RF %d became %d", mv->part, part->replicas_n, mv->replicas_n);
    int32_t added = 0;
    for (int32_t i = 0; i < mv->replicas_n; i++) {
        (void)sb_index(s, mv->replicas[i]);
        if (sb_has(mv->replicas + i + 1, mv->replicas_n - i - 1, mv->replicas[i]))
            sb_fail(s, "p%d: broker %d twice in the new list", mv->part, mv->replicas[i]);
        added += !sb_has(part->replicas, part->replicas_n, mv->replicas[i]);
    }
    if (!memcmp(mv->replicas, part->replicas, sizeof(int32_t) * (size_t)part->replicas_n))
        sb_fail(s, "p%d: a move to the list it has", mv->part);
    if (mv->bytes != part->size_bytes * added || (added > 0) != (mv->kind == RN_BAL_REPLICA_MOVE))
        sb_fail(s, "p%d: %lld bytes, kind %d for %d added", mv->part, (long long)mv->bytes,
                (int)mv->kind, added);
    return added;
}

/* A move never undoes one of the round before. */
static void sb_check_flap(sb_t *s, const rn_bal_move_t *mv) {
    if (s->prev_moved[mv->part] != s->round - 1) return;
    const int32_t *prev = s->prev_list[mv->part];
    int32_t n = mv->replicas_n, same = 0;
    for (int32_t i = 0; i < n; i++) same += sb_has(prev, n, mv->replicas[i]);
    const rn_bal_partition_t *part = &s->parts[mv->part];
    bool was_reorder = true;
    for (int32_t i = 0; i < n; i++) was_reorder &= sb_has(prev, n, part->replicas[i]);
    bool exact = !memcmp(prev, mv->replicas, sizeof(int32_t) * (size_t)n);
    if (exact || (same == n && !was_reorder))
        sb_fail(s, "p%d: round %d undoes the move of round %d", mv->part, s->round, s->round - 1);
}

static void sb_check_move(sb_t *s, const rn_bal_move_t *mv, sb_delta_t *d) {
    const rn_bal_partition_t *part = &s->parts[mv->part];
    if (part->moving || sb_leaderless(part))
        sb_fail(s, "p%d: moved while %s", mv->part, part->moving ? "in flight" : "leaderless");
    int32_t added = sb_check_list(s, mv);
    for (int32_t i = 0; i < mv->replicas_n; i++) {
        int32_t b = sb_index(s, mv->replicas[i]);
        if (sb_has(part->replicas, part->replicas_n, mv->replicas[i])) continue;
        if (!sb_eligible(s, b))
            sb_fail(s, "p%d: a replica added on broker %d, which may not receive", mv->part,
                    s->brokers[b].id);
        d->incoming[b] += part->size_bytes;
        d->replicas[b]++;
        d->touched[b]++;
    }
    for (int32_t i = 0; i < part->replicas_n; i++) {
        int32_t b = sb_index(s, part->replicas[i]);
        if (sb_has(mv->replicas, mv->replicas_n, part->replicas[i])) continue;
        d->replicas[b]--;
        if (!s->brokers[b].absent) d->touched[b]++;
    }
    if (mv->replicas[0] != part->replicas[0]) {
        d->leaders[sb_index(s, mv->replicas[0])]++;
        d->leaders[sb_index(s, part->replicas[0])]--;
    }
    if (!sb_isr_kept(s, part, mv->replicas))
        sb_fail(s, "p%d: the new list drops every in-sync replica", mv->part);
    if (sb_racks(s, mv->replicas, mv->replicas_n, false) < sb_rack_floor(s, part))
        sb_fail(s, "p%d: the new list spans %d racks, fewer than %d", mv->part,
                sb_racks(s, mv->replicas, mv->replicas_n, false), sb_rack_floor(s, part));
    (void)added;
    sb_check_flap(s, mv);
}

/* Per broker: the disk ceiling with every copy it receives, the caps, the
   bound counting the moves in flight. */
static void sb_check_brokers(sb_t *s, const sb_delta_t *d) {
    int32_t replicas[SB_BROKERS_MAX] = {0}, leaders[SB_BROKERS_MAX] = {0},
            busy[SB_BROKERS_MAX] = {0};
    for (int32_t p = 0; p < s->parts_n; p++) {
        const rn_bal_partition_t *part = &s->parts[p];
        leaders[sb_index(s, part->replicas[0])]++;
        for (int32_t i = 0; i < part->replicas_n; i++) {
            replicas[sb_index(s, part->replicas[i])]++;
            busy[sb_index(s, part->replicas[i])] += part->moving;
        }
    }
    for (int32_t b = 0; b < s->brokers_n; b++) {
        const rn_bal_broker_t *br = &s->brokers[b];
        int32_t id = br->id;
        if (d->incoming[b] > 0 && br->disk_capacity_bytes > 0 &&
            br->disk_used_bytes + d->incoming[b] > sb_ceiling(s, b))
            sb_fail(s, "broker %d: %lld used + %lld copied in passes the ceiling %lld", id,
                    (long long)br->disk_used_bytes, (long long)d->incoming[b],
                    (long long)sb_ceiling(s, b));
        if (d->touched[b] > 0 && busy[b] + d->touched[b] > s->set.moves_per_broker_max)
            sb_fail(s, "broker %d: %d moves in flight + %d planned past the bound %d", id, busy[b],
                    d->touched[b], s->set.moves_per_broker_max);
        int32_t rcap = s->set.replicas_per_broker_max, lcap = s->set.leaders_per_broker_max;
        if (rcap > 0 && d->replicas[b] > 0 && replicas[b] + d->replicas[b] > rcap)
            sb_fail(s, "broker %d: gains replicas past the cap %d", id, rcap);
        if (lcap > 0 && d->leaders[b] > 0 && leaders[b] + d->leaders[b] > lcap)
            sb_fail(s, "broker %d: gains leaders past the cap %d", id, lcap);
    }
}

/* Whether a hard goal is broken (with all: also on partitions the planner
   must leave alone). */
static bool sb_hard_broken(const sb_t *s, bool all) {
    int32_t replicas[SB_BROKERS_MAX] = {0}, leaders[SB_BROKERS_MAX] = {0};
    int32_t avail = sb_racks(s, NULL, s->brokers_n, true);
    for (int32_t p = 0; p < s->parts_n; p++) {
        const rn_bal_partition_t *part = &s->parts[p];
        leaders[sb_index(s, part->replicas[0])]++;
        for (int32_t i = 0; i < part->replicas_n; i++) replicas[sb_index(s, part->replicas[i])]++;
        if (!all && (part->moving || sb_leaderless(part))) continue;
        for (int32_t i = 0; i < part->replicas_n; i++)
            if (sb_leaving(s, part->replicas[i])) return true;
        int32_t need = part->replicas_n < avail ? part->replicas_n : avail;
        if (sb_racks(s, part->replicas, part->replicas_n, false) < need) return true;
    }
    for (int32_t b = 0; b < s->brokers_n; b++) {
        const rn_bal_broker_t *br = &s->brokers[b];
        if (!sb_eligible(s, b)) continue;
        if (s->set.replicas_per_broker_max > 0 && replicas[b] > s->set.replicas_per_broker_max)
            return true;
        if (s->set.leaders_per_broker_max > 0 && leaders[b] > s->set.leaders_per_broker_max)
            return true;
        if (br->disk_capacity_bytes > 0 && br->disk_used_bytes > sb_ceiling(s, b)) return true;
    }
    return false;
}

/* Whether some value lies past the start band around the mean of the
   counted ones. */
static bool sb_beyond(const double *v, const bool *counted, int32_t n, double mean_or_nan,
                      double pct, double floor) {
    double sum = 0, k = 0;
    for (int32_t b = 0; b < n; b++)
        if (counted[b]) sum += v[b], k++;
    double mean = isnan(mean_or_nan) ? (k > 0 ? sum / k : 0) : mean_or_nan;
    double band = fmax(fabs(mean) * pct / 100.0, floor);
    for (int32_t b = 0; b < n; b++)
        if (counted[b] && fabs(v[b] - mean) > band + 1e-9 * fmax(1.0, band)) return true;
    return false;
}

/* Whether a soft goal has a broker (or a topic's broker) past its start
   band: the planner's definition in docs/BALANCING.md, computed again. */
static bool sb_goal_beyond(const sb_t *s, rn_bal_goal_t goal, bool stop) {
    double v[SB_BROKERS_MAX] = {0}, used = 0, cap = 0;
    double pct = stop ? s->set.stop_pct : s->set.start_pct;
    bool counted[SB_BROKERS_MAX];
    for (int32_t b = 0; b < s->brokers_n; b++) {
        const rn_bal_broker_t *br = &s->brokers[b];
        counted[b] = sb_eligible(s, b) && (goal != RN_BAL_G_DISK || br->disk_capacity_bytes > 0);
        if (goal == RN_BAL_G_NET_IN) v[b] = (double)br->bytes_in_per_s;
        if (goal == RN_BAL_G_NET_OUT) v[b] = (double)br->bytes_out_per_s;
        if (goal != RN_BAL_G_DISK || !counted[b]) continue;
        v[b] = (double)br->disk_used_bytes * 100.0 / (double)br->disk_capacity_bytes;
        used += (double)br->disk_used_bytes * 100.0;
        cap += (double)br->disk_capacity_bytes;
    }
    double cmin = stop ? s->set.count_stop_min : s->set.count_start_min;
    double nmin =
        (double)(stop ? s->set.net_stop_min_bytes_per_s : s->set.net_start_min_bytes_per_s);
    double dmin = stop ? s->set.disk_stop_min_pct : s->set.disk_start_min_pct;
    switch (goal) {
    case RN_BAL_G_NET_IN:
    case RN_BAL_G_NET_OUT:
        return sb_beyond(v, counted, s->brokers_n, NAN, pct, nmin);
    case RN_BAL_G_DISK:
        return cap > 0 && sb_beyond(v, counted, s->brokers_n, used / cap, pct, dmin);
    case RN_BAL_G_REPLICAS:
    case RN_BAL_G_LEADERS:
        for (int32_t p = 0; p < s->parts_n; p++)
            for (int32_t i = 0; i < s->parts[p].replicas_n; i++)
                if (goal == RN_BAL_G_REPLICAS || i == 0) v[sb_index(s, s->parts[p].replicas[i])]++;
        return sb_beyond(v, counted, s->brokers_n, NAN, pct, cmin);
    case RN_BAL_G_TOPIC:
        for (int32_t t = 0; t < s->topics_n; t++) {
            double cnt[SB_BROKERS_MAX] = {0};
            for (int32_t p = 0; p < s->parts_n; p++)
                for (int32_t i = 0; s->parts[p].topic == t && i < s->parts[p].replicas_n; i++)
                    cnt[sb_index(s, s->parts[p].replicas[i])]++;
            if (sb_beyond(cnt, counted, s->brokers_n, NAN, pct, cmin)) return true;
        }
        return false;
    default:
        RN_UNREACHABLE("not a soft goal");
    }
}

/* Every soft goal within its start band. */
static bool sb_soft_within(const sb_t *s) {
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++)
        if (sb_goal_beyond(s, (rn_bal_goal_t)g, false)) return false;
    return true;
}

/* Nothing to do: no hard goal broken, every soft goal within its start band. */
bool sb_quiet(const sb_t *s) { return !sb_hard_broken(s, false) && sb_soft_within(s); }

void sb_check_plan(sb_t *s, const rn_bal_move_t *moves, int32_t n, const rn_bal_report_t *rep) {
    if (n > s->set.moves_per_plan_max || rep->moves_n != n)
        sb_fail(s, "%d moves (report %d) past the plan bound %d", n, rep->moves_n,
                s->set.moves_per_plan_max);
    bool seen[SB_PARTS_MAX] = {false};
    sb_delta_t d;
    memset(&d, 0, sizeof(d));
    int64_t bytes = 0;
    for (int32_t i = 0; i < n && !s->failed; i++) {
        if (moves[i].part < 0 || moves[i].part >= s->parts_n || seen[moves[i].part]) {
            sb_fail(s, "move %d names partition %d (twice or unknown)", i, moves[i].part);
            return;
        }
        seen[moves[i].part] = true;
        bytes += moves[i].bytes;
        sb_check_move(s, &moves[i], &d);
        rn_bal_goal_t why = moves[i].reason;
        bool carried = (s->unfinished & (1u << why)) != 0;
        if (why >= RN_BAL_G_SOFT_FIRST && !sb_goal_beyond(s, why, carried))
            sb_fail(s, "p%d: moved for %s, which was within its %s band", moves[i].part,
                    rn_bal_goal_name(why), carried ? "stop" : "start");
    }
    if (bytes != rep->bytes)
        sb_fail(s, "the report's %lld bytes, the moves' %lld", (long long)rep->bytes,
                (long long)bytes);
    sb_check_brokers(s, &d);
    if (n > 0 && s->unfinished == 0 && sb_quiet(s))
        sb_fail(s, "%d moves planned for a cluster within its bands", n);
}

/* A leaving broker's replica of part stays only if no eligible broker
   could take it: over the disk ceiling, at the replica cap, losing a rack,
   or another replica the move keeps out of the ISR (the move could not
   complete). (With a leader cap, the lead handed on may be what blocks.) */
static void sb_check_drained(sb_t *s, int32_t p, int32_t slot) {
    const rn_bal_partition_t *part = &s->parts[p];
    if (slot == 0 && s->set.leaders_per_broker_max > 0) return;
    int32_t replicas[SB_BROKERS_MAX] = {0};
    for (int32_t q = 0; q < s->parts_n; q++)
        for (int32_t i = 0; i < s->parts[q].replicas_n; i++)
            replicas[sb_index(s, s->parts[q].replicas[i])]++;
    for (int32_t b = 0; b < s->brokers_n; b++) {
        const rn_bal_broker_t *br = &s->brokers[b];
        if (!sb_eligible(s, b) || sb_has(part->replicas, part->replicas_n, br->id)) continue;
        if (br->disk_capacity_bytes > 0 &&
            br->disk_used_bytes + part->size_bytes > sb_ceiling(s, b))
            continue;
        if (s->set.replicas_per_broker_max > 0 && replicas[b] + 1 > s->set.replicas_per_broker_max)
            continue;
        int32_t list[RN_REPLICAS_MAX];
        memcpy(list, part->replicas, sizeof(list));
        list[slot] = br->id;
        if (sb_racks(s, list, part->replicas_n, false) < sb_rack_floor(s, part)) continue;
        if (!sb_isr_kept(s, part, list)) continue;
        /* A move keeping a replica out of the ISR could not complete. */
        bool stuck = false;
        for (int32_t i = 0; i < part->replicas_n; i++)
            stuck |= i != slot && !sb_has(part->isr, part->isr_n, list[i]);
        if (stuck) continue;
        sb_fail(s, "p%d: a replica stays on leaving broker %d though broker %d could take it", p,
                part->replicas[slot], br->id);
        return;
    }
}

void sb_check_end(sb_t *s, const rn_bal_report_t *rep) {
    if (rep->idle == RN_BAL_BUSY) sb_fail(s, "an empty plan reported busy");
    for (int32_t p = 0; p < s->parts_n && !s->failed; p++) {
        const rn_bal_partition_t *part = &s->parts[p];
        if (sb_leaderless(part)) continue;
        for (int32_t i = 0; i < part->replicas_n && !s->failed; i++)
            if (sb_leaving(s, part->replicas[i])) sb_check_drained(s, p, i);
    }
    bool within = sb_soft_within(s);
    s->stats.within += within;
    s->stats.plain += s->plain;
    s->stats.plain_within += s->plain && within;
    bool quiet = !sb_hard_broken(s, true) && within;
    /* A goal carried from the last plan acts from its stop band. */
    if (s->unfinished != 0) quiet = false;
    if (quiet && rep->idle != RN_BAL_BALANCED && rep->idle != RN_BAL_HYSTERESIS)
        sb_fail(s, "a cluster within its bands reported idle reason %d", (int)rep->idle);
    if (!quiet && rep->idle != RN_BAL_NO_LEGAL_MOVE && rep->idle != RN_BAL_BOUND)
        sb_fail(s, "a cluster off its bands reported idle reason %d", (int)rep->idle);
}
