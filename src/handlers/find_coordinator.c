/*
 * find_coordinator.c: FindCoordinator (key 10), versions 0-6. A group's
 * coordinator is the leader of its __consumer_offsets partition
 * (abs(hash(group id)) % partitions, as Kafka), as this node's metadata
 * image says; no leader is COORDINATOR_NOT_AVAILABLE, and the client asks
 * again. A transactional id's (key type 1) is the leader of its
 * __transaction_state partition, found the same way. Versions 4+ carry
 * several keys of one type, each answered with its own error; a share-group
 * key (key type 2, KIP-932, v6+) is COORDINATOR_NOT_AVAILABLE, as Kafka
 * answers while share groups are not served. An unknown key type, or a
 * share-group key before v6, is INVALID_REQUEST (for every key from v4 on),
 * with Kafka's messages; a v1-3 answer carries Kafka's message too ("NONE"
 * when found).
 */
#include "handlers/handler.h"
#include "cluster/topics.h"
#include "group/coordinator.h"
#include "txn/coordinator.h"
#include "proto/gen/find_coordinator_request.h"
#include "proto/gen/find_coordinator_response.h"

#include <string.h>

enum {
    FIND_COORDINATOR_GROUP = 0,
    FIND_COORDINATOR_TRANSACTION = 1,
    FIND_COORDINATOR_SHARE = 2,
    FIND_COORDINATOR_BATCHED_VERSION = 4, /* coordinator_keys replaces key */
    FIND_COORDINATOR_SHARE_VERSION = 6,   /* the first to name share-group keys */
};

/* Kafka's message for INVALID_REQUEST, which it gives a v0-3 request with
   a key type it does not know, and every key of such a v4+ request. */
#define FIND_INVALID_REQUEST_MESSAGE                                                               \
    "This most likely occurs because of a request being malformed by the client library or the "   \
    "message was sent to an incompatible broker. See the broker logs for more details."

/* One key's answer, the same for the single (v0-3) and batched (v4+) forms. */
typedef struct find_answer {
    int16_t error;
    rn_str_t message; /* null: none */
    int32_t node_id;
    rn_str_t host;
    int32_t port;
} find_answer_t;

/* The broker's endpoint on the request's listener, its host copied into
   the request's arena (the image it comes from is released before the
   answer is written). */
static void find_answer_broker(rn_req_t *req, find_answer_t *ans, const rn_image_broker_t *broker,
                               const rn_image_endpoint_t *ep) {
    const char *host = ep->host;
    size_t len = strlen(host);
    char *copy = rn_arena_alloc(&req->arena, len + 1);
    if (!copy) return; /* past the budget: COORDINATOR_NOT_AVAILABLE stands */
    memcpy(copy, host, len + 1);
    ans->error = RN_KERR_NONE;
    ans->node_id = broker->id;
    ans->host = (rn_str_t){copy, (int32_t)len};
    ans->port = ep->port;
}

/* The leader of the key's partition of the internal topic `name` (count
   partitions), from the image. */
static void find_leader(rn_core_t *core, rn_req_t *req, rn_str_t key, const char *name,
                        int32_t count, find_answer_t *ans, const rn_image_t *img) {
    const rn_image_topic_t *it = rn_image_topic(img, name, strlen(name));
    ans->error = RN_KERR_COORDINATOR_NOT_AVAILABLE;
    if (count == 0 || !it || it->partition_count != count) return;
    int32_t leader = it->partitions[rn_group_partition_for(key, count)].leader;
    const rn_image_broker_t *broker = leader >= 0 ? rn_image_broker(img, leader) : NULL;
    const rn_image_endpoint_t *ep = broker ? rn_handler_endpoint(core, req, broker) : NULL;
    if (ep && rn_image_broker_usable(broker)) find_answer_broker(req, ans, broker, ep);
}

/* The answer of a key no coordinator is found for. */
static void find_blank(find_answer_t *ans) {
    *ans = (find_answer_t){.error = RN_KERR_COORDINATOR_NOT_AVAILABLE,
                           .message = rn_str_null(),
                           .node_id = -1,
                           .host = rn_str_from_cstr(""),
                           .port = -1};
}

/* Answers one key of a known key_type, an image reference held by the
   caller. */
