/*
 * fetch.c: Fetch (key 1), with incremental fetch sessions (KIP-227).
 *
 * A v7+ fetch with session id 0 and epoch 0 opens a session when its
 * answer goes out (fetch_session.h: on this core, when the cache has room);
 * epoch -1 is a full fetch without one; any full fetch naming a session
 * closes it. An incremental fetch (epoch > 0) names its session and that
 * session's next epoch, lists only the partitions whose position changed
 * and those to forget, and is answered only the partitions with records, a
 * new high watermark or log start, or an error; partitions that sent
 * records move to the end of the session. A session another core owns, or
 * none, is FETCH_SESSION_ID_NOT_FOUND (the client opens a new one here; the
 * old one is evicted in its turn); a wrong epoch is
 * INVALID_FETCH_SESSION_EPOCH, as is an answer whose session was used by a
 * later request meanwhile.
 *
 * Each partition becomes an op read on its owner core: the owner finds the
 * file range of whole batches below the high watermark and pins its
 * segment; the origin core sends the range with sendfile, never copying
 * record bytes. If fewer than min_bytes are ready the request parks until
 * new data is committed on any core (a poke) or max_wait_ms passes.
 *
 * A follower's fetch of a partition that moves (a reassignment) and is
 * throttled on this leader (replication/throttle.h) leaves the partition
 * out of the answer while the node's leader throttle is over its rate;
 * what is sent of such partitions is recorded against it.
 *
 * From v13 topics are named by their ids (KIP-516): the request's ids
 * become names as the image has them on arrival (an unknown id: its
 * partitions answer UNKNOWN_TOPIC_ID), sessions keep names, and every
 * answer carries each topic's id. From v15 a follower names itself in
 * the replica state.
 *
 * Size limits (KIP-74): each partition reads at most min(partition_max_bytes,
 * max_bytes), max_bytes itself capped by the broker's fetch.max.bytes; the
 * response keeps partitions in request order while their ranges fit in
 * max_bytes; the first range that does not is read again within the room
 * left, so it sends the whole batches that fit. Only the first non-empty
 * partition may exceed a limit, by its first batch, so a consumer always
 * progresses past a batch larger than its limits; anywhere else a batch
 * that does not fit is not sent.
 */
#include "handlers/fetch_session.h"
#include "handlers/handler.h"
#include "proto/gen/fetch_request.h"
#include "proto/gen/fetch_response.h"
#include "base/assert.h"
#include "cluster/fanout.h"
#include "cluster/topics.h"
#include "net/conn.h"
#include "partition/txns.h"
#include "replication/serve.h"
#include "replication/throttle.h"

#include <stdlib.h>
#include <string.h>

typedef struct fetch_state fetch_state_t;

typedef enum fetch_mode {
    FETCH_SESSIONLESS,
    FETCH_SESSION_NEW,         /* opens a session with its answer */
    FETCH_SESSION_INCREMENTAL, /* its partitions are its session's */
} fetch_mode_t;

typedef struct fetch_op {
    rn_part_op_t op; /* op.part: referenced; NULL for an unknown partition */
    int64_t fetch_offset;
    int32_t max_bytes; /* min(partition_max_bytes, the request's max_bytes) */
    rn_fetch_response_partition_data_t *out;
    rn_log_read_t read;
    rn_file_range_t range;
    rn_err_t err;
    int16_t refused; /* NOT_LEADER_OR_FOLLOWER: not sent to the owner */
    int16_t kerr;    /* an error the owner found (epochs, a non-replica) */
    rn_str_t topic;  /* null: an id the image does not know (v13+) */
    rn_uuid_t topic_id;
    int32_t asked_max_bytes;      /* partition_max_bytes as asked, for a new session */
    int32_t replica_id;           /* a follower's broker id; -1 for a consumer */
    int32_t current_leader_epoch; /* -1: not checked */
    int32_t last_fetched_epoch;   /* -1: no divergence check */
    rn_fetch_response_epoch_end_offset_t diverging;
    /* KIP-392: a consumer fetch a follower serves (up to its high
       watermark), and the leader's candidates in the consumer's rack. */
    bool follower_read;
    int16_t rack_count;
    int32_t rack_replicas[RN_REPLICAS_MAX];
    int32_t preferred; /* the replica the leader sends the consumer to, or -1 */
    /* A follower's fetch the leader throttles (replication/throttle.h):
       what it reads is recorded against the leader's quota once sent. */
    bool throttled;
    /* read_committed (a consumer's isolation level 1): up to the last
       stable offset, naming the aborted transactions in what it reads
       (written by the owner into the request's arena; reused on re-reads). */
    bool read_committed;
    rn_fetch_response_aborted_transaction_t *aborted;
    int32_t aborted_count;
    int32_t aborted_cap;
} fetch_op_t;

