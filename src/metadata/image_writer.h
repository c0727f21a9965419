/*
 * image_writer.h: an image turned back into the records that rebuild it,
 * for Raft snapshots, and image equality for tests and the simulator.
 *
 * What it does: rn_image_write emits, from empty, the records that rebuild
 * an equal image: every registered broker (RegisterBrokerRecord carrying its
 * epoch, fenced and shutdown state), then each topic in name order (its
 * TopicRecord, PartitionRecords with their current leader, epochs, replicas
 * and ISR, and its config overrides), then broker-level configs, then the
 * producer-id point. Records go into batches of bounded size; each full
 * batch, and the last one, is handed to a callback.
 *
 * Loading a snapshot: apply its batches to a builder over an empty image,
 * then rn_image_builder_set_next_offset to the offset that follows the
 * snapshot, since the records it holds are fewer than the records it
 * summarises.
 *
 * What it owns: nothing past a call; the batch handed to the callback is
 * reused after it returns.
 *
 * What it must never do: change the image; write a record the image would
 * refuse on replay.
 */
#ifndef RN_METADATA_IMAGE_WRITER_H
#define RN_METADATA_IMAGE_WRITER_H

#include "base/err.h"
#include "metadata/image.h"
#include "metadata/records.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Takes one batch of a snapshot (copy what you keep: the batch is reset and
   refilled after the call). An error stops the writer and is returned. */
typedef rn_err_t (*rn_image_batch_fn)(void *ctx, const rn_md_batch_t *batch);

/* Limits of each emitted batch: records_max (at most RN_MD_BATCH_RECORDS_MAX)
   and bytes_max (at least RN_MD_RECORD_BYTES_MAX + 4, so any record fits). */
typedef struct rn_image_write_limits {
    uint32_t records_max;
    size_t bytes_max;
} rn_image_write_limits_t;

/*
 * Writes img as records into batches, calling fn once per batch in order
 * (never with an empty batch; not at all for an empty image). Returns fn's
 * first error, or RN_ERR_NO_MEMORY.
 */
rn_err_t rn_image_write(const rn_image_t *img, const rn_image_write_limits_t *limits,
                        rn_image_batch_fn fn, void *ctx);

/*
 * True when a and b hold the same brokers, topics (names, ids, partitions
 * with leaders, epochs, replicas, ISR and reassignments, overrides), broker
 * configs and producer-id point. The next offset is not compared: a snapshot rebuilds
 * the state, not the history.
 */
bool rn_image_equal(const rn_image_t *a, const rn_image_t *b);

#endif
