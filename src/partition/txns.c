/*
 * txns.c: a partition's ongoing and aborted transactions (see txns.h).
 * Ongoing transactions are few (one per producer writing a transaction
 * here) and kept in a plain array; aborted ones in marker order, which is
 * offset order.
 */
#include "partition/txns.h"
#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "base/limits.h"
#include "base/log.h"
#include "proto/batch_marker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TXN_CHECKPOINT_NAME "txn.checkpoint"
#define TXN_MAGIC "RNTX"
#define TXN_VERSION 1
#define TXN_HEADER_BYTES 22
#define TXN_ONGOING_BYTES 16
#define TXN_ABORTED_BYTES 34

typedef struct ongoing {
    int64_t producer_id;
    int64_t first_offset;
} ongoing_t;

struct rn_txns {
    ongoing_t *ongoing;
    uint32_t ongoing_count;
    uint32_t ongoing_cap;
    rn_txn_aborted_t *aborted; /* by last offset */
    uint32_t aborted_count;
    uint32_t aborted_cap;
    uint64_t markers_seen;
    uint64_t aborts_seen;
};

rn_err_t rn_txns_create(rn_txns_t **out) {
    rn_txns_t *txns = calloc(1, sizeof *txns);
    if (!txns) return RN_ERR_NO_MEMORY;
    *out = txns;
    return RN_OK;
}

void rn_txns_free(rn_txns_t *txns) {
    if (!txns) return;
    free(txns->ongoing);
    free(txns->aborted);
    free(txns);
}

static int32_t ongoing_find(const rn_txns_t *txns, int64_t producer_id) {
    for (uint32_t i = 0; i < txns->ongoing_count; i++)
        if (txns->ongoing[i].producer_id == producer_id) return (int32_t)i;
    return -1;
}

bool rn_txns_ongoing(const rn_txns_t *txns, int64_t producer_id) {
    return ongoing_find(txns, producer_id) >= 0;
}

int64_t rn_txns_ongoing_first(const rn_txns_t *txns, int64_t producer_id) {
    int32_t i = ongoing_find(txns, producer_id);
    return i >= 0 ? txns->ongoing[i].first_offset : -1;
}

static void ongoing_add(rn_txns_t *txns, int64_t producer_id, int64_t first_offset) {
    if (txns->ongoing_count >= RN_PRODUCERS_PER_PARTITION_MAX) return; /* as the producer table */
    if (txns->ongoing_count == txns->ongoing_cap) {
        uint32_t cap = txns->ongoing_cap ? txns->ongoing_cap * 2 : 8;
        ongoing_t *grown = realloc(txns->ongoing, cap * sizeof *grown);
        RN_ASSERT(grown != NULL);
        txns->ongoing = grown;
        txns->ongoing_cap = cap;
    }
    txns->ongoing[txns->ongoing_count++] = (ongoing_t){producer_id, first_offset};
}

static void ongoing_remove(rn_txns_t *txns, uint32_t i) {
    RN_ASSERT(i < txns->ongoing_count);
    txns->ongoing[i] = txns->ongoing[--txns->ongoing_count];
}

static void aborted_add(rn_txns_t *txns, const rn_txn_aborted_t *entry) {
    if (txns->aborted_count >= RN_TXN_ABORTED_PER_PARTITION_MAX) {
        RN_WARN("partition", "aborted transactions past %d: the oldest is forgotten",
                RN_TXN_ABORTED_PER_PARTITION_MAX);
        memmove(&txns->aborted[0], &txns->aborted[1],
                (txns->aborted_count - 1) * sizeof *txns->aborted);
        txns->aborted_count--;
    }
    if (txns->aborted_count == txns->aborted_cap) {
        uint32_t cap = txns->aborted_cap ? txns->aborted_cap * 2 : 8;
        rn_txn_aborted_t *grown = realloc(txns->aborted, cap * sizeof *grown);
        RN_ASSERT(grown != NULL);
        txns->aborted = grown;
        txns->aborted_cap = cap;
    }
    txns->aborted[txns->aborted_count++] = *entry;
}

/* A marker ends its producer's transaction here (one with no batch here
   ends nothing, but an ABORT is still noted from the marker on). */
static void on_marker(rn_txns_t *txns, const rn_batch_header_t *hdr, const uint8_t *batch,
                      size_t len, int64_t hw) {
    bool commit = false;
    int32_t coordinator_epoch;
    if (!batch || rn_batch_marker_decode(batch, len, &commit, &coordinator_epoch) != RN_OK) return;
    txns->markers_seen++;
    int32_t i = ongoing_find(txns, hdr->producer_id);
    int64_t first = i >= 0 ? txns->ongoing[i].first_offset : -1;
    if (i >= 0) ongoing_remove(txns, (uint32_t)i);
    if (commit || first < 0) return;
    int64_t lso = rn_txns_first_unstable(txns);
    rn_txn_aborted_t entry = {hdr->producer_id, first, hdr->base_offset, lso < hw ? lso : hw};
    aborted_add(txns, &entry);
    txns->aborts_seen++;
}

