/*
 * test_metadata.c: metadata records, the metadata log, the image and the
 * controller: create, delete, grow and alter with every Kafka error code the
 * controller returns, replay equal to the live image, a torn tail cut at
 * open, and image reference counting under concurrent readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/log.h"
#include "io/io.h"
#include "metadata/controller.h"
#include "metadata/dyn_broker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_root[] = "/tmp/rn_test_metadata_XXXXXX";
static rn_topic_config_base_t base;

typedef struct fixture {
    char dir[256];
    rn_controller_t ctl;
    rn_ctl_settings_t set;
} fixture_t;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static void open_ctl(fixture_t *fx) {
    rn_err_t err = rn_controller_open(&fx->ctl, rn_io_linux(), fx->dir, &base, &fx->set);
    assert_int_equal(err, RN_OK);
}

static int setup(void **state) {
    static int seq;
    fixture_t *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "%s/t%d", tmp_root, ++seq);
    fx->set.node_id = 0;
    fx->set.num_partitions = 1;
    fx->set.default_replication_factor = 1;
    fx->set.delete_topic_enable = true;
    open_ctl(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    rn_controller_close(&fx->ctl);
    free(fx);
    return 0;
}

static void reopen(fixture_t *fx) {
    rn_controller_close(&fx->ctl);
    open_ctl(fx);
}

/* Creates one topic; returns the error code (message into msg if given). */
static int16_t create(fixture_t *fx, const char *name, int32_t parts, int16_t rf,
                      const rn_ctl_config_t *configs, int32_t config_count, char *msg) {
    rn_ctl_new_topic_t t = {.name = S(name),
                            .num_partitions = parts,
                            .replication_factor = rf,
                            .configs = configs,
                            .config_count = config_count};
    rn_ctl_topic_result_t res;
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    if (msg) strcpy(msg, res.result.message);
    return res.result.error_code;
}

static const rn_image_topic_t *topic(fixture_t *fx, const char *name) {
    return rn_image_topic(rn_controller_image(&fx->ctl), name, strlen(name));
}

static void expect_msg(const char *msg, const char *fragment) {
    if (!strstr(msg, fragment)) fail_msg("'%s' not in '%s'", fragment, msg);
}

/* ---- records ---- */

static void test_records_round_trip(void **state) {
    (void)state;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_md_record_t recs[5];
    memset(recs, 0, sizeof(recs));
    recs[0].type = RN_MD_TOPIC;
    recs[0].u.topic.name = S("orders");
    recs[0].u.topic.topic_id.bytes[3] = 7;
    recs[1].type = RN_MD_PARTITION;
    recs[1].u.partition.partition = 2;
    recs[1].u.partition.leader = 5;
    recs[1].u.partition.leader_epoch = 3;
    recs[1].u.partition.replica_count = 3;
    recs[1].u.partition.replicas[0] = 5;
    recs[1].u.partition.replicas[1] = 6;
    recs[1].u.partition.replicas[2] = 7;
    recs[1].u.partition.isr_count = 1;
    recs[1].u.partition.isr[0] = 5;
    recs[2].type = RN_MD_CONFIG;
    recs[2].u.config.resource_type = RN_MD_RESOURCE_TOPIC;
    recs[2].u.config.resource_name = S("orders");
    recs[2].u.config.key = S("retention.ms");
    recs[2].u.config.value = rn_str_null();
    recs[3].type = RN_MD_REMOVE_TOPIC;
    recs[3].u.remove_topic.topic_id.bytes[0] = 9;
    recs[4].type = RN_MD_PRODUCER_IDS;
    recs[4].u.producer_ids.broker_id = 1;
    recs[4].u.producer_ids.broker_epoch = 42;
    recs[4].u.producer_ids.next_producer_id = 4000;
    for (int n = 0; n < 5; n++) assert_int_equal(rn_md_batch_add(&batch, &recs[n]), RN_OK);
    assert_int_equal(batch.count, 5);

    size_t pos = 0;
    for (int n = 0; n < 5; n++) {
        const uint8_t *p = batch.buf.ptr + pos;
        uint32_t size = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        rn_md_record_t dec;
        assert_int_equal(rn_md_record_decode(p + 4, size, &dec), RN_OK);
        assert_int_equal(dec.type, recs[n].type);
        /* every truncation of a record is caught */
        for (uint32_t cut = 0; cut < size; cut++) {
            rn_md_record_t bad;
            assert_int_not_equal(rn_md_record_decode(p + 4, cut, &bad), RN_OK);
        }
        if (n == 0) assert_true(rn_str_eq_cstr(dec.u.topic.name, "orders"));
        if (n == 1) {
            assert_int_equal(dec.u.partition.replica_count, 3);
            assert_int_equal(dec.u.partition.replicas[2], 7);
            assert_int_equal(dec.u.partition.isr_count, 1);
            assert_int_equal(dec.u.partition.leader_epoch, 3);
        }
        if (n == 2) assert_int_equal(dec.u.config.value.len, -1);
        if (n == 4) assert_int_equal(dec.u.producer_ids.next_producer_id, 4000);
        pos += 4 + size;
    }
    /* unknown type and unknown version are not corruption but refusal */
    uint8_t unknown[] = {99, 0};
    rn_md_record_t rec;
    assert_int_equal(rn_md_record_decode(unknown, sizeof(unknown), &rec), RN_ERR_INVALID);
    uint8_t newer[] = {RN_MD_REMOVE_TOPIC, 1};
    assert_int_equal(rn_md_record_decode(newer, sizeof(newer), &rec), RN_ERR_INVALID);
    /* an oversized replica count is rejected before reading */
    recs[1].u.partition.replica_count = RN_REPLICAS_MAX + 1;
    assert_int_equal(rn_md_batch_add(&batch, &recs[1]), RN_ERR_INVALID);
    assert_int_equal(batch.count, 5);
    rn_md_batch_free(&batch);
}

/* ---- create ---- */

