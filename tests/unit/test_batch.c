/*
 * test_batch.c: record batch v2 validation: valid batches built here, every
 * header field corrupted, wrong CRC, wrong magic, lying lengths and counts,
 * malformed records, truncation at every length, and the in-place rewrites;
 * compressed batches of every codec (compressed here with the codecs'
 * libraries): valid ones, lying counts and offset deltas, truncated streams,
 * garbage and decompression bombs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/limits.h"
#include "proto/batch.h"
#include "proto/batch_inflate.h"
#include "proto/batch_marker.h"

#include "helpers/batch_build.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>

/* One record: optional key, value, one header when with_header; its
   timestamp delta is 3 * i, its offset delta i. */
static size_t put_record(uint8_t *out, int i, int key_bytes, int value_bytes, bool with_header) {
    bb_record_t r = {
        .ts_delta = 3 * (int64_t)i,
        .offset_delta = i,
        .key_bytes = key_bytes,
        .value_bytes = value_bytes,
        .value_fill = 'v',
        .header = with_header,
    };
    return bb_record_put(out, &r);
}

/* The header of a batch of n bytes whose records stand after it: first
   timestamp 1000, 3 ms apart, not idempotent. */
static void finish(uint8_t *out, size_t n, int records, int attributes) {
    bb_batch_t s = {
        .records = records,
        .first_ts = 1000,
        .ts_step = 3,
        .producer_id = -1,
        .epoch = -1,
        .seq = -1,
        .attributes = attributes,
    };
    bb_batch_finish(out, n, &s);
}

static size_t build(uint8_t *out, int records) {
    size_t n = RN_BATCH_HEADER_BYTES;
    for (int i = 0; i < records; i++) n += put_record(out + n, i, i % 3 ? 4 : -1, 10 + i, i % 2);
    finish(out, n, records, 0);
    return n;
}

static void recrc(uint8_t *p, size_t n) { rn_be32_put(p + 17, rn_crc32c(0, p + 21, n - 21)); }

static rn_batch_reason_t check(const uint8_t *p, size_t n, int32_t max, unsigned flags) {
    rn_batch_limits_t lim = {max, flags};
    rn_batch_summary_t sum;
    rn_err_t err = rn_batch_validate(p, n, &lim, &sum);
    assert_int_equal(err, rn_batch_reason_err(sum.reason));
    assert_true(sum.bytes_valid <= n);
    return sum.reason;
}

static void test_valid(void **state) {
    (void)state;
    uint8_t buf[8192];
    for (int r = 1; r <= 20; r++) {
        size_t n = build(buf, r);
        rn_batch_limits_t lim = {1 << 20, 0};
        rn_batch_summary_t sum;
        assert_int_equal(rn_batch_validate(buf, n, &lim, &sum), RN_OK);
        assert_int_equal(sum.batch_count, 1);
        assert_int_equal(sum.records_count, r);
        assert_int_equal(sum.bytes_valid, n);
        rn_batch_header_t hdr;
        rn_batch_header_parse(buf, &hdr);
        assert_int_equal(hdr.magic, 2);
        assert_int_equal(hdr.records_count, r);
        assert_int_equal(hdr.last_offset_delta, r - 1);
        assert_int_equal(hdr.producer_id, -1);
        assert_int_equal(hdr.base_sequence, -1);
        assert_int_equal(hdr.producer_epoch, -1);
        assert_int_equal(rn_batch_size(&hdr), n);
    }
    /* several batches back to back */
    size_t n = build(buf, 3);
    n += build(buf + n, 5);
    n += build(buf + n, 1);
    rn_batch_limits_t lim = {1 << 20, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(buf, n, &lim, &sum), RN_OK);
    assert_int_equal(sum.batch_count, 3);
    assert_int_equal(sum.records_count, 9);
    assert_int_equal(check(buf, 0, 0, 0), RN_BATCH_EMPTY);
}

static void test_crc_and_every_byte(void **state) {
    (void)state;
    uint8_t buf[4096], copy[4096];
    size_t n = build(buf, 4);
    /* the CRC covers attributes .. end: any flip there is BAD_CRC (or an
       earlier structural reason), never OK */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, buf, n);
            copy[i] ^= (uint8_t)(1 << bit);
            rn_batch_reason_t r = check(copy, n, 1 << 20, 0);
            if (i < 8 || (i >= 12 && i < 16)) {
                assert_int_equal(r, RN_BATCH_OK); /* base offset, leader epoch: outside */
            } else {
                assert_int_not_equal(r, RN_BATCH_OK);
            }
        }
    }
    memcpy(copy, buf, n);
    copy[17] ^= 1;
    assert_int_equal(check(copy, n, 1 << 20, 0), RN_BATCH_BAD_CRC);
    memcpy(copy, buf, n);
    copy[n - 1] ^= 0x10;
    assert_int_equal(check(copy, n, 1 << 20, 0), RN_BATCH_BAD_CRC);
}

