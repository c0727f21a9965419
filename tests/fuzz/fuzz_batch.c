/*
 * fuzz_batch.c: libFuzzer target for record batch validation. Arbitrary
 * bytes are validated as a produce `records` blob under two limit sets, as
 * given and with every plausible batch's CRC fixed up (to reach the checks
 * behind the CRC);
 * whatever passes is rewritten in place (offsets, epoch, LogAppendTime) on
 * a copy and must still pass, and timestamp lookups must stay in bounds.
 *
 * Compressed batches, two ways: the input taken as a records region,
 * compressed with every codec (gzip, raw and xerial snappy, lz4, zstd), must
 * get the same verdict from each (their decompressors feed one walker the
 * same bytes), and never pass where the uncompressed batch fails; and the
 * input taken as compressed bytes, garbage to every decompressor, where our
 * own snappy decoder must agree with libsnappy byte for byte.
 */
#include "proto/batch.h"

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/limits.h"

#include "proto/batch_inflate.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static void exercise_valid(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size);
    if (!copy) return;
    memcpy(copy, data, size);
    int64_t next = 1000;
    for (size_t off = 0; off < size;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(copy + off, &hdr);
        rn_batch_set_base_offset(copy + off, next);
        rn_batch_set_leader_epoch(copy + off, 9);
        rn_batch_set_log_append_time(copy + off, 12345);
        rn_batch_header_parse(copy + off, &hdr);
        if (rn_batch_compression(&hdr) == RN_BATCH_COMPRESSION_NONE) {
            int64_t found = rn_batch_offset_for_timestamp(copy + off, &hdr, 0);
            RN_ASSERT(found == -1 || found >= hdr.base_offset);
        }
        next += (int64_t)hdr.last_offset_delta + 1;
        off += rn_batch_size(&hdr);
    }
    rn_batch_limits_t lim = {0, RN_BATCH_ALLOW_CONTROL};
    rn_batch_summary_t sum;
    RN_ASSERT(rn_batch_validate(copy, size, &lim, &sum) == RN_OK);
    free(copy);
}

/* Recomputes the CRC of every plausible batch so the fuzzer reaches the
   count and record checks behind it. */
static void fix_crcs(uint8_t *p, size_t size) {
    for (size_t off = 0; size - off >= RN_BATCH_HEADER_BYTES;) {
        int32_t len = (int32_t)rn_be32_get(p + off + RN_BATCH_OFF_LENGTH);
        if (len < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD) return;
        size_t total = (size_t)len + RN_BATCH_LOG_OVERHEAD;
        if (total > size - off) return;
        uint32_t crc =
            rn_crc32c(0, p + off + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES);
        rn_be32_put(p + off + RN_BATCH_OFF_CRC, crc);
        off += total;
    }
}

static void check_blob(const uint8_t *data, size_t size) {
    rn_batch_limits_t strict = {1 << 20, 0};
    rn_batch_limits_t loose = {0, RN_BATCH_ALLOW_CONTROL | RN_BATCH_SKIP_RECORDS};
    rn_batch_summary_t sum;
    rn_err_t err = rn_batch_validate(data, size, &strict, &sum);
    RN_ASSERT(sum.bytes_valid <= size);
    RN_ASSERT((err == RN_OK) == (sum.reason == RN_BATCH_OK));
    RN_ASSERT(err != RN_OK || sum.bytes_valid == size);
    rn_batch_summary_t sum2;
    rn_err_t err2 = rn_batch_validate(data, size, &loose, &sum2);
    /* the loose limits accept at least what the strict ones did */
    RN_ASSERT(err != RN_OK || err2 == RN_OK);
    RN_ASSERT(sum2.bytes_valid >= sum.bytes_valid || sum.reason == RN_BATCH_OK);
    if (err == RN_OK && size > 0) exercise_valid(data, size);
}

/* ---- compressed batches ---- */

enum { XERIAL = 8 }; /* snappy in xerial framing */

