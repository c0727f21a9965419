/*
 * test_md_placement.c: replica placement over registered brokers: leaders
 * spread evenly, one replica per rack while racks remain, fenced and
 * shutting-down brokers get nothing, Kafka's errors for a replication factor
 * above the usable brokers and for assignments naming unregistered brokers,
 * internal topics capped, and the static broker list when none registered
 * (unless brokers register: then nothing until one has).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "helpers/tmp_dir.h"
#include "io/io.h"
#include "metadata/controller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rn_topic_config_base_t base;

typedef struct fixture {
    char dir[256];
    rn_controller_t ctl;
} fixture_t;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof(*fx));
    assert_true(td_make(fx->dir, sizeof(fx->dir), "rn_test_md_placement_"));
    rn_ctl_settings_t set = {.node_id = 0,
                             .num_partitions = 1,
                             .default_replication_factor = 1,
                             .delete_topic_enable = true};
    assert_int_equal(rn_controller_open(&fx->ctl, rn_io_linux(), fx->dir, &base, &set), RN_OK);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    rn_controller_close(&fx->ctl);
    td_remove(fx->dir);
    free(fx);
    return 0;
}

/* Registers broker id (unfenced unless fenced) with an optional rack. */
static void register_broker(fixture_t *fx, int32_t id, const char *rack, bool fenced) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_REGISTER_BROKER;
    rec.u.register_broker.broker_id = id;
    rec.u.register_broker.incarnation_id.bytes[0] = (uint8_t)(id + 1);
    rec.u.register_broker.broker_epoch =
        (int64_t)rn_image_next_offset(rn_controller_image(&fx->ctl));
    rec.u.register_broker.endpoint_count = 1;
    rec.u.register_broker.endpoints[0] =
        (rn_md_endpoint_t){S("PLAINTEXT"), S("localhost"), (uint16_t)(9092 + id), 0};
    rec.u.register_broker.rack = rack ? S(rack) : rn_str_null();
    rec.u.register_broker.fenced = fenced;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    assert_int_equal(rn_controller_commit(&fx->ctl, &batch), RN_OK);
    rn_md_batch_free(&batch);
}

static int16_t create(fixture_t *fx, const char *name, int32_t parts, int16_t rf, char *msg) {
    rn_ctl_new_topic_t t = {S(name), parts, rf, NULL, 0, NULL, 0};
    rn_ctl_topic_result_t res;
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    if (msg) strcpy(msg, res.result.message);
    return res.result.error_code;
}

static const rn_image_topic_t *topic(fixture_t *fx, const char *name) {
    return rn_image_topic(rn_controller_image(&fx->ctl), name, strlen(name));
}

static void assert_partition_sane(const rn_image_partition_t *part) {
    assert_int_equal(part->leader, part->replicas[0]);
    assert_int_equal(part->isr_count, part->replica_count);
    assert_memory_equal(part->isr, part->replicas, (size_t)part->replica_count * 4);
    for (int16_t a = 0; a < part->replica_count; a++)
        for (int16_t b = 0; b < a; b++) assert_int_not_equal(part->replicas[a], part->replicas[b]);
}

static void test_leaders_spread(void **state) {
    fixture_t *fx = *state;
    for (int32_t id = 1; id <= 3; id++) register_broker(fx, id, NULL, false);
    assert_int_equal(create(fx, "spread", 30, 3, NULL), RN_KERR_NONE);
    const rn_image_topic_t *t = topic(fx, "spread");
    int leaders[4] = {0}, replicas[4] = {0};
    for (int32_t p = 0; p < 30; p++) {
        const rn_image_partition_t *part = &t->partitions[p];
        assert_int_equal(part->replica_count, 3);
        assert_partition_sane(part);
        leaders[part->leader]++;
        for (int16_t r = 0; r < 3; r++) replicas[part->replicas[r]]++;
    }
    for (int id = 1; id <= 3; id++) {
        assert_int_equal(leaders[id], 10);
        assert_int_equal(replicas[id], 30);
    }
    /* RF 2 on 3 brokers: followers spread too */
    assert_int_equal(create(fx, "rf2", 30, 2, NULL), RN_KERR_NONE);
    int followers[4] = {0};
    memset(leaders, 0, sizeof(leaders));
    for (int32_t p = 0; p < 30; p++) {
        leaders[topic(fx, "rf2")->partitions[p].leader]++;
        followers[topic(fx, "rf2")->partitions[p].replicas[1]]++;
    }
    for (int id = 1; id <= 3; id++) {
        assert_int_equal(leaders[id], 10);
        assert_int_equal(followers[id], 10);
    }
}

