/*
 * producer_state.c: idempotent producer bookkeeping for one partition: an
 * open-addressing table keyed by producer id, Kafka's sequence and epoch
 * rules, snapshots and their replay from the log.
 *
 * Owns its table and snapshot buffers (freed before returning). Owner thread
 * only. Never changes state in a check; never reads record bytes beyond batch
 * headers; snapshot bytes are untrusted and parsed with bounds checks.
 */
#include "producer_state.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHES RN_PRODUCER_BATCHES_REMEMBERED
#define EMPTY_ID (-1)

typedef struct producer_batch {
    int32_t first_seq;
    int32_t last_seq;
    int64_t first_offset;
    int64_t last_offset;
    int64_t timestamp_ms;
} producer_batch_t;

typedef struct producer {
    int64_t producer_id; /* EMPTY_ID: free slot */
    int16_t epoch;
    uint8_t batch_count;
    int64_t last_timestamp_ms;
    producer_batch_t batches[BATCHES]; /* oldest first */
} producer_t;

struct rn_producer_state {
    producer_t *slots;
    uint32_t cap; /* power of two */
    uint32_t count;
};

RN_STATIC_ASSERT(BATCHES >= 1 && BATCHES <= 255, "batch count fits a byte");

rn_err_t rn_producer_state_create(rn_producer_state_t **out) {
    rn_producer_state_t *ps = calloc(1, sizeof(*ps));
    if (!ps) return RN_ERR_NO_MEMORY;
    *out = ps;
    return RN_OK;
}

void rn_producer_state_free(rn_producer_state_t *ps) {
    if (!ps) return;
    free(ps->slots);
    free(ps);
}

uint32_t rn_producer_state_count(const rn_producer_state_t *ps) { return ps->count; }

void rn_producer_state_clear(rn_producer_state_t *ps) {
    for (uint32_t i = 0; i < ps->cap; i++) ps->slots[i].producer_id = EMPTY_ID;
    ps->count = 0;
}

void rn_producer_state_truncate(rn_producer_state_t *ps, int64_t offset) {
    for (uint32_t i = 0; i < ps->cap; i++) {
        producer_t *p = &ps->slots[i];
        if (p->producer_id == EMPTY_ID) continue;
        while (p->batch_count > 0 && p->batches[p->batch_count - 1].last_offset >= offset)
            p->batch_count--;
    }
}

int32_t rn_producer_seq_add(int32_t seq, int32_t delta) {
    RN_ASSERT(seq >= 0 && delta >= 0);
    if (seq > INT32_MAX - delta) return delta - (INT32_MAX - seq) - 1;
    return seq + delta;
}

/* ---- table ---- */

static uint32_t slot_of(const rn_producer_state_t *ps, int64_t producer_id) {
    uint64_t h = (uint64_t)producer_id * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & (ps->cap - 1);
}

static producer_t *find(const rn_producer_state_t *ps, int64_t producer_id) {
    if (ps->cap == 0) return NULL;
    for (uint32_t i = slot_of(ps, producer_id);; i = (i + 1) & (ps->cap - 1)) {
        producer_t *p = &ps->slots[i];
        if (p->producer_id == producer_id) return p;
        if (p->producer_id == EMPTY_ID) return NULL;
    }
}

/* Removes slot i keeping probe chains intact (backward shift). */
static void remove_at(rn_producer_state_t *ps, uint32_t i) {
    uint32_t mask = ps->cap - 1;
    for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        producer_t *p = &ps->slots[j];
        if (p->producer_id == EMPTY_ID) break;
        uint32_t home = slot_of(ps, p->producer_id);
        /* p may move to i if its home is not in (i, j] cyclically */
        bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            ps->slots[i] = *p;
            i = j;
        }
    }
    ps->slots[i].producer_id = EMPTY_ID;
    ps->count--;
}

