/*
 * test_txn.c: the transaction state machine (txn.h) driven by calls: a new
 * transactional id's producer id and epoch, epoch bumps and their KIP-360
 * retries, fencing an ongoing transaction (abort, CONCURRENT_TRANSACTIONS,
 * the zombie's PRODUCER_FENCED), AddPartitionsToTxn and EndTxn with Kafka's
 * error codes, transitions held until their record is durable and a failed
 * write, markers then completion, epoch exhaustion, loading, and the
 * __transaction_state records in Kafka's layouts (v0 written, v0 and v1
 * read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "proto/kerr.h"
#include "txn/txn.h"
#include "txn/txn_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- harness ---- */

typedef struct fake {
    rn_txn_coord_t *coord;
    int stores;
    bool held; /* a store waits for store_done */
    char held_id[64];
    rn_txn_meta_t held_meta; /* what it stores */
    int markers;             /* markers hook calls */
    bool auto_store;         /* stores complete at once */
} fake_t;

static fake_t fake;

static void fake_store(void *ctx, const char *id, const rn_txn_meta_t *meta) {
    fake_t *f = ctx;
    f->stores++;
    if (f->auto_store) {
        rn_txn_stored(f->coord, id, RN_OK, 1000);
        return;
    }
    assert_false(f->held);
    f->held = true;
    snprintf(f->held_id, sizeof f->held_id, "%s", id);
    rn_txn_meta_copy(&f->held_meta, meta);
}

static void fake_markers(void *ctx, const char *id, const rn_txn_meta_t *meta) {
    (void)id, (void)meta;
    ((fake_t *)ctx)->markers++;
}

/* The held record becomes durable (RN_OK) or fails. */
static void store_done(rn_err_t err) {
    assert_true(fake.held);
    fake.held = false;
    rn_txn_stored(fake.coord, fake.held_id, err, 1000);
}

static rn_txn_coord_t *coord_new(bool with_markers) {
    rn_txn_meta_free(&fake.held_meta);
    memset(&fake, 0, sizeof fake);
    rn_txn_meta_init(&fake.held_meta);
    rn_txn_config_t cfg = {900000, 10000};
    rn_txn_hooks_t hooks = {&fake, fake_store, with_markers ? fake_markers : NULL};
    fake.coord = rn_txn_coord_new(&cfg, &hooks);
    return fake.coord;
}

static void coord_free(void) {
    rn_txn_coord_free(fake.coord);
    rn_txn_meta_free(&fake.held_meta);
    rn_txn_meta_init(&fake.held_meta);
}

typedef struct call {
    rn_txn_waiter_t waiter;
    int done;
    int16_t error;
    rn_err_t store_err;
    int64_t pid;
    int16_t epoch;
} call_t;

static void call_done(rn_txn_waiter_t *w, int16_t error_code, rn_err_t store_err, int64_t pid,
                      int16_t epoch) {
    call_t *c = (call_t *)w;
    c->done++;
    c->error = error_code;
    c->store_err = store_err;
    c->pid = pid;
    c->epoch = epoch;
}

static call_t *call_new(call_t *c) {
    memset(c, 0, sizeof *c);
    c->waiter.done = call_done;
    return c;
}

/* Calls made through the helpers below outlive them (an answer may come
   at a later store_done): they live in a ring. */
static call_t calls[32];
static int call_next;

static call_t *call_slot(void) { return call_new(&calls[call_next++ % 32]); }

#define ID rn_str_from_cstr("tx")

static call_t *init_pid(int64_t expected_pid, int16_t expected_epoch, int64_t new_pid) {
    call_t *c = call_slot();
    rn_txn_init_pid(fake.coord, ID, 60000, expected_pid, expected_epoch, new_pid, &c->waiter, 1000);
    return c;
}

static const rn_txn_tp_t parts_ab[] = {{(char *)"a", 0}, {(char *)"b", 1}};

