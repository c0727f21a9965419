/*
 * config.h: the broker's settings.
 *
 * What it does: defines every broker setting (Kafka's names wherever Kafka
 * has the setting; a few Runnel ones such as `cores` and `admin.listener`),
 * loads them from four sources, lowest precedence first:
 *
 *   1. built-in defaults
 *   2. a Java properties file: `runnel server --config FILE` (or the file as
 *      the one positional argument, as kafka-server-start.sh takes it)
 *   3. the environment: KAFKA_CFG_<KEY> (the form of Kafka container images)
 *      and RUNNEL_<KEY>, the key upper-cased with dots as underscores
 *      (RUNNEL_LOG_DIRS); RUNNEL_ wins over KAFKA_CFG_ when both are set
 *   4. `--set key=value` (or Kafka's `--override key=value`), in order
 *
 * validates them (an unknown key or invalid value stops the start with a
 * message naming key, value and what is allowed), and exposes the hot ones as
 * typed fields plus every entry by name for DescribeConfigs.
 *
 * What it owns: the rn_config_t and every string in it, until rn_config_free.
 *
 * Threading: loaded once by main before any loop thread starts; read-only
 * afterwards, so every thread may read it without locks.
 *
 * What it must never do: change after load, or read files other than through
 * the I/O seam.
 */
#ifndef RN_SERVER_CONFIG_H
#define RN_SERVER_CONFIG_H

#include "base/err.h"
#include "base/limits.h"
#include "io/io.h"
#include "metadata/config_value.h"
#include "metadata/topic_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an entry's value came from. */
typedef enum rn_config_origin {
    RN_CONFIG_ORIGIN_DEFAULT = 0,
    RN_CONFIG_ORIGIN_FILE,
    RN_CONFIG_ORIGIN_ENV,
    RN_CONFIG_ORIGIN_SET,
} rn_config_origin_t;

/* One listener of `listeners` or `advertised.listeners`. */
typedef struct rn_config_listener {
    char name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1]; /* PLAINTEXT, CONTROLLER, ... */
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];          /* "" = all interfaces */
    uint16_t port;
    bool controller; /* named in controller.listener.names */
} rn_config_listener_t;

/* One entry of `controller.quorum.voters`: id@host:port ("[::1]" brackets
   IPv6; host kept without them). */
