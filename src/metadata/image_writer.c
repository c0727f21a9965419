/*
 * image_writer.c: writing an image as the records that rebuild it, and
 * comparing images.
 *
 * The writer fills one batch at a time: a record that would take the batch
 * past its limits is taken back out, the full batch goes to the callback,
 * and the record starts the next batch. The order of records is the order a
 * replay needs: brokers, then each topic before its partitions and configs.
 */
#include "metadata/image_writer.h"

#include "base/assert.h"
#include "metadata/topic_config.h"

#include <string.h>

typedef struct writer {
    const rn_image_write_limits_t *limits;
    rn_image_batch_fn fn;
    void *ctx;
    rn_md_batch_t batch;
} writer_t;

static rn_err_t flush(writer_t *w) {
    if (w->batch.count == 0) return RN_OK;
    rn_err_t err = w->fn(w->ctx, &w->batch);
    rn_md_batch_reset(&w->batch);
    return err;
}

/* Adds a record, flushing first when the batch is full. */
static rn_err_t emit(writer_t *w, const rn_md_record_t *rec) {
    if (w->batch.count >= w->limits->records_max) {
        rn_err_t err = flush(w);
        if (err != RN_OK) return err;
    }
    size_t len = w->batch.buf.len;
    rn_err_t err = rn_md_batch_add(&w->batch, rec);
    RN_ASSERT(err != RN_ERR_INVALID); /* the image only holds valid fields */
    if (err == RN_OK && w->batch.buf.len <= w->limits->bytes_max) return RN_OK;
    if (err == RN_OK) { /* over the byte limit: take it back out */
        w->batch.buf.len = len;
        w->batch.count--;
    }
    RN_ASSERT(w->batch.count > 0); /* a lone record always fits */
    err = flush(w);
    if (err != RN_OK) return err;
    err = rn_md_batch_add(&w->batch, rec);
    RN_ASSERT(err != RN_OK || w->batch.buf.len <= w->limits->bytes_max);
    return err;
}

static rn_str_t str_of(const char *text) { return rn_str_from_cstr(text); }

static rn_err_t write_broker(writer_t *w, const rn_image_broker_t *broker) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_REGISTER_BROKER;
    rn_md_register_broker_record_t *reg = &rec.u.register_broker;
    reg->broker_id = broker->id;
    reg->incarnation_id = broker->incarnation_id;
    reg->broker_epoch = broker->epoch;
    reg->endpoint_count = broker->endpoint_count;
    for (int16_t n = 0; n < broker->endpoint_count; n++) {
        const rn_image_endpoint_t *ep = &broker->endpoints[n];
        reg->endpoints[n] =
            (rn_md_endpoint_t){str_of(ep->name), str_of(ep->host), ep->port, ep->security_protocol};
    }
    reg->rack = broker->has_rack ? str_of(broker->rack) : rn_str_null();
    reg->fenced = broker->fenced;
    reg->in_controlled_shutdown = broker->in_controlled_shutdown;
    reg->directory_id = broker->directory_id;
    return emit(w, &rec);
}

static rn_err_t write_partition(writer_t *w, const rn_image_topic_t *topic, int32_t index) {
    const rn_image_partition_t *part = &topic->partitions[index];
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rn_md_partition_record_t *p = &rec.u.partition;
    p->topic_id = topic->id;
    p->partition = index;
    p->leader = part->leader;
    p->leader_epoch = part->leader_epoch;
    p->partition_epoch = part->partition_epoch;
    p->replica_count = part->replica_count;
    p->isr_count = part->isr_count;
    memcpy(p->replicas, part->replicas, (size_t)part->replica_count * sizeof(int32_t));
    memcpy(p->isr, part->isr, (size_t)part->isr_count * sizeof(int32_t));
    p->moving.removing_count =
        rn_image_partition_pick(part, part->removing_mask, p->moving.removing);
    p->moving.adding_count = rn_image_partition_pick(part, part->adding_mask, p->moving.adding);
    return emit(w, &rec);
}

static rn_err_t write_config(writer_t *w, int8_t type, const char *resource, const char *key,
                             const char *value) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_CONFIG;
    rec.u.config.resource_type = type;
    rec.u.config.resource_name = str_of(resource);
    rec.u.config.key = str_of(key);
    rec.u.config.value = str_of(value);
    return emit(w, &rec);
}

static rn_err_t write_topic(writer_t *w, const rn_image_topic_t *topic) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.topic_id = topic->id;
    rec.u.topic.name = (rn_str_t){topic->name, (int32_t)topic->name_len};
    rn_err_t err = emit(w, &rec);
    for (int32_t n = 0; err == RN_OK && n < topic->partition_count; n++)
        err = write_partition(w, topic, n);
    for (int k = 0; err == RN_OK && k < RN_TC__COUNT; k++) {
        if (!topic->overrides[k]) continue;
        err = write_config(w, RN_MD_RESOURCE_TOPIC, topic->name,
                           rn_topic_config_def((rn_tc_key_t)k)->name, topic->overrides[k]);
    }
    return err;
}

