/*
 * find_coordinator.c: FindCoordinator (key 10), versions 0-2: a single node
 * is the coordinator of every group (key type 0) and every transactional id
 * (key type 1): it leads every __consumer_offsets partition.
 */
#include "handlers/handler.h"
#include "group/coordinator.h"
#include "proto/gen/find_coordinator_request.h"
#include "proto/gen/find_coordinator_response.h"

enum { FIND_COORDINATOR_GROUP = 0, FIND_COORDINATOR_TRANSACTION = 1 };

void rn_handle_find_coordinator(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_find_coordinator_request_t *in = body;
    rn_find_coordinator_response_t *resp = rn_handler_response_new(req);
    const rn_node_settings_t *set = &core->node->settings;
    resp->error_message = rn_str_null();
    resp->host = rn_str_from_cstr("");
    resp->node_id = -1;
    resp->port = -1;
    if (in->key_type != FIND_COORDINATOR_GROUP && in->key_type != FIND_COORDINATOR_TRANSACTION) {
        resp->error_code = RN_KERR_INVALID_REQUEST;
        resp->error_message = rn_str_from_cstr("Unsupported key type");
    } else if (in->key_type == FIND_COORDINATOR_GROUP &&
               rn_group_partition_count(core->node) == 0) {
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    } else {
        resp->error_code = RN_KERR_NONE;
        resp->node_id = set->node_id;
        resp->host = rn_str_from_cstr(set->advertised_host);
        resp->port = set->advertised_port;
    }
    rn_handler_respond(req, resp);
}
