/*
 * test_md_isr.c: the controller's AlterPartition decisions on pure images:
 * a shrink (below min.insync.replicas too) and an expand accepted and
 * applied (the partition epoch bumps, the leader and its epoch stay), an
 * unchanged ISR answered without a record, and every refusal with Kafka's
 * code and in Kafka's order: a stale or unknown sender, an unknown topic id
 * or partition, epochs newer than the controller's, an older leader epoch,
 * a sender that does not lead, an older partition epoch, a malformed ISR,
 * a recovering leader, and members that are fenced, shutting down,
 * unregistered or of another broker epoch; a partition named twice is
 * decided twice, as Kafka does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/md_commit.h"

#include "base/log.h"
#include "metadata/controller.h"

#include <stdlib.h>
#include <string.h>

#define SESSION_MS 9000
#define CHANGES_MAX 4

typedef struct fx {
    mc_ctl_t ctl;
    int64_t epochs[8]; /* broker epoch by id */
    rn_uuid_t topic;   /* "t": p0 on [1,2,3], p1 on [2,3,1], p2 on [1,2,5] */
    rn_ctl_isr_change_t changes[CHANGES_MAX];
    rn_ctl_isr_result_t results[CHANGES_MAX];
} fx_t;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static void commit(fx_t *fx) { mc_ctl_commit(&fx->ctl); }

/* Registers broker id; unfenced unless asked not to be. */
static void join(fx_t *fx, int32_t id, bool unfence) {
    fx->epochs[id] = mc_ctl_join(&fx->ctl, id, (uint8_t)id, 0, SESSION_MS, unfence);
}

static void add_partition(fx_t *fx, int32_t index, const int32_t *replicas) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rec.u.partition.topic_id = fx->topic;
    rec.u.partition.partition = index;
    rec.u.partition.leader = replicas[0];
    rec.u.partition.replica_count = rec.u.partition.isr_count = 3;
    memcpy(rec.u.partition.replicas, replicas, 3 * sizeof(int32_t));
    memcpy(rec.u.partition.isr, replicas, 3 * sizeof(int32_t));
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
}

/* Topic "t" with min.insync.replicas=2; broker 5 is a replica of p2 that
   never registered. */
static void add_topic(fx_t *fx) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.name = S("t");
    rec.u.topic.topic_id.bytes[0] = 0x7e;
    fx->topic = rec.u.topic.topic_id;
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
    add_partition(fx, 0, (const int32_t[]){1, 2, 3});
    add_partition(fx, 1, (const int32_t[]){2, 3, 1});
    add_partition(fx, 2, (const int32_t[]){1, 2, 5});
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_CONFIG;
    rec.u.config.resource_type = RN_MD_RESOURCE_TOPIC;
    rec.u.config.resource_name = S("t");
    rec.u.config.key = S("min.insync.replicas");
    rec.u.config.value = S("2");
    assert_int_equal(rn_md_batch_add(&fx->ctl.batch, &rec), RN_OK);
    commit(fx);
}

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    mc_ctl_init(&fx->ctl);
    for (int32_t id = 1; id <= 4; id++) join(fx, id, true);
    add_topic(fx);
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

/* Change n: partition index of "t" to isr (count ids, broker epochs unknown),
   with the partition's current epochs. */
static rn_ctl_isr_change_t *set_change(fx_t *fx, int n, int32_t index, int16_t count,
                                       const int32_t *isr) {
    rn_ctl_isr_change_t *c = &fx->changes[n];
    memset(c, 0, sizeof(*c));
    c->topic_id = fx->topic;
    c->partition = index;
    if (index >= 0 && index < 3) {
        c->leader_epoch = part(fx, index)->leader_epoch;
        c->partition_epoch = part(fx, index)->partition_epoch;
    }
    c->isr_count = count;
    for (int16_t i = 0; i < count; i++) {
        c->isr[i] = isr[i];
        c->isr_broker_epochs[i] = -1;
    }
    return c;
}