static call_t *add(int64_t pid, int16_t epoch, const rn_txn_tp_t *parts, int32_t count) {
    call_t *c = call_slot();
    rn_txn_add_partitions(fake.coord, ID, pid, epoch, parts, count, &c->waiter, 2000);
    return c;
}

static call_t *end(int64_t pid, int16_t epoch, bool commit) {
    call_t *c = call_slot();
    rn_txn_end(fake.coord, ID, pid, epoch, commit, &c->waiter, 3000);
    return c;
}

static rn_txn_state_t state(void) { return rn_txn_find(fake.coord, ID)->state; }

/* A new id at epoch 0 under producer id 7, stored. */
static void init_fresh(void) {
    assert_true(rn_txn_init_needs_pid(fake.coord, ID, -1));
    call_t *c = init_pid(-1, -1, 7);
    assert_int_equal(c->done, 0); /* waits for the record */
    assert_true(fake.held);
    assert_int_equal(fake.held_meta.producer_epoch, 0);
    store_done(RN_OK);
}

/* ---- tests ---- */

static void test_init_and_bump(void **unused) {
    (void)unused;
    coord_new(false);
    assert_true(rn_txn_init_needs_pid(fake.coord, ID, -1));
    call_t *c = init_pid(-1, -1, 7);
    assert_int_equal(c->done, 0);
    /* Another request while the record is stored: CONCURRENT_TRANSACTIONS. */
    call_t *other = init_pid(-1, -1, -1);
    assert_int_equal(other->done, 1);
    assert_int_equal(other->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    store_done(RN_OK);
    assert_int_equal(c->done, 1);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->pid, 7);
    assert_int_equal(c->epoch, 0);
    assert_int_equal(state(), RN_TXN_EMPTY);
    /* Again: same id, epoch 1, no new producer id needed. */
    assert_false(rn_txn_init_needs_pid(fake.coord, ID, -1));
    c = init_pid(-1, -1, -1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->pid, 7);
    assert_int_equal(c->epoch, 1);
    coord_free();
}

static void test_kip360_expected_epoch(void **unused) {
    (void)unused;
    coord_new(false);
    init_fresh(); /* 7/0 */
    call_t *c = init_pid(7, 0, -1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->epoch, 1);
    /* A retry naming epoch 0 again (the answer was lost): no second bump. */
    c = init_pid(7, 0, -1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->epoch, 1);
    /* An epoch the id never had, or another producer id: fenced. */
    c = init_pid(7, 5, -1);
    assert_int_equal(c->error, RN_KERR_PRODUCER_FENCED);
    c = init_pid(8, 1, -1);
    assert_int_equal(c->error, RN_KERR_PRODUCER_FENCED);
    assert_false(fake.held);
    coord_free();
}

static void test_add_partitions_checks(void **unused) {
    (void)unused;
    coord_new(false);
    call_t *c = add(7, 0, parts_ab, 2);
    assert_int_equal(c->error, RN_KERR_INVALID_PRODUCER_ID_MAPPING); /* unknown id */
    init_fresh();
    c = add(8, 0, parts_ab, 2);
    assert_int_equal(c->error, RN_KERR_INVALID_PRODUCER_ID_MAPPING);
    c = add(7, 1, parts_ab, 2);
    assert_int_equal(c->error, RN_KERR_PRODUCER_FENCED);
    c = add(7, 0, parts_ab, 2);
    assert_int_equal(c->done, 0);
    assert_int_equal(fake.held_meta.state, RN_TXN_ONGOING);
    assert_int_equal(fake.held_meta.part_count, 2);
    assert_int_equal(fake.held_meta.start_ms, 2000);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(state(), RN_TXN_ONGOING);
    /* Already in the transaction: answered at once, nothing written. */
    int stores = fake.stores;
    c = add(7, 0, parts_ab + 1, 1);
    assert_int_equal(c->done, 1);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(fake.stores, stores);
    assert_int_equal(rn_txn_verify_partition(fake.coord, ID, 7, 0, rn_str_from_cstr("b"), 1),
                     RN_KERR_NONE);
    assert_int_equal(rn_txn_verify_partition(fake.coord, ID, 7, 0, rn_str_from_cstr("b"), 2),
                     RN_KERR_INVALID_TXN_STATE);
    coord_free();
}

