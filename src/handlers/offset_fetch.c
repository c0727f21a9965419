/*
 * offset_fetch.c: OffsetFetch (key 9), versions 0-10: the committed offsets
 * of a group, for the partitions asked or (topics null, v2+) all of them,
 * read from the group's shard. Unknown offsets are -1 with no error, as in
 * Kafka. With require_stable (v7+), a partition an open transaction has
 * offsets for (TxnOffsetCommit, not yet committed) is UNSTABLE_OFFSET_COMMIT
 * with offset -1, as Kafka answers, so a read_committed consumer waits for
 * the transaction's outcome. v6 is flexible; v8 asks for several groups,
 * one op per group, each answered with its own error (a group with an
 * error lists no topics, as Kafka); v9 adds the member id and epoch of the
 * consumer protocol (KIP-848), which a classic group does not check, as
 * Kafka does not; v10 names topics by id (a topic id no topic has:
 * UNKNOWN_TOPIC_ID; all of a group's offsets list the topics that still
 * exist, as only they have an id).
 */
#include "handlers/group_ops.h"
#include "base/assert.h"
#include "proto/gen/offset_fetch_request.h"
#include "proto/gen/offset_fetch_response.h"

#include <stdlib.h>
#include <string.h>

typedef rn_offset_fetch_response_offset_fetch_response_topic_t fetch_topic_t;
typedef rn_offset_fetch_response_offset_fetch_response_partition_t fetch_part_t;

/* The topics asked of one group, from either request form. */
typedef struct fetch_want {
    rn_str_t name; /* null: v10's id names no topic */
    rn_uuid_t id;  /* v10 */
    rn_int32_array_t partitions;
} fetch_want_t;

/* One group's op and answer (in the v0-7 shapes; fetch_finish moves it
   into the response). */
