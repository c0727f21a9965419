/*
 * test_partition_replicas.c: a partition's replication state
 * (partition/replicas.c) on the simulated disk: the leader's high
 * watermark is the least durable end over the in-sync replicas, waits for
 * every in-sync follower's first fetch in an epoch and never goes back;
 * acks=all waiters complete once it passes them, with
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below
 * min.insync.replicas, and fail with NOT_LEADER when leadership goes;
 * acks=all is refused below min.insync.replicas; the ISR a leader asks
 * for drops a lagging follower (never one at the leader's end) and takes
 * back one that caught up, and a pending addition counts toward the high
 * watermark; a follower appends
 * the leader's batches as they are and truncates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "io/io_sim.h"
#include "partition/partition.h"
#include "proto/kerr.h"
#include "replication/serve.h"

#include "helpers/batch_build.h"

#include <string.h>

typedef struct waiter {
    rn_partition_waiter_t w;
    int calls;
    rn_err_t err;
} waiter_t;

static void waiter_done(rn_partition_waiter_t *w, rn_err_t err) {
    waiter_t *x = (waiter_t *)w;
    x->calls++;
    x->err = err;
}

typedef struct world {
    rn_sim_t *sim;
    rn_io_t *io;
    rn_partition_t *part;
} world_t;

static void world_init(world_t *w, const char *topic) {
    w->sim = rn_sim_create(7, 1);
    w->io = rn_sim_io(w->sim, 1);
    assert_int_equal(rn_io_dir_create(w->io, "data"), RN_OK);
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    assert_int_equal(rn_partition_open(w->io, "data", topic, 0, &cfg, true, 0, &w->part), RN_OK);
}

static void world_free(world_t *w) {
    rn_partition_unref(w->part);
    rn_sim_destroy(w->sim);
}

/* Node 1 leads replicas 1, 2, 3 with the ISR given, at leader epoch. */
static void lead(world_t *w, int32_t leader, int32_t epoch, int32_t partition_epoch,
                 const int32_t *isr, int16_t isr_count, int32_t min_isr, int64_t now_ms) {
    rn_partition_leadership_t ld = {.self_id = 1,
                                    .leader = leader,
                                    .leader_epoch = epoch,
                                    .partition_epoch = partition_epoch,
                                    .replica_count = 3,
                                    .isr_count = isr_count,
                                    .replicas = {1, 2, 3},
                                    .min_isr = min_isr,
                                    .eligible = 0x7};
    memcpy(ld.isr, isr, (size_t)isr_count * sizeof *isr);
    rn_partition_lead(w->part, &ld, now_ms);
}

/* Appends `records` records as a producer would, synced; the last offset. */
static int64_t append_synced(world_t *w, int records) {
    uint8_t buf[8192];
    bb_batch_t s = {.records = records,
                    .value_bytes = 50,
                    .first_ts = 5000,
                    .producer_id = -1,
                    .epoch = -1,
                    .seq = -1};
    size_t len = bb_batch_build(buf, &s);
    rn_partition_append_result_t res;
    assert_int_equal(rn_partition_append(w->part, buf, len, 1000, &res), RN_OK);
    w->part->dirty = true;
    rn_partition_sync(w->part);
    return res.last_offset;
}

static void wait_hw(world_t *w, waiter_t *x, int64_t offset) {
    memset(x, 0, sizeof *x);
    x->w.offset_needed = offset;
    x->w.done = waiter_done;
    rn_partition_wait_hw(w->part, &x->w);
}

static void test_hw_is_least_over_isr(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "hw");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 2, 0);
    int64_t last = append_synced(&w, 10);
    assert_int_equal(last, 9);
    assert_int_equal(rn_partition_hw(w.part), 0); /* followers not heard from */
    waiter_t x;
    wait_hw(&w, &x, last);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 10, 5), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 0); /* 3 has not fetched */
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 4, 5), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 4);
    assert_int_equal(x.calls, 0);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 10, 6), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 10);
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.err, RN_OK);
    /* A follower fetching from lower (it truncated) never moves it back. */
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 2, 7), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 10);
    /* Not a replica; not the leader. */
    assert_int_equal(rn_partition_follower_fetched(w.part, 9, 0, 7), RN_ERR_NOT_FOUND);
    world_free(&w);
}