/* Plans the first count changes as broker sender with its epoch. */
static rn_err_t plan_as(fx_t *fx, int32_t sender, int64_t sender_epoch, int32_t count) {
    rn_ctl_isr_request_t req = {sender, sender_epoch, count, fx->changes};
    memset(fx->results, 0xab, sizeof(fx->results));
    return rn_ctl_plan_alter_partition(fx->ctl.img, &req, fx->results, &fx->ctl.batch);
}

/* One change by the partition's leader: its code; nothing is recorded for
   a refused change. */
static int16_t plan_one(fx_t *fx, int32_t sender) {
    uint32_t before = fx->ctl.batch.count;
    assert_int_equal(plan_as(fx, sender, fx->epochs[sender], 1), RN_OK);
    if (fx->results[0].error_code != RN_KERR_NONE) assert_int_equal(fx->ctl.batch.count, before);
    return fx->results[0].error_code;
}

static void assert_isr(const int32_t *isr, int16_t isr_count, int16_t count, const int32_t *ids) {
    assert_int_equal(isr_count, count);
    assert_memory_equal(isr, ids, (size_t)count * sizeof(int32_t));
}

/* The result says the partition as the image has it. */
static void assert_result_is(const rn_ctl_isr_result_t *res, const rn_image_partition_t *pt) {
    assert_int_equal(res->leader, pt->leader);
    assert_int_equal(res->leader_epoch, pt->leader_epoch);
    assert_int_equal(res->partition_epoch, pt->partition_epoch);
    assert_isr(res->isr, res->isr_count, pt->isr_count, pt->isr);
}

static void test_shrink_and_expand(void **state) {
    fx_t *fx = *state;
    /* below min.insync.replicas (2): accepted all the same, as Kafka */
    set_change(fx, 0, 0, 1, (const int32_t[]){1});
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    assert_int_equal(fx->ctl.batch.count, 1);
    const rn_ctl_isr_result_t *res = &fx->results[0];
    assert_int_equal(res->leader, 1);
    assert_int_equal(res->leader_epoch, 0);
    assert_int_equal(res->partition_epoch, 1);
    assert_isr(res->isr, res->isr_count, 1, (const int32_t[]){1});
    commit(fx);
    const rn_image_partition_t *pt = part(fx, 0);
    assert_int_equal(pt->leader, 1);
    assert_int_equal(pt->leader_epoch, 0); /* the leader did not change */
    assert_int_equal(pt->partition_epoch, 1);
    assert_isr(pt->isr, pt->isr_count, 1, (const int32_t[]){1});
    assert_int_equal(pt->replica_count, 3); /* replicas untouched */

    /* back to three, broker epochs named and right */
    rn_ctl_isr_change_t *c = set_change(fx, 0, 0, 3, (const int32_t[]){1, 3, 2});
    for (int16_t i = 0; i < 3; i++) c->isr_broker_epochs[i] = fx->epochs[c->isr[i]];
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    assert_int_equal(fx->results[0].partition_epoch, 2);
    commit(fx);
    pt = part(fx, 0);
    assert_int_equal(pt->leader_epoch, 0);
    assert_int_equal(pt->partition_epoch, 2);
    assert_isr(pt->isr, pt->isr_count, 3, (const int32_t[]){1, 3, 2});
    assert_result_is(&fx->results[0], pt);
}

static void test_unchanged_isr_answers_current_state(void **state) {
    fx_t *fx = *state;
    set_change(fx, 0, 1, 3, (const int32_t[]){2, 3, 1});
    assert_int_equal(plan_one(fx, 2), RN_KERR_NONE);
    assert_int_equal(fx->ctl.batch.count, 0); /* nothing to record */
    assert_result_is(&fx->results[0], part(fx, 1));
    assert_int_equal(fx->results[0].partition_epoch, 0);
}

static void test_stale_sender(void **state) {
    fx_t *fx = *state;
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 2});
    set_change(fx, 1, 1, 2, (const int32_t[]){2, 3});
    assert_int_equal(plan_as(fx, 1, fx->epochs[1] + 1, 2), RN_ERR_STALE);
    assert_int_equal(fx->results[0].error_code, RN_KERR_STALE_BROKER_EPOCH);
    assert_int_equal(fx->results[1].error_code, RN_KERR_STALE_BROKER_EPOCH);
    assert_int_equal(plan_as(fx, 9, 0, 2), RN_ERR_STALE); /* never registered */
    assert_int_equal(fx->results[1].error_code, RN_KERR_STALE_BROKER_EPOCH);
    assert_int_equal(fx->ctl.batch.count, 0);
}

