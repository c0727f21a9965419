/*
 * simrepl_check.c: the replication simulation's checker, and the record
 * bytes it writes and reads.
 *
 * The committed history: each partition's records below any leader's
 * high watermark, read from that leader's log as its high watermark
 * passes them (after every step of every broker). Checked against it:
 *
 *   - a record, once committed, never changes (another leader's log below
 *     its high watermark holds the same record at each offset);
 *   - every replica's log below its own high watermark, and every in-sync
 *     replica's log below its leader's high watermark, is the committed
 *     history: ISR members never diverge below the high watermark;
 *   - an acknowledged acks=all record is committed, at the offset and with
 *     the value the produce was answered with, when the answer arrives;
 *   - a consumer reads only committed records (so never one that later
 *     disappears: nothing committed ever goes);
 *   - one broker appends produces in a leader epoch of a partition: never
 *     two leaders accept writes in one epoch;
 *   - at the end, once everything healed and settled, every replica holds
 *     the whole committed history and nothing else.
 *
 * The consumer's high watermark (never back within a leader epoch) is
 * checked by the client (simrepl_run.c), which sees it.
 *
 * Owns the history. Reads logs through the partitions' own read path.
 */
#include "simrepl.h"

#include "base/assert.h"
#include "base/endian.h"
#include "helpers/batch_build.h"
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

#define RP_EPOCHS_MAX 4096
#define RP_SCAN_BYTES (64 * 1024)

typedef struct rp_hist {
    int64_t n, cap;
    uint64_t *value;
    int32_t *epoch;
    int32_t writer[RP_EPOCHS_MAX]; /* broker that appended in each leader epoch, 0: none */
} rp_hist_t;

struct rp_check {
    int32_t parts_n;
    rp_hist_t hist[RP_PARTS_MAX];
    /* per broker and partition: the log prefix checked since its start */
    int64_t verified[RP_BROKERS_MAX + 1][RP_PARTS_MAX];
    uint8_t *scan;
};

rp_check_t *rp_check_create(int32_t parts_n) {
    rp_check_t *c = calloc(1, sizeof *c);
    RN_ASSERT(c != NULL);
    c->parts_n = parts_n;
    c->scan = malloc(RP_SCAN_BYTES);
    RN_ASSERT(c->scan != NULL);
    return c;
}

void rp_check_destroy(rp_check_t *c) {
    for (int p = 0; p < RP_PARTS_MAX; p++) {
        free(c->hist[p].value);
        free(c->hist[p].epoch);
    }
    free(c->scan);
    free(c);
}

void rp_check_forget(rp_check_t *c, int32_t broker) {
    for (int p = 0; p < RP_PARTS_MAX; p++) c->verified[broker][p] = 0;
}

void rp_check_forget_partition(rp_check_t *c, int32_t broker, int32_t partition) {
    c->verified[broker][partition] = 0;
}

uint64_t rp_check_committed(const rp_check_t *c) {
    uint64_t n = 0;
    for (int p = 0; p < c->parts_n; p++) n += (uint64_t)c->hist[p].n;
    return n;
}

/* ---- record bytes ---- */

static size_t put_varint(uint8_t *p, int64_t v) { return bb_put_varint(p, v); }

static int get_varint(const uint8_t *p, size_t len, size_t *off, int64_t *v) {
    uint64_t u = 0;
    for (int shift = 0; shift < 64 && *off < len; shift += 7) {
        uint8_t b = p[(*off)++];
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
            return 1;
        }
    }
    return 0;
}

size_t rp_batch_build(uint8_t *out, uint64_t value, int64_t ts_ms) {
    uint8_t rec[32];
    size_t n = 0;
    rec[n++] = 0; /* attributes */
    n += put_varint(rec + n, 0);
    n += put_varint(rec + n, 0);
    n += put_varint(rec + n, -1); /* no key */
    n += put_varint(rec + n, 8);
    rn_be64_put(rec + n, value);
    n += 8;
    n += put_varint(rec + n, 0); /* no headers */
    size_t len = RN_BATCH_HEADER_BYTES;
    len += put_varint(out + len, (int64_t)n);
    memcpy(out + len, rec, n);
    len += n;
    RN_ASSERT(len <= RP_BATCH_BYTES);
    bb_batch_t bb = {.records = 1, .first_ts = ts_ms, .producer_id = -1, .epoch = -1, .seq = -1};
    bb_batch_finish(out, len, &bb);
    return len;
}

