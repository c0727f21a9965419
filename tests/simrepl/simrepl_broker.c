/*
 * simrepl_broker.c: one broker of the replication simulation: its
 * partitions on the simulated disk, the leadership it takes from each
 * image, the leader's side of its followers' fetches (rn_repl_serve), the
 * follower's side (rn_follower_ask, rn_follower_take, the fsync before the
 * next fetch), the group commit, the ISR checks sent to the controller,
 * and the client's produces and reads. The Fetch handler, the replica
 * fetchers and replicas_rt.c do the same over the network; this file is
 * their transport and timers, nothing more.
 *
 * Owns the broker's partitions and waiters between a start and a crash.
 */
#include "simrepl.h"

#include "base/assert.h"
#include "cluster/purge.h"
#include "handlers/handler.h"
#include "proto/kerr.h"
#include "replication/follower.h"
#include "replication/leadership.h"
#include "replication/serve.h"

#include <stdlib.h>
#include <string.h>

enum { WAIT_PRODUCE = 1, WAIT_SYNC = 2 };

static int64_t now_ms(rp_t *s, rp_broker_t *b) { return rp_local_ms(s, b->node); }

static uint32_t node_of(int32_t broker) { return (uint32_t)broker + 1; }

static rp_wait_t *wait_new(rp_broker_t *b, int kind, int32_t p) {
    for (int i = 0; i < RP_WAITS_MAX; i++) {
        rp_wait_t *w = &b->waits[i];
        if (w->used) continue;
        memset(w, 0, sizeof *w);
        w->used = 1;
        w->b = b;
        w->kind = kind;
        w->partition = p;
        return w;
    }
    RN_ASSERT(0); /* the client's produces and the followed partitions are bounded */
    return NULL;
}

static int16_t kerr_of(rn_err_t err) { return err == RN_OK ? RN_KERR_NONE : rn_handler_kerr(err); }

/* ---- partitions and leadership ---- */

static rn_partition_t *part_open(rp_t *s, rp_broker_t *b, int32_t p) {
    if (b->parts[p]) return b->parts[p];
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 2048; /* a few segments a run */
    rn_partition_t *part = NULL;
    rn_err_t err = rn_partition_open(b->io, "data", RP_TOPIC, p, &cfg, true, 0, &part);
    if (err != RN_OK) {
        rp_trace(s, "broker %d: open %s-%d: %s", b->id, RP_TOPIC, p, rn_err_name(err));
        b->open_failed = 1;
        return NULL;
    }
    b->parts[p] = part;
    rp_check_opened(s, b, part);
    rp_trace(s, "broker %d: opened %s-%d: log %lld..%lld", b->id, RP_TOPIC, p,
             (long long)rn_log_start_offset(part->log), (long long)rn_log_end_offset(part->log));
    return part;
}

static void follow_synced(rn_partition_waiter_t *waiter, rn_err_t err);

/* The fetcher's await_sync: what was appended (or written while it led)
   is durable before the next fetch names it. */
static int follow_await_sync(rp_broker_t *b, int32_t p, int64_t leader_hw) {
    rn_partition_t *part = b->parts[p];
    int64_t end = rn_log_end_offset(part->log);
    if (!part->durable || rn_log_synced_offset(part->log) >= end || end == 0) return 0;
    part->dirty = true;
    b->commit_due = 1;
    rp_wait_t *w = wait_new(b, WAIT_SYNC, p);
    w->leader_hw = leader_hw;
    w->w.offset_needed = end - 1;
    w->w.done = follow_synced;
    b->follow[p].syncing = 1;
    rn_partition_wait_durable(part, &w->w);
    return 1;
}

static void follow_synced(rn_partition_waiter_t *waiter, rn_err_t err) {
    rp_wait_t *w = (rp_wait_t *)waiter;
    rp_broker_t *b = w->b;
    w->used = 0;
    b->follow[w->partition].syncing = 0;
    rn_partition_t *part = b->parts[w->partition];
    if (err == RN_OK && w->leader_hw >= 0) rn_partition_follow_hw(part, w->leader_hw);
}

