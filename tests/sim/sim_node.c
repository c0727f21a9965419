/*
 * sim_node.c: one simulated Raft node: its store on the simulated disk, its
 * raft, its key-value state machine, and the driver loop that carries the
 * raft's effects out in the safe order (persist, send, apply).
 *
 * Owns the node's raft and store between a start and a crash. Never does I/O
 * except through the node's rn_io_t; a persistence error crashes the node
 * (fail-stop), as the broker does.
 */
#include "sim.h"

#include "base/assert.h"

#include <stdlib.h>
#include <string.h>

#define SIM_DIR "raft"

uint64_t sim_kv_hash(const uint64_t *kv) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < SIM_KEYS; i++) h = (h ^ kv[i]) * 1099511628211ull;
    return h;
}

static void kv_restore(sim_node_t *n, const rn_raft_snapshot_t *snap) {
    memset(n->kv, 0, sizeof(n->kv));
    if (!snap || snap->index == 0) return;
    RN_ASSERT(snap->len == sizeof(n->kv));
    memcpy(n->kv, snap->data, sizeof(n->kv));
}

void sim_node_crash(sim_t *s, sim_node_t *n, const char *why) {
    RN_ASSERT(n->up);
    sim_trace(s, "node %u crash (%s)", n->id, why);
    rn_raft_destroy(n->raft);
    rn_raft_store_close(n->st);
    n->raft = NULL;
    n->st = NULL;
    n->up = 0;
    n->reads_n = 0;
    RN_ASSERT(rn_sim_open_files(s->world, n->id) == 0);
    /* Half the crashes lose power (unsynced writes go); the others only end
       the process (the page cache and its unsynced writes survive). */
    if (rn_sim_chance(s->world, 500000))
        rn_sim_crash(s->world, n->id);
    else
        sim_trace(s, "node %u: process crash, the disk keeps unsynced writes", n->id);
    int quick = rn_sim_chance(s->world, 300000); /* a supervisor restarts it at once */
    n->restart_at_ns = rn_sim_now_ns(s->world) + 1000000 +
                       (int64_t)rn_sim_below(s->world, quick ? 20000000 : 300000000);
}

static rn_raft_config_t boot_config(const sim_t *s, uint32_t id) {
    rn_raft_config_t cfg = {0};
    if (id > s->voters_n && !s->boot_learner) return cfg; /* joins through a change */
    for (uint32_t v = 1; v <= s->voters_n; v++) cfg.voters[cfg.voters_n++] = v;
    if (s->boot_learner) cfg.learners[cfg.learners_n++] = s->voters_n + 1;
    return cfg;
}

void sim_node_start(sim_t *s, sim_node_t *n) {
    RN_ASSERT(!n->up);
    rn_err_t err = rn_raft_store_open(n->io, SIM_DIR, &n->st);
    if (err) {
        sim_trace(s, "node %u restart failed: %s", n->id, rn_err_name(err));
        if (err != RN_ERR_IO) sim_fail(s, "node %u store open: %s", n->id, rn_err_name(err));
        n->st = NULL;
        n->restart_at_ns = rn_sim_now_ns(s->world) + 50000000;
        return;
    }
    rn_raft_boot_t boot;
    rn_raft_store_boot(n->st, &boot);
    boot.config = boot_config(s, n->id);
    rn_raft_opts_t opts = s->opts;
    opts.id = n->id;
    opts.seed = rn_sim_random(s->world);
    err = rn_raft_create(&opts, &boot, &n->raft);
    RN_ASSERT(err == RN_OK);
    kv_restore(n, boot.snapshot);
    if (boot.snapshot) sim_check_state(s, n, boot.snapshot->index);
    rn_raft_store_boot_release(n->st);
    n->up = 1;
    n->reads_n = 0;
    n->role_seen = RN_RAFT_FOLLOWER;
    n->term_seen = rn_raft_term(n->raft);
    n->commit_seen = rn_raft_commit(n->raft);
    n->next_tick_local_ns = rn_sim_node_clock_ns(s->world, n->id) + 10000000;
    sim_trace(s, "node %u start term=%llu vote=%u last=%llu snap=%llu", n->id,
              (unsigned long long)boot.term, boot.vote,
              (unsigned long long)rn_raft_last_index(n->raft),
              (unsigned long long)rn_raft_snapshot_index(n->raft));
}

static void trace_msg(sim_t *s, const char *dir, const rn_raft_msg_t *m) {
    if (!s->trace) return;
    sim_trace(s, "%s %u->%u %s term=%llu idx=%llu lterm=%llu commit=%llu n=%u%s", dir, m->from,
              m->to, rn_raft_msg_name(m->type), (unsigned long long)m->term,
              (unsigned long long)m->index, (unsigned long long)m->log_term,
              (unsigned long long)m->commit, m->entries_n, m->reject ? " reject" : "");
}

static void send_msgs(sim_t *s, sim_node_t *n, const rn_raft_ready_t *rd) {
    for (uint32_t i = 0; i < rd->msgs_n; i++) {
        const rn_raft_msg_t *m = &rd->msgs[i];
        size_t need = rn_raft_msg_size(m);
        if (need > s->msg_buf_cap) {
            s->msg_buf = realloc(s->msg_buf, need);
            RN_ASSERT(s->msg_buf != NULL);
            s->msg_buf_cap = need;
        }
        size_t len = rn_raft_msg_encode(m, s->msg_buf, s->msg_buf_cap);
        trace_msg(s, "send", m);
        sim_check_send(s, n, m);
        rn_sim_send(n->io, m->to, s->msg_buf, len);
    }
}

