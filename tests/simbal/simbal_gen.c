/*
 * simbal_gen.c: the balance simulation's world: a random cluster from the
 * seed (brokers with racks, drains, absences, disks and traffic; topics and
 * partitions with replicas, ISRs, moves in flight, sizes and rates), the
 * brokers' reported load derived from the partitions they hold, and a plan
 * applied as completed reassignments.
 *
 * Owns the cluster inside an sb_t. Never plans or checks.
 */
#include "simbal.h"

#include "base/assert.h"

#include <string.h>

#define SB_GIB (1024LL * 1024 * 1024)
#define SB_MIB (1024LL * 1024)

uint64_t sb_rand(sb_t *s) {
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sb_below(sb_t *s, uint64_t n) {
    RN_ASSERT(n > 0);
    return sb_rand(s) % n;
}

/* 1 in n. */
static bool sb_one_in(sb_t *s, uint64_t n) { return sb_below(s, n) == 0; }

int32_t sb_index(const sb_t *s, int32_t id) {
    for (int32_t b = 0; b < s->brokers_n; b++)
        if (s->brokers[b].id == id) return b;
    RN_UNREACHABLE("a broker id the simulation never made");
}

bool sb_eligible(const sb_t *s, int32_t b) {
    const rn_bal_broker_t *br = &s->brokers[b];
    return br->usable && !br->drained && !br->absent;
}

static void sb_gen_brokers(sb_t *s) {
    s->brokers_n = (int32_t)(1 + sb_below(s, SB_BROKERS_MAX));
    int racks = s->plain || sb_one_in(s, 2) ? 0 : (int)(2 + sb_below(s, 3));
    int64_t cap = (int64_t)(1 + sb_below(s, 8)) * 64 * SB_GIB;
    bool tight = !s->plain && sb_one_in(s, 4); /* disks near the ceiling */
    for (int32_t b = 0; b < s->brokers_n; b++) {
        rn_bal_broker_t *br = &s->brokers[b];
        br->id = (int32_t)(b + 1 + (int32_t)sb_below(s, 2) * 100);
        snprintf(s->racks[b], sizeof(s->racks[b]), "r%d",
                 racks ? (int)sb_below(s, (uint64_t)racks) : 0);
        br->rack = racks && !sb_one_in(s, 10) ? s->racks[b] : NULL;
        br->usable = s->plain || !sb_one_in(s, 10);
        br->drained = sb_one_in(s, 8);
        br->absent = sb_one_in(s, 10);
        if (br->absent) br->usable = false;
        br->disk_capacity_bytes = s->plain           ? 4096 * SB_GIB
                                  : sb_one_in(s, 10) ? -1
                                                     : cap * (int64_t)(1 + sb_below(s, 2));
        int64_t c = br->disk_capacity_bytes > 0 ? br->disk_capacity_bytes : cap;
        s->other_bytes[b] =
            s->plain ? 0 : (int64_t)sb_below(s, (uint64_t)(tight ? c * 8 / 10 : c / 4) + 1);
        s->base_in[b] = (int64_t)sb_below(s, (uint64_t)SB_MIB);
        s->base_out[b] = (int64_t)sb_below(s, (uint64_t)SB_MIB);
        if (s->plain) s->base_in[b] = s->base_out[b] = 0;
        s->stats.drained += br->drained || br->absent;
    }
    for (int32_t b = 0; b < s->brokers_n; b++) /* ids distinct */
        for (int32_t a = 0; a < b; a++)
            if (s->brokers[a].id == s->brokers[b].id) s->brokers[b].id += 1000;
}

/* Replica lists over the first `hosts` brokers (the rest start empty, as
   brokers just added), distinct, in random order. */
static void sb_gen_replicas(sb_t *s, rn_bal_partition_t *part, int32_t hosts, int32_t rf) {
    part->replicas_n = 0;
    while (part->replicas_n < rf) {
        int32_t id = s->brokers[sb_below(s, (uint64_t)hosts)].id;
        bool dup = false;
        for (int32_t i = 0; i < part->replicas_n; i++) dup |= part->replicas[i] == id;
        if (!dup) part->replicas[part->replicas_n++] = id;
    }
}

/* The ISR: the replicas but the absent ones and, now and then, a lagging
   one; the leader its first member (none when it is empty). */
static void sb_gen_isr(sb_t *s, rn_bal_partition_t *part) {
    part->isr_n = 0;
    for (int32_t i = 0; i < part->replicas_n; i++) {
        int32_t b = sb_index(s, part->replicas[i]);
        if (s->brokers[b].absent || (!s->plain && sb_one_in(s, 20))) continue;
        part->isr[part->isr_n++] = part->replicas[i];
    }
    part->leader = part->isr_n > 0 ? part->isr[0] : -1;
}

static void sb_gen_parts(sb_t *s) {
    s->topics_n = (int32_t)(1 + sb_below(s, SB_TOPICS_MAX));
    s->parts_n = (int32_t)(1 + sb_below(s, SB_PARTS_MAX));
    int32_t rf_max = (int32_t)(1 + sb_below(s, SB_RF_MAX));
    if (rf_max > s->brokers_n) rf_max = s->brokers_n;
    int32_t empty = sb_one_in(s, 3) ? (int32_t)sb_below(s, (uint64_t)s->brokers_n) : 0;
    int32_t hosts = s->brokers_n - empty < rf_max ? rf_max : s->brokers_n - empty;
    int64_t size_max = sb_one_in(s, 2) ? 4 * SB_GIB : 64 * SB_GIB;
    bool quiet = s->plain || sb_one_in(s, 4); /* no traffic at all */
    for (int32_t p = 0; p < s->parts_n; p++) {
        rn_bal_partition_t *part = &s->parts[p];
        memset(part, 0, sizeof(*part));
        part->topic = (int32_t)sb_below(s, (uint64_t)s->topics_n);
        part->partition = p;
        sb_gen_replicas(s, part, hosts, (int32_t)(1 + sb_below(s, (uint64_t)rf_max)));
        sb_gen_isr(s, part);
        part->moving = !s->plain && sb_one_in(s, 50);
        part->size_bytes = s->plain           ? SB_GIB
                           : sb_one_in(s, 10) ? 0
                                              : (int64_t)sb_below(s, (uint64_t)size_max);
        part->bytes_in_per_s = quiet ? 0 : (int64_t)sb_below(s, (uint64_t)(2 * SB_MIB));
        part->bytes_out_per_s = part->bytes_in_per_s * (int64_t)sb_below(s, 4);
        s->prev_moved[p] = -1;
    }
}

static void sb_gen_settings(sb_t *s) {
    rn_bal_settings_default(&s->set);
    s->set.moves_per_broker_max = (int32_t)(1 + sb_below(s, 10));
    s->set.moves_per_plan_max = (int32_t)(5 + sb_below(s, RN_BAL_MOVES_PER_PLAN_DEFAULT * 2 - 4));
    int64_t replicas = 0;
    for (int32_t p = 0; p < s->parts_n; p++) replicas += s->parts[p].replicas_n;
    if (!s->plain && sb_one_in(s, 4))
        s->set.replicas_per_broker_max =
            (int32_t)(replicas / s->brokers_n + 1 + (int64_t)sb_below(s, 50));
    if (!s->plain && sb_one_in(s, 4))
        s->set.leaders_per_broker_max =
            (int32_t)(s->parts_n / s->brokers_n + 1 + (int64_t)sb_below(s, 20));
}

void sb_generate(sb_t *s) {
    s->plain = sb_one_in(s, 5);
    sb_gen_brokers(s);
    sb_gen_parts(s);
    sb_gen_settings(s);
    sb_refresh_loads(s);
    RN_ASSERT(s->brokers_n >= 1 && s->parts_n >= 1);
}

/* Each broker reports what its replicas make it hold and carry: the
   planner's model of load (balance_state.c), plus the broker's own. */
void sb_refresh_loads(sb_t *s) {
    for (int32_t b = 0; b < s->brokers_n; b++) {
        rn_bal_broker_t *br = &s->brokers[b];
        br->disk_used_bytes = br->disk_capacity_bytes > 0 ? s->other_bytes[b] : -1;
        br->bytes_in_per_s = s->base_in[b];
        br->bytes_out_per_s = s->base_out[b];
    }
    for (int32_t p = 0; p < s->parts_n; p++) {
        const rn_bal_partition_t *part = &s->parts[p];
        for (int32_t i = 0; i < part->replicas_n; i++) {
            rn_bal_broker_t *br = &s->brokers[sb_index(s, part->replicas[i])];
            if (br->disk_used_bytes >= 0) br->disk_used_bytes += part->size_bytes;
            br->bytes_in_per_s += part->bytes_in_per_s;
            if (i == 0)
                br->bytes_out_per_s +=
                    part->bytes_out_per_s + part->bytes_in_per_s * (part->replicas_n - 1);
        }
    }
}

/* The moves as completed reassignments: the new list in sync (but absent
   brokers), its first in-sync replica elected; the moves in flight at the start complete too. */
void sb_apply(sb_t *s, const rn_bal_move_t *moves, int32_t n) {
    for (int32_t p = 0; p < s->parts_n; p++) s->parts[p].moving = false;
    for (int32_t i = 0; i < n; i++) {
        rn_bal_partition_t *part = &s->parts[moves[i].part];
        RN_ASSERT(moves[i].replicas_n == part->replicas_n);
        memcpy(s->prev_list[moves[i].part], part->replicas, sizeof(part->replicas));
        s->prev_moved[moves[i].part] = s->round;
        memcpy(part->replicas, moves[i].replicas, sizeof(part->replicas));
        part->isr_n = 0;
        for (int32_t j = 0; j < part->replicas_n; j++)
            if (!s->brokers[sb_index(s, part->replicas[j])].absent)
                part->isr[part->isr_n++] = part->replicas[j];
        part->leader = part->isr_n > 0 ? part->isr[0] : -1;
    }
    sb_refresh_loads(s);
}
