/*
 * simctl_node.c: one voter: its metadata quorum on the simulated disk, the
 * controller that adopts every applied image, and, while the node leads and
 * has applied its whole log, the active controller: heartbeat leases and
 * one decision at a time (a registration, a fence, an unfence, a client's
 * topic change) planned with the real controller code, checked and
 * proposed, its requester answered once it commits.
 *
 * Owns the node's quorum and controller between a start and a crash. A
 * persistence error stops the node (fail-stop); it restarts from disk.
 */
#include "simctl.h"

#include "base/assert.h"
#include "base/endian.h"

#include <stdlib.h>
#include <string.h>

#define SC_MD_DIR "md"

static void node_send_raft(void *ctx, const rn_raft_msg_t *msg) {
    sc_node_t *n = ctx;
    sc_t *s = n->sim;
    size_t need = 5 + rn_raft_msg_size(msg);
    if (need > s->buf_cap) {
        s->buf = realloc(s->buf, need);
        RN_ASSERT(s->buf != NULL);
        s->buf_cap = need;
    }
    s->buf[0] = SC_MSG_RAFT;
    rn_be32_put(s->buf + 1, n->dir_gen);
    size_t len = rn_raft_msg_encode(msg, s->buf + 5, s->buf_cap - 5);
    RN_ASSERT(len > 0 && len + 5 <= need); /* the size is a bound (a snapshot's config) */
    rn_sim_send(n->io, msg->to, s->buf, len + 5);
}

static void node_applied(void *ctx) {
    sc_node_t *n = ctx;
    if (n->ctl_open) rn_controller_adopt(&n->ctl, rn_quorum_image(n->q));
}

int sc_node_may_plan(const sc_node_t *n) {
    if (!n->up || !n->q || rn_quorum_failed(n->q) != RN_OK) return 0;
    const rn_raft_t *r = rn_quorum_raft(n->q);
    return rn_raft_role(r) == RN_RAFT_LEADER && rn_quorum_caught_up(n->q) &&
           rn_raft_applied(r) == rn_raft_last_index(r);
}

/* A node's data-folder id: one per incarnation of its folder (a wipe
   empties the disk and the node comes back with a new one). */
const char *sc_node_dir(uint32_t id, uint32_t gen, char *out, size_t cap) {
    snprintf(out, cap, "sim-dir-%u-%u", id, gen);
    return out;
}

static void node_close(sc_node_t *n) {
    if (n->ctl_open) rn_controller_close(&n->ctl);
    n->ctl_open = 0;
    rn_quorum_close(n->q);
    n->q = NULL;
    n->active = 0;
    n->op = SC_OP_NONE;
    memset(n->regs, 0, sizeof(n->regs));
    memset(&n->client_req, 0, sizeof(n->client_req));
    n->unfence_want = 0;
    n->role_seen = RN_RAFT_FOLLOWER;
}

void sc_node_stop(sc_t *s, sc_node_t *n) {
    (void)s;
    node_close(n);
    sc_check_forget(n);
}

void sc_node_start(sc_t *s, sc_node_t *n) {
    char dir[RN_QUORUM_DIR_BYTES];
    rn_quorum_opts_t qo = {
        .io = n->io,
        .metadata_dir = SC_MD_DIR,
        .id = n->id,
        .election_ticks = 10,
        .heartbeat_ticks = 2,
        .snapshot_entries = s->snapshot_entries,
        .seed = rn_sim_random(s->world),
        .base = &s->base,
        .directory_id = sc_node_dir(n->id, n->dir_gen, dir, sizeof dir),
    };
    for (uint32_t v = 1; v <= s->voters_n; v++) qo.boot.voters[qo.boot.voters_n++] = v;
    rn_quorum_hooks_t hooks = {.ctx = n, .send = node_send_raft, .applied = node_applied};
    rn_err_t err = rn_quorum_open(&qo, &hooks, &n->q);
    if (err != RN_OK) {
        sc_trace(s, "node %u: quorum open failed: %s", n->id, rn_err_name(err));
        if (err != RN_ERR_IO) sc_fail(s, "node %u: quorum open: %s", n->id, rn_err_name(err));
        n->q = NULL;
        return;
    }
    rn_ctl_settings_t set = {.node_id = (int32_t)n->id - 1,
                             .num_partitions = 1,
                             .default_replication_factor = 1,
                             .delete_topic_enable = true};
    err = rn_controller_init(&n->ctl, n->io, &s->base, &set, rn_quorum_image(n->q));
    if (err != RN_OK) {
        sc_fail(s, "node %u: controller init: %s", n->id, rn_err_name(err));
        rn_quorum_close(n->q);
        n->q = NULL;
        return;
    }
    n->ctl.brokers_register = true;
    n->ctl_open = 1;
    sc_trace(s, "node %u: quorum open, applied %llu, %d broker(s), %d topic(s)", n->id,
             (unsigned long long)rn_raft_applied(rn_quorum_raft(n->q)),
             rn_image_broker_count(rn_quorum_image(n->q)),
             rn_image_topic_count(rn_quorum_image(n->q)));
    sc_check_node(s, n);
}

