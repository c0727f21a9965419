/*
 * find_coordinator.c: FindCoordinator (key 10), versions 0-2. A group's
 * coordinator is the leader of its __consumer_offsets partition
 * (abs(hash(group id)) % partitions, as Kafka), as this node's metadata
 * image says; no leader is COORDINATOR_NOT_AVAILABLE, and the client asks
 * again. A transactional id's (key type 1) is the leader of its
 * __transaction_state partition, found the same way.
 */
#include "handlers/handler.h"
#include "cluster/topics.h"
#include "group/coordinator.h"
#include "txn/coordinator.h"
#include "proto/gen/find_coordinator_request.h"
#include "proto/gen/find_coordinator_response.h"

#include <string.h>

enum { FIND_COORDINATOR_GROUP = 0, FIND_COORDINATOR_TRANSACTION = 1 };

/* The broker's first endpoint, its host copied into the request's arena
   (the image it comes from is released before the answer is written). */
static void find_answer_broker(rn_req_t *req, rn_find_coordinator_response_t *resp,
                               const rn_image_broker_t *broker) {
    const char *host = broker->endpoints[0].host;
    size_t len = strlen(host);
    char *copy = rn_arena_alloc(&req->arena, len + 1);
    if (!copy) return; /* past the budget: COORDINATOR_NOT_AVAILABLE stands */
    memcpy(copy, host, len + 1);
    resp->error_code = RN_KERR_NONE;
    resp->node_id = broker->id;
    resp->host = (rn_str_t){copy, (int32_t)len};
    resp->port = broker->endpoints[0].port;
}

/* The leader of the key's partition of the internal topic `name` (count
   partitions), from the image. */
static void find_leader(rn_req_t *req, rn_str_t key, const char *name, int32_t count,
                        rn_find_coordinator_response_t *resp, const rn_image_t *img) {
    const rn_image_topic_t *it = rn_image_topic(img, name, strlen(name));
    resp->error_code = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    if (count == 0 || !it || it->partition_count != count) return;
    int32_t leader = it->partitions[rn_group_partition_for(key, count)].leader;
    const rn_image_broker_t *broker = leader >= 0 ? rn_image_broker(img, leader) : NULL;
    if (broker && rn_image_broker_usable(broker) && broker->endpoint_count > 0)
        find_answer_broker(req, resp, broker);
}

void rn_handle_find_coordinator(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_find_coordinator_request_t *in = body;
    rn_find_coordinator_response_t *resp = rn_handler_response_new(req);
    resp->error_message = rn_str_null();
    resp->host = rn_str_from_cstr("");
    resp->node_id = -1;
    resp->port = -1;
    if (in->key_type != FIND_COORDINATOR_GROUP && in->key_type != FIND_COORDINATOR_TRANSACTION) {
        resp->error_code = RN_KERR_INVALID_REQUEST;
        resp->error_message = rn_str_from_cstr("Unsupported key type");
    } else if (in->key_type == FIND_COORDINATOR_GROUP) {
        rn_image_t *img = rn_topics_image(core->node);
        find_leader(req, in->key, RN_GROUP_OFFSETS_TOPIC, rn_group_partition_count(core->node),
                    resp, img);
        rn_image_release(img);
    } else {
        rn_image_t *img = rn_topics_image(core->node);
        find_leader(req, in->key, RN_TXN_STATE_TOPIC, rn_txn_partition_count(core->node), resp,
                    img);
        rn_image_release(img);
    }
    rn_handler_respond(req, resp);
}
