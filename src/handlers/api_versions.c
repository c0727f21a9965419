/*
 * api_versions.c: ApiVersions (key 18). A client may ask at a version newer
 * than we know; it gets the v0-form answer with UNSUPPORTED_VERSION and our
 * ranges, then retries at a version we advertise.
 */
#include "handlers/handler.h"
#include "proto/gen/api_versions_response.h"

void rn_handle_api_versions(rn_core_t *core, rn_req_t *req, void *body) {
    (void)core;
    (void)body;
    rn_api_versions_response_t *resp = rn_handler_response_new(req);
    const rn_handler_api_t *self = rn_handler_api(RN_API_API_VERSIONS);
    if (req->api_version > self->version_max) {
        resp->error_code = RN_KERR_UNSUPPORTED_VERSION;
        req->api_version = 0;
    }
    int count = 0;
    const rn_handler_api_t *apis = rn_handler_apis(&count);
    resp->api_keys.items =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof *resp->api_keys.items);
    resp->api_keys.count = count;
    for (int i = 0; i < count; i++) {
        rn_api_versions_response_api_version_t *entry = &resp->api_keys.items[i];
        entry->api_key = apis[i].key;
        entry->min_version = apis[i].version_min;
        entry->max_version = apis[i].version_max;
    }
    rn_handler_respond(req, resp);
}
