/*
 * seed_runner.h: the command line every seeded simulator shares.
 *
 *   PROG --seed S                 replay one seed with a readable trace
 *   PROG --seeds N [--first F]    run seeds F..F+N-1, report failures
 *   PROG --minutes M              run random seeds for a time budget (soak)
 *   PROG --seeds N --until-fail --name X
 *                                 mutation test: stop at the first failure
 *   --jobs J     parallel seeds (each seed runs in its own child process, so
 *                an assertion in the code under test fails that seed only)
 *   --replay STR command printed to replay a failure; %llu is the seed
 *
 * A simulator hands sr_main its run function (one seed, a trace or none)
 * and the names of its own counters; the runner owns the rest: the options,
 * the child processes and the pipe each sends its result back on, the
 * determinism check (the first seed run twice, traces compared byte for
 * byte), the totals and the seeds/s figure, and the exit code. Names start
 * with sr_ ("seed runner"). The only code of the simulators that reads the
 * real clock (for the time budget and the seeds/s figure).
 */
#ifndef RN_TESTS_SIMLIB_SEED_RUNNER_H
#define RN_TESTS_SIMLIB_SEED_RUNNER_H

#include "io/io_sim.h"

#include <stdint.h>
#include <stdio.h>

/* A program's name, as make's target (the default replay command holds it). */
#define SR_PROG_BYTES 32
/* A failure's reason: one line naming the check and the values it saw. */
#define SR_REASON_BYTES 512
/* A simulator's own counters beyond faults and steps (simctl has 5). */
#define SR_COUNTERS_MAX 10
/* Seeds in flight at once: far more than the cores of any test machine. */
#define SR_JOBS_MAX 64

/* What one seed reports: filled by the simulator's run function, sent from
   the child to the runner in one write. */
typedef struct sr_seed {
    int failed;
    uint64_t faults;                    /* faults injected */
    uint64_t steps;                     /* steps of the event loop */
    uint64_t counters[SR_COUNTERS_MAX]; /* the simulator's own, as named in sr_sim_t */
    rn_sim_stats_t world;
    char reason[SR_REASON_BYTES]; /* why it failed (when it did) */
} sr_seed_t;

/* Runs one seed, writing its trace to trace (NULL: no trace); fills out
   (out starts zeroed) and returns nonzero if the seed failed, with the
   reason in out->reason. */
typedef int (*sr_run_fn)(uint64_t seed, FILE *trace, sr_seed_t *out);

/* One of the simulator's own counters. */
typedef struct sr_counter {
    const char *name; /* in the totals line, summed over seeds: "client ops" */
    int per_seed;     /* also in the one-seed line, after the faults */
} sr_counter_t;

/* A simulator: what sr_main needs of it. prog is the program's name and its
   make target: the usage line names it, and the default --replay is
   "make PROG SEED=%llu". */
typedef struct sr_sim {
    const char *prog;
    sr_run_fn run;
    const sr_counter_t *counters; /* counters[i] names sr_seed_t.counters[i] */
    int counters_n;               /* at most SR_COUNTERS_MAX */
} sr_sim_t;

/* Parses argv and runs the seeds it asks for. Returns the exit code: 0 when
   every seed passed (with --until-fail: when one failed), 1 otherwise, 2 on a
   bad command line. */
int sr_main(const sr_sim_t *sim, int argc, char **argv);

#endif
