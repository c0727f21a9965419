/*
 * test_md_brokers.c: broker metadata records and the image's brokers:
 * encode and decode of the broker and partition-change records, every
 * truncation and every malformed field refused, and the image's apply rules
 * (registration replaces, fence/unfence/change/unregister need the
 * registered epoch, partition changes bump epochs as Kafka and keep the
 * leader in the ISR); the snapshot writer's round trip on seeded random
 * images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/endian.h"
#include "base/log.h"
#include "metadata/image.h"
#include "metadata/image_writer.h"
#include "metadata/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rn_topic_config_base_t base;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static rn_md_record_t register_rec(int32_t id, int64_t epoch, const char *rack) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_REGISTER_BROKER;
    rn_md_register_broker_record_t *reg = &rec.u.register_broker;
    reg->broker_id = id;
    reg->incarnation_id.bytes[0] = (uint8_t)(id + 1);
    reg->broker_epoch = epoch;
    reg->endpoint_count = 2;
    reg->endpoints[0] = (rn_md_endpoint_t){S("PLAINTEXT"), S("broker.example"), 9092, 0};
    reg->endpoints[1] = (rn_md_endpoint_t){S("SASL_SSL"), S("10.0.0.1"), 9093, 3};
    reg->rack = rack ? S(rack) : rn_str_null();
    reg->fenced = true;
    return rec;
}

static rn_md_record_t epoch_rec(rn_md_type_t type, int32_t id, int64_t epoch) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = type;
    rec.u.broker_epoch.broker_id = id;
    rec.u.broker_epoch.broker_epoch = epoch;
    return rec;
}

static rn_md_record_t change_rec(int32_t id, int64_t epoch, int8_t fenced, int8_t shutdown) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_BROKER_CHANGE;
    rec.u.broker_change = (rn_md_broker_change_record_t){id, epoch, fenced, shutdown};
    return rec;
}

/* The bytes of the n-th record of a batch. */
static const uint8_t *record_at(const rn_md_batch_t *batch, uint32_t index, uint32_t *size) {
    *size = 0;
    size_t pos = 0;
    for (uint32_t n = 0;; n++) {
        *size = rn_be32_get(batch->buf.ptr + pos);
        if (n == index) return batch->buf.ptr + pos + 4;
        pos += 4 + *size;
    }
}

static rn_err_t decode_at(const rn_md_batch_t *batch, uint32_t index, rn_md_record_t *dec) {
    uint32_t size = 0;
    const uint8_t *bytes = record_at(batch, index, &size);
    return rn_md_record_decode(bytes, size, dec);
}

/* Copies the first record of a batch into bytes; returns its size. */
static uint32_t copy_at(const rn_md_batch_t *batch, uint8_t *bytes) {
    uint32_t size = 0;
    const uint8_t *at = record_at(batch, 0, &size);
    memcpy(bytes, at, size);
    return size;
}

static void assert_str(rn_str_t got, rn_str_t want) {
    assert_int_equal(got.len, want.len);
    if (want.len > 0) assert_memory_equal(got.ptr, want.ptr, (size_t)want.len);
}

