/*
 * alter_partition.c: AlterPartition (key 56, versions 2-3: topic ids), on
 * the controller listener: a partition leader asks the active controller to
 * change its ISR (metadata/controller.h, "ISR changes"; the sender is
 * cluster/isr_submit.h). It is answered once the changes are committed
 * and applied; a controller that is not active forwards it to the one that
 * is. A request-wide error is Kafka's top-level code with no topics
 * (STALE_BROKER_EPOCH, NOT_CONTROLLER, REQUEST_TIMED_OUT); a refused
 * partition carries its index and code only, as in Kafka's answers.
 */
#include "handlers/handler.h"
#include "base/assert.h"
#include "proto/gen/alter_partition_request.h"
#include "proto/gen/alter_partition_response.h"

#include <string.h>

typedef struct alter_wait {
    rn_admin_op_t op; /* first: done gets it */
    rn_req_t *req;
    const rn_alter_partition_request_t *in;
    rn_ctl_isr_request_t isr;
    rn_ctl_isr_reply_t *reply;
} alter_wait_t;

/* One partition of the request as the controller takes it: v3 names each
   member's broker epoch, v2 none (-1). */
static void alter_change(const rn_alter_partition_request_topic_data_t *topic,
                         const rn_alter_partition_request_partition_data_t *in, int16_t version,
                         rn_ctl_isr_change_t *c) {
    memset(c, 0, sizeof *c);
    c->topic_id = topic->topic_id;
    c->partition = in->partition_index;
    c->leader_epoch = in->leader_epoch;
    c->partition_epoch = in->partition_epoch;
    c->leader_recovery_state = in->leader_recovery_state;
    int32_t count = version >= 3 ? in->new_isr_with_epochs.count : in->new_isr.count;
    if (count < 0) count = 0;
    if (count > RN_REPLICAS_MAX) { /* longer than any replica list */
        c->isr_count = RN_CTL_ISR_TOO_LONG;
        return;
    }
    c->isr_count = (int16_t)count;
    for (int32_t n = 0; n < count; n++) {
        bool epochs = version >= 3;
        c->isr[n] = epochs ? in->new_isr_with_epochs.items[n].broker_id : in->new_isr.items[n];
        c->isr_broker_epochs[n] = epochs ? in->new_isr_with_epochs.items[n].broker_epoch : -1;
    }
}

static int32_t alter_partition_count(const rn_alter_partition_request_t *in) {
    int64_t total = 0;
    for (int32_t t = 0; t < in->topics.count; t++)
        total +=
            in->topics.items[t].partitions.count > 0 ? in->topics.items[t].partitions.count : 0;
    return total > RN_ISR_CHANGES_MAX ? RN_ISR_CHANGES_MAX + 1 : (int32_t)total;
}

/* One partition's answer: its state only when the change was made. */
static void alter_answer_partition(rn_req_t *req, int32_t index, const rn_ctl_isr_result_t *res,
                                   rn_alter_partition_response_partition_data_t *out) {
    rn_alter_partition_response_partition_data_init(out);
    out->partition_index = index;
    out->error_code = res->error_code;
    if (res->error_code != RN_KERR_NONE) return;
    out->leader_id = res->leader;
    out->leader_epoch = res->leader_epoch;
    out->partition_epoch = res->partition_epoch;
    out->isr.count = res->isr_count;
    out->isr.items = rn_handler_alloc(req, (size_t)res->isr_count * sizeof(int32_t));
    memcpy(out->isr.items, res->isr, (size_t)res->isr_count * sizeof(int32_t));
}

/* The answer, topics and partitions in the request's order. */
static void alter_answer(rn_req_t *req, const rn_alter_partition_request_t *in, int16_t error_code,
                         const rn_ctl_isr_result_t *results) {
    rn_alter_partition_response_t *resp = rn_handler_response_new(req);
    resp->error_code = error_code;
    resp->topics.count = 0;
    if (error_code == RN_KERR_NONE && in->topics.count > 0) {
        resp->topics.count = in->topics.count;
        resp->topics.items =
            rn_handler_alloc(req, (size_t)in->topics.count * sizeof *resp->topics.items);
    }
    int32_t n = 0;
    for (int32_t t = 0; t < resp->topics.count; t++) {
        const rn_alter_partition_request_topic_data_t *topic = &in->topics.items[t];
        rn_alter_partition_response_topic_data_t *out = &resp->topics.items[t];
        rn_alter_partition_response_topic_data_init(out);
        out->topic_id = topic->topic_id;
        int32_t count = topic->partitions.count > 0 ? topic->partitions.count : 0;
        out->partitions.count = count;
        out->partitions.items =
            rn_handler_alloc(req, (size_t)count * sizeof *out->partitions.items);
        for (int32_t p = 0; p < count; p++, n++)
            alter_answer_partition(req, topic->partitions.items[p].partition_index, &results[n],
                                   &out->partitions.items[p]);
    }
    rn_handler_respond(req, resp);
}

static void alter_done(rn_admin_op_t *op) {
    alter_wait_t *w = (alter_wait_t *)op;
    if (rn_handler_admin_relayed(w->req, op)) return;
    alter_answer(w->req, w->in, w->reply->result.error_code, w->reply->results);
}

void rn_handle_alter_partition(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_alter_partition_request_t *in = body;
    int32_t count = alter_partition_count(in);
    if (in->topics.count <= 0) { /* answered at once, checking nothing, as Kafka */
        alter_answer(req, in, RN_KERR_NONE, NULL);
        return;
    }
    if (count > RN_ISR_CHANGES_MAX) { /* a leader splits larger sets */
        alter_answer(req, in, RN_KERR_INVALID_REQUEST, NULL);
        return;
    }
    alter_wait_t *w = rn_handler_alloc(req, sizeof *w);
    memset(w, 0, sizeof *w);
    w->req = req;
    w->in = in;
    rn_ctl_isr_change_t *changes = rn_handler_alloc(req, (size_t)count * sizeof *changes);
    int32_t n = 0;
    for (int32_t t = 0; t < in->topics.count; t++) {
        const rn_alter_partition_request_topic_data_t *topic = &in->topics.items[t];
        for (int32_t p = 0; p < topic->partitions.count; p++)
            alter_change(topic, &topic->partitions.items[p], req->api_version, &changes[n++]);
    }
    RN_ASSERT(n == count);
    w->isr = (rn_ctl_isr_request_t){in->broker_id, in->broker_epoch, count, changes};
    w->reply = rn_handler_alloc(req, rn_ctl_isr_reply_bytes(count));
    w->op = (rn_admin_op_t){.kind = RN_ADMIN_ALTER_PARTITION,
                            .items = &w->isr,
                            .count = 1,
                            .results = w->reply,
                            .done = alter_done};
    rn_handler_admin_prepare(core, req, &w->op);
    rn_md_rt_submit(rn_md_rt_of_core(core), &w->op);
}
