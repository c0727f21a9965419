/*
 * test_epoch_cache.c: the leader-epoch cache's rules as Kafka keeps them:
 * new epochs append, a contradicting one replaces the newer entries, the
 * log's cuts at either end follow, and OffsetForLeaderEpoch's answer for an
 * epoch older than, between, at or past the known ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "storage/epoch_cache.h"

static void assign(rn_epoch_cache_t *c, int32_t epoch, int64_t start, bool want_changed) {
    bool changed = !want_changed;
    assert_int_equal(rn_epoch_cache_assign(c, epoch, start, &changed), RN_OK);
    assert_int_equal(changed, want_changed);
}

static void expect_end(const rn_epoch_cache_t *c, int32_t requested, int32_t current,
                       int64_t log_end, int32_t want_epoch, int64_t want_offset) {
    int32_t epoch = 99;
    int64_t offset = 99;
    rn_epoch_cache_end_offset(c, requested, current, log_end, &epoch, &offset);
    assert_int_equal(epoch, want_epoch);
    assert_int_equal(offset, want_offset);
}

/* epochs 1 @0, 3 @10, 6 @25, log end 40 */
static void three_epochs(rn_epoch_cache_t *c) {
    rn_epoch_cache_init(c);
    assign(c, 1, 0, true);
    assign(c, 1, 4, false); /* the same epoch goes on */
    assign(c, 3, 10, true);
    assign(c, 6, 25, true);
    assert_int_equal(c->n, 3);
    assert_int_equal(rn_epoch_cache_latest(c), 6);
}

static void test_assign(void **state) {
    (void)state;
    rn_epoch_cache_t c;
    three_epochs(&c);
    assign(&c, -1, 30, false); /* no epoch (a record of an old format) */
    /* an older epoch at a later offset contradicts 3 and 6: they go */
    assign(&c, 2, 30, true);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[1].epoch, 2);
    assert_int_equal(c.v[1].start_offset, 30);
    /* a newer epoch at an offset below the newest start replaces it */
    assign(&c, 7, 20, true);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.v[1].epoch, 7);
    assert_int_equal(c.v[1].start_offset, 20);
    rn_epoch_cache_free(&c);
}

static void test_truncate(void **state) {
    (void)state;
    rn_epoch_cache_t c;
    three_epochs(&c);
    assert_false(rn_epoch_cache_truncate_end(&c, 26));
    assert_true(rn_epoch_cache_truncate_end(&c, 25));
    assert_int_equal(rn_epoch_cache_latest(&c), 3);
    assert_false(rn_epoch_cache_truncate_start(&c, 0));
    assert_true(rn_epoch_cache_truncate_start(&c, 12));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].epoch, 3);
    assert_int_equal(c.v[0].start_offset, 12);
    assert_true(rn_epoch_cache_truncate_end(&c, 0));
    assert_int_equal(rn_epoch_cache_latest(&c), -1);
    rn_epoch_cache_free(&c);
}

static void test_end_offset(void **state) {
    (void)state;
    rn_epoch_cache_t c;
    three_epochs(&c);
    expect_end(&c, 6, 6, 40, 6, 40); /* the newest ends at the log end */
    expect_end(&c, 3, 6, 40, 3, 25); /* where the next began */
    expect_end(&c, 4, 6, 40, 3, 25); /* between: the one before, the next's start */
    expect_end(&c, 1, 6, 40, 1, 10);
    expect_end(&c, 0, 6, 40, 0, 0);    /* older than all: where the first began */
    expect_end(&c, 7, 6, 40, -1, -1);  /* newer than any known */
    expect_end(&c, -1, 6, 40, -1, -1); /* no epoch */
    /* current epoch 8, no batch of it yet: it begins at the log end */
    expect_end(&c, 8, 8, 40, 8, 40);
    expect_end(&c, 6, 8, 40, 6, 40);
    expect_end(&c, 7, 8, 40, 6, 40);
    expect_end(&c, 9, 8, 40, -1, -1);
    rn_epoch_cache_free(&c);
    /* nothing written yet: the current epoch begins at the log end */
    rn_epoch_cache_init(&c);
    expect_end(&c, 0, 0, 0, 0, 0);
    expect_end(&c, 1, 0, 0, -1, -1);
    rn_epoch_cache_free(&c);
}

static void test_bounded(void **state) {
    (void)state;
    rn_epoch_cache_t c;
    rn_epoch_cache_init(&c);
    for (int32_t e = 0; e < 3000; e++) assign(&c, e, (int64_t)e * 2, true);
    assert_true(c.n <= 1024);
    assert_int_equal(rn_epoch_cache_latest(&c), 2999);
    assert_int_equal(c.v[0].epoch, 3000 - (int32_t)c.n); /* the oldest went */
    rn_epoch_cache_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_end_offset),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
