/*
 * test_md_reassign.c: partition reassignments planned on pure images: a
 * move adds the new replicas, keeps the old ones and the ISR, and the
 * completion pass finishes it only once every target replica is in sync
 * (leadership going to the first target replica when the leader leaves);
 * a reorder and a shrink of in-sync replicas complete at once; a new target
 * starts again from the original replicas; a cancel goes back to them;
 * ISR changes keep the lists; every refusal with Kafka's code; the lists
 * survive the records' encoding and a snapshot of the image.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/md_commit.h"

#include "metadata/controller_reassign.h"
#include "metadata/image_writer.h"

#include <stdlib.h>
#include <string.h>

#define SESSION_MS 9000

typedef struct fx {
    mc_ctl_t ctl;
    rn_uuid_t topic; /* "t": p0 on [1,2,3], p1 on [2,3,1] */
    rn_ctl_result_t results[4];
} fx_t;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static void add_partition(fx_t *fx, int32_t index, const int32_t *replicas) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = RN_MD_PARTITION;
    rec.u.partition.topic_id = fx->topic;
    rec.u.partition.partition = index;
    rec.u.partition.leader = replicas[0];
    rec.u.partition.replica_count = rec.u.partition.isr_count = 3;
    memcpy(rec.u.partition.replicas, replicas, 3 * sizeof(int32_t));
    memcpy(rec.u.partition.isr, replicas, 3 * sizeof(int32_t));
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
}

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof *fx);
    mc_ctl_init(&fx->ctl);
    for (int32_t id = 1; id <= 5; id++) mc_ctl_join(&fx->ctl, id, (uint8_t)id, 0, SESSION_MS, true);
    rn_md_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = RN_MD_TOPIC;
    rec.u.topic.name = S("t");
    rec.u.topic.topic_id.bytes[0] = 0x5a;
    fx->topic = rec.u.topic.topic_id;
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
    add_partition(fx, 0, (const int32_t[]){1, 2, 3});
    add_partition(fx, 1, (const int32_t[]){2, 3, 1});
    mc_ctl_commit(&fx->ctl);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    mc_ctl_free(&fx->ctl);
    free(fx);
    return 0;
}

static const rn_image_partition_t *part(fx_t *fx, int32_t index) {
    return &rn_image_topic_by_id(fx->ctl.img, &fx->topic)->partitions[index];
}

/* Plans one partition of topic name to target (count -1: cancel) and
   commits; returns its code. */
static int16_t reassign(fx_t *fx, const char *name, int32_t index, int32_t count,
                        const int32_t *target) {
    rn_ctl_reassign_partition_t p = {index, count < 0 ? NULL : target, count < 0 ? 0 : count};
    rn_ctl_reassign_topic_t t = {S(name), &p, 1};
    rn_ctl_reassign_request_t req = {&t, 1, false};
    assert_int_equal(rn_ctl_plan_reassign(fx->ctl.img, &req, fx->results, &fx->ctl.batch), RN_OK);
    mc_ctl_commit(&fx->ctl);
    return fx->results[0].error_code;
}

/* The completion pass, committed; returns how many it completed. */
static int32_t progress(fx_t *fx) {
    int32_t completed = -1;
    bool more = true;
    assert_int_equal(
        rn_ctl_plan_reassign_progress(fx->ctl.img, 10, &fx->ctl.batch, &completed, &more), RN_OK);
    assert_false(more);
    mc_ctl_commit(&fx->ctl);
    return completed;
}

/* The partition's leader and ISR set directly, as elections and accepted
   AlterPartitions do (leader RN_MD_LEADER_NO_CHANGE: kept). */
static void set_lead(fx_t *fx, int32_t index, int32_t leader, int16_t count, const int32_t *isr) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof rec);
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = fx->topic;
    rec.u.partition_change.partition = index;
    rec.u.partition_change.leader = leader;
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    rec.u.partition_change.isr_count = count;
    memcpy(rec.u.partition_change.isr, isr, (size_t)count * sizeof(int32_t));
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
    mc_ctl_commit(&fx->ctl);
}

