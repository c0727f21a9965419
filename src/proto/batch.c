/*
 * batch.c: record batch v2 header parsing, validation and in-place rewrites.
 *
 * Owns nothing and never allocates. Every read of untrusted bytes goes through
 * the bounded cursor below; a length read off the wire is never used to index
 * before it is checked against what remains. Never decompresses: a compressed
 * batch is checked by its header and CRC only.
 */
#include "batch.h"

#include "base/assert.h"
#include "base/crc32c.h"

#include <string.h>

/* ---- reasons ---- */

rn_err_t rn_batch_reason_err(rn_batch_reason_t reason) {
    RN_ASSERT((unsigned)reason < RN_BATCH_REASON__COUNT);
    switch (reason) {
    case RN_BATCH_OK:
        return RN_OK;
    case RN_BATCH_BAD_MAGIC:
        return RN_ERR_INVALID;
    case RN_BATCH_UNKNOWN_MAGIC:
        return RN_ERR_CORRUPT;
    case RN_BATCH_TOO_LARGE:
    case RN_BATCH_LIST_TOO_LARGE:
        return RN_ERR_TOO_LARGE;
    default:
        return RN_ERR_CORRUPT;
    }
}

const char *rn_batch_reason_name(rn_batch_reason_t reason) {
    static const char *const names[RN_BATCH_REASON__COUNT] = {
        [RN_BATCH_OK] = "ok",
        [RN_BATCH_TRUNCATED] = "truncated",
        [RN_BATCH_BAD_LENGTH] = "bad_length",
        [RN_BATCH_BAD_MAGIC] = "bad_magic",
        [RN_BATCH_UNKNOWN_MAGIC] = "unknown_magic",
        [RN_BATCH_FRAGMENT] = "fragment",
        [RN_BATCH_BAD_CRC] = "bad_crc",
        [RN_BATCH_BAD_COUNT] = "bad_count",
        [RN_BATCH_BAD_RECORDS] = "bad_records",
        [RN_BATCH_BAD_COMPRESSION] = "bad_compression",
        [RN_BATCH_BAD_PRODUCER] = "bad_producer",
        [RN_BATCH_CONTROL] = "control",
        [RN_BATCH_TOO_LARGE] = "too_large",
        [RN_BATCH_LIST_TOO_LARGE] = "list_too_large",
        [RN_BATCH_EMPTY] = "empty",
    };
    RN_ASSERT((unsigned)reason < RN_BATCH_REASON__COUNT);
    return names[reason];
}

/* ---- header ---- */

void rn_batch_header_parse(const uint8_t *p, rn_batch_header_t *hdr) {
    RN_ASSERT(p != NULL);
    hdr->base_offset = (int64_t)rn_be64_get(p + RN_BATCH_OFF_BASE_OFFSET);
    hdr->batch_length = (int32_t)rn_be32_get(p + RN_BATCH_OFF_LENGTH);
    hdr->partition_leader_epoch = (int32_t)rn_be32_get(p + RN_BATCH_OFF_LEADER_EPOCH);
    hdr->magic = (int8_t)p[RN_BATCH_OFF_MAGIC];
    hdr->crc = rn_be32_get(p + RN_BATCH_OFF_CRC);
    hdr->attributes =
        (int16_t)(((uint32_t)p[RN_BATCH_OFF_ATTRIBUTES] << 8) | p[RN_BATCH_OFF_ATTRIBUTES + 1]);
    hdr->last_offset_delta = (int32_t)rn_be32_get(p + RN_BATCH_OFF_LAST_OFFSET_DELTA);
    hdr->base_timestamp = (int64_t)rn_be64_get(p + RN_BATCH_OFF_BASE_TIMESTAMP);
    hdr->max_timestamp = (int64_t)rn_be64_get(p + RN_BATCH_OFF_MAX_TIMESTAMP);
    hdr->producer_id = (int64_t)rn_be64_get(p + RN_BATCH_OFF_PRODUCER_ID);
    hdr->producer_epoch = (int16_t)(((uint32_t)p[RN_BATCH_OFF_PRODUCER_EPOCH] << 8) |
                                    p[RN_BATCH_OFF_PRODUCER_EPOCH + 1]);
    hdr->base_sequence = (int32_t)rn_be32_get(p + RN_BATCH_OFF_BASE_SEQUENCE);
    hdr->records_count = (int32_t)rn_be32_get(p + RN_BATCH_OFF_RECORDS_COUNT);
}

static rn_batch_reason_t check_counts(const rn_batch_header_t *hdr) {
    if (hdr->records_count < 1) return RN_BATCH_BAD_COUNT;
    if (hdr->last_offset_delta < 0) return RN_BATCH_BAD_COUNT;
    if ((int64_t)hdr->last_offset_delta + 1 != hdr->records_count) return RN_BATCH_BAD_COUNT;
    if (rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE) {
        size_t room = rn_batch_size(hdr) - RN_BATCH_HEADER_BYTES;
        if ((size_t)hdr->records_count > room / RN_BATCH_RECORD_BYTES_MIN)
            return RN_BATCH_BAD_COUNT;
    }
    return RN_BATCH_OK;
}

