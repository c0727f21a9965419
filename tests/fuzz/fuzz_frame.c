/*
 * fuzz_frame.c: libFuzzer target for request framing and header parsing:
 * splits arbitrary bytes into frames as a connection would (a small and the
 * default frame limit), and decodes each frame's request header at the
 * version the API table gives, as the dispatcher does.
 */
#include "base/arena.h"
#include "net/frame.h"
#include "proto/gen/api.h"
#include "proto/gen/request_header.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_header(const uint8_t *frame, size_t len) {
    int16_t key = (int16_t)((uint16_t)(frame[0] << 8) | frame[1]);
    int16_t version = (int16_t)((uint16_t)(frame[2] << 8) | frame[3]);
    const rn_api_info_t *api = rn_api_info(key);
    int16_t header_version = api ? rn_api_request_header_version(api, version) : 1;
    rn_arena_t arena;
    rn_arena_init(&arena, 64 * 1024);
    rn_reader_t r;
    rn_reader_init(&r, frame, len);
    rn_request_header_t header;
    (void)rn_request_header_decode(&r, &arena, header_version, &header);
    rn_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int32_t limits[] = {64, 100 * 1024 * 1024};
    for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
        size_t pos = 0;
        for (;;) {
            int32_t len = 0;
            int complete = 0;
            rn_frame_status_t st =
                rn_frame_peek(data + pos, size - pos, limits[l], &len, &complete);
            if (st != RN_FRAME_READY || !complete) break;
            fuzz_header(data + pos + 4, (size_t)len);
            pos += 4 + (size_t)len;
        }
    }
    return 0;
}
