/*
 * frame.h: Kafka's framing, as a pure function: a 4-byte big-endian length
 * then that many bytes. The connection layer feeds it whatever it has read;
 * it never reads past `len` and never allocates, so it is fuzzed alone.
 */
#ifndef RN_NET_FRAME_H
#define RN_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Smallest request: api key, api version and correlation id. */
#define RN_FRAME_BYTES_MIN 8

typedef enum rn_frame_status {
    RN_FRAME_NEED_MORE = 0, /* not even the length prefix yet */
    RN_FRAME_READY,         /* *frame_len known; whole frame present if avail */
    RN_FRAME_BAD,           /* length outside [RN_FRAME_BYTES_MIN, frame_max] */
} rn_frame_status_t;

/* Looks at the frame starting at buf. On READY, *frame_len is the body
   length (without the prefix) and *complete says whether all of it is in
   buf; on BAD, *frame_len holds the length read (for the log line). */
rn_frame_status_t rn_frame_peek(const uint8_t *buf, size_t len, int32_t frame_max,
                                int32_t *frame_len, int *complete);

#endif
