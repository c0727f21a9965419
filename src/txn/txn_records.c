/*
 * txn_records.c: __transaction_state keys and values (the layouts are drawn
 * in txn_records.h).
 */
#include "txn/txn_records.h"
#include "base/assert.h"
#include "base/limits.h"

#include <string.h>

enum { REC_KEY_V0 = 0, REC_VALUE_V0 = 0, REC_VALUE_V1 = 1, REC_TAG_PREV_PRODUCER_ID = 0 };

void rn_txn_rec_key(rn_buf_t *buf, const char *id) {
    rn_writer_t w;
    rn_writer_init(&w, buf);
    rn_write_int16(&w, REC_KEY_V0);
    rn_write_string(&w, rn_str_from_cstr(id), false);
    RN_ASSERT(w.err == RN_OK);
}

/* Whether parts[i]'s topic came earlier (its partitions were written). */
static bool topic_seen(const rn_txn_meta_t *meta, int32_t i) {
    for (int32_t j = 0; j < i; j++)
        if (!strcmp(meta->parts[j].topic, meta->parts[i].topic)) return true;
    return false;
}

/* Kafka's PartitionsSchema: the partitions grouped by topic. */
static void write_partitions(rn_writer_t *w, const rn_txn_meta_t *meta) {
    if (meta->state == RN_TXN_EMPTY) {
        rn_write_int32(w, -1);
        return;
    }
    int32_t topics = 0;
    for (int32_t i = 0; i < meta->part_count; i++) topics += !topic_seen(meta, i);
    rn_write_int32(w, topics);
    for (int32_t i = 0; i < meta->part_count; i++) {
        if (topic_seen(meta, i)) continue;
        const char *topic = meta->parts[i].topic;
        int32_t count = 0;
        for (int32_t j = i; j < meta->part_count; j++)
            count += !strcmp(meta->parts[j].topic, topic);
        rn_write_string(w, rn_str_from_cstr(topic), false);
        rn_write_int32(w, count);
        for (int32_t j = i; j < meta->part_count; j++)
            if (!strcmp(meta->parts[j].topic, topic)) rn_write_int32(w, meta->parts[j].partition);
    }
}

void rn_txn_rec_value(rn_buf_t *buf, const rn_txn_meta_t *meta) {
    RN_ASSERT(meta->state <= RN_TXN_DEAD);
    rn_writer_t w;
    rn_writer_init(&w, buf);
    rn_write_int16(&w, REC_VALUE_V0);
    rn_write_int64(&w, meta->producer_id);
    rn_write_int16(&w, meta->producer_epoch);
    rn_write_int32(&w, meta->timeout_ms);
    rn_write_int8(&w, (int8_t)meta->state);
    write_partitions(&w, meta);
    rn_write_int64(&w, meta->update_ms);
    rn_write_int64(&w, meta->start_ms);
    RN_ASSERT(w.err == RN_OK);
}

rn_err_t rn_txn_rec_parse_key(rn_bytes_t key, rn_str_t *id) {
    rn_reader_t r;
    rn_reader_init(&r, key.ptr, key.len > 0 ? (size_t)key.len : 0);
    int16_t version = rn_read_int16(&r);
    if (r.err == RN_OK && version != REC_KEY_V0) return RN_ERR_NOT_FOUND;
    *id = rn_read_string(&r, false);
    if (r.err != RN_OK || id->len <= 0) return RN_ERR_CORRUPT;
    return RN_OK;
}

static void read_partitions(rn_reader_t *r, bool flexible, rn_txn_meta_t *meta) {
    int32_t topics = rn_read_array_count(r, flexible);
    for (int32_t t = 0; t < topics && r->err == RN_OK; t++) {
        rn_str_t topic = rn_read_string(r, flexible);
        int32_t count = rn_read_array_count(r, flexible);
        if (topic.len < 0) rn_reader_fail(r, RN_ERR_CORRUPT);
        for (int32_t i = 0; i < count && r->err == RN_OK; i++) {
            int32_t partition = rn_read_int32(r);
            if (r->err == RN_OK && meta->part_count >= RN_TXN_PARTITIONS_MAX)
                rn_reader_fail(r, RN_ERR_CORRUPT);
            if (r->err == RN_OK) rn_txn_meta_add(meta, topic, partition);
        }
        if (flexible) rn_read_tagged_skip(r);
    }
}

/* v1's tagged fields: the previous producer id; others are skipped. */
static void read_value_tags(rn_reader_t *r, rn_txn_meta_t *meta) {
    uint32_t count = rn_read_tagged_count(r);
    for (uint32_t i = 0; i < count && r->err == RN_OK; i++) {
        uint32_t tag;
        rn_reader_t sub;
        if (!rn_read_tagged_field(r, &tag, &sub)) return;
        if (tag == REC_TAG_PREV_PRODUCER_ID) {
            meta->prev_producer_id = rn_read_int64(&sub);
            rn_reader_join(r, &sub);
        }
    }
}

rn_err_t rn_txn_rec_parse_value(rn_bytes_t value, rn_txn_meta_t *meta) {
    rn_reader_t r;
    rn_reader_init(&r, value.ptr, value.len > 0 ? (size_t)value.len : 0);
    int16_t version = rn_read_int16(&r);
    if (r.err == RN_OK && version != REC_VALUE_V0 && version != REC_VALUE_V1) return RN_ERR_CORRUPT;
    bool flexible = version == REC_VALUE_V1;
    meta->producer_id = rn_read_int64(&r);
    meta->producer_epoch = rn_read_int16(&r);
    meta->timeout_ms = rn_read_int32(&r);
    int8_t state = rn_read_int8(&r);
    read_partitions(&r, flexible, meta);
    meta->update_ms = rn_read_int64(&r);
    meta->start_ms = rn_read_int64(&r);
    if (flexible) read_value_tags(&r, meta);
    if (r.err == RN_OK && (state < RN_TXN_EMPTY || state > RN_TXN_DEAD)) return RN_ERR_CORRUPT;
    meta->state = (rn_txn_state_t)state;
    return r.err == RN_OK ? RN_OK : RN_ERR_CORRUPT;
}
