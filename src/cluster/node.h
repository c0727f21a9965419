/*
 * node.h: the broker's shared runtime, as the handlers see it.
 *
 * rn_node_t is built once at start-up by src/server and lives until exit:
 * settings (copied from the configuration), the cores, and the table of
 * live partitions. rn_core_t is one event loop and what it owns: its
 * partitions' group commit and its parked fetches. Handlers reach other
 * cores only through mail (rn_loop_post).
 */
#ifndef RN_CLUSTER_NODE_H
#define RN_CLUSTER_NODE_H

#include "base/limits.h"
#include "base/log_limit.h"
#include "cluster/ptable.h"
#include "cluster/stats.h"
#include "io/loop.h"
#include "io/loop_pulse.h"
#include "io/workers.h"
#include "metadata/controller.h"
#include "partition/partition.h"
#include "partition/storage_health.h"
#include "replication/throttle.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct rn_node rn_node_t;
typedef struct rn_core rn_core_t;

/* One broker setting as DescribeConfigs shows it. */
typedef struct rn_node_config_item {
    const char *name;
    const char *value; /* NULL: null or hidden (sensitive) */
    rn_config_source_t source;
    bool sensitive;
    bool read_only;
    const char *synonym; /* the topic setting it defaults, or NULL */
    rn_config_type_t type;
    const char *doc; /* DescribeConfigs v3+ documentation */
} rn_node_config_item_t;

/* Iterates the broker's settings: *pos starts at 0; false at the end. The
   server layer, which owns the configuration, provides it. */
typedef bool (*rn_node_config_next_fn)(const void *ctx, int *pos, rn_node_config_item_t *item);

/* A client listener this broker serves, by its name, and where clients
   are told to reach it. */
typedef struct rn_node_listener {
    char name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    char host[RN_CONFIG_HOST_BYTES_MAX + 1]; /* advertised */
    int32_t port;
} rn_node_listener_t;

