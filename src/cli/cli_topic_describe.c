/*
 * cli_topic_describe.c: `runnel topic describe`: each topic's partitions with
 * leader, replicas, ISR and low/high watermarks, and its configs
 * (DescribeConfigs; the ones set on the topic unless --all-configs).
 *
 * Read only. A broker without DescribeConfigs still gets the partition
 * table, with a warning that the configs are unavailable.
 */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

rd_kafka_event_t *rn_cli_topic_configs(rn_cli_client_t *cl, const char *topic,
                                       const rd_kafka_ConfigResource_t **res) {
    RN_ASSERT(cl->rk != NULL && topic != NULL);
    RN_ASSERT(res != NULL);
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, &call);
    rd_kafka_DescribeConfigs(cl->rk, &cr, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "describe configs");
    rn_cli_admin_end(&call);
    rd_kafka_ConfigResource_destroy(cr);
    if (ev == NULL) return NULL;
    size_t n = 0;
    const rd_kafka_ConfigResource_t **got =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
    rd_kafka_resp_err_t err =
        n == 1 ? rd_kafka_ConfigResource_error(got[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        char what[512];
        snprintf(what, sizeof what, "configs of '%s'", topic);
        rn_cli_fail_err(cl, what, err,
                        n == 1 ? rd_kafka_ConfigResource_error_string(got[0]) : NULL);
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    *res = got[0];
    return ev;
}

static void fmt_ids(char *buf, size_t size, const int32_t *ids, int count) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < count && used + 12 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? "," : "", ids[i]);
}

static void json_ids(rn_cli_json_t *js, const char *key, const int32_t *ids, int count) {
    rn_cli_json_arr(js, key);
    for (int i = 0; i < count; i++) rn_cli_json_int(js, NULL, ids[i]);
    rn_cli_json_end_arr(js);
}

typedef struct describe_ctx {
    rn_cli_client_t *cl;
    rn_cli_json_t js;
    bool all_configs;
    int rc;
} describe_ctx_t;

static void describe_partitions(describe_ctx_t *dc, const rd_kafka_metadata_topic_t *mt) {
    static const char *const headers[] = {"PARTITION", "LEADER", "REPLICAS", "ISR", "LOW", "HIGH"};
    rn_cli_table_t tab;
    bool json = dc->cl->common->json;
    if (json)
        rn_cli_json_arr(&dc->js, "partitions");
    else
        rn_cli_table_init(&tab, 6, headers);
    for (int p = 0; p < mt->partition_cnt; p++) {
        const rd_kafka_metadata_partition_t *mp = &mt->partitions[p];
        int64_t low = -1, high = -1;
        rd_kafka_resp_err_t err = rn_cli_watermarks(dc->cl, mt->topic, mp->id, &low, &high);
        if (err)
            rn_cli_warn(dc->cl->prog, "offsets of %s/%d: %s", mt->topic, mp->id,
                        rd_kafka_err2str(err));
        if (json) {
            rn_cli_json_obj(&dc->js, NULL);
            rn_cli_json_int(&dc->js, "partition", mp->id);
            rn_cli_json_int(&dc->js, "leader", mp->leader);
            json_ids(&dc->js, "replicas", mp->replicas, mp->replica_cnt);
            json_ids(&dc->js, "isr", mp->isrs, mp->isr_cnt);
            rn_cli_json_int(&dc->js, "low", low);
            rn_cli_json_int(&dc->js, "high", high);
            rn_cli_json_end_obj(&dc->js);
            continue;
        }
        char ids[256];
        rn_cli_table_cell(&tab, "%d", mp->id);
        rn_cli_table_cell(&tab, "%d", mp->leader);
        fmt_ids(ids, sizeof ids, mp->replicas, mp->replica_cnt);
        rn_cli_table_cell(&tab, "%s", ids);
        fmt_ids(ids, sizeof ids, mp->isrs, mp->isr_cnt);
        rn_cli_table_cell(&tab, "%s", ids);
        rn_cli_table_cell(&tab, "%lld", (long long)low);
        rn_cli_table_cell(&tab, "%lld", (long long)high);
    }
    if (json) {
        rn_cli_json_end_arr(&dc->js);
        return;
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
}

static void describe_configs(describe_ctx_t *dc, const char *topic) {
    static const char *const headers[] = {"CONFIG", "VALUE", "SOURCE"};
    const rd_kafka_ConfigResource_t *res = NULL;
    rd_kafka_event_t *ev = rn_cli_topic_configs(dc->cl, topic, &res);
    bool json = dc->cl->common->json;
    if (ev == NULL) {
        rn_cli_warn(dc->cl->prog, "the configs of '%s' are unavailable", topic);
        if (json) rn_cli_json_null(&dc->js, "configs");
        return;
    }
    size_t n = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
    rn_cli_table_t tab;
    if (json)
        rn_cli_json_arr(&dc->js, "configs");
    else
        rn_cli_table_init(&tab, 3, headers);
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_ConfigEntry_t *e = entries[i];
        if (!dc->all_configs && rd_kafka_ConfigEntry_is_default(e)) continue;
        const char *source = rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e));
        const char *value =
            rd_kafka_ConfigEntry_is_sensitive(e) ? "(sensitive)" : rd_kafka_ConfigEntry_value(e);
        if (json) {
            rn_cli_json_obj(&dc->js, NULL);
            rn_cli_json_str(&dc->js, "name", rd_kafka_ConfigEntry_name(e));
            rn_cli_json_str(&dc->js, "value", value);
            rn_cli_json_str(&dc->js, "source", source);
            rn_cli_json_bool(&dc->js, "default", rd_kafka_ConfigEntry_is_default(e));
            rn_cli_json_end_obj(&dc->js);
        } else {
            rn_cli_table_cell(&tab, "%s", rd_kafka_ConfigEntry_name(e));
            rn_cli_table_cell(&tab, "%s", value ? value : "(null)");
            rn_cli_table_cell(&tab, "%s", source);
        }
    }
    if (json) {
        rn_cli_json_end_arr(&dc->js);
    } else {
        if (tab.cell_count > 0)
            rn_cli_table_print(&tab, stdout);
        else
            printf("(no configs set on the topic; --all-configs shows the defaults)\n");
        rn_cli_table_free(&tab);
    }
    rd_kafka_event_destroy(ev);
}

