/*
 * test_quorum_bootstrap.c: a dynamic quorum's bootstrap (cluster/
 * quorum_bootstrap.h): what a node decides from what the bootstrap servers
 * answer (form, join, wait or follow its own log), the probe answer's bytes
 * both ways and the refusal of bad ones, and the first entry a forming node
 * writes into an empty store (and refuses to write into one with state).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cluster/quorum_bootstrap.h"
#include "io/io_sim.h"
#include "metadata/metadata_log.h"
#include "raft/raft_log_store.h"

#include <string.h>

/* ---- the decision ---- */

static rn_qb_seen_t empty_node(int32_t id) { return (rn_qb_seen_t){true, id, false, -1}; }
static rn_qb_seen_t silent(void) { return (rn_qb_seen_t){false, -1, false, -1}; }

static rn_qb_decision_t decide(int32_t self, bool has_state, const rn_qb_seen_t *servers, int n,
                               bool wait_over, int *server, rn_qb_why_t *why) {
    rn_qb_view_t v = {self, has_state, servers, n, wait_over};
    return rn_qb_decide(&v, server, why);
}

static void test_first_forms_when_all_empty(void **state) {
    (void)state;
    rn_qb_seen_t s[3] = {empty_node(1), empty_node(2), empty_node(3)};
    int server = 0;
    rn_qb_why_t why;
    assert_int_equal(decide(1, false, s, 3, false, &server, &why), RN_QB_FORM);
    /* the others never form alone, whatever they see */
    assert_int_equal(decide(2, false, s, 3, true, &server, &why), RN_QB_WAIT);
    assert_int_equal(why, RN_QB_WHY_NOT_FIRST);
    assert_int_equal(decide(3, false, s, 3, true, &server, &why), RN_QB_WAIT);
}

static void test_first_waits_for_answers_then_a_majority(void **state) {
    (void)state;
    int server = 0;
    rn_qb_why_t why;
    rn_qb_seen_t two[3] = {empty_node(1), silent(), empty_node(3)};
    assert_int_equal(decide(1, false, two, 3, false, &server, &why), RN_QB_WAIT);
    assert_int_equal(why, RN_QB_WHY_ANSWERS);
    assert_int_equal(decide(1, false, two, 3, true, &server, &why), RN_QB_FORM);
    rn_qb_seen_t alone[3] = {empty_node(1), silent(), silent()};
    assert_int_equal(decide(1, false, alone, 3, true, &server, &why), RN_QB_WAIT);
    assert_int_equal(why, RN_QB_WHY_NO_MAJORITY);
    /* a sole bootstrap server that is this node: a majority of one */
    assert_int_equal(decide(1, false, alone, 1, false, &server, &why), RN_QB_FORM);
    /* an even count needs more than half */
    rn_qb_seen_t four[4] = {empty_node(1), empty_node(2), silent(), silent()};
    assert_int_equal(decide(1, false, four, 4, true, &server, &why), RN_QB_WAIT);
}

static void test_first_not_known_yet(void **state) {
    (void)state;
    int server = 0;
    rn_qb_why_t why;
    /* the first server has not answered: nobody knows it is this node */
    rn_qb_seen_t s[3] = {silent(), empty_node(2), empty_node(3)};
    assert_int_equal(decide(1, false, s, 3, true, &server, &why), RN_QB_WAIT);
    assert_int_equal(why, RN_QB_WHY_NOT_FIRST);
}

static void test_state_anywhere_stops_forming(void **state) {
    (void)state;
    int server = 0;
    rn_qb_why_t why;
    /* a wiped first node: the others hold the log but elect nobody yet */
    rn_qb_seen_t s[3] = {empty_node(1), {true, 2, true, -1}, silent()};
    assert_int_equal(decide(1, false, s, 3, true, &server, &why), RN_QB_WAIT);
    assert_int_equal(why, RN_QB_WHY_NO_LEADER);
    /* its own folder holds state: it follows its log, never bootstraps */
    rn_qb_seen_t all_empty[3] = {empty_node(1), empty_node(2), empty_node(3)};
    assert_int_equal(decide(1, true, all_empty, 3, true, &server, &why), RN_QB_FOLLOW);
    assert_int_equal(decide(2, true, s, 3, false, &server, &why), RN_QB_FOLLOW);
}

static void test_join_a_leader(void **state) {
    (void)state;
    int server = -1;
    rn_qb_why_t why;
    /* node 3 leads; node 2 knows it: the leader's own answer is preferred */
    rn_qb_seen_t s[3] = {empty_node(1), {true, 2, true, 3}, {true, 3, true, 3}};
    assert_int_equal(decide(1, false, s, 3, false, &server, &why), RN_QB_JOIN);
    assert_int_equal(server, 2);
    rn_qb_seen_t via[3] = {empty_node(1), {true, 2, true, 3}, silent()};
    assert_int_equal(decide(1, false, via, 3, false, &server, &why), RN_QB_JOIN);
    assert_int_equal(server, 1);
    /* a non-first node joins as well */
    assert_int_equal(decide(4, false, via, 3, false, &server, &why), RN_QB_JOIN);
    /* stale (unanswered) servers count for nothing */
    rn_qb_seen_t stale[3] = {empty_node(1), {false, 2, true, 3}, silent()};
    assert_int_equal(decide(1, false, stale, 3, false, &server, &why), RN_QB_WAIT);
}

/* ---- the answer's bytes ---- */