static void test_unknown_partitions(void **state) {
    fx_t *fx = *state;
    rn_ctl_isr_change_t *c = set_change(fx, 0, 0, 2, (const int32_t[]){1, 2});
    c->topic_id.bytes[1] = 1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(fx->results[0].leader, -1);
    assert_int_equal(fx->results[0].isr_count, 0);
    set_change(fx, 0, 3, 2, (const int32_t[]){1, 2});
    assert_int_equal(plan_one(fx, 1), RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    set_change(fx, 0, -1, 2, (const int32_t[]){1, 2});
    assert_int_equal(plan_one(fx, 1), RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
}

static void test_epochs_and_leader(void **state) {
    fx_t *fx = *state;
    /* a partition epoch of 1 first, so an older one can be sent */
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 2});
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    commit(fx);

    rn_ctl_isr_change_t *c = set_change(fx, 0, 0, 1, (const int32_t[]){1});
    c->leader_epoch = -1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_FENCED_LEADER_EPOCH);
    assert_result_is(&fx->results[0], part(fx, 0));                 /* the current state */
    assert_int_equal(plan_one(fx, 2), RN_KERR_FENCED_LEADER_EPOCH); /* before the leader check */
    c->leader_epoch = 1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_NOT_CONTROLLER); /* newer than the image's */

    c = set_change(fx, 0, 0, 1, (const int32_t[]){1});
    assert_int_equal(plan_one(fx, 2), RN_KERR_INVALID_REQUEST); /* 2 does not lead it */
    c->partition_epoch = 0;
    assert_int_equal(plan_one(fx, 2), RN_KERR_INVALID_REQUEST); /* before the version check */
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_UPDATE_VERSION);
    assert_result_is(&fx->results[0], part(fx, 0));
    c->partition_epoch = 2;
    assert_int_equal(plan_one(fx, 1), RN_KERR_NOT_CONTROLLER);
    assert_int_equal(part(fx, 0)->partition_epoch, 1);
}

static void test_malformed_isr(void **state) {
    fx_t *fx = *state;
    set_change(fx, 0, 0, 0, NULL);
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST); /* empty */
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 1});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST); /* duplicates */
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 4});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST); /* 4 is no replica */
    set_change(fx, 0, 0, 2, (const int32_t[]){2, 3});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST); /* without the leader */
    rn_ctl_isr_change_t *c = set_change(fx, 0, 0, 0, NULL);
    c->isr_count = RN_CTL_ISR_TOO_LONG;
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST);
    c = set_change(fx, 0, 0, 1, (const int32_t[]){1});
    c->leader_recovery_state = 1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_INVALID_REQUEST);
    c->leader_recovery_state = 0;
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
}

/* Kafka decides each on the image as it was: both records apply, in order. */
static void test_named_twice(void **state) {
    fx_t *fx = *state;
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 2});
    set_change(fx, 1, 2, 2, (const int32_t[]){1, 2});
    set_change(fx, 2, 0, 1, (const int32_t[]){1});
    assert_int_equal(plan_as(fx, 1, fx->epochs[1], 3), RN_OK);
    for (int n = 0; n < 3; n++) assert_int_equal(fx->results[n].error_code, RN_KERR_NONE);
    assert_int_equal(fx->ctl.batch.count, 3);
    commit(fx);
    assert_int_equal(part(fx, 0)->partition_epoch, 2);
    assert_isr(part(fx, 0)->isr, part(fx, 0)->isr_count, 1, (const int32_t[]){1});
    assert_isr(part(fx, 2)->isr, part(fx, 2)->isr_count, 2, (const int32_t[]){1, 2});
    rn_ctl_isr_request_t req = {1, fx->epochs[1], 3, fx->changes};
    rn_ctl_isr_results_from(fx->ctl.img, &req, fx->results); /* both say how it ended */
    assert_result_is(&fx->results[0], part(fx, 0));
    assert_result_is(&fx->results[2], part(fx, 0));
}

