/*
 * test_partition_faults.c: a partition on the simulated disk (io_sim.c) when
 * a write, an fsync or a file open fails: the log is rolled back to its
 * durable end, the produces waiting for the group commit get the error,
 * nothing reported failed is ever readable (not after a later successful
 * sync, not after a crash and recovery), a retry appends at the right
 * offset, idempotent sequences of failed batches are forgotten, and a
 * rollback that fails itself takes the partition offline.
 *
 * Faults are aimed at one call: the next write, sync, create-open or
 * truncate (rn_sim_disk_fail_next).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "io/io_sim.h"
#include "partition/partition.h"

#include "helpers/batch_build.h"

#include <stdio.h>
#include <string.h>

/* ---- aimed faults ---- */

static void fail_next(rn_sim_t *sim, rn_sim_fault_t kind, uint32_t skip, rn_err_t err) {
    rn_sim_disk_fail_next(sim, 1, kind, skip, 1, err);
}

/* ---- batches ---- */

/* `records` records of 100 bytes, all stamped 5000; pid < 0: not
   idempotent (epoch and sequence -1), else epoch 0 and sequence seq. */
static size_t build(uint8_t *out, int records, int64_t pid, int32_t seq) {
    bb_batch_t s = {
        .records = records,
        .value_bytes = 100,
        .first_ts = 5000,
        .producer_id = pid,
        .epoch = pid < 0 ? -1 : 0,
        .seq = pid < 0 ? -1 : seq,
    };
    return bb_batch_build(out, &s);
}

/* ---- fixture ---- */

typedef struct waiter {
    rn_partition_waiter_t w;
    bool done;
    rn_err_t err;
} waiter_t;

static void waiter_done(rn_partition_waiter_t *w, rn_err_t err) {
    waiter_t *x = (waiter_t *)w;
    x->done = true;
    x->err = err;
}

typedef struct world {
    rn_sim_t *sim;
    rn_io_t *io;
    rn_partition_t *part;
} world_t;

static rn_log_config_t small_cfg(void) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 4096; /* a roll every few batches */
    cfg.index_interval_bytes = 256;
    cfg.retention_ms = -1;
    return cfg;
}

static void world_open(world_t *w) {
    rn_log_config_t cfg = small_cfg();
    w->part = NULL;
    assert_int_equal(rn_partition_open(w->io, "data", "t", 0, &cfg, true, 0, &w->part), RN_OK);
}

static void world_init(world_t *w, uint64_t seed) {
    w->sim = rn_sim_create(seed, 1);
    w->io = rn_sim_io(w->sim, 1);
    assert_int_equal(rn_io_dir_create(w->io, "data"), RN_OK);
    world_open(w);
}

/* The process dies: nothing is closed cleanly, unsynced bytes may go. */
static void world_crash_reopen(world_t *w) {
    rn_log_close_unclean(w->part->log);
    w->part->log = NULL;
    rn_partition_unref(w->part);
    rn_sim_crash(w->sim, 1);
    world_open(w);
    assert_false(rn_partition_offline(w->part));
}

static void world_free(world_t *w) {
    rn_partition_unref(w->part);
    assert_int_equal(rn_sim_open_files(w->sim, 1), 0);
    rn_sim_destroy(w->sim);
}

/* Appends `records` records; the result's code. */
static rn_err_t append(world_t *w, int records, int64_t pid, int32_t seq,
                       rn_partition_append_result_t *res) {
    uint8_t buf[16384];
    size_t len = build(buf, records, pid, seq);
    w->part->dirty = true; /* as rn_core_mark_dirty */
    return rn_partition_append(w->part, buf, len, 1000, res);
}

static int64_t append_ok(world_t *w, int records) {
    rn_partition_append_result_t res;
    assert_int_equal(append(w, records, -1, 0, &res), RN_OK);
    return res.base_offset;
}

static void wait_for(world_t *w, waiter_t *x, int64_t last_offset) {
    memset(x, 0, sizeof *x);
    x->w.offset_needed = last_offset;
    x->w.done = waiter_done;
    rn_partition_wait_durable(w->part, &x->w);
}

/* Every batch a fetch could read, by its offsets: the readable log is
   exactly [start, hw) with no gap. */
