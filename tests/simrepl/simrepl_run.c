/*
 * simrepl_run.c: one seeded run of the replication simulation: setup, the
 * discrete-event loop (deliveries, broker, controller and client timers on
 * skewed clocks, restarts, faults), the controller, the client, healing and
 * the end of the run.
 *
 * The controller is one authoritative sequence of images: each decision is
 * planned with the real controller code on the latest image, checked
 * (rn_controller_check), applied with the real image builder and kept as
 * the next version; brokers and client hear of versions by message (lost,
 * delayed, reordered) and apply the newest they hear of. A crash of the
 * controller loses what it holds in memory (leases, waiting requests),
 * not the images, as a quorum that committed them would keep them.
 *
 * Owns the rp_t of the run. Never looks at the real clock or anything but
 * the seed: two runs of one seed print the same trace byte for byte.
 */
#include "simrepl.h"

#include "base/assert.h"
#include "base/log.h"
#include "metadata/controller_reassign.h"
#include "proto/kerr.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RP_CTL_NODE 1u
#define RP_STALE_EPOCH 1000 /* a heartbeat of an epoch not registered: register again */

void rp_trace(rp_t *s, const char *fmt, ...) {
    if (!s->trace) return;
    int64_t now = rn_sim_now_ns(s->world);
    fprintf(s->trace, "[%6lld.%03lldms] ", (long long)(now / RP_MS),
            (long long)(now % RP_MS / 1000));
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->trace, fmt, ap);
    va_end(ap);
    fputc('\n', s->trace);
}

void rp_fail(rp_t *s, const char *fmt, ...) {
    if (s->failed) return;
    s->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
    va_end(ap);
    rp_trace(s, "CHECK FAILED: %s", s->reason);
}

int64_t rp_local_ms(const rp_t *s, uint32_t node) {
    return rn_sim_node_clock_ns(s->world, node) / RP_MS;
}

const rn_image_t *rp_image(const rp_t *s, uint32_t version) {
    RN_ASSERT(version <= s->version);
    return s->versions[version];
}

static const char *const msg_names[RP_MSG__COUNT] = {
    "?",     "image",      "register", "register-resp", "heartbeat", "heartbeat-resp",
    "alter", "alter-resp", "fetch",    "fetch-resp",    "produce",   "produce-resp",
    "read",  "read-resp"};

void rp_send(rp_t *s, uint32_t from, uint32_t to, rp_msg_t *m, const uint8_t *records, size_t len) {
    RN_ASSERT(len <= RP_RECORDS_BYTES);
    m->records_len = (uint32_t)len;
    if (s->trace && m->kind != RP_MSG_HEARTBEAT && m->kind != RP_MSG_HEARTBEAT_RESP &&
        m->kind != RP_MSG_IMAGE && m->kind != RP_MSG_READ && m->kind != RP_MSG_READ_RESP)
        rp_trace(s, "%u -> %u %s p%d code %d offset %lld hw %lld epoch %d/%d div %d@%lld %zu B",
                 from, to, msg_names[m->kind], m->partition, m->code, (long long)m->offset,
                 (long long)m->hw, m->current_leader_epoch, m->last_fetched_epoch, m->div_epoch,
                 (long long)m->div_end, len);
    uint8_t *buf = (uint8_t *)m;
    if (len > 0 && records != buf + sizeof(*m)) {
        RN_ASSERT((uint8_t *)m != s->buf);
        memcpy(s->buf, m, sizeof(*m));
        memcpy(s->buf + sizeof(*m), records, len);
        buf = s->buf;
    }
    rn_sim_send(rn_sim_io(s->world, from), to, buf, sizeof(*m) + len);
}

/* ---- the controller ---- */

static void push_image(rp_t *s) {
    rp_msg_t m = {.kind = RP_MSG_IMAGE, .version = s->version};
    for (uint32_t b = 1; b <= s->brokers_n; b++) rp_send(s, RP_CTL_NODE, b + 1, &m, NULL, 0);
    rp_send(s, RP_CTL_NODE, s->client_node, &m, NULL, 0);
}

static const rn_image_t *ctl_image(const rp_t *s) { return s->versions[s->version]; }

