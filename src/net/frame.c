/* frame.c: the length-prefix check of every request frame (frame.h). */
#include "net/frame.h"
#include "base/assert.h"
#include "base/endian.h"

rn_frame_status_t rn_frame_peek(const uint8_t *buf, size_t len, int32_t frame_max,
                                int32_t *frame_len, int *complete) {
    RN_ASSERT(frame_max >= RN_FRAME_BYTES_MIN);
    *complete = 0;
    if (len < 4) return RN_FRAME_NEED_MORE;
    int32_t n = (int32_t)rn_be32_get(buf);
    *frame_len = n;
    if (n < RN_FRAME_BYTES_MIN || n > frame_max) return RN_FRAME_BAD;
    *complete = len - 4 >= (size_t)n;
    return RN_FRAME_READY;
}