/* A replica the image no longer places here (a reassignment completed
   without this broker), as cluster/topics.c drops it: it neither leads nor
   follows (its acks=all waiters fail), its other waiters are forgotten (the
   client times out), and its directory goes, so a later move back starts
   empty. */
static void drop_partition(rp_t *s, rp_broker_t *b, const rn_image_t *img,
                           const rn_image_topic_t *it, int32_t p) {
    rn_partition_t *part = b->parts[p];
    rn_partition_leadership_t ld;
    char host[64];
    uint16_t port;
    rn_repl_leadership(img, it, p, b->id, "", &ld, host, sizeof host, &port);
    ld.leader = -1;
    rn_partition_lead(part, &ld, now_ms(s, b));
    part->waiters = part->waiters_tail = NULL;
    for (int i = 0; i < RP_WAITS_MAX; i++)
        if (b->waits[i].used && b->waits[i].partition == p) b->waits[i].used = 0;
    b->follow[p] = (rp_follow_t){.leader = -1};
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    snprintf(dir, sizeof dir, "%s", part->dir);
    rn_log_close_unclean(part->log);
    part->log = NULL;
    rn_partition_unref(part);
    b->parts[p] = NULL;
    rn_err_t err = rn_purge_remove(b->io, dir);
    rp_check_forget_partition(s->check, b->id, p);
    rp_trace(s, "broker %d: %s-%d no longer a replica here: dropped (%s)", b->id, RP_TOPIC, p,
             rn_err_name(err));
}

static void apply_partition(rp_t *s, rp_broker_t *b, const rn_image_t *img,
                            const rn_image_topic_t *it, int32_t p) {
    const rn_image_partition_t *ip = &it->partitions[p];
    int replica = 0;
    for (int16_t n = 0; n < ip->replica_count; n++) replica |= ip->replicas[n] == b->id;
    if (!replica) {
        if (b->parts[p]) drop_partition(s, b, img, it, p);
        return;
    }
    rn_partition_t *part = part_open(s, b, p);
    if (!part) return;
    rn_partition_leadership_t ld;
    char host[64];
    uint16_t port;
    rn_repl_leadership(img, it, p, b->id, "", &ld, host, sizeof host, &port);
    rn_partition_role_t was = part->role;
    int32_t was_epoch = part->lead.leader_epoch;
    rn_partition_role_t role = rn_partition_lead(part, &ld, now_ms(s, b));
    if (role != was || ld.leader_epoch != was_epoch)
        rp_trace(s, "broker %d: %s-%d %s at leader epoch %d (leader %d), log end %lld, hw %lld",
                 b->id, RP_TOPIC, p,
                 role == RN_PARTITION_LEADER     ? "leads"
                 : role == RN_PARTITION_FOLLOWER ? "follows"
                                                 : "has no leader",
                 ld.leader_epoch, ld.leader, (long long)rn_log_end_offset(part->log),
                 (long long)rn_partition_hw(part));
    rp_follow_t *f = &b->follow[p];
    if (role == RN_PARTITION_FOLLOWER && host[0]) {
        if (f->leader != ld.leader) {
            f->leader = ld.leader;
            f->token = 0;
        }
        f->retry_ms = 0;
        if (!f->syncing) follow_await_sync(b, p, -1);
    } else {
        f->leader = -1;
        f->token = 0;
    }
}

static void apply_version(rp_t *s, rp_broker_t *b, uint32_t version) {
    if (version > b->heard) b->heard = version;
    if (version <= b->version) return;
    b->version = version;
    const rn_image_t *img = rp_image(s, version);
    if (!b->serving) {
        const rn_image_broker_t *me = rn_image_broker(img, b->id);
        if (!b->registered || !me || me->epoch != b->epoch || me->fenced) return;
        b->serving = 1;
        rp_trace(s, "broker %d: unfenced at version %u: serving", b->id, version);
    }
    const rn_image_topic_t *it = rn_image_topic(img, RP_TOPIC, strlen(RP_TOPIC));
    if (!it) return;
    for (int32_t p = 0; p < it->partition_count && p < RP_PARTS_MAX; p++)
        apply_partition(s, b, img, it, p);
}

