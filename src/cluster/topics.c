/*
 * topics.c: topic lifecycle on this node (see topics.h). Every admin change
 * goes through the controller (validate, plan records, persist, apply to a
 * new image); then the live partitions are reconciled with the image:
 * new topics and partitions are opened, removed topics retired (their files
 * go with their last reference) and changed configs pushed to the owners.
 */
#include "cluster/topics.h"
#include "base/assert.h"
#include "cluster/purge.h"
#include "cluster/replicas_rt.h"
#include "cluster/topics_forward.h"
#include "metadata/dyn_broker.h"
#include "replication/leadership.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rn_topics_name_valid(rn_str_t name) {
    char message[RN_CTL_MESSAGE_BYTES];
    return rn_ctl_topic_name_check(name, message, sizeof message) == RN_KERR_NONE;
}

bool rn_topics_is_internal(const char *name) {
    return !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state");
}

static rn_log_config_t topics_log_config(const rn_topic_config_t *tc) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = tc->segment_bytes;
    cfg.segment_ms = tc->segment_ms;
    /* compact alone keeps every key's latest record forever: time and size
       retention apply only with delete (compact,delete), as Kafka. */
    bool deletes = (tc->cleanup_policy & RN_CLEANUP_DELETE) != 0;
    cfg.retention_ms = deletes ? tc->retention_ms : -1;
    cfg.retention_bytes = deletes ? tc->retention_bytes : -1;
    /* A compacted log keeps the latest record per key: Kafka refuses
       records without one at produce. */
    cfg.keys_required = (tc->cleanup_policy & RN_CLEANUP_COMPACT) != 0;
    cfg.index_interval_bytes = tc->index_interval_bytes;
    cfg.index_bytes_max = tc->segment_index_bytes;
    cfg.max_message_bytes = tc->max_message_bytes;
    cfg.timestamp_type = tc->message_timestamp_type == RN_TIMESTAMP_LOG_APPEND_TIME
                             ? RN_LOG_TIMESTAMP_LOG_APPEND_TIME
                             : RN_LOG_TIMESTAMP_CREATE_TIME;
    return cfg;
}

/* flush.messages = 1 (the default) acknowledges after fsync; more gives
   Kafka's page-cache acknowledgements. */
static bool topics_durable(const rn_topic_config_t *tc) { return tc->flush_messages <= 1; }

/* Partitions of one topic opened together on the worker pool. */
typedef struct topics_open_job {
    rn_node_t *node;
    rn_topic_rt_t *rt;
    rn_log_config_t cfg;
    const int32_t *which; /* the partitions to open */
    rn_err_t *errs;       /* one per partition opened */
} topics_open_job_t;

static void topics_open_one(void *ctx, int32_t index) {
    topics_open_job_t *job = ctx;
    rn_topic_rt_t *rt = job->rt;
    int32_t p = job->which[index];
    int owner = rn_node_owner(job->node, rt->name, p);
    job->errs[index] =
        rn_partition_open(job->node->io, job->node->settings.log_dir, rt->name, p, &job->cfg,
                          topics_durable(&rt->config), owner, &rt->parts[p]);
}

/* Whether this node keeps partition p's log: where it is a replica. */
static bool topics_hosts(const rn_node_t *node, const rn_image_topic_t *it, int32_t p) {
    const rn_image_partition_t *part = &it->partitions[p];
    for (int16_t n = 0; n < part->replica_count; n++)
        if (part->replicas[n] == node->settings.node_id) return true;
    return false;
}

/* Opening is recovery-bound for a log that did not stop cleanly and a few
   file opens otherwise; thousands of partitions open in parallel. On an
   error the partitions that did open stay in rt->parts for the caller. */
