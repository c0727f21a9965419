/*
 * produce.c: Produce (key 0).
 *
 * Each partition of the request becomes an op that runs on the core owning
 * the partition (cluster/fanout.h): it appends there and, when the ack must
 * be durable, waits for that core's end-of-turn group commit before it
 * replies. The response is written once every op has replied. Record bytes
 * are never copied: the owner rewrites offsets in the request's own frame
 * buffer and writes it to the log.
 *
 * Transactional batches (KIP-890 part 1): a producer's first batch of a
 * transaction in a partition is checked with its transaction coordinator
 * (the shard of its transactional id, txn/txn.h) before it is appended: a
 * partition not added to the ongoing transaction is INVALID_TXN_STATE, as
 * Kafka 3.9 answers. Once the partition has the producer's transaction
 * ongoing, its batches are appended without asking. With
 * transaction.partition.verification.enable=false nothing is checked. A
 * transactional batch in a request without a transactional id is refused
 * (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), as Kafka refuses it.
 */
#include "handlers/handler.h"
#include "proto/gen/produce_request.h"
#include "proto/gen/produce_response.h"
#include "base/assert.h"
#include "cluster/fanout.h"
#include "cluster/topics.h"
#include "partition/txns.h"
#include "proto/batch.h"
#include "handlers/txn_verify.h"

#include <stdio.h>
#include <string.h>

typedef struct produce_state {
    rn_fanout_t fan;
    rn_req_t *req;
    rn_ptable_t *table;
    rn_image_t *image; /* referenced while partitions are routed */
    rn_produce_response_t *resp;
    struct produce_op **pops; /* per topic of the request, its partitions' ops */
    int16_t acks;
    int32_t timeout_ms;        /* how long acks=all waits for the in-sync replicas */
    rn_str_t transactional_id; /* null: no transactions */
    rn_leader_hints_t leaders; /* v10+: of partitions led elsewhere (KIP-951) */
} produce_state_t;

typedef struct produce_op produce_op_t;
struct produce_op {
    rn_part_op_t op;
    rn_partition_waiter_t waiter;
    produce_state_t *state;
    rn_produce_response_partition_produce_response_t *out;
    uint8_t *records;
    size_t len;
    rn_err_t err;
    rn_partition_append_result_t res;
    rn_timer_t timer; /* acks=all: the request's timeout, on the owner */
    bool timer_armed;
    /* KIP-890 verification with the coordinator, from the owner core. */
    rn_str_t topic;
    bool verified;
    int16_t refused; /* the coordinator's answer when it refused the batch */
    rn_txn_verify_t verify;
};

static void produce_op_fill(produce_op_t *pop) {
    rn_produce_response_partition_produce_response_t *out = pop->out;
    out->error_code = pop->refused                     ? pop->refused
                      : pop->res.reason != RN_BATCH_OK ? rn_handler_batch_kerr(pop->res.reason)
                                                       : rn_handler_kerr(pop->err);
    if (pop->refused == RN_KERR_INVALID_TXN_STATE)
        out->error_message = rn_str_from_cstr("Partition was not added to the transaction");
    if (out->error_code != RN_KERR_NONE) return; /* the offsets stay -1, as Kafka answers */
    out->base_offset = pop->res.base_offset;
    out->log_append_time_ms = pop->res.log_append_time_ms;
    out->log_start_offset = pop->res.log_start_offset;
}

/* On the request's core: counts the partitions' error codes. */
static void produce_count_errors(rn_core_t *core, const rn_produce_response_t *resp) {
    for (int32_t t = 0; t < resp->responses.count; t++) {
        const rn_produce_response_topic_produce_response_t *tout = &resp->responses.items[t];
        for (int32_t p = 0; p < tout->partition_responses.count; p++)
            rn_core_stats_error(&core->stats, RN_STATS_ERRORS_PRODUCE,
                                tout->partition_responses.items[p].error_code);
    }
}

/* Kafka's record error for a keyless record on a compacted topic. */
static int produce_keyless_text(char *out, size_t cap, rn_str_t topic, int32_t partition) {
    return snprintf(out, cap,
                    "Compacted topic cannot accept message without key in topic partition %.*s-%d",
                    (int)topic.len, topic.ptr, partition);
}

