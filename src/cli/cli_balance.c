/*
 * cli_balance.c: `runnel cluster balance`: what the balancer works with
 * and on. Per broker (Metadata, every topic): replicas and leaderships
 * held and whether it is drained (DescribeConfigs of runnel.drain); then
 * the reassignments in progress (ListPartitionReassignments) with the
 * replicas being added and removed. Read only.
 *
 * Owns one raw connection (cli_wire.c) for the length of the command.
 */
#include "cli/cli_int.h"

#include "base/limits.h"
#include "proto/gen/api.h"
#include "proto/gen/describe_configs_request.h"
#include "proto/gen/describe_configs_response.h"
#include "proto/gen/list_partition_reassignments_request.h"
#include "proto/gen/list_partition_reassignments_response.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"

#include <stdio.h>
#include <string.h>

#define BAL_MD_VERSION 8
#define BAL_DC_VERSION 1
#define BAL_LPR_VERSION 0
#define BAL_RESOURCE_BROKER 4
#define BAL_ARENA_BYTES (4 * (size_t)RN_CLI_RESPONSE_BYTES_MAX)
/* Reassignments listed one by one; more are counted. */
#define BAL_MOVES_SHOWN 20

typedef struct bal_broker {
    int32_t id;
    int64_t replicas, leaders;
    bool drained;
} bal_broker_t;

typedef struct bal_view {
    bal_broker_t brokers[RN_BROKERS_MAX];
    int count;
    rn_list_partition_reassignments_response_t moves;
} bal_view_t;

static bal_broker_t *bal_find(bal_view_t *v, int32_t id) {
    for (int n = 0; n < v->count; n++)
        if (v->brokers[n].id == id) return &v->brokers[n];
    return NULL;
}

static int bal_counts(rn_cli_wire_t *w, rn_arena_t *arena, bal_view_t *v) {
    rn_metadata_request_t req;
    rn_metadata_request_init(&req);
    req.topics.count = -1;
    rn_metadata_response_t md;
    int rc = rn_cli_wire_call(w, RN_API_METADATA, BAL_MD_VERSION, &req, arena, &md);
    for (int32_t b = 0; rc == RN_CLI_EXIT_OK && b < md.brokers.count && v->count < RN_BROKERS_MAX;
         b++)
        v->brokers[v->count++] = (bal_broker_t){.id = md.brokers.items[b].node_id};
    for (int32_t t = 0; rc == RN_CLI_EXIT_OK && t < md.topics.count; t++) {
        for (int32_t p = 0; p < md.topics.items[t].partitions.count; p++) {
            const rn_metadata_response_metadata_response_partition_t *part =
                &md.topics.items[t].partitions.items[p];
            bal_broker_t *leader = bal_find(v, part->leader_id);
            if (leader) leader->leaders++;
            for (int32_t r = 0; r < part->replica_nodes.count; r++) {
                bal_broker_t *b = bal_find(v, part->replica_nodes.items[r]);
                if (b) b->replicas++;
            }
        }
    }
    return rc;
}

static int bal_drained(rn_cli_wire_t *w, rn_arena_t *arena, bal_view_t *v) {
    rn_describe_configs_request_describe_configs_resource_t res[RN_BROKERS_MAX];
    char names[RN_BROKERS_MAX][16];
    rn_str_t key = rn_str_from_cstr("runnel.drain");
    for (int n = 0; n < v->count; n++) {
        snprintf(names[n], sizeof names[n], "%d", v->brokers[n].id);
        res[n] = (rn_describe_configs_request_describe_configs_resource_t){
            BAL_RESOURCE_BROKER, rn_str_from_cstr(names[n]), {&key, 1}};
    }
    rn_describe_configs_request_t req;
    rn_describe_configs_request_init(&req);
    req.resources = (rn_describe_configs_request_describe_configs_resource_array_t){res, v->count};
    rn_describe_configs_response_t resp;
    int rc = rn_cli_wire_call(w, RN_API_DESCRIBE_CONFIGS, BAL_DC_VERSION, &req, arena, &resp);
    for (int32_t n = 0; rc == RN_CLI_EXIT_OK && n < resp.results.count; n++) {
        const rn_describe_configs_response_describe_configs_result_t *r = &resp.results.items[n];
        char name[16];
        snprintf(name, sizeof name, "%.*s", r->resource_name.len > 0 ? r->resource_name.len : 0,
                 r->resource_name.len > 0 ? r->resource_name.ptr : "");
        int64_t id = -1;
        bal_broker_t *b = rn_cli_parse_i64(name, &id) ? bal_find(v, (int32_t)id) : NULL;
        for (int32_t k = 0; b && k < r->configs.count; k++) {
            rn_str_t value = r->configs.items[k].value;
            b->drained |= value.len == 4 && !memcmp(value.ptr, "true", 4);
        }
    }
    return rc;
}