static rn_batch_reason_t check_producer(const rn_batch_header_t *hdr) {
    if (hdr->producer_id >= 0 && hdr->base_sequence < 0) return RN_BATCH_BAD_PRODUCER;
    if (rn_batch_is_transactional(hdr) && hdr->producer_id < 0) return RN_BATCH_BAD_PRODUCER;
    return RN_BATCH_OK;
}

rn_batch_reason_t rn_batch_check_header(const rn_batch_header_t *hdr, size_t avail,
                                        const rn_batch_limits_t *lim) {
    RN_ASSERT(lim != NULL);
    RN_ASSERT(avail >= RN_BATCH_HEADER_BYTES);
    if (hdr->batch_length < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD)
        return RN_BATCH_BAD_LENGTH;
    if (hdr->magic < 0 || hdr->magic > RN_BATCH_MAGIC) return RN_BATCH_UNKNOWN_MAGIC;
    if (hdr->magic != RN_BATCH_MAGIC) return RN_BATCH_BAD_MAGIC;
    size_t size = rn_batch_size(hdr);
    if (lim->batch_bytes_max > 0 && size > (size_t)lim->batch_bytes_max && size <= avail)
        return RN_BATCH_TOO_LARGE;
    if (size > avail) return RN_BATCH_TRUNCATED;
    if (rn_batch_compression(hdr) > RN_BATCH_COMPRESSION_ZSTD) return RN_BATCH_BAD_COMPRESSION;
    rn_batch_reason_t reason = check_counts(hdr);
    if (reason != RN_BATCH_OK) return reason;
    if (rn_batch_is_control(hdr) && !(lim->flags & RN_BATCH_ALLOW_CONTROL)) return RN_BATCH_CONTROL;
    return check_producer(hdr);
}

/* ---- record walk (uncompressed batches) ---- */

/* A bounded cursor over untrusted bytes; any overrun sets bad and sticks. */
typedef struct cursor {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} cursor_t;

static uint64_t cur_uvarint_long(cursor_t *cur, unsigned bytes_max) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes_max; i++) {
        if (cur->p >= cur->end) break;
        uint8_t b = *cur->p++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    cur->bad = true;
    return 0;
}

/* Most varints of a record (attributes aside: deltas, lengths of small
   keys, header counts) fit one byte; the walk is hot on small records. */
#define RN_HOT_INLINE static inline __attribute__((always_inline))

RN_HOT_INLINE uint64_t cur_uvarint(cursor_t *cur, unsigned bytes_max) {
    if (__builtin_expect(cur->end - cur->p >= 2, 1)) {
        const uint8_t *p = cur->p;
        if (p[0] < 0x80) {
            cur->p += 1;
            return p[0];
        }
        if (p[1] < 0x80) { /* e.g. the length of a 64..8191-byte value */
            cur->p += 2;
            return (uint64_t)(p[0] & 0x7F) | (uint64_t)p[1] << 7;
        }
    }
    return cur_uvarint_long(cur, bytes_max);
}

