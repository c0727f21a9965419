/*
 * balance_state.c: the planner's projected cluster (balance_int.h): built
 * from the input, changed by each chosen move, and asked what a candidate
 * move would do: its effect on each broker's metrics, its change to the
 * soft goals' costs, whether it keeps every hard goal.
 *
 * Owns the bal_t's one allocation (bal_init, bal_free). Never chooses a
 * move (balance_plan.c does) and never reads anything but its arguments.
 *
 * A soft goal's cost is, over the brokers it counts, how far each lies
 * beyond the goal's stop band around the mean, in units of that band; the
 * plan lowers the sum. The per-topic goal does the same per topic.
 */
#include "metadata/balance_int.h"

#include "base/assert.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int32_t bal_index(const rn_bal_input_t *in, int32_t id) {
    for (int32_t i = 0; i < in->brokers_n; i++)
        if (in->brokers[i].id == id) return i;
    RN_UNREACHABLE("a replica names a broker not in the input");
}

static bool bal_same_rack(const char *a, const char *b) {
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void bal_init_brokers(bal_t *bal) {
    const rn_bal_input_t *in = bal->in;
    uint64_t racks_seen = 0;
    for (int32_t i = 0; i < in->brokers_n; i++) {
        const rn_bal_broker_t *src = &in->brokers[i];
        bal_broker_t *b = &bal->b[i];
        b->leaving = src->drained || src->absent;
        b->absent = src->absent;
        b->eligible = src->usable && !b->leaving;
        b->rack = i;
        for (int32_t j = 0; j < i; j++)
            if (bal_same_rack(src->rack, in->brokers[j].rack)) {
                b->rack = bal->b[j].rack;
                break;
            }
        bool known = src->disk_capacity_bytes > 0 && src->disk_used_bytes >= 0;
        b->cap = known ? src->disk_capacity_bytes : -1;
        b->used = known ? src->disk_used_bytes : 0;
        b->used_in = b->used;
        b->net_in = (double)src->bytes_in_per_s;
        b->net_out = (double)src->bytes_out_per_s;
        if (b->eligible && !(racks_seen & (1ULL << b->rack))) {
            racks_seen |= 1ULL << b->rack;
            bal->racks_avail++;
        }
        if (b->eligible) bal->eligible_n++;
    }
    RN_ASSERT(bal->eligible_n <= bal->nb);
}

static void bal_init_part(bal_t *bal, int32_t p) {
    const rn_bal_partition_t *src = &bal->in->parts[p];
    bal_part_t *part = &bal->parts[p];
    RN_ASSERT(src->replicas_n >= 1 && src->replicas_n <= RN_REPLICAS_MAX);
    RN_ASSERT(src->topic >= 0 && src->topic < bal->nt);
    part->rf = src->replicas_n;
    for (int32_t i = 0; i < src->isr_n; i++)
        part->isr_bits |= 1ULL << bal_index(bal->in, src->isr[i]);
    bool leader_ok =
        src->leader >= 0 && (part->isr_bits & (1ULL << bal_index(bal->in, src->leader)));
    part->locked = src->moving || !leader_ok;
    for (int32_t i = 0; i < part->rf; i++) {
        int32_t b = bal_index(bal->in, src->replicas[i]);
        part->rep[i] = b;
        bal->b[b].replicas++;
        bal->tcnt[(int64_t)src->topic * bal->nb + b]++;
        if (bal->b[b].eligible) bal->ttot[src->topic]++;
        if (src->moving) bal->b[b].moves++;
    }
    bal->b[part->rep[0]].leaders++;
}

rn_err_t bal_init(bal_t *bal, const rn_bal_input_t *in, const rn_bal_settings_t *set) {
    RN_ASSERT(in->brokers_n >= 1 && in->brokers_n <= RN_BROKERS_MAX);
    RN_ASSERT(in->parts_n >= 0 && in->parts_n <= RN_BAL_PARTITIONS_MAX);
    RN_ASSERT(in->topics_n >= 1 && in->topics_n <= RN_BAL_PARTITIONS_MAX);
    memset(bal, 0, sizeof(*bal));
    bal->in = in;
    bal->set = set;
    bal->nb = in->brokers_n;
    bal->np = in->parts_n;
    bal->nt = in->topics_n;
    size_t parts_bytes = sizeof(bal_part_t) * (size_t)bal->np;
    size_t tcnt_bytes = sizeof(int32_t) * (size_t)bal->nt * (size_t)bal->nb;
    size_t ttot_bytes = sizeof(int32_t) * (size_t)bal->nt;
    char *mem = calloc(1, parts_bytes + tcnt_bytes + ttot_bytes);
    if (mem == NULL) return RN_ERR_NO_MEMORY;
    bal->parts = (bal_part_t *)(void *)mem;
    bal->tcnt = (int32_t *)(void *)(mem + parts_bytes);
    bal->ttot = (int32_t *)(void *)(mem + parts_bytes + tcnt_bytes);
    bal_init_brokers(bal);
    for (int32_t p = 0; p < bal->np; p++) bal_init_part(bal, p);
    return RN_OK;
}

void bal_free(bal_t *bal) {
    RN_ASSERT(bal != NULL);
    free(bal->parts);
    bal->parts = NULL;
}

bool bal_counted(const bal_t *bal, rn_bal_goal_t goal, int32_t b) {
    RN_ASSERT(goal >= RN_BAL_G_SOFT_FIRST && goal < RN_BAL_G__COUNT);
    if (!bal->b[b].eligible) return false;
    return goal != RN_BAL_G_DISK || bal->b[b].cap > 0;
}

/* A broker's value for a soft goal (the topic goal has its own). */
double bal_metric(const bal_broker_t *b, rn_bal_goal_t goal) {
    switch (goal) {
    case RN_BAL_G_REPLICAS:
        return b->replicas;
    case RN_BAL_G_LEADERS:
        return b->leaders;
    case RN_BAL_G_DISK:
        return (double)b->used * 100.0 / (double)b->cap;
    case RN_BAL_G_NET_IN:
        return b->net_in;
    case RN_BAL_G_NET_OUT:
        return b->net_out;
    default:
        RN_UNREACHABLE("not a per-broker soft goal");
    }
}

double bal_soft_dev(const bal_t *bal, rn_bal_goal_t goal, int32_t b) {
    RN_ASSERT(goal != RN_BAL_G_TOPIC);
    RN_ASSERT(bal_counted(bal, goal, b));
    return bal_metric(&bal->b[b], goal) - bal->mean[goal];
}

/* The start and stop bands of a mean: a percent of it, at least a floor. */
static void bal_band(const rn_bal_settings_t *set, double mean, double start_min, double stop_min,
                     double *start, double *stop) {
    *start = fmax(fabs(mean) * set->start_pct / 100.0, start_min);
    *stop = fmax(fabs(mean) * set->stop_pct / 100.0, stop_min);
    RN_ASSERT(*stop > 0 && *stop <= *start);
}

/* Recomputes the means and bands of the per-broker soft goals. */
void bal_bands(bal_t *bal) {
    const rn_bal_settings_t *set = bal->set;
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (g == RN_BAL_G_TOPIC) continue;
        double sum = 0, weight = 0;
        for (int32_t b = 0; b < bal->nb; b++) {
            if (!bal_counted(bal, (rn_bal_goal_t)g, b)) continue;
            if (g == RN_BAL_G_DISK) {
                sum += (double)bal->b[b].used * 100.0;
                weight += (double)bal->b[b].cap;
            } else {
                sum += bal_metric(&bal->b[b], (rn_bal_goal_t)g);
                weight += 1;
            }
        }
        bal->mean[g] = weight > 0 ? sum / weight : 0;
        double start_min = set->count_start_min, stop_min = set->count_stop_min;
        if (g == RN_BAL_G_DISK) {
            start_min = set->disk_start_min_pct;
            stop_min = set->disk_stop_min_pct;
        } else if (g == RN_BAL_G_NET_IN || g == RN_BAL_G_NET_OUT) {
            start_min = (double)set->net_start_min_bytes_per_s;
            stop_min = (double)set->net_stop_min_bytes_per_s;
        }
        bal_band(set, bal->mean[g], start_min, stop_min, &bal->start[g], &bal->stop[g]);
    }
    RN_ASSERT(bal->stop[RN_BAL_G_REPLICAS] > 0);
}

