/*
 * metadata_rt.c: the metadata runtime (see metadata_rt.h): the quorum's
 * loop and ticks, images published to the node as they are applied, and
 * admin operations planned, proposed and answered one at a time.
 */
#include "cluster/metadata_rt.h"

#include "base/assert.h"
#include "base/log.h"
#include "cluster/quorum_transport.h"
#include "cluster/topics.h"
#include "net/conn.h"
#include "net/net.h"
#include "proto/uuid_text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "metadata"

struct rn_md_rt {
    rn_node_t *node;
    rn_md_rt_opts_t opts;
    rn_core_t core; /* the loop, and what handlers on the controller listener see */
    bool loop_ready;
    bool thread_started;
    rn_quorum_t *q;
    rn_timer_t tick_timer;
    int64_t tick_ms;
    rn_admin_op_t *head, *tail; /* waiting to be planned */
    rn_admin_op_t *inflight;    /* proposed, waiting for its commit */
    rn_md_batch_t batch;
    bool stopping; /* the loop is gone: operations fail at once */
    rn_qt_t transport;
    rn_net_shared_t net_shared;
    rn_net_t *nets[1];
    rn_net_t net; /* the controller listener and its connections */
    bool net_ready;
    uint16_t port_bound;
    rn_log_limit_t refused_limit;   /* votes refused from a member with a new folder */
    rn_log_limit_t non_voter_limit; /* vote messages from nodes that are no voters */
    rn_log_limit_t member_limit;    /* registrations and heartbeats refused */
    /* Where a received message's entries are decoded (they borrow from its
       frame); one per runtime, as several nodes may share a process. */
    rn_raft_entry_t msg_entries[RN_RAFT_APPEND_ENTRIES_MAX];
    int64_t last_ack_ms[RN_RAFT_NODES_MAX + 1]; /* by peer slot: see rt_ack_slot */
    rn_raft_id_t last_ack_id[RN_RAFT_NODES_MAX + 1];
    /* Start-up waits on this until the node has caught up. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool caught_up;
    /* The cluster id Raft messages carry and must carry ("" while this
       node's own is provisional), and whether the log's is settled here. */
    char transport_cluster_id[32];
    bool cluster_id_settled;
    rn_err_t fatal; /* the node cannot be part of this quorum */
    /* Broker membership while this node is the active controller, and the
       fence of an expired lease it proposes by itself (one at a time). */
    rn_mbr_t mbr;
    rn_admin_op_t fence_op;
    int32_t fence_id;
    rn_mbr_result_t fence_result;
    bool fence_busy;
    /* Automatic leader elections while this node is the active
       controller: one pass at a time, each kind due at its own time, both
       first an interval after this node became active (elect_term). */
    rn_admin_op_t elect_op;
    rn_ctl_elect_request_t elect_req;
    rn_ctl_elect_reply_t elect_reply;
    bool elect_busy;
    uint64_t elect_term;
    int64_t balance_due_ms, unclean_due_ms;
    /* The completion pass of reassignments: run when an image it has not
       looked at holds one in progress. */
    rn_admin_op_t reassign_op;
    rn_ctl_reassign_request_t reassign_req;
    rn_ctl_reassign_reply_t reassign_reply;
    bool reassign_busy;
    uint64_t reassign_seen; /* the image's next offset at the last pass */
    int next_voter;         /* an observer's next voter to try (rt_target) */
    rn_qb_t qb;             /* a dynamic quorum's discovery and join */
    bool qb_ready;
    rn_log_limit_t observer_limit; /* Raft messages refused on the broker listener */
};

/* A Raft message that arrived on the broker listener of a broker-only
   node, on its way to the metadata loop. */
typedef struct rt_raft_mail {
    rn_mail_t mail;
    rn_md_rt_t *rt;
    size_t len;
    uint8_t body[];
} rt_raft_mail_t;

/* ---- answering ---- */

static size_t rt_result_stride(rn_admin_kind_t kind) {
    if (kind == RN_ADMIN_REGISTER_BROKER || kind == RN_ADMIN_BROKER_HEARTBEAT ||
        kind == RN_ADMIN_FENCE_BROKER)
        return sizeof(rn_mbr_result_t);
    if (kind == RN_ADMIN_ALLOCATE_PRODUCER_IDS) return sizeof(rn_ctl_pid_block_t);
    if (kind == RN_ADMIN_ALTER_PARTITION) return sizeof(rn_ctl_isr_reply_t); /* count 1 */
    if (kind == RN_ADMIN_ELECT_LEADERS) return sizeof(rn_ctl_elect_reply_t); /* count 1 */
    if (kind == RN_ADMIN_REASSIGN) return sizeof(rn_ctl_reassign_reply_t);   /* count 1 */
    return kind == RN_ADMIN_CREATE_TOPICS || kind == RN_ADMIN_DELETE_TOPICS
               ? sizeof(rn_ctl_topic_result_t)
               : sizeof(rn_ctl_result_t); /* CALL results start with one */
}

static rn_ctl_result_t *rt_result(rn_admin_op_t *op, int32_t n) {
    return (rn_ctl_result_t *)(void *)((char *)op->results +
                                       rt_result_stride(op->kind) * (size_t)n);
}

/* Every item the plan accepted gets code instead (the change did not land). */
static void rt_fail_successes(rn_admin_op_t *op, int16_t code, const char *message) {
    for (int32_t n = 0; n < op->count; n++) {
        rn_ctl_result_t *res = rt_result(op, n);
        if (res->error_code != RN_KERR_NONE) continue;
        res->error_code = code;
        snprintf(res->message, sizeof res->message, "%s", message);
    }
}

/* Before any plan: every item gets code. */
static void rt_fail_all(rn_admin_op_t *op, int16_t code, const char *message) {
    for (int32_t n = 0; n < op->count; n++) {
        rn_ctl_result_t *res = rt_result(op, n);
        memset(res, 0, rt_result_stride(op->kind));
        res->error_code = code;
        snprintf(res->message, sizeof res->message, "%s", message);
    }
}

static void rt_reply_arrived(rn_mail_t *mail) {
    rn_admin_op_t *op = (rn_admin_op_t *)mail;
    op->done(op);
}

static void rt_log_created(const rn_admin_op_t *op) {
    if (op->kind != RN_ADMIN_CREATE_TOPICS || op->validate_only || op->forwarded) return;
    const rn_ctl_new_topic_t *topics = op->items;
    const rn_ctl_topic_result_t *results = op->results;
    for (int32_t i = 0; i < op->count; i++) {
        if (results[i].result.error_code != RN_KERR_NONE) continue;
        char id[RN_UUID_TEXT_CHARS + 1];
        rn_uuid_to_text(&results[i].topic_id, id);
        RN_INFO("topics", "created %.*s with %d partition(s), topic id %s", (int)topics[i].name.len,
                topics[i].name.ptr, results[i].num_partitions, id);
    }
}

static void rt_complete(rn_admin_op_t *op) {
    rt_log_created(op);
    if (!op->reply_loop) {
        op->done(op);
        return;
    }
    op->mail.fn = rt_reply_arrived;
    rn_loop_post(op->reply_loop, &op->mail);
}

/* ---- planning ---- */

/* A broker that is no member of the quorum (a broker-only node) becomes
   a learner: the leader then sends it the log, and it never votes. Tried
   at its registration and again at each heartbeat while another change of
   members is pending (RN_ERR_AGAIN) or a learner was refused. */
