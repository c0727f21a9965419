/*
 * metadata.c: Metadata (key 3): the cluster as the metadata image has it:
 * every registered, unfenced broker with its advertised host, port and
 * rack; the requested topics with each partition's leader, replicas, ISR,
 * offline replicas (those on brokers that are fenced or gone) and leader
 * epoch. Unknown topics are created when both the request (v4+; implied
 * before) and auto.create.topics.enable allow it. From v10 the answer
 * carries topic ids, and a topic named by its id alone (the name null) is
 * looked up by it; authorized operations (v8+), when asked, are every
 * operation, as a broker without an authorizer answers.
 */
#include "handlers/handler.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/metadata_response.h"
#include "cluster/topics.h"
#include "proto/acl_ops.h"

#include <string.h>

static void metadata_fill_topic(rn_req_t *req, const rn_image_t *img, const rn_image_topic_t *it,
                                rn_metadata_response_metadata_response_topic_t *tout) {
    tout->error_code = RN_KERR_NONE;
    tout->name = (rn_str_t){it->name, (int32_t)it->name_len};
    tout->topic_id = it->id;
    tout->is_internal = rn_topics_is_internal(it->name);
    tout->partitions.count = it->partition_count;
    tout->partitions.items =
        rn_handler_alloc(req, (size_t)it->partition_count * sizeof *tout->partitions.items);
    for (int32_t p = 0; p < it->partition_count; p++) {
        const rn_image_partition_t *part = &it->partitions[p];
        rn_metadata_response_metadata_response_partition_t *pout = &tout->partitions.items[p];
        rn_metadata_response_metadata_response_partition_init(pout);
        pout->partition_index = p;
        pout->leader_id = part->leader;
        pout->error_code = part->leader < 0 ? RN_KERR_LEADER_NOT_AVAILABLE : RN_KERR_NONE;
        pout->leader_epoch = part->leader_epoch;
        /* The image stays referenced until the response is encoded. */
        pout->replica_nodes = (rn_int32_array_t){(int32_t *)part->replicas, part->replica_count};
        pout->isr_nodes = (rn_int32_array_t){(int32_t *)part->isr, part->isr_count};
        pout->offline_replicas = rn_handler_offline_replicas(req, img, part);
    }
}

static void metadata_broker(rn_metadata_response_metadata_response_broker_t *out, int32_t id,
                            rn_str_t host, int32_t port, rn_str_t rack) {
    rn_metadata_response_metadata_response_broker_init(out);
    out->node_id = id;
    out->host = host;
    out->port = port;
    out->rack = rack;
}

/* Alive brokers: registered and not fenced, reached at their endpoint on
   the listener the request came in on (a broker without one is left out).
   Before any has registered (a cluster starting), this node alone, as
   clients must find somewhere to ask again. */
static void metadata_fill_brokers(rn_core_t *core, rn_req_t *req, const rn_image_t *img,
                                  rn_metadata_response_t *resp) {
    rn_node_t *node = core->node;
    int32_t total = rn_image_broker_count(img);
    resp->brokers.items = rn_handler_alloc(req, (size_t)(total + 1) * sizeof *resp->brokers.items);
    resp->brokers.count = 0;
    for (int32_t n = 0; n < total; n++) {
        const rn_image_broker_t *broker = rn_image_broker_at(img, n);
        const rn_image_endpoint_t *ep = rn_handler_endpoint(core, req, broker);
        if (broker->fenced || !ep) continue;
        metadata_broker(&resp->brokers.items[resp->brokers.count++], broker->id,
                        rn_str_from_cstr(ep->host), ep->port,
                        broker->has_rack ? rn_str_from_cstr(broker->rack) : rn_str_null());
    }
    if (resp->brokers.count == 0) {
        const rn_node_listener_t *self = rn_handler_listener(core, req);
        metadata_broker(&resp->brokers.items[resp->brokers.count++], node->settings.node_id,
                        rn_str_from_cstr(self->host), self->port, rn_str_null());
    }
    resp->cluster_id = rn_str_from_cstr(node->cluster_id);
    /* As a KRaft broker answers clients: an alive broker they can reach,
       here this one, which forwards admin requests to the active
       controller. */
    resp->controller_id = node->settings.node_id;
}

/* A topic named by its id alone (v10+, the name null): found, or
   UNKNOWN_TOPIC_ID with the id echoed; never auto-created. */
static void metadata_topic_by_id(rn_req_t *req, const rn_image_t *img, const rn_uuid_t *id,
                                 rn_metadata_response_metadata_response_topic_t *tout) {
    rn_metadata_response_metadata_response_topic_init(tout);
    tout->name = rn_str_null();
    tout->topic_id = *id;
    tout->partitions.count = 0;
    const rn_image_topic_t *it = rn_image_topic_by_id(img, id);
    if (it)
        metadata_fill_topic(req, img, it, tout);
    else
        tout->error_code = RN_KERR_UNKNOWN_TOPIC_ID;
}

/* One requested topic: found, auto-created, or an error entry. A topic this
   request created is answered LEADER_NOT_AVAILABLE, as Kafka answers while
   its creation settles; clients ask again. */
static void metadata_named_topic(rn_req_t *req, rn_node_t *node, const rn_image_t *img,
                                 const rn_metadata_request_metadata_request_topic_t *tin,
                                 bool auto_create,
                                 rn_metadata_response_metadata_response_topic_t *tout) {
    if (tin->name.len < 0 && !rn_uuid_eq(&tin->topic_id, &rn_uuid_zero)) {
        metadata_topic_by_id(req, img, &tin->topic_id, tout);
        return;
    }
    rn_str_t name = tin->name;
    rn_metadata_response_metadata_response_topic_init(tout);
    tout->name = name;
    tout->partitions.count = 0;
    const rn_image_topic_t *it =
        name.len > 0 ? rn_image_topic(img, name.ptr, (size_t)name.len) : NULL;
    if (it) {
        metadata_fill_topic(req, img, it, tout);
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
    rn_image_t *img = rn_topics_image(node);
    metadata_fill_brokers(core, req, img, resp);
    /* v0: an empty list means every topic; v1+: null means every topic. */
    bool all = in->topics.count < 0 || (req->api_version == 0 && in->topics.count == 0);
    bool auto_create = req->api_version < 4 || in->allow_auto_topic_creation;
    if (all) {
        int32_t count = rn_image_topic_count(img);
        resp->topics.count = count;
        resp->topics.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->topics.items);
        for (int32_t t = 0; t < count; t++) {
            rn_metadata_response_metadata_response_topic_init(&resp->topics.items[t]);
            metadata_fill_topic(req, img, rn_image_topic_at(img, t), &resp->topics.items[t]);
        }
    } else {
        resp->topics.count = in->topics.count;
        resp->topics.items =
            rn_handler_alloc(req, (size_t)in->topics.count * sizeof *resp->topics.items);
        for (int32_t t = 0; t < in->topics.count; t++)
            metadata_named_topic(req, node, img, &in->topics.items[t], auto_create,
                                 &resp->topics.items[t]);
    }
    /* Every topic of the answer, found or not, as Kafka answers. */
    if (in->include_topic_authorized_operations)
        for (int32_t t = 0; t < resp->topics.count; t++)
            resp->topics.items[t].topic_authorized_operations = RN_ACL_OPS_TOPIC_ALL;
    if (in->include_cluster_authorized_operations)
        resp->cluster_authorized_operations = RN_ACL_OPS_CLUSTER_ALL;
    rn_handler_respond(req, resp);
    rn_image_release(img);
}