static void test_broker_records_round_trip(void **state) {
    (void)state;
    rn_md_record_t recs[7];
    recs[0] = register_rec(3, 77, "rack-a");
    recs[0].u.register_broker.directory_id.bytes[15] = 0x5a;
    recs[1] = register_rec(4, 78, NULL);
    recs[2] = epoch_rec(RN_MD_FENCE_BROKER, 3, 77);
    recs[3] = epoch_rec(RN_MD_UNFENCE_BROKER, 3, 77);
    recs[4] = epoch_rec(RN_MD_UNREGISTER_BROKER, 4, 78);
    recs[5] = change_rec(3, 77, RN_MD_FLAG_NO_CHANGE, 1);
    memset(&recs[6], 0, sizeof(recs[6]));
    recs[6].type = RN_MD_PARTITION_CHANGE;
    rn_md_partition_change_record_t *pc = &recs[6].u.partition_change;
    pc->topic_id.bytes[5] = 1;
    pc->partition = 4;
    pc->leader = RN_MD_LEADER_NO_CHANGE;
    pc->isr_count = 2;
    pc->isr[0] = 3;
    pc->isr[1] = 9;
    pc->replica_count = RN_MD_LIST_NO_CHANGE;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    for (int n = 0; n < 7; n++) assert_int_equal(rn_md_batch_add(&batch, &recs[n]), RN_OK);
    for (uint32_t n = 0; n < 7; n++) {
        uint32_t size = 0;
        const uint8_t *bytes = record_at(&batch, n, &size);
        rn_md_record_t dec;
        assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_OK);
        assert_int_equal(dec.type, recs[n].type);
        /* every truncation is an error, never a crash */
        for (uint32_t cut = 0; cut < size; cut++) {
            rn_md_record_t part;
            assert_int_not_equal(rn_md_record_decode(bytes, cut, &part), RN_OK);
        }
    }
    rn_md_record_t dec;
    assert_int_equal(decode_at(&batch, 0, &dec), RN_OK);
    const rn_md_register_broker_record_t *reg = &dec.u.register_broker;
    assert_int_equal(reg->broker_id, 3);
    assert_int_equal(reg->broker_epoch, 77);
    assert_true(rn_uuid_eq(&reg->incarnation_id, &recs[0].u.register_broker.incarnation_id));
    assert_int_equal(reg->endpoint_count, 2);
    assert_str(reg->endpoints[1].host, S("10.0.0.1"));
    assert_int_equal(reg->endpoints[1].port, 9093);
    assert_int_equal(reg->endpoints[1].security_protocol, 3);
    assert_str(reg->rack, S("rack-a"));
    assert_true(reg->fenced);
    assert_false(reg->in_controlled_shutdown);
    assert_true(rn_uuid_eq(&reg->directory_id, &recs[0].u.register_broker.directory_id));
    /* version 0 (before directory ids) still reads, with no folder known;
       an unknown version is refused */
    uint8_t old[RN_MD_RECORD_BYTES_MAX];
    uint32_t old_size = copy_at(&batch, old);
    assert_int_equal(old[1], 1);
    old[1] = 0;
    assert_int_equal(rn_md_record_decode(old, old_size - 16, &dec), RN_OK);
    static const rn_uuid_t none;
    assert_true(rn_uuid_eq(&dec.u.register_broker.directory_id, &none));
    assert_int_equal(dec.u.register_broker.broker_epoch, 77);
    assert_int_not_equal(rn_md_record_decode(old, old_size, &dec), RN_OK); /* 16 bytes left over */
    old[1] = 2;
    assert_int_equal(rn_md_record_decode(old, old_size, &dec), RN_ERR_INVALID);
    assert_int_equal(decode_at(&batch, 1, &dec), RN_OK);
    assert_int_equal(dec.u.register_broker.rack.len, -1);
    assert_int_equal(decode_at(&batch, 5, &dec), RN_OK);
    assert_int_equal(dec.u.broker_change.fenced, RN_MD_FLAG_NO_CHANGE);
    assert_int_equal(dec.u.broker_change.in_controlled_shutdown, 1);
    assert_int_equal(decode_at(&batch, 6, &dec), RN_OK);
    assert_int_equal(dec.u.partition_change.leader, RN_MD_LEADER_NO_CHANGE);
    assert_int_equal(dec.u.partition_change.isr_count, 2);
    assert_int_equal(dec.u.partition_change.isr[1], 9);
    assert_int_equal(dec.u.partition_change.replica_count, RN_MD_LIST_NO_CHANGE);
    rn_md_batch_free(&batch);
}

/* Out-of-range fields are refused when encoding, and when decoding bytes
   that carry them. */