/* ---- answers ---- */

static void reply(sc_t *s, sc_node_t *n, const sc_request_t *req, int16_t code, int64_t epoch) {
    sc_msg_t m = req->msg;
    m.kind = req->msg.kind == SC_MSG_REGISTER    ? SC_MSG_REGISTER_RESP
             : req->msg.kind == SC_MSG_HEARTBEAT ? SC_MSG_HEARTBEAT_RESP
                                                 : SC_MSG_OP_RESP;
    m.code = code;
    if (epoch >= 0) m.epoch = epoch;
    rn_raft_id_t leader = n->q ? rn_raft_leader(rn_quorum_raft(n->q)) : RN_RAFT_ID_NONE;
    m.hint = leader;
    sc_send(s, n, req->from, &m);
}

/* ---- the active controller ---- */

static const rn_image_t *image_of(const sc_node_t *n) { return rn_controller_image(&n->ctl); }

/* Checks and proposes the planned batch; 1 when an op is now in flight. */
static int propose(sc_t *s, sc_node_t *n, rn_md_batch_t *batch, sc_op_kind_t kind,
                   const char *what) {
    rn_err_t err = rn_controller_check(&n->ctl, batch);
    if (err != RN_OK) {
        sc_fail(s, "node %u: the controller planned %s that the image refuses: %s", n->id, what,
                rn_err_name(err));
        return 0;
    }
    err = rn_quorum_propose(n->q, batch, &n->op_index, &n->op_term);
    sc_trace(s, "node %u: propose %s (%u records) at %llu term %llu: %s", n->id, what, batch->count,
             (unsigned long long)n->op_index, (unsigned long long)n->op_term, rn_err_name(err));
    if (err != RN_OK) return 0;
    s->stats.proposals++;
    n->op = kind;
    return 1;
}

static int plan_register(sc_t *s, sc_node_t *n, rn_md_batch_t *batch, int64_t now_ms) {
    for (uint32_t b = 1; b <= s->nodes_n; b++) {
        sc_request_t *req = &n->regs[b];
        if (!req->used) continue;
        req->used = 0;
        char host[16];
        snprintf(host, sizeof(host), "node%u", b);
        rn_md_endpoint_t ep = {rn_str_from_cstr("PLAINTEXT"), rn_str_from_cstr(host),
                               (uint16_t)(9092 + b), 0};
        rn_ctl_broker_reg_t reg = {
            req->msg.broker_id, req->msg.incarnation, &ep, 1, (rn_str_t){NULL, -1}, {{0}}};
        int64_t epoch = -1;
        rn_ctl_result_t res;
        int16_t code =
            rn_ctl_plan_register(image_of(n), &n->leases, &reg, rn_image_next_offset(image_of(n)),
                                 now_ms, SC_SESSION_MS, batch, &epoch, &res);
        sc_trace(s, "node %u: register broker %d: code %d, epoch %lld, %u record(s)", n->id,
                 req->msg.broker_id, code, (long long)epoch, batch->count);
        if (code != RN_KERR_NONE || batch->count == 0) {
            reply(s, n, req, code, epoch);
            continue;
        }
        rn_ctl_leases_touch(&n->leases, req->msg.broker_id, now_ms);
        n->op_req = *req;
        n->op_epoch = epoch;
        return propose(s, n, batch, SC_OP_REGISTER, "a registration");
    }
    return 0;
}

static int plan_fence(sc_t *s, sc_node_t *n, rn_md_batch_t *batch, int64_t now_ms) {
    int32_t ids[RN_CTL_BROKERS_MAX];
    int32_t count = rn_ctl_leases_expired(&n->leases, image_of(n), now_ms, SC_SESSION_MS, ids);
    if (count == 0) return 0;
    rn_err_t err = rn_ctl_plan_fence(image_of(n), ids[0], batch);
    if (err != RN_OK) {
        sc_fail(s, "node %u: fence of broker %d: %s", n->id, ids[0], rn_err_name(err));
        return 0;
    }
    char what[48];
    snprintf(what, sizeof(what), "fence of broker %d", ids[0]);
    s->stats.fences++;
    return propose(s, n, batch, SC_OP_FENCE, what);
}

