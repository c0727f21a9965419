/*
 * cli_group_reset.c: `runnel group reset-offsets`: compute new committed
 * offsets for a group's partitions (earliest, latest, an offset, a point in
 * time, or a shift from the current offset, always clamped to the
 * partition's low..high watermarks), print them, and with --execute commit
 * them (AlterConsumerGroupOffsets).
 *
 * A dry run unless --execute. Refuses a group that has members: offsets of
 * a live group would be overwritten by its next commit.
 */
#include "cli/cli_int.h"

#include <stdlib.h>
#include <string.h>

typedef enum reset_to {
    RESET_EARLIEST,
    RESET_LATEST,
    RESET_OFFSET,
    RESET_TIME,
    RESET_SHIFT
} reset_to_t;

typedef struct reset_args {
    const char *group;
    rn_cli_list_t topics;
    bool all_topics, earliest, latest, execute;
    const char *offset_text, *datetime, *shift_text;
    reset_to_t to;
    int64_t value; /* the offset, the time in ms, or the shift */
} reset_args_t;

static int reset_validate(const rn_cli_cmd_t *cmd, reset_args_t *a) {
    int targets = a->earliest + a->latest + (a->offset_text != NULL) + (a->datetime != NULL) +
                  (a->shift_text != NULL);
    if (targets != 1)
        return rn_cli_usage_error(cmd, "give exactly one of --to-earliest, --to-latest, "
                                       "--to-offset, --to-datetime and --shift-by");
    if (a->topics.count == 0 && !a->all_topics)
        return rn_cli_usage_error(cmd, "give --topic TOPIC[:P,...] or --all-topics");
    if (a->topics.count > 0 && a->all_topics)
        return rn_cli_usage_error(cmd, "give --topic or --all-topics, not both");
    a->to = a->earliest      ? RESET_EARLIEST
            : a->latest      ? RESET_LATEST
            : a->offset_text ? RESET_OFFSET
            : a->datetime    ? RESET_TIME
                             : RESET_SHIFT;
    if (a->offset_text && (!rn_cli_parse_i64(a->offset_text, &a->value) || a->value < 0))
        return rn_cli_usage_error(cmd, "--to-offset must be 0 or more");
    if (a->shift_text && !rn_cli_parse_i64(a->shift_text, &a->value))
        return rn_cli_usage_error(cmd, "--shift-by must be an integer");
    if (a->datetime && !rn_cli_parse_time_ms(a->datetime, &a->value))
        return rn_cli_usage_error(cmd,
                                  "--to-datetime '%s': expected ISO 8601 "
                                  "(2024-05-01T12:00:00[.000][Z|+hh:mm]) or milliseconds",
                                  a->datetime);
    return RN_CLI_CONTINUE;
}

/* Adds "TOPIC" (every partition) or "TOPIC:P,P" to parts. */
static int add_topic_spec(rn_cli_client_t *cl, const rd_kafka_metadata_t *md, const char *spec,
                          rd_kafka_topic_partition_list_t *parts) {
    char topic[512];
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    if (len == 0 || len >= sizeof topic) return rn_cli_fail(cl->prog, "bad --topic '%s'", spec);
    memcpy(topic, spec, len);
    topic[len] = '\0';
    const rd_kafka_metadata_topic_t *mt = rn_cli_md_topic(md, topic);
    if (mt == NULL) return rn_cli_fail(cl->prog, "unknown topic '%s'", topic);
    if (colon == NULL) {
        for (int p = 0; p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(parts, topic, mt->partitions[p].id);
        return RN_CLI_EXIT_OK;
    }
    for (const char *p = colon + 1; *p;) {
        char *end = NULL;
        long id = strtol(p, &end, 10);
        if (end == p || id < 0 || id >= mt->partition_cnt || (*end != ',' && *end != '\0'))
            return rn_cli_fail(cl->prog, "--topic '%s': topic '%s' has partitions 0..%d", spec,
                               topic, mt->partition_cnt - 1);
        rd_kafka_topic_partition_list_add(parts, topic, (int32_t)id);
        p = *end == ',' ? end + 1 : end;
    }
    return RN_CLI_EXIT_OK;
}

/* Offsets at a.value ms for every partition in parts, into times (offset -1: none). */
static int offsets_at(rn_cli_client_t *cl, int64_t ms, const rd_kafka_topic_partition_list_t *parts,
                      rd_kafka_topic_partition_list_t **times) {
    *times = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < (*times)->cnt; i++) (*times)->elems[i].offset = ms;
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(cl->rk, *times, (int)cl->common->timeout_ms);
    if (err) return rn_cli_fail_err(cl, "offsets for time", err, NULL);
    for (int i = 0; i < (*times)->cnt; i++)
        if ((*times)->elems[i].err)
            return rn_cli_fail_err(cl, "offsets for time", (*times)->elems[i].err, NULL);
    return RN_CLI_EXIT_OK;
}

