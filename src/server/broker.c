/*
 * broker.c: start-up and shutdown order of a broker process.
 *
 * Start: node settings from the configuration, cluster identity, the admin
 * HTTP port (not ready yet), metadata and partitions (recovery happens
 * here, before any listener opens), then the cores with their hooks (group
 * commit before reply flush), then the listener; ready once the loops run.
 * A controller-only node (process.roles=controller) stops after the
 * metadata: no registration, group coordinator or broker listener.
 * Stop: not ready, close the admin port, close the listener and
 * connections, stop and join the loops, close every partition cleanly.
 */
#include "server/broker.h"
#include "base/assert.h"
#include "base/limits.h"
#include "base/log.h"
#include "cluster/cleaner_rt.h"
#include "cluster/balancer_rt.h"
#include "cluster/lifecycle.h"
#include "cluster/producer_ids.h"
#include "cluster/purge.h"
#include "cluster/topics.h"
#include "group/coordinator.h"
#include "txn/coordinator.h"
#include "handlers/fetch_session.h"
#include "handlers/handler.h"
#include "proto/batch_inflate.h"
#include "cluster/replicas_rt.h"
#include "server/data_dir_check.h"
#include "server/identity.h"

#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A numeric setting, or `fallback` when the table lacks it or it is null. */
static int64_t broker_setting_i64(const rn_config_t *cfg, const char *name, int64_t fallback) {
    const rn_config_entry_t *entry = rn_config_get(cfg, name);
    return entry && entry->text && !entry->value.is_null ? entry->value.i : fallback;
}

static void broker_group_settings(rn_node_settings_t *set, const rn_config_t *cfg) {
    set->offsets_partitions = cfg->offsets_topic_num_partitions;
    set->offsets_replication_factor = cfg->offsets_topic_replication_factor;
    set->brokers_expected = !cfg->clustered                            ? 1
                            : cfg->role_controller && cfg->voter_count ? (int16_t)cfg->voter_count
                                                                       : 0;
    set->offsets_segment_bytes = broker_setting_i64(cfg, "offsets.topic.segment.bytes", 104857600);
    set->offsets_retention_ms = broker_setting_i64(cfg, "offsets.retention.minutes", 10080) * 60000;
    set->offsets_retention_check_ms =
        broker_setting_i64(cfg, "offsets.retention.check.interval.ms", 600000);
    set->group_initial_rebalance_delay_ms =
        (int32_t)broker_setting_i64(cfg, "group.initial.rebalance.delay.ms", 3000);
    set->group_min_session_timeout_ms =
        (int32_t)broker_setting_i64(cfg, "group.min.session.timeout.ms", 6000);
    set->group_max_session_timeout_ms =
        (int32_t)broker_setting_i64(cfg, "group.max.session.timeout.ms", 1800000);
    set->group_max_size = (int32_t)broker_setting_i64(cfg, "group.max.size", INT32_MAX);
    set->txn_partitions = cfg->transaction_state_log_num_partitions;
    set->txn_replication_factor = cfg->transaction_state_log_replication_factor;
    set->txn_min_isr = (int32_t)broker_setting_i64(cfg, "transaction.state.log.min.isr", 2);
    set->txn_segment_bytes =
        broker_setting_i64(cfg, "transaction.state.log.segment.bytes", 104857600);
    set->txn_max_timeout_ms =
        (int32_t)broker_setting_i64(cfg, "transaction.max.timeout.ms", 900000);
    set->txn_abort_check_ms = (int32_t)broker_setting_i64(
        cfg, "transaction.abort.timed.out.transaction.cleanup.interval.ms", 10000);
    set->txn_id_expiration_ms =
        broker_setting_i64(cfg, "transactional.id.expiration.ms", 604800000);
    set->txn_ids_check_ms = (int32_t)broker_setting_i64(
        cfg, "transaction.remove.expired.transaction.cleanup.interval.ms", 3600000);
    set->txn_verify = broker_setting_i64(cfg, "transaction.partition.verification.enable", 1) != 0;
}

/* A data folder check's line: two paths and the fix. */
#define RN_DATA_DIR_WHY_BYTES 3072

/* How long a stop waits for requests in flight to be answered. */
#define BROKER_DRAIN_MS_MAX 5000

/* Where clients are told to reach a listener: its advertised.listeners
   entry of the same name, else where it listens ("": this machine). */
static void broker_listener_setting(rn_node_listener_t *out, const rn_config_listener_t *lis,
                                    const rn_config_t *cfg) {
    const rn_config_listener_t *adv = lis;
    for (int n = 0; n < cfg->advertised_count; n++)
        if (strcmp(cfg->advertised[n].name, lis->name) == 0) adv = &cfg->advertised[n];
    snprintf(out->name, sizeof out->name, "%s", lis->name);
    snprintf(out->host, sizeof out->host, "%s", adv->host[0] ? adv->host : "localhost");
    out->port = adv->port;
}

