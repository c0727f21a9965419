/*
 * handler.h: what every API handler sees.
 *
 * The dispatcher (dispatch.c) decodes the request header and body into the
 * request's arena, checks the version against the advertised range, then
 * calls the API's handler with the decoded body. A handler answers with
 * rn_handler_respond (now or, for work on other cores, later on the same
 * loop) exactly once. Handlers turn rn_err_t into Kafka codes only through
 * rn_handler_kerr (errmap.c).
 */
#ifndef RN_HANDLERS_HANDLER_H
#define RN_HANDLERS_HANDLER_H

#include "base/err.h"
#include "cluster/metadata_rt.h"
#include "cluster/node.h"
#include "metadata/image.h"
#include "net/request.h"
#include "proto/gen/api.h"
#include "proto/kerr.h"

/* What a Fetch response's records field points at when it is a file range
   (rn_records_t.file_ref): the open file and the pin that keeps it open. */
typedef struct rn_file_range {
    rn_fd_t fd;
    void *pin;
    void (*release)(void *pin);
} rn_file_range_t;

typedef void (*rn_handler_fn)(rn_core_t *core, rn_req_t *req, void *body);

typedef struct rn_handler_api {
    int16_t key;
    int16_t version_min; /* advertised range */
    int16_t version_max;
    rn_handler_fn handle;
} rn_handler_api_t;

/* The handler entry for key, or NULL when the broker does not serve it. */
const rn_handler_api_t *rn_handler_api(int16_t key);
/* The controller listener's own APIs (broker registration and heartbeats,
   producer id blocks, ISR changes), served there only and never advertised
   to clients; NULL for others. */
const rn_handler_api_t *rn_handler_controller_api(int16_t key);
/* Every served API in key order, for ApiVersions. */
const rn_handler_api_t *rn_handler_apis(int *count);

/* The dispatcher: the net layer's on_request callback (ctx is the rn_core_t). */
void rn_handler_dispatch(void *core, rn_req_t *req);

/* The controller listener's dispatcher (ctx is the metadata runtime's
   core): controller requests and forwarded admin requests only. */
void rn_handler_controller_dispatch(void *core, rn_req_t *req);
/* Answers with a response body another node encoded (a forwarded request):
   the header is req's, the body is copied as is. */
void rn_handler_respond_raw(rn_req_t *req, const uint8_t *body, size_t len);

/* Fills what every admin op takes from its request: where its answer goes
   and the request's own bytes, for forwarding to the active controller. */
void rn_handler_admin_prepare(rn_core_t *core, rn_req_t *req, rn_admin_op_t *op);
/* In an admin op's done: answers with the leader's response when the op was
   forwarded (true), else leaves the answer to the caller (false). */
bool rn_handler_admin_relayed(rn_req_t *req, rn_admin_op_t *op);

/* Encodes header and body of the response into req->out and finishes req. */
void rn_handler_respond(rn_req_t *req, const void *response);
/* Finishes req with no bytes written back (acks=0 produce). */
void rn_handler_finish_silently(rn_req_t *req);
/* Allocates and initializes the response struct for req's API in its arena. */
void *rn_handler_response_new(rn_req_t *req);

/* The one mapping from operating errors to Kafka error codes. */
int16_t rn_handler_kerr(rn_err_t err);
/* The error a group's failed metadata write gives its SyncGroups (Kafka's
   storeGroup mapping: storage -> NOT_COORDINATOR, unknown partition ->
   COORDINATOR_NOT_AVAILABLE, timeout -> REBALANCE_IN_PROGRESS, else
   UNKNOWN_SERVER_ERROR). */
int16_t rn_handler_group_store_kerr(rn_err_t err);
/* The error a failed __transaction_state write gives the transaction
   request waiting for it (Kafka's mapping: storage or lost leadership ->
   NOT_COORDINATOR, an unknown partition, too few replicas or a timeout ->
   COORDINATOR_NOT_AVAILABLE, else UNKNOWN_SERVER_ERROR). */
int16_t rn_handler_txn_store_kerr(rn_err_t err);
/* The Kafka code for a record batch that failed validation. */
int16_t rn_handler_batch_kerr(rn_batch_reason_t reason);

/* NOT_LEADER_OR_FOLLOWER when the image has topic/index led by another
   broker (or by none), so the client refreshes its metadata and goes to
   the leader; NONE when this node leads it or the image lacks it (the
   caller answers an unknown partition as before). */
int16_t rn_handler_leader_kerr(const rn_image_t *img, int32_t node_id, rn_str_t topic,
                               int32_t index);