/* A reassignment reorders the replicas within the leader epoch, then adds
   one: each follower's fetch position stays its own broker's, and the new
   replica starts unknown. */
static void test_followers_follow_their_broker(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "reorder");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 2, 0);
    append_synced(&w, 10);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 10, 5), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 4, 5), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 4);
    rn_partition_leadership_t ld = w.part->lead;
    ld.partition_epoch = 2;
    ld.replicas[0] = 3; /* [3, 2, 1], then [3, 2, 1, 4] */
    ld.replicas[2] = 1;
    rn_partition_lead(w.part, &ld, 6);
    assert_int_equal(w.part->followers[rn_partition_replica_slot(w.part, 3)].fetch_offset, 4);
    assert_int_equal(w.part->followers[rn_partition_replica_slot(w.part, 2)].fetch_offset, 10);
    ld.partition_epoch = 3;
    ld.replica_count = 4;
    ld.replicas[3] = 4;
    rn_partition_lead(w.part, &ld, 7);
    assert_int_equal(w.part->followers[rn_partition_replica_slot(w.part, 4)].fetch_offset, -1);
    assert_int_equal(w.part->followers[rn_partition_replica_slot(w.part, 3)].fetch_offset, 4);
    assert_int_equal(rn_partition_hw(w.part), 4); /* 3 still holds it */
    world_free(&w);
}

/* A replica being added starts afresh whenever the partition changes: the
   leader may have skipped the images where that broker left and came back,
   and its old copy's fetch offset must not make the new one look in sync. */
static void test_adding_replica_forgets_its_old_copy(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "readd");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 2, 0);
    append_synced(&w, 10);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 10, 5), RN_OK);
    rn_partition_leadership_t ld = w.part->lead;
    ld.partition_epoch = 5; /* images skipped: 3 left, then was added again */
    ld.isr_count = 2;
    ld.adding = 1u << 2;
    rn_partition_lead(w.part, &ld, 6);
    int slot = rn_partition_replica_slot(w.part, 3);
    assert_int_equal(w.part->followers[slot].fetch_offset, -1);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 0, 7), RN_OK);
    ld.partition_epoch = 6; /* another change while it copies */
    rn_partition_lead(w.part, &ld, 8);
    assert_int_equal(w.part->followers[slot].fetch_offset, -1);
    world_free(&w);
}

static void test_new_epoch_waits_for_every_follower(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "epoch");
    static const int32_t two[] = {1, 2};
    lead(&w, 1, 1, 1, two, 2, 1, 0);
    append_synced(&w, 5);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 5, 1), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 5);
    lead(&w, 1, 2, 2, two, 2, 1, 10); /* a new leader epoch */
    append_synced(&w, 5);
    assert_int_equal(rn_partition_hw(w.part), 5);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 10, 11), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 10);
    world_free(&w);
}

static void test_min_isr_and_losing_leadership(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "minisr");
    static const int32_t one[] = {1}, two[] = {1, 2};
    lead(&w, 1, 1, 1, one, 1, 2, 0);
    assert_int_equal(rn_partition_check_acks_all(w.part), RN_ERR_FEW_REPLICAS);
    lead(&w, 1, 1, 2, two, 2, 2, 0);
    assert_int_equal(rn_partition_check_acks_all(w.part), RN_OK);
    int64_t last = append_synced(&w, 3);
    waiter_t x;
    wait_hw(&w, &x, last);
    lead(&w, 1, 1, 3, one, 1, 2, 0); /* shrank while the produce waited */
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.err, RN_ERR_FEW_REPLICAS_AFTER);
    lead(&w, 1, 1, 4, two, 2, 2, 0);
    last = append_synced(&w, 3);
    wait_hw(&w, &x, last);
    lead(&w, 2, 2, 5, two, 2, 2, 0); /* node 2 leads now */
    assert_int_equal(x.calls, 1);
    assert_int_equal(x.err, RN_ERR_NOT_LEADER);
    assert_int_equal(rn_partition_check_acks_all(w.part), RN_ERR_NOT_LEADER);
    world_free(&w);
}

/* A stopping node closes the high watermark: what waits fails, and an
   append whose fsync completes after the stop began fails at once rather
   than wait for followers that no longer fetch. */
