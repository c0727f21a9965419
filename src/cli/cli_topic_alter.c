/*
 * cli_topic_alter.c: `runnel topic alter`: grow a topic's partitions
 * (CreatePartitions) and set or delete its configs.
 *
 * librdkafka 2.0 has only the non-incremental AlterConfigs, which replaces a
 * topic's whole set of configs; so the current topic-level configs are read
 * first (DescribeConfigs), merged with the changes, and written back as one
 * set. Never touches a config that was not set on the topic or named on the
 * command line.
 */
#include "cli/cli_int.h"

#include <string.h>

typedef struct alter_args {
    int64_t partitions;
    rn_cli_list_t sets;
    rn_cli_list_t deletes;
} alter_args_t;

static int alter_partitions(rn_cli_client_t *cl, const char *topic, int64_t count) {
    char errstr[512];
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(topic, (size_t)count, errstr, sizeof errstr);
    RN_ASSERT(np != NULL);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, &call);
    rd_kafka_CreatePartitions(cl->rk, &np, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "create partitions");
    int rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
        rd_kafka_resp_err_t err =
            n == 1 ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = RN_CLI_EXIT_OK;
        else
            rn_cli_fail_err(cl, "create partitions", err,
                            n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_NewPartitions_destroy(np);
    return rc;
}

static bool listed(const rn_cli_list_t *list, const char *name, bool kv) {
    size_t len = strlen(name);
    for (int i = 0; i < list->count; i++) {
        const char *item = list->items[i];
        if (kv ? (!strncmp(item, name, len) && item[len] == '=') : !strcmp(item, name)) return true;
    }
    return false;
}