static void rt_learner(rn_md_rt_t *rt, int32_t broker_id, const rn_mbr_result_t *res) {
    rn_raft_id_t id = (rn_raft_id_t)broker_id + 1;
    const rn_raft_config_t *cfg = rn_raft_config(rn_quorum_raft(rt->q));
    if (res->result.error_code != RN_KERR_NONE || rn_raft_config_has_voter(cfg, id) ||
        rn_raft_config_has_learner(cfg, id))
        return;
    rn_err_t err = rn_quorum_change(rt->q, RN_RAFT_ADD_LEARNER, id, NULL);
    if (err == RN_OK)
        RN_INFO(MOD, "broker %d receives the metadata log as a learner", broker_id);
    else if (err != RN_ERR_AGAIN)
        RN_LOG_LIMITED(&rt->observer_limit, rt->core.loop.now_ms,
                       "broker %d cannot become a learner: %s (at most %d members in all)",
                       broker_id, rn_err_name(err), RN_RAFT_NODES_MAX);
}

/* Broker membership: one decision per batch, planned on the applied image
   (rt_may_plan), with the leases started afresh in a new term. */
void rn_md_rt_member_refused(rn_md_rt_t *rt, const char *what, int32_t broker_id, int16_t code,
                             const char *message) {
    RN_LOG_LIMITED(&rt->member_limit, rt->core.loop.now_ms, "%s of broker %d refused: %s%s%s", what,
                   broker_id, rn_kerr_name(code), message[0] ? ": " : "", message);
}

static void rt_plan_member(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_image_t *img = rn_quorum_image(rt->q);
    int64_t now_ms = rt->core.loop.now_ms;
    rn_mbr_lead(&rt->mbr, img, rn_raft_term(rn_quorum_raft(rt->q)), now_ms);
    const rn_ctl_result_t *res = op->results;
    if (op->kind == RN_ADMIN_REGISTER_BROKER) {
        int32_t id = ((const rn_mbr_register_t *)op->items)->reg.broker_id;
        rn_mbr_plan_register(&rt->mbr, img, op->items, now_ms, &rt->batch, op->results);
        rt_learner(rt, id, op->results);
        if (res->error_code != RN_KERR_NONE)
            rn_md_rt_member_refused(rt, "the registration", id, res->error_code, res->message);
    } else if (op->kind == RN_ADMIN_BROKER_HEARTBEAT) {
        int32_t id = ((const rn_mbr_heartbeat_t *)op->items)->broker_id;
        rn_mbr_plan_heartbeat(&rt->mbr, img, op->items, now_ms, &rt->batch, op->results);
        rt_learner(rt, id, op->results);
        if (res->error_code != RN_KERR_NONE)
            rn_md_rt_member_refused(rt, "a heartbeat", id, res->error_code, res->message);
    } else {
        rn_mbr_result_t *fence = op->results;
        rn_err_t err = rn_mbr_plan_fence(img, *(const int32_t *)op->items, &rt->batch);
        fence->result.error_code = err == RN_OK ? RN_KERR_NONE : RN_KERR_UNKNOWN_SERVER_ERROR;
    }
}

/* A block of producer ids, unique in the cluster: the log records how far
   blocks have been handed out (ProducerIdsRecord), as Kafka's controller. */
static void rt_plan_producer_ids(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_ctl_pid_request_t *in = op->items;
    rn_ctl_pid_block_t *out = op->results;
    memset(out, 0, sizeof *out);
    rn_err_t err = rn_controller_plan_producer_ids(
        &rt->node->controller, in->broker_id, in->broker_epoch, in->floor, &rt->batch, &out->first);
    out->count = err == RN_OK ? RN_PRODUCER_ID_BLOCK_SIZE : 0;
    if (err != RN_OK) {
        out->result.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
        snprintf(out->result.message, sizeof out->result.message,
                 "No producer id block can be allocated: %s.", rn_err_name(err));
    }
}

/* A partition leader's ISR changes, decided on the applied image. */
static void rt_plan_alter_partition(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_ctl_isr_request_t *req = op->items;
    rn_ctl_isr_reply_t *reply = op->results;
    RN_ASSERT(op->count == 1);
    memset(&reply->result, 0, sizeof reply->result);
    rn_err_t err =
        rn_ctl_plan_alter_partition(rn_quorum_image(rt->q), req, reply->results, &rt->batch);
    if (err == RN_ERR_STALE) {
        reply->result.error_code = RN_KERR_STALE_BROKER_EPOCH;
        rn_md_rt_member_refused(rt, "an ISR change", req->broker_id, RN_KERR_STALE_BROKER_EPOCH,
                                "");
    } else if (err != RN_OK) {
        reply->result.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
        snprintf(reply->result.message, sizeof reply->result.message,
                 "The ISR changes cannot be recorded: %s.", rn_err_name(err));
    }
}

/* Leader elections, decided on the applied image: a client's, or one of
   the active controller's own passes (at most RN_ELECTIONS_PER_PASS_MAX
   changes each). */
static void rt_plan_elect(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_ctl_elect_request_t *req = op->items;
    rn_ctl_elect_reply_t *reply = op->results;
    const rn_image_t *img = rn_quorum_image(rt->q);
    RN_ASSERT(op->count == 1);
    if (!req->automatic) {
        rn_ctl_plan_elect_leaders(img, req, reply, &rt->batch);
        return;
    }
    memset(reply, 0, sizeof *reply);
    rn_err_t err =
        req->election_type == RN_CTL_ELECT_UNCLEAN
            ? rn_ctl_plan_unclean(img, RN_ELECTIONS_PER_PASS_MAX, &rt->batch, &reply->elected,
                                  &reply->more)
            : rn_ctl_plan_rebalance(img, req->imbalance_percentage, RN_ELECTIONS_PER_PASS_MAX,
                                    &rt->batch, &reply->elected, &reply->more);
    if (err != RN_OK) {
        rn_md_batch_reset(&rt->batch);
        reply->elected = 0;
        reply->result.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
        snprintf(reply->result.message, sizeof reply->result.message,
                 "The elections cannot be recorded: %s.", rn_err_name(err));
    }
}

/* Reassignments: a client's, or the pass completing those in sync. */
static void rt_plan_reassign(rn_md_rt_t *rt, rn_admin_op_t *op) {
    const rn_ctl_reassign_request_t *req = op->items;
    rn_ctl_reassign_reply_t *reply = op->results;
    const rn_image_t *img = rn_quorum_image(rt->q);
    RN_ASSERT(op->count == 1);
    memset(&reply->result, 0, sizeof reply->result);
    rn_err_t err = req->automatic
                       ? rn_ctl_plan_reassign_progress(img, RN_ELECTIONS_PER_PASS_MAX, &rt->batch,
                                                       &reply->completed, &reply->more)
                       : rn_ctl_plan_reassign(img, req, reply->results, &rt->batch);
    if (err != RN_OK) {
        rn_md_batch_reset(&rt->batch);
        reply->completed = 0;
        reply->result.error_code = RN_KERR_UNKNOWN_SERVER_ERROR;
        snprintf(reply->result.message, sizeof reply->result.message,
                 "The reassignments cannot be recorded: %s.", rn_err_name(err));
    }
}

