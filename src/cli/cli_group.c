/*
 * cli_group.c: `runnel group list|delete` and the dispatch of the group
 * verbs (describe in cli_group_describe.c, reset-offsets in
 * cli_group_reset.c), over librdkafka's ListConsumerGroups and DeleteGroups.
 *
 * Owns one admin client per command. Deleting refuses nothing itself: the
 * broker refuses groups that still have members.
 */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

static int by_group_id(const void *a, const void *b) {
    return strcmp(
        rd_kafka_ConsumerGroupListing_group_id(*(const rd_kafka_ConsumerGroupListing_t *const *)a),
        rd_kafka_ConsumerGroupListing_group_id(*(const rd_kafka_ConsumerGroupListing_t *const *)b));
}

static void group_list_print(const rn_cli_common_t *common,
                             const rd_kafka_ConsumerGroupListing_t **groups, size_t n) {
    rn_cli_json_t js;
    rn_cli_table_t tab;
    static const char *const headers[] = {"GROUP", "STATE", "TYPE"};
    if (common->json) {
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_arr(&js, "groups");
    } else {
        rn_cli_table_init(&tab, 3, headers);
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = rd_kafka_ConsumerGroupListing_group_id(groups[i]);
        const char *state =
            rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]));
        bool simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(groups[i]);
        if (common->json) {
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_str(&js, "group", id);
            rn_cli_json_str(&js, "state", state);
            rn_cli_json_bool(&js, "simple", simple);
            rn_cli_json_end_obj(&js);
        } else {
            rn_cli_table_cell(&tab, "%s", id);
            rn_cli_table_cell(&tab, "%s", state);
            rn_cli_table_cell(&tab, "%s", simple ? "simple" : "consumer");
        }
    }
    if (common->json) {
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    } else {
        rn_cli_table_print(&tab, stdout);
        rn_cli_table_free(&tab);
    }
}

static int group_list_run(rn_cli_client_t *cl) {
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, &call);
    rd_kafka_ListConsumerGroups(cl->rk, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "list groups");
    rn_cli_admin_end(&call);
    if (ev == NULL) return RN_CLI_EXIT_FAIL;
    const rd_kafka_ListConsumerGroups_result_t *res = rd_kafka_event_ListConsumerGroups_result(ev);
    size_t n = 0, errs = 0;
    const rd_kafka_ConsumerGroupListing_t **valid =
        rd_kafka_ListConsumerGroups_result_valid(res, &n);
    const rd_kafka_error_t **errors = rd_kafka_ListConsumerGroups_result_errors(res, &errs);
    int rc = RN_CLI_EXIT_OK;
    for (size_t i = 0; i < errs; i++)
        rc = rn_cli_fail_err(cl, "list groups", rd_kafka_error_code(errors[i]),
                             rd_kafka_error_string(errors[i]));
    if (rc == RN_CLI_EXIT_OK) {
        const rd_kafka_ConsumerGroupListing_t **sorted = calloc(n + 1, sizeof *sorted);
        RN_ASSERT(sorted != NULL);
        if (n > 0) memcpy(sorted, valid, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, by_group_id);
        group_list_print(cl->common, sorted, n);
        free(sorted);
    }
    rd_kafka_event_destroy(ev);
    return rc;
}

static int group_list(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {
        "runnel group list", "", "List consumer groups.", NULL, NULL, 0, 0, 0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = group_list_run(&cl);
    rn_cli_client_close(&cl);
    return rc;
}

static int group_delete_report(rn_cli_client_t *cl, const rd_kafka_group_result_t **res, size_t n) {
    int rc = RN_CLI_EXIT_OK;
    rn_cli_json_t js;
    rn_cli_json_init(&js, stdout);
    if (cl->common->json) {
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_arr(&js, "groups");
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = rd_kafka_group_result_name(res[i]);
        const rd_kafka_error_t *error = rd_kafka_group_result_error(res[i]);
        if (cl->common->json) {
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_str(&js, "group", name);
            rn_cli_json_bool(&js, "ok", error == NULL);
            rn_cli_json_str(&js, "error", error ? rd_kafka_error_name(error) : NULL);
            rn_cli_json_end_obj(&js);
        } else if (error == NULL) {
            printf("deleted group %s\n", name);
        }
        if (error) {
            char what[512];
            snprintf(what, sizeof what, "group '%s'", name);
            rc =
                rn_cli_fail_err(cl, what, rd_kafka_error_code(error), rd_kafka_error_string(error));
        }
    }
    if (cl->common->json) {
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    }
    return rc;
}

/* DeleteGroups for every group named; reports each one. */
static int group_delete_send(rn_cli_client_t *cl, const rn_cli_list_t *pos) {
    rd_kafka_DeleteGroup_t *dels[RN_CLI_POSITIONAL_MAX];
    for (int i = 0; i < pos->count; i++) dels[i] = rd_kafka_DeleteGroup_new(pos->items[i]);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_DELETEGROUPS, &call);
    rd_kafka_DeleteGroups(cl->rk, dels, (size_t)pos->count, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "delete groups");
    int rc = RN_CLI_EXIT_FAIL;
    if (ev) {
        size_t n = 0;
        const rd_kafka_group_result_t **res =
            rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
        rc = group_delete_report(cl, res, n);
        rd_kafka_event_destroy(ev);
    }
    rn_cli_admin_end(&call);
    rd_kafka_DeleteGroup_destroy_array(dels, (size_t)pos->count);
    return rc;
}

static int group_delete(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {"runnel group delete",
                              "GROUP [GROUP...]",
                              "Delete consumer groups and their committed offsets (the groups "
                              "must have no members).",
                              NULL,
                              NULL,
                              0,
                              1,
                              RN_CLI_POSITIONAL_MAX};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_cli_client_t cl;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = group_delete_send(&cl, &pos);
    rn_cli_client_close(&cl);
    return rc;
}

int rn_cli_group(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"list", "list consumer groups", group_list},
        {"describe", "members, assignments, committed offsets and lag", rn_cli_group_describe},
        {"reset-offsets", "move committed offsets (dry run unless --execute)", rn_cli_group_reset},
        {"delete", "delete consumer groups", group_delete},
    };
    return rn_cli_dispatch("group", verbs, (int)(sizeof verbs / sizeof verbs[0]), argc, argv);
}