/* The new full set: current topic-level configs minus deletes, plus sets. */
static int merge_configs(rn_cli_client_t *cl, const char *topic, const alter_args_t *a,
                         rd_kafka_ConfigResource_t *out) {
    const rd_kafka_ConfigResource_t *cur = NULL;
    rd_kafka_event_t *ev = rn_cli_topic_configs(cl, topic, &cur);
    if (ev == NULL) return RN_CLI_EXIT_FAIL;
    size_t n = 0;
    const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(cur, &n);
    int rc = RN_CLI_EXIT_OK;
    for (int d = 0; d < a->deletes.count; d++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= rd_kafka_ConfigEntry_source(entries[i]) ==
                         RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG &&
                     !strcmp(rd_kafka_ConfigEntry_name(entries[i]), a->deletes.items[d]);
        if (!found)
            rc = rn_cli_fail(cl->prog, "config '%s' is not set on topic '%s'", a->deletes.items[d],
                             topic);
    }
    for (size_t i = 0; i < n && rc == RN_CLI_EXIT_OK; i++) {
        const char *name = rd_kafka_ConfigEntry_name(entries[i]);
        if (rd_kafka_ConfigEntry_source(entries[i]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
            continue;
        if (listed(&a->deletes, name, false) || listed(&a->sets, name, true)) continue;
        rd_kafka_ConfigResource_set_config(out, name, rd_kafka_ConfigEntry_value(entries[i]));
    }
    for (int s = 0; s < a->sets.count && rc == RN_CLI_EXIT_OK; s++) {
        char key[256];
        const char *value;
        bool ok = rn_cli_split_kv(a->sets.items[s], key, sizeof key, &value);
        RN_ASSERT(ok);
        rd_kafka_ConfigResource_set_config(out, key, value);
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int alter_configs(rn_cli_client_t *cl, const char *topic, const alter_args_t *a) {
    rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    int rc = merge_configs(cl, topic, a, cr);
    if (rc != RN_CLI_EXIT_OK) {
        rd_kafka_ConfigResource_destroy(cr);
        return rc;
    }
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, &call);
    rd_kafka_AlterConfigs(cl->rk, &cr, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "alter configs");
    rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_ConfigResource_t **res =
            rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
        rd_kafka_resp_err_t err =
            n == 1 ? rd_kafka_ConfigResource_error(res[0]) : RD_KAFKA_RESP_ERR__BAD_MSG;
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
            rc = RN_CLI_EXIT_OK;
        else
            rn_cli_fail_err(cl, "alter configs", err,
                            n == 1 ? rd_kafka_ConfigResource_error_string(res[0]) : NULL);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_ConfigResource_destroy(cr);
    return rc;
}

static void alter_report(const rn_cli_common_t *common, const char *topic, const alter_args_t *a) {
    if (!common->json) {
        if (a->partitions > 0)
            printf("topic %s now has %lld partitions\n", topic, (long long)a->partitions);
        for (int i = 0; i < a->sets.count; i++)
            printf("set %s on topic %s\n", a->sets.items[i], topic);
        for (int i = 0; i < a->deletes.count; i++)
            printf("deleted config %s of topic %s\n", a->deletes.items[i], topic);
        return;
    }
    rn_cli_json_t js;
    rn_cli_json_init(&js, stdout);
    rn_cli_json_obj(&js, NULL);
    rn_cli_json_str(&js, "name", topic);
    rn_cli_json_bool(&js, "ok", true);
    if (a->partitions > 0) rn_cli_json_int(&js, "partitions", a->partitions);
    rn_cli_json_arr(&js, "set");
    for (int i = 0; i < a->sets.count; i++) rn_cli_json_str(&js, NULL, a->sets.items[i]);
    rn_cli_json_end_arr(&js);
    rn_cli_json_arr(&js, "deleted");
    for (int i = 0; i < a->deletes.count; i++) rn_cli_json_str(&js, NULL, a->deletes.items[i]);
    rn_cli_json_end_arr(&js);
    rn_cli_json_end_obj(&js);
    rn_cli_json_done(&js);
}

static int alter_validate(const rn_cli_cmd_t *cmd, const alter_args_t *a) {
    if (a->partitions == 0 && a->sets.count == 0 && a->deletes.count == 0)
        return rn_cli_usage_error(cmd, "nothing to change: give --config, --delete-config or "
                                       "--partitions");
    if (a->partitions < 0 || a->partitions > RN_CLI_PARTITIONS_MAX)
        return rn_cli_usage_error(cmd, "--partitions must be between 1 and %d",
                                  RN_CLI_PARTITIONS_MAX);
    for (int i = 0; i < a->sets.count; i++) {
        char key[256];
        const char *value;
        if (!rn_cli_split_kv(a->sets.items[i], key, sizeof key, &value))
            return rn_cli_usage_error(cmd, "--config '%s': expected KEY=VALUE", a->sets.items[i]);
        if (listed(&a->deletes, key, false))
            return rn_cli_usage_error(cmd, "config '%s' is both set and deleted", key);
    }
    return RN_CLI_CONTINUE;
}

int rn_cli_topic_alter(int argc, char **argv) {
    alter_args_t a = {0};
    const rn_cli_opt_t opts[] = {
        {"config", 'c', RN_CLI_OPT_LIST, &a.sets, "KEY=VALUE", "set a topic config (repeatable)"},
        {"delete-config", 0, RN_CLI_OPT_LIST, &a.deletes, "KEY",
         "remove a topic config, back to the broker default (repeatable)"},
        {"partitions", 'p', RN_CLI_OPT_INT, &a.partitions, "N",
         "grow the topic to N partitions (never shrinks)"},
    };
    const rn_cli_cmd_t cmd = {"runnel topic alter",
                              "TOPIC",
                              "Change a topic's configs or grow its partition count.",
                              NULL,
                              opts,
                              3,
                              1,
                              1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc == RN_CLI_CONTINUE) rc = alter_validate(&cmd, &a);
    if (rc != RN_CLI_CONTINUE) return rc;
    const char *topic = pos.items[0];
    rn_cli_client_t cl;
    const rd_kafka_metadata_t *md = NULL;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_metadata(&cl, &md);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_require_topics(&cl, md, &topic, 1);
    if (rc == RN_CLI_EXIT_OK && a.partitions > 0) rc = alter_partitions(&cl, topic, a.partitions);
    if (rc == RN_CLI_EXIT_OK && (a.sets.count > 0 || a.deletes.count > 0))
        rc = alter_configs(&cl, topic, &a);
    if (rc == RN_CLI_EXIT_OK) alter_report(&common, topic, &a);
    if (md) rd_kafka_metadata_destroy(md);
    rn_cli_client_close(&cl);
    return rc;
}