static void test_closed_hw_fails_every_wait(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "closing");
    static const int32_t two[] = {1, 2};
    lead(&w, 1, 1, 1, two, 2, 2, 0);
    int64_t last = append_synced(&w, 3);
    waiter_t before, after;
    wait_hw(&w, &before, last);
    assert_int_equal(before.calls, 0);
    rn_partition_close_hw(w.part);
    assert_int_equal(before.calls, 1);
    assert_int_equal(before.err, RN_ERR_NOT_LEADER);
    last = append_synced(&w, 2);
    wait_hw(&w, &after, last);
    assert_int_equal(after.calls, 1);
    assert_int_equal(after.err, RN_ERR_NOT_LEADER);
    world_free(&w);
}

/* The first leadership of a partition just opened starts its followers'
   clocks at that moment, even at leader epoch 0: nobody is lagging yet. */
static void test_first_leadership_starts_clocks(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "first");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 0, 0, all, 3, 1, 500000);
    int32_t isr[RN_REPLICAS_MAX];
    int16_t count = 0;
    assert_false(rn_partition_isr_wanted(w.part, 500001, 30000, isr, &count));
    assert_true(rn_partition_isr_wanted(w.part, 530001, 30000, isr, &count));
    assert_int_equal(count, 1);
    world_free(&w);
}

/* A replicated partition opened over an existing log (a restart) starts
   its high watermark at the log start: what lies past the old high
   watermark may be on no other replica. The in-sync followers' fetches
   bring it up; a sole replica gets its whole log at once. */
static void test_reopened_replica_starts_low(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "reopen");
    static const int32_t all[] = {1, 2, 3};
    rn_partition_leadership_t solo = {.self_id = 1,
                                      .leader = 1,
                                      .replica_count = 1,
                                      .isr_count = 1,
                                      .replicas = {1},
                                      .isr = {1},
                                      .min_isr = 1};
    rn_partition_lead(w.part, &solo, 0);
    append_synced(&w, 10);
    assert_int_equal(rn_partition_hw(w.part), 10);
    rn_partition_close(w.part);
    rn_partition_unref(w.part);
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    assert_int_equal(rn_partition_open(w.io, "data", "reopen", 0, &cfg, true, 0, &w.part), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 10); /* opened: not led yet */
    lead(&w, 1, 2, 2, all, 3, 2, 0);
    assert_int_equal(rn_partition_hw(w.part), 0);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 10, 1), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 7, 1), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 7);
    world_free(&w);
}

/* KIP-392: the in-sync candidate holding the fetch offset and the most. */
static void test_read_replica(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "rack");
    static const int32_t two[] = {1, 2}, cands[] = {2, 3};
    lead(&w, 1, 1, 1, two, 2, 1, 0);
    append_synced(&w, 10);
    assert_int_equal(rn_partition_read_replica(w.part, cands, 2, 0), -1); /* none fetched yet */
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 6, 1), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 10, 1), RN_OK);
    assert_int_equal(rn_partition_read_replica(w.part, cands, 2, 5), 2);  /* 3: not in the ISR */
    assert_int_equal(rn_partition_read_replica(w.part, cands, 2, 7), -1); /* 2 lacks offset 7 */
    world_free(&w);
}

static void test_isr_wanted(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "isr");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 1, 0);
    append_synced(&w, 4);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 4, 100), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 4, 100), RN_OK);
    int32_t isr[RN_REPLICAS_MAX];
    int16_t count = 0;
    assert_false(rn_partition_isr_wanted(w.part, 20000, 30000, isr, &count));
    append_synced(&w, 4);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 8, 31000), RN_OK);
    /* 3 last caught up at 100: past the 30 s lag at 30101. */
    assert_true(rn_partition_isr_wanted(w.part, 31000, 30000, isr, &count));
    assert_int_equal(count, 2);
    assert_int_equal(isr[0], 1);
    assert_int_equal(isr[1], 2);
    rn_partition_isr_asked(w.part, isr, count);
    assert_false(rn_partition_isr_wanted(w.part, 31000, 30000, isr, &count)); /* pending */
    static const int32_t two[] = {1, 2};
    lead(&w, 1, 1, 2, two, 2, 1, 31000); /* the controller took it */
    assert_int_equal(rn_partition_hw(w.part), 8);
    /* 3 catches up: it may join; while asked, it counts toward the HW. */
    append_synced(&w, 2);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 8, 32000), RN_OK);
    assert_true(rn_partition_isr_wanted(w.part, 32000, 30000, isr, &count));
    assert_int_equal(count, 3);
    w.part->lead.eligible = 0x3; /* 3 fenced meanwhile: not proposed */
    assert_false(rn_partition_isr_wanted(w.part, 32000, 30000, isr, &count));
    w.part->lead.eligible = 0x7;
    assert_true(rn_partition_isr_wanted(w.part, 32000, 30000, isr, &count));
    rn_partition_isr_asked(w.part, isr, count);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 10, 32001), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 8); /* 3 holds it at 8 */
    rn_partition_isr_settled(w.part);             /* refused: 2 alone counts */
    assert_int_equal(rn_partition_hw(w.part), 10);
    world_free(&w);
}