/* Zigzag varint (int32) and varlong (int64), as Kafka encodes them. */
RN_HOT_INLINE int64_t cur_varint(cursor_t *cur) {
    uint64_t u = cur_uvarint(cur, 5);
    if (u > UINT32_MAX) cur->bad = true;
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

RN_HOT_INLINE int64_t cur_varlong(cursor_t *cur) {
    uint64_t u = cur_uvarint(cur, 10);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

RN_HOT_INLINE void cur_skip(cursor_t *cur, int64_t n) {
    if (n < 0 || n > cur->end - cur->p) {
        cur->bad = true;
        return;
    }
    cur->p += n;
}

/* A length-prefixed field: -1 (null) allowed when nullable. */
RN_HOT_INLINE void cur_skip_field(cursor_t *cur, bool nullable) {
    int64_t len = cur_varint(cur);
    if (cur->bad) return;
    if (len == -1 && nullable) return;
    cur_skip(cur, len);
}

/* Parses one record body (after its length) exactly; false if malformed. */
static bool record_body_ok(const uint8_t *p, size_t len) {
    cursor_t cur = {p, p + len, false};
    cur_skip(&cur, 1);          /* attributes */
    (void)cur_varlong(&cur);    /* timestamp delta */
    (void)cur_varint(&cur);     /* offset delta: rewritten meaning, not checked (as Kafka) */
    cur_skip_field(&cur, true); /* key */
    cur_skip_field(&cur, true); /* value */
    int64_t headers = cur_varint(&cur);
    if (cur.bad || headers < 0 || headers > (int64_t)len) return false;
    for (int64_t i = 0; i < headers && !cur.bad; i++) {
        cur_skip_field(&cur, false); /* header key */
        cur_skip_field(&cur, true);  /* header value */
    }
    return !cur.bad && cur.p == cur.end;
}

static bool records_ok(const uint8_t *p, const rn_batch_header_t *hdr) {
    cursor_t cur = {p + RN_BATCH_HEADER_BYTES, p + rn_batch_size(hdr), false};
    for (int32_t i = 0; i < hdr->records_count; i++) {
        int64_t len = cur_varint(&cur);
        if (cur.bad || len < RN_BATCH_RECORD_BYTES_MIN - 1 || len > cur.end - cur.p) return false;
        if (!record_body_ok(cur.p, (size_t)len)) return false;
        cur.p += len;
    }
    return cur.p == cur.end;
}

rn_batch_reason_t rn_batch_check_body(const uint8_t *p, const rn_batch_header_t *hdr,
                                      const rn_batch_limits_t *lim) {
    RN_ASSERT(hdr->batch_length >= RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD);
    size_t size = rn_batch_size(hdr);
    uint32_t crc = rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, size - RN_BATCH_OFF_ATTRIBUTES);
    if (crc != hdr->crc) return RN_BATCH_BAD_CRC;
    if (rn_batch_compression(hdr) != RN_BATCH_COMPRESSION_NONE) return RN_BATCH_OK;
    if (lim->flags & RN_BATCH_SKIP_RECORDS) return RN_BATCH_OK;
    return records_ok(p, hdr) ? RN_BATCH_OK : RN_BATCH_BAD_RECORDS;
}

rn_err_t rn_batch_validate(const uint8_t *blob, size_t len, const rn_batch_limits_t *lim,
                           rn_batch_summary_t *sum) {
    RN_ASSERT(blob != NULL || len == 0);
    RN_ASSERT(sum != NULL);
    memset(sum, 0, sizeof(*sum));
    size_t pos = 0;
    rn_batch_reason_t reason = len == 0 ? RN_BATCH_EMPTY : RN_BATCH_OK;
    while (pos < len) {
        if (len - pos < RN_BATCH_HEADER_BYTES) {
            reason = pos > 0 ? RN_BATCH_FRAGMENT : RN_BATCH_TRUNCATED;
            break;
        }
        rn_batch_header_t hdr;
        rn_batch_header_parse(blob + pos, &hdr);
        reason = rn_batch_check_header(&hdr, len - pos, lim);
        if (reason == RN_BATCH_OK) reason = rn_batch_check_body(blob + pos, &hdr, lim);
        if (reason != RN_BATCH_OK) break;
        pos += rn_batch_size(&hdr);
        sum->batch_count++;
        sum->records_count += hdr.records_count;
    }
    sum->bytes_valid = pos;
    sum->reason = reason;
    RN_ASSERT(sum->bytes_valid <= len);
    return rn_batch_reason_err(reason);
}

/* ---- rewrites ---- */

void rn_batch_set_base_offset(uint8_t *p, int64_t base_offset) {
    RN_ASSERT(base_offset >= 0);
    rn_be64_put(p + RN_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void rn_batch_set_leader_epoch(uint8_t *p, int32_t epoch) {
    rn_be32_put(p + RN_BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void rn_batch_set_log_append_time(uint8_t *p, int64_t timestamp_ms) {
    rn_batch_header_t hdr;
    rn_batch_header_parse(p, &hdr);
    RN_ASSERT(hdr.magic == RN_BATCH_MAGIC);
    uint16_t attrs = (uint16_t)((uint16_t)hdr.attributes | RN_BATCH_ATTR_LOG_APPEND_TIME);
    p[RN_BATCH_OFF_ATTRIBUTES] = (uint8_t)(attrs >> 8);
    p[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)attrs;
    rn_be64_put(p + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)timestamp_ms);
    size_t size = rn_batch_size(&hdr);
    uint32_t crc = rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, size - RN_BATCH_OFF_ATTRIBUTES);
    rn_be32_put(p + RN_BATCH_OFF_CRC, crc);
}

int64_t rn_batch_offset_for_timestamp(const uint8_t *p, const rn_batch_header_t *hdr,
                                      int64_t ts_ms) {
    RN_ASSERT(rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE);
    if (hdr->attributes & RN_BATCH_ATTR_LOG_APPEND_TIME)
        return hdr->max_timestamp >= ts_ms ? hdr->base_offset : -1;
    cursor_t cur = {p + RN_BATCH_HEADER_BYTES, p + rn_batch_size(hdr), false};
    for (int32_t i = 0; i < hdr->records_count; i++) {
        int64_t len = cur_varint(&cur);
        if (cur.bad || len < 1 || len > cur.end - cur.p) return -1;
        cursor_t rec = {cur.p + 1, cur.p + len, false};
        int64_t ts_delta = cur_varlong(&rec);
        int64_t offset_delta = cur_varint(&rec);
        int64_t ts;
        if (rec.bad || __builtin_add_overflow(hdr->base_timestamp, ts_delta, &ts)) return -1;
        if (ts >= ts_ms) return hdr->base_offset + offset_delta;
        cur.p += len;
    }
    return -1;
}
