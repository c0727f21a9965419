/*
 * test_txns.c: a partition's transactions (partition/txns.h): the first
 * unstable offset while transactions are ongoing, markers ending them,
 * aborted transactions and the range queries a read_committed fetch makes,
 * truncation and log-start moves, and the checkpoint round trip (kept only
 * for the offset it covers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/io.h"
#include "partition/txns.h"
#include "proto/batch_marker.h"

#include "helpers/tmp_dir.h"

#include <string.h>

/* A transactional data batch of `count` records at `offset`. */
static void data(rn_txns_t *txns, int64_t pid, int64_t offset, int32_t count) {
    rn_batch_header_t hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.magic = 2;
    hdr.producer_id = pid;
    hdr.producer_epoch = 0;
    hdr.base_sequence = 0;
    hdr.attributes = RN_BATCH_ATTR_TRANSACTIONAL;
    hdr.base_offset = offset;
    hdr.records_count = count;
    hdr.last_offset_delta = count - 1;
    rn_txns_on_batch(txns, &hdr, NULL, 0, offset);
}

static void marker(rn_txns_t *txns, int64_t pid, int64_t offset, bool commit, int64_t hw) {
    uint8_t batch[RN_BATCH_MARKER_BYTES];
    rn_batch_marker_encode(batch, pid, 0, commit, 0, 1);
    rn_batch_header_t hdr;
    rn_batch_header_parse(batch, &hdr);
    hdr.base_offset = offset;
    rn_txns_on_batch(txns, &hdr, batch, sizeof batch, hw);
}

static void test_ongoing_and_markers(void **state) {
    (void)state;
    rn_txns_t *txns;
    assert_int_equal(rn_txns_create(&txns), RN_OK);
    assert_int_equal(rn_txns_first_unstable(txns), INT64_MAX);
    data(txns, 1, 10, 3); /* producer 1: 10..12 */
    data(txns, 2, 13, 2); /* producer 2: 13..14 */
    data(txns, 1, 15, 1);
    assert_int_equal(rn_txns_first_unstable(txns), 10);
    assert_true(rn_txns_ongoing(txns, 1));
    marker(txns, 1, 16, true, 16); /* 1 commits */
    assert_false(rn_txns_ongoing(txns, 1));
    assert_int_equal(rn_txns_first_unstable(txns), 13);
    assert_int_equal(rn_txns_aborted_count(txns), 0);
    marker(txns, 2, 17, false, 17); /* 2 aborts */
    assert_int_equal(rn_txns_first_unstable(txns), INT64_MAX);
    assert_int_equal(rn_txns_aborted_count(txns), 1);
    rn_txn_aborted_t found[4];
    assert_int_equal(rn_txns_aborted(txns, 0, 100, found, 4), 1);
    assert_int_equal(found[0].producer_id, 2);
    assert_int_equal(found[0].first_offset, 13);
    assert_int_equal(found[0].last_offset, 17);
    assert_int_equal(found[0].last_stable_offset, 17);
    /* a range past its marker, or ending at its first offset, has none */
    assert_int_equal(rn_txns_aborted(txns, 18, 100, found, 4), 0);
    assert_int_equal(rn_txns_aborted(txns, 0, 13, found, 4), 0);
    assert_int_equal(rn_txns_aborted(txns, 14, 15, found, 4), 1);
    /* a marker of a producer with nothing here records nothing */
    marker(txns, 9, 18, false, 18);
    assert_int_equal(rn_txns_aborted_count(txns), 1);
    /* non-transactional batches are not transactions */
    rn_batch_header_t plain;
    memset(&plain, 0, sizeof plain);
    plain.producer_id = 3;
    plain.base_offset = 19;
    rn_txns_on_batch(txns, &plain, NULL, 0, 19);
    assert_int_equal(rn_txns_first_unstable(txns), INT64_MAX);
    rn_txns_free(txns);
}

static void test_truncate_and_start(void **state) {
    (void)state;
    rn_txns_t *txns;
    assert_int_equal(rn_txns_create(&txns), RN_OK);
    data(txns, 1, 0, 1);
    marker(txns, 1, 1, false, 1);
    data(txns, 1, 2, 1);
    marker(txns, 1, 3, false, 3);
    data(txns, 2, 4, 1);
    assert_int_equal(rn_txns_aborted_count(txns), 2);
    rn_txns_truncate(txns, 3); /* the second abort and producer 2's batch are gone */
    assert_int_equal(rn_txns_aborted_count(txns), 1);
    assert_int_equal(rn_txns_first_unstable(txns), INT64_MAX);
    rn_txns_start_moved(txns, 1); /* the marker at 1 is still in the log */
    assert_int_equal(rn_txns_aborted_count(txns), 1);
    rn_txns_start_moved(txns, 2);
    assert_int_equal(rn_txns_aborted_count(txns), 0);
    rn_txns_free(txns);
}

static void test_checkpoint(void **state) {
    (void)state;
    char dir[256];
    assert_true(td_make(dir, sizeof dir, "rn-txns-"));
    rn_io_t *io = rn_io_linux();
    rn_txns_t *txns, *back;
    assert_int_equal(rn_txns_create(&txns), RN_OK);
    data(txns, 1, 0, 2);
    marker(txns, 1, 2, false, 2);
    data(txns, 5, 3, 2); /* ongoing at the checkpoint */
    assert_int_equal(rn_txns_save(txns, io, dir, 5), RN_OK);
    assert_int_equal(rn_txns_create(&back), RN_OK);
    assert_false(rn_txns_load(back, io, dir, 6)); /* another offset: not used */
    assert_int_equal(rn_txns_aborted_count(back), 0);
    assert_true(rn_txns_load(back, io, dir, 5));
    assert_int_equal(rn_txns_first_unstable(back), 3);
    assert_true(rn_txns_ongoing(back, 5));
    rn_txn_aborted_t found[2];
    assert_int_equal(rn_txns_aborted(back, 0, 10, found, 2), 1);
    assert_int_equal(found[0].producer_id, 1);
    assert_int_equal(found[0].first_offset, 0);
    assert_int_equal(found[0].last_offset, 2);
    rn_txns_free(back);
    rn_txns_free(txns);
    td_remove(dir);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ongoing_and_markers),
        cmocka_unit_test(test_truncate_and_start),
        cmocka_unit_test(test_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
