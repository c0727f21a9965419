/*
 * cli_cluster.c: `runnel cluster describe`: the cluster id, the controller,
 * topic and partition counts (one Metadata request), every broker with its
 * address, rack and whether it is fenced (DescribeCluster v2 with
 * IncludeFencedBrokers where the broker serves it; else Metadata's brokers,
 * the unfenced ones, fencing unknown), and the metadata quorum
 * (DescribeQuorum, cli_quorum.c); and the `runnel cluster quorum` verbs'
 * entry.
 *
 * Read only; owns one raw connection (cli_wire.c) for the length of the
 * command: librdkafka's metadata has no racks and no fenced brokers.
 */
#include "cli/cli_int.h"

#include "proto/gen/api.h"
#include "proto/gen/api_versions_request.h"
#include "proto/gen/api_versions_response.h"
#include "proto/gen/describe_cluster_request.h"
#include "proto/gen/describe_cluster_response.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"
#include "proto/kerr.h"

#include <stdlib.h>

/* Metadata v8: racks (v1+) and the cluster id (v2+); Runnel and Kafka 3.9
   both serve it. */
#define CLUSTER_MD_VERSION 8
/* DescribeCluster v2 lists fenced brokers when asked (Kafka 4.0, KIP-1073). */
#define CLUSTER_DC_VERSION 2
/* Arena budget of the Metadata answer: room for RN_CLI_RESPONSE_BYTES_MAX
   bytes decoded into structs. */
#define CLUSTER_ARENA_BYTES (4 * (size_t)RN_CLI_RESPONSE_BYTES_MAX)

/* One broker as shown, from Metadata or DescribeCluster. */
typedef struct cluster_broker {
    int32_t id;
    rn_str_t host;
    int32_t port;
    rn_str_t rack;
    int fenced; /* 1 fenced, 0 not, -1 unknown (from Metadata) */
} cluster_broker_t;

typedef struct cluster_brokers {
    cluster_broker_t *items;
    int32_t count;
} cluster_brokers_t;

static int cluster_partitions(const rn_metadata_response_t *md) {
    int partitions = 0;
    for (int32_t i = 0; i < md->topics.count; i++)
        partitions += md->topics.items[i].partitions.count;
    return partitions;
}

static void cluster_cstr(rn_str_t s, char *out, size_t size) {
    if (s.len < 0)
        out[0] = '\0';
    else
        snprintf(out, size, "%.*s", (int)s.len, s.ptr);
}

/* Every field but the quorum; the object stays open for it. */
static void cluster_json(rn_cli_json_t *js, const rn_metadata_response_t *md,
                         const cluster_brokers_t *brokers) {
    char text[RN_CLI_HOSTPORT_BYTES];
    rn_cli_json_obj(js, NULL);
    cluster_cstr(md->cluster_id, text, sizeof text);
    rn_cli_json_str(js, "cluster_id", md->cluster_id.len < 0 ? NULL : text);
    rn_cli_json_int(js, "controller", md->controller_id);
    rn_cli_json_arr(js, "brokers");
    for (int32_t i = 0; i < brokers->count; i++) {
        const cluster_broker_t *b = &brokers->items[i];
        rn_cli_json_obj(js, NULL);
        rn_cli_json_int(js, "id", b->id);
        cluster_cstr(b->host, text, sizeof text);
        rn_cli_json_str(js, "host", text);
        rn_cli_json_int(js, "port", b->port);
        cluster_cstr(b->rack, text, sizeof text);
        rn_cli_json_str(js, "rack", b->rack.len < 0 ? NULL : text);
        if (b->fenced < 0)
            rn_cli_json_null(js, "fenced");
        else
            rn_cli_json_bool(js, "fenced", b->fenced == 1);
        rn_cli_json_end_obj(js);
    }
    rn_cli_json_end_arr(js);
    rn_cli_json_int(js, "topics", md->topics.count);
    rn_cli_json_int(js, "partitions", cluster_partitions(md));
}