static rn_err_t persist(sim_t *s, sim_node_t *n, const rn_raft_ready_t *rd) {
    rn_err_t err = RN_OK;
    if (rd->snapshot) {
        err = rn_raft_store_save_snapshot(n->st, rd->snapshot);
        if (err) return err;
        kv_restore(n, rd->snapshot);
        sim_check_state(s, n, rd->snapshot->index);
        sim_trace(s, "node %u install snapshot %llu", n->id,
                  (unsigned long long)rd->snapshot->index);
    }
    if (rd->state_changed) err = rn_raft_store_save_state(n->st, rd->term, rd->vote);
    if (err == RN_OK && rd->entries_n) {
        if (rd->entries[0].index <= rn_raft_store_last_index(n->st))
            sim_check_truncate(s, n, rd->entries[0].index);
        err = rn_raft_store_append(n->st, rd->entries, rd->entries_n);
        if (err == RN_OK)
            sim_check_log_change(s, n, rd->entries[0].index, rd->entries[rd->entries_n - 1].index);
    }
    return err;
}

static void apply(sim_t *s, sim_node_t *n, const rn_raft_entry_t *e) {
    sim_check_apply(s, n, e);
    if (e->type == RN_RAFT_ENTRY_NORMAL) {
        RN_ASSERT(e->len == 12);
        uint64_t value = 0;
        uint32_t key = 0;
        memcpy(&value, e->data, 8);
        memcpy(&key, e->data + 8, 4);
        RN_ASSERT(key < SIM_KEYS);
        n->kv[key] = value;
        sim_client_applied(s, value);
    }
    sim_check_state(s, n, e->index);
}

static void serve_reads(sim_t *s, sim_node_t *n) {
    uint32_t keep = 0;
    uint64_t applied = rn_raft_applied(n->raft);
    for (uint32_t i = 0; i < n->reads_n; i++) {
        if (n->reads[i].index > applied) {
            n->reads[keep++] = n->reads[i];
            continue;
        }
        uint64_t ctx = n->reads[i].ctx;
        sim_client_read_done(s, n, ctx, n->kv[s->ops[ctx].key]);
    }
    n->reads_n = keep;
}

static void take_snapshot(sim_t *s, sim_node_t *n, uint64_t index) {
    rn_err_t err = rn_raft_snapshot_done(n->raft, index, n->kv, sizeof(n->kv));
    RN_ASSERT(err == RN_OK);
    err = rn_raft_store_save_snapshot(n->st, rn_raft_snapshot(n->raft));
    if (err)
        sim_node_crash(s, n, "snapshot write failed");
    else
        sim_trace(s, "node %u snapshot at %llu", n->id, (unsigned long long)index);
}

/* One ready: persist, send, apply, advance. Returns 0 if the node died. */
static int drive_one(sim_t *s, sim_node_t *n, rn_raft_ready_t *rd) {
    rn_err_t err = persist(s, n, rd);
    if (err) {
        sim_node_crash(s, n, rn_err_name(err));
        return 0;
    }
    if (rn_sim_chance(s->world, s->crash_mid_ready_ppm)) {
        sim_node_crash(s, n, "after persist, before send");
        return 0;
    }
    send_msgs(s, n, rd);
    /* Elections are where a lost promise hurts: crash there more often. */
    if (rn_sim_chance(s->world,
                      rd->state_changed ? 25 * s->crash_mid_ready_ppm : s->crash_mid_ready_ppm)) {
        sim_node_crash(s, n, "after send, before apply");
        return 0;
    }
    for (uint32_t i = 0; i < rd->committed_n; i++) apply(s, n, &rd->committed[i]);
    for (uint32_t i = 0; i < rd->reads_n && n->reads_n < SIM_READS_MAX; i++)
        n->reads[n->reads_n++] = rd->reads[i];
    uint64_t want = rd->snapshot_want;
    rn_raft_advance(n->raft, rd);
    serve_reads(s, n);
    if (want) take_snapshot(s, n, want);
    return n->up;
}

void sim_node_drive(sim_t *s, sim_node_t *n) {
    rn_raft_ready_t rd;
    while (n->up && !s->failed && rn_raft_ready(n->raft, &rd)) {
        if (!drive_one(s, n, &rd)) break;
    }
    if (n->up && !s->failed) sim_check_node(s, n);
}

void sim_node_deliver(sim_t *s, sim_node_t *n, const uint8_t *data, size_t len) {
    static const uint32_t entries_cap = RN_RAFT_APPEND_ENTRIES_MAX;
    rn_raft_entry_t entries[RN_RAFT_APPEND_ENTRIES_MAX];
    rn_raft_msg_t m;
    rn_err_t err = rn_raft_msg_decode(data, len, &m, entries, entries_cap);
    if (err) {
        sim_fail(s, "node %u: undecodable message: %s", n->id, rn_err_name(err));
        return;
    }
    trace_msg(s, "recv", &m);
    sim_check_recv(s, n, &m);
    uint64_t term = rn_raft_term(n->raft), last = rn_raft_last_index(n->raft);
    uint64_t last_term = rn_raft_term_at(n->raft, last), commit = rn_raft_commit(n->raft);
    rn_raft_step(n->raft, &m);
    /* §5.1: a request of a stale term is rejected; it changes nothing. */
    uint64_t last_now = rn_raft_last_index(n->raft);
    if (m.term < term && (last_now != last || rn_raft_term_at(n->raft, last_now) != last_term ||
                          rn_raft_commit(n->raft) != commit))
        sim_fail(s, "node %u changed its log on a %s of stale term %llu (its term %llu)", n->id,
                 rn_raft_msg_name(m.type), (unsigned long long)m.term, (unsigned long long)term);
    sim_node_drive(s, n);
}

void sim_node_tick(sim_t *s, sim_node_t *n) {
    n->next_tick_local_ns += 10000000;
    rn_raft_tick(n->raft);
    sim_node_drive(s, n);
}