/* Checks, applies and publishes a planned batch: the next version. */
static int ctl_commit(rp_t *s, rn_md_batch_t *batch, const char *what) {
    rp_ctl_t *c = &s->ctl;
    if (batch->count == 0) return 0;
    rn_err_t err = rn_controller_check(&c->ctl, batch);
    if (err != RN_OK) {
        rp_fail(s, "the controller planned %s that the image refuses: %s", what, rn_err_name(err));
        return 0;
    }
    RN_ASSERT(s->version + 1 < RP_VERSIONS_MAX);
    rn_image_builder_t builder;
    err = rn_image_builder_init(&builder, ctl_image(s));
    RN_ASSERT(err == RN_OK);
    err = rn_image_builder_apply_batch(&builder, rn_image_next_offset(ctl_image(s)), batch);
    RN_ASSERT(err == RN_OK); /* rn_controller_check applied it */
    rn_image_t *next = rn_image_builder_finish(&builder);
    RN_ASSERT(next != NULL);
    s->versions[++s->version] = next;
    rn_controller_adopt(&c->ctl, next);
    s->stats.versions++;
    rp_trace(s, "controller: version %u: %s (%u records)", s->version, what, batch->count);
    const rn_image_topic_t *it = rn_image_topic(next, RP_TOPIC, strlen(RP_TOPIC));
    for (int32_t p = 0; it && p < it->partition_count; p++) {
        const rn_image_partition_t *ip = &it->partitions[p];
        char isr[64] = "";
        size_t n = 0;
        for (int16_t i = 0; i < ip->isr_count; i++)
            n += (size_t)snprintf(isr + n, sizeof isr - n, "%s%d", i ? "," : "", ip->isr[i]);
        rp_trace(s, "  %s-%d leader %d epoch %d/%d isr [%s]", RP_TOPIC, p, ip->leader,
                 ip->leader_epoch, ip->partition_epoch, isr);
    }
    push_image(s);
    return 1;
}

static void ctl_answer(rp_t *s, uint32_t to, const rp_msg_t *req, uint8_t kind, int16_t code,
                       int64_t epoch) {
    rp_msg_t m = *req;
    m.kind = kind;
    m.code = code;
    m.epoch = epoch;
    m.version = s->version;
    m.records_len = 0;
    rp_send(s, RP_CTL_NODE, to, &m, NULL, 0);
}

static int ctl_register(rp_t *s, rn_md_batch_t *batch, int64_t now) {
    rp_ctl_t *c = &s->ctl;
    for (int32_t id = 1; id <= (int32_t)s->brokers_n; id++) {
        if (!c->reg_want[id]) continue;
        c->reg_want[id] = 0;
        char host[16];
        snprintf(host, sizeof host, "node%d", id + 1);
        rn_md_endpoint_t ep = {rn_str_from_cstr("PLAINTEXT"), rn_str_from_cstr(host),
                               (uint16_t)(9092 + id), 0};
        rn_ctl_broker_reg_t reg = {id, c->reg_msg[id].incarnation, &ep,
                                   1,  (rn_str_t){NULL, -1},       {{0}}};
        int64_t epoch = -1;
        rn_ctl_result_t res;
        int16_t code =
            rn_ctl_plan_register(ctl_image(s), &c->leases, &reg, rn_image_next_offset(ctl_image(s)),
                                 now, RP_SESSION_MS, batch, &epoch, &res);
        if (code == RN_KERR_NONE) {
            rn_ctl_leases_touch(&c->leases, id, now);
            ctl_commit(s, batch, "a registration");
            c->reg_version[id] = s->version;
        }
        ctl_answer(s, (uint32_t)id + 1, &c->reg_msg[id], RP_MSG_REGISTER_RESP, code, epoch);
        return 1;
    }
    return 0;
}

static int ctl_fence(rp_t *s, rn_md_batch_t *batch, int64_t now) {
    int32_t ids[RN_CTL_BROKERS_MAX];
    int32_t n = rn_ctl_leases_expired(&s->ctl.leases, ctl_image(s), now, RP_SESSION_MS, ids);
    if (n == 0) return 0;
    rn_err_t err = rn_ctl_plan_fence(ctl_image(s), ids[0], batch);
    if (err != RN_OK) {
        rp_fail(s, "fence of broker %d: %s", ids[0], rn_err_name(err));
        return 0;
    }
    char what[32];
    snprintf(what, sizeof what, "fence of broker %d", ids[0]);
    return ctl_commit(s, batch, what);
}

static int ctl_unfence(rp_t *s, rn_md_batch_t *batch) {
    rp_ctl_t *c = &s->ctl;
    for (int32_t id = 1; id <= (int32_t)s->brokers_n; id++) {
        if (!c->unfence_want[id]) continue;
        c->unfence_want[id] = 0;
        rn_err_t err = rn_ctl_plan_unfence(ctl_image(s), id, batch);
        if (err != RN_OK) continue;
        char what[32];
        snprintf(what, sizeof what, "unfence of broker %d", id);
        if (ctl_commit(s, batch, what)) return 1;
    }
    return 0;
}

static int ctl_alter(rp_t *s, rn_md_batch_t *batch) {
    rp_ctl_t *c = &s->ctl;
    for (int32_t id = 1; id <= (int32_t)s->brokers_n; id++) {
        if (!c->alter_want[id]) continue;
        c->alter_want[id] = 0;
        rp_msg_t *req = &c->alter_msg[id];
        rn_ctl_isr_request_t ir = {id, req->epoch, req->count, req->changes};
        rp_msg_t ans = *req;
        rn_err_t err = rn_ctl_plan_alter_partition(ctl_image(s), &ir, ans.results, batch);
        int16_t code = err == RN_ERR_STALE ? RN_KERR_STALE_BROKER_EPOCH : RN_KERR_NONE;
        if (err == RN_OK && batch->count > 0) {
            if (!ctl_commit(s, batch, "an ISR change")) return 1;
            s->stats.isr_changes++;
            rn_ctl_isr_results_from(ctl_image(s), &ir, ans.results);
        }
        ctl_answer(s, (uint32_t)id + 1, &ans, RP_MSG_ALTER_RESP, code, req->epoch);
        return 1;
    }
    return 0;
}

