/*
 * lifecycle.c: registration, heartbeats and the fence at stop (see
 * lifecycle.h). Everything but start, stop and free runs on the metadata
 * loop; one request is out at a time.
 */
#include "cluster/lifecycle.h"

#include "base/assert.h"
#include "base/log.h"
#include "cluster/metadata_rt.h"
#include "proto/gen/api.h"
#include "proto/gen/broker_heartbeat_request.h"
#include "proto/gen/broker_heartbeat_response.h"
#include "proto/gen/broker_registration_request.h"
#include "proto/gen/broker_registration_response.h"
#include "proto/uuid_text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MOD "lifecycle"

/* The versions this node sends; the controller side serves 0-4 and 0-1. */
#define LC_REGISTRATION_VERSION 4
#define LC_HEARTBEAT_VERSION 1
/* metadata.version levels this node runs, as Kafka 3.9 advertises them
   (3.0-IV1 to 3.9-IV0). */
#define LC_METADATA_VERSION_MIN 1
#define LC_METADATA_VERSION_MAX 21

/* A registration as the data folder records it (opts.record). */
typedef struct lc_record {
    int64_t epoch; /* -1: none */
    bool pending;  /* one sent, its answer not recorded */
} lc_record_t;

struct rn_lifecycle {
    rn_node_t *node;
    rn_md_rt_t *rt;
    rn_loop_t *loop;
    rn_lifecycle_opts_t opts;
    char rack[RN_BROKER_RACK_BYTES_MAX + 1];
    rn_uuid_t incarnation_id;
    /* The registration as the controller plans it, and as sent. */
    rn_md_endpoint_t endpoints[RN_BROKER_ENDPOINTS_MAX];
    rn_mbr_register_t reg;
    rn_mbr_heartbeat_t hb;
    rn_mbr_result_t result;
    rn_admin_op_t op;
    rn_buf_t raw;  /* the request's body, for forwarding */
    bool busy;     /* op submitted, not answered */
    int64_t epoch; /* -1: not registered */
    bool fenced;
    int64_t backoff_ms;
    int16_t last_error;         /* logged once until it changes */
    lc_record_t recorded;       /* what the data folder records now */
    int64_t duplicate_since_ms; /* first DUPLICATE_BROKER_REGISTRATION (-1: none) */
    rn_timer_t timer;
    rn_mail_t start_mail, stop_mail;
    /* Shared with the threads that start and stop it. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool unfenced_seen; /* registered and unfenced at least once */
    bool refused;       /* another process runs this node id: the start fails */
    bool decided;       /* unfenced_seen or refused: the start may return */
    bool started;       /* the start returned: a refusal comes too late */
    bool stopping;      /* no more requests but the fence */
    bool stopped;       /* the fence is answered (or not wanted) */
    bool gave_up;       /* the stop stopped waiting: nothing more is sent */
    /* Metadata loop: the stop came with a heartbeat in flight; the fence
       goes once it is answered. */
    bool fence_after;
    bool fence_asked; /* the fence was asked for (logged once) */
};

/* ---- state shared with other threads ---- */

static void lc_signal(rn_lifecycle_t *lc, bool unfenced, bool stopped) {
    pthread_mutex_lock(&lc->lock);
    if (unfenced) lc->unfenced_seen = lc->decided = true;
    if (stopped) lc->stopped = true;
    pthread_cond_broadcast(&lc->cond);
    pthread_mutex_unlock(&lc->lock);
}

/* Waits up to wait_ms for *flag; returns it. */
static bool lc_wait(rn_lifecycle_t *lc, const bool *flag, int64_t wait_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lc->lock);
    while (!*flag && pthread_cond_timedwait(&lc->cond, &lc->lock, &until) == 0) {
    }
    bool seen = *flag;
    pthread_mutex_unlock(&lc->lock);
    return seen;
}

bool rn_lifecycle_unfenced(rn_lifecycle_t *lc) {
    pthread_mutex_lock(&lc->lock);
    bool unfenced = lc->unfenced_seen;
    pthread_mutex_unlock(&lc->lock);
    return unfenced;
}

/* The broker epoch, here and for the node's other threads. */
static void lc_set_epoch(rn_lifecycle_t *lc, int64_t epoch) {
    lc->epoch = epoch;
    atomic_store(&lc->node->broker_epoch, epoch);
}