void rn_txns_on_batch(rn_txns_t *txns, const rn_batch_header_t *hdr, const uint8_t *batch,
                      size_t len, int64_t hw) {
    if (hdr->producer_id < 0 || !rn_batch_is_transactional(hdr)) return;
    if (rn_batch_is_control(hdr)) {
        on_marker(txns, hdr, batch, len, hw);
        return;
    }
    if (ongoing_find(txns, hdr->producer_id) < 0)
        ongoing_add(txns, hdr->producer_id, hdr->base_offset);
}

void rn_txns_on_records(rn_txns_t *txns, const uint8_t *records, size_t len, int64_t hw) {
    for (size_t off = 0; off + RN_BATCH_HEADER_BYTES <= len;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(records + off, &hdr);
        size_t size = rn_batch_size(&hdr);
        if (size > len - off) break;
        rn_txns_on_batch(txns, &hdr, records + off, size, hw);
        off += size;
    }
}

int64_t rn_txns_first_unstable(const rn_txns_t *txns) {
    int64_t first = INT64_MAX;
    for (uint32_t i = 0; i < txns->ongoing_count; i++)
        if (txns->ongoing[i].first_offset < first) first = txns->ongoing[i].first_offset;
    return first;
}

int32_t rn_txns_aborted(const rn_txns_t *txns, int64_t from, int64_t to, rn_txn_aborted_t *out,
                        int32_t cap) {
    /* The first entry whose marker is at or past `from`. */
    uint32_t lo = 0, hi = txns->aborted_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (txns->aborted[mid].last_offset < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    int32_t n = 0;
    for (uint32_t i = lo; i < txns->aborted_count && n < cap; i++)
        if (txns->aborted[i].first_offset < to) out[n++] = txns->aborted[i];
    return n;
}

uint32_t rn_txns_aborted_count(const rn_txns_t *txns) { return txns->aborted_count; }
uint32_t rn_txns_ongoing_count(const rn_txns_t *txns) { return txns->ongoing_count; }
uint64_t rn_txns_markers_seen(const rn_txns_t *txns) { return txns->markers_seen; }
uint64_t rn_txns_aborts_seen(const rn_txns_t *txns) { return txns->aborts_seen; }
void rn_txns_reset_seen(rn_txns_t *txns) { txns->markers_seen = txns->aborts_seen = 0; }

void rn_txns_truncate(rn_txns_t *txns, int64_t end) {
    for (uint32_t i = 0; i < txns->ongoing_count;)
        if (txns->ongoing[i].first_offset >= end)
            ongoing_remove(txns, i);
        else
            i++;
    while (txns->aborted_count > 0 && txns->aborted[txns->aborted_count - 1].last_offset >= end)
        txns->aborted_count--;
}

void rn_txns_start_moved(rn_txns_t *txns, int64_t start) {
    uint32_t gone = 0;
    while (gone < txns->aborted_count && txns->aborted[gone].last_offset < start) gone++;
    if (gone == 0) return;
    memmove(&txns->aborted[0], &txns->aborted[gone],
            (txns->aborted_count - gone) * sizeof *txns->aborted);
    txns->aborted_count -= gone;
}

/* ---- checkpoint ---- */

rn_err_t rn_txns_save(const rn_txns_t *txns, rn_io_t *io, const char *dir, int64_t offset) {
    size_t len = TXN_HEADER_BYTES + (size_t)txns->ongoing_count * TXN_ONGOING_BYTES + 4 +
                 (size_t)txns->aborted_count * TXN_ABORTED_BYTES;
    uint8_t *buf = malloc(len);
    if (!buf) return RN_ERR_NO_MEMORY;
    memcpy(buf, TXN_MAGIC, 4);
    buf[4] = 0;
    buf[5] = TXN_VERSION;
    rn_be64_put(buf + 10, (uint64_t)offset);
    rn_be32_put(buf + 18, txns->ongoing_count);
    uint8_t *p = buf + TXN_HEADER_BYTES;
    for (uint32_t i = 0; i < txns->ongoing_count; i++, p += TXN_ONGOING_BYTES) {
        rn_be64_put(p, (uint64_t)txns->ongoing[i].producer_id);
        rn_be64_put(p + 8, (uint64_t)txns->ongoing[i].first_offset);
    }
    rn_be32_put(p, txns->aborted_count);
    p += 4;
    for (uint32_t i = 0; i < txns->aborted_count; i++, p += TXN_ABORTED_BYTES) {
        const rn_txn_aborted_t *a = &txns->aborted[i];
        p[0] = p[1] = 0; /* version 0 */
        rn_be64_put(p + 2, (uint64_t)a->producer_id);
        rn_be64_put(p + 10, (uint64_t)a->first_offset);
        rn_be64_put(p + 18, (uint64_t)a->last_offset);
        rn_be64_put(p + 26, (uint64_t)a->last_stable_offset);
    }
    RN_ASSERT((size_t)(p - buf) == len);
    rn_be32_put(buf + 6, rn_crc32c(0, buf + 10, len - 10));
    rn_err_t err = rn_io_write_atomic(io, dir, TXN_CHECKPOINT_NAME, buf, len);
    free(buf);
    return err;
}

static rn_err_t read_checkpoint(rn_io_t *io, const char *dir, uint8_t **out, size_t *len) {
    char path[RN_STORAGE_PATH_BYTES_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, TXN_CHECKPOINT_NAME) >= (int)sizeof path)
        return RN_ERR_TOO_LARGE;
    rn_fd_t fd;
    rn_err_t err = rn_io_file_open(io, path, RN_IO_READ, &fd);
    if (err != RN_OK) return err;
    uint64_t size = 0;
    err = rn_io_file_size(io, fd, &size);
    size_t max = TXN_HEADER_BYTES + 4 + (size_t)RN_PRODUCERS_PER_PARTITION_MAX * TXN_ONGOING_BYTES +
                 (size_t)RN_TXN_ABORTED_PER_PARTITION_MAX * TXN_ABORTED_BYTES;
    if (err == RN_OK && (size < TXN_HEADER_BYTES + 4 || size > max)) err = RN_ERR_CORRUPT;
    uint8_t *buf = err == RN_OK ? malloc((size_t)size) : NULL;
    if (err == RN_OK && !buf) err = RN_ERR_NO_MEMORY;
    if (err == RN_OK) err = rn_io_file_pread(io, fd, buf, (size_t)size, 0, len);
    if (err == RN_OK && *len != size) err = RN_ERR_CORRUPT;
    rn_io_file_close(io, fd);
    if (err != RN_OK) {
        free(buf);
        return err;
    }
    *out = buf;
    return RN_OK;
}