typedef struct fetch_state {
    rn_gop_t gop;
    rn_node_t *node;
    rn_req_t *req;
    rn_str_t group_id;
    const fetch_want_t *wants;
    int32_t want_count; /* -1: every topic */
    bool require_stable;
    fetch_topic_t *topics;
    int32_t topic_count;
    int16_t error;
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
    int32_t n = group ? rn_group_offset_count(group) : 0;
    fetch_all_t all = {rn_gops_alloc(st->req, (size_t)n * sizeof(fetch_entry_t)), 0};
    if (group) rn_group_offsets_each(group, fetch_collect, &all);
    qsort(all.entries, (size_t)all.count, sizeof *all.entries, fetch_entry_cmp);
    st->topics = rn_gops_alloc(st->req, (size_t)all.count * sizeof *st->topics);
    st->topic_count = 0;
    for (int32_t i = 0; i < all.count;) {
        int32_t j = i;
        while (j < all.count && !strcmp(all.entries[j].topic, all.entries[i].topic)) j++;
        fetch_topic_t *tout = &st->topics[st->topic_count++];
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
    st->topic_count = st->want_count;
    st->topics = rn_gops_alloc(st->req, (size_t)st->want_count * sizeof *st->topics);
    for (int32_t t = 0; t < st->want_count; t++) {
        const fetch_want_t *want = &st->wants[t];
        fetch_topic_t *tout = &st->topics[t];
        int32_t count = want->partitions.count > 0 ? want->partitions.count : 0;
        tout->name = want->name;
        tout->partitions.count = count;
        tout->partitions.items = rn_gops_alloc(st->req, (size_t)count * sizeof(fetch_part_t));
        for (int32_t p = 0; p < count; p++) {
            int32_t index = want->partitions.items[p];
            bool known = want->name.len >= 0;
            const rn_group_offset_t *v = group && known && error == RN_KERR_NONE
                                             ? rn_group_offset_get(group, want->name, index)
                                             : NULL;
            bool unstable =
                known && error == RN_KERR_NONE && st->require_stable &&
                rn_group_txn_pending(st->node, st->gop.partition, st->group_id, want->name, index);
            fetch_fill(st->req, &tout->partitions.items[p], index, unstable ? NULL : v);
            tout->partitions.items[p].error_code = !known     ? RN_KERR_UNKNOWN_TOPIC_ID
                                                   : unstable ? RN_KERR_UNSTABLE_OFFSET_COMMIT
                                                              : error;
        }
    }
}

static void fetch_run(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node) {
    fetch_state_t *st = gop->ctx;
    st->node = node;
    int16_t error = rn_group_coord_refusal(coord);
    const rn_group_t *group = error == RN_KERR_NONE ? rn_group_find(coord, st->group_id) : NULL;
    if (st->want_count < 0 && error == RN_KERR_NONE)
        fetch_all(st, group);
    else if (st->want_count >= 0)
        fetch_listed(st, group, st->req->api_version < 2 ? error : 0);
    st->error = error;
    rn_gop_reply(gop);
}

/* Sends one group's op; a coordinator not available answers it now. */
static void fetch_send(rn_gops_t *gops, fetch_state_t *st) {
    st->gop.ctx = st;
    if (rn_gops_send(gops, &st->gop, st->group_id, fetch_run)) return;
    st->error = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    if (st->req->api_version < 2 && st->want_count >= 0)
        fetch_listed(st, NULL, RN_KERR_COORDINATOR_NOT_AVAILABLE);
}

/* The id of answer topic t: the one asked for, or (all topics) the id of
   its name now; zero for a topic no longer there. */
static rn_uuid_t fetch_topic_id(rn_core_t *core, const fetch_state_t *st, int32_t t) {
    if (st->want_count >= 0) return st->wants[t].id;
    return rn_gops_topic_id(core, st->topics[t].name);
}

/* v8+: one group's answer in the response's group shape. */
static void fetch_group_out(rn_core_t *core, const fetch_state_t *st,
                            rn_offset_fetch_response_offset_fetch_response_group_t *out) {
    rn_offset_fetch_response_offset_fetch_response_group_init(out);
    out->group_id = st->group_id;
    out->error_code = st->error;
    int32_t count = st->error == RN_KERR_NONE ? st->topic_count : 0;
    bool by_id = st->req->api_version >= RN_GROUP_TOPIC_ID_VERSION;
    out->topics.count = 0;
    out->topics.items = rn_gops_alloc(st->req, (size_t)count * sizeof *out->topics.items);
    for (int32_t t = 0; t < count; t++) {
        const fetch_topic_t *tin = &st->topics[t];
        rn_uuid_t id = by_id ? fetch_topic_id(core, st, t) : rn_uuid_zero;
        if (by_id && st->want_count < 0 && rn_uuid_eq(&id, &rn_uuid_zero)) continue;
        rn_offset_fetch_response_offset_fetch_response_topics_t *tout =
            &out->topics.items[out->topics.count++];
        tout->name = tin->name;
        tout->topic_id = id;
        tout->partitions.count = tin->partitions.count;
        tout->partitions.items =
            rn_gops_alloc(st->req, (size_t)tin->partitions.count * sizeof *tout->partitions.items);
        for (int32_t p = 0; p < tin->partitions.count; p++) {
            const fetch_part_t *pin = &tin->partitions.items[p];
            tout->partitions.items[p] =
                (rn_offset_fetch_response_offset_fetch_response_partitions_t){
                    .partition_index = pin->partition_index,
                    .committed_offset = pin->committed_offset,
                    .committed_leader_epoch = pin->committed_leader_epoch,
                    .metadata = pin->metadata,
                    .error_code = pin->error_code,
                };
        }
    }
}

typedef struct fetch_request {
    fetch_state_t *groups;
    int32_t group_count;
} fetch_request_t;

/* On the request's core once every group answered. */
static void fetch_finish(rn_gops_t *gops) {
    fetch_request_t *fr = gops->ctx;
    rn_offset_fetch_response_t *resp = gops->resp;
    if (gops->req->api_version < 8) {
        RN_ASSERT(fr->group_count == 1);
        resp->topics.items = fr->groups[0].topics;
        resp->topics.count = fr->groups[0].topic_count;
        if (gops->req->api_version >= 2) resp->error_code = fr->groups[0].error;
        return;
    }
    resp->groups.count = fr->group_count;
    resp->groups.items =
        rn_gops_alloc(gops->req, (size_t)fr->group_count * sizeof *resp->groups.items);
    for (int32_t g = 0; g < fr->group_count; g++)
        fetch_group_out(gops->fan.origin, &fr->groups[g], &resp->groups.items[g]);
}

/* The v0-7 topics asked, as wants (count -1: every topic). */
static void fetch_wants_single(rn_req_t *req, const rn_offset_fetch_request_t *in,
                               fetch_state_t *st) {
    st->group_id = in->group_id;
    st->want_count = in->topics.count;
    int32_t count = in->topics.count > 0 ? in->topics.count : 0;
    fetch_want_t *wants = rn_gops_alloc(req, (size_t)count * sizeof *wants);
    for (int32_t t = 0; t < count; t++)
        wants[t] = (fetch_want_t){in->topics.items[t].name, rn_uuid_zero,
                                  in->topics.items[t].partition_indexes};
    st->wants = wants;
}

/* One v8+ group's topics asked, as wants (v10: named by id). */
static void fetch_wants_group(rn_core_t *core, rn_req_t *req,
                              const rn_offset_fetch_request_offset_fetch_request_group_t *gin,
                              fetch_state_t *st) {
    st->group_id = gin->group_id;
    st->want_count = gin->topics.count;
    int32_t count = gin->topics.count > 0 ? gin->topics.count : 0;
    fetch_want_t *wants = rn_gops_alloc(req, (size_t)count * sizeof *wants);
    for (int32_t t = 0; t < count; t++) {
        const rn_offset_fetch_request_offset_fetch_request_topics_t *tin = &gin->topics.items[t];
        wants[t] = (fetch_want_t){tin->name, tin->topic_id, tin->partition_indexes};
        if (req->api_version >= RN_GROUP_TOPIC_ID_VERSION)
            wants[t].name = rn_gops_topic_name(core, req, &tin->topic_id);
    }
    st->wants = wants;
}

void rn_handle_offset_fetch(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_offset_fetch_request_t *in = body;
    rn_offset_fetch_response_t *resp = rn_handler_response_new(req);
    resp->topics.count = 0;
    resp->groups.count = 0;
    fetch_request_t *fr = rn_gops_alloc(req, sizeof *fr);
    fr->group_count = req->api_version >= 8 ? (in->groups.count > 0 ? in->groups.count : 0) : 1;
    fr->groups = rn_gops_alloc(req, (size_t)fr->group_count * sizeof *fr->groups);
    for (int32_t g = 0; g < fr->group_count; g++) {
        fetch_state_t *st = &fr->groups[g];
        *st = (fetch_state_t){.req = req,
                              .require_stable = req->api_version >= 7 && in->require_stable};
        if (req->api_version >= 8)
            fetch_wants_group(core, req, &in->groups.items[g], st);
        else
            fetch_wants_single(req, in, st);
    }
    rn_gops_t *gops = rn_gops_begin(core, req, resp);
    gops->finish = fetch_finish;
    gops->ctx = fr;
    for (int32_t g = 0; g < fr->group_count; g++) fetch_send(gops, &fr->groups[g]);
    rn_gops_end(gops);
}