static rn_qb_answer_t sample_answer(void) {
    rn_qb_answer_t a;
    memset(&a, 0, sizeof a);
    a.node_id = 2;
    a.has_state = true;
    a.term = 7;
    a.leader_id = 3;
    strcpy(a.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
    a.member_count = 2;
    a.members[0] = (rn_qb_member_t){.node_id = 3, .role = RN_QB_ROLE_VOTER, .port = 9093};
    strcpy(a.members[0].dir, "sa_kfNcuAR6a7XYD043X4A");
    strcpy(a.members[0].host, "ctl-3.example");
    a.members[1] = (rn_qb_member_t){.node_id = 5, .role = RN_QB_ROLE_LEARNER};
    return a;
}

static size_t encode(const rn_qb_answer_t *a, uint8_t *out, size_t cap) {
    rn_buf_t buf;
    rn_buf_init(&buf, 1 << 16);
    rn_writer_t w;
    rn_writer_init(&w, &buf);
    rn_qb_answer_encode(&w, a);
    assert_int_equal(w.err, RN_OK);
    assert_true(buf.len <= cap);
    memcpy(out, buf.ptr, buf.len);
    size_t len = buf.len;
    rn_buf_free(&buf);
    return len;
}

static void test_answer_round_trip(void **state) {
    (void)state;
    rn_qb_answer_t a = sample_answer(), b;
    uint8_t bytes[4096];
    size_t len = encode(&a, bytes, sizeof bytes);
    assert_int_equal(rn_qb_answer_decode(bytes, len, &b), RN_OK);
    assert_int_equal(b.node_id, 2);
    assert_true(b.has_state);
    assert_int_equal(b.term, 7);
    assert_int_equal(b.leader_id, 3);
    assert_string_equal(b.cluster_id, a.cluster_id);
    assert_int_equal(b.member_count, 2);
    const rn_qb_member_t *m = rn_qb_answer_member(&b, 3);
    assert_non_null(m);
    assert_int_equal(m->role, RN_QB_ROLE_VOTER);
    assert_string_equal(m->dir, "sa_kfNcuAR6a7XYD043X4A");
    assert_string_equal(m->host, "ctl-3.example");
    assert_int_equal(m->port, 9093);
    assert_null(rn_qb_answer_member(&b, 4));
    /* every cut of it is refused */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(rn_qb_answer_decode(bytes, cut, &b), RN_ERR_CORRUPT);
}

static void test_answer_refused(void **state) {
    (void)state;
    rn_qb_answer_t a = sample_answer(), b;
    uint8_t bytes[4096];
    size_t len = encode(&a, bytes, sizeof bytes);
    bytes[0] = 2; /* another format */
    assert_int_equal(rn_qb_answer_decode(bytes, len, &b), RN_ERR_CORRUPT);
    a.member_count = 0;
    len = encode(&a, bytes, sizeof bytes);
    /* the member count is the last two bytes: past the limit */
    bytes[len - 2] = 0x7f;
    assert_int_equal(rn_qb_answer_decode(bytes, len, &b), RN_ERR_CORRUPT);
    /* a cluster id longer than one fits */
    a = sample_answer();
    a.member_count = 0;
    len = encode(&a, bytes, sizeof bytes);
    uint8_t longer[4096];
    size_t at = 1 + 4 + 1 + 8 + 4;
    memcpy(longer, bytes, at);
    longer[at] = 0;
    longer[at + 1] = 40;
    memset(longer + at + 2, 'A', 40);
    longer[at + 42] = 0;
    longer[at + 43] = 0;
    assert_int_equal(rn_qb_answer_decode(longer, at + 44, &b), RN_ERR_CORRUPT);
}

/* ---- forming ---- */

static void test_form_store(void **state) {
    (void)state;
    rn_sim_t *sim = rn_sim_create(3, 1);
    rn_io_t *io = rn_sim_io(sim, 1);
    assert_int_equal(rn_io_dir_create(io, "md"), RN_OK);
    assert_int_equal(rn_io_dir_create(io, "md/" RN_MD_LOG_DIR_NAME), RN_OK);
    assert_int_equal(rn_qb_form_store(io, "md", 4), RN_OK);
    rn_raft_store_t *st = NULL;
    assert_int_equal(rn_raft_store_open(io, "md/" RN_MD_LOG_DIR_NAME, &st), RN_OK);
    uint64_t term = 0;
    rn_raft_id_t vote = 9;
    rn_raft_store_state(st, &term, &vote);
    assert_int_equal(term, 1);
    assert_int_equal(vote, RN_RAFT_ID_NONE);
    rn_raft_boot_t boot;
    rn_raft_store_boot(st, &boot);
    assert_int_equal(boot.entries_n, 1);
    assert_int_equal(boot.entries[0].index, 1);
    assert_int_equal(boot.entries[0].term, 1);
    assert_int_equal(boot.entries[0].type, RN_RAFT_ENTRY_CONFIG);
    rn_raft_config_t cfg;
    assert_int_equal(rn_raft_config_decode(boot.entries[0].data, boot.entries[0].len, &cfg), RN_OK);
    assert_int_equal(cfg.voters_n, 1);
    assert_int_equal(cfg.voters[0], 4);
    assert_int_equal(cfg.learners_n, 0);
    rn_raft_store_boot_release(st);
    rn_raft_store_close(st);
    /* a store with state is never formed again */
    assert_int_equal(rn_qb_form_store(io, "md", 4), RN_ERR_INVALID);
    rn_sim_destroy(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_forms_when_all_empty),
        cmocka_unit_test(test_first_waits_for_answers_then_a_majority),
        cmocka_unit_test(test_first_not_known_yet),
        cmocka_unit_test(test_state_anywhere_stops_forming),
        cmocka_unit_test(test_join_a_leader),
        cmocka_unit_test(test_answer_round_trip),
        cmocka_unit_test(test_answer_refused),
        cmocka_unit_test(test_form_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