/* The records of whole batches at p: (offset, epoch, value) each; the
   offset after the last. */
int64_t rp_records_scan(const uint8_t *p, size_t len, rp_record_fn fn, void *ctx) {
    size_t off = 0;
    int64_t next = -1;
    while (len - off >= RN_BATCH_HEADER_BYTES) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(p + off, &hdr);
        if (hdr.batch_length < 0 || rn_batch_size(&hdr) > len - off) break;
        size_t end = off + rn_batch_size(&hdr), r = off + RN_BATCH_HEADER_BYTES;
        for (int32_t i = 0; i < hdr.records_count; i++) {
            int64_t rlen = 0, ts = 0, delta = 0, klen = 0, vlen = 0;
            if (!get_varint(p, end, &r, &rlen)) break;
            size_t rend = r + (size_t)rlen;
            r++; /* attributes */
            if (!get_varint(p, end, &r, &ts) || !get_varint(p, end, &r, &delta) ||
                !get_varint(p, end, &r, &klen))
                break;
            if (klen > 0) r += (size_t)klen;
            if (!get_varint(p, end, &r, &vlen) || vlen != 8 || r + 8 > end) break;
            fn(ctx, hdr.base_offset + delta, hdr.partition_leader_epoch, rn_be64_get(p + r));
            r = rend;
        }
        next = hdr.base_offset + hdr.last_offset_delta + 1;
        off = end;
    }
    return next;
}

typedef struct scan_ctx {
    rp_record_fn fn;
    void *ctx;
    int64_t upto;
} scan_ctx_t;

static void scan_one(void *ctx, int64_t offset, int32_t epoch, uint64_t value) {
    scan_ctx_t *sc = ctx;
    if (offset < sc->upto) sc->fn(sc->ctx, offset, epoch, value);
}

/* Reads the records of part's log [from, upto) into fn, through buf
   (RP_SCAN_BYTES); returns the offset it reached. */
static int64_t log_scan(rn_io_t *io, rn_partition_t *part, int64_t from, int64_t upto, uint8_t *buf,
                        rp_record_fn fn, void *ctx) {
    scan_ctx_t sc = {fn, ctx, upto};
    int64_t pos = from;
    while (pos < upto) {
        rn_log_read_t read = {0};
        if (rn_log_read(part->log, pos, RP_SCAN_BYTES, upto, &read) != RN_OK || read.len == 0)
            break;
        size_t got = 0;
        rn_err_t err = rn_io_file_pread(io, read.fd, buf, read.len, read.position, &got);
        rn_log_read_release(&read);
        if (err != RN_OK || got == 0) break;
        int64_t next = rp_records_scan(buf, got, scan_one, &sc);
        if (next <= pos) break;
        pos = next;
    }
    return pos;
}

/* ---- the history ---- */

typedef struct commit_ctx {
    rp_t *s;
    int32_t p, broker;
    int64_t expect;
} commit_ctx_t;

static void hist_add(void *ctx, int64_t offset, int32_t epoch, uint64_t value) {
    commit_ctx_t *cc = ctx;
    rp_hist_t *h = &cc->s->check->hist[cc->p];
    if (offset != cc->expect) {
        rp_fail(cc->s, "%s-%d: leader %d's log has offset %lld where %lld was due", RP_TOPIC, cc->p,
                cc->broker, (long long)offset, (long long)cc->expect);
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->value = realloc(h->value, (size_t)h->cap * sizeof *h->value);
        h->epoch = realloc(h->epoch, (size_t)h->cap * sizeof *h->epoch);
        RN_ASSERT(h->value && h->epoch);
    }
    h->value[h->n] = value;
    h->epoch[h->n] = epoch;
    h->n++;
    cc->expect++;
}

typedef struct match_ctx {
    rp_t *s;
    int32_t p, broker;
    int64_t expect;
    const char *why;
} match_ctx_t;

