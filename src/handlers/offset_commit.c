/*
 * offset_commit.c: OffsetCommit (key 8), versions 0-10. On the group's
 * shard: Kafka's generation and member checks, then the offsets go into one
 * record batch on the group's __consumer_offsets partition, are applied to
 * the shard, and are acknowledged once that batch is durable (the core's
 * end-of-turn group commit). v8 is flexible; v9's member epoch (KIP-848) is,
 * for a classic group, its generation, as Kafka reads it; v10 names topics
 * by id (a topic id no topic has: UNKNOWN_TOPIC_ID, as Kafka 4).
 */
#include "handlers/group_ops.h"
#include "proto/gen/offset_commit_request.h"
#include "proto/gen/offset_commit_response.h"

#include <string.h>

typedef rn_offset_commit_response_offset_commit_response_partition_t commit_out_t;

typedef struct commit_state {
    rn_gop_t gop;
    rn_partition_waiter_t waiter;
    rn_req_t *req;
    const rn_offset_commit_request_t *in;
    rn_offset_commit_response_t *resp;
    rn_str_t *names;     /* per request topic (v10: from its id; null: no such id) */
    commit_out_t **outs; /* per item written */
    int32_t item_count;
} commit_state_t;

/* Every partition of a known topic gets `error`. */
static void commit_fill_all(commit_state_t *st, int16_t error) {
    for (int32_t t = 0; t < st->resp->topics.count; t++)
        for (int32_t p = 0; st->names[t].len >= 0 && p < st->resp->topics.items[t].partitions.count;
             p++)
            st->resp->topics.items[t].partitions.items[p].error_code = error;
}

static void commit_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    commit_state_t *st = (commit_state_t *)((char *)waiter - offsetof(commit_state_t, waiter));
    for (int32_t i = 0; err != RN_OK && i < st->item_count; i++)
        st->outs[i]->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    rn_gop_reply(&st->gop);
}

static const char *commit_metadata(rn_req_t *req, rn_str_t metadata) {
    size_t len = metadata.len > 0 ? (size_t)metadata.len : 0;
    char *out = rn_gops_alloc(req, len + 1);
    if (len) memcpy(out, metadata.ptr, len);
    out[len] = '\0';
    return out;
}

