/*
 * batch_inflate.c: the streaming decompressors behind batch validation.
 *
 * Owns its scratch buffer and the codec contexts it creates (freed by
 * rn_batch_inflate_free). Borrows the compressed input. Never writes
 * anywhere but its own scratch, never keeps output past the next call, and
 * never produces more than RN_BATCH_INFLATED_BYTES_MAX per stream. gzip, lz4
 * and zstd go through Debian's libraries; snappy is decoded here because
 * libsnappy's C interface only inflates a whole block into one buffer, which
 * a raw block (librdkafka sends the whole batch as one) would make as large
 * as the batch.
 */
#include "batch_inflate.h"

#include "base/assert.h"
#include "base/limits.h"
#include "proto/batch.h"

#include <lz4frame.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define SCRATCH_BYTES RN_BATCH_INFLATE_SCRATCH_BYTES
#define SNAPPY_WINDOW RN_BATCH_SNAPPY_WINDOW_BYTES

/* The xerial framing's 16-byte stream header starts with these 8 bytes. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER_BYTES 16

/* A raw snappy block being decoded into the scratch (which keeps the last
   SNAPPY_WINDOW bytes as history when it slides). */
typedef struct snappy_state {
    const uint8_t *p, *end;    /* the current block's remaining compressed bytes */
    const uint8_t *next_chunk; /* xerial: the next chunk's length prefix */
    bool xerial;
    bool in_block;
    bool raw_started;    /* a raw stream has just the one block */
    uint64_t block_left; /* bytes the block still owes its declared length */
    uint64_t block_done; /* bytes the block has produced (copy reach) */
    const uint8_t *lit;  /* a literal being emitted */
    uint64_t lit_left;
    uint32_t copy_offset; /* a copy being emitted */
    uint32_t copy_left;
    size_t fill; /* bytes in the scratch (history + new) */
} snappy_state_t;

struct rn_batch_inflate {
    int codec;
    rn_inflate_status_t done; /* MORE while running, else the final status */
    const uint8_t *in;
    size_t in_len;
    size_t in_pos;
    uint64_t total;
    bool frame_open; /* gzip, lz4, zstd: inside a member or frame */
    z_stream *zs;
    LZ4F_dctx *lz4;
    ZSTD_DCtx *zstd;
    snappy_state_t sn;
    uint8_t scratch[SCRATCH_BYTES];
};

rn_batch_inflate_t *rn_batch_inflate_new(void) {
    rn_batch_inflate_t *inf = malloc(sizeof *inf);
    if (!inf) return NULL;
    memset(inf, 0, offsetof(rn_batch_inflate_t, scratch)); /* the scratch needs no zeroing */
    inf->done = RN_INFLATE_END;
    return inf;
}

void rn_batch_inflate_free(rn_batch_inflate_t *inf) {
    if (!inf) return;
    if (inf->zs) {
        inflateEnd(inf->zs);
        free(inf->zs);
    }
    if (inf->lz4) LZ4F_freeDecompressionContext(inf->lz4);
    ZSTD_freeDCtx(inf->zstd);
    free(inf);
}

void rn_batch_inflate_begin(rn_batch_inflate_t *inf, int codec, const uint8_t *in, size_t len) {
    RN_ASSERT(codec >= RN_BATCH_COMPRESSION_GZIP && codec <= RN_BATCH_COMPRESSION_ZSTD);
    RN_ASSERT(in != NULL || len == 0);
    inf->codec = codec;
    inf->done = RN_INFLATE_MORE;
    inf->in = in;
    inf->in_len = len;
    inf->in_pos = 0;
    inf->total = 0;
    inf->frame_open = false;
    if (inf->lz4) LZ4F_resetDecompressionContext(inf->lz4);
    if (inf->zstd) ZSTD_DCtx_reset(inf->zstd, ZSTD_reset_session_only);
    memset(&inf->sn, 0, sizeof inf->sn);
    if (codec == RN_BATCH_COMPRESSION_SNAPPY && len >= XERIAL_HEADER_BYTES &&
        memcmp(in, xerial_magic, sizeof xerial_magic) == 0) {
        inf->sn.xerial = true;
        inf->sn.next_chunk = in + XERIAL_HEADER_BYTES;
    }
}