/* Settings the request path needs, copied from the configuration. */
typedef struct rn_node_settings {
    int32_t node_id;
    char advertised_host[256]; /* the first listener's, as below */
    int32_t advertised_port;
    /* Every client listener, in `listeners` order: a connection's
       `listener` indexes it (net/conn.h). */
    rn_node_listener_t listeners[RN_NET_LISTENERS_MAX];
    int32_t listener_count;
    /* inter.broker.listener.name: the endpoint brokers reach each other on
       ("": their first). */
    char inter_broker_listener[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    char log_dir[RN_STORAGE_PATH_BYTES_MAX];
    bool auto_create_topics;
    int32_t num_partitions;
    int16_t default_replication_factor;
    bool durable_acks; /* fsync before acknowledging (the default) */
    bool delete_topic_enable;
    int32_t fetch_max_bytes;           /* fetch.max.bytes: caps a Fetch request's max_bytes */
    int32_t fetch_session_slots;       /* max.incremental.fetch.session.cache.slots */
    int64_t fetch_session_eviction_ms; /* min.incremental.fetch.session.eviction.ms */
    int64_t replica_lag_time_max_ms;   /* a follower this far behind leaves the ISR */
    bool rack_aware_selector;          /* KIP-392: consumers read from a replica in their rack */
    int64_t retention_check_interval_ms;
    /* The log cleaner (cleaner_rt.h). */
    bool cleaner_enable;              /* log.cleaner.enable */
    int64_t cleaner_backoff_ms;       /* log.cleaner.backoff.ms */
    int64_t cleaner_io_bytes_per_sec; /* log.cleaner.io.max.bytes.per.second */
    int64_t cleaner_dedupe_bytes;     /* log.cleaner.dedupe.buffer.size */
    char metadata_dir[RN_STORAGE_PATH_BYTES_MAX];
    /* Broker-wide defaults of topic settings; lives as long as the node. */
    const rn_topic_config_base_t *topic_base;
    /* Consumer groups (group/coordinator.h). */
    int32_t offsets_partitions;         /* offsets.topic.num.partitions */
    int16_t offsets_replication_factor; /* offsets.topic.replication.factor */
    int16_t brokers_expected;           /* the brokers this node knows of at start:
                                           1 alone, the voters when they are all
                                           combined, else 0 (not known) */
    int64_t offsets_segment_bytes;      /* offsets.topic.segment.bytes */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes */
    int64_t offsets_retention_check_ms; /* offsets.retention.check.interval.ms */
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    /* Transactions (txn/coordinator.h). */
    int32_t txn_partitions;         /* transaction.state.log.num.partitions */
    int16_t txn_replication_factor; /* transaction.state.log.replication.factor */
    int32_t txn_min_isr;            /* transaction.state.log.min.isr */
    int64_t txn_segment_bytes;      /* transaction.state.log.segment.bytes */
    int32_t txn_max_timeout_ms;     /* transaction.max.timeout.ms */
    int32_t txn_abort_check_ms;   /* transaction.abort.timed.out.transaction.cleanup.interval.ms */
    int64_t txn_id_expiration_ms; /* transactional.id.expiration.ms */
    int32_t txn_ids_check_ms;     /* transaction.remove.expired.transaction.cleanup.interval.ms */
    bool txn_verify;              /* transaction.partition.verification.enable */
    /* A broker-only node of a cluster: no controller listener, so the
       active controller sends it the metadata log (it is a Raft learner)
       on its broker listener, which then takes the Raft message key. */
    bool raft_on_broker_listener;
    /* broker.session.timeout.ms: how long the controller keeps this
       broker's registration live without a heartbeat. */
    int64_t broker_session_timeout_ms;
} rn_node_settings_t;

/* A node's start, as the health probes tell it. */
typedef enum rn_node_phase {
    RN_NODE_RECOVERING = 0, /* opening the data folder, replaying its logs */
    RN_NODE_JOINING,        /* its own data open; waiting on the quorum or registration */
    RN_NODE_SERVING,        /* the loops run and the listener serves */
    RN_NODE_STOPPING,
} rn_node_phase_t;

struct rn_core {
    rn_loop_t loop;
    int id;
    rn_node_t *node;
    rn_partition_t **dirty; /* partitions appended this turn */
    int32_t dirty_count;
    int32_t dirty_cap;
    void *parked;   /* parked fetches (handlers/fetch_wait.c) */
    rn_mail_t poke; /* "new data": re-check parked fetches */
    atomic_int poke_queued;
    atomic_int has_parked;
    rn_timer_t housekeep_timer;
    rn_core_stats_t stats; /* written by this core only (stats.h) */
    /* Decompression source lent to the validation of compressed batches
       appended on this core (proto/batch_inflate.h); NULL: one per append. */
    struct rn_batch_inflate *inflate;
    /* This core's incremental fetch sessions (handlers/fetch_session.h). */
    struct rn_fetch_sessions *fetch_sessions;
    /* This core's block of producer ids (producer_ids.h); made on first use. */
    struct rn_pid_core *pids;
    /* This core's replica fetchers (replication/fetcher.h, replicas_rt.h). */
    struct rn_fetchers *fetchers;
    /* This core's leaders' ISR changes to the controller (replicas_rt.c). */
    struct rn_isr_core *isr;
    /* This core's clients to the other brokers (cluster/peers.h). */
    struct rn_peers *peers;
    /* Whether this loop still turns, for the liveness probe (admin). */
    rn_loop_pulse_t pulse;
};

struct rn_node {
    rn_io_t *io;
    rn_workers_t *workers; /* blocking file work (group commit, shutdown); may be NULL */
    rn_node_settings_t settings;
    char cluster_id[32];
    char directory_id[32]; /* this data folder's, from meta.properties */
    /* A new folder's own pick, until the quorum's log names the cluster
       (metadata_rt.c); written under admin_lock. */
    bool cluster_id_provisional;
    rn_core_t *cores;
    int core_count;
    /* The live partition table, swapped by pointer (ptable.h). */
    _Atomic(rn_ptable_t *) ptable;
    /* Metadata changes (admin requests) are rare; one at a time. */
    pthread_mutex_t admin_lock;
    rn_controller_t controller;      /* guarded by admin_lock */
    struct rn_node_retired *retired; /* replaced tables in their grace period */
    struct rn_node_purge *purge;     /* retired directories to remove (purge.h) */
    rn_timer_t tidy_timer;           /* on core 0: reclaim and purge */
    int64_t started_ms;
    rn_node_config_next_fn broker_config_next;
    const void *broker_config_ctx;
    /* Where the producer ids an earlier release handed out end (its
       producer_ids file; 0: none); set at start (producer_ids.c). */
    int64_t producer_id_floor;
    struct rn_group_rt *groups;    /* the group coordinator (group/coordinator.h) */
    struct rn_txn_rt *txns;        /* the transaction coordinator (txn/coordinator.h) */
    struct rn_md_rt *md_rt;        /* the metadata quorum's runtime (metadata_rt.h) */
    struct rn_bal_rt *balancer;    /* on a controller: the balancer (balancer_rt.h); NULL: off */
    struct rn_cleaner_rt *cleaner; /* the log cleaner (cleaner_rt.h); NULL when off */
    atomic_int auto_creates;       /* topic auto-creations under way */
    /* The active controller's node id as this node last learned it (-1:
       none known); written by the metadata runtime, read by any thread. */
    atomic_int controller_id;
    /* This broker's epoch as its registration with the active controller
       set it (-1: not registered); written by the lifecycle (lifecycle.c),
       read by any thread (a leader's AlterPartition carries it). */
    _Atomic int64_t broker_epoch;
    /* When the controller last answered this broker's registration or
       heartbeat (monotonic ms, rn_io_now_ms; -1: never), and whether that
       answer said fenced; written by the lifecycle, read by /health/ready:
       past broker.session.timeout.ms without an answer this node's view of
       the cluster (its ISRs, its leaderships) may be stale. */
    _Atomic int64_t controller_answer_ms;
    atomic_bool broker_fenced;
    /* A broker-only node opens its listener before it registers (the log
       reaches it there); until it serves, the listener takes only Raft
       messages (rn_node_settings_t.raft_on_broker_listener). */
    atomic_bool raft_only;
    /* Appends refused by the log directory (disk full), for the log lines,
       the metrics and /health/ready; every core reports to it. */
    rn_storage_health_t storage_health;
    /* Where the start has got to (rn_node_phase_t), for the startup and
       liveness probes; any thread reads it. */
    atomic_int phase;
    /* The replication throttles of moving replicas, node-wide (every core
       records into them, lock-free): what this node leads and answers to
       throttled followers, and what it fetches as a throttled follower.
       Their rates follow the image (cluster/topics.c). */
    rn_throttle_t throttle_leader;
    rn_throttle_t throttle_follower;
};

/* The current partition table, referenced, for a thread that is not an
   event loop (the grace period only covers loops): taken under admin_lock,
   which publishing and reclaiming hold too. */
rn_ptable_t *rn_node_table_acquire(rn_node_t *node);

/* Installs a new partition table; caller holds admin_lock. */
void rn_node_publish(rn_node_t *node, rn_ptable_t *table);
/* Releases replaced tables every loop has moved past; holds admin_lock.
   Returns how many it released. */
int rn_node_reclaim(rn_node_t *node);

/* Releases every replaced table; only once all loops have stopped. */
void rn_node_reclaim_stopped(rn_node_t *node);

/* The core that owns a partition: a stable hash of topic and index. */
int rn_node_owner(const rn_node_t *node, const char *topic, int32_t index);

/* The final outcome of one produce append to part on this core (after its
   group commit when it waited for one), for the storage health. */
void rn_core_note_append(rn_core_t *core, const rn_partition_t *part, rn_err_t err);
/* Marks a partition appended on this core, for the end-of-turn sync. */
void rn_core_mark_dirty(rn_core_t *core, rn_partition_t *part);
/* The end-of-turn hook: one sync per dirty partition, run concurrently on
   the node's workers, then the waiters. */
void rn_core_group_commit(void *core);
/* After a group commit advanced data: wake cores with parked fetches. */
void rn_node_poke_all(rn_node_t *node);

#endif