/* Sets each element's offset to its new value, and current[i] to the
   committed one (-1: none). */
static int compute_offsets(rn_cli_client_t *cl, const reset_args_t *a,
                           const rn_cli_group_info_t *info, rd_kafka_topic_partition_list_t *parts,
                           int64_t *current) {
    rd_kafka_topic_partition_list_t *times = NULL;
    int rc = a->to == RESET_TIME ? offsets_at(cl, a->value, parts, &times) : RN_CLI_EXIT_OK;
    for (int i = 0; i < parts->cnt && rc == RN_CLI_EXIT_OK; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        const rd_kafka_topic_partition_t *c =
            rd_kafka_topic_partition_list_find(info->committed, tp->topic, tp->partition);
        int64_t cur = c && c->offset >= 0 ? c->offset : -1, low = 0, high = 0, want = 0;
        rd_kafka_resp_err_t err = rn_cli_watermarks(cl, tp->topic, tp->partition, &low, &high);
        if (err) {
            rc = rn_cli_fail_err(cl, "watermarks", err, NULL);
            break;
        }
        switch (a->to) {
        case RESET_EARLIEST:
            want = low;
            break;
        case RESET_LATEST:
            want = high;
            break;
        case RESET_OFFSET:
            want = a->value;
            break;
        case RESET_TIME:
            want = times->elems[i].offset >= 0 ? times->elems[i].offset : high;
            break;
        case RESET_SHIFT:
            want = (cur >= 0 ? cur : low) + a->value;
            break;
        }
        tp->offset = want < low ? low : want > high ? high : want;
        current[i] = cur;
    }
    if (times) rd_kafka_topic_partition_list_destroy(times);
    return rc;
}

static void reset_report(const rn_cli_common_t *common, const reset_args_t *a,
                         const rd_kafka_topic_partition_list_t *parts, const int64_t *current) {
    if (common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_str(&js, "group", a->group);
        rn_cli_json_bool(&js, "executed", a->execute);
        rn_cli_json_arr(&js, "partitions");
        for (int i = 0; i < parts->cnt; i++) {
            int64_t cur = current[i];
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_str(&js, "topic", parts->elems[i].topic);
            rn_cli_json_int(&js, "partition", parts->elems[i].partition);
            if (cur >= 0)
                rn_cli_json_int(&js, "current", cur);
            else
                rn_cli_json_null(&js, "current");
            rn_cli_json_int(&js, "new", parts->elems[i].offset);
            rn_cli_json_end_obj(&js);
        }
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
        return;
    }
    static const char *const headers[] = {"TOPIC", "PARTITION", "CURRENT", "NEW"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 4, headers);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t cur = current[i];
        rn_cli_table_cell(&tab, "%s", parts->elems[i].topic);
        rn_cli_table_cell(&tab, "%d", parts->elems[i].partition);
        if (cur >= 0)
            rn_cli_table_cell(&tab, "%lld", (long long)cur);
        else
            rn_cli_table_cell(&tab, "-");
        rn_cli_table_cell(&tab, "%lld", (long long)parts->elems[i].offset);
    }
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
    printf(a->execute ? "offsets of group %s reset\n"
                      : "dry run: nothing changed; add --execute to reset group %s\n",
           a->group);
}

static int reset_commit(rn_cli_client_t *cl, const char *group,
                        const rd_kafka_topic_partition_list_t *parts) {
    rd_kafka_AlterConsumerGroupOffsets_t *req =
        rd_kafka_AlterConsumerGroupOffsets_new(group, parts);
    rn_cli_admin_t call;
    rn_cli_admin_begin(cl, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, &call);
    rd_kafka_AlterConsumerGroupOffsets(cl->rk, &req, 1, call.opt, call.queue);
    rd_kafka_event_t *ev = rn_cli_admin_wait(cl, &call, "commit offsets");
    rn_cli_admin_end(&call);
    rd_kafka_AlterConsumerGroupOffsets_destroy(req);
    if (ev == NULL) return RN_CLI_EXIT_FAIL;
    size_t n = 0;
    const rd_kafka_group_result_t **res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_error_t *error = n == 1 ? rd_kafka_group_result_error(res[0]) : NULL;
    int rc = RN_CLI_EXIT_OK;
    if (n != 1 || error)
        rc = rn_cli_fail_err(cl, "commit offsets",
                             error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR__BAD_MSG,
                             error ? rd_kafka_error_string(error) : NULL);
    const rd_kafka_topic_partition_list_t *got =
        n == 1 ? rd_kafka_group_result_partitions(res[0]) : NULL;
    for (int i = 0; got && i < got->cnt && rc == RN_CLI_EXIT_OK; i++)
        if (got->elems[i].err) rc = rn_cli_fail_err(cl, "commit offsets", got->elems[i].err, NULL);
    rd_kafka_event_destroy(ev);
    return rc;
}

