/*
 * test_codec.c: the generated Kafka codec (src/proto/gen) and its API table.
 *
 * Covers: decoding real request bytes (librdkafka's ApiVersions v3, Metadata
 * built by hand from the spec), round trips across versions (flexible ones with
 * tagged fields), unknown tags, nullable structs, records file ranges through
 * the splice hook, lying counts, arena budgets, truncation at every prefix, and
 * a sweep over every API and version. Owns its buffers and arenas; never
 * touches the network or disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/gen/api.h"
#include "proto/gen/api_versions_request.h"
#include "proto/gen/api_versions_response.h"
#include "proto/gen/consumer_group_heartbeat_response.h"
#include "proto/gen/consumer_protocol_subscription.h"
#include "proto/gen/fetch_request.h"
#include "proto/gen/fetch_response.h"
#include "proto/gen/metadata_request.h"
#include "proto/gen/produce_request.h"
#include "proto/gen/request_header.h"
#include "proto/gen/response_header.h"
#include "proto/kerr.h"
#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BYTES (1024 * 1024)

/* Encoded message plus what it takes to decode it again. */
typedef struct fixture {
    rn_buf_t buf;
    rn_arena_t arena;
} fixture_t;

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof(*fx));
    if (!fx) return -1;
    rn_buf_init(&fx->buf, 16 * 1024 * 1024);
    rn_arena_init(&fx->arena, ARENA_BYTES);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    rn_buf_free(&fx->buf);
    rn_arena_free(&fx->arena);
    free(fx);
    return 0;
}

/* Every strict prefix of a valid encoding must fail to decode, cleanly. */
static void check_prefixes_fail(const rn_api_decode_fn decode, int16_t version, const uint8_t *p,
                                size_t len, size_t msg_bytes) {
    void *msg = malloc(msg_bytes);
    assert_non_null(msg);
    for (size_t cut = 0; cut < len; cut++) {
        rn_arena_t arena;
        rn_arena_init(&arena, ARENA_BYTES);
        rn_reader_t r;
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size so ASan sees overreads */
        assert_non_null(copy);
        if (cut) memcpy(copy, p, cut);
        rn_reader_init(&r, copy, cut);
        rn_err_t err = decode(&r, &arena, version, msg);
        if (err == RN_OK) fail_msg("prefix of %zu/%zu bytes decoded at v%d", cut, len, version);
        free(copy);
        rn_arena_free(&arena);
    }
    free(msg);
}

/* Encodes `in`, checks size(), decodes it, re-encodes the decoded value and
   checks the bytes are identical; returns the decoded value in `out`. */
static void round_trip(fixture_t *fx, const rn_api_info_t *api, bool request, int16_t version,
                       const void *in, void *out) {
    rn_api_encode_fn encode = request ? api->request_encode : api->response_encode;
    rn_api_decode_fn decode = request ? api->request_decode : api->response_decode;
    rn_api_size_fn size = request ? api->request_size : api->response_size;
    fx->buf.len = 0;
    rn_writer_t w;
    rn_writer_init(&w, &fx->buf);
    encode(&w, version, in);
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(size(version, in), fx->buf.len);
    size_t len = fx->buf.len;
    uint8_t *first = malloc(len ? len : 1);
    assert_non_null(first);
    memcpy(first, fx->buf.ptr, len);

    rn_reader_t r;
    rn_reader_init(&r, first, len);
    assert_int_equal(decode(&r, &fx->arena, version, out), RN_OK);
    assert_int_equal(r.pos, len);

    fx->buf.len = 0;
    rn_writer_init(&w, &fx->buf);
    encode(&w, version, out);
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(fx->buf.len, len);
    assert_memory_equal(fx->buf.ptr, first, len);
    check_prefixes_fail(decode, version, first, len,
                        request ? api->request_bytes : api->response_bytes);
    /* `out` borrows from `first`; keep it alive for the caller's checks by
       leaking into the arena's lifetime: copy into a tail allocation. */
    uint8_t *keep = rn_arena_alloc(&fx->arena, len ? len : 1);
    assert_non_null(keep);
    memcpy(keep, first, len);
    rn_reader_init(&r, keep, len);
    assert_int_equal(decode(&r, &fx->arena, version, out), RN_OK);
    free(first);
}

/* ---- real bytes ---- */

/* ApiVersions v3 as librdkafka 2.x sends it: header v2 (client id with an
   int16 length, then an empty tagged section) and a flexible body. */