/* Fenced or not as the controller last said, here and for /health/ready. */
static void lc_set_fenced(rn_lifecycle_t *lc, bool fenced) {
    lc->fenced = fenced;
    atomic_store(&lc->node->broker_fenced, fenced);
}

/* ---- requests ---- */

/* The offset of the last metadata record this node applied (-1: none). */
static int64_t lc_applied_offset(const rn_lifecycle_t *lc) {
    const rn_image_t *img = rn_quorum_image(rn_md_rt_quorum(lc->rt));
    return (int64_t)rn_image_next_offset(img) - 1;
}

static rn_err_t lc_encode_registration(rn_lifecycle_t *lc) {
    rn_broker_registration_request_listener_t listeners[RN_BROKER_ENDPOINTS_MAX];
    for (int16_t n = 0; n < lc->reg.reg.endpoint_count; n++) {
        const rn_md_endpoint_t *ep = &lc->endpoints[n];
        listeners[n] = (rn_broker_registration_request_listener_t){ep->name, ep->host, ep->port,
                                                                   ep->security_protocol};
    }
    rn_broker_registration_request_feature_t feature = {
        rn_str_from_cstr("metadata.version"), LC_METADATA_VERSION_MIN, LC_METADATA_VERSION_MAX};
    rn_broker_registration_request_t req;
    rn_broker_registration_request_init(&req);
    req.broker_id = lc->reg.reg.broker_id;
    /* A new folder's id is provisional until the log names the cluster's,
       and a broker-only node receives the log only once registered: it
       registers with none and takes the log's (cluster/metadata_rt.c sets
       both, on this loop). */
    const rn_node_t *node = lc->node;
    req.cluster_id = rn_str_from_cstr(node->cluster_id_provisional ? "" : node->cluster_id);
    req.incarnation_id = lc->incarnation_id;
    req.listeners =
        (rn_broker_registration_request_listener_array_t){listeners, lc->reg.reg.endpoint_count};
    req.features = (rn_broker_registration_request_feature_array_t){&feature, 1};
    req.rack = lc->reg.reg.rack;
    req.previous_broker_epoch = lc->reg.previous_epoch;
    req.log_dirs = (rn_uuid_array_t){&lc->reg.reg.directory_id, 1};
    rn_writer_t w;
    rn_writer_init(&w, &lc->raw);
    rn_broker_registration_request_encode(&w, LC_REGISTRATION_VERSION, &req);
    return w.err;
}

static rn_err_t lc_encode_heartbeat(rn_lifecycle_t *lc) {
    rn_broker_heartbeat_request_t req;
    rn_broker_heartbeat_request_init(&req);
    req.broker_id = lc->hb.broker_id;
    req.broker_epoch = lc->hb.broker_epoch;
    req.current_metadata_offset = lc->hb.metadata_offset;
    req.want_fence = lc->hb.want_fence;
    rn_writer_t w;
    rn_writer_init(&w, &lc->raw);
    rn_broker_heartbeat_request_encode(&w, LC_HEARTBEAT_VERSION, &req);
    return w.err;
}

static void lc_done(rn_admin_op_t *op);
static void lc_fence_now(rn_lifecycle_t *lc);

/* Has the data folder record its registration (epoch, and whether one is
   under way), so the next start names the registration this folder made. */
static void lc_record(rn_lifecycle_t *lc, int64_t epoch, bool pending) {
    if (!lc->opts.record || (lc->recorded.epoch == epoch && lc->recorded.pending == pending))
        return;
    lc->opts.record(lc->opts.record_ctx, epoch, pending);
    lc->recorded = (lc_record_t){epoch, pending};
}

