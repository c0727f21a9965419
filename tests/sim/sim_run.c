/*
 * sim_run.c: one seeded run: cluster setup, the discrete-event loop (message
 * deliveries, node ticks on skewed clocks, restarts, client actions, faults),
 * the fault schedule, the heal phase with its liveness bound, and teardown.
 *
 * Owns the sim_t of the run. Never looks at the real clock or anything but
 * the seed: two runs of one seed print the same trace byte for byte.
 */
#include "sim.h"

#include "base/assert.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define LIVENESS_NS (5000 * MS) /* a leader, a write and a read after healing */

void sim_trace(sim_t *s, const char *fmt, ...) {
    if (!s->trace) return;
    int64_t now = rn_sim_now_ns(s->world);
    fprintf(s->trace, "[%6lld.%03lldms] ", (long long)(now / MS), (long long)(now % MS / 1000));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
}

void sim_fail(sim_t *s, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    sim_trace(s, "CHECK FAILED: %s", s->reason);
}

static sim_node_t *leader_of(sim_t *s) {
    sim_node_t *best = NULL;
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sim_node_t *n = &s->nodes[i];
        if (!n->up || rn_raft_role(n->raft) != RN_RAFT_LEADER) continue;
        if (!best || rn_raft_term(n->raft) > rn_raft_term(best->raft)) best = n;
    }
    return best;
}

static sim_node_t *random_up(sim_t *s) {
    uint32_t up[SIM_NODES_MAX], n = 0;
    for (uint32_t i = 1; i <= s->nodes_n; i++)
        if (s->nodes[i].up) up[n++] = i;
    return n ? &s->nodes[up[rn_sim_below(s->world, n)]] : NULL;
}

static void setup(sim_t *s, uint64_t seed) {
    s->seed = seed;
    s->world = rn_sim_create(seed, SIM_NODES_MAX);
    s->check = sim_check_create();
    s->voters_n = rn_sim_chance(s->world, 500000) ? 3 : 5;
    s->nodes_n = s->voters_n + 1;
    rn_raft_opts_default(&s->opts, 1, 0);
    s->opts.election_ticks = 10;
    s->opts.heartbeat_ticks = 2;
    static const uint32_t batch[] = {1, 2, 4, 64};
    static const uint32_t snaps[] = {4, 16, 64, 100000};
    s->opts.append_entries_max = batch[rn_sim_below(s->world, 4)];
    s->opts.snapshot_entries = snaps[rn_sim_below(s->world, 4)];
    s->opts.prevote = rn_sim_chance(s->world, 700000);
    s->opts.check_quorum = rn_sim_chance(s->world, 700000);
    s->boot_learner = rn_sim_chance(s->world, 500000);
    s->crash_mid_ready_ppm = 3000;
    s->heal_at_ns = 1000 * MS + (int64_t)rn_sim_below(s->world, 2000 * MS);
    s->end_ns = s->heal_at_ns + LIVENESS_NS;
    s->next_fault_ns = 20 * MS + (int64_t)rn_sim_below(s->world, 100 * MS);
    rn_sim_net_opts_t net = {0, 0, 1 * MS, (2 + (int64_t)rn_sim_below(s->world, 10)) * MS};
    rn_sim_net_set(s->world, &net);
    sim_trace(s,
              "seed %llu: %u voters + 1 %s, batch %u, snapshot every %u, prevote %d, "
              "check-quorum %d",
              (unsigned long long)seed, s->voters_n, s->boot_learner ? "learner" : "spare",
              s->opts.append_entries_max, s->opts.snapshot_entries, s->opts.prevote,
              s->opts.check_quorum);
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sim_node_t *n = &s->nodes[i];
        n->id = i;
        n->io = rn_sim_io(s->world, i);
        sim_node_start(s, n);
    }
    for (int i = 0; i < SIM_CLIENTS; i++) {
        s->clients[i].op = UINT32_MAX;
        s->clients[i].next_at_ns = (int64_t)rn_sim_below(s->world, 50 * MS);
    }
}

static void teardown(sim_t *s) {
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        rn_raft_destroy(s->nodes[i].raft);
        rn_raft_store_close(s->nodes[i].st);
    }
    rn_sim_destroy(s->world);
    sim_check_destroy(s->check);
    free(s->ops);
    free(s->msg_buf);
}

static void fault_partition(sim_t *s) {
    uint32_t mask = 1 + (uint32_t)rn_sim_below(s->world, (1u << s->nodes_n) - 2);
    for (uint32_t a = 1; a <= s->nodes_n; a++)
        for (uint32_t b = 1; b <= s->nodes_n; b++)
            if (((mask >> (a - 1)) & 1) != ((mask >> (b - 1)) & 1))
                rn_sim_link_cut(s->world, a, b, 1);
    sim_trace(s, "fault: partition mask %#x", mask);
}