static int ctl_create(rp_t *s, rn_md_batch_t *batch) {
    rp_ctl_t *c = &s->ctl;
    if (c->topic_made) return 0;
    char min_isr[4];
    snprintf(min_isr, sizeof min_isr, "%d", s->min_isr);
    rn_ctl_config_t cfg = {rn_str_from_cstr("min.insync.replicas"), rn_str_from_cstr(min_isr)};
    rn_ctl_new_topic_t t = {.name = rn_str_from_cstr(RP_TOPIC),
                            .num_partitions = s->parts_n,
                            .replication_factor = 3,
                            .configs = &cfg,
                            .config_count = 1};
    rn_ctl_topic_result_t res;
    rn_controller_plan_create_topics(&c->ctl, &t, 1, batch, &res);
    if (res.result.error_code != RN_KERR_NONE) {
        rn_md_batch_reset(batch);
        return 0;
    }
    c->topic_made = ctl_commit(s, batch, "topic creation");
    return c->topic_made;
}

/* The completion pass of reassignments, as the active controller runs it
   after every applied change. */
static int ctl_progress(rp_t *s, rn_md_batch_t *batch) {
    int32_t done = 0;
    bool more = false;
    rn_err_t err = rn_ctl_plan_reassign_progress(ctl_image(s), 8, batch, &done, &more);
    if (err != RN_OK) {
        rp_fail(s, "the reassignment pass failed: %s", rn_err_name(err));
        return 0;
    }
    const rn_image_t *before = ctl_image(s);
    if (done == 0 || !ctl_commit(s, batch, "reassignments completed")) return 0;
    s->stats.moves_done += (uint64_t)done;
    /* A move never takes a partition below its in-sync replicas: once
       completed, every replica it keeps is in the ISR. */
    const rn_image_topic_t *was = rn_image_topic(before, RP_TOPIC, strlen(RP_TOPIC));
    const rn_image_topic_t *now = rn_image_topic(ctl_image(s), RP_TOPIC, strlen(RP_TOPIC));
    for (int32_t p = 0; p < now->partition_count; p++) {
        const rn_image_partition_t *ip = &now->partitions[p];
        if (rn_image_partition_moving(&was->partitions[p]) && !rn_image_partition_moving(ip) &&
            ip->isr_count != ip->replica_count)
            rp_fail(s, "%s-%d: a reassignment completed with %d of its %d replicas in sync",
                    RP_TOPIC, p, ip->isr_count, ip->replica_count);
    }
    return 1;
}

/* A client's reassignment, while faults run: a partition to a random
   target of 2 or 3 distinct brokers (a grow, a shrink, a move or a
   reorder), or, one time in eight, a cancel. */
static int ctl_reassign(rp_t *s, rn_md_batch_t *batch, int64_t now) {
    rp_ctl_t *c = &s->ctl;
    if (!c->topic_made || s->phase != 0 || now < c->next_move_ms) return 0;
    c->next_move_ms = now + (int64_t)rn_sim_below(s->world, 2 * RP_MOVE_EVERY_MS);
    int32_t ids[RP_BROKERS_MAX];
    for (int32_t i = 0; i < (int32_t)s->brokers_n; i++) ids[i] = i + 1;
    for (int32_t i = (int32_t)s->brokers_n - 1; i > 0; i--) {
        int32_t j = (int32_t)rn_sim_below(s->world, (uint64_t)i + 1), t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
    }
    int32_t count = 2 + (int32_t)rn_sim_below(s->world, 2);
    bool cancel = rn_sim_chance(s->world, 125000);
    rn_ctl_reassign_partition_t part = {(int32_t)rn_sim_below(s->world, (uint64_t)s->parts_n),
                                        cancel ? NULL : ids, cancel ? 0 : count};
    rn_ctl_reassign_topic_t topic = {rn_str_from_cstr(RP_TOPIC), &part, 1};
    rn_ctl_reassign_request_t req = {&topic, 1, false};
    rn_ctl_result_t res;
    rn_err_t err = rn_ctl_plan_reassign(ctl_image(s), &req, &res, batch);
    if (err != RN_OK) {
        rp_fail(s, "a reassignment could not be planned: %s", rn_err_name(err));
        return 0;
    }
    rp_trace(s, "controller: reassign %s-%d to %s%d,%d%s%d: %s", RP_TOPIC, part.partition,
             cancel ? "(cancel) " : "", ids[0], ids[1], count > 2 ? "," : "",
             count > 2 ? ids[2] : 0, rn_kerr_name(res.error_code));
    if (!ctl_commit(s, batch, cancel ? "a reassignment cancelled" : "a reassignment")) return 0;
    s->stats.moves++;
    return 1;
}

