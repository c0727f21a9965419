/* describe_cluster.c: DescribeCluster (key 60): this one broker, which is
   also the controller. */
#include "handlers/handler.h"
#include "proto/gen/describe_cluster_response.h"

void rn_handle_describe_cluster(rn_core_t *core, rn_req_t *req, void *body) {
    (void)body;
    rn_node_t *node = core->node;
    rn_describe_cluster_response_t *resp = rn_handler_response_new(req);
    resp->cluster_id = rn_str_from_cstr(node->cluster_id);
    /* As a KRaft broker answers clients: an alive broker they can reach,
       here this one, which forwards admin requests to the active
       controller. */
    resp->controller_id = node->settings.node_id;
    resp->brokers.count = 1;
    resp->brokers.items = rn_arena_alloc(&req->arena, sizeof *resp->brokers.items);
    rn_describe_cluster_response_describe_cluster_broker_init(&resp->brokers.items[0]);
    resp->brokers.items[0].broker_id = node->settings.node_id;
    resp->brokers.items[0].host = rn_str_from_cstr(node->settings.advertised_host);
    resp->brokers.items[0].port = node->settings.advertised_port;
    rn_handler_respond(req, resp);
}
