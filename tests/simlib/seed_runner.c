/*
 * seed_runner.c: the seeded simulators' command line (seed_runner.h).
 *
 * Owns the child processes it forks, one per seed, each sending its
 * sr_seed_t back on a pipe; a child that dies before writing it (an
 * assertion in the code under test) fails its seed only. Reads the real
 * clock, for the time budget and the seeds/s figure only.
 */
#include "simlib/seed_runner.h"

#include "base/assert.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A child's result arrives in one read: a pipe write up to PIPE_BUF bytes is
   never split. */
_Static_assert(sizeof(sr_seed_t) <= PIPE_BUF, "a seed's result fits one pipe write");

typedef struct sr_slot {
    pid_t pid;
    int fd;
    uint64_t seed;
} sr_slot_t;

typedef struct sr_totals {
    uint64_t passed, failed, faults, steps, counters[SR_COUNTERS_MAX];
    uint64_t dropped, crashes, torn, io_errors;
    uint64_t first_fail_seed;
} sr_totals_t;

typedef struct sr_cli {
    uint64_t seed, first, seeds;
    int one, until_fail, jobs;
    double minutes;
    const char *replay, *name;
    char make_replay[SR_PROG_BYTES + 16]; /* the default replay: "make PROG SEED=%llu" */
} sr_cli_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sr_slot_t spawn(const sr_sim_t *sim, uint64_t seed) {
    int fds[2];
    if (pipe(fds) != 0) abort();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        close(fds[0]);
        sr_seed_t r;
        memset(&r, 0, sizeof(r));
        r.failed = sim->run(seed, NULL, &r) != 0;
        ssize_t w = write(fds[1], &r, sizeof(r));
        _exit(w == (ssize_t)sizeof(r) ? 0 : 3);
    }
    close(fds[1]);
    sr_slot_t sl = {pid, fds[0], seed};
    return sl;
}

