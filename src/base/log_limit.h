/*
 * log_limit.h: rate limiting of log lines, one limiter per cause.
 *
 * A hostile or broken client can make the broker log once per connection
 * or request; left alone, log volume would follow the attacker. A limiter
 * lets at most lines_max lines of its cause through per window of
 * window_ms and counts the rest; when a window with suppressed lines
 * turns, the next call (or rn_log_limit_flush from a timer) writes one line
 * "suppressed K similar lines (cause)".
 *
 * Limiters are shared by loop threads: every field is atomic, no lock is
 * taken, and the current monotonic time is an argument (base/ never reads
 * the clock). Counts are exact across threads: a suppressed line is
 * reported by exactly one summary line, perhaps that of the next window.
 * A limiter lives wherever its cause does (the net layer's shared state,
 * the node), never in a global.
 */
#ifndef RN_BASE_LOG_LIMIT_H
#define RN_BASE_LOG_LIMIT_H

#include "base/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_log_limit {
    const char *module; /* as rn_log's module */
    const char *cause;  /* named in the summary line */
    rn_log_level_t level;
    int32_t lines_max; /* lines let through per window */
    int64_t window_ms;
    _Atomic int64_t window_start_ms;
    _Atomic uint64_t lines;      /* let through (or asked for) in this window */
    _Atomic uint64_t suppressed; /* dropped, not yet reported */
} rn_log_limit_t;

void rn_log_limit_init(rn_log_limit_t *lim, rn_log_level_t level, const char *module,
                       const char *cause, int32_t lines_max, int64_t window_ms);
/* True when one more line of this cause may be written at now_ms; false
   counts it as suppressed. Reports an ended window's suppressed lines
   first. */
bool rn_log_limit_allow(rn_log_limit_t *lim, int64_t now_ms);
/* Turns the window if it has ended and reports what it suppressed; for a
   periodic timer, so a flood that stops is still summed up. Returns the
   count reported (0 if none, or the window has not ended). */
uint64_t rn_log_limit_flush(rn_log_limit_t *lim, int64_t now_ms);
/* Without logging: turns an ended window and returns the suppressed count
   the caller must report (the unit of the two above; tests use it). */
uint64_t rn_log_limit_turn(rn_log_limit_t *lim, int64_t now_ms);

/* A log line of lim's cause and level, unless the limiter holds it back. */
#define RN_LOG_LIMITED(lim, now_ms, ...)                                                           \
    (rn_log_enabled((lim)->level) && rn_log_limit_allow((lim), (now_ms))                           \
         ? rn_log((lim)->level, (lim)->module, __VA_ARGS__)                                        \
         : (void)0)

#endif