static rn_err_t topics_open_partitions(rn_node_t *node, rn_topic_rt_t *rt, const int32_t *which,
                                       int32_t count) {
    topics_open_job_t job = {node, rt, topics_log_config(&rt->config), which,
                             calloc((size_t)count + 1, sizeof(rn_err_t))};
    RN_ASSERT(job.errs != NULL);
    rn_workers_run(node->workers, count, topics_open_one, &job);
    rn_err_t first = RN_OK;
    for (int32_t i = 0; i < count; i++) {
        if (job.errs[i] == RN_OK) continue;
        RN_ERROR("topics", "%s-%d: cannot open: %s", rt->name, which[i], rn_err_name(job.errs[i]));
        if (first == RN_OK) first = job.errs[i];
    }
    free(job.errs);
    return first;
}

/* Leadership (who leads, who is in sync, the epochs) travels to each
   partition's owner, which stamps appends with the leader epoch, counts
   the in-sync replicas toward the high watermark, and follows the leader
   when another broker leads (cluster/replicas_rt.h). */
typedef struct topics_lead_mail {
    rn_mail_t mail;
    rn_partition_t *part;
    rn_node_t *node;
    rn_partition_leadership_t lead;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1]; /* the leader's, when another broker */
    uint16_t port;
} topics_lead_mail_t;

static void topics_lead_arrived(rn_mail_t *mail) {
    topics_lead_mail_t *m = (topics_lead_mail_t *)mail;
    rn_core_t *core = &m->node->cores[m->part->owner];
    rn_replicas_rt_lead(core, m->part, &m->lead, m->host, m->port);
    rn_partition_unref(m->part);
    free(m);
}

/* What the image says of partition p, as its owner needs it. */
static void topics_leadership(const rn_node_t *node, const rn_image_t *img,
                              const rn_image_topic_t *it, int32_t p, topics_lead_mail_t *m) {
    rn_repl_leadership(img, it, p, node->settings.node_id, node->settings.inter_broker_listener,
                       &m->lead, m->host, sizeof m->host, &m->port);
}

static bool topics_lead_same(const rn_partition_leadership_t *a,
                             const rn_partition_leadership_t *b) {
    return a->leader == b->leader && a->leader_epoch == b->leader_epoch &&
           a->eligible == b->eligible && a->partition_epoch == b->partition_epoch &&
           a->min_isr == b->min_isr && a->replica_count == b->replica_count &&
           a->isr_count == b->isr_count && a->throttle_leader == b->throttle_leader &&
           a->throttle_follower == b->throttle_follower &&
           !memcmp(a->replicas, b->replicas, (size_t)a->replica_count * sizeof(int32_t)) &&
           !memcmp(a->isr, b->isr, (size_t)a->isr_count * sizeof(int32_t));
}

static void topics_push_leadership(rn_node_t *node, const rn_image_t *img, rn_topic_rt_t *rt,
                                   const rn_image_topic_t *it, const rn_topic_rt_t *old) {
    for (int32_t p = 0; p < rt->partition_count; p++) {
        rn_partition_t *part = rt->parts[p];
        if (!part) continue;
        topics_lead_mail_t *m = malloc(sizeof *m);
        RN_ASSERT(m != NULL);
        *m = (topics_lead_mail_t){{.fn = topics_lead_arrived}, part, node, {0}, {0}, 0};
        topics_leadership(node, img, it, p, m);
        bool shared = old && p < old->partition_count && old->parts[p] == part;
        /* What the owner last took, read here under the admin lock that
           every push holds: only a change travels. */
        if (shared && topics_lead_same(&rt->leads[p], &m->lead)) {
            free(m);
            continue;
        }
        rt->leads[p] = m->lead;
        /* Just opened: nobody else sees it yet, so it takes its role at
           once (no window as the default leader); the mail still goes, for
           the owner's fetchers. */
        if (!shared) rn_partition_lead(part, &m->lead, rn_io_now_ms(node->io));
        rn_partition_ref(part);
        rn_loop_post(&node->cores[part->owner].loop, &m->mail);
    }
}

