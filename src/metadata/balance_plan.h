/*
 * balance_plan.h: the balancer's planner, a pure function from a cluster's
 * load to a list of partition reassignments (docs/BALANCING.md).
 *
 * Given the brokers (rack, state, disk, network rates) and the partitions
 * (replicas, leader, ISR, size, rates), rn_bal_plan chooses moves: a
 * partition's new full replica list, first the preferred leader. Hard goals
 * (drained and absent brokers empty, rack spread, replica and leader caps,
 * disk below the ceiling) are never broken by a move and are fixed first;
 * then soft goals (replica, leader, topic spread, disk use, network in and
 * out) by benefit per byte moved, with hysteresis, within a bound on
 * concurrent moves per broker and on moves per plan.
 *
 * Owns nothing past the call: one bounded allocation, freed before return.
 * Must never do I/O, read a clock, touch a global or depend on anything but
 * its arguments: the same input gives the same output, byte for byte.
 */
#ifndef RN_METADATA_BALANCE_PLAN_H
#define RN_METADATA_BALANCE_PLAN_H

#include "base/err.h"
#include "base/limits.h"

#include <stdbool.h>
#include <stdint.h>

/* A broker as the planner sees it. */
typedef struct rn_bal_broker {
    int32_t id;
    const char *rack;            /* NULL: none (the broker is a rack of its own) */
    bool usable;                 /* registered, unfenced, not shutting down */
    bool drained;                /* must end with no replicas */
    bool absent;                 /* gone past the timeout: its replicas are rebuilt elsewhere */
    int64_t disk_capacity_bytes; /* -1: unknown (no disk goal for this broker) */
    int64_t disk_used_bytes;     /* -1: unknown */
    int64_t bytes_in_per_s;      /* as the broker reports them */
    int64_t bytes_out_per_s;
} rn_bal_broker_t;

/* A partition. Every replica, leader and ISR member names a listed broker. */
typedef struct rn_bal_partition {
    int32_t topic;                     /* topic index, 0..topics_n-1 (for the per-topic spread) */
    int32_t partition;                 /* its number in the topic (reports only) */
    int32_t replicas[RN_REPLICAS_MAX]; /* broker ids, first = preferred leader */
    int32_t replicas_n;
    int32_t leader; /* broker id, -1 none: the planner leaves it alone */
    int32_t isr[RN_REPLICAS_MAX];
    int32_t isr_n;
    bool moving; /* a reassignment in flight: left alone, counts against the bound */
    int64_t size_bytes;
    int64_t bytes_in_per_s;  /* produced into it */
    int64_t bytes_out_per_s; /* consumed from it (served by the leader) */
} rn_bal_partition_t;

typedef struct rn_bal_input {
    const rn_bal_broker_t *brokers;
    int32_t brokers_n; /* 1..RN_BROKERS_MAX, ids distinct */
    const rn_bal_partition_t *parts;
    int32_t parts_n;  /* 0..RN_BAL_PARTITIONS_MAX */
    int32_t topics_n; /* 1..RN_BAL_PARTITIONS_MAX */
    /* Bit (1 << goal): the soft goals the previous plan's report left
       unfinished (goals_unfinished), 0 at first. Such a goal keeps acting
       down to its stop band although no broker is past its start band: the
       hysteresis outlives a plan cut short by the bounds. */
    uint32_t goals_unfinished;
} rn_bal_input_t;

/* Settings; rn_bal_settings_default gives the documented defaults. */
typedef struct rn_bal_settings {
    int32_t disk_ceiling_pct;        /* no move leaves a receiver above this */
    int32_t moves_per_broker_max;    /* replica moves touching one broker at once */
    int32_t moves_per_plan_max;      /* moves one plan returns */
    int32_t replicas_per_broker_max; /* hard cap, 0 = none */
    int32_t leaders_per_broker_max;  /* hard cap, 0 = none */
    /* Hysteresis: a soft goal acts when a broker is further from the mean
       than start (percent of the mean, and at least the goal's absolute
       minimum), and then moves until every broker is within stop. */
    int32_t start_pct;
    int32_t stop_pct;
    int32_t count_start_min; /* replicas or leaders (per broker, per topic) */
    int32_t count_stop_min;
    int32_t disk_start_min_pct; /* points of disk fill */
    int32_t disk_stop_min_pct;
    int64_t net_start_min_bytes_per_s;
    int64_t net_stop_min_bytes_per_s;
} rn_bal_settings_t;