/* A batch refused for keyless records: Kafka's record errors (one per
   keyless record, at its index in the batch) and its summary message,
   showing the first three. In the request's arena, on its core. */
static void produce_keyless_errors(rn_req_t *req, rn_str_t topic, const produce_op_t *pop) {
    rn_produce_response_partition_produce_response_t *out = pop->out;
    const rn_batch_keyless_t *kl = &pop->res.keyless;
    int32_t listed =
        kl->total < RN_BATCH_KEYLESS_REPORTED_MAX ? kl->total : RN_BATCH_KEYLESS_REPORTED_MAX;
    RN_ASSERT(listed > 0);
    char text[512];
    int text_len = produce_keyless_text(text, sizeof text, topic, out->index);
    RN_ASSERT(text_len > 0 && (size_t)text_len < sizeof text);
    char *msg = rn_arena_alloc(&req->arena, (size_t)text_len + 1);
    out->record_errors.items =
        rn_arena_alloc(&req->arena, (size_t)listed * sizeof(*out->record_errors.items));
    size_t sum_cap = 200 + 3 * ((size_t)text_len + 48);
    char *sum = rn_arena_alloc(&req->arena, sum_cap);
    if (!msg || !out->record_errors.items || !sum) return; /* the code alone, on budget */
    memcpy(msg, text, (size_t)text_len + 1);
    out->record_errors.count = listed;
    for (int32_t i = 0; i < listed; i++)
        out->record_errors.items[i] =
            (rn_produce_response_batch_index_and_error_message_t){kl->index[i], {msg, text_len}};
    int n = snprintf(sum, sum_cap,
                     "One or more records have been rejected due to %d record errors in total, "
                     "and only showing the first three errors at most: [",
                     kl->total);
    for (int32_t i = 0; i < listed && i < 3; i++)
        n += snprintf(sum + n, sum_cap - (size_t)n, "%sRecordError(batchIndex=%d, message='%s')",
                      i ? ", " : "", kl->index[i], msg);
    n += snprintf(sum + n, sum_cap - (size_t)n, "]");
    RN_ASSERT(n > 0 && (size_t)n < sum_cap);
    out->error_message = (rn_str_t){sum, n};
}

/* The leaders the answer names (v10+), where they listen. */
static void produce_node_endpoints(produce_state_t *state) {
    const rn_leader_hints_t *hints = &state->leaders;
    rn_produce_response_node_endpoint_array_t *eps = &state->resp->node_endpoints;
    if (hints->count == 0) return;
    eps->items = rn_arena_alloc(&state->req->arena, (size_t)hints->count * sizeof *eps->items);
    RN_ASSERT(eps->items != NULL); /* one per broker, within the response budget */
    eps->count = hints->count;
    for (int32_t n = 0; n < hints->count; n++)
        eps->items[n] =
            (rn_produce_response_node_endpoint_t){hints->items[n].leader, hints->items[n].host,
                                                  hints->items[n].port, hints->items[n].rack};
}

static void produce_done(rn_fanout_t *fan) {
    produce_state_t *state = (produce_state_t *)fan;
    rn_ptable_release(state->table);
    rn_produce_response_t *resp = state->resp;
    for (int32_t t = 0; t < resp->responses.count; t++)
        for (int32_t p = 0; p < resp->responses.items[t].partition_responses.count; p++)
            if (state->pops[t][p].res.reason == RN_BATCH_NO_KEY)
                produce_keyless_errors(state->req, resp->responses.items[t].name,
                                       &state->pops[t][p]);
    produce_count_errors(fan->origin, state->resp);
    produce_node_endpoints(state);
    if (state->acks == 0)
        rn_handler_finish_silently(state->req);
    else
        rn_handler_respond(state->req, state->resp);
}

static void produce_op_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    produce_op_t *pop = (produce_op_t *)((char *)waiter - offsetof(produce_op_t, waiter));
    rn_core_t *owner = rn_part_op_owner(&pop->op);
    if (pop->timer_armed) rn_loop_timer_stop(&owner->loop, &pop->timer);
    pop->timer_armed = false;
    if (err != RN_OK) pop->err = err;
    rn_core_note_append(owner, pop->op.part, pop->err);
    produce_op_fill(pop);
    rn_partition_t *part = pop->op.part;
    rn_fanout_reply(&pop->op); /* pop may be gone once the origin has it */
    rn_partition_unref(part);
}

