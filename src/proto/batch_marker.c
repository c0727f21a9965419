/* batch_marker.c: transaction marker batches (see batch_marker.h). */
#include "proto/batch_marker.h"
#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "proto/wire.h"

#include <string.h>

/* The record: length 16, attributes, timestamp delta, offset delta, key
   length 4 and key, value length 6 and value, no headers (varints
   zig-zagged: 16 -> 32, 4 -> 8, 6 -> 12). */
enum { MARKER_RECORD_BYTES = 17, MARKER_KEY_AT = 5, MARKER_VALUE_AT = 10 };

void rn_batch_marker_encode(uint8_t *out, int64_t producer_id, int16_t producer_epoch, bool commit,
                            int32_t coordinator_epoch, int64_t timestamp_ms) {
    RN_ASSERT(producer_id >= 0 && producer_epoch >= 0);
    memset(out, 0, RN_BATCH_MARKER_BYTES);
    rn_be64_put(out + RN_BATCH_OFF_BASE_OFFSET, 0);
    rn_be32_put(out + RN_BATCH_OFF_LENGTH, RN_BATCH_MARKER_BYTES - RN_BATCH_LOG_OVERHEAD);
    rn_be32_put(out + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
    out[RN_BATCH_OFF_MAGIC] = RN_BATCH_MAGIC;
    uint16_t attrs = RN_BATCH_ATTR_TRANSACTIONAL | RN_BATCH_ATTR_CONTROL;
    out[RN_BATCH_OFF_ATTRIBUTES] = (uint8_t)(attrs >> 8);
    out[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)attrs;
    rn_be32_put(out + RN_BATCH_OFF_LAST_OFFSET_DELTA, 0);
    rn_be64_put(out + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)timestamp_ms);
    rn_be64_put(out + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)timestamp_ms);
    rn_be64_put(out + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id);
    out[RN_BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)producer_epoch >> 8);
    out[RN_BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)producer_epoch;
    rn_be32_put(out + RN_BATCH_OFF_BASE_SEQUENCE, (uint32_t)-1);
    rn_be32_put(out + RN_BATCH_OFF_RECORDS_COUNT, 1);
    uint8_t *rec = out + RN_BATCH_HEADER_BYTES;
    static const uint8_t frame[MARKER_RECORD_BYTES] = {32, 0, 0, 0, 8, 0, 0, 0, 0, 12};
    memcpy(rec, frame, sizeof frame);
    rec[MARKER_KEY_AT + 3] = commit ? RN_BATCH_MARKER_COMMIT : RN_BATCH_MARKER_ABORT;
    rn_be32_put(rec + MARKER_VALUE_AT + 2, (uint32_t)coordinator_epoch);
    uint32_t crc = rn_crc32c(0, out + RN_BATCH_OFF_ATTRIBUTES,
                             RN_BATCH_MARKER_BYTES - RN_BATCH_OFF_ATTRIBUTES);
    rn_be32_put(out + RN_BATCH_OFF_CRC, crc);
}

rn_err_t rn_batch_marker_decode(const uint8_t *p, size_t len, bool *commit,
                                int32_t *coordinator_epoch) {
    if (len < RN_BATCH_HEADER_BYTES) return RN_ERR_CORRUPT;
    rn_batch_header_t hdr;
    rn_batch_header_parse(p, &hdr);
    if (!rn_batch_is_control(&hdr) || hdr.records_count != 1 || rn_batch_size(&hdr) > len)
        return RN_ERR_CORRUPT;
    rn_reader_t r;
    rn_reader_init(&r, p + RN_BATCH_HEADER_BYTES, rn_batch_size(&hdr) - RN_BATCH_HEADER_BYTES);
    (void)rn_read_varint(&r);  /* record length */
    (void)rn_read_int8(&r);    /* attributes */
    (void)rn_read_varlong(&r); /* timestamp delta */
    (void)rn_read_varint(&r);  /* offset delta */
    int32_t key_len = rn_read_varint(&r);
    if (r.err != RN_OK || key_len < 4) return RN_ERR_CORRUPT;
    (void)rn_read_int16(&r); /* key version */
    int16_t type = rn_read_int16(&r);
    rn_read_skip(&r, (size_t)(key_len - 4));
    int32_t value_len = rn_read_varint(&r);
    if (r.err != RN_OK) return RN_ERR_CORRUPT;
    if (type != RN_BATCH_MARKER_ABORT && type != RN_BATCH_MARKER_COMMIT) return RN_ERR_NOT_FOUND;
    *commit = type == RN_BATCH_MARKER_COMMIT;
    *coordinator_epoch = -1;
    if (value_len >= 6) {
        (void)rn_read_int16(&r); /* value version */
        *coordinator_epoch = rn_read_int32(&r);
    }
    return r.err == RN_OK ? RN_OK : RN_ERR_CORRUPT;
}
