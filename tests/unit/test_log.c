/*
 * test_log.c: the partition log on the real Linux backend in a temp
 * directory: append, read, roll, index and time lookups, retention,
 * DeleteRecords, truncation, clean reopen without a scan, and unclean reopen
 * cutting a torn or corrupt tail at every point with indexes rebuilt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "io/io.h"
#include "proto/batch.h"
#include "storage/log.h"
#include "storage/log_check.h"

#include "helpers/batch_build.h"
#include "helpers/tmp_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

/* ---- batches ---- */

/* `records` records of 20 bytes, timestamps base_ts, base_ts + 1, ...; not
   idempotent, uncompressed. */
static size_t build_simple(uint8_t *out, int records, int64_t base_ts) {
    bb_batch_t s = {
        .records = records,
        .value_bytes = 20,
        .first_ts = base_ts,
        .ts_step = 1,
        .producer_id = -1,
        .epoch = -1,
        .seq = -1,
    };
    return bb_batch_build(out, &s);
}

/* ---- fixture ---- */

static char tmp_root[256];

static int setup(void **state) {
    if (!td_make(tmp_root, sizeof tmp_root, "rn_test_log_")) return -1;
    *state = tmp_root;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    td_remove(tmp_root);
    return 0;
}

static void part_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", tmp_root, name);
}

static rn_log_config_t small_cfg(void) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 4096;
    cfg.index_interval_bytes = 256;
    cfg.retention_ms = -1;
    return cfg;
}

static rn_log_t *open_log(const char *dir, const rn_log_config_t *cfg) {
    rn_log_t *log = NULL;
    assert_int_equal(rn_log_open(rn_io_linux(), dir, cfg, &log), RN_OK);
    assert_non_null(log);
    return log;
}

static void append_n(rn_log_t *log, int batches, int records, int64_t base_ts) {
    for (int i = 0; i < batches; i++) {
        uint8_t buf[8192];
        size_t len = build_simple(buf, records, base_ts + i * 10);
        rn_log_append_info_t info;
        int64_t end = rn_log_end_offset(log);
        assert_int_equal(rn_log_append(log, buf, len, 7, 1000, &info), RN_OK);
        assert_int_equal(info.first_offset, end);
        assert_int_equal(info.last_offset, end + records - 1);
        assert_int_equal(info.batch_count, 1);
    }
}

/* Reads the range for offset and checks it starts with the batch holding it. */
static void check_read_at(rn_log_t *log, int64_t offset) {
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, offset, 1, INT64_MAX, &rd), RN_OK);
    assert_true(rd.len > 0);
    uint8_t *buf = malloc(rd.len);
    size_t got = 0;
    assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, buf, rd.len, rd.position, &got), RN_OK);
    assert_int_equal(got, rd.len);
    rn_batch_header_t hdr;
    rn_batch_header_parse(buf, &hdr);
    assert_int_equal(rn_batch_size(&hdr), rd.len); /* max_bytes 1: exactly one batch */
    assert_true(hdr.base_offset <= offset && offset <= rn_batch_last_offset(&hdr));
    rn_batch_limits_t lim = {0, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(buf, rd.len, &lim, &sum), RN_OK);
    assert_int_equal(hdr.partition_leader_epoch, 7);
    free(buf);
    rn_log_read_release(&rd);
}

static void check_all_reads(rn_log_t *log) {
    for (int64_t o = rn_log_start_offset(log); o < rn_log_end_offset(log); o++)
        check_read_at(log, o);
}

/* ---- tests ---- */

