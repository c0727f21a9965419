/*
 * cli_drain.c: `runnel cluster drain|undrain|decommission|scale`: a
 * broker drained (its dynamic config runnel.drain=true, set with
 * IncrementalAlterConfigs) has every replica and leadership moved off it by
 * the balancer on the active controller (docs/BALANCING.md). drain and
 * undrain set or clear the flag; decommission drains and waits until the
 * broker holds nothing, so it may be stopped for good; scale --brokers N
 * drains every broker past the N lowest ids (undraining those among them)
 * and waits likewise, so a StatefulSet scaled down to N afterwards loses no
 * replica.
 *
 * Owns one raw connection (cli_wire.c) for the length of the command; the
 * waits poll Metadata every second, bounded by --wait-ms.
 */
#include "cli/cli_int.h"

#include "base/limits.h"

#include "proto/gen/api.h"
#include "proto/gen/incremental_alter_configs_request.h"
#include "proto/gen/incremental_alter_configs_response.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"
#include "proto/kerr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRAIN_KEY "runnel.drain"
#define DRAIN_IAC_VERSION 1
#define DRAIN_MD_VERSION 8
#define DRAIN_RESOURCE_BROKER 4
#define DRAIN_OP_SET 0
#define DRAIN_OP_DELETE 1
#define DRAIN_ARENA_BYTES (4 * (size_t)RN_CLI_RESPONSE_BYTES_MAX)
/* How long decommission and scale wait by default: moving a broker's data
   takes as long as copying it. */
#define DRAIN_WAIT_MS_DEFAULT (3600 * 1000)
#define DRAIN_POLL_MS 1000
#define DRAIN_PROGRESS_MS 5000

/* Sets (drain) or clears runnel.drain on each broker of ids. */
static int drain_set(rn_cli_wire_t *w, const char *prog, const int32_t *ids, int count,
                     bool drain) {
    rn_arena_t arena;
    rn_arena_init(&arena, 1 << 20);
    rn_incremental_alter_configs_request_alter_configs_resource_t res[RN_BROKERS_MAX];
    rn_incremental_alter_configs_request_alterable_config_t cfg = {
        rn_str_from_cstr(DRAIN_KEY), drain ? DRAIN_OP_SET : DRAIN_OP_DELETE,
        drain ? rn_str_from_cstr("true") : rn_str_null()};
    char names[RN_BROKERS_MAX][16];
    for (int n = 0; n < count; n++) {
        snprintf(names[n], sizeof names[n], "%d", ids[n]);
        res[n] = (rn_incremental_alter_configs_request_alter_configs_resource_t){
            DRAIN_RESOURCE_BROKER, rn_str_from_cstr(names[n]), {&cfg, 1}};
    }
    rn_incremental_alter_configs_request_t req;
    rn_incremental_alter_configs_request_init(&req);
    req.resources =
        (rn_incremental_alter_configs_request_alter_configs_resource_array_t){res, count};
    rn_incremental_alter_configs_response_t resp;
    int rc = rn_cli_wire_call(w, RN_API_INCREMENTAL_ALTER_CONFIGS, DRAIN_IAC_VERSION, &req, &arena,
                              &resp);
    for (int32_t n = 0; rc == RN_CLI_EXIT_OK && n < resp.responses.count; n++) {
        const rn_incremental_alter_configs_response_alter_configs_resource_response_t *r =
            &resp.responses.items[n];
        if (r->error_code == 0) continue;
        rc = rn_cli_fail(prog, "broker %.*s: %s%s%.*s", r->resource_name.len, r->resource_name.ptr,
                         rn_kerr_name(r->error_code), r->error_message.len > 0 ? ": " : "",
                         r->error_message.len > 0 ? r->error_message.len : 0,
                         r->error_message.len > 0 ? r->error_message.ptr : "");
    }
    rn_arena_free(&arena);
    return rc;
}

/* What the brokers of ids still hold: replicas and leaderships. */
typedef struct drain_left {
    int64_t replicas, leaders;
    int32_t brokers[RN_BROKERS_MAX]; /* the registered ids, sorted */
    int brokers_n;
} drain_left_t;