static void set_isr(fx_t *fx, int32_t index, int16_t count, const int32_t *isr) {
    set_lead(fx, index, RN_MD_LEADER_NO_CHANGE, count, isr);
}

static void assert_ids(const int32_t *ids, int16_t count, int16_t want_count, const int32_t *want) {
    assert_int_equal(count, want_count);
    for (int16_t n = 0; n < count; n++) assert_int_equal(ids[n], want[n]);
}

static void assert_list(const rn_image_partition_t *p, uint32_t mask, int16_t count,
                        const int32_t *want) {
    int32_t ids[RN_REPLICAS_MAX];
    assert_ids(ids, rn_image_partition_pick(p, mask, ids), count, want);
}

static void test_move_waits_for_the_new_replica(void **state) {
    fx_t *fx = *state;
    int32_t epoch = part(fx, 0)->leader_epoch;
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){4, 2, 3}), RN_KERR_NONE);
    const rn_image_partition_t *p = part(fx, 0);
    assert_ids(p->replicas, p->replica_count, 4, (const int32_t[]){4, 2, 3, 1});
    assert_list(p, p->adding_mask, 1, (const int32_t[]){4});
    assert_list(p, p->removing_mask, 1, (const int32_t[]){1});
    assert_ids(p->isr, p->isr_count, 3, (const int32_t[]){1, 2, 3});
    assert_int_equal(p->leader, 1);
    int32_t target[RN_REPLICAS_MAX];
    assert_ids(target, rn_image_partition_target(p, target), 3, (const int32_t[]){4, 2, 3});
    /* Not in sync yet: nothing to complete, however often it looks. */
    assert_int_equal(progress(fx), 0);
    assert_int_equal(progress(fx), 0);
    assert_true(rn_image_partition_moving(part(fx, 0)));
    /* An ISR shrink while moving keeps the lists. */
    set_isr(fx, 0, 2, (const int32_t[]){1, 2});
    assert_true(rn_image_partition_moving(part(fx, 0)));
    set_isr(fx, 0, 3, (const int32_t[]){1, 2, 4});
    assert_int_equal(progress(fx), 0); /* 3 is a target replica out of sync */
    set_isr(fx, 0, 4, (const int32_t[]){1, 2, 4, 3});
    assert_int_equal(progress(fx), 1);
    p = part(fx, 0);
    assert_false(rn_image_partition_moving(p));
    assert_ids(p->replicas, p->replica_count, 3, (const int32_t[]){4, 2, 3});
    assert_ids(p->isr, p->isr_count, 3, (const int32_t[]){2, 4, 3});
    assert_int_equal(p->leader, 4); /* the first target replica, in sync */
    assert_int_equal(p->leader_epoch, epoch + 1);
    assert_int_equal(progress(fx), 0);
}

static void test_reorder_and_shrink_complete_at_once(void **state) {
    fx_t *fx = *state;
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){2, 3, 1}), RN_KERR_NONE);
    const rn_image_partition_t *p = part(fx, 0);
    assert_false(rn_image_partition_moving(p));
    assert_ids(p->replicas, p->replica_count, 3, (const int32_t[]){2, 3, 1});
    assert_int_equal(p->leader, 1); /* a reorder moves no leadership */
    assert_int_equal(reassign(fx, "t", 1, 2, (const int32_t[]){3, 1}), RN_KERR_NONE);
    p = part(fx, 1);
    assert_false(rn_image_partition_moving(p));
    assert_ids(p->replicas, p->replica_count, 2, (const int32_t[]){3, 1});
    assert_ids(p->isr, p->isr_count, 2, (const int32_t[]){3, 1});
    assert_int_equal(p->leader, 3); /* 2 left: the first target replica leads */
    /* The same list again changes nothing: no record. */
    uint32_t epoch = (uint32_t)p->partition_epoch;
    assert_int_equal(reassign(fx, "t", 1, 2, (const int32_t[]){3, 1}), RN_KERR_NONE);
    assert_int_equal(part(fx, 1)->partition_epoch, (int32_t)epoch);
}

