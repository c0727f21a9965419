/*
 * simrepl_main.c: the replication simulation's command line, the same as
 * the other simulators'. The seed runner (tests/simlib/seed_runner.h) owns
 * the options (--seed, --seeds, --first, --minutes, --until-fail, --name,
 * --jobs, --replay), the child processes, the determinism check and the
 * totals; this file hands it one seed's run and names the counters the
 * replication harness adds to the totals.
 */
#include "simrepl.h"

#include "simlib/seed_runner.h"

_Static_assert(RP_REASON_BYTES <= SR_REASON_BYTES, "a failure's reason reaches the runner whole");

/* The harness's own counters, in the order of the totals line. */
enum {
    RP_C_ACKED_ALL,
    RP_C_ACKED_ONE,
    RP_C_READS,
    RP_C_TRUNCATIONS,
    RP_C_ISR_CHANGES,
    RP_C_VERSIONS,
    RP_C_HW_BACK,
    RP_C_MOVES,
    RP_C_MOVES_DONE,
    RP_C_N
};
_Static_assert(RP_C_N <= SR_COUNTERS_MAX, "the runner holds every counter");

static const sr_counter_t rp_counters[RP_C_N] = {
    [RP_C_ACKED_ALL] = {"acks=all acknowledged", 1},
    [RP_C_ACKED_ONE] = {"acks=1 acknowledged", 0},
    [RP_C_READS] = {"records read", 0},
    [RP_C_TRUNCATIONS] = {"truncations", 1},
    [RP_C_ISR_CHANGES] = {"ISR changes", 1},
    [RP_C_VERSIONS] = {"images", 0},
    [RP_C_HW_BACK] = {"high watermark lower at a new leader", 0},
    [RP_C_MOVES] = {"reassignments", 1},
    [RP_C_MOVES_DONE] = {"reassignments completed", 1},
};

static int rp_run_seed(uint64_t seed, FILE *trace, sr_seed_t *out) {
    rp_stats_t st;
    int failed = rp_run(seed, trace, &st, out->reason, sizeof(out->reason), &out->world);
    out->faults = st.faults;
    out->steps = st.steps;
    out->counters[RP_C_ACKED_ALL] = st.acked_all;
    out->counters[RP_C_ACKED_ONE] = st.acked_one;
    out->counters[RP_C_READS] = st.reads;
    out->counters[RP_C_TRUNCATIONS] = st.truncations;
    out->counters[RP_C_ISR_CHANGES] = st.isr_changes;
    out->counters[RP_C_VERSIONS] = st.versions;
    out->counters[RP_C_HW_BACK] = st.hw_back_on_new_leader;
    out->counters[RP_C_MOVES] = st.moves;
    out->counters[RP_C_MOVES_DONE] = st.moves_done;
    return failed;
}

int main(int argc, char **argv) {
    static const sr_sim_t sim = {"simrepl", rp_run_seed, rp_counters, RP_C_N};
    return sr_main(&sim, argc, argv);
}