uint64_t rn_batch_inflate_total(const rn_batch_inflate_t *inf) { return inf->total; }

/* ---- gzip (zlib) ---- */

static rn_inflate_status_t gzip_next(rn_batch_inflate_t *inf, size_t *n) {
    if (!inf->zs) {
        inf->zs = calloc(1, sizeof *inf->zs);
        if (!inf->zs) return RN_INFLATE_NO_MEMORY;
        if (inflateInit2(inf->zs, 15 + 16) != Z_OK) { /* 15: 32 KiB window; +16: gzip */
            free(inf->zs);
            inf->zs = NULL;
            return RN_INFLATE_NO_MEMORY;
        }
    }
    z_stream *zs = inf->zs;
    zs->next_out = inf->scratch;
    zs->avail_out = SCRATCH_BYTES;
    while (zs->avail_out == SCRATCH_BYTES) {
        if (inf->in_pos == inf->in_len && !inf->frame_open) break;
        if (!inf->frame_open) inflateReset(zs); /* a (further) gzip member */
        inf->frame_open = true;
        size_t avail = inf->in_len - inf->in_pos;
        zs->next_in = (Bytef *)(uintptr_t)(inf->in + inf->in_pos);
        zs->avail_in = avail > UINT32_MAX ? UINT32_MAX : (uInt)avail;
        int rc = inflate(zs, Z_NO_FLUSH);
        inf->in_pos = (size_t)(zs->next_in - inf->in);
        if (rc == Z_STREAM_END)
            inf->frame_open = false;
        else if (rc == Z_MEM_ERROR)
            return RN_INFLATE_NO_MEMORY;
        else if (rc != Z_OK)
            return RN_INFLATE_CORRUPT; /* bad data, or it stops short */
    }
    *n = SCRATCH_BYTES - zs->avail_out;
    return *n > 0 ? RN_INFLATE_MORE : RN_INFLATE_END;
}

/* ---- lz4 frames ---- */

static rn_inflate_status_t lz4_next(rn_batch_inflate_t *inf, size_t *n) {
    if (!inf->lz4 && LZ4F_isError(LZ4F_createDecompressionContext(&inf->lz4, LZ4F_VERSION))) {
        inf->lz4 = NULL;
        return RN_INFLATE_NO_MEMORY;
    }
    *n = 0;
    while (*n == 0) {
        if (inf->in_pos == inf->in_len && !inf->frame_open) return RN_INFLATE_END;
        size_t dst = SCRATCH_BYTES, src = inf->in_len - inf->in_pos;
        size_t hint =
            LZ4F_decompress(inf->lz4, inf->scratch, &dst, inf->in + inf->in_pos, &src, NULL);
        if (LZ4F_isError(hint)) return RN_INFLATE_CORRUPT;
        inf->in_pos += src;
        inf->frame_open = hint != 0;                         /* 0: the frame is whole and flushed */
        if (dst == 0 && src == 0) return RN_INFLATE_CORRUPT; /* the input stops short */
        *n = dst;
    }
    return RN_INFLATE_MORE;
}

/* ---- zstd ---- */

static rn_inflate_status_t zstd_next(rn_batch_inflate_t *inf, size_t *n) {
    if (!inf->zstd) {
        inf->zstd = ZSTD_createDCtx();
        if (!inf->zstd) return RN_INFLATE_NO_MEMORY;
        size_t rc =
            ZSTD_DCtx_setParameter(inf->zstd, ZSTD_d_windowLogMax, RN_BATCH_ZSTD_WINDOW_LOG_MAX);
        RN_ASSERT(!ZSTD_isError(rc));
    }
    ZSTD_outBuffer out = {inf->scratch, SCRATCH_BYTES, 0};
    ZSTD_inBuffer in = {inf->in, inf->in_len, inf->in_pos};
    while (out.pos == 0) {
        if (in.pos == in.size && !inf->frame_open) break;
        size_t in_before = in.pos;
        size_t rc = ZSTD_decompressStream(inf->zstd, &out, &in);
        if (ZSTD_isError(rc))
            return ZSTD_getErrorCode(rc) == ZSTD_error_memory_allocation ? RN_INFLATE_NO_MEMORY
                                                                         : RN_INFLATE_CORRUPT;
        inf->frame_open = rc != 0; /* 0: the frame is whole and flushed */
        if (out.pos == 0 && in.pos == in_before) return RN_INFLATE_CORRUPT; /* stops short */
    }
    inf->in_pos = in.pos;
    *n = out.pos;
    return out.pos > 0 ? RN_INFLATE_MORE : RN_INFLATE_END;
}

