/*
 * test_md_elect.c: the controller's leader elections on pure images:
 * ElectLeaders' preferred and unclean plans (codes, messages, the "all
 * partitions" form, an unknown type, the bound on changes), the leader
 * balance and the automatic preferred-leader election, unclean elections
 * when a broker is fenced, shuts down or is unfenced and the periodic ones,
 * and seeded random sequences checking that a leader is always usable and
 * in the ISR, epochs only grow, and a leader from outside the ISR comes
 * only from an unclean election.
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

/* Registers broker id (incarnation, at now_ms: past the old lease, a new
   incarnation replaces a registration) and unfences it. */
static void join_at(fx_t *fx, int32_t id, uint8_t incarnation, int64_t now_ms) {
    mc_ctl_join(fx, id, incarnation, now_ms, 9000, true);
}

static void join(fx_t *fx, int32_t id) { join_at(fx, id, (uint8_t)id, 0); }

static void fence(fx_t *fx, int32_t id) {
    assert_int_equal(rn_ctl_plan_fence(fx->img, id, &fx->batch), RN_OK);
    commit(fx);
}

static void unfence(fx_t *fx, int32_t id) {
    assert_int_equal(rn_ctl_plan_unfence(fx->img, id, &fx->batch), RN_OK);
    commit(fx);
}

/* A topic with one partition per replica list (leader = first, ISR = all),
   and unclean.leader.election.enable=true when `unclean`. */
static void add_topic(fx_t *fx, const char *name, uint8_t id_byte, int32_t parts, int16_t rf,
                      const int32_t *replicas, bool unclean) {
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
    if (!unclean) return;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_CONFIG;
    rec.u.config = (rn_md_config_record_t){RN_MD_RESOURCE_TOPIC, S(name),
                                           S("unclean.leader.election.enable"), S("true")};
    assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    commit(fx);
}

static const rn_image_topic_t *topic_of(fx_t *fx, const char *name) {
    const rn_image_topic_t *t = rn_image_topic(fx->img, name, strlen(name));
    assert_non_null(t);
    return t;
}

static const rn_image_partition_t *part(fx_t *fx, const char *name, int32_t p) {
    return &topic_of(fx, name)->partitions[p];
}

/* The ISR of a partition set as a leader's AlterPartition would. */
static void set_isr(fx_t *fx, const char *name, int32_t p, int16_t count, const int32_t *ids) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = topic_of(fx, name)->id;
    rec.u.partition_change.partition = p;
    rec.u.partition_change.leader = RN_MD_LEADER_NO_CHANGE;
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    rec.u.partition_change.isr_count = count;
    memcpy(rec.u.partition_change.isr, ids, (size_t)count * 4);
    assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    commit(fx);
}

static void assert_isr(const rn_image_partition_t *pt, int16_t count, const int32_t *ids) {
    assert_int_equal(pt->isr_count, count);
    assert_memory_equal(pt->isr, ids, (size_t)count * 4);
}

/* ElectLeaders of the partitions of one topic (NULL name: all). */
static void elect(fx_t *fx, int8_t type, const char *name, const int32_t *parts, int32_t count,
                  rn_ctl_elect_reply_t *reply) {
    rn_ctl_elect_topic_t topic = {name ? S(name) : rn_str_null(), parts, count};
    rn_ctl_elect_request_t req = {type, name ? &topic : NULL, name ? 1 : 0, false, 0};
    assert_int_equal(rn_ctl_plan_elect_leaders(fx->img, &req, reply, &fx->batch), RN_OK);
}

static const char *message_of(const rn_ctl_elect_reply_t *reply, int32_t t, int32_t n, char *buf) {
    const char *m = rn_ctl_elect_message(&reply->results[reply->topics[t].first + n],
                                         reply->topics[t].name, buf, 256);
    return m ? m : "(null)";
}

