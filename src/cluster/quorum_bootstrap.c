/*
 * quorum_bootstrap.c: a dynamic metadata quorum found through the bootstrap
 * servers (see quorum_bootstrap.h): the decision to form, join or wait, the
 * probe and its answer, and the join through AddRaftVoter; also a static
 * quorum's voter on an empty folder, which only joins (rejoin_only: its
 * former folder's entry replaced with this one).
 */
#include "cluster/quorum_bootstrap.h"

#include "base/assert.h"
#include "base/log.h"
#include "cluster/metadata_rt.h"
#include "cluster/quorum_transport.h"
#include "metadata/metadata_log.h"
#include "net/conn.h"
#include "proto/gen/add_raft_voter_request.h"
#include "proto/gen/add_raft_voter_response.h"
#include "proto/gen/api.h"
#include "proto/gen/remove_raft_voter_request.h"
#include "proto/gen/remove_raft_voter_response.h"
#include "proto/uuid_text.h"
#include "raft/raft_log_store.h"

#include <stdio.h>
#include <string.h>

#define MOD "quorum"

/* ---- the decision ---- */

static bool qb_majority(int answered, int count) { return answered >= count / 2 + 1; }

/* A server that names a leader: the leader itself if it is a bootstrap
   server (it answers AddRaftVoter without forwarding), else the first. */
static int qb_leader_server(const rn_qb_view_t *v) {
    int found = -1;
    for (int i = 0; i < v->server_count; i++) {
        const rn_qb_seen_t *s = &v->servers[i];
        if (!s->answered || s->leader_id < 0) continue;
        if (s->node_id == s->leader_id) return i;
        if (found < 0) found = i;
    }
    return found;
}

rn_qb_decision_t rn_qb_decide(const rn_qb_view_t *v, int *server, rn_qb_why_t *why) {
    RN_ASSERT(v->server_count >= 0 && v->server_count <= RN_CONFIG_QUORUM_BOOTSTRAP_MAX);
    RN_ASSERT(server != NULL && why != NULL);
    *server = -1;
    *why = RN_QB_WHY_NONE;
    if (v->has_state) return RN_QB_FOLLOW;
    *server = qb_leader_server(v);
    if (*server >= 0) return RN_QB_JOIN;
    int answered = 0;
    for (int i = 0; i < v->server_count; i++) {
        const rn_qb_seen_t *s = &v->servers[i];
        if (!s->answered) continue;
        answered++;
        if (s->has_state && s->node_id != v->self_id) {
            *why = RN_QB_WHY_NO_LEADER;
            return RN_QB_WAIT;
        }
    }
    bool first =
        v->server_count > 0 && v->servers[0].answered && v->servers[0].node_id == v->self_id;
    if (!first) {
        *why = RN_QB_WHY_NOT_FIRST;
        return RN_QB_WAIT;
    }
    if (!qb_majority(answered, v->server_count)) {
        *why = RN_QB_WHY_NO_MAJORITY;
        return RN_QB_WAIT;
    }
    if (answered < v->server_count && !v->wait_over) {
        *why = RN_QB_WHY_ANSWERS;
        return RN_QB_WAIT;
    }
    return RN_QB_FORM;
}

const char *rn_qb_why_text(rn_qb_why_t why) {
    switch (why) {
    case RN_QB_WHY_NOT_FIRST:
        return "only the first of controller.quorum.bootstrap.servers starts a new cluster";
    case RN_QB_WHY_NO_MAJORITY:
        return "fewer than a majority of the bootstrap servers answer";
    case RN_QB_WHY_NO_LEADER:
        return "a bootstrap server holds a metadata log but knows no leader yet";
    case RN_QB_WHY_ANSWERS:
        return "waiting a bounded time for every bootstrap server to answer";
    default:
        return "";
    }
}

/* ---- the answer's bytes ---- */

static void qb_write_text(rn_writer_t *w, const char *text) {
    rn_write_string(w, rn_str_from_cstr(text), false);
}