static void test_broker_records_malformed(void **state) {
    (void)state;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_md_record_t rec = register_rec(1, 1, NULL);
    rec.u.register_broker.endpoint_count = RN_BROKER_ENDPOINTS_MAX + 1;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec = register_rec(1, 1, NULL);
    rec.u.register_broker.endpoints[0].security_protocol = 4;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec = register_rec(-1, 1, NULL);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    char rack[RN_BROKER_RACK_BYTES_MAX + 2];
    memset(rack, 'r', sizeof(rack) - 1);
    rack[sizeof(rack) - 1] = '\0';
    rec = register_rec(1, 1, rack);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec = change_rec(1, 1, 2, 0);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec = change_rec(1, 1, 0, -2);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    assert_int_equal(batch.count, 0);

    /* Now corrupt valid encodings byte by byte at the checked fields. */
    rec = register_rec(1, 1, NULL);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    uint32_t size = 0;
    uint8_t bytes[512];
    size = copy_at(&batch, bytes);
    rn_md_record_t dec;
    bytes[size - 17] = 2; /* in_controlled_shutdown (before the directory id) not a bool */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_CORRUPT);
    size = copy_at(&batch, bytes);
    bytes[2 + 4 + 16 + 8] = 0x7f; /* endpoint count far over the limit */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_CORRUPT);
    size = copy_at(&batch, bytes);
    bytes[2] = 0x80; /* negative broker id */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_CORRUPT);
    size = copy_at(&batch, bytes);
    bytes[1] = 2; /* unknown version */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_INVALID);
    bytes[1] = 1;
    bytes[0] = 6; /* a type this node does not know */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_INVALID);
    /* a trailing byte */
    size = copy_at(&batch, bytes);
    bytes[size] = 0;
    assert_int_equal(rn_md_record_decode(bytes, size + 1, &dec), RN_ERR_CORRUPT);

    rn_md_batch_reset(&batch);
    rec = change_rec(1, 1, 0, 1);
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    size = copy_at(&batch, bytes);
    bytes[size - 2] = (uint8_t)-2; /* fenced tri-state out of range */
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_CORRUPT);

    rn_md_batch_reset(&batch);
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.leader = -3;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec.u.partition_change.leader = 1;
    rec.u.partition_change.isr_count = -2;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec.u.partition_change.isr_count = RN_REPLICAS_MAX + 1;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_ERR_INVALID);
    rec.u.partition_change.isr_count = 0;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    size = copy_at(&batch, bytes);
    bytes[2 + 16 + 4 + 4] = 0xff; /* isr count -2 (0xfffe) */
    bytes[2 + 16 + 4 + 4 + 1] = 0xfe;
    assert_int_equal(rn_md_record_decode(bytes, size, &dec), RN_ERR_CORRUPT);
    rn_md_batch_free(&batch);
}

/* ---- the image ---- */

typedef struct img_fx {
    rn_image_t *img;
} img_fx_t;

/* Applies one record on top of fx->img; the new image replaces it on
   success. */
static rn_err_t apply(img_fx_t *fx, const rn_md_record_t *rec) {
    rn_image_builder_t b;
    assert_int_equal(rn_image_builder_init(&b, fx->img), RN_OK);
    rn_err_t err = rn_image_builder_apply(&b, rn_image_next_offset(fx->img), rec);
    if (err != RN_OK) {
        rn_image_builder_abort(&b);
        return err;
    }
    rn_image_t *next = rn_image_builder_finish(&b);
    assert_non_null(next);
    rn_image_release(fx->img);
    fx->img = next;
    return RN_OK;
}

static int img_setup(void **state) {
    img_fx_t *fx = calloc(1, sizeof(*fx));
    fx->img = rn_image_empty(&base);
    *state = fx;
    return 0;
}

static int img_teardown(void **state) {
    img_fx_t *fx = *state;
    rn_image_release(fx->img);
    free(fx);
    return 0;
}