static void rt_plan(rn_md_rt_t *rt, rn_admin_op_t *op) {
    rn_controller_t *ctl = &rt->node->controller;
    rn_md_batch_reset(&rt->batch);
    switch (op->kind) {
    case RN_ADMIN_CREATE_TOPICS:
        rn_controller_plan_create_topics(ctl, op->items, op->count, &rt->batch, op->results);
        break;
    case RN_ADMIN_DELETE_TOPICS:
        rn_controller_plan_delete_topics(ctl, op->items, op->count, &rt->batch, op->results);
        break;
    case RN_ADMIN_CREATE_PARTITIONS:
        rn_controller_plan_create_partitions(ctl, op->items, op->count, &rt->batch, op->results);
        break;
    case RN_ADMIN_ALTER_CONFIGS:
        rn_controller_plan_alter_configs(ctl, op->items, op->count, op->incremental, &rt->batch,
                                         op->results);
        break;
    case RN_ADMIN_CALL:
        RN_ASSERT(false); /* never planned: it steps */
        break;
    case RN_ADMIN_REGISTER_BROKER:
    case RN_ADMIN_BROKER_HEARTBEAT:
    case RN_ADMIN_FENCE_BROKER:
        rt_plan_member(rt, op);
        break;
    case RN_ADMIN_ALLOCATE_PRODUCER_IDS:
        rt_plan_producer_ids(rt, op);
        break;
    case RN_ADMIN_ALTER_PARTITION:
        rt_plan_alter_partition(rt, op);
        break;
    case RN_ADMIN_ELECT_LEADERS:
        rt_plan_elect(rt, op);
        break;
    case RN_ADMIN_REASSIGN:
        rt_plan_reassign(rt, op);
        break;
    }
}

/* Plans op and proposes its records; answers it at once when there is
   nothing to commit or the proposal fails. */
static void rt_start_op(rn_md_rt_t *rt, rn_admin_op_t *op) {
    if (op->kind == RN_ADMIN_CALL) {
        RN_ASSERT(op->step != NULL && op->count == 1);
        memset(op->results, 0, sizeof(rn_ctl_result_t));
        if (op->step(rt, op))
            rt_complete(op);
        else
            rt->inflight = op;
        return;
    }
    rt_plan(rt, op);
    if (op->validate_only || rt->batch.count == 0) {
        rt_complete(op);
        return;
    }
    rn_err_t err = rn_controller_check(&rt->node->controller, &rt->batch);
    if (err == RN_OK) err = rn_quorum_propose(rt->q, &rt->batch, &op->index, &op->term);
    if (err == RN_OK) {
        rt->inflight = op;
        return;
    }
    char message[RN_CTL_MESSAGE_BYTES];
    snprintf(message, sizeof message, "The metadata change could not be proposed: %s.",
             rn_err_name(err));
    rt_fail_successes(
        op, err == RN_ERR_STALE ? RN_KERR_NOT_CONTROLLER : RN_KERR_UNKNOWN_SERVER_ERROR, message);
    rt_complete(op);
}

/* Whether plans made now see every committed change: this node leads and
   has applied its whole log (a new leader's own first entry included). */
static bool rt_may_plan(const rn_md_rt_t *rt) {
    const rn_raft_t *r = rn_quorum_raft(rt->q);
    return rn_raft_role(r) == RN_RAFT_LEADER && rn_quorum_caught_up(rt->q) &&
           rn_raft_applied(r) == rn_raft_last_index(r);
}

/* A stepping op in flight: answered once its step says so, or failed. */
static void rt_check_call(rn_md_rt_t *rt, rn_admin_op_t *op) {
    bool leads = rn_raft_role(rn_quorum_raft(rt->q)) == RN_RAFT_LEADER;
    bool done = leads && op->step(rt, op);
    if (!done && leads && rt->core.loop.now_ms < op->deadline_ms) return;
    rt->inflight = NULL;
    if (!leads)
        rt_fail_successes(op, RN_KERR_NOT_CONTROLLER,
                          "The controller lost its leadership before the change committed.");
    else if (!done)
        rt_fail_successes(op, RN_KERR_REQUEST_TIMED_OUT, "The change did not complete in time.");
    rt_complete(op);
}

static void rt_check_inflight(rn_md_rt_t *rt) {
    rn_admin_op_t *op = rt->inflight;
    if (!op) return;
    if (op->kind == RN_ADMIN_CALL) {
        rt_check_call(rt, op);
        return;
    }
    int outcome = rn_quorum_outcome(rt->q, op->index, op->term);
    if (outcome == 0 && rt->core.loop.now_ms < op->deadline_ms) return;
    rt->inflight = NULL;
    if (outcome > 0 && op->kind == RN_ADMIN_ALTER_PARTITION)
        rn_ctl_isr_results_from(rn_quorum_image(rt->q), op->items,
                                ((rn_ctl_isr_reply_t *)op->results)->results);
    if (outcome < 0)
        rt_fail_successes(op, RN_KERR_NOT_CONTROLLER,
                          "The controller lost its leadership before the change committed.");
    else if (outcome == 0)
        rt_fail_successes(op, RN_KERR_REQUEST_TIMED_OUT,
                          "The metadata change did not commit in time.");
    rt_complete(op);
}

/* ---- forwarding to the leader ---- */

static void rt_forward_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rn_admin_op_t *op = ctx;
    if (err == RN_OK) {
        op->forwarded = malloc(len ? len : 1);
        RN_ASSERT(op->forwarded != NULL);
        if (len) memcpy(op->forwarded, body, len);
        op->forwarded_len = len;
    } else {
        rt_fail_all(op, RN_KERR_NOT_CONTROLLER,
                    "The active controller could not be reached; try again.");
    }
    rt_complete(op);
}

/* Sends op's request to the leader as the client sent it; true when sent. */
static bool rt_forward(rn_md_rt_t *rt, rn_admin_op_t *op, rn_raft_id_t leader) {
    if (op->no_forward || op->api_key == 0) return false;
    rn_qt_peer_t *peer = rn_qt_peer(&rt->transport, leader);
    if (!peer) return false;
    int64_t left_ms = op->deadline_ms - rt->core.loop.now_ms;
    rn_client_call_t call = {.api_key = op->api_key,
                             .api_version = op->api_version,
                             .body = op->raw,
                             .timeout_ms = left_ms > 0 ? left_ms : 1,
                             .done = rt_forward_done,
                             .ctx = op};
    return rn_client_send(&peer->client, &call) == RN_OK;
}

/* Whether this node is no voter of the quorum it follows: a broker-only
   node, which receives the log as a learner once it has registered. */
static bool rt_observer(const rn_md_rt_t *rt) {
    const rn_raft_t *r = rn_quorum_raft(rt->q);
    bool member_kind =
        rt->opts.voter_count > 0 || (rt->opts.dynamic && !rt->opts.bootstrap.controller);
    return member_kind && !rn_raft_config_has_voter(rn_raft_config(r), rn_raft_id(r));
}

/* Where an op goes when this node may not plan it: the leader; an
   observer that knows none yet (it is no learner before it registers)
   tries the configured voters in turn: a voter that does not lead answers
   NOT_CONTROLLER and the sender retries, reaching the next. */
static rn_raft_id_t rt_target(rn_md_rt_t *rt) {
    rn_raft_id_t leader = rn_raft_leader(rn_quorum_raft(rt->q));
    if (leader == RN_RAFT_ID_NONE && rt->qb_ready) /* a dynamic quorum: as its servers say */
        leader = rn_qb_leader(&rt->qb, rt->core.loop.now_ms);
    if (leader != RN_RAFT_ID_NONE || !rt_observer(rt) || rt->opts.voter_count == 0) return leader;
    rt->next_voter = (rt->next_voter + 1) % rt->opts.voter_count;
    return rt->opts.voters[rt->next_voter].id;
}

/* Moves the queue along: answers the op in flight once decided, then
   plans the next ones while this node may. */