void rn_qb_answer_encode(rn_writer_t *w, const rn_qb_answer_t *ans) {
    RN_ASSERT(ans->member_count >= 0 && ans->member_count <= RN_QB_MEMBERS_MAX);
    rn_write_int8(w, RN_QB_FORMAT);
    rn_write_int32(w, ans->node_id);
    rn_write_int8(w, ans->has_state ? 1 : 0);
    rn_write_int64(w, (int64_t)ans->term);
    rn_write_int32(w, ans->leader_id);
    qb_write_text(w, ans->cluster_id);
    rn_write_int16(w, (int16_t)ans->member_count);
    for (int32_t i = 0; i < ans->member_count; i++) {
        const rn_qb_member_t *m = &ans->members[i];
        rn_write_int32(w, m->node_id);
        rn_write_int8(w, (int8_t)m->role);
        qb_write_text(w, m->dir);
        qb_write_text(w, m->host);
        rn_write_uint16(w, m->port);
    }
}

/* A string into out (cap bytes, NUL included); a null, an over-long one or
   a failed read fails the reader. */
static void qb_read_text(rn_reader_t *r, char *out, size_t cap) {
    rn_str_t s = rn_read_string(r, false);
    out[0] = '\0';
    if (r->err != RN_OK) return;
    if (s.len < 0 || (size_t)s.len >= cap) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    }
    memcpy(out, s.ptr, (size_t)s.len);
    out[s.len] = '\0';
}

rn_err_t rn_qb_answer_decode(const uint8_t *body, size_t len, rn_qb_answer_t *ans) {
    rn_reader_t r;
    rn_reader_init(&r, body, len);
    memset(ans, 0, sizeof *ans);
    if (rn_read_int8(&r) != RN_QB_FORMAT) return RN_ERR_CORRUPT;
    ans->node_id = rn_read_int32(&r);
    ans->has_state = rn_read_int8(&r) != 0;
    ans->term = (uint64_t)rn_read_int64(&r);
    ans->leader_id = rn_read_int32(&r);
    qb_read_text(&r, ans->cluster_id, sizeof ans->cluster_id);
    int16_t count = rn_read_int16(&r);
    if (r.err != RN_OK || count < 0 || count > RN_QB_MEMBERS_MAX) return RN_ERR_CORRUPT;
    for (int16_t i = 0; i < count && r.err == RN_OK; i++) {
        rn_qb_member_t *m = &ans->members[i];
        m->node_id = rn_read_int32(&r);
        m->role = (uint8_t)rn_read_int8(&r);
        qb_read_text(&r, m->dir, sizeof m->dir);
        qb_read_text(&r, m->host, sizeof m->host);
        m->port = rn_read_uint16(&r);
    }
    if (r.err != RN_OK || ans->node_id < 0 || ans->leader_id < -1) return RN_ERR_CORRUPT;
    ans->member_count = count;
    return RN_OK;
}

const rn_qb_member_t *rn_qb_answer_member(const rn_qb_answer_t *ans, int32_t node_id) {
    for (int32_t i = 0; i < ans->member_count; i++)
        if (ans->members[i].node_id == node_id) return &ans->members[i];
    return NULL;
}

/* ---- answering a probe ---- */

static void qb_add_member(rn_qb_answer_t *ans, rn_md_rt_t *rt, rn_raft_id_t id, uint8_t role) {
    if (ans->member_count == RN_QB_MEMBERS_MAX || rn_qb_answer_member(ans, (int32_t)id - 1)) return;
    rn_qb_member_t *m = &ans->members[ans->member_count++];
    memset(m, 0, sizeof *m);
    m->node_id = (int32_t)id - 1;
    m->role = role;
    snprintf(m->dir, sizeof m->dir, "%s", rn_quorum_member_dir(rn_md_rt_quorum(rt), id));
    rn_qt_peer_t *peer = rn_qt_peer(rn_md_rt_transport(rt), id);
    if (peer) {
        snprintf(m->host, sizeof m->host, "%s", peer->host);
        m->port = peer->port;
    }
}