static rn_err_t grow(rn_producer_state_t *ps) {
    uint32_t cap = ps->cap ? ps->cap * 2 : 16;
    producer_t *slots = malloc((size_t)cap * sizeof(*slots));
    if (!slots) return RN_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < cap; i++) slots[i].producer_id = EMPTY_ID;
    producer_t *old = ps->slots;
    uint32_t old_cap = ps->cap;
    ps->slots = slots;
    ps->cap = cap;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (old[i].producer_id == EMPTY_ID) continue;
        uint32_t j = slot_of(ps, old[i].producer_id);
        while (slots[j].producer_id != EMPTY_ID) j = (j + 1) & (cap - 1);
        slots[j] = old[i];
    }
    free(old);
    return RN_OK;
}

static void evict_idlest(rn_producer_state_t *ps) {
    uint32_t victim = UINT32_MAX;
    for (uint32_t i = 0; i < ps->cap; i++) {
        if (ps->slots[i].producer_id == EMPTY_ID) continue;
        if (victim == UINT32_MAX ||
            ps->slots[i].last_timestamp_ms < ps->slots[victim].last_timestamp_ms)
            victim = i;
    }
    RN_ASSERT(victim != UINT32_MAX);
    remove_at(ps, victim);
}

static rn_err_t insert(rn_producer_state_t *ps, int64_t producer_id, producer_t **out) {
    RN_ASSERT(producer_id >= 0);
    if (ps->count >= RN_PRODUCERS_PER_PARTITION_MAX) evict_idlest(ps);
    if ((uint64_t)(ps->count + 1) * 4 > (uint64_t)ps->cap * 3) {
        rn_err_t err = grow(ps);
        if (err != RN_OK) return err;
    }
    uint32_t i = slot_of(ps, producer_id);
    while (ps->slots[i].producer_id != EMPTY_ID) i = (i + 1) & (ps->cap - 1);
    producer_t *p = &ps->slots[i];
    memset(p, 0, sizeof(*p));
    p->producer_id = producer_id;
    p->epoch = -1;
    ps->count++;
    *out = p;
    return RN_OK;
}

/* ---- check ---- */

static bool in_sequence(int32_t last_seq, int32_t next_seq) {
    return next_seq == rn_producer_seq_add(last_seq, 1);
}

static const producer_batch_t *find_duplicate(const producer_t *p, int32_t first_seq,
                                              int32_t last_seq) {
    for (uint32_t i = 0; i < p->batch_count; i++)
        if (p->batches[i].first_seq == first_seq && p->batches[i].last_seq == last_seq)
            return &p->batches[i];
    return NULL;
}

static rn_producer_verdict_t verdict_for(const producer_t *p, rn_producer_check_t *chk) {
    if (!p) return chk->first_seq == 0 ? RN_PRODUCER_OK : RN_PRODUCER_UNKNOWN;
    if (chk->epoch < p->epoch) return RN_PRODUCER_FENCED;
    if (chk->epoch > p->epoch) {
        /* KIP-360: a new or bumped epoch starts at sequence 0. */
        if (chk->first_seq == 0) return RN_PRODUCER_OK;
        return p->epoch >= 0 ? RN_PRODUCER_OUT_OF_ORDER : RN_PRODUCER_UNKNOWN;
    }
    const producer_batch_t *dup = find_duplicate(p, chk->first_seq, chk->last_seq);
    if (dup) {
        chk->dup_first_offset = dup->first_offset;
        chk->dup_last_offset = dup->last_offset;
        chk->dup_timestamp_ms = dup->timestamp_ms;
        return RN_PRODUCER_DUPLICATE;
    }
    /* No batch remembered for this epoch: any sequence is accepted (Kafka:
       the records were deleted by retention or DeleteRecords). */
    if (p->batch_count == 0) return RN_PRODUCER_OK;
    int32_t last = p->batches[p->batch_count - 1].last_seq;
    return in_sequence(last, chk->first_seq) ? RN_PRODUCER_OK : RN_PRODUCER_OUT_OF_ORDER;
}

