/*
 * cli_topic.c: `runnel topic create|list|describe|alter|delete`, over
 * librdkafka's admin API (CreateTopics, DeleteTopics, CreatePartitions,
 * DescribeConfigs, AlterConfigs), metadata and watermark queries.
 *
 * Owns the admin client of one command. Never changes anything without an
 * explicit verb: list and describe only read.
 */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

static int by_name(const void *a, const void *b) {
    const rd_kafka_metadata_topic_t *ta = *(const rd_kafka_metadata_topic_t *const *)a;
    const rd_kafka_metadata_topic_t *tb = *(const rd_kafka_metadata_topic_t *const *)b;
    return strcmp(ta->topic, tb->topic);
}

/* Per-topic results of CreateTopics, DeleteTopics or CreatePartitions:
   prints them and returns the exit code. `ok_err` is an error that counts
   as success (TOPIC_ALREADY_EXISTS under --if-not-exists). */
static int report_topic_results(rn_cli_client_t *cl, const rd_kafka_topic_result_t **res, size_t n,
                                const char *done, rd_kafka_resp_err_t ok_err) {
    int rc = RN_CLI_EXIT_OK;
    rn_cli_json_t js;
    rn_cli_json_init(&js, stdout);
    if (cl->common->json) {
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_arr(&js, "topics");
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = rd_kafka_topic_result_name(res[i]);
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
        const char *errstr = rd_kafka_topic_result_error_string(res[i]);
        bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR || (ok_err && err == ok_err);
        if (cl->common->json) {
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_str(&js, "name", name);
            rn_cli_json_bool(&js, "ok", ok);
            rn_cli_json_str(&js, "error", err ? rd_kafka_err2name(err) : NULL);
            rn_cli_json_str(&js, "message", err ? (errstr ? errstr : rd_kafka_err2str(err)) : NULL);
            rn_cli_json_end_obj(&js);
        } else if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            printf("%s %s\n", done, name);
        } else if (ok) {
            printf("%s: %s\n", name, errstr ? errstr : rd_kafka_err2str(err));
        }
        if (!ok) {
            char what[512];
            snprintf(what, sizeof what, "topic '%s'", name);
            rn_cli_fail_err(cl, what, err, errstr);
            rc = RN_CLI_EXIT_FAIL;
        }
    }
    if (cl->common->json) {
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    }
    return rc;
}

/* ---- create ---- */

typedef struct topic_create_args {
    int64_t partitions, replication;
    rn_cli_list_t configs;
    bool if_not_exists;
} topic_create_args_t;

static int topic_create_send(rn_cli_client_t *cl, const topic_create_args_t *a,
                             const rn_cli_list_t *names) {
    rd_kafka_NewTopic_t *topics[RN_CLI_POSITIONAL_MAX];
    char errstr[512];
    for (int i = 0; i < names->count; i++) {
        topics[i] = rd_kafka_NewTopic_new(names->items[i], (int)a->partitions, (int)a->replication,
                                          errstr, sizeof errstr);
        RN_ASSERT(topics[i] != NULL);
        for (int c = 0; c < a->configs.count; c++) {
            char key[256];
            const char *value;
            bool split = rn_cli_split_kv(a->configs.items[c], key, sizeof key, &value);
            RN_ASSERT(split);
            rd_kafka_resp_err_t err = rd_kafka_NewTopic_set_config(topics[i], key, value);
            RN_ASSERT(err == RD_KAFKA_RESP_ERR_NO_ERROR);
        }
    }
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_CREATETOPICS, &call);
    rd_kafka_CreateTopics(cl->rk, topics, (size_t)names->count, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "create topics");
    int rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
        rc = report_topic_results(cl, res, n, "created topic",
                                  a->if_not_exists ? RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS : 0);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_NewTopic_destroy_array(topics, (size_t)names->count);
    return rc;
}

static int topic_create(int argc, char **argv) {
    topic_create_args_t a = {.partitions = -1, .replication = -1};
    const rn_cli_opt_t opts[] = {
        {"partitions", 'p', RN_CLI_OPT_INT, &a.partitions, "N",
         "partitions (default: the broker's num.partitions)"},
        {"replication-factor", 0, RN_CLI_OPT_INT, &a.replication, "N",
         "replicas of each partition (default: the broker's default.replication.factor)"},
        {"config", 'c', RN_CLI_OPT_LIST, &a.configs, "KEY=VALUE", "a topic config (repeatable)"},
        {"if-not-exists", 0, RN_CLI_OPT_FLAG, &a.if_not_exists, NULL,
         "succeed when the topic already exists"},
    };
    const rn_cli_cmd_t cmd = {"runnel topic create",
                              "TOPIC [TOPIC...]",
                              "Create topics.",
                              NULL,
                              opts,
                              (int)(sizeof opts / sizeof opts[0]),
                              1,
                              RN_CLI_POSITIONAL_MAX};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    if (a.partitions == 0 || a.partitions < -1 || a.partitions > RN_CLI_PARTITIONS_MAX)
        return rn_cli_usage_error(&cmd, "--partitions must be between 1 and %d",
                                  RN_CLI_PARTITIONS_MAX);
    if (a.replication == 0 || a.replication < -1 || a.replication > INT16_MAX)
        return rn_cli_usage_error(&cmd, "--replication-factor must be between 1 and %d", INT16_MAX);
    for (int c = 0; c < a.configs.count; c++) {
        char key[256];
        const char *value;
        if (!rn_cli_split_kv(a.configs.items[c], key, sizeof key, &value))
            return rn_cli_usage_error(&cmd, "--config '%s': expected KEY=VALUE",
                                      a.configs.items[c]);
    }
    rn_cli_client_t cl;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = topic_create_send(&cl, &a, &pos);
    rn_cli_client_close(&cl);
    return rc;
}