/* The client listeners (every one not named in controller.listener.names),
   the first of them also as advertised_host and advertised_port. */
static void broker_listener_settings(rn_node_settings_t *set, const rn_config_t *cfg) {
    for (int n = 0; n < cfg->listener_count; n++) {
        if (cfg->listeners[n].controller) continue;
        RN_ASSERT(set->listener_count < RN_NET_LISTENERS_MAX); /* config.c bounds them */
        broker_listener_setting(&set->listeners[set->listener_count++], &cfg->listeners[n], cfg);
    }
    if (set->listener_count == 0) /* a controller-only node: told as before */
        broker_listener_setting(&set->listeners[set->listener_count++], &cfg->listeners[0], cfg);
    snprintf(set->advertised_host, sizeof set->advertised_host, "%s", set->listeners[0].host);
    set->advertised_port = set->listeners[0].port;
    if (cfg->has_inter_broker_listener)
        snprintf(set->inter_broker_listener, sizeof set->inter_broker_listener, "%s",
                 cfg->inter_broker_listener.name);
}

static void broker_settings(rn_node_settings_t *set, const rn_config_t *cfg) {
    memset(set, 0, sizeof *set);
    set->node_id = cfg->node_id;
    broker_listener_settings(set, cfg);
    snprintf(set->log_dir, sizeof set->log_dir, "%s", cfg->log_dirs[0]);
    set->auto_create_topics = cfg->auto_create_topics_enable;
    set->num_partitions = cfg->num_partitions;
    set->default_replication_factor = cfg->default_replication_factor;
    set->durable_acks = cfg->durable_acks;
    set->delete_topic_enable = cfg->delete_topic_enable;
    set->fetch_max_bytes = cfg->fetch_max_bytes;
    set->fetch_session_slots = cfg->fetch_session_slots;
    set->fetch_session_eviction_ms = cfg->fetch_session_eviction_ms;
    set->replica_lag_time_max_ms = cfg->replica_lag_time_max_ms;
    set->rack_aware_selector = cfg->rack_aware_selector;
    snprintf(set->metadata_dir, sizeof set->metadata_dir, "%s", cfg->metadata_log_dir);
    set->topic_base = &cfg->topic_base;
    set->retention_check_interval_ms = cfg->log_retention_check_interval_ms;
    set->cleaner_enable = broker_setting_i64(cfg, "log.cleaner.enable", 1) != 0;
    set->cleaner_backoff_ms = broker_setting_i64(cfg, "log.cleaner.backoff.ms", 15000);
    const rn_config_entry_t *io_max = rn_config_get(cfg, "log.cleaner.io.max.bytes.per.second");
    double rate = io_max && io_max->text && !io_max->value.is_null ? io_max->value.d : 0;
    set->cleaner_io_bytes_per_sec = rate > 0 && rate < 9e18 ? (int64_t)rate : 0; /* 0: no cap */
    set->cleaner_dedupe_bytes =
        broker_setting_i64(cfg, "log.cleaner.dedupe.buffer.size", RN_CLEANER_DEDUPE_BYTES_DEFAULT);
    set->raft_on_broker_listener = cfg->clustered && !cfg->role_controller;
    set->broker_session_timeout_ms = cfg->broker_session_timeout_ms;
    broker_group_settings(set, cfg);
}

/* DescribeConfigs of the broker resource reads the configuration through
   this adapter, so the handlers never see server/config.h. */
static bool broker_config_next(const void *ctx, int *pos, rn_node_config_item_t *item) {
    rn_config_item_t ci;
    if (!rn_config_next(ctx, pos, &ci)) return false;
    *item = (rn_node_config_item_t){ci.def->name, ci.value,        ci.source,    ci.sensitive,
                                    ci.read_only, ci.def->synonym, ci.def->type, ci.def->doc};
    return true;
}

static void core_housekeep(rn_timer_t *timer) {
    rn_core_t *core = (rn_core_t *)((char *)timer - offsetof(rn_core_t, housekeep_timer));
    rn_node_t *node = core->node;
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    int64_t now_ms = rn_io_wall_ms(node->io);
    for (int32_t t = 0; t < table->topic_count; t++) {
        const rn_topic_rt_t *rt = table->topics[t];
        for (int32_t p = 0; p < rt->partition_count; p++)
            if (rt->parts[p] && rt->parts[p]->owner == core->id && !rt->parts[p]->deleted)
                rn_partition_housekeep(rt->parts[p], now_ms);
    }
    rn_ptable_release(table);
    rn_loop_timer_start(&core->loop, &core->housekeep_timer,
                        node->settings.retention_check_interval_ms);
}

/* On core 0: frees replaced partition tables once their grace period is
   over and removes deleted topics' files once their delay is. An admin
   change in progress holds the lock; the next tick catches up. Freed
   tables may have held the last references to thousands of partitions:
   their memory goes back to the system (the trim threshold alone would keep
   up to 64 MiB per arena). */