static void ctl_tick(rp_t *s) {
    rp_ctl_t *c = &s->ctl;
    int64_t now = rp_local_ms(s, RP_CTL_NODE);
    if (now >= c->next_push_ms) {
        c->next_push_ms = now + 100;
        push_image(s);
    }
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    /* one decision a tick, as the active controller plans one at a time */
    if (!ctl_register(s, &batch, now) && !ctl_fence(s, &batch, now) && !ctl_unfence(s, &batch) &&
        !ctl_alter(s, &batch) && !ctl_progress(s, &batch) && !ctl_reassign(s, &batch, now))
        ctl_create(s, &batch);
    rn_md_batch_free(&batch);
}

static void ctl_recv(rp_t *s, uint32_t from, const rp_msg_t *m) {
    rp_ctl_t *c = &s->ctl;
    int32_t id = m->broker_id;
    if (id < 1 || id > (int32_t)s->brokers_n || from != (uint32_t)id + 1) return;
    int64_t now = rp_local_ms(s, RP_CTL_NODE);
    if (m->kind == RP_MSG_REGISTER) {
        c->reg_want[id] = 1;
        c->reg_msg[id] = *m;
    } else if (m->kind == RP_MSG_HEARTBEAT) {
        const rn_image_broker_t *b = rn_image_broker(ctl_image(s), id);
        if (!b || b->epoch != m->epoch) {
            ctl_answer(s, from, m, RP_MSG_HEARTBEAT_RESP, RP_STALE_EPOCH, m->epoch);
            return;
        }
        rn_ctl_leases_touch(&c->leases, id, now);
        /* unfenced once it caught up with the image of its registration */
        if (b->fenced && m->version >= c->reg_version[id]) c->unfence_want[id] = 1;
        ctl_answer(s, from, m, RP_MSG_HEARTBEAT_RESP, 0, m->epoch);
    } else if (m->kind == RP_MSG_ALTER) {
        c->alter_want[id] = 1;
        c->alter_msg[id] = *m;
    }
}

static void ctl_start(rp_t *s) {
    rp_ctl_t *c = &s->ctl;
    c->up = 1;
    memset(c->reg_want, 0, sizeof c->reg_want);
    memset(c->unfence_want, 0, sizeof c->unfence_want);
    memset(c->alter_want, 0, sizeof c->alter_want);
    /* A new active controller: a fresh lease for every registered broker. */
    rn_ctl_leases_init(&c->leases, ctl_image(s), rp_local_ms(s, RP_CTL_NODE));
    c->next_tick_local_ns = rn_sim_node_clock_ns(s->world, RP_CTL_NODE);
    c->next_push_ms = 0;
    rp_trace(s, "controller: up at version %u", s->version);
}

/* ---- the client ---- */

static int32_t leader_of(rp_t *s, int32_t p) {
    const rn_image_t *img = rp_image(s, s->client.version);
    const rn_image_topic_t *it = rn_image_topic(img, RP_TOPIC, strlen(RP_TOPIC));
    if (!it || p >= it->partition_count) return -1;
    return it->partitions[p].leader;
}

static void client_produce(rp_t *s) {
    rp_client_t *cl = &s->client;
    int slot = -1;
    for (int i = 0; i < RP_PRODUCES_MAX; i++) {
        rp_produce_t *pr = &cl->produces[i];
        if (pr->token && rn_sim_now_ns(s->world) >= pr->deadline_ns) pr->token = 0; /* gave up */
        if (!pr->token && slot < 0) slot = i;
    }
    if (slot < 0 || cl->stopped || !rn_sim_chance(s->world, 500000)) return;
    int32_t p = (int32_t)rn_sim_below(s->world, (uint64_t)s->parts_n);
    int32_t leader = leader_of(s, p);
    if (leader < 0) return;
    rp_produce_t *pr = &cl->produces[slot];
    *pr = (rp_produce_t){.token = ++s->next_token,
                         .partition = p,
                         .acks = rn_sim_chance(s->world, 800000) ? -1 : 1,
                         .value = ++s->next_value,
                         .deadline_ns = rn_sim_now_ns(s->world) + 1000 * RP_MS};
    rp_msg_t m = {.kind = RP_MSG_PRODUCE,
                  .partition = p,
                  .token = pr->token,
                  .acks = pr->acks,
                  .value = pr->value};
    rp_send(s, s->client_node, (uint32_t)leader + 1, &m, NULL, 0);
}

