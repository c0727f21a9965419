/*
 * group_records.h: the records of __consumer_offsets, in Kafka's key and
 * value layouts (so a log written here reads back in Kafka's own tools and
 * the other way round), and the record batches that carry them.
 *
 * Every integer is big-endian; strings are int16 length + bytes (-1: null);
 * bytes are int32 length + bytes. Keys are never null; a null value is a
 * tombstone. Written: offset key v1, offset value v3, group key v2, group
 * value v3. Read: offset values v0-v4, group values v0-v4 (the flexible v4
 * with its tagged fields skipped).
 *
 * Offset commit key (version 0 or 1; 1 is written):
 *   offset size  field
 *        0    2  version = 1
 *        2  2+g  group id (string)
 *      ...  2+t  topic (string)
 *      ...    4  partition (int32)
 *
 * Offset commit value (version 3):
 *   offset size  field
 *        0    2  version = 3
 *        2    8  offset (int64)
 *       10    4  leader epoch (int32, -1: unknown)
 *       14  2+m  metadata (string)
 *      ...    8  commit timestamp (int64, ms)
 *   (v1 adds an expire timestamp int64 after the commit timestamp and has
 *   no leader epoch; v0 and v2 have neither.)
 *
 * Group metadata key (version 2):
 *   offset size  field
 *        0    2  version = 2
 *        2  2+g  group id (string)
 *
 * Group metadata value (version 3):
 *   offset size  field
 *        0    2  version = 3
 *        2  2+p  protocol type (string)
 *      ...    4  generation (int32)
 *      ...  2+n  protocol name (nullable string)
 *      ...  2+l  leader member id (nullable string)
 *      ...    8  current state timestamp (int64, ms; v2+)
 *      ...    4  member count (int32), then per member:
 *                member id (string), group instance id (nullable string,
 *                v3+), client id (string), client host (string), rebalance
 *                timeout (int32, v1+), session timeout (int32),
 *                subscription (bytes), assignment (bytes)
 *
 * Owns nothing but the batch buffer it builds; never touches a log.
 */
#ifndef RN_GROUP_GROUP_RECORDS_H
#define RN_GROUP_GROUP_RECORDS_H

#include "base/buf.h"
#include "group/group.h"

/* A record batch v2 being built (uncompressed, CreateTime, no producer). */
typedef struct rn_group_batch {
    rn_buf_t buf;
    int32_t count;
    int64_t timestamp_ms;
} rn_group_batch_t;

/* Largest batch the group layer writes (Kafka's default max.message.bytes
   is 1 MiB; a checkpoint of many groups is split into several). */
#define RN_GROUP_BATCH_BYTES_MAX (1024 * 1024)
/* A batch is closed once it holds this many bytes of records. */
#define RN_GROUP_BATCH_BYTES_TARGET (512 * 1024)

void rn_group_batch_init(rn_group_batch_t *batch, int64_t timestamp_ms);
void rn_group_batch_free(rn_group_batch_t *batch);
/* Drops any records and sets a new timestamp. */
void rn_group_batch_reset(rn_group_batch_t *batch, int64_t timestamp_ms);
/* Adds one record; value NULL is a tombstone. RN_ERR_TOO_LARGE past the cap. */
rn_err_t rn_group_batch_add(rn_group_batch_t *batch, const rn_buf_t *key, const rn_buf_t *value);
/* Completes the header (counts, CRC-32C); the bytes are batch->buf. */
void rn_group_batch_finish(rn_group_batch_t *batch);
/* The same for a transaction's offsets (TxnOffsetCommit): transactional,
   the producer's id and epoch, base sequence 0 (as Kafka writes them). */
void rn_group_batch_finish_txn(rn_group_batch_t *batch, int64_t producer_id,
                               int16_t producer_epoch);

/* Key and value encoders: append to buf (which the caller clears). */
void rn_group_rec_offset_key(rn_buf_t *buf, const char *group_id, const char *topic,
                             int32_t partition);
void rn_group_rec_offset_value(rn_buf_t *buf, const rn_group_offset_t *value);
void rn_group_rec_group_key(rn_buf_t *buf, const char *group_id);
void rn_group_rec_group_value(rn_buf_t *buf, const rn_group_t *group);

/* Applies one stored record to a shard (loading). Unknown key versions
   (newer record types) are skipped; malformed ones are RN_ERR_CORRUPT. */
rn_err_t rn_group_rec_apply(rn_group_coord_t *coord, rn_bytes_t key, rn_bytes_t value,
                            int64_t now_ms);

/* Calls fn for each record of an uncompressed batch (the whole batch at
   p, as stored). RN_ERR_CORRUPT on a malformed record. */
typedef rn_err_t (*rn_group_record_fn)(void *ctx, rn_bytes_t key, rn_bytes_t value);
rn_err_t rn_group_batch_each(const uint8_t *p, size_t len, rn_group_record_fn fn, void *ctx);

#endif