static const uint8_t apiversions_v3_bytes[] = {
    0x00, 0x12,                                                /* api key 18 */
    0x00, 0x03,                                                /* version 3 */
    0x00, 0x00, 0x00, 0x01,                                    /* correlation id */
    0x00, 0x07, 'r',  'd',  'k', 'a', 'f', 'k', 'a',           /* client id, int16 length */
    0x00,                                                      /* header tagged fields */
    0x0b, 'l',  'i',  'b',  'r', 'd', 'k', 'a', 'f', 'k', 'a', /* compact "librdkafka" */
    0x06, '2',  '.',  '3',  '.', '0',                          /* compact "2.3.0" */
    0x00,                                                      /* body tagged fields */
};

static void test_apiversions_v3_librdkafka(void **state) {
    fixture_t *fx = *state;
    rn_reader_t r;
    rn_reader_init(&r, apiversions_v3_bytes, sizeof(apiversions_v3_bytes));
    rn_request_header_t hdr;
    assert_int_equal(rn_request_header_decode(&r, &fx->arena, 2, &hdr), RN_OK);
    assert_int_equal(hdr.request_api_key, RN_API_API_VERSIONS);
    assert_int_equal(hdr.request_api_version, 3);
    assert_int_equal(hdr.correlation_id, 1);
    assert_true(rn_str_eq_cstr(hdr.client_id, "rdkafka"));

    const rn_api_info_t *api = rn_api_info(hdr.request_api_key);
    assert_non_null(api);
    assert_int_equal(api->request_header_version[3], 2);
    rn_api_versions_request_t req;
    assert_int_equal(api->request_decode(&r, &fx->arena, 3, &req), RN_OK);
    assert_int_equal(r.pos, sizeof(apiversions_v3_bytes));
    assert_true(rn_str_eq_cstr(req.client_software_name, "librdkafka"));
    assert_true(rn_str_eq_cstr(req.client_software_version, "2.3.0"));
    /* Zero copy: the strings point into the frame. */
    assert_ptr_equal(req.client_software_name.ptr, (const char *)apiversions_v3_bytes + 19);
}

/* Metadata v12 (flexible), laid out by hand from MetadataRequest.json. */
static const uint8_t metadata_v12_bytes[] = {
    0x02,                                           /* compact array: 1 topic */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* topic id (zero) */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x04, 'f',  'o',  'o', /* compact nullable name "foo" */
    0x00,                  /* topic tagged fields */
    0x01,                  /* allow_auto_topic_creation */
    0x00,                  /* include_topic_authorized_operations */
    0x00,                  /* tagged fields */
};

/* Metadata v4 (int32 array count, int16 strings), null topics = all topics. */
static const uint8_t metadata_v4_null_bytes[] = {
    0xff, 0xff, 0xff, 0xff, /* null array */
    0x00,                   /* allow_auto_topic_creation = false */
};

static void test_metadata_by_hand(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_METADATA);
    assert_non_null(api);
    rn_metadata_request_t req;
    rn_reader_t r;
    rn_reader_init(&r, metadata_v12_bytes, sizeof(metadata_v12_bytes));
    assert_int_equal(rn_metadata_request_decode(&r, &fx->arena, 12, &req), RN_OK);
    assert_int_equal(r.pos, sizeof(metadata_v12_bytes));
    assert_int_equal(req.topics.count, 1);
    assert_true(rn_str_eq_cstr(req.topics.items[0].name, "foo"));
    assert_true(rn_uuid_eq(&req.topics.items[0].topic_id, &rn_uuid_zero));
    assert_true(req.allow_auto_topic_creation);
    assert_false(req.include_topic_authorized_operations);
    check_prefixes_fail(api->request_decode, 12, metadata_v12_bytes, sizeof(metadata_v12_bytes),
                        api->request_bytes);

    rn_reader_init(&r, metadata_v4_null_bytes, sizeof(metadata_v4_null_bytes));
    assert_int_equal(rn_metadata_request_decode(&r, &fx->arena, 4, &req), RN_OK);
    assert_int_equal(req.topics.count, -1);
    assert_false(req.allow_auto_topic_creation);

    /* v0 topics are not nullable: a null array is corrupt. */
    rn_reader_init(&r, metadata_v4_null_bytes, 4);
    assert_int_equal(rn_metadata_request_decode(&r, &fx->arena, 0, &req), RN_ERR_CORRUPT);

    /* A default-initialised v4+ request allows auto creation (schema default). */
    rn_metadata_request_init(&req);
    assert_true(req.allow_auto_topic_creation);
    assert_int_equal(req.topics.count, 0);
}

