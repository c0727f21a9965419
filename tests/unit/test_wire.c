/*
 * test_wire.c: the bounds-checked wire primitives (src/proto/wire.c).
 *
 * Covers integer and float encodings, varint edge cases (zig-zag extremes,
 * overlong and overflowing encodings), strings, bytes and records (null,
 * compact, negative and huge lengths, limits), array counts, tagged-field
 * sections, sticky errors on both sides, depth limits and size functions.
 * Owns its buffers; touches nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/limits.h"
#include "proto/wire.h"

#include <string.h>

static void reader(rn_reader_t *r, const uint8_t *p, size_t len) { rn_reader_init(r, p, len); }

static void test_fixed_ints(void **state) {
    (void)state;
    static const uint8_t b[] = {0x80, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x7f,
                                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x12,
                                0x34, 0xde, 0xad, 0xbe, 0xef, 0x02, 0x00};
    rn_reader_t r;
    reader(&r, b, sizeof(b));
    assert_int_equal(rn_read_int8(&r), -128);
    assert_int_equal(rn_read_int16(&r), -2);
    assert_int_equal(rn_read_int32(&r), INT32_MIN);
    assert_true(rn_read_int64(&r) == INT64_MAX - 1);
    assert_int_equal(rn_read_uint16(&r), 0x1234);
    assert_int_equal(rn_read_uint32(&r), 0xdeadbeefu);
    assert_true(rn_read_bool(&r)); /* any non-zero byte */
    assert_false(rn_read_bool(&r));
    assert_int_equal(r.err, RN_OK);
    assert_int_equal(r.pos, sizeof(b));
    /* One more read fails and the failure sticks. */
    assert_int_equal(rn_read_int8(&r), 0);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
}

static void test_sticky_reader(void **state) {
    (void)state;
    static const uint8_t b[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x07};
    rn_reader_t r;
    reader(&r, b, sizeof(b));
    assert_int_equal(rn_read_int32(&r), 1 << 16);
    assert_int_equal(rn_read_int64(&r), 0); /* only 3 left */
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    size_t pos = r.pos;
    /* Everything after a failure returns zero values and consumes nothing. */
    assert_int_equal(rn_read_int8(&r), 0);
    assert_int_equal(rn_read_uvarint(&r), 0);
    rn_str_t s = rn_read_string(&r, true);
    assert_int_equal(s.len, -1);
    assert_int_equal(rn_read_array_count(&r, false), -1);
    assert_int_equal(r.pos, pos);
}

static void test_float_uuid(void **state) {
    (void)state;
    rn_buf_t buf;
    rn_buf_init(&buf, 1024);
    rn_writer_t w;
    rn_writer_init(&w, &buf);
    rn_uuid_t u;
    for (int i = 0; i < 16; i++) u.bytes[i] = (uint8_t)(i * 17);
    rn_write_float64(&w, -1.5);
    rn_write_uuid(&w, &u);
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(buf.len, 24);
    static const uint8_t be[] = {0xbf, 0xf8, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(buf.ptr, be, 8);
    rn_reader_t r;
    reader(&r, buf.ptr, buf.len);
    assert_true(rn_read_float64(&r) == -1.5);
    rn_uuid_t got = rn_read_uuid(&r);
    assert_true(rn_uuid_eq(&got, &u));
    assert_int_equal(r.err, RN_OK);
    rn_buf_free(&buf);
}

static void test_uvarint_edges(void **state) {
    (void)state;
    struct {
        uint8_t b[6];
        size_t len;
        uint32_t v;
        rn_err_t err;
    } cases[] = {
        {{0x00}, 1, 0, RN_OK},
        {{0x7f}, 1, 127, RN_OK},
        {{0x80, 0x01}, 2, 128, RN_OK},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, UINT32_MAX, RN_OK},
        {{0x80, 0x80, 0x80, 0x80, 0x00}, 5, 0, RN_OK},                /* overlong but fits */
        {{0xff, 0xff, 0xff, 0xff, 0x1f}, 5, 0, RN_ERR_CORRUPT},       /* 33 bits */
        {{0xff, 0xff, 0xff, 0xff, 0x8f, 0x01}, 6, 0, RN_ERR_CORRUPT}, /* 6 bytes */
        {{0x80}, 1, 0, RN_ERR_CORRUPT},                               /* truncated */
        {{0}, 0, 0, RN_ERR_CORRUPT},                                  /* empty */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rn_reader_t r;
        reader(&r, cases[i].b, cases[i].len);
        uint32_t v = rn_read_uvarint(&r);
        assert_int_equal(r.err, cases[i].err);
        assert_int_equal(v, cases[i].v);
    }
}

