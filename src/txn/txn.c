/*
 * txn.c: the transaction shard (see txn.h): its table of transactional
 * ids and the transitions of Kafka's TransactionCoordinator, each held
 * pending until its record is durable.
 */
#include "txn/txn.h"
#include "base/assert.h"
#include "base/limits.h"
#include "proto/kerr.h"

#include <stdlib.h>
#include <string.h>

struct rn_txn {
    char *id;
    uint32_t hash;
    rn_txn_t *chain; /* bucket */
    int32_t index;
    rn_txn_meta_t cur;
    bool pending;            /* a record of `next` is being stored */
    rn_txn_meta_t next;      /* valid while pending */
    rn_txn_waiter_t *waiter; /* answered once `next` is stored; may be NULL */
    int16_t reply;           /* its code on success (a fence: CONCURRENT_TRANSACTIONS) */
};

struct rn_txn_coord {
    rn_txn_config_t cfg;
    rn_txn_hooks_t hooks;
    int16_t refusal;
    rn_txn_t **txns;
    int32_t count;
    int32_t cap;
    rn_txn_t **buckets;
    int32_t bucket_count; /* a power of two */
};

const char *rn_txn_state_name(rn_txn_state_t state) {
    static const char *const names[] = {"Empty",        "Ongoing",          "PrepareCommit",
                                        "PrepareAbort", "CompleteCommit",   "CompleteAbort",
                                        "Dead",         "PrepareEpochFence"};
    return (unsigned)state < sizeof names / sizeof names[0] ? names[state] : "Unknown";
}

static bool epoch_exhausted(int16_t epoch) { return epoch >= INT16_MAX - 1; }

/* ---- metadata ---- */

void rn_txn_meta_init(rn_txn_meta_t *meta) {
    memset(meta, 0, sizeof *meta);
    meta->producer_id = -1;
    meta->prev_producer_id = -1;
    meta->producer_epoch = -1;
    meta->last_producer_epoch = -1;
    meta->state = RN_TXN_EMPTY;
    meta->start_ms = -1;
    meta->update_ms = -1;
}

static void meta_clear_parts(rn_txn_meta_t *meta) {
    for (int32_t i = 0; i < meta->part_count; i++) free(meta->parts[i].topic);
    meta->part_count = 0;
}

void rn_txn_meta_free(rn_txn_meta_t *meta) {
    meta_clear_parts(meta);
    free(meta->parts);
    meta->parts = NULL;
    meta->part_cap = 0;
}

void rn_txn_meta_copy(rn_txn_meta_t *dst, const rn_txn_meta_t *src) {
    RN_ASSERT(dst != src);
    meta_clear_parts(dst);
    rn_txn_tp_t *parts = dst->parts;
    int32_t cap = dst->part_cap;
    *dst = *src;
    dst->parts = parts;
    dst->part_cap = cap;
    dst->part_count = 0;
    for (int32_t i = 0; i < src->part_count; i++)
        rn_txn_meta_add(dst, rn_str_from_cstr(src->parts[i].topic), src->parts[i].partition);
    RN_ASSERT(dst->part_count == src->part_count);
}

bool rn_txn_meta_has(const rn_txn_meta_t *meta, rn_str_t topic, int32_t partition) {
    for (int32_t i = 0; i < meta->part_count; i++)
        if (meta->parts[i].partition == partition && rn_str_eq_cstr(topic, meta->parts[i].topic))
            return true;
    return false;
}

void rn_txn_meta_add(rn_txn_meta_t *meta, rn_str_t topic, int32_t partition) {
    RN_ASSERT(topic.len >= 0);
    if (rn_txn_meta_has(meta, topic, partition)) return;
    if (meta->part_count == meta->part_cap) {
        meta->part_cap = meta->part_cap ? meta->part_cap * 2 : 4;
        meta->parts = realloc(meta->parts, (size_t)meta->part_cap * sizeof *meta->parts);
        RN_ASSERT(meta->parts != NULL);
    }
    char *copy = malloc((size_t)topic.len + 1);
    RN_ASSERT(copy != NULL);
    memcpy(copy, topic.ptr, (size_t)topic.len);
    copy[topic.len] = '\0';
    meta->parts[meta->part_count++] = (rn_txn_tp_t){copy, partition};
}

