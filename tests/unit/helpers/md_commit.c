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
