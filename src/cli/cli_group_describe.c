/*
 * cli_group_describe.c: `runnel group describe`: a consumer group's state,
 * coordinator and members with their assignments, and per partition the
 * committed offset, the end offset and the lag, with the total lag.
 * Also the group look-ups the other group tools share
 * (DescribeConsumerGroups, ListConsumerGroupOffsets).
 *
 * Read only. Owns the admin result events held in rn_cli_group_info_t
 * until rn_cli_group_info_free.
 */
#include "cli/cli_int.h"

#include <string.h>

int rn_cli_group_describe_one(rn_cli_client_t *cl, const char *group, rn_cli_group_info_t *info) {
    RN_ASSERT(cl->rk != NULL && group != NULL);
    RN_ASSERT(info->desc_ev == NULL);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, &call);
    rd_kafka_DescribeConsumerGroups(cl->rk, &group, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "describe group");
    rn_cli_admin_end(&call);
    if (ev == NULL) return RN_CLI_EXIT_FAIL;
    size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t **descs =
        rd_kafka_DescribeConsumerGroups_result_groups(
            rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    const rd_kafka_error_t *error =
        n == 1 ? rd_kafka_ConsumerGroupDescription_error(descs[0]) : NULL;
    if (n != 1 || error) {
        char what[512];
        snprintf(what, sizeof what, "group '%s'", group);
        rn_cli_fail_err(cl, what, error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR__BAD_MSG,
                        error ? rd_kafka_error_string(error) : NULL);
        rd_kafka_event_destroy(ev);
        return RN_CLI_EXIT_FAIL;
    }
    info->desc_ev = ev;
    info->desc = descs[0];
    return RN_CLI_EXIT_OK;
}

int rn_cli_group_committed(rn_cli_client_t *cl, const char *group, rn_cli_group_info_t *info) {
    RN_ASSERT(cl->rk != NULL && group != NULL);
    RN_ASSERT(info->offs_ev == NULL);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, &call);
    rd_kafka_ListConsumerGroupOffsets(cl->rk, &req, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "committed offsets");
    rn_cli_admin_end(&call);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    if (ev == NULL) return RN_CLI_EXIT_FAIL;
    size_t n = 0;
    const rd_kafka_group_result_t **res = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_error_t *error = n == 1 ? rd_kafka_group_result_error(res[0]) : NULL;
    if (n != 1 || error) {
        rn_cli_fail_err(cl, "committed offsets",
                        error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR__BAD_MSG,
                        error ? rd_kafka_error_string(error) : NULL);
        rd_kafka_event_destroy(ev);
        return RN_CLI_EXIT_FAIL;
    }
    info->offs_ev = ev;
    info->committed = rd_kafka_group_result_partitions(res[0]);
    return RN_CLI_EXIT_OK;
}

void rn_cli_group_info_free(rn_cli_group_info_t *info) {
    if (info->desc_ev) rd_kafka_event_destroy(info->desc_ev);
    if (info->offs_ev) rd_kafka_event_destroy(info->offs_ev);
    memset(info, 0, sizeof *info);
}

/* The member a partition is assigned to, or NULL. */
static const rd_kafka_MemberDescription_t *owner(const rd_kafka_ConsumerGroupDescription_t *desc,
                                                 const char *topic, int32_t partition) {
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(desc);
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_topic_partition_list_t *parts =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        if (parts && rd_kafka_topic_partition_list_find(parts, topic, partition)) return md;
    }
    return NULL;
}

/* Committed partitions plus assigned ones without a commit, sorted. */
static rd_kafka_topic_partition_list_t *group_rows(const rn_cli_group_info_t *info) {
    rd_kafka_topic_partition_list_t *rows = rd_kafka_topic_partition_list_new(0);
    for (int i = 0; i < info->committed->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &info->committed->elems[i];
        if (c->offset < 0 && owner(info->desc, c->topic, c->partition) == NULL) continue;
        rd_kafka_topic_partition_list_add(rows, c->topic, c->partition)->offset = c->offset;
    }
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(info->desc);
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_topic_partition_list_t *parts =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(
                rd_kafka_ConsumerGroupDescription_member(info->desc, m)));
        for (int i = 0; parts && i < parts->cnt; i++)
            if (!rd_kafka_topic_partition_list_find(rows, parts->elems[i].topic,
                                                    parts->elems[i].partition))
                rd_kafka_topic_partition_list_add(rows, parts->elems[i].topic,
                                                  parts->elems[i].partition)
                    ->offset = RD_KAFKA_OFFSET_INVALID;
    }
    rd_kafka_topic_partition_list_sort(rows, NULL, NULL);
    return rows;
}