static void test_shrink_waits_for_sync(void **state) {
    fx_t *fx = *state;
    set_isr(fx, 0, 2, (const int32_t[]){1, 3});
    /* Dropping 3 leaves target [1,2], and 2 is out of sync: it must wait. */
    assert_int_equal(reassign(fx, "t", 0, 2, (const int32_t[]){1, 2}), RN_KERR_NONE);
    const rn_image_partition_t *p = part(fx, 0);
    assert_true(rn_image_partition_moving(p));
    assert_int_equal(p->adding_mask, 0);
    assert_list(p, p->removing_mask, 1, (const int32_t[]){3});
    assert_int_equal(progress(fx), 0);
    set_isr(fx, 0, 3, (const int32_t[]){1, 3, 2});
    assert_int_equal(progress(fx), 1);
    assert_ids(part(fx, 0)->isr, part(fx, 0)->isr_count, 2, (const int32_t[]){1, 2});
}

static void test_new_target_starts_from_the_original(void **state) {
    fx_t *fx = *state;
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){4, 2, 3}), RN_KERR_NONE);
    set_isr(fx, 0, 4, (const int32_t[]){1, 2, 3, 4});
    /* Not completed yet (no pass ran); a new target replaces it. */
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){5, 2, 3}), RN_KERR_NONE);
    const rn_image_partition_t *p = part(fx, 0);
    assert_ids(p->replicas, p->replica_count, 4, (const int32_t[]){5, 2, 3, 1});
    assert_list(p, p->adding_mask, 1, (const int32_t[]){5});
    assert_list(p, p->removing_mask, 1, (const int32_t[]){1});
    assert_ids(p->isr, p->isr_count, 3, (const int32_t[]){1, 2, 3}); /* 4 dropped */
}

static void test_cancel_goes_back(void **state) {
    fx_t *fx = *state;
    assert_int_equal(reassign(fx, "t", 0, -1, NULL), RN_KERR_NO_REASSIGNMENT_IN_PROGRESS);
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){4, 5, 3}), RN_KERR_NONE);
    set_isr(fx, 0, 4, (const int32_t[]){1, 2, 3, 4});
    assert_int_equal(reassign(fx, "t", 0, -1, NULL), RN_KERR_NONE);
    const rn_image_partition_t *p = part(fx, 0);
    assert_false(rn_image_partition_moving(p));
    /* The original replicas, in the order the move left them (target
       first), as Kafka reverts: the leader stays. */
    assert_ids(p->replicas, p->replica_count, 3, (const int32_t[]){3, 1, 2});
    assert_ids(p->isr, p->isr_count, 3, (const int32_t[]){1, 2, 3});
    assert_int_equal(p->leader, 1);
}