static void client_read(rp_t *s) {
    rp_client_t *cl = &s->client;
    int64_t now = rn_sim_now_ns(s->world);
    for (int32_t p = 0; p < s->parts_n; p++) {
        if (cl->read_token[p] && now - cl->read_sent_ns[p] < 200 * RP_MS) continue;
        int32_t leader = leader_of(s, p);
        if (leader < 0) continue;
        cl->read_token[p] = ++s->next_token;
        cl->read_sent_ns[p] = now;
        rp_msg_t m = {.kind = RP_MSG_READ,
                      .partition = p,
                      .token = cl->read_token[p],
                      .offset = cl->read_pos[p]};
        rp_send(s, s->client_node, (uint32_t)leader + 1, &m, NULL, 0);
    }
}

static void client_tick(rp_t *s) {
    s->client.next_tick_ns += RP_CLIENT_TICK_NS;
    client_produce(s);
    client_read(s);
}

typedef struct read_ctx {
    rp_t *s;
    int32_t p;
    int64_t next;
} read_ctx_t;

static void client_record(void *ctx, int64_t offset, int32_t epoch, uint64_t value) {
    read_ctx_t *rc = ctx;
    (void)epoch;
    rp_check_read(rc->s, rc->p, offset, value);
    rc->s->stats.reads++;
    rc->next = offset + 1;
}

static void client_recv(rp_t *s, const rp_msg_t *m, const uint8_t *records) {
    rp_client_t *cl = &s->client;
    if (m->kind == RP_MSG_IMAGE) {
        if (m->version > cl->version) cl->version = m->version;
        return;
    }
    int32_t p = m->partition;
    if (p < 0 || p >= s->parts_n) return;
    if (m->kind == RP_MSG_PRODUCE_RESP) {
        for (int i = 0; i < RP_PRODUCES_MAX; i++) {
            rp_produce_t *pr = &cl->produces[i];
            if (!pr->token || pr->token != m->token) continue;
            pr->token = 0;
            if (m->code == RN_KERR_NONE) rp_check_acked(s, p, m->offset, pr->value, pr->acks);
        }
        return;
    }
    if (m->kind != RP_MSG_READ_RESP || m->token != cl->read_token[p]) return;
    cl->read_token[p] = 0;
    if (m->code != RN_KERR_NONE) return;
    /* The high watermark a consumer sees from one leader (one incarnation
       of it, in one leader epoch) never goes back. A new leader, or the same
       one restarted, starts from the high watermark it knows, which may be
       lower until its followers have fetched from it (as in Kafka): counted. */
    int same = m->current_leader_epoch == cl->hw_epoch[p] && m->value == cl->hw_leader[p];
    if (same && m->hw < cl->hw_seen[p])
        rp_fail(s,
                "%s-%d: a consumer saw the high watermark go back from %lld to %lld at leader "
                "epoch %d",
                RP_TOPIC, p, (long long)cl->hw_seen[p], (long long)m->hw, m->current_leader_epoch);
    if (!same && m->current_leader_epoch >= cl->hw_epoch[p]) {
        if (m->hw < cl->hw_seen[p]) s->stats.hw_back_on_new_leader++;
        cl->hw_epoch[p] = m->current_leader_epoch;
        cl->hw_leader[p] = m->value;
        cl->hw_seen[p] = m->hw;
    } else if (same && m->hw > cl->hw_seen[p]) {
        cl->hw_seen[p] = m->hw;
    }
    read_ctx_t rc = {s, p, cl->read_pos[p]};
    rp_records_scan(records, m->records_len, client_record, &rc);
    if (rc.next > cl->read_pos[p]) cl->read_pos[p] = rc.next;
}

/* ---- faults ---- */

static void broker_down(rp_t *s, rp_broker_t *b, int power_loss, int64_t restart_in_ns) {
    rp_broker_crash(s, b, power_loss);
    b->restart_at_ns = rn_sim_now_ns(s->world) + restart_in_ns;
}

static int64_t restart_delay(rp_t *s) {
    return rn_sim_chance(s->world, 333333) ? (1 + (int64_t)rn_sim_below(s->world, 20)) * RP_MS
                                           : (20 + (int64_t)rn_sim_below(s->world, 600)) * RP_MS;
}

