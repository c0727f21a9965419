/*
 * test_throttle.c: the replication throttles below the transport
 * (replication/throttle.h): the limiter passes no more than its rate times
 * the time plus one burst and one record, and does pass about that much;
 * a zero rate holds everything and the default none; held time counts
 * overlapping holds once; records from two threads at once lose nothing;
 * the throttled-replicas lists match as Kafka reads them ("*", pairs,
 * blanks, malformed items ignored); and the leader's and follower's
 * decisions leave in-sync replicas alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/limits.h"
#include "replication/throttle.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_default_unthrottled(void **state) {
    (void)state;
    rn_throttle_t t;
    rn_throttle_init(&t);
    assert_int_equal(rn_throttle_rate(&t), INT64_MAX);
    for (int n = 0; n < 100; n++) rn_throttle_record(&t, 1 << 30, 0);
    assert_false(rn_throttle_exceeded(&t, 0));
    assert_int_equal(rn_throttle_wait_ms(&t, 0), 0);
    assert_int_equal(atomic_load(&t.bytes_total), 100ull << 30);
}

static void test_zero_rate_holds(void **state) {
    (void)state;
    rn_throttle_t t;
    rn_throttle_init(&t);
    rn_throttle_set_rate(&t, 0);
    assert_true(rn_throttle_exceeded(&t, 0));
    assert_true(rn_throttle_exceeded(&t, 1000000));
    assert_true(rn_throttle_wait_ms(&t, 5) > 0);
}

/* One burst, then one byte more: over; a moment later: under again. */
static void test_burst_edge(void **state) {
    (void)state;
    rn_throttle_t t;
    rn_throttle_init(&t);
    rn_throttle_set_rate(&t, 1000); /* 1 byte a ms */
    int64_t now = 50000;
    assert_false(rn_throttle_exceeded(&t, now));
    rn_throttle_record(&t, 1000 * RN_REPL_THROTTLE_BURST_MS / 1000, now);
    assert_false(rn_throttle_exceeded(&t, now)); /* exactly one burst ahead */
    rn_throttle_record(&t, 5, now);
    assert_true(rn_throttle_exceeded(&t, now));
    assert_int_equal(rn_throttle_wait_ms(&t, now), 5);
    assert_true(rn_throttle_exceeded(&t, now + 4));
    assert_false(rn_throttle_exceeded(&t, now + 5));
    /* idle time does not bank more than one burst */
    now += 3600 * 1000;
    rn_throttle_record(&t, 1000, now);
    assert_false(rn_throttle_exceeded(&t, now));
    rn_throttle_record(&t, 1, now);
    assert_true(rn_throttle_exceeded(&t, now));
}

/* A fetcher asking every 10 ms for 64 KiB while under quota, for 20 s:
   what passes stays within rate * T + one burst + one fetch, and is not
   far below rate * T. */
static void test_rate_bound(void **state) {
    (void)state;
    const int64_t rate = 2000000, chunk = 64 * 1024, span_ms = 20000;
    rn_throttle_t t;
    rn_throttle_init(&t);
    rn_throttle_set_rate(&t, rate);
    int64_t passed = 0, held = 0;
    for (int64_t now = 1000; now < 1000 + span_ms; now += 10) {
        if (rn_throttle_exceeded(&t, now)) {
            rn_throttle_hold(&t, now);
            held++;
            continue;
        }
        rn_throttle_record(&t, (uint64_t)chunk, now);
        passed += chunk;
        int64_t bound =
            rate * (now - 1000 + 10) / 1000 + rate * RN_REPL_THROTTLE_BURST_MS / 1000 + chunk;
        assert_true(passed <= bound);
    }
    assert_true(passed >= rate * span_ms / 1000 - chunk);
    assert_true(held > 0);
    assert_int_equal(atomic_load(&t.holds_total), (uint64_t)held);
    /* held most of the time once the burst was spent */
    uint64_t held_us = atomic_load(&t.held_us_total);
    assert_true(held_us > 10 * 1000 * 1000ull && held_us <= (uint64_t)span_ms * 1000);
}