static bool drain_named(const int32_t *ids, int count, int32_t id) {
    for (int n = 0; n < count; n++)
        if (ids[n] == id) return true;
    return false;
}

static int drain_cmp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int drain_count(rn_cli_wire_t *w, const int32_t *ids, int count, drain_left_t *left) {
    rn_arena_t arena;
    rn_arena_init(&arena, DRAIN_ARENA_BYTES);
    rn_metadata_request_t req;
    rn_metadata_request_init(&req);
    req.topics.count = -1;
    rn_metadata_response_t md;
    int rc = rn_cli_wire_call(w, RN_API_METADATA, DRAIN_MD_VERSION, &req, &arena, &md);
    memset(left, 0, sizeof *left);
    for (int32_t b = 0; rc == RN_CLI_EXIT_OK && b < md.brokers.count && b < RN_BROKERS_MAX; b++)
        left->brokers[left->brokers_n++] = md.brokers.items[b].node_id;
    qsort(left->brokers, (size_t)left->brokers_n, sizeof left->brokers[0], drain_cmp);
    for (int32_t t = 0; rc == RN_CLI_EXIT_OK && t < md.topics.count; t++) {
        for (int32_t p = 0; p < md.topics.items[t].partitions.count; p++) {
            const rn_metadata_response_metadata_response_partition_t *part =
                &md.topics.items[t].partitions.items[p];
            left->leaders += drain_named(ids, count, part->leader_id);
            for (int32_t r = 0; r < part->replica_nodes.count; r++)
                left->replicas += drain_named(ids, count, part->replica_nodes.items[r]);
        }
    }
    rn_arena_free(&arena);
    return rc;
}