static void test_create_topic(void **state) {
    fixture_t *fx = *state;
    rn_ctl_config_t configs[] = {{S("retention.ms"), S("1000")},
                                 {S("cleanup.policy"), S("compact,delete")}};
    assert_int_equal(create(fx, "orders", 3, 1, configs, 2, NULL), RN_KERR_NONE);
    const rn_image_topic_t *t = topic(fx, "orders");
    assert_non_null(t);
    assert_int_equal(t->partition_count, 3);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(t->partitions[p].leader, 0);
        assert_int_equal(t->partitions[p].replica_count, 1);
        assert_int_equal(t->partitions[p].isr_count, 1);
        assert_int_equal(t->partitions[p].isr[0], 0);
    }
    assert_string_equal(t->overrides[RN_TC_RETENTION_MS], "1000");
    assert_int_equal(t->config.retention_ms, 1000);
    assert_int_equal(t->config.cleanup_policy, RN_CLEANUP_COMPACT | RN_CLEANUP_DELETE);
    assert_int_equal(t->config.segment_bytes, 1073741824); /* from the base */
    rn_config_source_t src;
    const char *v =
        rn_image_topic_describe(rn_controller_image(&fx->ctl), t, RN_TC_RETENTION_MS, &src);
    assert_string_equal(v, "1000");
    assert_int_equal(src, RN_CONFIG_SOURCE_TOPIC);
    v = rn_image_topic_describe(rn_controller_image(&fx->ctl), t, RN_TC_SEGMENT_BYTES, &src);
    assert_int_equal(src, RN_CONFIG_SOURCE_DEFAULT);
    assert_ptr_equal(rn_image_topic_by_id(rn_controller_image(&fx->ctl), &t->id), t);
    assert_false(rn_uuid_eq(&t->id, &rn_uuid_zero));

    /* defaults (-1) take num.partitions and default.replication.factor */
    assert_int_equal(create(fx, "defaults", -1, -1, NULL, 0, NULL), RN_KERR_NONE);
    assert_int_equal(topic(fx, "defaults")->partition_count, 1);
    assert_int_equal(rn_image_partition_total(rn_controller_image(&fx->ctl)), 4);
    assert_int_equal(rn_image_topic_count(rn_controller_image(&fx->ctl)), 2);
    /* name order */
    assert_string_equal(rn_image_topic_at(rn_controller_image(&fx->ctl), 0)->name, "defaults");

    /* validate_only changes nothing but reports what would be created */
    rn_ctl_new_topic_t t2 = {.name = S("dry"), .num_partitions = 4, .replication_factor = 1};
    rn_ctl_topic_result_t res;
    rn_controller_create_topics(&fx->ctl, &t2, 1, true, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    assert_int_equal(res.num_partitions, 4);
    assert_int_equal(res.replication_factor, 1);
    assert_null(topic(fx, "dry"));
}