/* One topic's mean and bands over the eligible brokers. */
void bal_topic_band(const bal_t *bal, int32_t t, double *mean, double *start, double *stop) {
    RN_ASSERT(t >= 0 && t < bal->nt);
    *mean = bal->eligible_n > 0 ? (double)bal->ttot[t] / bal->eligible_n : 0;
    bal_band(bal->set, *mean, bal->set->count_start_min, bal->set->count_stop_min, start, stop);
}

int32_t bal_distinct_racks(const bal_t *bal, const int32_t *rep, int32_t rf) {
    uint64_t seen = 0;
    int32_t n = 0;
    for (int32_t i = 0; i < rf; i++) {
        uint64_t bit = 1ULL << bal->b[rep[i]].rack;
        if (!(seen & bit)) n++;
        seen |= bit;
    }
    RN_ASSERT(n >= 1 && n <= rf);
    return n;
}

int32_t bal_rack_target(const bal_t *bal, int32_t rf) {
    RN_ASSERT(rf >= 1);
    return rf < bal->racks_avail ? rf : bal->racks_avail;
}

static bal_eff_t *bal_eff_of(bal_effs_t *effs, int32_t b) {
    for (int32_t i = 0; i < effs->n; i++)
        if (effs->e[i].b == b) return &effs->e[i];
    RN_ASSERT(effs->n < BAL_EFF_MAX);
    bal_eff_t *e = &effs->e[effs->n++];
    memset(e, 0, sizeof(*e));
    e->b = b;
    return e;
}