/* acks=all and the in-sync replicas did not all reach the batch in time:
   REQUEST_TIMED_OUT (the records stay; a retry is answered as a duplicate). */
static void produce_op_timeout(rn_timer_t *timer) {
    produce_op_t *pop = (produce_op_t *)((char *)timer - offsetof(produce_op_t, timer));
    pop->timer_armed = false;
    if (rn_partition_unwait_hw(pop->op.part, &pop->waiter))
        produce_op_durable(&pop->waiter, RN_ERR_TIMEOUT);
}

/* acks=all: until the high watermark passes the batch, bounded by the
   request's timeout. */
static void produce_op_wait_replicas(produce_op_t *pop, rn_core_t *owner) {
    rn_partition_t *part = pop->op.part;
    pop->waiter.offset_needed = pop->res.last_offset;
    pop->waiter.done = produce_op_durable;
    if (rn_partition_hw(part) <= pop->res.last_offset) {
        rn_timer_init(&pop->timer, produce_op_timeout);
        rn_loop_timer_start(&owner->loop, &pop->timer, pop->state->timeout_ms);
        pop->timer_armed = true;
    }
    rn_partition_wait_hw(part, &pop->waiter); /* may complete at once */
}

/* ---- KIP-890 verification ---- */

static void produce_op_run(rn_part_op_t *op);

/* Back on the partition's owner core: append, or answer the refusal, as
   Kafka's produce answers it (a stale epoch is the client's
   INVALID_PRODUCER_EPOCH, a coordinator that cannot answer now a retriable
   NOT_ENOUGH_REPLICAS). */
static void produce_verified(rn_txn_verify_t *verify) {
    produce_op_t *pop = (produce_op_t *)((char *)verify - offsetof(produce_op_t, verify));
    int16_t kerr = verify->kerr;
    if (kerr == RN_KERR_PRODUCER_FENCED) kerr = RN_KERR_INVALID_PRODUCER_EPOCH;
    if (kerr == RN_KERR_NOT_COORDINATOR || kerr == RN_KERR_COORDINATOR_NOT_AVAILABLE ||
        kerr == RN_KERR_COORDINATOR_LOAD_IN_PROGRESS)
        kerr = RN_KERR_NOT_ENOUGH_REPLICAS;
    pop->verified = true;
    pop->refused = kerr;
    if (pop->refused == RN_KERR_NONE) {
        produce_op_run(&pop->op);
        return;
    }
    pop->err = RN_ERR_INVALID; /* nothing appended: no offsets in the answer */
    produce_op_fill(pop);
    rn_partition_t *part = pop->op.part;
    rn_fanout_reply(&pop->op); /* pop may be gone once the origin has it */
    rn_partition_unref(part);
}

/* Whether the batch must be checked with the coordinator first: the first
   transactional batch of its producer here (Kafka's VerificationGuard).
   A coordinator on another broker is asked over the network
   (handlers/txn_verify.h). */
static bool produce_verify(produce_op_t *pop, rn_partition_t *part, rn_core_t *owner) {
    produce_state_t *state = pop->state;
    if (pop->verified || state->transactional_id.len < 0 || pop->len < RN_BATCH_HEADER_BYTES ||
        !owner->node->settings.txn_verify)
        return false;
    rn_batch_header_t hdr;
    rn_batch_header_parse(pop->records, &hdr);
    if (!rn_batch_is_transactional(&hdr) || hdr.producer_id < 0 ||
        rn_txns_ongoing(part->txns, hdr.producer_id))
        return false;
    pop->verify = (rn_txn_verify_t){.txn_id = state->transactional_id,
                                    .producer_id = hdr.producer_id,
                                    .producer_epoch = hdr.producer_epoch,
                                    .topic = pop->topic,
                                    .partition = pop->out->index,
                                    .done = produce_verified};
    return rn_txn_verify_start(&pop->verify, owner, state->table);
}

/* On the owner core: append, then wait for the group commit (acks=1) or
   the in-sync replicas (acks=all). A retried batch already written waits
   the same: its first copy may not be durable or replicated yet. */
