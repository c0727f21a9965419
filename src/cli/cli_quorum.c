/*
 * cli_quorum.c: `runnel cluster quorum describe | add-voter | remove-voter`
 * and the quorum part of `runnel cluster describe`: DescribeQuorum,
 * AddRaftVoter and RemoveRaftVoter of the metadata log, sent with the raw
 * client (cli_wire.c) to any broker, which forwards them to the active
 * controller (Kafka 3.9 brokers do the same).
 *
 * Owns one connection and one arena for the length of a command. Prints
 * Kafka's error name and message when the cluster refuses a change.
 */
#include "cli/cli_int.h"

#include "proto/gen/add_raft_voter_request.h"
#include "proto/gen/add_raft_voter_response.h"
#include "proto/gen/api.h"
#include "proto/gen/describe_quorum_request.h"
#include "proto/gen/describe_quorum_response.h"
#include "proto/gen/remove_raft_voter_request.h"
#include "proto/gen/remove_raft_voter_response.h"
#include "proto/kerr.h"
#include "proto/uuid_text.h"

#include <string.h>
#include <time.h>

#define QUORUM_TOPIC "__cluster_metadata"
/* DescribeQuorum v2 carries directory ids; Kafka 3.9 and Runnel serve it. */
#define QUORUM_DQ_VERSION 2
/* Arena budget of one quorum command: a quorum answer is a few KiB. */
#define QUORUM_ARENA_BYTES (4 * 1024 * 1024)
/* The listener name AddRaftVoter gives by default: Kafka's usual controller
   listener name. */
#define QUORUM_LISTENER_DEFAULT "CONTROLLER"

typedef rn_describe_quorum_response_partition_data_t quorum_part_t;
typedef rn_describe_quorum_response_replica_state_t quorum_replica_t;

static int64_t quorum_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quorum_str(rn_str_t s, char *out, size_t size) {
    if (s.len < 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, size, "%.*s", (int)s.len, s.ptr);
}

/* Prints "prog: what: NAME: message" for a Kafka error; returns RN_CLI_EXIT_FAIL. */
static int quorum_fail_code(const char *prog, const char *what, int16_t code, rn_str_t message) {
    char msg[512];
    quorum_str(message, msg, sizeof msg);
    return rn_cli_fail(prog, "%s: %s%s%s", what, rn_kerr_name(code), msg[0] ? ": " : "", msg);
}

/* DescribeQuorum of __cluster_metadata-0; *part on success. */
static int quorum_fetch(rn_cli_wire_t *w, rn_arena_t *arena, const quorum_part_t **part) {
    rn_describe_quorum_request_partition_data_t p;
    rn_describe_quorum_request_partition_data_init(&p);
    p.partition_index = 0;
    rn_describe_quorum_request_topic_data_t topic;
    rn_describe_quorum_request_topic_data_init(&topic);
    topic.topic_name = rn_str_from_cstr(QUORUM_TOPIC);
    topic.partitions.items = &p;
    topic.partitions.count = 1;
    rn_describe_quorum_request_t req;
    rn_describe_quorum_request_init(&req);
    req.topics.items = &topic;
    req.topics.count = 1;
    rn_describe_quorum_response_t resp;
    int rc = rn_cli_wire_call(w, RN_API_DESCRIBE_QUORUM, QUORUM_DQ_VERSION, &req, arena, &resp);
    if (rc != RN_CLI_EXIT_OK) return rc;
    if (resp.error_code != 0)
        return quorum_fail_code(w->prog, "DescribeQuorum", resp.error_code, resp.error_message);
    if (resp.topics.count != 1 || resp.topics.items[0].partitions.count != 1)
        return rn_cli_fail(w->prog, "DescribeQuorum: the answer has no %s-0", QUORUM_TOPIC);
    *part = &resp.topics.items[0].partitions.items[0];
    if ((*part)->error_code != 0)
        return quorum_fail_code(w->prog, "DescribeQuorum", (*part)->error_code,
                                (*part)->error_message);
    return RN_CLI_EXIT_OK;
}

static int64_t quorum_leader_end(const quorum_part_t *part) {
    for (int32_t i = 0; i < part->current_voters.count; i++)
        if (part->current_voters.items[i].replica_id == part->leader_id)
            return part->current_voters.items[i].log_end_offset;
    return part->high_watermark;
}