static int64_t drain_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until the brokers of ids hold no replica and lead nothing. */
static int drain_wait(rn_cli_wire_t *w, const char *prog, const int32_t *ids, int count,
                      int64_t wait_ms) {
    int64_t start = drain_now_ms(), said = start;
    for (;;) {
        drain_left_t left;
        int rc = drain_count(w, ids, count, &left);
        if (rc != RN_CLI_EXIT_OK) return rc;
        int64_t now = drain_now_ms();
        if (left.replicas == 0 && left.leaders == 0) {
            printf("empty after %.1f s: nothing is lost when %s stopped for good\n",
                   (double)(now - start) / 1000, count == 1 ? "it is" : "they are");
            return RN_CLI_EXIT_OK;
        }
        if (now - start > wait_ms)
            return rn_cli_fail(prog, "still %lld replica(s) and %lld leadership(s) after %lld ms",
                               (long long)left.replicas, (long long)left.leaders,
                               (long long)wait_ms);
        if (now - said >= DRAIN_PROGRESS_MS) {
            printf("%lld replica(s) and %lld leadership(s) left\n", (long long)left.replicas,
                   (long long)left.leaders);
            fflush(stdout);
            said = now;
        }
        struct timespec pause = {0, DRAIN_POLL_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

/* The broker ids of pos (at least one). */
static int drain_ids(const rn_cli_cmd_t *cmd, const rn_cli_list_t *pos, int32_t *ids) {
    for (int n = 0; n < pos->count; n++) {
        int64_t v = -1;
        if (!rn_cli_parse_i64(pos->items[n], &v) || v < 0 || v > INT32_MAX)
            return rn_cli_usage_error(cmd, "'%s' is not a broker id", pos->items[n]);
        ids[n] = (int32_t)v;
    }
    return RN_CLI_CONTINUE;
}

/* drain, undrain and decommission: the flag on the brokers named, and for
   decommission (wait) the wait until they are empty. */
static int drain_run(int argc, char **argv, const char *prog, const char *summary, bool drain,
                     bool wait) {
    int64_t wait_ms = DRAIN_WAIT_MS_DEFAULT;
    bool wait_flag = false;
    const rn_cli_opt_t opts[] = {
        {"wait", 0, RN_CLI_OPT_FLAG, &wait_flag, NULL, "wait until the brokers hold nothing"},
        {"wait-ms", 0, RN_CLI_OPT_INT, &wait_ms, "MS", "how long to wait (default one hour)"},
    };
    const rn_cli_cmd_t cmd = {.prog = prog,
                              .args_usage = "ID [ID...]",
                              .summary = summary,
                              .opts = opts,
                              .opt_count = drain ? 2 : 0,
                              .pos_min = 1,
                              .pos_max = RN_BROKERS_MAX};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    int32_t ids[RN_BROKERS_MAX];
    rc = drain_ids(&cmd, &pos, ids);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_wire_t w;
    rc = rn_cli_wire_open(&w, &common, prog);
    if (rc == RN_CLI_EXIT_OK) rc = drain_set(&w, prog, ids, pos.count, drain);
    if (rc == RN_CLI_EXIT_OK)
        printf("%s %s\n", pos.count == 1 ? "broker" : "brokers",
               drain ? "draining: the balancer moves their replicas and leaders off"
                     : "no longer drained");
    if (rc == RN_CLI_EXIT_OK && (wait || wait_flag))
        rc = drain_wait(&w, prog, ids, pos.count, wait_ms);
    rn_cli_wire_close(&w);
    return rc;
}

int rn_cli_cluster_drain(int argc, char **argv) {
    return drain_run(argc, argv, "runnel cluster drain",
                     "Move every replica and leadership off the brokers (runnel.drain=true).", true,
                     false);
}

int rn_cli_cluster_undrain(int argc, char **argv) {
    return drain_run(argc, argv, "runnel cluster undrain",
                     "Let the balancer place replicas and leaders on the brokers again.", false,
                     false);
}

int rn_cli_cluster_decommission(int argc, char **argv) {
    return drain_run(argc, argv, "runnel cluster decommission",
                     "Drain the brokers and wait until they hold nothing, so they can be "
                     "stopped for good.",
                     true, true);
}

int rn_cli_cluster_scale(int argc, char **argv) {
    int64_t brokers = -1, wait_ms = DRAIN_WAIT_MS_DEFAULT;
    const rn_cli_opt_t opts[] = {
        {"brokers", 0, RN_CLI_OPT_INT, &brokers, "N", "brokers to keep: the N lowest ids"},
        {"wait-ms", 0, RN_CLI_OPT_INT, &wait_ms, "MS", "how long to wait (default one hour)"},
    };
    const rn_cli_cmd_t cmd = {"runnel cluster scale",
                              "",
                              "Drain every broker past the N lowest ids (and undrain those "
                              "among them), then wait until the drained hold nothing: a "
                              "StatefulSet scaled to N afterwards loses no replica.",
                              NULL,
                              opts,
                              2,
                              0,
                              0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    if (brokers < 1 || brokers > RN_BROKERS_MAX)
        return rn_cli_usage_error(&cmd, "--brokers must be 1 to %d", RN_BROKERS_MAX);
    rn_cli_wire_t w;
    rc = rn_cli_wire_open(&w, &common, cmd.prog);
    drain_left_t all;
    if (rc == RN_CLI_EXIT_OK) rc = drain_count(&w, NULL, 0, &all);
    int kept = all.brokers_n < brokers ? all.brokers_n : (int)brokers;
    int gone = all.brokers_n - kept;
    if (rc == RN_CLI_EXIT_OK && kept > 0) rc = drain_set(&w, cmd.prog, all.brokers, kept, false);
    if (rc == RN_CLI_EXIT_OK && gone > 0)
        rc = drain_set(&w, cmd.prog, all.brokers + kept, gone, true);
    if (rc == RN_CLI_EXIT_OK)
        printf("keeping %d broker(s), draining %d (ids %d and up)\n", kept, gone,
               gone > 0 ? all.brokers[kept] : -1);
    if (rc == RN_CLI_EXIT_OK && gone > 0)
        rc = drain_wait(&w, cmd.prog, all.brokers + kept, gone, wait_ms);
    rn_cli_wire_close(&w);
    return rc;
}