static void fault_one(rp_t *s) {
    s->next_fault_ns =
        rn_sim_now_ns(s->world) + (10 + (int64_t)rn_sim_below(s->world, 120)) * RP_MS;
    s->stats.faults++;
    uint32_t nodes = s->client_node;
    uint64_t kind = rn_sim_below(s->world, 100);
    int32_t id = 1 + (int32_t)rn_sim_below(s->world, s->brokers_n);
    rp_broker_t *b = &s->brokers[id];
    if (kind < 30) {
        /* crash a broker, the leader of some partition as often as not */
        if (rn_sim_chance(s->world, 500000)) {
            int32_t leader = leader_of(s, (int32_t)rn_sim_below(s->world, (uint64_t)s->parts_n));
            if (leader > 0) b = &s->brokers[leader];
        }
        if (!b->up) return;
        int power = rn_sim_chance(s->world, 500000);
        rp_trace(s, "fault: broker %d %s", b->id, power ? "loses power" : "crashes");
        broker_down(s, b, power, restart_delay(s));
    } else if (kind < 36) {
        if (!s->ctl.up) return;
        rp_trace(s, "fault: the controller crashes");
        s->ctl.up = 0;
        rn_sim_net_purge(s->world, RP_CTL_NODE);
        s->ctl.restart_at_ns = rn_sim_now_ns(s->world) + restart_delay(s);
    } else if (kind < 50) {
        uint32_t side = (uint32_t)rn_sim_random(s->world);
        rp_trace(s, "fault: partition the network (sides %#x)", side & ((1u << nodes) - 1));
        for (uint32_t a = 1; a <= nodes; a++)
            for (uint32_t c = 1; c <= nodes; c++)
                if (a != c && ((side >> a) & 1) != ((side >> c) & 1))
                    rn_sim_link_cut(s->world, a, c, 1);
    } else if (kind < 62) {
        rp_trace(s, "fault: heal the network");
        rn_sim_link_heal_all(s->world);
    } else if (kind < 70) {
        uint32_t a = 1 + (uint32_t)rn_sim_below(s->world, nodes);
        uint32_t c = 1 + (uint32_t)rn_sim_below(s->world, nodes);
        if (a == c) return;
        rp_trace(s, "fault: cut %u -> %u", a, c);
        rn_sim_link_cut(s->world, a, c, 1);
    } else if (kind < 82) {
        rn_sim_net_opts_t net = {(uint32_t)rn_sim_below(s->world, 300000),
                                 (uint32_t)rn_sim_below(s->world, 100000), 1 * RP_MS,
                                 (2 + (int64_t)rn_sim_below(s->world, 40)) * RP_MS};
        rp_trace(s, "fault: network drop %u ppm, dup %u ppm, delay up to %lld ms", net.drop_ppm,
                 net.dup_ppm, (long long)(net.delay_max_ns / RP_MS));
        rn_sim_net_set(s->world, &net);
    } else if (kind < 92) {
        uint32_t node = 1 + (uint32_t)rn_sim_below(s->world, nodes);
        int32_t skew = (int32_t)rn_sim_below(s->world, 400001) - 200000;
        rp_trace(s, "fault: clock skew %d ppm on node %u", skew, node);
        rn_sim_clock_skew(s->world, node, skew);
    } else {
        uint32_t ppm =
            rn_sim_chance(s->world, 500000) ? 0 : 10000 + (uint32_t)rn_sim_below(s->world, 100000);
        rp_trace(s, "fault: disk errors on broker %d: %u ppm", id, ppm);
        rn_sim_disk_fail(s->world, b->node, ppm);
    }
}

static void heal(rp_t *s) {
    s->phase = 1;
    rn_sim_link_heal_all(s->world);
    rn_sim_net_opts_t net = {0, 0, 1 * RP_MS, 5 * RP_MS};
    rn_sim_net_set(s->world, &net);
    for (uint32_t n = 1; n <= s->client_node; n++) {
        rn_sim_clock_skew(s->world, n, 0);
        rn_sim_disk_fail(s->world, n, 0);
    }
    for (uint32_t id = 1; id <= s->brokers_n; id++) {
        rp_broker_t *b = &s->brokers[id];
        if (b->up && rp_broker_offline(b)) broker_down(s, b, 0, 0);
        if (!b->up) b->restart_at_ns = rn_sim_now_ns(s->world);
    }
    if (!s->ctl.up) s->ctl.restart_at_ns = rn_sim_now_ns(s->world);
    s->client.stopped = 1;
    s->deadline_ns = rn_sim_now_ns(s->world) + RP_LIVENESS_NS;
    rp_trace(s, "heal: faults cleared, every node restarting, no more produces");
}

/* ---- the end: everything settled ---- */

