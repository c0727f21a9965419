/*
 * wire.h: bounds-checked primitives of the Kafka wire format.
 *
 * What it does: reads big-endian integers, varints, strings, bytes, records,
 * array counts and tagged-field sections from untrusted bytes, and writes the
 * same shapes into an owned buffer.
 *
 * What it owns: nothing. A reader borrows its input; strings, bytes and records
 * decoded from it point into that input (zero copy) and must not outlive it. A
 * writer appends to a caller-owned rn_buf_t.
 *
 * What it must never do: index with a length read off the wire before checking
 * it against the bytes left and the limits in base/limits.h; allocate.
 *
 * Errors are sticky. Once a read fails, r->err is set, every later read returns
 * a zero value and consumes nothing, and the decoder checks r->err once at the
 * end (one bail-out path). Writers work the same way with w->err.
 */
#ifndef RN_PROTO_WIRE_H
#define RN_PROTO_WIRE_H

#include "base/buf.h"
#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A borrowed string, NOT NUL-terminated. len -1 is null. */
typedef struct rn_str {
    const char *ptr;
    int32_t len;
} rn_str_t;

/* Borrowed bytes. len -1 is null. */
typedef struct rn_bytes {
    const uint8_t *ptr;
    int32_t len;
} rn_bytes_t;

/*
 * A records field: borrowed bytes, or (when file_ref is non-NULL) a range of a
 * file the network layer will send with sendfile. len -1 is null.
 */
typedef struct rn_records {
    const uint8_t *ptr;
    int64_t len;
    const void *file_ref; /* opaque to the codec; NULL for in-memory bytes */
    uint64_t file_off;
} rn_records_t;

typedef struct rn_uuid {
    uint8_t bytes[16];
} rn_uuid_t;

/* Arrays of primitives; count -1 is null. Items live in the decode arena. */
typedef struct rn_int8_array {
    int8_t *items;
    int32_t count;
} rn_int8_array_t;
typedef struct rn_int16_array {
    int16_t *items;
    int32_t count;
} rn_int16_array_t;
typedef struct rn_int32_array {
    int32_t *items;
    int32_t count;
} rn_int32_array_t;
typedef struct rn_int64_array {
    int64_t *items;
    int32_t count;
} rn_int64_array_t;
typedef struct rn_uuid_array {
    rn_uuid_t *items;
    int32_t count;
} rn_uuid_array_t;
typedef struct rn_str_array {
    rn_str_t *items;
    int32_t count;
} rn_str_array_t;

typedef struct rn_reader {
    const uint8_t *ptr;
    size_t len;
    size_t pos;
    rn_err_t err; /* sticky: first failure wins */
    int depth;    /* struct nesting, bounded by RN_PROTO_DEPTH_MAX */
} rn_reader_t;

/*
 * Called when a records field refers to a file range: `pos` is the position in
 * w->buf where the range's bytes belong (the length prefix is already written
 * before it). The hook records the range; the codec never copies file bytes.
 */
typedef rn_err_t (*rn_splice_fn)(void *ctx, size_t pos, const void *file_ref, uint64_t file_off,
                                 int64_t len);

typedef struct rn_writer {
    rn_buf_t *buf;
    rn_err_t err; /* sticky */
    rn_splice_fn splice;
    void *splice_ctx;
} rn_writer_t;

/* The zero uuid, Kafka's "no topic id". */
extern const rn_uuid_t rn_uuid_zero;

static inline rn_str_t rn_str_null(void) {
    rn_str_t s = {NULL, -1};
    return s;
}
/* Borrows a NUL-terminated C string (or NULL for a null string). */
rn_str_t rn_str_from_cstr(const char *cstr);
bool rn_str_eq(rn_str_t a, rn_str_t b);
bool rn_str_eq_cstr(rn_str_t a, const char *cstr);
bool rn_bytes_eq(rn_bytes_t a, rn_bytes_t b);
bool rn_uuid_eq(const rn_uuid_t *a, const rn_uuid_t *b);

/* ---- reader ---- */

void rn_reader_init(rn_reader_t *r, const void *ptr, size_t len);
static inline size_t rn_reader_left(const rn_reader_t *r) { return r->len - r->pos; }
/* Records the first error; later ones are ignored. */
void rn_reader_fail(rn_reader_t *r, rn_err_t err);
/* Skips n bytes (fails if fewer are left). */
void rn_read_skip(rn_reader_t *r, size_t n);