static int plan_unfence(sc_t *s, sc_node_t *n, rn_md_batch_t *batch, int64_t now_ms) {
    while (n->unfence_want) {
        uint32_t b = (uint32_t)__builtin_ctz(n->unfence_want);
        n->unfence_want &= ~(1u << b);
        int32_t id = (int32_t)b - 1;
        const rn_image_broker_t *broker = rn_image_broker(image_of(n), id);
        if (!broker || !broker->fenced ||
            !rn_ctl_leases_live(&n->leases, id, now_ms, SC_SESSION_MS))
            continue;
        rn_err_t err = rn_ctl_plan_unfence(image_of(n), id, batch);
        if (err != RN_OK) {
            sc_fail(s, "node %u: unfence of broker %d: %s", n->id, id, rn_err_name(err));
            return 0;
        }
        char what[48];
        snprintf(what, sizeof(what), "unfence of broker %d", id);
        s->stats.unfences++;
        return propose(s, n, batch, SC_OP_UNFENCE, what);
    }
    return 0;
}

static int plan_client(sc_t *s, sc_node_t *n, rn_md_batch_t *batch) {
    sc_request_t *req = &n->client_req;
    if (!req->used) return 0;
    req->used = 0;
    rn_str_t name = rn_str_from_cstr(req->msg.name);
    int16_t code;
    if (req->msg.kind == SC_MSG_CREATE) {
        rn_ctl_new_topic_t t = {
            .name = name, .num_partitions = req->msg.count, .replication_factor = req->msg.rf};
        rn_ctl_topic_result_t res;
        rn_controller_plan_create_topics(&n->ctl, &t, 1, batch, &res);
        code = res.result.error_code;
    } else {
        rn_ctl_new_partitions_t t = {.name = name, .count = req->msg.count};
        rn_ctl_result_t res;
        rn_controller_plan_create_partitions(&n->ctl, &t, 1, batch, &res);
        code = res.error_code;
    }
    sc_trace(s, "node %u: client %s %s (%d, rf %d): code %d, %u record(s)", n->id,
             req->msg.kind == SC_MSG_CREATE ? "create" : "grow", req->msg.name, req->msg.count,
             req->msg.rf, code, batch->count);
    if (code != RN_KERR_NONE || batch->count == 0) {
        reply(s, n, req, code, -1);
        return 0;
    }
    n->op_req = *req;
    return propose(s, n, batch, SC_OP_CLIENT, "a topic change");
}

/* The op in flight: answered once committed; forgotten when it never will. */
static void settle(sc_t *s, sc_node_t *n) {
    if (n->op == SC_OP_NONE) return;
    int outcome = rn_quorum_outcome(n->q, n->op_index, n->op_term);
    if (outcome == 0) return;
    if (outcome > 0 && (n->op == SC_OP_REGISTER || n->op == SC_OP_CLIENT)) {
        reply(s, n, &n->op_req, RN_KERR_NONE, n->op == SC_OP_REGISTER ? n->op_epoch : -1);
        if (n->op == SC_OP_CLIENT && n->op_req.msg.kind == SC_MSG_CREATE) s->stats.topics++;
        if (n->op == SC_OP_REGISTER) s->stats.registrations++;
    }
    n->op = SC_OP_NONE;
}

static void lose_control(sc_t *s, sc_node_t *n) {
    if (!n->active) return;
    sc_trace(s, "node %u: no longer the active controller", n->id);
    n->active = 0;
    n->op = SC_OP_NONE;
    memset(n->regs, 0, sizeof(n->regs));
    memset(&n->client_req, 0, sizeof(n->client_req));
    n->unfence_want = 0;
}