/* ---- round trips ---- */

static const uint8_t fake_batch[] = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_produce_round_trip(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_PRODUCE);
    assert_non_null(api);
    rn_produce_request_partition_produce_data_t parts[2];
    rn_produce_request_topic_produce_data_t topic;
    rn_produce_request_t req, out;
    for (int i = 0; i < 2; i++) {
        rn_produce_request_partition_produce_data_init(&parts[i]);
        parts[i].index = 7 + i;
        parts[i].records = (rn_records_t){fake_batch, (int64_t)sizeof(fake_batch), NULL, 0};
    }
    parts[1].records.len = -1; /* null records are allowed */
    rn_produce_request_topic_produce_data_init(&topic);
    topic.name = rn_str_from_cstr("orders");
    topic.partition_data.items = parts;
    topic.partition_data.count = 2;
    rn_produce_request_init(&req);
    req.transactional_id = rn_str_from_cstr("txn-1");
    req.acks = -1;
    req.timeout_ms = 30000;
    req.topic_data.items = &topic;
    req.topic_data.count = 1;
    for (int16_t v = 3; v <= api->version_max; v++) {
        round_trip(fx, api, true, v, &req, &out);
        assert_int_equal(out.acks, -1);
        assert_int_equal(out.timeout_ms, 30000);
        assert_true(rn_str_eq_cstr(out.transactional_id, "txn-1"));
        assert_int_equal(out.topic_data.count, 1);
        assert_true(rn_str_eq_cstr(out.topic_data.items[0].name, "orders"));
        assert_int_equal(out.topic_data.items[0].partition_data.count, 2);
        const rn_produce_request_partition_produce_data_t *p0 =
            &out.topic_data.items[0].partition_data.items[0];
        assert_int_equal(p0->index, 7);
        assert_int_equal(p0->records.len, sizeof(fake_batch));
        assert_memory_equal(p0->records.ptr, fake_batch, sizeof(fake_batch));
        assert_int_equal(out.topic_data.items[0].partition_data.items[1].records.len, -1);
    }
}

static void test_fetch_response_tagged(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_FETCH);
    assert_non_null(api);
    assert_int_equal(api->flexible_min, 12);
    rn_fetch_response_partition_data_t part;
    rn_fetch_response_fetchable_topic_response_t topic;
    rn_fetch_response_node_endpoint_t node;
    rn_fetch_response_t resp, out;
    rn_fetch_response_partition_data_init(&part);
    part.partition_index = 3;
    part.high_watermark = 1000;
    part.records = (rn_records_t){fake_batch, (int64_t)sizeof(fake_batch), NULL, 0};
    part.current_leader.leader_id = 2; /* tagged, non-default */
    part.current_leader.leader_epoch = 5;
    rn_fetch_response_fetchable_topic_response_init(&topic);
    topic.topic = rn_str_from_cstr("orders");
    topic.topic_id.bytes[0] = 0xab;
    topic.partitions.items = &part;
    topic.partitions.count = 1;
    rn_fetch_response_node_endpoint_init(&node);
    node.node_id = 2;
    node.host = rn_str_from_cstr("broker-2");
    node.port = 9092;
    rn_fetch_response_init(&resp);
    resp.throttle_time_ms = 1;
    resp.responses.items = &topic;
    resp.responses.count = 1;
    resp.node_endpoints.items = &node;
    resp.node_endpoints.count = 1;
    for (int16_t v = api->version_min; v <= api->version_max_defined; v++) {
        round_trip(fx, api, false, v, &resp, &out);
        const rn_fetch_response_partition_data_t *p = &out.responses.items[0].partitions.items[0];
        assert_int_equal(p->partition_index, 3);
        assert_int_equal(p->high_watermark, 1000);
        assert_int_equal(p->records.len, sizeof(fake_batch));
        if (v >= 12) {
            assert_int_equal(p->current_leader.leader_id, 2);
            assert_int_equal(p->current_leader.leader_epoch, 5);
            /* untouched tagged fields keep their defaults */
            assert_int_equal(p->diverging_epoch.epoch, -1);
        } else {
            assert_int_equal(p->current_leader.leader_id, -1);
        }
        if (v >= 13) {
            assert_int_equal(out.responses.items[0].topic_id.bytes[0], 0xab);
        } else {
            assert_true(rn_str_eq_cstr(out.responses.items[0].topic, "orders"));
        }
        assert_int_equal(out.node_endpoints.count, v >= 16 ? 1 : 0);
        if (v >= 16) assert_true(rn_str_eq_cstr(out.node_endpoints.items[0].host, "broker-2"));
    }
}

