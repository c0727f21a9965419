/*
 * raft_msg.c: the wire form of Raft messages between quorum members.
 *
 * Owns nothing: decode borrows entry and snapshot bytes from the input
 * buffer. Must never trust a length or count read off the wire: every one is
 * checked against the bytes left and a named limit, and a bad message is
 * RN_ERR_CORRUPT, never a crash.
 *
 * Layout (little endian):
 *   off  size
 *   0    1    type            1    1  reject       2  1  transfer   3  1  0
 *   4    4    from            8    4  to
 *   12   8*6  term, index, log_term, commit, hint, read_seq
 *   60   4    entries_n
 *   64   ...  entries_n * { u64 term, u8 type, u32 len, len bytes }
 *             (entry k has index = index + 1 + k)
 *   SNAPSHOT only, after the entries:
 *             u64 index, u64 term, u32 config_len, config bytes,
 *             u32 data_len, data bytes
 */
#include "raft.h"

#include "base/assert.h"

#include <string.h>

#define MSG_HEADER_BYTES 64
#define ENTRY_HEADER_BYTES 13

typedef struct wr {
    uint8_t *p;
    size_t off, cap;
} wr_t;

static void w_bytes(wr_t *w, const void *src, size_t len) {
    RN_ASSERT(w->off + len <= w->cap);
    if (len) memcpy(w->p + w->off, src, len);
    w->off += len;
}

static void w_uint(wr_t *w, uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
    w_bytes(w, b, (size_t)bytes);
}

typedef struct rd {
    const uint8_t *p;
    size_t off, len;
    int bad;
} rd_t;

static uint64_t r_uint(rd_t *r, int bytes) {
    if (r->bad || r->len - r->off < (size_t)bytes) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}

static const uint8_t *r_bytes(rd_t *r, size_t len) {
    if (r->bad || r->len - r->off < len) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += len;
    return p;
}

size_t rn_raft_msg_size(const rn_raft_msg_t *msg) {
    size_t n = MSG_HEADER_BYTES;
    for (uint32_t i = 0; i < msg->entries_n; i++) n += ENTRY_HEADER_BYTES + msg->entries[i].len;
    if (msg->type == RN_RAFT_MSG_SNAPSHOT) n += 24 + RN_RAFT_CONFIG_BYTES_MAX + msg->snapshot.len;
    return n;
}

size_t rn_raft_msg_encode(const rn_raft_msg_t *msg, uint8_t *buf, size_t cap) {
    wr_t w = {buf, 0, cap};
    uint8_t head[4] = {msg->type, msg->reject, msg->transfer, 0};
    w_bytes(&w, head, 4);
    w_uint(&w, msg->from, 4);
    w_uint(&w, msg->to, 4);
    uint64_t nums[6] = {msg->term,   msg->index, msg->log_term,
                        msg->commit, msg->hint,  msg->read_seq};
    for (int i = 0; i < 6; i++) w_uint(&w, nums[i], 8);
    w_uint(&w, msg->entries_n, 4);
    for (uint32_t i = 0; i < msg->entries_n; i++) {
        const rn_raft_entry_t *e = &msg->entries[i];
        RN_ASSERT(e->index == msg->index + 1 + i);
        w_uint(&w, e->term, 8);
        w_uint(&w, e->type, 1);
        w_uint(&w, e->len, 4);
        w_bytes(&w, e->data, e->len);
    }
    if (msg->type == RN_RAFT_MSG_SNAPSHOT) {
        uint8_t cfg[RN_RAFT_CONFIG_BYTES_MAX];
        uint32_t cfg_len = rn_raft_config_encode(&msg->snapshot.config, cfg, sizeof(cfg));
        w_uint(&w, msg->snapshot.index, 8);
        w_uint(&w, msg->snapshot.term, 8);
        w_uint(&w, cfg_len, 4);
        w_bytes(&w, cfg, cfg_len);
        w_uint(&w, msg->snapshot.len, 4);
        w_bytes(&w, msg->snapshot.data, msg->snapshot.len);
    }
    return w.off;
}