static void quorum_json_replicas(rn_cli_json_t *js, const char *key, const quorum_part_t *part,
                                 const rn_describe_quorum_response_replica_state_array_t *arr) {
    int64_t leader_end = quorum_leader_end(part);
    rn_cli_json_arr(js, key);
    for (int32_t i = 0; i < arr->count; i++) {
        const quorum_replica_t *r = &arr->items[i];
        char dir[32];
        rn_uuid_to_text(&r->replica_directory_id, dir);
        rn_cli_json_obj(js, NULL);
        rn_cli_json_int(js, "id", r->replica_id);
        rn_cli_json_str(js, "directory_id", dir);
        rn_cli_json_bool(js, "leader", r->replica_id == part->leader_id);
        rn_cli_json_int(js, "log_end", r->log_end_offset);
        rn_cli_json_int(js, "lag", r->log_end_offset < 0 ? -1 : leader_end - r->log_end_offset);
        rn_cli_json_int(js, "last_fetch_ms", r->last_fetch_timestamp);
        rn_cli_json_int(js, "last_caught_up_ms", r->last_caught_up_timestamp);
        rn_cli_json_end_obj(js);
    }
    rn_cli_json_end_arr(js);
}

static void quorum_json(rn_cli_json_t *js, const quorum_part_t *part) {
    rn_cli_json_obj(js, "quorum");
    rn_cli_json_int(js, "leader", part->leader_id);
    rn_cli_json_int(js, "epoch", part->leader_epoch);
    rn_cli_json_int(js, "high_watermark", part->high_watermark);
    quorum_json_replicas(js, "voters", part, &part->current_voters);
    quorum_json_replicas(js, "observers", part, &part->observers);
    rn_cli_json_end_obj(js);
}

static void quorum_rows(rn_cli_table_t *tab, const quorum_part_t *part, bool voters, int64_t now) {
    const rn_describe_quorum_response_replica_state_array_t *arr =
        voters ? &part->current_voters : &part->observers;
    int64_t leader_end = quorum_leader_end(part);
    for (int32_t i = 0; i < arr->count; i++) {
        const quorum_replica_t *r = &arr->items[i];
        char dir[32];
        rn_uuid_to_text(&r->replica_directory_id, dir);
        const char *role = !voters                            ? "observer"
                           : r->replica_id == part->leader_id ? "leader"
                                                              : "follower";
        rn_cli_table_cell(tab, "%d", r->replica_id);
        rn_cli_table_cell(tab, "%s", role);
        rn_cli_table_cell(tab, "%s", dir);
        rn_cli_table_cell(tab, "%lld", (long long)r->log_end_offset);
        if (r->log_end_offset < 0)
            rn_cli_table_cell(tab, "-");
        else
            rn_cli_table_cell(tab, "%lld", (long long)(leader_end - r->log_end_offset));
        if (r->replica_id == part->leader_id && voters)
            rn_cli_table_cell(tab, "-");
        else if (r->last_fetch_timestamp < 0)
            rn_cli_table_cell(tab, "never");
        else
            rn_cli_table_cell(
                tab, "%lld ms ago",
                (long long)(now > r->last_fetch_timestamp ? now - r->last_fetch_timestamp : 0));
    }
}

static void quorum_print(const quorum_part_t *part) {
    printf("QUORUM LEADER %d  EPOCH %d  HIGH WATERMARK %lld  VOTERS %d  OBSERVERS %d\n",
           part->leader_id, part->leader_epoch, (long long)part->high_watermark,
           part->current_voters.count, part->observers.count);
    static const char *const headers[] = {"NODE",    "ROLE", "DIRECTORY",
                                          "LOG END", "LAG",  "LAST CONTACT"};
    rn_cli_table_t tab;
    rn_cli_table_init(&tab, 6, headers);
    int64_t now = quorum_wall_ms();
    quorum_rows(&tab, part, true, now);
    quorum_rows(&tab, part, false, now);
    rn_cli_table_print(&tab, stdout);
    rn_cli_table_free(&tab);
}