struct fetch_state {
    rn_fanout_t fan;
    rn_req_t *req;
    rn_fetch_response_t *resp;
    fetch_op_t *ops;
    int32_t op_count;
    int32_t min_bytes;
    int32_t max_bytes;
    int64_t deadline_ms;
    bool final;        /* respond whatever the result */
    fetch_op_t *trim;  /* the first range dropped while max_bytes had room left */
    int64_t trim_room; /* max_bytes left before it */
    bool trimmed;      /* `trim` was read again within trim_room */
    rn_timer_t timer;
    fetch_state_t *park_next;
    fetch_mode_t mode;
    bool privileged;           /* from a replica (replica_id >= 0) */
    bool read_committed;       /* a consumer's isolation level 1 */
    int32_t replica_id;        /* the follower's broker id, else -1 */
    rn_str_t rack_id;          /* a consumer's rack (v11+), for KIP-392 */
    rn_leader_hints_t leaders; /* v16+: of partitions led elsewhere (KIP-951) */
    rn_fsess_t *sess;          /* incremental: held until the answer; ops in its order */
    int32_t sess_epoch;        /* incremental: its epoch unless a later request used it */
};

static void fetch_evaluate(rn_fanout_t *fan);

/* The replica's decisions on the fetch (replication/serve.h): false when
   they answer it, with an epoch's code or a diverging epoch. */
static bool fetch_served(fetch_op_t *fop, rn_partition_t *part, int64_t now_ms,
                         rn_repl_served_t *served) {
    rn_repl_fetch_t in = {fop->replica_id, fop->current_leader_epoch, fop->last_fetched_epoch,
                          fop->fetch_offset};
    rn_repl_serve(part, &in, now_ms, served);
    fop->kerr = served->kerr;
    if (served->diverged)
        fop->diverging = (rn_fetch_response_epoch_end_offset_t){served->div_epoch, served->div_end};
    return served->kerr == RN_KERR_NONE && !served->diverged;
}

/* A follower's fetch, decided (rn_repl_serve): its position counted
   toward the high watermark, it reads up to the log end (a consumer, up to
   the high watermark). */
static rn_err_t fetch_follower(fetch_op_t *fop, rn_partition_t *part,
                               const rn_repl_served_t *served) {
    if (served->err != RN_OK) return served->err;
    rn_core_t *owner = rn_part_op_owner(&fop->op);
    if (served->hw_moved) rn_node_poke_all(owner->node);
    if (fop->fetch_offset == served->read_upto) return RN_OK;
    /* A moving replica over the leader's throttle: left out of this
       answer (no records), as Kafka's leader does. */
    fop->throttled = rn_throttle_leader_applies(part, fop->replica_id);
    if (fop->throttled && rn_throttle_exceeded(&owner->node->throttle_leader, owner->loop.now_ms)) {
        rn_throttle_hold(&owner->node->throttle_leader, owner->loop.now_ms);
        return RN_OK;
    }
    return rn_log_read(part->log, fop->fetch_offset, fop->max_bytes, served->read_upto, &fop->read);
}

/* read_committed: the aborted transactions overlapping what is read
   (from the fetch offset to the last stable offset), as Kafka lists them.
   Owner core: heap memory (other owners fill the request's other ops at
   the same time), moved into the answer by fetch_fill. */
static void fetch_aborted(fetch_op_t *fop, rn_partition_t *part, int64_t end) {
    rn_txn_aborted_t found[64];
    fop->aborted_count = 0;
    for (int64_t from = fop->fetch_offset;;) {
        int32_t n = rn_txns_aborted(part->txns, from, end, found, 64);
        if (fop->aborted_count + n > RN_TXN_ABORTED_PER_FETCH_MAX) n = 0;
        if (n > 0 && fop->aborted_count + n > fop->aborted_cap) {
            int32_t cap = (fop->aborted_count + n) * 2;
            rn_fetch_response_aborted_transaction_t *grown =
                realloc(fop->aborted, (size_t)cap * sizeof *grown);
            RN_ASSERT(grown != NULL);
            fop->aborted = grown;
            fop->aborted_cap = cap;
        }
        for (int32_t i = 0; i < n; i++)
            fop->aborted[fop->aborted_count++] = (rn_fetch_response_aborted_transaction_t){
                found[i].producer_id, found[i].first_offset};
        if (n < 64) return;
        from = found[n - 1].last_offset + 1;
    }
}

/* On the request's core: the aborted transactions into the answer (the
   request's arena), the heap copy freed. */
static void fetch_aborted_fill(rn_req_t *req, fetch_op_t *op,
                               rn_fetch_response_partition_data_t *out) {
    rn_fetch_response_aborted_transaction_t *items = NULL;
    int32_t count = op->read.len ? op->aborted_count : 0;
    if (count > 0) {
        items = rn_arena_alloc(&req->arena, (size_t)count * sizeof *items);
        if (items)
            memcpy(items, op->aborted, (size_t)count * sizeof *items);
        else
            count = 0; /* past the budget: the records go without them */
    }
    free(op->aborted);
    op->aborted = NULL;
    op->aborted_count = op->aborted_cap = 0;
    out->aborted_transactions = (rn_fetch_response_aborted_transaction_array_t){items, count};
}

/* On the owner core: find the range below the high watermark (a
   follower's: the log end; read_committed: the last stable offset) and pin
   it. */