static void test_image_broker_rules(void **state) {
    img_fx_t *fx = *state;
    assert_int_equal(rn_image_broker_count(fx->img), 0);
    rn_md_record_t rec = register_rec(5, 10, "r1");
    assert_int_equal(apply(fx, &rec), RN_OK);
    rec = register_rec(2, 11, NULL);
    assert_int_equal(apply(fx, &rec), RN_OK);
    rec = register_rec(9, 12, "r2");
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(rn_image_broker_count(fx->img), 3);
    assert_int_equal(rn_image_broker_at(fx->img, 0)->id, 2);
    assert_int_equal(rn_image_broker_at(fx->img, 1)->id, 5);
    assert_int_equal(rn_image_broker_at(fx->img, 2)->id, 9);
    const rn_image_broker_t *b5 = rn_image_broker(fx->img, 5);
    assert_non_null(b5);
    assert_int_equal(b5->epoch, 10);
    assert_true(b5->has_rack);
    assert_string_equal(b5->rack, "r1");
    assert_string_equal(b5->endpoints[0].host, "broker.example");
    assert_int_equal(b5->endpoints[1].port, 9093);
    assert_true(b5->fenced);
    assert_false(rn_image_broker_usable(b5));
    assert_false(rn_image_broker(fx->img, 2)->has_rack);
    assert_null(rn_image_broker(fx->img, 3));

    /* wrong epoch or unknown broker: a correct controller never writes it */
    rec = epoch_rec(RN_MD_UNFENCE_BROKER, 5, 11);
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = epoch_rec(RN_MD_UNFENCE_BROKER, 3, 10);
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = epoch_rec(RN_MD_FENCE_BROKER, 5, 9);
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = change_rec(5, 12, 0, RN_MD_FLAG_NO_CHANGE);
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = epoch_rec(RN_MD_UNREGISTER_BROKER, 4, 10);
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);

    rec = epoch_rec(RN_MD_UNFENCE_BROKER, 5, 10);
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_true(rn_image_broker_usable(rn_image_broker(fx->img, 5)));
    rec = change_rec(5, 10, RN_MD_FLAG_NO_CHANGE, 1);
    assert_int_equal(apply(fx, &rec), RN_OK);
    b5 = rn_image_broker(fx->img, 5);
    assert_false(b5->fenced);
    assert_true(b5->in_controlled_shutdown);
    assert_false(rn_image_broker_usable(b5));
    rec = change_rec(5, 10, 1, 0);
    assert_int_equal(apply(fx, &rec), RN_OK);
    b5 = rn_image_broker(fx->img, 5);
    assert_true(b5->fenced);
    assert_false(b5->in_controlled_shutdown);

    /* a new registration replaces the old one, with its epoch */
    rec = register_rec(5, 40, NULL);
    rec.u.register_broker.fenced = false;
    rec.u.register_broker.incarnation_id.bytes[1] = 1;
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(rn_image_broker_count(fx->img), 3);
    b5 = rn_image_broker(fx->img, 5);
    assert_int_equal(b5->epoch, 40);
    assert_false(b5->has_rack);
    assert_false(b5->fenced);
    assert_int_equal(b5->incarnation_id.bytes[1], 1);
    rec = epoch_rec(RN_MD_FENCE_BROKER, 5, 10); /* the old epoch no longer counts */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);

    rec = epoch_rec(RN_MD_UNREGISTER_BROKER, 2, 11);
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(rn_image_broker_count(fx->img), 2);
    assert_null(rn_image_broker(fx->img, 2));
    assert_int_equal(rn_image_broker_at(fx->img, 0)->id, 5);
}

/* An image's brokers never change under a reader: a later image changing
   them leaves the earlier one as it was. */
static void test_image_brokers_shared(void **state) {
    img_fx_t *fx = *state;
    rn_md_record_t rec = register_rec(1, 1, NULL);
    assert_int_equal(apply(fx, &rec), RN_OK);
    rn_image_t *before = fx->img;
    rn_image_retain(before);
    const rn_image_broker_t *b1 = rn_image_broker(before, 1);
    rec = epoch_rec(RN_MD_UNFENCE_BROKER, 1, 1);
    assert_int_equal(apply(fx, &rec), RN_OK);
    for (int32_t id = 2; id < RN_BROKERS_MAX + 1; id++) {
        rec = register_rec(id, id, NULL);
        assert_int_equal(apply(fx, &rec), RN_OK);
    }
    assert_int_equal(rn_image_broker_count(fx->img), RN_BROKERS_MAX);
    rec = register_rec(RN_BROKERS_MAX + 1, 1, NULL);
    assert_int_equal(apply(fx, &rec), RN_ERR_LIMIT);
    assert_true(rn_image_broker(before, 1) == b1);
    assert_true(b1->fenced);
    assert_int_equal(rn_image_broker_count(before), 1);
    assert_false(rn_image_broker(fx->img, 1)->fenced);
    rn_image_release(before);
}

static const rn_uuid_t topic_id = {{0x40, 1, 2, 3}};

/* A topic "t" with one partition on replicas 1, 2, 3, leader 1. */
static void add_topic(img_fx_t *fx) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.topic_id = topic_id;
    rec.u.topic.name = S("t");
    assert_int_equal(apply(fx, &rec), RN_OK);
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rec.u.partition.topic_id = topic_id;
    rec.u.partition.leader = 1;
    rec.u.partition.replica_count = rec.u.partition.isr_count = 3;
    for (int n = 0; n < 3; n++) rec.u.partition.replicas[n] = rec.u.partition.isr[n] = n + 1;
    assert_int_equal(apply(fx, &rec), RN_OK);
}

