/*
 * simctl_run.c: one seeded run of the controller simulation: setup, the
 * discrete-event loop (deliveries, quorum ticks and broker timers on skewed
 * clocks, restarts, the client, faults), the brokers and the client, the
 * fault schedule, and the liveness phases after healing.
 *
 * Owns the sc_t of the run. Never looks at the real clock or anything but
 * the seed: two runs of one seed print the same trace byte for byte.
 */
#include "simctl.h"

#include "base/assert.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void sc_trace(sc_t *s, const char *fmt, ...) {
    if (!s->trace) return;
    int64_t now = rn_sim_now_ns(s->world);
    fprintf(s->trace, "[%6lld.%03lldms] ", (long long)(now / SC_MS),
            (long long)(now % SC_MS / 1000));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
}

void sc_fail(sc_t *s, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    sc_trace(s, "CHECK FAILED: %s", s->reason);
}

int64_t sc_local_ms(const sc_t *s, const sc_node_t *n) {
    return rn_sim_node_clock_ns(s->world, n->id) / SC_MS;
}

static const char *const msg_names[] = {"?",         "raft",           "register", "register-resp",
                                        "heartbeat", "heartbeat-resp", "create",   "grow",
                                        "op-resp"};

void sc_send(sc_t *s, sc_node_t *from, uint32_t to, const sc_msg_t *m) {
    if (m->kind != SC_MSG_HEARTBEAT && m->kind != SC_MSG_HEARTBEAT_RESP)
        sc_trace(s, "%u -> %u %s broker %d epoch %lld code %d hint %u %s", from->id, to,
                 msg_names[m->kind], m->broker_id, (long long)m->epoch, m->code, m->hint, m->name);
    rn_sim_send(from->io, to, m, sizeof(*m));
}

static sc_node_t *controller_of(sc_t *s) {
    for (uint32_t i = 1; i <= s->voters_n; i++)
        if (s->nodes[i].active && sc_node_may_plan(&s->nodes[i])) return &s->nodes[i];
    return NULL;
}

/* ---- brokers ---- */

static void broker_start(sc_t *s, sc_node_t *n) {
    sc_broker_t *b = &n->broker;
    for (int i = 0; i < 16; i++) b->incarnation.bytes[i] = (uint8_t)rn_sim_random(s->world);
    b->state = SC_B_UNREGISTERED;
    b->epoch = -1;
    b->fenced = 1;
    b->unanswered = 0;
    b->hint = 1 + (uint32_t)rn_sim_below(s->world, s->voters_n);
    b->next_local_ns = rn_sim_node_clock_ns(s->world, n->id);
}

static void broker_rotate(sc_t *s, sc_broker_t *b) { b->hint = b->hint % s->voters_n + 1; }

static void broker_timer(sc_t *s, sc_node_t *n) {
    sc_broker_t *b = &n->broker;
    if (b->unanswered >= 3) {
        broker_rotate(s, b);
        b->unanswered = 0;
    }
    sc_msg_t m;
    memset(&m, 0, sizeof(m));
    m.broker_id = (int32_t)n->id - 1;
    m.incarnation = b->incarnation;
    m.epoch = b->epoch;
    m.kind = b->state == SC_B_REGISTERED ? SC_MSG_HEARTBEAT : SC_MSG_REGISTER;
    sc_send(s, n, b->hint, &m);
    b->unanswered++;
    b->next_local_ns = rn_sim_node_clock_ns(s->world, n->id) +
                       (b->state == SC_B_REGISTERED ? SC_HEARTBEAT_NS : SC_REGISTER_RETRY_NS);
}

static void broker_answer(sc_t *s, sc_node_t *n, const sc_msg_t *m) {
    sc_broker_t *b = &n->broker;
    if (b->state == SC_B_DOWN || !rn_uuid_eq(&m->incarnation, &b->incarnation)) return;
    if (m->kind == SC_MSG_HEARTBEAT_RESP && (b->state != SC_B_REGISTERED || m->epoch != b->epoch))
        return; /* stale */
    b->unanswered = 0;
    if (m->code == SC_NOT_CONTROLLER) {
        if (m->hint && m->hint != b->hint)
            b->hint = m->hint;
        else
            broker_rotate(s, b);
        return;
    }
    if (m->kind == SC_MSG_REGISTER_RESP) {
        if (m->code != 0 || b->state == SC_B_REGISTERED) return; /* retried on the timer */
        b->state = SC_B_REGISTERED;
        b->epoch = m->epoch;
        sc_trace(s, "broker %u registered, epoch %lld", n->id - 1, (long long)m->epoch);
        return;
    }
    if (m->code == SC_STALE_EPOCH) {
        sc_trace(s, "broker %u: epoch %lld is stale, registering again", n->id - 1,
                 (long long)b->epoch);
        b->state = SC_B_UNREGISTERED;
        b->epoch = -1;
        return;
    }
    if (b->fenced != m->fenced)
        sc_trace(s, "broker %u: %s", n->id - 1, m->fenced ? "fenced" : "unfenced");
    b->fenced = m->fenced;
}