static rn_err_t decode_entries(rd_t *r, rn_raft_msg_t *msg, rn_raft_entry_t *entries,
                               uint32_t entries_cap) {
    if (msg->entries_n > entries_cap || msg->entries_n > RN_RAFT_APPEND_ENTRIES_MAX)
        return RN_ERR_CORRUPT;
    if (msg->entries_n && msg->type != RN_RAFT_MSG_APPEND) return RN_ERR_CORRUPT;
    for (uint32_t i = 0; i < msg->entries_n; i++) {
        rn_raft_entry_t *e = &entries[i];
        e->index = msg->index + 1 + i;
        e->term = r_uint(r, 8);
        e->type = (uint8_t)r_uint(r, 1);
        e->len = (uint32_t)r_uint(r, 4);
        if (r->bad || e->len > RN_RAFT_ENTRY_BYTES_MAX || e->type > RN_RAFT_ENTRY_CONFIG)
            return RN_ERR_CORRUPT;
        e->data = (uint8_t *)(uintptr_t)r_bytes(r, e->len);
        if (r->bad || e->term == 0 || e->term > msg->term) return RN_ERR_CORRUPT;
    }
    msg->entries = msg->entries_n ? entries : NULL;
    return RN_OK;
}

static rn_err_t decode_snapshot(rd_t *r, rn_raft_msg_t *msg) {
    rn_raft_snapshot_t *s = &msg->snapshot;
    s->index = r_uint(r, 8);
    s->term = r_uint(r, 8);
    uint32_t cfg_len = (uint32_t)r_uint(r, 4);
    if (r->bad || cfg_len > RN_RAFT_CONFIG_BYTES_MAX) return RN_ERR_CORRUPT;
    const uint8_t *cfg = r_bytes(r, cfg_len);
    if (r->bad || rn_raft_config_decode(cfg, cfg_len, &s->config) != RN_OK) return RN_ERR_CORRUPT;
    s->len = (uint32_t)r_uint(r, 4);
    if (r->bad || s->len > RN_RAFT_SNAPSHOT_BYTES_MAX) return RN_ERR_CORRUPT;
    s->data = (uint8_t *)(uintptr_t)r_bytes(r, s->len);
    if (r->bad || s->index == 0 || s->term == 0) return RN_ERR_CORRUPT;
    return RN_OK;
}

rn_err_t rn_raft_msg_decode(const uint8_t *buf, size_t len, rn_raft_msg_t *msg,
                            rn_raft_entry_t *entries, uint32_t entries_cap) {
    memset(msg, 0, sizeof(*msg));
    if (len > RN_RAFT_MSG_BYTES_MAX) return RN_ERR_TOO_LARGE;
    rd_t r = {buf, 0, len, 0};
    msg->type = (uint8_t)r_uint(&r, 1);
    msg->reject = (uint8_t)r_uint(&r, 1);
    msg->transfer = (uint8_t)r_uint(&r, 1);
    r_uint(&r, 1);
    msg->from = (rn_raft_id_t)r_uint(&r, 4);
    msg->to = (rn_raft_id_t)r_uint(&r, 4);
    uint64_t *nums[6] = {&msg->term,   &msg->index, &msg->log_term,
                         &msg->commit, &msg->hint,  &msg->read_seq};
    for (int i = 0; i < 6; i++) *nums[i] = r_uint(&r, 8);
    msg->entries_n = (uint32_t)r_uint(&r, 4);
    if (r.bad || msg->type == 0 || msg->type >= RN_RAFT_MSG__COUNT) return RN_ERR_CORRUPT;
    if (msg->reject > 1 || msg->transfer > 1 || msg->from == RN_RAFT_ID_NONE) return RN_ERR_CORRUPT;
    rn_err_t err = decode_entries(&r, msg, entries, entries_cap);
    if (err) return err;
    if (msg->type == RN_RAFT_MSG_SNAPSHOT) {
        err = decode_snapshot(&r, msg);
        if (err) return err;
    }
    return r.off == len ? RN_OK : RN_ERR_CORRUPT;
}