/* What this node knows, as a probe's answer. */
static void qb_answer_fill(rn_md_rt_t *rt, rn_qb_answer_t *ans) {
    const rn_raft_t *r = rn_quorum_raft(rn_md_rt_quorum(rt));
    memset(ans, 0, sizeof *ans);
    ans->node_id = (int32_t)rn_raft_id(r) - 1;
    ans->term = rn_raft_term(r);
    ans->has_state = ans->term > 0 || rn_raft_last_index(r) > 0;
    rn_raft_id_t leader = rn_raft_leader(r);
    ans->leader_id = leader == RN_RAFT_ID_NONE ? -1 : (int32_t)leader - 1;
    snprintf(ans->cluster_id, sizeof ans->cluster_id, "%s",
             rn_quorum_cluster_id(rn_md_rt_quorum(rt)));
    const rn_raft_config_t *cfg = rn_raft_config(r);
    for (uint32_t i = 0; i < cfg->voters_n; i++)
        qb_add_member(ans, rt, cfg->voters[i], RN_QB_ROLE_VOTER);
    for (uint32_t i = 0; i < cfg->learners_n; i++)
        qb_add_member(ans, rt, cfg->learners[i], RN_QB_ROLE_LEARNER);
    rn_qt_t *qt = rn_md_rt_transport(rt);
    for (int i = 0; i < qt->peer_count; i++)
        qb_add_member(ans, rt, qt->peers[i].id, RN_QB_ROLE_PEER);
}

void rn_qb_serve(rn_md_rt_t *rt, rn_req_t *req) {
    RN_ASSERT(req->api_key == RN_API_QUORUM_PROBE);
    RN_ASSERT(req->out.len == 0);
    rn_qb_answer_t ans;
    qb_answer_fill(rt, &ans);
    rn_writer_t w;
    rn_writer_init(&w, &req->out);
    rn_write_int32(&w, 0); /* frame length, patched below */
    rn_write_int32(&w, req->correlation_id);
    rn_qb_answer_encode(&w, &ans);
    if (w.err != RN_OK) {
        rn_conn_close_as(req->conn, RN_NET_LOG_RESPONSE, "cannot answer a quorum probe");
        req->no_response = 1;
    } else {
        rn_be32_put(req->out.ptr, (uint32_t)(req->out.len - 4));
    }
    rn_req_finish(req);
}

/* ---- probing ---- */

static void qb_probe_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    rn_qb_server_t *s = ctx;
    s->inflight = false;
    if (err != RN_OK) return; /* unreachable: its last answer goes stale */
    rn_qb_answer_t ans;
    if (rn_qb_answer_decode(body, len, &ans) != RN_OK) {
        s->answered_ms = -1;
        return;
    }
    s->answer = ans;
    s->answered_ms = s->client.loop->now_ms;
}

static void qb_probe(rn_qb_t *qb, rn_qb_server_t *s, int64_t now_ms) {
    if (!s->client_ready || s->inflight || now_ms < s->next_probe_ms) return;
    uint8_t body[5];
    body[0] = RN_QB_FORMAT;
    rn_be32_put(body + 1, (uint32_t)qb->opts.node_id);
    rn_client_call_t call = {.api_key = RN_API_QUORUM_PROBE,
                             .api_version = 0,
                             .body = {body, sizeof body},
                             .timeout_ms = RN_QB_PROBE_TIMEOUT_MS,
                             .done = qb_probe_done,
                             .ctx = s};
    bool settled = qb->phase == RN_QB_PHASE_SETTLED && s->answered_ms >= 0;
    s->next_probe_ms = now_ms + (settled ? RN_QB_PROBE_SETTLED_MS : RN_QB_PROBE_INTERVAL_MS);
    if (rn_client_send(&s->client, &call) == RN_OK) {
        s->inflight = true;
        s->sent_ms = now_ms;
    }
}

static bool qb_fresh(const rn_qb_server_t *s, int64_t now_ms) {
    return s->answered_ms >= 0 && now_ms - s->answered_ms <= RN_QB_ANSWER_FRESH_MS;
}

/* Where the members are: the node that answered is reached where it was
   asked; the members it lists, where it reaches them (only for members
   this node has no address for: what it asked itself stands). */
