/*
 * test_quorum_dirs.c: the table of the folders the quorum's members speak
 * from: the first recorded folder stands, only a removal applied after it
 * forgets it, a snapshot replaces what was recorded before it, and the
 * file keeps each folder with its index (a file without indexes, as an
 * earlier release wrote it, still reads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/tmp_dir.h"
#include "metadata/quorum_dirs.h"

#include <stdio.h>
#include <string.h>

static const char *held(const rn_quorum_dirs_t *d, rn_raft_id_t id) {
    const rn_quorum_dir_t *e = rn_quorum_dirs_get(d, id);
    return e ? e->dir : "";
}

static rn_raft_config_t voters(rn_raft_id_t a, rn_raft_id_t b) {
    rn_raft_config_t cfg = {0};
    cfg.voters[cfg.voters_n++] = a;
    if (b) cfg.voters[cfg.voters_n++] = b;
    return cfg;
}

static void test_first_folder_stands(void **state) {
    (void)state;
    rn_quorum_dirs_t d = {0};
    assert_true(rn_quorum_dirs_learn(&d, 2, rn_str_from_cstr("old"), 5));
    /* a late record of another folder, with no removal between: ignored */
    assert_false(rn_quorum_dirs_learn(&d, 2, rn_str_from_cstr("late"), 9));
    assert_string_equal(held(&d, 2), "old");
    assert_false(rn_quorum_dirs_learn(&d, 3, rn_str_from_cstr(""), 9));
    assert_false(rn_quorum_dirs_learn(&d, RN_RAFT_ID_NONE, rn_str_from_cstr("x"), 9));
}

static void test_only_a_later_removal_forgets(void **state) {
    (void)state;
    rn_quorum_dirs_t d = {0};
    rn_quorum_dirs_learn(&d, 1, rn_str_from_cstr("one"), 3);
    rn_quorum_dirs_learn(&d, 2, rn_str_from_cstr("new"), 20);
    rn_raft_config_t without_2 = voters(1, 3);
    /* a removal replayed from before the folder was recorded: kept */
    rn_quorum_dirs_config(&d, &without_2, 12);
    assert_string_equal(held(&d, 2), "new");
    /* a removal after it: forgotten, and another folder may be recorded */
    rn_quorum_dirs_config(&d, &without_2, 21);
    assert_string_equal(held(&d, 2), "");
    assert_string_equal(held(&d, 1), "one");
    assert_true(rn_quorum_dirs_learn(&d, 2, rn_str_from_cstr("newer"), 23));
    assert_string_equal(held(&d, 2), "newer");
}

static void test_snapshot_replaces_older(void **state) {
    (void)state;
    rn_quorum_dirs_t d = {0};
    rn_quorum_dirs_learn(&d, 1, rn_str_from_cstr("a"), 4);
    rn_quorum_dirs_learn(&d, 2, rn_str_from_cstr("b"), 40);
    rn_quorum_dirs_snapshot(&d, 30);
    assert_string_equal(held(&d, 1), "");
    assert_string_equal(held(&d, 2), "b");
}

static void test_file_round_trip(void **state) {
    (void)state;
    char dir[256];
    assert_true(td_make(dir, sizeof dir, "rn-dirs-"));
    rn_io_t *io = rn_io_linux();
    rn_quorum_dirs_t d = {0}, back;
    rn_quorum_dirs_learn(&d, 1, rn_str_from_cstr("AAAAAAAAAAAAAAAAAAAAAA"), 7);
    rn_quorum_dirs_learn(&d, 3, rn_str_from_cstr("BBBBBBBBBBBBBBBBBBBBBB"), 123456789012ULL);
    assert_int_equal(rn_quorum_dirs_save(&d, io, dir), RN_OK);
    assert_false(d.changed);
    assert_int_equal(rn_quorum_dirs_load(&back, io, dir), RN_OK);
    assert_int_equal(back.n, 2);
    assert_int_equal(rn_quorum_dirs_get(&back, 3)->at, 123456789012ULL);
    assert_string_equal(held(&back, 1), "AAAAAAAAAAAAAAAAAAAAAA");
    /* the file of a release that kept no index */
    char path[300];
    snprintf(path, sizeof path, "%s/voter-dirs", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("2 CCCCCCCCCCCCCCCCCCCCCC\n", f);
    fclose(f);
    assert_int_equal(rn_quorum_dirs_load(&back, io, dir), RN_OK);
    assert_int_equal(back.n, 1);
    assert_int_equal(rn_quorum_dirs_get(&back, 2)->at, 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("garbage\n", f);
    fclose(f);
    assert_int_equal(rn_quorum_dirs_load(&back, io, dir), RN_ERR_CORRUPT);
    td_remove(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_folder_stands),
        cmocka_unit_test(test_only_a_later_removal_forgets),
        cmocka_unit_test(test_snapshot_replaces_older),
        cmocka_unit_test(test_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
