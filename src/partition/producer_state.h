/*
 * producer_state.h: idempotent producer state of one partition.
 *
 * Per producer id: its epoch and the last RN_PRODUCER_BATCHES_REMEMBERED
 * batches (first/last sequence, first/last offset, timestamp), so that a
 * retried batch is answered with its original offsets, a gap is refused and
 * a fenced epoch is refused, as Kafka's ProducerStateManager.
 *
 * Check, then commit: the partition calls rn_producer_state_check on each
 * batch header before appending (nothing changes), appends, then
 * rn_producer_state_record with the header as written (offsets assigned).
 *
 * Kept across restarts: rn_producer_state_save writes `<offset>.snapshot`
 * (20 digits) atomically in the partition directory (at clean shutdown and
 * periodically); rn_producer_state_load reads the newest usable one and
 * replays the batch headers after it from the log.
 *
 * Owns its table (heap, bounded by RN_PRODUCERS_PER_PARTITION_MAX: when full
 * the producer idle longest is forgotten). Owner thread only; no locks.
 * Never reads record bytes beyond batch headers.
 *
 * Snapshot layout (big-endian):
 *
 *   offset size field
 *   ------ ---- ---------------------------------------------------------
 *        0    4 magic "RNPS"
 *        4    2 version (1)
 *        6    4 CRC-32C of bytes 10 .. end
 *       10    8 log offset the snapshot covers up to (exclusive)
 *       18    4 producer count
 *       22    - producers, each:
 *                 0 8 producer id
 *                 8 2 epoch
 *                10 8 last timestamp (ms)
 *                18 1 batch count (1..5), oldest first, each 32 bytes:
 *                     first seq int32, last seq int32, first offset int64,
 *                     last offset int64, timestamp int64
 */
#ifndef RN_PARTITION_PRODUCER_STATE_H
#define RN_PARTITION_PRODUCER_STATE_H

#include "base/limits.h"
#include "io/io.h"
#include "proto/batch.h"
#include "storage/log.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_producer_state rn_producer_state_t;

/* How a batch fares against the state; the handler maps it once. */
typedef enum rn_producer_verdict {
    RN_PRODUCER_OK = 0,       /* append it (also: not idempotent) */
    RN_PRODUCER_DUPLICATE,    /* retried: answer with dup offsets, no append */
    RN_PRODUCER_OUT_OF_ORDER, /* OUT_OF_ORDER_SEQUENCE_NUMBER (45) */
    RN_PRODUCER_FENCED,       /* INVALID_PRODUCER_EPOCH (47) */
    RN_PRODUCER_UNKNOWN,      /* UNKNOWN_PRODUCER_ID (59) */
} rn_producer_verdict_t;

typedef struct rn_producer_check {
    rn_producer_verdict_t verdict;
    int64_t producer_id;
    int16_t epoch;
    int32_t first_seq;
    int32_t last_seq;
    /* RN_PRODUCER_DUPLICATE: the original batch */
    int64_t dup_first_offset;
    int64_t dup_last_offset;
    int64_t dup_timestamp_ms;
} rn_producer_check_t;

rn_err_t rn_producer_state_create(rn_producer_state_t **out);
void rn_producer_state_free(rn_producer_state_t *ps);

/* Last sequence of a batch, wrapping past INT32_MAX to 0 as Kafka. */
int32_t rn_producer_seq_add(int32_t seq, int32_t delta);

/*
 * Checks one batch header against the state; changes nothing. Returns RN_OK
 * for OK, RN_ERR_DUPLICATE (offsets in chk), RN_ERR_SEQUENCE (out of order),
 * RN_ERR_STALE (fenced epoch), RN_ERR_UNKNOWN_PRODUCER (state lost and
 * sequence != 0). chk->verdict says the same.
 */
rn_err_t rn_producer_state_check(const rn_producer_state_t *ps, const rn_batch_header_t *hdr,
                                 rn_producer_check_t *chk);
/* Same for a records blob: idempotent producers must send one batch per
   partition (Produce v3+); a multi-batch blob is checked batch by batch
   only when none of its batches is idempotent. */
rn_err_t rn_producer_state_check_records(const rn_producer_state_t *ps, const uint8_t *records,
                                         size_t len, rn_producer_check_t *chk);

/* Records an appended batch (header as written: offsets assigned). No-op for
   non-idempotent batches. RN_ERR_NO_MEMORY if the table cannot grow. */
rn_err_t rn_producer_state_record(rn_producer_state_t *ps, const rn_batch_header_t *hdr);
/* Records every batch of an appended blob. */
rn_err_t rn_producer_state_record_records(rn_producer_state_t *ps, const uint8_t *records,
                                          size_t len);

/* Forgets producers whose last batch is older than now - expiration_ms
   (producer.id.expiration.ms). Returns how many. */
uint32_t rn_producer_state_expire(rn_producer_state_t *ps, int64_t now_ms, int64_t expiration_ms);
/* Forgets the batches at or after `offset` (the log was rolled back there
   after a failed write or sync), so their sequences count as never
   appended and a retry appends them again. A producer keeps its entry and
   epoch even with no batch left: like one whose batches retention
   removed, its next sequence is then accepted as is. */
void rn_producer_state_truncate(rn_producer_state_t *ps, int64_t offset);
/* Forgets everything (log truncated below all of it). */
void rn_producer_state_clear(rn_producer_state_t *ps);
uint32_t rn_producer_state_count(const rn_producer_state_t *ps);
/* Calls fn for each producer: its id, epoch, last sequence (-1 when no
   batch is remembered) and last timestamp (DescribeProducers). */
typedef void (*rn_producer_fn)(void *ctx, int64_t producer_id, int16_t epoch, int32_t last_sequence,
                               int64_t last_timestamp_ms);
void rn_producer_state_each(const rn_producer_state_t *ps, rn_producer_fn fn, void *ctx);

/* Writes `<offset>.snapshot` for the state as of log offset `offset` (the log
   end) atomically, then deletes older snapshots. */
rn_err_t rn_producer_state_save(const rn_producer_state_t *ps, rn_io_t *io, const char *dir,
                                int64_t offset);
/*
 * Rebuilds the state at open: newest snapshot at or below the log end (newer
 * or unreadable ones are deleted), then the batch headers after it replayed
 * from the log. *replayed_from (may be NULL) gets where the replay started.
 */
rn_err_t rn_producer_state_load(rn_producer_state_t *ps, rn_io_t *io, rn_log_t *log,
                                int64_t *replayed_from);

#endif
