/*
 * simctl_main.c: the controller simulation's command line (the same as the
 * Raft simulator's, tests/sim/sim_main.c).
 *
 *   simctl --seed S                 replay one seed with a readable trace
 *   simctl --seeds N [--first F]    run seeds F..F+N-1, report failures
 *   simctl --minutes M              run random seeds for a time budget (soak)
 *   simctl --seeds N --until-fail --name X
 *                                mutation test: stop at the first failure
 *   --jobs J     parallel seeds (each seed runs in its own child process, so
 *                an assertion in the code under test fails that seed only)
 *   --replay STR command printed to replay a failure; %llu is the seed
 *
 * Owns the child processes it forks. The only place of the simulator that
 * reads the real clock (for the time budget and the seeds/s figure).
 */
#include "simctl.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct result {
    int failed;
    sc_stats_t stats;
    rn_sim_stats_t world;
    char reason[SC_REASON_BYTES];
} result_t;

typedef struct slot {
    pid_t pid;
    int fd;
    uint64_t seed;
} slot_t;

typedef struct totals {
    uint64_t passed, failed, faults, steps, elections, proposals, fences, unfences, topics;
    uint64_t dropped, crashes, torn, io_errors;
    uint64_t first_fail_seed;
} totals_t;

typedef struct cli {
    uint64_t seed, first, seeds;
    int one, until_fail, jobs;
    double minutes;
    const char *replay, *name;
} cli_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static slot_t spawn(uint64_t seed) {
    int fds[2];
    if (pipe(fds) != 0) abort();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        close(fds[0]);
        result_t r;
        memset(&r, 0, sizeof(r));
        r.failed = sc_run(seed, NULL, &r.stats, r.reason, sizeof(r.reason), &r.world);
        ssize_t w = write(fds[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 3);
    }
    close(fds[1]);
    slot_t sl = {pid, fds[0], seed};
    return sl;
}

