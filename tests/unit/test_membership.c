/*
 * test_membership.c: the active controller's side of broker registration
 * (cluster/membership.h): while a registration's lease is live, another
 * incarnation of the same broker id is answered DUPLICATE_BROKER_REGISTRATION
 * at once, unless it names that registration's epoch as its previous one
 * (the same data folder: the node restarting), it is fenced, or it is this
 * node's own id; the replacing registration gets a new epoch. A broker
 * whose connections to the controller all closed and none came back is
 * fenced RN_MBR_GONE_FENCE_MS later, long before its lease runs out; one
 * that reconnects or heartbeats in time is not, nor is a broker never
 * connected here, a fenced one, or this node's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/md_commit.h"

#include "cluster/membership.h"

#include <stdlib.h>
#include <string.h>

#define SESSION_MS 9000
#define SELF_ID 1

static rn_topic_config_base_t base;

typedef struct fx {
    rn_image_t *img;
    rn_mbr_t mbr;
    rn_md_batch_t batch;
} fx_t;

static const rn_md_endpoint_t endpoint = {{"PLAINTEXT", 9}, {"localhost", 9}, 9092, 0};

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->img = rn_image_empty(&base);
    rn_mbr_init(&fx->mbr, SELF_ID, SESSION_MS);
    rn_mbr_lead(&fx->mbr, fx->img, 1, 0);
    rn_md_batch_init(&fx->batch);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rn_image_release(fx->img);
    rn_md_batch_free(&fx->batch);
    free(fx);
    return 0;
}

static void commit(fx_t *fx) { mc_commit(&fx->img, &fx->batch); }

/* Plans a registration of id by incarnation (one byte of it) naming
   previous_epoch at now_ms; commits what it planned. Returns the code and
   the epoch given (-1 when refused). */
static int16_t reg(fx_t *fx, int32_t id, uint8_t incarnation, int64_t previous_epoch,
                   int64_t now_ms, int64_t *epoch) {
    rn_mbr_register_t r = {{id, {{incarnation}}, &endpoint, 1, rn_str_null(), {{0}}},
                           previous_epoch};
    rn_mbr_result_t res;
    rn_mbr_plan_register(&fx->mbr, fx->img, &r, now_ms, &fx->batch, &res);
    *epoch = res.broker_epoch;
    if (res.result.error_code != RN_KERR_NONE) assert_int_equal(fx->batch.count, 0);
    if (fx->batch.count) commit(fx);
    return res.result.error_code;
}

/* Registers id and unfences it (a heartbeat that has caught up): a live
   broker whose lease protects its registration. Returns its epoch. */
