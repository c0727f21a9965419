/* crc32c.c: CRC-32C, hardware (SSE4.2) when present, else slicing-by-8. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc_table[8][256];

static void crc_table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1u) ? CRC32C_POLY_REFLECTED : 0u);
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] =
                (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFFu];
}

static uint32_t crc_soft(uint32_t crc, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc_table[7][w & 0xFF] ^ crc_table[6][(w >> 8) & 0xFF] ^
              crc_table[5][(w >> 16) & 0xFF] ^ crc_table[4][(w >> 24) & 0xFF] ^
              crc_table[3][(w >> 32) & 0xFF] ^ crc_table[2][(w >> 40) & 0xFF] ^
              crc_table[1][(w >> 48) & 0xFF] ^ crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xFFu];
    return crc;
}

#if defined(__x86_64__)
/*
 * One crc32 instruction has a latency of three cycles but a throughput of
 * one, so a single chain of them runs at a third of the CPU's speed. Long
 * buffers are cut into three equal streams run side by side, each from a
 * zero register, then joined: the CRC of A followed by B is the CRC of A
 * pushed through |B| zero bytes, xor the CRC of B. Pushing through a fixed
 * count of zeros is linear in the register, so it is four byte-indexed
 * table lookups, built once per stream length.
 */
#define CRC_STREAM_LONG 8192
#define CRC_STREAM_SHORT 256

static uint32_t crc_shift_long[4][256];
static uint32_t crc_shift_short[4][256];

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p,
                                                         size_t len) {
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}

/* The register after `len` zero bytes, as tables (see above). */
static void crc_shift_init(uint32_t table[4][256], size_t len) {
    static const uint8_t zeros[CRC_STREAM_LONG];
    uint32_t column[32];
    for (int bit = 0; bit < 32; bit++) column[bit] = crc_hw(1u << bit, zeros, len);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int bit = 0; bit < 8; bit++)
                if (b & (1u << bit)) v ^= column[8 * k + bit];
            table[k][b] = v;
        }
    }
}

static uint32_t crc_shift(const uint32_t table[4][256], uint32_t c) {
    return table[0][c & 0xFFu] ^ table[1][(c >> 8) & 0xFFu] ^ table[2][(c >> 16) & 0xFFu] ^
           table[3][c >> 24];
}

/* Three streams of `stream` bytes each from p; returns the joined CRC. */
__attribute__((target("sse4.2"))) static uint32_t
crc_hw3_round(uint32_t crc, const uint8_t *p, size_t stream, const uint32_t shift[4][256]) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (size_t i = 0; i < stream; i += 8) {
        uint64_t w0, w1, w2;
        memcpy(&w0, p + i, 8);
        memcpy(&w1, p + stream + i, 8);
        memcpy(&w2, p + 2 * stream + i, 8);
        c0 = __builtin_ia32_crc32di(c0, w0);
        c1 = __builtin_ia32_crc32di(c1, w1);
        c2 = __builtin_ia32_crc32di(c2, w2);
    }
    uint32_t c = crc_shift(shift, (uint32_t)c0) ^ (uint32_t)c1;
    return crc_shift(shift, c) ^ (uint32_t)c2;
}

static uint32_t crc_hw3(uint32_t crc, const uint8_t *p, size_t len) {
    for (; len >= 3 * CRC_STREAM_LONG; p += 3 * CRC_STREAM_LONG, len -= 3 * CRC_STREAM_LONG)
        crc = crc_hw3_round(crc, p, CRC_STREAM_LONG, crc_shift_long);
    for (; len >= 3 * CRC_STREAM_SHORT; p += 3 * CRC_STREAM_SHORT, len -= 3 * CRC_STREAM_SHORT)
        crc = crc_hw3_round(crc, p, CRC_STREAM_SHORT, crc_shift_short);
    return crc_hw(crc, p, len);
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const uint8_t *, size_t);

static crc_fn crc_chosen;

static void crc_init(void) {
    crc_table_init();
    crc_chosen = crc_soft;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc_shift_init(crc_shift_long, CRC_STREAM_LONG);
        crc_shift_init(crc_shift_short, CRC_STREAM_SHORT);
        crc_chosen = crc_hw3;
    }
#endif
}

static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

uint32_t rn_crc32c(uint32_t crc, const void *data, size_t len) {
    pthread_once(&crc_once, crc_init);
    return ~crc_chosen(~crc, (const uint8_t *)data, len);
}

uint32_t rn_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    pthread_once(&crc_once, crc_init);
    return ~crc_soft(~crc, (const uint8_t *)data, len);
}
