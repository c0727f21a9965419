/*
 * test_uuid_text.c: Kafka's text form of a Uuid: known values both ways
 * (checked against Kafka's own Uuid.toString), round trips, and the forms
 * that must be refused (length, alphabet, non-canonical padding bits).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/uuid_text.h"

#include <string.h>

static void test_known_values(void **state) {
    (void)state;
    rn_uuid_t zero = {{0}};
    char text[RN_UUID_TEXT_CHARS + 1];
    rn_uuid_to_text(&zero, text);
    assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAA");
    rn_uuid_t one = {{0}};
    one.bytes[15] = 1; /* Kafka's METADATA_TOPIC_ID */
    rn_uuid_to_text(&one, text);
    assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAQ");
    rn_uuid_t back;
    assert_true(rn_uuid_from_text("AAAAAAAAAAAAAAAAAAAAAQ", &back));
    assert_memory_equal(back.bytes, one.bytes, 16);
    rn_uuid_t all = {{0}};
    memset(all.bytes, 0xff, 16);
    rn_uuid_to_text(&all, text);
    assert_string_equal(text, "_____________________w");
}

static void test_round_trip(void **state) {
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int n = 0; n < 1000; n++) {
        rn_uuid_t id, back;
        for (int i = 0; i < 16; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            id.bytes[i] = (uint8_t)x;
        }
        char text[RN_UUID_TEXT_CHARS + 1];
        rn_uuid_to_text(&id, text);
        assert_int_equal(strlen(text), RN_UUID_TEXT_CHARS);
        assert_true(rn_uuid_from_text(text, &back));
        assert_memory_equal(back.bytes, id.bytes, 16);
    }
}

static void test_refused(void **state) {
    (void)state;
    rn_uuid_t id;
    assert_false(rn_uuid_from_text("", &id));
    assert_false(rn_uuid_from_text("AAAAAAAAAAAAAAAAAAAAA", &id));   /* 21 */
    assert_false(rn_uuid_from_text("AAAAAAAAAAAAAAAAAAAAAAA", &id)); /* 23 */
    assert_false(rn_uuid_from_text("AAAAAAAAAAAAAAAAAAAA+A", &id));  /* not base64url */
    assert_false(rn_uuid_from_text("AAAAAAAAAAAAAAAAAAAAAB", &id));  /* padding bits set */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