static void fault_net(sim_t *s) {
    rn_sim_net_opts_t net;
    net.drop_ppm = (uint32_t)rn_sim_below(s->world, 300000);
    net.dup_ppm = (uint32_t)rn_sim_below(s->world, 100000);
    net.delay_min_ns = (int64_t)rn_sim_below(s->world, 3 * MS);
    net.delay_max_ns = net.delay_min_ns + (int64_t)rn_sim_below(s->world, 40 * MS);
    rn_sim_net_set(s->world, &net);
    sim_trace(s, "fault: network drop %u ppm, dup %u ppm, delay %lld-%lld us", net.drop_ppm,
              net.dup_ppm, (long long)(net.delay_min_ns / 1000),
              (long long)(net.delay_max_ns / 1000));
}

static void fault_membership(sim_t *s, sim_node_t *l) {
    const rn_raft_config_t *cfg = rn_raft_config(l->raft);
    uint32_t id = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
    rn_raft_config_op_t op;
    if (rn_raft_config_has_learner(cfg, id))
        op = RN_RAFT_PROMOTE;
    else if (!rn_raft_config_has_voter(cfg, id))
        op = RN_RAFT_ADD_LEARNER;
    else if (cfg->voters_n > s->voters_n - 1)
        op = RN_RAFT_REMOVE;
    else
        return;
    if (op == RN_RAFT_PROMOTE && cfg->voters_n >= s->voters_n + 1) op = RN_RAFT_REMOVE;
    rn_err_t err = rn_raft_change(l->raft, op, id);
    static const char *const names[] = {"add learner", "promote", "remove"};
    sim_trace(s, "fault: leader %u asked to %s %u: %s", l->id, names[op], id, rn_err_name(err));
    sim_node_drive(s, l);
}

static void fault_disk(sim_t *s, int on) {
    for (uint32_t i = 1; i <= s->nodes_n; i++) rn_sim_disk_fail(s->world, i, 0);
    if (!on) return;
    uint32_t id = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
    uint32_t ppm = 10000 + (uint32_t)rn_sim_below(s->world, 100000);
    rn_sim_disk_fail(s->world, id, ppm);
    sim_trace(s, "fault: node %u disk errors at %u ppm", id, ppm);
}

static void fault_one(sim_t *s) {
    uint64_t k = rn_sim_below(s->world, 100);
    sim_node_t *n = random_up(s), *l = leader_of(s);
    s->stats.faults++;
    if (k < 15 && n)
        sim_node_crash(s, n, "fault");
    else if (k < 25 && l)
        sim_node_crash(s, l, "fault: leader");
    else if (k < 37)
        fault_partition(s);
    else if (k < 45) {
        rn_sim_link_heal_all(s->world);
        sim_trace(s, "fault: links healed");
    } else if (k < 50) {
        uint32_t a = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
        uint32_t b = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
        rn_sim_link_cut(s->world, a, b, 1);
        sim_trace(s, "fault: link %u->%u cut", a, b);
    } else if (k < 60)
        fault_net(s);
    else if (k < 66 && n) {
        int32_t skew = (int32_t)rn_sim_below(s->world, 400001) - 200000;
        rn_sim_clock_skew(s->world, n->id, skew);
        sim_trace(s, "fault: node %u clock skew %d ppm", n->id, skew);
    } else if (k < 72)
        fault_disk(s, 1);
    else if (k < 75)
        fault_disk(s, 0);
    else if (k < 88 && l)
        fault_membership(s, l);
    else if (k < 100 && l) {
        const rn_raft_config_t *cfg = rn_raft_config(l->raft);
        rn_raft_id_t to = cfg->voters[rn_sim_below(s->world, cfg->voters_n)];
        rn_err_t err = to == l->id ? RN_ERR_INVALID : rn_raft_transfer(l->raft, to);
        sim_trace(s, "fault: leader %u transfers to %u: %s", l->id, to, rn_err_name(err));
        sim_node_drive(s, l);
    } else
        s->stats.faults--;
    s->next_fault_ns =
        rn_sim_now_ns(s->world) + 10 * MS + (int64_t)rn_sim_below(s->world, 120 * MS);
}

static void heal(sim_t *s) {
    s->healed = 1;
    rn_sim_link_heal_all(s->world);
    rn_sim_net_opts_t net = {0, 0, 1 * MS, 5 * MS};
    rn_sim_net_set(s->world, &net);
    fault_disk(s, 0);
    s->crash_mid_ready_ppm = 0;
    for (uint32_t i = 1; i <= s->nodes_n; i++)
        if (!s->nodes[i].up) s->nodes[i].restart_at_ns = rn_sim_now_ns(s->world);
    sim_trace(s, "heal: every fault cleared, every node restarting");
}

enum { EV_NONE, EV_DELIVER, EV_TICK, EV_RESTART, EV_CLIENT, EV_FAULT, EV_HEAL };