static void check_readable(world_t *w, int64_t start, int64_t hw) {
    rn_partition_t *part = w->part;
    assert_int_equal(rn_partition_hw(part), hw);
    assert_int_equal(rn_log_end_offset(part->log), hw);
    int64_t next = start;
    while (next < hw) {
        rn_log_read_t rd;
        assert_int_equal(rn_log_read(part->log, next, 1, hw, &rd), RN_OK);
        assert_true(rd.len > 0);
        uint8_t hdr_bytes[RN_BATCH_HEADER_BYTES];
        size_t got = 0;
        assert_int_equal(
            rn_io_file_pread(w->io, rd.fd, hdr_bytes, sizeof hdr_bytes, rd.position, &got), RN_OK);
        rn_batch_header_t hdr;
        rn_batch_header_parse(hdr_bytes, &hdr);
        assert_int_equal(hdr.base_offset, next);
        next = rn_batch_last_offset(&hdr) + 1;
        rn_log_read_release(&rd);
    }
    assert_int_equal(next, hw);
}

static int count_logs(void *ctx, const char *name) {
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".log") == 0) (*(int *)ctx)++;
    return 0;
}

static int segment_files(world_t *w) {
    int n = 0;
    assert_int_equal(rn_io_dir_list(w->io, w->part->dir, count_logs, &n), RN_OK);
    return n;
}

/* ---- tests ---- */

/* A write fails mid-turn: the appends of the turn before it are dropped
   too and their waiter gets the error; the next append reuses the offset. */
static void test_write_failure(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 1);
    append_ok(&w, 5);
    rn_partition_sync(w.part);
    check_readable(&w, 0, 5);

    waiter_t turn;
    wait_for(&w, &turn, append_ok(&w, 3) + 2); /* offsets 5..7, not synced */
    fail_next(w.sim, RN_SIM_FAULT_WRITE, 0, RN_ERR_IO);
    rn_partition_append_result_t res;
    assert_int_equal(append(&w, 4, -1, 0, &res), RN_ERR_IO);
    assert_true(turn.done);
    assert_int_equal(turn.err, RN_ERR_IO);
    check_readable(&w, 0, 5);

    rn_partition_sync(w.part); /* a later sync must not expose 5..7 */
    check_readable(&w, 0, 5);
    assert_int_equal(append_ok(&w, 2), 5);
    rn_partition_sync(w.part);
    check_readable(&w, 0, 7);
    world_crash_reopen(&w);
    check_readable(&w, 0, 7);
    world_free(&w);
}

/* An fsync fails: every waiter of the turn gets the error, nothing it did
   not cover is ever served, even after a later sync succeeds. */
static void test_fsync_failure(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 2);
    append_ok(&w, 5);
    rn_partition_sync(w.part);
    waiter_t a, b;
    wait_for(&w, &a, append_ok(&w, 2) + 1);
    wait_for(&w, &b, append_ok(&w, 2) + 1);
    fail_next(w.sim, RN_SIM_FAULT_SYNC, 0, RN_ERR_IO);
    rn_partition_sync(w.part);
    assert_true(a.done && b.done);
    assert_int_equal(a.err, RN_ERR_IO);
    assert_int_equal(b.err, RN_ERR_IO);
    check_readable(&w, 0, 5);

    rn_partition_sync(w.part);
    check_readable(&w, 0, 5);
    waiter_t c;
    wait_for(&w, &c, append_ok(&w, 1));
    assert_int_equal(c.w.offset_needed, 5);
    rn_partition_sync(w.part);
    assert_true(c.done);
    assert_int_equal(c.err, RN_OK);
    check_readable(&w, 0, 6);
    world_crash_reopen(&w);
    check_readable(&w, 0, 6);
    world_free(&w);
}

/* Opening the next segment fails (EMFILE is RN_ERR_LIMIT at the seam): the
   producer sees a storage error, and what the turn wrote before is
   dropped. */
static void test_open_failure_at_roll(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 3);
    append_ok(&w, 20); /* ~2.5 KiB of a 4 KiB segment */
    rn_partition_sync(w.part);
    waiter_t a;
    wait_for(&w, &a, append_ok(&w, 5) + 4); /* still fits: 20..24 */
    assert_int_equal(rn_log_segment_count(w.part->log), 1);
    fail_next(w.sim, RN_SIM_FAULT_CREATE, 0, RN_ERR_LIMIT);
    rn_partition_append_result_t res;
    assert_int_equal(append(&w, 20, -1, 0, &res), RN_ERR_IO);
    assert_true(a.done);
    assert_int_equal(a.err, RN_ERR_IO);
    check_readable(&w, 0, 20);
    assert_int_equal(segment_files(&w), 1);

    assert_int_equal(append_ok(&w, 20), 20); /* rolls now */
    rn_partition_sync(w.part);
    check_readable(&w, 0, 40);
    world_crash_reopen(&w);
    check_readable(&w, 0, 40);
    world_free(&w);
}

