/*
 * test_data_dir_check.c: the data folder's check at start. A real folder
 * passes and is left as it was; through an I/O seam that reports another
 * owner, a network file system, little space, or refuses a write, sync or
 * rename, the check stops (or warns) with a line naming what is wrong and
 * what to change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/tmp_dir.h"
#include "server/data_dir_check.h"

#include <stdio.h>
#include <string.h>

/* The Linux backend with some answers replaced. */
typedef struct fake {
    rn_io_t io;
    rn_io_ops_t ops;
    bool foreign_owner;
    bool network_fs;
    uint64_t usable;     /* 0: the real answer */
    rn_err_t sync_err;   /* file_sync's answer, else RN_OK */
    rn_err_t rename_err; /* path_rename's answer, else RN_OK */
} fake_t;

static fake_t the_fake;

static rn_err_t fake_path_info(rn_io_t *io, const char *path, rn_io_path_info_t *info) {
    rn_err_t err = rn_io_linux()->ops->path_info(io, path, info);
    if (err != RN_OK) return err;
    if (the_fake.foreign_owner) {
        info->uid = info->gid = 0;
        info->mode = 0755;
        info->proc_uid = info->proc_gid = 65532;
        info->writable = false;
    }
    if (the_fake.network_fs) {
        info->network_fs = true;
        snprintf(info->fs_name, sizeof info->fs_name, "nfs");
    }
    return RN_OK;
}

static rn_err_t fake_fs_space(rn_io_t *io, const char *path, uint64_t *total, uint64_t *usable) {
    rn_err_t err = rn_io_linux()->ops->fs_space(io, path, total, usable);
    if (err == RN_OK && the_fake.usable) {
        *total = 1ull << 30;
        *usable = the_fake.usable;
    }
    return err;
}

static rn_err_t fake_sync(rn_io_t *io, rn_fd_t fd) {
    return the_fake.sync_err != RN_OK ? the_fake.sync_err : rn_io_linux()->ops->file_sync(io, fd);
}

static rn_err_t fake_rename(rn_io_t *io, const char *from, const char *to) {
    return the_fake.rename_err != RN_OK ? the_fake.rename_err
                                        : rn_io_linux()->ops->path_rename(io, from, to);
}

static rn_io_t *fake_io(void) {
    memset(&the_fake, 0, sizeof the_fake);
    the_fake.ops = *rn_io_linux()->ops;
    the_fake.ops.path_info = fake_path_info;
    the_fake.ops.fs_space = fake_fs_space;
    the_fake.ops.file_sync = fake_sync;
    the_fake.ops.path_rename = fake_rename;
    the_fake.io = (rn_io_t){&the_fake.ops, rn_io_linux()->impl};
    return &the_fake.io;
}

static char dir[512];
static char why[3072];

static int setup(void **state) {
    (void)state;
    return td_make(dir, sizeof dir, "rn_dir_check_") ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    td_remove(dir);
    return 0;
}

static int count_entries(void *ctx, const char *name) {
    (void)name;
    (*(int *)ctx)++;
    return 0;
}

static int entries(const char *path) {
    int n = 0;
    assert_int_equal(rn_io_dir_list(rn_io_linux(), path, count_entries, &n), RN_OK);
    return n;
}

static void contains(const char *text, const char *part) {
    if (!strstr(text, part)) fail_msg("'%s' not in: %s", part, text);
}

static void test_good_folder_passes_and_stays_empty(void **state) {
    (void)state;
    char data[600];
    snprintf(data, sizeof data, "%s/data", dir);
    assert_int_equal(rn_data_dir_check(fake_io(), data, why, sizeof why), RN_OK);
    assert_int_equal(entries(data), 0); /* made, probed, nothing left */
    assert_int_equal(rn_data_dir_check(fake_io(), data, why, sizeof why), RN_OK);
}

static void test_foreign_owner_names_owner_and_fix(void **state) {
    (void)state;
    rn_io_t *io = fake_io();
    the_fake.foreign_owner = true;
    assert_int_not_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_OK);
    contains(why, "not writable by this process (uid 65532, gid 65532)");
    contains(why, "owned by uid 0 gid 0 with mode 0755");
    contains(why, "chown -R 65532:65532");
    contains(why, "securityContext.fsGroup: 65532");
}

static void test_space(void **state) {
    (void)state;
    rn_io_t *io = fake_io();
    the_fake.usable = 2ull << 20;
    assert_int_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_ERR_NO_SPACE);
    contains(why, "has 2 MiB free of 1024 MiB");
    contains(why, "larger PersistentVolumeClaim");
    the_fake.usable = 40ull << 20; /* under 5 %: a warning, not a refusal */
    assert_int_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_OK);
}

static void test_refused_steps_are_named(void **state) {
    (void)state;
    rn_io_t *io = fake_io();
    the_fake.sync_err = RN_ERR_NO_SPACE;
    assert_int_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_ERR_NO_SPACE);
    contains(why, "is full: syncing a file failed");
    the_fake.sync_err = RN_OK;
    the_fake.rename_err = RN_ERR_IO;
    assert_int_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_ERR_IO);
    contains(why, "renaming a file failed (io)");
    assert_int_equal(entries(dir), 0); /* the probe is removed either way */
}

static void test_network_fs_warns_only(void **state) {
    (void)state;
    rn_io_t *io = fake_io();
    the_fake.network_fs = true;
    assert_int_equal(rn_data_dir_check(io, dir, why, sizeof why), RN_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_folder_passes_and_stays_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_owner_names_owner_and_fix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_steps_are_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_fs_warns_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
