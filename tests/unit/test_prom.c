/*
 * test_prom.c: latency histograms (src/base/stats.c) and the Prometheus
 * text builder (src/admin/prom.c): bucket edges, cumulative buckets, _sum
 * and _count, label escaping and overflow, families. Owns its buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "admin/prom.h"
#include "base/stats.h"

#include <stdlib.h>
#include <string.h>

static void test_histo_buckets(void **state) {
    (void)state;
    rn_histo_t histo;
    memset(&histo, 0, sizeof histo);
    rn_histo_observe_ns(&histo, 0);                        /* first bucket */
    rn_histo_observe_ns(&histo, rn_histo_bound_ns(0));     /* edge: still first */
    rn_histo_observe_ns(&histo, rn_histo_bound_ns(0) + 1); /* second */
    rn_histo_observe_ns(&histo, rn_histo_bound_ns(RN_HISTO_BUCKETS - 1) + 1); /* +Inf */
    rn_histo_observe_ns(&histo, -5);                                          /* clamped to 0 */
    rn_histo_snap_t snap;
    memset(&snap, 0, sizeof snap);
    rn_histo_add_to(&histo, &snap);
    assert_int_equal(snap.buckets[0], 3);
    assert_int_equal(snap.buckets[1], 1);
    assert_int_equal(snap.buckets[RN_HISTO_BUCKETS], 1);
    assert_int_equal(snap.count, 5);
    uint64_t sum =
        (uint64_t)(2 * rn_histo_bound_ns(0) + 1 + rn_histo_bound_ns(RN_HISTO_BUCKETS - 1) + 1);
    assert_int_equal(snap.sum_ns, sum);
    for (int i = 1; i < RN_HISTO_BUCKETS; i++)
        assert_true(rn_histo_bound_ns(i) > rn_histo_bound_ns(i - 1));
}

static void test_request_slots(void **state) {
    (void)state;
    rn_stats_requests_t *stats = calloc(1, sizeof *stats);
    assert_non_null(stats);
    rn_stats_request_done(stats, 0, 1000);
    rn_stats_request_done(stats, -3, 1000); /* hostile key: last slot */
    rn_stats_request_done(stats, 30000, 1000);
    assert_int_equal(rn_stats_read(&stats->latency[0].count), 1);
    assert_int_equal(rn_stats_read(&stats->latency[RN_STATS_API_KEYS - 1].count), 2);
    assert_int_equal(rn_stats_api_slot(RN_STATS_API_KEYS - 1), RN_STATS_API_KEYS - 1);
    free(stats);
}

static void test_exposition(void **state) {
    (void)state;
    rn_prom_t prom;
    rn_prom_init(&prom);
    rn_prom_family(&prom, "runnel_things_total", "counter", "Things");
    rn_prom_u64(&prom, "runnel_things_total", NULL, 7);
    rn_prom_i64(&prom, "runnel_things_total", "a=\"b\"", -2);
    rn_histo_snap_t snap;
    memset(&snap, 0, sizeof snap);
    snap.buckets[0] = 2;
    snap.buckets[2] = 1;
    snap.buckets[RN_HISTO_BUCKETS] = 1;
    snap.count = 4;
    snap.sum_ns = 1500000000;
    rn_prom_histo(&prom, "runnel_x_seconds", "api=\"Produce\"", &snap);
    size_t len = 0;
    char *text = rn_prom_take(&prom, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(
        strstr(text, "# HELP runnel_things_total Things\n# TYPE runnel_things_total counter\n"));
    assert_non_null(strstr(text, "\nrunnel_things_total 7\n"));
    assert_non_null(strstr(text, "\nrunnel_things_total{a=\"b\"} -2\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_bucket{api=\"Produce\",le=\"0.0001\"} 2\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_bucket{api=\"Produce\",le=\"0.00025\"} 2\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_bucket{api=\"Produce\",le=\"0.0005\"} 3\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_bucket{api=\"Produce\",le=\"10\"} 3\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_bucket{api=\"Produce\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_sum{api=\"Produce\"} 1.5\n"));
    assert_non_null(strstr(text, "runnel_x_seconds_count{api=\"Produce\"} 4\n"));
    free(text);
}

static void test_labels(void **state) {
    (void)state;
    char labels[64] = "";
    assert_true(rn_prom_label(labels, sizeof labels, "topic", "a\"b\\c\nd"));
    assert_string_equal(labels, "topic=\"a\\\"b\\\\c\\nd\"");
    assert_true(rn_prom_label(labels, sizeof labels, "partition", "3"));
    assert_string_equal(labels, "topic=\"a\\\"b\\\\c\\nd\",partition=\"3\"");
    char before[64];
    memcpy(before, labels, sizeof before);
    assert_false(rn_prom_label(labels, sizeof labels, "group",
                               "a-very-long-group-name-that-does-not-fit-here"));
    assert_string_equal(labels, before); /* unchanged on overflow */
}

static void test_empty_and_limit(void **state) {
    (void)state;
    rn_prom_t prom;
    rn_prom_init(&prom);
    size_t len = 99;
    char *text = rn_prom_take(&prom, &len);
    assert_non_null(text);
    assert_int_equal(len, 0);
    free(text);
    rn_prom_init(&prom);
    prom.failed = true; /* as after an allocation failure */
    rn_prom_u64(&prom, "runnel_x", NULL, 1);
    assert_null(rn_prom_take(&prom, &len));
    assert_int_equal(len, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histo_buckets),   cmocka_unit_test(test_request_slots),
        cmocka_unit_test(test_exposition),      cmocka_unit_test(test_labels),
        cmocka_unit_test(test_empty_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