/* A config change travels to each partition's owner, which alone may touch
   the log. */
typedef struct topics_config_mail {
    rn_mail_t mail;
    rn_partition_t *part;
    rn_log_config_t cfg;
    bool durable;
} topics_config_mail_t;

static void topics_config_arrived(rn_mail_t *mail) {
    topics_config_mail_t *m = (topics_config_mail_t *)mail;
    rn_log_set_config(m->part->log, &m->cfg);
    m->part->durable = m->durable;
    rn_partition_unref(m->part);
    free(m);
}

static void topics_push_config(rn_node_t *node, rn_topic_rt_t *rt, const rn_topic_config_t *tc) {
    rt->config = *tc;
    for (int32_t p = 0; p < rt->partition_count; p++) {
        if (!rt->parts[p]) continue; /* not a replica here */
        topics_config_mail_t *m = malloc(sizeof *m);
        RN_ASSERT(m != NULL);
        m->mail.fn = topics_config_arrived;
        m->part = rt->parts[p];
        m->cfg = topics_log_config(tc);
        m->durable = topics_durable(tc);
        rn_partition_ref(m->part);
        rn_loop_post(&node->cores[m->part->owner].loop, &m->mail);
    }
}

/* Whether two configs differ in anything a partition's log uses. */
static bool topics_config_same(const rn_topic_config_t *a, const rn_topic_config_t *b) {
    return a->segment_bytes == b->segment_bytes && a->segment_ms == b->segment_ms &&
           a->retention_ms == b->retention_ms && a->retention_bytes == b->retention_bytes &&
           a->index_interval_bytes == b->index_interval_bytes &&
           a->segment_index_bytes == b->segment_index_bytes &&
           a->max_message_bytes == b->max_message_bytes &&
           a->message_timestamp_type == b->message_timestamp_type &&
           a->flush_messages == b->flush_messages && a->cleanup_policy == b->cleanup_policy;
}

static const rn_topic_rt_t *topics_find_rt(const rn_ptable_t *cur, const rn_image_topic_t *it) {
    if (!cur) return NULL;
    const rn_topic_rt_t *rt = rn_ptable_find(cur, it->name, it->name_len);
    return rt && rn_uuid_eq(&rt->topic_id, &it->id) ? rt : NULL;
}

/* A partition directory this node keeps no more (its topic deleted, or
   the replica moved away): renamed out of the way at once and queued for
   removal at due_ms (purge.h). A retired copy of the same name still
   waiting (the replica moved away before, came back and went again) goes
   first. */
static void topics_retire_dir(rn_node_t *node, rn_partition_t *part, const rn_uuid_t *topic_id,
                              int64_t due_ms) {
    char retired[RN_STORAGE_PATH_BYTES_MAX];
    bool fits = rn_purge_retired_name(retired, sizeof retired, part->dir, topic_id);
    rn_err_t err = fits ? rn_partition_retire(part, retired) : RN_ERR_TOO_LARGE;
    if (err != RN_OK && fits && rn_purge_remove(node->io, retired) == RN_OK)
        err = rn_io_rename(node->io, part->dir, retired);
    if (err == RN_OK) {
        rn_purge_later(node, retired, due_ms);
        return;
    }
    /* Cannot move it aside: remove it in place now rather than leave its
       records to a new topic or replica of the same name. */
    RN_ERROR("topics", "%s: cannot rename for deletion: %s", part->dir, rn_err_name(err));
    err = rn_purge_remove(node->io, part->dir);
    if (err != RN_OK) RN_ERROR("topics", "%s: cannot remove: %s", part->dir, rn_err_name(err));
}