static const char *rack_of(int32_t id) { return id % 3 == 0 ? "a" : id % 3 == 1 ? "b" : "c"; }

static void test_racks(void **state) {
    fixture_t *fx = *state;
    for (int32_t id = 0; id < 6; id++) register_broker(fx, id, rack_of(id), false);
    assert_int_equal(create(fx, "racked", 24, 3, NULL), RN_KERR_NONE);
    int leaders[6] = {0};
    for (int32_t p = 0; p < 24; p++) {
        const rn_image_partition_t *part = &topic(fx, "racked")->partitions[p];
        assert_partition_sane(part);
        bool seen[3] = {false, false, false};
        for (int16_t r = 0; r < 3; r++) {
            int32_t id = part->replicas[r];
            int rack = id % 3;
            assert_false(seen[rack]); /* one replica per rack */
            seen[rack] = true;
        }
        leaders[part->leader]++;
    }
    for (int id = 0; id < 6; id++) assert_int_equal(leaders[id], 4);
    /* RF 4 over 3 racks: every rack used, one rack twice */
    assert_int_equal(create(fx, "rf4", 6, 4, NULL), RN_KERR_NONE);
    for (int32_t p = 0; p < 6; p++) {
        const rn_image_partition_t *part = &topic(fx, "rf4")->partitions[p];
        assert_partition_sane(part);
        int per_rack[3] = {0};
        for (int16_t r = 0; r < 4; r++) per_rack[part->replicas[r] % 3]++;
        for (int rack = 0; rack < 3; rack++) assert_true(per_rack[rack] >= 1);
        for (int16_t r = 0; r < 3; r++) /* the first three replicas span the racks */
            for (int16_t q = 0; q < r; q++)
                assert_int_not_equal(part->replicas[r] % 3, part->replicas[q] % 3);
    }
}

