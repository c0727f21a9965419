/*
 * cleaner_rt.c: the log cleaner's thread and its hand-offs to the owner
 * cores (cleaner_rt.h). Owns the thread, one job at a time and the
 * counters. The mutex and condition guard only the hand-off (a mail's
 * answer) and the stop flag; no lock is taken by a loop but to answer.
 */
#include "cluster/cleaner_rt.h"

#include "base/assert.h"
#include "base/log.h"
#include "cluster/ptable.h"
#include "cluster/topics.h"
#include "metadata/topic_config.h"
#include "partition/partition.h"
#include "storage/cleaner.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What the cleaner asks an owner core to do. */
typedef enum { STEP_PREPARE, STEP_COMMIT } step_t;

struct rn_cleaner_rt {
    rn_node_t *node;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool stopping;
    /* the hand-off: one at a time */
    rn_mail_t mail;
    step_t step;
    rn_partition_t *part;
    rn_clean_job_t *job;
    int64_t lag_before_ms;
    rn_err_t result;
    uint32_t swapped;
    bool answered;
    /* the I/O budget */
    int64_t budget_start_ns;
    uint64_t budget_bytes;
    rn_cleaner_stats_t stats;
};

/* ---- hand-off to the owner core ---- */

static void owner_step(rn_mail_t *mail) {
    rn_cleaner_rt_t *rt = (rn_cleaner_rt_t *)((char *)mail - offsetof(rn_cleaner_rt_t, mail));
    rn_partition_t *part = rt->part;
    rn_err_t err = RN_ERR_NOT_FOUND;
    bool usable = !atomic_load(&part->deleted) && !rn_partition_offline(part);
    if (usable && rt->step == STEP_PREPARE)
        err = rn_log_clean_prepare(part->log, rn_partition_hw(part), rt->lag_before_ms, rt->job);
    else if (usable)
        err = rn_log_clean_commit(part->log, rt->job, &rt->swapped);
    if (usable && err == RN_OK && rt->step == STEP_COMMIT) {
        atomic_store_explicit(&part->size_bytes, rn_log_size_bytes(part->log),
                              memory_order_relaxed);
        atomic_store_explicit(&part->segment_count, rn_log_segment_count(part->log),
                              memory_order_relaxed);
    }
    pthread_mutex_lock(&rt->lock);
    rt->result = err;
    rt->answered = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
}

static rn_err_t call_owner(rn_cleaner_rt_t *rt, step_t step, rn_partition_t *part,
                           rn_clean_job_t *job) {
    rt->step = step;
    rt->part = part;
    rt->job = job;
    rt->answered = false;
    rt->mail.fn = owner_step;
    rn_loop_post(&rt->node->cores[part->owner].loop, &rt->mail);
    pthread_mutex_lock(&rt->lock);
    while (!rt->answered) pthread_cond_wait(&rt->cond, &rt->lock);
    pthread_mutex_unlock(&rt->lock);
    return rt->result;
}

/* Waits up to ms unless stopping; false once stopping. */
static bool rest(rn_cleaner_rt_t *rt, int64_t ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&rt->lock);
    while (!rt->stopping && pthread_cond_timedwait(&rt->cond, &rt->lock, &until) != ETIMEDOUT) {
    }
    bool go_on = !rt->stopping;
    pthread_mutex_unlock(&rt->lock);
    return go_on;
}

static bool stopping(rn_cleaner_rt_t *rt) {
    pthread_mutex_lock(&rt->lock);
    bool s = rt->stopping;
    pthread_mutex_unlock(&rt->lock);
    return s;
}

