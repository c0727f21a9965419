/*
 * batch.h: Kafka record batch v2 (magic 2): header parsing, validation of
 * untrusted bytes, and the few in-place rewrites the broker is allowed.
 *
 * Owns nothing: every function works on bytes the caller owns. It never
 * touches a byte the CRC covers except through rn_batch_set_log_append_time
 * (which recomputes the CRC). The one decompression on the produce path is
 * here, and deliberate: a compressed batch's records are streamed through a
 * decompressor (batch_inflate.h) and walked to be checked, then the output
 * is thrown away; the stored bytes stay the producer's. Allocates only the
 * decompression source when the caller lends none.
 *
 * Layout of one batch (all integers big-endian), 61 bytes of header then the
 * records:
 *
 *   offset size field                   notes
 *   ------ ---- ----------------------- ---------------------------------------
 *        0    8 base_offset             set by the broker; not under the CRC
 *        8    4 batch_length            bytes after this field (total - 12)
 *       12    4 partition_leader_epoch  set by the broker; not under the CRC
 *       16    1 magic                   2 (0 and 1 are the old message formats)
 *       17    4 crc                     CRC-32C of bytes 21 .. end of batch
 *       21    2 attributes              bits 0-2 compression (0 none, 1 gzip,
 *                                       2 snappy, 3 lz4, 4 zstd), bit 3
 *                                       timestamp type (1 = LogAppendTime),
 *                                       bit 4 transactional, bit 5 control,
 *                                       bit 6 delete horizon present
 *       23    4 last_offset_delta       records_count - 1 for a producer batch
 *       27    8 base_timestamp
 *       35    8 max_timestamp
 *       43    8 producer_id             -1 when not idempotent
 *       51    2 producer_epoch
 *       53    4 base_sequence           -1 when not idempotent
 *       57    4 records_count
 *       61    - records                 compressed as a whole when bits 0-2 != 0
 *
 * One record (uncompressed), varints zigzag-encoded as Kafka's:
 *   length varint (bytes after it), attributes int8, timestamp_delta varlong,
 *   offset_delta varint, key_length varint (-1 null), key, value_length varint
 *   (-1 null), value, header_count varint, then per header: key_length varint
 *   (>= 0), key, value_length varint (-1 null), value.
 */
#ifndef RN_PROTO_BATCH_H
#define RN_PROTO_BATCH_H

#include "base/endian.h"
#include "base/err.h"
#include "base/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RN_BATCH_HEADER_BYTES 61
/* Bytes before batch_length's coverage starts: base_offset + batch_length. */
#define RN_BATCH_LOG_OVERHEAD 12
#define RN_BATCH_MAGIC 2
/* Smallest encoded record: length, attributes, timestamp delta, offset delta,
   key length, value length, header count, one byte each. */
#define RN_BATCH_RECORD_BYTES_MIN 7

/* Field offsets, for readers of the table above. */
enum {
    RN_BATCH_OFF_BASE_OFFSET = 0,
    RN_BATCH_OFF_LENGTH = 8,
    RN_BATCH_OFF_LEADER_EPOCH = 12,
    RN_BATCH_OFF_MAGIC = 16,
    RN_BATCH_OFF_CRC = 17,
    RN_BATCH_OFF_ATTRIBUTES = 21,
    RN_BATCH_OFF_LAST_OFFSET_DELTA = 23,
    RN_BATCH_OFF_BASE_TIMESTAMP = 27,
    RN_BATCH_OFF_MAX_TIMESTAMP = 35,
    RN_BATCH_OFF_PRODUCER_ID = 43,
    RN_BATCH_OFF_PRODUCER_EPOCH = 51,
    RN_BATCH_OFF_BASE_SEQUENCE = 53,
    RN_BATCH_OFF_RECORDS_COUNT = 57,
};

/* attributes bits */
enum {
    RN_BATCH_COMPRESSION_MASK = 0x07,
    RN_BATCH_ATTR_LOG_APPEND_TIME = 1 << 3,
    RN_BATCH_ATTR_TRANSACTIONAL = 1 << 4,
    RN_BATCH_ATTR_CONTROL = 1 << 5,
    RN_BATCH_ATTR_DELETE_HORIZON = 1 << 6,
};

enum {
    RN_BATCH_COMPRESSION_NONE = 0,
    RN_BATCH_COMPRESSION_GZIP = 1,
    RN_BATCH_COMPRESSION_SNAPPY = 2,
    RN_BATCH_COMPRESSION_LZ4 = 3,
    RN_BATCH_COMPRESSION_ZSTD = 4,
};

