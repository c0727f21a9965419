/*
 * test_md_controller_brokers.c: the controller's broker decisions on pure
 * images: registration (fenced, epoch from the offset, duplicate while the
 * lease lives, same incarnation kept), fence and unfence elections with the
 * last ISR member waiting, controlled shutdown, leases, and seeded random
 * sequences checking that a fenced, shutting-down or unregistered broker
 * never leads, leaders stay in the ISR and leader epochs only grow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/md_commit.h"

#include "base/log.h"
#include "metadata/controller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_MS 9000

typedef mc_ctl_t fx_t;

static rn_str_t S(const char *s) { return rn_str_from_cstr(s); }

static int setup(void **state) {
    fx_t *fx = calloc(1, sizeof(*fx));
    mc_ctl_init(fx);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    mc_ctl_free(*state);
    free(*state);
    return 0;
}

static void commit(fx_t *fx) { mc_ctl_commit(fx); }

static rn_ctl_broker_reg_t reg_of(int32_t id, uint8_t incarnation, const char *rack) {
    rn_ctl_broker_reg_t reg = {
        id, {{incarnation}}, &mc_endpoint, 1, rack ? S(rack) : rn_str_null(), {{0}}};
    return reg;
}

static int16_t do_register(fx_t *fx, const rn_ctl_broker_reg_t *reg, int64_t now_ms, int64_t *epoch,
                           char *msg) {
    rn_ctl_result_t res;
    int16_t code = rn_ctl_plan_register(fx->img, &fx->leases, reg, rn_image_next_offset(fx->img),
                                        now_ms, SESSION_MS, &fx->batch, epoch, &res);
    if (msg) strcpy(msg, res.message);
    if (code == RN_KERR_NONE) {
        if (fx->batch.count) commit(fx);
        rn_ctl_leases_touch(&fx->leases, reg->broker_id, now_ms);
    }
    return code;
}

/* Registers and unfences broker id. */
static void join(fx_t *fx, int32_t id, int64_t now_ms) {
    rn_ctl_broker_reg_t reg = reg_of(id, (uint8_t)id, NULL);
    int64_t epoch = 0;
    assert_int_equal(do_register(fx, &reg, now_ms, &epoch, NULL), RN_KERR_NONE);
    assert_int_equal(rn_ctl_plan_unfence(fx->img, id, &fx->batch), RN_OK);
    commit(fx);
}

/* A topic with one partition per replica list given (leader = first). */
static void add_topic(fx_t *fx, const char *name, uint8_t id_byte, int32_t parts, int16_t rf,
                      const int32_t *replicas) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.name = S(name);
    rec.u.topic.topic_id.bytes[0] = id_byte;
    rn_uuid_t id = rec.u.topic.topic_id;
    assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    for (int32_t p = 0; p < parts; p++) {
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_PARTITION;
        rec.u.partition.topic_id = id;
        rec.u.partition.partition = p;
        rec.u.partition.leader = replicas[p * rf];
        rec.u.partition.replica_count = rec.u.partition.isr_count = rf;
        memcpy(rec.u.partition.replicas, &replicas[p * rf], (size_t)rf * 4);
        memcpy(rec.u.partition.isr, &replicas[p * rf], (size_t)rf * 4);
        assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    }
    commit(fx);
}

static const rn_image_partition_t *part(fx_t *fx, const char *name, int32_t p) {
    return &rn_image_topic(fx->img, name, strlen(name))->partitions[p];
}

static void assert_isr(const rn_image_partition_t *pt, int16_t count, const int32_t *ids) {
    assert_int_equal(pt->isr_count, count);
    assert_memory_equal(pt->isr, ids, (size_t)count * 4);
}