static rn_md_record_t pchange(int32_t leader, int16_t isr_count, const int32_t *isr) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = topic_id;
    rec.u.partition_change.leader = leader;
    rec.u.partition_change.isr_count = isr_count;
    if (isr_count > 0) memcpy(rec.u.partition_change.isr, isr, (size_t)isr_count * 4);
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    return rec;
}

static const rn_image_partition_t *part0(img_fx_t *fx) {
    return &rn_image_topic(fx->img, "t", 1)->partitions[0];
}

static void test_image_partition_change(void **state) {
    img_fx_t *fx = *state;
    add_topic(fx);
    const int32_t isr23[] = {2, 3}, isr3[] = {3}, isr14[] = {1, 4};
    /* ISR shrink, same leader: partition epoch only */
    rn_md_record_t rec = pchange(RN_MD_LEADER_NO_CHANGE, 2, (const int32_t[]){1, 2});
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(part0(fx)->leader, 1);
    assert_int_equal(part0(fx)->leader_epoch, 0);
    assert_int_equal(part0(fx)->partition_epoch, 1);
    assert_int_equal(part0(fx)->isr_count, 2);
    /* leader change: both epochs */
    rec = pchange(2, 2, isr23);
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(part0(fx)->leader, 2);
    assert_int_equal(part0(fx)->leader_epoch, 1);
    assert_int_equal(part0(fx)->partition_epoch, 2);
    /* no leader */
    rec = pchange(-1, RN_MD_LIST_NO_CHANGE, NULL);
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(part0(fx)->leader, -1);
    assert_int_equal(part0(fx)->leader_epoch, 2);
    assert_int_equal(part0(fx)->isr_count, 2);
    /* broken invariants are CORRUPT and change nothing */
    rec = pchange(1, RN_MD_LIST_NO_CHANGE, NULL); /* leader outside the ISR */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = pchange(3, 1, isr3);
    assert_int_equal(apply(fx, &rec), RN_OK);
    rec = pchange(RN_MD_LEADER_NO_CHANGE, 2, isr14); /* 4 is no replica */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = pchange(RN_MD_LEADER_NO_CHANGE, 2, (const int32_t[]){3, 3});
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = pchange(RN_MD_LEADER_NO_CHANGE, 0, NULL); /* leader left out */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec = pchange(RN_MD_LEADER_NO_CHANGE, RN_MD_LIST_NO_CHANGE, NULL);
    rec.u.partition_change.partition = 1; /* no such partition */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    rec.u.partition_change.partition = 0;
    rec.u.partition_change.topic_id.bytes[9] = 1; /* no such topic */
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
    /* replicas change: ISR must stay inside */
    rec = pchange(RN_MD_LEADER_NO_CHANGE, RN_MD_LIST_NO_CHANGE, NULL);
    rec.u.partition_change.replica_count = 2;
    rec.u.partition_change.replicas[0] = 3;
    rec.u.partition_change.replicas[1] = 4;
    assert_int_equal(apply(fx, &rec), RN_OK);
    assert_int_equal(part0(fx)->replica_count, 2);
    assert_int_equal(part0(fx)->replicas[1], 4);
    assert_int_equal(part0(fx)->leader, 3);
    assert_int_equal(part0(fx)->leader_epoch, 3);
    assert_int_equal(part0(fx)->partition_epoch, 5);
    rec.u.partition_change.replica_count = 0;
    assert_int_equal(apply(fx, &rec), RN_ERR_CORRUPT);
}

/* ---- snapshot writer ---- */

static uint64_t rng_next(uint64_t *rng) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return *rng;
}

static int32_t rng_below(uint64_t *rng, int32_t n) {
    return (int32_t)(rng_next(rng) % (uint64_t)n);
}

