/*
 * simrepl.h: the replication simulation: the real partition log, replica
 * state, leader and follower decisions and controller decisions of several
 * brokers in one process, under faults, with a checker.
 *
 * One run (sr_run) is one seed: a controller (node 1), 3 or 4 brokers
 * (nodes 2.., broker id = node - 1) and a client (the last node), all over
 * the simulator backend of the I/O seam (src/io/io_sim.h). Each broker keeps
 * the partitions of one topic (replication factor 3) on its simulated disk
 * (rn_partition_t), takes every leadership from the metadata image
 * (rn_repl_leadership, rn_partition_lead), serves its followers' fetches
 * (rn_repl_serve) and follows its leaders (rn_follower_ask/_take), asks the
 * controller for ISR changes (rn_partition_isr_wanted) and answers the
 * client's produces (acks=all waits for the high watermark) and reads (up
 * to the high watermark). The controller is one authoritative sequence of
 * images (as the metadata log's committed entries would be), made by the
 * real decisions (rn_ctl_plan_register, _fence, _unfence,
 * _alter_partition, rn_controller_plan_create_topics) and the real image
 * builder, delivered to brokers and client by message, with delays, loss
 * and reordering. The checker is simrepl_check.c.
 *
 * Owns: the world, the nodes and the checker's history. Never reads the
 * real clock, the real disk or a global: a seed replays byte for byte.
 */
#ifndef RN_TESTS_SIMREPL_SIMREPL_H
#define RN_TESTS_SIMREPL_SIMREPL_H

#include "io/io_sim.h"
#include "metadata/controller.h"
#include "metadata/image.h"
#include "partition/partition.h"

#include <stdint.h>
#include <stdio.h>

#define RP_BROKERS_MAX 4
#define RP_PARTS_MAX 3
#define RP_NODES_MAX (RP_BROKERS_MAX + 2) /* the controller, brokers, the client */
#define RP_REASON_BYTES 512
#define RP_TOPIC "t"
#define RP_VERSIONS_MAX 4096  /* images the controller may make in one run */
#define RP_PRODUCES_MAX 8     /* produces in flight from the client */
#define RP_RECORDS_BYTES 8192 /* records in one fetch answer */

#define RP_MS 1000000LL
#define RP_BROKER_TICK_NS (2 * RP_MS)
#define RP_CTL_TICK_NS (5 * RP_MS)
#define RP_CLIENT_TICK_NS (3 * RP_MS)
#define RP_HEARTBEAT_MS 50
#define RP_SESSION_MS 400 /* broker.session.timeout.ms */
#define RP_ISR_CHECK_MS 250
#define RP_LAG_MAX_MS 300 /* replica.lag.time.max.ms */
#define RP_FETCH_TIMEOUT_MS 300
#define RP_FETCH_IDLE_MS 10 /* the leader would hold an empty fetch this long */
#define RP_FETCH_BACKOFF_MS 50
#define RP_ISR_TIMEOUT_MS 500
#define RP_PRODUCE_TIMEOUT_MS 800 /* acks=all's timeout_ms */
#define RP_LIVENESS_NS (8000 * RP_MS)
#define RP_MOVE_EVERY_MS 400 /* about how often a reassignment is asked for while faults run */

/* Messages (a small fixed format of the harness, records after it). */
enum {
    RP_MSG_IMAGE = 1, /* controller -> broker/client: the latest image version */
    RP_MSG_REGISTER,
    RP_MSG_REGISTER_RESP,
    RP_MSG_HEARTBEAT,
    RP_MSG_HEARTBEAT_RESP,
    RP_MSG_ALTER,
    RP_MSG_ALTER_RESP,
    RP_MSG_FETCH,
    RP_MSG_FETCH_RESP,
    RP_MSG_PRODUCE,
    RP_MSG_PRODUCE_RESP,
    RP_MSG_READ,
    RP_MSG_READ_RESP,
    RP_MSG__COUNT
};

typedef struct rp_msg {
    uint8_t kind;
    int16_t code;
    int8_t acks;
    int32_t broker_id;
    int32_t partition;
    uint32_t version; /* the sender's image version */
    uint64_t token;   /* matches an answer to its request */
    int64_t epoch;    /* broker epoch */
    rn_uuid_t incarnation;
    /* fetch */
    int32_t current_leader_epoch;
    int32_t last_fetched_epoch;
    int64_t offset; /* fetch offset; a produce's base offset; a read's offset */
    int64_t hw;
    int64_t log_start;
    int32_t div_epoch;
    int64_t div_end;
    uint64_t value; /* a produce's record; a read answer: the leader's incarnation */
    /* ISR changes */
    int32_t count;
    rn_ctl_isr_change_t changes[RP_PARTS_MAX];
    rn_ctl_isr_result_t results[RP_PARTS_MAX];
    uint32_t records_len; /* records follow the struct */
} rp_msg_t;