/* KIP-951: the leader the image names for a partition a request was sent
   to in vain, and where to reach it, so the client goes there without
   asking Metadata first (Produce v10+, Fetch v16+). */
typedef struct rn_leader_hint {
    int32_t leader; /* -1: none known */
    int32_t epoch;
    rn_str_t host; /* in the request's arena */
    int32_t port;
    rn_str_t rack; /* null: none */
} rn_leader_hint_t;

/* The leaders a response names, each once (its node endpoints). */
typedef struct rn_leader_hints {
    rn_leader_hint_t *items; /* in the request's arena */
    int32_t count;
    int32_t cap;
} rn_leader_hints_t;

/* Fills *out for topic/index and notes its leader in hints (once); false
   when the image names no reachable leader (then nothing is said beside
   the error). */
bool rn_handler_leader_hint(const rn_core_t *core, rn_req_t *req, const rn_image_t *img,
                            rn_str_t topic, int32_t index, rn_leader_hints_t *hints,
                            rn_leader_hint_t *out);

/* The name of the topic an id names, copied into the request's arena (the
   image goes on without it); null when the image does not know the id. */
rn_str_t rn_handler_topic_name_by_id(rn_req_t *req, const rn_image_t *img, const rn_uuid_t *id);

/* A partition's replicas on brokers that are not alive (fenced or not
   registered): Metadata's and DescribeTopicPartitions' offline replicas,
   in the request's arena. */
rn_int32_array_t rn_handler_offline_replicas(rn_req_t *req, const rn_image_t *img,
                                             const rn_image_partition_t *part);

/* Kafka's leader-epoch fencing for requests naming the epoch they expect:
   NONE, UNKNOWN_LEADER_EPOCH (newer than ours) or FENCED_LEADER_EPOCH. */
int16_t rn_handler_check_epoch(const rn_partition_t *part, int32_t current_leader_epoch);

/* The client listener req came in on (endpoint.c): its name and where
   clients are told to reach this node on it. */
const rn_node_listener_t *rn_handler_listener(const rn_core_t *core, const rn_req_t *req);
/* The endpoint of `broker` on that listener; NULL when the broker did not
   register one of that name (answers leave such a broker out). */
const rn_image_endpoint_t *rn_handler_endpoint(const rn_core_t *core, const rn_req_t *req,
                                               const rn_image_broker_t *broker);

/* bytes (at least one) of req's arena, for a request's copies and its
   response's lists: sized by the request or by what the node holds, within
   the arena's budget (dispatch.c), so running out is a bug (asserted). */
void *rn_handler_alloc(rn_req_t *req, size_t bytes);
/* Copies a wire string into a NUL-terminated arena string (NULL on budget). */
char *rn_handler_cstr(rn_req_t *req, rn_str_t str);

/* The mail fn of rn_core_t.poke: re-checks this core's parked fetches. */
void rn_handler_fetch_poke(rn_mail_t *mail);
/* Answers every fetch parked on this core now (shutdown). Loop thread. */
void rn_handler_fetch_expire(rn_core_t *core);

/* One handler per API (handlers/<api>.c). */
void rn_handle_api_versions(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_metadata(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_produce(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_fetch(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_list_offsets(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_offset_for_leader_epoch(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_init_producer_id(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_create_topics(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_delete_topics(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_create_partitions(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_elect_leaders(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_alter_partition_reassignments(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_list_partition_reassignments(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_delete_records(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_configs(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_alter_configs(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_incremental_alter_configs(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_cluster(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_topic_partitions(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_log_dirs(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_quorum(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_add_raft_voter(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_remove_raft_voter(rn_core_t *core, rn_req_t *req, void *body);

/* Consumer groups (handlers/<api>.c, routed by group_ops.h). */
void rn_handle_find_coordinator(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_join_group(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_sync_group(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_heartbeat(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_leave_group(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_offset_commit(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_offset_fetch(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_list_groups(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_groups(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_delete_groups(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_offset_delete(rn_core_t *core, rn_req_t *req, void *body);
/* Transactions (handlers/<api>.c, routed by txn_ops.h). */
void rn_handle_add_partitions_to_txn(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_add_offsets_to_txn(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_end_txn(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_write_txn_markers(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_txn_offset_commit(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_transactions(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_list_transactions(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_describe_producers(rn_core_t *core, rn_req_t *req, void *body);
/* Controller listener only. */
void rn_handle_broker_registration(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_broker_heartbeat(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_allocate_producer_ids(rn_core_t *core, rn_req_t *req, void *body);
void rn_handle_alter_partition(rn_core_t *core, rn_req_t *req, void *body);

#endif