/* Splice hook that records what the encoder asked for. */
typedef struct splice_log {
    int calls;
    size_t pos;
    const void *file_ref;
    uint64_t file_off;
    int64_t len;
} splice_log_t;

static rn_err_t splice_record(void *ctx, size_t pos, const void *file_ref, uint64_t file_off,
                              int64_t len) {
    splice_log_t *log = ctx;
    log->calls++;
    log->pos = pos;
    log->file_ref = file_ref;
    log->file_off = file_off;
    log->len = len;
    return RN_OK;
}

static void test_fetch_response_file_range(void **state) {
    fixture_t *fx = *state;
    static const int file_token = 42;
    rn_fetch_response_partition_data_t part;
    rn_fetch_response_fetchable_topic_response_t topic;
    rn_fetch_response_t resp;
    rn_fetch_response_partition_data_init(&part);
    part.records = (rn_records_t){NULL, 5000, &file_token, 123456};
    rn_fetch_response_fetchable_topic_response_init(&topic);
    topic.topic = rn_str_from_cstr("t");
    topic.partitions.items = &part;
    topic.partitions.count = 1;
    rn_fetch_response_init(&resp);
    resp.responses.items = &topic;
    resp.responses.count = 1;
    for (int16_t v = 4; v <= 16; v += 8) {
        splice_log_t log = {0};
        fx->buf.len = 0;
        rn_writer_t w;
        rn_writer_init(&w, &fx->buf);
        w.splice = splice_record;
        w.splice_ctx = &log;
        rn_fetch_response_encode(&w, v, &resp);
        assert_int_equal(w.err, RN_OK);
        assert_int_equal(log.calls, 1);
        assert_ptr_equal(log.file_ref, &file_token);
        assert_int_equal(log.file_off, 123456);
        assert_int_equal(log.len, 5000);
        /* The buffer lacks exactly the file bytes; size() counts them. */
        assert_int_equal(rn_fetch_response_size(v, &resp), fx->buf.len + 5000);
        /* The length prefix sits right before the splice position. */
        if (v < 12) {
            assert_true(log.pos >= 4);
            const uint8_t *q = fx->buf.ptr + log.pos - 4;
            assert_int_equal((q[0] << 24) | (q[1] << 16) | (q[2] << 8) | q[3], 5000);
        } else {
            const uint8_t *q = fx->buf.ptr + log.pos - 2; /* uvarint 5001 = 0x89 0x27 */
            assert_int_equal(q[0], 0x89);
            assert_int_equal(q[1], 0x27);
        }
    }
    /* Without a splice hook a file range cannot be encoded. */
    fx->buf.len = 0;
    rn_writer_t w;
    rn_writer_init(&w, &fx->buf);
    rn_fetch_response_encode(&w, 12, &resp);
    assert_int_equal(w.err, RN_ERR_INVALID);
}

static void test_fetch_request_round_trip(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_FETCH);
    rn_fetch_request_fetch_partition_t part;
    rn_fetch_request_fetch_topic_t topic;
    rn_fetch_request_t req, out;
    rn_fetch_request_fetch_partition_init(&part);
    part.partition = 1;
    part.fetch_offset = 77;
    part.partition_max_bytes = 1 << 20;
    rn_fetch_request_fetch_topic_init(&topic);
    topic.topic = rn_str_from_cstr("orders");
    topic.partitions.items = &part;
    topic.partitions.count = 1;
    rn_fetch_request_init(&req);
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.topics.items = &topic;
    req.topics.count = 1;
    req.cluster_id = rn_str_from_cstr("cluster-a"); /* tagged in 12+ */
    req.replica_state.replica_id = 3;               /* tagged struct in 15+ */
    for (int16_t v = api->version_min; v <= api->version_max_defined; v++) {
        round_trip(fx, api, true, v, &req, &out);
        assert_int_equal(out.max_wait_ms, 500);
        assert_int_equal(out.topics.items[0].partitions.items[0].fetch_offset, 77);
        if (v >= 12) {
            assert_true(rn_str_eq_cstr(out.cluster_id, "cluster-a"));
        } else {
            assert_int_equal(out.cluster_id.len, -1);
        }
        assert_int_equal(out.replica_state.replica_id, v >= 15 ? 3 : -1);
    }
}