static void test_varint_round_trip(void **state) {
    (void)state;
    static const int32_t v32[] = {0, -1, 1, 63, -64, 64, INT32_MAX, INT32_MIN, 300, -300};
    static const int64_t v64[] = {0, -1, 1, INT64_MAX, INT64_MIN, 1LL << 40, -(1LL << 40)};
    rn_buf_t buf;
    rn_buf_init(&buf, 1024);
    rn_writer_t w;
    rn_writer_init(&w, &buf);
    size_t expect = 0;
    for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++) {
        rn_write_varint(&w, v32[i]);
        expect += rn_varint_size(v32[i]);
    }
    for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++) {
        rn_write_varlong(&w, v64[i]);
        expect += rn_varlong_size(v64[i]);
    }
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(buf.len, expect);
    /* Zig-zag: -1 is 1, 1 is 2, INT32_MIN takes 5 bytes, INT64_MIN 10. */
    assert_int_equal(buf.ptr[1], 0x01);
    assert_int_equal(buf.ptr[2], 0x02);
    assert_int_equal(rn_varint_size(INT32_MIN), 5);
    assert_int_equal(rn_varlong_size(INT64_MIN), 10);
    rn_reader_t r;
    reader(&r, buf.ptr, buf.len);
    for (size_t i = 0; i < sizeof(v32) / sizeof(v32[0]); i++)
        assert_int_equal(rn_read_varint(&r), v32[i]);
    for (size_t i = 0; i < sizeof(v64) / sizeof(v64[0]); i++)
        assert_true(rn_read_varlong(&r) == v64[i]);
    assert_int_equal(r.err, RN_OK);
    assert_int_equal(r.pos, buf.len);
    /* An 11-byte varlong and a 10th byte carrying more than 1 bit fail. */
    static const uint8_t long11[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0x81, 0x00};
    reader(&r, long11, sizeof(long11));
    (void)rn_read_varlong(&r);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    static const uint8_t over10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    reader(&r, over10, sizeof(over10));
    (void)rn_read_varlong(&r);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    rn_buf_free(&buf);
}

static void test_strings(void **state) {
    (void)state;
    rn_reader_t r;
    /* int16 length */
    static const uint8_t s1[] = {0x00, 0x03, 'a', 'b', 'c', 0xff, 0xff, 0x00, 0x00};
    reader(&r, s1, sizeof(s1));
    rn_str_t s = rn_read_string(&r, false);
    assert_int_equal(s.len, 3);
    assert_ptr_equal(s.ptr, (const char *)s1 + 2); /* borrowed, not copied */
    assert_true(rn_str_eq_cstr(s, "abc"));
    s = rn_read_string(&r, false);
    assert_int_equal(s.len, -1);
    assert_null(s.ptr);
    s = rn_read_string(&r, false);
    assert_int_equal(s.len, 0);
    assert_int_equal(r.err, RN_OK);
    /* compact: 0 null, 1 empty, n+1 */
    static const uint8_t s2[] = {0x00, 0x01, 0x03, 'h', 'i'};
    reader(&r, s2, sizeof(s2));
    assert_int_equal(rn_read_string(&r, true).len, -1);
    assert_int_equal(rn_read_string(&r, true).len, 0);
    assert_true(rn_str_eq_cstr(rn_read_string(&r, true), "hi"));
    assert_int_equal(r.err, RN_OK);
    /* negative other than -1 */
    static const uint8_t neg[] = {0xff, 0xfe, 'x'};
    reader(&r, neg, sizeof(neg));
    (void)rn_read_string(&r, false);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    /* longer than the input */
    static const uint8_t longer[] = {0x7f, 0xff, 'x'};
    reader(&r, longer, sizeof(longer));
    (void)rn_read_string(&r, false);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    /* compact length past the string limit, with the bytes present */
    static uint8_t big[5 + RN_PROTO_STRING_BYTES_MAX + 1];
    uint32_t n = RN_PROTO_STRING_BYTES_MAX + 1 + 1;
    big[0] = (uint8_t)(0x80 | (n & 0x7f));
    big[1] = (uint8_t)(0x80 | ((n >> 7) & 0x7f));
    big[2] = (uint8_t)(n >> 14);
    reader(&r, big, 3 + RN_PROTO_STRING_BYTES_MAX + 1);
    (void)rn_read_string(&r, true);
    assert_int_equal(r.err, RN_ERR_TOO_LARGE);
    /* compact length overflowing 32 bits */
    static const uint8_t ovf[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    reader(&r, ovf, sizeof(ovf));
    (void)rn_read_string(&r, true);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
}

static void test_bytes_records(void **state) {
    (void)state;
    rn_reader_t r;
    static const uint8_t b[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
                                0x02, 0xaa, 0xbb, 0x00, 0x03, 0x01, 0x02};
    reader(&r, b, sizeof(b));
    assert_int_equal(rn_read_bytes(&r, false).len, -1);
    rn_bytes_t x = rn_read_bytes(&r, false);
    assert_int_equal(x.len, 2);
    assert_ptr_equal(x.ptr, b + 8);
    assert_int_equal(rn_read_bytes(&r, true).len, -1);
    rn_records_t rec = rn_read_records(&r, true);
    assert_int_equal(rec.len, 2);
    assert_null(rec.file_ref);
    assert_int_equal(rec.ptr[1], 0x02);
    assert_int_equal(r.err, RN_OK);
    /* huge int32 length */
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0x00};
    reader(&r, huge, sizeof(huge));
    rec = rn_read_records(&r, false);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    assert_int_equal(rec.len, -1);
    /* INT32_MIN length */
    static const uint8_t min[] = {0x80, 0x00, 0x00, 0x00};
    reader(&r, min, sizeof(min));
    (void)rn_read_bytes(&r, false);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
}