rn_err_t rn_producer_state_check(const rn_producer_state_t *ps, const rn_batch_header_t *hdr,
                                 rn_producer_check_t *chk) {
    RN_ASSERT(chk != NULL);
    memset(chk, 0, sizeof(*chk));
    chk->producer_id = hdr->producer_id;
    chk->epoch = hdr->producer_epoch;
    chk->dup_first_offset = chk->dup_last_offset = chk->dup_timestamp_ms = -1;
    if (hdr->producer_id < 0) return RN_OK;
    if (rn_batch_is_control(hdr)) { /* a marker: only its epoch counts */
        const producer_t *p = find(ps, hdr->producer_id);
        chk->verdict = p && hdr->producer_epoch < p->epoch ? RN_PRODUCER_FENCED : RN_PRODUCER_OK;
        return chk->verdict == RN_PRODUCER_OK ? RN_OK : RN_ERR_STALE;
    }
    RN_ASSERT(hdr->base_sequence >= 0 && hdr->last_offset_delta >= 0); /* batch.c checked */
    chk->first_seq = hdr->base_sequence;
    chk->last_seq = rn_producer_seq_add(hdr->base_sequence, hdr->last_offset_delta);
    chk->verdict = verdict_for(find(ps, hdr->producer_id), chk);
    static const rn_err_t errs[] = {
        [RN_PRODUCER_OK] = RN_OK,
        [RN_PRODUCER_DUPLICATE] = RN_ERR_DUPLICATE,
        [RN_PRODUCER_OUT_OF_ORDER] = RN_ERR_SEQUENCE,
        [RN_PRODUCER_FENCED] = RN_ERR_STALE,
        [RN_PRODUCER_UNKNOWN] = RN_ERR_UNKNOWN_PRODUCER,
    };
    return errs[chk->verdict];
}

rn_err_t rn_producer_state_check_records(const rn_producer_state_t *ps, const uint8_t *records,
                                         size_t len, rn_producer_check_t *chk) {
    RN_ASSERT(len >= RN_BATCH_HEADER_BYTES); /* validated by batch.c first */
    rn_batch_header_t hdr;
    rn_batch_header_parse(records, &hdr);
    rn_err_t err = rn_producer_state_check(ps, &hdr, chk);
    if (rn_batch_size(&hdr) == len) return err;
    /* Several batches: refuse any idempotent one (Kafka: one batch per
       partition from producers since Produce v3). */
    for (size_t off = 0; off + RN_BATCH_HEADER_BYTES <= len;) {
        rn_batch_header_parse(records + off, &hdr);
        if (hdr.producer_id >= 0) return RN_ERR_INVALID;
        off += rn_batch_size(&hdr);
    }
    return RN_OK;
}

/* ---- record ---- */

static void push_batch(producer_t *p, const producer_batch_t *b) {
    if (p->batch_count == BATCHES) {
        memmove(&p->batches[0], &p->batches[1], (BATCHES - 1) * sizeof(p->batches[0]));
        p->batch_count--;
    }
    p->batches[p->batch_count++] = *b;
}

rn_err_t rn_producer_state_record(rn_producer_state_t *ps, const rn_batch_header_t *hdr) {
    if (hdr->producer_id < 0) return RN_OK;
    RN_ASSERT(hdr->base_offset >= 0);
    producer_t *p = find(ps, hdr->producer_id);
    if (!p) {
        rn_err_t err = insert(ps, hdr->producer_id, &p);
        if (err != RN_OK) return err;
    }
    if (hdr->producer_epoch != p->epoch) {
        p->epoch = hdr->producer_epoch;
        p->batch_count = 0; /* a new epoch starts a new sequence space */
    }
    if (rn_batch_is_control(hdr)) { /* a marker: no sequence */
        if (hdr->max_timestamp > p->last_timestamp_ms) p->last_timestamp_ms = hdr->max_timestamp;
        return RN_OK;
    }
    producer_batch_t b = {
        .first_seq = hdr->base_sequence,
        .last_seq = rn_producer_seq_add(hdr->base_sequence, hdr->last_offset_delta),
        .first_offset = hdr->base_offset,
        .last_offset = rn_batch_last_offset(hdr),
        .timestamp_ms = hdr->max_timestamp,
    };
    push_batch(p, &b);
    if (hdr->max_timestamp > p->last_timestamp_ms) p->last_timestamp_ms = hdr->max_timestamp;
    return RN_OK;
}