static void hist_match(void *ctx, int64_t offset, int32_t epoch, uint64_t value) {
    match_ctx_t *mc = ctx;
    rp_hist_t *h = &mc->s->check->hist[mc->p];
    if (mc->s->failed) return;
    if (offset != mc->expect)
        rp_fail(mc->s, "%s-%d: broker %d's log has offset %lld where %lld was due (%s)", RP_TOPIC,
                mc->p, mc->broker, (long long)offset, (long long)mc->expect, mc->why);
    else if (offset >= h->n)
        rp_fail(mc->s, "%s-%d: broker %d holds offset %lld below %s, past the committed %lld",
                RP_TOPIC, mc->p, mc->broker, (long long)offset, mc->why, (long long)h->n);
    else if (h->value[offset] != value || h->epoch[offset] != epoch)
        rp_fail(mc->s,
                "%s-%d: broker %d's log diverges below %s at offset %lld: value %llu epoch %d, "
                "committed value %llu epoch %d",
                RP_TOPIC, mc->p, mc->broker, mc->why, (long long)offset, (unsigned long long)value,
                epoch, (unsigned long long)h->value[offset], h->epoch[offset]);
    mc->expect = offset + 1;
}

/* The leader of p as the latest image says, if it is up and leads. */
static rn_partition_t *current_leader(rp_t *s, int32_t p, int32_t *id) {
    const rn_image_t *img = rp_image(s, s->version);
    const rn_image_topic_t *it = rn_image_topic(img, RP_TOPIC, strlen(RP_TOPIC));
    if (!it || p >= it->partition_count || it->partitions[p].leader < 0) return NULL;
    *id = it->partitions[p].leader;
    rp_broker_t *l = &s->brokers[*id];
    rn_partition_t *part = l->up ? l->parts[p] : NULL;
    return part && part->role == RN_PARTITION_LEADER && !rn_partition_offline(part) ? part : NULL;
}

static int in_isr(const rn_partition_t *leader, int32_t id) {
    for (int16_t n = 0; n < leader->lead.isr_count; n++)
        if (leader->lead.isr[n] == id) return 1;
    return 0;
}

static void check_partition(rp_t *s, rp_broker_t *b, int32_t p) {
    rp_check_t *c = s->check;
    rp_hist_t *h = &c->hist[p];
    rn_partition_t *part = b->parts[p];
    if (!part || !part->log) return;
    int64_t hw = rn_partition_hw(part), end = rn_log_end_offset(part->log);
    /* A leader's high watermark commits what lies below it, even when the
       partition went offline in the same step: a failed sync may have made
       a prefix durable (sealed segments) and acknowledged it first. */
    if (part->role == RN_PARTITION_LEADER && hw > h->n) {
        rp_trace(s, "checker: %s-%d committed to %lld by broker %d (leader epoch %d, isr of %d)",
                 RP_TOPIC, p, (long long)hw, b->id, part->leader_epoch, part->lead.isr_count);
        commit_ctx_t cc = {s, p, b->id, h->n};
        log_scan(b->io, part, h->n, hw, c->scan, hist_add, &cc);
        if (!s->failed && h->n < hw)
            rp_fail(s, "%s-%d: leader %d's high watermark %lld passes its log (read to %lld)",
                    RP_TOPIC, p, b->id, (long long)hw, (long long)h->n);
    }
    if (rn_partition_offline(part)) return; /* its log past the durable end is unreliable */
    /* Its own high watermark, and the current leader's if it is in sync. */
    int64_t upto = hw < end ? hw : end;
    const char *why = "its high watermark";
    int32_t lid = -1;
    rn_partition_t *leader = current_leader(s, p, &lid);
    if (leader && lid != b->id && in_isr(leader, b->id)) {
        int64_t lhw = rn_partition_hw(leader), bound = lhw < end ? lhw : end;
        if (bound > upto) {
            upto = bound;
            why = "its in-sync leader's high watermark";
        }
    }
    int64_t *verified = &c->verified[b->id][p];
    if (end < *verified) *verified = end; /* truncated above what was checked */
    int64_t start = rn_log_start_offset(part->log);
    if (*verified < start) *verified = start;
    if (upto <= *verified || s->failed) return;
    match_ctx_t mc = {s, p, b->id, *verified, why};
    int64_t reached = log_scan(b->io, part, *verified, upto, c->scan, hist_match, &mc);
    if (!s->failed && reached < upto)
        rp_fail(s, "%s-%d: broker %d's log ends at %lld below %s %lld", RP_TOPIC, p, b->id,
                (long long)reached, why, (long long)upto);
    *verified = upto;
}