static void rt_pump(rn_md_rt_t *rt) {
    if (rt->stopping) return;
    rt_check_inflight(rt);
    while (!rt->inflight && rt->head) {
        rn_admin_op_t *op = rt->head;
        bool may = rt_may_plan(rt);
        rn_raft_id_t leading = rt_target(rt);
        /* An election is on, or this node leads but has not applied its
           whole log yet (a new term's first entry, its own records): wait. */
        if (!may && rt->core.loop.now_ms < op->deadline_ms &&
            (leading == RN_RAFT_ID_NONE || leading == rn_raft_id(rn_quorum_raft(rt->q))))
            return;
        rt->head = op->next;
        if (!rt->head) rt->tail = NULL;
        op->next = NULL;
        rn_raft_id_t leader = leading;
        if (may) {
            rt_start_op(rt, op);
        } else if (leader != rn_raft_id(rn_quorum_raft(rt->q)) && rt_forward(rt, op, leader)) {
            continue; /* answered when the leader answers */
        } else {
            rt_fail_all(op, RN_KERR_NOT_CONTROLLER, "This node is not the active controller.");
            rt_complete(op);
        }
    }
}

/* ---- the quorum's hooks and ticks ---- */

static void rt_signal_caught_up(rn_md_rt_t *rt) {
    bool ready = rn_quorum_caught_up(rt->q) && rt->cluster_id_settled;
    if (rt->caught_up || (!ready && rt->fatal == RN_OK)) return;
    pthread_mutex_lock(&rt->lock);
    rt->caught_up = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->lock);
}

/* Settles the cluster id once the log names it: a provisional one is
   replaced (and written to meta.properties), a different definite one
   means this folder belongs to another cluster. */
static void rt_check_cluster_id(rn_md_rt_t *rt) {
    const char *cid = rn_quorum_cluster_id(rt->q);
    if (!cid[0] || rt->cluster_id_settled || rt->fatal != RN_OK) return;
    rn_node_t *node = rt->node;
    if (strcmp(cid, node->cluster_id) != 0) {
        if (!node->cluster_id_provisional) {
            RN_ERROR(MOD,
                     "this data folder belongs to cluster %s but the quorum is cluster %s: point "
                     "log.dirs at this cluster's folder, or empty it to join cluster %s as a new "
                     "node",
                     node->cluster_id, cid, cid);
            rt->fatal = RN_ERR_INVALID;
            return;
        }
        pthread_mutex_lock(&node->admin_lock);
        snprintf(node->cluster_id, sizeof node->cluster_id, "%s", cid);
        pthread_mutex_unlock(&node->admin_lock);
        if (rt->opts.on_cluster_id) rt->opts.on_cluster_id(rt->opts.hook_ctx, cid);
        RN_INFO(MOD, "node %d joined cluster %s", (int)rt->opts.node_id - 1, cid);
    }
    node->cluster_id_provisional = false;
    snprintf(rt->transport_cluster_id, sizeof rt->transport_cluster_id, "%s", cid);
    rt->cluster_id_settled = true;
}

/* A voter sent a Raft message of another cluster. While this node starts,
   an append from that cluster's leader means this folder is the stranger:
   only a leader elected by a majority sends appends, and a majority never
   answers a node of another cluster. It refuses to start rather than wait
   forever. */
static void rt_other_cluster(rn_md_rt_t *rt, const rn_raft_msg_t *msg, const char *cluster_id) {
    const rn_raft_config_t *cfg = rn_raft_config(rn_quorum_raft(rt->q));
    bool leader_msg = msg->type == RN_RAFT_MSG_APPEND || msg->type == RN_RAFT_MSG_SNAPSHOT;
    if (rt->caught_up || rt->fatal != RN_OK || !leader_msg ||
        !rn_raft_config_has_voter(cfg, msg->from))
        return;
    RN_ERROR(MOD,
             "this data folder belongs to cluster %s but the quorum's leader (node %d) is of "
             "cluster %s: point log.dirs at this node's folder of cluster %s, or empty it to join "
             "as a new node",
             rt->node->cluster_id, (int)msg->from - 1, cluster_id, cluster_id);
    rt->fatal = RN_ERR_INVALID;
    rt_signal_caught_up(rt);
}

/* A committed change: publish the image and make the partitions match. */
static void rt_applied(void *ctx) {
    rn_md_rt_t *rt = ctx;
    rn_node_t *node = rt->node;
    pthread_mutex_lock(&node->admin_lock);
    rn_controller_adopt(&node->controller, rn_quorum_image(rt->q));
    rn_topics_reconcile(node);
    pthread_mutex_unlock(&node->admin_lock);
}

/* Publishes who leads, for Metadata and DescribeCluster, and says so in
   the log when it changes. */
static void rt_note_leader(rn_md_rt_t *rt) {
    const rn_raft_t *r = rn_quorum_raft(rt->q);
    rn_raft_id_t leader = rn_raft_leader(r);
    int id = leader == RN_RAFT_ID_NONE ? -1 : (int)leader - 1;
    int was = atomic_exchange(&rt->node->controller_id, id);
    if (was == id) return;
    if (id < 0)
        RN_INFO(MOD, "no active controller (term %llu)", (unsigned long long)rn_raft_term(r));
    else
        RN_INFO(MOD, "active controller: node %d (term %llu)%s", id,
                (unsigned long long)rn_raft_term(r),
                rn_raft_role(r) == RN_RAFT_LEADER ? ", this node" : "");
}

/* After every input: a failed quorum stops the node's metadata for good. */
static void rt_after(rn_md_rt_t *rt, rn_err_t err) {
    if (err != RN_OK) {
        RN_ERROR(MOD,
                 "the metadata log failed (%s): no metadata change is possible until a "
                 "restart",
                 rn_err_name(err));
    }
    rt_note_leader(rt);
    rt_check_cluster_id(rt);
    rt_signal_caught_up(rt);
    rt_pump(rt);
}

static void rt_fence_done(rn_admin_op_t *op) {
    rn_md_rt_t *rt = op->ctx;
    if (op->forwarded) free(op->forwarded); /* never forwarded: no_forward */
    op->forwarded = NULL;
    if (rt->fence_result.result.error_code != RN_KERR_NONE)
        RN_WARN(MOD, "fencing broker %d failed: %s", rt->fence_id, rt->fence_result.result.message);
    rt->fence_busy = false;
}

static void rt_enqueue(rn_md_rt_t *rt, rn_admin_op_t *op);

/* The active controller fences a broker whose lease expired, one at a
   time, when no other change waits (leases are checked every tick). */
static void rt_check_leases(rn_md_rt_t *rt) {
    if (rt->fence_busy || rt->inflight || rt->head || !rt_may_plan(rt)) return;
    const rn_image_t *img = rn_quorum_image(rt->q);
    int64_t now_ms = rt->core.loop.now_ms;
    rn_mbr_lead(&rt->mbr, img, rn_raft_term(rn_quorum_raft(rt->q)), now_ms);
    bool gone = false;
    int32_t id = rn_mbr_expired(&rt->mbr, img, now_ms, &gone);
    if (id < 0) return;
    if (gone)
        RN_INFO(MOD,
                "fencing broker %d: its connections to this controller closed and none came "
                "back within %d ms (its process is gone)",
                id, RN_MBR_GONE_FENCE_MS);
    else
        RN_INFO(MOD, "fencing broker %d: no heartbeat for broker.session.timeout.ms (%lld ms)", id,
                (long long)rt->mbr.session_ms);
    rt->fence_id = id;
    rt->fence_busy = true;
    rt->fence_op = (rn_admin_op_t){.kind = RN_ADMIN_FENCE_BROKER,
                                   .items = &rt->fence_id,
                                   .count = 1,
                                   .results = &rt->fence_result,
                                   .done = rt_fence_done,
                                   .ctx = rt,
                                   .no_forward = true,
                                   .rt = rt};
    rt_enqueue(rt, &rt->fence_op);
}

/* now_ms + every_ms, saturating (the intervals may be as long as Kafka's
   settings allow). */
static int64_t rt_due_ms(int64_t now_ms, int64_t every_ms) {
    return every_ms > INT64_MAX - now_ms ? INT64_MAX : now_ms + every_ms;
}

