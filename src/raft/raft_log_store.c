/*
 * raft_log_store.c: the Raft node's files (see raft_log_store.h).
 *
 * Owns the open log handle, an index of record offsets and terms, and the
 * recovered snapshot and boot entries. Must never write anywhere but its
 * directory, never call the OS except through rn_io_t, and never report a
 * write done before it is synced.
 *
 * state file (20 bytes)        snapshot file
 *   0  u32 magic "RNRS"          0  u32 magic "RNRP"
 *   4  u64 term                  4  u64 index      12 u64 term
 *   12 u32 vote                  20 u32 config_len 24 config bytes
 *   16 u32 crc32c of 0..15       .. u32 data_len   .. data
 *                                .. u32 crc32c of everything before
 * log file
 *   0  u32 magic "RNRL"   4 u64 base_index   12 u64 base_term   20 u32 crc
 *   24 records: u32 len, u32 crc32c(len, payload), payload (len bytes) =
 *               u64 index, u64 term, u8 type, data (len - 17 bytes)
 */
#include "raft/raft_log_store.h"

#include "base/assert.h"
#include "base/crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC 0x53524e52u /* "RNRS" */
#define SNAP_MAGIC 0x50524e52u  /* "RNRP" */
#define LOG_MAGIC 0x4c524e52u   /* "RNRL" */
#define STATE_BYTES 20
#define LOG_HEADER_BYTES 24
#define REC_HEADER_BYTES 8
#define REC_FIXED_BYTES 17
#define STORE_PATH_BYTES_MAX 512

struct rn_raft_store {
    rn_io_t *io;
    char dir[STORE_PATH_BYTES_MAX];
    char log_path[STORE_PATH_BYTES_MAX];
    rn_fd_t log_fd;
    uint64_t base_index, base_term;
    uint64_t *offs; /* record of index base+1+i starts at offs[i] */
    uint64_t *terms;
    uint32_t n, cap;
    uint64_t end_off;
    uint64_t term;
    rn_raft_id_t vote;
    rn_raft_snapshot_t snap;
    rn_raft_entry_t *boot;
    uint32_t boot_n;
};

static void put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ---- state ---- */

rn_err_t rn_raft_store_save_state(rn_raft_store_t *st, uint64_t term, rn_raft_id_t vote) {
    uint8_t b[STATE_BYTES];
    put_le(b, STATE_MAGIC, 4);
    put_le(b + 4, term, 8);
    put_le(b + 12, vote, 4);
    put_le(b + 16, rn_crc32c(0, b, 16), 4);
    rn_err_t err = rn_io_write_atomic(st->io, st->dir, "state", b, sizeof(b));
    if (err == RN_OK) {
        st->term = term;
        st->vote = vote;
    }
    return err;
}

static rn_err_t state_load(rn_raft_store_t *st) {
    char path[STORE_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof(path), "%s/state", st->dir);
    uint8_t b[STATE_BYTES];
    size_t len = 0;
    rn_err_t err = rn_io_read_small(st->io, path, b, sizeof(b), &len);
    if (err == RN_ERR_NOT_FOUND) return RN_OK; /* never voted */
    if (err) return err;
    if (len != STATE_BYTES || get_le(b, 4) != STATE_MAGIC ||
        get_le(b + 16, 4) != rn_crc32c(0, b, 16))
        return RN_ERR_CORRUPT;
    st->term = get_le(b + 4, 8);
    st->vote = (rn_raft_id_t)get_le(b + 12, 4);
    return RN_OK;
}

/* ---- snapshot ---- */

static rn_err_t snap_write(rn_raft_store_t *st, const rn_raft_snapshot_t *s) {
    uint8_t cfg[RN_RAFT_CONFIG_BYTES_MAX];
    uint32_t cfg_len = rn_raft_config_encode(&s->config, cfg, sizeof(cfg));
    size_t len = 4 + 16 + 4 + cfg_len + 4 + s->len + 4;
    uint8_t *b = malloc(len);
    if (!b) return RN_ERR_NO_MEMORY;
    size_t off = 0;
    put_le(b, SNAP_MAGIC, 4);
    put_le(b + 4, s->index, 8);
    put_le(b + 12, s->term, 8);
    put_le(b + 20, cfg_len, 4);
    off = 24;
    memcpy(b + off, cfg, cfg_len);
    off += cfg_len;
    put_le(b + off, s->len, 4);
    off += 4;
    if (s->len) memcpy(b + off, s->data, s->len);
    off += s->len;
    put_le(b + off, rn_crc32c(0, b, off), 4);
    rn_err_t err = rn_io_write_atomic(st->io, st->dir, "snapshot", b, len);
    free(b);
    return err;
}