/* ---- snappy ---- */

static bool snappy_uvarint32(const uint8_t **pp, const uint8_t *end, uint64_t *v) {
    uint64_t x = 0;
    for (unsigned i = 0; i < 5 && *pp < end; i++) {
        uint8_t b = *(*pp)++;
        x |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return x <= UINT32_MAX;
        }
    }
    return false;
}

/* Opens the next raw block: the whole raw stream, or xerial's next chunk. */
static rn_inflate_status_t snappy_block(rn_batch_inflate_t *inf) {
    snappy_state_t *sn = &inf->sn;
    const uint8_t *in_end = inf->in + inf->in_len;
    if (!sn->xerial) {
        if (sn->raw_started) return RN_INFLATE_END;
        sn->raw_started = true;
        sn->p = inf->in;
        sn->end = in_end;
    } else {
        if (sn->next_chunk == in_end) return RN_INFLATE_END;
        if (in_end - sn->next_chunk < 4) return RN_INFLATE_CORRUPT;
        uint32_t len = rn_be32_get(sn->next_chunk);
        if (len > (size_t)(in_end - sn->next_chunk) - 4) return RN_INFLATE_CORRUPT;
        sn->p = sn->next_chunk + 4;
        sn->end = sn->p + len;
        sn->next_chunk = sn->end;
    }
    if (!snappy_uvarint32(&sn->p, sn->end, &sn->block_left)) return RN_INFLATE_CORRUPT;
    /* A block declaring more than the cap allows is refused before any of it
       is decoded (output of this call is not yet in total: the final count
       in rn_batch_inflate_next catches what this misses). */
    if (sn->block_left > RN_BATCH_INFLATED_BYTES_MAX - inf->total) return RN_INFLATE_TOO_LARGE;
    sn->block_done = 0;
    sn->in_block = true;
    return RN_INFLATE_MORE;
}

/* Reads the next element's tag and sets up its literal or copy. */
static rn_inflate_status_t snappy_element(snappy_state_t *sn) {
    RN_ASSERT(sn->p < sn->end);
    uint8_t tag = *sn->p++;
    static const uint8_t extra[4] = {0, 1, 2, 4}; /* offset bytes by element kind */
    size_t kind = tag & 3, need = extra[kind];
    uint64_t len = (uint64_t)(tag >> 2) + 1, off = 0;
    if (kind == 0 && len > 60) need = (size_t)(len - 60); /* 1..4 bytes of length - 1 */
    if ((size_t)(sn->end - sn->p) < need) return RN_INFLATE_CORRUPT;
    uint64_t v = 0;
    for (size_t i = 0; i < need; i++) v |= (uint64_t)sn->p[i] << (8 * i);
    sn->p += need;
    if (kind == 0) {
        /* The length is stored minus one in 32 bits; libsnappy (what Kafka's
           snappy-java runs) adds the one in 32 bits too, so 0xffffffff is an
           empty literal there, and here. */
        if (need > 0) len = (uint32_t)(v + 1);
        if (len > (uint64_t)(sn->end - sn->p) || len > sn->block_left) return RN_INFLATE_CORRUPT;
        sn->lit = sn->p;
        sn->lit_left = len;
        sn->p += len;
        return RN_INFLATE_MORE;
    }
    if (kind == 1) {
        len = 4 + ((tag >> 2) & 7);
        off = ((uint64_t)(tag >> 5) << 8) | v;
    } else {
        off = v;
    }
    if (off == 0 || off > sn->block_done || off > SNAPPY_WINDOW || len > sn->block_left)
        return RN_INFLATE_CORRUPT;
    sn->copy_offset = (uint32_t)off;
    sn->copy_left = (uint32_t)len;
    return RN_INFLATE_MORE;
}