/* ---- lifecycle ---- */

void rp_broker_start(rp_t *s, rp_broker_t *b) {
    memset(b->parts, 0, sizeof b->parts);
    memset(b->waits, 0, sizeof b->waits);
    for (int p = 0; p < RP_PARTS_MAX; p++) b->follow[p] = (rp_follow_t){.leader = -1};
    for (int i = 0; i < 16; i++) b->incarnation.bytes[i] = (uint8_t)rn_sim_random(s->world);
    b->up = 1;
    b->starts++;
    b->registered = 0;
    b->serving = 0;
    b->open_failed = 0;
    b->epoch = -1;
    b->version = 0;
    b->commit_due = 0;
    b->isr_token = 0;
    b->next_tick_local_ns = rn_sim_node_clock_ns(s->world, b->node);
    b->next_heartbeat_ms = 0;
    b->next_isr_ms = now_ms(s, b) + RP_ISR_CHECK_MS;
    rn_io_dir_create(b->io, "data");
    rp_trace(s, "broker %d: up", b->id);
}

void rp_broker_crash(rp_t *s, rp_broker_t *b, int power_loss) {
    for (int p = 0; p < RP_PARTS_MAX; p++) {
        rn_partition_t *part = b->parts[p];
        if (!part) continue;
        /* The process dies: nothing closed cleanly, no waiter answered. */
        part->waiters = part->waiters_tail = NULL;
        part->hw_waiters = part->hw_waiters_tail = NULL;
        rn_log_close_unclean(part->log);
        part->log = NULL;
        rn_partition_unref(part);
        b->parts[p] = NULL;
    }
    memset(b->waits, 0, sizeof b->waits);
    if (power_loss) rn_sim_crash(s->world, b->node);
    rn_sim_net_purge(s->world, b->node);
    b->up = 0;
    b->version = 0;
    rp_check_forget(s->check, b->id);
    rp_trace(s, "broker %d: %s", b->id, power_loss ? "power loss" : "crash");
}

int rp_broker_offline(const rp_broker_t *b) {
    if (b->open_failed) return 1;
    for (int p = 0; p < RP_PARTS_MAX; p++)
        if (b->parts[p] && rn_partition_offline(b->parts[p])) return 1;
    return 0;
}

/* ---- timers ---- */

static void commit(rp_t *s, rp_broker_t *b) {
    (void)s;
    b->commit_due = 0;
    for (int p = 0; p < RP_PARTS_MAX; p++)
        if (b->parts[p] && b->parts[p]->dirty) rn_partition_sync(b->parts[p]);
}

static void heartbeat(rp_t *s, rp_broker_t *b) {
    if (now_ms(s, b) < b->next_heartbeat_ms) return;
    b->next_heartbeat_ms = now_ms(s, b) + (b->registered ? RP_HEARTBEAT_MS : 100);
    rp_msg_t m = {.kind = b->registered ? RP_MSG_HEARTBEAT : RP_MSG_REGISTER,
                  .broker_id = b->id,
                  .epoch = b->epoch,
                  .incarnation = b->incarnation,
                  .version = b->version};
    rp_send(s, b->node, 1, &m, NULL, 0);
}

static void fetch_send(rp_t *s, rp_broker_t *b, int32_t p) {
    rn_partition_t *part = b->parts[p];
    rp_follow_t *f = &b->follow[p];
    rn_follower_ask_t ask;
    rn_follower_ask(part, &ask);
    f->token = ++s->next_token;
    f->sent_ms = now_ms(s, b);
    rp_msg_t m = {.kind = RP_MSG_FETCH,
                  .broker_id = b->id,
                  .partition = p,
                  .token = f->token,
                  .current_leader_epoch = ask.current_leader_epoch,
                  .last_fetched_epoch = ask.last_fetched_epoch,
                  .offset = ask.fetch_offset,
                  .log_start = ask.log_start_offset};
    rp_send(s, b->node, node_of(f->leader), &m, NULL, 0);
}