static int bal_moves(rn_cli_wire_t *w, rn_arena_t *arena, bal_view_t *v) {
    rn_list_partition_reassignments_request_t req;
    rn_list_partition_reassignments_request_init(&req);
    req.topics.count = -1;
    return rn_cli_wire_call(w, RN_API_LIST_PARTITION_REASSIGNMENTS, BAL_LPR_VERSION, &req, arena,
                            &v->moves);
}

static void bal_ids(FILE *out, const rn_int32_array_t *ids) {
    for (int32_t n = 0; n < ids->count; n++) fprintf(out, "%s%d", n ? "," : "", ids->items[n]);
}

static void bal_print(const bal_view_t *v) {
    static const char *const headers[] = {"BROKER", "REPLICAS", "LEADERS", "DRAINED"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 4, headers);
    for (int n = 0; n < v->count; n++) {
        const bal_broker_t *b = &v->brokers[n];
        rn_cli_table_cell(&tab, "%d", b->id);
        rn_cli_table_cell(&tab, "%lld", (long long)b->replicas);
        rn_cli_table_cell(&tab, "%lld", (long long)b->leaders);
        rn_cli_table_cell(&tab, "%s", b->drained ? "yes" : "no");
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
    int shown = 0, total = 0;
    for (int32_t t = 0; t < v->moves.topics.count; t++) {
        const rn_list_partition_reassignments_response_ongoing_topic_reassignment_t *topic =
            &v->moves.topics.items[t];
        for (int32_t p = 0; p < topic->partitions.count; p++, total++) {
            if (shown == BAL_MOVES_SHOWN) continue;
            const rn_list_partition_reassignments_response_ongoing_partition_reassignment_t *m =
                &topic->partitions.items[p];
            printf("%s %.*s-%d replicas [", shown++ ? "" : "\nmoving:\n ", topic->name.len,
                   topic->name.ptr, m->partition_index);
            bal_ids(stdout, &m->replicas);
            printf("] adding [");
            bal_ids(stdout, &m->adding_replicas);
            printf("] removing [");
            bal_ids(stdout, &m->removing_replicas);
            printf("]\n");
        }
    }
    if (total > shown) printf(" and %d more\n", total - shown);
    if (total == 0) printf("\nno reassignment in progress\n");
}

static void bal_json(const bal_view_t *v) {
    rn_cli_json_t js;
    rn_cli_json_init(&js, stdout);
    rn_cli_json_obj(&js, NULL);
    rn_cli_json_arr(&js, "brokers");
    for (int n = 0; n < v->count; n++) {
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_int(&js, "id", v->brokers[n].id);
        rn_cli_json_int(&js, "replicas", v->brokers[n].replicas);
        rn_cli_json_int(&js, "leaders", v->brokers[n].leaders);
        rn_cli_json_bool(&js, "drained", v->brokers[n].drained);
        rn_cli_json_end_obj(&js);
    }
    rn_cli_json_end_arr(&js);
    int64_t moving = 0;
    for (int32_t t = 0; t < v->moves.topics.count; t++)
        moving += v->moves.topics.items[t].partitions.count;
    rn_cli_json_int(&js, "moving", moving);
    rn_cli_json_end_obj(&js);
    rn_cli_json_done(&js);
}

int rn_cli_cluster_balance(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {.prog = "runnel cluster balance",
                              .args_usage = "",
                              .summary = "Show each broker's replicas, leaderships and drain, and "
                                         "the reassignments in progress."};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_wire_t w;
    rc = rn_cli_wire_open(&w, &common, cmd.prog);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rn_arena_t arena;
    rn_arena_init(&arena, BAL_ARENA_BYTES);
    bal_view_t v;
    memset(&v, 0, sizeof v);
    rc = bal_counts(&w, &arena, &v);
    if (rc == RN_CLI_EXIT_OK) rc = bal_drained(&w, &arena, &v);
    if (rc == RN_CLI_EXIT_OK) rc = bal_moves(&w, &arena, &v);
    if (rc == RN_CLI_EXIT_OK && common.json)
        bal_json(&v);
    else if (rc == RN_CLI_EXIT_OK)
        bal_print(&v);
    rn_arena_free(&arena);
    rn_cli_wire_close(&w);
    return rc;
}