rn_err_t rn_producer_state_record_records(rn_producer_state_t *ps, const uint8_t *records,
                                          size_t len) {
    for (size_t off = 0; off + RN_BATCH_HEADER_BYTES <= len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(records + off, &hdr);
        rn_err_t err = rn_producer_state_record(ps, &hdr);
        if (err != RN_OK) return err;
        off += rn_batch_size(&hdr);
    }
    return RN_OK;
}

uint32_t rn_producer_state_expire(rn_producer_state_t *ps, int64_t now_ms, int64_t expiration_ms) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < ps->cap;) {
        producer_t *p = &ps->slots[i];
        if (p->producer_id != EMPTY_ID && now_ms - p->last_timestamp_ms > expiration_ms) {
            remove_at(ps, i); /* a shifted entry may now sit at i: look again */
            n++;
            continue;
        }
        i++;
    }
    return n;
}

void rn_producer_state_each(const rn_producer_state_t *ps, rn_producer_fn fn, void *ctx) {
    for (uint32_t i = 0; i < ps->cap; i++) {
        const producer_t *p = &ps->slots[i];
        if (p->producer_id == EMPTY_ID) continue;
        int32_t last = p->batch_count ? p->batches[p->batch_count - 1].last_seq : -1;
        fn(ctx, p->producer_id, p->epoch, last, p->last_timestamp_ms);
    }
}

/* ---- snapshots ---- */

#define SNAP_MAGIC "RNPS"
#define SNAP_VERSION 1
#define SNAP_HEADER_BYTES 22
#define SNAP_PRODUCER_BYTES 19
#define SNAP_BATCH_BYTES 32

static size_t put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static size_t encode_producer(uint8_t *p, const producer_t *prod) {
    size_t n = 0;
    rn_be64_put(p + n, (uint64_t)prod->producer_id), n += 8;
    n += put16(p + n, (uint16_t)prod->epoch);
    rn_be64_put(p + n, (uint64_t)prod->last_timestamp_ms), n += 8;
    p[n++] = prod->batch_count;
    for (uint32_t i = 0; i < prod->batch_count; i++) {
        const producer_batch_t *b = &prod->batches[i];
        rn_be32_put(p + n, (uint32_t)b->first_seq), n += 4;
        rn_be32_put(p + n, (uint32_t)b->last_seq), n += 4;
        rn_be64_put(p + n, (uint64_t)b->first_offset), n += 8;
        rn_be64_put(p + n, (uint64_t)b->last_offset), n += 8;
        rn_be64_put(p + n, (uint64_t)b->timestamp_ms), n += 8;
    }
    return n;
}

static int snapshot_name(char *out, size_t cap, int64_t offset) {
    return snprintf(out, cap, "%020" PRId64 ".snapshot", offset);
}

typedef struct snap_list {
    int64_t *offsets;
    uint32_t count;
    uint32_t cap;
} snap_list_t;

static int snap_list_one(void *ctx, const char *name) {
    snap_list_t *ls = ctx;
    if (strlen(name) != 29 || strcmp(name + 20, ".snapshot") != 0) return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (name[i] - '0');
    }
    if (ls->count == ls->cap) {
        uint32_t cap = ls->cap ? ls->cap * 2 : 8;
        int64_t *o = realloc(ls->offsets, cap * sizeof(*o));
        if (!o) return 1;
        ls->offsets = o;
        ls->cap = cap;
    }
    ls->offsets[ls->count++] = v;
    return 0;
}

static void snapshot_unlink(rn_io_t *io, const char *dir, int64_t offset) {
    char name[40], path[RN_STORAGE_PATH_BYTES_MAX];
    snapshot_name(name, sizeof name, offset);
    if (snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path)
        (void)rn_io_unlink(io, path);
}

