/*
 * batch.c: record batch v2 header parsing, validation and in-place rewrites.
 *
 * Owns nothing; allocates only a decompression source when a compressed
 * batch needs one and the caller lent none. Every read of untrusted bytes
 * goes through the bounded cursor below; a length read off the wire is never
 * used to index before it is checked against what remains.
 *
 * The design keeps decompression off the produce path; this file holds its
 * one deliberate exception. Kafka opens every compressed batch it accepts and
 * so refuses one whose records do not add up (a count that lies, garbage
 * that inflates to nothing valid); to answer as Kafka does, a compressed
 * batch is streamed through its decompressor (batch_inflate.c) a scratch
 * buffer at a time and walked by the same record walker as an uncompressed
 * one, the output thrown away as it goes. The stored bytes stay exactly the
 * producer's: nothing is recompressed or rewritten.
 */
#include "batch.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/limits.h"
#include "proto/batch_inflate.h"

#include <string.h>

/* ---- reasons ---- */

rn_err_t rn_batch_reason_err(rn_batch_reason_t reason) {
    RN_ASSERT((unsigned)reason < RN_BATCH_REASON__COUNT);
    switch (reason) {
    case RN_BATCH_OK:
        return RN_OK;
    case RN_BATCH_BAD_MAGIC:
    case RN_BATCH_NO_KEY:
        return RN_ERR_INVALID;
    case RN_BATCH_UNKNOWN_MAGIC:
        return RN_ERR_CORRUPT;
    case RN_BATCH_TOO_LARGE:
    case RN_BATCH_LIST_TOO_LARGE:
        return RN_ERR_TOO_LARGE;
    case RN_BATCH_NO_MEMORY:
        return RN_ERR_NO_MEMORY;
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
        [RN_BATCH_BAD_OFFSET_DELTA] = "bad_offset_delta",
        [RN_BATCH_BAD_COMPRESSED] = "bad_compressed",
        [RN_BATCH_INFLATED_TOO_LARGE] = "inflated_too_large",
        [RN_BATCH_NO_MEMORY] = "no_memory",
        [RN_BATCH_BAD_PRODUCER] = "bad_producer",
        [RN_BATCH_CONTROL] = "control",
        [RN_BATCH_TOO_LARGE] = "too_large",
        [RN_BATCH_LIST_TOO_LARGE] = "list_too_large",
        [RN_BATCH_EMPTY] = "empty",
        [RN_BATCH_NO_KEY] = "no_key",
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

static rn_batch_reason_t check_counts(const rn_batch_header_t *hdr, unsigned flags) {
    if (flags & RN_BATCH_ALLOW_COMPACTED) {
        bool fits = hdr->records_count >= 0 && hdr->last_offset_delta >= 0 &&
                    hdr->records_count <= (int64_t)hdr->last_offset_delta + 1;
        return fits ? RN_BATCH_OK : RN_BATCH_BAD_COUNT;
    }
    if (hdr->records_count < 1) return RN_BATCH_BAD_COUNT;
    if (hdr->last_offset_delta < 0) return RN_BATCH_BAD_COUNT;
    if ((int64_t)hdr->last_offset_delta + 1 != hdr->records_count) return RN_BATCH_BAD_COUNT;
    /* Each record takes RN_BATCH_RECORD_BYTES_MIN bytes at least, of the
       batch or, compressed, of what it may inflate to. */
    size_t room = rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE
                      ? rn_batch_size(hdr) - RN_BATCH_HEADER_BYTES
                      : RN_BATCH_INFLATED_BYTES_MAX;
    if ((size_t)hdr->records_count > room / RN_BATCH_RECORD_BYTES_MIN) return RN_BATCH_BAD_COUNT;
    return RN_BATCH_OK;
}

static rn_batch_reason_t check_producer(const rn_batch_header_t *hdr) {
    /* A transaction marker (a control batch) names its producer with no
       sequence, as Kafka writes it. */
    if (hdr->producer_id >= 0 && hdr->base_sequence < 0 && !rn_batch_is_control(hdr))
        return RN_BATCH_BAD_PRODUCER;
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
    rn_batch_reason_t reason = check_counts(hdr, lim->flags);
    if (reason != RN_BATCH_OK) return reason;
    if (rn_batch_is_control(hdr) && !(lim->flags & RN_BATCH_ALLOW_CONTROL)) return RN_BATCH_CONTROL;
    return check_producer(hdr);
}

/* ---- record walk ---- */

/*
 * A bounded cursor over untrusted bytes; any overrun sets bad and sticks.
 * The bytes are a stream of chunks: an uncompressed batch is one chunk, a
 * compressed one the decompressor's output, pulled a chunk at a time when
 * the cursor runs dry (cur_refill) and never kept, so a record may straddle
 * chunks. Positions (cur_pos) count from the start of the stream.
 */
typedef struct cursor {
    const uint8_t *p;
    const uint8_t *end;
    int64_t end_pos;            /* stream position of end */
    rn_batch_inflate_t *src;    /* where more bytes come from, or NULL */
    rn_inflate_status_t src_st; /* why the source stopped (END or an error) */
    bool bad;
} cursor_t;

static inline int64_t cur_pos(const cursor_t *cur) {
    return cur->end_pos - (int64_t)(cur->end - cur->p);
}

/* Pulls the next chunk once the current one is used up; false at the end of
   the stream or on a source error (src_st says which). */
static bool cur_refill(cursor_t *cur) {
    RN_ASSERT(cur->p == cur->end);
    if (!cur->src) return false;
    const uint8_t *chunk;
    size_t n;
    cur->src_st = rn_batch_inflate_next(cur->src, &chunk, &n);
    if (cur->src_st != RN_INFLATE_MORE) return false;
    cur->p = chunk;
    cur->end = chunk + n;
    cur->end_pos += (int64_t)n;
    return true;
}

static bool cur_more(cursor_t *cur) { return cur->p < cur->end || cur_refill(cur); }

static uint64_t cur_uvarint_long(cursor_t *cur, unsigned bytes_max) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes_max; i++) {
        if (!cur_more(cur)) break;
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

/* Skips n bytes across chunks (n already checked against the record). */
static void cur_skip_long(cursor_t *cur, int64_t n) {
    while (n > cur->end - cur->p) {
        n -= cur->end - cur->p;
        cur->p = cur->end;
        if (!cur_refill(cur)) {
            cur->bad = true;
            return;
        }
    }
    cur->p += n;
}

RN_HOT_INLINE void cur_skip(cursor_t *cur, int64_t n) {
    RN_DASSERT(n >= 0);
    if (__builtin_expect(n <= cur->end - cur->p, 1))
        cur->p += n;
    else
        cur_skip_long(cur, n);
}

/* A length-prefixed field within the record ending at rec_end: -1 (null)
   allowed when nullable. Returns the length read (-1: null). */
RN_HOT_INLINE int64_t cur_skip_field(cursor_t *cur, bool nullable, int64_t rec_end) {
    int64_t len = cur_varint(cur);
    if (cur->bad) return 0;
    if (len == -1 && nullable) return -1;
    if (len < 0 || len > rec_end - cur_pos(cur)) {
        cur->bad = true;
        return 0;
    }
    cur_skip(cur, len);
    return len;
}

/* How strictly a walk checks: compressed batches are stored without the
   rewrite Kafka would do, so their offset deltas must already be right. */
typedef struct walk {
    const rn_batch_header_t *hdr;
    int64_t bytes_max;           /* stream bytes the records may span */
    bool strict;                 /* offset deltas and timestamps checked */
    rn_batch_keyless_t *keyless; /* keyless records noted here; NULL: allowed */
} walk_t;

/* Notes record index as keyless (RN_BATCH_REQUIRE_KEYS). */
static void note_keyless(rn_batch_keyless_t *keyless, int32_t index) {
    if (keyless->total < RN_BATCH_KEYLESS_REPORTED_MAX) keyless->index[keyless->total] = index;
    keyless->total++;
}

/* Parses one record body of len bytes (after its length) exactly. */
static rn_batch_reason_t record_body(cursor_t *cur, const walk_t *walk, int32_t index,
                                     int64_t len) {
    int64_t rec_end = cur_pos(cur) + len;
    cur_skip(cur, 1); /* attributes: unused in v2, as Kafka */
    int64_t ts_delta = cur_varlong(cur);
    int64_t offset_delta = cur_varint(cur);
    if (cur->bad) return RN_BATCH_BAD_RECORDS;
    if (walk->strict) {
        /* uncompressed: rewritten meaning, not checked (as Kafka) */
        int64_t ts;
        if (offset_delta != index) return RN_BATCH_BAD_OFFSET_DELTA;
        if (__builtin_add_overflow(walk->hdr->base_timestamp, ts_delta, &ts))
            return RN_BATCH_BAD_RECORDS;
    }
    int64_t key_len = cur_skip_field(cur, true, rec_end);
    if (key_len < 0 && walk->keyless && !cur->bad) note_keyless(walk->keyless, index);
    cur_skip_field(cur, true, rec_end); /* value */
    int64_t headers = cur_varint(cur);
    if (cur->bad || headers < 0 || headers > rec_end - cur_pos(cur)) return RN_BATCH_BAD_RECORDS;
    for (int64_t i = 0; i < headers && !cur->bad; i++) {
        cur_skip_field(cur, false, rec_end); /* header key */
        cur_skip_field(cur, true, rec_end);  /* header value */
    }
    return !cur->bad && cur_pos(cur) == rec_end ? RN_BATCH_OK : RN_BATCH_BAD_RECORDS;
}

/* The reason a streamed walk stopped short: the source's failure if it had
   one, else the stream simply ended (fewer records than claimed). */
static rn_batch_reason_t source_reason(const cursor_t *cur, rn_batch_reason_t otherwise) {
    switch (cur->src_st) {
    case RN_INFLATE_CORRUPT:
        return RN_BATCH_BAD_COMPRESSED;
    case RN_INFLATE_TOO_LARGE:
        return RN_BATCH_INFLATED_TOO_LARGE;
    case RN_INFLATE_NO_MEMORY:
        return RN_BATCH_NO_MEMORY;
    default:
        return otherwise;
    }
}

/* Walks records_count records and requires the stream to end after them.
   One walker for both kinds of batch; `cur` decides where bytes come from. */
static rn_batch_reason_t records_walk(cursor_t *cur, const walk_t *walk) {
    for (int32_t i = 0; i < walk->hdr->records_count; i++) {
        if (!cur_more(cur)) /* the stream ends before the count: Kafka's premature EOF */
            return cur->src ? source_reason(cur, RN_BATCH_BAD_COUNT) : RN_BATCH_BAD_RECORDS;
        int64_t len = cur_varint(cur);
        if (cur->bad || len < RN_BATCH_RECORD_BYTES_MIN - 1 || len > walk->bytes_max - cur_pos(cur))
            return source_reason(cur, RN_BATCH_BAD_RECORDS);
        rn_batch_reason_t reason = record_body(cur, walk, i, len);
        if (reason != RN_BATCH_OK) return source_reason(cur, reason);
    }
    if (cur->p != cur->end) return cur->src ? RN_BATCH_BAD_COUNT : RN_BATCH_BAD_RECORDS;
    if (cur_refill(cur)) return RN_BATCH_BAD_COUNT; /* records left over after the count */
    rn_batch_reason_t reason = source_reason(cur, RN_BATCH_OK);
    if (reason == RN_BATCH_OK && walk->keyless && walk->keyless->total > 0) return RN_BATCH_NO_KEY;
    return reason;
}

static rn_batch_reason_t records_plain(const uint8_t *p, const rn_batch_header_t *hdr,
                                       rn_batch_keyless_t *keyless) {
    size_t bytes = rn_batch_size(hdr) - RN_BATCH_HEADER_BYTES;
    cursor_t cur = {p + RN_BATCH_HEADER_BYTES,
                    p + rn_batch_size(hdr),
                    (int64_t)bytes,
                    NULL,
                    RN_INFLATE_END,
                    false};
    walk_t walk = {hdr, (int64_t)bytes, false, keyless};
    return records_walk(&cur, &walk);
}

static rn_batch_reason_t records_compressed(const uint8_t *p, const rn_batch_header_t *hdr,
                                            rn_batch_inflate_t *lent, rn_batch_keyless_t *keyless) {
    rn_batch_inflate_t *inf = lent ? lent : rn_batch_inflate_new();
    if (!inf) return RN_BATCH_NO_MEMORY;
    rn_batch_inflate_begin(inf, rn_batch_compression(hdr), p + RN_BATCH_HEADER_BYTES,
                           rn_batch_size(hdr) - RN_BATCH_HEADER_BYTES);
    cursor_t cur = {NULL, NULL, 0, inf, RN_INFLATE_MORE, false};
    /* A batch the cleaner shortened keeps its records' own offset deltas. */
    bool shortened = hdr->records_count != (int64_t)hdr->last_offset_delta + 1;
    walk_t walk = {hdr, RN_BATCH_INFLATED_BYTES_MAX, !shortened, keyless};
    rn_batch_reason_t reason = records_walk(&cur, &walk);
    RN_ASSERT(reason != RN_BATCH_OK || rn_batch_inflate_total(inf) <= RN_BATCH_INFLATED_BYTES_MAX);
    if (!lent) rn_batch_inflate_free(inf);
    return reason;
}

rn_batch_reason_t rn_batch_check_body(const uint8_t *p, const rn_batch_header_t *hdr,
                                      const rn_batch_limits_t *lim) {
    return rn_batch_check_body_with(p, hdr, lim, NULL);
}

/* The body check; keyless records are noted in *keyless (RN_BATCH_REQUIRE_KEYS). */
static rn_batch_reason_t check_body(const uint8_t *p, const rn_batch_header_t *hdr,
                                    const rn_batch_limits_t *lim, rn_batch_inflate_t *inf,
                                    rn_batch_keyless_t *keyless) {
    RN_ASSERT(hdr->batch_length >= RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD);
    size_t size = rn_batch_size(hdr);
    uint32_t crc = rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, size - RN_BATCH_OFF_ATTRIBUTES);
    if (crc != hdr->crc) return RN_BATCH_BAD_CRC;
    if (lim->flags & RN_BATCH_SKIP_RECORDS) return RN_BATCH_OK;
    if (hdr->records_count == 0) /* only past check_counts with RN_BATCH_ALLOW_COMPACTED */
        return size == RN_BATCH_HEADER_BYTES ? RN_BATCH_OK : RN_BATCH_BAD_RECORDS;
    /* Control records carry a key always; data batches alone are checked. */
    if (!(lim->flags & RN_BATCH_REQUIRE_KEYS) || rn_batch_is_control(hdr)) keyless = NULL;
    if (keyless) keyless->total = 0;
    if (rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE)
        return records_plain(p, hdr, keyless);
    return records_compressed(p, hdr, inf, keyless);
}

rn_batch_reason_t rn_batch_check_body_with(const uint8_t *p, const rn_batch_header_t *hdr,
                                           const rn_batch_limits_t *lim, rn_batch_inflate_t *inf) {
    rn_batch_keyless_t keyless;
    return check_body(p, hdr, lim, inf, &keyless);
}

/* Makes the call's decompression source when a compressed batch first needs
   one and the caller lent none: one per call, not one per batch. */
static rn_batch_reason_t need_source(rn_batch_inflate_t **inf, const rn_batch_limits_t *lim,
                                     const rn_batch_header_t *hdr) {
    if (*inf || rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE) return RN_BATCH_OK;
    if (lim->flags & RN_BATCH_SKIP_RECORDS) return RN_BATCH_OK;
    *inf = rn_batch_inflate_new();
    return *inf ? RN_BATCH_OK : RN_BATCH_NO_MEMORY;
}

int rn_batch_first_compression(const uint8_t *blob, size_t len) {
    RN_ASSERT(blob != NULL || len == 0);
    if (len < RN_BATCH_HEADER_BYTES || blob[RN_BATCH_OFF_MAGIC] != RN_BATCH_MAGIC) return -1;
    rn_batch_header_t hdr;
    rn_batch_header_parse(blob, &hdr);
    if (hdr.batch_length < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD) return -1;
    if (rn_batch_size(&hdr) > len) return -1;
    return rn_batch_compression(&hdr);
}

rn_err_t rn_batch_validate(const uint8_t *blob, size_t len, const rn_batch_limits_t *lim,
                           rn_batch_summary_t *sum) {
    return rn_batch_validate_with(blob, len, lim, NULL, sum);
}

rn_err_t rn_batch_validate_with(const uint8_t *blob, size_t len, const rn_batch_limits_t *lim,
                                rn_batch_inflate_t *lent, rn_batch_summary_t *sum) {
    RN_ASSERT(blob != NULL || len == 0);
    RN_ASSERT(sum != NULL);
    memset(sum, 0, sizeof(*sum));
    rn_batch_inflate_t *inf = lent;
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
        if (reason == RN_BATCH_OK) reason = need_source(&inf, lim, &hdr);
        if (reason == RN_BATCH_OK) reason = check_body(blob + pos, &hdr, lim, inf, &sum->keyless);
        if (reason != RN_BATCH_OK) break;
        pos += rn_batch_size(&hdr);
        sum->batch_count++;
        sum->records_count += hdr.records_count;
    }
    if (inf != lent) rn_batch_inflate_free(inf);
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
    cursor_t cur = {
        p + RN_BATCH_HEADER_BYTES, p + rn_batch_size(hdr), 0, NULL, RN_INFLATE_END, false};
    for (int32_t i = 0; i < hdr->records_count; i++) {
        int64_t len = cur_varint(&cur);
        if (cur.bad || len < 1 || len > cur.end - cur.p) return -1;
        cursor_t rec = {cur.p + 1, cur.p + len, 0, NULL, RN_INFLATE_END, false};
        int64_t ts_delta = cur_varlong(&rec);
        int64_t offset_delta = cur_varint(&rec);
        int64_t ts;
        if (rec.bad || __builtin_add_overflow(hdr->base_timestamp, ts_delta, &ts)) return -1;
        if (ts >= ts_ms) return hdr->base_offset + offset_delta;
        cur.p += len;
    }
    return -1;
}
