/*
 * log_check_cmd.c: `runnel log-check DATA_DIR...`: runs the read-only
 * partition check (storage/log_check.h) over every <topic>-<partition>
 * directory of a stopped broker's data folder and prints each problem.
 * Exit code 0 when every log is sound, 1 when a problem was found, 2 for
 * bad arguments or an unreadable folder.
 */
#include "server/log_check_cmd.h"
#include "io/io.h"
#include "storage/log_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct check_run {
    const char *data_dir;
    uint32_t partitions;
    uint32_t problems;
    int failed;
} check_run_t;

static void check_report(void *ctx, const char *dir, const char *what) {
    (void)ctx;
    printf("PROBLEM %s: %s\n", dir, what);
}

/* A partition directory is <topic>-<digits>; the metadata log is not one. */
static int is_partition_dir(const char *name) {
    const char *dash = strrchr(name, '-');
    if (!dash || dash == name || !dash[1] || !strcmp(name, "__cluster_metadata-0")) return 0;
    for (const char *p = dash + 1; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

static int check_one(void *ctx, const char *name) {
    check_run_t *run = ctx;
    if (!is_partition_dir(name)) return 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", run->data_dir, name);
    rn_log_check_t chk = {.report = check_report};
    rn_err_t err = rn_log_check_dir(rn_io_linux(), dir, &chk);
    run->partitions++;
    run->problems += chk.problems;
    if (err != RN_OK) {
        printf("PROBLEM %s: cannot read: %s\n", dir, rn_err_name(err));
        run->failed = 1;
    }
    return 0;
}

int rn_log_check_main(int argc, char **argv) {
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        fprintf(argc < 1 ? stderr : stdout,
                "usage: runnel log-check DATA_DIR...\n"
                "Checks every partition log of a stopped broker's data folder: whole, valid\n"
                "batches, offsets without gaps, indexes that agree with the log. Read-only.\n"
                "Exit code: 0 sound, 1 a problem found, 2 bad arguments or unreadable.\n");
        return argc < 1 ? 2 : 0;
    }
    int rc = 0;
    for (int i = 0; i < argc; i++) {
        check_run_t run = {argv[i], 0, 0, 0};
        if (rn_io_dir_list(rn_io_linux(), argv[i], check_one, &run) != RN_OK) {
            fprintf(stderr, "runnel log-check: cannot read %s\n", argv[i]);
            return 2;
        }
        printf("%s: %u partition(s), %u problem(s)\n", argv[i], run.partitions, run.problems);
        if (run.failed) return 2;
        if (run.problems) rc = 1;
    }
    return rc;
}