static void test_register(void **state) {
    fx_t *fx = *state;
    char msg[RN_CTL_MESSAGE_BYTES];
    rn_ctl_broker_reg_t reg = reg_of(1, 7, "r1");
    int64_t epoch = -1;
    uint64_t offset = rn_image_next_offset(fx->img);
    assert_int_equal(do_register(fx, &reg, 1000, &epoch, NULL), RN_KERR_NONE);
    assert_int_equal(epoch, (int64_t)offset);
    const rn_image_broker_t *b = rn_image_broker(fx->img, 1);
    assert_int_equal(b->epoch, epoch);
    assert_true(b->fenced); /* fenced until it catches up */
    assert_string_equal(b->rack, "r1");
    assert_string_equal(b->endpoints[0].host, "localhost");

    /* the same incarnation, nothing changed: same epoch, no record */
    uint64_t before = rn_image_next_offset(fx->img);
    int64_t again = -1;
    assert_int_equal(do_register(fx, &reg, 2000, &again, NULL), RN_KERR_NONE);
    assert_int_equal(again, epoch);
    assert_int_equal(rn_image_next_offset(fx->img), before);

    /* another incarnation while the lease lives */
    rn_ctl_broker_reg_t other = reg_of(1, 8, "r1");
    assert_int_equal(do_register(fx, &other, 2000 + SESSION_MS - 1, &again, msg),
                     RN_KERR_DUPLICATE_BROKER_REGISTRATION);
    assert_string_equal(msg, "Another broker is registered with that broker id.");
    assert_int_equal(fx->batch.count, 0);
    /* ... and after it expired: a new registration, a new epoch */
    rn_md_batch_t *batch = &fx->batch;
    rn_md_record_t filler;
    memset(&filler, 0, sizeof(filler));
    filler.type = RN_MD_PRODUCER_IDS;
    filler.u.producer_ids.next_producer_id = 1000;
    assert_int_equal(rn_md_batch_add(batch, &filler), RN_OK); /* epoch = its offset */
    rn_ctl_result_t res;
    offset = rn_image_next_offset(fx->img);
    assert_int_equal(rn_ctl_plan_register(fx->img, &fx->leases, &other, offset, 2000 + SESSION_MS,
                                          SESSION_MS, batch, &again, &res),
                     RN_KERR_NONE);
    assert_int_equal(again, (int64_t)offset + 1);
    commit(fx);
    b = rn_image_broker(fx->img, 1);
    assert_int_equal(b->epoch, again);
    assert_int_equal(b->incarnation_id.bytes[0], 8);
    /* the same incarnation with another rack: a new registration */
    other.rack = S("r2");
    int64_t third = -1;
    assert_int_equal(do_register(fx, &other, 20000, &third, NULL), RN_KERR_NONE);
    assert_true(third > again);
    assert_string_equal(rn_image_broker(fx->img, 1)->rack, "r2");
}

static void test_fence_unfence_elections(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 3; id++) join(fx, id, 0);
    const int32_t replicas[] = {1, 2, 3, 2, 1, 3};
    add_topic(fx, "t", 1, 2, 3, replicas);
    int32_t epoch0 = part(fx, "t", 0)->leader_epoch;

    assert_int_equal(rn_ctl_plan_fence(fx->img, 1, &fx->batch), RN_OK);
    commit(fx);
    assert_true(rn_image_broker(fx->img, 1)->fenced);
    assert_int_equal(part(fx, "t", 0)->leader, 2); /* first in replica order, in ISR */
    assert_int_equal(part(fx, "t", 0)->leader_epoch, epoch0 + 1);
    assert_isr(part(fx, "t", 0), 2, (const int32_t[]){2, 3});
    assert_int_equal(part(fx, "t", 1)->leader, 2); /* a follower there: only leaves the ISR */
    assert_isr(part(fx, "t", 1), 2, (const int32_t[]){2, 3});
    /* fencing a fenced broker writes nothing */
    assert_int_equal(rn_ctl_plan_fence(fx->img, 1, &fx->batch), RN_OK);
    assert_int_equal(fx->batch.count, 0);

    assert_int_equal(rn_ctl_plan_fence(fx->img, 2, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, 3);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});
    assert_int_equal(part(fx, "t", 1)->leader, 3);

    /* the last ISR member: no leader, the ISR keeps it */
    assert_int_equal(rn_ctl_plan_fence(fx->img, 3, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});
    int32_t epoch_waiting = part(fx, "t", 0)->leader_epoch;

    /* broker 1 comes back but is not in the ISR: the partition waits */
    assert_int_equal(rn_ctl_plan_unfence(fx->img, 1, &fx->batch), RN_OK);
    assert_int_equal(fx->batch.count, 1); /* only the UnfenceBrokerRecord */
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
    /* broker 3 comes back: it leads again */
    assert_int_equal(rn_ctl_plan_unfence(fx->img, 3, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, 3);
    assert_int_equal(part(fx, "t", 1)->leader, 3);
    assert_true(part(fx, "t", 0)->leader_epoch > epoch_waiting);
    assert_int_equal(rn_ctl_plan_fence(fx->img, 42, &fx->batch), RN_ERR_NOT_FOUND);
    assert_int_equal(rn_ctl_plan_unfence(fx->img, 42, &fx->batch), RN_ERR_NOT_FOUND);
}

