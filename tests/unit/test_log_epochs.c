/*
 * test_log_epochs.c: the partition log keeps its leader epochs: appends in
 * several epochs over several segments answer where each epoch ended, and
 * so they do after a clean close, after a crash (the epochs past the
 * recovery point assigned again from the batches), after a truncation and
 * a DeleteRecords, and with a checkpoint of the release before the epoch
 * cache (no epoch lines) or none at all (rebuilt from every batch).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/log.h"
#include "storage/checkpoint.h"
#include "storage/log.h"

#include "helpers/batch_build.h"
#include "helpers/tmp_dir.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char root[256];

static int setup(void **state) {
    (void)state;
    return td_make(root, sizeof root, "rn_test_log_epochs_") ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    td_remove(root);
    return 0;
}

static rn_log_config_t small_cfg(void) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 300; /* a few batches per segment */
    cfg.index_interval_bytes = 100;
    cfg.retention_ms = -1;
    return cfg;
}

static rn_log_t *open_log(const char *dir) {
    rn_log_config_t cfg = small_cfg();
    rn_log_t *log = NULL;
    assert_int_equal(rn_log_open(rn_io_linux(), dir, &cfg, &log), RN_OK);
    return log;
}

/* batches of 2 records in epoch */
static void append(rn_log_t *log, int batches, int32_t epoch) {
    for (int i = 0; i < batches; i++) {
        uint8_t buf[1024];
        bb_batch_t s = {.records = 2,
                        .value_bytes = 20,
                        .first_ts = 1000,
                        .ts_step = 1,
                        .producer_id = -1,
                        .epoch = -1,
                        .seq = -1};
        size_t len = bb_batch_build(buf, &s);
        rn_log_append_info_t info;
        assert_int_equal(rn_log_append(log, buf, len, epoch, 1000, &info), RN_OK);
    }
}

static void expect_end(rn_log_t *log, int32_t requested, int32_t current, int32_t want_epoch,
                       int64_t want_offset) {
    int32_t epoch = 99;
    int64_t offset = 99;
    rn_log_epoch_end(log, requested, current, &epoch, &offset);
    assert_int_equal(epoch, want_epoch);
    assert_int_equal(offset, want_offset);
}

/* epoch 0: offsets 0..5, epoch 3: 6..9, epoch 5: 10..11 */
static void check_three(rn_log_t *log) {
    assert_int_equal(rn_log_end_offset(log), 12);
    expect_end(log, 0, 5, 0, 6);
    expect_end(log, 2, 5, 0, 6);
    expect_end(log, 3, 5, 3, 10);
    expect_end(log, 4, 5, 3, 10);
    expect_end(log, 5, 5, 5, 12);
    expect_end(log, 6, 5, -1, -1);
}

static void three_epochs(const char *dir) {
    rn_log_t *log = open_log(dir);
    append(log, 3, 0);
    append(log, 2, 3);
    append(log, 1, 5);
    assert_true(rn_log_segment_count(log) > 2);
    check_three(log);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_clean_and_crash(void **state) {
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/clean", root);
    three_epochs(dir);
    rn_log_t *log = open_log(dir);
    check_three(log);
    /* epoch 8 past the recovery point, never checkpointed: a crash */
    append(log, 2, 8);
    assert_int_equal(rn_log_sync(log), RN_OK);
    append(log, 1, 9);
    rn_log_close_unclean(log);
    log = open_log(dir);
    assert_false(rn_log_open_stats(log)->clean);
    expect_end(log, 5, 9, 5, 12);
    expect_end(log, 8, 9, 8, 16);
    expect_end(log, 9, 9, 9, 18);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_cuts(void **state) {
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/cuts", root);
    three_epochs(dir);
    rn_log_t *log = open_log(dir);
    assert_int_equal(rn_log_truncate(log, 8), RN_OK); /* into epoch 3: epoch 5 goes */
    expect_end(log, 3, 3, 3, 8);
    expect_end(log, 5, 3, -1, -1);
    append(log, 1, 6);
    expect_end(log, 3, 6, 3, 8);
    assert_int_equal(rn_log_delete_records(log, 4), RN_OK); /* into epoch 0 */
    expect_end(log, 0, 6, 0, 6);
    assert_int_equal(rn_log_delete_records(log, 7), RN_OK); /* past epoch 0 */
    expect_end(log, 0, 6, 0, 7); /* older than every kept one: where the first begins now */
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log(dir);
    expect_end(log, 3, 6, 3, 8);
    expect_end(log, 6, 6, 6, 10);
    assert_int_equal(rn_log_close(log), RN_OK);
}

/* A checkpoint as the release before the epoch cache wrote it. */
static void write_v1(const char *dir, int64_t start, int64_t recovery_point) {
    char text[256], path[400];
    int n = snprintf(text, sizeof text,
                     "runnel-partition-checkpoint 1\nlog_start_offset %lld\nrecovery_point "
                     "%lld\nclean_shutdown 1\n",
                     (long long)start, (long long)recovery_point);
    n += snprintf(text + n, sizeof text - (size_t)n, "crc %08x\n", rn_crc32c(0, text, (size_t)n));
    snprintf(path, sizeof path, "%s/%s", dir, RN_CHECKPOINT_FILE);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
}

static void test_older_checkpoints(void **state) {
    (void)state;
    char dir[300], path[400];
    snprintf(dir, sizeof dir, "%s/old", root);
    three_epochs(dir);
    rn_checkpoint_t cp;
    rn_epoch_cache_t epochs;
    rn_epoch_cache_init(&epochs);
    assert_int_equal(rn_checkpoint_read(rn_io_linux(), dir, &cp, &epochs), RN_OK);
    assert_true(cp.has_epochs);
    assert_int_equal(epochs.n, 3);
    write_v1(dir, 0, cp.recovery_point);
    assert_int_equal(rn_checkpoint_read(rn_io_linux(), dir, &cp, &epochs), RN_OK);
    assert_false(cp.has_epochs);
    assert_int_equal(epochs.n, 0);
    rn_log_t *log = open_log(dir);
    assert_true(rn_log_open_stats(log)->clean);
    check_three(log); /* rebuilt from every batch */
    assert_int_equal(rn_log_close(log), RN_OK);
    snprintf(path, sizeof path, "%s/%s", dir, RN_CHECKPOINT_FILE);
    assert_int_equal(unlink(path), 0);
    log = open_log(dir);
    check_three(log);
    assert_int_equal(rn_log_close(log), RN_OK);
    rn_epoch_cache_free(&epochs);
}

int main(void) {
    rn_log_set_level(RN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_and_crash),
        cmocka_unit_test(test_cuts),
        cmocka_unit_test(test_older_checkpoints),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