static void fetch_all(rp_t *s, rp_broker_t *b) {
    int64_t now = now_ms(s, b);
    for (int32_t p = 0; p < RP_PARTS_MAX; p++) {
        rp_follow_t *f = &b->follow[p];
        rn_partition_t *part = b->parts[p];
        if (!part || f->leader < 0 || f->syncing || !rn_follower_may_fetch(part, f->leader))
            continue;
        if (f->token && now - f->sent_ms < RP_FETCH_TIMEOUT_MS) continue;
        if (!f->token && now < f->retry_ms) continue;
        fetch_send(s, b, p);
    }
}

/* replicas_rt.c's isr_tick and isr_consider. */
static void isr_check(rp_t *s, rp_broker_t *b) {
    int64_t now = now_ms(s, b);
    if (b->isr_token && now - b->isr_sent_ms >= RP_ISR_TIMEOUT_MS) {
        /* isr_submit.c answers REQUEST_TIMED_OUT to every change */
        for (int32_t i = 0; i < b->isr_count; i++)
            if (b->parts[b->isr_parts[i]])
                rn_partition_isr_answered(b->parts[b->isr_parts[i]], RN_KERR_REQUEST_TIMED_OUT, -1);
        b->isr_token = 0;
    }
    if (now < b->next_isr_ms) return;
    b->next_isr_ms = now + RP_ISR_CHECK_MS;
    if (b->isr_token || !b->registered) return;
    const rn_image_t *img = rp_image(s, b->version);
    const rn_image_topic_t *it = rn_image_topic(img, RP_TOPIC, strlen(RP_TOPIC));
    if (!it) return;
    rp_msg_t m = {.kind = RP_MSG_ALTER, .broker_id = b->id, .epoch = b->epoch};
    for (int32_t p = 0; p < RP_PARTS_MAX; p++) {
        rn_partition_t *part = b->parts[p];
        int32_t isr[RN_REPLICAS_MAX];
        int16_t isr_count = 0;
        if (!part || part->role != RN_PARTITION_LEADER) continue;
        if (!rn_partition_isr_wanted(part, now, RP_LAG_MAX_MS, isr, &isr_count)) continue;
        rn_ctl_isr_change_t *ch = &m.changes[m.count];
        memset(ch, 0, sizeof *ch);
        ch->topic_id = it->id;
        ch->partition = p;
        ch->leader_epoch = part->lead.leader_epoch;
        ch->partition_epoch = part->lead.partition_epoch;
        ch->isr_count = isr_count;
        for (int16_t n = 0; n < isr_count; n++) {
            ch->isr[n] = isr[n];
            ch->isr_broker_epochs[n] = -1;
        }
        rp_trace(s, "broker %d: %s-%d asks the ISR %d -> %d members (partition epoch %d)", b->id,
                 RP_TOPIC, p, part->lead.isr_count, isr_count, part->lead.partition_epoch);
        rn_partition_isr_asked(part, isr, isr_count);
        b->isr_parts[m.count++] = p;
    }
    if (m.count == 0) return;
    b->isr_count = m.count;
    b->isr_token = m.token = ++s->next_token;
    b->isr_sent_ms = now;
    rp_send(s, b->node, 1, &m, NULL, 0);
}

static void produce_answer(rp_t *s, rp_broker_t *b, uint32_t to, uint64_t token, int32_t p,
                           int16_t code, int64_t offset) {
    rp_msg_t m = {.kind = RP_MSG_PRODUCE_RESP,
                  .broker_id = b->id,
                  .partition = p,
                  .token = token,
                  .code = code,
                  .offset = offset};
    rp_send(s, b->node, to, &m, NULL, 0);
}

