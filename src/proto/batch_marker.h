/*
 * batch_marker.h: transaction markers, Kafka's control batches (record
 * batch v2 with the transactional and control attributes, the producer's
 * id and epoch, no sequence) holding one record:
 *
 *   key   (4 bytes):  int16 version = 0, int16 type (0 ABORT, 1 COMMIT)
 *   value (6 bytes):  int16 version = 0, int32 coordinator epoch
 *
 * The whole batch is RN_BATCH_MARKER_BYTES long. Owns nothing.
 */
#ifndef RN_PROTO_BATCH_MARKER_H
#define RN_PROTO_BATCH_MARKER_H

#include "base/err.h"
#include "proto/batch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 61 header bytes and a record of 17. */
#define RN_BATCH_MARKER_BYTES 78

enum { RN_BATCH_MARKER_ABORT = 0, RN_BATCH_MARKER_COMMIT = 1 };

/* Writes a marker batch (base offset 0, leader epoch -1: the log sets
   both) into out[RN_BATCH_MARKER_BYTES]. */
void rn_batch_marker_encode(uint8_t *out, int64_t producer_id, int16_t producer_epoch, bool commit,
                            int32_t coordinator_epoch, int64_t timestamp_ms);

/* Reads the marker of a control batch (the whole batch at p, validated):
   RN_OK with *commit and *coordinator_epoch, RN_ERR_CORRUPT when its record
   is not a marker (an unknown control type is RN_ERR_NOT_FOUND). */
rn_err_t rn_batch_marker_decode(const uint8_t *p, size_t len, bool *commit,
                                int32_t *coordinator_epoch);

#endif
