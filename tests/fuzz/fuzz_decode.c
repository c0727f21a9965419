/*
 * fuzz_decode.c: libFuzzer target for the generated Kafka codec.
 *
 * Input layout: byte 0-1 pick the API key (modulo the table), byte 2 the
 * version (modulo the defined range), byte 3 bit 0 request or response; the
 * rest is decoded as a request header followed by the message (as a broker
 * reads a frame), and again as the message alone. Whatever decodes must encode
 * again without error, to exactly size() bytes, and decode to the same bytes.
 * Owns one arena and one buffer per input, freed before returning; must never
 * crash, leak, or read outside the input.
 */
#include "base/arena.h"
#include "base/assert.h"
#include "base/buf.h"
#include "base/limits.h"
#include "proto/gen/api.h"
#include "proto/gen/request_header.h"
#include "proto/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Arena budget as the broker computes it for one frame. */
static size_t arena_bytes_for(size_t frame_bytes) {
    size_t bytes = frame_bytes * RN_PROTO_ARENA_FACTOR;
    return bytes < RN_PROTO_ARENA_BYTES_MIN ? RN_PROTO_ARENA_BYTES_MIN : bytes;
}

/* Re-encodes a decoded message and checks the encoding is stable. */
static void check_reencode(const rn_api_info_t *api, bool request, int16_t version, const void *msg,
                           size_t frame_bytes) {
    rn_api_encode_fn encode = request ? api->request_encode : api->response_encode;
    rn_api_decode_fn decode = request ? api->request_decode : api->response_decode;
    rn_api_size_fn size = request ? api->request_size : api->response_size;
    size_t msg_bytes = request ? api->request_bytes : api->response_bytes;
    rn_buf_t first, second;
    rn_buf_init(&first, RN_REQUEST_BYTES_MAX_CEILING);
    rn_buf_init(&second, RN_REQUEST_BYTES_MAX_CEILING);
    rn_writer_t w;
    rn_writer_init(&w, &first);
    encode(&w, version, msg);
    RN_ASSERT(w.err == RN_OK);
    RN_ASSERT(size(version, msg) == first.len);

    void *again = malloc(msg_bytes);
    RN_ASSERT(again != NULL);
    rn_arena_t arena;
    rn_arena_init(&arena, arena_bytes_for(frame_bytes) * 2);
    rn_reader_t r;
    rn_reader_init(&r, first.ptr, first.len);
    rn_err_t err = decode(&r, &arena, version, again);
    /* Canonical re-encoding can only shrink the input, so the budget holds. */
    RN_ASSERT(err == RN_OK);
    RN_ASSERT(r.pos == first.len);
    rn_writer_init(&w, &second);
    encode(&w, version, again);
    RN_ASSERT(w.err == RN_OK);
    RN_ASSERT(second.len == first.len);
    RN_ASSERT(first.len == 0 || memcmp(first.ptr, second.ptr, first.len) == 0);
    rn_arena_free(&arena);
    free(again);
    rn_buf_free(&first);
    rn_buf_free(&second);
}

static void decode_one(const rn_api_info_t *api, bool request, int16_t version, bool with_header,
                       const uint8_t *p, size_t len) {
    rn_api_decode_fn decode = request ? api->request_decode : api->response_decode;
    size_t msg_bytes = request ? api->request_bytes : api->response_bytes;
    rn_arena_t arena;
    rn_arena_init(&arena, arena_bytes_for(len));
    /* An exact-size copy, so any overread is caught by ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    void *msg = malloc(msg_bytes);
    RN_ASSERT(copy != NULL && msg != NULL);
    if (len) memcpy(copy, p, len);
    rn_reader_t r;
    rn_reader_init(&r, copy, len);
    if (with_header) {
        rn_request_header_t hdr;
        int16_t hv = api->request_header_version[version];
        (void)rn_request_header_decode(&r, &arena, hv, &hdr);
    }
    if (r.err == RN_OK) {
        size_t start = r.pos;
        if (decode(&r, &arena, version, msg) == RN_OK) {
            RN_ASSERT(r.pos <= len);
            check_reencode(api, request, version, msg, r.pos - start);
        }
    }
    free(msg);
    free(copy);
    rn_arena_free(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    uint16_t pick = (uint16_t)((data[0] << 8) | data[1]);
    const rn_api_info_t *api = rn_api_info((int16_t)(pick % (RN_API_KEY_MAX + 1)));
    if (!api) return 0;
    int span = api->version_max_defined - api->version_min + 1;
    int16_t version = (int16_t)(api->version_min + data[2] % span);
    bool request = (data[3] & 1) == 0;
    const uint8_t *p = data + 4;
    size_t len = size - 4;
    if (request) decode_one(api, true, version, true, p, len);
    decode_one(api, request, version, false, p, len);
    return 0;
}
