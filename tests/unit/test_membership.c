/*
 * test_membership.c: the active controller's side of broker registration
 * (cluster/membership.h): while a registration's lease is live, another
 * incarnation of the same broker id is answered DUPLICATE_BROKER_REGISTRATION
 * at once, unless it names that registration's epoch as its previous one
 * (the same data folder: the node restarting), it is fenced, or it is this
 * node's own id; the replacing registration gets a new epoch.
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
    rn_mbr_register_t r = {{id, {{incarnation}}, &endpoint, 1, rn_str_null()}, previous_epoch};
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

int main(void) {
    rn_topic_config_base_init(&base);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_other_incarnation_refused_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_folder_replaces_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_id_and_fenced_replaced, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