static void test_array_counts(void **state) {
    (void)state;
    rn_reader_t r;
    static const uint8_t ok[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x03, 0x00, 0x00};
    reader(&r, ok, sizeof(ok));
    assert_int_equal(rn_read_array_count(&r, false), -1);
    assert_int_equal(rn_read_array_count(&r, false), 0);
    assert_int_equal(rn_read_array_count(&r, true), -1);
    assert_int_equal(rn_read_array_count(&r, true), 2); /* 2 bytes left: fits */
    assert_int_equal(r.err, RN_OK);
    /* A count larger than the bytes left fails: each element needs a byte. */
    static const uint8_t lie[] = {0x00, 0x00, 0x00, 0x03, 0x01, 0x02};
    reader(&r, lie, sizeof(lie));
    assert_int_equal(rn_read_array_count(&r, false), -1);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    /* A count beyond the protocol limit fails with RN_ERR_LIMIT. */
    static const uint8_t lim[] = {0x7f, 0xff, 0xff, 0xff};
    reader(&r, lim, sizeof(lim));
    assert_int_equal(rn_read_array_count(&r, false), -1);
    assert_int_equal(r.err, RN_ERR_LIMIT);
    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    reader(&r, neg, sizeof(neg));
    (void)rn_read_array_count(&r, false);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
}

static void test_tagged_sections(void **state) {
    (void)state;
    rn_reader_t r;
    /* two fields: tag 0 (2 bytes), tag 300 (0 bytes); then a trailing byte */
    static const uint8_t t[] = {0x02, 0x00, 0x02, 0xaa, 0xbb, 0xac, 0x02, 0x00, 0x77};
    reader(&r, t, sizeof(t));
    assert_int_equal(rn_read_tagged_count(&r), 2);
    uint32_t tag;
    rn_reader_t sub;
    assert_true(rn_read_tagged_field(&r, &tag, &sub));
    assert_int_equal(tag, 0);
    assert_int_equal(sub.len, 2);
    assert_int_equal(rn_read_uint16(&sub), 0xaabb);
    assert_true(rn_read_tagged_field(&r, &tag, &sub));
    assert_int_equal(tag, 300);
    assert_int_equal(sub.len, 0);
    assert_int_equal(rn_read_int8(&r), 0x77);
    assert_int_equal(r.err, RN_OK);
    /* whole section skipped */
    reader(&r, t, sizeof(t));
    rn_read_tagged_skip(&r);
    assert_int_equal(r.err, RN_OK);
    assert_int_equal(r.pos, sizeof(t) - 1);
    /* a size past the end */
    static const uint8_t bad[] = {0x01, 0x00, 0x05, 0xaa};
    reader(&r, bad, sizeof(bad));
    rn_read_tagged_skip(&r);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
    /* a count past the limit */
    static const uint8_t many[] = {0xe9, 0x07}; /* 1001 */
    reader(&r, many, sizeof(many));
    (void)rn_read_tagged_count(&r);
    assert_int_equal(r.err, RN_ERR_LIMIT);
    /* a count past the bytes left */
    static const uint8_t few[] = {0x05, 0x00, 0x00};
    reader(&r, few, sizeof(few));
    (void)rn_read_tagged_count(&r);
    assert_int_equal(r.err, RN_ERR_CORRUPT);
}

