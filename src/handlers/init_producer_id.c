/*
 * init_producer_id.c: InitProducerId (key 22) for idempotent producers: a
 * fresh producer id with epoch 0. A producer asking to bump its own id's
 * epoch (v3+, KIP-360) gets the next epoch, or a fresh id when the epoch
 * would overflow. Transactional ids are refused until transactions exist.
 */
#include "handlers/handler.h"
#include "proto/gen/init_producer_id_request.h"
#include "proto/gen/init_producer_id_response.h"
#include "cluster/producer_ids.h"

#include <stdint.h>

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
        rn_err_t err = rn_producer_ids_next(core->node, &resp->producer_id);
        resp->error_code = err == RN_OK ? RN_KERR_NONE : RN_KERR_COORDINATOR_NOT_AVAILABLE;
        resp->producer_epoch = err == RN_OK ? 0 : -1;
        if (err != RN_OK) resp->producer_id = -1;
    }
    rn_handler_respond(req, resp);
}
