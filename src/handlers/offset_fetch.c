/*
 * offset_fetch.c: OffsetFetch (key 9), versions 0-7: the committed offsets
 * of one group, for the partitions asked or (topics null, v2+) all of them,
 * read from the group's shard. Unknown offsets are -1 with no error, as in
 * Kafka. With require_stable (v7+), a partition an open transaction has
 * offsets for (TxnOffsetCommit, not yet committed) is UNSTABLE_OFFSET_COMMIT
 * with offset -1, as Kafka answers, so a read_committed consumer waits for
 * the transaction's outcome.
 */
#include "handlers/group_ops.h"
#include "proto/gen/offset_fetch_request.h"
#include "proto/gen/offset_fetch_response.h"

#include <stdlib.h>
#include <string.h>

typedef rn_offset_fetch_response_offset_fetch_response_topic_t fetch_topic_t;
typedef rn_offset_fetch_response_offset_fetch_response_partition_t fetch_part_t;

typedef struct fetch_state {
    rn_gop_t gop;
    rn_node_t *node;
    rn_req_t *req;
    const rn_offset_fetch_request_t *in;
    rn_offset_fetch_response_t *resp;
} fetch_state_t;

static void fetch_fill(rn_req_t *req, fetch_part_t *out, int32_t index,
                       const rn_group_offset_t *v) {
    rn_offset_fetch_response_offset_fetch_response_partition_init(out);
    out->partition_index = index;
    out->committed_offset = v ? v->offset : -1;
    out->committed_leader_epoch = v ? v->leader_epoch : -1;
    out->metadata = rn_gops_str(req, v && v->metadata ? v->metadata : "");
    out->error_code = RN_KERR_NONE;
}

typedef struct fetch_entry {
    const char *topic;
    int32_t partition;
    const rn_group_offset_t *value;
} fetch_entry_t;

typedef struct fetch_all {
    fetch_entry_t *entries;
    int32_t count;
} fetch_all_t;

static int fetch_collect(void *arg, const char *topic, int32_t partition,
                         const rn_group_offset_t *value) {
    fetch_all_t *all = arg;
    all->entries[all->count++] = (fetch_entry_t){topic, partition, value};
    return 0;
}

static int fetch_entry_cmp(const void *a, const void *b) {
    const fetch_entry_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Every offset of the group, grouped by topic. */
static void fetch_all(fetch_state_t *st, const rn_group_t *group) {
    rn_offset_fetch_response_t *resp = st->resp;
    int32_t n = group ? rn_group_offset_count(group) : 0;
    fetch_all_t all = {rn_gops_alloc(st->req, (size_t)n * sizeof(fetch_entry_t)), 0};
    if (group) rn_group_offsets_each(group, fetch_collect, &all);
    qsort(all.entries, (size_t)all.count, sizeof *all.entries, fetch_entry_cmp);
    resp->topics.items = rn_gops_alloc(st->req, (size_t)all.count * sizeof *resp->topics.items);
    resp->topics.count = 0;
    for (int32_t i = 0; i < all.count;) {
        int32_t j = i;
        while (j < all.count && !strcmp(all.entries[j].topic, all.entries[i].topic)) j++;
        fetch_topic_t *tout = &resp->topics.items[resp->topics.count++];
        tout->name = rn_gops_str(st->req, all.entries[i].topic);
        tout->partitions.count = j - i;
        tout->partitions.items = rn_gops_alloc(st->req, (size_t)(j - i) * sizeof(fetch_part_t));
        for (int32_t k = i; k < j; k++)
            fetch_fill(st->req, &tout->partitions.items[k - i], all.entries[k].partition,
                       all.entries[k].value);
        i = j;
    }
}

static void fetch_listed(fetch_state_t *st, const rn_group_t *group, int16_t error) {
    const rn_offset_fetch_request_t *in = st->in;
    rn_offset_fetch_response_t *resp = st->resp;
    resp->topics.count = in->topics.count;
    resp->topics.items =
        rn_gops_alloc(st->req, (size_t)in->topics.count * sizeof *resp->topics.items);
    for (int32_t t = 0; t < in->topics.count; t++) {
        const rn_offset_fetch_request_offset_fetch_request_topic_t *tin = &in->topics.items[t];
        fetch_topic_t *tout = &resp->topics.items[t];
        int32_t count = tin->partition_indexes.count > 0 ? tin->partition_indexes.count : 0;
        tout->name = tin->name;
        tout->partitions.count = count;
        tout->partitions.items = rn_gops_alloc(st->req, (size_t)count * sizeof(fetch_part_t));
        for (int32_t p = 0; p < count; p++) {
            int32_t index = tin->partition_indexes.items[p];
            const rn_group_offset_t *v = group && error == RN_KERR_NONE
                                             ? rn_group_offset_get(group, tin->name, index)
                                             : NULL;
            bool unstable =
                error == RN_KERR_NONE && st->req->api_version >= 7 && in->require_stable &&
                rn_group_txn_pending(st->node, st->gop.partition, in->group_id, tin->name, index);
            fetch_fill(st->req, &tout->partitions.items[p], index, unstable ? NULL : v);
            tout->partitions.items[p].error_code =
                unstable ? RN_KERR_UNSTABLE_OFFSET_COMMIT : error;
        }
    }
}

static void fetch_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    fetch_state_t *st = gop->ctx;
    st->node = node;
    int16_t error = rn_group_coord_refusal(coord);
    const rn_group_t *group = error == RN_KERR_NONE ? rn_group_find(coord, st->in->group_id) : NULL;
    if (st->in->topics.count < 0 && error == RN_KERR_NONE)
        fetch_all(st, group);
    else if (st->in->topics.count >= 0)
        fetch_listed(st, group, st->req->api_version < 2 ? error : 0);
    if (st->req->api_version >= 2) st->resp->error_code = error;
    rn_gop_reply(gop);
}

void rn_handle_offset_fetch(rn_core_t *core, rn_req_t *req, void *body) {
    rn_offset_fetch_response_t *resp = rn_handler_response_new(req);
    fetch_state_t *st = rn_gops_alloc(req, sizeof *st);
    *st = (fetch_state_t){.req = req, .in = body, .resp = resp};
    st->gop.ctx = st;
    resp->topics.count = 0;
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    if (!rn_gops_send(gops, &st->gop, st->in->group_id, fetch_run)) {
        resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
        if (req->api_version < 2) fetch_listed(st, NULL, RN_KERR_COORDINATOR_NOT_AVAILABLE);
    }
    rn_gops_end(gops);
}