static void node_tidy(rn_timer_t *timer) {
    rn_node_t *node = (rn_node_t *)((char *)timer - offsetof(rn_node_t, tidy_timer));
    if (pthread_mutex_trylock(&node->admin_lock) == 0) {
        int freed = rn_node_reclaim(node);
        rn_purge_due(node, rn_io_wall_ms(node->io));
        pthread_mutex_unlock(&node->admin_lock);
        if (freed > 0) malloc_trim(0);
    }
    rn_loop_timer_start(&node->cores[0].loop, &node->tidy_timer, RN_NODE_TIDY_MS);
}

/* queued.max.request.bytes, no more than a share of the address-space
   limit when one is set (<= 0: unbounded, as Kafka's -1). */
static int64_t broker_partial_bytes_max(const rn_config_t *cfg) {
    int64_t max = cfg->queued_max_request_bytes;
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY) return max;
    int64_t share = (int64_t)(as.rlim_cur / RN_QUEUED_REQUEST_BYTES_AS_DIVISOR);
    if (max > 0 && max <= share) return max;
    RN_INFO("broker", "queued.max.request.bytes: %" PRId64 " (1/%d of the address-space limit)",
            share, RN_QUEUED_REQUEST_BYTES_AS_DIVISOR);
    return share;
}

/* The soft open-files limit, which main raised to the hard one (0:
   unknown or unlimited). */
static int64_t broker_fd_limit(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 0;
    return (int64_t)lim.rlim_cur;
}

static int broker_count_entry(void *ctx, const char *name) {
    (void)name;
    (*(int64_t *)ctx)++;
    return 0;
}

static int32_t broker_partition_count(rn_node_t *node) {
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    int32_t count = 0;
    for (int32_t t = 0; t < table->topic_count; t++) count += table->topics[t]->partition_count;
    rn_ptable_release(table);
    return count;
}

/* Says at start what the open-files limit allows. Every connection holds
   a descriptor, every partition holds its segments' log files, and the
   listener keeps RN_FD_RESERVED free (net/net.c). */
static void broker_fd_report(rn_broker_t *broker, rn_io_t *io, const rn_config_t *cfg) {
    int64_t limit = broker->net_shared.limits.fd_limit;
    int64_t in_use = 0;
    if (limit <= 0 || rn_io_dir_list(io, "/proc/self/fd", broker_count_entry, &in_use) != RN_OK)
        return;
    in_use--; /* the listing's own descriptor */
    int64_t room = limit - in_use - RN_FD_RESERVED;
    int32_t parts = broker_partition_count(&broker->node);
    if (room >= cfg->max_connections) {
        RN_INFO("broker",
                "open-files limit %lld: %lld in use (segment files of %d partition(s) and the "
                "broker's own); room for max.connections=%d and about %lld more segment files",
                (long long)limit, (long long)in_use, parts, cfg->max_connections,
                (long long)(room - cfg->max_connections));
        return;
    }
    RN_WARN("broker",
            "open-files limit %lld: %lld in use (segment files of %d partition(s) and the "
            "broker's own); room for only about %lld connections (max.connections=%d), fewer "
            "as segments are added; connections past it are closed at once: raise the limit "
            "(ulimit -n, LimitNOFILE)",
            (long long)limit, (long long)in_use, parts, (long long)(room > 0 ? room : 0),
            cfg->max_connections);
}

static rn_err_t broker_cores(rn_broker_t *broker, rn_io_t *io, const rn_config_t *cfg) {
    rn_node_t *node = &broker->node;
    node->core_count = cfg->cores;
    node->cores = calloc((size_t)cfg->cores, sizeof *node->cores);
    broker->nets = calloc((size_t)cfg->cores, sizeof *broker->nets);
    broker->net_shared.nets = calloc((size_t)cfg->cores, sizeof *broker->net_shared.nets);
    RN_ASSERT(node->cores && broker->nets && broker->net_shared.nets);
    rn_net_shared_init(&broker->net_shared);
    broker->net_shared.limits = (rn_net_limits_t){
        cfg->socket_request_max_bytes, cfg->max_connections, cfg->connections_max_idle_ms,
        broker_partial_bytes_max(cfg), broker_fd_limit()};
    broker->net_shared.net_count = cfg->cores;
    broker->net_shared.on_request = rn_handler_dispatch;
    for (int i = 0; i < cfg->cores; i++) {
        rn_core_t *core = &node->cores[i];
        rn_err_t err = rn_loop_init(&core->loop, io, i);
        if (err != RN_OK) return err;
        rn_loop_pulse_init(&core->pulse, &core->loop);
        core->id = i;
        core->node = node;
        core->inflate = rn_batch_inflate_new();
        RN_ASSERT(core->inflate != NULL);
        core->fetch_sessions = rn_fetch_sessions_new(
            i, cfg->cores, node->settings.fetch_session_slots,
            node->settings.fetch_session_eviction_ms, rn_io_random(io), &core->stats);
        RN_ASSERT(core->fetch_sessions != NULL);
        core->poke.fn = rn_handler_fetch_poke;
        rn_replicas_rt_core_init(core);
        /* Group commit must run before the flush hook that rn_net_init adds. */
        rn_loop_add_hook(&core->loop, rn_core_group_commit, core);
        rn_net_init(&broker->nets[i], &core->loop, &broker->net_shared, core);
        broker->nets[i].request_stats = &core->stats.requests;
        broker->net_shared.nets[i] = &broker->nets[i];
        rn_timer_init(&core->housekeep_timer, core_housekeep);
        rn_loop_timer_start(&core->loop, &core->housekeep_timer,
                            node->settings.retention_check_interval_ms);
    }
    rn_timer_init(&node->tidy_timer, node_tidy);
    rn_loop_timer_start(&node->cores[0].loop, &node->tidy_timer, RN_NODE_TIDY_MS);
    return RN_OK;
}