static void test_apiversions_response(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_API_VERSIONS);
    rn_api_versions_response_api_version_t keys[2];
    rn_api_versions_response_supported_feature_key_t feat;
    rn_api_versions_response_t resp, out;
    for (int i = 0; i < 2; i++) rn_api_versions_response_api_version_init(&keys[i]);
    keys[0].api_key = 0;
    keys[0].max_version = 11;
    keys[1].api_key = 18;
    keys[1].max_version = 4;
    rn_api_versions_response_supported_feature_key_init(&feat);
    feat.name = rn_str_from_cstr("metadata.version");
    feat.min_version = 1;
    feat.max_version = 21;
    rn_api_versions_response_init(&resp);
    resp.api_keys.items = keys;
    resp.api_keys.count = 2;
    resp.supported_features.items = &feat;
    resp.supported_features.count = 1;
    resp.finalized_features_epoch = 9;
    for (int16_t v = 0; v <= api->version_max; v++) {
        round_trip(fx, api, false, v, &resp, &out);
        assert_int_equal(out.api_keys.count, 2);
        assert_int_equal(out.api_keys.items[1].max_version, 4);
        assert_int_equal(out.finalized_features_epoch, v >= 3 ? 9 : -1);
        assert_int_equal(out.supported_features.count, v >= 3 ? 1 : 0);
        /* The response header of ApiVersions is never flexible. */
        assert_int_equal(api->response_header_version[v], 0);
    }
}

static void test_unknown_tags_skipped(void **state) {
    fixture_t *fx = *state;
    /* ApiVersions v3 body with two unknown tags in the top-level section. */
    static const uint8_t bytes[] = {
        0x04, 'c',  'l',  'i',  0x02, '1', /* name "cli", version "1" */
        0x02,                              /* two tagged fields */
        0x05, 0x03, 0xaa, 0xbb, 0xcc,      /* tag 5, 3 bytes */
        0x81, 0x01, 0x01, 0xdd,            /* tag 129, 1 byte */
    };
    rn_api_versions_request_t req;
    rn_reader_t r;
    rn_reader_init(&r, bytes, sizeof(bytes));
    assert_int_equal(rn_api_versions_request_decode(&r, &fx->arena, 3, &req), RN_OK);
    assert_int_equal(r.pos, sizeof(bytes));
    assert_true(rn_str_eq_cstr(req.client_software_name, "cli"));
    /* A tag whose size runs past the end is corrupt. */
    static const uint8_t bad[] = {0x04, 'c', 'l', 'i', 0x02, '1', 0x01, 0x05, 0x09, 0xaa};
    rn_reader_init(&r, bad, sizeof(bad));
    assert_int_equal(rn_api_versions_request_decode(&r, &fx->arena, 3, &req), RN_ERR_CORRUPT);
}

static void test_nullable_struct(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_CONSUMER_GROUP_HEARTBEAT);
    assert_non_null(api);
    rn_consumer_group_heartbeat_response_assignment_t asg;
    rn_consumer_group_heartbeat_response_t resp, out;
    rn_consumer_group_heartbeat_response_assignment_init(&asg);
    rn_consumer_group_heartbeat_response_init(&resp);
    resp.member_id = rn_str_from_cstr("m-1");
    resp.member_epoch = 4;
    round_trip(fx, api, false, 0, &resp, &out);
    assert_null(out.assignment);
    resp.assignment = &asg;
    round_trip(fx, api, false, 0, &resp, &out);
    assert_non_null(out.assignment);
    assert_int_equal(out.assignment->topic_partitions.count, 0);
    assert_int_equal(out.member_epoch, 4);
}

static void test_data_schema(void **state) {
    fixture_t *fx = *state;
    rn_str_t topics[2] = {rn_str_from_cstr("a"), rn_str_from_cstr("bb")};
    rn_consumer_protocol_subscription_t sub, out;
    rn_consumer_protocol_subscription_init(&sub);
    sub.topics.items = topics;
    sub.topics.count = 2;
    sub.user_data = (rn_bytes_t){(const uint8_t *)"ud", 2};
    sub.rack_id = rn_str_from_cstr("rack-1");
    fx->buf.len = 0;
    rn_writer_t w;
    rn_writer_init(&w, &fx->buf);
    rn_consumer_protocol_subscription_encode(&w, 3, &sub);
    assert_int_equal(w.err, RN_OK);
    assert_int_equal(rn_consumer_protocol_subscription_size(3, &sub), fx->buf.len);
    rn_reader_t r;
    rn_reader_init(&r, fx->buf.ptr, fx->buf.len);
    assert_int_equal(rn_consumer_protocol_subscription_decode(&r, &fx->arena, 3, &out), RN_OK);
    assert_int_equal(out.topics.count, 2);
    assert_true(rn_str_eq_cstr(out.topics.items[1], "bb"));
    assert_true(rn_str_eq_cstr(out.rack_id, "rack-1"));
    assert_int_equal(out.user_data.len, 2);
}