/* What settling still waits for, or NULL. */
static const char *unsettled(rp_t *s) {
    if (!s->ctl.up) return "the controller is down";
    const rn_image_t *img = ctl_image(s);
    const rn_image_topic_t *it = rn_image_topic(img, RP_TOPIC, strlen(RP_TOPIC));
    if (!it) return "the topic was never created";
    for (int i = 0; i < RP_PRODUCES_MAX; i++)
        if (s->client.produces[i].token) return "a produce is unanswered";
    for (int32_t p = 0; p < it->partition_count; p++) {
        const rn_image_partition_t *ip = &it->partitions[p];
        if (ip->leader < 0) return "a partition has no leader";
        if (rn_image_partition_moving(ip)) return "a reassignment is in progress";
        for (uint32_t id = 1; id <= s->brokers_n; id++) {
            bool replica = false;
            for (int16_t n = 0; n < ip->replica_count; n++)
                replica |= ip->replicas[n] == (int32_t)id;
            if (!replica && s->brokers[id].up && s->brokers[id].parts[p])
                return "a broker still holds a replica moved away";
        }
        if (ip->isr_count != ip->replica_count) return "a replica is out of the ISR";
        rp_broker_t *l = &s->brokers[ip->leader];
        rn_partition_t *lp = l->up ? l->parts[p] : NULL;
        if (!lp || lp->role != RN_PARTITION_LEADER || lp->lead.leader_epoch != ip->leader_epoch)
            return "a leader has not taken its leadership";
        int64_t end = rn_log_end_offset(lp->log);
        if (rn_partition_hw(lp) != end) return "a leader's high watermark is below its end";
        for (int16_t n = 0; n < ip->replica_count; n++) {
            rp_broker_t *r = &s->brokers[ip->replicas[n]];
            rn_partition_t *rp = r->up ? r->parts[p] : NULL;
            if (!rp || rn_log_end_offset(rp->log) != end || rn_partition_hw(rp) != end)
                return "a replica has not caught up";
        }
        if (s->client.read_pos[p] > end) {
            rp_fail(s,
                    "%s-%d: the consumer read up to offset %lld, the settled log ends at %lld: "
                    "records it read are gone",
                    RP_TOPIC, p, (long long)s->client.read_pos[p] - 1, (long long)end);
            return NULL;
        }
        if (s->client.read_pos[p] != end) return "the consumer has not read everything";
    }
    return NULL;
}

/* ---- the event loop ---- */

enum {
    EV_NONE,
    EV_DELIVER,
    EV_BROKER,
    EV_CTL,
    EV_CLIENT,
    EV_RESTART,
    EV_CTL_RESTART,
    EV_FAULT,
    EV_HEAL
};

static int next_event(rp_t *s, int64_t *at, uint32_t *who) {
    int kind = EV_NONE;
    int64_t best = INT64_MAX, t = rn_sim_next_delivery(s->world);
    if (t >= 0) best = t, kind = EV_DELIVER;
    for (uint32_t id = 1; id <= s->brokers_n; id++) {
        rp_broker_t *b = &s->brokers[id];
        t = b->up ? rn_sim_global_at(s->world, b->node, b->next_tick_local_ns) : b->restart_at_ns;
        if (t < best) best = t, kind = b->up ? EV_BROKER : EV_RESTART, *who = id;
    }
    t = s->ctl.up ? rn_sim_global_at(s->world, RP_CTL_NODE, s->ctl.next_tick_local_ns)
                  : s->ctl.restart_at_ns;
    if (t < best) best = t, kind = s->ctl.up ? EV_CTL : EV_CTL_RESTART;
    if (s->client.next_tick_ns < best) best = s->client.next_tick_ns, kind = EV_CLIENT;
    t = s->phase ? INT64_MAX : s->next_fault_ns < s->heal_at_ns ? s->next_fault_ns : s->heal_at_ns;
    if (t < best) best = t, kind = t == s->heal_at_ns ? EV_HEAL : EV_FAULT;
    *at = best;
    return kind;
}

static void deliver(rp_t *s, uint32_t to, uint32_t from, const uint8_t *data, size_t len) {
    if (len < sizeof(rp_msg_t)) return;
    rp_msg_t m;
    memcpy(&m, data, sizeof m);
    if (m.records_len != len - sizeof m) return;
    const uint8_t *records = data + sizeof m;
    if (to == RP_CTL_NODE) {
        if (s->ctl.up) ctl_recv(s, from, &m);
    } else if (to == s->client_node) {
        client_recv(s, &m, records);
    } else {
        rp_broker_t *b = &s->brokers[to - 1];
        if (b->up) rp_broker_recv(s, b, from, &m, records);
    }
}