/* The goals, hard first in the order they are fixed, then the soft ones. */
typedef enum rn_bal_goal {
    RN_BAL_G_DRAIN,       /* hard: drained and absent brokers hold nothing */
    RN_BAL_G_RACK,        /* hard: a partition spans min(RF, racks) racks */
    RN_BAL_G_REPLICA_CAP, /* hard: replicas per broker <= cap */
    RN_BAL_G_LEADER_CAP,  /* hard: preferred leaders per broker <= cap */
    RN_BAL_G_DISK_CAP,    /* hard: disk use <= ceiling */
    RN_BAL_G_REPLICAS,    /* soft: replica count per broker */
    RN_BAL_G_LEADERS,     /* soft: preferred leader count per broker */
    RN_BAL_G_TOPIC,       /* soft: each topic's replicas per broker */
    RN_BAL_G_DISK,        /* soft: disk fill per broker */
    RN_BAL_G_NET_IN,      /* soft: bytes in per second per broker */
    RN_BAL_G_NET_OUT,     /* soft: bytes out per second per broker */
    RN_BAL_G__COUNT
} rn_bal_goal_t;
#define RN_BAL_G_SOFT_FIRST RN_BAL_G_REPLICAS

typedef enum rn_bal_kind {
    RN_BAL_REPLICA_MOVE, /* a replica set change: the added replicas copy the data */
    RN_BAL_LEADER_MOVE,  /* the same set reordered: 0 bytes, then a preferred election */
} rn_bal_kind_t;

typedef struct rn_bal_move {
    int32_t part;                      /* index in the input's parts */
    int32_t replicas[RN_REPLICAS_MAX]; /* the new full list, preferred leader first */
    int32_t replicas_n;                /* the partition's RF, unchanged */
    int64_t bytes;                     /* size times replicas added; 0 for a reorder */
    rn_bal_kind_t kind;
    rn_bal_goal_t reason; /* the goal the move serves */
} rn_bal_move_t;

/* Why a plan holds no move. */
typedef enum rn_bal_idle {
    RN_BAL_BUSY,          /* the plan holds moves */
    RN_BAL_BALANCED,      /* every goal met, every soft goal within its stop band */
    RN_BAL_HYSTERESIS,    /* soft goals off their stop band but none past its start */
    RN_BAL_BOUND,         /* wanted moves, refused by the concurrency bound */
    RN_BAL_NO_LEGAL_MOVE, /* wanted moves, none keeps the hard goals */
} rn_bal_idle_t;

typedef struct rn_bal_report {
    /* Hard goals: replicas (drain), partitions (rack) or brokers (caps, disk)
       in violation; soft goals: brokers (topic: topic-broker pairs) outside
       the stop band. After: as the plan leaves the cluster once applied. */
    int32_t before[RN_BAL_G__COUNT];
    int32_t after[RN_BAL_G__COUNT];
    int32_t moves_n;
    int32_t leader_moves_n;
    int64_t bytes;             /* copied by the whole plan */
    int32_t bound_refusals;    /* candidate moves kept from the plan by the concurrency bound */
    uint32_t goals_unfinished; /* soft goals cut short by the bounds: the next input's */
    rn_bal_idle_t idle;
} rn_bal_report_t;

/* The documented defaults (docs/BALANCING.md). */
void rn_bal_settings_default(rn_bal_settings_t *set);

/* Plans up to min(moves_cap, set->moves_per_plan_max) moves into moves and
   fills rep. Returns RN_OK, or RN_ERR_NO_MEMORY when its working memory
   (bounded by the input's size) cannot be had; moves and rep are the
   caller's. */
rn_err_t rn_bal_plan(const rn_bal_input_t *in, const rn_bal_settings_t *set, rn_bal_move_t *moves,
                     int32_t moves_cap, int32_t *moves_n, rn_bal_report_t *rep);

/* The short name of a goal, as reports print it ("drain", "rack", ...). */
const char *rn_bal_goal_name(rn_bal_goal_t goal);

#endif
