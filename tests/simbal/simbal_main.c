/*
 * simbal_main.c: the balance simulation's command line, the same as the
 * other simulators': the seed runner (tests/simlib/seed_runner.h) owns the
 * options, the child processes, the determinism check and the totals; this
 * file hands it one seed's run and names the counters it adds.
 */
#include "simbal.h"

#include "simlib/seed_runner.h"

_Static_assert(SB_REASON_BYTES <= SR_REASON_BYTES, "a failure's reason reaches the runner whole");

enum {
    SB_C_MOVES,
    SB_C_REORDERS,
    SB_C_GIB,
    SB_C_DRAINED,
    SB_C_WITHIN,
    SB_C_PLAIN,
    SB_C_PLAIN_WITHIN,
    SB_C_N
};
_Static_assert(SB_C_N <= SR_COUNTERS_MAX, "the runner holds every counter");

static const sr_counter_t sb_counters[SB_C_N] = {
    [SB_C_MOVES] = {"moves", 1},
    [SB_C_REORDERS] = {"reorders", 1},
    [SB_C_GIB] = {"GiB copied", 1},
    [SB_C_DRAINED] = {"brokers drained or absent", 0},
    [SB_C_WITHIN] = {"convergences with every soft goal within its start band", 0},
    [SB_C_PLAIN] = {"convergences of plain clusters", 0},
    [SB_C_PLAIN_WITHIN] = {"of those within every start band", 0},
};

static int sb_run_seed(uint64_t seed, FILE *trace, sr_seed_t *out) {
    sb_stats_t st;
    int failed = sb_run(seed, trace, &st, out->reason, sizeof(out->reason));
    out->steps = st.rounds;
    out->counters[SB_C_MOVES] = st.moves;
    out->counters[SB_C_REORDERS] = st.leader_moves;
    out->counters[SB_C_GIB] = st.bytes >> 30;
    out->counters[SB_C_DRAINED] = st.drained;
    out->counters[SB_C_WITHIN] = st.within;
    out->counters[SB_C_PLAIN] = st.plain;
    out->counters[SB_C_PLAIN_WITHIN] = st.plain_within;
    return failed;
}

int main(int argc, char **argv) {
    static const sr_sim_t sim = {"simbal", sb_run_seed, sb_counters, SB_C_N};
    return sr_main(&sim, argc, argv);
}