static void qb_learn(rn_qb_t *qb, rn_md_rt_t *rt, const rn_qb_server_t *s) {
    rn_raft_id_t self = (rn_raft_id_t)qb->opts.node_id + 1;
    rn_raft_id_t id = (rn_raft_id_t)s->answer.node_id + 1;
    rn_qt_t *qt = rn_md_rt_transport(rt);
    if (id != self) rn_md_rt_peer_set(rt, id, s->host, s->port);
    for (int32_t i = 0; i < s->answer.member_count; i++) {
        const rn_qb_member_t *m = &s->answer.members[i];
        rn_raft_id_t mid = (rn_raft_id_t)m->node_id + 1;
        if (mid == self || m->node_id < 0 || !m->host[0] || m->port == 0 || rn_qt_peer(qt, mid))
            continue;
        rn_md_rt_peer_set(rt, mid, m->host, m->port);
    }
}

rn_raft_id_t rn_qb_leader(const rn_qb_t *qb, int64_t now_ms) {
    if (qb->phase == RN_QB_PHASE_OFF) return RN_RAFT_ID_NONE;
    for (int i = 0; i < qb->opts.server_count; i++) {
        const rn_qb_server_t *s = &qb->servers[i];
        if (qb_fresh(s, now_ms) && s->answer.leader_id >= 0)
            return (rn_raft_id_t)s->answer.leader_id + 1;
    }
    return RN_RAFT_ID_NONE;
}

/* ---- forming ---- */

rn_err_t rn_qb_form_store(rn_io_t *io, const char *metadata_dir, rn_raft_id_t self) {
    RN_ASSERT(self != RN_RAFT_ID_NONE);
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    int n = snprintf(dir, sizeof dir, "%s/%s", metadata_dir, RN_MD_LOG_DIR_NAME);
    if (n < 0 || (size_t)n >= sizeof dir) return RN_ERR_TOO_LARGE;
    rn_raft_store_t *st = NULL;
    rn_err_t err = rn_raft_store_open(io, dir, &st);
    if (err != RN_OK) return err;
    uint64_t term = 0;
    rn_raft_id_t vote = RN_RAFT_ID_NONE;
    rn_raft_store_state(st, &term, &vote);
    if (term != 0 || rn_raft_store_last_index(st) != 0) err = RN_ERR_INVALID;
    rn_raft_config_t cfg = {.voters_n = 1, .voters = {self}};
    uint8_t data[RN_RAFT_CONFIG_BYTES_MAX];
    uint32_t len = rn_raft_config_encode(&cfg, data, sizeof data);
    RN_ASSERT(len > 0 && len <= sizeof data);
    rn_raft_entry_t first = {
        .term = 1, .index = 1, .type = RN_RAFT_ENTRY_CONFIG, .len = len, .data = data};
    /* The entry first, then the term: a crash between leaves an entry of a
       term no state names, which the next start takes as state all the same. */
    if (err == RN_OK) err = rn_raft_store_append(st, &first, 1);
    if (err == RN_OK) err = rn_raft_store_save_state(st, 1, RN_RAFT_ID_NONE);
    rn_raft_store_close(st);
    return err;
}

/* The servers named, for the log lines. */
static void qb_servers_text(const rn_qb_t *qb, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < qb->opts.server_count && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s:%u", i ? "," : "",
                                 qb->opts.servers[i].host, (unsigned)qb->opts.servers[i].port);
}