static void test_magic(void **state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = build(buf, 2);
    for (int m = 0; m < 256; m++) {
        if (m == 2) continue;
        buf[16] = (uint8_t)m;
        /* 0 and 1: an older format; anything else: no format at all */
        assert_int_equal(check(buf, n, 1 << 20, 0),
                         m < 2 ? RN_BATCH_BAD_MAGIC : RN_BATCH_UNKNOWN_MAGIC);
    }
    assert_int_equal(rn_batch_reason_err(RN_BATCH_BAD_MAGIC), RN_ERR_INVALID);
    assert_int_equal(rn_batch_reason_err(RN_BATCH_UNKNOWN_MAGIC), RN_ERR_CORRUPT);
}

/* Header fields corrupted with the CRC fixed up: the structural checks. */
static void test_header_fields(void **state) {
    (void)state;
    uint8_t buf[4096];
    size_t n;
    /* records_count lies */
    int32_t counts[] = {0, -1, 3, 5, INT32_MAX, INT32_MIN};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        n = build(buf, 4);
        rn_be32_put(buf + 57, (uint32_t)counts[k]);
        recrc(buf, n);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_COUNT);
    }
    /* last_offset_delta lies */
    int32_t deltas[] = {-1, 0, 2, 4, INT32_MAX};
    for (size_t k = 0; k < sizeof deltas / sizeof deltas[0]; k++) {
        n = build(buf, 4);
        rn_be32_put(buf + 23, (uint32_t)deltas[k]);
        recrc(buf, n);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_COUNT);
    }
    /* both agree but claim more records than the bytes hold */
    n = build(buf, 4);
    rn_be32_put(buf + 23, 999);
    rn_be32_put(buf + 57, 1000);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_COUNT);
    /* agree, fit the byte bound, but the record walk disagrees */
    n = build(buf, 4);
    rn_be32_put(buf + 23, 4);
    rn_be32_put(buf + 57, 5);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    n = build(buf, 4);
    rn_be32_put(buf + 23, 2);
    rn_be32_put(buf + 57, 3);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    /* compression codecs 5..7 */
    for (int c = 5; c < 8; c++) {
        n = build(buf, 2);
        buf[22] = (uint8_t)c;
        recrc(buf, n);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_COMPRESSION);
    }
    /* control batch: refused unless allowed */
    n = build(buf, 1);
    buf[22] |= RN_BATCH_ATTR_CONTROL;
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_CONTROL);
    assert_int_equal(check(buf, n, 1 << 20, RN_BATCH_ALLOW_CONTROL), RN_BATCH_OK);
    /* producer fields: id without a sequence; transactional without an id */
    n = build(buf, 2);
    rn_be64_put(buf + 43, 42);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_PRODUCER);
    rn_be32_put(buf + 53, 0);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
    n = build(buf, 2);
    buf[22] |= RN_BATCH_ATTR_TRANSACTIONAL;
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_PRODUCER);
    /* timestamps, epochs, sequences are opaque to validation */
    n = build(buf, 2);
    rn_be64_put(buf + 27, UINT64_MAX);
    rn_be64_put(buf + 35, 0);
    recrc(buf, n);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
}

static void test_lengths(void **state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = build(buf, 3);
    int32_t lens[] = {-1, 0, 48, INT32_MIN};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        rn_be32_put(buf + 8, (uint32_t)lens[k]);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_LENGTH);
    }
    /* longer than the blob */
    rn_be32_put(buf + 8, (uint32_t)(n - 12 + 1));
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_TRUNCATED);
    rn_be32_put(buf + 8, INT32_MAX);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_TRUNCATED);
    /* shorter: the CRC no longer matches, then the leftovers are no batch */
    rn_be32_put(buf + 8, (uint32_t)(n - 12 - 1));
    assert_int_not_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
    /* trailing garbage after a valid batch */
    n = build(buf, 3);
    buf[n] = 0;
    rn_batch_limits_t lim = {1 << 20, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(buf, n + 1, &lim, &sum), RN_ERR_CORRUPT);
    assert_int_equal(sum.reason, RN_BATCH_FRAGMENT);
    assert_int_equal(sum.bytes_valid, n);
    assert_int_equal(sum.batch_count, 1);
}