/* A deleted topic: every partition's directory goes (topics_retire_dir). */
static void topics_retire(rn_node_t *node, const rn_topic_rt_t *rt) {
    int64_t due_ms = rn_io_wall_ms(node->io) + rt->config.file_delete_delay_ms;
    for (int32_t p = 0; p < rt->partition_count; p++)
        if (rt->parts[p]) topics_retire_dir(node, rt->parts[p], &rt->topic_id, due_ms);
    rn_err_t err = rn_io_dir_sync(node->io, node->settings.log_dir);
    if (err != RN_OK) RN_WARN("topics", "%s: sync: %s", node->settings.log_dir, rn_err_name(err));
    RN_INFO("topics", "deleted %s; its files go in %lld ms", rt->name,
            (long long)rt->config.file_delete_delay_ms);
}

/* Replicas the image no longer places here (a reassignment completed
   without this node): the owner hears it neither leads nor follows (its
   acks=all waiters fail over to the new leader, its fetcher stops), then
   the directory goes as a deleted topic's, and the table forgets it. The
   controller removes a replica only once every target replica is in sync,
   so nothing this copy alone holds was acknowledged. */
static void topics_drop_replicas(rn_node_t *node, const rn_image_t *img, rn_topic_rt_t *rt,
                                 const rn_image_topic_t *it) {
    int64_t due_ms = rn_io_wall_ms(node->io) + rt->config.file_delete_delay_ms;
    bool dropped = false;
    for (int32_t p = 0; p < rt->partition_count && p < it->partition_count; p++) {
        rn_partition_t *part = rt->parts[p];
        if (!part || topics_hosts(node, it, p)) continue;
        topics_lead_mail_t *m = malloc(sizeof *m);
        RN_ASSERT(m != NULL);
        *m = (topics_lead_mail_t){{.fn = topics_lead_arrived}, part, node, {0}, {0}, 0};
        topics_leadership(node, img, it, p, m);
        m->lead.leader = -1; /* none to follow: this node holds no replica */
        m->host[0] = '\0';
        rn_partition_ref(part);
        rn_loop_post(&node->cores[part->owner].loop, &m->mail);
        topics_retire_dir(node, part, &rt->topic_id, due_ms);
        RN_INFO("topics", "%s-%d: no longer a replica here; its files go in %lld ms", rt->name, p,
                (long long)rt->config.file_delete_delay_ms);
        rn_partition_unref(part);
        rt->parts[p] = NULL;
        dropped = true;
    }
    if (!dropped) return;
    rn_err_t err = rn_io_dir_sync(node->io, node->settings.log_dir);
    if (err != RN_OK) RN_WARN("topics", "%s: sync: %s", node->settings.log_dir, rn_err_name(err));
}

/* The live entry for image topic `it`: kept, grown or new. NULL on failure. */
static rn_topic_rt_t *topics_reconcile_one(rn_node_t *node, const rn_ptable_t *cur,
                                           const rn_image_t *img, const rn_image_topic_t *it) {
    const rn_topic_rt_t *old = topics_find_rt(cur, it);
    rn_topic_rt_t *rt = old ? rn_topic_rt_grow(old, it->partition_count)
                            : rn_topic_rt_new(it->name, &it->id, it->partition_count);
    if (!old) rt->config = it->config;
    int32_t *which = calloc((size_t)rt->partition_count + 1, sizeof *which);
    RN_ASSERT(which != NULL);
    int32_t count = 0;
    for (int32_t p = 0; p < rt->partition_count; p++)
        if (!rt->parts[p] && topics_hosts(node, it, p)) which[count++] = p;
    if (count > 0 && topics_open_partitions(node, rt, which, count) != RN_OK) {
        for (int32_t i = 0; i < count; i++) { /* keep what was already live */
            if (rt->parts[which[i]]) rn_partition_unref(rt->parts[which[i]]);
            rt->parts[which[i]] = NULL;
        }
    }
    free(which);
    if (old) topics_drop_replicas(node, img, rt, it);
    topics_push_leadership(node, img, rt, it, old);
    if (old && !topics_config_same(&old->config, &it->config))
        topics_push_config(node, rt, &it->config);
    return rt;
}

