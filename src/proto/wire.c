/*
 * wire.c: bounds-checked Kafka wire primitives (see wire.h).
 *
 * Owns nothing; never reads past r->len, never trusts a length before checking
 * it against the bytes left and the protocol limits, never allocates.
 */
#include "wire.h"

#include "base/assert.h"
#include "base/limits.h"

#include <string.h>

const rn_uuid_t rn_uuid_zero = {{0}};

rn_str_t rn_str_from_cstr(const char *cstr) {
    rn_str_t s = {NULL, -1};
    if (cstr) {
        size_t len = strlen(cstr);
        RN_ASSERT(len <= INT32_MAX);
        s.ptr = cstr;
        s.len = (int32_t)len;
    }
    return s;
}

bool rn_str_eq(rn_str_t a, rn_str_t b) {
    if (a.len != b.len) return false;
    if (a.len <= 0) return true;
    return memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

bool rn_str_eq_cstr(rn_str_t a, const char *cstr) { return rn_str_eq(a, rn_str_from_cstr(cstr)); }

bool rn_bytes_eq(rn_bytes_t a, rn_bytes_t b) {
    if (a.len != b.len) return false;
    if (a.len <= 0) return true;
    return memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

bool rn_uuid_eq(const rn_uuid_t *a, const rn_uuid_t *b) {
    return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* ---- reader ---- */

void rn_reader_init(rn_reader_t *r, const void *ptr, size_t len) {
    RN_ASSERT(ptr != NULL || len == 0);
    r->ptr = ptr;
    r->len = len;
    r->pos = 0;
    r->err = RN_OK;
    r->depth = 0;
}

void rn_reader_fail(rn_reader_t *r, rn_err_t err) {
    RN_ASSERT(err != RN_OK);
    if (r->err == RN_OK) r->err = err;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL. */
static const uint8_t *take(rn_reader_t *r, size_t n) {
    if (r->err != RN_OK) return NULL;
    if (n > rn_reader_left(r)) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return NULL;
    }
    const uint8_t *p = r->ptr + r->pos;
    r->pos += n;
    return p;
}

void rn_read_skip(rn_reader_t *r, size_t n) { (void)take(r, n); }

static uint64_t read_be(rn_reader_t *r, size_t n) {
    const uint8_t *p = take(r, n);
    if (!p) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

int8_t rn_read_int8(rn_reader_t *r) { return (int8_t)(uint8_t)read_be(r, 1); }
int16_t rn_read_int16(rn_reader_t *r) { return (int16_t)(uint16_t)read_be(r, 2); }
int32_t rn_read_int32(rn_reader_t *r) { return (int32_t)(uint32_t)read_be(r, 4); }
int64_t rn_read_int64(rn_reader_t *r) { return (int64_t)read_be(r, 8); }
uint16_t rn_read_uint16(rn_reader_t *r) { return (uint16_t)read_be(r, 2); }
uint32_t rn_read_uint32(rn_reader_t *r) { return (uint32_t)read_be(r, 4); }
bool rn_read_bool(rn_reader_t *r) { return read_be(r, 1) != 0; }

double rn_read_float64(rn_reader_t *r) {
    uint64_t bits = read_be(r, 8);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

rn_uuid_t rn_read_uuid(rn_reader_t *r) {
    rn_uuid_t u = {{0}};
    const uint8_t *p = take(r, sizeof(u.bytes));
    if (p) memcpy(u.bytes, p, sizeof(u.bytes));
    return u;
}

/* Unsigned LEB128 of at most bytes_max bytes whose value fits bits_max bits. */
static uint64_t read_leb(rn_reader_t *r, unsigned bytes_max, unsigned bits_max) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes_max; i++) {
        const uint8_t *p = take(r, 1);
        if (!p) return 0;
        uint64_t part = *p & 0x7f;
        unsigned shift = 7 * i;
        /* The last byte may only carry the bits still missing. */
        if (shift + 7 > bits_max && (part >> (bits_max - shift)) != 0) break;
        v |= part << shift;
        if (!(*p & 0x80)) return v;
    }
    rn_reader_fail(r, RN_ERR_CORRUPT);
    return 0;
}

uint32_t rn_read_uvarint(rn_reader_t *r) { return (uint32_t)read_leb(r, 5, 32); }

int32_t rn_read_varint(rn_reader_t *r) {
    uint32_t u = (uint32_t)read_leb(r, 5, 32);
    return (int32_t)((u >> 1) ^ (0u - (u & 1u)));
}

int64_t rn_read_varlong(rn_reader_t *r) {
    uint64_t u = read_leb(r, 10, 64);
    return (int64_t)((u >> 1) ^ (0u - (u & 1u)));
}

/* Reads a length: compact uvarint length+1 (0 null) or a signed fixed-width one
   (-1 null). Returns -1 for null, -2 on failure (r->err set). */
static int64_t read_len(rn_reader_t *r, bool compact, unsigned width) {
    int64_t len;
    if (compact) {
        len = (int64_t)rn_read_uvarint(r) - 1;
    } else {
        len = width == 2 ? rn_read_int16(r) : rn_read_int32(r);
    }
    if (r->err != RN_OK) return -2;
    if (len < -1) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return -2;
    }
    if (len > INT32_MAX) {
        rn_reader_fail(r, RN_ERR_TOO_LARGE);
        return -2;
    }
    if (len > 0 && (uint64_t)len > rn_reader_left(r)) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return -2;
    }
    return len;
}

rn_str_t rn_read_string(rn_reader_t *r, bool compact) {
    rn_str_t s = {NULL, -1};
    int64_t len = read_len(r, compact, 2);
    if (len == -2) return s;
    if (len > RN_PROTO_STRING_BYTES_MAX) {
        rn_reader_fail(r, RN_ERR_TOO_LARGE);
        return s;
    }
    if (len >= 0) {
        s.ptr = (const char *)take(r, (size_t)len);
        s.len = (int32_t)len;
    }
    return s;
}

rn_bytes_t rn_read_bytes(rn_reader_t *r, bool compact) {
    rn_bytes_t b = {NULL, -1};
    int64_t len = read_len(r, compact, 4);
    if (len == -2) return b;
    if (len >= 0) {
        b.ptr = take(r, (size_t)len);
        b.len = (int32_t)len;
    }
    return b;
}

rn_records_t rn_read_records(rn_reader_t *r, bool compact) {
    rn_records_t rec = {NULL, -1, NULL, 0};
    rn_bytes_t b = rn_read_bytes(r, compact);
    if (r->err != RN_OK) return rec;
    rec.ptr = b.ptr;
    rec.len = b.len;
    return rec;
}

int32_t rn_read_array_count(rn_reader_t *r, bool compact) {
    int64_t count = compact ? (int64_t)rn_read_uvarint(r) - 1 : rn_read_int32(r);
    if (r->err != RN_OK) return -1;
    if (count < -1) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return -1;
    }
    if (count > RN_PROTO_ARRAY_COUNT_MAX) {
        rn_reader_fail(r, RN_ERR_LIMIT);
        return -1;
    }
    if (count > 0 && (uint64_t)count > rn_reader_left(r)) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return -1;
    }
    return (int32_t)count;
}