/* One item per partition that passes the per-partition checks. */
static int32_t commit_items(commit_state_t *st, rn_group_commit_item_t *items, int64_t now_wall) {
    const rn_offset_commit_request_t *in = st->in;
    int16_t version = st->req->api_version;
    int32_t n = 0;
    for (int32_t t = 0; t < in->topics.count; t++) {
        const rn_offset_commit_request_offset_commit_request_topic_t *topic = &in->topics.items[t];
        rn_str_t name = st->names[t];
        for (int32_t p = 0; name.len >= 0 && p < topic->partitions.count; p++) {
            const rn_offset_commit_request_offset_commit_request_partition_t *pin =
                &topic->partitions.items[p];
            commit_out_t *out = &st->resp->topics.items[t].partitions.items[p];
            if (!rn_ptable_partition(st->gop.gops->table, name, pin->partition_index)) {
                out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            if (pin->committed_metadata.len > RN_GROUP_OFFSET_METADATA_BYTES_MAX) {
                out->error_code = RN_KERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            rn_group_commit_item_t *item = &items[n];
            st->outs[n++] = out;
            item->topic = name;
            item->partition = pin->partition_index;
            item->value.offset = pin->committed_offset;
            item->value.leader_epoch = version >= 6 ? pin->committed_leader_epoch : -1;
            item->value.metadata = commit_metadata(st->req, pin->committed_metadata);
            item->value.commit_timestamp_ms =
                version == 1 && pin->commit_timestamp >= 0 ? pin->commit_timestamp : now_wall;
            item->value.expire_timestamp_ms =
                version >= 2 && version <= 4 && in->retention_time_ms >= 0
                    ? item->value.commit_timestamp_ms + in->retention_time_ms
                    : -1;
        }
    }
    return n;
}

static void commit_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    commit_state_t *st = gop->ctx;
    const rn_offset_commit_request_t *in = st->in;
    int16_t version = st->req->api_version;
    int16_t err = rn_group_commit_check(
        coord, in->group_id, version >= 1 ? in->member_id : rn_str_from_cstr(""),
        version >= 7 ? in->group_instance_id : rn_str_null(),
        version >= 1 ? in->generation_id_or_member_epoch : -1, rn_group_now_ms(node));
    if (err != RN_KERR_NONE) {
        commit_fill_all(st, err);
        rn_gop_reply(gop);
        return;
    }
    int32_t total = 0;
    for (int32_t t = 0; t < in->topics.count; t++)
        total +=
            in->topics.items[t].partitions.count > 0 ? in->topics.items[t].partitions.count : 0;
    rn_group_commit_item_t *items = rn_gops_alloc(st->req, (size_t)total * sizeof *items);
    st->outs = rn_gops_alloc(st->req, (size_t)total * sizeof *st->outs);
    st->item_count = commit_items(st, items, rn_io_wall_ms(node->io));
    if (st->item_count == 0) {
        rn_gop_reply(gop);
        return;
    }
    rn_err_t werr =
        rn_group_commit(node, gop->partition, in->group_id, items, st->item_count, &st->waiter);
    if (werr != RN_OK) {
        int16_t code = werr == RN_ERR_TOO_LARGE ? RN_KERR_INVALID_COMMIT_OFFSET_SIZE
                                                : RN_KERR_COORDINATOR_NOT_AVAILABLE;
        for (int32_t i = 0; i < st->item_count; i++) st->outs[i]->error_code = code;
        rn_gop_reply(gop);
    }
}

/* Each request topic's name: its own, or from v10 its id's (null: none). */
static rn_str_t *commit_names(rn_core_t *core, rn_req_t *req,
                              const rn_offset_commit_request_t *in) {
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    rn_str_t *names = rn_gops_alloc(req, (size_t)count * sizeof *names);
    for (int32_t t = 0; t < count; t++)
        names[t] = req->api_version >= RN_GROUP_TOPIC_ID_VERSION
                       ? rn_gops_topic_name(core, req, &in->topics.items[t].topic_id)
                       : in->topics.items[t].name;
    return names;
}

static void commit_skeleton(commit_state_t *st) {
    const rn_offset_commit_request_t *in = st->in;
    rn_offset_commit_response_t *resp = st->resp;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.count = count;
    resp->topics.items = rn_gops_alloc(st->req, (size_t)count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < count; t++) {
        const rn_offset_commit_request_offset_commit_request_topic_t *tin = &in->topics.items[t];
        int32_t pcount = tin->partitions.count > 0 ? tin->partitions.count : 0;
        resp->topics.items[t].name = tin->name;
        resp->topics.items[t].topic_id = tin->topic_id;
        resp->topics.items[t].partitions.count = pcount;
        resp->topics.items[t].partitions.items =
            rn_gops_alloc(st->req, (size_t)pcount * sizeof *resp->topics.items[t].partitions.items);
        for (int32_t p = 0; p < pcount; p++) {
            commit_out_t *out = &resp->topics.items[t].partitions.items[p];
            out->partition_index = tin->partitions.items[p].partition_index;
            out->error_code = st->names[t].len >= 0 ? RN_KERR_NONE : RN_KERR_UNKNOWN_TOPIC_ID;
        }
    }
}

void rn_handle_offset_commit(rn_core_t *core, rn_req_t *req, void *body) {
    rn_offset_commit_response_t *resp = rn_handler_response_new(req);
    commit_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (commit_state_t){.req = req, .in = body, .resp = resp};
    st->gop.ctx = st;
    st->waiter.done = commit_durable;
    st->names = commit_names(core, req, st->in);
    commit_skeleton(st);
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, commit_run))
        commit_fill_all(st, RN_KERR_COORDINATOR_NOT_AVAILABLE);
    rn_gops_end(gops);
}
