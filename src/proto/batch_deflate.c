/*
 * batch_deflate.c: one-shot compression of a batch's records with the codec
 * it had (batch_deflate.h): gzip (zlib, one RFC 1952 member), snappy (a raw
 * block, or Kafka's xerial framing with one chunk), lz4 (an LZ4 frame), zstd
 * (one frame). Owns nothing past the call.
 */
#include "proto/batch_deflate.h"

#include "base/assert.h"
#include "base/endian.h"
#include "proto/batch.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* xerial's stream header: magic, version 1, compatible version 1. */
static const uint8_t xerial_header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                          0,    0,   0,   1,   0,   0,   0,   1};

static rn_err_t gzip_pack(const uint8_t *in, size_t len, rn_buf_t *out) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return RN_ERR_NO_MEMORY;
    size_t bound = deflateBound(&zs, (uLong)len) + 32;
    rn_err_t err = rn_buf_reserve(out, bound);
    if (err == RN_OK) {
        zs.next_in = (Bytef *)(uintptr_t)in;
        zs.avail_in = (uInt)len;
        zs.next_out = out->ptr;
        zs.avail_out = (uInt)bound;
        err = deflate(&zs, Z_FINISH) == Z_STREAM_END ? RN_OK : RN_ERR_CORRUPT;
        if (err == RN_OK) out->len = zs.total_out;
    }
    deflateEnd(&zs);
    return err;
}

static rn_err_t snappy_pack(const uint8_t *original, size_t original_len, const uint8_t *in,
                            size_t len, rn_buf_t *out) {
    bool xerial = original_len >= sizeof xerial_header && memcmp(original, xerial_header, 8) == 0;
    size_t head = xerial ? sizeof xerial_header + 4 : 0;
    size_t bound = snappy_max_compressed_length(len);
    rn_err_t err = rn_buf_reserve(out, head + bound);
    if (err != RN_OK) return err;
    size_t n = bound;
    if (snappy_compress((const char *)in, len, (char *)out->ptr + head, &n) != SNAPPY_OK)
        return RN_ERR_CORRUPT;
    if (xerial) {
        memcpy(out->ptr, xerial_header, sizeof xerial_header);
        rn_be32_put(out->ptr + sizeof xerial_header, (uint32_t)n);
    }
    out->len = head + n;
    return RN_OK;
}

static rn_err_t lz4_pack(const uint8_t *in, size_t len, rn_buf_t *out) {
    size_t bound = LZ4F_compressFrameBound(len, NULL);
    rn_err_t err = rn_buf_reserve(out, bound);
    if (err != RN_OK) return err;
    size_t n = LZ4F_compressFrame(out->ptr, bound, in, len, NULL);
    if (LZ4F_isError(n)) return RN_ERR_CORRUPT;
    out->len = n;
    return RN_OK;
}

static rn_err_t zstd_pack(const uint8_t *in, size_t len, rn_buf_t *out) {
    size_t bound = ZSTD_compressBound(len);
    rn_err_t err = rn_buf_reserve(out, bound);
    if (err != RN_OK) return err;
    size_t n = ZSTD_compress(out->ptr, bound, in, len, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) return RN_ERR_CORRUPT;
    out->len = n;
    return RN_OK;
}

rn_err_t rn_batch_deflate(int codec, const uint8_t *original, size_t original_len,
                          const uint8_t *plain, size_t plain_len, rn_buf_t *out) {
    RN_ASSERT(out != NULL);
    out->len = 0;
    switch (codec) {
    case RN_BATCH_COMPRESSION_GZIP:
        return gzip_pack(plain, plain_len, out);
    case RN_BATCH_COMPRESSION_SNAPPY:
        return snappy_pack(original, original_len, plain, plain_len, out);
    case RN_BATCH_COMPRESSION_LZ4:
        return lz4_pack(plain, plain_len, out);
    case RN_BATCH_COMPRESSION_ZSTD:
        return zstd_pack(plain, plain_len, out);
    default:
        return RN_ERR_INVALID;
    }
}