static void fetch_op_run(rn_part_op_t *op) {
    fetch_op_t *fop = (fetch_op_t *)op;
    rn_partition_t *part = op->part;
    rn_repl_served_t served;
    fop->read = (rn_log_read_t){0};
    fop->err = RN_OK;
    fop->kerr = RN_KERR_NONE;
    fop->diverging = (rn_fetch_response_epoch_end_offset_t){-1, -1};
    fop->preferred = -1;
    fop->throttled = false;
    if (part->deleted) {
        fop->err = RN_ERR_NOT_FOUND;
    } else if (rn_partition_offline(part)) {
        fop->err = RN_ERR_IO; /* KAFKA_STORAGE_ERROR until a restart recovers it */
    } else if (part->role != RN_PARTITION_LEADER &&
               !(fop->follower_read && part->role == RN_PARTITION_FOLLOWER)) {
        fop->err = RN_ERR_NOT_LEADER;
    } else if (!fetch_served(fop, part, rn_part_op_owner(op)->loop.now_ms, &served)) {
        /* answered with an epoch's code or where the logs part */
    } else if (served.follower) {
        fop->err = fetch_follower(fop, part, &served);
    } else if (fop->rack_count > 0 &&
               (fop->preferred = rn_partition_read_replica(
                    part, fop->rack_replicas, fop->rack_count, fop->fetch_offset)) >= 0) {
        /* sent to a replica in its rack: no records from here */
    } else {
        int64_t end = fop->read_committed ? rn_partition_lso(part) : rn_partition_hw(part);
        if (fop->fetch_offset != end)
            fop->err = rn_log_read(part->log, fop->fetch_offset, fop->max_bytes, end, &fop->read);
        if (fop->read_committed && fop->read.len) fetch_aborted(fop, part, end);
    }
    rn_fanout_reply(op);
}

/* A partition with nothing to read at the fetch offset, which the owner
   would only confirm: answered here (its high watermark and flags are
   atomics any core reads), so an idle fetch of thousands of partitions
   costs no mail. */
static bool fetch_op_idle(const fetch_op_t *op) {
    rn_partition_t *part = op->op.part;
    /* A follower's position must reach the owner; so must an epoch to check
       and a rack to choose a replica for. */
    if (op->replica_id >= 0 || op->last_fetched_epoch >= 0 || op->rack_count > 0) return false;
    int64_t end = op->read_committed ? rn_partition_lso(part) : rn_partition_hw(part);
    return !atomic_load_explicit(&part->deleted, memory_order_acquire) &&
           !rn_partition_offline(part) && end == op->fetch_offset;
}

static void fetch_issue(fetch_state_t *state) {
    rn_fanout_begin(&state->fan, state->fan.origin, fetch_evaluate);
    for (int32_t i = 0; i < state->op_count; i++) {
        fetch_op_t *op = &state->ops[i];
        if (!op->op.part) continue;
        if (fetch_op_idle(op)) {
            op->read = (rn_log_read_t){0};
            op->err = RN_OK;
        } else {
            rn_fanout_send(&state->fan, &op->op, fetch_op_run);
        }
    }
    rn_fanout_end(&state->fan);
}

static void fetch_release_read(void *pin) { rn_log_read_release(pin); }

static void fetch_drop_reads(fetch_state_t *state) {
    for (int32_t i = 0; i < state->op_count; i++) {
        if (state->ops[i].read.len) rn_log_read_release(&state->ops[i].read);
        state->ops[i].read = (rn_log_read_t){0};
    }
}

/* Bytes ready, dropping ranges past the request's max_bytes or their
   partition's limit: a read holds one batch larger than its limit when that
   batch alone was found, which only the first non-empty partition sends.
   Notes the first range dropped while max_bytes still had room for a batch,
   to be read again within that room (fetch_trim). */
static int64_t fetch_tally(fetch_state_t *state) {
    int64_t total = 0;
    state->trim = NULL;
    for (int32_t i = 0; i < state->op_count; i++) {
        fetch_op_t *op = &state->ops[i];
        if (op->read.len == 0) continue;
        bool fits = op->read.len <= (uint64_t)op->max_bytes &&
                    total + (int64_t)op->read.len <= state->max_bytes;
        if (total > 0 && !fits) {
            int64_t room = state->max_bytes - total;
            if (!state->trim && room >= RN_BATCH_LOG_OVERHEAD + RN_BATCH_HEADER_BYTES &&
                op->read.len > (uint64_t)room) {
                state->trim = op;
                state->trim_room = room;
            }
            rn_log_read_release(&op->read);
            op->read = (rn_log_read_t){0};
            continue;
        }
        total += (int64_t)op->read.len;
    }
    return total;
}

/* Reads the partition whose range did not fit again, within the room
   max_bytes has left, so it sends the batches that fit (as Kafka, which
   reads partitions one after another); then the response goes out. */
static void fetch_trim(fetch_state_t *state) {
    fetch_op_t *op = state->trim;
    op->max_bytes = (int32_t)state->trim_room;
    state->trimmed = true;
    state->final = true;
    rn_fanout_begin(&state->fan, state->fan.origin, fetch_evaluate);
    rn_fanout_send(&state->fan, &op->op, fetch_op_run);
    rn_fanout_end(&state->fan);
}