static void test_controlled_shutdown(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 2; id++) join(fx, id, 0);
    const int32_t replicas[] = {1, 2};
    add_topic(fx, "t", 1, 1, 2, replicas);
    assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, 1, &fx->batch), RN_OK);
    commit(fx);
    const rn_image_broker_t *b = rn_image_broker(fx->img, 1);
    assert_non_null(b);
    assert_true(b->in_controlled_shutdown);
    assert_false(b->fenced);
    assert_int_equal(part(fx, "t", 0)->leader, 2);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){2});
    assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, 1, &fx->batch), RN_OK);
    assert_int_equal(fx->batch.count, 0);
    /* 2 shuts down too, as the last ISR member: leaderless, 2 kept */
    assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, 2, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){2});
    /* a fenced broker that is shutting down is not elected on unfence */
    assert_int_equal(rn_ctl_plan_fence(fx->img, 2, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(rn_ctl_plan_unfence(fx->img, 2, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
}

/* A broker back with another data folder (its volume lost) holds none of
   its old records: it leaves every ISR, even as the last member, so it is
   never elected leader of data it does not have; the same folder coming
   back keeps its last membership, and so does one that names no folder. */
static void test_replaced_folder_forgets_isr(void **state) {
    fx_t *fx = *state;
    rn_ctl_broker_reg_t reg[3];
    for (int32_t id = 1; id <= 3; id++) {
        reg[id - 1] = reg_of(id, (uint8_t)id, NULL);
        reg[id - 1].directory_id.bytes[0] = (uint8_t)(0x10 + id);
        int64_t epoch = 0;
        assert_int_equal(do_register(fx, &reg[id - 1], 0, &epoch, NULL), RN_KERR_NONE);
        assert_int_equal(rn_ctl_plan_unfence(fx->img, id, &fx->batch), RN_OK);
        commit(fx);
    }
    assert_int_equal(rn_image_broker(fx->img, 2)->directory_id.bytes[0], 0x12);
    const int32_t replicas[] = {1, 2, 3, 3, 1, 2};
    add_topic(fx, "t", 1, 2, 3, replicas);
    add_topic(fx, "solo", 2, 1, 1, (const int32_t[]){3});
    /* 1 and 2 fenced: broker 3 is the last ISR member of t-0 and t-1 */
    for (int32_t id = 1; id <= 2; id++) {
        assert_int_equal(rn_ctl_plan_fence(fx->img, id, &fx->batch), RN_OK);
        commit(fx);
    }
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});
    assert_int_equal(rn_ctl_plan_fence(fx->img, 3, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});

    /* 3 registers again from the same folder: it keeps its membership */
    rn_ctl_broker_reg_t same = reg[2];
    same.incarnation_id.bytes[1] = 1;
    int64_t epoch = 0;
    assert_int_equal(do_register(fx, &same, 2 * SESSION_MS, &epoch, NULL), RN_KERR_NONE);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});
    /* ... and from a folder it does not name (zero: an older broker): nothing forgotten */
    rn_ctl_broker_reg_t unknown = reg[2];
    unknown.incarnation_id.bytes[1] = 3;
    memset(&unknown.directory_id, 0, sizeof unknown.directory_id);
    assert_int_equal(do_register(fx, &unknown, 3 * SESSION_MS, &epoch, NULL), RN_KERR_NONE);
    assert_isr(part(fx, "t", 0), 1, (const int32_t[]){3});
    assert_int_equal(do_register(fx, &same, 5 * SESSION_MS, &epoch, NULL), RN_KERR_NONE);

    /* 3 registers from a new folder: t-0, t-1 and solo-0 lose it */
    rn_ctl_broker_reg_t fresh = reg[2];
    fresh.incarnation_id.bytes[1] = 2;
    fresh.directory_id.bytes[0] = 0x99;
    assert_int_equal(do_register(fx, &fresh, 7 * SESSION_MS, &epoch, NULL), RN_KERR_NONE);
    assert_int_equal(rn_image_broker(fx->img, 3)->directory_id.bytes[0], 0x99);
    for (int32_t p = 0; p < 2; p++) {
        assert_int_equal(part(fx, "t", p)->leader, -1);
        assert_int_equal(part(fx, "t", p)->isr_count, 0);
    }
    assert_int_equal(part(fx, "solo", 0)->isr_count, 0);
    /* unfenced, it leads nothing: the partitions wait for an unclean election */
    assert_int_equal(rn_ctl_plan_unfence(fx->img, 3, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "t", 0)->leader, -1);
    assert_int_equal(part(fx, "solo", 0)->leader, -1);
}

