/*
 * storage_health.h: whether the broker's log directory refuses appends
 * (disk full, or another I/O error), since when and how many, for the log,
 * the metrics and the readiness probe.
 *
 * One rn_storage_health_t per node (one log directory). Every core reports
 * the outcome of its produce appends; the first refusal writes an ERROR
 * line, a summary follows at most every RN_STORAGE_ERROR_SUMMARY_MS while
 * refusals go on ("N refused in the last S s"), and the episode ends with
 * an INFO line once an append has succeeded and RN_STORAGE_ERROR_CLEAR_MS
 * have passed since the last refusal: noticed by the next append, or by
 * the next readiness probe or scrape if none comes. Producing resumes by
 * itself once the disk has room: the clients retry (KAFKA_STORAGE_ERROR is
 * retriable) and an append that fits succeeds; nothing here gates appends.
 *
 * Lock-free: atomics only, written by any loop thread, read by the admin
 * thread. Zeroed memory is the initial state (no episode, nothing
 * refused). Never calls the OS; times are the caller's monotonic ms.
 */
#ifndef RN_PARTITION_STORAGE_HEALTH_H
#define RN_PARTITION_STORAGE_HEALTH_H

#include "base/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_storage_health {
    atomic_bool failing;               /* an episode of refusals is open */
    _Atomic int64_t since_ms;          /* its first refusal */
    _Atomic int64_t last_refused_ms;   /* its latest refusal */
    _Atomic int64_t last_line_ms;      /* its latest log line */
    _Atomic int64_t last_ok_ms;        /* its latest success (after a refusal) */
    _Atomic int last_err;              /* rn_err_t of the latest refusal */
    _Atomic uint64_t refused_total;    /* appends refused, ever (a metric) */
    _Atomic uint64_t refused_at_start; /* refused_total before the episode */
    _Atomic uint64_t refused_at_line;  /* refused_total at its latest line */
} rn_storage_health_t;

/* True for the errors that count as the storage refusing an append. */
bool rn_storage_health_is_refusal(rn_err_t err);

/* One append's outcome (err from rn_partition_append or the group commit):
   a refusal, a success (RN_OK), or neither (a bad batch, a sequence
   error: ignored). `cause` is what the disk said (RN_ERR_LIMIT for
   EMFILE, ...), for the lines; `dir` names the log directory. */
void rn_storage_health_note(rn_storage_health_t *health, rn_err_t err, rn_err_t cause,
                            int64_t now_ms, const char *dir);

/* Whether an episode is open (closing one that is over, with its line); if
   so writes the reason ("log dir D refuses appends for 12 s: disk full;
   345 refused") into buf (cap may be 0). */
bool rn_storage_health_failing(rn_storage_health_t *health, int64_t now_ms, const char *dir,
                               char *buf, size_t cap);

#endif