static void test_tagged_default_omitted(void **state) {
    fixture_t *fx = *state;
    rn_api_versions_response_t resp;
    rn_api_versions_response_init(&resp);
    rn_writer_t w;
    fx->buf.len = 0;
    rn_writer_init(&w, &fx->buf);
    rn_api_versions_response_encode(&w, 3, &resp);
    /* error (2) + empty compact array (1) + throttle (4) + no tags (1) */
    static const uint8_t empty[] = {0, 0, 0x01, 0, 0, 0, 0, 0x00};
    assert_int_equal(fx->buf.len, sizeof(empty));
    assert_memory_equal(fx->buf.ptr, empty, sizeof(empty));
    resp.finalized_features_epoch = 9;
    fx->buf.len = 0;
    rn_writer_init(&w, &fx->buf);
    rn_api_versions_response_encode(&w, 3, &resp);
    static const uint8_t one[] = {0, 0, 0x01, 0, 0, 0, 0, 0x01, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 9};
    assert_int_equal(fx->buf.len, sizeof(one));
    assert_memory_equal(fx->buf.ptr, one, sizeof(one));
    assert_int_equal(rn_api_versions_response_size(3, &resp), sizeof(one));
}

static void test_encode_null_in_non_nullable(void **state) {
    fixture_t *fx = *state;
    rn_produce_request_topic_produce_data_t topic;
    rn_produce_request_t req;
    rn_produce_request_topic_produce_data_init(&topic);
    topic.name = rn_str_null(); /* topic names are never nullable */
    rn_produce_request_init(&req);
    req.topic_data.items = &topic;
    req.topic_data.count = 1;
    rn_writer_t w;
    fx->buf.len = 0;
    rn_writer_init(&w, &fx->buf);
    rn_produce_request_encode(&w, 9, &req);
    assert_int_equal(w.err, RN_ERR_INVALID);
    /* transactional_id is nullable from v3 on */
    topic.name = rn_str_from_cstr("t");
    req.transactional_id = rn_str_null();
    fx->buf.len = 0;
    rn_writer_init(&w, &fx->buf);
    rn_produce_request_encode(&w, 3, &req);
    assert_int_equal(w.err, RN_OK);
}

static void test_metadata_round_trip(void **state) {
    fixture_t *fx = *state;
    const rn_api_info_t *api = rn_api_info(RN_API_METADATA);
    rn_metadata_request_metadata_request_topic_t topics[2];
    rn_metadata_request_t req, out;
    for (int i = 0; i < 2; i++) rn_metadata_request_metadata_request_topic_init(&topics[i]);
    topics[0].name = rn_str_from_cstr("a");
    topics[1].name = rn_str_from_cstr("b");
    topics[1].topic_id.bytes[15] = 1;
    rn_metadata_request_init(&req);
    req.topics.items = topics;
    req.topics.count = 2;
    req.include_topic_authorized_operations = true;
    for (int16_t v = api->version_min; v <= api->version_max; v++) {
        round_trip(fx, api, true, v, &req, &out);
        assert_int_equal(out.topics.count, 2);
        assert_true(rn_str_eq_cstr(out.topics.items[1].name, "b"));
        assert_int_equal(out.topics.items[1].topic_id.bytes[15], v >= 10 ? 1 : 0);
        assert_int_equal(out.include_topic_authorized_operations, v >= 8);
    }
}

/* ---- hostile input ---- */

static void test_lying_counts(void **state) {
    fixture_t *fx = *state;
    rn_produce_request_t req;
    rn_reader_t r;
    /* v9: null transactional id, acks, timeout, compact array claiming 2^31-1. */
    static const uint8_t huge[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x75,
                                   0x30, 0xff, 0xff, 0xff, 0xff, 0x07};
    rn_reader_init(&r, huge, sizeof(huge));
    assert_int_equal(rn_produce_request_decode(&r, &fx->arena, 9, &req), RN_ERR_LIMIT);
    /* v3: int32 count 1000 with 3 bytes left fails before any allocation. */
    static const uint8_t lie[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x75, 0x30,
                                  0x00, 0x00, 0x03, 0xe8, 0x01, 0x02, 0x03};
    size_t used = fx->arena.bytes_used;
    rn_reader_init(&r, lie, sizeof(lie));
    assert_int_equal(rn_produce_request_decode(&r, &fx->arena, 3, &req), RN_ERR_CORRUPT);
    assert_int_equal(fx->arena.bytes_used, used);
    /* Negative counts other than -1 are corrupt. */
    static const uint8_t neg[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00,
                                  0x75, 0x30, 0xff, 0xff, 0xff, 0xfe};
    rn_reader_init(&r, neg, sizeof(neg));
    assert_int_equal(rn_produce_request_decode(&r, &fx->arena, 3, &req), RN_ERR_CORRUPT);
}

