/*
 * txn_records.h: the records of __transaction_state, in Kafka's
 * TransactionLogKey and TransactionLogValue layouts, so a log written here
 * reads back in Kafka's own tools and the other way round. They travel in
 * the group layer's record batches (group_records.h: uncompressed v2, no
 * producer).
 *
 * Integers are big-endian; a string is an int16 length + bytes; an array
 * an int32 count (-1: null). Keys are never null; a null value is a
 * tombstone (the id expired). Written: key v0, value v0. Read: value v0
 * and the flexible v1 (compact strings and arrays, tagged fields; tag 0 is
 * the previous producer id).
 *
 * Key (version 0):
 *   offset size  field
 *        0    2  version = 0
 *        2  2+t  transactional id (string)
 *
 * Value (version 0):
 *   offset size  field
 *        0    2  version = 0
 *        2    8  producer id (int64)
 *       10    2  producer epoch (int16)
 *       12    4  transaction timeout (int32, ms)
 *       16    1  state (int8: Empty 0 ... CompleteAbort 5, Dead 6)
 *       17    4  topic count (int32; -1, null, for Empty), then per topic:
 *                topic (string), partition count (int32), partitions (int32 each)
 *      ...    8  last update timestamp (int64, ms)
 *      ...    8  transaction start timestamp (int64, ms; -1: none)
 *
 * Owns nothing; never touches a log.
 */
#ifndef RN_TXN_TXN_RECORDS_H
#define RN_TXN_TXN_RECORDS_H

#include "base/buf.h"
#include "txn/txn.h"

/* Encoders: append to buf (which the caller clears). */
void rn_txn_rec_key(rn_buf_t *buf, const char *id);
void rn_txn_rec_value(rn_buf_t *buf, const rn_txn_meta_t *meta);

/* Decodes a key: RN_OK with *id (borrowed from key); RN_ERR_NOT_FOUND for
   a key version this does not know (skipped); RN_ERR_CORRUPT. */
rn_err_t rn_txn_rec_parse_key(rn_bytes_t key, rn_str_t *id);
/* Decodes a value into an initialized meta: RN_OK or RN_ERR_CORRUPT. */
rn_err_t rn_txn_rec_parse_value(rn_bytes_t value, rn_txn_meta_t *meta);

#endif
