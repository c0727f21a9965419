/*
 * storage_health.c: the log directory's refusal episodes (see
 * storage_health.h): counting, and the start, summary and end lines. Owns
 * nothing but its atomics; any thread.
 */
#include "partition/storage_health.h"

#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>

bool rn_storage_health_is_refusal(rn_err_t err) {
    return err == RN_ERR_NO_SPACE || err == RN_ERR_IO;
}

static const char *health_reason(rn_err_t err) {
    return err == RN_ERR_NO_SPACE ? "disk full" : "I/O error";
}

static void health_refused(rn_storage_health_t *h, rn_err_t err, rn_err_t cause, int64_t now_ms,
                           const char *dir) {
    uint64_t total = atomic_fetch_add_explicit(&h->refused_total, 1, memory_order_relaxed) + 1;
    atomic_store_explicit(&h->last_refused_ms, now_ms, memory_order_relaxed);
    atomic_store_explicit(&h->last_err, (int)err, memory_order_relaxed);
    if (!atomic_load_explicit(&h->failing, memory_order_acquire)) {
        /* Set before the flag: a core that sees the episode open sees
           these (two cores racing here write nearly the same values). */
        atomic_store_explicit(&h->since_ms, now_ms, memory_order_relaxed);
        atomic_store_explicit(&h->last_line_ms, now_ms, memory_order_relaxed);
        atomic_store_explicit(&h->refused_at_start, total - 1, memory_order_relaxed);
        atomic_store_explicit(&h->refused_at_line, total, memory_order_relaxed);
        bool closed = false;
        if (atomic_compare_exchange_strong(&h->failing, &closed, true))
            RN_ERROR("storage",
                     "log dir %s: appends refused: %s (%s); producers get "
                     "KAFKA_STORAGE_ERROR and retry until appends succeed again",
                     dir, health_reason(err), rn_err_name(cause));
        return;
    }
    int64_t last = atomic_load_explicit(&h->last_line_ms, memory_order_relaxed);
    if (now_ms - last < RN_STORAGE_ERROR_SUMMARY_MS) return;
    if (!atomic_compare_exchange_strong(&h->last_line_ms, &last, now_ms)) return;
    uint64_t prev = atomic_exchange_explicit(&h->refused_at_line, total, memory_order_relaxed);
    int64_t since = atomic_load_explicit(&h->since_ms, memory_order_relaxed);
    uint64_t start = atomic_load_explicit(&h->refused_at_start, memory_order_relaxed);
    RN_ERROR("storage",
             "log dir %s: still refusing appends (%s) after %" PRId64 " s: %" PRIu64
             " refused in the last %" PRId64 " s, %" PRIu64 " since it began",
             dir, health_reason(err), (now_ms - since) / 1000, total - prev,
             (now_ms - last + 500) / 1000, total - start);
}

/* Over: an append succeeded after the last refusal, and that refusal is
   RN_STORAGE_ERROR_CLEAR_MS old. */
static bool health_over(rn_storage_health_t *h, int64_t now_ms) {
    int64_t refused = atomic_load_explicit(&h->last_refused_ms, memory_order_relaxed);
    int64_t ok = atomic_load_explicit(&h->last_ok_ms, memory_order_relaxed);
    return ok >= refused && now_ms - refused >= RN_STORAGE_ERROR_CLEAR_MS;
}

static void health_close(rn_storage_health_t *h, int64_t now_ms, const char *dir) {
    bool open = true;
    if (!atomic_compare_exchange_strong(&h->failing, &open, false)) return;
    int64_t since = atomic_load_explicit(&h->since_ms, memory_order_relaxed);
    uint64_t refused = atomic_load_explicit(&h->refused_total, memory_order_relaxed) -
                       atomic_load_explicit(&h->refused_at_start, memory_order_relaxed);
    RN_INFO("storage",
            "log dir %s: appends succeed again after %" PRId64 " s; %" PRIu64 " refused in all",
            dir, (now_ms - since) / 1000, refused);
}

static void health_appended(rn_storage_health_t *h, int64_t now_ms, const char *dir) {
    if (!atomic_load_explicit(&h->failing, memory_order_relaxed)) return; /* the usual case */
    atomic_store_explicit(&h->last_ok_ms, now_ms, memory_order_relaxed);
    if (health_over(h, now_ms)) health_close(h, now_ms, dir);
}

void rn_storage_health_note(rn_storage_health_t *health, rn_err_t err, rn_err_t cause,
                            int64_t now_ms, const char *dir) {
    RN_ASSERT(health != NULL && dir != NULL);
    if (err == RN_OK)
        health_appended(health, now_ms, dir);
    else if (rn_storage_health_is_refusal(err))
        health_refused(health, err, cause, now_ms, dir);
}

bool rn_storage_health_failing(rn_storage_health_t *health, int64_t now_ms, const char *dir,
                               char *buf, size_t cap) {
    if (!atomic_load_explicit(&health->failing, memory_order_acquire)) return false;
    if (health_over(health, now_ms)) {
        health_close(health, now_ms, dir);
        return false;
    }
    int64_t since = atomic_load_explicit(&health->since_ms, memory_order_relaxed);
    rn_err_t err = (rn_err_t)atomic_load_explicit(&health->last_err, memory_order_relaxed);
    uint64_t refused = atomic_load_explicit(&health->refused_total, memory_order_relaxed) -
                       atomic_load_explicit(&health->refused_at_start, memory_order_relaxed);
    if (cap > 0)
        snprintf(buf, cap, "log dir %s refuses appends for %" PRId64 " s: %s; %" PRIu64 " refused",
                 dir, (now_ms - since) / 1000, health_reason(err), refused);
    return true;
}
