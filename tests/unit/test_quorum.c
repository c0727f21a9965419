/*
 * test_quorum.c: the replicated metadata log as a sole voter on the real
 * file system: proposals commit and build the image, a restart rebuilds
 * the same image from the log, snapshots bound the log and a restart from
 * a snapshot keeps every record (broker epochs included: the next offset
 * survives), a log written before the quorum moves into it at first
 * start with nothing lost, and a vote from a node that is no voter is
 * named as such and changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "helpers/tmp_dir.h"
#include "metadata/image_writer.h"
#include "metadata/metadata_log.h"
#include "metadata/quorum.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static rn_topic_config_base_t base;

typedef struct fixture {
    char dir[256];
    rn_quorum_t *q;
    int applied_calls;
} fixture_t;

static void on_applied(void *ctx) { ((fixture_t *)ctx)->applied_calls++; }

static void quorum_up(fixture_t *fx, uint32_t snapshot_entries) {
    rn_quorum_opts_t opts = {.io = rn_io_linux(),
                             .metadata_dir = fx->dir,
                             .id = 1,
                             .snapshot_entries = snapshot_entries,
                             .seed = 7,
                             .base = &base};
    opts.boot.voters[opts.boot.voters_n++] = 1;
    rn_quorum_hooks_t hooks = {.ctx = fx, .applied = on_applied};
    assert_int_equal(rn_quorum_open(&opts, &hooks, &fx->q), RN_OK);
    assert_int_equal(rn_quorum_campaign(fx->q), RN_OK);
    assert_true(rn_quorum_caught_up(fx->q));
}

static void topic_record(rn_md_batch_t *batch, int n) {
    char name[32];
    snprintf(name, sizeof name, "topic-%d", n);
    rn_md_record_t rec = {.type = RN_MD_TOPIC};
    rec.u.topic.name = rn_str_from_cstr(name);
    rec.u.topic.topic_id.bytes[0] = (uint8_t)(n >> 8);
    rec.u.topic.topic_id.bytes[1] = (uint8_t)n;
    rec.u.topic.topic_id.bytes[15] = 1;
    assert_int_equal(rn_md_batch_add(batch, &rec), RN_OK);
    rn_md_record_t part = {.type = RN_MD_PARTITION};
    part.u.partition.topic_id = rec.u.topic.topic_id;
    part.u.partition.leader = 0;
    part.u.partition.replica_count = 1;
    part.u.partition.isr_count = 1;
    assert_int_equal(rn_md_batch_add(batch, &part), RN_OK);
}

static void propose_topics(fixture_t *fx, int from, int count) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    for (int n = from; n < from + count; n++) {
        rn_md_batch_reset(&batch);
        topic_record(&batch, n);
        uint64_t index = 0, term = 0;
        assert_int_equal(rn_quorum_propose(fx->q, &batch, &index, &term), RN_OK);
        assert_int_equal(rn_quorum_outcome(fx->q, index, term),
                         1); /* a sole voter commits at once */
    }
    rn_md_batch_free(&batch);
}

