/*
 * test_workers.c: the worker pool (src/io/workers.c): every item runs
 * exactly once, runs overlap on the workers, several callers share one
 * pool, and a NULL pool runs the items in order on the caller.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/workers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define ITEMS 5000

typedef struct tally {
    atomic_int runs[ITEMS];
    atomic_int order; /* items seen so far */
    int seen_at[ITEMS];
    atomic_int inside;     /* items running now */
    atomic_int inside_max; /* most items seen running at once */
    int pause_us;
} tally_t;

static void tally_item(void *ctx, int32_t index) {
    tally_t *tally = ctx;
    int inside = atomic_fetch_add(&tally->inside, 1) + 1;
    int max = atomic_load(&tally->inside_max);
    while (inside > max && !atomic_compare_exchange_weak(&tally->inside_max, &max, inside)) {
    }
    if (tally->pause_us > 0) {
        struct timespec pause = {0, tally->pause_us * 1000L};
        nanosleep(&pause, NULL);
    }
    tally->seen_at[index] = atomic_fetch_add(&tally->order, 1);
    atomic_fetch_add(&tally->runs[index], 1);
    atomic_fetch_sub(&tally->inside, 1);
}

static void assert_each_once(tally_t *tally, int32_t count) {
    for (int32_t i = 0; i < count; i++) assert_int_equal(atomic_load(&tally->runs[i]), 1);
    for (int32_t i = count; i < ITEMS; i++) assert_int_equal(atomic_load(&tally->runs[i]), 0);
}

static void test_null_pool_in_order(void **state) {
    (void)state;
    tally_t *tally = calloc(1, sizeof *tally);
    assert_non_null(tally);
    rn_workers_run(NULL, 100, tally_item, tally);
    assert_each_once(tally, 100);
    for (int i = 0; i < 100; i++) assert_int_equal(tally->seen_at[i], i);
    assert_int_equal(atomic_load(&tally->inside_max), 1);
    free(tally);
}

static void test_each_item_once(void **state) {
    (void)state;
    rn_workers_t *pool = NULL;
    assert_int_equal(rn_workers_start(8, &pool), RN_OK);
    int32_t counts[] = {0, 1, 2, 7, ITEMS};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        tally_t *tally = calloc(1, sizeof *tally);
        assert_non_null(tally);
        rn_workers_run(pool, counts[c], tally_item, tally);
        assert_each_once(tally, counts[c]);
        assert_int_equal(atomic_load(&tally->inside), 0);
        free(tally);
    }
    rn_workers_stop(pool);
}

/* Items that wait (as an fsync does) overlap on the workers. */
static void test_items_overlap(void **state) {
    (void)state;
    rn_workers_t *pool = NULL;
    assert_int_equal(rn_workers_start(8, &pool), RN_OK);
    tally_t *tally = calloc(1, sizeof *tally);
    assert_non_null(tally);
    tally->pause_us = 2000;
    rn_workers_run(pool, 64, tally_item, tally);
    assert_each_once(tally, 64);
    assert_true(atomic_load(&tally->inside_max) >= 2);
    assert_true(atomic_load(&tally->inside_max) <= 9); /* 8 workers and the caller */
    free(tally);
    rn_workers_stop(pool);
}

typedef struct caller {
    rn_workers_t *pool;
    tally_t *tally;
} caller_t;

static void *caller_main(void *arg) {
    caller_t *caller = arg;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 200; i++) atomic_store(&caller->tally->runs[i], 0);
        rn_workers_run(caller->pool, 200, tally_item, caller->tally);
        for (int i = 0; i < 200; i++)
            if (atomic_load(&caller->tally->runs[i]) != 1) return (void *)1;
    }
    return NULL;
}

/* Two loops running group commits on one pool at once. */
static void test_concurrent_callers(void **state) {
    (void)state;
    rn_workers_t *pool = NULL;
    assert_int_equal(rn_workers_start(4, &pool), RN_OK);
    caller_t callers[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        callers[i].pool = pool;
        callers[i].tally = calloc(1, sizeof(tally_t));
        assert_non_null(callers[i].tally);
        assert_int_equal(pthread_create(&threads[i], NULL, caller_main, &callers[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        void *failed = (void *)1;
        pthread_join(threads[i], &failed);
        assert_null(failed);
        free(callers[i].tally);
    }
    rn_workers_stop(pool);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_pool_in_order),
        cmocka_unit_test(test_each_item_once),
        cmocka_unit_test(test_items_overlap),
        cmocka_unit_test(test_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