rn_err_t rn_producer_state_save(const rn_producer_state_t *ps, rn_io_t *io, const char *dir,
                                int64_t offset) {
    RN_ASSERT(offset >= 0);
    size_t cap =
        SNAP_HEADER_BYTES + (size_t)ps->count * (SNAP_PRODUCER_BYTES + BATCHES * SNAP_BATCH_BYTES);
    RN_ASSERT(cap <= RN_PRODUCER_SNAPSHOT_BYTES_MAX);
    uint8_t *buf = malloc(cap);
    if (!buf) return RN_ERR_NO_MEMORY;
    size_t n = SNAP_HEADER_BYTES;
    for (uint32_t i = 0; i < ps->cap; i++)
        if (ps->slots[i].producer_id != EMPTY_ID) n += encode_producer(buf + n, &ps->slots[i]);
    memcpy(buf, SNAP_MAGIC, 4);
    put16(buf + 4, SNAP_VERSION);
    rn_be64_put(buf + 10, (uint64_t)offset);
    rn_be32_put(buf + 18, ps->count);
    rn_be32_put(buf + 6, rn_crc32c(0, buf + 10, n - 10));
    char name[40];
    snapshot_name(name, sizeof name, offset);
    rn_err_t err = rn_io_write_atomic(io, dir, name, buf, n);
    free(buf);
    if (err != RN_OK) return err;
    snap_list_t ls = {0};
    (void)rn_io_dir_list(io, dir, snap_list_one, &ls);
    for (uint32_t i = 0; i < ls.count; i++)
        if (ls.offsets[i] != offset) snapshot_unlink(io, dir, ls.offsets[i]);
    free(ls.offsets);
    return RN_OK;
}

/* Parses one producer entry; false on any inconsistency. */
static bool decode_producer(const uint8_t *p, size_t avail, producer_t *prod, size_t *used) {
    if (avail < SNAP_PRODUCER_BYTES) return false;
    prod->producer_id = (int64_t)rn_be64_get(p);
    prod->epoch = (int16_t)(((uint32_t)p[8] << 8) | p[9]);
    prod->last_timestamp_ms = (int64_t)rn_be64_get(p + 10);
    prod->batch_count = p[18];
    if (prod->producer_id < 0 || prod->batch_count > BATCHES) return false;
    size_t need = SNAP_PRODUCER_BYTES + (size_t)prod->batch_count * SNAP_BATCH_BYTES;
    if (avail < need) return false;
    const uint8_t *q = p + SNAP_PRODUCER_BYTES;
    for (uint32_t i = 0; i < prod->batch_count; i++, q += SNAP_BATCH_BYTES) {
        producer_batch_t *b = &prod->batches[i];
        b->first_seq = (int32_t)rn_be32_get(q);
        b->last_seq = (int32_t)rn_be32_get(q + 4);
        b->first_offset = (int64_t)rn_be64_get(q + 8);
        b->last_offset = (int64_t)rn_be64_get(q + 16);
        b->timestamp_ms = (int64_t)rn_be64_get(q + 24);
        if (b->first_seq < 0 || b->last_seq < 0 || b->first_offset < 0 ||
            b->last_offset < b->first_offset)
            return false;
    }
    *used = need;
    return true;
}

static rn_err_t decode_snapshot(rn_producer_state_t *ps, const uint8_t *buf, size_t len,
                                int64_t offset) {
    if (len < SNAP_HEADER_BYTES || memcmp(buf, SNAP_MAGIC, 4) != 0) return RN_ERR_CORRUPT;
    if (((uint32_t)buf[4] << 8 | buf[5]) != SNAP_VERSION) return RN_ERR_CORRUPT;
    if (rn_be32_get(buf + 6) != rn_crc32c(0, buf + 10, len - 10)) return RN_ERR_CORRUPT;
    if ((int64_t)rn_be64_get(buf + 10) != offset) return RN_ERR_CORRUPT;
    uint32_t count = rn_be32_get(buf + 18);
    if (count > RN_PRODUCERS_PER_PARTITION_MAX) return RN_ERR_CORRUPT;
    size_t pos = SNAP_HEADER_BYTES;
    for (uint32_t i = 0; i < count; i++) {
        producer_t prod, *slot;
        size_t used = 0;
        if (!decode_producer(buf + pos, len - pos, &prod, &used)) return RN_ERR_CORRUPT;
        if (find(ps, prod.producer_id)) return RN_ERR_CORRUPT;
        rn_err_t err = insert(ps, prod.producer_id, &slot);
        if (err != RN_OK) return err;
        *slot = prod;
        pos += used;
    }
    return pos == len ? RN_OK : RN_ERR_CORRUPT;
}