static void test_truncation_every_length(void **state) {
    (void)state;
    uint8_t buf[8192];
    size_t n = build(buf, 6);
    size_t n2 = n + build(buf + n, 2);
    for (size_t len = 1; len < n2; len++) {
        rn_batch_reason_t r = check(buf, len, 1 << 20, 0);
        if (len == n) {
            assert_int_equal(r, RN_BATCH_OK);
        } else if (len > n && len - n < RN_BATCH_HEADER_BYTES) {
            assert_int_equal(r, RN_BATCH_FRAGMENT); /* too short for a header */
        } else {
            assert_int_equal(r, RN_BATCH_TRUNCATED);
        }
    }
}

static void test_size_limit(void **state) {
    (void)state;
    uint8_t buf[8192];
    size_t n = build(buf, 10);
    assert_int_equal(check(buf, n, (int32_t)n, 0), RN_BATCH_OK);
    assert_int_equal(check(buf, n, (int32_t)n - 1, 0), RN_BATCH_TOO_LARGE);
    assert_int_equal(rn_batch_reason_err(RN_BATCH_TOO_LARGE), RN_ERR_TOO_LARGE);
}

/* Malformed records inside a CRC-valid uncompressed batch. */
static void test_bad_records(void **state) {
    (void)state;
    uint8_t buf[4096];
    /* a record whose length overruns the batch */
    size_t n = RN_BATCH_HEADER_BYTES;
    n += bb_put_varint(buf + n, 200);
    memset(buf + n, 0, 10);
    n += 10;
    finish(buf, n, 1, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    /* a key length past the record */
    n = RN_BATCH_HEADER_BYTES;
    uint8_t body[32];
    size_t b = 0;
    body[b++] = 0;
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 50); /* key length */
    b += bb_put_varint(body + b, -1);
    b += bb_put_varint(body + b, 0);
    n += bb_put_varint(buf + n, (int64_t)b);
    memcpy(buf + n, body, b);
    n += b;
    finish(buf, n, 1, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    /* negative header count, a null header key */
    int64_t header_counts[] = {-1, 1};
    for (size_t k = 0; k < 2; k++) {
        n = RN_BATCH_HEADER_BYTES;
        b = 0;
        body[b++] = 0;
        b += bb_put_varint(body + b, 0);
        b += bb_put_varint(body + b, 0);
        b += bb_put_varint(body + b, -1);
        b += bb_put_varint(body + b, -1);
        b += bb_put_varint(body + b, header_counts[k]);
        if (header_counts[k] > 0) {
            b += bb_put_varint(body + b, -1);
            b += bb_put_varint(body + b, -1);
        }
        n += bb_put_varint(buf + n, (int64_t)b);
        memcpy(buf + n, body, b);
        n += b;
        finish(buf, n, 1, 0);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    }
    /* a record with bytes left over after its headers */
    n = RN_BATCH_HEADER_BYTES;
    b = 0;
    body[b++] = 0;
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, -1);
    b += bb_put_varint(body + b, -1);
    b += bb_put_varint(body + b, 0);
    body[b++] = 0x55;
    n += bb_put_varint(buf + n, (int64_t)b);
    memcpy(buf + n, body, b);
    n += b;
    finish(buf, n, 1, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    assert_int_equal(check(buf, n, 1 << 20, RN_BATCH_SKIP_RECORDS), RN_BATCH_OK);
    /* an unterminated varint */
    n = RN_BATCH_HEADER_BYTES;
    memset(buf + n, 0xff, 12);
    n += 12;
    finish(buf, n, 1, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
}

/* ---- compressed batches ---- */

enum { SNAPPY_XERIAL = 8 }; /* test-only codec id: snappy in xerial framing */

/* Compresses n bytes at in with codec (SNAPPY_XERIAL: 32 KiB xerial chunks,
   as the Java client's default); returns the compressed size. */
static size_t compress_with(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t len = cap;
    switch (codec) {
    case RN_BATCH_COMPRESSION_GZIP: {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *)(uintptr_t)in;
        zs.avail_in = (uInt)n;
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        len = zs.total_out;
        deflateEnd(&zs);
        return len;
    }
    case RN_BATCH_COMPRESSION_SNAPPY:
        assert_int_equal(snappy_compress((const char *)in, n, (char *)out, &len), SNAPPY_OK);
        return len;
    case SNAPPY_XERIAL: {
        static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
        memcpy(out, magic, 8);
        rn_be32_put(out + 8, 1);
        rn_be32_put(out + 12, 1);
        size_t o = 16;
        for (size_t i = 0; i < n; i += 32768) {
            size_t chunk = n - i < 32768 ? n - i : 32768, clen = cap - o - 4;
            assert_int_equal(
                snappy_compress((const char *)in + i, chunk, (char *)out + o + 4, &clen),
                SNAPPY_OK);
            rn_be32_put(out + o, (uint32_t)clen);
            o += 4 + clen;
        }
        return o;
    }
    case RN_BATCH_COMPRESSION_LZ4:
        len = LZ4F_compressFrame(out, cap, in, n, NULL);
        assert_false(LZ4F_isError(len));
        return len;
    case RN_BATCH_COMPRESSION_ZSTD:
        len = ZSTD_compress(out, cap, in, n, 3);
        assert_false(ZSTD_isError(len));
        return len;
    default:
        fail();
        return 0;
    }
}

static int codec_attr(int codec) {
    return codec == SNAPPY_XERIAL ? RN_BATCH_COMPRESSION_SNAPPY : codec;
}

static const int codecs[] = {RN_BATCH_COMPRESSION_GZIP, RN_BATCH_COMPRESSION_SNAPPY, SNAPPY_XERIAL,
                             RN_BATCH_COMPRESSION_LZ4, RN_BATCH_COMPRESSION_ZSTD};
#define CODEC_COUNT (sizeof codecs / sizeof codecs[0])

/* A batch of `records` records whose (uncompressed) records region is
   plain[0..plain_len), compressed with codec into out. */
static size_t wrap(uint8_t *out, size_t cap, const uint8_t *plain, size_t plain_len, int records,
                   int codec) {
    size_t clen = compress_with(codec, plain, plain_len, out + RN_BATCH_HEADER_BYTES,
                                cap - RN_BATCH_HEADER_BYTES);
    size_t n = RN_BATCH_HEADER_BYTES + clen;
    finish(out, n, records, codec_attr(codec));
    return n;
}

/* A record with a value of value_bytes bytes ('v'), no key, no headers. */
static size_t put_record_big(uint8_t *out, int64_t offset_delta, size_t value_bytes) {
    bb_record_t r = {
        .offset_delta = offset_delta,
        .key_bytes = -1,
        .value_bytes = (int64_t)value_bytes,
        .value_fill = 'v',
    };
    return bb_record_put(out, &r);
}

#define PLAIN_CAP (4u << 20)
#define BATCH_CAP (5u << 20)

/* The records regions the valid cases use: small records, one record larger
   than the scratch, and a record whose length varint straddles the first
   128 KiB scratch boundary (zlib and zstd fill the scratch whole). */
static size_t plain_case(uint8_t *plain, int which, int *records) {
    size_t n = 0;
    switch (which) {
    case 0: /* 1000 small records, keys, values and headers of all kinds */
        for (int i = 0; i < 1000; i++)
            n += put_record(plain + n, i, i % 3 ? 4 : -1, i % 700, i % 2);
        *records = 1000;
        break;
    case 1: /* one 300 KiB record, then two small ones */
        n += put_record_big(plain + n, 0, 300 * 1024);
        n += put_record(plain + n, 1, 3, 10, true);
        n += put_record(plain + n, 2, -1, 0, false);
        *records = 3;
        break;
    default: { /* the second record's 2-byte length starts 1 byte before 128 KiB */
        size_t first = put_record_big(plain, 0, 131071 - 11); /* 3 + 8 bytes of framing */
        assert_int_equal(first, 131071);
        n = first;
        for (int i = 1; i < 200; i++) n += put_record(plain + n, i, 4, 200 + i, i % 2);
        *records = 200;
        break;
    }
    }
    return n;
}

static rn_batch_reason_t check_lent(const uint8_t *p, size_t n, rn_batch_inflate_t *inf) {
    rn_batch_limits_t lim = {0, 0};
    rn_batch_summary_t sum;
    rn_err_t err = rn_batch_validate_with(p, n, &lim, inf, &sum);
    assert_int_equal(err, rn_batch_reason_err(sum.reason));
    return sum.reason;
}

/* Valid batches of every codec pass, with a source made per call or lent
   and reused; the same records uncompressed pass too. */
static void test_compressed_valid(void **state) {
    (void)state;
    uint8_t *plain = malloc(PLAIN_CAP), *buf = malloc(BATCH_CAP);
    rn_batch_inflate_t *inf = rn_batch_inflate_new();
    assert_non_null(plain);
    assert_non_null(buf);
    assert_non_null(inf);
    for (int which = 0; which < 3; which++) {
        int records;
        size_t plain_len = plain_case(plain, which, &records);
        for (size_t c = 0; c < CODEC_COUNT; c++) {
            size_t n = wrap(buf, BATCH_CAP, plain, plain_len, records, codecs[c]);
            assert_int_equal(check(buf, n, 0, 0), RN_BATCH_OK);
            assert_int_equal(check_lent(buf, n, inf), RN_BATCH_OK);
            /* two batches back to back, one source for both */
            size_t n2 = wrap(buf + n, BATCH_CAP - n, plain, plain_len, records, codecs[c]);
            assert_int_equal(check_lent(buf, n + n2, inf), RN_BATCH_OK);
        }
    }
    /* a compressed empty records region is no record at all */
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        size_t n = wrap(buf, BATCH_CAP, plain, 0, 1, codecs[c]);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COUNT);
    }
    rn_batch_inflate_free(inf);
    free(plain);
    free(buf);
}

