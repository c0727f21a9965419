/*
 * loop_pulse.h: whether an event loop still turns, asked from another
 * thread without waiting on it (the liveness probe's question).
 *
 * A check posts a small mail to the loop unless one is still queued; the
 * loop answers it on its next turn. A mail still unanswered after the stall
 * bound means the loop has not run a turn for that long: it is stuck (a
 * deadlock, a call that never returns). Checks are as frequent as the
 * probes that ask, so an idle loop costs one mail per probe.
 */
#ifndef RN_IO_LOOP_PULSE_H
#define RN_IO_LOOP_PULSE_H

#include "io/loop.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_loop_pulse {
    rn_mail_t mail;
    rn_loop_t *loop;
    atomic_bool queued;      /* a mail is posted and not yet answered */
    _Atomic int64_t sent_ms; /* when it was posted (the caller's clock) */
} rn_loop_pulse_t;

void rn_loop_pulse_init(rn_loop_pulse_t *pulse, rn_loop_t *loop);

/* Any thread, one at a time: how long the loop has left a pulse
   unanswered (0: none outstanding past this call's post). Posts a new
   pulse when none is queued. */
int64_t rn_loop_pulse_overdue_ms(rn_loop_pulse_t *pulse, int64_t now_ms);

#endif