/* ---- the client ---- */

static void client_send(sc_t *s) {
    sc_client_t *c = &s->client;
    c->token++;
    c->req.token = c->token;
    c->waiting = 1;
    c->deadline_ns = rn_sim_now_ns(s->world) + SC_CLIENT_TIMEOUT_NS;
    c->next_at_ns = c->deadline_ns;
    sc_send(s, &s->nodes[s->client_id], c->hint, &c->req);
}

static void client_new_op(sc_t *s) {
    sc_client_t *c = &s->client;
    memset(&c->req, 0, sizeof(c->req));
    if (s->phase >= 1) {
        c->req.kind = SC_MSG_CREATE;
        snprintf(c->req.name, sizeof(c->req.name), "%s", s->live_topic);
        c->req.count = 2;
        c->req.rf = 2;
    } else if (c->topics_n > 0 && rn_sim_chance(s->world, 300000)) {
        c->req.kind = SC_MSG_GROW;
        snprintf(c->req.name, sizeof(c->req.name), "%s",
                 c->topics[rn_sim_below(s->world, (uint64_t)c->topics_n)]);
        c->req.count = 2 + (int32_t)rn_sim_below(s->world, 6); /* maybe no increase */
    } else if (c->topics_n < SC_TOPICS_MAX) {
        c->req.kind = SC_MSG_CREATE;
        snprintf(c->req.name, sizeof(c->req.name), "t%u", c->next_name++);
        c->req.count = 1 + (int32_t)rn_sim_below(s->world, 4);
        c->req.rf = (int16_t)(1 + rn_sim_below(s->world, 3));
    } else {
        c->next_at_ns = rn_sim_now_ns(s->world) + 100 * SC_MS;
        return;
    }
    client_send(s);
}

static void client_timer(sc_t *s) {
    sc_client_t *c = &s->client;
    if (c->waiting) { /* redirected, or timed out: then try the next node */
        if (!c->redirected) c->hint = c->hint % s->voters_n + 1;
        c->redirected = 0;
        client_send(s);
        return;
    }
    client_new_op(s);
}

static void client_answer(sc_t *s, const sc_msg_t *m) {
    sc_client_t *c = &s->client;
    if (!c->waiting || m->token != c->token) return;
    if (m->code == SC_NOT_CONTROLLER) {
        c->hint = m->hint && m->hint != c->hint ? m->hint : c->hint % s->voters_n + 1;
        c->redirected = 1;
        c->next_at_ns = rn_sim_now_ns(s->world) + 10 * SC_MS; /* retry */
        return;
    }
    c->waiting = 0;
    if (m->code == 0 && m->kind == SC_MSG_OP_RESP && c->req.kind == SC_MSG_CREATE &&
        c->topics_n < SC_TOPICS_MAX && s->phase == 0)
        snprintf(c->topics[c->topics_n++], SC_NAME_BYTES, "%s", c->req.name);
    c->next_at_ns =
        rn_sim_now_ns(s->world) + 20 * SC_MS + (int64_t)rn_sim_below(s->world, 130 * SC_MS);
    if (s->phase >= 1 && (m->code != 0 && m->code != RN_KERR_TOPIC_ALREADY_EXISTS))
        c->next_at_ns = rn_sim_now_ns(s->world) + 50 * SC_MS; /* the liveness topic: again */
}

/* ---- nodes ---- */

static void node_up(sc_t *s, sc_node_t *n) {
    n->up = 1;
    n->restart_at_ns = INT64_MAX;
    sc_trace(s, "node %u: start", n->id);
    n->next_tick_local_ns = rn_sim_node_clock_ns(s->world, n->id) + SC_TICK_NS;
    if (n->voter) sc_node_start(s, n);
    broker_start(s, n);
}

