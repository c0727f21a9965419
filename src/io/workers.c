/*
 * workers.c: the worker pool (see workers.h).
 *
 * A run is a job on the pool's list, living on its caller's stack. Threads
 * claim items with an atomic counter, so the lock is held only to attach to
 * a job, detach from it and retire it. A job leaves the list once its caller
 * has no more items to claim, and its caller returns only when no worker is
 * still attached: every item is then finished.
 */
#include "io/workers.h"
#include "base/assert.h"
#include "base/limits.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct rn_workers_job {
    struct rn_workers_job *next;
    rn_workers_fn fn;
    void *ctx;
    int32_t count;
    atomic_int claimed;  /* next item to hand out */
    atomic_int finished; /* items done */
    int attached;        /* workers inside job_work; guarded by the pool lock */
} rn_workers_job_t;

struct rn_workers {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a job was published, or stop */
    pthread_cond_t detached; /* a worker left a job */
    rn_workers_job_t *jobs;  /* jobs that may have items left to claim */
    bool stopping;
    int thread_count;
    pthread_t threads[RN_WORKER_THREADS_MAX];
};

/* Runs items of job until none is left to claim. */
static void job_work(rn_workers_job_t *job) {
    for (;;) {
        int i = atomic_fetch_add_explicit(&job->claimed, 1, memory_order_relaxed);
        if (i >= job->count) return;
        job->fn(job->ctx, i);
        atomic_fetch_add_explicit(&job->finished, 1, memory_order_release);
    }
}

/* Drops a job whose items are all claimed from the list; lock held. */
static void job_unlink(rn_workers_t *pool, rn_workers_job_t *job) {
    for (rn_workers_job_t **link = &pool->jobs; *link; link = &(*link)->next) {
        if (*link == job) {
            *link = job->next;
            return;
        }
    }
}

static void *worker_main(void *arg) {
    rn_workers_t *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->jobs && !pool->stopping) pthread_cond_wait(&pool->work, &pool->lock);
        if (!pool->jobs) break; /* stopping, nothing left */
        rn_workers_job_t *job = pool->jobs;
        job->attached++;
        pthread_mutex_unlock(&pool->lock);
        job_work(job);
        pthread_mutex_lock(&pool->lock);
        job_unlink(pool, job);
        job->attached--;
        pthread_cond_broadcast(&pool->detached);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

rn_err_t rn_workers_start(int threads, rn_workers_t **out) {
    RN_ASSERT(threads >= 1 && threads <= RN_WORKER_THREADS_MAX);
    rn_workers_t *pool = calloc(1, sizeof *pool);
    if (!pool) return RN_ERR_NO_MEMORY;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->detached, NULL);
    /* Workers never take signals: they inherit a full mask, so the
       process's own handling (a sigwait on the main thread) sees them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rn_err_t err = RN_OK;
    while (pool->thread_count < threads) {
        if (pthread_create(&pool->threads[pool->thread_count], NULL, worker_main, pool) != 0) {
            err = RN_ERR_NO_MEMORY;
            break;
        }
        pool->thread_count++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != RN_OK) {
        rn_workers_stop(pool);
        return err;
    }
    *out = pool;
    return RN_OK;
}

void rn_workers_run(rn_workers_t *pool, int32_t count, rn_workers_fn fn, void *ctx) {
    RN_ASSERT(count >= 0 && fn != NULL);
    if (!pool || count <= 1) {
        for (int32_t i = 0; i < count; i++) fn(ctx, i);
        return;
    }
    rn_workers_job_t job = {.fn = fn, .ctx = ctx, .count = count};
    atomic_init(&job.claimed, 0);
    atomic_init(&job.finished, 0);
    pthread_mutex_lock(&pool->lock);
    job.next = pool->jobs;
    pool->jobs = &job;
    /* The caller takes items too: wake no more workers than can help. */
    int wake = count - 1 < pool->thread_count ? count - 1 : pool->thread_count;
    for (int i = 0; i < wake; i++) pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    job_work(&job);
    pthread_mutex_lock(&pool->lock);
    job_unlink(pool, &job); /* no worker can attach from here on */
    while (job.attached > 0) pthread_cond_wait(&pool->detached, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    RN_ASSERT(atomic_load_explicit(&job.finished, memory_order_acquire) == count);
}

void rn_workers_stop(rn_workers_t *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    RN_ASSERT(pool->jobs == NULL);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->thread_count; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->detached);
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}