static void test_depth(void **state) {
    (void)state;
    rn_reader_t r;
    reader(&r, NULL, 0);
    for (int i = 0; i < RN_PROTO_DEPTH_MAX; i++) assert_true(rn_reader_enter(&r));
    assert_false(rn_reader_enter(&r));
    assert_int_equal(r.err, RN_ERR_LIMIT);
}

static void test_writer_cap_sticky(void **state) {
    (void)state;
    rn_buf_t buf;
    rn_buf_init(&buf, 6);
    rn_writer_t w;
    rn_writer_init(&w, &buf);
    rn_write_int32(&w, 1);
    assert_int_equal(w.err, RN_OK);
    rn_write_int32(&w, 2); /* would reach 8 > 6 */
    assert_int_equal(w.err, RN_ERR_TOO_LARGE);
    rn_write_int8(&w, 3); /* would fit, but the error is sticky */
    assert_int_equal(w.err, RN_ERR_TOO_LARGE);
    assert_int_equal(buf.len, 4);
    rn_buf_free(&buf);
}

static void test_write_lengths(void **state) {
    (void)state;
    rn_buf_t buf;
    rn_buf_init(&buf, 1024);
    rn_writer_t w;
    rn_writer_init(&w, &buf);
    rn_write_string(&w, rn_str_null(), false);
    rn_write_string(&w, rn_str_null(), true);
    rn_write_string(&w, rn_str_from_cstr("ab"), true);
    rn_write_bytes(&w, (rn_bytes_t){NULL, -1}, false);
    rn_write_array_count(&w, -1, true);
    rn_write_array_count(&w, 130, true);
    static const uint8_t expect[] = {0xff, 0xff, 0x00, 0x03, 'a',  'b', 0xff,
                                     0xff, 0xff, 0xff, 0x00, 0x83, 0x01};
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(buf.len, sizeof(expect));
    assert_memory_equal(buf.ptr, expect, sizeof(expect));
    assert_int_equal(rn_string_size(rn_str_null(), false), 2);
    assert_int_equal(rn_string_size(rn_str_from_cstr("ab"), true), 3);
    assert_int_equal(rn_array_count_size(130, true), 2);
    assert_int_equal(rn_array_count_size(130, false), 4);
    assert_int_equal(rn_uvarint_size(UINT32_MAX), 5);
    /* Records too long for an int32 length cannot be written. */
    rn_records_t rec = {NULL, (int64_t)INT32_MAX + 1, (const void *)&buf, 0};
    rn_write_records(&w, &rec, false);
    assert_int_equal(w.err, RN_ERR_TOO_LARGE);
    rn_buf_free(&buf);
}

static void test_str_helpers(void **state) {
    (void)state;
    assert_true(rn_str_eq(rn_str_null(), rn_str_from_cstr(NULL)));
    assert_false(rn_str_eq(rn_str_null(), rn_str_from_cstr("")));
    assert_true(rn_str_eq_cstr(rn_str_from_cstr("abc"), "abc"));
    assert_false(rn_str_eq_cstr(rn_str_from_cstr("abc"), "abd"));
    rn_bytes_t a = {(const uint8_t *)"xy", 2}, b = {(const uint8_t *)"xy", 2};
    assert_true(rn_bytes_eq(a, b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_ints),        cmocka_unit_test(test_sticky_reader),
        cmocka_unit_test(test_float_uuid),        cmocka_unit_test(test_uvarint_edges),
        cmocka_unit_test(test_varint_round_trip), cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bytes_records),     cmocka_unit_test(test_array_counts),
        cmocka_unit_test(test_tagged_sections),   cmocka_unit_test(test_depth),
        cmocka_unit_test(test_writer_cap_sticky), cmocka_unit_test(test_write_lengths),
        cmocka_unit_test(test_str_helpers),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