/* ---- the table ---- */

static uint32_t txn_hash(const char *ptr, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)ptr[i]) * 16777619u;
    return h;
}

rn_txn_coord_t *rn_txn_coord_new(const rn_txn_config_t *cfg, const rn_txn_hooks_t *hooks) {
    rn_txn_coord_t *coord = calloc(1, sizeof *coord);
    RN_ASSERT(coord != NULL);
    coord->cfg = *cfg;
    coord->hooks = *hooks;
    coord->bucket_count = 16;
    coord->buckets = calloc((size_t)coord->bucket_count, sizeof *coord->buckets);
    RN_ASSERT(coord->buckets != NULL);
    return coord;
}

static void txn_free(rn_txn_t *txn) {
    rn_txn_meta_free(&txn->cur);
    rn_txn_meta_free(&txn->next);
    free(txn->id);
    free(txn);
}

static void coord_free(rn_txn_coord_t *coord, bool answer) {
    for (int32_t i = 0; i < coord->count; i++) {
        rn_txn_t *txn = coord->txns[i];
        if (answer && txn->waiter)
            txn->waiter->done(txn->waiter, RN_KERR_NOT_COORDINATOR, RN_OK, -1, -1);
        txn_free(txn);
    }
    free(coord->txns);
    free(coord->buckets);
    free(coord);
}

void rn_txn_coord_free(rn_txn_coord_t *coord) { coord_free(coord, true); }
void rn_txn_coord_discard(rn_txn_coord_t *coord) { coord_free(coord, false); }
void rn_txn_coord_set_refusal(rn_txn_coord_t *coord, int16_t kerr) { coord->refusal = kerr; }
int16_t rn_txn_coord_refusal(const rn_txn_coord_t *coord) { return coord->refusal; }
int32_t rn_txn_coord_count(const rn_txn_coord_t *coord) { return coord->count; }

const char *rn_txn_coord_id_at(const rn_txn_coord_t *coord, int32_t i) {
    RN_ASSERT(i >= 0 && i < coord->count);
    return coord->txns[i]->id;
}

const rn_txn_meta_t *rn_txn_coord_meta_at(const rn_txn_coord_t *coord, int32_t i) {
    RN_ASSERT(i >= 0 && i < coord->count);
    return &coord->txns[i]->cur;
}

static rn_txn_t *txn_find(const rn_txn_coord_t *coord, rn_str_t id) {
    if (id.len < 0) return NULL;
    uint32_t h = txn_hash(id.ptr, (size_t)id.len);
    for (rn_txn_t *txn = coord->buckets[h & (uint32_t)(coord->bucket_count - 1)]; txn;
         txn = txn->chain)
        if (txn->hash == h && rn_str_eq_cstr(id, txn->id)) return txn;
    return NULL;
}

const rn_txn_meta_t *rn_txn_find(const rn_txn_coord_t *coord, rn_str_t id) {
    rn_txn_t *txn = txn_find(coord, id);
    return txn ? &txn->cur : NULL;
}

static void coord_rehash(rn_txn_coord_t *coord) {
    int32_t count = coord->bucket_count * 2;
    rn_txn_t **buckets = calloc((size_t)count, sizeof *buckets);
    RN_ASSERT(buckets != NULL);
    for (int32_t i = 0; i < coord->count; i++) {
        rn_txn_t *txn = coord->txns[i];
        uint32_t b = txn->hash & (uint32_t)(count - 1);
        txn->chain = buckets[b];
        buckets[b] = txn;
    }
    free(coord->buckets);
    coord->buckets = buckets;
    coord->bucket_count = count;
}