/* Opens the admin HTTP port when admin.listener is not none. */
static rn_err_t broker_admin_start(rn_broker_t *broker, const rn_config_t *cfg) {
    broker->admin_sources =
        (rn_admin_sources_t){&broker->node, &broker->net_shared, &broker->ready};
    if (!cfg->admin_enabled) return RN_OK;
    return rn_admin_start(cfg->admin_host, cfg->admin_port, &broker->admin_sources, &broker->admin);
}

/* A dynamic quorum (KIP-853): found, formed or joined through
   controller.quorum.bootstrap.servers; the boot configuration stays empty. */
static void broker_dynamic_opts(const rn_config_t *cfg, rn_md_rt_opts_t *md) {
    rn_qb_opts_t *qb = &md->bootstrap;
    md->dynamic = true;
    qb->node_id = cfg->node_id;
    qb->controller = cfg->role_controller;
    qb->auto_join = cfg->quorum_auto_join;
    for (int i = 0; i < cfg->quorum_bootstrap_count; i++) {
        snprintf(qb->servers[i].host, sizeof qb->servers[i].host, "%s",
                 cfg->quorum_bootstrap[i].host);
        qb->servers[i].port = cfg->quorum_bootstrap[i].port;
    }
    qb->server_count = cfg->quorum_bootstrap_count;
    if (!cfg->has_controller_listener) return;
    const rn_config_listener_t *lis = &cfg->controller_listener;
    snprintf(qb->listener_name, sizeof qb->listener_name, "%s", lis->name);
    /* An unnamed or wildcard host: where this machine is reached. */
    bool any = !lis->host[0] || strcmp(lis->host, "0.0.0.0") == 0 || strcmp(lis->host, "::") == 0;
    snprintf(qb->listener.host, sizeof qb->listener.host, "%s", any ? "localhost" : lis->host);
    qb->listener.port = lis->port;
}

/* A static quorum's voter: if its folder turns out empty (a volume lost),
   the quorum may still name it a voter of its former folder, whose votes
   the others refuse; it then asks the leader, found among the voters, to
   replace that entry with this folder (controller.quorum.auto.join.enable,
   as a dynamic quorum's controller does; docs/CLUSTER.md). */
static void broker_rejoin_opts(const rn_config_t *cfg, rn_md_rt_opts_t *md) {
    rn_qb_opts_t *qb = &md->bootstrap;
    qb->rejoin_only = true;
    qb->node_id = cfg->node_id;
    qb->controller = true;
    qb->auto_join = cfg->quorum_auto_join;
    RN_STATIC_ASSERT(RN_RAFT_NODES_MAX <= RN_CONFIG_QUORUM_BOOTSTRAP_MAX,
                     "every voter fits the servers a rejoin asks");
    for (int i = 0; i < cfg->voter_count; i++) {
        snprintf(qb->servers[i].host, sizeof qb->servers[i].host, "%s", cfg->voters[i].host);
        qb->servers[i].port = cfg->voters[i].port;
        qb->server_count++;
    }
    const rn_config_listener_t *lis = &cfg->controller_listener;
    snprintf(qb->listener_name, sizeof qb->listener_name, "%s", lis->name);
    const rn_config_voter_t *self = NULL;
    for (int i = 0; i < cfg->voter_count; i++)
        if (cfg->voters[i].id == cfg->node_id) self = &cfg->voters[i];
    RN_ASSERT(self != NULL); /* checked with the settings */
    snprintf(qb->listener.host, sizeof qb->listener.host, "%s", self->host);
    qb->listener.port = self->port;
}

/* The metadata quorum of this node. Raft reserves id 0 for "none", so a
   node's Raft id is its node id plus one. */
