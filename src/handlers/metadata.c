/*
 * metadata.c: Metadata (key 3): this broker, the cluster id, and the
 * requested topics with their partitions. A single node leads every
 * partition and is its only replica. Unknown topics are created when both
 * the request (v4+; implied before) and auto.create.topics.enable allow it.
 */
#include "handlers/handler.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"
#include "base/assert.h"
#include "cluster/topics.h"

#include <string.h>

static void *metadata_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc(&req->arena, bytes ? bytes : 1);
    RN_ASSERT(ptr != NULL); /* bounded: a response is a few hundred bytes per partition */
    return ptr;
}

static void metadata_fill_topic(rn_req_t *req, int32_t node_id, const rn_topic_rt_t *rt,
                                rn_metadata_response_metadata_response_topic_t *tout) {
    tout->error_code = RN_KERR_NONE;
    tout->name = rn_str_from_cstr(rt->name);
    tout->topic_id = rt->topic_id;
    tout->is_internal = rn_topics_is_internal(rt->name);
    tout->partitions.count = rt->partition_count;
    tout->partitions.items =
        metadata_alloc(req, (size_t)rt->partition_count * sizeof *tout->partitions.items);
    int32_t *self = metadata_alloc(req, sizeof *self);
    *self = node_id;
    for (int32_t p = 0; p < rt->partition_count; p++) {
        rn_metadata_response_metadata_response_partition_t *pout = &tout->partitions.items[p];
        rn_metadata_response_metadata_response_partition_init(pout);
        pout->partition_index = p;
        pout->leader_id = node_id;
        pout->leader_epoch = rt->parts[p] ? rt->parts[p]->leader_epoch : 0;
        pout->replica_nodes = (rn_int32_array_t){self, 1};
        pout->isr_nodes = (rn_int32_array_t){self, 1};
        pout->offline_replicas = (rn_int32_array_t){NULL, 0};
    }
}

static void metadata_fill_brokers(rn_req_t *req, rn_node_t *node, rn_metadata_response_t *resp) {
    resp->brokers.count = 1;
    resp->brokers.items = metadata_alloc(req, sizeof *resp->brokers.items);
    rn_metadata_response_metadata_response_broker_init(&resp->brokers.items[0]);
    resp->brokers.items[0].node_id = node->settings.node_id;
    resp->brokers.items[0].host = rn_str_from_cstr(node->settings.advertised_host);
    resp->brokers.items[0].port = node->settings.advertised_port;
    resp->brokers.items[0].rack = rn_str_null();
    resp->cluster_id = rn_str_from_cstr(node->cluster_id);
    /* As a KRaft broker answers clients: an alive broker they can reach,
       here this one, which forwards admin requests to the active
       controller. */
    resp->controller_id = node->settings.node_id;
}

/* One requested topic: found, auto-created, or an error entry. A topic this
   request created is answered LEADER_NOT_AVAILABLE, as Kafka answers while
   its creation settles; clients ask again. */
static void metadata_named_topic(rn_req_t *req, rn_node_t *node, const rn_ptable_t *table,
                                 rn_str_t name, bool auto_create,
                                 rn_metadata_response_metadata_response_topic_t *tout) {
    rn_metadata_response_metadata_response_topic_init(tout);
    tout->name = name;
    tout->partitions.count = 0;
    const rn_topic_rt_t *rt =
        name.len > 0 ? rn_ptable_find(table, name.ptr, (size_t)name.len) : NULL;
    if (rt) {
        metadata_fill_topic(req, node->settings.node_id, rt, tout);
        return;
    }
    if (!rn_topics_name_valid(name)) {
        tout->error_code = RN_KERR_INVALID_TOPIC_EXCEPTION;
        return;
    }
    int16_t kerr =
        auto_create ? rn_topics_auto_create(node, name) : RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    tout->error_code = kerr == RN_KERR_NONE ? RN_KERR_LEADER_NOT_AVAILABLE : kerr;
}

void rn_handle_metadata(rn_core_t *core, rn_req_t *req, void *body) {
    rn_metadata_request_t *in = body;
    rn_node_t *node = core->node;
    rn_metadata_response_t *resp = rn_handler_response_new(req);
    metadata_fill_brokers(req, node, resp);
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    /* v0: an empty list means every topic; v1+: null means every topic. */
    bool all = in->topics.count < 0 || (req->api_version == 0 && in->topics.count == 0);
    bool auto_create = req->api_version < 4 || in->allow_auto_topic_creation;
    if (all) {
        resp->topics.count = table->topic_count;
        resp->topics.items =
            metadata_alloc(req, (size_t)table->topic_count * sizeof *resp->topics.items);
        for (int32_t t = 0; t < table->topic_count; t++) {
            rn_metadata_response_metadata_response_topic_init(&resp->topics.items[t]);
            metadata_fill_topic(req, node->settings.node_id, table->topics[t],
                                &resp->topics.items[t]);
        }
    } else {
        resp->topics.count = in->topics.count;
        resp->topics.items =
            metadata_alloc(req, (size_t)in->topics.count * sizeof *resp->topics.items);
        for (int32_t t = 0; t < in->topics.count; t++)
            metadata_named_topic(req, node, table, in->topics.items[t].name, auto_create,
                                 &resp->topics.items[t]);
    }
    rn_handler_respond(req, resp);
    rn_ptable_release(table);
}
