/*
 * endpoint.c: which address of a broker an answer names. A broker may
 * serve several client listeners (INTERNAL for the pods of a Kubernetes
 * cluster, EXTERNAL for clients outside it); as Kafka does, every answer
 * naming brokers (Metadata, FindCoordinator, DescribeCluster, the leader
 * hints of Produce and Fetch) gives each broker's endpoint on the listener
 * the request came in on, so a client only ever learns addresses it can
 * reach. Owns nothing.
 */
#include "handlers/handler.h"
#include "net/conn.h"

#include <string.h>

const rn_node_listener_t *rn_handler_listener(const rn_core_t *core, const rn_req_t *req) {
    const rn_node_settings_t *set = &core->node->settings;
    RN_ASSERT(set->listener_count > 0);
    int index = req->conn ? req->conn->listener : 0;
    return &set->listeners[index < set->listener_count ? index : 0];
}

const rn_image_endpoint_t *rn_handler_endpoint(const rn_core_t *core, const rn_req_t *req,
                                               const rn_image_broker_t *broker) {
    const char *name = rn_handler_listener(core, req)->name;
    for (int16_t n = 0; n < broker->endpoint_count; n++)
        if (strcmp(broker->endpoints[n].name, name) == 0) return &broker->endpoints[n];
    return NULL;
}