static void test_append_read(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-0");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1 << 20;
    rn_log_t *log = open_log(dir, &cfg);
    assert_int_equal(rn_log_end_offset(log), 0);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, 0, 1000, INT64_MAX, &rd), RN_OK);
    assert_int_equal(rd.len, 0);
    append_n(log, 10, 3, 1000);
    assert_int_equal(rn_log_end_offset(log), 30);
    check_all_reads(log);
    /* whole log in one read */
    assert_int_equal(rn_log_read(log, 0, 1 << 20, INT64_MAX, &rd), RN_OK);
    assert_int_equal(rd.position, 0);
    assert_int_equal(rd.len, rn_log_size_bytes(log));
    rn_log_read_release(&rd);
    /* max_offset (high watermark) stops before batches at or past it */
    assert_int_equal(rn_log_read(log, 0, 1 << 20, 9, &rd), RN_OK);
    uint64_t three = rd.len;
    rn_log_read_release(&rd);
    assert_int_equal(rn_log_read(log, 0, 1 << 20, 8, &rd), RN_OK);
    assert_true(rd.len < three && rd.len > 0);
    rn_log_read_release(&rd);
    /* at the end: nothing; past it: out of range */
    assert_int_equal(rn_log_read(log, 30, 100, INT64_MAX, &rd), RN_OK);
    assert_int_equal(rd.len, 0);
    assert_int_equal(rn_log_read(log, 31, 100, INT64_MAX, &rd), RN_ERR_OUT_OF_RANGE);
    assert_int_equal(rn_log_read(log, -1, 100, INT64_MAX, &rd), RN_ERR_OUT_OF_RANGE);
    /* sync advances the durable offset */
    assert_int_equal(rn_log_synced_offset(log), 0);
    assert_int_equal(rn_log_sync(log), RN_OK);
    assert_int_equal(rn_log_synced_offset(log), 30);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_append_rejects(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-1");
    rn_log_config_t cfg = small_cfg();
    cfg.max_message_bytes = 300;
    rn_log_t *log = open_log(dir, &cfg);
    uint8_t buf[8192];
    rn_log_append_info_t info;
    size_t len = build_simple(buf, 3, 1);
    buf[40] ^= 1;
    assert_int_equal(rn_log_append(log, buf, len, 0, 0, &info), RN_ERR_CORRUPT);
    assert_int_equal(info.reason, RN_BATCH_BAD_CRC);
    len = build_simple(buf, 3, 1);
    buf[16] = 1;
    assert_int_equal(rn_log_append(log, buf, len, 0, 0, &info), RN_ERR_INVALID);
    assert_int_equal(info.reason, RN_BATCH_BAD_MAGIC);
    len = build_simple(buf, 20, 1);
    assert_true(len > 300);
    assert_int_equal(rn_log_append(log, buf, len, 0, 0, &info), RN_ERR_TOO_LARGE);
    assert_int_equal(info.reason, RN_BATCH_TOO_LARGE);
    /* a set larger than segment.bytes */
    cfg.max_message_bytes = 1 << 20;
    rn_log_set_config(log, &cfg);
    size_t total = 0;
    while (total < 5000) total += build_simple(buf + total, 3, 1);
    assert_int_equal(rn_log_append(log, buf, total, 0, 0, &info), RN_ERR_TOO_LARGE);
    assert_int_equal(info.reason, RN_BATCH_LIST_TOO_LARGE);
    assert_int_equal(rn_log_end_offset(log), 0);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_multi_batch_and_log_append_time(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-2");
    rn_log_config_t cfg = small_cfg();
    cfg.timestamp_type = RN_LOG_TIMESTAMP_LOG_APPEND_TIME;
    rn_log_t *log = open_log(dir, &cfg);
    uint8_t buf[8192];
    size_t len = build_simple(buf, 2, 5);
    len += build_simple(buf + len, 4, 5);
    rn_log_append_info_t info;
    assert_int_equal(rn_log_append(log, buf, len, 3, 123456, &info), RN_OK);
    assert_int_equal(info.first_offset, 0);
    assert_int_equal(info.last_offset, 5);
    assert_int_equal(info.batch_count, 2);
    assert_int_equal(info.records_count, 6);
    assert_int_equal(info.log_append_time_ms, 123456);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, 3, 1 << 20, INT64_MAX, &rd), RN_OK);
    uint8_t back[8192];
    size_t got = 0;
    assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, back, rd.len, rd.position, &got),
                     RN_OK);
    rn_batch_header_t hdr;
    rn_batch_header_parse(back, &hdr);
    assert_int_equal(hdr.base_offset, 2);
    assert_int_equal(hdr.max_timestamp, 123456);
    assert_true(hdr.attributes & RN_BATCH_ATTR_LOG_APPEND_TIME);
    rn_batch_limits_t lim = {0, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(back, rd.len, &lim, &sum), RN_OK);
    rn_log_read_release(&rd);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_roll_and_index(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-3");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 2000;
    cfg.index_interval_bytes = 100;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 60, 2, 1000);
    assert_true(rn_log_segment_count(log) > 3);
    check_all_reads(log);
    /* a segment never exceeds segment.bytes */
    assert_true(rn_log_size_bytes(log) <= (uint64_t)rn_log_segment_count(log) * 2000);
    /* index by a small max_bytes reads across segments in order */
    int64_t offset = 0;
    while (offset < rn_log_end_offset(log)) {
        rn_log_read_t rd;
        assert_int_equal(rn_log_read(log, offset, 700, INT64_MAX, &rd), RN_OK);
        assert_true(rd.len > 0 && rd.len <= 700);
        uint8_t buf[2048];
        size_t got;
        assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, buf, rd.len, rd.position, &got),
                         RN_OK);
        for (size_t p = 0; p < rd.len;) {
            rn_batch_header_t hdr;
            rn_batch_header_parse(buf + p, &hdr);
            assert_int_equal(hdr.base_offset, offset);
            offset = rn_batch_last_offset(&hdr) + 1;
            p += rn_batch_size(&hdr);
        }
        rn_log_read_release(&rd);
    }
    assert_int_equal(offset, 120);
    assert_int_equal(rn_log_sync(log), RN_OK);
    assert_int_equal(rn_log_close(log), RN_OK);
    /* roll by segment.ms: the first batch's timestamp is old */
    part_dir(dir, sizeof dir, "t-3b");
    cfg = small_cfg();
    cfg.segment_ms = 1000;
    log = open_log(dir, &cfg);
    uint8_t buf[1024];
    rn_log_append_info_t info;
    size_t len = build_simple(buf, 1, 5000);
    assert_int_equal(rn_log_append(log, buf, len, 0, 5500, &info), RN_OK);
    len = build_simple(buf, 1, 5000);
    assert_int_equal(rn_log_append(log, buf, len, 0, 6400, &info), RN_OK);
    assert_int_equal(rn_log_segment_count(log), 1);
    len = build_simple(buf, 1, 5000);
    assert_int_equal(rn_log_append(log, buf, len, 0, 6501, &info), RN_OK);
    assert_int_equal(rn_log_segment_count(log), 2);
    /* records stamped far in the past do not roll on every append */
    for (int i = 0; i < 5; i++) {
        len = build_simple(buf, 1, 0);
        assert_int_equal(rn_log_append(log, buf, len, 0, 6600 + i, &info), RN_OK);
    }
    assert_int_equal(rn_log_segment_count(log), 2);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_time_lookup(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-4");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1500;
    cfg.index_interval_bytes = 100;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 40, 3, 1000); /* batch i: records at 1000 + 10 i + {0,1,2} */
    assert_true(rn_log_segment_count(log) > 2);
    int64_t offset, ts;
    for (int i = 0; i < 40; i++) {
        for (int r = 0; r < 3; r++) {
            assert_int_equal(rn_log_offset_for_timestamp(log, 1000 + 10 * i + r, &offset, &ts),
                             RN_OK);
            assert_int_equal(offset, 3 * i + r);
        }
        /* between batches: the next batch's first record */
        if (i < 39) {
            assert_int_equal(rn_log_offset_for_timestamp(log, 1000 + 10 * i + 5, &offset, &ts),
                             RN_OK);
            assert_int_equal(offset, 3 * (i + 1));
        }
    }
    assert_int_equal(rn_log_offset_for_timestamp(log, 0, &offset, &ts), RN_OK);
    assert_int_equal(offset, 0);
    assert_int_equal(rn_log_offset_for_timestamp(log, 99999, &offset, &ts), RN_ERR_NOT_FOUND);
    assert_int_equal(rn_log_max_timestamp(log, &offset, &ts), RN_OK);
    assert_int_equal(ts, 1000 + 390 + 2);
    assert_int_equal(offset, 119);
    /* after a clean reopen the time index still answers */
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log(dir, &cfg);
    for (int i = 0; i < 40; i += 7) {
        assert_int_equal(rn_log_offset_for_timestamp(log, 1000 + 10 * i + 1, &offset, &ts), RN_OK);
        assert_int_equal(offset, 3 * i + 1);
    }
    assert_int_equal(rn_log_max_timestamp(log, &offset, &ts), RN_OK);
    assert_int_equal(ts, 1392);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_retention_time(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-5");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    cfg.retention_ms = 10000;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000); /* timestamps 1000 .. 1291 */
    uint32_t segs = rn_log_segment_count(log);
    assert_true(segs > 3);
    uint32_t deleted = 99;
    assert_int_equal(rn_log_apply_retention(log, 5000, INT64_MAX, &deleted), RN_OK);
    assert_int_equal(deleted, 0);
    /* the high watermark protects what is above it */
    assert_int_equal(rn_log_apply_retention(log, 100000, 0, &deleted), RN_OK);
    assert_int_equal(deleted, 0);
    /* everything expired: the active one goes too, replaced by an empty one */
    assert_int_equal(rn_log_apply_retention(log, 100000, rn_log_end_offset(log), &deleted), RN_OK);
    assert_int_equal(deleted, segs);
    assert_int_equal(rn_log_segment_count(log), 1);
    assert_int_equal(rn_log_start_offset(log), 60);
    assert_int_equal(rn_log_end_offset(log), 60);
    assert_int_equal(rn_log_size_bytes(log), 0);
    /* an empty active segment is never deleted */
    assert_int_equal(rn_log_apply_retention(log, 100000, INT64_MAX, &deleted), RN_OK);
    assert_int_equal(deleted, 0);
    append_n(log, 3, 2, 90000);
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log(dir, &cfg);
    assert_int_equal(rn_log_start_offset(log), 60);
    assert_int_equal(rn_log_end_offset(log), 66);
    check_all_reads(log);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_retention_size(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-6");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000);
    uint64_t size = rn_log_size_bytes(log);
    cfg.retention_bytes = (int64_t)(size / 2);
    rn_log_set_config(log, &cfg);
    uint32_t deleted = 0;
    assert_int_equal(rn_log_apply_retention(log, 0, INT64_MAX, &deleted), RN_OK);
    assert_true(deleted > 0);
    assert_true(rn_log_size_bytes(log) <= size / 2 + 1000);
    assert_true(rn_log_size_bytes(log) > size / 2 - 1000);
    assert_true(rn_log_start_offset(log) > 0);
    check_all_reads(log);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, 0, 100, INT64_MAX, &rd), RN_ERR_OUT_OF_RANGE);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_delete_records(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-7");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000);
    uint32_t segs = rn_log_segment_count(log);
    assert_int_equal(rn_log_delete_records(log, 61), RN_ERR_OUT_OF_RANGE);
    assert_int_equal(rn_log_delete_records(log, 25), RN_OK);
    assert_int_equal(rn_log_start_offset(log), 25);
    assert_true(rn_log_segment_count(log) < segs);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, 24, 100, INT64_MAX, &rd), RN_ERR_OUT_OF_RANGE);
    check_all_reads(log);
    /* an unclean reopen keeps the start (it was checkpointed) */
    rn_log_close_unclean(log);
    log = open_log(dir, &cfg);
    assert_int_equal(rn_log_start_offset(log), 25);
    assert_int_equal(rn_log_end_offset(log), 60);
    /* up to the end: every segment goes, the log is empty at 60 */
    assert_int_equal(rn_log_delete_records(log, 60), RN_OK);
    assert_int_equal(rn_log_segment_count(log), 1);
    assert_int_equal(rn_log_size_bytes(log), 0);
    assert_int_equal(rn_log_start_offset(log), 60);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_pin_survives_delete(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-8");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 20, 2, 1000);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, 0, 100000, INT64_MAX, &rd), RN_OK);
    assert_int_equal(rn_log_delete_records(log, 30), RN_OK);
    uint8_t buf[2048];
    size_t got = 0;
    assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, buf, rd.len, rd.position, &got), RN_OK);
    assert_int_equal(got, rd.len);
    rn_batch_limits_t lim = {0, 0};
    rn_batch_summary_t sum;
    assert_int_equal(rn_batch_validate(buf, rd.len, &lim, &sum), RN_OK);
    assert_int_equal(rn_log_close(log), RN_OK); /* the pin outlives the log */
    rn_log_read_release(&rd);
}

