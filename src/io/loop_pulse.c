/*
 * loop_pulse.c: the pulse mail a loop answers on its next turn
 * (loop_pulse.h). Owns nothing but the pulse's own fields.
 */
#include "io/loop_pulse.h"

#include <stddef.h>

static void pulse_answer(rn_mail_t *mail) {
    rn_loop_pulse_t *pulse = (rn_loop_pulse_t *)((char *)mail - offsetof(rn_loop_pulse_t, mail));
    atomic_store_explicit(&pulse->queued, false, memory_order_release);
}

void rn_loop_pulse_init(rn_loop_pulse_t *pulse, rn_loop_t *loop) {
    pulse->mail = (rn_mail_t){.fn = pulse_answer};
    pulse->loop = loop;
    atomic_init(&pulse->queued, false);
    atomic_init(&pulse->sent_ms, 0);
}

int64_t rn_loop_pulse_overdue_ms(rn_loop_pulse_t *pulse, int64_t now_ms) {
    if (atomic_load_explicit(&pulse->queued, memory_order_acquire)) {
        int64_t sent = atomic_load_explicit(&pulse->sent_ms, memory_order_relaxed);
        return now_ms > sent ? now_ms - sent : 0;
    }
    atomic_store_explicit(&pulse->sent_ms, now_ms, memory_order_relaxed);
    atomic_store_explicit(&pulse->queued, true, memory_order_release);
    rn_loop_post(pulse->loop, &pulse->mail);
    return 0;
}
