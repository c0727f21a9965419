/* log_limit.c: per-cause rate limiting of log lines (log_limit.h). */
#include "base/log_limit.h"
#include "base/assert.h"

#include <inttypes.h>

void rn_log_limit_init(rn_log_limit_t *lim, rn_log_level_t level, const char *module,
                       const char *cause, int32_t lines_max, int64_t window_ms) {
    RN_ASSERT(lines_max > 0);
    RN_ASSERT(window_ms > 0);
    lim->module = module;
    lim->cause = cause;
    lim->level = level;
    lim->lines_max = lines_max;
    lim->window_ms = window_ms;
    atomic_init(&lim->window_start_ms, INT64_MIN / 2);
    atomic_init(&lim->lines, 0);
    atomic_init(&lim->suppressed, 0);
}

uint64_t rn_log_limit_turn(rn_log_limit_t *lim, int64_t now_ms) {
    int64_t start = atomic_load(&lim->window_start_ms);
    if (now_ms - start < lim->window_ms) return 0;
    /* One thread turns the window; the others go on counting in it. */
    if (!atomic_compare_exchange_strong(&lim->window_start_ms, &start, now_ms)) return 0;
    atomic_store(&lim->lines, 0);
    return atomic_exchange(&lim->suppressed, 0);
}

static void log_limit_report(const rn_log_limit_t *lim, uint64_t suppressed) {
    rn_log(lim->level, lim->module, "suppressed %" PRIu64 " similar lines (%s)", suppressed,
           lim->cause);
}

bool rn_log_limit_allow(rn_log_limit_t *lim, int64_t now_ms) {
    uint64_t suppressed = rn_log_limit_turn(lim, now_ms);
    if (suppressed > 0) log_limit_report(lim, suppressed);
    if (atomic_fetch_add(&lim->lines, 1) < (uint64_t)lim->lines_max) return true;
    atomic_fetch_add(&lim->suppressed, 1);
    return false;
}

uint64_t rn_log_limit_flush(rn_log_limit_t *lim, int64_t now_ms) {
    if (atomic_load(&lim->suppressed) == 0) return 0; /* nothing to say: keep the window */
    uint64_t suppressed = rn_log_limit_turn(lim, now_ms);
    if (suppressed > 0) log_limit_report(lim, suppressed);
    return suppressed;
}