/* log.cleaner.io.max.bytes.per.second: sleeps while ahead of the budget. */
static bool throttle(void *ctx, uint64_t bytes) {
    rn_cleaner_rt_t *rt = ctx;
    int64_t rate = rt->node->settings.cleaner_io_bytes_per_sec;
    rt->budget_bytes += bytes;
    if (rate <= 0) return !stopping(rt);
    int64_t elapsed_ns = rn_io_now_ns(rt->node->io) - rt->budget_start_ns;
    int64_t due_ns = (int64_t)((double)rt->budget_bytes / (double)rate * 1e9);
    if (due_ns - elapsed_ns >= 10000000) return rest(rt, (due_ns - elapsed_ns) / 1000000);
    return !stopping(rt);
}

/* ---- choosing and cleaning ---- */

typedef struct pick {
    rn_partition_t *part;
    const rn_topic_config_t *tc;
    rn_clean_job_t job;
    double score;
} pick_t;

/* Prepares part's job and keeps it in best when it is the dirtiest yet. */
static void consider(rn_cleaner_rt_t *rt, rn_partition_t *part, const rn_topic_config_t *tc,
                     pick_t *best, double *ratio_max) {
    int64_t now = rn_io_wall_ms(rt->node->io);
    rt->lag_before_ms = now - tc->min_compaction_lag_ms;
    rn_clean_job_t job;
    if (call_owner(rt, STEP_PREPARE, part, &job) != RN_OK) return;
    double ratio = rn_clean_job_dirty_ratio(&job);
    if (ratio > *ratio_max) *ratio_max = ratio;
    bool overdue = job.dirty_first_ts >= 0 && now - job.dirty_first_ts > tc->max_compaction_lag_ms;
    double score = overdue ? 1.0 + ratio : ratio;
    if ((ratio < tc->min_cleanable_dirty_ratio && !overdue) || score <= best->score) {
        rn_clean_job_free(&job);
        return;
    }
    if (best->part) {
        rn_clean_job_free(&best->job);
        rn_partition_unref(best->part);
    }
    rn_partition_ref(part);
    *best = (pick_t){part, tc, job, score};
}

static void clean_one(rn_cleaner_rt_t *rt, pick_t *pick) {
    rn_partition_t *part = pick->part;
    rn_clean_params_t params = {
        .now_ms = rn_io_wall_ms(rt->node->io),
        .delete_retention_ms = pick->tc->delete_retention_ms,
        .segment_bytes = pick->tc->segment_bytes,
        .map_bytes = (uint64_t)rt->node->settings.cleaner_dedupe_bytes,
        .throttle = throttle,
        .throttle_ctx = rt,
    };
    int64_t start_ns = rn_io_now_ns(rt->node->io);
    rt->budget_start_ns = start_ns;
    rt->budget_bytes = 0;
    rn_err_t err = rn_clean_run(&pick->job, &params);
    if (err == RN_OK) err = call_owner(rt, STEP_COMMIT, part, &pick->job);
    int64_t took_ms = (rn_io_now_ns(rt->node->io) - start_ns) / 1000000;
    rn_cleaner_stats_t *st = &rt->stats;
    atomic_fetch_add_explicit(&st->bytes_cleaned_total, pick->job.bytes_read, memory_order_relaxed);
    if (err == RN_OK) {
        atomic_fetch_add_explicit(&st->bytes_written_total, pick->job.bytes_written,
                                  memory_order_relaxed);
        atomic_fetch_add_explicit(&st->cleans_total, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&st->records_removed_total, pick->job.records_removed,
                                  memory_order_relaxed);
        atomic_store_explicit(&st->last_clean_ms, took_ms, memory_order_relaxed);
        RN_INFO("cleaner",
                "%s-%d: cleaned %llu bytes into %llu in %lld ms (%u segment group(s)), "
                "%lld record(s) removed, clean up to offset %lld",
                part->topic, part->index, (unsigned long long)pick->job.bytes_read,
                (unsigned long long)pick->job.bytes_written, (long long)took_ms, rt->swapped,
                (long long)pick->job.records_removed, (long long)pick->job.map_end);
    } else if (err != RN_ERR_CLOSED && err != RN_ERR_NOT_FOUND) {
        atomic_fetch_add_explicit(&st->errors_total, 1, memory_order_relaxed);
        RN_ERROR("cleaner", "%s-%d: clean failed, the log is left as it was: %s%s", part->topic,
                 part->index, rn_err_name(err),
                 err == RN_ERR_CORRUPT ? " (a corrupt batch in a segment being cleaned)"
                 : err == RN_ERR_LIMIT ? " (log.cleaner.dedupe.buffer.size too small)"
                                       : "");
    }
    rn_clean_job_free(&pick->job);
    rn_partition_unref(part);
}