static void qb_decide(rn_qb_t *qb, rn_md_rt_t *rt, int64_t now_ms) {
    rn_qb_seen_t seen[RN_CONFIG_QUORUM_BOOTSTRAP_MAX];
    for (int i = 0; i < qb->opts.server_count; i++) {
        const rn_qb_server_t *s = &qb->servers[i];
        seen[i] = (rn_qb_seen_t){qb_fresh(s, now_ms), s->answer.node_id,
                                 s->answer.has_state || s->answer.cluster_id[0] != '\0',
                                 s->answer.leader_id};
    }
    /* State may have come meanwhile: a leader that counts this node a member
       (its old self) sends it the log before any server answers. */
    const rn_raft_t *r = rn_quorum_raft(rn_md_rt_quorum(rt));
    bool has_state = rn_raft_term(r) > 0 || rn_raft_last_index(r) > 0;
    rn_qb_view_t view = {qb->opts.node_id, has_state, seen, qb->opts.server_count,
                         now_ms - qb->started_ms >= RN_QB_FORM_WAIT_MS};
    int server = -1;
    rn_qb_why_t why = RN_QB_WHY_NONE;
    rn_qb_decision_t d = rn_qb_decide(&view, &server, &why);
    char list[RN_CONFIG_QUORUM_BOOTSTRAP_MAX * (RN_CONFIG_HOST_BYTES_MAX + 8)];
    if (d == RN_QB_FORM) {
        RN_INFO(MOD,
                "node %d forms a new cluster as its first voter: it is the first of "
                "controller.quorum.bootstrap.servers and every bootstrap server that answers is "
                "empty",
                qb->opts.node_id);
        rn_err_t err = rn_md_rt_form(rt);
        if (err != RN_OK) RN_ERROR(MOD, "cannot start the new metadata log: %s", rn_err_name(err));
        qb->phase = err == RN_OK ? RN_QB_PHASE_SETTLED : qb->phase;
    } else if (d == RN_QB_FOLLOW) {
        RN_INFO(MOD, "node %d received the metadata log before it decided: it follows it",
                qb->opts.node_id);
        qb->phase = qb->opts.auto_join ? RN_QB_PHASE_JOINING : RN_QB_PHASE_SETTLED;
    } else if (d == RN_QB_JOIN) {
        RN_INFO(MOD,
                "node %d found the quorum through %s:%u (leader: node %d); it joins as an "
                "observer",
                qb->opts.node_id, qb->servers[server].host, (unsigned)qb->servers[server].port,
                qb->servers[server].answer.leader_id);
        qb->phase = qb->opts.auto_join ? RN_QB_PHASE_JOINING : RN_QB_PHASE_SETTLED;
    } else {
        qb_servers_text(qb, list, sizeof list);
        RN_LOG_LIMITED(&qb->wait_limit, now_ms, "node %d: waiting for the quorum at %s (%s)",
                       qb->opts.node_id, list, rn_qb_why_text(why));
    }
}

/* ---- joining ---- */

/* The freshest answer of a server naming a leader, probed after the last
   join call ended (an earlier one may predate what that call changed). */
static rn_qb_server_t *qb_leader_answer(rn_qb_t *qb, int64_t now_ms) {
    rn_qb_server_t *best = NULL;
    for (int i = 0; i < qb->opts.server_count; i++) {
        rn_qb_server_t *s = &qb->servers[i];
        if (!qb_fresh(s, now_ms) || s->answer.leader_id < 0 || s->sent_ms <= qb->join_done_ms)
            continue;
        if (s->answer.node_id == s->answer.leader_id) return s;
        if (!best) best = s;
    }
    return best;
}

const rn_qb_endpoint_t *rn_qb_own_endpoint(const rn_qb_t *qb) {
    for (int i = 0; i < qb->opts.server_count; i++)
        if (qb->servers[i].answered_ms >= 0 && qb->servers[i].answer.node_id == qb->opts.node_id)
            return &qb->opts.servers[i];
    return &qb->opts.listener;
}

static void qb_join_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len, bool add) {
    rn_qb_t *qb = ctx;
    qb->join_inflight = false;
    qb->join_done_ms = qb->loop->now_ms;
    qb->join_next_ms = qb->join_done_ms + RN_QB_JOIN_RETRY_MS;
    int16_t code = -1;
    rn_str_t message = rn_str_null();
    rn_reader_t r;
    rn_reader_init(&r, body, body ? len : 0);
    if (err == RN_OK && add) {
        rn_add_raft_voter_response_t resp;
        if (rn_add_raft_voter_response_decode(&r, NULL, 0, &resp) == RN_OK)
            code = resp.error_code, message = resp.error_message;
    } else if (err == RN_OK) {
        rn_remove_raft_voter_response_t resp;
        if (rn_remove_raft_voter_response_decode(&r, NULL, 0, &resp) == RN_OK)
            code = resp.error_code, message = resp.error_message;
    }
    if (code == 0) {
        RN_INFO(MOD, "node %d: %s", qb->opts.node_id,
                add ? "added to the quorum as a voter"
                    : "its voter entry of a former data folder was removed");
        return;
    }
    char why[160];
    if (err != RN_OK)
        snprintf(why, sizeof why, "%s", rn_err_name(err));
    else
        snprintf(why, sizeof why, "error code %d%s%.*s", (int)code, message.len > 0 ? ": " : "",
                 message.len > 0 ? (int)message.len : 0, message.len > 0 ? message.ptr : "");
    RN_LOG_LIMITED(&qb->join_limit, qb->join_done_ms, "node %d: %s failed (%s); retrying",
                   qb->opts.node_id, add ? "AddRaftVoter" : "RemoveRaftVoter", why);
}

