/*
 * txn_offset_commit.c: TxnOffsetCommit (key 28), versions 0-4: a
 * transactional producer commits a group's offsets as part of its
 * transaction. On the group's shard: Kafka 3.9's checks for a transaction's
 * offsets (rn_group_txn_commit_check; generation, member and instance from
 * v3), unknown partitions and oversized metadata per partition, then
 * KIP-890: the group's __consumer_offsets partition must be in the
 * producer's ongoing transaction (AddOffsetsToTxn), checked with its
 * transaction coordinator (handlers/txn_verify.h) unless that partition
 * already has the producer's transaction ongoing. The offsets are written
 * as one transactional batch and held pending: the group sees them once the
 * transaction's COMMIT marker is on that partition, never after an ABORT.
 */
#include "handlers/group_ops.h"
#include "handlers/txn_ops.h"
#include "handlers/txn_verify.h"
#include "partition/txns.h"
#include "proto/gen/txn_offset_commit_request.h"
#include "proto/gen/txn_offset_commit_response.h"

#include <string.h>

typedef rn_txn_offset_commit_response_txn_offset_commit_response_partition_t commit_out_t;

/* The first version that may carry PRODUCER_FENCED (KIP-588). */
#define TXN_COMMIT_FENCED_VERSION 3

typedef struct txn_commit_state {
    rn_gop_t gop;
    rn_partition_waiter_t waiter;
    rn_txn_verify_t verify;
    rn_req_t *req;
    const rn_txn_offset_commit_request_t *in;
    rn_txn_offset_commit_response_t *resp;
    rn_node_t *node;
    rn_group_commit_item_t *items;
    commit_out_t **outs; /* per item */
    int32_t item_count;
} txn_commit_state_t;

static void fill_all(txn_commit_state_t *st, int16_t error) {
    for (int32_t t = 0; t < st->resp->topics.count; t++)
        for (int32_t p = 0; p < st->resp->topics.items[t].partitions.count; p++)
            st->resp->topics.items[t].partitions.items[p].error_code = error;
}

static void fill_items(txn_commit_state_t *st, int16_t error) {
    for (int32_t i = 0; i < st->item_count; i++) st->outs[i]->error_code = error;
}

static void txn_commit_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    txn_commit_state_t *st =
        (txn_commit_state_t *)((char *)waiter - offsetof(txn_commit_state_t, waiter));
    if (err != RN_OK) fill_items(st, rn_handler_group_store_kerr(err));
    rn_gop_reply(&st->gop);
}

static const char *metadata_copy(rn_req_t *req, rn_str_t metadata) {
    size_t len = metadata.len > 0 ? (size_t)metadata.len : 0;
    char *out = rn_gops_alloc(req, len + 1);
    if (len) memcpy(out, metadata.ptr, len);
    out[len] = '\0';
    return out;
}

