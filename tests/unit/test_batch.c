/*
 * test_batch.c: record batch v2 validation: valid batches built here, every
 * header field corrupted, wrong CRC, wrong magic, lying lengths and counts,
 * malformed records, truncation at every length, and the in-place rewrites.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "proto/batch.h"

#include <string.h>

static size_t put_uvarint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static size_t put_varint(uint8_t *p, int64_t v) {
    return put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* One record: optional key, value, one header when with_header. */
static size_t put_record(uint8_t *out, int i, int key_bytes, int value_bytes, bool with_header) {
    uint8_t body[1024];
    size_t b = 0;
    body[b++] = 0;
    b += put_varint(body + b, 3 * i); /* timestamp delta */
    b += put_varint(body + b, i);
    b += put_varint(body + b, key_bytes);
    if (key_bytes > 0) memset(body + b, 'k', (size_t)key_bytes), b += (size_t)key_bytes;
    b += put_varint(body + b, value_bytes);
    if (value_bytes > 0) memset(body + b, 'v', (size_t)value_bytes), b += (size_t)value_bytes;
    b += put_varint(body + b, with_header ? 1 : 0);
    if (with_header) {
        b += put_varint(body + b, 2);
        body[b++] = 'h', body[b++] = 'k';
        b += put_varint(body + b, -1);
    }
    size_t n = put_varint(out, (int64_t)b);
    memcpy(out + n, body, b);
    return n + b;
}

static void finish(uint8_t *out, size_t n, int records, int attributes) {
    memset(out, 0, RN_BATCH_HEADER_BYTES);
    rn_be32_put(out + 8, (uint32_t)(n - 12));
    out[16] = 2;
    out[21] = (uint8_t)(attributes >> 8);
    out[22] = (uint8_t)attributes;
    rn_be32_put(out + 23, (uint32_t)(records - 1));
    rn_be64_put(out + 27, 1000);
    rn_be64_put(out + 35, (uint64_t)(1000 + 3 * (records - 1)));
    rn_be64_put(out + 43, UINT64_MAX); /* producer id -1 */
    out[51] = 0xff, out[52] = 0xff;
    rn_be32_put(out + 53, UINT32_MAX); /* sequence -1 */
    rn_be32_put(out + 57, (uint32_t)records);
    rn_be32_put(out + 17, rn_crc32c(0, out + 21, n - 21));
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
    n += put_varint(buf + n, 200);
    memset(buf + n, 0, 10);
    n += 10;
    finish(buf, n, 1, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    /* a key length past the record */
    n = RN_BATCH_HEADER_BYTES;
    uint8_t body[32];
    size_t b = 0;
    body[b++] = 0;
    b += put_varint(body + b, 0);
    b += put_varint(body + b, 0);
    b += put_varint(body + b, 50); /* key length */
    b += put_varint(body + b, -1);
    b += put_varint(body + b, 0);
    n += put_varint(buf + n, (int64_t)b);
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
        b += put_varint(body + b, 0);
        b += put_varint(body + b, 0);
        b += put_varint(body + b, -1);
        b += put_varint(body + b, -1);
        b += put_varint(body + b, header_counts[k]);
        if (header_counts[k] > 0) {
            b += put_varint(body + b, -1);
            b += put_varint(body + b, -1);
        }
        n += put_varint(buf + n, (int64_t)b);
        memcpy(buf + n, body, b);
        n += b;
        finish(buf, n, 1, 0);
        assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_RECORDS);
    }
    /* a record with bytes left over after its headers */
    n = RN_BATCH_HEADER_BYTES;
    b = 0;
    body[b++] = 0;
    b += put_varint(body + b, 0);
    b += put_varint(body + b, 0);
    b += put_varint(body + b, -1);
    b += put_varint(body + b, -1);
    b += put_varint(body + b, 0);
    body[b++] = 0x55;
    n += put_varint(buf + n, (int64_t)b);
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

/* A compressed batch is checked by header and CRC only. */
static void test_compressed_header_only(void **state) {
    (void)state;
    uint8_t buf[4096];
    size_t n = RN_BATCH_HEADER_BYTES + 40;
    memset(buf + RN_BATCH_HEADER_BYTES, 0xAB, 40);
    finish(buf, n, 1000, RN_BATCH_COMPRESSION_ZSTD); /* 1000 records in 40 bytes: fine */
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_OK);
    buf[70] ^= 1;
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_CRC);
    /* the same count uncompressed cannot fit */
    n = RN_BATCH_HEADER_BYTES + 40;
    finish(buf, n, 1000, 0);
    assert_int_equal(check(buf, n, 1 << 20, 0), RN_BATCH_BAD_COUNT);
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

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_crc_and_every_byte),
        cmocka_unit_test(test_magic),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_truncation_every_length),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_compressed_header_only),
        cmocka_unit_test(test_rewrites),
        cmocka_unit_test(test_offset_for_timestamp),
        cmocka_unit_test(test_reason_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