static void test_truncate(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-9");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    cfg.index_interval_bytes = 100;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000);
    assert_int_equal(rn_log_truncate(log, 41), RN_OK); /* mid-batch: back to 40 */
    assert_int_equal(rn_log_end_offset(log), 40);
    check_all_reads(log);
    append_n(log, 5, 2, 5000);
    assert_int_equal(rn_log_end_offset(log), 50);
    check_all_reads(log);
    assert_int_equal(rn_log_truncate(log, 0), RN_OK);
    assert_int_equal(rn_log_end_offset(log), 0);
    assert_int_equal(rn_log_segment_count(log), 1);
    append_n(log, 5, 2, 5000);
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log(dir, &cfg);
    assert_int_equal(rn_log_end_offset(log), 10);
    check_all_reads(log);
    assert_int_equal(rn_log_close(log), RN_OK);
}

static void test_clean_reopen_no_scan(void **state) {
    (void)state;
    char dir[512];
    part_dir(dir, sizeof dir, "t-10");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1 << 20;
    cfg.index_interval_bytes = 4096;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 2000, 5, 1000);
    int64_t end = rn_log_end_offset(log);
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log(dir, &cfg);
    const rn_log_open_stats_t *st = rn_log_open_stats(log);
    assert_true(st->clean);
    assert_int_equal(st->bytes_scanned, 0);
    assert_int_equal(st->indexes_rebuilt, 0);
    assert_int_equal(rn_log_end_offset(log), end);
    check_read_at(log, 0);
    check_read_at(log, end - 1);
    check_read_at(log, end / 2);
    append_n(log, 1, 1, 1000);
    /* the clean marker is gone as soon as the log is open: a crash now scans */
    rn_log_close_unclean(log);
    log = open_log(dir, &cfg);
    st = rn_log_open_stats(log);
    assert_false(st->clean);
    assert_true(st->bytes_scanned > 0);
    assert_int_equal(rn_log_end_offset(log), end + 1);
    assert_int_equal(rn_log_close(log), RN_OK);
}