/* Whether every voter is up, holds every voter in its configuration (so
   any leader to come has the whole membership) and has recorded node w's
   present folder, so a wipe of it is seen as one (a folder never recorded
   would count as new, as for a member never heard from). */
static int wipe_allowed(sc_t *s, const sc_node_t *w) {
    if (!w->voter || s->wiped || s->phase) return 0;
    char dir[RN_QUORUM_DIR_BYTES];
    sc_node_dir(w->id, w->dir_gen, dir, sizeof dir);
    for (uint32_t v = 1; v <= s->voters_n; v++) {
        const sc_node_t *n = &s->nodes[v];
        if (!n->up || !n->q || strcmp(rn_quorum_member_dir(n->q, w->id), dir) != 0) return 0;
        for (uint32_t m = 1; m <= s->voters_n; m++)
            if (!rn_raft_config_has_voter(rn_raft_config(rn_quorum_raft(n->q)), m)) return 0;
    }
    return 1;
}

static void node_crash(sc_t *s, sc_node_t *n, const char *why, int stay_down) {
    RN_ASSERT(n->up);
    sc_trace(s, "node %u: crash (%s)", n->id, why);
    int wipe = strcmp(why, "fault: wipe") == 0 && wipe_allowed(s, n);
    if (n->voter) sc_node_stop(s, n);
    n->up = 0;
    n->broker.state = SC_B_DOWN;
    rn_sim_net_purge(s->world, n->id);
    RN_ASSERT(rn_sim_open_files(s->world, n->id) == 0);
    if (n->voter && rn_sim_chance(s->world, 500000))
        rn_sim_crash(s->world, n->id); /* power loss: unsynced writes go */
    if (wipe) {
        rn_sim_wipe(s->world, n->id); /* a new disk: a new folder */
        n->dir_gen++;
        s->wiped = n->id;
        s->wipe_removed = 0;
        s->stats.wipes++;
        sc_trace(s, "node %u: disk wiped, folder incarnation %u", n->id, n->dir_gen);
    }
    int quick = rn_sim_chance(s->world, 300000);
    n->restart_at_ns = stay_down ? INT64_MAX
                                 : rn_sim_now_ns(s->world) + SC_MS +
                                       (int64_t)rn_sim_below(s->world, (quick ? 20 : 900) * SC_MS);
}

static void deliver_one(sc_t *s, uint32_t to, uint32_t from, const uint8_t *data, size_t len) {
    sc_node_t *n = &s->nodes[to];
    if (!n->up || len < 1) return;
    if (data[0] == SC_MSG_RAFT) {
        if (n->voter) sc_node_raft(s, n, data + 1, len - 1);
        return;
    }
    RN_ASSERT(len == sizeof(sc_msg_t));
    sc_msg_t m;
    memcpy(&m, data, sizeof(m));
    switch (m.kind) {
    case SC_MSG_REGISTER:
    case SC_MSG_HEARTBEAT:
    case SC_MSG_CREATE:
    case SC_MSG_GROW:
        if (n->voter) sc_node_request(s, n, from, &m);
        break;
    case SC_MSG_REGISTER_RESP:
    case SC_MSG_HEARTBEAT_RESP:
        if (!n->is_client) broker_answer(s, n, &m);
        break;
    case SC_MSG_OP_RESP:
        if (n->is_client) client_answer(s, &m);
        break;
    default:
        sc_fail(s, "node %u: unknown message kind %u", to, m.kind);
    }
}

/* ---- faults ---- */

static uint32_t random_up(sc_t *s) {
    uint32_t up[SC_NODES_MAX], k = 0;
    for (uint32_t i = 1; i <= s->nodes_n; i++)
        if (s->nodes[i].up && !s->nodes[i].is_client) up[k++] = i;
    return k ? up[rn_sim_below(s->world, k)] : 0;
}

static void fault_partition(sc_t *s) {
    uint32_t all = s->nodes_n + 1; /* the client too */
    uint32_t mask = 1 + (uint32_t)rn_sim_below(s->world, (1u << all) - 2);
    for (uint32_t a = 1; a <= all; a++)
        for (uint32_t b = 1; b <= all; b++)
            if (((mask >> (a - 1)) & 1) != ((mask >> (b - 1)) & 1))
                rn_sim_link_cut(s->world, a, b, 1);
    sc_trace(s, "fault: partition mask %#x", mask);
}

