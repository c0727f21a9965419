/*
 * delete_groups.c: DeleteGroups (key 42), versions 0-1: an Empty group's
 * offsets and metadata go (tombstones written); GROUP_ID_NOT_FOUND for an
 * unknown group, NON_EMPTY_GROUP while it has members.
 */
#include "handlers/group_ops.h"
#include "proto/gen/delete_groups_request.h"
#include "proto/gen/delete_groups_response.h"

typedef struct delete_op {
    rn_gop_t gop;
    rn_str_t group_id;
    rn_delete_groups_response_deletable_group_result_t *out;
} delete_op_t;

static void delete_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    (void)node;
    delete_op_t *op = (delete_op_t *)gop;
    op->out->error_code = rn_group_delete(coord, op->group_id);
    rn_gop_reply(gop);
}

void rn_handle_delete_groups(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_delete_groups_request_t *in = body;
    rn_delete_groups_response_t *resp = rn_handler_response_new(req);
    int32_t count = in->groups_names.count > 0 ? in->groups_names.count : 0;
    resp->results.count = count;
    resp->results.items = rn_gops_alloc(req, (size_t)count * sizeof *resp->results.items);
    delete_op_t *ops = rn_gops_alloc(req, (size_t)count * sizeof *ops);
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    for (int32_t i = 0; i < count; i++) {
        rn_delete_groups_response_deletable_group_result_t *out = &resp->results.items[i];
        out->group_id = in->groups_names.items[i];
        out->error_code = RN_KERR_NONE;
        ops[i] = (delete_op_t){.group_id = in->groups_names.items[i], .out = out};
        if (out->group_id.len <= 0)
            out->error_code = RN_KERR_INVALID_GROUP_ID;
        else if (!rn_gops_send(gops, &ops[i].gop, out->group_id, delete_run))
            out->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    }
    rn_gops_end(gops);
}