static void test_leases(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 3; id++) join(fx, id, 100);
    rn_ctl_leases_t leases;
    rn_ctl_leases_init(&leases, fx->img, 1000); /* a new active controller */
    int32_t ids[RN_CTL_BROKERS_MAX];
    assert_int_equal(
        rn_ctl_leases_expired(&leases, fx->img, 1000 + SESSION_MS - 1, SESSION_MS, ids), 0);
    rn_ctl_leases_touch(&leases, 2, 5000);
    rn_ctl_leases_touch(&leases, 2, 4000); /* time never goes back */
    assert_true(rn_ctl_leases_live(&leases, 2, 5000 + SESSION_MS - 1, SESSION_MS));
    assert_int_equal(rn_ctl_leases_expired(&leases, fx->img, 1000 + SESSION_MS, SESSION_MS, ids),
                     2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    /* fenced brokers are not reported again */
    assert_int_equal(rn_ctl_plan_fence(fx->img, 1, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(rn_ctl_leases_expired(&leases, fx->img, 1000 + SESSION_MS, SESSION_MS, ids),
                     1);
    assert_int_equal(ids[0], 3);
    rn_ctl_leases_forget(&leases, 3);
    assert_false(rn_ctl_leases_live(&leases, 3, 0, SESSION_MS));
    assert_int_equal(leases.count, 2);
}

/* ---- random sequences ---- */

static uint64_t rng_next(uint64_t *rng) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return *rng;
}

static int32_t below(uint64_t *rng, int32_t n) { return (int32_t)(rng_next(rng) % (uint64_t)n); }

static void check_invariants(const rn_image_t *prev, const rn_image_t *img, uint64_t seed) {
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        const rn_image_topic_t *old = rn_image_topic_by_id(prev, &topic->id);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *pt = &topic->partitions[p];
            if (pt->isr_count < 1) fail_msg("seed %llu: empty ISR", (unsigned long long)seed);
            if (pt->leader >= 0) {
                bool in_isr = false;
                for (int16_t n = 0; n < pt->isr_count; n++) in_isr |= pt->isr[n] == pt->leader;
                if (!in_isr)
                    fail_msg("seed %llu: leader outside the ISR", (unsigned long long)seed);
                if (!rn_image_broker_usable(rn_image_broker(img, pt->leader)))
                    fail_msg("seed %llu: %s-%d led by unusable broker %d", (unsigned long long)seed,
                             topic->name, p, pt->leader);
            }
            if (old && p < old->partition_count &&
                pt->leader_epoch < old->partitions[p].leader_epoch)
                fail_msg("seed %llu: leader epoch went back", (unsigned long long)seed);
        }
    }
}

static void random_topic(fx_t *fx, uint64_t *rng, int32_t *topics) {
    int32_t usable[RN_CTL_BROKERS_MAX], count = 0;
    for (int32_t n = 0; n < rn_image_broker_count(fx->img); n++) {
        const rn_image_broker_t *b = rn_image_broker_at(fx->img, n);
        if (rn_image_broker_usable(b)) usable[count++] = b->id;
    }
    if (count == 0) return;
    int16_t rf = (int16_t)(1 + below(rng, count < 3 ? count : 3));
    int32_t parts = 1 + below(rng, 4);
    int32_t replicas[4 * 3];
    for (int32_t p = 0; p < parts; p++) {
        int32_t first = below(rng, count);
        for (int16_t r = 0; r < rf; r++) replicas[p * rf + r] = usable[(first + r) % count];
    }
    char name[16];
    snprintf(name, sizeof(name), "t%d", *topics);
    add_topic(fx, name, (uint8_t)(++*topics), parts, rf, replicas);
}

static void random_step(fx_t *fx, uint64_t *rng, int64_t now_ms, int32_t *topics) {
    int32_t id = 1 + below(rng, 5);
    int kind = below(rng, 6);
    if (kind == 0 || !rn_image_broker(fx->img, id)) {
        rn_ctl_broker_reg_t reg = reg_of(id, (uint8_t)below(rng, 3), NULL);
        int64_t epoch = 0;
        (void)do_register(fx, &reg, now_ms, &epoch, NULL);
    } else if (kind == 1) {
        assert_int_equal(rn_ctl_plan_fence(fx->img, id, &fx->batch), RN_OK);
    } else if (kind == 2 || kind == 3) {
        assert_int_equal(rn_ctl_plan_unfence(fx->img, id, &fx->batch), RN_OK);
    } else if (kind == 4) {
        assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, id, &fx->batch), RN_OK);
    } else if (*topics < 200) {
        random_topic(fx, rng, topics);
    }
    if (fx->batch.count) commit(fx);
}

static void test_random_sequences(void **state) {
    fx_t *fx = *state;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull;
        mc_ctl_reset(fx);
        int32_t topics = 0;
        for (int step = 0; step < 150; step++) {
            rn_image_t *prev = fx->img;
            rn_image_retain(prev);
            random_step(fx, &rng, step * 1000, &topics);
            check_invariants(prev, fx->img, seed);
            rn_image_release(prev);
        }
    }
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_register),
        T(test_fence_unfence_elections),
        T(test_controlled_shutdown),
        T(test_replaced_folder_forgets_isr),
        T(test_leases),
        T(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
