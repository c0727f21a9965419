/*
 * record.c: parsing and writing single records of a batch v2 (record.h).
 * Zigzag varints as Kafka encodes them. Owns nothing.
 */
#include "proto/record.h"

#include "base/assert.h"

#include <string.h>

typedef struct rd {
    const uint8_t *p;
    const uint8_t *end;
    bool bad;
} rd_t;

static uint64_t rd_uvarint(rd_t *r, unsigned bytes_max) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes_max; i++) {
        if (r->p >= r->end) break;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static int64_t rd_varlong(rd_t *r) {
    uint64_t u = rd_uvarint(r, 10);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static int32_t rd_varint(rd_t *r) {
    uint64_t u = rd_uvarint(r, 5);
    if (u > UINT32_MAX) r->bad = true;
    return (int32_t)((int64_t)(u >> 1) ^ -(int64_t)(u & 1));
}

/* A nullable length-prefixed field; *len -1 for null. */
static const uint8_t *rd_field(rd_t *r, int32_t *len, bool nullable) {
    *len = rd_varint(r);
    if (r->bad) return NULL;
    if (*len == -1 && nullable) return NULL;
    if (*len < 0 || *len > r->end - r->p) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += *len;
    return at;
}

static bool rd_headers(rd_t *r) {
    int32_t count = rd_varint(r);
    if (r->bad || count < 0 || count > r->end - r->p) return false;
    for (int32_t i = 0; i < count && !r->bad; i++) {
        int32_t len;
        (void)rd_field(r, &len, false);
        (void)rd_field(r, &len, true);
    }
    return !r->bad;
}

bool rn_record_next(const uint8_t **p, const uint8_t *end, rn_record_t *rec) {
    RN_ASSERT(p != NULL && *p <= end);
    rd_t outer = {*p, end, false};
    int32_t len = rd_varint(&outer);
    if (outer.bad || len < 6 || len > outer.end - outer.p) return false;
    rd_t r = {outer.p, outer.p + len, false};
    if (r.p >= r.end) return false;
    rec->attributes = (int8_t)*r.p++;
    rec->timestamp_delta = rd_varlong(&r);
    rec->offset_delta = rd_varint(&r);
    rec->key = rd_field(&r, &rec->key_len, true);
    rec->value = rd_field(&r, &rec->value_len, true);
    rec->headers = r.p;
    if (r.bad || !rd_headers(&r) || r.p != r.end) return false;
    rec->headers_len = (size_t)(r.p - rec->headers);
    rec->size = (size_t)(r.end - *p);
    *p = r.end;
    return true;
}

/* ---- writing ---- */

static size_t put_uvarint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

static size_t put_varlong(uint8_t *out, int64_t v) {
    return put_uvarint(out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Writes the body (everything after the length) into out, at most cap. */
static size_t body_write(uint8_t *out, const rn_record_t *rec, int64_t timestamp_delta) {
    size_t n = 0;
    out[n++] = (uint8_t)rec->attributes;
    n += put_varlong(out + n, timestamp_delta);
    n += put_varlong(out + n, rec->offset_delta);
    n += put_varlong(out + n, rec->key_len);
    if (rec->key_len > 0) memcpy(out + n, rec->key, (size_t)rec->key_len);
    n += rec->key_len > 0 ? (size_t)rec->key_len : 0;
    n += put_varlong(out + n, rec->value_len);
    if (rec->value_len > 0) memcpy(out + n, rec->value, (size_t)rec->value_len);
    n += rec->value_len > 0 ? (size_t)rec->value_len : 0;
    memcpy(out + n, rec->headers, rec->headers_len);
    return n + rec->headers_len;
}

rn_err_t rn_record_write(rn_buf_t *out, const rn_record_t *rec, int64_t timestamp_delta) {
    size_t key = rec->key_len > 0 ? (size_t)rec->key_len : 0;
    size_t value = rec->value_len > 0 ? (size_t)rec->value_len : 0;
    size_t body_max = 1 + 10 + 5 + 5 + key + 5 + value + rec->headers_len;
    rn_err_t err = rn_buf_reserve(out, body_max + 5);
    if (err != RN_OK) return err;
    /* The body is written after room for the longest length prefix, then
       moved down next to the real one. */
    uint8_t *at = out->ptr + out->len;
    size_t body = body_write(at + 5, rec, timestamp_delta);
    size_t prefix = put_varlong(at, (int64_t)body);
    memmove(at + prefix, at + 5, body);
    out->len += prefix + body;
    return RN_OK;
}
