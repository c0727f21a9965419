/*
 * cli_cluster.c: `runnel cluster describe`: the cluster id, the controller,
 * every broker with its address, and topic and partition counts, from a
 * Metadata request.
 *
 * Read only; owns one admin client for the length of the command.
 */
#include "cli/cli_int.h"

#include <stdlib.h>

static void cluster_print(const rn_cli_common_t *common, const rd_kafka_metadata_t *md,
                          const char *cluster_id, int32_t controller) {
    int partitions = 0;
    for (int i = 0; i < md->topic_cnt; i++) partitions += md->topics[i].partition_cnt;
    if (common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_str(&js, "cluster_id", cluster_id);
        rn_cli_json_int(&js, "controller", controller);
        rn_cli_json_arr(&js, "brokers");
        for (int i = 0; i < md->broker_cnt; i++) {
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_int(&js, "id", md->brokers[i].id);
            rn_cli_json_str(&js, "host", md->brokers[i].host);
            rn_cli_json_int(&js, "port", md->brokers[i].port);
            rn_cli_json_end_obj(&js);
        }
        rn_cli_json_end_arr(&js);
        rn_cli_json_int(&js, "topics", md->topic_cnt);
        rn_cli_json_int(&js, "partitions", partitions);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
        return;
    }
    printf("CLUSTER %s  CONTROLLER %d  TOPICS %d  PARTITIONS %d\n",
           cluster_id ? cluster_id : "(unknown)", controller, md->topic_cnt, partitions);
    static const char *const headers[] = {"BROKER", "HOST", "PORT", "CONTROLLER"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 4, headers);
    for (int i = 0; i < md->broker_cnt; i++) {
        rn_cli_table_cell(&tab, "%d", md->brokers[i].id);
        rn_cli_table_cell(&tab, "%s", md->brokers[i].host);
        rn_cli_table_cell(&tab, "%d", md->brokers[i].port);
        rn_cli_table_cell(&tab, "%s", md->brokers[i].id == controller ? "yes" : "");
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
}

static int cluster_describe(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {"runnel cluster describe",
                              "",
                              "Show the cluster id, the controller and every broker.",
                              NULL,
                              NULL,
                              0,
                              0,
                              0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    const rd_kafka_metadata_t *md = NULL;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_metadata(&cl, &md);
    if (rc == RN_CLI_EXIT_OK) {
        /* Both are cached from the metadata answer above, so they return at once. */
        char *cluster_id = rd_kafka_clusterid(cl.rk, (int)common.timeout_ms);
        int32_t controller = rd_kafka_controllerid(cl.rk, (int)common.timeout_ms);
        cluster_print(&common, md, cluster_id, controller);
        if (cluster_id) rd_kafka_mem_free(cl.rk, cluster_id);
        rd_kafka_metadata_destroy(md);
    }
    rn_cli_client_close(&cl);
    return rc;
}

int rn_cli_cluster(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"describe", "cluster id, controller and brokers", cluster_describe},
    };
    return rn_cli_dispatch("cluster", verbs, 1, argc, argv);
}