static void cluster_text(const rn_metadata_response_t *md, const cluster_brokers_t *brokers) {
    char text[RN_CLI_HOSTPORT_BYTES];
    cluster_cstr(md->cluster_id, text, sizeof text);
    printf("CLUSTER %s  CONTROLLER %d  TOPICS %d  PARTITIONS %d\n",
           md->cluster_id.len < 0 ? "(unknown)" : text, md->controller_id, md->topics.count,
           cluster_partitions(md));
    static const char *const headers[] = {"BROKER", "HOST", "PORT", "RACK", "STATE", "CONTROLLER"};
    static const char *const states[] = {"?", "unfenced", "fenced"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 6, headers);
    for (int32_t i = 0; i < brokers->count; i++) {
        const cluster_broker_t *b = &brokers->items[i];
        rn_cli_table_cell(&tab, "%d", b->id);
        cluster_cstr(b->host, text, sizeof text);
        rn_cli_table_cell(&tab, "%s", text);
        rn_cli_table_cell(&tab, "%d", b->port);
        cluster_cstr(b->rack, text, sizeof text);
        rn_cli_table_cell(&tab, "%s", b->rack.len < 0 ? "-" : text);
        rn_cli_table_cell(&tab, "%s", states[b->fenced + 1]);
        rn_cli_table_cell(&tab, "%s", b->id == md->controller_id ? "yes" : "");
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
}

/* Metadata of every topic (a null topic list). */
static int cluster_metadata(rn_cli_wire_t *w, rn_arena_t *arena, rn_metadata_response_t *md) {
    rn_metadata_request_t req;
    rn_metadata_request_init(&req);
    req.topics.items = NULL;
    req.topics.count = -1;
    req.allow_auto_topic_creation = false;
    return rn_cli_wire_call(w, RN_API_METADATA, CLUSTER_MD_VERSION, &req, arena, md);
}

/* The newest DescribeCluster version the broker serves; -1 for none. */
static int16_t cluster_dc_version(rn_cli_wire_t *w, rn_arena_t *arena) {
    rn_api_versions_request_t req;
    rn_api_versions_request_init(&req);
    rn_api_versions_response_t resp;
    if (rn_cli_wire_call(w, RN_API_API_VERSIONS, 0, &req, arena, &resp) != RN_CLI_EXIT_OK ||
        resp.error_code != 0)
        return -1;
    for (int32_t i = 0; i < resp.api_keys.count; i++)
        if (resp.api_keys.items[i].api_key == RN_API_DESCRIBE_CLUSTER)
            return resp.api_keys.items[i].max_version;
    return -1;
}

/* Metadata's brokers (the unfenced ones; fencing unknown). */
static void cluster_md_brokers(const rn_metadata_response_t *md, rn_arena_t *arena,
                               cluster_brokers_t *out) {
    out->count = 0;
    out->items = rn_arena_alloc(arena, (size_t)(md->brokers.count + 1) * sizeof *out->items);
    for (int32_t i = 0; out->items && i < md->brokers.count; i++) {
        const rn_metadata_response_metadata_response_broker_t *b = &md->brokers.items[i];
        out->items[out->count++] = (cluster_broker_t){b->node_id, b->host, b->port, b->rack, -1};
    }
}

/* Every registered broker, the fenced ones included, with DescribeCluster
   v2; false (nothing printed) where the broker does not serve it. */
static bool cluster_dc_brokers(rn_cli_wire_t *w, rn_arena_t *arena, cluster_brokers_t *out) {
    if (cluster_dc_version(w, arena) < CLUSTER_DC_VERSION) return false;
    rn_describe_cluster_request_t req;
    rn_describe_cluster_request_init(&req);
    req.include_fenced_brokers = true;
    rn_describe_cluster_response_t resp;
    if (rn_cli_wire_call(w, RN_API_DESCRIBE_CLUSTER, CLUSTER_DC_VERSION, &req, arena, &resp) !=
            RN_CLI_EXIT_OK ||
        resp.error_code != 0 || resp.brokers.count < 0)
        return false;
    out->count = 0;
    out->items = rn_arena_alloc(arena, (size_t)(resp.brokers.count + 1) * sizeof *out->items);
    for (int32_t i = 0; out->items && i < resp.brokers.count; i++) {
        const rn_describe_cluster_response_describe_cluster_broker_t *b = &resp.brokers.items[i];
        out->items[out->count++] =
            (cluster_broker_t){b->broker_id, b->host, b->port, b->rack, b->is_fenced ? 1 : 0};
    }
    return out->items != NULL;
}

/* Prints what was learned; a quorum that does not answer (a broker of a
   cluster without one) is a warning, not a failure. */
static int cluster_show(rn_cli_wire_t *w, const rn_cli_common_t *common,
                        const rn_metadata_response_t *md, const cluster_brokers_t *brokers) {
    if (common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        cluster_json(&js, md, brokers);
        if (rn_cli_quorum_show(w, &js) != RN_CLI_EXIT_OK) rn_cli_json_null(&js, "quorum");
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
        return RN_CLI_EXIT_OK;
    }
    cluster_text(md, brokers);
    printf("\n");
    if (rn_cli_quorum_show(w, NULL) != RN_CLI_EXIT_OK)
        rn_cli_warn(w->prog, "the metadata quorum is not shown");
    return RN_CLI_EXIT_OK;
}

static int cluster_describe(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {"runnel cluster describe",
                              "",
                              "Show the cluster id, the controller, every broker (fenced "
                              "or not) and the metadata quorum.",
                              NULL,
                              NULL,
                              0,
                              0,
                              0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_wire_t w;
    rc = rn_cli_wire_open(&w, &common, cmd.prog);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rn_arena_t arena;
    rn_arena_init(&arena, CLUSTER_ARENA_BYTES);
    rn_metadata_response_t md;
    rc = cluster_metadata(&w, &arena, &md);
    cluster_brokers_t brokers = {0};
    if (rc == RN_CLI_EXIT_OK && !cluster_dc_brokers(&w, &arena, &brokers))
        cluster_md_brokers(&md, &arena, &brokers);
    if (rc == RN_CLI_EXIT_OK) rc = cluster_show(&w, &common, &md, &brokers);
    rn_arena_free(&arena);
    rn_cli_wire_close(&w);
    return rc;
}

int rn_cli_cluster(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"describe", "cluster id, controller, brokers (fenced or not) and the metadata quorum",
         cluster_describe},
        {"quorum", "describe the metadata quorum, add or remove a voter", rn_cli_cluster_quorum},
        {"drain", "move every replica and leadership off brokers", rn_cli_cluster_drain},
        {"undrain", "let brokers take replicas and leaders again", rn_cli_cluster_undrain},
        {"decommission", "drain brokers and wait until they hold nothing",
         rn_cli_cluster_decommission},
        {"scale", "keep the N lowest broker ids: drain the others and wait", rn_cli_cluster_scale},
        {"balance", "each broker's replicas, leaders and drain; the moves in progress",
         rn_cli_cluster_balance},
    };
    return rn_cli_dispatch("cluster", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc, argv);
}