/* Counts that lie, offset deltas out of order, a timestamp that overflows. */
static void test_compressed_lies(void **state) {
    (void)state;
    uint8_t *plain = malloc(PLAIN_CAP), *buf = malloc(BATCH_CAP);
    assert_non_null(plain);
    assert_non_null(buf);
    size_t plain_len = 0;
    for (int i = 0; i < 5; i++) plain_len += put_record(plain + plain_len, i, 4, 20, false);
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        int codec = codecs[c];
        size_t n = wrap(buf, BATCH_CAP, plain, plain_len, 6, codec);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COUNT); /* premature end */
        n = wrap(buf, BATCH_CAP, plain, plain_len, 4, codec);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COUNT); /* records left over */
        n = wrap(buf, BATCH_CAP, plain, plain_len, 5, codec);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_OK);
        /* the header claims 2^31 - 1 records but holds one: refused from the
           header alone, nothing decompressed */
        size_t one = put_record(plain, 0, 4, 20, false);
        n = wrap(buf, BATCH_CAP, plain, one, 1, codec);
        rn_be32_put(buf + RN_BATCH_OFF_LAST_OFFSET_DELTA, INT32_MAX - 1);
        rn_be32_put(buf + RN_BATCH_OFF_RECORDS_COUNT, INT32_MAX);
        recrc(buf, n);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COUNT);
        /* as many as the cap allows each at their smallest: decompressed
           and refused at the end of the stream */
        n = wrap(buf, BATCH_CAP, plain, one, 1, codec);
        rn_be32_put(buf + RN_BATCH_OFF_LAST_OFFSET_DELTA, 1000 - 1);
        rn_be32_put(buf + RN_BATCH_OFF_RECORDS_COUNT, 1000);
        recrc(buf, n);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COUNT);
    }
    /* offset deltas 0, 2, 1, 3: refused compressed, taken uncompressed (Kafka
       rewrites or ignores them there) */
    static const int deltas[][4] = {{0, 2, 1, 3}, {1, 2, 3, 4}, {0, 1, 2, 2}};
    for (size_t d = 0; d < 3; d++) {
        plain_len = 0;
        for (int i = 0; i < 4; i++)
            plain_len += put_record(plain + plain_len, deltas[d][i], 4, 9, 0);
        for (size_t c = 0; c < CODEC_COUNT; c++) {
            size_t n = wrap(buf, BATCH_CAP, plain, plain_len, 4, codecs[c]);
            assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_OFFSET_DELTA);
        }
        memcpy(buf + RN_BATCH_HEADER_BYTES, plain, plain_len);
        finish(buf, RN_BATCH_HEADER_BYTES + plain_len, 4, 0);
        assert_int_equal(check(buf, RN_BATCH_HEADER_BYTES + plain_len, 0, 0), RN_BATCH_OK);
    }
    /* a timestamp delta that overflows the base timestamp */
    uint8_t rec[32];
    size_t b = 0;
    rec[b++] = 0;
    b += bb_put_varint(rec + b, INT64_MAX);
    b += bb_put_varint(rec + b, 0);
    b += bb_put_varint(rec + b, -1);
    b += bb_put_varint(rec + b, -1);
    b += bb_put_varint(rec + b, 0);
    plain_len = bb_put_varint(plain, (int64_t)b);
    memcpy(plain + plain_len, rec, b);
    plain_len += b;
    size_t n = wrap(buf, BATCH_CAP, plain, plain_len, 1, RN_BATCH_COMPRESSION_ZSTD);
    assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_RECORDS);
    free(plain);
    free(buf);
}