static void fault_isolate(sc_t *s, uint32_t id) {
    for (uint32_t v = 1; v <= s->voters_n; v++) {
        if (v == id) continue;
        rn_sim_link_cut(s->world, id, v, 1);
        rn_sim_link_cut(s->world, v, id, 1);
    }
    sc_trace(s, "fault: node %u cut off from the voters", id);
}

static void fault_net(sc_t *s) {
    rn_sim_net_opts_t net;
    net.drop_ppm = (uint32_t)rn_sim_below(s->world, 300000);
    net.dup_ppm = (uint32_t)rn_sim_below(s->world, 100000);
    net.delay_min_ns = (int64_t)rn_sim_below(s->world, 3 * SC_MS);
    net.delay_max_ns = net.delay_min_ns + (int64_t)rn_sim_below(s->world, 40 * SC_MS);
    rn_sim_net_set(s->world, &net);
    sc_trace(s, "fault: network drop %u ppm, dup %u ppm, delay %lld-%lld us", net.drop_ppm,
             net.dup_ppm, (long long)(net.delay_min_ns / 1000),
             (long long)(net.delay_max_ns / 1000));
}

static void fault_disk(sc_t *s, int on) {
    for (uint32_t i = 1; i <= s->voters_n; i++) rn_sim_disk_fail(s->world, i, 0);
    if (!on) return;
    uint32_t id = 1 + (uint32_t)rn_sim_below(s->world, s->voters_n);
    uint32_t ppm = 5000 + (uint32_t)rn_sim_below(s->world, 50000);
    rn_sim_disk_fail(s->world, id, ppm);
    sc_trace(s, "fault: node %u disk errors at %u ppm", id, ppm);
}

static void fault_one(sc_t *s) {
    uint64_t k = rn_sim_below(s->world, 100);
    uint32_t n = random_up(s);
    sc_node_t *l = controller_of(s);
    s->stats.faults++;
    if (k < 18 && n)
        node_crash(s, &s->nodes[n], "fault", 0);
    else if (k < 28 && l)
        node_crash(s, l, "fault: the active controller", 0);
    else if (k < 38)
        fault_partition(s);
    else if (k < 46 && n)
        fault_isolate(s, n);
    else if (k < 56) {
        rn_sim_link_heal_all(s->world);
        sc_trace(s, "fault: links healed");
    } else if (k < 61) {
        uint32_t a = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n + 1);
        uint32_t b = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n + 1);
        rn_sim_link_cut(s->world, a, b, 1);
        sc_trace(s, "fault: link %u->%u cut", a, b);
    } else if (k < 71)
        fault_net(s);
    else if (k < 79 && n) {
        int32_t skew = (int32_t)rn_sim_below(s->world, 400001) - 200000;
        rn_sim_clock_skew(s->world, n, skew);
        sc_trace(s, "fault: node %u clock skew %d ppm", n, skew);
    } else if (k < 84)
        fault_disk(s, 1);
    else if (k < 88)
        fault_disk(s, 0);
    else if (k < 94 && n && s->nodes[n].voter)
        node_crash(s, &s->nodes[n], "fault: wipe", 0);
    else
        s->stats.faults--;
    s->next_fault_ns =
        rn_sim_now_ns(s->world) + 10 * SC_MS + (int64_t)rn_sim_below(s->world, 120 * SC_MS);
}

/* ---- a wiped voter is removed and added back ---- */

static sc_node_t *leader_of(sc_t *s) {
    for (uint32_t i = 1; i <= s->voters_n; i++) {
        sc_node_t *n = &s->nodes[i];
        if (n->up && n->q && rn_quorum_failed(n->q) == RN_OK &&
            rn_raft_role(rn_quorum_raft(n->q)) == RN_RAFT_LEADER)
            return n;
    }
    return NULL;
}

/* As an operator does with RemoveRaftVoter and AddRaftVoter: through the
   leader, remove the wiped voter, add it back as a learner, promote it once
   caught up. Done when every voter has it as a voter again (after healing,
   when the leader has: a voter may lag, and no more wipes come). */
