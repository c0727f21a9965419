/*
 * simctl_main.c: the controller simulation's command line, the same as the
 * Raft simulator's. The seed runner (tests/simlib/seed_runner.h) owns the
 * options (--seed, --seeds, --first, --minutes, --until-fail, --name,
 * --jobs, --replay), the child processes, the determinism check and the
 * totals; this file hands it one seed's run and names the counters the
 * controller harness adds to the totals.
 */
#include "simctl.h"

#include "simlib/seed_runner.h"

_Static_assert(SC_REASON_BYTES <= SR_REASON_BYTES, "a failure's reason reaches the runner whole");

/* The harness's own counters, in the order of the totals line. */
enum { SC_C_ELECTIONS, SC_C_PROPOSALS, SC_C_FENCES, SC_C_UNFENCES, SC_C_TOPICS, SC_C_N };
_Static_assert(SC_C_N <= SR_COUNTERS_MAX, "the runner holds every counter");

/* Proposals, fences and unfences also go in the one-seed line. */
static const sr_counter_t sc_counters[SC_C_N] = {
    [SC_C_ELECTIONS] = {"elections", 0}, [SC_C_PROPOSALS] = {"proposals", 1},
    [SC_C_FENCES] = {"fences", 1},       [SC_C_UNFENCES] = {"unfences", 1},
    [SC_C_TOPICS] = {"topics", 0},
};

static int sc_run_seed(uint64_t seed, FILE *trace, sr_seed_t *out) {
    sc_stats_t st;
    int failed = sc_run(seed, trace, &st, out->reason, sizeof(out->reason), &out->world);
    out->faults = st.faults;
    out->steps = st.steps;
    out->counters[SC_C_ELECTIONS] = st.elections;
    out->counters[SC_C_PROPOSALS] = st.proposals;
    out->counters[SC_C_FENCES] = st.fences;
    out->counters[SC_C_UNFENCES] = st.unfences;
    out->counters[SC_C_TOPICS] = st.topics;
    return failed;
}

int main(int argc, char **argv) {
    static const sr_sim_t sim = {"simctl", sc_run_seed, sc_counters, SC_C_N};
    return sr_main(&sim, argc, argv);
}