/* Sends a registration (not registered) or a heartbeat. */
static void lc_send(rn_lifecycle_t *lc, bool want_fence) {
    RN_ASSERT(!lc->busy);
    lc->raw.len = 0;
    memset(&lc->result, 0, sizeof lc->result);
    bool registering = lc->epoch < 0;
    lc->hb = (rn_mbr_heartbeat_t){lc->opts.broker_id, lc->epoch, lc_applied_offset(lc), want_fence};
    if (registering) lc_record(lc, lc->reg.previous_epoch, true);
    rn_err_t err = registering ? lc_encode_registration(lc) : lc_encode_heartbeat(lc);
    RN_ASSERT(err == RN_OK); /* bounded: a few listeners, checked at start */
    lc->op = (rn_admin_op_t){
        .kind = registering ? RN_ADMIN_REGISTER_BROKER : RN_ADMIN_BROKER_HEARTBEAT,
        .items = registering ? (const void *)&lc->reg : (const void *)&lc->hb,
        .count = 1,
        .results = &lc->result,
        .done = lc_done,
        .ctx = lc,
        .api_key = registering ? RN_API_BROKER_REGISTRATION : RN_API_BROKER_HEARTBEAT,
        .api_version = registering ? LC_REGISTRATION_VERSION : LC_HEARTBEAT_VERSION,
        .raw = rn_slice(lc->raw.ptr, lc->raw.len)};
    lc->busy = true;
    rn_md_rt_submit(lc->rt, &lc->op);
}

/* The leader's answer to a forwarded request, into lc->result. */
static void lc_take_forwarded(rn_lifecycle_t *lc, rn_admin_op_t *op) {
    rn_reader_t r;
    rn_reader_init(&r, op->forwarded, op->forwarded_len);
    rn_mbr_result_t *res = &lc->result;
    memset(res, 0, sizeof *res);
    if (op->kind == RN_ADMIN_REGISTER_BROKER) {
        rn_broker_registration_response_t resp;
        rn_broker_registration_response_init(&resp);
        rn_err_t err = rn_broker_registration_response_decode(&r, NULL, op->api_version, &resp);
        res->result.error_code = err == RN_OK ? resp.error_code : RN_KERR_UNKNOWN_SERVER_ERROR;
        res->broker_epoch = resp.broker_epoch;
    } else {
        rn_broker_heartbeat_response_t resp;
        rn_broker_heartbeat_response_init(&resp);
        rn_err_t err = rn_broker_heartbeat_response_decode(&r, NULL, op->api_version, &resp);
        res->result.error_code = err == RN_OK ? resp.error_code : RN_KERR_UNKNOWN_SERVER_ERROR;
        res->fenced = resp.is_fenced;
        res->caught_up = resp.is_caught_up;
    }
    free(op->forwarded);
    op->forwarded = NULL;
}

static void lc_schedule(rn_lifecycle_t *lc, int64_t delay_ms) {
    rn_loop_timer_start(lc->loop, &lc->timer, delay_ms);
}

/* Another process runs this node id: the start fails, saying what to do;
   the folder's record is as before this start (this run registered
   nothing). */
static void lc_refuse(rn_lifecycle_t *lc) {
    int32_t id = lc->opts.broker_id;
    RN_ERROR(MOD,
             "another process is running node.id=%d: the active controller holds a live "
             "registration of node %d that this data folder did not make "
             "(DUPLICATE_BROKER_REGISTRATION). Stop that process, or give this node another "
             "node.id. (If this node's own data folder was just replaced after a crash, start it "
             "again once broker.session.timeout.ms, %lld ms, has passed since the crash.)",
             id, id, (long long)lc->opts.session_timeout_ms);
    lc_record(lc, lc->reg.previous_epoch, false);
    pthread_mutex_lock(&lc->lock);
    lc->refused = lc->decided = true;
    pthread_cond_broadcast(&lc->cond);
    pthread_mutex_unlock(&lc->lock);
}

/* Whether this node is a voter of the quorum: the log reached it on the
   controller listener the quorum addresses as this node id's, which no
   other live process can hold. */
static bool lc_voter(const rn_lifecycle_t *lc) {
    const rn_raft_t *r = rn_quorum_raft(rn_md_rt_quorum(lc->rt));
    return rn_raft_config_has_voter(rn_raft_config(r), rn_raft_id(r));
}

/* DUPLICATE_BROKER_REGISTRATION while starting: another incarnation holds
   this id with a live lease, and the controller found it is not this
   folder's (this folder's is known by its epoch): another process runs the
   id, and the start fails at once. The live one may still be this node's
   own previous process when the last run ended with a registration under
   way, or when this node is a voter (it caught up on the controller
   address of this id, so the holder is not there: its folder was replaced
   after a crash): then its lease must run out first. True when refused. */