static void describe_members_json(rn_cli_json_t *js,
                                  const rd_kafka_ConsumerGroupDescription_t *desc) {
    rn_cli_json_arr(js, "members");
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(desc);
    for (size_t m = 0; m < members; m++) {
        const rd_kafka_MemberDescription_t *md = rd_kafka_ConsumerGroupDescription_member(desc, m);
        const rd_kafka_topic_partition_list_t *parts =
            rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(md));
        rn_cli_json_obj(js, NULL);
        rn_cli_json_str(js, "member_id", rd_kafka_MemberDescription_consumer_id(md));
        rn_cli_json_str(js, "client_id", rd_kafka_MemberDescription_client_id(md));
        rn_cli_json_str(js, "host", rd_kafka_MemberDescription_host(md));
        rn_cli_json_str(js, "instance_id", rd_kafka_MemberDescription_group_instance_id(md));
        rn_cli_json_arr(js, "assignments");
        for (int i = 0; parts && i < parts->cnt; i++) {
            rn_cli_json_obj(js, NULL);
            rn_cli_json_str(js, "topic", parts->elems[i].topic);
            rn_cli_json_int(js, "partition", parts->elems[i].partition);
            rn_cli_json_end_obj(js);
        }
        rn_cli_json_end_arr(js);
        rn_cli_json_end_obj(js);
    }
    rn_cli_json_end_arr(js);
}

typedef struct group_row {
    const char *topic;
    int32_t partition;
    int64_t committed, end, lag; /* -1: none */
    const rd_kafka_MemberDescription_t *member;
} group_row_t;

static void row_json(rn_cli_json_t *js, const group_row_t *r) {
    rn_cli_json_obj(js, NULL);
    rn_cli_json_str(js, "topic", r->topic);
    rn_cli_json_int(js, "partition", r->partition);
    if (r->committed >= 0)
        rn_cli_json_int(js, "committed", r->committed);
    else
        rn_cli_json_null(js, "committed");
    if (r->end >= 0)
        rn_cli_json_int(js, "end", r->end);
    else
        rn_cli_json_null(js, "end");
    if (r->lag >= 0)
        rn_cli_json_int(js, "lag", r->lag);
    else
        rn_cli_json_null(js, "lag");
    rn_cli_json_str(js, "member_id",
                    r->member ? rd_kafka_MemberDescription_consumer_id(r->member) : NULL);
    rn_cli_json_end_obj(js);
}

static void row_cells(rn_cli_table_t *tab, const group_row_t *r) {
    rn_cli_table_cell(tab, "%s", r->topic);
    rn_cli_table_cell(tab, "%d", r->partition);
    if (r->committed >= 0)
        rn_cli_table_cell(tab, "%lld", (long long)r->committed);
    else
        rn_cli_table_cell(tab, "-");
    if (r->end >= 0)
        rn_cli_table_cell(tab, "%lld", (long long)r->end);
    else
        rn_cli_table_cell(tab, "-");
    if (r->lag >= 0)
        rn_cli_table_cell(tab, "%lld", (long long)r->lag);
    else
        rn_cli_table_cell(tab, "-");
    rn_cli_table_cell(tab, "%s",
                      r->member ? rd_kafka_MemberDescription_consumer_id(r->member) : "-");
    rn_cli_table_cell(tab, "%s", r->member ? rd_kafka_MemberDescription_host(r->member) : "-");
}

