/*
 * admin_forward.c: what the admin handlers (CreateTopics, DeleteTopics,
 * CreatePartitions, AlterConfigs, IncrementalAlterConfigs, ElectLeaders)
 * share about their trip through the metadata quorum: the op names the
 * request as the client sent it, so a node that does not lead forwards it
 * to the node that does, and a forwarded op is answered with the leader's
 * own response bytes.
 */
#include "handlers/handler.h"

#include <stdlib.h>

void rn_handler_admin_prepare(rn_core_t *core, rn_req_t *req, rn_admin_op_t *op) {
    op->reply_loop = &core->loop;
    op->api_key = req->api_key;
    op->api_version = req->api_version;
    op->raw = (rn_slice_t){req->frame + req->body_offset, req->frame_len - req->body_offset};
    op->no_forward = req->forwarded != 0;
}

bool rn_handler_admin_relayed(rn_req_t *req, rn_admin_op_t *op) {
    if (!op->forwarded) return false;
    rn_handler_respond_raw(req, op->forwarded, op->forwarded_len);
    free(op->forwarded);
    op->forwarded = NULL;
    return true;
}