static void test_refusals(void **state) {
    fx_t *fx = *state;
    int32_t epoch = part(fx, 0)->partition_epoch;
    assert_int_equal(reassign(fx, "nope", 0, 1, (const int32_t[]){1}),
                     RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(reassign(fx, "t", 2, 1, (const int32_t[]){1}),
                     RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(reassign(fx, "t", 0, 0, (const int32_t[]){0}),
                     RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(reassign(fx, "t", 0, 2, (const int32_t[]){2, 2}),
                     RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(reassign(fx, "t", 0, 2, (const int32_t[]){2, 9}),
                     RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_non_null(strstr(fx->results[0].message, "broker 9"));
    int32_t many[RN_REPLICAS_MAX + 1];
    for (int32_t n = 0; n <= RN_REPLICAS_MAX; n++) many[n] = n + 1;
    assert_int_equal(reassign(fx, "t", 0, RN_REPLICAS_MAX + 1, many),
                     RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    /* The ISR all replicas being added, then a new target without them. */
    assert_int_equal(reassign(fx, "t", 1, 2, (const int32_t[]){4, 5}), RN_KERR_NONE);
    set_lead(fx, 1, 4, 2, (const int32_t[]){4, 5});
    assert_int_equal(reassign(fx, "t", 1, 1, (const int32_t[]){1}),
                     RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_int_equal(part(fx, 0)->partition_epoch, epoch);
    /* A partition named twice is decided twice on the same image, as
       Kafka does: the second, a cancel, finds nothing in progress. */
    rn_ctl_reassign_partition_t ps[2] = {{0, (const int32_t[]){3, 2, 1}, 3}, {0, NULL, 0}};
    rn_ctl_reassign_topic_t t = {S("t"), ps, 2};
    rn_ctl_reassign_request_t req = {&t, 1, false};
    assert_int_equal(rn_ctl_reassign_partition_total(&req), 2);
    assert_int_equal(rn_ctl_plan_reassign(fx->ctl.img, &req, fx->results, &fx->ctl.batch), RN_OK);
    assert_int_equal(fx->results[0].error_code, RN_KERR_NONE);
    assert_int_equal(fx->results[1].error_code, RN_KERR_NO_REASSIGNMENT_IN_PROGRESS);
    mc_ctl_commit(&fx->ctl);
    assert_ids(part(fx, 0)->replicas, part(fx, 0)->replica_count, 3, (const int32_t[]){3, 2, 1});
}

/* A snapshot's batch applied to the image being rebuilt. */
static rn_err_t rebuild(void *ctx, const rn_md_batch_t *batch) {
    rn_md_batch_t copy;
    rn_md_batch_init(&copy);
    assert_int_equal(rn_buf_append(&copy.buf, batch->buf.ptr, batch->buf.len), RN_OK);
    copy.count = batch->count;
    mc_commit(ctx, &copy);
    rn_md_batch_free(&copy);
    return RN_OK;
}

/* The lists survive a snapshot (the image written back as records) and a
   record's encoding; an ISR change without them is still version 0. */
static void test_lists_survive_encoding(void **state) {
    fx_t *fx = *state;
    assert_int_equal(reassign(fx, "t", 0, 3, (const int32_t[]){4, 2, 3}), RN_KERR_NONE);
    rn_image_t *copy = rn_image_empty(rn_image_config_base(fx->ctl.img));
    rn_image_write_limits_t limits = {RN_MD_BATCH_RECORDS_MAX, RN_MD_BATCH_BYTES_MAX};
    assert_int_equal(rn_image_write(fx->ctl.img, &limits, rebuild, &copy), RN_OK);
    assert_true(rn_image_equal(copy, fx->ctl.img));
    const rn_image_partition_t *p = &rn_image_topic_by_id(copy, &fx->topic)->partitions[0];
    assert_list(p, p->adding_mask, 1, (const int32_t[]){4});
    assert_list(p, p->removing_mask, 1, (const int32_t[]){1});
    rn_image_release(copy);

    rn_md_record_t rec, back;
    memset(&rec, 0, sizeof rec);
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = fx->topic;
    rec.u.partition_change.leader = RN_MD_LEADER_NO_CHANGE;
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    rec.u.partition_change.isr_count = 1;
    rec.u.partition_change.isr[0] = 2;
    rn_md_batch_t b;
    rn_md_batch_init(&b);
    assert_int_equal(rn_md_batch_add(&b, &rec), RN_OK);
    assert_int_equal(b.buf.ptr[5], 0); /* version 0: no lists */
    assert_int_equal(rn_md_record_decode(b.buf.ptr + 4, b.buf.len - 4, &back), RN_OK);
    assert_false(back.u.partition_change.sets_moving);
    rn_md_batch_reset(&b);
    rec.u.partition_change.sets_moving = true;
    rec.u.partition_change.moving.adding_count = 1;
    rec.u.partition_change.moving.adding[0] = 4;
    assert_int_equal(rn_md_batch_add(&b, &rec), RN_OK);
    assert_int_equal(b.buf.ptr[5], 1);
    assert_int_equal(rn_md_record_decode(b.buf.ptr + 4, b.buf.len - 4, &back), RN_OK);
    assert_true(back.u.partition_change.sets_moving);
    assert_int_equal(back.u.partition_change.moving.adding_count, 1);
    assert_int_equal(back.u.partition_change.moving.adding[0], 4);
    assert_int_equal(back.u.partition_change.moving.removing_count, 0);
    rn_md_batch_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_move_waits_for_the_new_replica, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder_and_shrink_complete_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_waits_for_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_target_starts_from_the_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_goes_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lists_survive_encoding, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