static rn_err_t snap_parse(rn_raft_store_t *st, const uint8_t *b, size_t len) {
    if (len < 32 || get_le(b, 4) != SNAP_MAGIC) return RN_ERR_CORRUPT;
    if (get_le(b + len - 4, 4) != rn_crc32c(0, b, len - 4)) return RN_ERR_CORRUPT;
    uint32_t cfg_len = (uint32_t)get_le(b + 20, 4);
    if (cfg_len > RN_RAFT_CONFIG_BYTES_MAX || 24 + (size_t)cfg_len + 8 > len) return RN_ERR_CORRUPT;
    rn_raft_snapshot_t *s = &st->snap;
    if (rn_raft_config_decode(b + 24, cfg_len, &s->config)) return RN_ERR_CORRUPT;
    size_t off = 24 + cfg_len;
    uint32_t data_len = (uint32_t)get_le(b + off, 4);
    if (off + 4 + (size_t)data_len + 4 != len) return RN_ERR_CORRUPT;
    s->index = get_le(b + 4, 8);
    s->term = get_le(b + 12, 8);
    s->len = data_len;
    s->data = malloc(data_len ? data_len : 1);
    if (!s->data) return RN_ERR_NO_MEMORY;
    memcpy(s->data, b + off + 4, data_len);
    return RN_OK;
}

static rn_err_t snap_load(rn_raft_store_t *st) {
    char path[STORE_PATH_BYTES_MAX + 16];
    snprintf(path, sizeof(path), "%s/snapshot", st->dir);
    size_t cap = RN_RAFT_SNAPSHOT_BYTES_MAX + 32 + RN_RAFT_CONFIG_BYTES_MAX, len = 0;
    uint8_t *b = malloc(cap);
    if (!b) return RN_ERR_NO_MEMORY;
    rn_err_t err = rn_io_read_small(st->io, path, b, cap, &len);
    if (err == RN_OK)
        err = snap_parse(st, b, len);
    else if (err == RN_ERR_NOT_FOUND)
        err = RN_OK; /* no snapshot yet */
    free(b);
    return err;
}

/* ---- log ---- */

static rn_err_t index_push(rn_raft_store_t *st, uint64_t off, uint64_t term) {
    if (st->n == st->cap) {
        uint32_t cap = st->cap ? st->cap * 2 : 256;
        uint64_t *offs = realloc(st->offs, cap * sizeof(*offs));
        if (!offs) return RN_ERR_NO_MEMORY;
        st->offs = offs;
        uint64_t *terms = realloc(st->terms, cap * sizeof(*terms));
        if (!terms) return RN_ERR_NO_MEMORY;
        st->terms = terms;
        st->cap = cap;
    }
    st->offs[st->n] = off;
    st->terms[st->n++] = term;
    return RN_OK;
}

uint64_t rn_raft_store_last_index(const rn_raft_store_t *st) { return st->base_index + st->n; }

static uint64_t term_of(const rn_raft_store_t *st, uint64_t index) {
    if (index == st->base_index) return st->base_term;
    if (index < st->base_index || index > rn_raft_store_last_index(st)) return 0;
    return st->terms[index - st->base_index - 1];
}

uint64_t rn_raft_store_term_at(const rn_raft_store_t *st, uint64_t index) {
    return term_of(st, index);
}

void rn_raft_store_state(const rn_raft_store_t *st, uint64_t *term, rn_raft_id_t *vote) {
    *term = st->term;
    *vote = st->vote;
}

static void log_header(uint8_t *h, uint64_t base_index, uint64_t base_term) {
    put_le(h, LOG_MAGIC, 4);
    put_le(h + 4, base_index, 8);
    put_le(h + 12, base_term, 8);
    put_le(h + 20, rn_crc32c(0, h, 20), 4);
}