static void rt_elect_done(rn_admin_op_t *op) {
    rn_md_rt_t *rt = op->ctx;
    const rn_ctl_elect_reply_t *reply = &rt->elect_reply;
    bool unclean = rt->elect_req.election_type == RN_CTL_ELECT_UNCLEAN;
    bool ok = reply->result.error_code == RN_KERR_NONE;
    if (!ok)
        RN_WARN(MOD, "automatic %s leader election failed: %s", unclean ? "unclean" : "preferred",
                reply->result.message);
    else if (reply->elected > 0 && unclean)
        RN_WARN(MOD, "unclean leader election for %d leaderless partition(s)", reply->elected);
    else if (reply->elected > 0)
        RN_INFO(MOD, "leader imbalance: %d partition(s) moved to their preferred replica%s",
                reply->elected, reply->more ? ", more to come" : "");
    /* More due than one pass makes: the next pass at the next tick. */
    int64_t every = unclean ? rt->opts.unclean_check_ms : rt->opts.leader_imbalance_check_ms;
    int64_t next = rt_due_ms(rt->core.loop.now_ms, ok && reply->more ? 0 : every);
    if (unclean)
        rt->unclean_due_ms = next;
    else
        rt->balance_due_ms = next;
    rn_ctl_elect_reply_free(&rt->elect_reply);
    rt->elect_busy = false;
}

/* The active controller's own elections, when no other change waits: the
   preferred-leader election of an imbalanced cluster and unclean
   elections for leaderless partitions, each every its interval (Kafka's
   controller schedules both the same way), first an interval after this
   node became the active controller. */
static void rt_check_elections(rn_md_rt_t *rt) {
    if (rt->elect_busy || rt->fence_busy || rt->inflight || rt->head || !rt_may_plan(rt)) return;
    int64_t now_ms = rt->core.loop.now_ms;
    uint64_t term = rn_raft_term(rn_quorum_raft(rt->q));
    if (term != rt->elect_term) {
        rt->elect_term = term;
        rt->balance_due_ms = rt_due_ms(now_ms, rt->opts.leader_imbalance_check_ms);
        rt->unclean_due_ms = rt_due_ms(now_ms, rt->opts.unclean_check_ms);
        return;
    }
    bool unclean = rt->opts.unclean_check_ms > 0 && now_ms >= rt->unclean_due_ms;
    bool balance = rt->opts.leader_imbalance_check_ms > 0 && now_ms >= rt->balance_due_ms;
    if (!unclean && !balance) return;
    rt->elect_req = (rn_ctl_elect_request_t){
        .election_type = unclean ? RN_CTL_ELECT_UNCLEAN : RN_CTL_ELECT_PREFERRED,
        .automatic = true,
        .imbalance_percentage = rt->opts.leader_imbalance_percentage};
    rt->elect_busy = true;
    rt->elect_op = (rn_admin_op_t){.kind = RN_ADMIN_ELECT_LEADERS,
                                   .items = &rt->elect_req,
                                   .count = 1,
                                   .results = &rt->elect_reply,
                                   .done = rt_elect_done,
                                   .ctx = rt,
                                   .no_forward = true,
                                   .rt = rt};
    rt_enqueue(rt, &rt->elect_op);
}

static void rt_reassign_done(rn_admin_op_t *op) {
    rn_md_rt_t *rt = op->ctx;
    const rn_ctl_reassign_reply_t *reply = &rt->reassign_reply;
    if (reply->result.error_code != RN_KERR_NONE)
        RN_WARN(MOD, "completing reassignments failed: %s", reply->result.message);
    else if (reply->completed > 0)
        RN_INFO(MOD, "%d reassignment(s) completed: every target replica in sync%s",
                reply->completed, reply->more ? ", more to come" : "");
    /* Some left (a full pass, or a failure): look again at the next tick. */
    if (reply->more || reply->result.error_code != RN_KERR_NONE) rt->reassign_seen = 0;
    rt->reassign_busy = false;
}

/* The active controller's pass that completes reassignments once their
   targets are in sync, run for each applied image it has not seen. */
static void rt_check_reassign(rn_md_rt_t *rt) {
    if (rt->reassign_busy || rt->elect_busy || rt->fence_busy || rt->inflight || rt->head ||
        !rt_may_plan(rt))
        return;
    uint64_t seen = rn_image_next_offset(rn_quorum_image(rt->q));
    if (seen == rt->reassign_seen) return;
    rt->reassign_seen = seen;
    rt->reassign_req = (rn_ctl_reassign_request_t){.automatic = true};
    rt->reassign_busy = true;
    rt->reassign_op = (rn_admin_op_t){.kind = RN_ADMIN_REASSIGN,
                                      .items = &rt->reassign_req,
                                      .count = 1,
                                      .results = &rt->reassign_reply,
                                      .done = rt_reassign_done,
                                      .ctx = rt,
                                      .no_forward = true,
                                      .rt = rt};
    rt_enqueue(rt, &rt->reassign_op);
}

static void rt_tick(rn_timer_t *timer) {
    rn_md_rt_t *rt = (rn_md_rt_t *)((char *)timer - offsetof(rn_md_rt_t, tick_timer));
    rn_err_t err = rn_quorum_failed(rt->q);
    if (err == RN_OK && rt->qb_ready) rn_qb_tick(&rt->qb, rt);
    err = rn_quorum_failed(rt->q);
    if (err == RN_OK) {
        err = rn_quorum_tick(rt->q);
        rt_after(rt, err);
        rt_check_leases(rt);
        rt_check_elections(rt);
        rt_check_reassign(rt);
    }
    rn_loop_timer_start(&rt->core.loop, &rt->tick_timer, rt->tick_ms);
}

/* ---- the controller listener ---- */

/* A member with no configured address is a broker-only learner: it is
   reached on its inter-broker listener (a broker listener, which takes
   Raft messages on such a node: rn_md_rt_raft_from_broker). */
static void rt_peer_from_image(rn_md_rt_t *rt, rn_raft_id_t id) {
    if (rn_qt_peer(&rt->transport, id)) return;
    const rn_image_broker_t *b = rn_image_broker(rn_quorum_image(rt->q), (int32_t)id - 1);
    const rn_image_endpoint_t *ep =
        rn_image_broker_endpoint(b, rt->node->settings.inter_broker_listener);
    if (!ep) return; /* Raft retries; it registers first */
    if (rn_qt_peer_set(&rt->transport, id, ep->host, ep->port) != RN_OK)
        RN_LOG_LIMITED(&rt->observer_limit, rt->core.loop.now_ms,
                       "no room to reach broker %d (at most %d members in all)", (int)id - 1,
                       RN_RAFT_NODES_MAX);
}

static void rt_send(void *ctx, const rn_raft_msg_t *msg) {
    rn_md_rt_t *rt = ctx;
    rt_peer_from_image(rt, msg->to);
    rn_qt_send(&rt->transport, msg);
}

/* Bytes of the request header v1 at the start of a frame (key, version,
   correlation id, client id), or 0 when it does not fit. */
static size_t rt_header_bytes(const rn_req_t *req) {
    if (req->frame_len < 10) return 0;
    int16_t id_len = (int16_t)rn_be16_get(req->frame + 8);
    size_t bytes = 10 + (id_len > 0 ? (size_t)id_len : 0);
    return bytes <= req->frame_len ? bytes : 0;
}

static int64_t *rt_ack_slot(rn_md_rt_t *rt, rn_raft_id_t id, bool add) {
    for (int i = 0; i <= RN_RAFT_NODES_MAX; i++)
        if (rt->last_ack_id[i] == id) return &rt->last_ack_ms[i];
    for (int i = 0; add && i <= RN_RAFT_NODES_MAX; i++) {
        if (rt->last_ack_id[i] != RN_RAFT_ID_NONE) continue;
        rt->last_ack_id[i] = id;
        return &rt->last_ack_ms[i];
    }
    return NULL;
}