/* Malformed records inside a valid compressed stream: the same checks as
   uncompressed, one walker. */
static void test_compressed_bad_records(void **state) {
    (void)state;
    uint8_t plain[256], buf[1024];
    size_t b = 0;
    uint8_t body[32];
    body[b++] = 0;
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 50); /* key length past the record */
    b += bb_put_varint(body + b, -1);
    b += bb_put_varint(body + b, 0);
    size_t n = bb_put_varint(plain, (int64_t)b);
    memcpy(plain + n, body, b);
    n += b;
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        size_t bn = wrap(buf, sizeof buf, plain, n, 1, codecs[c]);
        assert_int_equal(check(buf, bn, 0, 0), RN_BATCH_BAD_RECORDS);
    }
    memset(plain, 0xff, 12); /* an unterminated varint */
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        size_t bn = wrap(buf, sizeof buf, plain, 12, 1, codecs[c]);
        assert_int_equal(check(buf, bn, 0, 0), RN_BATCH_BAD_RECORDS);
    }
}

/* Every truncation of the compressed stream and garbage in place of it are
   refused, never accepted. */
static void test_compressed_truncated_and_garbage(void **state) {
    (void)state;
    uint8_t *plain = malloc(PLAIN_CAP), *buf = malloc(BATCH_CAP), *copy = malloc(BATCH_CAP);
    assert_non_null(plain);
    assert_non_null(buf);
    assert_non_null(copy);
    size_t plain_len = 0;
    for (int i = 0; i < 300; i++) plain_len += put_record(plain + plain_len, i, 4, 100 + i, 0);
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        size_t n = wrap(buf, BATCH_CAP, plain, plain_len, 300, codecs[c]);
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_OK);
        for (size_t cut = RN_BATCH_HEADER_BYTES; cut < n; cut++) {
            memcpy(copy, buf, cut);
            finish(copy, cut, 300, codec_attr(codecs[c]));
            rn_batch_reason_t r = check(copy, cut, 0, 0);
            assert_int_not_equal(r, RN_BATCH_OK);
            if (cut == n - 1 && codecs[c] != SNAPPY_XERIAL)
                assert_int_equal(r, RN_BATCH_BAD_COMPRESSED); /* the end, one byte short */
        }
        /* garbage after the stream */
        memcpy(copy, buf, n);
        memset(copy + n, 0x5a, 7);
        finish(copy, n + 7, 300, codec_attr(codecs[c]));
        assert_int_not_equal(check(copy, n + 7, 0, 0), RN_BATCH_OK);
        /* garbage in place of the stream, of several lengths and seeds */
        uint32_t x = 12345 + (uint32_t)c;
        for (size_t len = 1; len < 3000; len = len * 3 + 1) {
            for (size_t i = 0; i < len; i++) {
                x = x * 1103515245u + 12345u;
                copy[RN_BATCH_HEADER_BYTES + i] = (uint8_t)(x >> 16);
            }
            finish(copy, RN_BATCH_HEADER_BYTES + len, 3, codec_attr(codecs[c]));
            assert_int_not_equal(check(copy, RN_BATCH_HEADER_BYTES + len, 0, 0), RN_BATCH_OK);
        }
    }
    free(plain);
    free(buf);
    free(copy);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* A bomb: `prefix` then `zeros_mib` MiB of zeros, compressed as one unit
   (the prefix) and then the same 1 MiB of zeros unit repeated (gzip members,
   lz4 and zstd frames, xerial chunks may follow one another). */