int rn_cli_quorum_show(rn_cli_wire_t *w, rn_cli_json_t *js) {
    rn_arena_t arena;
    rn_arena_init(&arena, QUORUM_ARENA_BYTES);
    const quorum_part_t *part = NULL;
    int rc = quorum_fetch(w, &arena, &part);
    if (rc == RN_CLI_EXIT_OK) {
        if (js)
            quorum_json(js, part);
        else
            quorum_print(part);
    }
    rn_arena_free(&arena);
    return rc;
}

/* The directory id the quorum knows for node `id` (a voter, or an observer
   when !voter); zero when it knows none. */
static void quorum_directory(rn_cli_wire_t *w, int32_t id, bool voter, rn_uuid_t *dir) {
    memset(dir, 0, sizeof *dir);
    rn_arena_t arena;
    rn_arena_init(&arena, QUORUM_ARENA_BYTES);
    const quorum_part_t *part = NULL;
    if (quorum_fetch(w, &arena, &part) == RN_CLI_EXIT_OK) {
        const rn_describe_quorum_response_replica_state_array_t *arr =
            voter ? &part->current_voters : &part->observers;
        for (int32_t i = 0; i < arr->count; i++)
            if (arr->items[i].replica_id == id) *dir = arr->items[i].replica_directory_id;
    }
    rn_arena_free(&arena);
}

/* ---- verbs ---- */

