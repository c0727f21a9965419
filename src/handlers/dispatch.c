/*
 * dispatch.c: from a frame to a handler call, and from a response struct to
 * bytes on the wire.
 *
 * Unknown API keys, unsupported versions and malformed bodies close the
 * connection with a log line (rate limited per cause), as Kafka does; so
 * does running out of memory for the request; ApiVersions at an unknown
 * version is the exception clients rely on: it is answered in v0 form with
 * UNSUPPORTED_VERSION and the ranges (api_versions.c).
 */
#include "handlers/handler.h"
#include "cluster/metadata_rt.h"
#include "cluster/quorum_transport.h"
#include "proto/gen/request_header.h"
#include "base/assert.h"
#include "base/endian.h"
#include "base/limits.h"
#include "base/log.h"
#include "net/conn.h"

#include <stdio.h>
#include <string.h>

/* The writer's splice hook: a records field backed by a file range. */
static rn_err_t respond_splice(void *ctx, size_t pos, const void *file_ref, uint64_t file_off,
                               int64_t len) {
    rn_req_t *req = ctx;
    const rn_file_range_t *range = file_ref;
    rn_splice_t splice = {pos, range->fd, file_off, (size_t)len, range->release, range->pin};
    return rn_req_add_splice(req, &splice);
}

void rn_handler_respond(rn_req_t *req, const void *response) {
    const rn_api_info_t *api = rn_api_info(req->api_key);
    RN_ASSERT(api != NULL);
    RN_ASSERT(req->out.len == 0);
    rn_writer_t w;
    rn_writer_init(&w, &req->out);
    w.splice = respond_splice;
    w.splice_ctx = req;
    rn_write_int32(&w, 0); /* frame length, patched below */
    rn_write_int32(&w, req->correlation_id);
    /* ApiVersions answers in header v0 at any version (clients parse it first). */
    int16_t version = req->api_version;
    if (req->api_key != RN_API_API_VERSIONS && version <= api->version_max_defined &&
        api->response_header_version[version] >= 1)
        rn_write_uvarint(&w, 0); /* empty tagged-field section */
    api->response_encode(&w, version, response);
    if (w.err != RN_OK) {
        char why[128];
        snprintf(why, sizeof why, "cannot encode %s v%d response: %s", api->name, version,
                 rn_err_name(w.err));
        rn_conn_close_as(req->conn, RN_NET_LOG_RESPONSE, why);
        req->no_response = 1;
        rn_req_finish(req);
        return;
    }
    rn_be32_put(req->out.ptr, (uint32_t)(rn_req_out_bytes(req) - 4));
    rn_req_finish(req);
}

void rn_handler_respond_raw(rn_req_t *req, const uint8_t *body, size_t len) {
    const rn_api_info_t *api = rn_api_info(req->api_key);
    RN_ASSERT(api != NULL);
    RN_ASSERT(req->out.len == 0);
    rn_writer_t w;
    rn_writer_init(&w, &req->out);
    rn_write_int32(&w, 0); /* frame length, patched below */
    rn_write_int32(&w, req->correlation_id);
    int16_t version = req->api_version;
    if (req->api_key != RN_API_API_VERSIONS && version <= api->version_max_defined &&
        api->response_header_version[version] >= 1)
        rn_write_uvarint(&w, 0);
    if (w.err == RN_OK && rn_buf_append(&req->out, body, len) != RN_OK) w.err = RN_ERR_TOO_LARGE;
    if (w.err != RN_OK) {
        rn_conn_close_as(req->conn, RN_NET_LOG_RESPONSE, "cannot relay a forwarded response");
        req->no_response = 1;
        rn_req_finish(req);
        return;
    }
    rn_be32_put(req->out.ptr, (uint32_t)(rn_req_out_bytes(req) - 4));
    rn_req_finish(req);
}

void rn_handler_finish_silently(rn_req_t *req) {
    req->no_response = 1;
    rn_req_finish(req);
}

void *rn_handler_response_new(rn_req_t *req) {
    const rn_api_info_t *api = rn_api_info(req->api_key);
    RN_ASSERT(api != NULL);
    void *response = req->response_reserved;
    req->response_reserved = NULL;
    if (!response) response = rn_arena_alloc(&req->arena, api->response_bytes);
    RN_ASSERT(response != NULL); /* reserved at dispatch for the first call */
    api->response_init(response);
    return response;
}

void *rn_handler_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    RN_ASSERT(ptr != NULL);
    return ptr;
}

char *rn_handler_cstr(rn_req_t *req, rn_str_t str) {
    size_t len = str.len > 0 ? (size_t)str.len : 0;
    char *cstr = rn_arena_alloc(&req->arena, len + 1);
    if (cstr && len) memcpy(cstr, str.ptr, len);
    return cstr;
}

