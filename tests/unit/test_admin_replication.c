/*
 * test_admin_replication.c: replication as one node sees it in the
 * metadata image (src/admin/replication.c), on pure images: the gauges
 * (leader, under-replicated, under and at min ISR, leaderless, out of
 * sync), the readiness rule (replicas with a leader outside the ISR, named
 * a few at a time) and the restart rule (partitions that would fall below
 * min.insync.replicas, RF 1 included, with their reasons). Owns its images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/md_commit.h"

#include "admin/replication.h"

#include <stdlib.h>
#include <string.h>

#define ME 2

static rn_topic_config_base_t base;

typedef struct fx {
    rn_image_t *img;
    rn_md_batch_t batch;
    uint8_t next_id;
} fx_t;

static int setup(void **state) {
    rn_topic_config_base_init(&base);
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->img = rn_image_empty(&base);
    rn_md_batch_init(&fx->batch);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fx_t *fx = *state;
    rn_image_release(fx->img);
    rn_md_batch_free(&fx->batch);
    free(fx);
    return 0;
}

static void add(fx_t *fx, const rn_md_record_t *rec) {
    assert_int_equal(rn_md_batch_add(&fx->batch, rec), RN_OK);
}

/* A topic with min.insync.replicas `min_isr` (0: the default, 1). */
static rn_uuid_t topic(fx_t *fx, const char *name, int min_isr) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.name = rn_str_from_cstr(name);
    rec.u.topic.topic_id.bytes[0] = ++fx->next_id;
    rn_uuid_t id = rec.u.topic.topic_id;
    add(fx, &rec);
    if (min_isr > 0) {
        static const char *const text[] = {"0", "1", "2", "3"};
        assert_true(min_isr < 4);
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_CONFIG;
        rec.u.config.resource_type = RN_MD_RESOURCE_TOPIC;
        rec.u.config.resource_name = rn_str_from_cstr(name);
        rec.u.config.key = rn_str_from_cstr("min.insync.replicas");
        rec.u.config.value = rn_str_from_cstr(text[min_isr]);
        add(fx, &rec);
    }
    return id;
}

/* Partition `index` of topic `id`: replicas, ISR (lists end at 0), leader. */
static void part(fx_t *fx, rn_uuid_t id, int32_t index, int32_t leader, const int32_t *replicas,
                 const int32_t *isr) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rn_md_partition_record_t *p = &rec.u.partition;
    p->topic_id = id;
    p->partition = index;
    p->leader = leader;
    for (; replicas[p->replica_count]; p->replica_count++)
        p->replicas[p->replica_count] = replicas[p->replica_count];
    for (; isr[p->isr_count]; p->isr_count++) p->isr[p->isr_count] = isr[p->isr_count];
    add(fx, &rec);
}

#define L(...) ((const int32_t[]){__VA_ARGS__, 0})

/*
 * "ok": 3 partitions, RF 3, min ISR 2, full ISRs; ME leads p0.
 * "hurt": min ISR 2; p0 led by ME, ISR [2,3] (under-replicated, at min);
 *   p1 led by ME, ISR [2] (under min); p2 led by 1, ME out of the ISR;
 *   p3 no leader, ISR [3] (ME out, leaderless).
 * "solo": RF 1 on ME, default min ISR 1.
 * "elsewhere": replicas [1,3]: nothing of ME's.
 */
static void build(fx_t *fx) {
    rn_uuid_t ok = topic(fx, "ok", 2);
    part(fx, ok, 0, ME, L(2, 1, 3), L(2, 1, 3));
    part(fx, ok, 1, 1, L(1, 2, 3), L(1, 2, 3));
    part(fx, ok, 2, 3, L(3, 1, 2), L(3, 1, 2));
    rn_uuid_t hurt = topic(fx, "hurt", 2);
    part(fx, hurt, 0, ME, L(2, 3, 1), L(2, 3));
    part(fx, hurt, 1, ME, L(2, 3, 1), L(2));
    part(fx, hurt, 2, 1, L(1, 2, 3), L(1, 3));
    part(fx, hurt, 3, -1, L(3, 2, 1), L(3));
    rn_uuid_t solo = topic(fx, "solo", 0);
    part(fx, solo, 0, ME, L(2), L(2));
    rn_uuid_t elsewhere = topic(fx, "elsewhere", 0);
    part(fx, elsewhere, 0, -1, L(1, 3), L(1));
    mc_commit(&fx->img, &fx->batch);
}

static void test_counts(void **state) {
    fx_t *fx = *state;
    build(fx);
    rn_admin_repl_counts_t c;
    rn_admin_repl_count(fx->img, ME, &c);
    assert_int_equal(c.leader, 4);           /* ok-0, hurt-0, hurt-1, solo-0 */
    assert_int_equal(c.under_replicated, 2); /* hurt-0, hurt-1 */
    assert_int_equal(c.under_min_isr, 1);    /* hurt-1 */
    assert_int_equal(c.at_min_isr, 2);       /* hurt-0; solo-0 (1 of min 1) */
    assert_int_equal(c.leaderless, 1);       /* hurt-3 (elsewhere-0 is not ME's) */
    assert_int_equal(c.out_of_sync, 2);      /* hurt-2, hurt-3 */
    rn_admin_repl_count(fx->img, 1, &c);
    assert_int_equal(c.leader, 2); /* ok-1, hurt-2 */
    assert_int_equal(c.under_replicated, 1);
    assert_int_equal(c.leaderless, 2);   /* hurt-3, elsewhere-0 */
    assert_int_equal(c.out_of_sync, 3);  /* hurt-0, hurt-1, hurt-3 */
    rn_admin_repl_count(fx->img, 9, &c); /* a node with nothing (controller only) */
    assert_int_equal(c.leader + c.out_of_sync + c.leaderless, 0);
}