static void test_ineligible_members(void **state) {
    fx_t *fx = *state;
    /* fenced: the fence took 3 out of every ISR; adding it back is refused */
    assert_int_equal(rn_ctl_plan_fence(fx->ctl.img, 3, &fx->ctl.batch), RN_OK);
    commit(fx);
    assert_isr(part(fx, 0)->isr, part(fx, 0)->isr_count, 2, (const int32_t[]){1, 2});
    set_change(fx, 0, 0, 3, (const int32_t[]){1, 2, 3});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
    assert_result_is(&fx->results[0], part(fx, 0));
    assert_int_equal(rn_ctl_plan_unfence(fx->ctl.img, 3, &fx->ctl.batch), RN_OK);
    commit(fx);
    set_change(fx, 0, 0, 3, (const int32_t[]){1, 2, 3});
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    commit(fx);

    /* another broker epoch than its registration's; -1 is not checked */
    rn_ctl_isr_change_t *c = set_change(fx, 0, 0, 2, (const int32_t[]){1, 3});
    c->isr_broker_epochs[1] = fx->epochs[3] + 1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
    c->isr_broker_epochs[1] = fx->epochs[3];
    c->isr_broker_epochs[0] = fx->epochs[1] + 100; /* every member is checked */
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
    c->isr_broker_epochs[0] = -1;
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    rn_md_batch_reset(&fx->ctl.batch);

    /* not registered: broker 5, a replica of p2, never registered; kept
       (even unchanged) it is refused, dropped it is not checked */
    set_change(fx, 0, 2, 3, (const int32_t[]){1, 2, 5});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
    set_change(fx, 0, 2, 2, (const int32_t[]){1, 5});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
    set_change(fx, 0, 2, 2, (const int32_t[]){1, 2});
    assert_int_equal(plan_one(fx, 1), RN_KERR_NONE);
    rn_md_batch_reset(&fx->ctl.batch);

    /* shutting down: out of every ISR, and not taken back */
    assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->ctl.img, 2, &fx->ctl.batch), RN_OK);
    commit(fx);
    set_change(fx, 0, 0, 3, (const int32_t[]){1, 3, 2});
    assert_int_equal(plan_one(fx, 1), RN_KERR_INELIGIBLE_REPLICA);
}

static void test_results_from_applied_image(void **state) {
    fx_t *fx = *state;
    set_change(fx, 0, 0, 2, (const int32_t[]){1, 3});
    set_change(fx, 1, 2, 1, (const int32_t[]){1});
    set_change(fx, 2, 1, 2, (const int32_t[]){2, 3}); /* 1 does not lead p1 */
    assert_int_equal(plan_as(fx, 1, fx->epochs[1], 3), RN_OK);
    rn_ctl_isr_result_t planned[3];
    memcpy(planned, fx->results, sizeof(planned));
    commit(fx);
    rn_ctl_isr_request_t req = {1, fx->epochs[1], 3, fx->changes};
    memset(fx->results[0].isr, 0, sizeof(fx->results[0].isr));
    rn_ctl_isr_results_from(fx->ctl.img, &req, fx->results);
    assert_result_is(&fx->results[0], part(fx, 0));
    assert_result_is(&fx->results[1], part(fx, 2));
    assert_memory_equal(&fx->results[0], &planned[0], sizeof(planned[0]));
    assert_memory_equal(&fx->results[2], &planned[2], sizeof(planned[2])); /* refused: kept */
    assert_int_equal(fx->results[2].error_code, RN_KERR_INVALID_REQUEST);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_shrink_and_expand),
        T(test_unchanged_isr_answers_current_state),
        T(test_stale_sender),
        T(test_unknown_partitions),
        T(test_epochs_and_leader),
        T(test_malformed_isr),
        T(test_named_twice),
        T(test_ineligible_members),
        T(test_results_from_applied_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