/* A new id with no producer yet (epoch -1, Empty); NULL past the limit. */
static rn_txn_t *txn_create(rn_txn_coord_t *coord, rn_str_t id) {
    RN_ASSERT(id.len >= 0 && !txn_find(coord, id));
    if (coord->count >= RN_TXN_IDS_MAX) return NULL;
    if (coord->count == coord->cap) {
        coord->cap = coord->cap ? coord->cap * 2 : 16;
        coord->txns = realloc(coord->txns, (size_t)coord->cap * sizeof *coord->txns);
        RN_ASSERT(coord->txns != NULL);
    }
    rn_txn_t *txn = calloc(1, sizeof *txn);
    RN_ASSERT(txn != NULL);
    txn->id = malloc((size_t)id.len + 1);
    RN_ASSERT(txn->id != NULL);
    memcpy(txn->id, id.ptr, (size_t)id.len);
    txn->id[id.len] = '\0';
    txn->hash = txn_hash(txn->id, (size_t)id.len);
    rn_txn_meta_init(&txn->cur);
    rn_txn_meta_init(&txn->next);
    txn->index = coord->count;
    coord->txns[coord->count++] = txn;
    if (coord->count > coord->bucket_count) coord_rehash(coord);
    uint32_t b = txn->hash & (uint32_t)(coord->bucket_count - 1);
    txn->chain = coord->buckets[b];
    coord->buckets[b] = txn;
    return txn;
}

static void txn_remove(rn_txn_coord_t *coord, rn_txn_t *txn) {
    RN_ASSERT(coord->txns[txn->index] == txn);
    rn_txn_t **link = &coord->buckets[txn->hash & (uint32_t)(coord->bucket_count - 1)];
    while (*link != txn) link = &(*link)->chain;
    *link = txn->chain;
    rn_txn_t *last = coord->txns[--coord->count];
    coord->txns[txn->index] = last;
    last->index = txn->index;
    if (txn->waiter) txn->waiter->done(txn->waiter, RN_KERR_NOT_COORDINATOR, RN_OK, -1, -1);
    txn_free(txn);
}

/* ---- transitions ---- */

static void answer(rn_txn_waiter_t *w, int16_t kerr, const rn_txn_meta_t *meta) {
    if (!w) return;
    w->done(w, kerr, RN_OK, kerr == RN_KERR_NONE && meta ? meta->producer_id : -1,
            kerr == RN_KERR_NONE && meta ? meta->producer_epoch : -1);
}

/* Starts storing txn->next; w answered (with `reply`) once it is durable. */
static void transit(rn_txn_coord_t *coord, rn_txn_t *txn, rn_txn_waiter_t *w, int16_t reply) {
    RN_ASSERT(!txn->pending);
    txn->pending = true;
    txn->waiter = w;
    txn->reply = reply;
    coord->hooks.store(coord->hooks.ctx, txn->id, &txn->next);
}

/* The next metadata of a fresh transaction (no partitions) under a new or
   bumped producer. */
static void next_empty(rn_txn_t *txn, int64_t producer_id, int16_t epoch, int16_t last_epoch,
                       int32_t timeout_ms, int64_t now_ms) {
    rn_txn_meta_copy(&txn->next, &txn->cur);
    meta_clear_parts(&txn->next);
    if (producer_id != txn->cur.producer_id) txn->next.prev_producer_id = txn->cur.producer_id;
    txn->next.producer_id = producer_id;
    txn->next.producer_epoch = epoch;
    txn->next.last_producer_epoch = last_epoch;
    txn->next.timeout_ms = timeout_ms;
    txn->next.state = RN_TXN_EMPTY;
    txn->next.start_ms = -1;
    txn->next.update_ms = now_ms;
}