/* Reads a child's result and reaps it; a child that sent nothing failed. */
static void receive(sr_slot_t *sl, sr_seed_t *r) {
    memset(r, 0, sizeof(*r));
    ssize_t got = read(sl->fd, r, sizeof(*r));
    close(sl->fd);
    int status = 0;
    waitpid(sl->pid, &status, 0);
    if (got == (ssize_t)sizeof(*r)) return;
    memset(r, 0, sizeof(*r));
    r->failed = 1;
    snprintf(r->reason, sizeof(r->reason), "crashed (%s %d)",
             WIFSIGNALED(status) ? "signal" : "exit",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static void add_up(const sr_sim_t *sim, const sr_seed_t *r, sr_totals_t *t) {
    t->faults += r->faults;
    t->steps += r->steps;
    for (int i = 0; i < sim->counters_n; i++) t->counters[i] += r->counters[i];
    t->dropped += r->world.msgs_dropped + r->world.msgs_cut;
    t->crashes += r->world.crashes;
    t->torn += r->world.writes_torn;
    t->io_errors += r->world.io_errors;
}

static void collect(const sr_sim_t *sim, const sr_cli_t *cli, sr_slot_t *sl, sr_totals_t *t) {
    sr_seed_t r;
    receive(sl, &r);
    add_up(sim, &r, t);
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
static uint64_t run_many(const sr_sim_t *sim, const sr_cli_t *cli, uint64_t first, uint64_t count,
                         double deadline, sr_totals_t *t) {
    sr_slot_t slots[SR_JOBS_MAX];
    int live = 0;
    uint64_t started = 0;
    for (;;) {
        int more = started < count && (deadline == 0 || now_s() < deadline) &&
                   !(cli->until_fail && t->failed);
        if (more && live < cli->jobs) {
            slots[live++] = spawn(sim, first + started++);
            continue;
        }
        if (live == 0) break;
        collect(sim, cli, &slots[0], t);
        memmove(slots, slots + 1, (size_t)(--live) * sizeof(slots[0]));
    }
    return started;
}

/* One seed in this process, its trace on stdout, then its figures. */
static int run_one(const sr_sim_t *sim, const sr_cli_t *cli) {
    sr_seed_t r;
    memset(&r, 0, sizeof(r));
    int failed = sim->run(cli->seed, stdout, &r) != 0;
    const rn_sim_stats_t *ws = &r.world;
    printf("faults %llu, ", (unsigned long long)r.faults);
    for (int i = 0; i < sim->counters_n; i++)
        if (sim->counters[i].per_seed)
            printf("%s %llu, ", sim->counters[i].name, (unsigned long long)r.counters[i]);
    printf("messages sent %llu, dropped %llu, duplicated %llu, cut %llu, crashes %llu, "
           "torn writes %llu, I/O errors %llu\n",
           (unsigned long long)ws->msgs_sent, (unsigned long long)ws->msgs_dropped,
           (unsigned long long)ws->msgs_duplicated, (unsigned long long)ws->msgs_cut,
           (unsigned long long)ws->crashes, (unsigned long long)ws->writes_torn,
           (unsigned long long)ws->io_errors);
    if (failed) printf("FAIL seed %llu: %s\n", (unsigned long long)cli->seed, r.reason);
    printf("%d passed, %d failed\n", !failed, failed);
    return failed;
}

/* Same seed, same run: replays seed twice and compares the traces byte for
   byte. Returns 0 if identical. */
static int check_determinism(const sr_sim_t *sim, uint64_t seed) {
    char *buf[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        FILE *f = open_memstream(&buf[i], &len[i]);
        if (!f) abort();
        sr_seed_t r;
        memset(&r, 0, sizeof(r));
        sim->run(seed, f, &r);
        fclose(f);
    }
    int same = len[0] == len[1] && memcmp(buf[0], buf[1], len[0]) == 0;
    printf("determinism: seed %llu run twice, traces %s (%zu bytes)\n", (unsigned long long)seed,
           same ? "identical" : "DIFFER", len[0]);
    free(buf[0]);
    free(buf[1]);
    return !same;
}

static void print_totals(const sr_sim_t *sim, const sr_totals_t *t, double secs) {
    uint64_t n = t->passed + t->failed;
    printf("%llu seeds in %.1f s (%.0f seeds/s): %llu faults injected, %llu power losses, "
           "%llu torn writes, %llu I/O errors, %llu messages lost, ",
           (unsigned long long)n, secs, secs > 0 ? (double)n / secs : 0.0,
           (unsigned long long)t->faults, (unsigned long long)t->crashes,
           (unsigned long long)t->torn, (unsigned long long)t->io_errors,
           (unsigned long long)t->dropped);
    for (int i = 0; i < sim->counters_n; i++)
        printf("%llu %s, ", (unsigned long long)t->counters[i], sim->counters[i].name);
    printf("%llu steps\n", (unsigned long long)t->steps);
}

static int parse_option(sr_cli_t *cli, const char *a, const char *v) {
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
    return 0;
}

static int parse(const sr_sim_t *sim, int argc, char **argv, sr_cli_t *cli) {
    memset(cli, 0, sizeof(*cli));
    cli->first = 1;
    cli->jobs = 2;
    snprintf(cli->make_replay, sizeof(cli->make_replay), "make %s SEED=%%llu", sim->prog);
    cli->replay = cli->make_replay;
    cli->name = "?";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--until-fail")) {
            cli->until_fail = 1;
            continue;
        }
        if (!v || parse_option(cli, a, v) != 0) return -1;
        i++;
    }
    if (cli->jobs < 1 || cli->jobs > SR_JOBS_MAX) return -1;
    return cli->one || cli->seeds || cli->minutes > 0 ? 0 : -1;
}

/* The mutation test's verdict: a failure is the bug caught. */
static int report_until_fail(const sr_cli_t *cli, const sr_totals_t *t, uint64_t first,
                             uint64_t ran) {
    if (t->failed)
        printf("mutant %s: caught after %llu seeds (seed %llu)\n", cli->name,
               (unsigned long long)(t->first_fail_seed - first + 1),
               (unsigned long long)t->first_fail_seed);
    else
        printf("mutant %s: MISSED (%llu seeds)\n", cli->name, (unsigned long long)ran);
    return t->failed ? 0 : 1;
}

static int run_seeds(const sr_sim_t *sim, const sr_cli_t *cli) {
    sr_totals_t t;
    memset(&t, 0, sizeof(t));
    double start = now_s(), deadline = 0;
    uint64_t first = cli->first, count = cli->seeds;
    if (cli->minutes > 0) {
        deadline = start + cli->minutes * 60;
        first = (uint64_t)time(NULL) * 1000003ull; /* fresh seeds every soak */
        count = UINT64_MAX - first;
        printf("soak: seeds from %llu for %.1f minutes\n", (unsigned long long)first, cli->minutes);
    }
    if (!cli->until_fail && check_determinism(sim, first)) t.failed++;
    uint64_t ran = run_many(sim, cli, first, count, deadline, &t);
    print_totals(sim, &t, now_s() - start);
    if (cli->until_fail) return report_until_fail(cli, &t, first, ran);
    printf("%llu passed, %llu failed\n", (unsigned long long)t.passed,
           (unsigned long long)t.failed);
    return t.failed ? 1 : 0;
}

int sr_main(const sr_sim_t *sim, int argc, char **argv) {
    RN_ASSERT(sim->counters_n >= 0);
    RN_ASSERT(sim->counters_n <= SR_COUNTERS_MAX);
    RN_ASSERT(sim->run != NULL);
    RN_ASSERT(strlen(sim->prog) < SR_PROG_BYTES);
    sr_cli_t cli;
    if (parse(sim, argc, argv, &cli) != 0) {
        fprintf(stderr,
                "usage: %s --seed S | --seeds N [--first F] | --minutes M "
                "[--jobs J] [--until-fail --name X] [--replay FMT]\n",
                sim->prog);
        return 2;
    }
    if (cli.one) return run_one(sim, &cli);
    return run_seeds(sim, &cli);
}