/* Moves the active controller along after any input of the node. */
static void pump(sc_t *s, sc_node_t *n) {
    const rn_raft_t *r = n->q ? rn_quorum_raft(n->q) : NULL;
    if (r && (rn_raft_role(r) != RN_RAFT_LEADER || rn_raft_term(r) != n->active_term))
        lose_control(s, n);
    if (!sc_node_may_plan(n)) return;
    int64_t now_ms = sc_local_ms(s, n);
    if (!n->active) {
        n->active = 1;
        n->active_term = rn_raft_term(r);
        rn_ctl_leases_init(&n->leases, image_of(n), now_ms);
        sc_trace(s, "node %u: active controller (term %llu, applied %llu)", n->id,
                 (unsigned long long)rn_raft_term(rn_quorum_raft(n->q)),
                 (unsigned long long)rn_raft_applied(rn_quorum_raft(n->q)));
    }
    settle(s, n);
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    while (!s->failed && n->op == SC_OP_NONE && sc_node_may_plan(n)) {
        rn_md_batch_reset(&batch);
        if (plan_register(s, n, &batch, now_ms)) continue;
        rn_md_batch_reset(&batch);
        if (plan_fence(s, n, &batch, now_ms)) continue;
        rn_md_batch_reset(&batch);
        if (plan_unfence(s, n, &batch, now_ms)) continue;
        rn_md_batch_reset(&batch);
        if (!plan_client(s, n, &batch)) break;
    }
    rn_md_batch_free(&batch);
    if (n->op != SC_OP_NONE) settle(s, n);
}

/* After every input: fail-stop on a persistence error, check, pump. */
static void after(sc_t *s, sc_node_t *n, rn_err_t err) {
    if (err != RN_OK) {
        sc_trace(s, "node %u: quorum failed: %s (fail-stop)", n->id, rn_err_name(err));
        return; /* the run loop crashes it */
    }
    const rn_raft_t *r = rn_quorum_raft(n->q);
    if (rn_raft_role(r) != n->role_seen) {
        n->role_seen = rn_raft_role(r);
        if (n->role_seen == RN_RAFT_LEADER) s->stats.elections++;
        sc_trace(s, "node %u: %s, term %llu", n->id, rn_raft_role_name(n->role_seen),
                 (unsigned long long)rn_raft_term(r));
    }
    sc_check_node(s, n);
    if (!s->failed) pump(s, n);
}

void sc_node_tick(sc_t *s, sc_node_t *n) {
    if (!n->q) return;
    after(s, n, rn_quorum_tick(n->q));
}

void sc_node_raft(sc_t *s, sc_node_t *n, const uint8_t *data, size_t len) {
    if (!n->q) return;
    if (len < 4) {
        sc_fail(s, "node %u: raft message without a folder", n->id);
        return;
    }
    uint32_t gen = rn_be32_get(data);
    data += 4, len -= 4;
    rn_raft_msg_t msg;
    rn_err_t err = rn_raft_msg_decode(data, len, &msg, s->entries, RN_RAFT_APPEND_ENTRIES_MAX);
    if (err != RN_OK) {
        sc_fail(s, "node %u: undecodable raft message: %s", n->id, rn_err_name(err));
        return;
    }
    char dir[RN_QUORUM_DIR_BYTES];
    err = rn_quorum_step(n->q, &msg, sc_node_dir(msg.from, gen, dir, sizeof dir));
    if (err == RN_ERR_STALE && rn_quorum_failed(n->q) == RN_OK) {
        sc_trace(s, "node %u: refused a vote message of node %u from folder %s", n->id, msg.from,
                 dir);
        return;
    }
    after(s, n, err);
}

/* A broker's or the client's request. */
void sc_node_request(sc_t *s, sc_node_t *n, uint32_t from, const sc_msg_t *m) {
    if (!n->q) return;
    sc_request_t req = {1, *m, from};
    if (!n->active || rn_raft_role(rn_quorum_raft(n->q)) != RN_RAFT_LEADER) {
        reply(s, n, &req, SC_NOT_CONTROLLER, -1);
        return;
    }
    int64_t now_ms = sc_local_ms(s, n);
    if (m->kind == SC_MSG_REGISTER) {
        n->regs[from] = req;
    } else if (m->kind == SC_MSG_HEARTBEAT) {
        const rn_image_broker_t *b = rn_image_broker(image_of(n), m->broker_id);
        if (!b || b->epoch != m->epoch) {
            reply(s, n, &req, SC_STALE_EPOCH, -1);
            return;
        }
        rn_ctl_leases_touch(&n->leases, m->broker_id, now_ms);
        if (b->fenced) n->unfence_want |= 1u << from;
        req.msg.fenced = b->fenced;
        reply(s, n, &req, RN_KERR_NONE, -1);
    } else if (!n->client_req.used || n->client_req.msg.token != m->token) {
        if (n->op == SC_OP_CLIENT && n->op_req.msg.token == m->token) return; /* a duplicate */
        n->client_req = req;
    }
    pump(s, n);
}