/* A produce waiting on a leader (acks=1: its fsync; acks=all: the high
   watermark), or a follower's fetch waiting for its fsync. */
typedef struct rp_wait {
    rn_partition_waiter_t w; /* first */
    struct rp_broker *b;
    int used;
    int kind; /* 1 produce, 2 follower sync */
    int32_t partition;
    uint64_t token;
    uint32_t to;
    int64_t offset;
    int64_t deadline_ms;
    int8_t acks;
    int64_t leader_hw;
    int in_hw_list; /* acks=all: in the high watermark's list */
} rp_wait_t;

#define RP_WAITS_MAX 256

/* A followed partition's fetch state. */
typedef struct rp_follow {
    int32_t leader;
    uint64_t token;   /* of the fetch in flight; 0: none */
    int64_t sent_ms;  /* when it left */
    int64_t retry_ms; /* no fetch before then */
    int syncing;      /* waiting for the fsync of what it appended */
} rp_follow_t;

typedef struct rp_broker {
    struct rp *sim;
    uint32_t node;
    int32_t id;
    int up;
    rn_io_t *io;
    rn_uuid_t incarnation;
    uint64_t starts; /* incarnations so far */
    int registered;
    /* Registered and unfenced in an image it applied: only then does it
       take leaderships and open its listener (a restarted broker serves
       nothing from the image it had before, as the real start waits for
       the lifecycle to unfence it). */
    int serving;
    int open_failed; /* a partition did not open (a disk error): it restarts */
    int64_t epoch;
    int64_t next_tick_local_ns;
    int64_t next_heartbeat_ms;
    int64_t next_isr_ms;
    int64_t restart_at_ns; /* when down */
    uint32_t version;      /* image applied */
    uint32_t heard;        /* newest version heard of */
    rn_partition_t *parts[RP_PARTS_MAX];
    rp_follow_t follow[RP_PARTS_MAX];
    int commit_due; /* a partition was appended to: the group commit at the next tick */
    /* the AlterPartition in flight */
    uint64_t isr_token;
    int64_t isr_sent_ms;
    int32_t isr_parts[RP_PARTS_MAX];
    int32_t isr_count;
    rp_wait_t waits[RP_WAITS_MAX];
} rp_broker_t;

/* The single authoritative controller. */
typedef struct rp_ctl {
    int up;
    int64_t restart_at_ns;
    int64_t next_tick_local_ns;
    int64_t next_push_ms;
    rn_controller_t ctl;
    rn_ctl_leases_t leases;
    /* requests waiting for a decision, by broker id */
    int reg_want[RP_BROKERS_MAX + 1];
    rp_msg_t reg_msg[RP_BROKERS_MAX + 1];
    int unfence_want[RP_BROKERS_MAX + 1];
    int alter_want[RP_BROKERS_MAX + 1];
    uint32_t reg_version[RP_BROKERS_MAX + 1]; /* the image of its registration */
    rp_msg_t alter_msg[RP_BROKERS_MAX + 1];
    int topic_made;
    int64_t next_move_ms; /* the next reassignment the controller is asked for */
} rp_ctl_t;

typedef struct rp_produce {
    uint64_t token; /* 0: free */
    int32_t partition;
    int8_t acks;
    uint64_t value;
    int64_t deadline_ns;
} rp_produce_t;

typedef struct rp_client {
    uint32_t version; /* newest image heard of */
    int64_t next_tick_ns;
    rp_produce_t produces[RP_PRODUCES_MAX];
    int64_t read_pos[RP_PARTS_MAX];
    uint64_t read_token[RP_PARTS_MAX];
    int64_t read_sent_ns[RP_PARTS_MAX];
    int64_t hw_seen[RP_PARTS_MAX]; /* the consumer's high watermark, at leader epoch: */
    int32_t hw_epoch[RP_PARTS_MAX];
    uint64_t hw_leader[RP_PARTS_MAX]; /* ... from this leader's incarnation */
    int stopped;                      /* no new produces (healing) */
} rp_client_t;

