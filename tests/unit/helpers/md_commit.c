/*
 * md_commit.c: see md_commit.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "md_commit.h"

void mc_commit(rn_image_t **img, rn_md_batch_t *batch) {
    rn_image_builder_t b;
    assert_int_equal(rn_image_builder_init(&b, *img), RN_OK);
    assert_int_equal(rn_image_builder_apply_batch(&b, rn_image_next_offset(*img), batch), RN_OK);
    rn_image_t *next = rn_image_builder_finish(&b);
    assert_non_null(next);
    rn_image_release(*img);
    *img = next;
    rn_md_batch_reset(batch);
}

const rn_md_endpoint_t mc_endpoint = {{"PLAINTEXT", 9}, {"localhost", 9}, 9092, 0};

/* The default topic settings, set up once for every image made here. */
static const rn_topic_config_base_t *mc_base(void) {
    static rn_topic_config_base_t base;
    static bool ready;
    if (!ready) {
        rn_topic_config_base_init(&base);
        ready = true;
    }
    return &base;
}

void mc_ctl_init(mc_ctl_t *c) {
    c->img = rn_image_empty(mc_base());
    rn_ctl_leases_init(&c->leases, c->img, 0);
    rn_md_batch_init(&c->batch);
}

void mc_ctl_reset(mc_ctl_t *c) {
    rn_image_release(c->img);
    c->img = rn_image_empty(mc_base());
    rn_ctl_leases_init(&c->leases, c->img, 0);
    rn_md_batch_reset(&c->batch);
}

void mc_ctl_free(mc_ctl_t *c) {
    rn_image_release(c->img);
    rn_md_batch_free(&c->batch);
}

void mc_ctl_commit(mc_ctl_t *c) { mc_commit(&c->img, &c->batch); }

int64_t mc_ctl_join(mc_ctl_t *c, int32_t id, uint8_t incarnation, int64_t now_ms,
                    int64_t session_ms, bool unfence) {
    rn_ctl_broker_reg_t reg = {id, {{incarnation}}, &mc_endpoint, 1, rn_str_null(), {{0}}};
    rn_ctl_result_t res;
    int64_t epoch = -1;
    assert_int_equal(rn_ctl_plan_register(c->img, &c->leases, &reg, rn_image_next_offset(c->img),
                                          now_ms, session_ms, &c->batch, &epoch, &res),
                     RN_KERR_NONE);
    mc_ctl_commit(c);
    rn_ctl_leases_touch(&c->leases, id, now_ms);
    if (unfence) {
        assert_int_equal(rn_ctl_plan_unfence(c->img, id, &c->batch), RN_OK);
        mc_ctl_commit(c);
    }
    return epoch;
}
