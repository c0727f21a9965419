/*
 * isr_submit.c: a leader's ISR changes to the active controller (see
 * isr_submit.h): the op to the metadata runtime, the AlterPartition v3 it
 * forwards, and the answer back into one result per change.
 */
#include "cluster/isr_submit.h"

#include "base/arena.h"
#include "base/assert.h"
#include "base/limits.h"
#include "proto/gen/alter_partition_request.h"
#include "proto/gen/alter_partition_response.h"
#include "proto/gen/api.h"
#include "proto/kerr.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The version sent: topic ids and the members' broker epochs (KIP-903). */
#define ISR_VERSION 3

/* ---- results ---- */

/* A result with no state to tell: code alone. */
static void isr_result_none(rn_ctl_isr_result_t *res, int16_t code) {
    memset(res, 0, sizeof *res);
    res->error_code = code;
    res->leader = -1;
    res->leader_epoch = -1;
    res->partition_epoch = -1;
}

static void isr_results_all(const rn_ctl_isr_request_t *req, rn_ctl_isr_result_t *results,
                            int16_t code) {
    for (int32_t n = 0; n < req->count; n++) isr_result_none(&results[n], code);
}

/* A result as planned on this node: its state only when accepted. */
static void isr_result_take(const rn_ctl_isr_result_t *in, rn_ctl_isr_result_t *out) {
    if (in->error_code == RN_KERR_NONE)
        *out = *in;
    else
        isr_result_none(out, in->error_code);
}

/* ---- the request ---- */

/* Changes [first, end) name one topic: one TopicData of them. */
static rn_err_t isr_encode_topic(rn_arena_t *arena, const rn_ctl_isr_request_t *req, int32_t first,
                                 int32_t end, rn_alter_partition_request_topic_data_t *out) {
    rn_alter_partition_request_topic_data_init(out);
    out->topic_id = req->changes[first].topic_id;
    out->partitions.count = end - first;
    out->partitions.items =
        rn_arena_alloc(arena, (size_t)(end - first) * sizeof(*out->partitions.items));
    if (!out->partitions.items) return RN_ERR_NO_MEMORY;
    for (int32_t n = first; n < end; n++) {
        const rn_ctl_isr_change_t *c = &req->changes[n];
        RN_ASSERT(c->isr_count >= 0 && c->isr_count <= RN_REPLICAS_MAX);
        rn_alter_partition_request_partition_data_t *p = &out->partitions.items[n - first];
        rn_alter_partition_request_partition_data_init(p);
        p->partition_index = c->partition;
        p->leader_epoch = c->leader_epoch;
        p->partition_epoch = c->partition_epoch;
        p->leader_recovery_state = c->leader_recovery_state;
        p->new_isr_with_epochs.count = c->isr_count;
        p->new_isr_with_epochs.items = rn_arena_alloc(
            arena, (size_t)(c->isr_count + 1) * sizeof(*p->new_isr_with_epochs.items));
        if (!p->new_isr_with_epochs.items) return RN_ERR_NO_MEMORY;
        for (int16_t m = 0; m < c->isr_count; m++) {
            p->new_isr_with_epochs.items[m].broker_id = c->isr[m];
            p->new_isr_with_epochs.items[m].broker_epoch = c->isr_broker_epochs[m];
        }
    }
    return RN_OK;
}

static rn_err_t isr_encode_in(rn_arena_t *arena, const rn_ctl_isr_request_t *req, rn_buf_t *out) {
    rn_alter_partition_request_t msg;
    rn_alter_partition_request_init(&msg);
    msg.broker_id = req->broker_id;
    msg.broker_epoch = req->broker_epoch;
    msg.topics.count = 0;
    msg.topics.items = rn_arena_alloc(arena, (size_t)(req->count + 1) * sizeof(*msg.topics.items));
    if (!msg.topics.items) return RN_ERR_NO_MEMORY;
    for (int32_t first = 0, end; first < req->count; first = end) {
        for (end = first + 1; end < req->count; end++)
            if (!rn_uuid_eq(&req->changes[end].topic_id, &req->changes[first].topic_id)) break;
        rn_err_t err =
            isr_encode_topic(arena, req, first, end, &msg.topics.items[msg.topics.count++]);
        if (err != RN_OK) return err;
    }
    rn_writer_t w;
    rn_writer_init(&w, out);
    rn_alter_partition_request_encode(&w, ISR_VERSION, &msg);
    return w.err;
}