static void collect(const cli_t *cli, slot_t *sl, totals_t *t) {
    result_t r;
    memset(&r, 0, sizeof(r));
    ssize_t got = read(sl->fd, &r, sizeof(r));
    close(sl->fd);
    int status = 0;
    waitpid(sl->pid, &status, 0);
    if (got != (ssize_t)sizeof(r)) {
        r.failed = 1;
        snprintf(r.reason, sizeof(r.reason), "crashed (%s %d)",
                 WIFSIGNALED(status) ? "signal" : "exit",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    t->faults += r.stats.faults;
    t->steps += r.stats.steps;
    t->elections += r.stats.elections;
    t->proposals += r.stats.proposals;
    t->fences += r.stats.fences;
    t->unfences += r.stats.unfences;
    t->topics += r.stats.topics;
    t->dropped += r.world.msgs_dropped + r.world.msgs_cut;
    t->crashes += r.world.crashes;
    t->torn += r.world.writes_torn;
    t->io_errors += r.world.io_errors;
    if (!r.failed) {
        t->passed++;
        return;
    }
    t->failed++;
    if (!t->first_fail_seed || sl->seed < t->first_fail_seed) t->first_fail_seed = sl->seed;
    if (cli->until_fail) return;
    printf("FAIL seed %llu: %s\n  replay: ", (unsigned long long)sl->seed, r.reason);
    printf(cli->replay, (unsigned long long)sl->seed);
    printf("\n");
}

/* Runs seeds first.. in parallel; stops at count seeds, at the deadline,
   or (until_fail) at the first failure. Returns the number started. */
static uint64_t run_many(const cli_t *cli, uint64_t first, uint64_t count, double deadline,
                         totals_t *t) {
    slot_t slots[64];
    int live = 0;
    uint64_t started = 0;
    for (;;) {
        int more = started < count && (deadline == 0 || now_s() < deadline) &&
                   !(cli->until_fail && t->failed);
        if (more && live < cli->jobs) {
            slots[live++] = spawn(first + started++);
            continue;
        }
        if (live == 0) break;
        collect(cli, &slots[0], t);
        memmove(slots, slots + 1, (size_t)(--live) * sizeof(slots[0]));
    }
    return started;
}

static int run_one(const cli_t *cli) {
    sc_stats_t st;
    rn_sim_stats_t ws;
    char reason[SC_REASON_BYTES];
    int failed = sc_run(cli->seed, stdout, &st, reason, sizeof(reason), &ws);
    printf("faults %llu, proposals %llu, fences %llu, unfences %llu, messages sent %llu, dropped "
           "%llu, duplicated %llu, cut %llu, "
           "crashes %llu, torn writes %llu, I/O errors %llu\n",
           (unsigned long long)st.faults, (unsigned long long)st.proposals,
           (unsigned long long)st.fences, (unsigned long long)st.unfences,
           (unsigned long long)ws.msgs_sent, (unsigned long long)ws.msgs_dropped,
           (unsigned long long)ws.msgs_duplicated, (unsigned long long)ws.msgs_cut,
           (unsigned long long)ws.crashes, (unsigned long long)ws.writes_torn,
           (unsigned long long)ws.io_errors);
    if (failed) printf("FAIL seed %llu: %s\n", (unsigned long long)cli->seed, reason);
    printf("%d passed, %d failed\n", !failed, failed);
    return failed;
}

/* Same seed, same run: replays seed twice and compares the traces byte for
   byte. Returns 0 if identical. */
static int check_determinism(uint64_t seed) {
    char *buf[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        FILE *f = open_memstream(&buf[i], &len[i]);
        if (!f) abort();
        sc_stats_t st;
        rn_sim_stats_t ws;
        char reason[SC_REASON_BYTES];
        sc_run(seed, f, &st, reason, sizeof(reason), &ws);
        fclose(f);
    }
    int same = len[0] == len[1] && memcmp(buf[0], buf[1], len[0]) == 0;
    printf("determinism: seed %llu run twice, traces %s (%zu bytes)\n", (unsigned long long)seed,
           same ? "identical" : "DIFFER", len[0]);
    free(buf[0]);
    free(buf[1]);
    return !same;
}

static void print_totals(const totals_t *t, double secs) {
    uint64_t n = t->passed + t->failed;
    printf("%llu seeds in %.1f s (%.0f seeds/s): %llu faults injected, %llu power losses, "
           "%llu torn writes, %llu I/O errors, %llu messages lost, %llu elections, "
           "%llu proposals, %llu fences, %llu unfences, %llu topics, %llu steps\n",
           (unsigned long long)n, secs, secs > 0 ? (double)n / secs : 0.0,
           (unsigned long long)t->faults, (unsigned long long)t->crashes,
           (unsigned long long)t->torn, (unsigned long long)t->io_errors,
           (unsigned long long)t->dropped, (unsigned long long)t->elections,
           (unsigned long long)t->proposals, (unsigned long long)t->fences,
           (unsigned long long)t->unfences, (unsigned long long)t->topics,
           (unsigned long long)t->steps);
}

static int parse(int argc, char **argv, cli_t *cli) {
    memset(cli, 0, sizeof(*cli));
    cli->first = 1;
    cli->jobs = 2;
    cli->replay = "make simctl SEED=%llu";
    cli->name = "?";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--until-fail")) {
            cli->until_fail = 1;
            continue;
        }
        if (!v) return -1;
        i++;
        if (!strcmp(a, "--seed"))
            cli->seed = strtoull(v, NULL, 10), cli->one = 1;
        else if (!strcmp(a, "--seeds"))
            cli->seeds = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--first"))
            cli->first = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--minutes"))
            cli->minutes = strtod(v, NULL);
        else if (!strcmp(a, "--jobs"))
            cli->jobs = atoi(v);
        else if (!strcmp(a, "--replay"))
            cli->replay = v;
        else if (!strcmp(a, "--name"))
            cli->name = v;
        else
            return -1;
    }
    if (cli->jobs < 1 || cli->jobs > 64) return -1;
    return cli->one || cli->seeds || cli->minutes > 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    cli_t cli;
    if (parse(argc, argv, &cli) != 0) {
        fprintf(stderr, "usage: simctl --seed S | --seeds N [--first F] | --minutes M "
                        "[--jobs J] [--until-fail --name X] [--replay FMT]\n");
        return 2;
    }
    if (cli.one) return run_one(&cli);
    totals_t t;
    memset(&t, 0, sizeof(t));
    double start = now_s(), deadline = 0;
    uint64_t first = cli.first, count = cli.seeds;
    if (cli.minutes > 0) {
        deadline = start + cli.minutes * 60;
        first = (uint64_t)time(NULL) * 1000003ull; /* fresh seeds every soak */
        count = UINT64_MAX - first;
        printf("soak: seeds from %llu for %.1f minutes\n", (unsigned long long)first, cli.minutes);
    }
    if (!cli.until_fail && check_determinism(first)) t.failed++;
    uint64_t ran = run_many(&cli, first, count, deadline, &t);
    print_totals(&t, now_s() - start);
    if (cli.until_fail) {
        if (t.failed)
            printf("mutant %s: caught after %llu seeds (seed %llu)\n", cli.name,
                   (unsigned long long)(t.first_fail_seed - first + 1),
                   (unsigned long long)t.first_fail_seed);
        else
            printf("mutant %s: MISSED (%llu seeds)\n", cli.name, (unsigned long long)ran);
        return t.failed ? 0 : 1;
    }
    printf("%llu passed, %llu failed\n", (unsigned long long)t.passed,
           (unsigned long long)t.failed);
    return t.failed ? 1 : 0;
}