typedef struct rn_config_voter {
    int32_t id;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_config_voter_t;

/* One entry of `controller.quorum.bootstrap.servers`: host:port. */
typedef struct rn_config_endpoint {
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
} rn_config_endpoint_t;

/* One entry of the table: its text value, origin and parsed form. */
typedef struct rn_config_entry {
    char *text; /* owned; NULL is a null value */
    rn_config_origin_t origin;
    rn_config_value_t value;
} rn_config_entry_t;

typedef struct rn_config {
    /* ---- identity and roles ---- */
    int32_t node_id;
    bool role_broker;
    bool role_controller;
    const char *rack; /* broker.rack, or NULL */

    /* ---- cluster (KRaft) ---- */
    /* controller.quorum.voters, in the order given; 0 = no static quorum. */
    rn_config_voter_t voters[RN_RAFT_NODES_MAX];
    int voter_count;
    /* controller.quorum.bootstrap.servers (KIP-853: find a dynamic quorum). */
    rn_config_endpoint_t quorum_bootstrap[RN_CONFIG_QUORUM_BOOTSTRAP_MAX];
    int quorum_bootstrap_count;
    /* controller.quorum.auto.join.enable: with bootstrap servers and no
       voters, a controller asks to be added as a voter. */
    bool quorum_auto_join;
    /* Voters or bootstrap servers given: this node is part of a cluster.
       false = the single node, which runs its own quorum of one. */
    bool clustered;
    /* The listener controllers are reached on: the first name of
       controller.listener.names. A controller has it among `listeners`
       (host and port set); a broker-only node knows only the name. */
    bool has_controller_listener;
    rn_config_listener_t controller_listener;
    /* inter.broker.listener.name resolved to an advertised listener, when
       clustered or given; has_inter_broker_listener says which. */
    bool has_inter_broker_listener;
    rn_config_listener_t inter_broker_listener;
    int32_t quorum_election_timeout_ms;
    int32_t quorum_fetch_timeout_ms;
    int32_t quorum_request_timeout_ms;
    int32_t broker_session_timeout_ms;
    int32_t broker_heartbeat_interval_ms;     /* < broker_session_timeout_ms */
    char cluster_id[RN_CLUSTER_ID_CHARS + 1]; /* cluster.id; "": a new cluster picks one */

    /* ---- network ---- */
    rn_config_listener_t listeners[RN_CONFIG_LISTENERS_MAX];
    int listener_count;
    /* advertised.listeners, or the non-controller listeners when unset. */
    rn_config_listener_t advertised[RN_CONFIG_LISTENERS_MAX];
    int advertised_count;
    int32_t socket_request_max_bytes;
    int32_t max_connections;
    int64_t connections_max_idle_ms;
    int32_t cores; /* event loops; resolved: never 0 */
    bool admin_enabled;
    char admin_host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t admin_port;
    int32_t fetch_max_bytes;
    int64_t replica_lag_time_max_ms;   /* replica.lag.time.max.ms */
    bool rack_aware_selector;          /* replica.selector.class: RackAwareReplicaSelector */
    int32_t fetch_session_slots;       /* max.incremental.fetch.session.cache.slots */
    int64_t fetch_session_eviction_ms; /* min.incremental.fetch.session.eviction.ms */
    int64_t queued_max_request_bytes;  /* <= 0: unbounded */
    int log_level;                     /* rn_log_level_t */
    /* Kubernetes service-link variables the environment held, ignored:
       "RUNNEL_PORT, RUNNEL_SERVICE_HOST, ..." (cut short), for a debug line. */
    char env_ignored[256];

    /* ---- storage ---- */
    const char *log_dirs[RN_CONFIG_LOG_DIRS_MAX]; /* borrowed from the entries */
    int log_dir_count;
    const char *metadata_log_dir; /* metadata.log.dir, else log_dirs[0] */
    int32_t log_segment_bytes;
    int64_t log_roll_ms; /* log.roll.ms, else log.roll.hours */
    int64_t log_roll_jitter_ms;
    int64_t log_retention_ms; /* ms > minutes > hours; -1 = forever */
    int64_t log_retention_bytes;
    int64_t log_retention_check_interval_ms;
    int32_t log_index_interval_bytes;
    int32_t log_index_size_max_bytes;
    int32_t message_max_bytes;
    rn_timestamp_type_t log_message_timestamp_type;
    uint32_t log_cleanup_policy; /* RN_CLEANUP_* bits */
    /* Durability: 1 (default) = fsync before acknowledging, group-committed;
       larger = Kafka's page-cache behaviour (flush after that many messages). */
    int64_t log_flush_interval_messages;
    int64_t log_flush_interval_ms;
    bool durable_acks; /* log_flush_interval_messages == 1 */

    /* ---- topics and replication ---- */
    int32_t num_partitions;
    int16_t default_replication_factor;
    bool auto_create_topics_enable;
    bool delete_topic_enable;
    int32_t min_insync_replicas;
    bool unclean_leader_election_enable;
    bool controlled_shutdown_enable;
    int64_t unclean_leader_election_interval_ms;
    /* Automatic preferred-leader election: interval 0 when
       auto.leader.rebalance.enable is false. */
    int64_t leader_imbalance_check_interval_ms;
    int64_t balancer_interval_ms; /* 0: balancer.enable=false */
    int64_t balancer_absent_timeout_ms;
    int32_t balancer_moves_per_broker_max;
    int32_t leader_imbalance_per_broker_percentage;
    int32_t offsets_topic_num_partitions;
    int16_t offsets_topic_replication_factor;
    int32_t transaction_state_log_num_partitions;
    int16_t transaction_state_log_replication_factor;

    /* Broker-wide defaults of every topic setting (borrows texts from here). */
    rn_topic_config_base_t topic_base;

    /* ---- every entry, by index of rn_config_defs() ---- */
    rn_config_entry_t *entries;
    int entry_count;
    /* Texts of derived topic defaults (retention.ms from hours, ...). */
    char derived_text[4][24];
    /* log_dirs' items, NUL-separated (owned). */
    char *log_dirs_text;
} rn_config_t;

/* The table of broker settings and its length. */
const rn_config_def_t *rn_config_defs(int *count);

/*
 * Loads the configuration. argv holds only the options that follow
 * `runnel server` (argv[0] is the first option, not the program). envp is the
 * environment (NULL-ended "KEY=value" strings; NULL for none). Reads the
 * properties file through the Linux I/O backend. On failure returns
 * RN_ERR_INVALID (or the I/O error) with a one-line message in errmsg; cfg is
 * then freed. Logs a warning for each accepted-but-ignored Kafka key.
 */
rn_err_t rn_config_load(rn_config_t *cfg, int argc, char **argv, char **envp, char *errmsg,
                        size_t errmsg_len);
/* As rn_config_load, reading the file through io and taking the CPU count
   (the default of `cores`) from the caller. */
rn_err_t rn_config_load_io(rn_config_t *cfg, rn_io_t *io, int cpu_count, int argc, char **argv,
                           char **envp, char *errmsg, size_t errmsg_len);
void rn_config_free(rn_config_t *cfg);

/* An entry by name (NULL if the broker has no such setting). */
const rn_config_entry_t *rn_config_get(const rn_config_t *cfg, const char *name);

/* One row of DescribeConfigs on the broker resource. */
typedef struct rn_config_item {
    const rn_config_def_t *def;
    const char *value; /* NULL for null or sensitive values */
    rn_config_origin_t origin;
    rn_config_source_t source; /* Kafka's ConfigSource number */
    bool sensitive;
    bool read_only; /* every broker setting is static for now */
} rn_config_item_t;

/* Iterates: *pos starts at 0; returns false after the last entry. Skips
   settings marked ignored unless they were given. */
bool rn_config_next(const rn_config_t *cfg, int *pos, rn_config_item_t *item);

/* "default", "file", "env" or "set". */
const char *rn_config_origin_name(rn_config_origin_t origin);

/*
 * Parses one `listeners` item ("PLAINTEXT://host:9092", "CONTROLLER://[::1]:9093",
 * empty host = all interfaces). RN_ERR_INVALID with why on failure.
 */
rn_err_t rn_config_listener_parse(const char *text, size_t len, rn_config_listener_t *lis,
                                  char *why, size_t why_len);

/*
 * Parses one `controller.quorum.voters` item ("1@host:9093", "2@[::1]:9093").
 * RN_ERR_INVALID with why (Kafka's wording, naming the item) on failure.
 */
rn_err_t rn_config_voter_parse(const char *text, size_t len, rn_config_voter_t *voter, char *why,
                               size_t why_len);
/*
 * Parses one `controller.quorum.bootstrap.servers` item ("host:9093").
 * RN_ERR_INVALID with why on failure.
 */
rn_err_t rn_config_endpoint_parse(const char *text, size_t len, rn_config_endpoint_t *ep, char *why,
                                  size_t why_len);
/*
 * Checks a cluster id as Kafka's Uuid prints one: RN_CLUSTER_ID_CHARS
 * characters of base64url, no padding, canonical (the last character carries
 * two bits), not the all-zero id. RN_ERR_INVALID with why on failure.
 */
rn_err_t rn_config_cluster_id_check(const char *text, char *why, size_t why_len);

/*
 * Pod templates in a setting's value (config_template.c): ${POD_NAME},
 * ${ORDINAL}, ${STATEFULSET}, ${SERVICE}, ${NAMESPACE}, ${HOST_IP} and
 * ${REPLICAS} take their values from envp (the variables a StatefulSet's
 * pod spec sets; docs/KUBERNETES.md); in a list setting (list true) an item
 * holding ${EACH} is written once per replica, ${EACH} counting 0 to
 * REPLICAS-1. `$${` is a literal `${`. Writes the expanded value into out;
 * RN_ERR_INVALID with why (naming the template and the variable to set) for
 * an unknown template, a missing or malformed variable, or a value longer
 * than out_len - 1.
 */
bool rn_config_template_has(const char *text);
/* Whether a list value repeats an item per replica (holds ${EACH}). */
bool rn_config_template_repeats(const char *text);
rn_err_t rn_config_template_expand(const char *text, bool list, char **envp, char *out,
                                   size_t out_len, char *why, size_t why_len);

#endif
