/*
 * sim_main.c: the Raft simulator's command line. The seed runner
 * (tests/simlib/seed_runner.h) owns the options (--seed, --seeds, --first,
 * --minutes, --until-fail, --name, --jobs, --replay), the child processes,
 * the determinism check and the totals; this file hands it one seed's run
 * and names the counters the Raft harness adds to the totals.
 */
#include "sim.h"

#include "simlib/seed_runner.h"

_Static_assert(SIM_REASON_BYTES <= SR_REASON_BYTES, "a failure's reason reaches the runner whole");

/* The harness's own counters, in the order of the totals line. */
enum { SIM_C_ELECTIONS, SIM_C_OPS, SIM_C_N };
_Static_assert(SIM_C_N <= SR_COUNTERS_MAX, "the runner holds every counter");

static const sr_counter_t sim_counters[SIM_C_N] = {
    [SIM_C_ELECTIONS] = {"elections", 0},
    [SIM_C_OPS] = {"client ops", 0},
};

static int sim_run_seed(uint64_t seed, FILE *trace, sr_seed_t *out) {
    sim_stats_t st;
    int failed = sim_run(seed, trace, &st, out->reason, sizeof(out->reason), &out->world);
    out->faults = st.faults;
    out->steps = st.steps;
    out->counters[SIM_C_ELECTIONS] = st.elections;
    out->counters[SIM_C_OPS] = st.ops_done;
    return failed;
}

int main(int argc, char **argv) {
    static const sr_sim_t sim = {"sim", sim_run_seed, sim_counters, SIM_C_N};
    return sr_main(&sim, argc, argv);
}