/* produce.c's produce_op_timeout: acks=all past its timeout. */
static void produce_timeouts(rp_t *s, rp_broker_t *b) {
    int64_t now = now_ms(s, b);
    for (int i = 0; i < RP_WAITS_MAX; i++) {
        rp_wait_t *w = &b->waits[i];
        if (!w->used || w->kind != WAIT_PRODUCE || w->acks != -1 || now < w->deadline_ms) continue;
        if (!rn_partition_unwait_hw(b->parts[w->partition], &w->w)) continue;
        w->used = 0;
        produce_answer(s, b, w->to, w->token, w->partition, RN_KERR_REQUEST_TIMED_OUT, -1);
    }
}

void rp_broker_tick(rp_t *s, rp_broker_t *b) {
    if (b->commit_due) commit(s, b);
    heartbeat(s, b);
    fetch_all(s, b);
    isr_check(s, b);
    produce_timeouts(s, b);
    rp_check_broker(s, b);
}

/* ---- the leader's side ---- */

static rn_partition_t *leading(rp_broker_t *b, int32_t p, int16_t *code) {
    rn_partition_t *part = p >= 0 && p < RP_PARTS_MAX ? b->parts[p] : NULL;
    *code = RN_KERR_NONE;
    if (!part || part->role != RN_PARTITION_LEADER)
        *code = RN_KERR_NOT_LEADER_OR_FOLLOWER;
    else if (rn_partition_offline(part))
        *code = RN_KERR_KAFKA_STORAGE_ERROR;
    return *code == RN_KERR_NONE ? part : NULL;
}

/* Reads [from, upto) into s->buf, whole batches within RP_RECORDS_BYTES. */
static size_t read_range(rp_broker_t *b, rn_partition_t *part, int64_t from, int64_t upto, rp_t *s,
                         rn_err_t *err) {
    rn_log_read_t read = {0};
    *err = rn_log_read(part->log, from, RP_RECORDS_BYTES, upto, &read);
    if (*err != RN_OK || read.len == 0) return 0;
    size_t got = 0;
    *err =
        rn_io_file_pread(b->io, read.fd, s->buf + sizeof(rp_msg_t), read.len, read.position, &got);
    rn_log_read_release(&read);
    return *err == RN_OK ? got : 0;
}

static void serve_fetch(rp_t *s, rp_broker_t *b, uint32_t from, const rp_msg_t *in) {
    rp_msg_t *out = (rp_msg_t *)s->buf;
    *out = (rp_msg_t){.kind = RP_MSG_FETCH_RESP,
                      .broker_id = b->id,
                      .partition = in->partition,
                      .token = in->token,
                      .hw = -1,
                      .log_start = -1,
                      .div_epoch = -1,
                      .div_end = -1};
    size_t len = 0;
    rn_partition_t *part = leading(b, in->partition, &out->code);
    if (part) {
        rn_repl_fetch_t req = {in->broker_id, in->current_leader_epoch, in->last_fetched_epoch,
                               in->offset};
        rn_repl_served_t served;
        rn_repl_serve(part, &req, now_ms(s, b), &served);
        rn_err_t err = served.err;
        out->code = served.kerr;
        if (served.diverged) {
            out->div_epoch = served.div_epoch;
            out->div_end = served.div_end;
        } else if (served.kerr == RN_KERR_NONE && err == RN_OK && served.read_upto > in->offset) {
            len = read_range(b, part, in->offset, served.read_upto, s, &err);
        }
        if (out->code == RN_KERR_NONE) out->code = kerr_of(err);
        if (out->code == RN_KERR_NONE) {
            out->hw = rn_partition_hw(part);
            out->log_start = rn_partition_start(part);
        } else if (out->code == RN_KERR_OFFSET_OUT_OF_RANGE) {
            out->log_start = rn_partition_start(part);
        }
        if (out->code != RN_KERR_NONE) len = 0;
    }
    rp_send(s, b->node, from, out, s->buf + sizeof(rp_msg_t), len);
}