/* ---- unclean reopen: torn tails and flipped bytes ---- */

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *len = 0;
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Offsets (and bytes) held by whole batches in the first `cut` bytes. */
static int64_t offsets_before(const uint8_t *log_bytes, size_t cut, int64_t base, size_t *bytes) {
    int64_t end = base;
    size_t p = 0;
    while (p + RN_BATCH_HEADER_BYTES <= cut) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(log_bytes + p, &hdr);
        if (p + rn_batch_size(&hdr) > cut) break;
        end = rn_batch_last_offset(&hdr) + 1;
        p += rn_batch_size(&hdr);
    }
    *bytes = p;
    return end;
}

static void check_index_prefix(const char *path, const uint8_t *ref, size_t ref_len) {
    size_t len;
    uint8_t *got = slurp(path, &len);
    assert_true(len <= ref_len);
    if (len) assert_memory_equal(got, ref, len);
    free(got);
}

static void test_unclean_truncation_every_point(void **state) {
    (void)state;
    char dir[512], seg_path[600], idx_path[600], cp_path[600];
    part_dir(dir, sizeof dir, "t-11");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1 << 20;
    cfg.index_interval_bytes = 60;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 12, 2, 1000);
    assert_int_equal(rn_log_close(log), RN_OK);
    snprintf(seg_path, sizeof seg_path, "%s/%020d.log", dir, 0);
    snprintf(idx_path, sizeof idx_path, "%s/%020d.index", dir, 0);
    snprintf(cp_path, sizeof cp_path, "%s/partition.checkpoint", dir);
    size_t full_len, idx_len;
    uint8_t *full = slurp(seg_path, &full_len);
    uint8_t *ref_idx = slurp(idx_path, &idx_len);
    assert_true(idx_len > 0);
    for (size_t cut = full_len; cut-- > 0;) {
        spit(seg_path, full, cut);
        unlink(cp_path); /* no checkpoint: an unclean stop from the start */
        log = open_log(dir, &cfg);
        size_t want_bytes;
        int64_t want = offsets_before(full, cut, 0, &want_bytes);
        assert_int_equal(rn_log_end_offset(log), want);
        assert_int_equal(rn_log_size_bytes(log), want_bytes);
        const rn_log_open_stats_t *st = rn_log_open_stats(log);
        assert_false(st->clean);
        if (want > 0) check_read_at(log, want - 1);
        if (cut == full_len - 1 || cut % 97 == 0) check_all_reads(log);
        assert_int_equal(rn_log_sync(log), RN_OK);
        rn_log_close_unclean(log); /* index files as written by the rebuild */
        check_index_prefix(idx_path, ref_idx, idx_len);
    }
    free(full);
    free(ref_idx);
}