static void test_create_errors(void **state) {
    fixture_t *fx = *state;
    char msg[RN_CTL_MESSAGE_BYTES];
    assert_int_equal(create(fx, "a.b", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    assert_int_equal(create(fx, "a.b", 1, 1, NULL, 0, msg), RN_KERR_TOPIC_ALREADY_EXISTS);
    expect_msg(msg, "Topic 'a.b' already exists.");
    assert_int_equal(create(fx, "a_b", 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    expect_msg(msg, "collides with existing topic: a.b");

    assert_int_equal(create(fx, "", 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    expect_msg(msg, "can't be empty");
    assert_int_equal(create(fx, ".", 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, "..", 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    expect_msg(msg, "cannot be \".\" or \"..\"");
    assert_int_equal(create(fx, "bad name", 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    expect_msg(msg, "ASCII alphanumerics");
    char long_name[260];
    memset(long_name, 'x', 250);
    long_name[250] = '\0';
    assert_int_equal(create(fx, long_name, 1, 1, NULL, 0, msg), RN_KERR_INVALID_TOPIC_EXCEPTION);
    expect_msg(msg, "longer than 249");
    long_name[249] = '\0';
    assert_int_equal(create(fx, long_name, 1, 1, NULL, 0, NULL), RN_KERR_NONE);

    assert_int_equal(create(fx, "p0", 0, 1, NULL, 0, msg), RN_KERR_INVALID_PARTITIONS);
    expect_msg(msg, "invalid non-positive value");
    assert_int_equal(create(fx, "p0", -2, 1, NULL, 0, NULL), RN_KERR_INVALID_PARTITIONS);
    assert_int_equal(create(fx, "p0", RN_TOPIC_PARTITIONS_MAX + 1, 1, NULL, 0, NULL),
                     RN_KERR_INVALID_PARTITIONS);
    assert_int_equal(create(fx, "r0", 1, 0, NULL, 0, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    expect_msg(msg, "larger than 0");
    assert_int_equal(create(fx, "r2", 1, 2, NULL, 0, msg), RN_KERR_INVALID_REPLICATION_FACTOR);
    expect_msg(msg, "only 1 broker(s) are registered");

    rn_ctl_config_t unknown = {S("retention.mss"), S("1")};
    assert_int_equal(create(fx, "c", 1, 1, &unknown, 1, msg), RN_KERR_INVALID_CONFIG);
    expect_msg(msg, "Unknown topic config name: retention.mss");
    rn_ctl_config_t invalid = {S("segment.bytes"), S("10")};
    assert_int_equal(create(fx, "c", 1, 1, &invalid, 1, msg), RN_KERR_INVALID_CONFIG);
    expect_msg(msg, "Invalid value 10 for configuration segment.bytes");
    rn_ctl_config_t null_value = {S("retention.ms"), rn_str_null()};
    assert_int_equal(create(fx, "c", 1, 1, &null_value, 1, msg), RN_KERR_INVALID_CONFIG);
    rn_ctl_config_t tiered = {S("remote.storage.enable"), S("true")};
    assert_int_equal(create(fx, "c", 1, 1, &tiered, 1, NULL), RN_KERR_INVALID_CONFIG);
    rn_ctl_config_t bad_enum = {S("message.timestamp.type"), S("Whenever")};
    assert_int_equal(create(fx, "c", 1, 1, &bad_enum, 1, NULL), RN_KERR_INVALID_CONFIG);
    assert_null(topic(fx, "c"));

    /* duplicates within one request: both INVALID_REQUEST, others unaffected */
    rn_ctl_new_topic_t many[3] = {{.name = S("d"), .num_partitions = 1, .replication_factor = 1},
                                  {.name = S("e"), .num_partitions = 1, .replication_factor = 1},
                                  {.name = S("d"), .num_partitions = 2, .replication_factor = 1}};
    rn_ctl_topic_result_t res[3];
    rn_controller_create_topics(&fx->ctl, many, 3, false, res);
    assert_int_equal(res[0].result.error_code, RN_KERR_INVALID_REQUEST);
    assert_int_equal(res[1].result.error_code, RN_KERR_NONE);
    assert_int_equal(res[2].result.error_code, RN_KERR_INVALID_REQUEST);
    expect_msg(res[0].result.message, "Duplicate topic name.");
    assert_null(topic(fx, "d"));
    assert_non_null(topic(fx, "e"));
}

static void test_create_assignments(void **state) {
    fixture_t *fx = *state;
    int32_t zero[] = {0}, zero_zero[] = {0, 0}, seven[] = {7};
    rn_ctl_assignment_t good[2] = {{1, zero, 1}, {0, zero, 1}};
    rn_ctl_new_topic_t t = {.name = S("man"),
                            .num_partitions = -1,
                            .replication_factor = -1,
                            .assignments = good,
                            .assignment_count = 2};
    rn_ctl_topic_result_t res;
    rn_controller_create_topics(&fx->ctl, &t, 1, false, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    assert_int_equal(topic(fx, "man")->partition_count, 2);

    struct {
        int32_t parts;
        int16_t rf;
        rn_ctl_assignment_t a[2];
        int32_t count;
        int16_t code;
        const char *msg;
    } cases[] = {
        {1, -1, {{0, zero, 1}}, 1, RN_KERR_INVALID_REQUEST, "numPartitions was not set to -1"},
        {-1, 1, {{0, zero, 1}}, 1, RN_KERR_INVALID_REQUEST, "replication factor was not set"},
        {-1,
         -1,
         {{0, zero, 1}, {0, zero, 1}},
         2,
         RN_KERR_INVALID_REPLICA_ASSIGNMENT,
         "multiple manual partition assignments for partition 0"},
        {-1, -1, {{0, zero, 0}}, 1, RN_KERR_INVALID_REPLICA_ASSIGNMENT, "empty replica list"},
        {-1, -1, {{0, zero_zero, 2}}, 1, RN_KERR_INVALID_REPLICA_ASSIGNMENT, "more than once"},
        {-1,
         -1,
         {{0, seven, 1}},
         1,
         RN_KERR_INVALID_REPLICA_ASSIGNMENT,
         "broker 7, but no such broker is registered"},
        {-1,
         -1,
         {{0, zero, 1}, {2, zero, 1}},
         2,
         RN_KERR_INVALID_REPLICA_ASSIGNMENT,
         "consecutive 0-based"},
    };
    for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
        rn_ctl_new_topic_t bad = {.name = S("bad"),
                                  .num_partitions = cases[n].parts,
                                  .replication_factor = cases[n].rf,
                                  .assignments = cases[n].a,
                                  .assignment_count = cases[n].count};
        rn_controller_create_topics(&fx->ctl, &bad, 1, false, &res);
        assert_int_equal(res.result.error_code, cases[n].code);
        expect_msg(res.result.message, cases[n].msg);
    }
    assert_null(topic(fx, "bad"));
}

/* ---- delete ---- */

static void test_delete_topics(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(create(fx, "one", 2, 1, NULL, 0, NULL), RN_KERR_NONE);
    assert_int_equal(create(fx, "two", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_uuid_t two_id = topic(fx, "two")->id;
    rn_uuid_t missing = {{1, 2, 3}};
    rn_ctl_delete_topic_t dels[5] = {{S("one"), rn_uuid_zero},
                                     {S("nope"), rn_uuid_zero},
                                     {rn_str_null(), two_id},
                                     {rn_str_null(), missing},
                                     {rn_str_null(), rn_uuid_zero}};
    rn_ctl_topic_result_t res[5];
    rn_controller_delete_topics(&fx->ctl, dels, 5, res);
    assert_int_equal(res[0].result.error_code, RN_KERR_NONE);
    assert_int_equal(res[1].result.error_code, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(res[2].result.error_code, RN_KERR_NONE);
    assert_int_equal(res[3].result.error_code, RN_KERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(res[4].result.error_code, RN_KERR_INVALID_REQUEST);
    assert_null(topic(fx, "one"));
    assert_null(topic(fx, "two"));
    assert_int_equal(rn_image_topic_count(rn_controller_image(&fx->ctl)), 0);
    assert_int_equal(rn_image_partition_total(rn_controller_image(&fx->ctl)), 0);

    /* a name may be created again after deletion, with a new id */
    assert_int_equal(create(fx, "two", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    assert_false(rn_uuid_eq(&topic(fx, "two")->id, &two_id));

    /* duplicates, and deletion disabled */
    rn_ctl_delete_topic_t dup[2] = {{S("two"), rn_uuid_zero}, {S("two"), rn_uuid_zero}};
    rn_controller_delete_topics(&fx->ctl, dup, 2, res);
    assert_int_equal(res[0].result.error_code, RN_KERR_INVALID_REQUEST);
    assert_int_equal(res[1].result.error_code, RN_KERR_INVALID_REQUEST);
    fx->set.delete_topic_enable = false;
    reopen(fx);
    rn_controller_delete_topics(&fx->ctl, dup, 1, res);
    assert_int_equal(res[0].result.error_code, RN_KERR_TOPIC_DELETION_DISABLED);
    assert_non_null(topic(fx, "two"));
}

/* ---- grow ---- */

static void test_create_partitions(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(create(fx, "grow", 3, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_ctl_new_partitions_t g = {S("grow"), 5, NULL, 0};
    rn_ctl_result_t res;
    rn_controller_create_partitions(&fx->ctl, &g, 1, true, &res); /* validate only */
    assert_int_equal(res.error_code, RN_KERR_NONE);
    assert_int_equal(topic(fx, "grow")->partition_count, 3);
    rn_controller_create_partitions(&fx->ctl, &g, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_NONE);
    assert_int_equal(topic(fx, "grow")->partition_count, 5);
    assert_int_equal(topic(fx, "grow")->partitions[4].leader, 0);
    assert_int_equal(rn_image_partition_total(rn_controller_image(&fx->ctl)), 5);

    rn_controller_create_partitions(&fx->ctl, &g, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_PARTITIONS);
    expect_msg(res.message, "Topic already has 5 partition(s).");
    g.count = 2;
    rn_controller_create_partitions(&fx->ctl, &g, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_PARTITIONS);
    expect_msg(res.message, "The topic grow currently has 5 partition(s); 2 would not be an "
                            "increase.");
    rn_ctl_new_partitions_t unknown = {S("nope"), 5, NULL, 0};
    rn_controller_create_partitions(&fx->ctl, &unknown, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    int32_t zero[] = {0};
    rn_ctl_assignment_t one = {0, zero, 1};
    rn_ctl_new_partitions_t mismatch = {S("grow"), 8, &one, 1};
    rn_controller_create_partitions(&fx->ctl, &mismatch, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REPLICA_ASSIGNMENT);
    expect_msg(res.message, "Attempted to add 3 additional partition(s), but only 1");
    rn_ctl_new_partitions_t assigned = {S("grow"), 6, &one, 1};
    rn_controller_create_partitions(&fx->ctl, &assigned, 1, false, &res);
    assert_int_equal(res.error_code, RN_KERR_NONE);
    assert_int_equal(topic(fx, "grow")->partition_count, 6);
}

/* ---- configs ---- */

static rn_ctl_result_t alter(fixture_t *fx, const char *name, const rn_ctl_alter_t *alters,
                             int32_t count, bool incremental, bool validate_only) {
    rn_ctl_alter_resource_t r = {RN_MD_RESOURCE_TOPIC, S(name), alters, count, false};
    rn_ctl_result_t res;
    rn_controller_alter_configs(&fx->ctl, &r, 1, incremental, validate_only, &res);
    return res;
}

static void test_alter_configs(void **state) {
    fixture_t *fx = *state;
    rn_ctl_config_t c = {S("retention.ms"), S("1000")};
    assert_int_equal(create(fx, "cfg", 1, 1, &c, 1, NULL), RN_KERR_NONE);

    /* incremental SET keeps other overrides */
    rn_ctl_alter_t set[] = {{S("segment.bytes"), S("2000000"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "cfg", set, 1, true, false).error_code, RN_KERR_NONE);
    const rn_image_topic_t *t = topic(fx, "cfg");
    assert_string_equal(t->overrides[RN_TC_RETENTION_MS], "1000");
    assert_int_equal(t->config.segment_bytes, 2000000);

    /* APPEND to a list (from its default), then SUBTRACT */
    rn_ctl_alter_t append[] = {{S("cleanup.policy"), S("compact"), RN_CTL_OP_APPEND}};
    assert_int_equal(alter(fx, "cfg", append, 1, true, false).error_code, RN_KERR_NONE);
    assert_string_equal(topic(fx, "cfg")->overrides[RN_TC_CLEANUP_POLICY], "delete,compact");
    rn_ctl_alter_t subtract[] = {{S("cleanup.policy"), S("delete"), RN_CTL_OP_SUBTRACT}};
    assert_int_equal(alter(fx, "cfg", subtract, 1, true, false).error_code, RN_KERR_NONE);
    assert_string_equal(topic(fx, "cfg")->overrides[RN_TC_CLEANUP_POLICY], "compact");
    assert_int_equal(topic(fx, "cfg")->config.cleanup_policy, RN_CLEANUP_COMPACT);
    /* subtracting the last item leaves an empty list, which is invalid */
    rn_ctl_alter_t empty[] = {{S("cleanup.policy"), S("compact"), RN_CTL_OP_SUBTRACT}};
    assert_int_equal(alter(fx, "cfg", empty, 1, true, false).error_code, RN_KERR_INVALID_CONFIG);

    /* DELETE */
    rn_ctl_alter_t del[] = {{S("retention.ms"), rn_str_null(), RN_CTL_OP_DELETE},
                            {S("no.such.key"), rn_str_null(), RN_CTL_OP_DELETE}};
    assert_int_equal(alter(fx, "cfg", del, 2, true, false).error_code, RN_KERR_NONE);
    assert_null(topic(fx, "cfg")->overrides[RN_TC_RETENTION_MS]);
    assert_int_equal(topic(fx, "cfg")->config.retention_ms, 604800000);

    /* errors */
    rn_ctl_alter_t append_int[] = {{S("retention.ms"), S("5"), RN_CTL_OP_APPEND}};
    rn_ctl_result_t res = alter(fx, "cfg", append_int, 1, true, false);
    assert_int_equal(res.error_code, RN_KERR_INVALID_CONFIG);
    expect_msg(res.message, "Can't APPEND to key retention.ms because its type is not LIST.");
    rn_ctl_alter_t unknown[] = {{S("retention.mss"), S("5"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "cfg", unknown, 1, true, false).error_code, RN_KERR_INVALID_CONFIG);
    rn_ctl_alter_t invalid[] = {{S("min.insync.replicas"), S("0"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "cfg", invalid, 1, true, false).error_code, RN_KERR_INVALID_CONFIG);
    rn_ctl_alter_t dup[] = {{S("retention.ms"), S("5"), RN_CTL_OP_SET},
                            {S("retention.ms"), S("6"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "cfg", dup, 2, true, false).error_code, RN_KERR_INVALID_REQUEST);
    rn_ctl_alter_t bad_op[] = {{S("retention.ms"), S("5"), 9}};
    assert_int_equal(alter(fx, "cfg", bad_op, 1, true, false).error_code, RN_KERR_INVALID_REQUEST);
    assert_int_equal(alter(fx, "nope", set, 1, true, false).error_code,
                     RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    /* a failed resource changes nothing */
    rn_ctl_alter_t half[] = {{S("retention.ms"), S("7"), RN_CTL_OP_SET},
                             {S("segment.bytes"), S("1"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "cfg", half, 2, true, false).error_code, RN_KERR_INVALID_CONFIG);
    assert_null(topic(fx, "cfg")->overrides[RN_TC_RETENTION_MS]);
    /* validate_only changes nothing */
    assert_int_equal(alter(fx, "cfg", half, 1, true, true).error_code, RN_KERR_NONE);
    assert_null(topic(fx, "cfg")->overrides[RN_TC_RETENTION_MS]);

    /* legacy AlterConfigs replaces the whole set */
    rn_ctl_alter_t legacy[] = {{S("max.message.bytes"), S("5000"), 0}};
    assert_int_equal(alter(fx, "cfg", legacy, 1, false, false).error_code, RN_KERR_NONE);
    t = topic(fx, "cfg");
    assert_int_equal(t->override_count, 1);
    assert_string_equal(t->overrides[RN_TC_MAX_MESSAGE_BYTES], "5000");
    assert_null(t->overrides[RN_TC_SEGMENT_BYTES]);
    assert_null(t->overrides[RN_TC_CLEANUP_POLICY]);
    rn_ctl_alter_t legacy_null[] = {{S("max.message.bytes"), rn_str_null(), 0}};
    assert_int_equal(alter(fx, "cfg", legacy_null, 1, false, false).error_code,
                     RN_KERR_INVALID_CONFIG);

    /* a topic setting is no dynamic broker key; unknown resource types refused */
    rn_ctl_alter_resource_t broker = {RN_MD_RESOURCE_BROKER, S("0"), set, 1, false};
    rn_controller_alter_configs(&fx->ctl, &broker, 1, true, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REQUEST);
    rn_ctl_alter_resource_t other = {7, S("x"), set, 1, false};
    rn_controller_alter_configs(&fx->ctl, &other, 1, true, false, &res);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REQUEST);
}

/* ---- dynamic broker configs (metadata/dyn_broker.h) ---- */

static rn_ctl_result_t alter_broker(fixture_t *fx, const char *name, const rn_ctl_alter_t *alters,
                                    int32_t count, bool incremental) {
    rn_ctl_alter_resource_t r = {RN_MD_RESOURCE_BROKER, S(name), alters, count, false};
    rn_ctl_result_t res;
    rn_controller_alter_configs(&fx->ctl, &r, 1, incremental, false, &res);
    return res;
}

/* The broker's configuration as the node would report it: these keys. */
static bool known_key(const void *ctx, const char *key) {
    (void)ctx;
    return !strcmp(key, "log.dirs") || !strcmp(key, "num.io.threads");
}

static void test_broker_configs(void **state) {
    fixture_t *fx = *state;
    fx->ctl.broker_key_known = known_key;
    const rn_dyn_key_t L = RN_DYN_LEADER_REPLICATION_THROTTLED_RATE;
    const rn_dyn_key_t F = RN_DYN_FOLLOWER_REPLICATION_THROTTLED_RATE;
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 1, L), INT64_MAX);

    /* SET on one broker and on the cluster default; the broker's wins */
    rn_ctl_alter_t set_l[] = {{S("leader.replication.throttled.rate"), S("1000"), RN_CTL_OP_SET}};
    assert_int_equal(alter_broker(fx, "1", set_l, 1, true).error_code, RN_KERR_NONE);
    rn_ctl_alter_t set_d[] = {{S("leader.replication.throttled.rate"), S("77"), RN_CTL_OP_SET},
                              {S("follower.replication.throttled.rate"), S("2000"), RN_CTL_OP_SET}};
    assert_int_equal(alter_broker(fx, "", set_d, 2, true).error_code, RN_KERR_NONE);
    assert_string_equal(rn_dyn_text(fx->ctl.image, "1", L), "1000");
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 1, L), 1000);
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 2, L), 77);
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 1, F), 2000);
    rn_config_source_t source;
    rn_dyn_effective(fx->ctl.image, 2, L, &source);
    assert_int_equal(source, RN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
    rn_dyn_effective(fx->ctl.image, 1, L, &source);
    assert_int_equal(source, RN_CONFIG_SOURCE_DYNAMIC_BROKER);

    /* DELETE falls back to the default's; an unknown key is stored */
    rn_ctl_alter_t del[] = {
        {S("leader.replication.throttled.rate"), rn_str_null(), RN_CTL_OP_DELETE}};
    assert_int_equal(alter_broker(fx, "1", del, 1, true).error_code, RN_KERR_NONE);
    assert_null(rn_dyn_text(fx->ctl.image, "1", L));
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 1, L), 77);
    rn_ctl_alter_t custom[] = {{S("no.such.key"), S("1"), RN_CTL_OP_SET}};
    assert_int_equal(alter_broker(fx, "1", custom, 1, true).error_code, RN_KERR_NONE);

    /* legacy AlterConfigs: the entries given are the whole set */
    rn_ctl_alter_t legacy[] = {{S("follower.replication.throttled.rate"), S("555"), 0}};
    assert_int_equal(alter_broker(fx, "1", legacy, 1, false).error_code, RN_KERR_NONE);
    assert_string_equal(rn_dyn_text(fx->ctl.image, "1", F), "555");
    int32_t own = 0;
    for (int32_t n = 0; n < rn_image_broker_config_count(fx->ctl.image); n++)
        own += !strcmp(rn_image_broker_config_at(fx->ctl.image, n)->resource, "1");
    assert_int_equal(own, 1); /* no.such.key went */

    /* Kafka's refusals and messages */
    rn_ctl_alter_t bad[] = {{S("leader.replication.throttled.rate"), S("abc"), RN_CTL_OP_SET}};
    rn_ctl_result_t res = alter_broker(fx, "1", bad, 1, true);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REQUEST);
    expect_msg(res.message,
               "Invalid value abc for configuration leader.replication.throttled.rate: "
               "Not a number of type LONG");
    rn_ctl_alter_t negative[] = {
        {S("follower.replication.throttled.rate"), S("-5"), RN_CTL_OP_SET}};
    res = alter_broker(fx, "1", negative, 1, true);
    expect_msg(res.message,
               "Invalid value -5 for configuration follower.replication.throttled.rate: "
               "Value must be at least 0");
    rn_ctl_alter_t null_value[] = {
        {S("leader.replication.throttled.rate"), rn_str_null(), RN_CTL_OP_SET}};
    res = alter_broker(fx, "1", null_value, 1, true);
    expect_msg(res.message, "Null value not supported for : leader.replication.throttled.rate");
    rn_ctl_alter_t fixed[] = {{S("log.dirs"), S("/x"), RN_CTL_OP_SET},
                              {S("num.io.threads"), S("4"), RN_CTL_OP_SET}};
    res = alter_broker(fx, "1", fixed, 2, true);
    assert_int_equal(res.error_code, RN_KERR_INVALID_REQUEST);
    expect_msg(res.message,
               "Cannot update these configs dynamically: Set(log.dirs, num.io.threads)");
    rn_ctl_alter_t append[] = {{S("leader.replication.throttled.rate"), S("5"), RN_CTL_OP_APPEND}};
    res = alter_broker(fx, "1", append, 1, true);
    assert_int_equal(res.error_code, RN_KERR_UNKNOWN_SERVER_ERROR);
    assert_string_equal(res.message, "");
    res = alter_broker(fx, "abc", set_l, 1, true);
    expect_msg(res.message, "Node id must be an integer, but it is: abc");
    res = alter_broker(fx, "-1", set_l, 1, true);
    expect_msg(res.message, "Invalid negative broker ID.");
    /* a refused resource changes nothing */
    assert_string_equal(rn_dyn_text(fx->ctl.image, "1", F), "555");
    assert_null(rn_dyn_text(fx->ctl.image, "1", L));

    /* the image's bound on entries holds, whatever a request asks */
    int32_t many = RN_MD_BROKER_CONFIGS_MAX + 1;
    rn_ctl_alter_t *flood = calloc((size_t)many, sizeof *flood);
    char(*names)[32] = calloc((size_t)many, sizeof *names);
    assert_non_null(flood);
    assert_non_null(names);
    for (int32_t n = 0; n < many; n++) {
        snprintf(names[n], sizeof names[n], "custom.key.%d", n);
        flood[n] = (rn_ctl_alter_t){S(names[n]), S("1"), RN_CTL_OP_SET};
    }
    res = alter_broker(fx, "1", flood, many, true);
    assert_int_equal(res.error_code, RN_KERR_POLICY_VIOLATION);
    expect_msg(res.message, "Too many broker configs");
    assert_int_equal(alter_broker(fx, "1", flood, 8, true).error_code, RN_KERR_NONE);
    free(flood);
    free(names);
    rn_ctl_alter_t empty_key[] = {{S(""), S("1"), RN_CTL_OP_SET}};
    assert_int_equal(alter_broker(fx, "1", empty_key, 1, true).error_code, RN_KERR_INVALID_REQUEST);

    /* kept across a restart (the log replays the records) */
    reopen(fx);
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 1, F), 555);
    assert_int_equal(rn_dyn_rate(fx->ctl.image, 3, L), 77);
}

static void test_producer_ids(void **state) {
    fixture_t *fx = *state;
    int64_t first = -1;
    int32_t count = 0;
    assert_int_equal(rn_controller_allocate_producer_ids(&fx->ctl, 0, 1, &first, &count), RN_OK);
    assert_int_equal(first, 0);
    assert_int_equal(count, RN_PRODUCER_ID_BLOCK_SIZE);
    assert_int_equal(rn_controller_allocate_producer_ids(&fx->ctl, 0, 1, &first, &count), RN_OK);
    assert_int_equal(first, RN_PRODUCER_ID_BLOCK_SIZE);
    reopen(fx);
    assert_int_equal(rn_controller_allocate_producer_ids(&fx->ctl, 0, 1, &first, &count), RN_OK);
    assert_int_equal(first, 2 * RN_PRODUCER_ID_BLOCK_SIZE);
}

/* ---- replay, torn tails ---- */

static void assert_images_equal(const rn_image_t *a, const rn_image_t *b) {
    assert_int_equal(rn_image_topic_count(a), rn_image_topic_count(b));
    assert_int_equal(rn_image_partition_total(a), rn_image_partition_total(b));
    assert_int_equal(rn_image_next_offset(a), rn_image_next_offset(b));
    assert_int_equal(rn_image_next_producer_id(a), rn_image_next_producer_id(b));
    for (int32_t n = 0; n < rn_image_topic_count(a); n++) {
        const rn_image_topic_t *ta = rn_image_topic_at(a, n), *tb = rn_image_topic_at(b, n);
        assert_string_equal(ta->name, tb->name);
        assert_true(rn_uuid_eq(&ta->id, &tb->id));
        assert_int_equal(ta->partition_count, tb->partition_count);
        assert_memory_equal(ta->partitions, tb->partitions,
                            (size_t)ta->partition_count * sizeof(ta->partitions[0]));
        for (int k = 0; k < RN_TC__COUNT; k++) {
            if (ta->overrides[k] || tb->overrides[k]) {
                assert_non_null(ta->overrides[k]);
                assert_non_null(tb->overrides[k]);
                assert_string_equal(ta->overrides[k], tb->overrides[k]);
            }
        }
        assert_int_equal(ta->config.retention_ms, tb->config.retention_ms);
        assert_int_equal(ta->config.segment_bytes, tb->config.segment_bytes);
        assert_ptr_equal(rn_image_topic_by_id(b, &ta->id), tb);
    }
}

/* Runs a mix of operations; returns the image after them (a reference). */
static void mixed_operations(fixture_t *fx) {
    rn_ctl_config_t c = {S("retention.ms"), S("1234")};
    assert_int_equal(create(fx, "alpha", 3, 1, &c, 1, NULL), RN_KERR_NONE);
    assert_int_equal(create(fx, "beta", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    assert_int_equal(create(fx, "gamma", 2, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_ctl_new_partitions_t g = {S("beta"), 4, NULL, 0};
    rn_ctl_result_t res;
    rn_controller_create_partitions(&fx->ctl, &g, 1, false, &res);
    rn_ctl_alter_t set[] = {{S("segment.bytes"), S("3000000"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "gamma", set, 1, true, false).error_code, RN_KERR_NONE);
    rn_ctl_delete_topic_t del = {S("alpha"), rn_uuid_zero};
    rn_ctl_topic_result_t dres;
    rn_controller_delete_topics(&fx->ctl, &del, 1, &dres);
    int64_t first;
    int32_t count;
    assert_int_equal(rn_controller_allocate_producer_ids(&fx->ctl, 0, 1, &first, &count), RN_OK);
}

static void test_replay_equals_image(void **state) {
    fixture_t *fx = *state;
    mixed_operations(fx);
    rn_image_t *live = rn_controller_acquire(&fx->ctl);
    reopen(fx);
    assert_images_equal(live, rn_controller_image(&fx->ctl));
    assert_int_equal(fx->ctl.log.cut_bytes, 0);
    assert_int_equal(rn_image_topic_count(live), 2);
    rn_image_release(live);
    /* and it keeps working after the replay */
    assert_int_equal(create(fx, "delta", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    reopen(fx);
    assert_non_null(topic(fx, "delta"));
    assert_int_equal(topic(fx, "gamma")->config.segment_bytes, 3000000);
}

static void log_path(const fixture_t *fx, char *path, size_t len) {
    snprintf(path, len, "%s/%s/%s", fx->dir, RN_MD_LOG_DIR_NAME, RN_MD_LOG_FILE_NAME);
}

static off_t file_size(const char *path) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_torn_tail_cut(void **state) {
    fixture_t *fx = *state;
    char path[512];
    log_path(fx, path, sizeof(path));
    assert_int_equal(create(fx, "kept", 2, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_image_t *before = rn_controller_acquire(&fx->ctl);
    off_t good = file_size(path);
    assert_int_equal(create(fx, "lost", 3, 1, NULL, 0, NULL), RN_KERR_NONE);
    off_t full = file_size(path);
    assert_true(full > good + RN_MD_LOG_HEADER_BYTES);

    /* every cut inside the last batch brings back exactly the earlier state */
    for (off_t cut = good + 1; cut < full; cut += (full - good) / 7 + 1) {
        rn_controller_close(&fx->ctl);
        assert_int_equal(truncate(path, cut), 0);
        open_ctl(fx);
        assert_int_equal(fx->ctl.log.cut_bytes, (uint64_t)(cut - good));
        assert_int_equal(file_size(path), good);
        assert_images_equal(before, rn_controller_image(&fx->ctl));
        assert_null(topic(fx, "lost"));
        assert_int_equal(create(fx, "lost", 3, 1, NULL, 0, NULL), RN_KERR_NONE);
        full = file_size(path);
    }

    /* a flipped byte in the last batch fails its CRC: cut too */
    rn_controller_close(&fx->ctl);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, (long)(full - 3), SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)(full - 3), SEEK_SET);
    fputc(c ^ 0x40, f);
    /* and garbage after it */
    fseek(f, 0, SEEK_END);
    fputs("garbage", f);
    fclose(f);
    open_ctl(fx);
    assert_int_equal(file_size(path), good);
    assert_images_equal(before, rn_controller_image(&fx->ctl));
    rn_image_release(before);

    /* a log of nothing but a partial header opens empty */
    rn_controller_close(&fx->ctl);
    assert_int_equal(truncate(path, 5), 0);
    open_ctl(fx);
    assert_int_equal(rn_image_topic_count(rn_controller_image(&fx->ctl)), 0);
    assert_int_equal(file_size(path), 0);
}

/* ---- images ---- */

static void test_image_sharing_and_refs(void **state) {
    fixture_t *fx = *state;
    assert_int_equal(create(fx, "a", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    assert_int_equal(create(fx, "b", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_image_t *old = rn_controller_acquire(&fx->ctl);
    assert_ptr_equal(old, rn_image_cell_peek(&fx->ctl.cell));
    rn_ctl_alter_t set[] = {{S("retention.ms"), S("99"), RN_CTL_OP_SET}};
    assert_int_equal(alter(fx, "a", set, 1, true, false).error_code, RN_KERR_NONE);
    rn_image_t *cur = rn_controller_acquire(&fx->ctl);
    assert_ptr_not_equal(old, cur);
    /* unchanged topics are shared, changed ones are not */
    assert_ptr_equal(rn_image_topic(old, "b", 1), rn_image_topic(cur, "b", 1));
    assert_ptr_not_equal(rn_image_topic(old, "a", 1), rn_image_topic(cur, "a", 1));
    assert_int_equal(rn_image_topic(old, "a", 1)->config.retention_ms, 604800000);
    assert_int_equal(rn_image_topic(cur, "a", 1)->config.retention_ms, 99);
    /* the old image stays valid while held, even after more changes */
    rn_ctl_delete_topic_t del = {S("b"), rn_uuid_zero};
    rn_ctl_topic_result_t res;
    rn_controller_delete_topics(&fx->ctl, &del, 1, &res);
    assert_non_null(rn_image_topic(old, "b", 1));
    assert_non_null(rn_image_topic(cur, "b", 1));
    assert_null(topic(fx, "b"));
    rn_image_release(old);
    assert_non_null(rn_image_topic(cur, "b", 1));
    rn_image_release(cur);
}

static void test_many_topics(void **state) {
    fixture_t *fx = *state;
    enum { TOPICS = 3000, PER_REQUEST = 150 };
    char names[TOPICS][16];
    rn_ctl_new_topic_t req[PER_REQUEST];
    rn_ctl_topic_result_t res[PER_REQUEST];
    for (int n = 0; n < TOPICS; n += PER_REQUEST) {
        for (int m = 0; m < PER_REQUEST; m++) {
            snprintf(names[n + m], sizeof(names[0]), "topic-%d", n + m);
            req[m] = (rn_ctl_new_topic_t){
                .name = S(names[n + m]), .num_partitions = 2, .replication_factor = 1};
        }
        rn_controller_create_topics(&fx->ctl, req, PER_REQUEST, false, res);
        for (int m = 0; m < PER_REQUEST; m++)
            assert_int_equal(res[m].result.error_code, RN_KERR_NONE);
    }
    rn_ctl_delete_topic_t dels[TOPICS / 2];
    rn_ctl_topic_result_t dres[TOPICS / 2];
    for (int n = 0; n < TOPICS / 2; n++) dels[n] = (rn_ctl_delete_topic_t){S(names[2 * n]), {{0}}};
    rn_controller_delete_topics(&fx->ctl, dels, TOPICS / 2, dres);
    reopen(fx);
    const rn_image_t *img = rn_controller_image(&fx->ctl);
    assert_int_equal(rn_image_topic_count(img), TOPICS / 2);
    assert_int_equal(rn_image_partition_total(img), TOPICS);
    for (int n = 0; n < TOPICS; n++) {
        const rn_image_topic_t *t = rn_image_topic(img, names[n], strlen(names[n]));
        if (n % 2 == 0) {
            assert_null(t);
        } else {
            assert_non_null(t);
            assert_string_equal(t->name, names[n]);
            assert_ptr_equal(rn_image_topic_by_id(img, &t->id), t);
        }
    }
    for (int32_t n = 1; n < rn_image_topic_count(img); n++)
        assert_true(strcmp(rn_image_topic_at(img, n - 1)->name, rn_image_topic_at(img, n)->name) <
                    0);
}

static void test_separate_steps(void **state) {
    fixture_t *fx = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/%s", fx->dir, RN_MD_LOG_DIR_NAME, RN_MD_LOG_FILE_NAME);
    /* plan, persist, apply by hand: the image changes only at apply */
    rn_ctl_new_topic_t t = {.name = S("steps"), .num_partitions = 2, .replication_factor = 1};
    rn_ctl_topic_result_t res;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_controller_plan_create_topics(&fx->ctl, &t, 1, &batch, &res);
    assert_int_equal(res.result.error_code, RN_KERR_NONE);
    assert_int_equal(batch.count, 3); /* TopicRecord + 2 PartitionRecords */
    uint64_t base_offset = 99;
    assert_int_equal(rn_controller_persist(&fx->ctl, &batch, &base_offset), RN_OK);
    assert_int_equal(base_offset, 0);
    assert_null(topic(fx, "steps"));
    assert_int_equal(rn_controller_apply(&fx->ctl, base_offset, &batch), RN_OK);
    assert_non_null(topic(fx, "steps"));
    assert_int_equal(rn_image_next_offset(rn_controller_image(&fx->ctl)), 3);
    rn_md_batch_free(&batch);

    /* commit refuses a batch that does not apply, and writes nothing */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t size = st.st_size;
    rn_md_batch_init(&batch);
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rec.u.partition.topic_id.bytes[0] = 1; /* no such topic */
    rec.u.partition.replica_count = rec.u.partition.isr_count = 1;
    assert_int_equal(rn_md_batch_add(&batch, &rec), RN_OK);
    assert_int_equal(rn_controller_commit(&fx->ctl, &batch), RN_ERR_INVALID);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, size);
    rn_md_batch_free(&batch);
    reopen(fx);
    assert_non_null(topic(fx, "steps"));
}

static void test_duplicates_scale(void **state) {
    fixture_t *fx = *state;
    enum { NAMES = 20000 };
    static char names[NAMES][16];
    static rn_ctl_new_topic_t req[2 * NAMES];
    static rn_ctl_topic_result_t res[2 * NAMES];
    for (int n = 0; n < NAMES; n++) {
        snprintf(names[n], sizeof(names[0]), "dup-%d", n);
        req[2 * n] = req[2 * n + 1] =
            (rn_ctl_new_topic_t){.name = S(names[n]), .num_partitions = 1, .replication_factor = 1};
    }
    rn_controller_create_topics(&fx->ctl, req, 2 * NAMES, false, res);
    for (int n = 0; n < 2 * NAMES; n++)
        assert_int_equal(res[n].result.error_code, RN_KERR_INVALID_REQUEST);
    assert_int_equal(rn_image_topic_count(rn_controller_image(&fx->ctl)), 0);

    /* the same topic named by name and by id is deleted once */
    assert_int_equal(create(fx, "once", 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    rn_ctl_delete_topic_t dels[2] = {{S("once"), rn_uuid_zero},
                                     {rn_str_null(), topic(fx, "once")->id}};
    rn_ctl_topic_result_t dres[2];
    rn_controller_delete_topics(&fx->ctl, dels, 2, dres);
    assert_int_equal(dres[0].result.error_code, RN_KERR_NONE);
    assert_int_equal(dres[1].result.error_code, RN_KERR_INVALID_REQUEST);
    assert_null(topic(fx, "once"));
}

typedef struct reader_ctx {
    rn_controller_t *ctl;
    atomic_int *stop;
    long reads;
} reader_ctx_t;

static void *reader(void *arg) {
    reader_ctx_t *rc = arg;
    while (!atomic_load(rc->stop)) {
        rn_image_t *img = rn_controller_acquire(rc->ctl);
        /* topics t0 .. t(count-1) all exist in any published image */
        int32_t count = rn_image_topic_count(img);
        for (int32_t n = 0; n < count; n++) {
            char name[16];
            snprintf(name, sizeof(name), "t%04d", n);
            if (!rn_image_topic(img, name, strlen(name))) abort();
        }
        rn_image_release(img);
        rc->reads++;
    }
    return NULL;
}

static void test_concurrent_readers(void **state) {
    fixture_t *fx = *state;
    enum { READERS = 4, CREATES = 150 };
    atomic_int stop;
    atomic_init(&stop, 0);
    pthread_t threads[READERS];
    reader_ctx_t ctx[READERS];
    for (int n = 0; n < READERS; n++) {
        ctx[n] = (reader_ctx_t){&fx->ctl, &stop, 0};
        assert_int_equal(pthread_create(&threads[n], NULL, reader, &ctx[n]), 0);
    }
    for (int n = 0; n < CREATES; n++) {
        char name[16];
        snprintf(name, sizeof(name), "t%04d", n);
        assert_int_equal(create(fx, name, 1, 1, NULL, 0, NULL), RN_KERR_NONE);
    }
    atomic_store(&stop, 1);
    long reads = 0;
    for (int n = 0; n < READERS; n++) {
        pthread_join(threads[n], NULL);
        reads += ctx[n].reads;
    }
    assert_true(reads > 0);
    assert_int_equal(rn_image_topic_count(rn_controller_image(&fx->ctl)), CREATES);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    assert_non_null(mkdtemp(tmp_root));
    rn_topic_config_base_init(&base);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_round_trip),
        T(test_create_topic),
        T(test_create_errors),
        T(test_create_assignments),
        T(test_delete_topics),
        T(test_create_partitions),
        T(test_alter_configs),
        T(test_broker_configs),
        T(test_producer_ids),
        T(test_replay_equals_image),
        T(test_torn_tail_cut),
        T(test_image_sharing_and_refs),
        T(test_many_topics),
        T(test_concurrent_readers),
        T(test_separate_steps),
        T(test_duplicates_scale),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_root);
    return failed;
}