uint32_t rn_read_tagged_count(rn_reader_t *r) {
    uint32_t count = rn_read_uvarint(r);
    if (r->err != RN_OK) return 0;
    if (count > RN_PROTO_TAGGED_FIELDS_MAX) {
        rn_reader_fail(r, RN_ERR_LIMIT);
        return 0;
    }
    /* Each field takes at least two bytes (tag and size). */
    if ((uint64_t)count * 2 > rn_reader_left(r)) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        return 0;
    }
    return count;
}

bool rn_read_tagged_field(rn_reader_t *r, uint32_t *tag, rn_reader_t *sub) {
    *tag = rn_read_uvarint(r);
    uint32_t size = rn_read_uvarint(r);
    const uint8_t *p = take(r, size);
    if (!p) {
        rn_reader_init(sub, NULL, 0);
        sub->err = r->err;
        return false;
    }
    rn_reader_init(sub, p, size);
    sub->depth = r->depth;
    return true;
}

void rn_read_tagged_skip(rn_reader_t *r) {
    uint32_t count = rn_read_tagged_count(r);
    for (uint32_t i = 0; i < count && r->err == RN_OK; i++) {
        uint32_t tag;
        rn_reader_t sub;
        (void)rn_read_tagged_field(r, &tag, &sub);
    }
}

void rn_reader_join(rn_reader_t *r, const rn_reader_t *sub) {
    if (sub->err != RN_OK) rn_reader_fail(r, sub->err);
}

bool rn_reader_enter(rn_reader_t *r) {
    if (r->err != RN_OK) return false;
    if (r->depth >= RN_PROTO_DEPTH_MAX) {
        rn_reader_fail(r, RN_ERR_LIMIT);
        return false;
    }
    r->depth++;
    return true;
}

void rn_reader_leave(rn_reader_t *r) {
    RN_ASSERT(r->depth > 0);
    r->depth--;
}

/* ---- writer ---- */

void rn_writer_init(rn_writer_t *w, rn_buf_t *buf) {
    RN_ASSERT(buf != NULL);
    w->buf = buf;
    w->err = RN_OK;
    w->splice = NULL;
    w->splice_ctx = NULL;
}

void rn_writer_fail(rn_writer_t *w, rn_err_t err) {
    RN_ASSERT(err != RN_OK);
    if (w->err == RN_OK) w->err = err;
}

void rn_write_raw(rn_writer_t *w, const void *ptr, size_t len) {
    if (w->err != RN_OK || len == 0) return;
    rn_err_t err = rn_buf_append(w->buf, ptr, len);
    if (err != RN_OK) rn_writer_fail(w, err);
}