void rp_check_broker(rp_t *s, rp_broker_t *b) {
    if (!b->up) return;
    for (int32_t p = 0; p < s->parts_n && !s->failed; p++) check_partition(s, b, p);
}

void rp_check_append(rp_t *s, int32_t broker, int32_t partition, int32_t epoch) {
    rp_hist_t *h = &s->check->hist[partition];
    if (epoch < 0 || epoch >= RP_EPOCHS_MAX) return;
    if (h->writer[epoch] && h->writer[epoch] != broker)
        rp_fail(s, "%s-%d: brokers %d and %d both accepted writes in leader epoch %d", RP_TOPIC,
                partition, h->writer[epoch], broker, epoch);
    h->writer[epoch] = broker;
}

void rp_check_acked(rp_t *s, int32_t partition, int64_t offset, uint64_t value, int acks) {
    rp_hist_t *h = &s->check->hist[partition];
    if (acks != -1) {
        s->stats.acked_one++;
        return;
    }
    s->stats.acked_all++;
    if (offset < 0 || offset >= h->n)
        rp_fail(s, "%s-%d: value %llu acknowledged (acks=all) at offset %lld, not committed (%lld)",
                RP_TOPIC, partition, (unsigned long long)value, (long long)offset, (long long)h->n);
    else if (h->value[offset] != value)
        rp_fail(s,
                "%s-%d: value %llu acknowledged (acks=all) at offset %lld, committed there: %llu",
                RP_TOPIC, partition, (unsigned long long)value, (long long)offset,
                (unsigned long long)h->value[offset]);
}

void rp_check_read(rp_t *s, int32_t partition, int64_t offset, uint64_t value) {
    rp_hist_t *h = &s->check->hist[partition];
    if (offset >= h->n || h->value[offset] != value)
        rp_fail(s, "%s-%d: a consumer read value %llu at offset %lld, not committed there",
                RP_TOPIC, partition, (unsigned long long)value, (long long)offset);
}

void rp_check_final(rp_t *s) {
    for (int32_t p = 0; p < s->parts_n && !s->failed; p++) {
        rp_hist_t *h = &s->check->hist[p];
        for (uint32_t id = 1; id <= s->brokers_n && !s->failed; id++) {
            rp_broker_t *b = &s->brokers[id];
            rn_partition_t *part = b->up ? b->parts[p] : NULL;
            if (!part) continue;
            int64_t end = rn_log_end_offset(part->log);
            if (end != h->n) {
                rp_fail(s, "%s-%d: broker %d's settled log ends at %lld, committed: %lld", RP_TOPIC,
                        p, b->id, (long long)end, (long long)h->n);
                return;
            }
            match_ctx_t mc = {s, p, b->id, rn_log_start_offset(part->log), "its settled end"};
            log_scan(b->io, part, mc.expect, end, s->check->scan, hist_match, &mc);
        }
    }
}

typedef struct whole_ctx {
    int64_t expect;
    int gap;
} whole_ctx_t;

static void whole_one(void *ctx, int64_t offset, int32_t epoch, uint64_t value) {
    whole_ctx_t *wc = ctx;
    (void)epoch;
    (void)value;
    if (offset != wc->expect) wc->gap = 1;
    wc->expect = offset + 1;
}

void rp_check_opened(rp_t *s, rp_broker_t *b, rn_partition_t *part) {
    int64_t start = rn_log_start_offset(part->log), end = rn_log_end_offset(part->log);
    whole_ctx_t wc = {start, 0};
    log_scan(b->io, part, start, end, s->check->scan, whole_one, &wc);
    if (wc.gap || wc.expect != end)
        rp_fail(s,
                "%s-%d: broker %d opened a log whose end %lld is not its last record's "
                "(records %lld..%lld%s)",
                RP_TOPIC, part->index, b->id, (long long)end, (long long)start,
                (long long)wc.expect, wc.gap ? ", with a gap" : "");
}