/* Adds (sign 1) or takes away (sign -1) what hosting p with list rep costs
   each broker: a replica takes the size and the bytes in; the preferred
   leader also serves the consumers and the followers' fetches. */
static void bal_effects_of(const bal_t *bal, int32_t p, const int32_t *rep, int sign,
                           bal_effs_t *effs) {
    const rn_bal_partition_t *src = &bal->in->parts[p];
    int32_t rf = bal->parts[p].rf;
    for (int32_t i = 0; i < rf; i++) {
        bal_eff_t *e = bal_eff_of(effs, rep[i]);
        e->d_replicas += sign;
        e->d_used += sign * src->size_bytes;
        e->d_in += sign * (double)src->bytes_in_per_s;
        if (i > 0) continue;
        e->d_leaders += sign;
        e->d_out += sign * ((double)src->bytes_out_per_s + (double)src->bytes_in_per_s * (rf - 1));
    }
    RN_ASSERT(effs->n <= BAL_EFF_MAX);
}

void bal_effects(const bal_t *bal, int32_t p, const int32_t *rep_new, bal_effs_t *effs) {
    RN_ASSERT(p >= 0 && p < bal->np);
    effs->n = 0;
    bal_effects_of(bal, p, bal->parts[p].rep, -1, effs);
    bal_effects_of(bal, p, rep_new, 1, effs);
}

bool bal_holds(const int32_t *rep, int32_t rf, int32_t b) {
    for (int32_t i = 0; i < rf; i++)
        if (rep[i] == b) return true;
    return false;
}

/* Whether broker b may take p's lead: eligible and in sync. */
static bool bal_may_lead(const bal_t *bal, int32_t p, int32_t b) {
    return bal->b[b].eligible && (bal->parts[p].isr_bits & (1ULL << b)) != 0;
}

/* When the new list would lead with a replica being added, puts the
   replicas p keeps first (those in sync on eligible brokers first, in the
   list's order), then the added ones: a replaced preferred leader hands
   the lead to a replica that has the data.
   A list that leads with a kept replica (a reorder) stays as it is. */
void bal_order(const bal_t *bal, int32_t p, int32_t *rep_new) {
    const bal_part_t *part = &bal->parts[p];
    if (bal_holds(part->rep, part->rf, rep_new[0])) return;
    int32_t out[RN_REPLICAS_MAX], n = 0;
    for (int32_t i = 0; i < part->rf; i++) /* an in-sync eligible one leads */
        if (bal_holds(part->rep, part->rf, rep_new[i]) && bal_may_lead(bal, p, rep_new[i]))
            out[n++] = rep_new[i];
    for (int32_t i = 0; i < part->rf; i++)
        if (bal_holds(part->rep, part->rf, rep_new[i]) && !bal_may_lead(bal, p, rep_new[i]))
            out[n++] = rep_new[i];
    for (int32_t i = 0; i < part->rf; i++)
        if (!bal_holds(part->rep, part->rf, rep_new[i])) out[n++] = rep_new[i];
    RN_ASSERT(n == part->rf);
    memcpy(rep_new, out, sizeof(int32_t) * (size_t)n);
    RN_ASSERT(!bal_holds(rep_new + 1, n - 1, rep_new[0]));
}

static void bal_record(bal_t *bal, int32_t p, const int32_t *rep_new, int32_t added,
                       rn_bal_goal_t reason) {
    RN_ASSERT(bal->moves_n < bal->moves_max);
    rn_bal_move_t *mv = &bal->moves[bal->moves_n++];
    memset(mv, 0, sizeof(*mv));
    mv->part = p;
    mv->replicas_n = bal->parts[p].rf;
    for (int32_t i = 0; i < mv->replicas_n; i++) mv->replicas[i] = bal->in->brokers[rep_new[i]].id;
    mv->bytes = bal->in->parts[p].size_bytes * added;
    mv->kind = added > 0 ? RN_BAL_REPLICA_MOVE : RN_BAL_LEADER_MOVE;
    mv->reason = reason;
}