static void wipe_heal(sc_t *s) {
    sc_node_t *l = leader_of(s);
    if (!s->wiped || !l || (l->id == s->wiped && !s->wipe_removed)) return;
    const rn_raft_config_t *cfg = rn_raft_config(rn_quorum_raft(l->q));
    int voter = rn_raft_config_has_voter(cfg, s->wiped);
    int learner = rn_raft_config_has_learner(cfg, s->wiped);
    rn_raft_config_op_t op;
    if (!s->wipe_removed && !voter && !learner) s->wipe_removed = 1;
    int everywhere = voter;
    for (uint32_t v = 1; v <= s->voters_n && everywhere; v++) {
        const sc_node_t *n = &s->nodes[v];
        everywhere = n->up && n->q &&
                     rn_raft_config_has_voter(rn_raft_config(rn_quorum_raft(n->q)), s->wiped);
    }
    if (s->wipe_removed && voter && !everywhere && s->phase == 0) return;
    if (s->wipe_removed && voter) {
        sc_trace(s, "node %u: a voter again (leader %u)", s->wiped, l->id);
        s->stats.readds++;
        s->wiped = 0;
        return;
    }
    op = !s->wipe_removed ? RN_RAFT_REMOVE : learner ? RN_RAFT_PROMOTE : RN_RAFT_ADD_LEARNER;
    /* As AddRaftVoter does, the add names the folder the member speaks from now. */
    char dir[RN_QUORUM_DIR_BYTES];
    sc_node_dir(s->wiped, s->nodes[s->wiped].dir_gen, dir, sizeof dir);
    rn_err_t err = rn_quorum_change(l->q, op, s->wiped, dir);
    if (err == RN_OK)
        sc_trace(s, "node %u: %s node %u (the wiped voter)", l->id,
                 op == RN_RAFT_REMOVE    ? "removes"
                 : op == RN_RAFT_PROMOTE ? "promotes"
                                         : "adds",
                 s->wiped);
}

/* ---- healing and liveness ---- */

static void heal(sc_t *s) {
    s->phase = 1;
    rn_sim_link_heal_all(s->world);
    rn_sim_net_opts_t net = {0, 0, 1 * SC_MS, 5 * SC_MS};
    rn_sim_net_set(s->world, &net);
    fault_disk(s, 0);
    s->dead = s->voters_n + 1 + (uint32_t)rn_sim_below(s->world, SC_BROKER_ONLY);
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sc_node_t *n = &s->nodes[i];
        if (i == s->dead) {
            if (n->up) node_crash(s, n, "heal: this broker stays down", 1);
            n->restart_at_ns = INT64_MAX;
        } else if (!n->up) {
            n->restart_at_ns = rn_sim_now_ns(s->world);
        }
    }
    snprintf(s->live_topic, sizeof(s->live_topic), "live");
    s->client.waiting = 0;
    s->client.next_at_ns = rn_sim_now_ns(s->world);
    s->phase_deadline_ns = rn_sim_now_ns(s->world) + SC_LIVENESS_NS;
    sc_trace(s, "heal: faults cleared, every node but broker %u restarting", s->dead - 1);
}

/* What liveness still waits for in this phase, or NULL when nothing. */
static const char *live_missing(sc_t *s) {
    sc_node_t *c = controller_of(s);
    if (!c) return "no active controller";
    if (s->wiped) return "the wiped voter is not a voter again";
    const rn_image_t *img = rn_quorum_image(c->q);
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        const rn_image_broker_t *b = rn_image_broker(img, (int32_t)i - 1);
        if (!s->nodes[i].up && b && rn_image_broker_usable(b)) return "a dead broker is not fenced";
    }
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sc_node_t *n = &s->nodes[i];
        const rn_image_broker_t *b = rn_image_broker(img, (int32_t)i - 1);
        if (n->up && (!b || !rn_uuid_eq(&b->incarnation_id, &n->broker.incarnation) || b->fenced))
            return "a live broker is not registered and unfenced";
    }
    if (!rn_image_topic(img, s->live_topic, strlen(s->live_topic)))
        return "the topic created after healing has not committed";
    if (s->phase < 2) return NULL;
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++)
            if (topic->partitions[p].leader < 0) return "a partition has no leader";
    }
    return NULL;
}