static rn_md_rt_opts_t broker_metadata_opts(const rn_config_t *cfg) {
    rn_md_rt_opts_t md = {
        .node_id = (rn_raft_id_t)cfg->node_id + 1,
        .election_timeout_ms =
            cfg->clustered ? cfg->quorum_election_timeout_ms : RN_METADATA_ELECTION_TIMEOUT_MS,
        .request_timeout_ms = RN_ADMIN_OP_TIMEOUT_MS,
        .broker_session_timeout_ms = cfg->broker_session_timeout_ms,
        .leader_imbalance_check_ms = cfg->leader_imbalance_check_interval_ms,
        .leader_imbalance_percentage = cfg->leader_imbalance_per_broker_percentage,
        .unclean_check_ms = cfg->unclean_leader_election_interval_ms,
    };
    if (cfg->voter_count == 0 && cfg->quorum_bootstrap_count > 0) {
        broker_dynamic_opts(cfg, &md); /* the voters come from the log */
    } else if (cfg->voter_count == 0) {
        md.boot.voters[md.boot.voters_n++] = md.node_id;
        return md;
    }
    for (int i = 0; i < cfg->voter_count; i++) {
        rn_md_voter_t *v = &md.voters[md.voter_count++];
        v->id = (rn_raft_id_t)cfg->voters[i].id + 1;
        snprintf(v->host, sizeof v->host, "%s", cfg->voters[i].host);
        v->port = cfg->voters[i].port;
        md.boot.voters[md.boot.voters_n++] = v->id;
    }
    if (cfg->role_controller && cfg->has_controller_listener && cfg->voter_count > 0)
        broker_rejoin_opts(cfg, &md);
    if (cfg->role_controller && cfg->has_controller_listener) {
        snprintf(md.listen_host, sizeof md.listen_host, "%s", cfg->controller_listener.host);
        md.listen_port = cfg->controller_listener.port;
        snprintf(md.listener_name, sizeof md.listener_name, "%s", cfg->controller_listener.name);
        md.on_request = rn_handler_controller_dispatch;
    }
    return md;
}

/* The quorum named the cluster this new folder joined: meta.properties
   takes its id (on the metadata thread; a failed write is retried at the
   next start, which learns the id again). */
static void broker_adopt_cluster_id(void *ctx, const char *cluster_id) {
    rn_broker_t *broker = ctx;
    rn_err_t err = rn_identity_adopt(broker->node.io, broker->cfg, &broker->identity, cluster_id);
    if (err != RN_OK)
        RN_ERROR("broker", "cannot write the cluster id to meta.properties: %s", rn_err_name(err));
}

/* The listener clients reach: the first one not serving controllers. */
static const rn_config_listener_t *broker_client_listener(const rn_config_t *cfg) {
    for (int i = 0; i < cfg->listener_count; i++)
        if (!cfg->listeners[i].controller) return &cfg->listeners[i];
    return &cfg->listeners[0];
}

/* The folder records its registration, so the next start names it
   (server/identity.h); on the metadata thread. A failed write leaves the
   previous record: a restart within the lease may then be refused, and
   says how long to wait. */
static void broker_record_registration(void *ctx, int64_t epoch, bool pending) {
    rn_broker_t *broker = ctx;
    rn_identity_reg_t reg = {epoch, pending};
    rn_err_t err = rn_identity_registration_save(broker->node.io, broker->cfg, &reg);
    if (err != RN_OK)
        RN_ERROR("broker", "cannot record the registration in registration.properties: %s",
                 rn_err_name(err));
}

/* What this node registers with the active controller: its advertised
   listeners (PLAINTEXT: the only protocol served), rack and timing. */
static rn_lifecycle_opts_t broker_lifecycle_opts(const rn_node_t *node, const rn_config_t *cfg) {
    rn_lifecycle_opts_t lo = {
        .broker_id = cfg->node_id,
        .rack = cfg->rack,
        .heartbeat_interval_ms = cfg->broker_heartbeat_interval_ms,
        .wait_unfenced = true,
        .fence_on_stop = cfg->clustered && cfg->controlled_shutdown_enable,
        .session_timeout_ms = cfg->broker_session_timeout_ms,
    };
    int count = cfg->advertised_count > 0 ? cfg->advertised_count : 1;
    const rn_config_listener_t *from = cfg->advertised_count > 0 ? cfg->advertised : cfg->listeners;
    for (int i = 0; i < count && lo.listener_count < RN_BROKER_ENDPOINTS_MAX; i++) {
        rn_lifecycle_listener_t *lis = &lo.listeners[lo.listener_count++];
        snprintf(lis->name, sizeof lis->name, "%.*s", (int)sizeof lis->name - 1, from[i].name);
        /* As clients are told today: an unnamed host is this machine. */
        snprintf(lis->host, sizeof lis->host, "%.*s", (int)sizeof lis->host - 1,
                 from[i].host[0] ? from[i].host : node->settings.advertised_host);
        lis->port = from[i].port ? from[i].port : (uint16_t)node->settings.advertised_port;
        lis->security_protocol = RN_MD_PROTOCOL_PLAINTEXT;
    }
    return lo;
}

