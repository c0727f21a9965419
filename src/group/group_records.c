/*
 * group_records.c: __consumer_offsets keys, values and record batches (the
 * layouts are drawn in group_records.h), and their replay into a shard.
 */
#include "group/group_records.h"
#include "base/assert.h"
#include "base/crc32c.h"
#include "proto/batch.h"

#include <stdlib.h>
#include <string.h>

enum {
    REC_OFFSET_KEY_V0 = 0,
    REC_OFFSET_KEY_V1 = 1,
    REC_GROUP_KEY_V2 = 2,
    REC_OFFSET_VALUE_V3 = 3,
    REC_GROUP_VALUE_V3 = 3,
};

static void put_be(uint8_t *p, uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* ---- batches ---- */

void rn_group_batch_init(rn_group_batch_t *batch, int64_t timestamp_ms) {
    rn_buf_init(&batch->buf, RN_GROUP_BATCH_BYTES_MAX);
    rn_group_batch_reset(batch, timestamp_ms);
}

void rn_group_batch_free(rn_group_batch_t *batch) { rn_buf_free(&batch->buf); }

void rn_group_batch_reset(rn_group_batch_t *batch, int64_t timestamp_ms) {
    static const uint8_t zero[RN_BATCH_HEADER_BYTES];
    batch->buf.len = 0;
    batch->count = 0;
    batch->timestamp_ms = timestamp_ms;
    rn_err_t err = rn_buf_append(&batch->buf, zero, sizeof zero);
    RN_ASSERT(err == RN_OK);
}

rn_err_t rn_group_batch_add(rn_group_batch_t *batch, const rn_buf_t *key, const rn_buf_t *value) {
    RN_ASSERT(key != NULL && key->len > 0);
    int32_t key_len = (int32_t)key->len;
    int32_t value_len = value ? (int32_t)value->len : -1;
    size_t body = 1 + rn_varlong_size(0) + rn_varint_size(batch->count) + rn_varint_size(key_len) +
                  (size_t)key_len + rn_varint_size(value_len) + (value ? value->len : 0) +
                  rn_varint_size(0);
    size_t need = rn_varint_size((int32_t)body) + body;
    if (batch->buf.len + need > RN_GROUP_BATCH_BYTES_MAX) return RN_ERR_TOO_LARGE;
    rn_writer_t w;
    rn_writer_init(&w, &batch->buf);
    rn_write_varint(&w, (int32_t)body);
    rn_write_int8(&w, 0);    /* attributes */
    rn_write_varlong(&w, 0); /* timestamp delta */
    rn_write_varint(&w, batch->count);
    rn_write_varint(&w, key_len);
    rn_write_raw(&w, key->ptr, key->len);
    rn_write_varint(&w, value_len);
    if (value) rn_write_raw(&w, value->ptr, value->len);
    rn_write_varint(&w, 0); /* headers */
    if (w.err != RN_OK) return w.err;
    batch->count++;
    return RN_OK;
}

void rn_group_batch_finish_txn(rn_group_batch_t *batch, int64_t producer_id,
                               int16_t producer_epoch) {
    rn_group_batch_finish(batch);
    uint8_t *p = batch->buf.ptr;
    put_be(p + RN_BATCH_OFF_ATTRIBUTES, RN_BATCH_ATTR_TRANSACTIONAL, 2);
    put_be(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)producer_id, 8);
    put_be(p + RN_BATCH_OFF_PRODUCER_EPOCH, (uint64_t)(uint16_t)producer_epoch, 2);
    put_be(p + RN_BATCH_OFF_BASE_SEQUENCE, 0, 4);
    uint32_t crc =
        rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, batch->buf.len - RN_BATCH_OFF_ATTRIBUTES);
    put_be(p + RN_BATCH_OFF_CRC, crc, 4);
}