/*
 * Why a batch was refused. The storage and partition layers carry this next
 * to the rn_err_t so the handler's one mapping function (errmap.c) can pick
 * the Kafka error code, roughly:
 *   bytes Kafka cannot frame (FRAGMENT, BAD_LENGTH, UNKNOWN_MAGIC, BAD_CRC,
 *   EMPTY)                                    -> CORRUPT_MESSAGE (2)
 *   TOO_LARGE (batch > max.message.bytes)     -> MESSAGE_TOO_LARGE (10)
 *   LIST_TOO_LARGE (set > segment.bytes)      -> RECORD_LIST_TOO_LARGE (18)
 *   framed but invalid (BAD_MAGIC for an old format in a v2 request,
 *   TRUNCATED, BAD_COUNT, BAD_RECORDS, BAD_COMPRESSION, BAD_PRODUCER,
 *   CONTROL, and for compressed batches BAD_OFFSET_DELTA, BAD_COMPRESSED,
 *   INFLATED_TOO_LARGE)                       -> INVALID_RECORD (87)
 *   NO_MEMORY                                 -> UNKNOWN_SERVER_ERROR (-1)
 */
typedef enum rn_batch_reason {
    RN_BATCH_OK = 0,
    RN_BATCH_TRUNCATED,          /* the blob ends inside a header or a batch */
    RN_BATCH_BAD_LENGTH,         /* batch_length below the header size */
    RN_BATCH_BAD_MAGIC,          /* magic 0 or 1: an older format in a v2 request */
    RN_BATCH_UNKNOWN_MAGIC,      /* magic no format has (not 0, 1 or 2) */
    RN_BATCH_FRAGMENT,           /* bytes after the last batch, too few for a header */
    RN_BATCH_BAD_CRC,            /* CRC-32C mismatch */
    RN_BATCH_BAD_COUNT,          /* records_count < 1, != last_offset_delta + 1,
                                    or more records than the bytes can hold */
    RN_BATCH_BAD_RECORDS,        /* record framing does not add up exactly */
    RN_BATCH_BAD_COMPRESSION,    /* compression codec 5..7 */
    RN_BATCH_BAD_OFFSET_DELTA,   /* a compressed record's offset delta is not
                                    its index (0 .. records_count - 1) */
    RN_BATCH_BAD_COMPRESSED,     /* the codec refuses the compressed bytes, or
                                    they stop short of the stream's end */
    RN_BATCH_INFLATED_TOO_LARGE, /* decompresses past RN_BATCH_INFLATED_BYTES_MAX */
    RN_BATCH_NO_MEMORY,          /* no memory to decompress with (not the batch's fault) */
    RN_BATCH_BAD_PRODUCER,       /* producer fields inconsistent */
    RN_BATCH_CONTROL,            /* a control batch where none is allowed */
    RN_BATCH_TOO_LARGE,          /* one batch larger than max.message.bytes */
    RN_BATCH_LIST_TOO_LARGE,     /* the whole set larger than segment.bytes */
    RN_BATCH_EMPTY,              /* a records blob with no batch at all */
    RN_BATCH_NO_KEY,             /* a record without a key for a compacted topic */
    RN_BATCH_REASON__COUNT
} rn_batch_reason_t;

typedef struct rn_batch_header {
    int64_t base_offset;
    int32_t batch_length;
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t records_count;
} rn_batch_header_t;

/* Options for validation. */
enum {
    RN_BATCH_ALLOW_CONTROL = 1u << 0, /* control batches (coordinator, replicas) */
    RN_BATCH_SKIP_RECORDS = 1u << 1,  /* skip the record walk (replica appends) */
    /* Stored data of a compacted log: fewer records than offsets (the
       cleaner's gaps), none at all in a producer's kept last batch. A
       shortened batch's records keep their offset deltas (not their index),
       and an emptied one has no records region whatever its codec. */
    RN_BATCH_ALLOW_COMPACTED = 1u << 2,
    /* Every record must have a key (a compacted topic, as Kafka): a batch
       with a keyless record is refused with RN_BATCH_NO_KEY. */
    RN_BATCH_REQUIRE_KEYS = 1u << 3,
};

typedef struct rn_batch_limits {
    int32_t batch_bytes_max; /* max.message.bytes; whole batch incl. overhead */
    unsigned flags;          /* RN_BATCH_ALLOW_* */
} rn_batch_limits_t;

struct rn_batch_inflate;

/* What a validation walk learned; on failure, where and why it stopped. */
/* The keyless records of the batch refused with RN_BATCH_NO_KEY. */
typedef struct rn_batch_keyless {
    int32_t total;                                /* keyless records in the batch */
    int32_t index[RN_BATCH_KEYLESS_REPORTED_MAX]; /* the first ones' indexes in it */
} rn_batch_keyless_t;

typedef struct rn_batch_summary {
    uint32_t batch_count;  /* whole valid batches before the stop */
    int64_t records_count; /* sum of records_count over them */
    size_t bytes_valid;    /* length of the valid prefix */
    rn_batch_reason_t reason;
    rn_batch_keyless_t keyless; /* with RN_BATCH_NO_KEY */
} rn_batch_summary_t;

