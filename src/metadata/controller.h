/*
 * controller.h: the controller: admin operations and broker lifecycle
 * decisions in, metadata records out.
 *
 * What it does: validates CreateTopics, DeleteTopics, CreatePartitions,
 * AlterConfigs, IncrementalAlterConfigs, producer-id block allocation,
 * partition leaders' ISR changes (AlterPartition) and leader elections
 * (ElectLeaders, and the automatic ones) against the current image with
 * Kafka's rules and error codes, and turns the valid parts into metadata
 * records. It is a state machine with three
 * separate steps, so a Raft quorum can later sit between them:
 *
 *   plan     rn_controller_plan_*: validate, append records to a batch,
 *            fill per-item results; changes nothing.
 *   persist  rn_controller_persist: write the batch to the metadata log
 *            and fsync (later: propose to Raft and wait for commit).
 *   apply    rn_controller_apply: apply the batch to the image and publish
 *            the new image.
 *
 * rn_controller_commit does persist then apply; the rn_controller_<op>
 * wrappers do plan then (unless validate_only) commit.
 *
 * What it owns: the metadata log, the published image cell and the image
 * the owner works from.
 *
 * Threading: every call but rn_controller_acquire is made by one thread at
 * a time (the caller serialises admin operations), and plans must be
 * committed or dropped before the next plan. rn_controller_acquire may be
 * called from any thread, lock-free.
 *
 * What it must never do: change the image without the records that say so
 * having been persisted first; return a Kafka error code Kafka would not.
 */
#ifndef RN_METADATA_CONTROLLER_H
#define RN_METADATA_CONTROLLER_H

#include "base/limits.h"
#include "io/io.h"
#include "metadata/image.h"
#include "metadata/metadata_log.h"
#include "metadata/records.h"
#include "metadata/topic_config.h"
#include "proto/kerr.h"
#include "proto/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes of a result message (Kafka's messages are one sentence). */
#define RN_CTL_MESSAGE_BYTES 256
/* Brokers the controller places replicas on: every registered one. */
#define RN_CTL_BROKERS_MAX RN_BROKERS_MAX

typedef struct rn_ctl_settings {
    int32_t node_id;
    /* Registered brokers replicas may go to; none given = just node_id. */
    const int32_t *broker_ids;
    int32_t broker_count;
    int32_t num_partitions;             /* num.partitions */
    int16_t default_replication_factor; /* default.replication.factor */
    bool delete_topic_enable;           /* delete.topic.enable */
} rn_ctl_settings_t;

typedef struct rn_controller {
    rn_io_t *io;
    rn_md_log_t log;
    rn_image_cell_t cell;
    rn_image_t *image; /* the owner's reference to the published image */
    const rn_topic_config_base_t *base;
    int32_t node_id;
    int32_t brokers[RN_CTL_BROKERS_MAX]; /* sorted */
    int32_t broker_count;
    int32_t num_partitions;
    int16_t default_replication_factor;
    bool delete_topic_enable;
    /* Brokers register with this controller (set after rn_controller_init):
       replicas go only to registered brokers, never to the static list, even
       while none is registered yet. */
    bool brokers_register;
    bool quorum; /* images come from the metadata quorum, not a log of its own */
    /* Whether the broker's configuration knows a key (one it cannot change
       at run time unless metadata/dyn_broker.h lists it); NULL: every key
       outside that table is refused. */
    bool (*broker_key_known)(const void *ctx, const char *key);
    const void *broker_key_ctx;
} rn_controller_t;

/* One item's outcome: a Kafka error code (RN_KERR_NONE on success) and
   Kafka's message, "" when there is none. */
typedef struct rn_ctl_result {
    int16_t error_code;
    char message[RN_CTL_MESSAGE_BYTES];
} rn_ctl_result_t;

typedef struct rn_ctl_config {
    rn_str_t key;
    rn_str_t value; /* len -1: null */
} rn_ctl_config_t;

typedef struct rn_ctl_assignment {
    int32_t partition; /* CreateTopics: the index; CreatePartitions: unused */
    const int32_t *broker_ids;
    int32_t broker_count;
} rn_ctl_assignment_t;