static void rt_note_ack(rn_md_rt_t *rt, rn_raft_id_t id) {
    int64_t *slot = rt_ack_slot(rt, id, true);
    if (slot) *slot = rn_io_wall_ms(rt->node->io);
}

int64_t rn_md_rt_last_ack_ms(const rn_md_rt_t *rt, rn_raft_id_t id) {
    int64_t *slot = rt_ack_slot((rn_md_rt_t *)(uintptr_t)rt, id, false);
    return slot ? *slot : -1;
}

const rn_md_voter_t *rn_md_rt_voter(const rn_md_rt_t *rt, rn_raft_id_t id) {
    for (int i = 0; i < rt->opts.voter_count; i++)
        if (rt->opts.voters[i].id == id) return &rt->opts.voters[i];
    return NULL;
}

bool rn_md_rt_endpoint(rn_md_rt_t *rt, rn_raft_id_t id, char *host, size_t host_cap,
                       uint16_t *port) {
    const rn_md_voter_t *v = rn_md_rt_voter(rt, id);
    const rn_qt_peer_t *peer = rn_qt_peer(&rt->transport, id);
    const char *at = v ? v->host : peer ? peer->host : NULL;
    uint16_t at_port = v ? v->port : peer ? peer->port : 0;
    if (!at && id == rt->opts.node_id && rt->qb_ready) {
        at = rn_qb_own_endpoint(&rt->qb)->host;
        at_port = rn_qb_own_endpoint(&rt->qb)->port;
    }
    if (!at || !at[0] || at_port == 0) return false;
    snprintf(host, host_cap, "%s", at);
    *port = at_port;
    return true;
}

const char *rn_md_rt_listener_name(const rn_md_rt_t *rt) {
    return rt->opts.listener_name[0] ? rt->opts.listener_name : "CONTROLLER";
}

rn_err_t rn_md_rt_peer_set(rn_md_rt_t *rt, rn_raft_id_t id, const char *host, uint16_t port) {
    return rn_qt_peer_set(&rt->transport, id, host, port);
}

/* Decodes and steps one Raft message body; an error but RN_ERR_STALE
   (another cluster's message) means a malformed one. */
static rn_err_t rt_raft_body(rn_md_rt_t *rt, const uint8_t *body, size_t len, int32_t *from_node) {
    rn_raft_entry_t *entries = rt->msg_entries;
    rn_raft_msg_t msg;
    char from_dir[RN_QUORUM_DIR_BYTES], from_cluster[RN_QUORUM_DIR_BYTES];
    rn_err_t err = rn_qt_decode(&rt->transport, body, len, &msg, entries, from_dir, from_cluster);
    if (err == RN_ERR_STALE) rt_other_cluster(rt, &msg, from_cluster);
    if (err == RN_OK && (msg.to != rn_raft_id(rn_quorum_raft(rt->q)) || msg.from == msg.to))
        err = RN_ERR_INVALID;
    if (err == RN_OK) *from_node = (int32_t)msg.from - 1;
    if (err == RN_OK && rn_quorum_failed(rt->q) == RN_OK) {
        if (msg.type == RN_RAFT_MSG_APPEND_RESP) rt_note_ack(rt, msg.from);
        if (rn_quorum_vote_from_non_voter(rt->q, &msg))
            RN_LOG_LIMITED(&rt->non_voter_limit, rt->core.loop.now_ms,
                           "node %d sent a vote message (type %u, term %llu) but is no voter of "
                           "this quorum: ignored (a removed voter still running, or a node "
                           "whose controller.quorum.voters differs from this one's)",
                           (int)msg.from - 1, (unsigned)msg.type, (unsigned long long)msg.term);
        err = rn_quorum_step(rt->q, &msg, from_dir);
        if (err == RN_ERR_STALE) {
            RN_LOG_LIMITED(&rt->refused_limit, rt->core.loop.now_ms,
                           "node %d speaks from data folder %s, not the one it voted from: "
                           "its votes are refused until it is removed from the quorum and "
                           "added back (runnel cluster quorum remove-voter %d, then add-voter %d)",
                           (int)msg.from - 1, from_dir, (int)msg.from - 1, (int)msg.from - 1);
            err = RN_OK;
        }
        rt_after(rt, err);
    }
    return err == RN_ERR_STALE || err == RN_OK ? err : RN_ERR_CORRUPT;
}

/* A node's connection to this one, as Raft messages prove whose it is and
   as it closes: the active controller fences a broker whose connections
   all closed without waiting out its session (membership.h). */
static void rt_link(rn_md_rt_t *rt, rn_conn_t *conn, int32_t node_id) {
    if (conn->peer_node == node_id || conn->closed) return;
    if (conn->peer_node >= 0) rn_mbr_link_down(&rt->mbr, conn->peer_node, rt->core.loop.now_ms);
    conn->peer_node = node_id;
    rn_mbr_link_up(&rt->mbr, node_id);
}

static void rt_peer_close(void *ctx, int32_t node_id) {
    rn_md_rt_t *rt = ctx;
    rn_mbr_link_down(&rt->mbr, node_id, rt->core.loop.now_ms);
}

static void rt_raft_message(rn_md_rt_t *rt, rn_req_t *req) {
    size_t header = rt_header_bytes(req);
    int32_t from = -1;
    rn_err_t err = header ? rt_raft_body(rt, req->frame + header, req->frame_len - header, &from)
                          : RN_ERR_CORRUPT;
    if (err == RN_OK) rt_link(rt, req->conn, from);
    if (err == RN_ERR_STALE) {
        rn_conn_close_as(req->conn, RN_NET_LOG_MALFORMED,
                         "a Raft message of another cluster: the peer's data folder belongs to "
                         "another cluster than this node's (meta.properties cluster.id)");
    } else if (err != RN_OK) {
        rn_conn_close_as(req->conn, RN_NET_LOG_MALFORMED, "bad raft message");
    }
    req->no_response = 1;
    rn_req_finish(req);
}

static void rt_raft_mail_arrived(rn_mail_t *mail) {
    rt_raft_mail_t *m = (rt_raft_mail_t *)mail;
    rn_md_rt_t *rt = m->rt;
    int32_t from = -1;
    rn_err_t err = rt->stopping ? RN_OK : rt_raft_body(rt, m->body, m->len, &from);
    if (err != RN_OK)
        RN_LOG_LIMITED(&rt->observer_limit, rt->core.loop.now_ms,
                       "a Raft message on the broker listener refused: %s", rn_err_name(err));
    free(m);
}

void rn_md_rt_raft_from_broker(rn_md_rt_t *rt, rn_req_t *req) {
    size_t header = rt_header_bytes(req);
    if (!header) {
        rn_conn_close_as(req->conn, RN_NET_LOG_MALFORMED, "bad raft message");
    } else {
        size_t len = req->frame_len - header;
        rt_raft_mail_t *m = malloc(sizeof *m + len);
        RN_ASSERT(m != NULL);
        m->mail.fn = rt_raft_mail_arrived;
        m->rt = rt;
        m->len = len;
        memcpy(m->body, req->frame + header, len);
        rn_loop_post(&rt->core.loop, &m->mail);
    }
    req->no_response = 1;
    rn_req_finish(req);
}