static bool lc_duplicate(rn_lifecycle_t *lc) {
    pthread_mutex_lock(&lc->lock);
    bool started = lc->started;
    pthread_mutex_unlock(&lc->lock);
    if (started) return false; /* running: it retries, as before */
    int64_t now_ms = lc->loop->now_ms;
    if (lc->duplicate_since_ms < 0) lc->duplicate_since_ms = now_ms;
    int64_t wait_ms = lc->opts.session_timeout_ms + RN_LIFECYCLE_DUPLICATE_MARGIN_MS;
    bool unsure = lc->opts.previous_pending || lc_voter(lc);
    if (!unsure || now_ms - lc->duplicate_since_ms >= wait_ms) {
        lc_refuse(lc);
        return true;
    }
    if (lc->last_error != RN_KERR_DUPLICATE_BROKER_REGISTRATION)
        RN_WARN(MOD,
                "broker %d: another incarnation holds node.id=%d with a live lease; it may be "
                "this node's previous process (%s): waiting up to %lld ms for its lease to run "
                "out",
                lc->opts.broker_id, lc->opts.broker_id,
                lc->opts.previous_pending ? "this folder's last run ended while registering"
                                          : "this voter's data folder replaced after a crash",
                (long long)wait_ms);
    lc->last_error = RN_KERR_DUPLICATE_BROKER_REGISTRATION;
    return false;
}

/* An error: logged when it is a new one, retried after a backoff. */
static void lc_retry(rn_lifecycle_t *lc, bool registering, int16_t code, const char *message) {
    if (registering && code == RN_KERR_DUPLICATE_BROKER_REGISTRATION && lc_duplicate(lc)) return;
    if (code != lc->last_error)
        RN_WARN(MOD, "broker %d: %s refused: %s%s%s; retrying", lc->opts.broker_id,
                registering ? "registration" : "heartbeat", rn_kerr_name(code),
                message[0] ? ": " : "", message);
    lc->last_error = code;
    if (code == RN_KERR_STALE_BROKER_EPOCH) {
        lc_set_epoch(lc, -1); /* the controller does not know this registration */
        lc_set_fenced(lc, true);
        lc_schedule(lc, 0);
        return;
    }
    lc_schedule(lc, lc->backoff_ms);
    lc->backoff_ms = lc->backoff_ms * 2 < RN_CLIENT_BACKOFF_MS_MAX_DEFAULT
                         ? lc->backoff_ms * 2
                         : RN_CLIENT_BACKOFF_MS_MAX_DEFAULT;
}

static void lc_registered(rn_lifecycle_t *lc) {
    lc_set_epoch(lc, lc->result.broker_epoch);
    lc_record(lc, lc->epoch, false);
    lc->reg.previous_epoch = lc->epoch;
    lc->duplicate_since_ms = -1;
    lc_set_fenced(lc, true);
    RN_INFO(MOD, "broker %d registered with broker epoch %lld", lc->opts.broker_id,
            (long long)lc->epoch);
    lc_schedule(lc, 0);
}

static void lc_heartbeat_answered(rn_lifecycle_t *lc) {
    bool was = lc->fenced;
    lc_set_fenced(lc, lc->result.fenced);
    if (was && !lc->fenced) {
        RN_INFO(MOD, "broker %d unfenced: serving clients", lc->opts.broker_id);
        lc_signal(lc, true, false);
    } else if (!was && lc->fenced) {
        RN_WARN(MOD, "broker %d was fenced by the controller", lc->opts.broker_id);
    }
    int64_t every = lc->opts.heartbeat_interval_ms;
    if (lc->fenced && every > RN_LIFECYCLE_FENCED_HEARTBEAT_MS)
        every = RN_LIFECYCLE_FENCED_HEARTBEAT_MS;
    lc_schedule(lc, every);
}

/* Whether the stop has stopped waiting for the fence: the runtime may be
   stopping under it, so nothing more is sent. */
static bool lc_gave_up(rn_lifecycle_t *lc) {
    pthread_mutex_lock(&lc->lock);
    bool gave_up = lc->gave_up;
    pthread_mutex_unlock(&lc->lock);
    return gave_up;
}