/* The replication factor of an internal topic (__consumer_offsets,
   __transaction_state) is capped at the usable brokers instead of refused:
   the node creates them with the configured factor. */
typedef struct rn_ctl_new_topic {
    rn_str_t name;
    int32_t num_partitions;                 /* -1: num.partitions */
    int16_t replication_factor;             /* -1: default.replication.factor */
    const rn_ctl_assignment_t *assignments; /* when given, both above must be -1 */
    int32_t assignment_count;
    const rn_ctl_config_t *configs;
    int32_t config_count;
} rn_ctl_new_topic_t;

typedef struct rn_ctl_topic_result {
    rn_ctl_result_t result;
    rn_uuid_t topic_id;         /* created (or, for validate_only, would-be) topic */
    int32_t num_partitions;     /* as created */
    int16_t replication_factor; /* as created */
} rn_ctl_topic_result_t;

typedef struct rn_ctl_delete_topic {
    rn_str_t name; /* len -1 (null): by id */
    rn_uuid_t id;
} rn_ctl_delete_topic_t;

typedef struct rn_ctl_new_partitions {
    rn_str_t name;
    int32_t count;                          /* the new total */
    const rn_ctl_assignment_t *assignments; /* NULL: placed by the controller */
    int32_t assignment_count;
} rn_ctl_new_partitions_t;

/* IncrementalAlterConfigs operations, as Kafka numbers them. */
enum {
    RN_CTL_OP_SET = 0,
    RN_CTL_OP_DELETE = 1,
    RN_CTL_OP_APPEND = 2,
    RN_CTL_OP_SUBTRACT = 3,
};

typedef struct rn_ctl_alter {
    rn_str_t key;
    rn_str_t value; /* len -1: null */
    int8_t op;      /* RN_CTL_OP_*; ignored by the legacy AlterConfigs */
} rn_ctl_alter_t;

typedef struct rn_ctl_alter_resource {
    int8_t resource_type; /* RN_MD_RESOURCE_TOPIC or _BROKER */
    rn_str_t resource_name;
    const rn_ctl_alter_t *alters;
    int32_t alter_count;
    /* Answered already by the broker that took the request (a BROKER
       resource naming another broker): its result is left as it is. */
    bool checked;
} rn_ctl_alter_resource_t;

/* ---- lifecycle ---- */

/*
 * Opens the metadata log under metadata_dir (metadata.log.dir), replays it
 * into an image and publishes it. base (broker defaults of topic settings)
 * is borrowed and must outlive the controller.
 */
rn_err_t rn_controller_open(rn_controller_t *ctl, rn_io_t *io, const char *metadata_dir,
                            const rn_topic_config_base_t *base, const rn_ctl_settings_t *set);
/*
 * With the metadata quorum (metadata/quorum.h) the controller keeps no log:
 * it plans against the quorum's applied image, the runtime proposes the
 * batch, and each image the quorum applies is adopted and published.
 * img is retained, not taken over.
 */
rn_err_t rn_controller_init(rn_controller_t *ctl, rn_io_t *io, const rn_topic_config_base_t *base,
                            const rn_ctl_settings_t *set, const rn_image_t *img);
/* Publishes the quorum's newly applied image (retained). */
void rn_controller_adopt(rn_controller_t *ctl, const rn_image_t *img);
/* Applies a planned batch to the current image in private: RN_OK when it
   applies, RN_ERR_INVALID when it does not (a controller bug that must never
   reach the log). */
rn_err_t rn_controller_check(rn_controller_t *ctl, const rn_md_batch_t *batch);
void rn_controller_close(rn_controller_t *ctl);

/* The current image, borrowed (owner thread; valid until the next apply). */
const rn_image_t *rn_controller_image(const rn_controller_t *ctl);
/* The current image with a reference, from any thread (rn_image_release it). */
rn_image_t *rn_controller_acquire(rn_controller_t *ctl);

/* ---- steps ---- */

rn_err_t rn_controller_persist(rn_controller_t *ctl, const rn_md_batch_t *batch,
                               uint64_t *base_offset);