/* Holds whose intervals overlap count once. */
static void test_held_union(void **state) {
    (void)state;
    rn_throttle_t t;
    rn_throttle_init(&t);
    rn_throttle_set_rate(&t, 1000);
    rn_throttle_record(&t, 3000, 0); /* paid off at 3 s: over quota until 2 s */
    rn_throttle_hold(&t, 0);
    assert_int_equal(atomic_load(&t.held_us_total), 2000000);
    rn_throttle_hold(&t, 500); /* within the first interval */
    assert_int_equal(atomic_load(&t.held_us_total), 2000000);
    rn_throttle_record(&t, 1000, 1000); /* now until 3 s */
    rn_throttle_hold(&t, 1000);
    assert_int_equal(atomic_load(&t.held_us_total), 3000000);
    assert_int_equal(atomic_load(&t.holds_total), 3);
}

typedef struct recorder {
    rn_throttle_t *t;
    int rounds;
    pthread_barrier_t *start;
} recorder_t;

static void *record_many(void *arg) {
    recorder_t *r = arg;
    pthread_barrier_wait(r->start);
    for (int n = 0; n < r->rounds; n++) rn_throttle_record(r->t, 1000, 0);
    return NULL;
}

/* Two threads recording at once: every record moves the limiter on. */
static void test_concurrent_records(void **state) {
    (void)state;
    rn_throttle_t t;
    rn_throttle_init(&t);
    rn_throttle_set_rate(&t, 1000000000); /* 1000 bytes cost 1 us */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    recorder_t r = {&t, 2000000, &start};
    pthread_t a, b;
    assert_int_equal(pthread_create(&a, NULL, record_many, &r), 0);
    assert_int_equal(pthread_create(&b, NULL, record_many, &r), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(atomic_load(&t.tat_us), 2 * 2000000);
    assert_int_equal(atomic_load(&t.bytes_total), 2ull * 2000000 * 1000);
}

static void test_listed(void **state) {
    (void)state;
    assert_false(rn_throttle_listed(NULL, 0, 1));
    assert_false(rn_throttle_listed("", 0, 1));
    assert_true(rn_throttle_listed("*", 7, 3));
    assert_true(rn_throttle_listed("0:1,1:2", 0, 1));
    assert_true(rn_throttle_listed("0:1,1:2", 1, 2));
    assert_false(rn_throttle_listed("0:1,1:2", 0, 2));
    assert_false(rn_throttle_listed("0:1,1:2", 2, 1));
    assert_true(rn_throttle_listed(" 0 : 1 ,  1:2 ", 0, 1));
    assert_true(rn_throttle_listed(" 0 : 1 ,  1:2 ", 1, 2));
    assert_false(rn_throttle_listed("0:10", 0, 1)); /* no prefix match */
    assert_false(rn_throttle_listed("10:1", 1, 1));
    /* malformed items are ignored, the rest still count */
    assert_true(rn_throttle_listed("x:1,1:,:2,1:2:3,-1:2,0:1", 0, 1));
    assert_false(rn_throttle_listed("x:1,1:,:2,1:2:3,-1:2", 1, 2));
    assert_false(rn_throttle_listed("99999999999:1", 1, 1));
    assert_true(rn_throttle_listed("1:1, *", 5, 9));
    assert_false(rn_throttle_listed("0:1", 0, -1));
}

static void test_decisions(void **state) {
    (void)state;
    rn_partition_t *part = calloc(1, sizeof *part);
    assert_non_null(part);
    part->lead.self_id = 1;
    part->lead.replica_count = 3;
    part->lead.replicas[0] = 1, part->lead.replicas[1] = 2, part->lead.replicas[2] = 3;
    part->lead.isr_count = 2;
    part->lead.isr[0] = 1, part->lead.isr[1] = 2;
    assert_false(rn_throttle_leader_applies(part, 3)); /* not marked */
    part->lead.throttle_leader = true;
    assert_true(rn_throttle_leader_applies(part, 3));   /* out of sync, moving */
    assert_false(rn_throttle_leader_applies(part, 2));  /* in sync: never held */
    assert_false(rn_throttle_leader_applies(part, -1)); /* a consumer */
    part->lead.self_id = 3;
    assert_false(rn_throttle_follower_applies(part));
    part->lead.throttle_follower = true;
    assert_true(rn_throttle_follower_applies(part));
    part->lead.isr[1] = 3; /* caught up and in the ISR */
    assert_false(rn_throttle_follower_applies(part));
    free(part);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_unthrottled),
        cmocka_unit_test(test_zero_rate_holds),
        cmocka_unit_test(test_burst_edge),
        cmocka_unit_test(test_rate_bound),
        cmocka_unit_test(test_held_union),
        cmocka_unit_test(test_concurrent_records),
        cmocka_unit_test(test_listed),
        cmocka_unit_test(test_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