/* An answer while stopping: the heartbeat that was out at the stop (the
   fence goes now), a fence refused because the controller moved or is
   being elected (asked again after a backoff, while the stop waits), or
   the end of the stop. */
static void lc_stop_answered(rn_lifecycle_t *lc, bool was_fence, int16_t kerr) {
    bool retry = was_fence && (kerr == RN_KERR_NOT_CONTROLLER || kerr == RN_KERR_REQUEST_TIMED_OUT);
    bool after = lc->fence_after;
    lc->fence_after = false;
    if ((after || retry) && !lc_gave_up(lc)) {
        if (after)
            lc_fence_now(lc);
        else
            lc_schedule(lc, RN_LIFECYCLE_FENCE_RETRY_MS);
        return;
    }
    lc_signal(lc, false, true);
}

/* On the metadata thread (or, for an op failed by the runtime's stop, on
   the stopping thread, when nothing more may be scheduled). */
static void lc_done(rn_admin_op_t *op) {
    rn_lifecycle_t *lc = op->ctx;
    lc->busy = false;
    if (op->forwarded) lc_take_forwarded(lc, op);
    bool registering = op->kind == RN_ADMIN_REGISTER_BROKER;
    const rn_ctl_result_t *res = &lc->result.result;
    if (lc->stopping) {
        lc_stop_answered(lc, !registering && lc->hb.want_fence, res->error_code);
        return;
    }
    if (res->error_code != RN_KERR_NONE) {
        lc_retry(lc, registering, res->error_code, res->message);
        return;
    }
    lc->last_error = RN_KERR_NONE;
    lc->backoff_ms = RN_CLIENT_BACKOFF_MS_MIN_DEFAULT;
    atomic_store(&lc->node->controller_answer_ms, rn_io_now_ms(lc->node->io));
    if (registering)
        lc_registered(lc);
    else
        lc_heartbeat_answered(lc);
}

static void lc_tick(rn_timer_t *timer) {
    rn_lifecycle_t *lc = (rn_lifecycle_t *)((char *)timer - offsetof(rn_lifecycle_t, timer));
    if (lc->busy) return;
    if (!lc->stopping)
        lc_send(lc, false);
    else if (!lc_gave_up(lc))
        lc_fence_now(lc); /* a fence retried */
}

static void lc_start_arrived(rn_mail_t *mail) {
    rn_lifecycle_t *lc = (rn_lifecycle_t *)((char *)mail - offsetof(rn_lifecycle_t, start_mail));
    lc_schedule(lc, 0);
}

static void lc_fence_now(rn_lifecycle_t *lc) {
    if (!lc->fence_asked)
        RN_INFO(MOD, "broker %d: asking the controller to fence it before it stops",
                lc->opts.broker_id);
    lc->fence_asked = true;
    lc_send(lc, true);
}

/* On the metadata loop: no more heartbeats; the fence when asked for (after
   the heartbeat in flight, if one is: its answer comes first). */
static void lc_stop_arrived(rn_mail_t *mail) {
    rn_lifecycle_t *lc = (rn_lifecycle_t *)((char *)mail - offsetof(rn_lifecycle_t, stop_mail));
    rn_loop_timer_stop(lc->loop, &lc->timer);
    bool fence = lc->opts.fence_on_stop && lc->epoch >= 0 && !lc->fenced;
    lc->stopping = true;
    if (lc->busy) {
        lc->fence_after = fence;
        return;
    }
    if (!fence) {
        lc_signal(lc, false, true);
        return;
    }
    lc_fence_now(lc);
}

/* ---- start and stop ---- */

