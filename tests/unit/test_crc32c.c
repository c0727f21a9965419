/*
 * test_crc32c.c: CRC-32C (src/base/crc32c.c): the standard check value, and
 * the fast path (three interleaved hardware streams joined by shift tables)
 * against the table-only reference at every length boundary, any alignment
 * and when continued across calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/crc32c.h"

#include <stdlib.h>
#include <string.h>

static void test_check_value(void **state) {
    (void)state;
    assert_int_equal(rn_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rn_crc32c_portable(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(rn_crc32c(0, "", 0), 0);
    uint8_t zeros[32] = {0};
    assert_int_equal(rn_crc32c(0, zeros, sizeof zeros), 0x8A9136AAu); /* RFC 3720 B.4 */
}

static void test_matches_reference(void **state) {
    (void)state;
    enum { BYTES = 3 * 8192 * 2 + 3 * 256 * 3 + 64 };
    uint8_t *data = malloc(BYTES);
    assert_non_null(data);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < BYTES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    /* Lengths around each stream size, and every alignment of the start. */
    size_t lens[] = {1, 7, 8, 767, 768, 769, 1000, 24575, 24576, 24577, 50000, BYTES - 8};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
        for (size_t off = 0; off < 8; off++)
            assert_int_equal(rn_crc32c(0, data + off, lens[l]),
                             rn_crc32c_portable(0, data + off, lens[l]));
    /* Continuing a CRC across calls equals one call over the whole. */
    uint32_t whole = rn_crc32c(0, data, BYTES);
    uint32_t parts = rn_crc32c(0, data, 30000);
    parts = rn_crc32c(parts, data + 30000, BYTES - 30000);
    assert_int_equal(parts, whole);
    assert_int_equal(rn_crc32c(0x12345678u, data, 40000),
                     rn_crc32c_portable(0x12345678u, data, 40000));
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