void rn_group_batch_finish(rn_group_batch_t *batch) {
    RN_ASSERT(batch->count > 0);
    uint8_t *p = batch->buf.ptr;
    put_be(p + RN_BATCH_OFF_BASE_OFFSET, 0, 8);
    put_be(p + RN_BATCH_OFF_LENGTH, (uint64_t)(batch->buf.len - RN_BATCH_LOG_OVERHEAD), 4);
    put_be(p + RN_BATCH_OFF_LEADER_EPOCH, (uint64_t)(uint32_t)-1, 4);
    p[RN_BATCH_OFF_MAGIC] = RN_BATCH_MAGIC;
    put_be(p + RN_BATCH_OFF_ATTRIBUTES, 0, 2);
    put_be(p + RN_BATCH_OFF_LAST_OFFSET_DELTA, (uint64_t)(batch->count - 1), 4);
    put_be(p + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)batch->timestamp_ms, 8);
    put_be(p + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)batch->timestamp_ms, 8);
    put_be(p + RN_BATCH_OFF_PRODUCER_ID, (uint64_t)-1, 8);
    put_be(p + RN_BATCH_OFF_PRODUCER_EPOCH, (uint64_t)(uint16_t)-1, 2);
    put_be(p + RN_BATCH_OFF_BASE_SEQUENCE, (uint64_t)(uint32_t)-1, 4);
    put_be(p + RN_BATCH_OFF_RECORDS_COUNT, (uint64_t)batch->count, 4);
    uint32_t crc =
        rn_crc32c(0, p + RN_BATCH_OFF_ATTRIBUTES, batch->buf.len - RN_BATCH_OFF_ATTRIBUTES);
    put_be(p + RN_BATCH_OFF_CRC, crc, 4);
}

/* ---- keys and values ---- */

static rn_writer_t rec_writer(rn_buf_t *buf) {
    rn_writer_t w;
    rn_writer_init(&w, buf);
    return w;
}

void rn_group_rec_offset_key(rn_buf_t *buf, const char *group_id, const char *topic,
                             int32_t partition) {
    rn_writer_t w = rec_writer(buf);
    rn_write_int16(&w, REC_OFFSET_KEY_V1);
    rn_write_string(&w, rn_str_from_cstr(group_id), false);
    rn_write_string(&w, rn_str_from_cstr(topic), false);
    rn_write_int32(&w, partition);
    RN_ASSERT(w.err == RN_OK);
}

void rn_group_rec_offset_value(rn_buf_t *buf, const rn_group_offset_t *value) {
    rn_writer_t w = rec_writer(buf);
    rn_write_int16(&w, REC_OFFSET_VALUE_V3);
    rn_write_int64(&w, value->offset);
    rn_write_int32(&w, value->leader_epoch);
    rn_write_string(&w, rn_str_from_cstr(value->metadata ? value->metadata : ""), false);
    rn_write_int64(&w, value->commit_timestamp_ms);
    RN_ASSERT(w.err == RN_OK);
}

void rn_group_rec_group_key(rn_buf_t *buf, const char *group_id) {
    rn_writer_t w = rec_writer(buf);
    rn_write_int16(&w, REC_GROUP_KEY_V2);
    rn_write_string(&w, rn_str_from_cstr(group_id), false);
    RN_ASSERT(w.err == RN_OK);
}

void rn_group_rec_group_value(rn_buf_t *buf, const rn_group_t *group) {
    rn_writer_t w = rec_writer(buf);
    rn_write_int16(&w, REC_GROUP_VALUE_V3);
    rn_write_string(&w, rn_str_from_cstr(rn_group_protocol_type(group)), false);
    rn_write_int32(&w, rn_group_generation(group));
    rn_write_string(&w, rn_str_from_cstr(rn_group_protocol_name(group)), false);
    rn_write_string(&w, rn_str_from_cstr(rn_group_leader(group)), false);
    rn_write_int64(&w, rn_group_state_timestamp(group));
    int32_t count = rn_group_member_count(group);
    rn_write_int32(&w, count);
    for (int32_t i = 0; i < count; i++) {
        const rn_group_member_t *member = rn_group_member_at(group, i);
        rn_write_string(&w, rn_str_from_cstr(rn_group_member_id(member)), false);
        rn_write_string(&w, rn_str_from_cstr(rn_group_member_instance_id(member)), false);
        rn_write_string(&w, rn_str_from_cstr(rn_group_member_client_id(member)), false);
        rn_write_string(&w, rn_str_from_cstr(rn_group_member_client_host(member)), false);
        rn_write_int32(&w, rn_group_member_rebalance_timeout(member));
        rn_write_int32(&w, rn_group_member_session_timeout(member));
        rn_write_bytes(&w, rn_group_member_metadata(group, member), false);
        rn_write_bytes(&w, rn_group_member_assignment(member), false);
    }
    RN_ASSERT(w.err == RN_OK);
}

