/*
 * describe_groups.c: DescribeGroups (key 15), versions 0-6: state, protocol
 * and members (metadata and assignment bytes) of each group, read on its
 * shard; as Kafka, only a Stable group names its protocol and its members'
 * metadata and assignments (in a rebalance they are in flux). An unknown group is described as Dead
 * with no error, as Kafka; from v6 (KIP-1043) with GROUP_ID_NOT_FOUND and Kafka's message for it.
 * With include_authorized_operations (v3+) each group names the operations
 * the client may run on it: with no authorizer, as Kafka without one, all
 * a group has (READ, DESCRIBE, DELETE); otherwise INT32_MIN, Kafka's
 * "not asked". v5 is flexible.
 */
#include "handlers/group_ops.h"
#include "base/assert.h"
#include "proto/gen/describe_groups_request.h"
#include "proto/gen/describe_groups_response.h"

#include <string.h>

/* Kafka's AclOperation codes of what a group supports, as its 32-bit field
   (bit n set for code n), and the value for "not asked". */
enum {
    DESCRIBE_OP_READ = 3,
    DESCRIBE_OP_DELETE = 6,
    DESCRIBE_OP_DESCRIBE = 8,
    DESCRIBE_GROUP_OPERATIONS =
        (1 << DESCRIBE_OP_READ) | (1 << DESCRIBE_OP_DELETE) | (1 << DESCRIBE_OP_DESCRIBE),
};
#define DESCRIBE_OPERATIONS_NONE INT32_MIN
/* The first version to answer an unknown group GROUP_ID_NOT_FOUND. */
#define DESCRIBE_NOT_FOUND_VERSION 6

typedef rn_describe_groups_response_described_group_t described_t;

typedef struct describe_op {
    rn_gop_t gop;
    rn_req_t *req;
    rn_str_t group_id;
    described_t *out;
} describe_op_t;

static void describe_members(describe_op_t *op, const rn_group_t *group) {
    described_t *out = op->out;
    int32_t count = rn_group_member_count(group);
    out->members.count = count;
    out->members.items = rn_gops_alloc(op->req, (size_t)count * sizeof *out->members.items);
    for (int32_t i = 0; i < count; i++) {
        const rn_group_member_t *member = rn_group_member_at(group, i);
        rn_describe_groups_response_described_group_member_t *m = &out->members.items[i];
        rn_describe_groups_response_described_group_member_init(m);
        m->member_id = rn_gops_str(op->req, rn_group_member_id(member));
        m->group_instance_id = rn_gops_str(op->req, rn_group_member_instance_id(member));
        m->client_id = rn_gops_str(op->req, rn_group_member_client_id(member));
        m->client_host = rn_gops_str(op->req, rn_group_member_client_host(member));
        bool stable = rn_group_state(group) == RN_GROUP_STABLE;
        rn_bytes_t none = {(const uint8_t *)"", 0};
        m->member_metadata =
            stable ? rn_gops_bytes(op->req, rn_group_member_metadata(group, member)) : none;
        m->member_assignment =
            stable ? rn_gops_bytes(op->req, rn_group_member_assignment(member)) : none;
        if (m->member_metadata.len < 0) m->member_metadata = none;
        if (m->member_assignment.len < 0) m->member_assignment = none;
    }
}

/* v6+: an unknown group is GROUP_ID_NOT_FOUND, with Kafka's message. */
static void describe_not_found(describe_op_t *op) {
    static const char prefix[] = "Group ", suffix[] = " not found.";
    size_t id_len = op->group_id.len > 0 ? (size_t)op->group_id.len : 0;
    size_t len = sizeof prefix - 1 + id_len + sizeof suffix - 1;
    char *msg = rn_gops_alloc(op->req, len + 1);
    memcpy(msg, prefix, sizeof prefix - 1);
    if (id_len) memcpy(msg + sizeof prefix - 1, op->group_id.ptr, id_len);
    memcpy(msg + sizeof prefix - 1 + id_len, suffix, sizeof suffix);
    RN_ASSERT(strlen(msg) == len);
    op->out->error_code = RN_KERR_GROUP_ID_NOT_FOUND;
    op->out->error_message = (rn_str_t){msg, (int32_t)len};
}

static void describe_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    (void)node;
    describe_op_t *op = (describe_op_t *)gop;
    described_t *out = op->out;
    if (rn_group_coord_refusal(coord)) {
        out->error_code = rn_group_coord_refusal(coord);
        rn_gop_reply(gop);
        return;
    }
    const rn_group_t *group = rn_group_find(coord, op->group_id);
    if (group) {
        rn_group_state_t state = rn_group_state(group);
        out->group_state = rn_gops_str(op->req, rn_group_state_name(state));
        out->protocol_type = rn_gops_str(op->req, rn_group_protocol_type(group));
        const char *proto = rn_group_protocol_name(group);
        bool stable = state == RN_GROUP_STABLE;
        out->protocol_data = rn_gops_str(op->req, stable && proto ? proto : "");
        describe_members(op, group);
    } else if (op->req->api_version >= DESCRIBE_NOT_FOUND_VERSION) {
        describe_not_found(op);
    }
    rn_gop_reply(gop);
}

void rn_handle_describe_groups(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_describe_groups_request_t *in = body;
    rn_describe_groups_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->groups.count > 0 ? in->groups.count : 0;
    resp->groups.count = count;
    resp->groups.items = rn_gops_alloc(req, (size_t)count * sizeof *resp->groups.items);
    describe_op_t *ops = rn_gops_alloc(req, (size_t)count * sizeof *ops);
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    for (int32_t i = 0; i < count; i++) {
        described_t *out = &resp->groups.items[i];
        rn_describe_groups_response_described_group_init(out);
        out->group_id = in->groups.items[i];
        out->group_state = rn_str_from_cstr("Dead");
        out->protocol_type = rn_str_from_cstr("");
        out->protocol_data = rn_str_from_cstr("");
        out->members.count = 0;
        out->authorized_operations = req->api_version >= 3 && in->include_authorized_operations
                                         ? DESCRIBE_GROUP_OPERATIONS
                                         : DESCRIBE_OPERATIONS_NONE;
        ops[i] = (describe_op_t){.req = req, .group_id = in->groups.items[i], .out = out};
        if (!rn_gops_send(gops, &ops[i].gop, in->groups.items[i], describe_run))
            out->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    rn_gops_end(gops);
}