static void test_unclean_flipped_byte(void **state) {
    (void)state;
    char dir[512], seg_path[600], cp_path[600];
    part_dir(dir, sizeof dir, "t-12");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1 << 20;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 10, 2, 1000);
    assert_int_equal(rn_log_sync(log), RN_OK);
    rn_log_close_unclean(log);
    snprintf(seg_path, sizeof seg_path, "%s/%020d.log", dir, 0);
    snprintf(cp_path, sizeof cp_path, "%s/partition.checkpoint", dir);
    size_t full_len;
    uint8_t *full = slurp(seg_path, &full_len);
    /* flip one byte in each batch in turn, at a position under the CRC or in
       the length: the log ends before that batch */
    size_t batch_pos[16], nb = 0;
    for (size_t p = 0; p < full_len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(full + p, &hdr);
        batch_pos[nb++] = p;
        p += rn_batch_size(&hdr);
    }
    size_t probes[] = {9, 16, 21, 30, 45, 58, 62, 70};
    for (size_t b = 0; b < nb; b++) {
        for (size_t k = 0; k < sizeof probes / sizeof probes[0]; k++) {
            uint8_t *copy = malloc(full_len);
            memcpy(copy, full, full_len);
            copy[batch_pos[b] + probes[k]] ^= 0x40;
            spit(seg_path, copy, full_len);
            free(copy);
            log = open_log(dir, &cfg);
            assert_int_equal(rn_log_end_offset(log), (int64_t)(2 * b));
            assert_int_equal(rn_log_size_bytes(log), batch_pos[b]);
            if (b > 0) check_all_reads(log);
            rn_log_close_unclean(log);
            unlink(cp_path);
        }
    }
    free(full);
}