static size_t rec_encode_header(uint8_t *h, const rn_raft_entry_t *e) {
    uint32_t len = REC_FIXED_BYTES + e->len;
    put_le(h, len, 4);
    put_le(h + 8, e->index, 8);
    put_le(h + 16, e->term, 8);
    h[24] = e->type;
    uint32_t crc = rn_crc32c(0, h, 4);
    crc = rn_crc32c(crc, h + 8, REC_FIXED_BYTES);
    crc = rn_crc32c(crc, e->data, e->len);
    put_le(h + 4, crc, 4);
    return REC_HEADER_BYTES + REC_FIXED_BYTES;
}

rn_err_t rn_raft_store_append(rn_raft_store_t *st, const rn_raft_entry_t *entries, uint32_t n) {
    RN_ASSERT(n > 0);
    uint64_t first = entries[0].index, last = rn_raft_store_last_index(st);
    RN_ASSERT(first > st->base_index && first <= last + 1);
    rn_err_t err;
    if (first <= last) { /* a conflict: cut the log first */
        uint32_t keep = (uint32_t)(first - st->base_index - 1);
        err = rn_io_file_truncate(st->io, st->log_fd, st->offs[keep]);
        if (err) return err;
        st->end_off = st->offs[keep];
        st->n = keep;
    }
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += REC_HEADER_BYTES + REC_FIXED_BYTES + entries[i].len;
    uint8_t *buf = malloc(total);
    if (!buf) return RN_ERR_NO_MEMORY;
    size_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        RN_ASSERT(entries[i].index == first + i);
        off += rec_encode_header(buf + off, &entries[i]);
        if (entries[i].len) memcpy(buf + off, entries[i].data, entries[i].len);
        off += entries[i].len;
    }
    err = rn_io_file_pwrite(st->io, st->log_fd, buf, total, st->end_off);
    free(buf);
    if (err == RN_OK) err = rn_io_file_sync(st->io, st->log_fd);
    if (err) return err;
    uint64_t rec = st->end_off;
    for (uint32_t i = 0; i < n && err == RN_OK; i++) {
        err = index_push(st, rec, entries[i].term);
        rec += REC_HEADER_BYTES + REC_FIXED_BYTES + entries[i].len;
    }
    st->end_off = rec;
    return err;
}

/* Replaces the log file atomically with a header for (base_index,
   base_term) followed, if keep, by our records after base_index. */
static rn_err_t log_rewrite(rn_raft_store_t *st, uint64_t base_index, uint64_t base_term,
                            int keep) {
    uint64_t last = rn_raft_store_last_index(st);
    uint64_t from_off = st->end_off;
    if (keep && base_index < last) from_off = st->offs[base_index - st->base_index];
    size_t body = keep ? (size_t)(st->end_off - from_off) : 0;
    uint8_t *buf = malloc(LOG_HEADER_BYTES + body);
    if (!buf) return RN_ERR_NO_MEMORY;
    log_header(buf, base_index, base_term);
    size_t got = 0;
    rn_err_t err = RN_OK;
    if (body)
        err = rn_io_file_pread(st->io, st->log_fd, buf + LOG_HEADER_BYTES, body, from_off, &got);
    if (err == RN_OK && got != body) err = RN_ERR_CORRUPT;
    if (err == RN_OK)
        err = rn_io_write_atomic(st->io, st->dir, "log", buf, LOG_HEADER_BYTES + body);
    free(buf);
    if (err) return err;
    uint32_t drop = keep && base_index < last ? (uint32_t)(base_index - st->base_index) : st->n;
    for (uint32_t i = drop; i < st->n; i++) {
        st->offs[i - drop] = st->offs[i] - from_off + LOG_HEADER_BYTES;
        st->terms[i - drop] = st->terms[i];
    }
    st->n -= drop;
    st->base_index = base_index;
    st->base_term = base_term;
    st->end_off = LOG_HEADER_BYTES + body;
    if (st->log_fd != RN_FD_NONE) rn_io_file_close(st->io, st->log_fd);
    st->log_fd = RN_FD_NONE;
    return rn_io_file_open(st->io, st->log_path, RN_IO_READ | RN_IO_WRITE, &st->log_fd);
}

