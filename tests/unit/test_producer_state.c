/*
 * test_producer_state.c: idempotent producer rules (duplicates with their
 * original offsets, sequence gaps, fenced and bumped epochs, unknown
 * producers, wrap at INT32_MAX, five batches remembered), expiry, and
 * snapshots with replay from a real log in a temp directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "io/io.h"
#include "partition/producer_state.h"
#include "storage/log.h"

#include "helpers/batch_build.h"
#include "helpers/tmp_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rn_batch_header_t hdr_of(int64_t pid, int16_t epoch, int32_t seq, int32_t records,
                                int64_t base_offset) {
    rn_batch_header_t hdr;
    memset(&hdr, 0, sizeof hdr);
    hdr.magic = 2;
    hdr.producer_id = pid;
    hdr.producer_epoch = epoch;
    hdr.base_sequence = seq;
    hdr.records_count = records;
    hdr.last_offset_delta = records - 1;
    hdr.base_offset = base_offset;
    hdr.max_timestamp = 1000 + base_offset;
    return hdr;
}

static rn_err_t check(rn_producer_state_t *ps, int64_t pid, int16_t epoch, int32_t seq,
                      int32_t records, rn_producer_check_t *chk) {
    rn_batch_header_t hdr = hdr_of(pid, epoch, seq, records, 0);
    return rn_producer_state_check(ps, &hdr, chk);
}

static void record(rn_producer_state_t *ps, int64_t pid, int16_t epoch, int32_t seq,
                   int32_t records, int64_t base_offset) {
    rn_batch_header_t hdr = hdr_of(pid, epoch, seq, records, base_offset);
    rn_producer_check_t chk;
    assert_int_equal(rn_producer_state_check(ps, &hdr, &chk), RN_OK);
    assert_int_equal(rn_producer_state_record(ps, &hdr), RN_OK);
}

static void test_sequence_rules(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    rn_producer_check_t chk;
    /* non-idempotent batches pass untouched */
    assert_int_equal(check(ps, -1, -1, -1, 3, &chk), RN_OK);
    /* unknown producer: sequence 0 starts it, anything else is unknown */
    assert_int_equal(check(ps, 7, 0, 5, 1, &chk), RN_ERR_UNKNOWN_PRODUCER);
    assert_int_equal(chk.verdict, RN_PRODUCER_UNKNOWN);
    record(ps, 7, 0, 0, 3, 100); /* seq 0..2, offsets 100..102 */
    record(ps, 7, 0, 3, 2, 110); /* seq 3..4 */
    /* a retry of either is a duplicate with its original offsets */
    assert_int_equal(check(ps, 7, 0, 0, 3, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(chk.verdict, RN_PRODUCER_DUPLICATE);
    assert_int_equal(chk.dup_first_offset, 100);
    assert_int_equal(chk.dup_last_offset, 102);
    assert_int_equal(check(ps, 7, 0, 3, 2, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(chk.dup_first_offset, 110);
    assert_int_equal(chk.dup_last_offset, 111);
    /* gaps and overlaps are out of order */
    assert_int_equal(check(ps, 7, 0, 6, 1, &chk), RN_ERR_SEQUENCE);
    assert_int_equal(check(ps, 7, 0, 4, 1, &chk), RN_ERR_SEQUENCE);
    assert_int_equal(check(ps, 7, 0, 5, 1, &chk), RN_OK);
    /* stale epoch is fenced */
    record(ps, 7, 1, 0, 1, 120);
    assert_int_equal(check(ps, 7, 0, 5, 1, &chk), RN_ERR_STALE);
    assert_int_equal(chk.verdict, RN_PRODUCER_FENCED);
    /* a bumped epoch must start at 0 */
    assert_int_equal(check(ps, 7, 2, 1, 1, &chk), RN_ERR_SEQUENCE);
    assert_int_equal(check(ps, 7, 2, 0, 1, &chk), RN_OK);
    /* the new epoch forgot the old batches */
    record(ps, 7, 2, 0, 1, 130);
    assert_int_equal(check(ps, 7, 2, 0, 1, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(chk.dup_first_offset, 130);
    assert_int_equal(rn_producer_state_count(ps), 1);
    rn_producer_state_free(ps);
}

typedef struct seen {
    int count;
    int64_t pid;
    int16_t epoch;
    int32_t last_seq;
} seen_t;

static void seen_one(void *ctx, int64_t pid, int16_t epoch, int32_t last_seq, int64_t ts) {
    (void)ts;
    seen_t *seen = ctx;
    seen->count++;
    seen->pid = pid;
    seen->epoch = epoch;
    seen->last_seq = last_seq;
}

/* DescribeProducers' view: each producer with its last sequence. */
static void test_each(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    seen_t seen = {0};
    rn_producer_state_each(ps, seen_one, &seen);
    assert_int_equal(seen.count, 0);
    record(ps, 9, 2, 0, 3, 100);
    rn_producer_state_each(ps, seen_one, &seen);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.pid, 9);
    assert_int_equal(seen.epoch, 2);
    assert_int_equal(seen.last_seq, 2);
    rn_producer_state_free(ps);
}

/* Transaction markers (control batches: producer, no sequence) count only
   by their epoch: an older one is fenced, a newer one bumps the producer,
   and neither takes a place among the remembered batches. */
static void test_markers(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    record(ps, 7, 3, 0, 2, 100);
    rn_batch_header_t marker = hdr_of(7, 3, -1, 1, 102);
    marker.attributes = RN_BATCH_ATTR_TRANSACTIONAL | RN_BATCH_ATTR_CONTROL;
    rn_producer_check_t chk;
    assert_int_equal(rn_producer_state_check(ps, &marker, &chk), RN_OK);
    assert_int_equal(rn_producer_state_record(ps, &marker), RN_OK);
    /* the producer's sequence goes on after the marker */
    assert_int_equal(check(ps, 7, 3, 0, 2, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(check(ps, 7, 3, 2, 1, &chk), RN_OK);
    marker.producer_epoch = 2;
    assert_int_equal(rn_producer_state_check(ps, &marker, &chk), RN_ERR_STALE);
    assert_int_equal(chk.verdict, RN_PRODUCER_FENCED);
    marker.producer_epoch = 4; /* a fence's abort: the epoch moves on */
    assert_int_equal(rn_producer_state_check(ps, &marker, &chk), RN_OK);
    assert_int_equal(rn_producer_state_record(ps, &marker), RN_OK);
    assert_int_equal(check(ps, 7, 3, 2, 1, &chk), RN_ERR_STALE);
    /* a marker of a producer never seen is taken */
    marker.producer_id = 8;
    assert_int_equal(rn_producer_state_check(ps, &marker, &chk), RN_OK);
    rn_producer_state_free(ps);
}

static void test_five_batches_and_wrap(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    rn_producer_check_t chk;
    for (int i = 0; i < 7; i++) record(ps, 9, 0, i * 2, 2, 10 * i);
    /* the last five are remembered; older retries are out of order */
    for (int i = 2; i < 7; i++) {
        assert_int_equal(check(ps, 9, 0, i * 2, 2, &chk), RN_ERR_DUPLICATE);
        assert_int_equal(chk.dup_first_offset, 10 * i);
    }
    assert_int_equal(check(ps, 9, 0, 2, 2, &chk), RN_ERR_SEQUENCE);
    assert_int_equal(check(ps, 9, 0, 0, 2, &chk), RN_ERR_SEQUENCE);
    /* wrap: the sequence after INT32_MAX is 0 */
    assert_int_equal(rn_producer_seq_add(INT32_MAX, 1), 0);
    assert_int_equal(rn_producer_seq_add(INT32_MAX - 1, 3), 1);
    assert_int_equal(rn_producer_seq_add(5, 0), 5);
    record(ps, 11, 0, 0, 1, 500);
    rn_producer_state_clear(ps);
    assert_int_equal(rn_producer_state_count(ps), 0);
    /* after the state is lost, a producer resumes only at sequence 0 */
    assert_int_equal(check(ps, 11, 0, 1, 1, &chk), RN_ERR_UNKNOWN_PRODUCER);
    record(ps, 11, 0, 0, 1, 600);
    rn_batch_header_t hdr = hdr_of(11, 0, INT32_MAX - 1, 3, 700);
    /* jump the sequence near the top: state a batch ending at INT32_MAX - 2 */
    rn_producer_state_clear(ps);
    hdr = hdr_of(11, 0, INT32_MAX - 4, 3, 700); /* seq MAX-4 .. MAX-2 */
    assert_int_equal(rn_producer_state_record(ps, &hdr), RN_OK);
    hdr = hdr_of(11, 0, INT32_MAX - 1, 3, 710); /* seq MAX-1, MAX, 0 */
    assert_int_equal(rn_producer_state_check(ps, &hdr, &chk), RN_OK);
    assert_int_equal(chk.last_seq, 0);
    assert_int_equal(rn_producer_state_record(ps, &hdr), RN_OK);
    assert_int_equal(check(ps, 11, 0, 1, 1, &chk), RN_OK);
    assert_int_equal(check(ps, 11, 0, INT32_MAX - 1, 3, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(chk.dup_first_offset, 710);
    rn_producer_state_free(ps);
}

static void test_many_producers_and_expiry(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    rn_producer_check_t chk;
    for (int64_t pid = 0; pid < 5000; pid++) record(ps, pid, 0, 0, 1, pid);
    assert_int_equal(rn_producer_state_count(ps), 5000);
    for (int64_t pid = 0; pid < 5000; pid += 7) {
        assert_int_equal(check(ps, pid, 0, 0, 1, &chk), RN_ERR_DUPLICATE);
        assert_int_equal(chk.dup_first_offset, pid);
        assert_int_equal(check(ps, pid, 0, 1, 1, &chk), RN_OK);
    }
    /* max_timestamp of producer p's batch is 1000 + p */
    assert_int_equal(rn_producer_state_expire(ps, 1000 + 2500 + 100, 100), 2500);
    assert_int_equal(rn_producer_state_count(ps), 2500);
    for (int64_t pid = 0; pid < 5000; pid++) {
        rn_err_t want = pid < 2500 ? RN_ERR_UNKNOWN_PRODUCER : RN_ERR_DUPLICATE;
        assert_int_equal(check(ps, pid, 0, 0, 1, &chk), pid < 2500 ? RN_OK : want);
        assert_int_equal(check(ps, pid, 0, 1, 1, &chk),
                         pid < 2500 ? RN_ERR_UNKNOWN_PRODUCER : RN_OK);
    }
    rn_producer_state_free(ps);
}

/* ---- snapshots with a real log ---- */

/* `records` one-byte records ('x'), all stamped 5000. */
static size_t build(uint8_t *out, int records, int64_t pid, int16_t epoch, int32_t seq) {
    bb_batch_t s = {
        .records = records,
        .value_bytes = 1,
        .value_fill = 'x',
        .first_ts = 5000,
        .producer_id = pid,
        .epoch = epoch,
        .seq = seq,
    };
    return bb_batch_build(out, &s);
}

static char tmp_root[256];

static int count_snapshots(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".snapshot")) n++;
    closedir(d);
    return n;
}

/* Appends one idempotent batch through check, append, record. */
static void produce(rn_log_t *log, rn_producer_state_t *ps, int64_t pid, int32_t seq, int records) {
    uint8_t buf[1024];
    size_t len = build(buf, records, pid, 0, seq);
    rn_producer_check_t chk;
    assert_int_equal(rn_producer_state_check_records(ps, buf, len, &chk), RN_OK);
    rn_log_append_info_t info;
    assert_int_equal(rn_log_append(log, buf, len, 0, 0, &info), RN_OK);
    assert_int_equal(rn_producer_state_record_records(ps, buf, len), RN_OK);
}

static void expect_dup(rn_producer_state_t *ps, int64_t pid, int32_t seq, int records,
                       int64_t first_offset) {
    uint8_t buf[1024];
    size_t len = build(buf, records, pid, 0, seq);
    rn_producer_check_t chk;
    assert_int_equal(rn_producer_state_check_records(ps, buf, len, &chk), RN_ERR_DUPLICATE);
    assert_int_equal(chk.dup_first_offset, first_offset);
    assert_int_equal(chk.dup_last_offset, first_offset + records - 1);
}

static void test_snapshot_and_replay(void **state) {
    (void)state;
    assert_true(td_make(tmp_root, sizeof tmp_root, "rn_test_ps_"));
    char dir[512];
    snprintf(dir, sizeof dir, "%s/p-0", tmp_root);
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 2000;
    rn_io_t *io = rn_io_linux();
    rn_log_t *log;
    assert_int_equal(rn_log_open(io, dir, &cfg, &log), RN_OK);
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    for (int i = 0; i < 10; i++) produce(log, ps, 1, i * 3, 3); /* offsets 0..29 */
    for (int i = 0; i < 4; i++) produce(log, ps, 2, i, 1);      /* offsets 30..33 */
    assert_int_equal(rn_producer_state_save(ps, io, dir, rn_log_end_offset(log)), RN_OK);
    for (int i = 10; i < 12; i++) produce(log, ps, 1, i * 3, 3); /* 34..39 after snapshot */
    produce(log, ps, 3, 0, 2);                                   /* 40..41, new producer */
    assert_int_equal(rn_log_sync(log), RN_OK);
    rn_log_close_unclean(log);
    rn_producer_state_free(ps);
    /* reopen: snapshot at 34, then replay */
    assert_int_equal(rn_log_open(io, dir, &cfg, &log), RN_OK);
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    int64_t from = -1;
    assert_int_equal(rn_producer_state_load(ps, io, log, &from), RN_OK);
    assert_int_equal(from, 34);
    assert_int_equal(rn_producer_state_count(ps), 3);
    expect_dup(ps, 1, 33, 3, 37);
    expect_dup(ps, 1, 21, 3, 21); /* remembered from the snapshot */
    expect_dup(ps, 2, 3, 1, 33);
    expect_dup(ps, 3, 0, 2, 40);
    /* a new snapshot replaces the old one */
    assert_int_equal(rn_producer_state_save(ps, io, dir, rn_log_end_offset(log)), RN_OK);
    assert_int_equal(count_snapshots(dir), 1);
    rn_producer_state_free(ps);
    /* the log is truncated below the snapshot: it is dropped, replay from 0 */
    assert_int_equal(rn_log_truncate(log, 20), RN_OK);
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    assert_int_equal(rn_producer_state_load(ps, io, log, &from), RN_OK);
    assert_int_equal(from, 0);
    assert_int_equal(count_snapshots(dir), 0);
    assert_int_equal(rn_producer_state_count(ps), 1);
    expect_dup(ps, 1, 15, 3, 15);
    rn_producer_state_free(ps);
    /* a corrupt snapshot is ignored and removed */
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    assert_int_equal(rn_producer_state_load(ps, io, log, NULL), RN_OK);
    assert_int_equal(rn_producer_state_save(ps, io, dir, rn_log_end_offset(log)), RN_OK);
    char snap[600];
    snprintf(snap, sizeof snap, "%s/%020lld.snapshot", dir, (long long)rn_log_end_offset(log));
    FILE *f = fopen(snap, "r+b");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    rn_producer_state_free(ps);
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    assert_int_equal(rn_producer_state_load(ps, io, log, &from), RN_OK);
    assert_int_equal(from, 0);
    expect_dup(ps, 1, 15, 3, 15);
    rn_producer_state_free(ps);
    assert_int_equal(rn_log_close(log), RN_OK);
    td_remove(tmp_root);
}

static void test_multi_batch_records(void **state) {
    (void)state;
    rn_producer_state_t *ps;
    assert_int_equal(rn_producer_state_create(&ps), RN_OK);
    uint8_t buf[2048];
    size_t len = build(buf, 2, 5, 0, 0);
    len += build(buf + len, 2, 5, 0, 2);
    rn_producer_check_t chk;
    assert_int_equal(rn_producer_state_check_records(ps, buf, len, &chk), RN_ERR_INVALID);
    len = build(buf, 2, -1, -1, -1);
    len += build(buf + len, 2, -1, -1, -1);
    assert_int_equal(rn_producer_state_check_records(ps, buf, len, &chk), RN_OK);
    rn_producer_state_free(ps);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_rules),
        cmocka_unit_test(test_markers),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_five_batches_and_wrap),
        cmocka_unit_test(test_many_producers_and_expiry),
        cmocka_unit_test(test_snapshot_and_replay),
        cmocka_unit_test(test_multi_batch_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