static void step(rp_t *s, int kind, uint32_t who) {
    uint32_t to = 0, from = 0;
    uint8_t *data = NULL;
    size_t len = 0;
    switch (kind) {
    case EV_DELIVER:
        while (!s->failed && rn_sim_recv(s->world, &to, &from, &data, &len)) {
            deliver(s, to, from, data, len);
            free(data);
        }
        break;
    case EV_BROKER:
        s->brokers[who].next_tick_local_ns += RP_BROKER_TICK_NS;
        rp_broker_tick(s, &s->brokers[who]);
        break;
    case EV_RESTART:
        rp_broker_start(s, &s->brokers[who]);
        break;
    case EV_CTL:
        s->ctl.next_tick_local_ns += RP_CTL_TICK_NS;
        ctl_tick(s);
        break;
    case EV_CTL_RESTART:
        ctl_start(s);
        break;
    case EV_CLIENT:
        client_tick(s);
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
    /* A broker whose storage failed for good restarts (its partitions
       recover from disk), as an operator would restart it. */
    for (uint32_t id = 1; id <= s->brokers_n && !s->failed; id++) {
        rp_broker_t *b = &s->brokers[id];
        if (b->up && rp_broker_offline(b)) {
            rp_trace(s, "broker %d: a partition is offline: restarting", b->id);
            broker_down(s, b, 0, 10 * RP_MS);
        }
    }
}

static void setup(rp_t *s, uint64_t seed) {
    s->seed = seed;
    s->world = rn_sim_create(seed, RP_NODES_MAX);
    rn_topic_config_base_init(&s->base);
    s->brokers_n = rn_sim_chance(s->world, 500000) ? 3 : 4;
    s->client_node = s->brokers_n + 2;
    s->parts_n = 1 + (int32_t)rn_sim_below(s->world, RP_PARTS_MAX);
    s->min_isr = rn_sim_chance(s->world, 700000) ? 2 : 1;
    s->check = rp_check_create(s->parts_n);
    s->buf = malloc(sizeof(rp_msg_t) + RP_RECORDS_BYTES);
    RN_ASSERT(s->buf != NULL);
    s->heal_at_ns = 1000 * RP_MS + (int64_t)rn_sim_below(s->world, 1500 * RP_MS);
    s->next_fault_ns = 200 * RP_MS + (int64_t)rn_sim_below(s->world, 200 * RP_MS);
    rn_sim_net_opts_t net = {0, 0, 1 * RP_MS, (2 + (int64_t)rn_sim_below(s->world, 8)) * RP_MS};
    rn_sim_net_set(s->world, &net);
    rp_trace(s,
             "seed %llu: %u brokers, %d partitions of RF 3, min.insync.replicas %d, heal at "
             "%lld ms",
             (unsigned long long)seed, s->brokers_n, s->parts_n, s->min_isr,
             (long long)(s->heal_at_ns / RP_MS));
    s->versions[0] = rn_image_empty(&s->base);
    RN_ASSERT(s->versions[0] != NULL);
    rn_ctl_settings_t set = {.node_id = 0, .num_partitions = 1, .default_replication_factor = 3};
    rn_err_t err = rn_controller_init(&s->ctl.ctl, rn_sim_io(s->world, RP_CTL_NODE), &s->base, &set,
                                      s->versions[0]);
    RN_ASSERT(err == RN_OK);
    s->ctl.ctl.brokers_register = true;
    ctl_start(s);
    for (uint32_t id = 1; id <= s->brokers_n; id++) {
        rp_broker_t *b = &s->brokers[id];
        b->sim = s;
        b->id = (int32_t)id;
        b->node = id + 1;
        b->io = rn_sim_io(s->world, b->node);
        rp_broker_start(s, b);
    }
    s->client.next_tick_ns = 50 * RP_MS;
}

static void teardown(rp_t *s) {
    for (uint32_t id = 1; id <= s->brokers_n; id++)
        if (s->brokers[id].up) rp_broker_crash(s, &s->brokers[id], 0);
    rn_controller_close(&s->ctl.ctl);
    for (uint32_t v = 0; v <= s->version; v++) rn_image_release(s->versions[v]);
    rn_sim_destroy(s->world);
    rp_check_destroy(s->check);
    free(s->buf);
}

static int finished(rp_t *s) {
    if (s->phase == 0) return 0;
    const char *missing = unsettled(s);
    if (s->failed) return 1;
    if (!missing) {
        rp_trace(s, "settled: checking every replica's whole log");
        rp_check_final(s);
        return 1;
    }
    if (rn_sim_now_ns(s->world) < s->deadline_ns) return 0;
    rp_fail(s, "liveness: %s within %lld ms of healing", missing,
            (long long)(RP_LIVENESS_NS / RP_MS));
    return 1;
}

int rp_run(uint64_t seed, FILE *trace, rp_stats_t *stats, char *reason, size_t reason_cap,
           rn_sim_stats_t *world_stats) {
    rn_log_set_level((rn_log_level_t)(RN_LOG_ERROR + 1)); /* the trace says what matters */
    rp_t *s = calloc(1, sizeof(*s));
    RN_ASSERT(s != NULL);
    s->trace = trace;
    setup(s, seed);
    while (!s->failed && !finished(s)) {
        int64_t at = 0;
        uint32_t who = 0;
        int kind = next_event(s, &at, &who);
        RN_ASSERT(kind != EV_NONE);
        rn_sim_advance(s->world, at);
        s->stats.steps++;
        step(s, kind, who);
    }
    rp_trace(s,
             "end: %s; %llu steps, %llu faults, %llu versions, %llu acks=all, %llu acks=1, %llu "
             "records read, %llu truncations, %llu committed",
             s->failed ? "FAILED" : "ok", (unsigned long long)s->stats.steps,
             (unsigned long long)s->stats.faults, (unsigned long long)s->stats.versions,
             (unsigned long long)s->stats.acked_all, (unsigned long long)s->stats.acked_one,
             (unsigned long long)s->stats.reads, (unsigned long long)s->stats.truncations,
             (unsigned long long)rp_check_committed(s->check));
    *stats = s->stats;
    *world_stats = *rn_sim_stats(s->world);
    snprintf(reason, reason_cap, "%s", s->reason);
    int failed = s->failed;
    teardown(s);
    free(s);
    return failed;
}
