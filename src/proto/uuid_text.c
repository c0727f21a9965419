/*
 * uuid_text.c: Kafka's base64url text form of a Uuid (see uuid_text.h).
 */
#include "proto/uuid_text.h"

#include <string.h>

static const char uuid_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void rn_uuid_to_text(const rn_uuid_t *id, char *out) {
    uint32_t acc = 0;
    int bits = 0;
    int n = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | id->bytes[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = uuid_alphabet[(acc >> bits) & 63];
        }
    }
    out[n++] = uuid_alphabet[(acc << (6 - bits)) & 63]; /* the last 2 bits, padded */
    out[n] = '\0';
}

bool rn_uuid_from_text(const char *text, rn_uuid_t *id) {
    if (strlen(text) != RN_UUID_TEXT_CHARS) return false;
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (int i = 0; i < RN_UUID_TEXT_CHARS; i++) {
        const char *at = strchr(uuid_alphabet, text[i]);
        if (!at || !*at) return false;
        acc = (acc << 6) | (uint32_t)(at - uuid_alphabet);
        bits += 6;
        if (bits >= 8 && n < 16) {
            bits -= 8;
            id->bytes[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n == 16 && (acc & ((1u << bits) - 1)) == 0; /* canonical: padding bits zero */
}
