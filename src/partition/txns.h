/*
 * txns.h: the transactions of one partition: each producer's ongoing
 * transaction (from its first transactional batch here to its marker), the
 * first offset not yet stable (the last stable offset is the smaller of it
 * and the high watermark), and the aborted transactions a read_committed
 * fetch must name, as Kafka's ProducerStateManager and transaction index.
 *
 * Fed every batch the partition appends (leader, follower, replay at open);
 * a marker ends its producer's transaction, and an ABORT marker records the
 * transaction as aborted: (producer id, first offset, the marker's offset,
 * the last stable offset then).
 *
 * Kept across restarts in `txn.checkpoint`, written atomically with the
 * producer snapshot (clean shutdown) for the same offset; batches after it
 * are replayed from the log at open. Layout (big-endian):
 *
 *   offset size field
 *   ------ ---- ---------------------------------------------------------
 *        0    4 magic "RNTX"
 *        4    2 version (1)
 *        6    4 CRC-32C of bytes 10 .. end
 *       10    8 log offset covered (exclusive)
 *       18    4 ongoing count, then each 16 bytes: producer id int64,
 *               first offset int64
 *      ...    4 aborted count, then each 34 bytes, Kafka's AbortedTxn:
 *               version int16 (0), producer id int64, first offset int64,
 *               last offset int64, last stable offset int64
 *
 * Owns its tables (heap, bounded); owner thread only.
 */
#ifndef RN_PARTITION_TXNS_H
#define RN_PARTITION_TXNS_H

#include "io/io.h"
#include "proto/batch.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_txns rn_txns_t;

typedef struct rn_txn_aborted {
    int64_t producer_id;
    int64_t first_offset;
    int64_t last_offset; /* the ABORT marker's */
    int64_t last_stable_offset;
} rn_txn_aborted_t;

rn_err_t rn_txns_create(rn_txns_t **out);
void rn_txns_free(rn_txns_t *txns);

/* One appended batch (header as written, offsets assigned); for a control
   batch `batch` holds at least its first RN_BATCH_MARKER_BYTES bytes. hw:
   the high watermark now (an aborted entry's last stable offset). */
void rn_txns_on_batch(rn_txns_t *txns, const rn_batch_header_t *hdr, const uint8_t *batch,
                      size_t len, int64_t hw);
/* Every batch of an appended blob. */
void rn_txns_on_records(rn_txns_t *txns, const uint8_t *records, size_t len, int64_t hw);

/* The first offset of an ongoing transaction, INT64_MAX when none. */
int64_t rn_txns_first_unstable(const rn_txns_t *txns);
/* Whether the producer has an ongoing transaction here. */
bool rn_txns_ongoing(const rn_txns_t *txns, int64_t producer_id);
/* Its first offset, -1 when none. */
int64_t rn_txns_ongoing_first(const rn_txns_t *txns, int64_t producer_id);

/* The aborted transactions that overlap [from, to): last offset >= from and
   first offset < to; at most cap of them into out. Returns the count. */
int32_t rn_txns_aborted(const rn_txns_t *txns, int64_t from, int64_t to, rn_txn_aborted_t *out,
                        int32_t cap);
uint32_t rn_txns_aborted_count(const rn_txns_t *txns);
/* Transactions ongoing here now; markers and aborts seen since the last
   reset (metrics; the partition resets them after its replay at open). */
uint32_t rn_txns_ongoing_count(const rn_txns_t *txns);
uint64_t rn_txns_markers_seen(const rn_txns_t *txns);
uint64_t rn_txns_aborts_seen(const rn_txns_t *txns);
void rn_txns_reset_seen(rn_txns_t *txns);

/* The log was cut at end: what began at or after it is forgotten. */
void rn_txns_truncate(rn_txns_t *txns, int64_t end);
/* The log starts at start now: aborted transactions wholly below it go. */
void rn_txns_start_moved(rn_txns_t *txns, int64_t start);

/* Writes txn.checkpoint for the state as of log offset `offset`. */
rn_err_t rn_txns_save(const rn_txns_t *txns, rn_io_t *io, const char *dir, int64_t offset);
/* Reads txn.checkpoint if it covers exactly `offset` (the producer
   snapshot's): true then; false (state empty) when absent or another. */
bool rn_txns_load(rn_txns_t *txns, rn_io_t *io, const char *dir, int64_t offset);

#endif