/* Only Raft and controller requests are served on this listener. */
static void rt_on_request(void *ctx, rn_req_t *req) {
    rn_md_rt_t *rt = ctx;
    if (req->api_key == RN_API_RAFT_MESSAGE) {
        rt_raft_message(rt, req);
    } else if (req->api_key == RN_API_QUORUM_PROBE) {
        rn_qb_serve(rt, req);
    } else if (rt->opts.on_request) {
        rt->opts.on_request(&rt->core, req);
    } else {
        rn_conn_close_as(req->conn, RN_NET_LOG_UNKNOWN_API, "not a controller request");
        req->no_response = 1;
        rn_req_finish(req);
    }
}

static rn_err_t rt_listen(rn_md_rt_t *rt) {
    rn_net_shared_init(&rt->net_shared);
    rt->net_shared.limits =
        (rn_net_limits_t){RN_RAFT_MSG_BYTES_MAX + 1024, RN_CONTROLLER_CONNECTIONS_MAX,
                          RN_CONN_IDLE_MS_DEFAULT, (int64_t)RN_RAFT_MSG_BYTES_MAX * 4, 0};
    rt->nets[0] = &rt->net;
    rt->net_shared.nets = rt->nets;
    rt->net_shared.net_count = 1;
    rt->net_shared.on_request = rt_on_request;
    rt->net_shared.on_peer_close = rt_peer_close;
    rn_err_t err = rn_net_init(&rt->net, &rt->core.loop, &rt->net_shared, rt);
    rt->net_ready = err == RN_OK;
    if (err == RN_OK)
        err =
            rn_net_listen(&rt->net, rt->opts.listen_host, rt->opts.listen_port, 0, &rt->port_bound);
    if (err != RN_OK)
        RN_ERROR(MOD, "cannot listen for controllers on %s:%u: %s", rt->opts.listen_host,
                 (unsigned)rt->opts.listen_port, rn_err_name(err));
    return err;
}

/* The transport to every other voter. */
static rn_err_t rt_peers(rn_md_rt_t *rt) {
    if (!rt->node->cluster_id_provisional)
        snprintf(rt->transport_cluster_id, sizeof rt->transport_cluster_id, "%s",
                 rt->node->cluster_id);
    rn_qt_init(&rt->transport, &rt->core.loop, rt->transport_cluster_id, rt->node->directory_id);
    rn_log_limit_init(&rt->refused_limit, RN_LOG_WARN, MOD, "refused votes", RN_LOG_LIMIT_LINES,
                      RN_LOG_LIMIT_WINDOW_MS);
    rn_log_limit_init(&rt->observer_limit, RN_LOG_WARN, MOD, "broker-only members",
                      RN_LOG_LIMIT_LINES, RN_LOG_LIMIT_WINDOW_MS);
    rn_log_limit_init(&rt->non_voter_limit, RN_LOG_WARN, MOD, "votes from non-voters",
                      RN_LOG_LIMIT_LINES, RN_LOG_LIMIT_WINDOW_MS);
    rn_log_limit_init(&rt->member_limit, RN_LOG_WARN, MOD, "refused registrations and heartbeats",
                      RN_LOG_LIMIT_LINES, RN_LOG_LIMIT_WINDOW_MS);
    for (int i = 0; i < rt->opts.voter_count; i++) {
        const rn_md_voter_t *v = &rt->opts.voters[i];
        if (v->id == rt->opts.node_id) continue;
        rn_err_t err = rn_qt_peer_set(&rt->transport, v->id, v->host, v->port);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}

rn_md_rt_t *rn_md_rt_of_core(rn_core_t *core) {
    RN_ASSERT(core->id == -1); /* the metadata runtime's, not a node core */
    return (rn_md_rt_t *)(void *)((char *)core - offsetof(rn_md_rt_t, core));
}

rn_quorum_t *rn_md_rt_quorum(rn_md_rt_t *rt) { return rt->q; }
rn_node_t *rn_md_rt_node(rn_md_rt_t *rt) { return rt->node; }
rn_loop_t *rn_md_rt_loop(rn_md_rt_t *rt) { return &rt->core.loop; }
uint16_t rn_md_rt_port(const rn_md_rt_t *rt) { return rt->port_bound; }

rn_loop_pulse_t *rn_md_rt_pulse(rn_md_rt_t *rt) { return &rt->core.pulse; }
const char *rn_md_rt_cluster_id(const rn_md_rt_t *rt) { return rt->transport_cluster_id; }
struct rn_qt *rn_md_rt_transport(rn_md_rt_t *rt) {
    return &rt->transport;
}

/* ---- submitting ---- */

static void rt_enqueue(rn_md_rt_t *rt, rn_admin_op_t *op) {
    op->next = NULL;
    op->deadline_ms = rt->core.loop.now_ms + rt->opts.request_timeout_ms;
    if (rt->tail)
        rt->tail->next = op;
    else
        rt->head = op;
    rt->tail = op;
    rt_pump(rt);
}

static void rt_arrived(rn_mail_t *mail) {
    rn_admin_op_t *op = (rn_admin_op_t *)mail;
    rt_enqueue(op->rt, op);
}

void rn_md_rt_submit(rn_md_rt_t *rt, rn_admin_op_t *op) {
    RN_ASSERT(op->done != NULL);
    RN_ASSERT(op->count >= 0);
    op->rt = rt;
    op->mail.fn = rt_arrived;
    rn_loop_post(&rt->core.loop, &op->mail);
}

typedef struct rt_waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} rt_waiter_t;

