/*
 * balance_int.h: the planner's working state, shared by balance_state.c
 * (the projected cluster: metrics, bands, applying a move, counting
 * violations), balance_check.c (what a candidate move would do: legal under
 * the hard goals and the bound, its change to the soft goals' costs) and
 * balance_plan.c (the phases that choose moves).
 *
 * Owns nothing: rn_bal_plan builds one bal_t on its stack, with one
 * allocation for the per-partition and per-topic arrays, and frees it
 * before it returns. Never seen outside src/metadata/balance_*.c.
 *
 * Brokers are named by their index in the input (0..nb-1), never by id,
 * inside the working state; moves go out with ids again.
 */
#ifndef RN_METADATA_BALANCE_INT_H
#define RN_METADATA_BALANCE_INT_H

#include "metadata/balance_plan.h"

/* A partition's working copy: its replica list as broker indices. */
typedef struct bal_part {
    int32_t rep[RN_REPLICAS_MAX];
    int32_t rf;
    uint64_t isr_bits; /* in-sync brokers, bit = broker index */
    bool locked;       /* in flight, without a leader, or moved by this plan */
} bal_part_t;

/* A broker as the plan leaves it once applied (projected). */
typedef struct bal_broker {
    bool eligible; /* may receive replicas: usable, not drained, not absent */
    bool leaving;  /* drained or absent: must end empty */
    bool absent;   /* does no work: moves off it do not count against its bound */
    int32_t rack;  /* rack number; a broker without a rack is a rack of its own */
    int32_t replicas;
    int32_t leaders; /* preferred leaders */
    int64_t cap;     /* disk capacity, -1 unknown (or used unknown) */
    int64_t used;    /* projected: reported + planned in - planned out */
    int64_t used_in; /* reported + planned in: what the ceiling is checked on */
    double net_in;
    double net_out;
    int32_t moves; /* replica moves in flight or planned touching it */
} bal_broker_t;

/* A change to the per-broker metrics: one entry per broker touched. */
typedef struct bal_eff {
    int32_t b;
    int32_t d_replicas;
    int32_t d_leaders;
    int64_t d_used;
    double d_in;
    double d_out;
} bal_eff_t;

#define BAL_EFF_MAX (2 * RN_REPLICAS_MAX)

typedef struct bal_effs {
    bal_eff_t e[BAL_EFF_MAX];
    int32_t n;
} bal_effs_t;

/* A candidate's evaluation: the change of the cost of each soft goal (in
   units of its stop band) and whether every broker it touches stays on its
   side of every soft goal's stop band (one that gains ends at most a band
   above the mean, one that loses at most a band below). */
typedef struct bal_eval {
    double d_cost[RN_BAL_G__COUNT];
    double d_total;
    bool keeps_bands;
} bal_eval_t;

typedef struct bal {
    const rn_bal_input_t *in;
    const rn_bal_settings_t *set;
    int32_t nb, np, nt;
    bal_broker_t b[RN_BROKERS_MAX];
    bal_part_t *parts; /* np */
    int32_t *tcnt;     /* nt * nb: replicas of topic t on broker b */
    int32_t *ttot;     /* nt: replicas of topic t on eligible brokers */
    int32_t racks_avail;
    int32_t eligible_n;
    double mean[RN_BAL_G__COUNT]; /* soft goals but the topic one */
    double start[RN_BAL_G__COUNT];
    double stop[RN_BAL_G__COUNT];
    bool active[RN_BAL_G__COUNT]; /* soft goals past their start band */
    rn_bal_move_t *moves;
    int32_t moves_n;
    int32_t moves_max;
    int32_t bound_refusals;
} bal_t;

/* balance_state.c */
rn_err_t bal_init(bal_t *bal, const rn_bal_input_t *in, const rn_bal_settings_t *set);
void bal_free(bal_t *bal);
void bal_bands(bal_t *bal);
int32_t bal_distinct_racks(const bal_t *bal, const int32_t *rep, int32_t rf);
int32_t bal_rack_target(const bal_t *bal, int32_t rf);
void bal_effects(const bal_t *bal, int32_t p, const int32_t *rep_new, bal_effs_t *effs);
void bal_apply(bal_t *bal, int32_t p, const int32_t *rep_new, const bal_effs_t *effs,
               rn_bal_goal_t reason);
void bal_count(const bal_t *bal, int32_t *viol);
double bal_soft_dev(const bal_t *bal, rn_bal_goal_t goal, int32_t b);
double bal_metric(const bal_broker_t *b, rn_bal_goal_t goal);
void bal_topic_band(const bal_t *bal, int32_t t, double *mean, double *start, double *stop);
bool bal_counted(const bal_t *bal, rn_bal_goal_t goal, int32_t b);
void bal_order(const bal_t *bal, int32_t p, int32_t *rep_new);
bool bal_holds(const int32_t *rep, int32_t rf, int32_t b);
bool bal_disk_fits(const bal_t *bal, int64_t used, int64_t cap);

/* balance_check.c */
typedef enum bal_verdict { BAL_LEGAL, BAL_ILLEGAL, BAL_BOUNDED } bal_verdict_t;
bal_verdict_t bal_legal(const bal_t *bal, int32_t p, const int32_t *rep_new,
                        const bal_effs_t *effs);
void bal_evaluate(const bal_t *bal, int32_t p, const bal_effs_t *effs, bal_eval_t *ev);
/* Whether a replica move touching broker b would pass the bound: the scans
   skip such moves before building them. */
bool bal_at_bound(const bal_t *bal, int32_t b);

#endif