rn_err_t rn_controller_apply(rn_controller_t *ctl, uint64_t base_offset,
                             const rn_md_batch_t *batch);
/* persist then apply; an empty batch is a no-op. */
rn_err_t rn_controller_commit(rn_controller_t *ctl, const rn_md_batch_t *batch);

/* ---- plans: results[n] for items[n]; records appended to batch ---- */

void rn_controller_plan_create_topics(rn_controller_t *ctl, const rn_ctl_new_topic_t *topics,
                                      int32_t count, rn_md_batch_t *batch,
                                      rn_ctl_topic_result_t *results);
void rn_controller_plan_delete_topics(rn_controller_t *ctl, const rn_ctl_delete_topic_t *topics,
                                      int32_t count, rn_md_batch_t *batch,
                                      rn_ctl_topic_result_t *results);
void rn_controller_plan_create_partitions(rn_controller_t *ctl,
                                          const rn_ctl_new_partitions_t *topics, int32_t count,
                                          rn_md_batch_t *batch, rn_ctl_result_t *results);
/* incremental: IncrementalAlterConfigs; else the legacy AlterConfigs, whose
   entries replace a topic's whole override set. */
void rn_controller_plan_alter_configs(rn_controller_t *ctl,
                                      const rn_ctl_alter_resource_t *resources, int32_t count,
                                      bool incremental, rn_md_batch_t *batch,
                                      rn_ctl_result_t *results);
/* A broker's request for a block of producer ids (AllocateProducerIds):
   floor, when above what the log has handed out, is where the block must
   start (ids a release before the log kept them in a file of its own). */
typedef struct rn_ctl_pid_request {
    int32_t broker_id;
    int64_t broker_epoch;
    int64_t floor;
} rn_ctl_pid_request_t;

/* Its answer: RN_PRODUCER_ID_BLOCK_SIZE ids from first. */
typedef struct rn_ctl_pid_block {
    rn_ctl_result_t result; /* first: the runtime fails ops through it */
    int64_t first;
    int32_t count;
} rn_ctl_pid_block_t;

/* A block of RN_PRODUCER_ID_BLOCK_SIZE ids starting at *first_id, above
   every id handed out before and at least floor. */
rn_err_t rn_controller_plan_producer_ids(rn_controller_t *ctl, int32_t broker_id,
                                         int64_t broker_epoch, int64_t floor, rn_md_batch_t *batch,
                                         int64_t *first_id);

/* ---- one-call operations: plan, then commit unless validate_only. If the
   commit fails every successful item gets UNKNOWN_SERVER_ERROR. ---- */

void rn_controller_create_topics(rn_controller_t *ctl, const rn_ctl_new_topic_t *topics,
                                 int32_t count, bool validate_only, rn_ctl_topic_result_t *results);
void rn_controller_delete_topics(rn_controller_t *ctl, const rn_ctl_delete_topic_t *topics,
                                 int32_t count, rn_ctl_topic_result_t *results);
void rn_controller_create_partitions(rn_controller_t *ctl, const rn_ctl_new_partitions_t *topics,
                                     int32_t count, bool validate_only, rn_ctl_result_t *results);
void rn_controller_alter_configs(rn_controller_t *ctl, const rn_ctl_alter_resource_t *resources,
                                 int32_t count, bool incremental, bool validate_only,
                                 rn_ctl_result_t *results);
rn_err_t rn_controller_allocate_producer_ids(rn_controller_t *ctl, int32_t broker_id,
                                             int64_t broker_epoch, int64_t *first_id,
                                             int32_t *count);

/* ---- broker lifecycle (controller_brokers.c) ----
 *
 * Pure decisions on the image: each plan validates, appends records to a
 * batch and changes nothing. Plan one decision per batch and apply it before
 * planning the next: a plan reads the image as it is before its own records.
 * Time comes in as an argument.
 */

/* Heartbeat leases, kept by the active controller only (not in the image). */
typedef struct rn_ctl_lease {
    int32_t broker_id;
    int64_t last_ms; /* last heartbeat or registration */
} rn_ctl_lease_t;