/* Kafka's isValidProducerId for a producer naming its id (KIP-360). */
static bool init_expected_valid(const rn_txn_meta_t *cur, int64_t expected_pid,
                                int16_t expected_epoch) {
    return cur->producer_epoch < 0 || expected_pid == cur->producer_id ||
           (expected_pid == cur->prev_producer_id && epoch_exhausted(expected_epoch));
}

bool rn_txn_init_needs_pid(const rn_txn_coord_t *coord, rn_str_t id, int16_t expected_epoch) {
    const rn_txn_t *txn = txn_find(coord, id);
    if (!txn) return true;
    const rn_txn_meta_t *cur = &txn->cur;
    bool ended = cur->state == RN_TXN_EMPTY || cur->state == RN_TXN_COMPLETE_COMMIT ||
                 cur->state == RN_TXN_COMPLETE_ABORT;
    return !txn->pending && ended && epoch_exhausted(cur->producer_epoch) &&
           (expected_epoch < 0 || expected_epoch == cur->producer_epoch);
}

/* Empty or a completed transaction: a new epoch (prepareIncrementProducerEpoch)
   or, once epochs run out, a new producer id (prepareProducerIdRotation). */
static int16_t init_bump(rn_txn_t *txn, int32_t timeout_ms, int16_t expected_epoch, int64_t new_pid,
                         int64_t now_ms) {
    const rn_txn_meta_t *cur = &txn->cur;
    int16_t epoch = cur->producer_epoch;
    if (epoch_exhausted(epoch) && (expected_epoch < 0 || expected_epoch == epoch)) {
        if (new_pid < 0) return RN_KERR_CONCURRENT_TRANSACTIONS; /* retried with an id */
        next_empty(txn, new_pid, 0, expected_epoch >= 0 ? epoch : -1, timeout_ms, now_ms);
        return RN_KERR_NONE;
    }
    if (expected_epoch < 0) {
        if (epoch_exhausted(epoch)) return RN_KERR_PRODUCER_FENCED;
        next_empty(txn, cur->producer_id, (int16_t)(epoch + 1), -1, timeout_ms, now_ms);
    } else if (epoch < 0 || expected_epoch == epoch) {
        if (epoch_exhausted(epoch)) return RN_KERR_PRODUCER_FENCED;
        next_empty(txn, cur->producer_id, (int16_t)(epoch + 1), epoch, timeout_ms, now_ms);
    } else if (expected_epoch == cur->last_producer_epoch) { /* a retry: no second bump */
        next_empty(txn, cur->producer_id, epoch, cur->last_producer_epoch, timeout_ms, now_ms);
    } else {
        return RN_KERR_PRODUCER_FENCED;
    }
    return RN_KERR_NONE;
}

/* An ongoing transaction: its producer is fenced (epoch + 1) and the
   transaction aborted; the new producer retries (CONCURRENT_TRANSACTIONS)
   until the abort completes. */
static void init_fence(rn_txn_coord_t *coord, rn_txn_t *txn, rn_txn_waiter_t *w, int64_t now_ms) {
    rn_txn_meta_copy(&txn->next, &txn->cur);
    if (!epoch_exhausted(txn->cur.producer_epoch))
        txn->next.producer_epoch = (int16_t)(txn->cur.producer_epoch + 1);
    txn->next.last_producer_epoch = -1;
    txn->next.state = RN_TXN_PREPARE_ABORT;
    txn->next.update_ms = now_ms;
    transit(coord, txn, w, RN_KERR_CONCURRENT_TRANSACTIONS);
}

