/* part_ops.c: per-partition request fan-out with in-place response slots,
   the leader check every partition request makes first, and what answers
   say of partitions from the image: offline replicas, leader hints
   (KIP-951), a topic's name by its id. */
#include "handlers/part_ops.h"
#include "base/assert.h"
#include "cluster/topics.h"

int16_t rn_handler_leader_kerr(const rn_image_t *img, int32_t node_id, rn_str_t topic,
                               int32_t index) {
    if (topic.len <= 0) return RN_KERR_NONE;
    const rn_image_topic_t *it = rn_image_topic(img, topic.ptr, (size_t)topic.len);
    if (!it || index < 0 || index >= it->partition_count) return RN_KERR_NONE;
    return it->partitions[index].leader == node_id ? RN_KERR_NONE : RN_KERR_NOT_LEADER_OR_FOLLOWER;
}

/* text copied into the request's arena (null on budget). */
static rn_str_t hint_copy(rn_req_t *req, const char *text) {
    return rn_str_from_cstr(rn_handler_cstr(req, rn_str_from_cstr(text)));
}

rn_str_t rn_handler_topic_name_by_id(rn_req_t *req, const rn_image_t *img, const rn_uuid_t *id) {
    const rn_image_topic_t *it = rn_image_topic_by_id(img, id);
    if (!it) return rn_str_null();
    char *copy = rn_handler_cstr(req, (rn_str_t){it->name, (int32_t)it->name_len});
    RN_ASSERT(copy != NULL); /* a topic name is short; the request's budget has room */
    return (rn_str_t){copy, (int32_t)it->name_len};
}

bool rn_handler_leader_hint(const rn_core_t *core, rn_req_t *req, const rn_image_t *img,
                            rn_str_t topic, int32_t index, rn_leader_hints_t *hints,
                            rn_leader_hint_t *out) {
    const rn_image_topic_t *it =
        topic.len > 0 ? rn_image_topic(img, topic.ptr, (size_t)topic.len) : NULL;
    if (!it || index < 0 || index >= it->partition_count) return false;
    const rn_image_partition_t *ip = &it->partitions[index];
    const rn_image_broker_t *broker = ip->leader >= 0 ? rn_image_broker(img, ip->leader) : NULL;
    /* as Metadata names it: on the request's listener */
    const rn_image_endpoint_t *ep = broker ? rn_handler_endpoint(core, req, broker) : NULL;
    if (!ep || broker->fenced) return false;
    out->leader = ip->leader;
    out->epoch = ip->leader_epoch;
    for (int32_t n = 0; n < hints->count; n++)
        if (hints->items[n].leader == ip->leader) {
            *out = hints->items[n];
            out->epoch = ip->leader_epoch;
            return true;
        }
    if (!hints->items) { /* one per broker at most */
        hints->cap = rn_image_broker_count(img);
        hints->items = rn_arena_alloc(&req->arena, (size_t)hints->cap * sizeof *hints->items + 1);
        if (!hints->items) return false;
    }
    out->host = hint_copy(req, ep->host);
    out->port = ep->port;
    out->rack = broker->has_rack ? hint_copy(req, broker->rack) : rn_str_null();
    if (out->host.len < 0 || hints->count == hints->cap) return false;
    hints->items[hints->count++] = *out;
    return true;
}

rn_int32_array_t rn_handler_offline_replicas(rn_req_t *req, const rn_image_t *img,
                                             const rn_image_partition_t *part) {
    rn_int32_array_t out = {NULL, 0};
    for (int16_t n = 0; n < part->replica_count; n++) {
        const rn_image_broker_t *broker = rn_image_broker(img, part->replicas[n]);
        if (broker && !broker->fenced) continue;
        if (!out.items) out.items = rn_pop_alloc(req, sizeof(int32_t) * RN_REPLICAS_MAX);
        out.items[out.count++] = part->replicas[n];
    }
    return out;
}

static void pop_batch_done(rn_fanout_t *fan) {
    rn_pop_batch_t *batch = (rn_pop_batch_t *)fan;
    if (batch->finish) batch->finish(batch);
    rn_handler_respond(batch->req, batch->resp);
    for (rn_pop_t *pop = batch->sent; pop; pop = pop->next) rn_partition_unref(pop->op.part);
    rn_ptable_release(batch->table);
}

void *rn_pop_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    /* Responses allocate within RN_RESPONSE_BYTES_MAX (set by dispatch.c
       once the request is decoded); one entry per partition asked. */
    RN_ASSERT(ptr != NULL);
    return ptr;
}

rn_pop_batch_t *rn_pop_batch_begin(rn_core_t *core, rn_req_t *req, void *resp) {
    rn_pop_batch_t *batch = rn_pop_alloc(req, sizeof *batch);
    batch->req = req;
    batch->resp = resp;
    batch->table = rn_ptable_acquire(&core->node->ptable);
    batch->image = rn_topics_image(core->node);
    batch->node_id = core->node->settings.node_id;
    rn_fanout_begin(&batch->fan, core, pop_batch_done);
    return batch;
}

rn_pop_t *rn_pop_send(rn_pop_batch_t *batch, rn_str_t topic, int32_t index, const void *in,
                      void *out, void (*run)(rn_part_op_t *op)) {
    rn_partition_t *part = rn_ptable_partition(batch->table, topic, index);
    if (!part) return NULL;
    if (batch->lead_only &&
        rn_handler_leader_kerr(batch->image, batch->node_id, topic, index) != RN_KERR_NONE)
        return NULL;
    rn_pop_t *pop = rn_pop_alloc(batch->req, sizeof *pop);
    rn_partition_ref(part);
    pop->op.part = part;
    pop->in = in;
    pop->out = out;
    pop->next = batch->sent;
    batch->sent = pop;
    rn_fanout_send(&batch->fan, &pop->op, run);
    return pop;
}

void rn_pop_batch_end(rn_pop_batch_t *batch) {
    rn_image_release(batch->image); /* only the sends read it */
    batch->image = NULL;
    rn_fanout_end(&batch->fan);
}

int16_t rn_pop_refusal(const rn_pop_batch_t *batch, rn_str_t topic, int32_t index) {
    int16_t kerr = batch->lead_only && batch->image
                       ? rn_handler_leader_kerr(batch->image, batch->node_id, topic, index)
                       : RN_KERR_NONE;
    return kerr != RN_KERR_NONE ? kerr : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
}