/* The partition rows, with end offsets and lag; returns the total lag. */
static int64_t describe_rows(rn_cli_client_t *cl, const rn_cli_group_info_t *info,
                             rn_cli_json_t *js, rn_cli_table_t *tab) {
    rd_kafka_topic_partition_list_t *rows = group_rows(info);
    int64_t total = 0;
    if (js) rn_cli_json_arr(js, "partitions");
    for (int i = 0; i < rows->cnt; i++) {
        group_row_t r = {rows->elems[i].topic,
                         rows->elems[i].partition,
                         rows->elems[i].offset,
                         -1,
                         -1,
                         owner(info->desc, rows->elems[i].topic, rows->elems[i].partition)};
        int64_t low = -1;
        rd_kafka_resp_err_t err = rn_cli_watermarks(cl, r.topic, r.partition, &low, &r.end);
        if (err) {
            rn_cli_warn(cl->prog, "end offset of %s/%d: %s", r.topic, r.partition,
                        rd_kafka_err2str(err));
            r.end = -1;
        }
        if (r.committed < 0) r.committed = -1;
        if (r.committed >= 0 && r.end >= 0) r.lag = r.end > r.committed ? r.end - r.committed : 0;
        total += r.lag > 0 ? r.lag : 0;
        if (js)
            row_json(js, &r);
        else
            row_cells(tab, &r);
    }
    if (js) rn_cli_json_end_arr(js);
    rd_kafka_topic_partition_list_destroy(rows);
    return total;
}

static void describe_print(rn_cli_client_t *cl, const char *group,
                           const rn_cli_group_info_t *info) {
    const rd_kafka_ConsumerGroupDescription_t *desc = info->desc;
    const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(desc);
    const char *state =
        rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(desc));
    const char *assignor = rd_kafka_ConsumerGroupDescription_partition_assignor(desc);
    size_t members = rd_kafka_ConsumerGroupDescription_member_count(desc);
    if (cl->common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_str(&js, "group", group);
        rn_cli_json_str(&js, "state", state);
        rn_cli_json_int(&js, "coordinator", coord ? rd_kafka_Node_id(coord) : -1);
        rn_cli_json_str(&js, "assignor", assignor && *assignor ? assignor : NULL);
        describe_members_json(&js, desc);
        rn_cli_json_int(&js, "total_lag", describe_rows(cl, info, &js, NULL));
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
        return;
    }
    static const char *const headers[] = {"TOPIC", "PARTITION", "COMMITTED", "END",
                                          "LAG",   "MEMBER",    "HOST"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 7, headers);
    int64_t total = describe_rows(cl, info, NULL, &tab);
    printf("GROUP %s  STATE %s  COORDINATOR %d  ASSIGNOR %s  MEMBERS %zu  TOTAL LAG %lld\n", group,
           state, coord ? rd_kafka_Node_id(coord) : -1, assignor && *assignor ? assignor : "-",
           members, (long long)total);
    if (tab.cell_count > 0)
        rn_cli_table_print(&tab, stdout);
    else
        printf("(no committed offsets and no assignments)\n");
    rn_cli_table_free(&tab);
}

int rn_cli_group_describe(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {"runnel group describe",
                              "GROUP [GROUP...]",
                              "Show a group's members, assignments, committed and end offsets "
                              "and lag.",
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
    for (int i = 0; i < pos.count && rc == RN_CLI_EXIT_OK; i++) {
        rn_cli_group_info_t info = {0};
        rc = rn_cli_group_describe_one(&cl, pos.items[i], &info);
        if (rc == RN_CLI_EXIT_OK) rc = rn_cli_group_committed(&cl, pos.items[i], &info);
        rd_kafka_consumer_group_state_t state =
            rc == RN_CLI_EXIT_OK ? rd_kafka_ConsumerGroupDescription_state(info.desc) : 0;
        if (rc == RN_CLI_EXIT_OK && info.committed->cnt == 0 &&
            rd_kafka_ConsumerGroupDescription_member_count(info.desc) == 0 &&
            (state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD ||
             state == RD_KAFKA_CONSUMER_GROUP_STATE_UNKNOWN))
            rc = rn_cli_fail(cmd.prog, "unknown group '%s'", pos.items[i]);
        if (rc == RN_CLI_EXIT_OK) {
            if (i > 0 && !common.json) printf("\n");
            describe_print(&cl, pos.items[i], &info);
        }
        rn_cli_group_info_free(&info);
    }
    rn_cli_client_close(&cl);
    return rc;
}