static void test_arena_budget(void **state) {
    (void)state;
    /* 2000 topics of one byte each (empty compact names) need far more than a
       tiny arena: decoding fails with RN_ERR_NO_MEMORY, not a crash. */
    enum { N = 2000 };
    static uint8_t bytes[8 + 3 + 2 * N + 1];
    size_t n = 0;
    bytes[n++] = 0x00;                                              /* transactional id null */
    bytes[n++] = 0x00, bytes[n++] = 0x01;                           /* acks */
    bytes[n++] = 0, bytes[n++] = 0, bytes[n++] = 0, bytes[n++] = 1; /* timeout */
    bytes[n++] = (uint8_t)(((N + 1) & 0x7f) | 0x80);
    bytes[n++] = (uint8_t)((N + 1) >> 7);
    for (int i = 0; i < N; i++) {
        bytes[n++] = 0x01; /* empty name */
        bytes[n++] = 0x01; /* empty partition array */
    }
    rn_arena_t small;
    rn_arena_init(&small, 8192);
    rn_produce_request_t req;
    rn_reader_t r;
    rn_reader_init(&r, bytes, n);
    assert_int_equal(rn_produce_request_decode(&r, &small, 9, &req), RN_ERR_NO_MEMORY);
    rn_arena_free(&small);
}

static void test_bad_version(void **state) {
    fixture_t *fx = *state;
    rn_metadata_request_t req;
    rn_reader_t r;
    rn_reader_init(&r, metadata_v12_bytes, sizeof(metadata_v12_bytes));
    assert_int_equal(
        rn_metadata_request_decode(&r, &fx->arena, RN_METADATA_REQUEST_VERSION_MAX + 1, &req),
        RN_ERR_INVALID);
    rn_reader_init(&r, metadata_v12_bytes, sizeof(metadata_v12_bytes));
    assert_int_equal(rn_metadata_request_decode(&r, &fx->arena, -1, &req), RN_ERR_INVALID);
}

/* ---- the table ---- */

static void test_api_table(void **state) {
    (void)state;
    const rn_api_info_t *p = rn_api_info(RN_API_PRODUCE);
    assert_non_null(p);
    assert_string_equal(p->name, "Produce");
    assert_int_equal(p->flexible_min, 9);
    assert_int_equal(p->request_header_version[8], 1);
    assert_int_equal(p->request_header_version[9], 2);
    assert_int_equal(p->response_header_version[9], 1);
    assert_int_equal(p->request_bytes, sizeof(rn_produce_request_t));
    assert_true(p->listeners & RN_API_LISTENER_BROKER);
    assert_null(rn_api_info(-1));
    assert_null(rn_api_info(RN_API_KEY_MAX + 1));
    assert_null(rn_api_info(INT16_MAX));
    const rn_api_info_t *cs = rn_api_info(RN_API_CONTROLLED_SHUTDOWN);
    assert_non_null(cs);
    assert_int_equal(cs->request_header_version[0], 0);
    assert_int_equal(cs->request_header_version[1], 1);
    /* latestVersionUnstable: the top version is defined but not advertised
       (ShareFetch defines only v0, so nothing is advertised). */
    const rn_api_info_t *sf = rn_api_info(RN_API_SHARE_FETCH);
    assert_non_null(sf);
    assert_int_equal(sf->version_max + 1, sf->version_max_defined);
    assert_false(rn_api_version_supported(sf, sf->version_max_defined));
    const rn_api_info_t *lo = rn_api_info(RN_API_LIST_OFFSETS);
    assert_non_null(lo);
    assert_int_equal(lo->version_max, lo->version_max_defined);
    assert_true(rn_api_version_supported(lo, lo->version_max));
    /* Versions past the schema: ApiVersions v9 still has a v2 request header
       and a v0 response header; negative versions get the oldest layout. */
    const rn_api_info_t *av = rn_api_info(RN_API_API_VERSIONS);
    assert_int_equal(rn_api_request_header_version(av, 9), 2);
    assert_int_equal(rn_api_response_header_version(av, 9), 0);
    assert_int_equal(rn_api_request_header_version(av, 1), 1);
    assert_int_equal(rn_api_request_header_version(p, -3), 1);
    assert_int_equal(rn_api_response_header_version(p, 100), 1);
    assert_int_equal(rn_api_response_header_version(p, 9), 1);
    assert_int_equal(rn_api_response_header_version(p, 8), 0);
    int count = 0;
    for (int16_t k = 0; k <= RN_API_KEY_MAX; k++) {
        const rn_api_info_t *api = rn_api_info(k);
        if (!api) continue;
        count++;
        assert_int_equal(api->key, k);
        assert_true(api->version_max_defined < RN_API_VERSION_COUNT_MAX);
    }
    assert_int_equal(count, 88);
    assert_string_equal(rn_kerr_name(RN_KERR_UNKNOWN_TOPIC_OR_PARTITION),
                        "UNKNOWN_TOPIC_OR_PARTITION");
    assert_int_equal(RN_KERR_UNKNOWN_TOPIC_OR_PARTITION, 3);
    assert_int_equal(RN_KERR_TRANSACTION_ABORTABLE, 120);
    assert_string_equal(rn_kerr_name(-1), "UNKNOWN_SERVER_ERROR");
    assert_string_equal(rn_kerr_name(1000), "UNKNOWN_CODE");
}