/* ---- replay ---- */

static rn_err_t apply_offset(rn_group_coord_t *coord, rn_reader_t *key, rn_bytes_t value) {
    rn_str_t group_id = rn_read_string(key, false);
    rn_str_t topic = rn_read_string(key, false);
    int32_t partition = rn_read_int32(key);
    if (key->err != RN_OK || group_id.len < 0 || topic.len < 0) return RN_ERR_CORRUPT;
    if (value.len < 0) {
        rn_group_offset_remove(coord, group_id, topic, partition);
        return RN_OK;
    }
    rn_reader_t r;
    rn_reader_init(&r, value.ptr, (size_t)value.len);
    int16_t version = rn_read_int16(&r);
    rn_group_offset_t out = {.leader_epoch = -1, .expire_timestamp_ms = -1};
    out.offset = rn_read_int64(&r);
    if (version >= 3) out.leader_epoch = rn_read_int32(&r);
    rn_str_t metadata = version >= 4 ? rn_read_string(&r, true) : rn_read_string(&r, false);
    out.commit_timestamp_ms = rn_read_int64(&r);
    if (version == 1) out.expire_timestamp_ms = rn_read_int64(&r);
    if (r.err != RN_OK || version < 0 || version > 4) return RN_ERR_CORRUPT;
    char meta[RN_GROUP_OFFSET_METADATA_BYTES_MAX + 1];
    size_t len = metadata.len > 0 ? (size_t)metadata.len : 0;
    if (len > RN_GROUP_OFFSET_METADATA_BYTES_MAX) len = RN_GROUP_OFFSET_METADATA_BYTES_MAX;
    if (len) memcpy(meta, metadata.ptr, len);
    meta[len] = '\0';
    out.metadata = meta;
    rn_err_t err = rn_group_offset_put(coord, group_id, topic, partition, &out);
    return err == RN_ERR_LIMIT ? RN_OK : err; /* past a limit: dropped, as at commit */
}

static void read_member(rn_reader_t *r, int16_t version, rn_group_loaded_member_t *m) {
    bool flex = version >= 4;
    m->member_id = rn_read_string(r, flex);
    m->instance_id = version >= 3 ? rn_read_string(r, flex) : rn_str_null();
    m->client_id = rn_read_string(r, flex);
    m->client_host = rn_read_string(r, flex);
    m->rebalance_timeout_ms = -1;
    m->session_timeout_ms = -1;
    if (version >= 1) m->rebalance_timeout_ms = rn_read_int32(r);
    m->session_timeout_ms = rn_read_int32(r);
    if (version == 0) m->rebalance_timeout_ms = m->session_timeout_ms;
    m->subscription = rn_read_bytes(r, flex);
    m->assignment = rn_read_bytes(r, flex);
    if (flex) rn_read_tagged_skip(r);
}