static uint64_t file_size(const fixture_t *fx, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", fx->dir, RN_MD_LOG_DIR_NAME, name);
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int setup(void **state) {
    fixture_t *fx = calloc(1, sizeof *fx);
    assert_true(td_make(fx->dir, sizeof fx->dir, "rn_test_quorum_"));
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture_t *fx = *state;
    rn_quorum_close(fx->q);
    td_remove(fx->dir);
    free(fx);
    return 0;
}

static void test_restart_rebuilds_the_image(void **state) {
    fixture_t *fx = *state;
    quorum_up(fx, 0);
    propose_topics(fx, 0, 20);
    assert_int_equal(rn_image_topic_count(rn_quorum_image(fx->q)), 20);
    assert_true(fx->applied_calls >= 20);
    rn_image_t *before = rn_image_empty(&base);
    rn_image_builder_t b;
    assert_int_equal(rn_image_builder_init(&b, rn_quorum_image(fx->q)), RN_OK);
    rn_image_release(before);
    before = rn_image_builder_finish(&b);
    uint64_t next = rn_image_next_offset(before);
    rn_quorum_close(fx->q);
    fx->q = NULL;
    quorum_up(fx, 0);
    assert_true(rn_image_equal(before, rn_quorum_image(fx->q)));
    assert_int_equal(rn_image_next_offset(rn_quorum_image(fx->q)), next);
    rn_image_release(before);
}

static void test_snapshots_bound_the_log(void **state) {
    fixture_t *fx = *state;
    quorum_up(fx, 16);
    propose_topics(fx, 0, 200);
    uint64_t next = rn_image_next_offset(rn_quorum_image(fx->q));
    assert_int_equal(next, 400);
    assert_true(rn_raft_snapshot_index(rn_quorum_raft(fx->q)) >= 180);
    /* 200 entries of ~100 bytes would be ~20 KB; the log keeps fewer than
       two snapshots' worth, the snapshot holds the rest. */
    assert_true(file_size(fx, "log") < 16 * 2 * 200);
    assert_true(file_size(fx, "snapshot") > 0);
    rn_quorum_close(fx->q);
    fx->q = NULL;
    quorum_up(fx, 16);
    assert_int_equal(rn_image_topic_count(rn_quorum_image(fx->q)), 200);
    assert_int_equal(rn_image_next_offset(rn_quorum_image(fx->q)), next);
    propose_topics(fx, 200, 1);
    assert_int_equal(rn_image_next_offset(rn_quorum_image(fx->q)), next + 2);
}

static void test_log_of_earlier_release_moves_in(void **state) {
    fixture_t *fx = *state;
    rn_md_log_t old;
    assert_int_equal(rn_md_log_open(&old, rn_io_linux(), fx->dir, NULL, NULL), RN_OK);
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    for (int n = 0; n < 5; n++) {
        rn_md_batch_reset(&batch);
        topic_record(&batch, n);
        assert_int_equal(rn_md_log_append(&old, &batch, NULL), RN_OK);
    }
    rn_md_batch_free(&batch);
    rn_md_log_close(&old);
    assert_true(file_size(fx, RN_MD_LOG_FILE_NAME) > 0);
    quorum_up(fx, 0);
    assert_int_equal(rn_image_topic_count(rn_quorum_image(fx->q)), 5);
    assert_int_equal(rn_image_next_offset(rn_quorum_image(fx->q)), 10);
    assert_int_equal(file_size(fx, RN_MD_LOG_FILE_NAME), 0); /* gone */
    rn_quorum_close(fx->q);
    fx->q = NULL;
    quorum_up(fx, 0);
    assert_int_equal(rn_image_topic_count(rn_quorum_image(fx->q)), 5);
}

static void test_oversized_proposal_refused(void **state) {
    fixture_t *fx = *state;
    quorum_up(fx, 0);
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    for (int n = 0; batch.buf.len <= RN_RAFT_ENTRY_BYTES_MAX; n++) topic_record(&batch, n);
    uint64_t index = 0, term = 0;
    assert_int_equal(rn_quorum_propose(fx->q, &batch, &index, &term), RN_ERR_TOO_LARGE);
    rn_md_batch_free(&batch);
    assert_int_equal(rn_quorum_failed(fx->q), RN_OK);
}

/* Vote messages from a node that is no voter (a removed voter, a forged
   message) are named as such; a vote request changes nothing while the
   leader holds its lease: it leads on in its term and commits. */
static void test_vote_from_non_voter(void **state) {
    fixture_t *fx = *state;
    quorum_up(fx, 0);
    const rn_raft_t *r = rn_quorum_raft(fx->q);
    uint64_t term = rn_raft_term(r);
    uint8_t types[] = {RN_RAFT_MSG_PREVOTE, RN_RAFT_MSG_VOTE};
    for (size_t i = 0; i < sizeof types; i++) {
        rn_raft_msg_t msg = {.type = types[i],
                             .from = 5,
                             .to = 1,
                             .term = term + 10,
                             .index = 100,
                             .log_term = term + 9};
        assert_true(rn_quorum_vote_from_non_voter(fx->q, &msg));
        assert_int_equal(rn_quorum_step(fx->q, &msg, NULL), RN_OK);
        assert_int_equal(rn_raft_role(r), RN_RAFT_LEADER);
        assert_int_equal(rn_raft_term(r), term);
    }
    /* a hand-off comes from a leader, a voter: a forged one of a higher
       term must not make this leader step down */
    rn_raft_msg_t hand_off = {
        .type = RN_RAFT_MSG_TIMEOUT_NOW, .from = 5, .to = 1, .term = term + 3};
    assert_true(rn_quorum_vote_from_non_voter(fx->q, &hand_off));
    assert_int_equal(rn_quorum_step(fx->q, &hand_off, NULL), RN_OK);
    assert_int_equal(rn_raft_role(r), RN_RAFT_LEADER);
    assert_int_equal(rn_raft_term(r), term);
    rn_raft_msg_t voter = {.type = RN_RAFT_MSG_VOTE, .from = 1, .to = 1, .term = term};
    assert_false(rn_quorum_vote_from_non_voter(fx->q, &voter));
    rn_raft_msg_t ack = {.type = RN_RAFT_MSG_APPEND_RESP, .from = 5, .to = 1, .term = term};
    assert_false(rn_quorum_vote_from_non_voter(fx->q, &ack));
    propose_topics(fx, 0, 1);
    assert_int_equal(rn_image_topic_count(rn_quorum_image(fx->q)), 1);
}

int main(void) {
    rn_topic_config_base_init(&base);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restart_rebuilds_the_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshots_bound_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_of_earlier_release_moves_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_proposal_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vote_from_non_voter, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