typedef struct rn_ctl_leases {
    int32_t count;
    rn_ctl_lease_t items[RN_CTL_BROKERS_MAX]; /* sorted by broker id */
} rn_ctl_leases_t;

/* Empty; then, on becoming the active controller, a fresh lease for every
   registered broker (as KRaft does), so none is fenced for the failover. */
void rn_ctl_leases_init(rn_ctl_leases_t *leases, const rn_image_t *img, int64_t now_ms);
/* A heartbeat (or registration) from broker_id at now_ms. */
void rn_ctl_leases_touch(rn_ctl_leases_t *leases, int32_t broker_id, int64_t now_ms);
/* Drops a broker's lease (it unregistered). */
void rn_ctl_leases_forget(rn_ctl_leases_t *leases, int32_t broker_id);
/* True when broker_id heartbeated within session_timeout_ms of now_ms. */
bool rn_ctl_leases_live(const rn_ctl_leases_t *leases, int32_t broker_id, int64_t now_ms,
                        int64_t session_timeout_ms);
/* The registered, unfenced brokers whose lease expired (or who have none),
   into ids (RN_CTL_BROKERS_MAX); returns how many: the brokers to fence. */
int32_t rn_ctl_leases_expired(const rn_ctl_leases_t *leases, const rn_image_t *img, int64_t now_ms,
                              int64_t session_timeout_ms, int32_t *ids);

/* A BrokerRegistration request, after the caller checked the cluster id. */
typedef struct rn_ctl_broker_reg {
    int32_t broker_id;
    rn_uuid_t incarnation_id;
    const rn_md_endpoint_t *endpoints;
    int16_t endpoint_count; /* at most RN_BROKER_ENDPOINTS_MAX */
    rn_str_t rack;          /* len -1: none */
    rn_uuid_t directory_id; /* its data folder's directory.id; zero: unknown */
} rn_ctl_broker_reg_t;

/*
 * Registers a broker. The broker epoch is the metadata offset of its
 * RegisterBrokerRecord, as KRaft: the caller passes next_offset, the offset
 * the batch's first record will get, and the record lands at next_offset +
 * batch->count. A new registration starts fenced until the broker catches
 * up and is unfenced. A registration of an id held by a different
 * incarnation whose lease is live: DUPLICATE_BROKER_REGISTRATION. The same
 * incarnation with the same endpoints and rack: no record, the registered
 * epoch. A registration replacing another also moves leadership and ISR
 * membership off the old one, as a fence; when the two name different data
 * folders (directory ids, both known), the new folder holds none of the old
 * one's records, so the broker leaves every ISR, even as its last member: a
 * partition it alone held stays without a leader (its ISR empty) until an
 * unclean election, never led by an empty replica. *broker_epoch gets the
 * epoch.
 * Returns a Kafka error code with Kafka's message in res.
 */
int16_t rn_ctl_plan_register(const rn_image_t *img, const rn_ctl_leases_t *leases,
                             const rn_ctl_broker_reg_t *reg, uint64_t next_offset, int64_t now_ms,
                             int64_t session_timeout_ms, rn_md_batch_t *batch,
                             int64_t *broker_epoch, rn_ctl_result_t *res);
/*
 * Fences a registered broker: FenceBrokerRecord, and for each partition it
 * is in the ISR of, a PartitionChangeRecord removing it (unless it is the
 * last member: the ISR keeps it and the partition waits for it, never
 * electing a stale replica) and, where it led, a new leader: the first
 * replica in replica order that is in the new ISR and usable, or none (-1).
 * Fencing a fenced broker writes nothing. RN_ERR_NOT_FOUND for an unknown
 * broker; batch errors (RN_ERR_LIMIT, RN_ERR_TOO_LARGE).
 */
rn_err_t rn_ctl_plan_fence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch);
/*
 * Unfences a registered broker: UnfenceBrokerRecord, and for each partition
 * with no leader whose ISR holds it, a PartitionChangeRecord making it the
 * leader (unless it is shutting down). Unfencing an unfenced broker writes
 * nothing. RN_ERR_NOT_FOUND for an unknown broker.
 */