static rn_err_t read_file(rn_io_t *io, const char *path, uint8_t **out, size_t *len) {
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ, &fd);
    if (err != RN_OK) return err;
    uint64_t size = 0;
    err = rn_io_file_size(io, fd, &size);
    if (err == RN_OK && size > RN_PRODUCER_SNAPSHOT_BYTES_MAX) err = RN_ERR_CORRUPT;
    uint8_t *buf = NULL;
    if (err == RN_OK && !(buf = malloc(size ? (size_t)size : 1))) err = RN_ERR_NO_MEMORY;
    if (err == RN_OK) err = rn_io_file_pread(io, fd, buf, (size_t)size, 0, len);
    if (err == RN_OK && *len != size) err = RN_ERR_CORRUPT;
    rn_io_file_close(io, fd);
    if (err != RN_OK)
        free(buf);
    else
        *out = buf;
    return err;
}

static rn_err_t read_snapshot(rn_producer_state_t *ps, rn_io_t *io, const char *dir,
                              int64_t offset) {
    char name[40], path[RN_STORAGE_PATH_BYTES_MAX];
    snapshot_name(name, sizeof name, offset);
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return RN_ERR_TOO_LARGE;
    uint8_t *buf = NULL;
    size_t len = 0;
    rn_err_t err = read_file(io, path, &buf, &len);
    if (err == RN_OK) err = decode_snapshot(ps, buf, len, offset);
    free(buf);
    if (err != RN_OK) rn_producer_state_clear(ps);
    return err;
}

static int replay_one(void *ctx, const rn_batch_header_t *hdr) {
    rn_producer_state_t *ps = ctx;
    return rn_producer_state_record(ps, hdr) != RN_OK;
}

/* The newest readable snapshot at or below `end`; deletes the others that
   cannot be used. Returns the offset to replay from. */
static int64_t pick_snapshot(rn_producer_state_t *ps, rn_io_t *io, const char *dir, int64_t end,
                             int64_t start) {
    /* A snapshot below the log start still holds producers whose batches
       retention removed since: use it, as Kafka does. */
    snap_list_t ls = {0};
    (void)rn_io_dir_list(io, dir, snap_list_one, &ls);
    int64_t from = start;
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < ls.count; i++)
            if (ls.offsets[i] >= 0 && (best == UINT32_MAX || ls.offsets[i] > ls.offsets[best]))
                best = i;
        if (best == UINT32_MAX) break;
        int64_t offset = ls.offsets[best];
        ls.offsets[best] = -1;
        if (offset <= end && read_snapshot(ps, io, dir, offset) == RN_OK) {
            from = offset;
            break;
        }
        RN_WARN("producer", "%s: snapshot %" PRId64 " unusable; deleted", dir, offset);
        snapshot_unlink(io, dir, offset);
    }
    free(ls.offsets);
    return from;
}

rn_err_t rn_producer_state_load(rn_producer_state_t *ps, rn_io_t *io, rn_log_t *log,
                                int64_t *replayed_from) {
    RN_ASSERT(ps->count == 0);
    const char *dir = rn_log_dir(log);
    int64_t end = rn_log_end_offset(log), start = rn_log_start_offset(log);
    int64_t from = pick_snapshot(ps, io, dir, end, start);
    if (replayed_from) *replayed_from = from;
    if (from >= end) return RN_OK;
    return rn_log_scan_headers(log, from, replay_one, ps);
}