static void write_be(rn_writer_t *w, uint64_t v, size_t n) {
    uint8_t tmp[8];
    RN_ASSERT(n <= sizeof(tmp));
    for (size_t i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    rn_write_raw(w, tmp, n);
}

void rn_write_int8(rn_writer_t *w, int8_t v) { write_be(w, (uint8_t)v, 1); }
void rn_write_int16(rn_writer_t *w, int16_t v) { write_be(w, (uint16_t)v, 2); }
void rn_write_int32(rn_writer_t *w, int32_t v) { write_be(w, (uint32_t)v, 4); }
void rn_write_int64(rn_writer_t *w, int64_t v) { write_be(w, (uint64_t)v, 8); }
void rn_write_uint16(rn_writer_t *w, uint16_t v) { write_be(w, v, 2); }
void rn_write_uint32(rn_writer_t *w, uint32_t v) { write_be(w, v, 4); }
void rn_write_bool(rn_writer_t *w, bool v) { write_be(w, v ? 1 : 0, 1); }

void rn_write_float64(rn_writer_t *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    write_be(w, bits, 8);
}

void rn_write_uuid(rn_writer_t *w, const rn_uuid_t *v) { rn_write_raw(w, v->bytes, 16); }

static void write_leb(rn_writer_t *w, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    rn_write_raw(w, tmp, n);
}

void rn_write_uvarint(rn_writer_t *w, uint32_t v) { write_leb(w, v); }

static uint32_t zigzag32(int32_t v) { return ((uint32_t)v << 1) ^ (0u - ((uint32_t)v >> 31)); }
static uint64_t zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (0u - ((uint64_t)v >> 63)); }

void rn_write_varint(rn_writer_t *w, int32_t v) { write_leb(w, zigzag32(v)); }
void rn_write_varlong(rn_writer_t *w, int64_t v) { write_leb(w, zigzag64(v)); }

static void write_len(rn_writer_t *w, int64_t len, bool compact, unsigned width) {
    RN_ASSERT(len >= -1);
    if (compact) {
        if (len + 1 > UINT32_MAX) {
            rn_writer_fail(w, RN_ERR_TOO_LARGE);
            return;
        }
        rn_write_uvarint(w, (uint32_t)(len + 1));
    } else if (width == 2) {
        if (len > INT16_MAX) {
            rn_writer_fail(w, RN_ERR_TOO_LARGE);
            return;
        }
        rn_write_int16(w, (int16_t)len);
    } else {
        if (len > INT32_MAX) {
            rn_writer_fail(w, RN_ERR_TOO_LARGE);
            return;
        }
        rn_write_int32(w, (int32_t)len);
    }
}

void rn_write_string(rn_writer_t *w, rn_str_t s, bool compact) {
    write_len(w, s.len, compact, 2);
    if (s.len > 0) rn_write_raw(w, s.ptr, (size_t)s.len);
}

void rn_write_bytes(rn_writer_t *w, rn_bytes_t b, bool compact) {
    write_len(w, b.len, compact, 4);
    if (b.len > 0) rn_write_raw(w, b.ptr, (size_t)b.len);
}

void rn_write_records(rn_writer_t *w, const rn_records_t *rec, bool compact) {
    if (rec->len > INT32_MAX) {
        rn_writer_fail(w, RN_ERR_TOO_LARGE);
        return;
    }
    write_len(w, rec->len, compact, 4);
    if (rec->len <= 0 || w->err != RN_OK) return;
    if (!rec->file_ref) {
        rn_write_raw(w, rec->ptr, (size_t)rec->len);
        return;
    }
    if (!w->splice) {
        rn_writer_fail(w, RN_ERR_INVALID);
        return;
    }
    rn_err_t err = w->splice(w->splice_ctx, w->buf->len, rec->file_ref, rec->file_off, rec->len);
    if (err != RN_OK) rn_writer_fail(w, err);
}

void rn_write_array_count(rn_writer_t *w, int32_t count, bool compact) {
    write_len(w, count, compact, 4);
}

/* ---- sizes ---- */

static size_t leb_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t rn_uvarint_size(uint32_t v) { return leb_size(v); }
size_t rn_varint_size(int32_t v) { return leb_size(zigzag32(v)); }
size_t rn_varlong_size(int64_t v) { return leb_size(zigzag64(v)); }

static size_t len_size(int64_t len, bool compact, unsigned width) {
    if (compact) return leb_size((uint64_t)(len + 1));
    return width;
}

size_t rn_string_size(rn_str_t s, bool compact) {
    return len_size(s.len, compact, 2) + (s.len > 0 ? (size_t)s.len : 0);
}

size_t rn_bytes_size(rn_bytes_t b, bool compact) {
    return len_size(b.len, compact, 4) + (b.len > 0 ? (size_t)b.len : 0);
}

size_t rn_records_size(const rn_records_t *rec, bool compact) {
    return len_size(rec->len, compact, 4) + (rec->len > 0 ? (size_t)rec->len : 0);
}

size_t rn_array_count_size(int32_t count, bool compact) { return len_size(count, compact, 4); }