/* The throttles' rates: this broker's dynamic configs, else the cluster
   default's, else unthrottled (metadata/dyn_broker.h). */
static void topics_throttle_rates(rn_node_t *node, const rn_image_t *img) {
    int32_t self = node->settings.node_id;
    rn_throttle_set_rate(&node->throttle_leader,
                         rn_dyn_rate(img, self, RN_DYN_LEADER_REPLICATION_THROTTLED_RATE));
    rn_throttle_set_rate(&node->throttle_follower,
                         rn_dyn_rate(img, self, RN_DYN_FOLLOWER_REPLICATION_THROTTLED_RATE));
}

rn_err_t rn_topics_reconcile(rn_node_t *node) {
    const rn_image_t *img = rn_controller_image(&node->controller);
    topics_throttle_rates(node, img);
    rn_ptable_t *cur = atomic_load(&node->ptable);
    int32_t count = rn_image_topic_count(img);
    rn_topic_rt_t **topics = calloc((size_t)count + 1, sizeof *topics);
    RN_ASSERT(topics != NULL);
    for (int32_t i = 0; i < count; i++)
        topics[i] = topics_reconcile_one(node, cur, img, rn_image_topic_at(img, i));
    for (int32_t t = 0; cur && t < cur->topic_count; t++) {
        const rn_topic_rt_t *rt = cur->topics[t];
        const rn_image_topic_t *it = rn_image_topic(img, rt->name, strlen(rt->name));
        if (it && rn_uuid_eq(&it->id, &rt->topic_id)) continue;
        topics_retire(node, rt);
    }
    rn_node_publish(node, rn_ptable_build(topics, count));
    free(topics);
    return RN_OK;
}

rn_err_t rn_topics_open_all(rn_node_t *node, const rn_md_rt_opts_t *opts) {
    pthread_mutex_lock(&node->admin_lock);
    rn_purge_leftovers(node->io, node->settings.log_dir);
    pthread_mutex_unlock(&node->admin_lock);
    rn_err_t err = rn_md_rt_start(node, opts, &node->md_rt);
    if (err == RN_OK) {
        /* The applied records reconciled as they came; an empty log has
           none, and the table must exist all the same. */
        pthread_mutex_lock(&node->admin_lock);
        err = rn_topics_reconcile(node);
        pthread_mutex_unlock(&node->admin_lock);
    }
    if (err != RN_OK) RN_ERROR("topics", "cannot load metadata: %s", rn_err_name(err));
    return err;
}

void rn_topics_stop_metadata(rn_node_t *node) {
    rn_md_rt_stop(node->md_rt);
    node->md_rt = NULL;
}

static void topics_close_one(void *ctx, int32_t index) {
    rn_partition_t **parts = ctx;
    rn_partition_close(parts[index]);
}

/* Closing a partition cleanly is a few small synced writes (checkpoint,
   producer snapshot), bound by fsync latency rather than CPU: close them on
   the worker pool so a node with thousands of partitions stops in seconds. */
static void topics_close_parallel(rn_node_t *node, const rn_ptable_t *table) {
    size_t count = 0;
    for (int32_t t = 0; t < table->topic_count; t++)
        count += (size_t)table->topics[t]->partition_count;
    rn_partition_t **parts = calloc(count + 1, sizeof *parts);
    RN_ASSERT(parts != NULL);
    int32_t n = 0;
    for (int32_t t = 0; t < table->topic_count; t++)
        for (int32_t p = 0; p < table->topics[t]->partition_count; p++)
            if (table->topics[t]->parts[p]) parts[n++] = table->topics[t]->parts[p];
    rn_workers_run(node->workers, n, topics_close_one, parts);
    free(parts);
}