rn_err_t rn_ctl_plan_unfence(const rn_image_t *img, int32_t broker_id, rn_md_batch_t *batch);
/*
 * Starts a controlled shutdown: BrokerRegistrationChangeRecord
 * (in_controlled_shutdown = 1) and leadership and ISR membership moved off
 * the broker as in a fence; it stays registered. Writes nothing if it is
 * already shutting down. RN_ERR_NOT_FOUND for an unknown broker.
 */
rn_err_t rn_ctl_plan_controlled_shutdown(const rn_image_t *img, int32_t broker_id,
                                         rn_md_batch_t *batch);

/* ---- ISR changes (controller_isr.c) ----
 *
 * A partition leader asks to change its ISR (AlterPartition, KIP-497, with
 * topic ids, KIP-841, and the members' broker epochs, KIP-903). The checks
 * and codes are Kafka's, in Kafka's order; an accepted change is one
 * PartitionChangeRecord of the ISR alone (the leader and its epoch stay).
 * A shrink below min.insync.replicas is accepted, as Kafka's controller
 * does without eligible leader replicas (KIP-966, not built).
 */

/* What the handler puts in isr_count for a list longer than any replica
   list could be (it cannot be stored): INVALID_REQUEST, in Kafka's order. */
#define RN_CTL_ISR_TOO_LONG (-1)

/* One partition of an AlterPartition. */
typedef struct rn_ctl_isr_change {
    rn_uuid_t topic_id;
    int32_t partition;
    int32_t leader_epoch;    /* as the leader knows them */
    int32_t partition_epoch; /* as the leader knows them */
    int16_t isr_count;       /* 0 .. RN_REPLICAS_MAX, or RN_CTL_ISR_TOO_LONG */
    int32_t isr[RN_REPLICAS_MAX];
    int64_t isr_broker_epochs[RN_REPLICAS_MAX]; /* -1: unknown, not checked */
    /* 1: the leader says it recovers from an unclean election (KIP-704),
       which this controller never records: INVALID_REQUEST. */
    int8_t leader_recovery_state;
} rn_ctl_isr_change_t;

typedef struct rn_ctl_isr_request {
    int32_t broker_id; /* the leader sending it */
    int64_t broker_epoch;
    int32_t count; /* at most RN_ISR_CHANGES_MAX */
    const rn_ctl_isr_change_t *changes;
} rn_ctl_isr_request_t;

/* One per change, in order: Kafka's code and the partition as it stands
   after the change (the partition epoch one higher), or, on an error, as
   it stands now where the partition exists (else leader -1, epochs -1, an
   empty ISR). An ISR equal to the current one changes nothing and answers
   the current state. */
typedef struct rn_ctl_isr_result {
    int16_t error_code;
    int32_t leader;
    int32_t leader_epoch;
    int32_t partition_epoch;
    int16_t isr_count;
    int32_t isr[RN_REPLICAS_MAX];
} rn_ctl_isr_result_t;

/* The answer to a whole request: a request-wide error (Kafka's top-level
   code: STALE_BROKER_EPOCH, or NOT_CONTROLLER and REQUEST_TIMED_OUT when
   the change could not be made), and then, only when it is NONE, the
   results of the changes. */
typedef struct rn_ctl_isr_reply {
    rn_ctl_result_t result;        /* first: the runtime fails ops through it */
    rn_ctl_isr_result_t results[]; /* the request's count of them */
} rn_ctl_isr_reply_t;

/* Bytes of a reply to count changes. */
static inline size_t rn_ctl_isr_reply_bytes(int32_t count) {
    return sizeof(rn_ctl_isr_reply_t) + (size_t)count * sizeof(rn_ctl_isr_result_t);
}