static rn_err_t apply_group(rn_group_coord_t *coord, rn_reader_t *key, rn_bytes_t value,
                            int64_t now_ms) {
    rn_group_loaded_t loaded = {.group_id = rn_read_string(key, false)};
    if (key->err != RN_OK || loaded.group_id.len < 0) return RN_ERR_CORRUPT;
    if (value.len < 0) {
        rn_group_load_tombstone(coord, loaded.group_id);
        return RN_OK;
    }
    rn_reader_t r;
    rn_reader_init(&r, value.ptr, (size_t)value.len);
    int16_t version = rn_read_int16(&r);
    bool flex = version >= 4;
    loaded.protocol_type = rn_read_string(&r, flex);
    loaded.generation = rn_read_int32(&r);
    loaded.protocol_name = rn_read_string(&r, flex);
    loaded.leader_id = rn_read_string(&r, flex);
    loaded.state_timestamp_ms = version >= 2 ? rn_read_int64(&r) : -1;
    int32_t count = rn_read_array_count(&r, flex);
    if (r.err != RN_OK || version < 0 || version > 4) return RN_ERR_CORRUPT;
    if (count < 0) count = 0;
    if (count > RN_GROUP_MEMBERS_MAX) return RN_ERR_CORRUPT;
    rn_group_loaded_member_t *members = calloc((size_t)count + 1, sizeof *members);
    RN_ASSERT(members != NULL);
    for (int32_t i = 0; i < count && r.err == RN_OK; i++) read_member(&r, version, &members[i]);
    loaded.members = members;
    loaded.member_count = count;
    rn_err_t err = r.err == RN_OK ? rn_group_load(coord, &loaded, now_ms) : RN_ERR_CORRUPT;
    free(members);
    return err == RN_ERR_LIMIT ? RN_OK : err;
}

rn_err_t rn_group_rec_apply(rn_group_coord_t *coord, rn_bytes_t key, rn_bytes_t value,
                            int64_t now_ms) {
    if (key.len <= 0) return RN_ERR_CORRUPT;
    rn_reader_t r;
    rn_reader_init(&r, key.ptr, (size_t)key.len);
    int16_t version = rn_read_int16(&r);
    if (r.err != RN_OK) return RN_ERR_CORRUPT;
    if (version == REC_OFFSET_KEY_V0 || version == REC_OFFSET_KEY_V1)
        return apply_offset(coord, &r, value);
    if (version == REC_GROUP_KEY_V2) return apply_group(coord, &r, value, now_ms);
    return RN_OK; /* newer record types (KIP-848 and later): not ours */
}

/* One record of a batch: the layout in proto/batch.h. */
static rn_err_t record_next(rn_reader_t *r, rn_bytes_t *key, rn_bytes_t *value) {
    int32_t len = rn_read_varint(r);
    if (r->err != RN_OK || len < 0 || (size_t)len > rn_reader_left(r)) return RN_ERR_CORRUPT;
    rn_reader_t rec;
    rn_reader_init(&rec, r->ptr + r->pos, (size_t)len);
    rn_read_skip(r, (size_t)len);
    (void)rn_read_int8(&rec);
    (void)rn_read_varlong(&rec);
    (void)rn_read_varint(&rec);
    int32_t key_len = rn_read_varint(&rec);
    key->ptr = rec.ptr + rec.pos;
    key->len = key_len;
    if (key_len > 0) rn_read_skip(&rec, (size_t)key_len);
    int32_t value_len = rn_read_varint(&rec);
    value->ptr = rec.ptr + rec.pos;
    value->len = value_len;
    if (value_len > 0) rn_read_skip(&rec, (size_t)value_len);
    if (rec.err != RN_OK || key_len < -1 || value_len < -1) return RN_ERR_CORRUPT;
    return RN_OK;
}

rn_err_t rn_group_batch_each(const uint8_t *p, size_t len, rn_group_record_fn fn, void *ctx) {
    if (len < RN_BATCH_HEADER_BYTES) return RN_ERR_CORRUPT;
    rn_batch_header_t hdr;
    rn_batch_header_parse(p, &hdr);
    if (rn_batch_size(&hdr) > len || hdr.records_count < 0) return RN_ERR_CORRUPT;
    if (rn_batch_is_control(&hdr) || rn_batch_compression(&hdr) != RN_BATCH_COMPRESSION_NONE)
        return RN_OK; /* never written here: transaction markers, compressed imports */
    rn_reader_t r;
    rn_reader_init(&r, p + RN_BATCH_HEADER_BYTES, rn_batch_size(&hdr) - RN_BATCH_HEADER_BYTES);
    for (int32_t i = 0; i < hdr.records_count; i++) {
        rn_bytes_t key, value;
        rn_err_t err = record_next(&r, &key, &value);
        if (err == RN_OK) err = fn(ctx, key, value);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}