static void produce_done(rn_partition_waiter_t *waiter, rn_err_t err) {
    rp_wait_t *w = (rp_wait_t *)waiter;
    rp_broker_t *b = w->b;
    w->used = 0;
    produce_answer(b->sim, b, w->to, w->token, w->partition, kerr_of(err), w->offset);
}

/* produce.c's produce_op_run, for one record. */
static void serve_produce(rp_t *s, rp_broker_t *b, uint32_t from, const rp_msg_t *in) {
    int16_t code;
    rn_partition_t *part = leading(b, in->partition, &code);
    rn_err_t err = RN_OK;
    if (part && in->acks == -1) err = rn_partition_check_acks_all(part);
    rn_partition_append_result_t res;
    uint8_t batch[RP_BATCH_BYTES];
    if (part && err == RN_OK) {
        size_t len = rp_batch_build(batch, in->value, rn_io_wall_ms(b->io));
        err = rn_partition_append(part, batch, len, rn_io_wall_ms(b->io), &res);
    }
    if (part && err != RN_OK) code = kerr_of(err);
    if (code != RN_KERR_NONE) {
        produce_answer(s, b, from, in->token, in->partition, code, -1);
        return;
    }
    rp_check_append(s, b->id, in->partition, part->leader_epoch);
    rp_trace(s, "broker %d: %s-%d appended value %llu at %lld (epoch %d, acks %d)", b->id, RP_TOPIC,
             in->partition, (unsigned long long)in->value, (long long)res.base_offset,
             part->leader_epoch, in->acks);
    part->dirty = true;
    b->commit_due = 1;
    rp_wait_t *w = wait_new(b, WAIT_PRODUCE, in->partition);
    w->token = in->token;
    w->to = from;
    w->offset = res.base_offset;
    w->acks = in->acks;
    w->w.offset_needed = res.last_offset;
    w->w.done = produce_done;
    if (in->acks == -1) {
        w->deadline_ms = now_ms(s, b) + RP_PRODUCE_TIMEOUT_MS;
        rn_partition_wait_hw(part, &w->w); /* may complete at once */
        return;
    }
    rn_partition_wait_durable(part, &w->w);
}

/* A consumer's fetch: up to the high watermark (fetch.c's consumer path). */
static void serve_read(rp_t *s, rp_broker_t *b, uint32_t from, const rp_msg_t *in) {
    rp_msg_t *out = (rp_msg_t *)s->buf;
    *out = (rp_msg_t){.kind = RP_MSG_READ_RESP,
                      .broker_id = b->id,
                      .partition = in->partition,
                      .token = in->token,
                      .hw = -1};
    size_t len = 0;
    rn_partition_t *part = leading(b, in->partition, &out->code);
    if (part) {
        rn_repl_fetch_t req = {-1, -1, -1, in->offset};
        rn_repl_served_t served;
        rn_repl_serve(part, &req, now_ms(s, b), &served);
        int64_t hw = rn_partition_hw(part);
        rn_err_t err = RN_OK;
        if (in->offset != hw) len = read_range(b, part, in->offset, hw, s, &err);
        out->code = kerr_of(err);
        out->hw = hw;
        out->current_leader_epoch = part->leader_epoch;
        out->value = (uint64_t)b->id << 32 | b->starts;
        if (out->code != RN_KERR_NONE) len = 0;
    }
    rp_send(s, b->node, from, out, s->buf + sizeof(rp_msg_t), len);
}

/* ---- the follower's side ---- */