/* Starts the cores' threads, once (they inherit the main thread's mask:
   the stop signals are blocked, server/signals.h takes them). */
static void broker_loops_start(rn_broker_t *broker) {
    rn_node_t *node = &broker->node;
    signal(SIGPIPE, SIG_IGN);
    if (broker->loops_started) return;
    broker->loops_started = true;
    for (int i = 0; i < node->core_count; i++) {
        rn_err_t err = rn_loop_start_thread(&node->cores[i].loop);
        RN_ASSERT(err == RN_OK);
    }
}

/* Loop 0 accepts and hands connections round-robin to every loop. */
static rn_err_t broker_listen(rn_broker_t *broker, const rn_config_t *cfg) {
    rn_err_t err = RN_OK;
    uint8_t index = 0;
    for (int n = 0; n < cfg->listener_count && err == RN_OK; n++) {
        const rn_config_listener_t *lis = &cfg->listeners[n];
        if (lis->controller) continue; /* index < RN_NET_LISTENERS_MAX: config.c */
        uint16_t bound = 0;
        err = rn_net_listen(&broker->nets[0], lis->host, lis->port, index, &bound);
        if (err != RN_OK)
            RN_ERROR("broker", "cannot listen on %s:%u (%s): %s", lis->host[0] ? lis->host : "*",
                     (unsigned)lis->port, lis->name, rn_err_name(err));
        else if (index == 0)
            broker->port_bound = bound;
        else
            RN_INFO("broker", "listener %s on %s:%u", lis->name, lis->host[0] ? lis->host : "*",
                    (unsigned)bound);
        index++;
    }
    return err;
}

/* The data folder, and the metadata log's folder where it is another. */
static rn_err_t broker_check_dirs(rn_io_t *io, const rn_config_t *cfg, char *why, size_t cap) {
    rn_err_t err = rn_data_dir_check(io, cfg->log_dirs[0], why, cap);
    if (err == RN_OK && strcmp(cfg->metadata_log_dir, cfg->log_dirs[0]) != 0)
        err = rn_data_dir_check(io, cfg->metadata_log_dir, why, cap);
    return err;
}

static rn_err_t broker_start(rn_broker_t *broker, rn_io_t *io, const rn_config_t *cfg) {
    rn_node_t *node = &broker->node;
    char why[RN_DATA_DIR_WHY_BYTES];
    rn_err_t err = broker_check_dirs(io, cfg, why, sizeof why);
    if (err != RN_OK) {
        RN_ERROR("broker", "%s", why);
        return err;
    }
    err = rn_identity_load(io, cfg, &broker->identity);
    if (err == RN_OK) {
        memcpy(node->cluster_id, broker->identity.cluster_id, sizeof node->cluster_id);
        memcpy(node->directory_id, broker->identity.directory_id, sizeof node->directory_id);
        node->cluster_id_provisional = broker->identity.provisional;
    }
    if (err != RN_OK) {
        RN_ERROR("broker", "cannot prepare %s: %s", node->settings.log_dir, rn_err_name(err));
        return err;
    }
    err = broker_admin_start(broker, cfg);
    if (err == RN_OK) err = broker_cores(broker, io, cfg);
    if (err == RN_OK) {
        rn_md_rt_opts_t md = broker_metadata_opts(cfg);
        md.on_cluster_id = broker_adopt_cluster_id;
        md.hook_ctx = broker;
        err = rn_topics_open_all(node, &md);
    }
    if (err == RN_OK && cfg->role_controller) {
        rn_bal_rt_opts_t bo = {cfg->balancer_interval_ms, cfg->balancer_absent_timeout_ms,
                               cfg->balancer_moves_per_broker_max,
                               cfg->leader_imbalance_check_interval_ms > 0};
        node->balancer = rn_bal_rt_start(node->md_rt, &bo);
    }
    /* A broker-only node receives the metadata log on its broker listener
       once registered: the listener opens first, taking only Raft
       messages until the node serves. */
    atomic_store(&node->raft_only, node->settings.raft_on_broker_listener);
    if (err == RN_OK && node->settings.raft_on_broker_listener) {
        err = broker_listen(broker, cfg);
        if (err == RN_OK) broker_loops_start(broker);
    }
    if (err == RN_OK && cfg->role_broker) {
        rn_lifecycle_opts_t lo = broker_lifecycle_opts(node, cfg);
        rn_identity_reg_t last = rn_identity_registration_load(io, cfg);
        lo.previous_epoch = last.epoch;
        lo.previous_pending = last.pending;
        lo.record = broker_record_registration;
        lo.record_ctx = broker;
        err = rn_lifecycle_start(node, &lo, &broker->lifecycle);
    }
    if (err == RN_OK && cfg->role_broker) err = rn_group_start(node);
    if (err == RN_OK && cfg->role_broker) err = rn_txn_start(node);
    if (err == RN_OK) err = rn_producer_ids_load_floor(node);
    if (err != RN_OK) return err;
    atomic_store(&node->raft_only, false);
    if (!cfg->role_broker) {
        /* A controller-only node: it votes and serves the controller
           listener; never a replica (it does not register), so it opens no
           partition and hosts no group. */
        RN_INFO("broker", "node %d: controller only, on %s:%u, metadata in %s", cfg->node_id,
                cfg->controller_listener.host[0] ? cfg->controller_listener.host : "*",
                (unsigned)rn_md_rt_port(node->md_rt), node->settings.metadata_dir);
        return RN_OK;
    }
    if (!node->settings.raft_on_broker_listener) err = broker_listen(broker, cfg);
    if (err != RN_OK) return err;
    if (rn_cleaner_start(node, &node->cleaner) != RN_OK)
        RN_WARN("broker", "the log cleaner did not start: compacted topics are not cleaned");
    const rn_config_listener_t *lis = broker_client_listener(cfg);
    RN_INFO("broker", "node %d listening on %s:%u with %d core(s), data in %s, acks %s",
            cfg->node_id, lis->host[0] ? lis->host : "*", (unsigned)broker->port_bound, cfg->cores,
            node->settings.log_dir, cfg->durable_acks ? "after fsync" : "from the page cache");
    broker_fd_report(broker, io, cfg);
    return RN_OK;
}

