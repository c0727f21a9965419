/*
 * batch_build.h: record batch v2 bytes for the unit tests: zig-zag and
 * unsigned varints, one record, and a whole uncompressed batch or just its
 * 61-byte header (lengths, counts, timestamps, producer fields, CRC-32C).
 * The names start with bb_ ("batch builder"). Callers own the output
 * buffers and size them; nothing here allocates or checks a capacity.
 */
#ifndef RN_TESTS_BATCH_BUILD_H
#define RN_TESTS_BATCH_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes v as an unsigned varint at p; the bytes written (at most 10). */
size_t bb_put_uvarint(uint8_t *p, uint64_t v);

/* Writes v zig-zag encoded as a varint at p; the bytes written (at most 10). */
size_t bb_put_varint(uint8_t *p, int64_t v);

/* One record, as Kafka frames it: its length, then attributes 0, the two
   deltas, key, value and headers. */
typedef struct bb_record {
    int64_t ts_delta;
    int64_t offset_delta;
    int64_t key_bytes;   /* -1: a null key; else that many 'k' bytes */
    int64_t value_bytes; /* -1: a null value; else that many value_fill bytes */
    uint8_t value_fill;
    bool header; /* one header, key "hk" and a null value; else none */
} bb_record_t;

/* Writes the record at out; the bytes written. */
size_t bb_record_put(uint8_t *out, const bb_record_t *r);

/* A batch at base offset 0, leader epoch 0. Record i has no key, offset
   delta i, timestamp delta i * ts_step, and a value of value_bytes bytes,
   each value_fill, or 'a' + i % 26 when value_fill is 0. The header's max
   timestamp is first_ts + (records - 1) * ts_step. */
typedef struct bb_batch {
    int records;
    int64_t value_bytes;
    uint8_t value_fill;
    int64_t first_ts;
    int64_t ts_step;
    int64_t producer_id; /* -1, epoch -1 and seq -1: not idempotent */
    int16_t epoch;
    int32_t seq;
    int attributes; /* compression codec and flags, as on the wire */
} bb_batch_t;

/* Writes the whole batch at out; its size. */
size_t bb_batch_build(uint8_t *out, const bb_batch_t *s);

/* Writes the header of a batch of n bytes whose records region already
   stands at out + 61 (records, timestamps, producer fields and attributes
   from s; the record fields of s are not used), the CRC last. */
void bb_batch_finish(uint8_t *out, size_t n, const bb_batch_t *s);

#endif