static void test_too_few_brokers(void **state) {
    fixture_t *fx = *state;
    char msg[RN_CTL_MESSAGE_BYTES];
    for (int32_t id = 1; id <= 3; id++) register_broker(fx, id, NULL, false);
    assert_int_equal(create(fx, "four", 1, 4, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Unable to replicate the partition 4 time(s): The target "
                             "replication factor of 4 cannot be reached because only 3 "
                             "broker(s) are registered.");
    assert_null(topic(fx, "four"));
    /* a fenced broker does not count */
    register_broker(fx, 4, NULL, true);
    assert_int_equal(create(fx, "four", 1, 4, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Unable to replicate the partition 4 time(s): The target "
                             "replication factor of 4 cannot be reached because only 3 "
                             "broker(s) are registered.");
    /* CreatePartitions of an RF 3 topic once only two brokers are usable */
    assert_int_equal(create(fx, "three", 1, 3, NULL), RN_KERR_NONE);
    register_broker(fx, 3, NULL, true);
    rn_ctl_new_partitions_t np = {S("three"), 2, NULL, 0};
    rn_ctl_result_t res;
    rn_controller_create_partitions(&fx->ctl, &np, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(res.message, "Unable to replicate the partition 3 time(s): The target "
                                     "replication factor of 3 cannot be reached because only 2 "
                                     "broker(s) are registered.");
    /* internal topics are capped instead */
    assert_int_equal(create(fx, "__consumer_offsets", 4, 3, NULL), RN_KERR_NONE);
    assert_int_equal(topic(fx, "__consumer_offsets")->partitions[0].replica_count, 2);
    /* every broker fenced */
    register_broker(fx, 1, NULL, true);
    register_broker(fx, 2, NULL, true);
    assert_int_equal(create(fx, "none", 1, 1, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Unable to replicate the partition 1 time(s): All brokers are "
                             "currently fenced.");
}

static void test_fenced_get_nothing(void **state) {
    fixture_t *fx = *state;
    for (int32_t id = 1; id <= 5; id++) register_broker(fx, id, NULL, id == 2);
    /* broker 4 shutting down */
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_BROKER_CHANGE;
    rec.u.broker_change.broker_id = 4;
    rec.u.broker_change.broker_epoch = rn_image_broker(rn_controller_image(&fx->ctl), 4)->epoch;
    rec.u.broker_change.fenced = RN_MD_FLAG_NO_CHANGE;
    rec.u.broker_change.in_controlled_shutdown = 1;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    assert_int_equal(rn_controller_commit(&fx->ctl, &batch), RN_OK);
    rn_md_batch_free(&batch);
    assert_int_equal(create(fx, "t", 30, 3, NULL), RN_KERR_NONE);
    rn_ctl_new_partitions_t np = {S("t"), 40, NULL, 0};
    rn_ctl_result_t res;
    rn_controller_create_partitions(&fx->ctl, &np, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_NONE);
    int leaders[6] = {0};
    for (int32_t p = 0; p < 40; p++) {
        const rn_image_partition_t *part = &topic(fx, "t")->partitions[p];
        assert_partition_sane(part);
        for (int16_t r = 0; r < part->replica_count; r++) {
            assert_int_not_equal(part->replicas[r], 2);
            assert_int_not_equal(part->replicas[r], 4);
        }
        leaders[part->leader]++;
    }
    assert_int_equal(leaders[1] + leaders[3] + leaders[5], 40);
    assert_true(leaders[1] >= 13 && leaders[3] >= 13 && leaders[5] >= 13);
}

static void test_assignments_need_registered(void **state) {
    fixture_t *fx = *state;
    register_broker(fx, 1, NULL, false);
    register_broker(fx, 2, NULL, true);
    const int32_t ok_ids[] = {1, 2}, bad_ids[] = {1, 0};
    rn_ctl_assignment_t ok = {0, ok_ids, 2}, bad = {0, bad_ids, 2};
    rn_ctl_new_topic_t t = {S("manual"), -1, -1, &bad, 1, NULL, 0};
    rn_ctl_topic_result_t res;
    /* 0 is this node's id, but no broker 0 is registered */
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    assert_int_equal(res.result.error_code, RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    assert_string_equal(res.result.message, "The manual partition assignment includes broker 0, "
                                            "but no such broker is registered.");
    t.assignments = &ok;
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    assert_int_equal(topic(fx, "manual")->partitions[0].replicas[1], 2);
}

/* No registration at all: the static broker list (a single node). */
static void test_static_brokers(void **state) {
    fixture_t *fx = *state;
    char msg[RN_CTL_MESSAGE_BYTES];
    assert_int_equal(create(fx, "solo", 3, 1, NULL), RN_KERR_NONE);
    for (int32_t p = 0; p < 3; p++) assert_int_equal(topic(fx, "solo")->partitions[p].leader, 0);
    assert_int_equal(create(fx, "two", 1, 2, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Unable to replicate the partition 2 time(s): The target "
                             "replication factor of 2 cannot be reached because only 1 "
                             "broker(s) are registered.");
}

/* Brokers register with this controller: before any has, nothing may get a
   replica (the controller's own id is not a registered broker). */
static void test_registering_brokers_none_yet(void **state) {
    fixture_t *fx = *state;
    fx->ctl.brokers_register = true;
    char msg[RN_CTL_MESSAGE_BYTES];
    assert_int_equal(create(fx, "early", 1, 1, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    assert_string_equal(msg, "Unable to replicate the partition 1 time(s): The target "
                             "replication factor of 1 cannot be reached because only 0 "
                             "broker(s) are registered.");
    const int32_t ids[] = {0};
    rn_ctl_assignment_t a = {0, ids, 1};
    rn_ctl_new_topic_t t = {S("manual"), -1, -1, &a, 1, NULL, 0};
    rn_ctl_topic_result_t res;
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    assert_int_equal(res.result.error_code, RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    register_broker(fx, 1, NULL, false);
    assert_int_equal(create(fx, "later", 1, 1, NULL), RN_KERR_NONE);
    assert_int_equal(topic(fx, "later")->partitions[0].leader, 1);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_topic_config_base_init(&base);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_leaders_spread),
        T(test_racks),
        T(test_too_few_brokers),
        T(test_fenced_get_nothing),
        T(test_assignments_need_registered),
        T(test_static_brokers),
        T(test_registering_brokers_none_yet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