static void fetch_fill(rn_core_t *core, rn_req_t *req, fetch_op_t *op) {
    rn_fetch_response_partition_data_t *out = op->out;
    rn_partition_t *part = op->op.part;
    out->error_code = op->refused ? op->refused
                      : !part     ? RN_KERR_UNKNOWN_TOPIC_OR_PARTITION
                      : op->kerr  ? op->kerr
                                  : rn_handler_kerr(op->err);
    rn_core_stats_error(&core->stats, RN_STATS_ERRORS_FETCH, out->error_code);
    /* Never a null record set: clients fail the whole response on one. */
    out->records = (rn_records_t){NULL, 0, NULL, 0};
    if (out->error_code != RN_KERR_NONE) {
        /* As Kafka: offsets unknown (-1) beside any partition error; a
           follower out of range is told where the log starts, so it can
           start over there without asking again. */
        out->high_watermark = out->last_stable_offset = out->log_start_offset = -1;
        if (out->error_code == RN_KERR_OFFSET_OUT_OF_RANGE && op->replica_id >= 0)
            out->log_start_offset = rn_partition_start(part);
        if (op->read.len) rn_log_read_release(&op->read);
        op->read = (rn_log_read_t){0};
        free(op->aborted);
        op->aborted = NULL;
        return;
    }
    out->high_watermark = rn_partition_hw(part);
    out->last_stable_offset = rn_partition_lso(part);
    if (op->read_committed) fetch_aborted_fill(req, op, out);
    out->log_start_offset = rn_partition_start(part);
    out->diverging_epoch = op->diverging;
    out->preferred_read_replica = op->preferred;
    if (op->read.len == 0) return;
    if (op->throttled)
        rn_throttle_record(&core->node->throttle_leader, op->read.len, core->loop.now_ms);
    /* Any core may fetch a partition: the one counter it shares with the
       owner is added atomically (no lock; relaxed). */
    atomic_fetch_add_explicit(&part->bytes_out_total, op->read.len, memory_order_relaxed);
    op->range = (rn_file_range_t){op->read.fd, &op->read, fetch_release_read};
    out->records = (rn_records_t){NULL, (int64_t)op->read.len, &op->range, op->read.position};
}

/* ---- sessions ---- */

/* Opens the session a full fetch with epoch 0 asked for, from its answer
   (Kafka does so as it answers): the session id, or 0 when the cache has
   no room. */
static int32_t fetch_session_open(fetch_state_t *state) {
    rn_core_t *core = state->fan.origin;
    rn_fsess_t *sess = rn_fetch_session_open(core->fetch_sessions, core->loop.now_ms,
                                             state->privileged, state->op_count);
    if (!sess) return 0;
    for (int32_t i = 0; i < state->op_count; i++) {
        const fetch_op_t *op = &state->ops[i];
        if (op->topic.len < 0) continue;
        rn_fsess_part_t *p = rn_fetch_session_set(sess, op->topic, op->out->partition_index,
                                                  op->fetch_offset, op->asked_max_bytes);
        if (!p) {
            rn_fetch_session_remove(sess);
            return 0;
        }
        p->hw = op->out->high_watermark;
        p->log_start = op->out->log_start_offset;
    }
    if (sess->count == 0) {
        rn_fetch_session_remove(sess);
        return 0;
    }
    rn_fetch_session_touch(sess, core->loop.now_ms);
    return sess->id;
}

/* Kafka's CachedPartition.maybeUpdateResponseData: whether an incremental
   answer carries the partition, noting what it tells the client. */
static bool fetch_session_must_answer(rn_fsess_part_t *p,
                                      const rn_fetch_response_partition_data_t *out) {
    bool must = out->records.len > 0 || out->preferred_read_replica >= 0;
    if (p->hw != out->high_watermark) {
        must = true;
        p->hw = out->high_watermark;
    }
    if (p->log_start != out->log_start_offset) {
        must = true;
        p->log_start = out->log_start_offset;
    }
    if (out->error_code != RN_KERR_NONE) {
        must = true;
        p->hw = -1; /* answered again once the error is gone */
    }
    return must;
}

/* Counts the topic entries of the chosen ops: a new one whenever the topic
   changes from the previous chosen op's, as in the session's order. */
static int32_t fetch_session_topic_count(const fetch_state_t *state, const uint8_t *chosen) {
    int32_t count = 0;
    const fetch_op_t *prev = NULL;
    for (int32_t i = 0; i < state->op_count; i++) {
        if (!chosen[i]) continue;
        const fetch_op_t *op = &state->ops[i];
        if (!prev || !rn_str_eq(prev->topic, op->topic)) count++;
        prev = op;
    }
    return count;
}

/* The incremental answer: only the partitions that must be answered, in
   the session's order; then those that sent records move to its end. */
static void fetch_session_answer(fetch_state_t *state) {
    rn_fsess_t *sess = state->sess;
    RN_ASSERT(sess->count == state->op_count);
    rn_arena_t *arena = &state->req->arena;
    uint8_t *chosen = rn_arena_alloc(arena, (size_t)state->op_count + 1);
    uint8_t *to_end = rn_arena_alloc(arena, (size_t)state->op_count + 1);
    RN_ASSERT(chosen && to_end);
    int32_t picked = 0;
    for (int32_t i = 0; i < state->op_count; i++) {
        const rn_fetch_response_partition_data_t *out = state->ops[i].out;
        chosen[i] = fetch_session_must_answer(&sess->parts[i], out);
        to_end[i] = out->records.len > 0;
        picked += chosen[i];
    }
    int32_t topic_count = fetch_session_topic_count(state, chosen);
    rn_fetch_response_t *resp = state->resp;
    resp->responses.count = topic_count;
    resp->responses.items =
        rn_arena_alloc(arena, (size_t)topic_count * sizeof *resp->responses.items + 1);
    rn_fetch_response_partition_data_t *parts =
        rn_arena_alloc(arena, (size_t)picked * sizeof *parts + 1);
    RN_ASSERT(resp->responses.items && parts);
    rn_fetch_response_fetchable_topic_response_t *tout = NULL;
    const fetch_op_t *prev = NULL;
    for (int32_t i = 0; i < state->op_count; i++) {
        if (!chosen[i]) continue;
        const fetch_op_t *op = &state->ops[i];
        if (!prev || !rn_str_eq(prev->topic, op->topic)) {
            tout = tout ? tout + 1 : resp->responses.items;
            rn_fetch_response_fetchable_topic_response_init(tout);
            tout->topic = op->topic;
            tout->topic_id = op->topic_id;
            tout->partitions.items = parts;
            tout->partitions.count = 0;
        }
        tout->partitions.items[tout->partitions.count++] = *op->out;
        parts++;
        prev = op;
    }
    RN_ASSERT(topic_count == 0 || tout == &resp->responses.items[topic_count - 1]);
    rn_fetch_session_rotate(sess, to_end);
}