/* The roll succeeds but sealing the old segment at the sync cannot open
   its index file: the fresh segment and what went into it are dropped. */
static void test_sync_failure_after_roll(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 4);
    append_ok(&w, 20);
    rn_partition_sync(w.part);
    waiter_t a, b;
    wait_for(&w, &a, append_ok(&w, 5) + 4);   /* 20..24, old segment */
    wait_for(&w, &b, append_ok(&w, 20) + 19); /* 25..44, a new segment */
    assert_int_equal(rn_log_segment_count(w.part->log), 2);
    fail_next(w.sim, RN_SIM_FAULT_CREATE, 0, RN_ERR_LIMIT);
    rn_partition_sync(w.part);
    assert_true(a.done && b.done);
    assert_int_equal(a.err, RN_ERR_IO);
    assert_int_equal(b.err, RN_ERR_IO);
    check_readable(&w, 0, 20);
    assert_int_equal(rn_log_segment_count(w.part->log), 1);
    assert_int_equal(segment_files(&w), 1);

    rn_partition_sync(w.part);
    check_readable(&w, 0, 20);
    world_crash_reopen(&w);
    check_readable(&w, 0, 20);
    assert_int_equal(append_ok(&w, 3), 20);
    world_free(&w);
}

/* Sealing succeeds, then the new segment's fsync fails: what the sealed
   segment holds is durable and acknowledged; the rest is dropped. */
static void test_fsync_failure_after_seal(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 5);
    append_ok(&w, 20);
    rn_partition_sync(w.part);
    waiter_t a, b;
    wait_for(&w, &a, append_ok(&w, 5) + 4);
    wait_for(&w, &b, append_ok(&w, 20) + 19);
    /* The seal syncs the two index files and the old .log; the active
       segment's fsync comes fourth. */
    fail_next(w.sim, RN_SIM_FAULT_SYNC, 3, RN_ERR_IO);
    rn_partition_sync(w.part);
    assert_true(a.done && b.done);
    assert_int_equal(a.err, RN_OK);     /* in the sealed segment */
    assert_int_equal(b.err, RN_ERR_IO); /* in the new one */
    check_readable(&w, 0, 25);
    assert_int_equal(rn_log_segment_count(w.part->log), 2); /* the new one, emptied */
    assert_int_equal(append_ok(&w, 1), 25);
    rn_partition_sync(w.part);
    world_crash_reopen(&w);
    check_readable(&w, 0, 26);
    world_free(&w);
}

/* Idempotent producer: the sequence of a batch whose sync failed is not
   remembered, so its retry is appended (not answered as a duplicate with
   the offsets of the dropped copy, nor refused as out of order). */
static void test_idempotent_retry(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 6);
    rn_partition_append_result_t res;
    assert_int_equal(append(&w, 3, 77, 0, &res), RN_OK); /* seq 0..2 */
    rn_partition_sync(w.part);
    assert_int_equal(append(&w, 3, 77, 3, &res), RN_OK); /* seq 3..5 at 3 */
    assert_int_equal(res.base_offset, 3);
    waiter_t a;
    wait_for(&w, &a, res.last_offset);
    fail_next(w.sim, RN_SIM_FAULT_SYNC, 0, RN_ERR_IO);
    rn_partition_sync(w.part);
    assert_int_equal(a.err, RN_ERR_IO);
    check_readable(&w, 0, 3);

    append_ok(&w, 2); /* someone else's records take offsets 3..4 */
    assert_int_equal(append(&w, 3, 77, 3, &res), RN_OK); /* the retry */
    assert_false(res.duplicate);
    assert_int_equal(res.base_offset, 5);
    assert_int_equal(append(&w, 3, 77, 3, &res), RN_OK); /* now a true duplicate */
    assert_true(res.duplicate);
    assert_int_equal(res.base_offset, 5);
    rn_partition_sync(w.part);
    check_readable(&w, 0, 8);
    world_free(&w);
}

/* The fsync fails and so does the cut that should drop its bytes: the
   partition refuses every append until a restart recovers it. */