static int64_t join(fx_t *fx, int32_t id, uint8_t incarnation, int64_t now_ms) {
    int64_t epoch = -1;
    assert_int_equal(reg(fx, id, incarnation, -1, now_ms, &epoch), RN_KERR_NONE);
    rn_mbr_heartbeat_t hb = {id, epoch, (int64_t)rn_image_next_offset(fx->img), false};
    rn_mbr_result_t res;
    rn_mbr_plan_heartbeat(&fx->mbr, fx->img, &hb, now_ms, &fx->batch, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    commit(fx);
    assert_false(rn_image_broker(fx->img, id)->fenced);
    return epoch;
}

static void test_other_incarnation_refused_at_once(void **state) {
    fx_t *fx = *state;
    int64_t first = join(fx, 2, 0xa, 0), epoch = -1;
    /* No previous registration named, or another epoch than the live one:
       another process, answered at once. */
    assert_int_equal(reg(fx, 2, 0xb, -1, 1000, &epoch), RN_KERR_DUPLICATE_BROKER_REGISTRATION);
    assert_int_equal(epoch, -1);
    assert_int_equal(reg(fx, 2, 0xb, first + 7, 1000, &epoch),
                     RN_KERR_DUPLICATE_BROKER_REGISTRATION);
    assert_int_equal(rn_image_broker(fx->img, 2)->incarnation_id.bytes[0], 0xa);
    /* Once the lease has run out, the other incarnation takes the id. */
    assert_int_equal(reg(fx, 2, 0xb, -1, SESSION_MS + 1, &epoch), RN_KERR_NONE);
    assert_true(epoch > first);
}

static void test_same_folder_replaces_at_once(void **state) {
    fx_t *fx = *state;
    int64_t first = join(fx, 2, 0xa, 0), epoch = -1;
    /* The folder that made the live registration names its epoch: the node
       restarted (after SIGKILL, lease live) and registers again at once. */
    assert_int_equal(reg(fx, 2, 0xb, first, 1000, &epoch), RN_KERR_NONE);
    assert_true(epoch > first);
    const rn_image_broker_t *b = rn_image_broker(fx->img, 2);
    assert_int_equal(b->incarnation_id.bytes[0], 0xb);
    assert_int_equal(b->epoch, epoch);
    assert_true(b->fenced);
    /* Once that one is live, the old process's epoch names nothing. */
    rn_mbr_heartbeat_t hb = {2, epoch, (int64_t)rn_image_next_offset(fx->img), false};
    rn_mbr_result_t res;
    rn_mbr_plan_heartbeat(&fx->mbr, fx->img, &hb, 1500, &fx->batch, &res);
    commit(fx);
    int64_t again = -1;
    assert_int_equal(reg(fx, 2, 0xc, first, 2000, &again), RN_KERR_DUPLICATE_BROKER_REGISTRATION);
}

static void test_own_id_and_fenced_replaced(void **state) {
    fx_t *fx = *state;
    int64_t first = join(fx, SELF_ID, 0xa, 0), epoch = -1;
    assert_int_equal(reg(fx, SELF_ID, 0xb, -1, 1000, &epoch), RN_KERR_NONE);
    assert_true(epoch > first);
    /* Broker 3 registers (fenced until it heartbeats caught up): another
       incarnation replaces a fenced registration at once. */
    assert_int_equal(reg(fx, 3, 0xa, -1, 0, &first), RN_KERR_NONE);
    assert_true(rn_image_broker(fx->img, 3)->fenced);
    assert_int_equal(reg(fx, 3, 0xb, -1, 1000, &epoch), RN_KERR_NONE);
}

static int32_t expired(fx_t *fx, int64_t now_ms, bool *gone) {
    return rn_mbr_expired(&fx->mbr, fx->img, now_ms, gone);
}

static void test_gone_fenced_before_the_session(void **state) {
    fx_t *fx = *state;
    join(fx, 2, 0xa, 0);
    join(fx, 3, 0xa, 0);
    bool gone = true;
    /* Broker 3 never connected here: only its lease judges it. */
    rn_mbr_link_down(&fx->mbr, 3, 100);
    /* Broker 2 has two connections; one closes: still there. */
    rn_mbr_link_up(&fx->mbr, 2);
    rn_mbr_link_up(&fx->mbr, 2);
    rn_mbr_link_down(&fx->mbr, 2, 100);
    assert_int_equal(expired(fx, 100 + RN_MBR_GONE_FENCE_MS * 10, &gone), -1);
    assert_false(gone);
    /* The other closes too: gone, fenced the grace later, not before. */
    int64_t closed = 200;
    rn_mbr_link_down(&fx->mbr, 2, closed);
    assert_int_equal(expired(fx, closed + RN_MBR_GONE_FENCE_MS - 1, &gone), -1);
    assert_int_equal(expired(fx, closed + RN_MBR_GONE_FENCE_MS, &gone), 2);
    assert_true(gone);
    assert_true(closed + RN_MBR_GONE_FENCE_MS < SESSION_MS);
    /* Once fenced, it is nobody's business: nothing more to fence (broker
       3's lease, last touched at 0, runs out at the session). */
    assert_int_equal(rn_mbr_plan_fence(fx->img, 2, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(expired(fx, closed + RN_MBR_GONE_FENCE_MS * 2, &gone), -1);
    assert_int_equal(expired(fx, SESSION_MS, &gone), 3);
    assert_false(gone);
}

static void test_back_in_time_not_fenced(void **state) {
    fx_t *fx = *state;
    int64_t epoch = join(fx, 2, 0xa, 0);
    bool gone = true;
    /* A new connection within the grace: not gone. */
    rn_mbr_link_up(&fx->mbr, 2);
    rn_mbr_link_down(&fx->mbr, 2, 100);
    rn_mbr_link_up(&fx->mbr, 2);
    assert_int_equal(expired(fx, 100 + RN_MBR_GONE_FENCE_MS * 4, &gone), -1);
    /* A heartbeat within the grace (it came another way): not gone. */
    rn_mbr_link_down(&fx->mbr, 2, 3000);
    rn_mbr_heartbeat_t hb = {2, epoch, (int64_t)rn_image_next_offset(fx->img), false};
    rn_mbr_result_t res;
    rn_mbr_plan_heartbeat(&fx->mbr, fx->img, &hb, 3100, &fx->batch, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    assert_int_equal(expired(fx, 3000 + RN_MBR_GONE_FENCE_MS * 4, &gone), -1);
    assert_false(gone);
}

static void test_gone_kept_across_terms_own_never(void **state) {
    fx_t *fx = *state;
    join(fx, SELF_ID, 0xa, 0);
    join(fx, 2, 0xa, 0);
    bool gone = true;
    /* This node's own broker is never fenced for its links. */
    rn_mbr_link_up(&fx->mbr, SELF_ID);
    rn_mbr_link_down(&fx->mbr, SELF_ID, 10);
    /* Broker 2 (the leader this node follows) dies while this node is no
       controller; this node becomes the active controller later, with
       fresh leases for all: broker 2 is still known gone, fenced then. */
    rn_mbr_link_up(&fx->mbr, 2);
    rn_mbr_link_down(&fx->mbr, 2, 20);
    rn_mbr_lead(&fx->mbr, fx->img, 2, 2000);
    assert_int_equal(expired(fx, 2000, &gone), 2);
    assert_true(gone);
}

int main(void) {
    rn_topic_config_base_init(&base);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_incarnation_refused_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_folder_replaces_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_id_and_fenced_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_fenced_before_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_back_in_time_not_fenced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gone_kept_across_terms_own_never, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