/* Answers with a session error and no partitions (reads given back). */
static void fetch_respond_error(fetch_state_t *state, int16_t kerr, int32_t session_id) {
    for (int32_t i = 0; i < state->op_count; i++) {
        fetch_op_t *op = &state->ops[i];
        if (op->read.len) rn_log_read_release(&op->read);
        op->read = (rn_log_read_t){0};
        free(op->aborted);
        op->aborted = NULL;
        if (op->op.part) rn_partition_unref(op->op.part);
    }
    state->resp->error_code = kerr;
    state->resp->session_id = session_id;
    state->resp->responses.count = 0;
    rn_core_stats_error(&state->fan.origin->stats, RN_STATS_ERRORS_FETCH, kerr);
    rn_handler_respond(state->req, state->resp);
}

/* The leaders the answer names (v16+), where they listen. */
static void fetch_node_endpoints(fetch_state_t *state) {
    const rn_leader_hints_t *hints = &state->leaders;
    rn_fetch_response_node_endpoint_array_t *eps = &state->resp->node_endpoints;
    if (hints->count == 0) return;
    eps->items = rn_arena_alloc(&state->req->arena, (size_t)hints->count * sizeof *eps->items);
    RN_ASSERT(eps->items != NULL); /* one per broker, within the response budget */
    eps->count = hints->count;
    for (int32_t n = 0; n < hints->count; n++)
        eps->items[n] =
            (rn_fetch_response_node_endpoint_t){hints->items[n].leader, hints->items[n].host,
                                                hints->items[n].port, hints->items[n].rack};
}

static void fetch_respond(fetch_state_t *state) {
    rn_fsess_t *sess = state->sess;
    if (sess && sess->epoch != state->sess_epoch) {
        /* A later request of this session came first: as Kafka, this
           answer is refused (a duplicate request). */
        fetch_respond_error(state, RN_KERR_INVALID_FETCH_SESSION_EPOCH, sess->id);
        rn_fetch_session_release(sess);
        return;
    }
    for (int32_t i = 0; i < state->op_count; i++) {
        fetch_fill(state->fan.origin, state->req, &state->ops[i]);
        if (state->ops[i].op.part) rn_partition_unref(state->ops[i].op.part);
    }
    if (state->mode == FETCH_SESSION_NEW) state->resp->session_id = fetch_session_open(state);
    if (sess) {
        fetch_session_answer(state);
        state->resp->session_id = sess->id;
    }
    rn_core_stats_error(&state->fan.origin->stats, RN_STATS_ERRORS_FETCH, state->resp->error_code);
    fetch_node_endpoints(state);
    rn_handler_respond(state->req, state->resp);
    if (sess) rn_fetch_session_release(sess);
}

/* ---- parking ---- */

static void fetch_unpark(fetch_state_t *state) {
    rn_core_t *core = state->fan.origin;
    for (fetch_state_t **link = (fetch_state_t **)&core->parked; *link;
         link = &(*link)->park_next) {
        if (*link == state) {
            *link = state->park_next;
            break;
        }
    }
    atomic_store(&core->has_parked, core->parked != NULL);
    rn_loop_timer_stop(&core->loop, &state->timer);
}

static void fetch_timeout(rn_timer_t *timer) {
    fetch_state_t *state = (fetch_state_t *)((char *)timer - offsetof(fetch_state_t, timer));
    fetch_unpark(state);
    state->final = true;
    fetch_issue(state);
}

static void fetch_park(fetch_state_t *state) {
    rn_core_t *core = state->fan.origin;
    state->park_next = core->parked;
    core->parked = state;
    atomic_store(&core->has_parked, 1);
    rn_timer_init(&state->timer, fetch_timeout);
    int64_t wait_ms = state->deadline_ms - core->loop.now_ms;
    rn_loop_timer_start(&core->loop, &state->timer, wait_ms > 0 ? wait_ms : 0);
}

/* New records to read: below the high watermark for a consumer, the log
   end for a follower. */
static bool fetch_has_news(const fetch_state_t *state) {
    for (int32_t i = 0; i < state->op_count; i++) {
        const fetch_op_t *op = &state->ops[i];
        if (!op->op.part) continue;
        int64_t upto = op->replica_id >= 0
                           ? atomic_load_explicit(&op->op.part->log_end, memory_order_acquire)
                           : rn_partition_hw(op->op.part);
        if (upto > op->fetch_offset) return true;
    }
    return false;
}