void rn_txn_init_pid(rn_txn_coord_t *coord, rn_str_t id, int32_t timeout_ms, int64_t expected_pid,
                     int16_t expected_epoch, int64_t new_pid, rn_txn_waiter_t *w, int64_t now_ms) {
    RN_ASSERT(id.len > 0 && timeout_ms > 0);
    if (coord->refusal != RN_KERR_NONE) return answer(w, coord->refusal, NULL);
    rn_txn_t *txn = txn_find(coord, id);
    if (!txn) {
        if (new_pid < 0) return answer(w, RN_KERR_CONCURRENT_TRANSACTIONS, NULL);
        txn = txn_create(coord, id);
        if (!txn) return answer(w, RN_KERR_COORDINATOR_NOT_AVAILABLE, NULL);
        txn->cur.producer_id = new_pid;
        txn->cur.timeout_ms = timeout_ms;
        txn->cur.update_ms = now_ms;
    }
    if (txn->pending) return answer(w, RN_KERR_CONCURRENT_TRANSACTIONS, NULL);
    if (expected_pid >= 0 && !init_expected_valid(&txn->cur, expected_pid, expected_epoch))
        return answer(w, RN_KERR_PRODUCER_FENCED, NULL);
    int16_t kerr = RN_KERR_CONCURRENT_TRANSACTIONS;
    switch (txn->cur.state) {
    case RN_TXN_EMPTY:
    case RN_TXN_COMPLETE_COMMIT:
    case RN_TXN_COMPLETE_ABORT:
        kerr = init_bump(txn, timeout_ms, expected_epoch, new_pid, now_ms);
        if (kerr == RN_KERR_NONE) return transit(coord, txn, w, RN_KERR_NONE);
        break;
    case RN_TXN_ONGOING:
        return init_fence(coord, txn, w, now_ms);
    default: /* prepared: the markers are being written */
        break;
    }
    answer(w, kerr, NULL);
}

/* The producer checks of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn. */
static int16_t check_producer(rn_txn_t *txn, int64_t producer_id, int16_t producer_epoch) {
    if (!txn || txn->cur.producer_id != producer_id) return RN_KERR_INVALID_PRODUCER_ID_MAPPING;
    if (txn->cur.producer_epoch != producer_epoch) return RN_KERR_PRODUCER_FENCED;
    if (txn->pending) return RN_KERR_CONCURRENT_TRANSACTIONS;
    return RN_KERR_NONE;
}

static bool has_all(const rn_txn_meta_t *meta, const rn_txn_tp_t *parts, int32_t count) {
    for (int32_t i = 0; i < count; i++)
        if (!rn_txn_meta_has(meta, rn_str_from_cstr(parts[i].topic), parts[i].partition))
            return false;
    return true;
}

void rn_txn_add_partitions(rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id,
                           int16_t producer_epoch, const rn_txn_tp_t *parts, int32_t count,
                           rn_txn_waiter_t *w, int64_t now_ms) {
    RN_ASSERT(count >= 0);
    if (coord->refusal != RN_KERR_NONE) return answer(w, coord->refusal, NULL);
    rn_txn_t *txn = txn_find(coord, id);
    int16_t kerr = check_producer(txn, producer_id, producer_epoch);
    if (kerr != RN_KERR_NONE) return answer(w, kerr, NULL);
    rn_txn_state_t state = txn->cur.state;
    if (state != RN_TXN_ONGOING && state != RN_TXN_EMPTY && state != RN_TXN_COMPLETE_COMMIT &&
        state != RN_TXN_COMPLETE_ABORT)
        return answer(w, RN_KERR_CONCURRENT_TRANSACTIONS, NULL);
    if (state == RN_TXN_ONGOING && has_all(&txn->cur, parts, count))
        return answer(w, RN_KERR_NONE, &txn->cur);
    rn_txn_meta_copy(&txn->next, &txn->cur);
    if (state != RN_TXN_ONGOING) {
        meta_clear_parts(&txn->next);
        txn->next.start_ms = now_ms;
    }
    for (int32_t i = 0; i < count; i++)
        rn_txn_meta_add(&txn->next, rn_str_from_cstr(parts[i].topic), parts[i].partition);
    if (txn->next.part_count > RN_TXN_PARTITIONS_MAX)
        return answer(w, RN_KERR_UNKNOWN_SERVER_ERROR, NULL);
    txn->next.state = RN_TXN_ONGOING;
    txn->next.update_ms = now_ms;
    transit(coord, txn, w, RN_KERR_NONE);
}