static void qb_add_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    qb_join_done(ctx, err, body, len, true);
}

static void qb_remove_done(void *ctx, rn_err_t err, const uint8_t *body, size_t len) {
    qb_join_done(ctx, err, body, len, false);
}

static rn_err_t qb_join_client(rn_qb_t *qb, const rn_qb_server_t *s) {
    if (!qb->join_ready) {
        rn_client_opts_t co;
        rn_client_opts_default(&co);
        co.client_id = "runnel-quorum-join";
        co.request_timeout_ms = RN_QB_JOIN_TIMEOUT_MS;
        rn_err_t err = rn_client_init(&qb->join_client, qb->loop, s->host, s->port, &co);
        if (err != RN_OK) return err;
        qb->join_ready = true;
        return RN_OK;
    }
    rn_client_set_peer(&qb->join_client, s->host, s->port);
    return RN_OK;
}

static void qb_send_add(rn_qb_t *qb, const rn_qb_server_t *s) {
    const rn_qb_endpoint_t *own = rn_qb_own_endpoint(qb);
    rn_add_raft_voter_request_listener_t lis = {rn_str_from_cstr(qb->opts.listener_name),
                                                rn_str_from_cstr(own->host), own->port};
    rn_add_raft_voter_request_t req = {0};
    req.cluster_id =
        s->answer.cluster_id[0] ? rn_str_from_cstr(s->answer.cluster_id) : rn_str_null();
    req.timeout_ms = RN_ADMIN_OP_TIMEOUT_MS;
    req.voter_id = qb->opts.node_id;
    rn_uuid_from_text(qb->opts.directory_id ? qb->opts.directory_id : "", &req.voter_directory_id);
    req.listeners.items = &lis;
    req.listeners.count = 1;
    rn_client_call_t call = {.api_key = RN_API_ADD_RAFT_VOTER,
                             .api_version = 0,
                             .msg = &req,
                             .timeout_ms = RN_QB_JOIN_TIMEOUT_MS,
                             .done = qb_add_done,
                             .ctx = qb};
    if (qb_join_client(qb, s) == RN_OK && rn_client_send(&qb->join_client, &call) == RN_OK) {
        qb->join_inflight = true;
        RN_INFO(MOD, "node %d asks to be added as a voter (AddRaftVoter to %s:%u, listener %s:%u)",
                qb->opts.node_id, s->host, (unsigned)s->port, own->host, (unsigned)own->port);
    }
}

static void qb_send_remove(rn_qb_t *qb, const rn_qb_server_t *s, const rn_qb_member_t *me) {
    rn_remove_raft_voter_request_t req = {0};
    req.cluster_id =
        s->answer.cluster_id[0] ? rn_str_from_cstr(s->answer.cluster_id) : rn_str_null();
    req.voter_id = qb->opts.node_id;
    rn_uuid_from_text(me->dir, &req.voter_directory_id);
    rn_client_call_t call = {.api_key = RN_API_REMOVE_RAFT_VOTER,
                             .api_version = 0,
                             .msg = &req,
                             .timeout_ms = RN_QB_JOIN_TIMEOUT_MS,
                             .done = qb_remove_done,
                             .ctx = qb};
    if (qb_join_client(qb, s) == RN_OK && rn_client_send(&qb->join_client, &call) == RN_OK) {
        qb->join_inflight = true;
        RN_INFO(MOD,
                "node %d: the quorum names it a voter speaking from data folder %s, not this one "
                "(%s); it removes that entry first, then asks to be added",
                qb->opts.node_id, me->dir, qb->opts.directory_id ? qb->opts.directory_id : "");
    }
}

/* One step of the join: done once the leader's answer names this node a
   voter of this folder; else it asks, one call at a time. */