static void rt_waiter_done(rn_admin_op_t *op) {
    rt_waiter_t *w = op->ctx;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

void rn_md_rt_run(rn_md_rt_t *rt, rn_admin_op_t *op) {
    rt_waiter_t w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    op->reply_loop = NULL;
    op->done = rt_waiter_done;
    op->ctx = &w;
    rn_md_rt_submit(rt, op);
    pthread_mutex_lock(&w.lock);
    while (!w.done) pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
}

/* ---- start and stop ---- */

static bool rt_sole_voter(const rn_md_rt_t *rt) {
    const rn_raft_t *r = rn_quorum_raft(rt->q);
    const rn_raft_config_t *cfg = rn_raft_config(r);
    return cfg->voters_n == 1 && cfg->voters[0] == rn_raft_id(r);
}

static rn_err_t rt_quorum_open(rn_md_rt_t *rt) {
    rn_node_t *node = rt->node;
    rn_quorum_opts_t qo = {
        .io = node->io,
        .metadata_dir = node->settings.metadata_dir,
        .id = rt->opts.node_id,
        .boot = rt->opts.boot,
        .election_ticks = RN_RAFT_ELECTION_TICKS_DEFAULT,
        .heartbeat_ticks = RN_RAFT_HEARTBEAT_TICKS_DEFAULT,
        .seed = rn_io_random(node->io),
        .base = node->settings.topic_base,
        .directory_id = node->directory_id,
        .cluster_id = node->cluster_id,
    };
    rn_quorum_hooks_t hooks = {.ctx = rt, .send = rt_send, .applied = rt_applied};
    return rn_quorum_open(&qo, &hooks, &rt->q);
}

/* Whether this node's folder holds Raft state (a term or a log). */
static bool rt_has_state(const rn_md_rt_t *rt) {
    const rn_raft_t *r = rn_quorum_raft(rt->q);
    return rn_raft_term(r) > 0 || rn_raft_last_index(r) > 0;
}

rn_err_t rn_md_rt_form(rn_md_rt_t *rt) {
    RN_ASSERT(rt->opts.dynamic);
    if (rt_has_state(rt)) return RN_ERR_INVALID; /* never over a log */
    rn_quorum_close(rt->q);
    rt->q = NULL;
    rn_err_t err =
        rn_qb_form_store(rt->node->io, rt->node->settings.metadata_dir, rt->opts.node_id);
    rn_err_t reopened = rt_quorum_open(rt);
    if (reopened != RN_OK) {
        /* The store just opened and written no longer opens: the disk
           fails, and nothing here runs without a quorum; a restart finds
           either an empty store or the new log. */
        RN_ERROR(MOD, "cannot reopen the metadata log: %s", rn_err_name(reopened));
        RN_UNREACHABLE("the metadata log reopens after it was formed");
    }
    if (err == RN_OK) err = rn_quorum_campaign(rt->q);
    rt_after(rt, err);
    return err;
}

/* Whether the broker's configuration knows key (AlterConfigs on a BROKER
   resource refuses to change such a key at run time). */
static bool rt_broker_key_known(const void *ctx, const char *key) {
    const rn_node_t *node = ctx;
    rn_node_config_item_t item;
    for (int pos = 0; node->broker_config_next(node->broker_config_ctx, &pos, &item);)
        if (!strcmp(item.name, key)) return true;
    return false;
}

static rn_err_t rt_open(rn_md_rt_t *rt) {
    rn_node_t *node = rt->node;
    rn_err_t err = rt_quorum_open(rt);
    if (err != RN_OK) return err;
    bool rejoin = rt->opts.bootstrap.rejoin_only && !rt_has_state(rt);
    if (rt->opts.dynamic || rejoin) {
        rt->opts.bootstrap.directory_id = node->directory_id;
        err = rn_qb_init(&rt->qb, &rt->core.loop, &rt->opts.bootstrap, rt_has_state(rt));
        rt->qb_ready = true;
        if (err != RN_OK) return err;
    }
    rn_ctl_settings_t set = {node->settings.node_id,
                             NULL,
                             0,
                             node->settings.num_partitions,
                             node->settings.default_replication_factor,
                             node->settings.delete_topic_enable};
    err = rn_controller_init(&node->controller, node->io, node->settings.topic_base, &set,
                             rn_quorum_image(rt->q));
    if (err != RN_OK) return err;
    /* Every broker registers (cluster/lifecycle.c), so replicas go only to
       registered brokers, never to a fallback list. */
    node->controller.brokers_register = true;
    if (node->broker_config_next) {
        node->controller.broker_key_known = rt_broker_key_known;
        node->controller.broker_key_ctx = node;
    }
    /* A sole voter need not wait out an election timeout. */
    if (rt_sole_voter(rt)) err = rn_quorum_campaign(rt->q);
    return err;
}

static void rt_wait_caught_up(rn_md_rt_t *rt) {
    pthread_mutex_lock(&rt->lock);
    while (!rt->caught_up) pthread_cond_wait(&rt->cond, &rt->lock);
    pthread_mutex_unlock(&rt->lock);
}

rn_err_t rn_md_rt_start(rn_node_t *node, const rn_md_rt_opts_t *opts, rn_md_rt_t **out) {
    RN_ASSERT(opts->election_timeout_ms >= RN_RAFT_ELECTION_TICKS_DEFAULT);
    rn_md_rt_t *rt = calloc(1, sizeof *rt);
    if (!rt) return RN_ERR_NO_MEMORY;
    rt->node = node;
    rt->opts = *opts;
    rt->tick_ms = opts->election_timeout_ms / RN_RAFT_ELECTION_TICKS_DEFAULT;
    rn_md_batch_init(&rt->batch);
    rn_mbr_init(&rt->mbr, (int32_t)opts->node_id - 1,
                opts->broker_session_timeout_ms > 0 ? opts->broker_session_timeout_ms
                                                    : RN_BROKER_SESSION_TIMEOUT_MS_DEFAULT);
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->cond, NULL);
    rn_err_t err = rn_loop_init(&rt->core.loop, node->io, node->core_count);
    rt->core.id = -1; /* not one of the node's cores: it owns no partition */
    rt->core.node = node;
    /* Requests reach the runtime through the node as soon as the controller
       listener opens, before this start returns (they wait in its queue). */
    node->md_rt = rt;
    atomic_store(&node->controller_id, -1);
    rt->loop_ready = err == RN_OK;
    if (err == RN_OK) err = rt_peers(rt);
    if (err == RN_OK && rt->opts.listen_port) err = rt_listen(rt);
    if (err == RN_OK) err = rt_open(rt);
    if (err == RN_OK) {
        /* The local log is replayed and the partitions it names are open:
           what is left of the start waits on peers. */
        atomic_store(&node->phase, RN_NODE_JOINING);
        rn_loop_pulse_init(&rt->core.pulse, &rt->core.loop);
        rt_note_leader(rt);
        rt_check_cluster_id(rt);
        rt_signal_caught_up(rt);
        rn_timer_init(&rt->tick_timer, rt_tick);
        rn_loop_timer_start(&rt->core.loop, &rt->tick_timer, rt->tick_ms);
        err = rn_loop_start_thread(&rt->core.loop);
        rt->thread_started = err == RN_OK;
    }
    if (err != RN_OK) {
        rn_md_rt_stop(rt); /* its thread first: it reads node->md_rt */
        node->md_rt = NULL;
        return err;
    }
    /* A broker-only node receives the log only once it has registered,
       which it does after this start: it catches up while it registers
       (its lifecycle waits to be unfenced, which needs it caught up). */
    if (!rt->caught_up && rt_observer(rt)) {
        RN_INFO(MOD, "node %d: not a voter; the log comes once it registers as a broker",
                (int)opts->node_id - 1);
        *out = rt;
        return RN_OK;
    }
    if (!rt->caught_up)
        RN_INFO(MOD, "node %d: waiting for the metadata quorum", (int)opts->node_id - 1);
    rt_wait_caught_up(rt);
    if (rt->fatal != RN_OK) {
        err = rt->fatal;
        rn_md_rt_stop(rt); /* its thread first: it reads node->md_rt */
        node->md_rt = NULL;
        return err;
    }
    *out = rt;
    return RN_OK;
}

static void rt_fail_queued(rn_md_rt_t *rt) {
    rn_admin_op_t *ops[2] = {rt->inflight, rt->head};
    rt->inflight = NULL;
    rt->head = rt->tail = NULL;
    if (ops[0]) {
        rt_fail_successes(ops[0], RN_KERR_NOT_CONTROLLER, "The node is stopping.");
        rt_complete(ops[0]);
    }
    for (rn_admin_op_t *op = ops[1], *next; op; op = next) {
        next = op->next;
        rt_fail_all(op, RN_KERR_NOT_CONTROLLER, "The node is stopping.");
        rt_complete(op);
    }
}

void rn_md_rt_stop(rn_md_rt_t *rt) {
    if (!rt) return;
    if (rt->thread_started) {
        rn_loop_stop(&rt->core.loop);
        rn_loop_join(&rt->core.loop);
    }
    if (rt->loop_ready) {
        /* Operations that arrived during the stop are queued by the drain,
           then answered with the rest. */
        rt->stopping = true;
        if (rt->net_ready) rn_net_shutdown(&rt->net);
        rn_qt_close(&rt->transport);
        if (rt->qb_ready) rn_qb_close(&rt->qb);
        rn_loop_drain(&rt->core.loop);
        rt_fail_queued(rt);
        /* The answers to the controller listener's own requests were just
           posted to this loop: deliver them, then free the closed
           connections they held open (the flush hook runs no more). */
        rn_loop_drain(&rt->core.loop);
        if (rt->net_ready) rn_net_flush(&rt->net);
        rn_loop_destroy(&rt->core.loop);
    }
    if (rt->qb_ready && !rt->loop_ready) rn_qb_close(&rt->qb);
    rn_quorum_close(rt->q);
    rn_md_batch_free(&rt->batch);
    pthread_mutex_destroy(&rt->lock);
    pthread_cond_destroy(&rt->cond);
    free(rt);
}