rn_err_t rn_raft_store_save_snapshot(rn_raft_store_t *st, const rn_raft_snapshot_t *snap) {
    RN_ASSERT(snap->index >= st->base_index);
    rn_err_t err = snap_write(st, snap);
    if (err) return err;
    int keep = term_of(st, snap->index) == snap->term;
    return log_rewrite(st, snap->index, snap->term, keep);
}

/* Reads one record at off; returns 0 at the first one that is torn, corrupt
   or out of sequence (recovery cuts the log there). */
static int rec_read(rn_raft_store_t *st, uint64_t off, uint64_t size, uint8_t *buf, uint32_t *len,
                    uint64_t *term) {
    size_t got = 0;
    if (size - off < REC_HEADER_BYTES) return 0;
    if (rn_io_file_pread(st->io, st->log_fd, buf, REC_HEADER_BYTES, off, &got) || got != 8)
        return 0;
    *len = (uint32_t)get_le(buf, 4);
    if (*len < REC_FIXED_BYTES || *len > REC_FIXED_BYTES + RN_RAFT_ENTRY_BYTES_MAX) return 0;
    if (size - off - REC_HEADER_BYTES < *len) return 0;
    if (rn_io_file_pread(st->io, st->log_fd, buf + 8, *len, off + 8, &got) || got != *len) return 0;
    uint32_t crc = rn_crc32c(rn_crc32c(0, buf, 4), buf + 8, *len);
    if (crc != get_le(buf + 4, 4)) return 0;
    uint64_t index = get_le(buf + 8, 8);
    *term = get_le(buf + 16, 8);
    uint64_t prev_term = term_of(st, rn_raft_store_last_index(st));
    if (index != rn_raft_store_last_index(st) + 1 || *term < prev_term || buf[24] > 2) return 0;
    return 1;
}

static rn_err_t log_scan(rn_raft_store_t *st) {
    uint64_t size = 0;
    rn_err_t err = rn_io_file_size(st->io, st->log_fd, &size);
    if (err) return err;
    uint8_t h[LOG_HEADER_BYTES];
    size_t got = 0;
    err = rn_io_file_pread(st->io, st->log_fd, h, sizeof(h), 0, &got);
    if (err) return err;
    if (got != sizeof(h) || get_le(h, 4) != LOG_MAGIC || get_le(h + 20, 4) != rn_crc32c(0, h, 20))
        return RN_ERR_CORRUPT; /* the header is only ever written atomically */
    st->base_index = get_le(h + 4, 8);
    st->base_term = get_le(h + 12, 8);
    uint8_t *buf = malloc(REC_HEADER_BYTES + REC_FIXED_BYTES + RN_RAFT_ENTRY_BYTES_MAX);
    if (!buf) return RN_ERR_NO_MEMORY;
    uint64_t off = LOG_HEADER_BYTES, term = 0;
    uint32_t len = 0;
    while (err == RN_OK && rec_read(st, off, size, buf, &len, &term)) {
        err = index_push(st, off, term);
        off += REC_HEADER_BYTES + len;
    }
    free(buf);
    st->end_off = off;
    if (err == RN_OK && off < size) { /* cut the torn or corrupt tail */
        err = rn_io_file_truncate(st->io, st->log_fd, off);
        if (err == RN_OK) err = rn_io_file_sync(st->io, st->log_fd);
    }
    return err;
}

