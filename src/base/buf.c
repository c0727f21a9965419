/* buf.c: growable owned buffers with a hard size cap. */
#include "buf.h"
#include "assert.h"

#include <stdlib.h>
#include <string.h>

void rn_buf_init(rn_buf_t *buf, size_t len_max) {
    RN_ASSERT(len_max > 0);
    buf->ptr = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->len_max = len_max;
}

void rn_buf_free(rn_buf_t *buf) {
    free(buf->ptr);
    buf->ptr = NULL;
    buf->len = 0;
    buf->cap = 0;
}

rn_err_t rn_buf_reserve(rn_buf_t *buf, size_t extra) {
    RN_ASSERT(buf->len <= buf->cap);
    if (extra > buf->len_max - buf->len) return RN_ERR_TOO_LARGE;
    size_t need = buf->len + extra;
    if (need <= buf->cap) return RN_OK;
    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need) cap *= 2;
    if (cap > buf->len_max) cap = buf->len_max;
    uint8_t *ptr = realloc(buf->ptr, cap);
    if (!ptr) return RN_ERR_NO_MEMORY;
    buf->ptr = ptr;
    buf->cap = cap;
    return RN_OK;
}

rn_err_t rn_buf_append(rn_buf_t *buf, const void *data, size_t len) {
    rn_err_t err = rn_buf_reserve(buf, len);
    if (err != RN_OK) return err;
    if (len) memcpy(buf->ptr + buf->len, data, len);
    buf->len += len;
    return RN_OK;
}

void rn_buf_consume(rn_buf_t *buf, size_t len) {
    RN_ASSERT(len <= buf->len);
    memmove(buf->ptr, buf->ptr + len, buf->len - len);
    buf->len -= len;
}
