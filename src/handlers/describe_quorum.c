/*
 * describe_quorum.c: DescribeQuorum (key 55), what
 * kafka-metadata-quorum.sh describe --status and --replication show: the
 * leader, its epoch, the high watermark, and each voter's and observer's
 * log end and last contact. Answered by the active controller
 * (cluster/quorum_admin.c); another node forwards it there. Offsets are
 * the metadata log's Raft indexes.
 */
#include "handlers/handler.h"
#include "cluster/quorum_admin.h"
#include "cluster/topics.h"
#include "proto/gen/describe_quorum_request.h"
#include "proto/gen/describe_quorum_response.h"

#include <string.h>

#define DQ_TOPIC "__cluster_metadata"

typedef struct dq_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    rn_quorum_status_t status;
} dq_wait_t;

static void dq_replicas(rn_req_t *req, const rn_quorum_replica_t *in, int32_t count,
                        rn_describe_quorum_response_replica_state_array_t *out) {
    out->count = count;
    out->items = rn_handler_alloc(req, (size_t)count * sizeof *out->items);
    for (int32_t i = 0; i < count; i++) {
        rn_describe_quorum_response_replica_state_t *rs = &out->items[i];
        rn_describe_quorum_response_replica_state_init(rs);
        rs->replica_id = in[i].node_id;
        rs->replica_directory_id = in[i].directory_id;
        rs->log_end_offset = in[i].log_end;
        rs->last_fetch_timestamp = in[i].last_fetch_ms;
        rs->last_caught_up_timestamp = in[i].last_caught_up_ms;
    }
}

/* v2: where each voter's controller listener is (as the active controller
   knows it: the static voters, added ones, a dynamic quorum's members). */
static void dq_nodes(rn_req_t *req, const rn_node_t *node, const rn_quorum_status_t *st,
                     rn_describe_quorum_response_t *resp) {
    resp->nodes.items = rn_handler_alloc(req, (size_t)st->voter_count * sizeof *resp->nodes.items);
    resp->nodes.count = 0;
    for (int32_t i = 0; i < st->voter_count; i++) {
        const rn_quorum_replica_t *v = &st->voters[i];
        if (!v->host[0]) continue;
        rn_describe_quorum_response_node_t *n = &resp->nodes.items[resp->nodes.count++];
        rn_describe_quorum_response_node_init(n);
        n->node_id = st->voters[i].node_id;
        n->listeners.count = 1;
        n->listeners.items = rn_handler_alloc(req, sizeof *n->listeners.items);
        rn_describe_quorum_response_listener_init(&n->listeners.items[0]);
        n->listeners.items[0].name = rn_str_from_cstr(rn_md_rt_listener_name(node->md_rt));
        n->listeners.items[0].host = rn_str_from_cstr(v->host);
        n->listeners.items[0].port = v->port;
    }
}

static void dq_done(rn_admin_op_t *op) {
    dq_wait_t *wait = (dq_wait_t *)op;
    rn_req_t *req = wait->req;
    if (rn_handler_admin_relayed(req, op)) return;
    const rn_quorum_status_t *st = &wait->status;
    rn_describe_quorum_response_t *resp = rn_handler_response_new(req);
    resp->topics.count = 1;
    resp->topics.items = rn_handler_alloc(req, sizeof *resp->topics.items);
    rn_describe_quorum_response_topic_data_init(&resp->topics.items[0]);
    resp->topics.items[0].topic_name = rn_str_from_cstr(DQ_TOPIC);
    rn_describe_quorum_response_partition_data_array_t *parts = &resp->topics.items[0].partitions;
    parts->count = 1;
    parts->items = rn_handler_alloc(req, sizeof *parts->items);
    rn_describe_quorum_response_partition_data_t *p = &parts->items[0];
    rn_describe_quorum_response_partition_data_init(p);
    if (st->result.error_code != RN_KERR_NONE) {
        /* Kafka's answer from a node that does not lead. */
        p->error_code = st->result.error_code == RN_KERR_NOT_CONTROLLER
                            ? RN_KERR_NOT_LEADER_OR_FOLLOWER
                            : st->result.error_code;
        p->leader_id = -1;
        rn_handler_respond(req, resp);
        return;
    }
    p->leader_id = st->leader_id;
    p->leader_epoch = st->leader_epoch;
    p->high_watermark = st->high_watermark;
    dq_replicas(req, st->voters, st->voter_count, &p->current_voters);
    dq_replicas(req, st->observers, st->observer_count, &p->observers);
    dq_nodes(req, ((rn_core_t *)op->ctx)->node, st, resp);
    rn_handler_respond(req, resp);
}

static bool dq_names_metadata(const rn_describe_quorum_request_t *in) {
    if (in->topics.count != 1) return false;
    const rn_describe_quorum_request_topic_data_t *t = &in->topics.items[0];
    return t->topic_name.len == (int32_t)strlen(DQ_TOPIC) &&
           memcmp(t->topic_name.ptr, DQ_TOPIC, strlen(DQ_TOPIC)) == 0 && t->partitions.count == 1 &&
           t->partitions.items[0].partition_index == 0;
}

void rn_handle_describe_quorum(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_quorum_request_t *in = body;
    if (!dq_names_metadata(in)) {
        rn_describe_quorum_response_t *resp = rn_handler_response_new(req);
        resp->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        rn_handler_respond(req, resp);
        return;
    }
    dq_wait_t *wait = rn_handler_alloc(req, sizeof *wait);
    memset(wait, 0, sizeof *wait);
    wait->req = req;
    wait->op = (rn_admin_op_t){.kind = RN_ADMIN_CALL,
                               .count = 1,
                               .results = &wait->status,
                               .done = dq_done,
                               .ctx = core,
                               .step = rn_quorum_admin_describe};
    rn_handler_admin_prepare(core, req, &wait->op);
    rn_topics_submit(core->node, &wait->op);
}
