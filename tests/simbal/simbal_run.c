/*
 * simbal_run.c: one seeded run of the balance simulation: a random cluster
 * (simbal_gen.c), then rounds of plan, check (simbal_check.c), apply,
 * until a plan is empty with no move in flight, then again after the
 * traffic drifts a little; the planner run twice on every input (the same
 * moves and report, byte for byte), the end state checked, the trace a
 * line per round and per move.
 *
 * Owns the sb_t of the run (on the heap: its arrays are large). Never reads
 * the clock or anything but the seed.
 */
#include "simbal.h"

#include "base/assert.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sb_trace(sb_t *s, const char *fmt, ...) {
    if (!s->trace) return;
    fprintf(s->trace, "[round %4d] ", s->round);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
}

void sb_fail(sb_t *s, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    sb_trace(s, "CHECK FAILED: %s", s->reason);
}

static void sb_trace_cluster(sb_t *s) {
    int32_t replicas[SB_BROKERS_MAX] = {0}, leaders[SB_BROKERS_MAX] = {0};
    for (int32_t p = 0; p < s->parts_n; p++) {
        leaders[sb_index(s, s->parts[p].replicas[0])]++;
        for (int32_t i = 0; i < s->parts[p].replicas_n; i++)
            replicas[sb_index(s, s->parts[p].replicas[i])]++;
    }
    for (int32_t b = 0; b < s->brokers_n && s->trace; b++) {
        const rn_bal_broker_t *br = &s->brokers[b];
        sb_trace(
            s,
            "broker %d rack %s%s%s%s: %d replicas, %d leaders, disk %lld/%lld, in %lld, out %lld",
            br->id, br->rack ? br->rack : "-", br->usable ? "" : " unusable",
            br->drained ? " drained" : "", br->absent ? " absent" : "", replicas[b], leaders[b],
            (long long)br->disk_used_bytes, (long long)br->disk_capacity_bytes,
            (long long)br->bytes_in_per_s, (long long)br->bytes_out_per_s);
    }
}

static void sb_trace_settings(sb_t *s) {
    sb_trace(s, "%d partitions in %d topics; bound %d per broker, %d per plan, caps %d/%d",
             s->parts_n, s->topics_n, s->set.moves_per_broker_max, s->set.moves_per_plan_max,
             s->set.replicas_per_broker_max, s->set.leaders_per_broker_max);
}

static void sb_trace_moves(sb_t *s, const rn_bal_move_t *moves, int32_t n) {
    for (int32_t i = 0; i < n && s->trace; i++) {
        const rn_bal_move_t *mv = &moves[i];
        char list[96] = "";
        for (int32_t j = 0, o = 0; j < mv->replicas_n; j++)
            o +=
                snprintf(list + o, sizeof(list) - (size_t)o, "%s%d", j ? "," : "", mv->replicas[j]);
        sb_trace(s, "  p%d -> [%s] %s %lld bytes (%s)", mv->part, list,
                 mv->kind == RN_BAL_LEADER_MOVE ? "reorder" : "copy", (long long)mv->bytes,
                 rn_bal_goal_name(mv->reason));
    }
}

/* Plans twice and compares; returns the moves planned (-1 on failure). */
static int32_t sb_plan(sb_t *s, rn_bal_report_t *rep) {
    rn_bal_input_t in = {s->brokers, s->brokers_n, s->parts,
                         s->parts_n, s->topics_n,  s->unfinished};
    int32_t cap = (int32_t)(sizeof(s->moves) / sizeof(s->moves[0])), n = 0, n2 = 0;
    rn_bal_report_t rep2;
    memset(s->moves, 0, sizeof(s->moves));
    memset(s->again, 0, sizeof(s->again));
    RN_ASSERT(rn_bal_plan(&in, &s->set, s->moves, cap, &n, rep) == RN_OK);
    RN_ASSERT(rn_bal_plan(&in, &s->set, s->again, cap, &n2, &rep2) == RN_OK);
    if (n != n2 || memcmp(s->moves, s->again, sizeof(s->moves)) ||
        memcmp(rep, &rep2, sizeof(rep2))) {
        sb_fail(s, "the same input planned twice gave different plans (%d and %d moves)", n, n2);
        return -1;
    }
    return n;
}

/* Rounds until a plan is empty with nothing in flight; false on failure. */
static bool sb_converge(sb_t *s) {
    rn_bal_report_t rep;
    for (int32_t r = 0; r < SB_ROUNDS_MAX && !s->failed; r++, s->round++) {
        int32_t n = sb_plan(s, &rep);
        if (n < 0) return false;
        sb_trace(s, "%d moves (%d reorders), %lld bytes, %d bound refusals, idle %d", n,
                 rep.leader_moves_n, (long long)rep.bytes, rep.bound_refusals, (int)rep.idle);
        sb_trace_moves(s, s->moves, n);
        sb_check_plan(s, s->moves, n, &rep);
        if (s->failed) return false;
        bool in_flight = false;
        for (int32_t p = 0; p < s->parts_n; p++) in_flight |= s->parts[p].moving;
        if (n == 0 && !in_flight) {
            sb_check_end(s, &rep);
            return !s->failed;
        }
        s->unfinished = rep.goals_unfinished;
        s->stats.rounds++;
        s->stats.moves += (uint64_t)n;
        s->stats.leader_moves += (uint64_t)rep.leader_moves_n;
        s->stats.bytes += (uint64_t)rep.bytes;
        sb_apply(s, s->moves, n);
    }
    if (!s->failed) sb_fail(s, "still planning after %d rounds", SB_ROUNDS_MAX);
    return false;
}

/* Traffic drifts a little (each partition's rates by up to 15 %): a
   balanced cluster that stays within its start bands must plan nothing,
   one that leaves them must converge again. */
static void sb_drift(sb_t *s) {
    for (int32_t p = 0; p < s->parts_n; p++) {
        rn_bal_partition_t *part = &s->parts[p];
        int64_t pct = 85 + (int64_t)sb_below(s, 31);
        part->bytes_in_per_s = part->bytes_in_per_s * pct / 100;
        part->bytes_out_per_s = part->bytes_out_per_s * pct / 100;
    }
    sb_refresh_loads(s);
    for (int32_t p = 0; p < s->parts_n; p++) s->prev_moved[p] = -1; /* a new world */
    sb_trace(s, "traffic drifts (within the bands: %s)", sb_quiet(s) ? "yes" : "no");
}

static void sb_loop(sb_t *s) {
    if (!sb_converge(s)) return;
    sb_trace_cluster(s);
    sb_drift(s);
    (void)sb_converge(s);
}

int sb_run(uint64_t seed, FILE *trace, sb_stats_t *st, char *reason, size_t reason_n) {
    sb_t *s = calloc(1, sizeof(*s));
    RN_ASSERT(s != NULL);
    s->rng = seed;
    s->trace = trace;
    sb_generate(s);
    sb_trace_cluster(s);
    sb_trace_settings(s);
    sb_loop(s);
    *st = s->stats;
    int failed = s->failed;
    snprintf(reason, reason_n, "%s", s->reason);
    free(s);
    return failed;
}