static rn_err_t decode_checkpoint(rn_txns_t *txns, const uint8_t *buf, size_t len, int64_t offset) {
    if (memcmp(buf, TXN_MAGIC, 4) != 0 || buf[4] != 0 || buf[5] != TXN_VERSION ||
        rn_be32_get(buf + 6) != rn_crc32c(0, buf + 10, len - 10))
        return RN_ERR_CORRUPT;
    if ((int64_t)rn_be64_get(buf + 10) != offset) return RN_ERR_NOT_FOUND;
    uint32_t ongoing = rn_be32_get(buf + 18);
    if (ongoing > RN_PRODUCERS_PER_PARTITION_MAX ||
        (size_t)ongoing * TXN_ONGOING_BYTES > len - TXN_HEADER_BYTES - 4)
        return RN_ERR_CORRUPT;
    const uint8_t *p = buf + TXN_HEADER_BYTES;
    for (uint32_t i = 0; i < ongoing; i++, p += TXN_ONGOING_BYTES)
        ongoing_add(txns, (int64_t)rn_be64_get(p), (int64_t)rn_be64_get(p + 8));
    uint32_t aborted = rn_be32_get(p);
    p += 4;
    if ((size_t)(p - buf) + (size_t)aborted * TXN_ABORTED_BYTES != len) return RN_ERR_CORRUPT;
    for (uint32_t i = 0; i < aborted; i++, p += TXN_ABORTED_BYTES) {
        rn_txn_aborted_t a = {(int64_t)rn_be64_get(p + 2), (int64_t)rn_be64_get(p + 10),
                              (int64_t)rn_be64_get(p + 18), (int64_t)rn_be64_get(p + 26)};
        aborted_add(txns, &a);
    }
    return RN_OK;
}

bool rn_txns_load(rn_txns_t *txns, rn_io_t *io, const char *dir, int64_t offset) {
    RN_ASSERT(txns->ongoing_count == 0 && txns->aborted_count == 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    rn_err_t err = read_checkpoint(io, dir, &buf, &len);
    if (err == RN_OK) err = decode_checkpoint(txns, buf, len, offset);
    free(buf);
    if (err == RN_OK) return true;
    txns->ongoing_count = txns->aborted_count = 0;
    if (err == RN_ERR_CORRUPT)
        RN_WARN("partition", "%s: %s unreadable: transactions replayed from the log", dir,
                TXN_CHECKPOINT_NAME);
    return false;
}
