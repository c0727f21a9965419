/*
 * workers.h: a fixed pool of threads for blocking file work that gains from
 * running concurrently, such as the fdatasyncs of one group commit over many
 * partitions (the filesystem joins concurrent syncs into fewer journal
 * commits), or opening and closing thousands of partitions. Workers block
 * every signal.
 *
 * rn_workers_run is a parallel for: it runs fn(ctx, i) for every i in
 * [0, count) and returns once all have finished. The calling thread takes
 * items too, so a run of one item never wakes a worker, and a NULL pool (the
 * simulator, tests) runs the items in order on the caller. Several threads
 * may run jobs on one pool at once; each item runs exactly once, on one
 * thread, so items must not share mutable state.
 */
#ifndef RN_IO_WORKERS_H
#define RN_IO_WORKERS_H

#include "base/err.h"

#include <stdint.h>

typedef struct rn_workers rn_workers_t;
typedef void (*rn_workers_fn)(void *ctx, int32_t index);

/* Starts `threads` workers (1..RN_WORKER_THREADS_MAX). */
rn_err_t rn_workers_start(int threads, rn_workers_t **out);
/* Runs fn over [0, count) and waits for all of it; pool may be NULL. */
void rn_workers_run(rn_workers_t *pool, int32_t count, rn_workers_fn fn, void *ctx);
/* Stops and joins the workers; no run may be in progress. NULL is fine. */
void rn_workers_stop(rn_workers_t *pool);

#endif