int8_t rn_read_int8(rn_reader_t *r);
int16_t rn_read_int16(rn_reader_t *r);
int32_t rn_read_int32(rn_reader_t *r);
int64_t rn_read_int64(rn_reader_t *r);
uint16_t rn_read_uint16(rn_reader_t *r);
uint32_t rn_read_uint32(rn_reader_t *r);
/* Any non-zero byte is true, as Kafka reads it. */
bool rn_read_bool(rn_reader_t *r);
double rn_read_float64(rn_reader_t *r);
rn_uuid_t rn_read_uuid(rn_reader_t *r);
/* Unsigned LEB128 of at most 5 bytes fitting 32 bits. */
uint32_t rn_read_uvarint(rn_reader_t *r);
/* Zig-zag varint (int32, at most 5 bytes) and varlong (int64, at most 10). */
int32_t rn_read_varint(rn_reader_t *r);
int64_t rn_read_varlong(rn_reader_t *r);

/* compact: uvarint length+1 (0 null); else int16 length (-1 null). */
rn_str_t rn_read_string(rn_reader_t *r, bool compact);
/* compact: uvarint length+1 (0 null); else int32 length (-1 null). */
rn_bytes_t rn_read_bytes(rn_reader_t *r, bool compact);
rn_records_t rn_read_records(rn_reader_t *r, bool compact);
/*
 * An array count (-1 null). Fails when above RN_PROTO_ARRAY_COUNT_MAX or above
 * the bytes left (every element takes at least one byte), so a lying count is
 * caught before anything is allocated.
 */
int32_t rn_read_array_count(rn_reader_t *r, bool compact);

/* Tagged-field section: the count (bounded by RN_PROTO_TAGGED_FIELDS_MAX). */
uint32_t rn_read_tagged_count(rn_reader_t *r);
/*
 * One tagged field: reads its tag and size, points `sub` at its payload and
 * moves r past it. Returns false (with r->err set) on failure.
 */
bool rn_read_tagged_field(rn_reader_t *r, uint32_t *tag, rn_reader_t *sub);
/* Reads and skips a whole tagged-field section (for structs with no known tags). */
void rn_read_tagged_skip(rn_reader_t *r);
/* Copies a sub-reader's error into its parent. */
void rn_reader_join(rn_reader_t *r, const rn_reader_t *sub);
/* Enters/leaves a nested struct; entering past RN_PROTO_DEPTH_MAX fails. */
bool rn_reader_enter(rn_reader_t *r);
void rn_reader_leave(rn_reader_t *r);

/* ---- writer ---- */

void rn_writer_init(rn_writer_t *w, rn_buf_t *buf);
void rn_writer_fail(rn_writer_t *w, rn_err_t err);
void rn_write_raw(rn_writer_t *w, const void *ptr, size_t len);
void rn_write_int8(rn_writer_t *w, int8_t v);
void rn_write_int16(rn_writer_t *w, int16_t v);
void rn_write_int32(rn_writer_t *w, int32_t v);
void rn_write_int64(rn_writer_t *w, int64_t v);
void rn_write_uint16(rn_writer_t *w, uint16_t v);
void rn_write_uint32(rn_writer_t *w, uint32_t v);
void rn_write_bool(rn_writer_t *w, bool v);
void rn_write_float64(rn_writer_t *w, double v);
void rn_write_uuid(rn_writer_t *w, const rn_uuid_t *v);
void rn_write_uvarint(rn_writer_t *w, uint32_t v);
void rn_write_varint(rn_writer_t *w, int32_t v);
void rn_write_varlong(rn_writer_t *w, int64_t v);
void rn_write_string(rn_writer_t *w, rn_str_t s, bool compact);
void rn_write_bytes(rn_writer_t *w, rn_bytes_t b, bool compact);
/* In-memory records are copied; file ranges write only the length prefix and
   go to w->splice (RN_ERR_INVALID if the writer has no splice hook). */
void rn_write_records(rn_writer_t *w, const rn_records_t *rec, bool compact);
void rn_write_array_count(rn_writer_t *w, int32_t count, bool compact);

/* ---- sizes (bytes the matching write produces) ---- */

size_t rn_uvarint_size(uint32_t v);
size_t rn_varint_size(int32_t v);
size_t rn_varlong_size(int64_t v);
size_t rn_string_size(rn_str_t s, bool compact);
size_t rn_bytes_size(rn_bytes_t b, bool compact);
size_t rn_records_size(const rn_records_t *rec, bool compact);
size_t rn_array_count_size(int32_t count, bool compact);

#endif
