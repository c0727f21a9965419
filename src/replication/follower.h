/*
 * follower.h: a follower's decisions on one partition, below the
 * transport: what to ask the leader for, and what to do with its answer.
 *
 * What it does: a fetch asks from the log end (which the caller makes
 * durable before asking: see fetcher.h), names the epoch of the last batch
 * (KIP-320) and the leader epoch this replica knows. An answer is taken in
 * Kafka's order: an offset out of range below the leader's log start
 * starts the log over there (rn_partition_restart_at); any other error
 * pauses the partition; a diverging epoch truncates the log where it parts
 * from the leader's (the lower of the leader's end of that epoch and this
 * log's own); otherwise the leader's log start is taken and its batches
 * are appended as they are, and the leader's high watermark is followed
 * (capped by the durable end) once they are durable. The replica fetchers
 * (fetcher.c) call it over the outbound client; the replication simulator
 * (tests/simrepl) over its own message passing.
 *
 * What it owns: nothing; it changes the partition it is given, on its owner
 * core. It never sends or waits: the caller fetches, waits for the fsync
 * and fetches again.
 */
#ifndef RN_REPLICATION_FOLLOWER_H
#define RN_REPLICATION_FOLLOWER_H

#include "partition/partition.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rn_batch_inflate;

/* What a follower asks for one partition. */
typedef struct rn_follower_ask {
    int32_t current_leader_epoch;
    int64_t fetch_offset; /* the log end */
    int32_t last_fetched_epoch;
    int64_t log_start_offset;
} rn_follower_ask_t;

/* The leader's answer for one partition. */
typedef struct rn_follower_answer {
    int16_t error_code; /* Kafka's */
    int64_t high_watermark;
    int64_t log_start_offset;
    int32_t diverging_epoch; /* -1 with diverging_end -1: none */
    int64_t diverging_end;
    const uint8_t *records; /* whole batches first; a partial one at the end is dropped */
    size_t records_len;
} rn_follower_answer_t;

typedef enum rn_follower_outcome {
    RN_FOLLOWER_PAUSE,     /* an error: pause the partition (kerr says which) */
    RN_FOLLOWER_RESTARTED, /* started over at the leader's log start */
    RN_FOLLOWER_TRUNCATED, /* cut at the diverging epoch; fetch again */
    RN_FOLLOWER_APPENDED,  /* batches appended: fetch again once durable */
    RN_FOLLOWER_IDLE,      /* nothing to append; the high watermark followed */
} rn_follower_outcome_t;

typedef struct rn_follower_result {
    int16_t kerr;    /* RN_FOLLOWER_PAUSE: the error (a storage one is KAFKA_STORAGE_ERROR) */
    bool truncated;  /* a truncation was tried (it may have failed: then PAUSE) */
    size_t appended; /* record bytes appended */
    int64_t lag;     /* the leader's high watermark minus the log end, after it */
} rn_follower_result_t;

/* Whether part is fetched from leader_id now: it follows that leader and
   is neither deleted nor offline. */
bool rn_follower_may_fetch(const rn_partition_t *part, int32_t leader_id);

/* The fetch of part, from its log end. */
void rn_follower_ask(const rn_partition_t *part, rn_follower_ask_t *out);

/* Takes leader_id's answer (wall_ms stamps the append; inflate is lent to
   validation, may be NULL). The caller checked part still follows. On
   RN_FOLLOWER_APPENDED the high watermark is not taken yet: once the log
   end is durable the caller calls rn_partition_follow_hw with the answer's
   high watermark. */
rn_follower_outcome_t rn_follower_take(rn_partition_t *part, int32_t leader_id,
                                       const rn_follower_answer_t *in, int64_t wall_ms,
                                       struct rn_batch_inflate *inflate, rn_follower_result_t *res);

#endif
