/*
 * topics_forward.c: see topics_forward.h. Owns nothing beyond the call: the
 * encoded request lives in the caller's buffer, the decode in an arena of
 * its own.
 */
#include "cluster/topics_forward.h"
#include "base/arena.h"
#include "base/assert.h"
#include "proto/gen/api.h"
#include "proto/gen/create_topics_request.h"
#include "proto/gen/create_topics_response.h"
#include "proto/kerr.h"

#include <stdio.h>
#include <stdlib.h>

/* Arena of the encode or the decode: a few topics, their configs and
   names; a creation of the node's own carries no assignments. */
#define FORWARD_ARENA_BYTES ((size_t)64 * 1024)
/* An encoded request: names and configs of a few topics. */
#define FORWARD_REQUEST_BYTES_MAX ((size_t)64 * 1024)

static void forward_topic(rn_arena_t *arena, const rn_ctl_new_topic_t *in,
                          rn_create_topics_request_creatable_topic_t *out) {
    RN_ASSERT(in->assignment_count == 0); /* not for a node's own creations */
    rn_create_topics_request_creatable_topic_init(out);
    out->name = in->name;
    out->num_partitions = in->num_partitions;
    out->replication_factor = in->replication_factor;
    out->assignments.count = 0;
    out->configs.count = in->config_count;
    out->configs.items =
        rn_arena_alloc(arena, (size_t)(in->config_count + 1) * sizeof *out->configs.items);
    RN_ASSERT(out->configs.items != NULL);
    for (int32_t c = 0; c < in->config_count; c++) {
        rn_create_topics_request_creatable_topic_config_init(&out->configs.items[c]);
        out->configs.items[c].name = in->configs[c].key;
        out->configs.items[c].value = in->configs[c].value;
    }
}

void rn_topics_forward_prepare(rn_admin_op_t *op, const rn_ctl_new_topic_t *topics, int32_t count,
                               rn_buf_t *raw) {
    rn_arena_t arena;
    rn_arena_init(&arena, FORWARD_ARENA_BYTES);
    rn_create_topics_request_t req;
    rn_create_topics_request_init(&req);
    req.timeout_ms = RN_ADMIN_OP_TIMEOUT_MS;
    req.topics.count = count;
    req.topics.items = rn_arena_alloc(&arena, (size_t)(count + 1) * sizeof *req.topics.items);
    RN_ASSERT(req.topics.items != NULL);
    for (int32_t t = 0; t < count; t++) forward_topic(&arena, &topics[t], &req.topics.items[t]);
    rn_buf_init(raw, FORWARD_REQUEST_BYTES_MAX);
    rn_writer_t w;
    rn_writer_init(&w, raw);
    rn_create_topics_request_encode(&w, RN_TOPICS_FORWARD_VERSION, &req);
    RN_ASSERT(w.err == RN_OK); /* a few names and configs of the node's own */
    rn_arena_free(&arena);
    op->api_key = RN_API_CREATE_TOPICS;
    op->api_version = RN_TOPICS_FORWARD_VERSION;
    op->raw = rn_slice(raw->ptr, raw->len);
}

static void forward_result(const rn_create_topics_response_t *resp, rn_str_t name,
                           rn_ctl_topic_result_t *out) {
    for (int32_t i = 0; i < resp->topics.count; i++) {
        const rn_create_topics_response_creatable_topic_result_t *r = &resp->topics.items[i];
        if (!rn_str_eq(r->name, name)) continue;
        out->result.error_code = r->error_code;
        snprintf(out->result.message, sizeof out->result.message, "%.*s",
                 r->error_message.len < 0 ? 0 : (int)r->error_message.len, r->error_message.ptr);
        return;
    }
    out->result.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
    snprintf(out->result.message, sizeof out->result.message,
             "The active controller's answer has no result for this topic.");
}

void rn_topics_forward_results(rn_admin_op_t *op, const rn_ctl_new_topic_t *topics, int32_t count,
                               rn_ctl_topic_result_t *results) {
    if (!op->forwarded) return;
    rn_arena_t arena;
    rn_arena_init(&arena, FORWARD_ARENA_BYTES);
    rn_reader_t r;
    rn_reader_init(&r, op->forwarded, op->forwarded_len);
    rn_create_topics_response_t resp;
    rn_create_topics_response_init(&resp);
    rn_err_t err = rn_create_topics_response_decode(&r, &arena, op->api_version, &resp);
    if (err != RN_OK) resp.topics.count = 0;
    for (int32_t t = 0; t < count; t++) forward_result(&resp, topics[t].name, &results[t]);
    rn_arena_free(&arena);
    free(op->forwarded);
    op->forwarded = NULL;
}