typedef struct rp_check rp_check_t;

typedef struct rp_stats {
    uint64_t faults, steps, versions, acked_all, acked_one, reads, truncations, isr_changes;
    uint64_t moves, moves_done; /* reassignments started (or cancelled) and completed */
    /* a new leader (or the same one restarted) answered a consumer with a
       high watermark below what the previous one showed */
    uint64_t hw_back_on_new_leader;
} rp_stats_t;

typedef struct rp {
    uint64_t seed;
    rn_sim_t *world;
    uint32_t brokers_n, client_node;
    int32_t parts_n;
    int32_t min_isr;
    rn_topic_config_base_t base;
    rp_ctl_t ctl;
    rp_broker_t brokers[RP_BROKERS_MAX + 1]; /* by broker id */
    rp_client_t client;
    rn_image_t *versions[RP_VERSIONS_MAX]; /* versions[v]: the image after v decisions */
    uint32_t version;                      /* the latest */
    int64_t heal_at_ns, next_fault_ns, deadline_ns;
    int phase; /* 0 faults, 1 healed */
    uint64_t next_token, next_value;
    rp_check_t *check;
    FILE *trace;
    int failed;
    char reason[RP_REASON_BYTES];
    rp_stats_t stats;
    uint8_t *buf; /* message scratch */
} rp_t;

/* simrepl_run.c */
int rp_run(uint64_t seed, FILE *trace, rp_stats_t *stats, char *reason, size_t reason_cap,
           rn_sim_stats_t *world_stats);
void rp_fail(rp_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_trace(rp_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends m (and len bytes of records) from node `from` to node `to`. */
void rp_send(rp_t *s, uint32_t from, uint32_t to, rp_msg_t *m, const uint8_t *records, size_t len);
int64_t rp_local_ms(const rp_t *s, uint32_t node);
const rn_image_t *rp_image(const rp_t *s, uint32_t version);

/* simrepl_broker.c */
void rp_broker_start(rp_t *s, rp_broker_t *b);
void rp_broker_crash(rp_t *s, rp_broker_t *b, int power_loss);
void rp_broker_tick(rp_t *s, rp_broker_t *b);
void rp_broker_recv(rp_t *s, rp_broker_t *b, uint32_t from, const rp_msg_t *m,
                    const uint8_t *records);
/* Whether any partition of b went offline (a storage failure it cannot
   roll back): it must restart. */
int rp_broker_offline(const rp_broker_t *b);

/* simrepl_check.c: the checker */
rp_check_t *rp_check_create(int32_t parts_n);
void rp_check_destroy(rp_check_t *c);
/* After any step of broker b: what its partitions hold and allow. */
void rp_check_broker(rp_t *s, rp_broker_t *b);
/* b opened part (recovered from its disk): its records run without a gap
   from the log start to the log end. */
void rp_check_opened(rp_t *s, rp_broker_t *b, rn_partition_t *part);
/* b crashed: its logs are read afresh after the restart. */
void rp_check_forget(rp_check_t *c, int32_t broker);
/* The same for one partition a broker dropped (a reassignment moved it). */
void rp_check_forget_partition(rp_check_t *c, int32_t broker, int32_t partition);
/* A leader appended a produce at leader epoch `epoch`. */
void rp_check_append(rp_t *s, int32_t broker, int32_t partition, int32_t epoch);
/* The client: an acknowledged produce; a record read; a high watermark seen. */
void rp_check_acked(rp_t *s, int32_t partition, int64_t offset, uint64_t value, int acks);
void rp_check_read(rp_t *s, int32_t partition, int64_t offset, uint64_t value);
/* At the end, everything healed and settled: every replica's whole log
   against the committed history, every acknowledged record present. */
void rp_check_final(rp_t *s);
uint64_t rp_check_committed(const rp_check_t *c);
/* The records of the whole batches at p, into fn (offset, leader epoch,
   value); returns the offset after the last batch, -1 when none. */
typedef void (*rp_record_fn)(void *ctx, int64_t offset, int32_t epoch, uint64_t value);
int64_t rp_records_scan(const uint8_t *p, size_t len, rp_record_fn fn, void *ctx);
/* One record batch of one record whose value is `value`, at out (room for
   RP_BATCH_BYTES); its size. */
#define RP_BATCH_BYTES 96
size_t rp_batch_build(uint8_t *out, uint64_t value, int64_t ts_ms);

#endif