static void trace_state(sc_t *s) {
    for (uint32_t i = 1; i <= s->voters_n && s->trace; i++) {
        sc_node_t *n = &s->nodes[i];
        if (!n->up || !n->q) {
            sc_trace(s, "node %u down", i);
            continue;
        }
        const rn_raft_t *r = rn_quorum_raft(n->q);
        sc_trace(s, "node %u %s term %llu last %llu commit %llu applied %llu active %d", i,
                 rn_raft_role_name(rn_raft_role(r)), (unsigned long long)rn_raft_term(r),
                 (unsigned long long)rn_raft_last_index(r), (unsigned long long)rn_raft_commit(r),
                 (unsigned long long)rn_raft_applied(r), n->active);
        for (uint32_t m = 1; m <= s->voters_n; m++)
            sc_trace(s, "node %u holds node %u to folder '%s'", i, m,
                     rn_quorum_member_dir(n->q, m));
    }
    sc_node_t *c = controller_of(s);
    if (!c || !s->trace) return;
    const rn_image_t *img = rn_quorum_image(c->q);
    for (int32_t i = 0; i < rn_image_broker_count(img); i++) {
        const rn_image_broker_t *b = rn_image_broker_at(img, i);
        sc_trace(s, "broker %d epoch %lld fenced %d (node up %d)", b->id, (long long)b->epoch,
                 b->fenced, s->nodes[b->id + 1].up);
    }
}

/* Advances the liveness phases; 1 when the run is done. */
static int liveness(sc_t *s) {
    if (s->phase == 0) return 0;
    const char *missing = live_missing(s);
    if (!missing) {
        if (s->phase == 2) return 1;
        s->phase = 2;
        s->nodes[s->dead].restart_at_ns = rn_sim_now_ns(s->world);
        s->phase_deadline_ns = rn_sim_now_ns(s->world) + SC_LIVENESS_NS;
        sc_trace(s, "liveness: phase 1 met; broker %u comes back", s->dead - 1);
        return 0;
    }
    if (rn_sim_now_ns(s->world) < s->phase_deadline_ns) return 0;
    sc_fail(s, "liveness (phase %d): %s within %lld ms", s->phase, missing,
            (long long)(SC_LIVENESS_NS / SC_MS));
    trace_state(s);
    return 1;
}

/* ---- the event loop ---- */

enum { EV_NONE, EV_DELIVER, EV_TICK, EV_BROKER, EV_RESTART, EV_CLIENT, EV_FAULT, EV_HEAL };

static int next_event(sc_t *s, int64_t *at, uint32_t *who) {
    int kind = EV_NONE;
    int64_t best = INT64_MAX, t = rn_sim_next_delivery(s->world);
    if (t >= 0) best = t, kind = EV_DELIVER;
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sc_node_t *n = &s->nodes[i];
        if (!n->up) {
            if (n->restart_at_ns < best) best = n->restart_at_ns, kind = EV_RESTART, *who = i;
            continue;
        }
        if (n->voter) {
            t = rn_sim_global_at(s->world, i, n->next_tick_local_ns);
            if (t < best) best = t, kind = EV_TICK, *who = i;
        }
        t = rn_sim_global_at(s->world, i, n->broker.next_local_ns);
        if (t < best) best = t, kind = EV_BROKER, *who = i;
    }
    if (s->client.next_at_ns < best) best = s->client.next_at_ns, kind = EV_CLIENT;
    t = s->phase ? INT64_MAX : s->next_fault_ns < s->heal_at_ns ? s->next_fault_ns : s->heal_at_ns;
    if (t < best) best = t, kind = t == s->heal_at_ns ? EV_HEAL : EV_FAULT;
    *at = best;
    return kind;
}

/* A voter whose quorum failed (a write error) stops and restarts. */
static void reap_failed(sc_t *s) {
    for (uint32_t i = 1; i <= s->voters_n; i++) {
        sc_node_t *n = &s->nodes[i];
        if (n->up && (!n->q || rn_quorum_failed(n->q) != RN_OK))
            node_crash(s, n, n->q ? "fail-stop after a write error" : "quorum did not open", 0);
    }
}

static void step(sc_t *s, int kind, uint32_t who) {
    uint32_t to = 0, from = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    switch (kind) {
    case EV_DELIVER:
        while (!s->failed && rn_sim_recv(s->world, &to, &from, &data, &len)) {
            deliver_one(s, to, from, data, len);
            free(data);
        }
        break;
    case EV_TICK:
        s->nodes[who].next_tick_local_ns += SC_TICK_NS;
        sc_node_tick(s, &s->nodes[who]);
        break;
    case EV_BROKER:
        broker_timer(s, &s->nodes[who]);
        break;
    case EV_RESTART:
        node_up(s, &s->nodes[who]);
        break;
    case EV_CLIENT:
        client_timer(s);
        break;
    case EV_FAULT:
        fault_one(s);
        break;
    case EV_HEAL:
        heal(s);
        break;
    default:
        RN_ASSERT(0);
    }
    reap_failed(s);
    if (!s->failed) wipe_heal(s);
}