static int quorum_describe(int argc, char **argv) {
    const rn_cli_cmd_t cmd = {
        "runnel cluster quorum describe",
        "",
        "Show the metadata quorum: leader, epoch, high watermark, voters and observers.",
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
    if (rc == RN_CLI_EXIT_OK && common.json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rc = rn_cli_quorum_show(&w, &js);
        rn_cli_json_end_obj(&js);
        if (rc == RN_CLI_EXIT_OK) rn_cli_json_done(&js);
    } else if (rc == RN_CLI_EXIT_OK) {
        rc = rn_cli_quorum_show(&w, NULL);
    }
    rn_cli_wire_close(&w);
    return rc;
}

/* The node id (positional) and an optional --directory-id. */
static int quorum_voter_args(const rn_cli_cmd_t *cmd, const rn_cli_list_t *pos,
                             const char *dir_text, int32_t *id, rn_uuid_t *dir, bool *have_dir) {
    int64_t v = -1;
    if (!rn_cli_parse_i64(pos->items[0], &v) || v < 0 || v > INT32_MAX)
        return rn_cli_usage_error(cmd, "'%s' is not a node id", pos->items[0]);
    *id = (int32_t)v;
    *have_dir = dir_text != NULL;
    if (dir_text && !rn_uuid_from_text(dir_text, dir))
        return rn_cli_usage_error(cmd, "--directory-id '%s' is not a Kafka uuid", dir_text);
    return RN_CLI_CONTINUE;
}

static int quorum_outcome(const rn_cli_cmd_t *cmd, const rn_cli_common_t *common, int16_t code,
                          rn_str_t message, const char *verb, int32_t id) {
    if (code != 0) {
        char what[32];
        snprintf(what, sizeof what, "node %d", id);
        return quorum_fail_code(cmd->prog, what, code, message);
    }
    if (common->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_int(&js, "node", id);
        rn_cli_json_str(&js, "result", verb);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    } else {
        printf("node %d: %s\n", id, verb);
    }
    return RN_CLI_EXIT_OK;
}

/* Sends an AddRaftVoter or RemoveRaftVoter (api_key) and prints its
   outcome. find_dir: the voter's directory id to ask the quorum for first
   (an observer's for an add, a voter's for a remove); NULL when given. */
static int quorum_change_send(const rn_cli_cmd_t *cmd, const rn_cli_common_t *common,
                              int16_t api_key, const void *req, int32_t voter_id,
                              rn_uuid_t *find_dir) {
    bool add = api_key == RN_API_ADD_RAFT_VOTER;
    rn_cli_wire_t w;
    int rc = rn_cli_wire_open(&w, common, cmd->prog);
    if (rc != RN_CLI_EXIT_OK) return rc;
    if (find_dir) quorum_directory(&w, voter_id, !add, find_dir);
    rn_arena_t arena;
    rn_arena_init(&arena, QUORUM_ARENA_BYTES);
    union {
        rn_add_raft_voter_response_t add;
        rn_remove_raft_voter_response_t remove;
    } resp;
    rc = rn_cli_wire_call(&w, api_key, 0, req, &arena, &resp);
    if (rc == RN_CLI_EXIT_OK)
        rc = quorum_outcome(cmd, common, add ? resp.add.error_code : resp.remove.error_code,
                            add ? resp.add.error_message : resp.remove.error_message,
                            add ? "added" : "removed", voter_id);
    rn_arena_free(&arena);
    rn_cli_wire_close(&w);
    return rc;
}

static int quorum_remove(int argc, char **argv) {
    const char *dir_text = NULL;
    const rn_cli_opt_t opts[] = {
        {"directory-id", 0, RN_CLI_OPT_STR, &dir_text, "UUID",
         "the voter's directory id (default: the one the quorum knows)"},
    };
    const rn_cli_cmd_t cmd = {"runnel cluster quorum remove-voter",
                              "ID",
                              "Remove node ID from the metadata quorum's voters.",
                              NULL,
                              opts,
                              1,
                              1,
                              1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_remove_raft_voter_request_t req;
    rn_remove_raft_voter_request_init(&req);
    req.cluster_id = rn_str_null(); /* any cluster: the one the broker is in */
    bool have_dir = false;
    rc = quorum_voter_args(&cmd, &pos, dir_text, &req.voter_id, &req.voter_directory_id, &have_dir);
    if (rc != RN_CLI_CONTINUE) return rc;
    return quorum_change_send(&cmd, &common, RN_API_REMOVE_RAFT_VOTER, &req, req.voter_id,
                              have_dir ? NULL : &req.voter_directory_id);
}

static int quorum_add(int argc, char **argv) {
    const char *dir_text = NULL, *host = NULL, *listener = QUORUM_LISTENER_DEFAULT;
    int64_t port = -1;
    const rn_cli_opt_t opts[] = {
        {"host", 0, RN_CLI_OPT_STR, &host, "HOST", "host of the voter's controller listener"},
        {"port", 0, RN_CLI_OPT_INT, &port, "PORT", "port of the voter's controller listener"},
        {"listener", 0, RN_CLI_OPT_STR, &listener, "NAME",
         "name of that listener (default " QUORUM_LISTENER_DEFAULT ")"},
        {"directory-id", 0, RN_CLI_OPT_STR, &dir_text, "UUID",
         "the node's directory id (default: the one the quorum sees it observe with)"},
    };
    const rn_cli_cmd_t cmd = {"runnel cluster quorum add-voter",
                              "ID",
                              "Add node ID (now an observer) to the metadata quorum's voters.",
                              NULL,
                              opts,
                              4,
                              1,
                              1};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    if (host == NULL || host[0] == '\0') return rn_cli_usage_error(&cmd, "--host is required");
    if (port < 1 || port > 65535) return rn_cli_usage_error(&cmd, "--port must be 1..65535");
    rn_add_raft_voter_request_t req;
    rn_add_raft_voter_request_init(&req);
    req.cluster_id = rn_str_null(); /* any cluster: the one the broker is in */
    bool have_dir = false;
    rc = quorum_voter_args(&cmd, &pos, dir_text, &req.voter_id, &req.voter_directory_id, &have_dir);
    if (rc != RN_CLI_CONTINUE) return rc;
    rn_add_raft_voter_request_listener_t lis;
    rn_add_raft_voter_request_listener_init(&lis);
    lis.name = rn_str_from_cstr(listener);
    lis.host = rn_str_from_cstr(host);
    lis.port = (uint16_t)port;
    req.listeners.items = &lis;
    req.listeners.count = 1;
    req.timeout_ms = (int32_t)(common.timeout_ms > INT32_MAX ? INT32_MAX : common.timeout_ms);
    return quorum_change_send(&cmd, &common, RN_API_ADD_RAFT_VOTER, &req, req.voter_id,
                              have_dir ? NULL : &req.voter_directory_id);
}

int rn_cli_cluster_quorum(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"describe", "leader, epoch, high watermark, voters and observers", quorum_describe},
        {"add-voter", "make a node a voter of the metadata quorum", quorum_add},
        {"remove-voter", "remove a voter from the metadata quorum", quorum_remove},
    };
    return rn_cli_dispatch("cluster quorum", verbs, 3, argc, argv);
}