static size_t bomb(uint8_t *out, size_t cap, int codec, const uint8_t *prefix, size_t prefix_len,
                   size_t zeros_mib) {
    static uint8_t zeros[1 << 20];
    size_t o = compress_with(codec, prefix, prefix_len, out, cap);
    size_t unit_cap = 2u << 20; /* lz4 wants room for its bound, not the result */
    uint8_t *unit = malloc(unit_cap);
    assert_non_null(unit);
    size_t ulen;
    if (codec == SNAPPY_XERIAL) {
        /* whole 32 KiB chunks, their 16-byte stream header dropped */
        size_t whole = compress_with(codec, zeros, 32768, unit, unit_cap);
        ulen = whole - 16;
        memmove(unit, unit + 16, ulen);
        zeros_mib *= 32;
    } else {
        ulen = compress_with(codec, zeros, sizeof zeros, unit, unit_cap);
    }
    for (size_t i = 0; i < zeros_mib; i++) {
        assert_true(o + ulen <= cap);
        memcpy(out + o, unit, ulen);
        o += ulen;
    }
    free(unit);
    return o;
}

/* 1 GiB of zeros: refused at the first record, quickly, with memory that
   does not grow with it. A valid-looking bomb (one record whose value is
   ~100 MiB of zeros, then 1 GiB more) is refused by the cap. */