static rn_err_t write_all(writer_t *w, const rn_image_t *img) {
    rn_err_t err = RN_OK;
    for (int32_t n = 0; err == RN_OK && n < rn_image_broker_count(img); n++)
        err = write_broker(w, rn_image_broker_at(img, n));
    for (int32_t n = 0; err == RN_OK && n < rn_image_topic_count(img); n++)
        err = write_topic(w, rn_image_topic_at(img, n));
    for (int32_t n = 0; err == RN_OK && n < rn_image_broker_config_count(img); n++) {
        const rn_image_broker_config_t *bc = rn_image_broker_config_at(img, n);
        err = write_config(w, RN_MD_RESOURCE_BROKER, bc->resource, bc->key, bc->value);
    }
    if (err == RN_OK && rn_image_next_producer_id(img) > 0) {
        rn_md_record_t rec;
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_PRODUCER_IDS;
        rec.u.producer_ids.broker_id = -1; /* no requester: a snapshot */
        rec.u.producer_ids.next_producer_id = rn_image_next_producer_id(img);
        err = emit(w, &rec);
    }
    return err == RN_OK ? flush(w) : err;
}

rn_err_t rn_image_write(const rn_image_t *img, const rn_image_write_limits_t *limits,
                        rn_image_batch_fn fn, void *ctx) {
    RN_ASSERT(limits->records_max >= 1 && limits->records_max <= RN_MD_BATCH_RECORDS_MAX);
    RN_ASSERT(limits->bytes_max >= RN_MD_RECORD_BYTES_MAX + 4);
    writer_t w = {limits, fn, ctx, {{0}, 0}};
    rn_md_batch_init(&w.batch);
    rn_err_t err = write_all(&w, img);
    rn_md_batch_free(&w.batch);
    return err;
}

/* ---- equality ---- */

static bool brokers_equal(const rn_image_broker_t *a, const rn_image_broker_t *b) {
    if (a->id != b->id || !rn_uuid_eq(&a->incarnation_id, &b->incarnation_id) ||
        a->epoch != b->epoch || a->endpoint_count != b->endpoint_count ||
        a->has_rack != b->has_rack || a->fenced != b->fenced ||
        a->in_controlled_shutdown != b->in_controlled_shutdown)
        return false;
    if (a->has_rack && strcmp(a->rack, b->rack) != 0) return false;
    for (int16_t n = 0; n < a->endpoint_count; n++) {
        const rn_image_endpoint_t *x = &a->endpoints[n], *y = &b->endpoints[n];
        if (strcmp(x->name, y->name) != 0 || strcmp(x->host, y->host) != 0 || x->port != y->port ||
            x->security_protocol != y->security_protocol)
            return false;
    }
    return true;
}

static bool partitions_equal(const rn_image_partition_t *a, const rn_image_partition_t *b) {
    return a->leader == b->leader && a->leader_epoch == b->leader_epoch &&
           a->partition_epoch == b->partition_epoch && a->replica_count == b->replica_count &&
           a->isr_count == b->isr_count &&
           memcmp(a->replicas, b->replicas, (size_t)a->replica_count * sizeof(int32_t)) == 0 &&
           memcmp(a->isr, b->isr, (size_t)a->isr_count * sizeof(int32_t)) == 0 &&
           a->adding_mask == b->adding_mask && a->removing_mask == b->removing_mask;
}

static bool texts_equal(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static bool topics_equal(const rn_image_topic_t *a, const rn_image_topic_t *b) {
    if (strcmp(a->name, b->name) != 0 || !rn_uuid_eq(&a->id, &b->id) ||
        a->partition_count != b->partition_count || a->override_count != b->override_count)
        return false;
    for (int32_t n = 0; n < a->partition_count; n++) {
        if (!partitions_equal(&a->partitions[n], &b->partitions[n])) return false;
    }
    for (int k = 0; k < RN_TC__COUNT; k++) {
        if (!texts_equal(a->overrides[k], b->overrides[k])) return false;
    }
    return true;
}

/* Broker configs are kept in no particular order: compare as sets. */
static bool broker_config_in(const rn_image_t *img, const rn_image_broker_config_t *bc) {
    for (int32_t n = 0; n < rn_image_broker_config_count(img); n++) {
        const rn_image_broker_config_t *x = rn_image_broker_config_at(img, n);
        if (strcmp(x->resource, bc->resource) == 0 && strcmp(x->key, bc->key) == 0)
            return strcmp(x->value, bc->value) == 0;
    }
    return false;
}

bool rn_image_equal(const rn_image_t *a, const rn_image_t *b) {
    if (rn_image_broker_count(a) != rn_image_broker_count(b) ||
        rn_image_topic_count(a) != rn_image_topic_count(b) ||
        rn_image_partition_total(a) != rn_image_partition_total(b) ||
        rn_image_broker_config_count(a) != rn_image_broker_config_count(b) ||
        rn_image_next_producer_id(a) != rn_image_next_producer_id(b))
        return false;
    for (int32_t n = 0; n < rn_image_broker_count(a); n++) {
        if (!brokers_equal(rn_image_broker_at(a, n), rn_image_broker_at(b, n))) return false;
    }
    for (int32_t n = 0; n < rn_image_topic_count(a); n++) {
        if (!topics_equal(rn_image_topic_at(a, n), rn_image_topic_at(b, n))) return false;
    }
    for (int32_t n = 0; n < rn_image_broker_config_count(a); n++) {
        if (!broker_config_in(b, rn_image_broker_config_at(a, n))) return false;
    }
    return true;
}