static void produce_op_run(rn_part_op_t *op) {
    produce_op_t *pop = (produce_op_t *)op;
    rn_partition_t *part = op->part;
    rn_core_t *owner = rn_part_op_owner(op);
    int16_t acks = pop->state->acks;
    if (!part->deleted && produce_verify(pop, part, owner)) return;
    pop->err = part->deleted ? RN_ERR_NOT_FOUND
               : acks == -1  ? rn_partition_check_acks_all(part)
                             : RN_OK;
    if (pop->err == RN_OK)
        pop->err = rn_partition_append_with(
            part, pop->records, pop->len, rn_io_wall_ms(owner->loop.io), owner->inflate, &pop->res);
    bool appended = pop->err == RN_OK && !pop->res.duplicate;
    if (appended) rn_core_mark_dirty(owner, part);
    if (pop->err != RN_OK || acks == 0) {
        produce_op_durable(&pop->waiter, RN_OK);
        return;
    }
    if (acks == -1) {
        produce_op_wait_replicas(pop, owner);
        return;
    }
    if (!part->durable || pop->res.last_offset < rn_log_synced_offset(part->log)) {
        produce_op_durable(&pop->waiter, RN_OK);
        return;
    }
    if (!appended) rn_core_mark_dirty(owner, part); /* a retry waits for the next sync */
    pop->waiter.offset_needed = pop->res.last_offset;
    pop->waiter.done = produce_op_durable;
    rn_partition_wait_durable(part, &pop->waiter);
}

/* Whether the first batch of a partition of the request is transactional
   (Kafka looks at that one only). */
static bool produce_has_txn_batch(const rn_produce_request_t *body) {
    for (int32_t t = 0; t < body->topic_data.count; t++) {
        const rn_produce_request_topic_produce_data_t *topic = &body->topic_data.items[t];
        for (int32_t p = 0; p < topic->partition_data.count; p++) {
            rn_records_t rec = topic->partition_data.items[p].records;
            const uint8_t *at = rec.ptr;
            if (rec.len < RN_BATCH_HEADER_BYTES || at[RN_BATCH_OFF_MAGIC] != RN_BATCH_MAGIC)
                continue;
            rn_batch_header_t hdr;
            rn_batch_header_parse(at, &hdr);
            if (rn_batch_is_transactional(&hdr)) return true;
        }
    }
    return false;
}

/* A Kafka code refusing the whole request: versions 0-2 carry message
   formats older than record batch v2; transactional batches need the
   request's transactional id (Kafka answers a request without one as it
   answers a client without rights to the id, and appends nothing). */
static int16_t produce_refusal(const rn_req_t *req, const rn_produce_request_t *body) {
    if (req->api_version <= 2) return RN_KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    if (body->transactional_id.len < 0 && produce_has_txn_batch(body))
        return RN_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    if (body->acks != 0 && body->acks != 1 && body->acks != -1)
        return RN_KERR_INVALID_REQUIRED_ACKS;
    return RN_KERR_NONE;
}

static rn_partition_t *produce_lookup(produce_state_t *state, rn_str_t topic, int32_t index) {
    rn_partition_t *part = rn_ptable_partition(state->table, topic, index);
    rn_node_t *node = state->fan.origin->node;
    /* An unknown topic is asked for and answered unknown; the producer
       refreshes its metadata and retries once it exists. */
    if (!part && !rn_ptable_find(state->table, topic.ptr, (size_t)topic.len))
        rn_topics_auto_create(node, topic);
    if (part) rn_partition_ref(part);
    return part;
}

/* Kafka's per-partition version check, before any partition work: zstd
   batches need Produce v7 (its clients negotiate it that way). Like Kafka's,
   it looks at the first batch only. */
static int16_t produce_refusal_partition(const rn_req_t *req,
                                         const rn_produce_request_partition_produce_data_t *pin) {
    size_t len = pin->records.len > 0 ? (size_t)pin->records.len : 0;
    if (req->api_version < 7 &&
        rn_batch_first_compression(pin->records.ptr, len) == RN_BATCH_COMPRESSION_ZSTD)
        return RN_KERR_UNSUPPORTED_COMPRESSION_TYPE;
    return RN_KERR_NONE;
}