void rn_handler_fetch_poke(rn_mail_t *mail) {
    rn_core_t *core = (rn_core_t *)((char *)mail - offsetof(rn_core_t, poke));
    atomic_store(&core->poke_queued, 0);
    fetch_state_t *state = core->parked;
    while (state) {
        fetch_state_t *next = state->park_next;
        if (fetch_has_news(state)) {
            fetch_unpark(state);
            fetch_issue(state);
        }
        state = next;
    }
}

void rn_handler_fetch_expire(rn_core_t *core) {
    while (core->parked) {
        fetch_state_t *state = core->parked;
        fetch_unpark(state);
        state->final = true;
        fetch_issue(state);
    }
}

static void fetch_evaluate(rn_fanout_t *fan) {
    fetch_state_t *state = (fetch_state_t *)fan;
    int64_t total = fetch_tally(state);
    bool any_error = false;
    /* As Kafka, an error (an unknown partition too) answers at once. */
    for (int32_t i = 0; i < state->op_count; i++)
        any_error |= !state->ops[i].op.part || state->ops[i].err != RN_OK;
    if (state->final || any_error || total >= state->min_bytes ||
        fan->origin->loop.now_ms >= state->deadline_ms) {
        if (state->trim && !state->trimmed)
            fetch_trim(state);
        else
            fetch_respond(state);
        return;
    }
    fetch_drop_reads(state);
    fetch_park(state);
}

/* ---- the request ---- */

static int32_t fetch_count_partitions(const rn_fetch_request_t *in) {
    int32_t count = 0;
    for (int32_t t = 0; t < in->topics.count; t++)
        count +=
            in->topics.items[t].partitions.count > 0 ? in->topics.items[t].partitions.count : 0;
    return count;
}

/* Whether this node is one of the partition's replicas, as the image says. */
static bool fetch_hosts_replica(const rn_image_t *img, int32_t self, rn_str_t topic,
                                int32_t partition) {
    const rn_image_topic_t *it =
        topic.len > 0 ? rn_image_topic(img, topic.ptr, (size_t)topic.len) : NULL;
    if (!it || partition < 0 || partition >= it->partition_count) return false;
    const rn_image_partition_t *ip = &it->partitions[partition];
    for (int16_t n = 0; n < ip->replica_count; n++)
        if (ip->replicas[n] == self) return true;
    return false;
}

/* RackAwareReplicaSelector: a consumer naming its rack (Fetch v11+) whose
   leader is in another rack may be sent to a replica in its own; the
   owner picks one of these that holds the fetch offset. */
static void fetch_rack_candidates(fetch_state_t *state, const rn_image_t *img, fetch_op_t *op,
                                  rn_str_t topic, int32_t partition) {
    rn_str_t rack = state->rack_id;
    const rn_node_t *node = state->fan.origin->node;
    if (!node->settings.rack_aware_selector || state->replica_id >= 0 || rack.len <= 0) return;
    const rn_image_topic_t *it = rn_image_topic(img, topic.ptr, (size_t)topic.len);
    if (!it || partition < 0 || partition >= it->partition_count) return;
    const rn_image_partition_t *ip = &it->partitions[partition];
    for (int16_t n = 0; n < ip->replica_count; n++) {
        const rn_image_broker_t *b = rn_image_broker(img, ip->replicas[n]);
        bool same = b && b->has_rack && strlen(b->rack) == (size_t)rack.len &&
                    !memcmp(b->rack, rack.ptr, (size_t)rack.len);
        if (!same) continue;
        if (ip->replicas[n] == node->settings.node_id) { /* the leader is in its rack */
            op->rack_count = 0;
            return;
        }
        op->rack_replicas[op->rack_count++] = ip->replicas[n];
    }
}

/* One partition's op: its limits, the leader check and the partition. */
static void fetch_prepare_op(fetch_state_t *state, rn_ptable_t *table, const rn_image_t *img,
                             fetch_op_t *op, rn_str_t topic, int32_t partition,
                             int64_t fetch_offset, int32_t partition_max_bytes) {
    rn_fetch_response_partition_data_init(op->out);
    op->out->partition_index = partition;
    op->topic = topic;
    op->fetch_offset = fetch_offset;
    op->replica_id = state->replica_id;
    op->read_committed = state->read_committed && state->replica_id < 0;
    op->aborted_count = op->aborted_cap = 0;
    op->aborted = NULL;
    op->current_leader_epoch = op->last_fetched_epoch = -1;
    op->follower_read = false;
    op->rack_count = 0;
    op->preferred = -1;
    op->asked_max_bytes = partition_max_bytes;
    op->max_bytes = partition_max_bytes > 0 ? partition_max_bytes : 1;
    if (op->max_bytes > state->max_bytes) op->max_bytes = state->max_bytes;
    const rn_image_topic_t *it =
        topic.len > 0 ? rn_image_topic(img, topic.ptr, (size_t)topic.len) : NULL;
    op->topic_id = it ? it->id : rn_uuid_zero;
    if (topic.len < 0 && state->req->api_version >= 13) {
        op->refused = RN_KERR_UNKNOWN_TOPIC_ID;
        op->op.part = NULL;
        return;
    }
    int32_t self = state->fan.origin->node->settings.node_id;
    op->refused = rn_handler_leader_kerr(img, self, topic, partition);
    if (op->refused && state->replica_id < 0 && state->req->api_version >= 11 &&
        fetch_hosts_replica(img, self, topic, partition)) {
        op->refused = RN_KERR_NONE; /* a consumer may read a follower (KIP-392) */
        op->follower_read = true;
    }
    rn_leader_hint_t hint;
    if (op->refused == RN_KERR_NOT_LEADER_OR_FOLLOWER && state->req->api_version >= 16 &&
        rn_handler_leader_hint(state->fan.origin, state->req, img, topic, partition,
                               &state->leaders, &hint))
        op->out->current_leader =
            (rn_fetch_response_leader_id_and_epoch_t){hint.leader, hint.epoch};
    if (!op->refused && !op->follower_read) fetch_rack_candidates(state, img, op, topic, partition);
    op->op.part = op->refused ? NULL : rn_ptable_partition(table, topic, partition);
    if (op->op.part) rn_partition_ref(op->op.part);
}

