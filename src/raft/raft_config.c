/*
 * raft_config.c: membership (voters and learners), its encoding in config
 * entries, and the leader's per-member progress table.
 *
 * A config takes effect as soon as its entry is in the log (committed or not),
 * as in the single-server change of Raft's dissertation; a truncation that
 * removes a config entry reverts to the previous one. Owns nothing on the
 * heap. Never decides whether a change is allowed: raft.c does.
 *
 * Encoding (little endian):
 *   off 0  u32 voters_n    off 4  u32 learners_n
 *   off 8  u32 id * voters_n, then u32 id * learners_n
 */
#include "raft_int.h"

#include "base/assert.h"

#include <string.h>

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t rn_raft_config_encode(const rn_raft_config_t *cfg, uint8_t *out, uint32_t cap) {
    uint32_t len = 8 + 4 * (cfg->voters_n + cfg->learners_n);
    RN_ASSERT(len <= cap);
    put_u32(out, cfg->voters_n);
    put_u32(out + 4, cfg->learners_n);
    uint8_t *p = out + 8;
    for (uint32_t i = 0; i < cfg->voters_n; i++, p += 4) put_u32(p, cfg->voters[i]);
    for (uint32_t i = 0; i < cfg->learners_n; i++, p += 4) put_u32(p, cfg->learners[i]);
    return len;
}

rn_err_t rn_raft_config_decode(const uint8_t *data, uint32_t len, rn_raft_config_t *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    if (len < 8) return RN_ERR_CORRUPT;
    uint32_t v = get_u32(data), l = get_u32(data + 4);
    if (v > RN_RAFT_NODES_MAX || l > RN_RAFT_NODES_MAX || v + l > RN_RAFT_NODES_MAX)
        return RN_ERR_CORRUPT;
    if (len != 8 + 4 * (v + l)) return RN_ERR_CORRUPT;
    cfg->voters_n = v;
    cfg->learners_n = l;
    const uint8_t *p = data + 8;
    for (uint32_t i = 0; i < v; i++, p += 4) cfg->voters[i] = get_u32(p);
    for (uint32_t i = 0; i < l; i++, p += 4) cfg->learners[i] = get_u32(p);
    return RN_OK;
}

int rn_raft_config_has_voter(const rn_raft_config_t *cfg, rn_raft_id_t id) {
    for (uint32_t i = 0; i < cfg->voters_n; i++)
        if (cfg->voters[i] == id) return 1;
    return 0;
}

int rn_raft_config_has_learner(const rn_raft_config_t *cfg, rn_raft_id_t id) {
    for (uint32_t i = 0; i < cfg->learners_n; i++)
        if (cfg->learners[i] == id) return 1;
    return 0;
}

uint32_t rn_raft_quorum(const rn_raft_t *r) { return r->config.voters_n / 2 + 1; }

rn_raft_progress_t *rn_raft_pr_find(rn_raft_t *r, rn_raft_id_t id) {
    for (uint32_t i = 0; i < r->prs_n; i++)
        if (r->prs[i].id == id) return &r->prs[i];
    return NULL;
}

static void pr_init(rn_raft_t *r, rn_raft_progress_t *pr, rn_raft_id_t id) {
    memset(pr, 0, sizeof(*pr));
    pr->id = id;
    pr->state = RN_RAFT_PR_PROBE;
    pr->next = rn_raft_log_last(r) + 1;
    pr->active = 1;
}

/* Rebuilds the progress table for the current config, keeping what the
   leader already knows about members that stay. */
static void pr_rebuild(rn_raft_t *r, int keep) {
    rn_raft_progress_t old[RN_RAFT_NODES_MAX];
    uint32_t old_n = r->prs_n;
    memcpy(old, r->prs, sizeof(old));
    r->prs_n = 0;
    const rn_raft_config_t *cfg = &r->config;
    for (uint32_t i = 0; i < cfg->voters_n + cfg->learners_n; i++) {
        rn_raft_id_t id = i < cfg->voters_n ? cfg->voters[i] : cfg->learners[i - cfg->voters_n];
        if (id == r->opts.id) continue;
        rn_raft_progress_t *pr = &r->prs[r->prs_n++];
        pr_init(r, pr, id);
        for (uint32_t j = 0; keep && j < old_n; j++)
            if (old[j].id == id) *pr = old[j];
    }
    RN_ASSERT(r->prs_n < RN_RAFT_NODES_MAX);
}

void rn_raft_pr_reset(rn_raft_t *r) { pr_rebuild(r, 0); }

void rn_raft_config_set(rn_raft_t *r, const rn_raft_config_t *cfg, uint64_t index) {
    RN_ASSERT(cfg->voters_n + cfg->learners_n <= RN_RAFT_NODES_MAX);
    r->config = *cfg;
    r->config_index = index;
    pr_rebuild(r, 1);
}

/* The config in force at index (the last config entry at or before it). */
int rn_raft_config_at(const rn_raft_t *r, uint64_t index, rn_raft_config_t *cfg) {
    *cfg = r->snap.config;
    uint64_t last = rn_raft_log_last(r);
    if (index > last) index = last;
    for (uint64_t i = index; i > r->snap.index; i--) {
        const rn_raft_entry_t *e = rn_raft_log_get(r, i);
        if (e->type != RN_RAFT_ENTRY_CONFIG) continue;
        rn_err_t err = rn_raft_config_decode(e->data, e->len, cfg);
        RN_ASSERT(err == RN_OK);
        return 1;
    }
    return 0;
}

/* After a truncation, a snapshot install or at start: the last config in
   the log wins, else the snapshot's. */
void rn_raft_config_recompute(rn_raft_t *r) {
    rn_raft_config_t cfg;
    uint64_t index = r->snap.index;
    uint64_t last = rn_raft_log_last(r);
    for (uint64_t i = last; i > r->snap.index; i--) {
        if (rn_raft_log_get(r, i)->type == RN_RAFT_ENTRY_CONFIG) {
            index = i;
            break;
        }
    }
    rn_raft_config_at(r, index, &cfg);
    rn_raft_config_set(r, &cfg, index);
}