int16_t rn_txn_verify_partition(const rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id,
                                int16_t producer_epoch, rn_str_t topic, int32_t partition) {
    if (coord->refusal != RN_KERR_NONE) return coord->refusal;
    rn_txn_t *txn = txn_find(coord, id);
    if (!txn || txn->cur.producer_id != producer_id) return RN_KERR_INVALID_PRODUCER_ID_MAPPING;
    if (txn->cur.producer_epoch != producer_epoch) return RN_KERR_PRODUCER_FENCED;
    if (txn->cur.state != RN_TXN_ONGOING || !rn_txn_meta_has(&txn->cur, topic, partition))
        return RN_KERR_INVALID_TXN_STATE;
    return RN_KERR_NONE;
}

/* EndTxn against a transaction that is not ongoing: a retry of the same
   outcome is answered (at once, or CONCURRENT_TRANSACTIONS while its
   markers are written); anything else is INVALID_TXN_STATE. */
static int16_t end_settled(rn_txn_state_t state, bool commit) {
    switch (state) {
    case RN_TXN_COMPLETE_COMMIT:
        return commit ? RN_KERR_NONE : RN_KERR_INVALID_TXN_STATE;
    case RN_TXN_COMPLETE_ABORT:
        return commit ? RN_KERR_INVALID_TXN_STATE : RN_KERR_NONE;
    case RN_TXN_PREPARE_COMMIT:
        return commit ? RN_KERR_CONCURRENT_TRANSACTIONS : RN_KERR_INVALID_TXN_STATE;
    case RN_TXN_PREPARE_ABORT:
        return commit ? RN_KERR_INVALID_TXN_STATE : RN_KERR_CONCURRENT_TRANSACTIONS;
    default:
        return RN_KERR_INVALID_TXN_STATE;
    }
}

void rn_txn_end(rn_txn_coord_t *coord, rn_str_t id, int64_t producer_id, int16_t producer_epoch,
                bool commit, rn_txn_waiter_t *w, int64_t now_ms) {
    if (coord->refusal != RN_KERR_NONE) return answer(w, coord->refusal, NULL);
    rn_txn_t *txn = txn_find(coord, id);
    int16_t kerr = check_producer(txn, producer_id, producer_epoch);
    if (kerr != RN_KERR_NONE) return answer(w, kerr, NULL);
    if (txn->cur.state != RN_TXN_ONGOING)
        return answer(w, end_settled(txn->cur.state, commit), &txn->cur);
    rn_txn_meta_copy(&txn->next, &txn->cur);
    txn->next.state = commit ? RN_TXN_PREPARE_COMMIT : RN_TXN_PREPARE_ABORT;
    txn->next.update_ms = now_ms;
    transit(coord, txn, w, RN_KERR_NONE);
}

/* ---- timeouts ---- */

int32_t rn_txn_expire(rn_txn_coord_t *coord, int64_t now_ms) {
    if (coord->refusal != RN_KERR_NONE) return 0;
    int32_t expired = 0;
    for (int32_t i = 0; i < coord->count; i++) {
        rn_txn_t *txn = coord->txns[i];
        const rn_txn_meta_t *cur = &txn->cur;
        if (txn->pending || cur->state != RN_TXN_ONGOING || cur->start_ms < 0 ||
            now_ms - cur->start_ms <= cur->timeout_ms)
            continue;
        init_fence(coord, txn, NULL, now_ms); /* PrepareAbort under the next epoch */
        expired++;
    }
    return expired;
}