void rn_topics_close_all(rn_node_t *node) {
    RN_ASSERT(node->md_rt == NULL);
    pthread_mutex_lock(&node->admin_lock);
    rn_ptable_t *cur = atomic_load(&node->ptable);
    if (cur) topics_close_parallel(node, cur);
    rn_ptable_t *old = rn_ptable_swap(&node->ptable, NULL);
    if (old) rn_ptable_release(old);
    rn_node_reclaim_stopped(node);
    rn_purge_drop_all(node);
    rn_controller_close(&node->controller);
    pthread_mutex_unlock(&node->admin_lock);
}

void rn_topics_submit(rn_node_t *node, rn_admin_op_t *op) { rn_md_rt_submit(node->md_rt, op); }

/* A node that does not lead forwards the creation to the active
   controller (topics_forward.c), as a broker forwards a client's. */
void rn_topics_create(rn_node_t *node, const rn_ctl_new_topic_t *topics, int32_t count,
                      rn_ctl_topic_result_t *results) {
    rn_admin_op_t op = {
        .kind = RN_ADMIN_CREATE_TOPICS, .items = topics, .count = count, .results = results};
    rn_buf_t raw;
    rn_topics_forward_prepare(&op, topics, count, &raw);
    rn_md_rt_run(node->md_rt, &op);
    rn_topics_forward_results(&op, topics, count, results);
    rn_buf_free(&raw);
}

/* A creation nobody waits for: the op and its copy of the name live on the
   heap until it is answered. */
typedef struct topics_auto {
    rn_admin_op_t op;
    rn_ctl_new_topic_t topic;
    rn_ctl_topic_result_t result;
    rn_buf_t raw; /* the CreateTopics to forward when this node does not lead */
    rn_node_t *node;
    char name[RN_TOPIC_NAME_BYTES_MAX + 1];
} topics_auto_t;

static void topics_auto_done(rn_admin_op_t *op) {
    topics_auto_t *ac = (topics_auto_t *)op;
    rn_topics_forward_results(op, &ac->topic, 1, &ac->result);
    rn_buf_free(&ac->raw);
    int16_t kerr = ac->result.result.error_code;
    if (kerr != RN_KERR_NONE && kerr != RN_KERR_TOPIC_ALREADY_EXISTS)
        RN_WARN("topics", "auto-creating %s: %s (%s)", ac->name, rn_kerr_name(kerr),
                ac->result.result.message);
    atomic_fetch_sub(&ac->node->auto_creates, 1);
    free(ac);
}

int16_t rn_topics_auto_create(rn_node_t *node, rn_str_t name) {
    if (!node->settings.auto_create_topics) return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    char message[RN_CTL_MESSAGE_BYTES];
    int16_t kerr = rn_ctl_topic_name_check(name, message, sizeof message);
    if (kerr != RN_KERR_NONE) return kerr;
    /* Clients ask again until the topic shows; a bounded number of
       creations are under way at once, the rest are asked for later. */
    if (atomic_fetch_add(&node->auto_creates, 1) >= RN_AUTO_CREATES_MAX) {
        atomic_fetch_sub(&node->auto_creates, 1);
        return RN_KERR_NONE;
    }
    topics_auto_t *ac = calloc(1, sizeof *ac);
    RN_ASSERT(ac != NULL);
    memcpy(ac->name, name.ptr, (size_t)name.len);
    ac->node = node;
    ac->topic = (rn_ctl_new_topic_t){rn_str_from_cstr(ac->name), -1, -1, NULL, 0, NULL, 0};
    ac->op = (rn_admin_op_t){.kind = RN_ADMIN_CREATE_TOPICS,
                             .items = &ac->topic,
                             .count = 1,
                             .results = &ac->result,
                             .done = topics_auto_done};
    rn_topics_forward_prepare(&ac->op, &ac->topic, 1, &ac->raw);
    rn_md_rt_submit(node->md_rt, &ac->op);
    return RN_KERR_NONE;
}

rn_image_t *rn_topics_image(rn_node_t *node) { return rn_controller_acquire(&node->controller); }