static void setup(sc_t *s, uint64_t seed) {
    s->seed = seed;
    s->world = rn_sim_create(seed, SC_NODES_MAX);
    s->check = sc_check_create();
    rn_topic_config_base_init(&s->base);
    s->voters_n = rn_sim_chance(s->world, 700000) ? 3 : 5;
    s->nodes_n = s->voters_n + SC_BROKER_ONLY;
    s->client_id = s->nodes_n + 1;
    static const uint32_t snaps[] = {4, 16, 64, 0};
    s->snapshot_entries = snaps[rn_sim_below(s->world, 4)];
    s->heal_at_ns = 1000 * SC_MS + (int64_t)rn_sim_below(s->world, 2000 * SC_MS);
    s->next_fault_ns = 100 * SC_MS + (int64_t)rn_sim_below(s->world, 200 * SC_MS);
    rn_sim_net_opts_t net = {0, 0, 1 * SC_MS, (2 + (int64_t)rn_sim_below(s->world, 10)) * SC_MS};
    rn_sim_net_set(s->world, &net);
    s->entries = calloc(RN_RAFT_APPEND_ENTRIES_MAX, sizeof(*s->entries));
    RN_ASSERT(s->entries != NULL);
    sc_trace(s, "seed %llu: %u voters, %u broker-only nodes, snapshot every %u, heal at %lld ms",
             (unsigned long long)seed, s->voters_n, SC_BROKER_ONLY, s->snapshot_entries,
             (long long)(s->heal_at_ns / SC_MS));
    for (uint32_t i = 1; i <= s->client_id; i++) {
        sc_node_t *n = &s->nodes[i];
        n->sim = s;
        n->id = i;
        n->io = rn_sim_io(s->world, i);
        n->voter = i <= s->voters_n;
        n->is_client = i == s->client_id;
        n->restart_at_ns = INT64_MAX;
        if (!n->is_client) node_up(s, n);
    }
    s->client.hint = 1;
    s->client.next_at_ns = 200 * SC_MS;
}

static void teardown(sc_t *s) {
    for (uint32_t i = 1; i <= s->nodes_n; i++)
        if (s->nodes[i].voter) sc_node_stop(s, &s->nodes[i]);
    rn_sim_destroy(s->world);
    sc_check_destroy(s->check);
    free(s->buf);
    free(s->entries);
}

int sc_run(uint64_t seed, FILE *trace, sc_stats_t *stats, char *reason, size_t reason_cap,
           rn_sim_stats_t *world_stats) {
    rn_log_set_level((rn_log_level_t)(RN_LOG_ERROR + 1)); /* the trace says what matters */
    sc_t *s = calloc(1, sizeof(*s));
    RN_ASSERT(s != NULL);
    s->trace = trace;
    setup(s, seed);
    while (!s->failed && !liveness(s)) {
        int64_t at = 0;
        uint32_t who = 0;
        int kind = next_event(s, &at, &who);
        RN_ASSERT(kind != EV_NONE);
        rn_sim_advance(s->world, at);
        s->stats.steps++;
        step(s, kind, who);
    }
    sc_trace(s,
             "end: %s; %llu steps, %llu faults, %llu elections, %llu proposals, %llu "
             "registrations, %llu fences, %llu unfences, %llu topics, last index %llu",
             s->failed ? "FAILED" : "ok", (unsigned long long)s->stats.steps,
             (unsigned long long)s->stats.faults, (unsigned long long)s->stats.elections,
             (unsigned long long)s->stats.proposals, (unsigned long long)s->stats.registrations,
             (unsigned long long)s->stats.fences, (unsigned long long)s->stats.unfences,
             (unsigned long long)s->stats.topics, (unsigned long long)sc_check_index_max(s->check));
    *stats = s->stats;
    *world_stats = *rn_sim_stats(s->world);
    snprintf(reason, reason_cap, "%s", s->reason);
    int failed = s->failed;
    teardown(s);
    free(s);
    return failed;
}