/* The partitions to reset: the named topics, or every committed one. */
static int reset_partitions(rn_cli_client_t *cl, const reset_args_t *a,
                            const rn_cli_group_info_t *info,
                            rd_kafka_topic_partition_list_t *parts) {
    const rd_kafka_metadata_t *md = NULL;
    int rc = rn_cli_metadata(cl, &md);
    for (int i = 0; i < a->topics.count && rc == RN_CLI_EXIT_OK; i++)
        rc = add_topic_spec(cl, md, a->topics.items[i], parts);
    for (int i = 0; a->all_topics && i < info->committed->cnt && rc == RN_CLI_EXIT_OK; i++)
        if (info->committed->elems[i].offset >= 0 &&
            rn_cli_md_topic(md, info->committed->elems[i].topic))
            rd_kafka_topic_partition_list_add(parts, info->committed->elems[i].topic,
                                              info->committed->elems[i].partition);
    if (md) rd_kafka_metadata_destroy(md);
    if (rc == RN_CLI_EXIT_OK && parts->cnt == 0)
        rc = rn_cli_fail(cl->prog, "group '%s' has no committed offsets to reset", a->group);
    rd_kafka_topic_partition_list_sort(parts, NULL, NULL);
    return rc;
}

static int reset_run(rn_cli_client_t *cl, const reset_args_t *a) {
    rn_cli_group_info_t info = {0};
    int rc = rn_cli_group_describe_one(cl, a->group, &info);
    if (rc == RN_CLI_EXIT_OK) {
        rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(info.desc);
        if (state != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY &&
            state != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD)
            rc = rn_cli_fail(cl->prog,
                             "group '%s' is not empty (state %s): stop its consumers "
                             "before resetting its offsets",
                             a->group, rd_kafka_consumer_group_state_name(state));
    }
    if (rc == RN_CLI_EXIT_OK) rc = rn_cli_group_committed(cl, a->group, &info);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(0);
    if (rc == RN_CLI_EXIT_OK) rc = reset_partitions(cl, a, &info, parts);
    int64_t *current = calloc((size_t)parts->cnt + 1, sizeof *current);
    RN_ASSERT(current != NULL);
    if (rc == RN_CLI_EXIT_OK) rc = compute_offsets(cl, a, &info, parts, current);
    if (rc == RN_CLI_EXIT_OK && a->execute) rc = reset_commit(cl, a->group, parts);
    if (rc == RN_CLI_EXIT_OK) reset_report(cl->common, a, parts, current);
    free(current);
    rd_kafka_topic_partition_list_destroy(parts);
    rn_cli_group_info_free(&info);
    return rc;
}

int rn_cli_group_reset(int argc, char **argv) {
    reset_args_t a = {0};
    const rn_cli_opt_t opts[] = {
        {"topic", 't', RN_CLI_OPT_LIST, &a.topics, "TOPIC[:P,...]",
         "reset this topic, or only these partitions of it (repeatable)"},
        {"all-topics", 0, RN_CLI_OPT_FLAG, &a.all_topics, NULL,
         "reset every partition the group has committed"},
        {"to-earliest", 0, RN_CLI_OPT_FLAG, &a.earliest, NULL, "to the first offset"},
        {"to-latest", 0, RN_CLI_OPT_FLAG, &a.latest, NULL, "to the end"},
        {"to-offset", 0, RN_CLI_OPT_STR, &a.offset_text, "N", "to offset N"},
        {"to-datetime", 0, RN_CLI_OPT_STR, &a.datetime, "ISO8601",
         "to the first record at or after this time (no zone: local time)"},
        {"shift-by", 0, RN_CLI_OPT_STR, &a.shift_text, "N",
         "move the committed offset by N (negative: back)"},
        {"execute", 0, RN_CLI_OPT_FLAG, &a.execute, NULL,
         "commit the new offsets (without it, only show them)"},
    };
    const rn_cli_cmd_t cmd = {
        "runnel group reset-offsets",
        "GROUP",
        "Reset a consumer group's committed offsets (a dry run unless --execute).",
        "New offsets are clamped to each partition's first and end offsets. The group\n"
        "must have no members.\n",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        1,
        1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc == RN_CLI_CONTINUE) rc = reset_validate(&cmd, &a);
    if (rc != RN_CLI_CONTINUE) return rc;
    a.group = pos.items[0];
    rn_cli_client_t cl;
    rc = rn_cli_client_open(&cl, &common, cmd.prog);
    if (rc == RN_CLI_EXIT_OK) rc = reset_run(&cl, &a);
    rn_cli_client_close(&cl);
    return rc;
}