static void test_commit_then_complete(void **unused) {
    (void)unused;
    coord_new(true);
    init_fresh();
    call_t *c = end(7, 0, true);
    assert_int_equal(c->error, RN_KERR_INVALID_TXN_STATE); /* Empty */
    c = add(7, 0, parts_ab, 2);
    store_done(RN_OK);
    c = end(7, 1, true);
    assert_int_equal(c->error, RN_KERR_PRODUCER_FENCED);
    c = end(9, 0, true);
    assert_int_equal(c->error, RN_KERR_INVALID_PRODUCER_ID_MAPPING);
    c = end(7, 0, true);
    assert_int_equal(c->done, 0);
    assert_int_equal(fake.held_meta.state, RN_TXN_PREPARE_COMMIT);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE); /* answered once prepared */
    assert_int_equal(state(), RN_TXN_PREPARE_COMMIT);
    assert_int_equal(fake.markers, 1);
    /* While the markers are written: a retry waits, the other outcome is invalid,
       and a new InitProducerId or AddPartitionsToTxn waits too. */
    assert_int_equal(end(7, 0, true)->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(end(7, 0, false)->error, RN_KERR_INVALID_TXN_STATE);
    assert_int_equal(init_pid(-1, -1, -1)->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(add(7, 0, parts_ab, 1)->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    rn_txn_markers_done(fake.coord, "tx", 4000);
    assert_int_equal(fake.held_meta.state, RN_TXN_COMPLETE_COMMIT);
    assert_int_equal(fake.held_meta.part_count, 0);
    store_done(RN_OK);
    assert_int_equal(state(), RN_TXN_COMPLETE_COMMIT);
    assert_int_equal(end(7, 0, true)->error, RN_KERR_NONE); /* a retry */
    assert_int_equal(end(7, 0, false)->error, RN_KERR_INVALID_TXN_STATE);
    /* The next transaction starts afresh. */
    c = add(7, 0, parts_ab + 1, 1);
    assert_int_equal(fake.held_meta.part_count, 1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    coord_free();
}

static void test_abort_without_markers_hook(void **unused) {
    (void)unused;
    coord_new(false);
    fake.auto_store = true;
    call_t *c = init_pid(-1, -1, 7);
    assert_int_equal(c->error, RN_KERR_NONE);
    c = add(7, 0, parts_ab, 2);
    c = end(7, 0, false);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(state(), RN_TXN_COMPLETE_ABORT); /* no markers: completes at once */
    coord_free();
}

static void test_fence_ongoing(void **unused) {
    (void)unused;
    coord_new(true);
    init_fresh();
    add(7, 0, parts_ab, 2);
    store_done(RN_OK);
    /* A second producer with the same id: the ongoing transaction is aborted
       under epoch 1, and the new producer retries. */
    call_t *c = init_pid(-1, -1, -1);
    assert_int_equal(fake.held_meta.state, RN_TXN_PREPARE_ABORT);
    assert_int_equal(fake.held_meta.producer_epoch, 1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    assert_int_equal(fake.markers, 1);
    /* The zombie (epoch 0) is fenced. */
    assert_int_equal(end(7, 0, true)->error, RN_KERR_PRODUCER_FENCED);
    assert_int_equal(add(7, 0, parts_ab, 1)->error, RN_KERR_PRODUCER_FENCED);
    rn_txn_markers_done(fake.coord, "tx", 4000);
    store_done(RN_OK);
    assert_int_equal(state(), RN_TXN_COMPLETE_ABORT);
    c = init_pid(-1, -1, -1);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->pid, 7);
    assert_int_equal(c->epoch, 2);
    coord_free();
}

static void test_store_failure(void **unused) {
    (void)unused;
    coord_new(false);
    init_fresh();
    call_t *c = add(7, 0, parts_ab, 2);
    store_done(RN_ERR_IO);
    assert_int_equal(c->done, 1);
    assert_int_equal(c->store_err, RN_ERR_IO);
    assert_int_equal(state(), RN_TXN_EMPTY); /* unchanged */
    assert_int_equal(rn_txn_find(fake.coord, ID)->part_count, 0);
    /* A waiter parked when the shard goes is answered NOT_COORDINATOR. */
    c = add(7, 0, parts_ab, 2);
    assert_int_equal(c->done, 0);
    rn_txn_coord_free(fake.coord);
    assert_int_equal(c->done, 1);
    assert_int_equal(c->error, RN_KERR_NOT_COORDINATOR);
    rn_txn_meta_free(&fake.held_meta);
    rn_txn_meta_init(&fake.held_meta);
}

static void test_epoch_exhausted(void **unused) {
    (void)unused;
    coord_new(false);
    rn_txn_meta_t meta;
    rn_txn_meta_init(&meta);
    meta.producer_id = 7;
    meta.producer_epoch = INT16_MAX - 1;
    meta.timeout_ms = 60000;
    meta.state = RN_TXN_COMPLETE_COMMIT;
    rn_txn_load(fake.coord, ID, &meta);
    assert_true(rn_txn_init_needs_pid(fake.coord, ID, -1));
    call_t *c = init_pid(-1, -1, 12);
    store_done(RN_OK);
    assert_int_equal(c->error, RN_KERR_NONE);
    assert_int_equal(c->pid, 12);
    assert_int_equal(c->epoch, 0);
    assert_int_equal(rn_txn_find(fake.coord, ID)->prev_producer_id, 7);
    rn_txn_meta_free(&meta);
    coord_free();
}

static void test_refusal_and_load(void **unused) {
    (void)unused;
    coord_new(true);
    rn_txn_coord_set_refusal(fake.coord, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(init_pid(-1, -1, 7)->error, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    assert_int_equal(end(7, 0, true)->error, RN_KERR_COORDINATOR_LOAD_IN_PROGRESS);
    rn_txn_meta_t meta;
    rn_txn_meta_init(&meta);
    meta.producer_id = 7;
    meta.producer_epoch = 3;
    meta.timeout_ms = 60000;
    meta.state = RN_TXN_PREPARE_ABORT;
    rn_txn_meta_add(&meta, rn_str_from_cstr("a"), 0);
    rn_txn_load(fake.coord, ID, &meta);
    rn_txn_load(fake.coord, rn_str_from_cstr("gone"), &meta);
    rn_txn_load(fake.coord, rn_str_from_cstr("gone"), NULL); /* tombstone */
    assert_int_equal(rn_txn_coord_count(fake.coord), 1);
    rn_txn_coord_set_refusal(fake.coord, RN_KERR_NONE);
    rn_txn_loaded(fake.coord, 5000); /* the prepared abort's markers go out again */
    assert_int_equal(fake.markers, 1);
    rn_txn_markers_done(fake.coord, "tx", 5000);
    assert_int_equal(fake.held_meta.state, RN_TXN_COMPLETE_ABORT);
    store_done(RN_OK);
    rn_txn_meta_free(&meta);
    coord_free();
}

/* transaction.timeout.ms: an ongoing transaction past its timeout is
   aborted under the next epoch (its producer fenced); younger ones, and
   those not ongoing, are left. */
static void test_expire(void **unused) {
    (void)unused;
    coord_new(true);
    init_fresh();           /* 7/0, timeout 60000 */
    add(7, 0, parts_ab, 2); /* started at 2000 */
    store_done(RN_OK);
    assert_int_equal(rn_txn_expire(fake.coord, 62000), 0);
    assert_int_equal(rn_txn_expire(fake.coord, 62001), 1);
    assert_int_equal(fake.held_meta.state, RN_TXN_PREPARE_ABORT);
    assert_int_equal(fake.held_meta.producer_epoch, 1);
    assert_int_equal(rn_txn_expire(fake.coord, 99999), 0); /* pending: not twice */
    store_done(RN_OK);
    assert_int_equal(fake.markers, 1);
    assert_int_equal(end(7, 0, true)->error, RN_KERR_PRODUCER_FENCED);
    rn_txn_markers_done(fake.coord, "tx", 63000);
    store_done(RN_OK);
    assert_int_equal(state(), RN_TXN_COMPLETE_ABORT);
    assert_int_equal(rn_txn_expire(fake.coord, 999999), 0); /* not ongoing */
    coord_free();
}

/* transactional.id.expiration.ms: an id with no transaction, unused that
   long, is stored Dead (a tombstone) and then forgotten; an ongoing one is
   kept. */
static void test_expire_ids(void **unused) {
    (void)unused;
    coord_new(false);
    init_fresh(); /* updated at 1000 */
    assert_int_equal(rn_txn_expire_ids(fake.coord, 11000), 0);
    assert_int_equal(rn_txn_expire_ids(fake.coord, 11001), 1);
    assert_int_equal(fake.held_meta.state, RN_TXN_DEAD);
    assert_int_equal(init_pid(-1, -1, -1)->error, RN_KERR_CONCURRENT_TRANSACTIONS);
    store_done(RN_OK);
    assert_null(rn_txn_find(fake.coord, ID));
    assert_true(rn_txn_init_needs_pid(fake.coord, ID, -1));
    init_fresh(); /* a new producer id for it */
    add(7, 0, parts_ab, 1);
    store_done(RN_OK);
    assert_int_equal(rn_txn_expire_ids(fake.coord, 999999), 0); /* ongoing: kept */
    coord_free();
}

/* ---- records ---- */

static void test_records_round_trip(void **unused) {
    (void)unused;
    rn_txn_meta_t meta, back;
    rn_txn_meta_init(&meta);
    rn_txn_meta_init(&back);
    meta.producer_id = 1234567890123;
    meta.producer_epoch = 42;
    meta.timeout_ms = 60000;
    meta.state = RN_TXN_ONGOING;
    rn_txn_meta_add(&meta, rn_str_from_cstr("t1"), 0);
    rn_txn_meta_add(&meta, rn_str_from_cstr("t2"), 5);
    rn_txn_meta_add(&meta, rn_str_from_cstr("t1"), 3);
    meta.start_ms = 111;
    meta.update_ms = 222;
    rn_buf_t key, value;
    rn_buf_init(&key, 1 << 20);
    rn_buf_init(&value, 1 << 20);
    rn_txn_rec_key(&key, "my-id");
    static const uint8_t key_bytes[] = {0, 0, 0, 5, 'm', 'y', '-', 'i', 'd'};
    assert_int_equal(key.len, sizeof key_bytes);
    assert_memory_equal(key.ptr, key_bytes, sizeof key_bytes);
    rn_str_t id;
    assert_int_equal(rn_txn_rec_parse_key((rn_bytes_t){key.ptr, (int32_t)key.len}, &id), RN_OK);
    assert_true(rn_str_eq_cstr(id, "my-id"));
    rn_txn_rec_value(&value, &meta);
    /* version, pid, epoch, timeout, state, then 2 topics: t1 [0, 3], t2 [5] */
    assert_int_equal(value.len, 2 + 8 + 2 + 4 + 1 + 4 + (2 + 2 + 4 + 8) + (2 + 2 + 4 + 4) + 16);
    assert_int_equal(value.ptr[16], RN_TXN_ONGOING);
    assert_int_equal(rn_txn_rec_parse_value((rn_bytes_t){value.ptr, (int32_t)value.len}, &back),
                     RN_OK);
    assert_int_equal(back.producer_id, meta.producer_id);
    assert_int_equal(back.producer_epoch, 42);
    assert_int_equal(back.timeout_ms, 60000);
    assert_int_equal(back.state, RN_TXN_ONGOING);
    assert_int_equal(back.part_count, 3);
    assert_true(rn_txn_meta_has(&back, rn_str_from_cstr("t1"), 3));
    assert_true(rn_txn_meta_has(&back, rn_str_from_cstr("t2"), 5));
    assert_int_equal(back.start_ms, 111);
    assert_int_equal(back.update_ms, 222);
    /* Empty stores null partitions. */
    meta.state = RN_TXN_EMPTY;
    value.len = 0;
    rn_txn_rec_value(&value, &meta);
    assert_int_equal(value.len, 2 + 8 + 2 + 4 + 1 + 4 + 16);
    assert_memory_equal(value.ptr + 17, "\xff\xff\xff\xff", 4);
    /* A truncated value is corrupt. */
    rn_txn_meta_t bad;
    rn_txn_meta_init(&bad);
    assert_int_equal(rn_txn_rec_parse_value((rn_bytes_t){value.ptr, 20}, &bad), RN_ERR_CORRUPT);
    rn_txn_meta_free(&bad);
    rn_buf_free(&key);
    rn_buf_free(&value);
    rn_txn_meta_free(&meta);
    rn_txn_meta_free(&back);
}

/* Kafka's flexible value v1: compact arrays and strings, tagged fields
   (tag 0: the previous producer id). */
static void test_records_v1(void **unused) {
    (void)unused;
    static const uint8_t v1[] = {
        0, 1,                                    /* version 1 */
        0, 0,   0,    0,    0, 0, 0, 9,          /* producer id */
        0, 2,                                    /* epoch */
        0, 0,   0x75, 0x30,                      /* timeout 30000 */
        2,                                       /* PrepareCommit */
        2,                                       /* one topic (compact: count + 1) */
        3, 't', 'x',                             /* compact string "tx" */
        2, 0,   0,    0,    4,                   /* partitions [4] */
        0,                                       /* the topic's tagged fields */
        0, 0,   0,    0,    0, 0, 0, 5,          /* last update */
        0, 0,   0,    0,    0, 0, 0, 6,          /* start */
        1, 0,   8,    0,    0, 0, 0, 0, 0, 0, 3, /* tag 0: previous producer id 3 */
    };
    rn_txn_meta_t meta;
    rn_txn_meta_init(&meta);
    assert_int_equal(rn_txn_rec_parse_value((rn_bytes_t){v1, (int32_t)sizeof v1}, &meta), RN_OK);
    assert_int_equal(meta.producer_id, 9);
    assert_int_equal(meta.producer_epoch, 2);
    assert_int_equal(meta.timeout_ms, 30000);
    assert_int_equal(meta.state, RN_TXN_PREPARE_COMMIT);
    assert_int_equal(meta.part_count, 1);
    assert_true(rn_txn_meta_has(&meta, rn_str_from_cstr("tx"), 4));
    assert_int_equal(meta.update_ms, 5);
    assert_int_equal(meta.start_ms, 6);
    assert_int_equal(meta.prev_producer_id, 3);
    rn_txn_meta_free(&meta);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_bump),
        cmocka_unit_test(test_kip360_expected_epoch),
        cmocka_unit_test(test_add_partitions_checks),
        cmocka_unit_test(test_commit_then_complete),
        cmocka_unit_test(test_abort_without_markers_hook),
        cmocka_unit_test(test_fence_ongoing),
        cmocka_unit_test(test_store_failure),
        cmocka_unit_test(test_epoch_exhausted),
        cmocka_unit_test(test_refusal_and_load),
        cmocka_unit_test(test_expire),
        cmocka_unit_test(test_expire_ids),
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_records_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