static void test_single_node_in_sync(void **state) {
    fx_t *fx = *state;
    rn_uuid_t t = topic(fx, "t", 0);
    for (int32_t p = 0; p < 3; p++) part(fx, t, p, 1, L(1), L(1));
    mc_commit(&fx->img, &fx->batch);
    char buf[256];
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    rn_admin_repl_counts_t c;
    rn_admin_repl_count(fx->img, 1, &c);
    assert_int_equal(c.under_replicated, 0);
    assert_int_equal(c.leader, 3);
}

static void test_not_in_sync(void **state) {
    fx_t *fx = *state;
    build(fx);
    char buf[256];
    /* hurt-3 has no leader: waiting for it would never end. */
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, ME, buf, sizeof buf), 1);
    assert_string_equal(buf, "hurt-2");
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, 3, buf, sizeof buf), 1);
    assert_string_equal(buf, "hurt-1");
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, 9, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, 1, buf, sizeof buf), 2);
    assert_string_equal(buf, "hurt-0, hurt-1");
}

static void test_not_in_sync_named_few(void **state) {
    fx_t *fx = *state;
    rn_uuid_t t = topic(fx, "many", 0);
    for (int32_t p = 0; p < 8; p++) part(fx, t, p, 1, L(1, ME), L(1));
    mc_commit(&fx->img, &fx->batch);
    char buf[256];
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, ME, buf, sizeof buf), 8);
    assert_string_equal(buf, "many-0, many-1, many-2, many-3, many-4, and 3 more");
    char tiny[8]; /* cut, never overrun */
    assert_int_equal(rn_admin_repl_not_in_sync(fx->img, ME, tiny, sizeof tiny), 8);
    assert_string_equal(tiny, "many-0,");
}

static void test_stop_unsafe(void **state) {
    fx_t *fx = *state;
    build(fx);
    char buf[1024];
    /* ok-*: 3 - 1 >= 2. hurt-0: [2,3] -> 1 < 2. hurt-1: [2] -> 0. hurt-2
       and hurt-3: ME is not in their ISR. solo-0: RF 1. */
    assert_int_equal(rn_admin_repl_stop_unsafe(fx->img, ME, buf, sizeof buf), 3);
    assert_string_equal(buf, "hurt-0: ISR [2,3] would shrink to 1, below min.insync.replicas 2\n"
                             "hurt-1: ISR [2] would shrink to 0, below min.insync.replicas 2\n"
                             "solo-0: no other replica: unavailable until this node is back\n");
    /* Node 1: in ok-* (3 each) and hurt-2 ([1,3] -> 1 < 2); elsewhere-0's
       ISR [1] with min ISR 1 -> 0. */
    assert_int_equal(rn_admin_repl_stop_unsafe(fx->img, 1, buf, sizeof buf), 2);
    assert_string_equal(buf, "elsewhere-0: ISR [1] would shrink to 0, below min.insync.replicas 1\n"
                             "hurt-2: ISR [1,3] would shrink to 1, below min.insync.replicas 2\n");
    assert_int_equal(rn_admin_repl_stop_unsafe(fx->img, 9, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

static void test_stop_safe_full_isr(void **state) {
    fx_t *fx = *state;
    rn_uuid_t t = topic(fx, "t", 2);
    part(fx, t, 0, 1, L(1, 2, 3), L(1, 2, 3));
    rn_uuid_t u = topic(fx, "u", 0); /* RF 2, min ISR 1 */
    part(fx, u, 0, 2, L(2, 3), L(2, 3));
    mc_commit(&fx->img, &fx->batch);
    char buf[256];
    for (int32_t id = 1; id <= 3; id++)
        assert_int_equal(rn_admin_repl_stop_unsafe(fx->img, id, buf, sizeof buf), 0);
}

static void test_stop_unsafe_named_few(void **state) {
    fx_t *fx = *state;
    rn_uuid_t t = topic(fx, "rf1", 0);
    for (int32_t p = 0; p < 7; p++) part(fx, t, p, ME, L(ME), L(ME));
    mc_commit(&fx->img, &fx->batch);
    char buf[1024];
    assert_int_equal(rn_admin_repl_stop_unsafe(fx->img, ME, buf, sizeof buf), 7);
    int lines = 0;
    for (const char *c = buf; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, RN_ADMIN_HEALTH_PARTITIONS_NAMED + 1);
    assert_non_null(strstr(buf, "rf1-4: no other replica"));
    assert_null(strstr(buf, "rf1-5"));
    assert_non_null(strstr(buf, "\nand 2 more\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_node_in_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_in_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_in_sync_named_few, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_unsafe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_safe_full_isr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_unsafe_named_few, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