/* A follower at the leader's log end is in sync however long ago it last
   fetched (Kafka's isCaughtUp): an idle partition keeps a stopped follower
   (the controller's fence takes it out) rather than dropping it and, its
   fetch offset being the high watermark, taking it back a tick later. */
static void test_idle_partition_keeps_silent_follower(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "idle");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 1, 0);
    append_synced(&w, 4);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 4, 100), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 4, 100), RN_OK);
    int32_t isr[RN_REPLICAS_MAX];
    int16_t count = 0;
    assert_false(rn_partition_isr_wanted(w.part, 100000, 30000, isr, &count));
    append_synced(&w, 1); /* now behind, last caught up at 100: both leave */
    assert_true(rn_partition_isr_wanted(w.part, 100000, 30000, isr, &count));
    assert_int_equal(count, 1);
    assert_int_equal(isr[0], 1);
    world_free(&w);
}

static void test_follower_appends_and_truncates(void **state) {
    (void)state;
    world_t leader, follower;
    world_init(&leader, "f");
    static const int32_t two[] = {1, 2};
    lead(&leader, 1, 3, 1, two, 2, 1, 0);
    append_synced(&leader, 6);
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(leader.part->log, 0, 1 << 20, 6, &rd), RN_OK);
    uint8_t copy[8192];
    assert_true(rd.len <= sizeof copy);
    size_t got = 0;
    assert_int_equal(rn_io_file_pread(leader.io, rd.fd, copy, rd.len, rd.position, &got), RN_OK);
    assert_int_equal(got, rd.len);
    size_t len = rd.len;
    rn_log_read_release(&rd);

    world_init(&follower, "f");
    lead(&follower, 2, 3, 1, two, 2, 1, 0); /* node 1 follows node 2 */
    assert_int_equal(rn_partition_append_replica(follower.part, copy, len, 1000, NULL), RN_OK);
    assert_int_equal(rn_log_end_offset(follower.part->log), 6);
    assert_int_equal(rn_log_latest_epoch(follower.part->log), 3); /* the leader's epoch kept */
    /* The same batches again are out of order: refused, nothing written. */
    assert_int_equal(rn_partition_append_replica(follower.part, copy, len, 1000, NULL),
                     RN_ERR_INVALID);
    follower.part->dirty = true;
    rn_partition_sync(follower.part);
    rn_partition_follow_hw(follower.part, 4);
    assert_int_equal(rn_partition_hw(follower.part), 4);
    assert_int_equal(rn_partition_truncate(follower.part, 0), RN_OK);
    assert_int_equal(rn_log_end_offset(follower.part->log), 0);
    assert_int_equal(rn_partition_hw(follower.part), 0);
    /* A follower does not take produces. */
    rn_partition_append_result_t res;
    assert_int_equal(rn_partition_append(follower.part, copy, len, 1000, &res), RN_ERR_NOT_LEADER);
    world_free(&follower);
    world_free(&leader);
}

/* A follower reads up to the leader's durable end, not its log end: what
   a failed fsync may roll back (or a power loss drop) and the leader write
   again differently in the same epoch never reaches a follower. One at
   that end is caught up, however long ago. (Followers read to the log
   end, and one at the durable end left the ISR under load.) */