static void take_fetch(rp_t *s, rp_broker_t *b, const rp_msg_t *in, const uint8_t *records) {
    int32_t p = in->partition;
    if (p < 0 || p >= RP_PARTS_MAX) return;
    rp_follow_t *f = &b->follow[p];
    rn_partition_t *part = b->parts[p];
    if (!in->token || in->token != f->token) return; /* stale or duplicated */
    f->token = 0;
    if (!part || part->role != RN_PARTITION_FOLLOWER || f->leader != in->broker_id) return;
    rn_follower_answer_t ans = {.error_code = in->code,
                                .high_watermark = in->hw,
                                .log_start_offset = in->log_start,
                                .diverging_epoch = in->div_epoch,
                                .diverging_end = in->div_end,
                                .records = records,
                                .records_len = in->records_len};
    rn_follower_result_t res;
    int64_t end = rn_log_end_offset(part->log);
    rn_follower_outcome_t outcome =
        rn_follower_take(part, f->leader, &ans, rn_io_wall_ms(b->io), NULL, &res);
    int64_t now = now_ms(s, b);
    switch (outcome) {
    case RN_FOLLOWER_PAUSE:
        f->retry_ms = now + (in->code == RN_KERR_NOT_LEADER_OR_FOLLOWER ||
                                     in->code == RN_KERR_FENCED_LEADER_EPOCH ||
                                     in->code == RN_KERR_UNKNOWN_LEADER_EPOCH
                                 ? RP_FETCH_BACKOFF_MS / 5
                                 : RP_FETCH_BACKOFF_MS);
        break;
    case RN_FOLLOWER_TRUNCATED:
        s->stats.truncations++;
        rp_trace(s, "broker %d: %s-%d truncated from %lld to %lld (diverging epoch %d ends %lld)",
                 b->id, RP_TOPIC, p, (long long)end, (long long)rn_log_end_offset(part->log),
                 in->div_epoch, (long long)in->div_end);
        f->retry_ms = now;
        break;
    case RN_FOLLOWER_RESTARTED:
        f->retry_ms = now;
        break;
    case RN_FOLLOWER_IDLE:
        f->retry_ms = now + RP_FETCH_IDLE_MS;
        break;
    case RN_FOLLOWER_APPENDED:
        f->retry_ms = now;
        if (!follow_await_sync(b, p, in->hw)) rn_partition_follow_hw(part, in->hw);
        break;
    }
}

void rp_broker_recv(rp_t *s, rp_broker_t *b, uint32_t from, const rp_msg_t *m,
                    const uint8_t *records) {
    switch (m->kind) {
    case RP_MSG_IMAGE:
        apply_version(s, b, m->version);
        break;
    case RP_MSG_REGISTER_RESP:
        if (!rn_uuid_eq(&m->incarnation, &b->incarnation) || m->code != 0 || b->registered) break;
        b->registered = 1;
        b->epoch = m->epoch;
        b->next_heartbeat_ms = 0;
        rp_trace(s, "broker %d: registered, epoch %lld", b->id, (long long)b->epoch);
        apply_version(s, b, m->version);
        break;
    case RP_MSG_HEARTBEAT_RESP:
        if (!rn_uuid_eq(&m->incarnation, &b->incarnation) || m->epoch != b->epoch) break;
        if (m->code != 0 && b->registered) {
            rp_trace(s, "broker %d: epoch %lld is stale, registering again", b->id,
                     (long long)b->epoch);
            b->registered = 0;
            b->epoch = -1;
        }
        apply_version(s, b, m->version);
        break;
    case RP_MSG_ALTER_RESP:
        if (!m->token || m->token != b->isr_token) break;
        b->isr_token = 0;
        for (int32_t i = 0; i < b->isr_count; i++) {
            rn_partition_t *part = b->parts[b->isr_parts[i]];
            if (!part) continue;
            const rn_ctl_isr_result_t *res = &m->results[i];
            /* a request-wide code is every change's, as isr_submit.c gives it */
            rn_partition_isr_answered(part, m->code ? m->code : res->error_code,
                                      res->partition_epoch);
        }
        break;
    case RP_MSG_FETCH:
        if (b->serving) serve_fetch(s, b, from, m); /* else its listener is not open */
        break;
    case RP_MSG_FETCH_RESP:
        take_fetch(s, b, m, records);
        break;
    case RP_MSG_PRODUCE:
        if (b->serving) serve_produce(s, b, from, m);
        break;
    case RP_MSG_READ:
        if (b->serving) serve_read(s, b, from, m);
        break;
    default:
        break;
    }
    rp_check_broker(s, b);
}
