/*
 * simbal.h: the balance simulation (docs/SIMULATOR.md): random clusters,
 * planned and applied round after round until the planner plans nothing,
 * every plan checked against the hard goals, the bound, hysteresis and
 * determinism, and the end state against convergence.
 *
 * Owns the sb_t of one seed (simbal_run.c). Everything comes from the seed:
 * no clock, no I/O but the trace. Names start with sb_.
 */
#ifndef RN_TESTS_SIMBAL_SIMBAL_H
#define RN_TESTS_SIMBAL_SIMBAL_H

#include "metadata/balance_plan.h"

#include <stdint.h>
#include <stdio.h>

/* A cluster's size in the campaign: the brief's 1..12 brokers, 1..500
   partitions, RF 1..3. */
#define SB_BROKERS_MAX 12
#define SB_PARTS_MAX 500
#define SB_TOPICS_MAX 20
#define SB_RF_MAX 3
/* Rounds before a run that still plans counts as not converging: a
   cluster's every replica moved once at the smallest bound (500 x 3 / 1)
   is far below. */
#define SB_ROUNDS_MAX 2000
/* A failure's reason (fits the seed runner's). */
#define SB_REASON_BYTES 512

typedef struct sb_stats {
    uint64_t rounds;
    uint64_t moves;
    uint64_t leader_moves;
    uint64_t bytes;
    uint64_t drained;      /* brokers drained or absent at the start */
    uint64_t within;       /* convergences with every soft goal within its start band */
    uint64_t plain;        /* convergences of plain clusters (see sb_t.plain) */
    uint64_t plain_within; /* of those, with every soft goal within its start band */
} sb_stats_t;

typedef struct sb {
    uint64_t rng;
    FILE *trace;
    rn_bal_settings_t set;
    rn_bal_broker_t brokers[SB_BROKERS_MAX];
    char racks[SB_BROKERS_MAX][8];
    int64_t other_bytes[SB_BROKERS_MAX]; /* disk use that is not the partitions' */
    int64_t base_in[SB_BROKERS_MAX];     /* traffic that is not the partitions' */
    int64_t base_out[SB_BROKERS_MAX];
    int32_t brokers_n;
    rn_bal_partition_t parts[SB_PARTS_MAX];
    int32_t parts_n;
    int32_t topics_n;
    /* the previous round's moves: a partition's list before it (no flapping) */
    int32_t prev_moved[SB_PARTS_MAX]; /* round it last moved in, -1 never */
    int32_t prev_list[SB_PARTS_MAX][RN_REPLICAS_MAX];
    rn_bal_move_t moves[RN_BAL_MOVES_PER_PLAN_DEFAULT * 2];
    rn_bal_move_t again[RN_BAL_MOVES_PER_PLAN_DEFAULT * 2];
    /* A plain cluster: no racks, caps, fenced brokers, traffic, lagging
       replicas or moves in flight; equal roomy disks and partitions of
       1 GiB: its soft goals rarely conflict (a figure, not a check: a
       replica goal that needs a leader moved first can still stop). */
    bool plain;
    int32_t round;
    uint32_t unfinished; /* the last report's goals_unfinished, the next input's */
    sb_stats_t stats;
    int failed;
    char reason[SB_REASON_BYTES];
} sb_t;

/* simbal_gen.c */
uint64_t sb_rand(sb_t *s);
uint64_t sb_below(sb_t *s, uint64_t n);
void sb_generate(sb_t *s);
void sb_refresh_loads(sb_t *s);
void sb_apply(sb_t *s, const rn_bal_move_t *moves, int32_t n);
int32_t sb_index(const sb_t *s, int32_t id);
bool sb_eligible(const sb_t *s, int32_t b);

/* simbal_check.c */
void sb_check_plan(sb_t *s, const rn_bal_move_t *moves, int32_t n, const rn_bal_report_t *rep);
void sb_check_end(sb_t *s, const rn_bal_report_t *rep);
bool sb_quiet(const sb_t *s);

/* simbal_run.c */
void sb_trace(sb_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_fail(sb_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_run(uint64_t seed, FILE *trace, sb_stats_t *st, char *reason, size_t reason_n);

#endif
