/*
 * test_isr_submit.c: what a leader's ISR changes look like on the wire
 * (cluster/isr_submit.h): the AlterPartition v3 it forwards (read back
 * with the generated decoder: changes of one topic side by side share its
 * entry, the members' broker epochs kept), and the active controller's
 * answer matched back to the changes by topic id and partition whatever
 * its order, a partition named twice taken in order, a refused partition
 * without state, a change the answer is silent on, a top-level error and
 * an undecodable answer given to every change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/log.h"
#include "proto/gen/alter_partition_request.h"
#include "proto/gen/alter_partition_response.h"
#include "cluster/isr_submit.h"

#include <string.h>

#define CHANGES 4

typedef struct fx {
    rn_ctl_isr_change_t changes[CHANGES];
    rn_ctl_isr_result_t results[CHANGES];
    rn_ctl_isr_request_t req;
    rn_arena_t arena;
} fx_t;

static fx_t fx;

static rn_uuid_t topic_of(uint8_t b) {
    rn_uuid_t id;
    memset(&id, 0, sizeof id);
    id.bytes[0] = b;
    return id;
}

/* Changes: topic A p0 -> [1,2], topic A p1 -> [2], topic B p0 -> [3,1,2],
   topic A p0 again -> [1]. */
static int setup(void **state) {
    (void)state;
    memset(&fx, 0, sizeof fx);
    const struct {
        uint8_t topic;
        int32_t partition;
        int16_t count;
        int32_t isr[3];
    } spec[CHANGES] = {
        {0xa, 0, 2, {1, 2}}, {0xa, 1, 1, {2}}, {0xb, 0, 3, {3, 1, 2}}, {0xa, 0, 1, {1}}};
    for (int n = 0; n < CHANGES; n++) {
        rn_ctl_isr_change_t *c = &fx.changes[n];
        c->topic_id = topic_of(spec[n].topic);
        c->partition = spec[n].partition;
        c->leader_epoch = 5 + n;
        c->partition_epoch = 10 + n;
        c->isr_count = spec[n].count;
        for (int16_t m = 0; m < c->isr_count; m++) {
            c->isr[m] = spec[n].isr[m];
            c->isr_broker_epochs[m] = m == 0 ? -1 : 100 + c->isr[m];
        }
    }
    fx.req = (rn_ctl_isr_request_t){7, 42, CHANGES, fx.changes};
    rn_arena_init(&fx.arena, 1 << 20);
    memset(fx.results, 0xab, sizeof fx.results);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    rn_arena_free(&fx.arena);
    return 0;
}

static void test_request_encoding(void **state) {
    (void)state;
    rn_buf_t raw;
    rn_buf_init(&raw, 1 << 20);
    assert_int_equal(rn_isr_submit_encode(&fx.req, &raw), RN_OK);
    rn_reader_t r;
    rn_reader_init(&r, raw.ptr, raw.len);
    rn_alter_partition_request_t in;
    assert_int_equal(rn_alter_partition_request_decode(&r, &fx.arena, 3, &in), RN_OK);
    assert_int_equal(r.pos, raw.len);
    assert_int_equal(in.broker_id, 7);
    assert_int_equal(in.broker_epoch, 42);
    assert_int_equal(in.topics.count, 3); /* A (p0, p1), B, A (p0 again) */
    const int32_t per_topic[3] = {2, 1, 1};
    int n = 0;
    for (int32_t t = 0; t < in.topics.count; t++) {
        const rn_alter_partition_request_topic_data_t *topic = &in.topics.items[t];
        assert_int_equal(topic->partitions.count, per_topic[t]);
        for (int32_t p = 0; p < topic->partitions.count; p++, n++) {
            const rn_ctl_isr_change_t *c = &fx.changes[n];
            const rn_alter_partition_request_partition_data_t *pd = &topic->partitions.items[p];
            assert_memory_equal(topic->topic_id.bytes, c->topic_id.bytes, 16);
            assert_int_equal(pd->partition_index, c->partition);
            assert_int_equal(pd->leader_epoch, c->leader_epoch);
            assert_int_equal(pd->partition_epoch, c->partition_epoch);
            assert_int_equal(pd->leader_recovery_state, 0);
            assert_int_equal(pd->new_isr_with_epochs.count, c->isr_count);
            for (int16_t m = 0; m < c->isr_count; m++) {
                assert_int_equal(pd->new_isr_with_epochs.items[m].broker_id, c->isr[m]);
                assert_int_equal(pd->new_isr_with_epochs.items[m].broker_epoch,
                                 c->isr_broker_epochs[m]);
            }
        }
    }
    assert_int_equal(n, CHANGES);
    rn_buf_free(&raw);
}

