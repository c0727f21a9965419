/* describe_cluster.c: DescribeCluster (key 60): the registered, unfenced
   brokers of the metadata image with their advertised host, port and rack
   (this node alone before any has registered); from v2, fenced brokers too
   when the request asks (IncludeFencedBrokers), each with IsFenced, as
   Kafka 4.0 answers (KIP-1073). */
#include "handlers/handler.h"
#include "cluster/topics.h"
#include "proto/gen/describe_cluster_request.h"
#include "proto/gen/describe_cluster_response.h"

static void describe_cluster_broker(rn_describe_cluster_response_describe_cluster_broker_t *out,
                                    int32_t id, rn_str_t host, int32_t port, rn_str_t rack) {
    rn_describe_cluster_response_describe_cluster_broker_init(out);
    out->broker_id = id;
    out->host = host;
    out->port = port;
    out->rack = rack;
}

void rn_handle_describe_cluster(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_describe_cluster_request_t *in = body;
    /* A v2 field: false (its default) in older requests. */
    bool with_fenced = in->include_fenced_brokers;
    rn_node_t *node = core->node;
    rn_describe_cluster_response_t *resp = rn_handler_response_new(req);
    rn_image_t *img = rn_topics_image(node);
    resp->cluster_id = rn_str_from_cstr(node->cluster_id);
    /* As a KRaft broker answers clients: an alive broker they can reach,
       here this one, which forwards admin requests to the active
       controller. */
    resp->controller_id = node->settings.node_id;
    int32_t total = rn_image_broker_count(img);
    resp->brokers.items =
        rn_arena_alloc(&req->arena, (size_t)(total + 1) * sizeof *resp->brokers.items);
    resp->brokers.count = 0;
    for (int32_t n = 0; resp->brokers.items && n < total; n++) {
        const rn_image_broker_t *broker = rn_image_broker_at(img, n);
        const rn_image_endpoint_t *ep = rn_handler_endpoint(core, req, broker);
        if ((broker->fenced && !with_fenced) || !ep) continue;
        rn_describe_cluster_response_describe_cluster_broker_t *out =
            &resp->brokers.items[resp->brokers.count++];
        describe_cluster_broker(out, broker->id, rn_str_from_cstr(ep->host), ep->port,
                                broker->has_rack ? rn_str_from_cstr(broker->rack) : rn_str_null());
        out->is_fenced = broker->fenced;
    }
    if (resp->brokers.items && resp->brokers.count == 0) {
        const rn_node_listener_t *self = rn_handler_listener(core, req);
        describe_cluster_broker(&resp->brokers.items[resp->brokers.count++], node->settings.node_id,
                                rn_str_from_cstr(self->host), self->port, rn_str_null());
    }
    rn_handler_respond(req, resp);
    rn_image_release(img);
}