static void test_compressed_bombs(void **state) {
    (void)state;
    size_t cap = 64u << 20; /* snappy: 1 GiB of zeros is ~50 MiB */
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t c = 0; c < CODEC_COUNT; c++) {
        int codec = codecs[c];
        if (codec == RN_BATCH_COMPRESSION_SNAPPY) continue; /* raw: below */
        uint8_t zero = 0;
        size_t clen =
            bomb(buf + RN_BATCH_HEADER_BYTES, cap - RN_BATCH_HEADER_BYTES, codec, &zero, 1, 1024);
        size_t n = RN_BATCH_HEADER_BYTES + clen;
        finish(buf, n, 1, codec_attr(codec));
        long rss = maxrss_kib();
        double t0 = now_s();
        assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_RECORDS);
        double t1 = now_s();
        assert_true(maxrss_kib() - rss < 64 * 1024);
        /* one record of ~RN_BATCH_INFLATED_BYTES_MAX, its value zeros */
        uint8_t head[32];
        size_t h = 0, value = RN_BATCH_INFLATED_BYTES_MAX - 64;
        head[h++] = 0;
        h += bb_put_varint(head + h, 0);
        h += bb_put_varint(head + h, 0);
        h += bb_put_varint(head + h, -1);
        h += bb_put_varint(head + h, (int64_t)value);
        uint8_t prefix[48];
        size_t p = bb_put_varint(prefix, (int64_t)(h + value + 1));
        memcpy(prefix + p, head, h);
        p += h;
        clen =
            bomb(buf + RN_BATCH_HEADER_BYTES, cap - RN_BATCH_HEADER_BYTES, codec, prefix, p, 1024);
        n = RN_BATCH_HEADER_BYTES + clen;
        finish(buf, n, 1, codec_attr(codec));
        rss = maxrss_kib();
        double t2 = now_s();
        rn_batch_reason_t r = check(buf, n, 0, 0);
        double t3 = now_s();
        assert_true(r == RN_BATCH_INFLATED_TOO_LARGE || r == RN_BATCH_BAD_COUNT);
        assert_true(maxrss_kib() - rss < 64 * 1024);
        print_message("# bomb codec %d (%zu bytes): zeros refused in %.3f ms, "
                      "valid-looking refused in %.1f ms\n",
                      codec, n, (t1 - t0) * 1e3, (t3 - t2) * 1e3);
    }
    /* a raw snappy block declaring 1 GiB is refused before decoding */
    size_t n = RN_BATCH_HEADER_BYTES;
    n += bb_put_uvarint(buf + n, 1u << 30);
    buf[n++] = 0; /* a 1-byte literal */
    buf[n++] = 0;
    finish(buf, n, 1, RN_BATCH_COMPRESSION_SNAPPY);
    assert_int_equal(check(buf, n, 0, 0), RN_BATCH_INFLATED_TOO_LARGE);
    free(buf);
}

/* Snappy specifics: copies reaching before the block or past the window,
   xerial chunk lengths that lie. */
static void test_snappy_stream(void **state) {
    (void)state;
    uint8_t buf[256];
    /* raw block: 10 bytes declared, a copy with offset 2 before any output */
    size_t n = RN_BATCH_HEADER_BYTES;
    n += bb_put_uvarint(buf + n, 10);
    buf[n++] = (uint8_t)(((10 - 1) << 2) | 2); /* copy2, length 10 */
    buf[n++] = 2, buf[n++] = 0;
    finish(buf, n, 1, RN_BATCH_COMPRESSION_SNAPPY);
    assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COMPRESSED);
    /* a literal longer than the block declares */
    n = RN_BATCH_HEADER_BYTES;
    n += bb_put_uvarint(buf + n, 2);
    buf[n++] = (uint8_t)((3 - 1) << 2);
    buf[n++] = 1, buf[n++] = 2, buf[n++] = 3;
    finish(buf, n, 1, RN_BATCH_COMPRESSION_SNAPPY);
    assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COMPRESSED);
    /* xerial: a chunk length past the end */
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    n = RN_BATCH_HEADER_BYTES;
    memcpy(buf + n, magic, 8);
    rn_be32_put(buf + n + 8, 1);
    rn_be32_put(buf + n + 12, 1);
    n += 16;
    rn_be32_put(buf + n, 100);
    n += 4;
    buf[n++] = 1, buf[n++] = 0;
    finish(buf, n, 1, RN_BATCH_COMPRESSION_SNAPPY);
    assert_int_equal(check(buf, n, 0, 0), RN_BATCH_BAD_COMPRESSED);
}

/* The first batch's codec, for the Produce handler's zstd version check. */
static void test_first_compression(void **state) {
    (void)state;
    uint8_t buf[512];
    uint8_t plain[64];
    size_t plen = put_record(plain, 0, 1, 2, false);
    size_t n = wrap(buf, sizeof buf, plain, plen, 1, RN_BATCH_COMPRESSION_ZSTD);
    assert_int_equal(rn_batch_first_compression(buf, n), RN_BATCH_COMPRESSION_ZSTD);
    assert_int_equal(rn_batch_first_compression(buf, n - 1), -1);
    assert_int_equal(rn_batch_first_compression(buf, 10), -1);
    n = build(buf, 2);
    assert_int_equal(rn_batch_first_compression(buf, n), RN_BATCH_COMPRESSION_NONE);
    buf[16] = 1;
    assert_int_equal(rn_batch_first_compression(buf, n), -1);
}