rn_err_t rn_isr_submit_encode(const rn_ctl_isr_request_t *req, rn_buf_t *out) {
    RN_ASSERT(req->count >= 0 && req->count <= RN_ISR_CHANGES_MAX);
    /* the structs of the encode: per change its topic, partition and members */
    size_t per_change = sizeof(rn_alter_partition_request_topic_data_t) +
                        sizeof(rn_alter_partition_request_partition_data_t) +
                        (RN_REPLICAS_MAX + 1) * sizeof(rn_alter_partition_request_broker_state_t);
    rn_arena_t arena;
    rn_arena_init(&arena, (size_t)(req->count + 1) * per_change + RN_PROTO_ARENA_BYTES_MIN);
    rn_err_t err = isr_encode_in(&arena, req, out);
    rn_arena_free(&arena);
    return err;
}

/* ---- the answer ---- */

static bool isr_names(const rn_alter_partition_response_topic_data_t *topic,
                      const rn_alter_partition_response_partition_data_t *p,
                      const rn_ctl_isr_change_t *c) {
    return p->partition_index == c->partition && rn_uuid_eq(&topic->topic_id, &c->topic_id);
}

/* One partition of the answer into res. */
static void isr_result_from(const rn_alter_partition_response_partition_data_t *p,
                            rn_ctl_isr_result_t *res) {
    if (p->error_code != RN_KERR_NONE) {
        isr_result_none(res, p->error_code);
        return;
    }
    if (p->isr.count < 0 || p->isr.count > RN_REPLICAS_MAX) { /* no controller says that */
        isr_result_none(res, RN_KERR_NOT_CONTROLLER);
        return;
    }
    memset(res, 0, sizeof *res);
    res->leader = p->leader_id;
    res->leader_epoch = p->leader_epoch;
    res->partition_epoch = p->partition_epoch;
    res->isr_count = (int16_t)p->isr.count;
    if (p->isr.count > 0) /* an empty array may have no items */
        memcpy(res->isr, p->isr.items, (size_t)p->isr.count * sizeof(int32_t));
}

/* The answer's partitions, flattened in its order into flat (count of
   them); false when it has more than the request. */
static bool isr_flatten(const rn_alter_partition_response_t *resp, int32_t count,
                        const rn_alter_partition_response_topic_data_t **topics,
                        const rn_alter_partition_response_partition_data_t **parts, int32_t *n) {
    *n = 0;
    for (int32_t t = 0; t < resp->topics.count; t++) {
        const rn_alter_partition_response_topic_data_t *topic = &resp->topics.items[t];
        for (int32_t p = 0; p < topic->partitions.count; p++) {
            if (*n == count) return false;
            topics[*n] = topic;
            parts[(*n)++] = &topic->partitions.items[p];
        }
    }
    return true;
}

/* Each change's partition in the answer: at its own place (the controller
   answers in the request's order), else the first that names it. */
static void isr_match(const rn_ctl_isr_request_t *req, int32_t n_parts,
                      const rn_alter_partition_response_topic_data_t **topics,
                      const rn_alter_partition_response_partition_data_t **parts,
                      rn_ctl_isr_result_t *results) {
    for (int32_t n = 0; n < req->count; n++) {
        const rn_ctl_isr_change_t *c = &req->changes[n];
        int32_t at = n < n_parts && isr_names(topics[n], parts[n], c) ? n : -1;
        for (int32_t i = 0; at < 0 && i < n_parts; i++)
            if (isr_names(topics[i], parts[i], c)) at = i;
        if (at < 0)
            isr_result_none(&results[n], RN_KERR_NOT_CONTROLLER); /* the answer says nothing */
        else
            isr_result_from(parts[at], &results[n]);
    }
}