static void qb_join(rn_qb_t *qb, int64_t now_ms) {
    if (qb->join_inflight || now_ms < qb->join_next_ms) return;
    const rn_qb_server_t *s = qb_leader_answer(qb, now_ms);
    if (!s) return;
    const rn_qb_member_t *me = rn_qb_answer_member(&s->answer, qb->opts.node_id);
    const char *own_dir = qb->opts.directory_id ? qb->opts.directory_id : "";
    bool voter = me && me->role == RN_QB_ROLE_VOTER;
    if (voter && (!me->dir[0] || strcmp(me->dir, own_dir) == 0)) {
        RN_INFO(MOD, "node %d is a voter of the metadata quorum (leader: node %d)",
                qb->opts.node_id, s->answer.leader_id);
        qb->phase = RN_QB_PHASE_SETTLED;
        return;
    }
    if (voter)
        qb_send_remove(qb, s, me);
    else
        qb_send_add(qb, s);
}

/* ---- the runtime ---- */

rn_err_t rn_qb_init(rn_qb_t *qb, rn_loop_t *loop, const rn_qb_opts_t *opts, bool has_state) {
    RN_ASSERT(opts->server_count > 0 && opts->server_count <= RN_CONFIG_QUORUM_BOOTSTRAP_MAX);
    memset(qb, 0, sizeof *qb);
    qb->opts = *opts;
    qb->loop = loop;
    qb->had_state = has_state;
    qb->started_ms = -1;
    qb->join_done_ms = -1;
    if (!opts->controller)
        qb->phase = RN_QB_PHASE_SETTLED;
    else if (opts->rejoin_only)
        qb->phase = opts->auto_join ? RN_QB_PHASE_JOINING : RN_QB_PHASE_SETTLED;
    else if (!has_state)
        qb->phase = RN_QB_PHASE_DECIDING;
    else
        qb->phase = opts->auto_join ? RN_QB_PHASE_JOINING : RN_QB_PHASE_SETTLED;
    rn_log_limit_init(&qb->wait_limit, RN_LOG_INFO, MOD, "waiting for the quorum", 1, 5000);
    rn_log_limit_init(&qb->join_limit, RN_LOG_WARN, MOD, "joining the quorum", 1, 5000);
    rn_client_opts_t co;
    rn_client_opts_default(&co);
    co.client_id = "runnel-quorum-probe";
    co.request_timeout_ms = RN_QB_PROBE_TIMEOUT_MS;
    co.connect_timeout_ms = RN_QB_PROBE_TIMEOUT_MS;
    co.backoff_ms_max = RN_QB_PROBE_INTERVAL_MS;
    for (int i = 0; i < opts->server_count; i++) {
        rn_qb_server_t *s = &qb->servers[i];
        snprintf(s->host, sizeof s->host, "%s", opts->servers[i].host);
        s->port = opts->servers[i].port;
        s->answered_ms = -1;
        s->learned_ms = -1;
        s->sent_ms = -1;
        rn_err_t err = rn_client_init(&s->client, loop, s->host, s->port, &co);
        if (err != RN_OK) return err;
        s->client_ready = true;
    }
    return RN_OK;
}

void rn_qb_close(rn_qb_t *qb) {
    for (int i = 0; i < qb->opts.server_count; i++)
        if (qb->servers[i].client_ready) rn_client_close(&qb->servers[i].client);
    if (qb->join_ready) rn_client_close(&qb->join_client);
    qb->phase = RN_QB_PHASE_OFF;
}

void rn_qb_tick(rn_qb_t *qb, rn_md_rt_t *rt) {
    if (qb->phase == RN_QB_PHASE_OFF) return;
    int64_t now_ms = qb->loop->now_ms;
    if (qb->started_ms < 0) qb->started_ms = now_ms;
    for (int i = 0; i < qb->opts.server_count; i++) {
        rn_qb_server_t *s = &qb->servers[i];
        if (s->answered_ms >= 0 && s->answered_ms > s->learned_ms) {
            qb_learn(qb, rt, s);
            s->learned_ms = s->answered_ms;
        }
        qb_probe(qb, s, now_ms);
    }
    if (qb->phase == RN_QB_PHASE_DECIDING) qb_decide(qb, rt, now_ms);
    if (qb->phase == RN_QB_PHASE_JOINING) qb_join(qb, now_ms);
}