/* The earliest pending event; ties go to the first in this scan order. */
static int next_event(sim_t *s, int64_t *at, uint32_t *who) {
    int kind = EV_NONE;
    int64_t best = INT64_MAX, t = rn_sim_next_delivery(s->world);
    if (t >= 0) best = t, kind = EV_DELIVER;
    for (uint32_t i = 1; i <= s->nodes_n; i++) {
        sim_node_t *n = &s->nodes[i];
        int up = n->up;
        t = up ? rn_sim_global_at(s->world, i, n->next_tick_local_ns) : n->restart_at_ns;
        if (t < best) best = t, kind = up ? EV_TICK : EV_RESTART, *who = i;
    }
    for (uint32_t i = 0; i < SIM_CLIENTS; i++)
        if (s->clients[i].next_at_ns < best)
            best = s->clients[i].next_at_ns, kind = EV_CLIENT, *who = i;
    t = s->healed ? INT64_MAX : s->next_fault_ns < s->heal_at_ns ? s->next_fault_ns : s->heal_at_ns;
    if (t < best) best = t, kind = t == s->heal_at_ns ? EV_HEAL : EV_FAULT;
    *at = best;
    return kind;
}

static void deliver(sim_t *s) {
    uint32_t to = 0, from = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    while (!s->failed && rn_sim_recv(s->world, &to, &from, &data, &len)) {
        if (s->nodes[to].up) sim_node_deliver(s, &s->nodes[to], data, len);
        free(data);
    }
}

static int live(sim_t *s) {
    if (!s->healed) return 0;
    if (!s->live_leader_ns && leader_of(s)) s->live_leader_ns = rn_sim_now_ns(s->world);
    return s->live_leader_ns && s->live_write_ns && s->live_read_ns;
}

static void trace_nodes(sim_t *s) {
    for (uint32_t i = 1; i <= s->nodes_n && s->trace; i++) {
        sim_node_t *n = &s->nodes[i];
        if (!n->up) {
            sim_trace(s, "node %u down", i);
            continue;
        }
        const rn_raft_config_t *c = rn_raft_config(n->raft);
        char ids[128];
        int off = 0;
        for (uint32_t k = 0; k < c->voters_n; k++)
            off += snprintf(ids + off, sizeof(ids) - (size_t)off, " v%u", c->voters[k]);
        for (uint32_t k = 0; k < c->learners_n; k++)
            off += snprintf(ids + off, sizeof(ids) - (size_t)off, " l%u", c->learners[k]);
        sim_trace(s, "node %u %s term %llu last %llu commit %llu snap %llu config%s", i,
                  rn_raft_role_name(rn_raft_role(n->raft)),
                  (unsigned long long)rn_raft_term(n->raft),
                  (unsigned long long)rn_raft_last_index(n->raft),
                  (unsigned long long)rn_raft_commit(n->raft),
                  (unsigned long long)rn_raft_snapshot_index(n->raft), ids);
    }
}

static void loop(sim_t *s) {
    while (!s->failed && !live(s)) {
        int64_t at = 0;
        uint32_t who = 0;
        int kind = next_event(s, &at, &who);
        if (at > s->end_ns) {
            sim_fail(s, "liveness: %s%s%swithin %lld ms of healing",
                     s->live_leader_ns ? "" : "no leader ", s->live_write_ns ? "" : "no write ",
                     s->live_read_ns ? "" : "no read ", (long long)(LIVENESS_NS / MS));
            trace_nodes(s);
            return;
        }
        rn_sim_advance(s->world, at);
        s->stats.steps++;
        switch (kind) {
        case EV_DELIVER:
            deliver(s);
            break;
        case EV_TICK:
            sim_node_tick(s, &s->nodes[who]);
            break;
        case EV_RESTART:
            sim_node_start(s, &s->nodes[who]);
            break;
        case EV_CLIENT:
            sim_client_step(s, &s->clients[who]);
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
    }
}

int sim_run(uint64_t seed, FILE *trace, sim_stats_t *stats, char *reason, size_t reason_cap,
            rn_sim_stats_t *world_stats) {
    sim_t *s = calloc(1, sizeof(*s));
    RN_ASSERT(s != NULL);
    s->trace = trace;
    setup(s, seed);
    loop(s);
    if (!s->failed) sim_check_history(s);
    sim_trace(s,
              "end: %s; %llu steps, %llu faults, %llu elections, %u ops (%llu done), "
              "commit %llu",
              s->failed ? "FAILED" : "ok", (unsigned long long)s->stats.steps,
              (unsigned long long)s->stats.faults, (unsigned long long)s->stats.elections, s->ops_n,
              (unsigned long long)s->stats.ops_done,
              (unsigned long long)sim_check_commit_max(s->check));
    *stats = s->stats;
    *world_stats = *rn_sim_stats(s->world);
    snprintf(reason, reason_cap, "%s", s->reason);
    int failed = s->failed;
    teardown(s);
    free(s);
    return failed;
}