void rn_isr_submit_decode(const uint8_t *body, size_t len, const rn_ctl_isr_request_t *req,
                          rn_ctl_isr_result_t *results) {
    RN_ASSERT(req->count >= 0 && req->count <= RN_ISR_CHANGES_MAX);
    rn_arena_t arena;
    rn_arena_init(&arena, len * RN_PROTO_ARENA_FACTOR + RN_PROTO_ARENA_BYTES_MIN);
    rn_reader_t r;
    rn_reader_init(&r, body, len);
    rn_alter_partition_response_t resp;
    rn_alter_partition_response_init(&resp);
    rn_err_t err = rn_alter_partition_response_decode(&r, &arena, ISR_VERSION, &resp);
    size_t slots = (size_t)req->count + 1;
    const rn_alter_partition_response_topic_data_t **topics = calloc(slots, sizeof *topics);
    const rn_alter_partition_response_partition_data_t **parts = calloc(slots, sizeof *parts);
    RN_ASSERT(topics != NULL && parts != NULL);
    int32_t n_parts = 0;
    if (err != RN_OK || !isr_flatten(&resp, req->count, topics, parts, &n_parts))
        isr_results_all(req, results, RN_KERR_NOT_CONTROLLER); /* no controller says that */
    else if (resp.error_code != RN_KERR_NONE)
        isr_results_all(req, results, resp.error_code);
    else
        isr_match(req, n_parts, topics, parts, results);
    free(topics);
    free(parts);
    rn_arena_free(&arena);
}

/* ---- the op ---- */

static void isr_arrived(rn_admin_op_t *op) {
    rn_isr_submit_t *s = op->ctx;
    if (op->forwarded) {
        rn_isr_submit_decode(op->forwarded, op->forwarded_len, &s->request, s->results);
        free(op->forwarded);
        op->forwarded = NULL;
    } else if (s->reply->result.error_code != RN_KERR_NONE) {
        isr_results_all(&s->request, s->results, s->reply->result.error_code);
    } else {
        for (int32_t n = 0; n < s->count; n++)
            isr_result_take(&s->reply->results[n], &s->results[n]);
    }
    free(s->reply);
    s->reply = NULL;
    rn_buf_free(&s->raw);
    s->done(s);
}

void rn_isr_submit_send(rn_core_t *core, rn_isr_submit_t *s) {
    RN_ASSERT(s->count >= 1 && s->count <= RN_ISR_CHANGES_MAX);
    RN_ASSERT(s->changes != NULL && s->results != NULL && s->done != NULL);
    rn_node_t *node = core->node;
    RN_ASSERT(node->md_rt != NULL);
    s->request = (rn_ctl_isr_request_t){node->settings.node_id, atomic_load(&node->broker_epoch),
                                        s->count, s->changes};
    s->reply = malloc(rn_ctl_isr_reply_bytes(s->count));
    RN_ASSERT(s->reply != NULL);
    rn_buf_init(&s->raw, RN_CLIENT_REQUEST_BYTES_MAX);
    rn_err_t err = rn_isr_submit_encode(&s->request, &s->raw);
    RN_ASSERT(err == RN_OK); /* RN_ISR_CHANGES_MAX changes are far below both bounds */
    s->op = (rn_admin_op_t){.kind = RN_ADMIN_ALTER_PARTITION,
                            .items = &s->request,
                            .count = 1,
                            .results = s->reply,
                            .reply_loop = &core->loop,
                            .done = isr_arrived,
                            .ctx = s,
                            .api_key = RN_API_ALTER_PARTITION,
                            .api_version = ISR_VERSION,
                            .raw = rn_slice(s->raw.ptr, s->raw.len)};
    rn_md_rt_submit(node->md_rt, &s->op);
}