void bal_apply(bal_t *bal, int32_t p, const int32_t *rep_new, const bal_effs_t *effs,
               rn_bal_goal_t reason) {
    bal_part_t *part = &bal->parts[p];
    RN_ASSERT(!part->locked);
    int32_t added = 0, t = bal->in->parts[p].topic;
    for (int32_t i = 0; i < part->rf; i++) added += !bal_holds(part->rep, part->rf, rep_new[i]);
    for (int32_t i = 0; i < effs->n; i++) {
        const bal_eff_t *e = &effs->e[i];
        bal_broker_t *b = &bal->b[e->b];
        b->replicas += e->d_replicas;
        b->leaders += e->d_leaders;
        b->used += e->d_used;
        if (e->d_used > 0) b->used_in += e->d_used;
        b->net_in += e->d_in;
        b->net_out += e->d_out;
        if (added > 0 && e->d_replicas != 0 && !b->absent) b->moves++;
        bal->tcnt[(int64_t)t * bal->nb + e->b] += e->d_replicas;
        if (b->eligible) bal->ttot[t] += e->d_replicas;
        RN_ASSERT(b->replicas >= 0 && b->leaders >= 0);
    }
    bal_record(bal, p, rep_new, added, reason);
    memcpy(part->rep, rep_new, sizeof(int32_t) * (size_t)part->rf);
    part->locked = true;
}

/* Whether b's disk, with extra bytes, stays at or below the ceiling. */
bool bal_disk_fits(const bal_t *bal, int64_t used, int64_t cap) {
    RN_ASSERT(cap > 0);
    int64_t ceiling =
        cap / 100 * bal->set->disk_ceiling_pct + cap % 100 * bal->set->disk_ceiling_pct / 100;
    return used <= ceiling;
}

static void bal_count_hard(const bal_t *bal, int32_t *viol) {
    for (int32_t p = 0; p < bal->np; p++) {
        const bal_part_t *part = &bal->parts[p];
        for (int32_t i = 0; i < part->rf; i++) viol[RN_BAL_G_DRAIN] += bal->b[part->rep[i]].leaving;
        if (bal_distinct_racks(bal, part->rep, part->rf) < bal_rack_target(bal, part->rf))
            viol[RN_BAL_G_RACK]++;
    }
    const rn_bal_settings_t *set = bal->set;
    for (int32_t b = 0; b < bal->nb; b++) {
        const bal_broker_t *br = &bal->b[b];
        if (!br->eligible) continue;
        viol[RN_BAL_G_REPLICA_CAP] +=
            set->replicas_per_broker_max > 0 && br->replicas > set->replicas_per_broker_max;
        viol[RN_BAL_G_LEADER_CAP] +=
            set->leaders_per_broker_max > 0 && br->leaders > set->leaders_per_broker_max;
        viol[RN_BAL_G_DISK_CAP] += br->cap > 0 && !bal_disk_fits(bal, br->used, br->cap);
    }
    RN_ASSERT(viol[RN_BAL_G_RACK] <= bal->np);
}

/* Violations of each goal in the projected cluster (bands current). */
void bal_count(const bal_t *bal, int32_t *viol) {
    memset(viol, 0, sizeof(int32_t) * RN_BAL_G__COUNT);
    bal_count_hard(bal, viol);
    for (int g = RN_BAL_G_SOFT_FIRST; g < RN_BAL_G__COUNT; g++) {
        if (g == RN_BAL_G_TOPIC) continue;
        for (int32_t b = 0; b < bal->nb; b++)
            if (bal_counted(bal, (rn_bal_goal_t)g, b))
                viol[g] += fabs(bal_soft_dev(bal, (rn_bal_goal_t)g, b)) > bal->stop[g];
    }
    for (int32_t t = 0; t < bal->nt; t++) {
        double mean, start, stop;
        bal_topic_band(bal, t, &mean, &start, &stop);
        for (int32_t b = 0; b < bal->nb; b++)
            if (bal->b[b].eligible)
                viol[RN_BAL_G_TOPIC] += fabs(bal->tcnt[(int64_t)t * bal->nb + b] - mean) > stop;
    }
    RN_ASSERT(viol[RN_BAL_G_DRAIN] >= 0);
}
