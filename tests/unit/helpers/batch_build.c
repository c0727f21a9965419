/*
 * batch_build.c: record batch v2 bytes for the unit tests (see
 * batch_build.h). The layout follows Kafka's: a 61-byte header whose CRC-32C
 * covers everything from the attributes on, then length-prefixed records.
 */
#include "batch_build.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "proto/batch.h"

#include <string.h>

size_t bb_put_uvarint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t bb_put_varint(uint8_t *p, int64_t v) {
    return bb_put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* The bytes bb_put_varint writes for v. */
static size_t varint_bytes(int64_t v) {
    uint8_t scratch[10];
    return bb_put_varint(scratch, v);
}

/* A key or value: its length, then that many fill bytes (none when null). */
static size_t put_bytes(uint8_t *out, int64_t len, uint8_t fill) {
    size_t n = bb_put_varint(out, len);
    if (len > 0) memset(out + n, fill, (size_t)len);
    return n + (len > 0 ? (size_t)len : 0);
}

/* The record's bytes after its length prefix. */
static size_t record_body_bytes(const bb_record_t *r) {
    size_t b = 1 + varint_bytes(r->ts_delta) + varint_bytes(r->offset_delta);
    b += varint_bytes(r->key_bytes) + (r->key_bytes > 0 ? (size_t)r->key_bytes : 0);
    b += varint_bytes(r->value_bytes) + (r->value_bytes > 0 ? (size_t)r->value_bytes : 0);
    b += varint_bytes(r->header ? 1 : 0);
    if (r->header) b += varint_bytes(2) + 2 + varint_bytes(-1);
    return b;
}

size_t bb_record_put(uint8_t *out, const bb_record_t *r) {
    size_t body = record_body_bytes(r);
    size_t n = bb_put_varint(out, (int64_t)body);
    size_t start = n;
    out[n++] = 0; /* attributes */
    n += bb_put_varint(out + n, r->ts_delta);
    n += bb_put_varint(out + n, r->offset_delta);
    n += put_bytes(out + n, r->key_bytes, 'k');
    n += put_bytes(out + n, r->value_bytes, r->value_fill);
    n += bb_put_varint(out + n, r->header ? 1 : 0);
    if (r->header) {
        n += bb_put_varint(out + n, 2);
        out[n++] = 'h';
        out[n++] = 'k';
        n += bb_put_varint(out + n, -1); /* null header value */
    }
    RN_ASSERT(n - start == body);
    return n;
}

void bb_batch_finish(uint8_t *out, size_t n, const bb_batch_t *s) {
    RN_ASSERT(n >= RN_BATCH_HEADER_BYTES);
    memset(out, 0, RN_BATCH_HEADER_BYTES);
    rn_be32_put(out + 8, (uint32_t)(n - 12)); /* batch length */
    out[16] = 2;                              /* magic */
    out[21] = (uint8_t)(s->attributes >> 8);
    out[22] = (uint8_t)s->attributes;
    rn_be32_put(out + 23, (uint32_t)(s->records - 1)); /* last offset delta */
    rn_be64_put(out + 27, (uint64_t)s->first_ts);
    rn_be64_put(out + 35, (uint64_t)(s->first_ts + (s->records - 1) * s->ts_step));
    rn_be64_put(out + 43, (uint64_t)s->producer_id);
    out[51] = (uint8_t)((uint16_t)s->epoch >> 8);
    out[52] = (uint8_t)s->epoch;
    rn_be32_put(out + 53, (uint32_t)s->seq);
    rn_be32_put(out + 57, (uint32_t)s->records);
    rn_be32_put(out + 17, rn_crc32c(0, out + 21, n - 21));
}

size_t bb_batch_build(uint8_t *out, const bb_batch_t *s) {
    RN_ASSERT(s->records >= 1);
    size_t n = RN_BATCH_HEADER_BYTES;
    for (int i = 0; i < s->records; i++) {
        uint8_t fill = (uint8_t)('a' + i % 26);
        bb_record_t r = {
            .ts_delta = i * s->ts_step,
            .offset_delta = i,
            .key_bytes = -1,
            .value_bytes = s->value_bytes,
            .value_fill = s->value_fill ? s->value_fill : fill,
        };
        n += bb_record_put(out + n, &r);
    }
    bb_batch_finish(out, n, s);
    return n;
}