int32_t rn_txn_expire_ids(rn_txn_coord_t *coord, int64_t now_ms) {
    if (coord->refusal != RN_KERR_NONE) return 0;
    int32_t expired = 0;
    for (int32_t i = 0; i < coord->count; i++) {
        rn_txn_t *txn = coord->txns[i];
        rn_txn_state_t state = txn->cur.state;
        bool idle = state == RN_TXN_EMPTY || state == RN_TXN_COMPLETE_COMMIT ||
                    state == RN_TXN_COMPLETE_ABORT;
        if (txn->pending || !idle || now_ms - txn->cur.update_ms <= coord->cfg.id_expiration_ms)
            continue;
        rn_txn_meta_copy(&txn->next, &txn->cur);
        txn->next.state = RN_TXN_DEAD;
        txn->next.update_ms = now_ms;
        transit(coord, txn, NULL, RN_KERR_NONE);
        expired++;
    }
    return expired;
}

/* ---- completion ---- */

static bool prepared(rn_txn_state_t state) {
    return state == RN_TXN_PREPARE_COMMIT || state == RN_TXN_PREPARE_ABORT;
}

/* A prepared transaction's markers go out (or, with no hook, are done). */
static void begin_markers(rn_txn_coord_t *coord, rn_txn_t *txn, int64_t now_ms) {
    RN_ASSERT(prepared(txn->cur.state) && !txn->pending);
    if (coord->hooks.markers)
        coord->hooks.markers(coord->hooks.ctx, txn->id, &txn->cur);
    else
        rn_txn_markers_done(coord, txn->id, now_ms);
}

void rn_txn_stored(rn_txn_coord_t *coord, const char *id, rn_err_t err, int64_t now_ms) {
    rn_txn_t *txn = txn_find(coord, rn_str_from_cstr(id));
    if (!txn || !txn->pending) return; /* a shard reloaded since */
    rn_txn_waiter_t *w = txn->waiter;
    txn->pending = false;
    txn->waiter = NULL;
    if (err != RN_OK) {
        meta_clear_parts(&txn->next);
        if (w) w->done(w, RN_KERR_NONE, err, -1, -1);
        return;
    }
    rn_txn_meta_t done = txn->cur;
    txn->cur = txn->next;
    txn->next = done;
    meta_clear_parts(&txn->next);
    if (txn->cur.state == RN_TXN_DEAD) { /* its tombstone is durable: forgotten */
        RN_ASSERT(w == NULL);
        txn_remove(coord, txn);
        return;
    }
    answer(w, txn->reply, &txn->cur);
    if (prepared(txn->cur.state)) begin_markers(coord, txn, now_ms);
}

void rn_txn_markers_done(rn_txn_coord_t *coord, const char *id, int64_t now_ms) {
    rn_txn_t *txn = txn_find(coord, rn_str_from_cstr(id));
    if (!txn || txn->pending || !prepared(txn->cur.state)) return;
    rn_txn_meta_copy(&txn->next, &txn->cur);
    meta_clear_parts(&txn->next);
    txn->next.state =
        txn->cur.state == RN_TXN_PREPARE_COMMIT ? RN_TXN_COMPLETE_COMMIT : RN_TXN_COMPLETE_ABORT;
    txn->next.update_ms = now_ms;
    transit(coord, txn, NULL, RN_KERR_NONE);
}

/* ---- loading ---- */

void rn_txn_load(rn_txn_coord_t *coord, rn_str_t id, const rn_txn_meta_t *meta) {
    rn_txn_t *txn = txn_find(coord, id);
    if (!meta) {
        if (txn) txn_remove(coord, txn);
        return;
    }
    if (!txn) txn = txn_create(coord, id);
    if (!txn) return; /* past the limit: forgotten, as it would be refused */
    RN_ASSERT(!txn->pending);
    rn_txn_meta_copy(&txn->cur, meta);
}

void rn_txn_loaded(rn_txn_coord_t *coord, int64_t now_ms) {
    for (int32_t i = 0; i < coord->count; i++) {
        rn_txn_t *txn = coord->txns[i];
        if (prepared(txn->cur.state) && !txn->pending) begin_markers(coord, txn, now_ms);
    }
}
