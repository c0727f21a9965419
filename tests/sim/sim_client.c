/*
 * sim_client.c: clients of the replicated key-value store. Each runs one
 * operation at a time (a write of a unique value, or a linearizable read),
 * finds the leader by trying nodes, and gives up after a deadline.
 *
 * Owns the history (s->ops). A write enters the history once a leader put it
 * in its log (it may then commit even if the client gave up); a read counts
 * only if it returned. Never retries a write that reached a log: the retry
 * could commit twice.
 */
#include "sim.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

#define MS 1000000LL
#define OP_NONE UINT32_MAX

static uint32_t op_new(sim_t *s, int is_read, uint32_t key) {
    if (s->ops_n == s->ops_cap) {
        s->ops_cap = s->ops_cap ? s->ops_cap * 2 : 256;
        s->ops = realloc(s->ops, s->ops_cap * sizeof(*s->ops));
        RN_ASSERT(s->ops != NULL);
    }
    sim_op_t *op = &s->ops[s->ops_n];
    memset(op, 0, sizeof(*op));
    op->is_read = (uint8_t)is_read;
    op->key = key;
    op->value = is_read ? 0 : s->ops_n + 1;
    op->inv_ns = rn_sim_now_ns(s->world);
    op->resp_ns = -1;
    return s->ops_n++;
}

static void client_idle(sim_t *s, sim_client_t *c) {
    c->op = OP_NONE;
    c->waiting_node = 0;
    c->next_at_ns = rn_sim_now_ns(s->world) + 2 * MS + (int64_t)rn_sim_below(s->world, 20 * MS);
}

static void client_done(sim_t *s, sim_client_t *c) {
    sim_op_t *op = &s->ops[c->op];
    op->done = 1;
    op->resp_ns = rn_sim_now_ns(s->world);
    s->stats.ops_done++;
    if (s->healed && op->inv_ns >= s->heal_at_ns) {
        int64_t *live = op->is_read ? &s->live_read_ns : &s->live_write_ns;
        if (!*live) *live = op->resp_ns;
    }
    sim_trace(s, "client %s %u key=%u value=%llu done", op->is_read ? "read" : "write", c->op + 1,
              op->key, (unsigned long long)op->value);
    client_idle(s, c);
}

static sim_node_t *pick_node(sim_t *s, sim_client_t *c) {
    if (c->hint < 1 || c->hint > s->nodes_n)
        c->hint = 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
    return &s->nodes[c->hint];
}

static void retry(sim_t *s, sim_client_t *c, sim_node_t *n, int64_t after_ns) {
    rn_raft_id_t leader = n->up ? rn_raft_leader(n->raft) : RN_RAFT_ID_NONE;
    c->hint = leader && leader != n->id ? leader : 1 + (uint32_t)rn_sim_below(s->world, s->nodes_n);
    c->next_at_ns = rn_sim_now_ns(s->world) + after_ns;
}

static void attempt(sim_t *s, sim_client_t *c) {
    sim_op_t *op = &s->ops[c->op];
    sim_node_t *n = pick_node(s, c);
    if (!n->up) {
        retry(s, c, n, 5 * MS);
        return;
    }
    rn_err_t err;
    if (op->is_read) {
        err = rn_raft_read_index(n->raft, c->op);
    } else {
        uint8_t data[12];
        uint32_t key = op->key;
        memcpy(data, &op->value, 8);
        memcpy(data + 8, &key, 4);
        uint64_t index = 0, term = 0;
        err = rn_raft_propose(n->raft, data, sizeof(data), &index, &term);
        if (err == RN_OK) op->invoked = 1;
    }
    if (err == RN_OK) {
        c->waiting_node = n->id;
        c->next_at_ns = c->deadline_ns; /* wake up to give up */
        sim_trace(s, "client %s %u key=%u at node %u", op->is_read ? "read" : "write", c->op + 1,
                  op->key, n->id);
        sim_node_drive(s, n);
        return;
    }
    retry(s, c, n, err == RN_ERR_AGAIN ? 5 * MS : 3 * MS);
}

void sim_client_step(sim_t *s, sim_client_t *c) {
    int64_t now = rn_sim_now_ns(s->world);
    if (c->op == OP_NONE) {
        int is_read = rn_sim_chance(s->world, 400000);
        c->op = op_new(s, is_read, (uint32_t)rn_sim_below(s->world, SIM_KEYS));
        c->deadline_ns = now + (is_read ? 500 : 1000) * MS;
        c->waiting_node = 0;
    }
    if (now >= c->deadline_ns) {
        sim_trace(s, "client gives up on op %u", c->op + 1);
        client_idle(s, c); /* a write that reached a log stays, undetermined */
        return;
    }
    if (c->waiting_node) { /* woken early: keep waiting */
        c->next_at_ns = c->deadline_ns;
        return;
    }
    attempt(s, c);
}

void sim_client_applied(sim_t *s, uint64_t op_value) {
    for (int i = 0; i < SIM_CLIENTS; i++) {
        sim_client_t *c = &s->clients[i];
        if (c->op != OP_NONE && c->waiting_node && c->op + 1 == op_value &&
            !s->ops[c->op].is_read) {
            client_done(s, c);
            return;
        }
    }
}

void sim_client_read_done(sim_t *s, sim_node_t *n, uint64_t ctx, uint64_t value) {
    for (int i = 0; i < SIM_CLIENTS; i++) {
        sim_client_t *c = &s->clients[i];
        if (c->op == ctx && c->waiting_node == n->id && s->ops[c->op].is_read) {
            s->ops[c->op].value = value;
            client_done(s, c);
            return;
        }
    }
}