static void lc_copy_opts(rn_lifecycle_t *lc, const rn_lifecycle_opts_t *opts) {
    lc->opts = *opts;
    snprintf(lc->rack, sizeof lc->rack, "%s", opts->rack ? opts->rack : "");
    lc->opts.rack = opts->rack ? lc->rack : NULL;
    for (int16_t n = 0; n < opts->listener_count; n++) {
        const rn_lifecycle_listener_t *lis = &lc->opts.listeners[n];
        lc->endpoints[n] =
            (rn_md_endpoint_t){rn_str_from_cstr(lis->name), rn_str_from_cstr(lis->host), lis->port,
                               lis->security_protocol};
    }
    lc->reg.reg = (rn_ctl_broker_reg_t){opts->broker_id,
                                        lc->incarnation_id,
                                        lc->endpoints,
                                        opts->listener_count,
                                        opts->rack ? rn_str_from_cstr(lc->rack) : rn_str_null(),
                                        {{0}}};
    /* The folder it serves from: a new one tells the controller its
       replicas hold nothing of the old one's (controller.h). */
    if (!rn_uuid_from_text(lc->node->directory_id, &lc->reg.reg.directory_id))
        memset(&lc->reg.reg.directory_id, 0, sizeof lc->reg.reg.directory_id);
    lc->reg.previous_epoch = opts->previous_epoch >= 0 ? opts->previous_epoch : -1;
    lc->recorded = (lc_record_t){lc->reg.previous_epoch, opts->previous_pending};
    lc->duplicate_since_ms = -1;
    if (lc->opts.session_timeout_ms <= 0)
        lc->opts.session_timeout_ms = RN_BROKER_SESSION_TIMEOUT_MS_DEFAULT;
}

rn_err_t rn_lifecycle_start(rn_node_t *node, const rn_lifecycle_opts_t *opts,
                            rn_lifecycle_t **out) {
    RN_ASSERT(node->md_rt != NULL);
    RN_ASSERT(opts->listener_count >= 1 && opts->listener_count <= RN_BROKER_ENDPOINTS_MAX);
    RN_ASSERT(opts->heartbeat_interval_ms > 0);
    rn_lifecycle_t *lc = calloc(1, sizeof *lc);
    if (!lc) return RN_ERR_NO_MEMORY;
    lc->node = node;
    lc->rt = node->md_rt;
    lc->loop = rn_md_rt_loop(node->md_rt);
    uint64_t hi = rn_io_random(node->io), lo = rn_io_random(node->io);
    for (int i = 0; i < 8; i++) {
        lc->incarnation_id.bytes[i] = (uint8_t)(hi >> (8 * i));
        lc->incarnation_id.bytes[8 + i] = (uint8_t)(lo >> (8 * i));
    }
    lc_copy_opts(lc, opts);
    rn_buf_init(&lc->raw, RN_CLIENT_REQUEST_BYTES_MAX);
    lc_set_epoch(lc, -1);
    lc_set_fenced(lc, true);
    lc->backoff_ms = RN_CLIENT_BACKOFF_MS_MIN_DEFAULT;
    pthread_mutex_init(&lc->lock, NULL);
    pthread_cond_init(&lc->cond, NULL);
    rn_timer_init(&lc->timer, lc_tick);
    lc->start_mail.fn = lc_start_arrived;
    rn_loop_post(lc->loop, &lc->start_mail);
    *out = lc;
    bool decided = !opts->wait_unfenced || lc_wait(lc, &lc->decided, RN_LIFECYCLE_START_WAIT_MS);
    pthread_mutex_lock(&lc->lock);
    lc->started = true;
    bool refused = lc->refused;
    pthread_mutex_unlock(&lc->lock);
    if (refused) return RN_ERR_EXISTS;
    if (!decided) RN_WARN(MOD, "broker %d is not unfenced yet; carrying on", opts->broker_id);
    return RN_OK;
}

void rn_lifecycle_stop(rn_lifecycle_t *lc) {
    if (!lc) return;
    lc->stop_mail.fn = lc_stop_arrived;
    rn_loop_post(lc->loop, &lc->stop_mail);
    bool answered = lc_wait(lc, &lc->stopped, RN_LIFECYCLE_STOP_WAIT_MS);
    pthread_mutex_lock(&lc->lock);
    lc->gave_up = true;
    pthread_mutex_unlock(&lc->lock);
    if (!answered)
        RN_WARN(MOD, "broker %d: the controller did not answer before the stop",
                lc->opts.broker_id);
}

void rn_lifecycle_free(rn_lifecycle_t *lc) {
    if (!lc) return;
    RN_ASSERT(!lc->busy); /* the runtime answers every op before it stops */
    rn_buf_free(&lc->raw);
    pthread_mutex_destroy(&lc->lock);
    pthread_cond_destroy(&lc->cond);
    free(lc);
}
