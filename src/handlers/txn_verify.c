/* txn_verify.c: a write checked with its transaction coordinator (see
   txn_verify.h): on this node's shard when the coordinator is here, else
   with AddPartitionsToTxn (verify_only) to the broker that leads the
   coordinator's partition, as Kafka 3.9's brokers do. */
#include "handlers/txn_verify.h"
#include "base/arena.h"
#include "base/assert.h"
#include "cluster/peers.h"
#include "cluster/topics.h"
#include "proto/gen/add_partitions_to_txn_request.h"
#include "proto/gen/add_partitions_to_txn_response.h"
#include "proto/gen/api.h"
#include "proto/kerr.h"
#include "txn/coordinator.h"

#include <stddef.h>
#include <string.h>

/* AddPartitionsToTxn v5, the newest Kafka 3.9 serves (a partition not in
   the transaction: TRANSACTION_ABORTABLE). */
#define VERIFY_VERSION 5
/* Bytes of the arena one answer is decoded in: one transaction, one
   partition. */
#define VERIFY_ARENA_BYTES (64 * 1024)

/* The leader the image names of shard's partition; -1: none. */
static int32_t coordinator_of(const rn_image_t *img, int32_t shard) {
    const rn_image_topic_t *it =
        rn_image_topic(img, RN_TXN_STATE_TOPIC, strlen(RN_TXN_STATE_TOPIC));
    return it && shard < it->partition_count ? it->partitions[shard].leader : -1;
}

/* ---- on this node ---- */

/* On the coordinator shard's core. */
static void verify_run(rn_part_op_t *op) {
    rn_txn_verify_t *verify = (rn_txn_verify_t *)((char *)op - offsetof(rn_txn_verify_t, op));
    rn_txn_coord_t *coord = rn_txn_shard(rn_part_op_owner(op)->node, verify->shard);
    verify->kerr =
        coord ? rn_txn_verify_partition(coord, verify->txn_id, verify->producer_id,
                                        verify->producer_epoch, verify->topic, verify->partition)
              : RN_KERR_NOT_COORDINATOR;
    rn_fanout_reply(op);
}

static void verify_back(rn_fanout_t *fan) {
    rn_txn_verify_t *verify = (rn_txn_verify_t *)((char *)fan - offsetof(rn_txn_verify_t, fan));
    verify->done(verify);
}

static bool local_start(rn_txn_verify_t *verify, rn_core_t *from, rn_ptable_t *table) {
    verify->op.part =
        rn_ptable_partition(table, rn_str_from_cstr(RN_TXN_STATE_TOPIC), verify->shard);
    if (!verify->op.part) return false;
    rn_fanout_begin(&verify->fan, from, verify_back);
    rn_fanout_send(&verify->fan, &verify->op, verify_run);
    rn_fanout_end(&verify->fan);
    return true;
}

/* ---- on another broker ---- */

static bool str_is(rn_str_t a, rn_str_t b) {
    return a.len == b.len && (a.len <= 0 || !memcmp(a.ptr, b.ptr, (size_t)a.len));
}

/* The partition's answer; the coordinator's own form of "not in the
   transaction" (TRANSACTION_ABORTABLE) is the local check's
   INVALID_TXN_STATE. */
static int16_t remote_kerr(const rn_txn_verify_t *verify,
                           const rn_add_partitions_to_txn_response_t *resp) {
    if (resp->error_code != RN_KERR_NONE) return resp->error_code;
    for (int32_t x = 0; x < resp->results_by_transaction.count; x++) {
        const rn_add_partitions_to_txn_response_add_partitions_to_txn_result_t *txn =
            &resp->results_by_transaction.items[x];
        for (int32_t t = 0; t < txn->topic_results.count; t++) {
            const rn_add_partitions_to_txn_response_add_partitions_to_txn_topic_result_t *topic =
                &txn->topic_results.items[t];
            if (!str_is(topic->name, verify->topic)) continue;
            for (int32_t p = 0; p < topic->results_by_partition.count; p++) {
                int16_t kerr = topic->results_by_partition.items[p].partition_error_code;
                if (topic->results_by_partition.items[p].partition_index != verify->partition)
                    continue;
                return kerr == RN_KERR_TRANSACTION_ABORTABLE ? RN_KERR_INVALID_TXN_STATE : kerr;
            }
        }
    }
    return RN_KERR_COORDINATOR_NOT_AVAILABLE; /* not answered: asked again */
}

/* On the core that started the check. */
static void remote_answered(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rn_txn_verify_t *verify = ctx;
    verify->kerr = RN_KERR_COORDINATOR_NOT_AVAILABLE; /* no answer: the client retries */
    if (err == RN_OK) {
        rn_arena_t arena;
        rn_arena_init(&arena, VERIFY_ARENA_BYTES + len);
        rn_reader_t rd;
        rn_reader_init(&rd, body, len);
        rn_add_partitions_to_txn_response_t resp;
        rn_add_partitions_to_txn_response_init(&resp);
        if (rn_add_partitions_to_txn_response_decode(&rd, &arena, VERIFY_VERSION, &resp) == RN_OK)
            verify->kerr = remote_kerr(verify, &resp);
        rn_arena_free(&arena);
    }
    verify->done(verify);
}

static bool remote_start(rn_txn_verify_t *verify, rn_core_t *from, const rn_image_t *img,
                         int32_t coordinator) {
    rn_client_t *client = from->peers ? rn_peers_client(from->peers, img, coordinator) : NULL;
    if (!client) return false;
    int32_t partition = verify->partition;
    rn_add_partitions_to_txn_request_add_partitions_to_txn_topic_t topic;
    rn_add_partitions_to_txn_request_add_partitions_to_txn_topic_init(&topic);
    topic.name = verify->topic;
    topic.partitions = (rn_int32_array_t){&partition, 1};
    rn_add_partitions_to_txn_request_add_partitions_to_txn_transaction_t txn;
    rn_add_partitions_to_txn_request_add_partitions_to_txn_transaction_init(&txn);
    txn.transactional_id = verify->txn_id;
    txn.producer_id = verify->producer_id;
    txn.producer_epoch = verify->producer_epoch;
    txn.verify_only = true;
    txn.topics.items = &topic;
    txn.topics.count = 1;
    rn_add_partitions_to_txn_request_t req;
    rn_add_partitions_to_txn_request_init(&req);
    req.transactions.items = &txn;
    req.transactions.count = 1;
    rn_client_call_t call = {.api_key = RN_API_ADD_PARTITIONS_TO_TXN,
                             .api_version = VERIFY_VERSION,
                             .msg = &req,
                             .done = remote_answered,
                             .ctx = verify};
    return rn_client_send(client, &call) == RN_OK;
}

/* ---- the API ---- */

bool rn_txn_verify_start(rn_txn_verify_t *verify, rn_core_t *from, rn_ptable_t *table) {
    RN_ASSERT(verify->done != NULL && verify->txn_id.len >= 0);
    int32_t count = rn_txn_partition_count(from->node);
    if (count == 0) return false;
    verify->shard = rn_txn_partition_for(verify->txn_id, count);
    verify->kerr = RN_KERR_NONE;
    rn_image_t *img = rn_topics_image(from->node);
    int32_t coordinator = coordinator_of(img, verify->shard);
    bool started = coordinator == from->node->settings.node_id ? local_start(verify, from, table)
                   : coordinator >= 0 ? remote_start(verify, from, img, coordinator)
                                      : false;
    rn_image_release(img);
    return started;
}