static void produce_partition(produce_state_t *state, produce_op_t *pop, rn_str_t topic,
                              const rn_produce_request_partition_produce_data_t *pin,
                              int16_t refused) {
    pop->state = state;
    pop->res.reason = RN_BATCH_OK;
    pop->topic = topic;
    pop->verified = false;
    pop->refused = RN_KERR_NONE;
    rn_produce_response_partition_produce_response_init(pop->out);
    pop->out->index = pin->index;
    pop->out->base_offset = -1; /* Kafka's answer for a partition refused */
    if (refused == RN_KERR_NONE) refused = produce_refusal_partition(state->req, pin);
    if (refused != RN_KERR_NONE) {
        pop->out->error_code = refused;
        return;
    }
    int16_t lead = rn_handler_leader_kerr(state->image, state->fan.origin->node->settings.node_id,
                                          topic, pin->index);
    if (lead != RN_KERR_NONE) {
        pop->out->error_code = lead;
        rn_leader_hint_t hint;
        if (state->req->api_version >= 10 &&
            rn_handler_leader_hint(state->fan.origin, state->req, state->image, topic, pin->index,
                                   &state->leaders, &hint))
            pop->out->current_leader =
                (rn_produce_response_leader_id_and_epoch_t){hint.leader, hint.epoch};
        return;
    }
    pop->op.part = produce_lookup(state, topic, pin->index);
    if (!pop->op.part) {
        pop->out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return;
    }
    pop->records = (uint8_t *)(uintptr_t)pin->records.ptr; /* the frame is ours to rewrite */
    pop->len = pin->records.len > 0 ? (size_t)pin->records.len : 0;
    if (pop->len == 0) {
        pop->out->error_code = RN_KERR_CORRUPT_MESSAGE;
        rn_partition_unref(pop->op.part);
        return;
    }
    rn_fanout_send(&state->fan, &pop->op, produce_op_run);
}

void rn_handle_produce(rn_core_t *core, rn_req_t *req, void *body) {
    rn_produce_request_t *in = body;
    produce_state_t *state = rn_arena_alloc(&req->arena, sizeof *state);
    RN_ASSERT(state != NULL);
    state->req = req;
    state->table = rn_ptable_acquire(&core->node->ptable);
    state->image = rn_topics_image(core->node);
    state->resp = rn_handler_response_new(req);
    state->acks = in->acks;
    state->timeout_ms = in->timeout_ms > 0 ? in->timeout_ms : 0;
    state->transactional_id = req->api_version >= 3 ? in->transactional_id : rn_str_null();
    state->leaders = (rn_leader_hints_t){0};
    rn_fanout_begin(&state->fan, core, produce_done);
    int16_t refused = produce_refusal(req, in);
    int32_t topic_count = in->topic_data.count > 0 ? in->topic_data.count : 0;
    rn_produce_response_t *resp = state->resp;
    resp->responses.count = topic_count;
    resp->responses.items =
        rn_arena_alloc(&req->arena, (size_t)topic_count * sizeof *resp->responses.items + 1);
    state->pops = rn_arena_alloc(&req->arena, (size_t)topic_count * sizeof *state->pops + 1);
    RN_ASSERT(resp->responses.items != NULL && state->pops != NULL);
    for (int32_t t = 0; t < topic_count; t++) {
        const rn_produce_request_topic_produce_data_t *topic = &in->topic_data.items[t];
        rn_produce_response_topic_produce_response_t *tout = &resp->responses.items[t];
        int32_t count = topic->partition_data.count > 0 ? topic->partition_data.count : 0;
        tout->name = topic->name;
        tout->partition_responses.count = count;
        tout->partition_responses.items = rn_arena_alloc(
            &req->arena, (size_t)count * sizeof *tout->partition_responses.items + 1);
        produce_op_t *pops = rn_arena_alloc(&req->arena, (size_t)count * sizeof *pops + 1);
        RN_ASSERT(tout->partition_responses.items != NULL && pops != NULL);
        state->pops[t] = pops;
        for (int32_t p = 0; p < count; p++) {
            pops[p].out = &tout->partition_responses.items[p];
            produce_partition(state, &pops[p], topic->name, &topic->partition_data.items[p],
                              refused);
        }
    }
    rn_image_release(state->image); /* only the routing reads it */
    state->image = NULL;
    rn_fanout_end(&state->fan);
}