/* An answer partition for change n: NONE with its ISR and epochs + 1, or
   code alone (Kafka leaves the rest at zero). */
static void answer_part(int n, int16_t code, rn_alter_partition_response_partition_data_t *out) {
    const rn_ctl_isr_change_t *c = &fx.changes[n];
    rn_alter_partition_response_partition_data_init(out);
    out->partition_index = c->partition;
    out->error_code = code;
    if (code != RN_KERR_NONE) return;
    out->leader_id = c->isr[0];
    out->leader_epoch = c->leader_epoch;
    out->partition_epoch = c->partition_epoch + 1;
    out->isr.items = (int32_t *)c->isr;
    out->isr.count = c->isr_count;
}

/* Encodes resp and decodes it into fx.results. */
static void decode(const rn_alter_partition_response_t *resp) {
    rn_buf_t raw;
    rn_buf_init(&raw, 1 << 20);
    rn_writer_t w;
    rn_writer_init(&w, &raw);
    rn_alter_partition_response_encode(&w, 3, resp);
    assert_int_equal(w.err, RN_OK);
    rn_isr_submit_decode(raw.ptr, raw.len, &fx.req, fx.results);
    rn_buf_free(&raw);
}

static void assert_accepted(int n) {
    const rn_ctl_isr_result_t *res = &fx.results[n];
    const rn_ctl_isr_change_t *c = &fx.changes[n];
    assert_int_equal(res->error_code, RN_KERR_NONE);
    assert_int_equal(res->leader, c->isr[0]);
    assert_int_equal(res->leader_epoch, c->leader_epoch);
    assert_int_equal(res->partition_epoch, c->partition_epoch + 1);
    assert_int_equal(res->isr_count, c->isr_count);
    assert_memory_equal(res->isr, c->isr, (size_t)c->isr_count * sizeof(int32_t));
}

static void assert_refused(int n, int16_t code) {
    const rn_ctl_isr_result_t *res = &fx.results[n];
    assert_int_equal(res->error_code, code);
    assert_int_equal(res->leader, -1);
    assert_int_equal(res->leader_epoch, -1);
    assert_int_equal(res->partition_epoch, -1);
    assert_int_equal(res->isr_count, 0);
}

/* The answer in another order than the request: B first, then A with
   the partitions of changes 0 and 1 swapped, then A p0 again (refused):
   flattened B p0, A p1, A p0, A p0. */
static void test_answer_matched(void **state) {
    (void)state;
    rn_alter_partition_response_partition_data_t a[3], b[1];
    answer_part(1, RN_KERR_NONE, &a[0]);
    answer_part(0, RN_KERR_NONE, &a[1]);
    answer_part(3, RN_KERR_INVALID_UPDATE_VERSION, &a[2]);
    answer_part(2, RN_KERR_INELIGIBLE_REPLICA, &b[0]);
    rn_alter_partition_response_topic_data_t topics[2];
    rn_alter_partition_response_topic_data_init(&topics[0]);
    topics[0].topic_id = topic_of(0xb);
    topics[0].partitions = (rn_alter_partition_response_partition_data_array_t){b, 1};
    rn_alter_partition_response_topic_data_init(&topics[1]);
    topics[1].topic_id = topic_of(0xa);
    topics[1].partitions = (rn_alter_partition_response_partition_data_array_t){a, 3};
    rn_alter_partition_response_t resp;
    rn_alter_partition_response_init(&resp);
    resp.topics = (rn_alter_partition_response_topic_data_array_t){topics, 2};
    decode(&resp);
    assert_accepted(0);
    assert_accepted(1);
    assert_refused(2, RN_KERR_INELIGIBLE_REPLICA);
    /* A p0 again: the answer at its own place names it, so that one */
    assert_refused(3, RN_KERR_INVALID_UPDATE_VERSION);
}