/* Closes the connection for a request it cannot serve; the log line is
   rate limited per cause, as a client can send such requests in a flood. */
static void dispatch_reject(rn_req_t *req, rn_net_log_t cause, const char *what) {
    char why[160];
    snprintf(why, sizeof why, "%s (api key %d, version %d, correlation id %d)", what, req->api_key,
             req->api_version, req->correlation_id);
    rn_conn_close_as(req->conn, cause, why);
    rn_handler_finish_silently(req);
}

/* Checks, decodes and hands req to handler (NULL: not served here). */
static void dispatch_to(rn_core_t *core, rn_req_t *req, const rn_handler_api_t *handler) {
    const rn_api_info_t *api = rn_api_info(req->api_key);
    if (!api || !handler) {
        dispatch_reject(req, RN_NET_LOG_UNKNOWN_API, "unknown or unserved API key");
        return;
    }
    int supported =
        req->api_version >= handler->version_min && req->api_version <= handler->version_max;
    if (!supported && req->api_key != RN_API_API_VERSIONS) {
        dispatch_reject(req, RN_NET_LOG_UNSUPPORTED_VERSION, "unsupported API version");
        return;
    }
    rn_reader_t r;
    rn_reader_init(&r, req->frame, req->frame_len);
    rn_request_header_t header;
    int16_t header_version = supported ? api->request_header_version[req->api_version] : 1;
    rn_err_t err = rn_request_header_decode(&r, &req->arena, header_version, &header);
    void *body = NULL;
    req->body_offset = r.pos;
    req->forwarded =
        err == RN_OK && header.client_id.len == (int32_t)strlen(RN_FORWARD_CLIENT_ID) &&
        memcmp(header.client_id.ptr, RN_FORWARD_CLIENT_ID, strlen(RN_FORWARD_CLIENT_ID)) == 0;
    if (err == RN_OK && supported) {
        body = rn_arena_alloc(&req->arena, api->request_bytes);
        err =
            body ? api->request_decode(&r, &req->arena, req->api_version, body) : RN_ERR_NO_MEMORY;
    }
    if (err != RN_OK) {
        dispatch_reject(req, RN_NET_LOG_MALFORMED,
                        err == RN_ERR_NO_MEMORY ? "request exceeds its decode budget"
                                                : "malformed request");
        return;
    }
    /* The decode budget (a multiple of the frame) guards against hostile
       input; a response is ours and grows with the broker's state (a
       Metadata answer with every partition), bounded by the response limit. */
    req->arena.bytes_max = RN_RESPONSE_BYTES_MAX;
    req->response_reserved = rn_arena_alloc(&req->arena, api->response_bytes);
    if (!req->response_reserved) {
        dispatch_reject(req, RN_NET_LOG_NO_MEMORY, "out of memory for the response");
        return;
    }
    handler->handle(core, req, body);
}

void rn_handler_dispatch(void *core, rn_req_t *req) {
    rn_node_t *node = ((rn_core_t *)core)->node;
    if (req->api_key == RN_API_RAFT_MESSAGE && node->settings.raft_on_broker_listener &&
        node->md_rt) {
        rn_md_rt_raft_from_broker(node->md_rt, req);
        return;
    }
    if (atomic_load(&node->raft_only) && req->api_key != RN_API_API_VERSIONS) {
        dispatch_reject(req, RN_NET_LOG_UNKNOWN_API, "the broker is starting");
        return;
    }
    dispatch_to(core, req, rn_handler_api(req->api_key));
}

/* What the controller listener serves besides its own APIs (broker
   registration and heartbeats): ApiVersions and the admin requests other
   nodes forward to the active controller. */
static bool dispatch_controller_api(int16_t key) {
    switch (key) {
    case RN_API_API_VERSIONS:
    case RN_API_CREATE_TOPICS:
    case RN_API_DELETE_TOPICS:
    case RN_API_CREATE_PARTITIONS:
    case RN_API_ELECT_LEADERS:
    case RN_API_ALTER_PARTITION_REASSIGNMENTS:
    case RN_API_LIST_PARTITION_REASSIGNMENTS:
    case RN_API_ALTER_CONFIGS:
    case RN_API_INCREMENTAL_ALTER_CONFIGS:
    case RN_API_DESCRIBE_QUORUM:
    case RN_API_ADD_RAFT_VOTER:
    case RN_API_REMOVE_RAFT_VOTER:
        return true;
    default:
        return false;
    }
}

void rn_handler_controller_dispatch(void *core, rn_req_t *req) {
    const rn_handler_api_t *own = rn_handler_controller_api(req->api_key);
    if (own) {
        dispatch_to(core, req, own);
        return;
    }
    if (!dispatch_controller_api(req->api_key)) {
        dispatch_reject(req, RN_NET_LOG_UNKNOWN_API, "not a controller request");
        return;
    }
    rn_handler_dispatch(core, req);
}