static void fetch_prepare_topic(fetch_state_t *state, rn_ptable_t *table, const rn_image_t *img,
                                const rn_fetch_request_fetch_topic_t *topic,
                                rn_fetch_response_fetchable_topic_response_t *tout) {
    rn_req_t *req = state->req;
    int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
    tout->topic = topic->topic;
    tout->topic_id = topic->topic_id;
    tout->partitions.count = count;
    tout->partitions.items =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof *tout->partitions.items + 1);
    RN_ASSERT(tout->partitions.items != NULL);
    for (int32_t p = 0; p < count; p++) {
        const rn_fetch_request_fetch_partition_t *pin = &topic->partitions.items[p];
        fetch_op_t *op = &state->ops[state->op_count++];
        op->out = &tout->partitions.items[p];
        fetch_prepare_op(state, table, img, op, topic->topic, pin->partition, pin->fetch_offset,
                         pin->partition_max_bytes);
        op->current_leader_epoch = pin->current_leader_epoch;
        op->last_fetched_epoch = pin->last_fetched_epoch;
    }
}

/* The ops of an incremental fetch: every partition of its session, in the
   session's order; the answer is built from them once they are back. */
static bool fetch_prepare_session(fetch_state_t *state, rn_ptable_t *table, const rn_image_t *img) {
    rn_fsess_t *sess = state->sess;
    rn_arena_t *arena = &state->req->arena;
    state->ops = rn_arena_alloc(arena, (size_t)sess->count * sizeof *state->ops + 1);
    rn_fetch_response_partition_data_t *outs =
        rn_arena_alloc(arena, (size_t)sess->count * sizeof *outs + 1);
    if (!state->ops || !outs) return false;
    for (int32_t i = 0; i < sess->count; i++) {
        const rn_fsess_part_t *p = &sess->parts[i];
        fetch_op_t *op = &state->ops[state->op_count++];
        op->out = &outs[i];
        fetch_prepare_op(state, table, img, op, (rn_str_t){p->topic, p->topic_len}, p->partition,
                         p->fetch_offset, p->max_bytes);
    }
    return true;
}

static bool fetch_prepare_request(fetch_state_t *state, rn_ptable_t *table, const rn_image_t *img,
                                  const rn_fetch_request_t *in) {
    rn_arena_t *arena = &state->req->arena;
    int32_t part_count = fetch_count_partitions(in);
    state->ops = rn_arena_alloc(arena, (size_t)part_count * sizeof *state->ops + 1);
    int32_t topic_count = in->topics.count > 0 ? in->topics.count : 0;
    rn_fetch_response_t *resp = state->resp;
    resp->responses.count = topic_count;
    resp->responses.items =
        rn_arena_alloc(arena, (size_t)topic_count * sizeof *resp->responses.items + 1);
    if (!state->ops || !resp->responses.items) return false;
    for (int32_t t = 0; t < topic_count; t++)
        fetch_prepare_topic(state, table, img, &in->topics.items[t], &resp->responses.items[t]);
    return true;
}

/* Applies an incremental request to its session (Kafka's
   FetchSession.update): the partitions it lists are added or take their
   new position, then the forgotten ones are dropped. False when out of
   memory. */
static bool fetch_session_update(rn_fsess_t *sess, const rn_fetch_request_t *in) {
    for (int32_t t = 0; t < in->topics.count; t++) {
        const rn_fetch_request_fetch_topic_t *topic = &in->topics.items[t];
        if (topic->topic.len < 0) continue;
        for (int32_t p = 0; p < topic->partitions.count; p++) {
            const rn_fetch_request_fetch_partition_t *pin = &topic->partitions.items[p];
            if (!rn_fetch_session_set(sess, topic->topic, pin->partition, pin->fetch_offset,
                                      pin->partition_max_bytes))
                return false;
        }
    }
    for (int32_t t = 0; t < in->forgotten_topics_data.count; t++) {
        const rn_fetch_request_forgotten_topic_t *gone = &in->forgotten_topics_data.items[t];
        if (gone->topic.len < 0) continue; /* an id the image does not know */
        for (int32_t p = 0; p < gone->partitions.count; p++)
            rn_fetch_session_forget(sess, gone->topic, gone->partitions.items[p]);
    }
    return true;
}

