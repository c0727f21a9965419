/*
 * buf.h: borrowed byte slices and owned growable buffers.
 *
 * rn_slice_t borrows: it never frees and must not outlive what it points into.
 * rn_buf_t owns its bytes (heap) and grows up to a cap given by the caller;
 * growing past the cap fails with RN_ERR_TOO_LARGE instead of allocating.
 */
#ifndef RN_BASE_BUF_H
#define RN_BASE_BUF_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rn_slice {
    const uint8_t *ptr;
    size_t len;
} rn_slice_t;

typedef struct rn_buf {
    uint8_t *ptr;
    size_t len;
    size_t cap;
    size_t len_max; /* growth limit; 0 is not allowed */
} rn_buf_t;

static inline rn_slice_t rn_slice(const void *ptr, size_t len) {
    rn_slice_t s = {(const uint8_t *)ptr, len};
    return s;
}

void rn_buf_init(rn_buf_t *buf, size_t len_max);
void rn_buf_free(rn_buf_t *buf);
/* Makes room for `extra` more bytes; RN_ERR_TOO_LARGE past len_max. */
rn_err_t rn_buf_reserve(rn_buf_t *buf, size_t extra);
rn_err_t rn_buf_append(rn_buf_t *buf, const void *data, size_t len);
/* Drops the first `len` bytes, moving the rest to the front. */
void rn_buf_consume(rn_buf_t *buf, size_t len);

#endif