static void broker_abort(rn_broker_t *broker);

rn_err_t rn_broker_start(rn_broker_t *broker, rn_io_t *io, const rn_config_t *cfg) {
    memset(broker, 0, sizeof *broker);
    broker->cfg = cfg;
    atomic_init(&broker->ready, false);
    atomic_init(&broker->cores_drained, 0);
    rn_node_t *node = &broker->node;
    node->io = io;
    node->started_ms = rn_io_wall_ms(io);
    atomic_init(&node->broker_epoch, -1); /* until the lifecycle registers it */
    atomic_init(&node->controller_answer_ms, -1);
    atomic_init(&node->broker_fenced, true);
    atomic_init(&node->phase, RN_NODE_RECOVERING);
    rn_throttle_init(&node->throttle_leader); /* unthrottled until the image says */
    rn_throttle_init(&node->throttle_follower);
    broker_settings(&node->settings, cfg);
    node->broker_config_next = broker_config_next;
    node->broker_config_ctx = cfg;
    pthread_mutex_init(&node->admin_lock, NULL);
    /* Opens partitions at start and syncs and closes them later, several at
       a time; without it, one after another. */
    if (rn_workers_start(RN_SYNC_THREADS, &node->workers) != RN_OK)
        RN_WARN("broker", "no worker threads: partitions are opened and synced one at a time");
    rn_err_t err = broker_start(broker, io, cfg);
    if (err != RN_OK) broker_abort(broker);
    return err;
}

/* Mail asking one core to stop taking work. */
typedef struct rn_broker_drain {
    rn_mail_t mail;
    rn_broker_t *broker;
    int core;
} rn_broker_drain_t;

/* On each core's own thread: stop taking work and answer what is parked. */
static void broker_drain_core(rn_mail_t *mail) {
    rn_broker_drain_t *drain = (rn_broker_drain_t *)mail;
    rn_net_shutdown(&drain->broker->nets[drain->core]);
    rn_handler_fetch_expire(&drain->broker->node.cores[drain->core]);
    rn_replicas_rt_core_close(&drain->broker->node.cores[drain->core]);
    rn_replicas_rt_core_drain(&drain->broker->node.cores[drain->core]);
    atomic_fetch_add(&drain->broker->cores_drained, 1);
}

/* Waits (bounded) until every core has stopped reading and every request
   read has been answered and freed. Both count: until a core has run its
   drain mail it may still read a request, so no open requests alone does
   not mean none will come. */
