/*
 * allocate_producer_ids.c: AllocateProducerIds (key 67), on the controller
 * listener: a broker asks the active controller for a block of producer ids
 * (cluster/producer_ids.h). The block is recorded in the metadata log
 * before it is answered; a controller that is not active forwards the
 * request to the one that is.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "proto/gen/allocate_producer_ids_request.h"
#include "proto/gen/allocate_producer_ids_response.h"

#include <string.h>

typedef struct pid_alloc {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    rn_ctl_pid_request_t in;
    rn_ctl_pid_block_t out;
} pid_alloc_t;

static void alloc_done(rn_admin_op_t *op) {
    pid_alloc_t *a = (pid_alloc_t *)op;
    if (rn_handler_admin_relayed(a->req, op)) return;
    rn_allocate_producer_ids_response_t *resp = rn_handler_response_new(a->req);
    resp->error_code = a->out.result.error_code;
    resp->producer_id_start = resp->error_code == RN_KERR_NONE ? a->out.first : -1;
    resp->producer_id_len = resp->error_code == RN_KERR_NONE ? a->out.count : 0;
    rn_handler_respond(a->req, resp);
}

void rn_handle_allocate_producer_ids(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_allocate_producer_ids_request_t *in = body;
    pid_alloc_t *a = rn_arena_alloc(&req->arena, sizeof *a);
    RN_ASSERT(a != NULL);
    memset(a, 0, sizeof *a);
    a->req = req;
    a->in = (rn_ctl_pid_request_t){in->broker_id, in->broker_epoch, 0};
    a->op = (rn_admin_op_t){.kind = RN_ADMIN_ALLOCATE_PRODUCER_IDS,
                            .items = &a->in,
                            .count = 1,
                            .results = &a->out,
                            .done = alloc_done};
    rn_handler_admin_prepare(core, req, &a->op);
    rn_topics_submit(core->node, &a->op);
}