/* v13+: names the request's topics and forgotten topics by their ids, so
   the rest of the path works by name as for older versions. */
static void fetch_name_topics(rn_core_t *core, rn_req_t *req, rn_fetch_request_t *in) {
    if (req->api_version < 13) return;
    rn_image_t *img = rn_topics_image(core->node);
    for (int32_t t = 0; t < in->topics.count; t++)
        in->topics.items[t].topic =
            rn_handler_topic_name_by_id(req, img, &in->topics.items[t].topic_id);
    for (int32_t t = 0; t < in->forgotten_topics_data.count; t++) {
        rn_fetch_request_forgotten_topic_t *gone = &in->forgotten_topics_data.items[t];
        gone->topic = rn_handler_topic_name_by_id(req, img, &gone->topic_id);
    }
    rn_image_release(img);
}

/* Closes session id if this core has it (a full fetch naming it). */
static void fetch_session_close(rn_core_t *core, int32_t id) {
    rn_fetch_sessions_t *cache = core->fetch_sessions;
    if (id <= 0 || rn_fetch_sessions_owner(cache, id) != core->id) return;
    rn_fsess_t *sess = rn_fetch_session_find(cache, id);
    if (sess) rn_fetch_session_remove(sess);
}

/* Kafka's FetchManager.newContext: sets the fetch's mode, and for an
   incremental one checks, updates and holds its session. A top-level
   error for the answer, or NONE. */
static int16_t fetch_session_begin(fetch_state_t *state, const rn_fetch_request_t *in) {
    rn_core_t *core = state->fan.origin;
    state->mode = FETCH_SESSIONLESS;
    if (state->req->api_version < 7 || !core->fetch_sessions) return RN_KERR_NONE;
    int32_t id = in->session_id, epoch = in->session_epoch;
    if (epoch == 0 || epoch == -1) { /* a full fetch */
        fetch_session_close(core, id);
        if (epoch == 0) state->mode = FETCH_SESSION_NEW;
        return RN_KERR_NONE;
    }
    rn_fetch_sessions_t *cache = core->fetch_sessions;
    rn_fsess_t *sess = id > 0 && rn_fetch_sessions_owner(cache, id) == core->id
                           ? rn_fetch_session_find(cache, id)
                           : NULL;
    if (!sess) return RN_KERR_FETCH_SESSION_ID_NOT_FOUND;
    if (sess->epoch != epoch) return RN_KERR_INVALID_FETCH_SESSION_EPOCH;
    if (!fetch_session_update(sess, in) || sess->count == 0) {
        /* Nothing left to fetch (or no memory for it): a sessionless
           fetch of what the request lists. */
        rn_fetch_session_remove(sess);
        return RN_KERR_NONE;
    }
    sess->epoch = rn_fetch_session_next_epoch(epoch);
    rn_fetch_session_touch(sess, core->loop.now_ms);
    rn_stats_add(&core->stats.fetch_incremental, 1);
    rn_fetch_session_hold(sess);
    state->sess = sess;
    state->sess_epoch = sess->epoch;
    state->mode = FETCH_SESSION_INCREMENTAL;
    return RN_KERR_NONE;
}

void rn_handle_fetch(rn_core_t *core, rn_req_t *req, void *body) {
    rn_fetch_request_t *in = body;
    fetch_state_t *state = rn_arena_alloc(&req->arena, sizeof *state);
    RN_ASSERT(state != NULL);
    *state = (fetch_state_t){0};
    state->req = req;
    state->fan.origin = core;
    state->resp = rn_handler_response_new(req);
    state->min_bytes = in->min_bytes > 0 ? in->min_bytes : 0;
    state->max_bytes = in->max_bytes > 0 ? in->max_bytes : 1;
    int32_t broker_max = core->node->settings.fetch_max_bytes;
    if (broker_max > 0 && state->max_bytes > broker_max) state->max_bytes = broker_max;
    state->deadline_ms = core->loop.now_ms + (in->max_wait_ms > 0 ? in->max_wait_ms : 0);
    int32_t replica_id = req->api_version >= 15 ? in->replica_state.replica_id : in->replica_id;
    state->privileged = replica_id >= 0;
    state->replica_id = replica_id >= 0 ? replica_id : -1;
    state->read_committed = in->isolation_level == 1;
    state->rack_id = req->api_version >= 11 ? in->rack_id : rn_str_null();
    fetch_name_topics(core, req, in);
    int16_t kerr = fetch_session_begin(state, in);
    if (kerr != RN_KERR_NONE) {
        fetch_respond_error(state, kerr, 0);
        return;
    }
    rn_ptable_t *table = rn_ptable_acquire(&core->node->ptable);
    rn_image_t *img = rn_topics_image(core->node);
    bool ok = state->sess ? fetch_prepare_session(state, table, img)
                          : fetch_prepare_request(state, table, img, in);
    rn_image_release(img);
    rn_ptable_release(table);
    if (!ok) {
        /* Past the response budget: a clean disconnect, never a silent hang. */
        for (int32_t i = 0; i < state->op_count; i++)
            if (state->ops[i].op.part) rn_partition_unref(state->ops[i].op.part);
        if (state->sess) rn_fetch_session_release(state->sess);
        rn_conn_close(req->conn, "fetch response exceeds the response budget");
        rn_handler_finish_silently(req);
        return;
    }
    fetch_issue(state);
}