/* One item per partition that passes the per-partition checks. */
static void txn_commit_items(txn_commit_state_t *st, int64_t now_wall) {
    const rn_txn_offset_commit_request_t *in = st->in;
    int32_t total = 0;
    for (int32_t t = 0; t < in->topics.count; t++) total += in->topics.items[t].partitions.count;
    st->items = rn_gops_alloc(st->req, (size_t)total * sizeof *st->items);
    st->outs = rn_gops_alloc(st->req, (size_t)total * sizeof *st->outs);
    for (int32_t t = 0; t < in->topics.count; t++) {
        const rn_txn_offset_commit_request_txn_offset_commit_request_topic_t *topic =
            &in->topics.items[t];
        for (int32_t p = 0; p < topic->partitions.count; p++) {
            const rn_txn_offset_commit_request_txn_offset_commit_request_partition_t *pin =
                &topic->partitions.items[p];
            commit_out_t *out = &st->resp->topics.items[t].partitions.items[p];
            if (!rn_ptable_partition(st->gop.gops->table, topic->name, pin->partition_index)) {
                out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (pin->committed_metadata.len > RN_GROUP_OFFSET_METADATA_BYTES_MAX) {
                out->error_code = RN_KERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            rn_group_commit_item_t *item = &st->items[st->item_count];
            st->outs[st->item_count++] = out;
            item->topic = topic->name;
            item->partition = pin->partition_index;
            item->value = (rn_group_offset_t){
                .offset = pin->committed_offset,
                .leader_epoch = st->req->api_version >= 2 ? pin->committed_leader_epoch : -1,
                .metadata = metadata_copy(st->req, pin->committed_metadata),
                .commit_timestamp_ms = now_wall,
                .expire_timestamp_ms = -1,
            };
        }
    }
}

/* The offsets go into the group's partition (the shard's core). */
static void txn_commit_write(txn_commit_state_t *st) {
    const rn_txn_offset_commit_request_t *in = st->in;
    rn_group_coord_t *coord = rn_group_shard(st->node, st->gop.partition);
    int16_t refusal = coord ? rn_group_coord_refusal(coord) : RN_KERR_NOT_COORDINATOR;
    if (refusal != RN_KERR_NONE) {
        fill_items(st, refusal);
        rn_gop_reply(&st->gop);
        return;
    }
    rn_err_t err = rn_group_txn_commit(st->node, st->gop.partition, in->group_id, in->producer_id,
                                       in->producer_epoch, st->items, st->item_count, &st->waiter);
    if (err != RN_OK) {
        fill_items(st, rn_handler_group_store_kerr(err));
        rn_gop_reply(&st->gop);
    }
}

/* The coordinator's answer: a refusal reads as Kafka's TxnOffsetCommit
   gives it (a stale epoch INVALID_PRODUCER_EPOCH before KIP-588, a
   coordinator that cannot answer now COORDINATOR_NOT_AVAILABLE). */
static void txn_commit_verified(rn_txn_verify_t *verify) {
    txn_commit_state_t *st =
        (txn_commit_state_t *)((char *)verify - offsetof(txn_commit_state_t, verify));
    int16_t kerr = verify->kerr;
    if (kerr == RN_KERR_NOT_COORDINATOR || kerr == RN_KERR_COORDINATOR_LOAD_IN_PROGRESS)
        kerr = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    kerr = rn_txnops_fenced_kerr(kerr, st->req->api_version, TXN_COMMIT_FENCED_VERSION);
    if (kerr != RN_KERR_NONE) {
        fill_items(st, kerr);
        rn_gop_reply(&st->gop);
        return;
    }
    txn_commit_write(st);
}

static void txn_commit_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    txn_commit_state_t *st = gop->ctx;
    const rn_txn_offset_commit_request_t *in = st->in;
    bool v3 = st->req->api_version >= 3;
    st->node = node;
    int16_t err = rn_group_txn_commit_check(
        coord, in->group_id, v3 ? in->member_id : rn_str_from_cstr(""),
        v3 ? in->group_instance_id : rn_str_null(), v3 ? in->generation_id : -1);
    if (err != RN_KERR_NONE) {
        fill_all(st, err);
        rn_gop_reply(gop);
        return;
    }
    txn_commit_items(st, rn_io_wall_ms(node->io));
    if (st->item_count == 0) {
        rn_gop_reply(gop);
        return;
    }
    rn_partition_t *part = gop->op.part;
    st->verify = (rn_txn_verify_t){.txn_id = in->transactional_id,
                                   .producer_id = in->producer_id,
                                   .producer_epoch = in->producer_epoch,
                                   .topic = rn_str_from_cstr(RN_GROUP_OFFSETS_TOPIC),
                                   .partition = gop->partition,
                                   .done = txn_commit_verified};
    if (node->settings.txn_verify && !rn_txns_ongoing(part->txns, in->producer_id) &&
        rn_txn_verify_start(&st->verify, rn_part_op_owner(&gop->op), gop->gops->table))
        return;
    txn_commit_write(st);
}

static void txn_commit_skeleton(rn_req_t *req, const rn_txn_offset_commit_request_t *in,
                                rn_txn_offset_commit_response_t *resp) {
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = count;
    resp->topics.items = rn_gops_alloc(req, (size_t)count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < count; t++) {
        const rn_txn_offset_commit_request_txn_offset_commit_request_topic_t *tin =
            &in->topics.items[t];
        int32_t pcount = tin->partitions.count > 0 ? tin->partitions.count : 0;
        resp->topics.items[t].name = tin->name;
        resp->topics.items[t].partitions.count = pcount;
        resp->topics.items[t].partitions.items =
            rn_gops_alloc(req, (size_t)pcount * sizeof *resp->topics.items[t].partitions.items);
        for (int32_t p = 0; p < pcount; p++) {
            commit_out_t *out = &resp->topics.items[t].partitions.items[p];
            out->partition_index = tin->partitions.items[p].partition_index;
            out->error_code = RN_KERR_NONE;
        }
    }
}

void rn_handle_txn_offset_commit(rn_core_t *core, rn_req_t *req, void *body) {
    rn_txn_offset_commit_response_t *resp = rn_handler_response_new(req);
    txn_commit_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (txn_commit_state_t){.req = req, .in = body, .resp = resp};
    st->gop.ctx = st;
    st->waiter.done = txn_commit_durable;
    txn_commit_skeleton(req, st->in, resp);
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, txn_commit_run))
        fill_all(st, RN_KERR_COORDINATOR_NOT_AVAILABLE);
    rn_gops_end(gops);
}