static void broker_wait_drained(rn_broker_t *broker) {
    rn_io_t *io = broker->node.io;
    int64_t deadline_ms = rn_io_now_ms(io) + BROKER_DRAIN_MS_MAX;
    while ((atomic_load(&broker->cores_drained) < broker->node.core_count ||
            atomic_load(&broker->net_shared.requests_open) > 0) &&
           rn_io_now_ms(io) < deadline_ms) {
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    int left = atomic_load(&broker->net_shared.requests_open);
    if (left > 0) RN_WARN("broker", "%d request(s) still open at shutdown", left);
}

static void broker_free(rn_broker_t *broker) {
    rn_node_t *node = &broker->node;
    for (int i = 0; i < node->core_count; i++) {
        rn_replicas_rt_core_close(&node->cores[i]); /* a start that failed */
        rn_loop_drain(&node->cores[i].loop);
        rn_replicas_rt_core_free(&node->cores[i]);
        rn_loop_destroy(&node->cores[i].loop);
        free(node->cores[i].dirty);
        rn_batch_inflate_free(node->cores[i].inflate);
        rn_fetch_sessions_free(node->cores[i].fetch_sessions);
        rn_producer_ids_core_free(&node->cores[i]);
    }
    free(node->cores);
    free(broker->nets);
    free(broker->net_shared.nets);
    free(broker->drain);
    rn_workers_stop(node->workers);
    node->workers = NULL;
    pthread_mutex_destroy(&node->admin_lock);
}

/* A start that failed part way (a data folder of another cluster, a busy
   port, a broken log): whatever it opened is closed and freed, so the
   process exits with nothing left behind. */
static void broker_abort(rn_broker_t *broker) {
    rn_node_t *node = &broker->node;
    rn_admin_stop(broker->admin);
    broker->admin = NULL;
    rn_cleaner_stop(node->cleaner);
    node->cleaner = NULL;
    rn_lifecycle_stop(broker->lifecycle);
    rn_topics_stop_metadata(node);
    rn_bal_rt_free(node->balancer);
    node->balancer = NULL;
    rn_lifecycle_free(broker->lifecycle);
    broker->lifecycle = NULL;
    if (broker->loops_started) {
        for (int i = 0; i < node->core_count; i++) rn_loop_stop(&node->cores[i].loop);
        for (int i = 0; i < node->core_count; i++) rn_loop_join(&node->cores[i].loop);
        for (int i = 0; i < node->core_count; i++) rn_loop_drain(&node->cores[i].loop);
    }
    rn_txn_stop(node);
    rn_group_stop(node);
    rn_topics_close_all(node);
    broker_free(broker);
}

static void broker_stop(rn_broker_t *broker) {
    rn_node_t *node = &broker->node;
    /* 0. Not ready any more; the admin port closes first, while the loops
       still answer a scrape in progress (group lag asks every core). */
    atomic_store(&broker->ready, false);
    atomic_store(&node->phase, RN_NODE_STOPPING);
    rn_admin_stop(broker->admin);
    broker->admin = NULL;
    /* The cleaner waits on the loops for its hand-offs: it stops first. */
    rn_cleaner_stop(node->cleaner);
    node->cleaner = NULL;
    /* 1. Leave the cluster first (a controlled shutdown): the controller
       fences this node and moves its leaderships while its connections are
       still open, so produce requests waiting for the high watermark are
       answered NOT_LEADER_OR_FOLLOWER as the partitions turn followers and
       clients follow the new leaders; draining first would leave them
       waiting on followers that can no longer fetch. */
    rn_lifecycle_stop(broker->lifecycle);
    /* 2. Every loop closes its listener and connections and answers its
       parked fetches, on its own thread, while the others still run (a
       fetch may wait on another core's reply). */
    broker->drain = calloc((size_t)node->core_count, sizeof *broker->drain);
    RN_ASSERT(broker->drain != NULL);
    for (int i = 0; i < node->core_count; i++) {
        broker->drain[i] = (rn_broker_drain_t){{.fn = broker_drain_core}, broker, i};
        rn_loop_post(&node->cores[i].loop, &broker->drain[i].mail);
    }
    broker_wait_drained(broker);
    /* 3. Stop the metadata quorum while the cores can still take its last
       answers; then stop the loops; sync what the last turns appended. */
    rn_topics_stop_metadata(node);
    rn_bal_rt_free(node->balancer);
    node->balancer = NULL;
    rn_lifecycle_free(broker->lifecycle);
    broker->lifecycle = NULL;
    for (int i = 0; i < node->core_count; i++) rn_loop_stop(&node->cores[i].loop);
    for (int i = 0; i < node->core_count; i++) rn_loop_join(&node->cores[i].loop);
    for (int i = 0; i < node->core_count; i++) rn_loop_drain(&node->cores[i].loop);
    for (int i = 0; i < node->core_count; i++) rn_core_group_commit(&node->cores[i]);
    /* A reply the drain delivered (a forwarded admin request the metadata
       runtime answered as it stopped) finished a request of a closed
       connection, which the flush hook, run no more, would have freed. */
    for (int i = 0; i < node->core_count; i++) rn_net_flush(&broker->nets[i]);
    /* 4. Close every partition cleanly (checkpoints, clean-shutdown marks). */
    rn_txn_stop(node);
    rn_group_stop(node);
    rn_topics_close_all(node);
    broker_free(broker);
    RN_INFO("broker", "stopped cleanly");
}

void rn_broker_run_until_signal(rn_broker_t *broker, rn_signals_t *signals) {
    broker_loops_start(broker);
    /* Recovery is done, metadata is loaded, the listener is up, the loops run. */
    atomic_store(&broker->node.phase, RN_NODE_SERVING);
    atomic_store(&broker->ready, true);
    int sig = rn_signals_wait_stop(signals);
    RN_INFO("broker", "signal %d: stopping", sig);
    broker_stop(broker);
}
