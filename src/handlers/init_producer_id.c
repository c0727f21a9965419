/*
 * init_producer_id.c: InitProducerId (key 22) for idempotent producers: a
 * fresh producer id with epoch 0, from this core's block of ids unique in
 * the cluster (cluster/producer_ids.h; the answer waits while the core asks
 * the active controller for a new block). A producer asking to bump its own
 * id's epoch (v3+, KIP-360) gets the next epoch, or a fresh id when the
 * epoch would overflow. Transactional ids are refused until transactions
 * exist.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "proto/gen/init_producer_id_request.h"
#include "proto/gen/init_producer_id_response.h"
#include "cluster/producer_ids.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pid_wait {
    rn_pid_waiter_t waiter; /* first */
    rn_req_t *req;
    rn_init_producer_id_response_t *resp;
} pid_wait_t;

static void pid_ready(rn_pid_waiter_t *w, int64_t producer_id, int16_t error_code) {
    pid_wait_t *wait = (pid_wait_t *)w;
    wait->resp->error_code = error_code;
    wait->resp->producer_id = producer_id;
    wait->resp->producer_epoch = error_code == RN_KERR_NONE ? 0 : -1;
    rn_handler_respond(wait->req, wait->resp);
}

void rn_handle_init_producer_id(rn_core_t *core, rn_req_t *req, void *body) {
    rn_init_producer_id_request_t *in = body;
    rn_init_producer_id_response_t *resp = rn_handler_response_new(req);
    resp->producer_id = -1;
    resp->producer_epoch = -1;
    if (in->transactional_id.len >= 0) {
        resp->error_code = RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    } else if (in->producer_id >= 0 && in->producer_epoch >= 0 &&
               in->producer_epoch < INT16_MAX - 1) {
        resp->producer_id = in->producer_id;
        resp->producer_epoch = (int16_t)(in->producer_epoch + 1);
    } else {
        pid_wait_t *wait = rn_arena_alloc(&req->arena, sizeof *wait);
        RN_ASSERT(wait != NULL);
        *wait = (pid_wait_t){{NULL, pid_ready}, req, resp};
        rn_producer_ids_take(core, &wait->waiter);
        return;
    }
    rn_handler_respond(req, resp);
}