/* A random record that applies to fx->img (or is refused, and skipped). */
static void random_broker_step(img_fx_t *fx, uint64_t *rng) {
    static const char *racks[] = {NULL, "r1", "r2", "r3"};
    int32_t id = rng_below(rng, 12);
    const rn_image_broker_t *broker = rn_image_broker(fx->img, id);
    rn_md_record_t rec;
    int kind = rng_below(rng, 5);
    if (!broker || kind == 0) {
        rec = register_rec(id, (int64_t)rn_image_next_offset(fx->img), racks[rng_below(rng, 4)]);
        rec.u.register_broker.endpoint_count = (int16_t)rng_below(rng, RN_BROKER_ENDPOINTS_MAX + 1);
        rec.u.register_broker.fenced = rng_below(rng, 2);
    } else if (kind == 1) {
        rec = epoch_rec(RN_MD_UNREGISTER_BROKER, id, broker->epoch);
    } else if (kind == 2) {
        rec = epoch_rec(broker->fenced ? RN_MD_UNFENCE_BROKER : RN_MD_FENCE_BROKER, id,
                        broker->epoch);
    } else {
        rec = change_rec(id, broker->epoch, (int8_t)(rng_below(rng, 3) - 1),
                         (int8_t)(rng_below(rng, 3) - 1));
    }
    assert_int_equal(apply(fx, &rec), RN_OK);
}

static void random_topic(img_fx_t *fx, uint64_t *rng) {
    char name[32];
    snprintf(name, sizeof(name), "topic-%d", rng_below(rng, 1000));
    if (rn_image_topic(fx->img, name, strlen(name))) return;
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.name = S(name);
    for (int n = 0; n < 16; n++) rec.u.topic.topic_id.bytes[n] = (uint8_t)rng_next(rng);
    rn_uuid_t id = rec.u.topic.topic_id;
    assert_int_equal(apply(fx, &rec), RN_OK);
    int32_t parts = 1 + rng_below(rng, 6);
    for (int32_t p = 0; p < parts; p++) {
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_PARTITION;
        rec.u.partition.topic_id = id;
        rec.u.partition.partition = p;
        int16_t rf = (int16_t)(1 + rng_below(rng, 3));
        rec.u.partition.replica_count = rec.u.partition.isr_count = rf;
        for (int16_t r = 0; r < rf; r++)
            rec.u.partition.replicas[r] = rec.u.partition.isr[r] = p + r;
        rec.u.partition.leader = p;
        rec.u.partition.leader_epoch = rng_below(rng, 5);
        assert_int_equal(apply(fx, &rec), RN_OK);
        if (rf > 1 && rng_below(rng, 2)) { /* shrink the ISR to the last replica */
            rec = pchange(p + rf - 1, 1, (const int32_t[]){p + rf - 1});
            rec.u.partition_change.topic_id = id;
            rec.u.partition_change.partition = p;
            assert_int_equal(apply(fx, &rec), RN_OK);
        }
    }
    if (rng_below(rng, 2)) {
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_CONFIG;
        rec.u.config.resource_type = RN_MD_RESOURCE_TOPIC;
        rec.u.config.resource_name = S(name);
        rec.u.config.key = S("retention.ms");
        rec.u.config.value = S(rng_below(rng, 2) ? "1000" : "-1");
        assert_int_equal(apply(fx, &rec), RN_OK);
    }
}

static void random_other(img_fx_t *fx, uint64_t *rng) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    int kind = rng_below(rng, 3);
    if (kind == 0 && rn_image_topic_count(fx->img) > 0) {
        rec.type = RN_MD_REMOVE_TOPIC;
        rec.u.remove_topic.topic_id =
            rn_image_topic_at(fx->img, rng_below(rng, rn_image_topic_count(fx->img)))->id;
    } else if (kind == 1) {
        static const char *resources[] = {"", "1", "2"};
        rec.type = RN_MD_CONFIG;
        rec.u.config.resource_type = RN_MD_RESOURCE_BROKER;
        rec.u.config.resource_name = S(resources[rng_below(rng, 3)]);
        rec.u.config.key = S(rng_below(rng, 2) ? "log.retention.ms" : "log.segment.bytes");
        rec.u.config.value = rng_below(rng, 4) ? S("12345") : rn_str_null();
    } else {
        rec.type = RN_MD_PRODUCER_IDS;
        rec.u.producer_ids.next_producer_id =
            rn_image_next_producer_id(fx->img) + RN_PRODUCER_ID_BLOCK_SIZE;
    }
    assert_int_equal(apply(fx, &rec), RN_OK);
}

typedef struct rebuild {
    rn_image_builder_t b;
    uint64_t offset;
    uint32_t batches;
    uint32_t records_max;
} rebuild_t;