static void test_rewrites(void **state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = build(buf, 5);
    rn_batch_set_base_offset(buf, 123456789);
    rn_batch_set_leader_epoch(buf, 77);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
    rn_batch_header_t hdr;
    rn_batch_header_parse(buf, &hdr);
    assert_int_equal(hdr.base_offset, 123456789);
    assert_int_equal(hdr.partition_leader_epoch, 77);
    assert_int_equal(rn_batch_last_offset(&hdr), 123456789 + 4);
    rn_batch_set_log_append_time(buf, 5555);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
    rn_batch_header_parse(buf, &hdr);
    assert_int_equal(hdr.max_timestamp, 5555);
    assert_true(hdr.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME);
    assert_int_equal(hdr.base_timestamp, 1000);
}

static void test_offset_for_timestamp(void **state) {
    (void)state;
    uint8_t buf[4096];
    build(buf, 5); /* record i at 1000 + 3 i */
    rn_batch_set_base_offset(buf, 100);
    rn_batch_header_t hdr;
    rn_batch_header_parse(buf, &hdr);
    assert_int_equal(rn_batch_offset_for_timestamp(buf, &hdr, 0), 100);
    assert_int_equal(rn_batch_offset_for_timestamp(buf, &hdr, 1000), 100);
    assert_int_equal(rn_batch_offset_for_timestamp(buf, &hdr, 1001), 101);
    assert_int_equal(rn_batch_offset_for_timestamp(buf, &hdr, 1012), 104);
    assert_int_equal(rn_batch_offset_for_timestamp(buf, &hdr, 1013), -1);
}

static void test_reason_names(void **state) {
    (void)state;
    for (int r = 0; r < RN_BATCH_REASON__COUNT; r++) {
        assert_non_null(rn_batch_reason_name((rn_batch_reason_t)r));
        rn_err_t err = rn_batch_reason_err((rn_batch_reason_t)r);
        assert_true(r == RN_BATCH_OK ? err == RN_OK : err != RN_OK);
    }
}

/* A transaction marker as Kafka writes it: a control batch that validates
   (where control batches are allowed) with its producer and no sequence,
   and reads back. */
static void test_marker_round_trip(void **state) {
    (void)state;
    uint8_t batch[RN_BATCH_MARKER_BYTES];
    rn_batch_marker_encode(batch, 4242, 7, true, 3, 1700000000000);
    rn_batch_header_t hdr;
    rn_batch_header_parse(batch, &hdr);
    assert_int_equal(rn_batch_size(&hdr), RN_BATCH_MARKER_BYTES);
    assert_true(rn_batch_is_control(&hdr));
    assert_true(rn_batch_is_transactional(&hdr));
    assert_int_equal(hdr.producer_id, 4242);
    assert_int_equal(hdr.producer_epoch, 7);
    assert_int_equal(hdr.base_sequence, -1);
    assert_int_equal(hdr.records_count, 1);
    rn_batch_limits_t lim = {1 << 20, RN_BATCH_ALLOW_CONTROL};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(batch, sizeof batch, &lim, &sum), RN_OK);
    lim.flags = 0; /* a client may not produce one */
    assert_int_not_equal(rn_batch_validate(batch, sizeof batch, &lim, &sum), RN_OK);
    assert_int_equal(sum.reason, RN_BATCH_CONTROL);
    bool commit = false;
    int32_t epoch = 0;
    assert_int_equal(rn_batch_marker_decode(batch, sizeof batch, &commit, &epoch), RN_OK);
    assert_true(commit);
    assert_int_equal(epoch, 3);
    rn_batch_marker_encode(batch, 4242, 7, false, 9, 1);
    assert_int_equal(rn_batch_marker_decode(batch, sizeof batch, &commit, &epoch), RN_OK);
    assert_false(commit);
    assert_int_equal(epoch, 9);
    /* A producer id with no sequence is still refused outside markers. */
    batch[RN_BATCH_OFF_ATTRIBUTES + 1] = RN_BATCH_ATTR_TRANSACTIONAL;
    lim.flags = RN_BATCH_ALLOW_CONTROL;
    assert_int_not_equal(rn_batch_validate(batch, sizeof batch, &lim, &sum), RN_OK);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker_round_trip),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_crc_and_every_byte),
        cmocka_unit_test(test_magic),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_compressed_valid),
        cmocka_unit_test(test_compressed_lies),
        cmocka_unit_test(test_compressed_bad_records),
        cmocka_unit_test(test_compressed_truncated_and_garbage),
        cmocka_unit_test(test_compressed_bombs),
        cmocka_unit_test(test_snappy_stream),
        cmocka_unit_test(test_first_compression),
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_offset_for_timestamp),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