static size_t compress_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    size_t len = zs.total_out;
    deflateEnd(&zs);
    return rc == Z_STREAM_END ? len : 0;
}

static size_t compress_xerial(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
    memcpy(out, magic, 8);
    rn_be32_put(out + 8, 1);
    rn_be32_put(out + 12, 1);
    size_t o = 16;
    for (size_t i = 0; i < n; i += 1000) { /* small chunks: many chunk edges */
        size_t chunk = n - i < 1000 ? n - i : 1000, clen = cap - o - 4;
        if (snappy_compress((const char *)in + i, chunk, (char *)out + o + 4, &clen) != SNAPPY_OK)
            return 0;
        rn_be32_put(out + o, (uint32_t)clen);
        o += 4 + clen;
    }
    return o;
}

/* Compresses n bytes with codec into out; 0 when it cannot. */
static size_t compress_with(int codec, const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t len = cap;
    switch (codec) {
    case RN_BATCH_COMPRESSION_GZIP:
        return compress_gzip(in, n, out, cap);
    case RN_BATCH_COMPRESSION_SNAPPY:
        return snappy_compress((const char *)in, n, (char *)out, &len) == SNAPPY_OK ? len : 0;
    case XERIAL:
        return compress_xerial(in, n, out, cap);
    case RN_BATCH_COMPRESSION_LZ4:
        len = LZ4F_compressFrame(out, cap, in, n, NULL);
        return LZ4F_isError(len) ? 0 : len;
    default:
        len = ZSTD_compress(out, cap, in, n, 1);
        return ZSTD_isError(len) ? 0 : len;
    }
}

/* A batch claiming `count` records around `payload`, CRC right. */
static void wrap(uint8_t *out, const uint8_t *payload, size_t len, int32_t count, int codec) {
    size_t n = RN_BATCH_HEADER_BYTES + len;
    memset(out, 0, RN_BATCH_HEADER_BYTES);
    rn_be32_put(out + RN_BATCH_OFF_LENGTH, (uint32_t)(n - RN_BATCH_LOG_OVERHEAD));
    out[RN_BATCH_OFF_MAGIC] = RN_BATCH_MAGIC;
    out[RN_BATCH_OFF_ATTRIBUTES + 1] =
        (uint8_t)(codec == XERIAL ? RN_BATCH_COMPRESSION_SNAPPY : codec);
    rn_be32_put(out + RN_BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(count - 1));
    rn_be64_put(out + RN_BATCH_OFF_PRODUCER_ID, UINT64_MAX);
    rn_be32_put(out + RN_BATCH_OFF_BASE_SEQUENCE, UINT32_MAX);
    rn_be32_put(out + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)count);
    memcpy(out + RN_BATCH_HEADER_BYTES, payload, len);
    rn_be32_put(out + RN_BATCH_OFF_CRC,
                rn_crc32c(0, out + RN_BATCH_OFF_ATTRIBUTES, n - RN_BATCH_OFF_ATTRIBUTES));
}

static rn_batch_reason_t verdict(const uint8_t *batch, size_t n, rn_batch_inflate_t *inf) {
    rn_batch_limits_t lim = {0, 0};
    rn_batch_summary_t sum;
    rn_batch_validate_with(batch, n, &lim, inf, &sum);
    return sum.reason;
}

