/*
 * test_loop_pulse.c: the liveness pulse. A loop that runs no turn leaves its
 * pulse unanswered for as long as it stays stuck, and a check posts no
 * second pulse meanwhile; one turn answers it, and the next check posts a
 * fresh one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/loop_pulse.h"

static void test_stuck_loop_is_overdue_until_it_turns(void **state) {
    (void)state;
    rn_loop_t loop;
    assert_int_equal(rn_loop_init(&loop, rn_io_linux(), 0), RN_OK);
    rn_loop_pulse_t pulse;
    rn_loop_pulse_init(&pulse, &loop);
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 1000), 0); /* posted at 1000 */
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 1500), 500);
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 61000), 60000); /* no turn: still queued */
    rn_loop_turn(&loop, 0);                                           /* the loop answers */
    assert_false(atomic_load(&pulse.queued));
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 62000), 0); /* a fresh pulse */
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 62100), 100);
    rn_loop_turn(&loop, 0);
    assert_int_equal(rn_loop_pulse_overdue_ms(&pulse, 70000), 0);
    rn_loop_turn(&loop, 0);
    rn_loop_destroy(&loop);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stuck_loop_is_overdue_until_it_turns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