/* Total bytes of a batch from its header (batch_length + 12). */
static inline size_t rn_batch_size(const rn_batch_header_t *hdr) {
    return (size_t)hdr->batch_length + RN_BATCH_LOG_OVERHEAD;
}
static inline int64_t rn_batch_last_offset(const rn_batch_header_t *hdr) {
    return hdr->base_offset + hdr->last_offset_delta;
}
static inline int rn_batch_compression(const rn_batch_header_t *hdr) {
    return hdr->attributes & RN_BATCH_COMPRESSION_MASK;
}
static inline bool rn_batch_is_control(const rn_batch_header_t *hdr) {
    return (hdr->attributes & RN_BATCH_ATTR_CONTROL) != 0;
}
static inline bool rn_batch_is_transactional(const rn_batch_header_t *hdr) {
    return (hdr->attributes & RN_BATCH_ATTR_TRANSACTIONAL) != 0;
}

/* The rn_err_t a reason travels as: CORRUPT, INVALID (magic), TOO_LARGE. */
rn_err_t rn_batch_reason_err(rn_batch_reason_t reason);
const char *rn_batch_reason_name(rn_batch_reason_t reason);

/* Decodes the 61 header bytes at p (len >= RN_BATCH_HEADER_BYTES). No checks. */
void rn_batch_header_parse(const uint8_t *p, rn_batch_header_t *hdr);

/*
 * Checks what the header alone can tell: length within [49, avail - 12],
 * magic, codec, counts, producer fields, size limit. `avail` is how many
 * bytes the caller has from p on (only the first 61 need be readable);
 * a batch extending past avail is RN_BATCH_TRUNCATED.
 */
rn_batch_reason_t rn_batch_check_header(const rn_batch_header_t *hdr, size_t avail,
                                        const rn_batch_limits_t *lim);

/*
 * Checks one whole batch at p (rn_batch_size(hdr) bytes readable): CRC, then
 * (unless RN_BATCH_SKIP_RECORDS) the record framing. A compressed batch is
 * decompressed as a stream and its records walked: each record's framing,
 * offset deltas 0 .. records_count - 1 in order, timestamps that do not
 * overflow, exactly records_count records and nothing after, at most
 * RN_BATCH_INFLATED_BYTES_MAX bytes. Call after rn_batch_check_header.
 */
rn_batch_reason_t rn_batch_check_body(const uint8_t *p, const rn_batch_header_t *hdr,
                                      const rn_batch_limits_t *lim);
/* The same with a decompression source the caller lends (reused from batch
   to batch); rn_batch_check_body makes one per compressed batch. */
rn_batch_reason_t rn_batch_check_body_with(const uint8_t *p, const rn_batch_header_t *hdr,
                                           const rn_batch_limits_t *lim,
                                           struct rn_batch_inflate *inf);

/*
 * Validates a records blob: one or more batches back to back, nothing after.
 * Returns RN_OK or rn_batch_reason_err(sum->reason); sum is always filled
 * (on failure: the valid prefix and the reason the next batch failed).
 */
rn_err_t rn_batch_validate(const uint8_t *blob, size_t len, const rn_batch_limits_t *lim,
                           rn_batch_summary_t *sum);
/* The same with a lent decompression source, or NULL: rn_batch_validate
   makes one for the call when a compressed batch first needs it. */
rn_err_t rn_batch_validate_with(const uint8_t *blob, size_t len, const rn_batch_limits_t *lim,
                                struct rn_batch_inflate *inf, rn_batch_summary_t *sum);

/* The compression codec of the first batch of a records blob, or -1 when
   the blob does not start with a whole batch v2 header. The Produce
   handler's version check (zstd needs v7) looks only here, as Kafka's. */
int rn_batch_first_compression(const uint8_t *blob, size_t len);

/* In-place rewrites of fields outside the CRC. */
void rn_batch_set_base_offset(uint8_t *p, int64_t base_offset);
void rn_batch_set_leader_epoch(uint8_t *p, int32_t epoch);
/* Sets the LogAppendTime bit and max_timestamp, then recomputes the CRC over
   the whole batch (rn_batch_size bytes at p must be readable). */
void rn_batch_set_log_append_time(uint8_t *p, int64_t timestamp_ms);

/*
 * Walks the records of an uncompressed, validated batch and returns the
 * offset of the first record with timestamp >= ts_ms (base + offset_delta),
 * or -1 if none. Compressed batches are never opened: the caller uses the
 * batch base offset.
 */
int64_t rn_batch_offset_for_timestamp(const uint8_t *p, const rn_batch_header_t *hdr,
                                      int64_t ts_ms);

#endif