/* The input as a records region (its first byte: the record count). */
static void check_compressed_records(const uint8_t *data, size_t size, rn_batch_inflate_t *inf) {
    if (size < 1) return;
    int32_t count = data[0] % 64 + 1;
    const uint8_t *plain = data + 1;
    size_t plain_len = size - 1, cap = plain_len * 2 + 1024;
    uint8_t *packed = malloc(cap), *batch = malloc(cap + RN_BATCH_HEADER_BYTES);
    RN_ASSERT(packed && batch);
    wrap(batch, plain, plain_len, count, RN_BATCH_COMPRESSION_NONE);
    rn_batch_reason_t plain_reason = verdict(batch, RN_BATCH_HEADER_BYTES + plain_len, inf);
    static const int codecs[] = {RN_BATCH_COMPRESSION_GZIP, RN_BATCH_COMPRESSION_SNAPPY, XERIAL,
                                 RN_BATCH_COMPRESSION_LZ4, RN_BATCH_COMPRESSION_ZSTD};
    rn_batch_reason_t first = RN_BATCH_REASON__COUNT;
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        size_t len = compress_with(codecs[c], plain, plain_len, packed, cap);
        if (len == 0) continue;
        wrap(batch, packed, len, count, codecs[c]);
        rn_batch_reason_t r = verdict(batch, RN_BATCH_HEADER_BYTES + len, inf);
        if (first == RN_BATCH_REASON__COUNT) first = r;
        RN_ASSERT(r == first);                                      /* every codec, one verdict */
        RN_ASSERT(r != RN_BATCH_OK || plain_reason == RN_BATCH_OK); /* never looser */
        RN_ASSERT(r != RN_BATCH_BAD_COMPRESSED);                    /* our own streams decode */
    }
    free(packed);
    free(batch);
}

/* Drains a source into out (at most cap bytes); the final status. */
static rn_inflate_status_t drain(rn_batch_inflate_t *inf, uint8_t *out, size_t cap, size_t *len) {
    *len = 0;
    for (;;) {
        const uint8_t *chunk;
        size_t n;
        rn_inflate_status_t st = rn_batch_inflate_next(inf, &chunk, &n);
        if (st != RN_INFLATE_MORE) return st;
        if (n > cap - *len) return RN_INFLATE_TOO_LARGE;
        memcpy(out + *len, chunk, n);
        *len += n;
    }
}

/* The input as compressed bytes: every decompressor survives it, and our
   snappy decoder agrees with libsnappy on raw blocks up to the window. */
static void check_compressed_garbage(const uint8_t *data, size_t size, rn_batch_inflate_t *inf) {
    uint8_t *batch = malloc(size + RN_BATCH_HEADER_BYTES);
    RN_ASSERT(batch);
    for (int codec = RN_BATCH_COMPRESSION_GZIP; codec <= RN_BATCH_COMPRESSION_ZSTD; codec++) {
        wrap(batch, data, size, 1, codec);
        rn_batch_reason_t r = verdict(batch, RN_BATCH_HEADER_BYTES + size, inf);
        RN_ASSERT(r != RN_BATCH_NO_MEMORY);
    }
    free(batch);
    size_t want = 0;
    if (snappy_uncompressed_length((const char *)data, size, &want) != SNAPPY_OK) return;
    if (want > RN_BATCH_SNAPPY_WINDOW_BYTES) return;
    if (size >= 8 && data[0] == 0x82) return; /* would read as xerial framing */
    uint8_t *ref = malloc(want + 1), *ours = malloc(want + 1);
    RN_ASSERT(ref && ours);
    size_t ref_len = want, ours_len;
    bool ref_ok = snappy_uncompress((const char *)data, size, (char *)ref, &ref_len) == SNAPPY_OK;
    rn_batch_inflate_begin(inf, RN_BATCH_COMPRESSION_SNAPPY, data, size);
    bool ours_ok = drain(inf, ours, want + 1, &ours_len) == RN_INFLATE_END;
    RN_ASSERT(ref_ok == ours_ok);
    RN_ASSERT(!ours_ok || (ours_len == ref_len && memcmp(ours, ref, ref_len) == 0));
    free(ref);
    free(ours);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_blob(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    check_blob(copy, size);
    free(copy);
    rn_batch_inflate_t *inf = rn_batch_inflate_new();
    RN_ASSERT(inf != NULL);
    check_compressed_records(data, size, inf);
    check_compressed_garbage(data, size, inf);
    rn_batch_inflate_free(inf);
    return 0;
}