static rn_err_t rebuild_batch(void *ctx, const rn_md_batch_t *batch) {
    rebuild_t *rb = ctx;
    assert_true(batch->count > 0);
    assert_true(batch->count <= rb->records_max);
    rn_err_t err = rn_image_builder_apply_batch(&rb->b, rb->offset, batch);
    rb->offset += batch->count;
    rb->batches++;
    return err;
}

/* Writes img as records and rebuilds it from empty. */
static rn_image_t *round_trip(const rn_image_t *img, uint32_t records_max, uint32_t *batches) {
    rn_image_t *empty = rn_image_empty(&base);
    rebuild_t rb = {.records_max = records_max};
    assert_int_equal(rn_image_builder_init(&rb.b, empty), RN_OK);
    rn_image_release(empty);
    rn_image_write_limits_t limits = {records_max, RN_MD_RECORD_BYTES_MAX + 4};
    assert_int_equal(rn_image_write(img, &limits, rebuild_batch, &rb), RN_OK);
    rn_image_builder_set_next_offset(&rb.b, rn_image_next_offset(img));
    rn_image_t *out = rn_image_builder_finish(&rb.b);
    assert_non_null(out);
    *batches = rb.batches;
    return out;
}

static void test_snapshot_round_trip(void **state) {
    img_fx_t *fx = *state;
    uint32_t batches = 0;
    rn_image_t *again = round_trip(fx->img, 10, &batches); /* empty */
    assert_int_equal(batches, 0);
    assert_true(rn_image_equal(fx->img, again));
    rn_image_release(again);
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull;
        rn_image_release(fx->img);
        fx->img = rn_image_empty(&base);
        int steps = 20 + rng_below(&rng, 60);
        for (int n = 0; n < steps; n++) {
            int kind = rng_below(&rng, 3);
            if (kind == 0)
                random_broker_step(fx, &rng);
            else if (kind == 1)
                random_topic(fx, &rng);
            else
                random_other(fx, &rng);
        }
        uint32_t records_max = 1 + (uint32_t)rng_below(&rng, 20);
        again = round_trip(fx->img, records_max, &batches);
        if (!rn_image_equal(fx->img, again))
            fail_msg("seed %llu: images differ", (unsigned long long)seed);
        assert_int_equal(rn_image_next_offset(again), rn_image_next_offset(fx->img));
        assert_true(batches >= 1);
        /* equality can fail: one more change tells the images apart */
        rn_image_t *before = fx->img;
        rn_image_retain(before);
        rn_md_record_t rec = register_rec(99, (int64_t)rn_image_next_offset(fx->img), NULL);
        assert_int_equal(apply(fx, &rec), RN_OK);
        assert_false(rn_image_equal(before, fx->img));
        rn_image_release(before);
        rn_image_release(again);
    }
}

/* Batches stay under the byte limit even when one record is large. */
static void test_snapshot_batch_bytes(void **state) {
    img_fx_t *fx = *state;
    static char big[RN_CONFIG_VALUE_BYTES_MAX + 1];
    memset(big, 'x', RN_CONFIG_VALUE_BYTES_MAX);
    for (int n = 0; n < 5; n++) {
        char key[32];
        snprintf(key, sizeof(key), "custom.key.%d", n);
        rn_md_record_t rec;
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_CONFIG;
        rec.u.config.resource_type = RN_MD_RESOURCE_BROKER;
        rec.u.config.resource_name = S("");
        rec.u.config.key = S(key);
        rec.u.config.value = S(big);
        assert_int_equal(apply(fx, &rec), RN_OK);
    }
    uint32_t batches = 0;
    rn_image_t *again = round_trip(fx->img, RN_MD_BATCH_RECORDS_MAX, &batches);
    assert_int_equal(batches, 5); /* one large record per batch */
    assert_true(rn_image_equal(fx->img, again));
    rn_image_release(again);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_topic_config_base_init(&base);
    rn_log_set_level(RN_LOG_ERROR);
#define I(fn) cmocka_unit_test_setup_teardown(fn, img_setup, img_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_records_round_trip),
        cmocka_unit_test(test_broker_records_malformed),
        I(test_image_broker_rules),
        I(test_image_brokers_shared),
        I(test_image_partition_change),
        I(test_snapshot_round_trip),
        I(test_snapshot_batch_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