/*
 * Plans an AlterPartition on img: results[n] for req->changes[n], one
 * PartitionChangeRecord appended to batch per accepted change that alters
 * the ISR. The sender not registered, or registered with another broker
 * epoch: every result STALE_BROKER_EPOCH, nothing appended, RN_ERR_STALE.
 * Per change, in Kafka's order: UNKNOWN_TOPIC_ID; UNKNOWN_TOPIC_OR_PARTITION
 * (no such index); NOT_CONTROLLER (epochs newer than the image's: this
 * controller is behind); FENCED_LEADER_EPOCH (an older leader epoch);
 * INVALID_REQUEST (the sender does not lead it); INVALID_UPDATE_VERSION (an
 * older partition epoch); INVALID_REQUEST (an ISR empty, with duplicates,
 * outside the replicas or without the leader; a recovering leader);
 * INELIGIBLE_REPLICA (a member
 * fenced, shutting down, not registered, or given with a broker epoch other
 * than its registration's). A partition named twice is decided twice on
 * img, as Kafka does. Batch errors (RN_ERR_LIMIT, RN_ERR_TOO_LARGE) are
 * returned with the batch as it was before the call.
 */
rn_err_t rn_ctl_plan_alter_partition(const rn_image_t *img, const rn_ctl_isr_request_t *req,
                                     rn_ctl_isr_result_t *results, rn_md_batch_t *batch);
/* The accepted results (NONE) of req read again from img, an image their
   records have been applied to. */
void rn_ctl_isr_results_from(const rn_image_t *img, const rn_ctl_isr_request_t *req,
                             rn_ctl_isr_result_t *results);

/* ---- leader elections (controller_elect.c) ----
 *
 * Kafka's elections (KIP-460), as its controller's PartitionChangeBuilder
 * makes them. PREFERRED gives a partition to its preferred replica (the
 * first) when it is in the ISR and usable (registered, not fenced, not
 * shutting down); failing that a leader that is not usable is replaced by
 * the first usable ISR member. UNCLEAN elects a leader for a partition that
 * has none: the first usable ISR member, else the first usable replica,
 * whose ISR becomes it alone (records only the old ISR held are lost, so a
 * WARN line says so). A new leader's epoch goes up, as for any leader
 * change. Kafka also marks an unclean leader RECOVERING (KIP-704,
 * LeaderRecoveryState); Runnel's PartitionChangeRecord has no such field,
 * so the new leader is not told.
 */

/* ElectLeaders' election types (Kafka's ElectionType). */
enum {
    RN_CTL_ELECT_PREFERRED = 0,
    RN_CTL_ELECT_UNCLEAN = 1,
};

typedef struct rn_ctl_elect_topic {
    rn_str_t name;
    const int32_t *partitions;
    int32_t count;
} rn_ctl_elect_topic_t;

/* What to elect. A client's ElectLeaders names its partitions or all of
   them; the active controller's own passes are `automatic`. */
typedef struct rn_ctl_elect_request {
    int8_t election_type;               /* RN_CTL_ELECT_*; another: INVALID_REQUEST */
    const rn_ctl_elect_topic_t *topics; /* NULL: every partition of every topic */
    int32_t topic_count;
    /* The controller's own pass, no result lists: PREFERRED moves the
       partitions of brokers past imbalance_percentage back to them
       (rn_ctl_plan_rebalance); UNCLEAN elects for leaderless partitions of
       topics that enable it (rn_ctl_plan_unclean). */
    bool automatic;
    int32_t imbalance_percentage;
} rn_ctl_elect_request_t;

typedef struct rn_ctl_elect_result {
    int32_t partition;
    int16_t error_code;
    bool no_topic; /* UNKNOWN_TOPIC_OR_PARTITION: no such topic (else no such index) */
} rn_ctl_elect_result_t;

typedef struct rn_ctl_elect_topic_result {
    const char *name; /* in the reply's own memory */
    int32_t first;    /* its results: results[first .. first + count) */
    int32_t count;
} rn_ctl_elect_topic_result_t;

/* ElectLeaders' answer: a top-level error (when not NONE the lists are
   empty and every partition named takes it, as in Kafka's error answers),
   else per topic, per partition. The lists are allocated by the plan and
   freed by rn_ctl_elect_reply_free. */