static void test_rollback_failure_goes_offline(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 7);
    append_ok(&w, 5);
    rn_partition_sync(w.part);
    waiter_t a;
    wait_for(&w, &a, append_ok(&w, 2) + 1);
    fail_next(w.sim, RN_SIM_FAULT_SYNC, 0, RN_ERR_IO);
    fail_next(w.sim, RN_SIM_FAULT_TRUNCATE, 0, RN_ERR_IO);
    rn_partition_sync(w.part);
    assert_int_equal(a.err, RN_ERR_IO);
    assert_true(rn_partition_offline(w.part));
    assert_int_equal(rn_partition_hw(w.part), 5);
    rn_partition_append_result_t res;
    assert_int_equal(append(&w, 1, -1, 0, &res), RN_ERR_IO);
    assert_int_equal(rn_partition_delete_records(w.part, 1), RN_ERR_IO);

    /* A stop closes it without the clean mark; the restart recovers. */
    rn_partition_unref(w.part);
    world_open(&w);
    assert_false(rn_partition_offline(w.part));
    assert_true(rn_log_open_stats(w.part->log)->clean == false);
    int64_t end = rn_log_end_offset(w.part->log);
    assert_true(end == 5 || end == 7); /* the bytes the cut failed to drop may remain */
    assert_int_equal(append_ok(&w, 1), end);
    world_free(&w);
}

/* A follower's truncation fails after it dropped whole segments: the
   rollback goes to the log's new end, below what was synced (it aimed at
   the old synced end, past the log's end, and asserted), and the follower
   truncates again once the disk answers. */
static void test_truncate_failure_after_dropped_segments(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 8);
    for (int i = 0; i < 16; i++) append_ok(&w, 5);
    rn_partition_sync(w.part);
    assert_true(segment_files(&w) >= 3);
    rn_partition_leadership_t ld = {.self_id = 1,
                                    .leader = 2,
                                    .leader_epoch = 1,
                                    .partition_epoch = 1,
                                    .replica_count = 3,
                                    .isr_count = 3,
                                    .replicas = {1, 2, 3},
                                    .isr = {1, 2, 3},
                                    .min_isr = 1,
                                    .eligible = 0x7};
    assert_int_equal(rn_partition_lead(w.part, &ld, 0), RN_PARTITION_FOLLOWER);
    fail_next(w.sim, RN_SIM_FAULT_TRUNCATE, 0, RN_ERR_IO);
    assert_int_equal(rn_partition_truncate(w.part, 5), RN_ERR_IO);
    assert_false(rn_partition_offline(w.part));
    int64_t end = rn_log_end_offset(w.part->log);
    assert_true(end >= 5 && end < 80);
    assert_true(rn_partition_hw(w.part) <= end);
    assert_int_equal(rn_partition_truncate(w.part, 5), RN_OK);
    assert_int_equal(rn_log_end_offset(w.part->log), 5);
    /* A follower's cut is not fsynced of itself (the appends that follow
       it are): a power loss may bring back what it cut, never less. */
    world_crash_reopen(&w);
    int64_t after = rn_log_end_offset(w.part->log);
    assert_true(after == 5 || after == end);
    world_free(&w);
}

/* A roll's new segment holds records only once its name is durable: when
   the directory sync of the group commit after the roll fails (here the
   checkpoint cannot be written: the sync's fifth write, after the sealed
   segment's and the new one's), the records in it are
   not reported durable (a power loss could take the whole file), and the
   high watermark stays below it. (They were reported durable.) */
static void test_new_segment_name_not_durable(void **state) {
    (void)state;
    world_t w;
    world_init(&w, 9);
    int64_t last = 0;
    while (segment_files(&w) < 2) last = append_ok(&w, 5) + 4;
    int64_t base = rn_log_end_offset(w.part->log) - 5; /* the new segment's first batch */
    waiter_t x;
    wait_for(&w, &x, last);
    fail_next(w.sim, RN_SIM_FAULT_WRITE, 4, RN_ERR_IO);
    rn_partition_sync(w.part);
    assert_true(x.done);
    assert_int_equal(x.err, RN_ERR_IO);
    assert_true(rn_partition_hw(w.part) <= base);
    assert_true(rn_log_synced_offset(w.part->log) <= base);
    world_free(&w);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_fsync_failure),
        cmocka_unit_test(test_open_failure_at_roll),
        cmocka_unit_test(test_sync_failure_after_roll),
        cmocka_unit_test(test_fsync_failure_after_seal),
        cmocka_unit_test(test_idempotent_retry),
        cmocka_unit_test(test_rollback_failure_goes_offline),
        cmocka_unit_test(test_truncate_failure_after_dropped_segments),
        cmocka_unit_test(test_new_segment_name_not_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
