/*
 * test_topic_config.c: topic setting checks of rn_topic_config_check that go
 * beyond a value's type: message.format.version is any version Kafka 3.9
 * parses (with its rule for extra parts) and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metadata/topic_config.h"

#include <string.h>

static rn_err_t check(const char *name, const char *value, char *msg, size_t msg_len) {
    rn_tc_key_t key;
    return rn_topic_config_check(name, value, &key, msg, msg_len);
}

static void test_message_format_version(void **state) {
    (void)state;
    char msg[256];
    /* As Kafka's MetadataVersion.fromVersionString (checked against 3.9). */
    const char *good[] = {"3.0-IV1",  "0.10.0",    "0.10.0.0", "0.10.0.1", "0.10.0-IV0", "0.8.2.2",
                          "0.11.0.3", "1.0.0",     "2.8.1",    "3.0",      "3.9",        "3.9-IV0",
                          "4.0-IV1",  "3.0-IV1.5", " 2.8 ",    "0.8.0",    "3.0.0.0.0"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        rn_err_t err = check("message.format.version", good[i], msg, sizeof msg);
        if (err != RN_OK) fail_msg("%s refused: %s", good[i], msg);
    }
    const char *bad[] = {"bogus", "0.10", "4.0", "0.8", "2.8-IV2", "", "3.0.", "3..0", "v3.0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rn_err_t err = check("message.format.version", bad[i], msg, sizeof msg);
        if (err != RN_ERR_INVALID) fail_msg("%s accepted", bad[i]);
    }
    assert_int_equal(check("message.format.version", "bogus", msg, sizeof msg), RN_ERR_INVALID);
    assert_string_equal(msg, "Invalid value bogus for configuration message.format.version: "
                             "Version bogus is not a valid version");
}

static void test_deprecated_settings(void **state) {
    (void)state;
    char msg[256];
    assert_int_equal(check("message.downconversion.enable", "false", msg, sizeof msg), RN_OK);
    assert_int_equal(check("message.downconversion.enable", "no", msg, sizeof msg), RN_ERR_INVALID);
    assert_int_equal(check("message.timestamp.difference.max.ms", "1000", msg, sizeof msg), RN_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_format_version),
        cmocka_unit_test(test_deprecated_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