/* Three brokers; "t": partitions preferring 1, 2 and 3. */
static void three(fx_t *fx) {
    for (int32_t id = 1; id <= 3; id++) join(fx, id);
    const int32_t replicas[] = {1, 2, 3, 2, 3, 1, 3, 1, 2};
    add_topic(fx, "t", 1, 3, 3, replicas, false);
}

static void test_preferred_plan(void **state) {
    fx_t *fx = *state;
    three(fx);
    rn_ctl_elect_reply_t reply;
    char buf[256];
    const int32_t all3[] = {0, 1, 2};
    elect(fx, RN_CTL_ELECT_PREFERRED, "t", all3, 3, &reply);
    assert_int_equal(reply.result.error_code, RN_KERR_NONE);
    assert_int_equal(reply.topic_count, 1);
    assert_string_equal(reply.topics[0].name, "t");
    assert_int_equal(reply.topics[0].count, 3);
    for (int32_t n = 0; n < 3; n++) {
        assert_int_equal(reply.results[n].partition, n);
        assert_int_equal(reply.results[n].error_code, RN_KERR_ELECTION_NOT_NEEDED);
    }
    assert_string_equal(message_of(&reply, 0, 0, buf),
                        "Leader election not needed for topic partition.");
    assert_int_equal(fx->batch.count, 0);
    rn_ctl_elect_reply_free(&reply);

    /* broker 2 leaves: partition 1 goes to 3; while 2 is away (and out of
       the ISR after it returns) its preferred election is not possible */
    fence(fx, 2);
    assert_int_equal(part(fx, "t", 1)->leader, 3);
    int32_t epoch = part(fx, "t", 1)->leader_epoch;
    const int32_t one[] = {1};
    elect(fx, RN_CTL_ELECT_PREFERRED, "t", one, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
    assert_string_equal(message_of(&reply, 0, 0, buf), "The preferred leader was not available.");
    rn_ctl_elect_reply_free(&reply);
    unfence(fx, 2);
    assert_int_equal(part(fx, "t", 1)->leader, 3);
    elect(fx, RN_CTL_ELECT_PREFERRED, "t", one, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
    assert_int_equal(fx->batch.count, 0);
    rn_ctl_elect_reply_free(&reply);

    /* back in the ISR: elected; the leader epoch goes up, the ISR stays */
    set_isr(fx, "t", 1, 3, (const int32_t[]){3, 1, 2});
    elect(fx, RN_CTL_ELECT_PREFERRED, "t", all3, 3, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_ELECTION_NOT_NEEDED);
    assert_int_equal(reply.results[1].error_code, RN_KERR_NONE);
    assert_string_equal(message_of(&reply, 0, 1, buf), "(null)");
    assert_int_equal(reply.elected, 1);
    assert_int_equal(fx->batch.count, 1);
    rn_ctl_elect_reply_free(&reply);
    commit(fx);
    assert_int_equal(part(fx, "t", 1)->leader, 2);
    assert_int_equal(part(fx, "t", 1)->leader_epoch, epoch + 1);
    assert_isr(part(fx, "t", 1), 3, (const int32_t[]){3, 1, 2});
}

static void test_elect_all_and_errors(void **state) {
    fx_t *fx = *state;
    three(fx);
    const int32_t solo[] = {1};
    add_topic(fx, "u", 2, 1, 1, solo, false);
    fence(fx, 2);
    unfence(fx, 2);
    set_isr(fx, "t", 1, 3, (const int32_t[]){3, 1, 2});
    fence(fx, 1); /* "u" waits for broker 1; "t"-0 and "t"-1 are led by 3 */

    /* every partition: each topic listed, only the partitions needing an
       election (t-0: its preferred broker 1 is away; t-1: 2 is back) */
    rn_ctl_elect_reply_t reply;
    char buf[256];
    elect(fx, RN_CTL_ELECT_PREFERRED, NULL, NULL, 0, &reply);
    assert_int_equal(reply.result.error_code, RN_KERR_NONE);
    assert_int_equal(reply.topic_count, 2);
    assert_string_equal(reply.topics[0].name, "t");
    assert_int_equal(reply.topics[0].count, 2);
    assert_int_equal(reply.results[0].partition, 0);
    assert_int_equal(reply.results[0].error_code, RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
    assert_int_equal(reply.results[1].partition, 1);
    assert_int_equal(reply.results[1].error_code, RN_KERR_NONE);
    assert_string_equal(reply.topics[1].name, "u");
    assert_int_equal(reply.topics[1].count, 1); /* no leader: its preferred broker is away */
    assert_int_equal(reply.results[2].error_code, RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
    assert_int_equal(fx->batch.count, 1);
    rn_ctl_elect_reply_free(&reply);
    rn_md_batch_reset(&fx->batch);

    /* unknown topics and partitions, with Kafka's messages */
    const int32_t bad[] = {5, -1};
    elect(fx, RN_CTL_ELECT_PREFERRED, "t", bad, 2, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(reply.results[0].no_topic);
    assert_string_equal(message_of(&reply, 0, 0, buf), "No such partition as t-5");
    assert_string_equal(message_of(&reply, 0, 1, buf), "No such partition as t--1");
    rn_ctl_elect_reply_free(&reply);
    elect(fx, RN_CTL_ELECT_UNCLEAN, "nope", bad, 1, &reply);
    assert_true(reply.results[0].no_topic);
    assert_string_equal(message_of(&reply, 0, 0, buf), "No such topic as nope");
    rn_ctl_elect_reply_free(&reply);
    elect(fx, RN_CTL_ELECT_UNCLEAN, "", bad, 1, &reply);
    assert_string_equal(message_of(&reply, 0, 0, buf), "No such topic as ");
    rn_ctl_elect_reply_free(&reply);

    /* an unknown type: top-level INVALID_REQUEST, no lists, no records */
    elect(fx, 2, "t", bad, 1, &reply);
    assert_int_equal(reply.result.error_code, RN_KERR_INVALID_REQUEST);
    assert_string_equal(reply.result.message, "Unknown election type 2");
    assert_int_equal(reply.topic_count, 0);
    assert_int_equal(fx->batch.count, 0);
    rn_ctl_elect_reply_free(&reply);

    /* no topics: nothing */
    rn_ctl_elect_topic_t nothing = {S("t"), NULL, 0};
    rn_ctl_elect_request_t none = {RN_CTL_ELECT_PREFERRED, &nothing, 0, false, 0};
    assert_int_equal(rn_ctl_plan_elect_leaders(fx->img, &none, &reply, &fx->batch), RN_OK);
    assert_int_equal(reply.topic_count, 0);
    assert_int_equal(reply.result_count, 0);
    rn_ctl_elect_reply_free(&reply);
}

static void test_unclean_request(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 2; id++) join(fx, id);
    const int32_t replicas[] = {1, 2};
    add_topic(fx, "c", 1, 1, 2, replicas, false);
    fence(fx, 2); /* the ISR shrinks to [1] */
    unfence(fx, 2);
    fence(fx, 1); /* the last member: the partition waits for it */
    assert_int_equal(part(fx, "c", 0)->leader, -1);
    assert_isr(part(fx, "c", 0), 1, (const int32_t[]){1});
    int32_t epoch = part(fx, "c", 0)->leader_epoch;

    rn_ctl_elect_reply_t reply;
    char buf[256];
    const int32_t p0[] = {0};
    elect(fx, RN_CTL_ELECT_PREFERRED, "c", p0, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE);
    rn_ctl_elect_reply_free(&reply);
    /* an explicit UNCLEAN elects whatever the topic says */
    elect(fx, RN_CTL_ELECT_UNCLEAN, "c", p0, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_NONE);
    rn_ctl_elect_reply_free(&reply);
    commit(fx);
    assert_int_equal(part(fx, "c", 0)->leader, 2);
    assert_int_equal(part(fx, "c", 0)->leader_epoch, epoch + 1);
    assert_isr(part(fx, "c", 0), 1, (const int32_t[]){2});
    elect(fx, RN_CTL_ELECT_UNCLEAN, "c", p0, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_ELECTION_NOT_NEEDED);
    rn_ctl_elect_reply_free(&reply);

    /* nobody usable: ELIGIBLE_LEADERS_NOT_AVAILABLE */
    fence(fx, 2);
    assert_int_equal(part(fx, "c", 0)->leader, -1);
    elect(fx, RN_CTL_ELECT_UNCLEAN, "c", p0, 1, &reply);
    assert_int_equal(reply.results[0].error_code, RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE);
    assert_string_equal(message_of(&reply, 0, 0, buf),
                        "Eligible topic partition leaders are not available.");
    assert_int_equal(fx->batch.count, 0);
    rn_ctl_elect_reply_free(&reply);
    /* a usable ISR member is a clean election, the ISR kept */
    unfence(fx, 2); /* the last ISR member comes back and leads */
    assert_int_equal(part(fx, "c", 0)->leader, 2);
}

static void test_unclean_on_fence_and_unfence(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 3; id++) join(fx, id);
    const int32_t replicas[] = {1, 2};
    add_topic(fx, "u", 1, 1, 2, replicas, true); /* unclean.leader.election.enable */
    add_topic(fx, "c", 2, 1, 2, replicas, false);
    assert_true(topic_of(fx, "u")->config.unclean_leader_election_enable);
    fence(fx, 2);
    unfence(fx, 2);
    assert_isr(part(fx, "u", 0), 1, (const int32_t[]){1});

    /* the last ISR member leaves (a controlled shutdown): unclean elects
       the other replica at once, the default topic waits */
    assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, 1, &fx->batch), RN_OK);
    commit(fx);
    assert_int_equal(part(fx, "u", 0)->leader, 2);
    assert_isr(part(fx, "u", 0), 1, (const int32_t[]){2});
    assert_int_equal(part(fx, "c", 0)->leader, -1);
    assert_isr(part(fx, "c", 0), 1, (const int32_t[]){1});

    /* both replicas away: "u" waits too; the first one unfenced leads */
    fence(fx, 2);
    assert_int_equal(part(fx, "u", 0)->leader, -1);
    assert_isr(part(fx, "u", 0), 1, (const int32_t[]){2});
    join_at(fx, 1, 11, 100000); /* broker 1 starts again: a new registration */
    assert_int_equal(part(fx, "u", 0)->leader, 1);
    assert_isr(part(fx, "u", 0), 1, (const int32_t[]){1});
    assert_int_equal(part(fx, "c", 0)->leader, 1); /* clean: it is the ISR */
    unfence(fx, 2);
    assert_int_equal(part(fx, "u", 0)->leader, 1);
}

static void test_unclean_periodic(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 2; id++) join(fx, id);
    const int32_t replicas[] = {1, 2, 1, 2};
    add_topic(fx, "c", 1, 2, 2, replicas, false);
    fence(fx, 2);
    unfence(fx, 2);
    fence(fx, 1);
    assert_int_equal(part(fx, "c", 0)->leader, -1);
    assert_int_equal(part(fx, "c", 1)->leader, -1);
    int32_t elected = -1;
    bool more = true;
    assert_int_equal(rn_ctl_plan_unclean(fx->img, 10, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 0);
    assert_false(more);
    assert_int_equal(fx->batch.count, 0);

    /* the option turned on afterwards (IncrementalAlterConfigs) */
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_CONFIG;
    rec.u.config = (rn_md_config_record_t){RN_MD_RESOURCE_TOPIC, S("c"),
                                           S("unclean.leader.election.enable"), S("true")};
    assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    commit(fx);
    assert_int_equal(rn_ctl_plan_unclean(fx->img, 1, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 1);
    assert_true(more);
    commit(fx);
    assert_int_equal(part(fx, "c", 0)->leader, 2);
    assert_isr(part(fx, "c", 0), 1, (const int32_t[]){2});
    assert_int_equal(rn_ctl_plan_unclean(fx->img, 1, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 1);
    assert_false(more);
    commit(fx);
    assert_int_equal(part(fx, "c", 1)->leader, 2);
    assert_int_equal(rn_ctl_plan_unclean(fx->img, 1, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 0);
}

static void test_imbalance(void **state) {
    fx_t *fx = *state;
    rn_ctl_balance_t b = {1, 10, 1};
    assert_false(rn_ctl_imbalanced(&b, 10)); /* 10% is not above 10% */
    b.not_led = 2;
    assert_true(rn_ctl_imbalanced(&b, 10));
    assert_false(rn_ctl_imbalanced(&b, 20));
    b = (rn_ctl_balance_t){1, 100, 1};
    assert_true(rn_ctl_imbalanced(&b, 0)); /* 0: any partition (Kafka 3.9's KRaft rule) */
    b.not_led = 0;
    assert_false(rn_ctl_imbalanced(&b, 0));
    assert_false(rn_ctl_imbalanced(&b, -5));

    three(fx);
    rn_ctl_balance_t out[RN_CTL_BROKERS_MAX];
    assert_int_equal(rn_ctl_leader_balance(fx->img, out), 3);
    for (int32_t n = 0; n < 3; n++) {
        assert_int_equal(out[n].broker_id, n + 1);
        assert_int_equal(out[n].preferred, 1);
        assert_int_equal(out[n].not_led, 0);
    }
    /* 20 more partitions preferring broker 1, one led by broker 2 */
    int32_t replicas[20 * 2];
    for (int32_t p = 0; p < 20; p++) {
        replicas[2 * p] = 1;
        replicas[2 * p + 1] = 2;
    }
    add_topic(fx, "v", 2, 20, 2, replicas, false);
    fence(fx, 1);
    unfence(fx, 1);
    for (int32_t p = 0; p < 20; p++) set_isr(fx, "v", p, 2, (const int32_t[]){2, 1});
    set_isr(fx, "t", 0, 3, (const int32_t[]){2, 3, 1});
    set_isr(fx, "t", 2, 3, (const int32_t[]){3, 2, 1});
    assert_int_equal(rn_ctl_leader_balance(fx->img, out), 3);
    assert_int_equal(out[0].preferred, 21);
    assert_int_equal(out[0].not_led, 21);

    int32_t elected = 0;
    bool more = false;
    assert_int_equal(rn_ctl_plan_rebalance(fx->img, 100, 100, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 0); /* 100% is not above 100% */
    assert_int_equal(rn_ctl_plan_rebalance(fx->img, 10, 5, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 5);
    assert_true(more);
    commit(fx);
    assert_int_equal(rn_ctl_leader_balance(fx->img, out), 3);
    assert_int_equal(out[0].not_led, 16);
    /* the rest, but one that a broker 1 out of the ISR cannot take */
    set_isr(fx, "v", 19, 1, (const int32_t[]){2});
    assert_int_equal(rn_ctl_plan_rebalance(fx->img, 10, 100, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 15);
    assert_false(more);
    commit(fx);
    assert_int_equal(rn_ctl_leader_balance(fx->img, out), 3);
    assert_int_equal(out[0].not_led, 1); /* 1 of 21: under 10% */
    assert_int_equal(part(fx, "v", 19)->leader, 2);
    set_isr(fx, "v", 19, 2, (const int32_t[]){2, 1});
    assert_int_equal(rn_ctl_plan_rebalance(fx->img, 10, 100, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 0);
    assert_int_equal(rn_ctl_plan_rebalance(fx->img, 0, 100, &fx->batch, &elected, &more), RN_OK);
    assert_int_equal(elected, 1);
    commit(fx);
    assert_int_equal(part(fx, "v", 19)->leader, 1);
}

static void test_elections_bound(void **state) {
    fx_t *fx = *state;
    for (int32_t id = 1; id <= 2; id++) join(fx, id);
    enum { PARTS = RN_ELECTIONS_MAX + 1 };
    int32_t *replicas = malloc(PARTS * 2 * sizeof(int32_t));
    for (int32_t p = 0; p < PARTS; p++) {
        replicas[2 * p] = 2; /* led by 2 */
        replicas[2 * p + 1] = 1;
    }
    add_topic(fx, "big", 1, PARTS, 2, replicas, false);
    free(replicas);
    /* preferring broker 1: every partition's replicas become [1, 2] */
    rn_md_record_t rec;
    for (int32_t p = 0; p < PARTS; p++) {
        memset(&rec, 0, sizeof(rec));
        rec.type = RN_MD_PARTITION_CHANGE;
        rec.u.partition_change.topic_id = topic_of(fx, "big")->id;
        rec.u.partition_change.partition = p;
        rec.u.partition_change.leader = RN_MD_LEADER_NO_CHANGE;
        rec.u.partition_change.isr_count = RN_MD_LIST_NO_CHANGE;
        rec.u.partition_change.replica_count = 2;
        rec.u.partition_change.replicas[0] = 1;
        rec.u.partition_change.replicas[1] = 2;
        assert_int_equal(rn_md_batch_add(&fx->batch, &rec), RN_OK);
    }
    commit(fx);
    rn_ctl_elect_reply_t reply;
    elect(fx, RN_CTL_ELECT_PREFERRED, NULL, NULL, 0, &reply);
    assert_int_equal(reply.result.error_code, RN_KERR_UNKNOWN_SERVER_ERROR);
    assert_int_equal(reply.topic_count, 0);
    assert_int_equal(fx->batch.count, 0);
    rn_ctl_elect_reply_free(&reply);
    const int32_t some[] = {0, 1, 2};
    elect(fx, RN_CTL_ELECT_PREFERRED, "big", some, 3, &reply);
    assert_int_equal(reply.elected, 3);
    assert_int_equal(fx->batch.count, 3);
    rn_ctl_elect_reply_free(&reply);
    /* an automatic pass makes at most its share and says more are due */
    rn_md_batch_reset(&fx->batch);
    int32_t elected = 0;
    bool more = false;
    assert_int_equal(
        rn_ctl_plan_rebalance(fx->img, 10, RN_ELECTIONS_PER_PASS_MAX, &fx->batch, &elected, &more),
        RN_OK);
    assert_int_equal(elected, RN_ELECTIONS_PER_PASS_MAX);
    assert_true(more);
}

/* ---- random sequences ---- */

static int32_t below(uint64_t *rng, int32_t n) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return (int32_t)(*rng % (uint64_t)n);
}

static bool has(const int32_t *ids, int16_t n, int32_t id) {
    for (int16_t i = 0; i < n; i++)
        if (ids[i] == id) return true;
    return false;
}

static void check_step(const rn_image_t *prev, const rn_image_t *img, bool unclean_asked,
                       uint64_t seed) {
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        const rn_image_topic_t *old = rn_image_topic_by_id(prev, &topic->id);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *pt = &topic->partitions[p];
            if (pt->isr_count < 1) fail_msg("seed %llu: empty ISR", (unsigned long long)seed);
            for (int16_t n = 0; n < pt->isr_count; n++)
                if (!has(pt->replicas, pt->replica_count, pt->isr[n]))
                    fail_msg("seed %llu: ISR outside the replicas", (unsigned long long)seed);
            if (pt->leader >= 0 && !has(pt->isr, pt->isr_count, pt->leader))
                fail_msg("seed %llu: leader outside the ISR", (unsigned long long)seed);
            if (pt->leader >= 0 && !rn_image_broker_usable(rn_image_broker(img, pt->leader)))
                fail_msg("seed %llu: %s-%d led by unusable broker %d", (unsigned long long)seed,
                         topic->name, p, pt->leader);
            if (!old) continue;
            const rn_image_partition_t *was = &old->partitions[p];
            if (pt->leader_epoch < was->leader_epoch)
                fail_msg("seed %llu: leader epoch went back", (unsigned long long)seed);
            bool unclean_ok = unclean_asked || topic->config.unclean_leader_election_enable;
            if (pt->leader >= 0 && pt->leader != was->leader &&
                !has(was->isr, was->isr_count, pt->leader) && !unclean_ok)
                fail_msg("seed %llu: %s-%d: leader %d from outside the ISR",
                         (unsigned long long)seed, topic->name, p, pt->leader);
        }
    }
}

static bool random_step(fx_t *fx, uint64_t *rng, int64_t now_ms) {
    int32_t id = 1 + below(rng, 4);
    int32_t kind = below(rng, 8);
    const rn_image_topic_t *topic = rn_image_topic_at(fx->img, below(rng, 2));
    int32_t p = below(rng, topic->partition_count);
    const rn_image_partition_t *pt = &topic->partitions[p];
    if (kind == 0) {
        assert_int_equal(rn_ctl_plan_fence(fx->img, id, &fx->batch), RN_OK);
    } else if (kind == 1) {
        assert_int_equal(rn_ctl_plan_unfence(fx->img, id, &fx->batch), RN_OK);
    } else if (kind == 2) {
        assert_int_equal(rn_ctl_plan_controlled_shutdown(fx->img, id, &fx->batch), RN_OK);
    } else if (kind == 3 && pt->leader >= 0 &&
               rn_image_broker_usable(rn_image_broker(fx->img, id)) &&
               has(pt->replicas, pt->replica_count, id) && !has(pt->isr, pt->isr_count, id)) {
        int32_t isr[RN_REPLICAS_MAX];
        memcpy(isr, pt->isr, (size_t)pt->isr_count * 4);
        isr[pt->isr_count] = id; /* the leader takes a caught-up replica back */
        set_isr(fx, topic->name, p, (int16_t)(pt->isr_count + 1), isr);
    } else if (kind == 4 || kind == 5) {
        rn_ctl_elect_reply_t reply;
        elect(fx, kind == 4 ? RN_CTL_ELECT_PREFERRED : RN_CTL_ELECT_UNCLEAN, NULL, NULL, 0, &reply);
        rn_ctl_elect_reply_free(&reply);
        if (fx->batch.count) commit(fx);
        return kind == 5;
    } else if (kind == 6) {
        join_at(fx, id, (uint8_t)(1 + below(rng, 200)), now_ms); /* a restart */
    } else {
        int32_t elected = 0;
        bool more = false;
        assert_int_equal(
            rn_ctl_plan_rebalance(fx->img, below(rng, 30), 2, &fx->batch, &elected, &more), RN_OK);
    }
    if (fx->batch.count) commit(fx);
    return false;
}

static void test_random_sequences(void **state) {
    fx_t *fx = *state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t rng = seed * 0x9E3779B97F4A7C15ull;
        mc_ctl_reset(fx);
        for (int32_t id = 1; id <= 4; id++) join(fx, id);
        const int32_t replicas[] = {1, 2, 3, 2, 3, 4, 3, 4, 1, 4, 1, 2};
        add_topic(fx, "a", 1, 4, 3, replicas, false);
        add_topic(fx, "b", 2, 4, 3, replicas, true);
        for (int step = 0; step < 200; step++) {
            rn_image_t *prev = fx->img;
            rn_image_retain(prev);
            bool unclean = random_step(fx, &rng, (step + 1) * 10000);
            check_step(prev, fx->img, unclean, seed);
            rn_image_release(prev);
        }
    }
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    rn_log_set_level(RN_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_preferred_plan),   T(test_elect_all_and_errors),
        T(test_unclean_request),  T(test_unclean_on_fence_and_unfence),
        T(test_unclean_periodic), T(test_imbalance),
        T(test_elections_bound),  T(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