static void test_follower_reads_to_durable_end(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "durable");
    static const int32_t all[] = {1, 2, 3};
    lead(&w, 1, 1, 1, all, 3, 2, 0);
    int64_t last = append_synced(&w, 10);
    assert_int_equal(last, 9);
    uint8_t buf[8192];
    bb_batch_t b = {.records = 3,
                    .value_bytes = 50,
                    .first_ts = 5000,
                    .producer_id = -1,
                    .epoch = -1,
                    .seq = -1};
    size_t len = bb_batch_build(buf, &b);
    rn_partition_append_result_t res;
    assert_int_equal(rn_partition_append(w.part, buf, len, 1000, &res), RN_OK); /* not synced */
    assert_int_equal(rn_log_end_offset(w.part->log), 13);
    assert_int_equal(rn_log_synced_offset(w.part->log), 10);
    rn_repl_fetch_t in = {2, 1, -1, 0};
    rn_repl_served_t out;
    rn_repl_serve(w.part, &in, 5, &out);
    assert_int_equal(out.err, RN_OK);
    assert_true(out.follower);
    assert_int_equal(out.read_upto, 10);
    for (int32_t id = 2; id <= 3; id++) {
        rn_repl_fetch_t at_end = {id, 1, 1, 10};
        rn_repl_serve(w.part, &at_end, 6, &out);
        assert_int_equal(out.err, RN_OK);
        assert_int_equal(out.read_upto, 10); /* nothing more to read yet */
    }
    assert_int_equal(rn_partition_hw(w.part), 10);
    int32_t isr[RN_REPLICAS_MAX];
    int16_t isr_count = 0;
    assert_false(rn_partition_isr_wanted(w.part, 100000, 1000, isr, &isr_count));
    world_free(&w);
}

/* An ISR change whose outcome is unknown (no answer in time, or this
   leader behind the controller) stays pending: the controller may have
   applied it, so its members keep counting toward the high watermark until
   the image says, and it is asked again. Only a refusal for good drops it.
   (Any refusal dropped it: a leader whose expansion timed out after the
   controller took it committed records the new member lacked.) */
static void test_isr_change_of_unknown_outcome_stays(void **state) {
    (void)state;
    world_t w;
    world_init(&w, "unknown");
    static const int32_t two[] = {1, 2};
    lead(&w, 1, 1, 1, two, 2, 1, 0);
    append_synced(&w, 4);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 4, 10), RN_OK);
    assert_int_equal(rn_partition_follower_fetched(w.part, 3, 4, 10), RN_OK);
    int32_t isr[RN_REPLICAS_MAX];
    int16_t count = 0;
    assert_true(rn_partition_isr_wanted(w.part, 10, 30000, isr, &count));
    assert_int_equal(count, 3);
    rn_partition_isr_asked(w.part, isr, count);
    append_synced(&w, 4);
    assert_int_equal(rn_partition_follower_fetched(w.part, 2, 8, 20), RN_OK);
    assert_int_equal(rn_partition_hw(w.part), 4); /* 3, asked for, holds it */
    rn_partition_isr_answered(w.part, RN_KERR_REQUEST_TIMED_OUT, -1);
    assert_int_equal(rn_partition_hw(w.part), 4);
    assert_true(rn_partition_isr_wanted(w.part, 30, 30000, isr, &count)); /* asked again */
    assert_int_equal(count, 3);
    rn_partition_isr_asked(w.part, isr, count);
    rn_partition_isr_answered(w.part, RN_KERR_INVALID_UPDATE_VERSION, -1); /* behind */
    assert_int_equal(rn_partition_hw(w.part), 4);
    rn_partition_isr_answered(w.part, RN_KERR_INELIGIBLE_REPLICA, -1); /* for good */
    assert_int_equal(rn_partition_hw(w.part), 8);
    world_free(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hw_is_least_over_isr),
        cmocka_unit_test(test_new_epoch_waits_for_every_follower),
        cmocka_unit_test(test_min_isr_and_losing_leadership),
        cmocka_unit_test(test_closed_hw_fails_every_wait),
        cmocka_unit_test(test_first_leadership_starts_clocks),
        cmocka_unit_test(test_reopened_replica_starts_low),
        cmocka_unit_test(test_read_replica),
        cmocka_unit_test(test_isr_wanted),
        cmocka_unit_test(test_idle_partition_keeps_silent_follower),
        cmocka_unit_test(test_follower_appends_and_truncates),
        cmocka_unit_test(test_follower_reads_to_durable_end),
        cmocka_unit_test(test_isr_change_of_unknown_outcome_stays),
        cmocka_unit_test(test_followers_follow_their_broker),
        cmocka_unit_test(test_adding_replica_forgets_its_old_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
