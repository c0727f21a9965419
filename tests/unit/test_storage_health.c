/*
 * test_storage_health.c: the log directory's refusal episodes: opened by a
 * storage refusal, not by other errors, kept open by a success too close to
 * the last refusal, closed by one after RN_STORAGE_ERROR_CLEAR_MS, or by a
 * reader once that time has passed after a success; the reason text and
 * the refusal counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/limits.h"
#include "base/log.h"
#include "partition/storage_health.h"

#include <string.h>

static void test_episode(void **state) {
    (void)state;
    rn_storage_health_t h;
    memset(&h, 0, sizeof h); /* the initial state */
    char why[256];
    assert_false(rn_storage_health_failing(&h, 0, "/d", why, sizeof why));
    rn_storage_health_note(&h, RN_ERR_SEQUENCE, RN_ERR_SEQUENCE, 10, "/d"); /* not storage */
    rn_storage_health_note(&h, RN_OK, RN_OK, 20, "/d");
    assert_false(rn_storage_health_failing(&h, 30, "/d", why, sizeof why));

    rn_storage_health_note(&h, RN_ERR_NO_SPACE, RN_ERR_NO_SPACE, 1000, "/d");
    for (int i = 1; i <= 100; i++)
        rn_storage_health_note(&h, RN_ERR_NO_SPACE, RN_ERR_NO_SPACE, 1000 + i * 100, "/d");
    assert_int_equal(atomic_load(&h.refused_total), 101);
    assert_true(rn_storage_health_failing(&h, 13000, "/d", why, sizeof why));
    assert_non_null(strstr(why, "log dir /d"));
    assert_non_null(strstr(why, "disk full"));
    assert_non_null(strstr(why, "12 s"));
    assert_non_null(strstr(why, "101 refused"));

    int64_t last = 1000 + 100 * 100;
    rn_storage_health_note(&h, RN_OK, RN_OK, last + RN_STORAGE_ERROR_CLEAR_MS - 1, "/d");
    assert_true(rn_storage_health_failing(&h, last, "/d", NULL, 0)); /* too soon */
    rn_storage_health_note(&h, RN_OK, RN_OK, last + RN_STORAGE_ERROR_CLEAR_MS, "/d");
    assert_false(rn_storage_health_failing(&h, last, "/d", why, sizeof why));

    /* A new episode counts from its own start; the counter keeps going. */
    rn_storage_health_note(&h, RN_ERR_IO, RN_ERR_IO, 50000, "/d");
    assert_true(rn_storage_health_failing(&h, 51000, "/d", why, sizeof why));
    assert_non_null(strstr(why, "I/O error"));
    assert_non_null(strstr(why, "1 refused"));
    assert_int_equal(atomic_load(&h.refused_total), 102);

    /* The disk has room and one append succeeds, then traffic stops: the
       next probe closes the episode once the quiet time has passed. */
    rn_storage_health_note(&h, RN_OK, RN_OK, 50500, "/d");
    assert_true(
        rn_storage_health_failing(&h, 50000 + RN_STORAGE_ERROR_CLEAR_MS - 1, "/d", NULL, 0));
    assert_false(rn_storage_health_failing(&h, 50000 + RN_STORAGE_ERROR_CLEAR_MS, "/d", NULL, 0));
    rn_storage_health_note(&h, RN_ERR_NO_SPACE, RN_ERR_NO_SPACE, 70000, "/d"); /* a new one */
    assert_true(rn_storage_health_failing(&h, 80000, "/d", NULL, 0));
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_episode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