/* Emits as much of the pending literal or copy as the scratch has room for. */
static void snappy_emit(rn_batch_inflate_t *inf) {
    snappy_state_t *sn = &inf->sn;
    size_t room = SCRATCH_BYTES - sn->fill;
    uint8_t *dst = inf->scratch + sn->fill;
    size_t k;
    if (sn->lit_left > 0) {
        k = sn->lit_left < room ? (size_t)sn->lit_left : room;
        memcpy(dst, sn->lit, k);
        sn->lit += k;
        sn->lit_left -= k;
    } else {
        k = sn->copy_left < room ? sn->copy_left : room;
        RN_ASSERT(sn->copy_offset <= sn->fill);
        const uint8_t *src = dst - sn->copy_offset;
        if (sn->copy_offset >= k)
            memcpy(dst, src, k);
        else
            for (size_t i = 0; i < k; i++) dst[i] = src[i]; /* overlapping: a run */
        sn->copy_left -= (uint32_t)k;
    }
    sn->fill += k;
    sn->block_left -= k;
    sn->block_done += k;
}

static rn_inflate_status_t snappy_next(rn_batch_inflate_t *inf, const uint8_t **out, size_t *n) {
    snappy_state_t *sn = &inf->sn;
    if (sn->fill > SCRATCH_BYTES - SNAPPY_WINDOW) { /* slide: keep the history */
        memmove(inf->scratch, inf->scratch + sn->fill - SNAPPY_WINDOW, SNAPPY_WINDOW);
        sn->fill = SNAPPY_WINDOW;
    }
    size_t start = sn->fill;
    rn_inflate_status_t st = RN_INFLATE_MORE;
    while (sn->fill < SCRATCH_BYTES && st == RN_INFLATE_MORE) {
        if (sn->lit_left > 0 || sn->copy_left > 0)
            snappy_emit(inf);
        else if (sn->in_block && sn->p < sn->end)
            st = snappy_element(sn); /* past the declared length only an empty one fits */
        else if (sn->in_block && sn->block_left > 0)
            st = RN_INFLATE_CORRUPT; /* the block ends short of its declared length */
        else
            st = snappy_block(inf);
        if (st == RN_INFLATE_MORE && sn->in_block && sn->block_left == 0 && sn->p == sn->end &&
            sn->lit_left == 0 && sn->copy_left == 0)
            sn->in_block = false;
    }
    *out = inf->scratch + start;
    *n = sn->fill - start;
    if (st == RN_INFLATE_END) return *n > 0 ? RN_INFLATE_MORE : RN_INFLATE_END;
    return st == RN_INFLATE_MORE ? RN_INFLATE_MORE : st;
}

/* ---- dispatch ---- */

rn_inflate_status_t rn_batch_inflate_next(rn_batch_inflate_t *inf, const uint8_t **out, size_t *n) {
    RN_ASSERT(inf != NULL && out != NULL && n != NULL);
    if (inf->done != RN_INFLATE_MORE) return inf->done;
    const uint8_t *at = inf->scratch;
    size_t got = 0;
    rn_inflate_status_t st;
    switch (inf->codec) {
    case RN_BATCH_COMPRESSION_GZIP:
        st = gzip_next(inf, &got);
        break;
    case RN_BATCH_COMPRESSION_SNAPPY:
        st = snappy_next(inf, &at, &got);
        break;
    case RN_BATCH_COMPRESSION_LZ4:
        st = lz4_next(inf, &got);
        break;
    case RN_BATCH_COMPRESSION_ZSTD:
        st = zstd_next(inf, &got);
        break;
    default:
        RN_UNREACHABLE("compression codec");
    }
    if (st == RN_INFLATE_MORE) {
        RN_ASSERT(got > 0 && got <= SCRATCH_BYTES);
        inf->total += got;
        if (inf->total > RN_BATCH_INFLATED_BYTES_MAX) st = RN_INFLATE_TOO_LARGE;
    }
    if (st != RN_INFLATE_MORE) {
        inf->done = st;
        return st;
    }
    *out = at;
    *n = got;
    return RN_INFLATE_MORE;
}
