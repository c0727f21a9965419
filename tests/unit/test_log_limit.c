/*
 * test_log_limit.c: the per-cause log limiter (src/base/log_limit.c): at
 * most lines_max lines per window, the rest counted and reported once when
 * the window turns, and exact counts when loop threads share one limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log_limit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINES_MAX 5
#define WINDOW_MS 1000

static void limiter(rn_log_limit_t *lim) {
    rn_log_limit_init(lim, RN_LOG_INFO, "test", "test cause", LINES_MAX, WINDOW_MS);
}

static int allowed_of(rn_log_limit_t *lim, int calls, int64_t now_ms) {
    int allowed = 0;
    for (int i = 0; i < calls; i++) allowed += rn_log_limit_allow(lim, now_ms);
    return allowed;
}

static void test_lines_max_per_window(void **state) {
    (void)state;
    rn_log_limit_t lim;
    limiter(&lim);
    assert_int_equal(allowed_of(&lim, 100, 5000), LINES_MAX);
    /* Later in the same window: still held back. */
    assert_int_equal(allowed_of(&lim, 10, 5000 + WINDOW_MS - 1), 0);
    /* The window turns: the 105 held back are reported, lines flow again. */
    assert_int_equal(rn_log_limit_turn(&lim, 5000 + WINDOW_MS), 105);
    assert_int_equal(allowed_of(&lim, 3, 5000 + WINDOW_MS), 3);
    assert_int_equal(rn_log_limit_turn(&lim, 5000 + 2 * WINDOW_MS), 0);
}

static void test_quiet_cause_never_held_back(void **state) {
    (void)state;
    rn_log_limit_t lim;
    limiter(&lim);
    /* A few lines a second, for a minute: every one is written. */
    int allowed = 0;
    for (int64_t ms = 0; ms < 60000; ms += 250) allowed += rn_log_limit_allow(&lim, ms);
    assert_int_equal(allowed, 240);
}

static void test_flush_reports_once_window_ends(void **state) {
    (void)state;
    rn_log_limit_t lim;
    limiter(&lim);
    allowed_of(&lim, LINES_MAX + 7, 100);
    assert_int_equal(rn_log_limit_flush(&lim, 100 + WINDOW_MS - 1), 0); /* not yet */
    assert_int_equal(rn_log_limit_flush(&lim, 100 + WINDOW_MS), 7);
    assert_int_equal(rn_log_limit_flush(&lim, 100 + 5 * WINDOW_MS), 0); /* said once */
    /* With nothing suppressed, a flush leaves the window alone. */
    assert_int_equal(allowed_of(&lim, LINES_MAX, 100 + 5 * WINDOW_MS), LINES_MAX);
}

#define THREADS 4
#define CALLS_PER_THREAD 200000

typedef struct shared {
    rn_log_limit_t lim;
    atomic_int allowed;
    int spread_windows; /* 0: every call in one window */
} shared_t;

static void *hammer(void *arg) {
    shared_t *sh = arg;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        /* Each thread walks through 20 windows at its own pace. */
        int64_t now = sh->spread_windows ? (int64_t)i * 20 * WINDOW_MS / CALLS_PER_THREAD : 0;
        if (rn_log_limit_allow(&sh->lim, now)) atomic_fetch_add(&sh->allowed, 1);
    }
    return NULL;
}

/* Sums K of every "suppressed K similar lines" line in the file. */
static uint64_t reported_in(FILE *log) {
    uint64_t total = 0;
    char line[256];
    rewind(log);
    while (fgets(line, sizeof line, log)) {
        const char *at = strstr(line, "suppressed ");
        if (at) total += strtoull(at + strlen("suppressed "), NULL, 10);
    }
    return total;
}

static void run_threads(shared_t *sh) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, hammer, sh), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
}

static void test_threads_one_window(void **state) {
    (void)state;
    static shared_t sh;
    limiter(&sh.lim);
    run_threads(&sh);
    assert_int_equal(atomic_load(&sh.allowed), LINES_MAX);
    uint64_t later = rn_log_limit_turn(&sh.lim, WINDOW_MS);
    assert_int_equal(later, (uint64_t)THREADS * CALLS_PER_THREAD - LINES_MAX);
}

static void test_threads_counts_exact_across_turns(void **state) {
    (void)state;
    static shared_t sh;
    limiter(&sh.lim);
    sh.spread_windows = 1;
    /* The summary lines go to stderr: catch them in a file to count. */
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *log = tmpfile();
    assert_non_null(log);
    dup2(fileno(log), STDERR_FILENO);
    run_threads(&sh);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    uint64_t reported = reported_in(log) + rn_log_limit_turn(&sh.lim, 100 * WINDOW_MS);
    fclose(log);
    uint64_t allowed = (uint64_t)atomic_load(&sh.allowed);
    /* Every call was either let through or reported as suppressed, once. */
    assert_int_equal(allowed + reported, (uint64_t)THREADS * CALLS_PER_THREAD);
    /* At most lines_max per window turn, and a turn per window at most: 20
       windows (plus slack for a turn a lagging thread's time causes). */
    assert_true(allowed <= (uint64_t)LINES_MAX * 21 * 2);
    assert_true(allowed >= LINES_MAX);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_max_per_window),
        cmocka_unit_test(test_quiet_cause_never_held_back),
        cmocka_unit_test(test_flush_reports_once_window_ends),
        cmocka_unit_test(test_threads_one_window),
        cmocka_unit_test(test_threads_counts_exact_across_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