static void describe_topic(describe_ctx_t *dc, const rd_kafka_metadata_topic_t *mt) {
    int rf = mt->partition_cnt ? mt->partitions[0].replica_cnt : 0;
    if (dc->cl->common->json) {
        rn_cli_json_obj(&dc->js, NULL);
        rn_cli_json_str(&dc->js, "name", mt->topic);
        rn_cli_json_int(&dc->js, "partition_count", mt->partition_cnt);
        rn_cli_json_int(&dc->js, "replication_factor", rf);
    } else {
        printf("TOPIC %s  PARTITIONS %d  REPLICATION %d\n", mt->topic, mt->partition_cnt, rf);
    }
    describe_partitions(dc, mt);
    describe_configs(dc, mt->topic);
    if (dc->cl->common->json) rn_cli_json_end_obj(&dc->js);
}

int rn_cli_topic_describe(int argc, char **argv) {
    describe_ctx_t dc = {.rc = RN_CLI_EXIT_OK};
    const rn_cli_opt_t opts[] = {
        {"all-configs", 0, RN_CLI_OPT_FLAG, &dc.all_configs, NULL,
         "list every config, defaults included"},
    };
    const rn_cli_cmd_t cmd = {"runnel topic describe",
                              "TOPIC [TOPIC...]",
                              "Show partitions, leaders, replicas, ISR, offsets and configs.",
                              NULL,
                              opts,
                              1,
                              1,
                              RN_CLI_POSITIONAL_MAX};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    const rd_kafka_metadata_t *md = NULL;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_metadata(&cl, &md);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_require_topics(&cl, md, pos.items, pos.count);
    if (rc == RN_CLI_EXIT_OK) {
        dc.cl = &cl;
        rn_cli_json_init(&dc.js, stdout);
        if (common.json) {
            rn_cli_json_obj(&dc.js, NULL);
            rn_cli_json_arr(&dc.js, "topics");
        }
        for (int i = 0; i < pos.count; i++) {
            if (i > 0 && !common.json) printf("\n");
            describe_topic(&dc, rn_cli_md_topic(md, pos.items[i]));
        }
        if (common.json) {
            rn_cli_json_end_arr(&dc.js);
            rn_cli_json_end_obj(&dc.js);
            rn_cli_json_done(&dc.js);
        }
        rc = dc.rc;
    }
    if (md) rd_kafka_metadata_destroy(md);
    rn_cli_client_close(&cl);
    return rc;
}