typedef struct rn_ctl_elect_reply {
    rn_ctl_result_t result; /* first: the runtime fails ops through it */
    int32_t topic_count;
    int32_t result_count;
    rn_ctl_elect_topic_result_t *topics;
    rn_ctl_elect_result_t *results;
    char *names;
    int32_t elected; /* leader changes recorded */
    bool more;       /* automatic: more changes are due than one pass makes */
} rn_ctl_elect_reply_t;

/*
 * Plans a client's ElectLeaders on img: the reply, and one
 * PartitionChangeRecord per partition whose leader changes. Per partition,
 * Kafka's codes: NONE (a change recorded), ELECTION_NOT_NEEDED (the
 * preferred replica leads; UNCLEAN: a leader exists),
 * PREFERRED_LEADER_NOT_AVAILABLE (it is not in the ISR or not usable),
 * ELIGIBLE_LEADERS_NOT_AVAILABLE (UNCLEAN: no usable replica),
 * UNKNOWN_TOPIC_OR_PARTITION. Topics NULL: every topic is listed, with only
 * the partitions not ELECTION_NOT_NEEDED. Top-level: INVALID_REQUEST for an
 * unknown election type; UNKNOWN_SERVER_ERROR, nothing appended, when more
 * than RN_ELECTIONS_MAX leaders would change or memory runs out. A partition
 * named twice is decided twice on img, as Kafka does. Batch errors
 * (RN_ERR_LIMIT, RN_ERR_TOO_LARGE) are returned with the batch as before.
 */
rn_err_t rn_ctl_plan_elect_leaders(const rn_image_t *img, const rn_ctl_elect_request_t *req,
                                   rn_ctl_elect_reply_t *reply, rn_md_batch_t *batch);
void rn_ctl_elect_reply_free(rn_ctl_elect_reply_t *reply);
/* Kafka's message for one result of topic: NULL for NONE; else a constant
   text or one written into buf. */
const char *rn_ctl_elect_message(const rn_ctl_elect_result_t *res, const char *topic, char *buf,
                                 size_t cap);

/* One broker's leader balance: the partitions whose preferred replica it
   is, and how many of them it does not lead. */
typedef struct rn_ctl_balance {
    int32_t broker_id;
    int32_t preferred;
    int32_t not_led;
} rn_ctl_balance_t;

/* The balance of every registered broker, in id order, into out
   (RN_CTL_BROKERS_MAX of them); returns how many. */
int32_t rn_ctl_leader_balance(const rn_image_t *img, rn_ctl_balance_t *out);
/* Whether a broker's share of preferred partitions it does not lead
   exceeds percentage (leader.imbalance.per.broker.percentage). */
bool rn_ctl_imbalanced(const rn_ctl_balance_t *balance, int32_t percentage);
/*
 * The automatic preferred-leader election: for each broker past
 * percentage, every partition it prefers but does not lead moves to it
 * where it is in the ISR and usable (the rule of Kafka's ZooKeeper-era
 * controller, which read the percentage; Kafka 3.9's KRaft controller
 * ignores it and balances any such partition: percentage 0). At most max
 * changes appended; *more when more were due. *elected gets the count.
 */
rn_err_t rn_ctl_plan_rebalance(const rn_image_t *img, int32_t percentage, int32_t max,
                               rn_md_batch_t *batch, int32_t *elected, bool *more);
/*
 * Unclean elections for the leaderless partitions of topics whose
 * unclean.leader.election.enable is true (Kafka's periodic check, for a
 * setting turned on after the leader was lost): the first usable ISR
 * member, else the first usable replica with the ISR it alone. At most max
 * changes; *more when more were due; *elected gets the count.
 */
rn_err_t rn_ctl_plan_unclean(const rn_image_t *img, int32_t max, rn_md_batch_t *batch,
                             int32_t *elected, bool *more);

/* ---- helpers ---- */

/* Kafka's topic name rules; RN_KERR_NONE or INVALID_TOPIC_EXCEPTION with
   Kafka's message. */
int16_t rn_ctl_topic_name_check(rn_str_t name, char *message, size_t message_len);

#endif