static void find_one(rn_core_t *core, rn_req_t *req, int8_t key_type, rn_str_t key,
                     const rn_image_t *img, find_answer_t *ans) {
    find_blank(ans);
    if (key_type == FIND_COORDINATOR_GROUP)
        find_leader(core, req, key, RN_GROUP_OFFSETS_TOPIC, rn_group_partition_count(core->node),
                    ans, img);
    else if (key_type == FIND_COORDINATOR_TRANSACTION)
        find_leader(core, req, key, RN_TXN_STATE_TOPIC, rn_txn_partition_count(core->node), ans,
                    img);
    /* FIND_COORDINATOR_SHARE: no share coordinator, COORDINATOR_NOT_AVAILABLE stands */
}

static bool find_key_type_known(int8_t key_type) {
    return key_type == FIND_COORDINATOR_GROUP || key_type == FIND_COORDINATOR_TRANSACTION ||
           key_type == FIND_COORDINATOR_SHARE;
}

/* A share-group key in a version before share groups: Kafka's
   INVALID_REQUEST, which leaves a v4-5 key's message empty. */
static bool find_share_too_early(int16_t version, int8_t key_type) {
    return key_type == FIND_COORDINATOR_SHARE && version < FIND_COORDINATOR_SHARE_VERSION;
}

/* The message Kafka gives a v1-3 answer that has none of its own: the
   name of NONE, or an error's description. */
static rn_str_t find_kafka_message(int16_t error) {
    if (error == RN_KERR_NONE) return rn_str_from_cstr("NONE");
    if (error == RN_KERR_COORDINATOR_NOT_AVAILABLE)
        return rn_str_from_cstr("The coordinator is not available.");
    return rn_str_null();
}

/* Versions 0-3: one key, answered in the top-level fields. */
static void find_single(rn_core_t *core, rn_req_t *req, const rn_find_coordinator_request_t *in,
                        rn_find_coordinator_response_t *resp) {
    find_answer_t ans;
    if (!find_key_type_known(in->key_type) ||
        find_share_too_early(req->api_version, in->key_type)) {
        find_blank(&ans);
        ans.error = RN_KERR_INVALID_REQUEST;
        ans.message = rn_str_from_cstr(FIND_INVALID_REQUEST_MESSAGE);
    } else {
        rn_image_t *img = rn_topics_image(core->node);
        find_one(core, req, in->key_type, in->key, img, &ans);
        rn_image_release(img);
    }
    resp->error_code = ans.error;
    resp->error_message = ans.message.len >= 0 ? ans.message : find_kafka_message(ans.error);
    resp->node_id = ans.node_id;
    resp->host = ans.host;
    resp->port = ans.port;
}

/* Versions 4+: every key answered alone; Kafka leaves a key's message
   empty (not null) unless the whole request was refused. */
static void find_batched(rn_core_t *core, rn_req_t *req, const rn_find_coordinator_request_t *in,
                         rn_find_coordinator_response_t *resp) {
    int32_t count = in->coordinator_keys.count > 0 ? in->coordinator_keys.count : 0;
    resp->coordinators.count = 0;
    resp->coordinators.items =
        rn_arena_alloc(&req->arena, (size_t)count * sizeof(*resp->coordinators.items) + 1);
    if (!resp->coordinators.items) return; /* past the response budget: no answers */
    bool known = find_key_type_known(in->key_type);
    bool early = find_share_too_early(req->api_version, in->key_type);
    rn_image_t *img = rn_topics_image(core->node);
    for (int32_t i = 0; i < count; i++) {
        rn_str_t key = in->coordinator_keys.items[i];
        find_answer_t ans;
        if (known && !early) {
            find_one(core, req, in->key_type, key, img, &ans);
        } else {
            find_blank(&ans);
            ans.error = RN_KERR_INVALID_REQUEST;
            ans.message = rn_str_from_cstr(known ? "" : FIND_INVALID_REQUEST_MESSAGE);
        }
        resp->coordinators.items[i] = (rn_find_coordinator_response_coordinator_t){
            .key = key,
            .node_id = ans.node_id,
            .host = ans.host,
            .port = ans.port,
            .error_code = ans.error,
            .error_message = ans.message.len >= 0 ? ans.message : rn_str_from_cstr(""),
        };
    }
    rn_image_release(img);
    resp->coordinators.count = count;
}

void rn_handle_find_coordinator(rn_core_t *core, rn_req_t *req, void *body) {
    const rn_find_coordinator_request_t *in = body;
    rn_find_coordinator_response_t *resp = rn_handler_response_new(req);
    resp->error_message = rn_str_null();
    resp->host = rn_str_from_cstr("");
    resp->node_id = -1;
    resp->port = -1;
    if (req->api_version >= FIND_COORDINATOR_BATCHED_VERSION)
        find_batched(core, req, in, resp);
    else
        find_single(core, req, in, resp);
    rn_handler_respond(req, resp);
}