static rn_err_t boot_load(rn_raft_store_t *st) {
    uint64_t from = st->snap.index + 1, last = rn_raft_store_last_index(st);
    if (from > last) return RN_OK;
    st->boot = calloc((size_t)(last - from + 1), sizeof(*st->boot));
    if (!st->boot) return RN_ERR_NO_MEMORY;
    for (uint64_t i = from; i <= last; i++) {
        uint32_t k = (uint32_t)(i - st->base_index - 1);
        uint64_t end = k + 1 < st->n ? st->offs[k + 1] : st->end_off;
        size_t len = (size_t)(end - st->offs[k]), got = 0;
        uint8_t *rec = malloc(len);
        if (!rec) return RN_ERR_NO_MEMORY;
        rn_err_t err = rn_io_file_pread(st->io, st->log_fd, rec, len, st->offs[k], &got);
        if (err == RN_OK && got != len) err = RN_ERR_CORRUPT;
        rn_raft_entry_t *e = &st->boot[st->boot_n++];
        e->index = i;
        e->term = st->terms[k];
        e->type = rec[REC_HEADER_BYTES + 16];
        e->len = (uint32_t)(len - REC_HEADER_BYTES - REC_FIXED_BYTES);
        e->data = rec; /* freed as a whole; data points inside */
        memmove(rec, rec + REC_HEADER_BYTES + REC_FIXED_BYTES, e->len);
        if (err) return err;
    }
    return RN_OK;
}

/* The log must continue the snapshot: keep it if it agrees at the
   snapshot's index, else start an empty log there. */
static rn_err_t log_reconcile(rn_raft_store_t *st) {
    uint64_t s = st->snap.index;
    if (s < st->base_index) return RN_ERR_CORRUPT;
    if (s == st->base_index && st->base_term != st->snap.term) return RN_ERR_CORRUPT;
    if (s == st->base_index) return RN_OK;
    return log_rewrite(st, s, st->snap.term, term_of(st, s) == st->snap.term);
}

static rn_err_t store_recover(rn_raft_store_t *st) {
    rn_err_t err = rn_io_dir_create(st->io, st->dir);
    if (err == RN_OK) err = state_load(st);
    if (err == RN_OK) err = snap_load(st);
    if (err) return err;
    err = rn_io_file_open(st->io, st->log_path, RN_IO_READ | RN_IO_WRITE, &st->log_fd);
    if (err == RN_ERR_NOT_FOUND) {
        st->log_fd = RN_FD_NONE;
        st->n = 0;
        err = log_rewrite(st, st->snap.index, st->snap.term, 0);
    } else if (err == RN_OK) {
        err = log_scan(st);
    }
    if (err == RN_OK) err = log_reconcile(st);
    /* What we see may not be durable: an earlier run may have died after a
       write, a rename or a failed sync. Make it durable before relying on it
       (answering a vote, acknowledging entries). */
    if (err == RN_OK) err = rn_io_file_sync(st->io, st->log_fd);
    if (err == RN_OK) err = rn_io_dir_sync(st->io, st->dir);
    if (err == RN_OK) err = boot_load(st);
    return err;
}

rn_err_t rn_raft_store_open(rn_io_t *io, const char *dir, rn_raft_store_t **out) {
    rn_raft_store_t *st = calloc(1, sizeof(*st));
    if (!st) return RN_ERR_NO_MEMORY;
    st->io = io;
    st->log_fd = RN_FD_NONE;
    int n1 = snprintf(st->dir, sizeof(st->dir), "%s", dir);
    int n2 = snprintf(st->log_path, sizeof(st->log_path), "%s/log", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof(st->log_path)) {
        free(st);
        return RN_ERR_INVALID;
    }
    rn_err_t err = store_recover(st);
    if (err) {
        rn_raft_store_close(st);
        return err;
    }
    *out = st;
    return RN_OK;
}

void rn_raft_store_boot(const rn_raft_store_t *st, rn_raft_boot_t *boot) {
    boot->term = st->term;
    boot->vote = st->vote;
    boot->snapshot = st->snap.index ? &st->snap : NULL;
    boot->entries = st->boot;
    boot->entries_n = st->boot_n;
}

void rn_raft_store_boot_release(rn_raft_store_t *st) {
    for (uint32_t i = 0; i < st->boot_n; i++) free(st->boot[i].data);
    free(st->boot);
    st->boot = NULL;
    st->boot_n = 0;
    free(st->snap.data);
    st->snap.data = NULL;
    st->snap.len = 0;
}

void rn_raft_store_close(rn_raft_store_t *st) {
    if (!st) return;
    rn_raft_store_boot_release(st);
    if (st->log_fd != RN_FD_NONE) rn_io_file_close(st->io, st->log_fd);
    free(st->offs);
    free(st->terms);
    free(st);
}