/* In the request's order, a partition named twice gets its own answer. */
static void test_answer_in_order(void **state) {
    (void)state;
    rn_alter_partition_response_partition_data_t a1[2], b[1], a2[1];
    answer_part(0, RN_KERR_NONE, &a1[0]);
    answer_part(1, RN_KERR_FENCED_LEADER_EPOCH, &a1[1]);
    answer_part(2, RN_KERR_NONE, &b[0]);
    answer_part(3, RN_KERR_INVALID_REQUEST, &a2[0]);
    rn_alter_partition_response_topic_data_t topics[3];
    const uint8_t ids[3] = {0xa, 0xb, 0xa};
    rn_alter_partition_response_partition_data_t *parts[3] = {a1, b, a2};
    const int32_t counts[3] = {2, 1, 1};
    for (int t = 0; t < 3; t++) {
        rn_alter_partition_response_topic_data_init(&topics[t]);
        topics[t].topic_id = topic_of(ids[t]);
        topics[t].partitions =
            (rn_alter_partition_response_partition_data_array_t){parts[t], counts[t]};
    }
    rn_alter_partition_response_t resp;
    rn_alter_partition_response_init(&resp);
    resp.topics = (rn_alter_partition_response_topic_data_array_t){topics, 3};
    decode(&resp);
    assert_accepted(0);
    assert_refused(1, RN_KERR_FENCED_LEADER_EPOCH);
    assert_accepted(2);
    assert_refused(3, RN_KERR_INVALID_REQUEST);
}

/* A change the answer does not name: NOT_CONTROLLER, worth a retry. */
static void test_answer_silent(void **state) {
    (void)state;
    rn_alter_partition_response_partition_data_t a[1];
    answer_part(1, RN_KERR_NONE, &a[0]);
    rn_alter_partition_response_topic_data_t topic;
    rn_alter_partition_response_topic_data_init(&topic);
    topic.topic_id = topic_of(0xa);
    topic.partitions = (rn_alter_partition_response_partition_data_array_t){a, 1};
    rn_alter_partition_response_t resp;
    rn_alter_partition_response_init(&resp);
    resp.topics = (rn_alter_partition_response_topic_data_array_t){&topic, 1};
    decode(&resp);
    assert_refused(0, RN_KERR_NOT_CONTROLLER);
    assert_accepted(1);
    assert_refused(2, RN_KERR_NOT_CONTROLLER);
    assert_refused(3, RN_KERR_NOT_CONTROLLER);
}

static void test_request_wide_errors(void **state) {
    (void)state;
    rn_alter_partition_response_t resp;
    rn_alter_partition_response_init(&resp);
    resp.error_code = RN_KERR_STALE_BROKER_EPOCH;
    decode(&resp);
    for (int n = 0; n < CHANGES; n++) assert_refused(n, RN_KERR_STALE_BROKER_EPOCH);

    const uint8_t junk[] = {0, 0, 0, 0, 0, 0, 0x7f};
    memset(fx.results, 0xab, sizeof fx.results);
    rn_isr_submit_decode(junk, sizeof junk, &fx.req, fx.results);
    for (int n = 0; n < CHANGES; n++) assert_refused(n, RN_KERR_NOT_CONTROLLER);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_request_encoding), T(test_answer_matched),      T(test_answer_in_order),
        T(test_answer_silent),    T(test_request_wide_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