/* Whether the cleaner serves topic. Not the internal topics: the group
   coordinator compacts __consumer_offsets itself (a checkpoint of its live
   state, then the log start moved past the old records, coordinator.h),
   and two compactions acting on one log would race over its segments. One
   scheme must be chosen for it before the cleaner may take it over. */
static bool cleaner_serves(const rn_topic_rt_t *topic) {
    if (!(topic->config.cleanup_policy & RN_CLEANUP_COMPACT)) return false;
    return !rn_topics_is_internal(topic->name);
}

/* One look over every compacted partition; true if a log was cleaned. */
static bool clean_dirtiest(rn_cleaner_rt_t *rt) {
    rn_ptable_t *table = rn_node_table_acquire(rt->node);
    if (!table) return false;
    pick_t best = {0};
    double ratio_max = 0;
    for (int32_t t = 0; t < table->topic_count && !stopping(rt); t++) {
        const rn_topic_rt_t *topic = table->topics[t];
        if (!cleaner_serves(topic)) continue;
        for (int32_t p = 0; p < topic->partition_count; p++)
            if (topic->parts[p]) consider(rt, topic->parts[p], &topic->config, &best, &ratio_max);
    }
    atomic_store_explicit(&rt->stats.dirty_ratio_max_ppm, (uint64_t)(ratio_max * 1e6),
                          memory_order_relaxed);
    bool cleaned = best.part != NULL;
    if (cleaned) {
        /* The config is the table's: keep a copy past its release. */
        rn_topic_config_t tc = *best.tc;
        best.tc = &tc;
        rn_ptable_release(table);
        if (!stopping(rt))
            clean_one(rt, &best);
        else {
            rn_clean_job_free(&best.job);
            rn_partition_unref(best.part);
        }
        return cleaned;
    }
    rn_ptable_release(table);
    return false;
}

static void *cleaner_main(void *arg) {
    rn_cleaner_rt_t *rt = arg;
    while (!stopping(rt)) {
        if (!clean_dirtiest(rt) && !rest(rt, rt->node->settings.cleaner_backoff_ms)) break;
    }
    return NULL;
}

rn_err_t rn_cleaner_start(rn_node_t *node, rn_cleaner_rt_t **out) {
    *out = NULL;
    if (!node->settings.cleaner_enable) return RN_OK;
    rn_cleaner_rt_t *rt = calloc(1, sizeof(*rt));
    if (!rt) return RN_ERR_NO_MEMORY;
    rt->node = node;
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->cond, NULL);
    if (pthread_create(&rt->thread, NULL, cleaner_main, rt) != 0) {
        pthread_mutex_destroy(&rt->lock);
        pthread_cond_destroy(&rt->cond);
        free(rt);
        return RN_ERR_NO_MEMORY;
    }
    *out = rt;
    return RN_OK;
}

void rn_cleaner_stop(rn_cleaner_rt_t *rt) {
    if (!rt) return;
    pthread_mutex_lock(&rt->lock);
    rt->stopping = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
    pthread_join(rt->thread, NULL);
    pthread_mutex_destroy(&rt->lock);
    pthread_cond_destroy(&rt->cond);
    free(rt);
}

const rn_cleaner_stats_t *rn_cleaner_stats(const rn_cleaner_rt_t *rt) {
    return rt ? &rt->stats : NULL;
}