static void test_unclean_multi_segment(void **state) {
    (void)state;
    char dir[512], path[600];
    part_dir(dir, sizeof dir, "t-13");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    cfg.index_interval_bytes = 100;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000);
    assert_int_equal(rn_log_sync(log), RN_OK); /* seals rolled segments, checkpoint */
    append_n(log, 1, 2, 5000);                 /* not synced */
    int64_t end = rn_log_end_offset(log);
    uint32_t segs = rn_log_segment_count(log);
    rn_log_close_unclean(log);
    log = open_log(dir, &cfg);
    const rn_log_open_stats_t *st = rn_log_open_stats(log);
    assert_false(st->clean);
    assert_int_equal(st->segments_recovered, 1); /* only from the recovery point */
    assert_int_equal(rn_log_end_offset(log), end);
    assert_int_equal(rn_log_segment_count(log), segs);
    check_all_reads(log);
    rn_log_close_unclean(log);
    /* a corrupted index file of an old segment is detected and rebuilt */
    snprintf(path, sizeof path, "%s/%020d.index", dir, 0);
    spit(path, (const uint8_t *)"\x00\x00\x00\x05\x7f\x00\x00\x00", 8);
    log = open_log(dir, &cfg);
    st = rn_log_open_stats(log);
    assert_int_equal(st->indexes_rebuilt, 2);
    assert_int_equal(rn_log_end_offset(log), end);
    check_all_reads(log);
    assert_int_equal(rn_log_close(log), RN_OK);
}