static void test_headers(void **state) {
    fixture_t *fx = *state;
    rn_request_header_t hdr, out;
    rn_request_header_init(&hdr);
    hdr.request_api_key = 3;
    hdr.request_api_version = 12;
    hdr.correlation_id = 99;
    hdr.client_id = rn_str_null();
    for (int16_t v = 1; v <= 2; v++) {
        fx->buf.len = 0;
        rn_writer_t w;
        rn_writer_init(&w, &fx->buf);
        rn_request_header_encode(&w, v, &hdr);
        assert_int_equal(w.err, RN_OK);
        /* client id keeps its int16 length even in v2 (flexibleVersions none) */
        assert_int_equal(fx->buf.len, v == 1 ? 10u : 11u);
        assert_int_equal(fx->buf.ptr[8], 0xff);
        assert_int_equal(fx->buf.ptr[9], 0xff);
        rn_reader_t r;
        rn_reader_init(&r, fx->buf.ptr, fx->buf.len);
        assert_int_equal(rn_request_header_decode(&r, &fx->arena, v, &out), RN_OK);
        assert_int_equal(out.correlation_id, 99);
        assert_int_equal(out.client_id.len, -1);
    }
    rn_response_header_t rh, rout;
    rn_response_header_init(&rh);
    rh.correlation_id = 5;
    fx->buf.len = 0;
    rn_writer_t w;
    rn_writer_init(&w, &fx->buf);
    rn_response_header_encode(&w, 1, &rh);
    assert_int_equal(fx->buf.len, 5);
    rn_reader_t r;
    rn_reader_init(&r, fx->buf.ptr, fx->buf.len);
    assert_int_equal(rn_response_header_decode(&r, &fx->arena, 1, &rout), RN_OK);
    assert_int_equal(rout.correlation_id, 5);
}

/* Every API, every version: default request and response round-trip. */
static void test_all_apis_defaults(void **state) {
    fixture_t *fx = *state;
    int checked = 0;
    for (int16_t k = 0; k <= RN_API_KEY_MAX; k++) {
        const rn_api_info_t *api = rn_api_info(k);
        if (!api) continue;
        void *in = malloc(api->request_bytes > api->response_bytes ? api->request_bytes
                                                                   : api->response_bytes);
        void *out = malloc(api->request_bytes > api->response_bytes ? api->request_bytes
                                                                    : api->response_bytes);
        assert_non_null(in);
        assert_non_null(out);
        for (int16_t v = api->version_min; v <= api->version_max_defined; v++) {
            api->request_init(in);
            round_trip(fx, api, true, v, in, out);
            api->response_init(in);
            round_trip(fx, api, false, v, in, out);
            rn_arena_reset(&fx->arena);
            checked++;
        }
        free(in);
        free(out);
    }
    assert_true(checked > 300);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apiversions_v3_librdkafka, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_by_hand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_produce_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_response_tagged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_response_file_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_request_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apiversions_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_tags_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nullable_struct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tagged_default_omitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_null_in_non_nullable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lying_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arena_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_apis_defaults, setup, teardown),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