/* ---- list ---- */

static void topic_list_print(const rn_cli_common_t *common, const rd_kafka_metadata_topic_t **tops,
                             int count) {
    if (common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_arr(&js, "topics");
        for (int i = 0; i < count; i++) {
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_str(&js, "name", tops[i]->topic);
            rn_cli_json_int(&js, "partitions", tops[i]->partition_cnt);
            rn_cli_json_int(&js, "replication_factor",
                            tops[i]->partition_cnt ? tops[i]->partitions[0].replica_cnt : 0);
            rn_cli_json_end_obj(&js);
        }
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
        return;
    }
    static const char *const headers[] = {"TOPIC", "PARTITIONS", "REPLICATION"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 3, headers);
    for (int i = 0; i < count; i++) {
        rn_cli_table_cell(&tab, "%s", tops[i]->topic);
        rn_cli_table_cell(&tab, "%d", tops[i]->partition_cnt);
        rn_cli_table_cell(&tab, "%d",
                          tops[i]->partition_cnt ? tops[i]->partitions[0].replica_cnt : 0);
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
}

static int topic_list(int argc, char **argv) {
    bool internal = false;
    const rn_cli_opt_t opts[] = {
        {"internal", 'i', RN_CLI_OPT_FLAG, &internal, NULL,
         "include internal topics (names starting with __)"},
    };
    const rn_cli_cmd_t cmd = {"runnel topic list", "", "List topics.", NULL, opts, 1, 0, 0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    const rd_kafka_metadata_t *md = NULL;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_metadata(&cl, &md);
    if (rc == RN_CLI_EXIT_OK) {
        const rd_kafka_metadata_topic_t **tops = calloc((size_t)md->topic_cnt + 1, sizeof *tops);
        RN_ASSERT(tops != NULL);
        int count = 0;
        for (int i = 0; i < md->topic_cnt; i++)
            if (internal || strncmp(md->topics[i].topic, "__", 2) != 0)
                tops[count++] = &md->topics[i];
        qsort(tops, (size_t)count, sizeof *tops, by_name);
        topic_list_print(&common, tops, count);
        free(tops);
        rd_kafka_metadata_destroy(md);
    }
    rn_cli_client_close(&cl);
    return rc;
}

/* ---- delete ---- */

/* DeleteTopics for every topic named; an absent one is fine with
   --if-exists. */
static int topic_delete_send(rn_cli_client_t *cl, const rn_cli_list_t *pos, bool if_exists) {
    rd_kafka_DeleteTopic_t *dels[RN_CLI_POSITIONAL_MAX];
    for (int i = 0; i < pos->count; i++) dels[i] = rd_kafka_DeleteTopic_new(pos->items[i]);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_DELETETOPICS, &call);
    rd_kafka_DeleteTopics(cl->rk, dels, (size_t)pos->count, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "delete topics");
    int rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
        rc = report_topic_results(cl, res, n, "deleted topic",
                                  if_exists ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART : 0);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_DeleteTopic_destroy_array(dels, (size_t)pos->count);
    return rc;
}

static int topic_delete(int argc, char **argv) {
    bool if_exists = false;
    const rn_cli_opt_t opts[] = {
        {"if-exists", 0, RN_CLI_OPT_FLAG, &if_exists, NULL, "succeed when the topic is absent"},
    };
    const rn_cli_cmd_t cmd = {"runnel topic delete",
                              "TOPIC [TOPIC...]",
                              "Delete topics and all their records.",
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
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = topic_delete_send(&cl, &pos, if_exists);
    rn_cli_client_close(&cl);
    return rc;
}

/* ---- dispatch (describe in cli_topic_describe.c, alter in cli_topic_alter.c) ---- */

int rn_cli_topic(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"create", "create topics", topic_create},
        {"list", "list topics", topic_list},
        {"describe", "partitions, leaders, offsets and configs of topics", rn_cli_topic_describe},
        {"alter", "change a topic's configs or grow its partitions", rn_cli_topic_alter},
        {"delete", "delete topics", topic_delete},
    };
    return rn_cli_dispatch("topic", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc, argv);
}
