/*
 * record.h: one record of a record batch v2 (batch.h draws the layout),
 * read from already validated bytes and written back, for the log cleaner:
 * it reads keys to decide what to keep and writes the kept records into a
 * new batch. The produce path never uses it (it walks records in batch.c).
 *
 * Owns nothing: a parsed record points into the caller's bytes. Parsing is
 * bounds checked all the same (stored bytes can rot); a record that does not
 * parse stops the walk with false.
 */
#ifndef RN_PROTO_RECORD_H
#define RN_PROTO_RECORD_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rn_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    const uint8_t *key; /* NULL when the key is null */
    int32_t key_len;    /* -1: null */
    const uint8_t *value;
    int32_t value_len;      /* -1: null (a tombstone) */
    const uint8_t *headers; /* header count and headers, as stored */
    size_t headers_len;
    size_t size; /* whole record, length prefix included */
} rn_record_t;

/* Parses the record at *p (before end) and moves *p past it; false if the
   bytes there are not one whole record. */
bool rn_record_next(const uint8_t **p, const uint8_t *end, rn_record_t *rec);

/* Appends rec to out with the given timestamp delta (the other fields as
   parsed). RN_ERR_TOO_LARGE past out's cap. */
rn_err_t rn_record_write(rn_buf_t *out, const rn_record_t *rec, int64_t timestamp_delta);

#endif