/* Empty segment files that a rollback after a failed write emptied and
   unlinked, the unlink lost in a crash: one amid the first segment's
   offsets, one past the log end. Recovery removes both; the log reads as
   before and grows from its real end. */
static void test_stray_empty_segments(void **state) {
    (void)state;
    char dir[512], inner[600], past[600];
    part_dir(dir, sizeof dir, "t-16");
    rn_log_config_t cfg = small_cfg();
    cfg.segment_bytes = 1000;
    cfg.index_interval_bytes = 100;
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 30, 2, 1000);
    assert_int_equal(rn_log_sync(log), RN_OK);
    int64_t end = rn_log_end_offset(log);
    uint32_t segs = rn_log_segment_count(log);
    rn_log_close_unclean(log);
    snprintf(inner, sizeof inner, "%s/%020d.log", dir, 3);
    snprintf(past, sizeof past, "%s/%020lld.log", dir, (long long)end + 6);
    spit(inner, (const uint8_t *)"", 0);
    spit(past, (const uint8_t *)"", 0);
    log = open_log(dir, &cfg);
    assert_int_equal(rn_log_end_offset(log), end);
    assert_int_equal(rn_log_segment_count(log), segs);
    check_all_reads(log);
    assert_int_not_equal(access(inner, F_OK), 0);
    assert_int_not_equal(access(past, F_OK), 0);
    append_n(log, 1, 2, 5000);
    assert_int_equal(rn_log_end_offset(log), end + 2);
    assert_int_equal(rn_log_close(log), RN_OK);
}

/* ---- the offline checker ---- */

static uint32_t check_problems(const char *dir) {
    rn_log_check_t chk = {0};
    assert_int_equal(rn_log_check_dir(rn_io_linux(), dir, &chk), RN_OK);
    return chk.problems;
}

static void test_log_check(void **state) {
    (void)state;
    char dir[512], path[600];
    part_dir(dir, sizeof dir, "check-0");
    rn_log_config_t cfg = small_cfg();
    rn_log_t *log = open_log(dir, &cfg);
    append_n(log, 200, 5, 1000);
    assert_true(rn_log_segment_count(log) > 2);
    assert_int_equal(rn_log_close(log), RN_OK);
    rn_log_check_t chk = {0};
    assert_int_equal(rn_log_check_dir(rn_io_linux(), dir, &chk), RN_OK);
    assert_int_equal(chk.problems, 0);
    assert_int_equal(chk.first_offset, 0);
    assert_int_equal(chk.next_offset, 1000);
    assert_int_equal(chk.batches, 200);
    /* A torn tail and a flipped byte are each found; nothing is repaired. */
    snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
    size_t len;
    uint8_t *bytes = slurp(path, &len);
    spit(path, bytes, len - 3);
    assert_true(check_problems(dir) >= 1);
    bytes[len / 2] ^= 0x40;
    spit(path, bytes, len);
    assert_true(check_problems(dir) >= 1);
    size_t after;
    free(slurp(path, &after));
    assert_int_equal(after, len);
    free(bytes);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_read),
        cmocka_unit_test(test_append_rejects),
        cmocka_unit_test(test_multi_batch_and_log_append_time),
        cmocka_unit_test(test_roll_and_index),
        cmocka_unit_test(test_time_lookup),
        cmocka_unit_test(test_retention_time),
        cmocka_unit_test(test_retention_size),
        cmocka_unit_test(test_delete_records),
        cmocka_unit_test(test_pin_survives_delete),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_clean_reopen_no_scan),
        cmocka_unit_test(test_unclean_truncation_every_point),
        cmocka_unit_test(test_unclean_flipped_byte),
        cmocka_unit_test(test_unclean_multi_segment),
        cmocka_unit_test(test_stray_empty_segments),
        cmocka_unit_test(test_log_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
