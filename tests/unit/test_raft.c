/*
 * test_raft.c: unit tests of the Raft state machine, one or more per message
 * handler (pre-vote, vote, their answers, append, its answer, snapshot,
 * timeout-now), plus ticks (elections, check-quorum), proposals, the commit
 * rule, read index, membership changes, leadership transfer and the ready
 * contract (persist before send). Nodes are wired by delivering messages
 * directly, in memory; no I/O.
 */
#include "raft/raft.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define N_MAX 6

typedef struct net {
    rn_raft_t *r[N_MAX + 1];
    uint32_t n;
    uint8_t cut[N_MAX + 1];  /* node isolated: its messages are dropped */
    rn_raft_msg_t seen[256]; /* messages delivered or dropped, shallow */
    uint32_t seen_n;
    uint64_t applied[N_MAX + 1];
    rn_raft_read_t reads[16]; /* reads released, by any node */
    uint32_t reads_n;
} net_t;

static rn_raft_config_t config_of(uint32_t voters, uint32_t learners) {
    rn_raft_config_t c;
    memset(&c, 0, sizeof(c));
    for (uint32_t i = 1; i <= voters; i++) c.voters[c.voters_n++] = i;
    for (uint32_t i = voters + 1; i <= voters + learners; i++) c.learners[c.learners_n++] = i;
    return c;
}

static rn_raft_t *node_new(rn_raft_id_t id, const rn_raft_config_t *cfg) {
    rn_raft_opts_t o;
    rn_raft_opts_default(&o, id, 42);
    o.election_ticks = 10;
    o.heartbeat_ticks = 2;
    rn_raft_boot_t b;
    memset(&b, 0, sizeof(b));
    b.config = *cfg;
    rn_raft_t *r = NULL;
    assert_int_equal(rn_raft_create(&o, &b, &r), RN_OK);
    return r;
}

static void net_init(net_t *net, uint32_t voters, uint32_t learners) {
    memset(net, 0, sizeof(*net));
    net->n = voters + learners;
    rn_raft_config_t cfg = config_of(voters, learners);
    for (uint32_t i = 1; i <= net->n; i++) net->r[i] = node_new(i, &cfg);
}

static void net_free(net_t *net) {
    for (uint32_t i = 1; i <= net->n; i++) rn_raft_destroy(net->r[i]);
}

/* Delivers every message until the cluster is quiet. */
static void pump(net_t *net) {
    for (int progress = 1; progress;) {
        progress = 0;
        for (uint32_t i = 1; i <= net->n; i++) {
            rn_raft_ready_t rd;
            if (!net->r[i] || !rn_raft_ready(net->r[i], &rd)) continue;
            progress = 1;
            for (uint32_t k = 0; k < rd.msgs_n; k++) {
                const rn_raft_msg_t *m = &rd.msgs[k];
                if (net->seen_n < 256) net->seen[net->seen_n++] = *m;
                if (net->cut[m->from] || net->cut[m->to] || !net->r[m->to]) continue;
                rn_raft_step(net->r[m->to], m);
            }
            if (rd.committed_n) net->applied[i] = rd.committed[rd.committed_n - 1].index;
            for (uint32_t k = 0; k < rd.reads_n && net->reads_n < 16; k++)
                net->reads[net->reads_n++] = rd.reads[k];
            rn_raft_advance(net->r[i], &rd);
        }
    }
}

static void tick(net_t *net, uint32_t id, int times) {
    for (int t = 0; t < times; t++) {
        rn_raft_tick(net->r[id]);
        pump(net);
    }
}

static uint32_t seen_count(const net_t *net, uint8_t type, rn_raft_id_t from, int reject) {
    uint32_t c = 0;
    for (uint32_t i = 0; i < net->seen_n; i++)
        if (net->seen[i].type == type && (!from || net->seen[i].from == from) &&
            (reject < 0 || net->seen[i].reject == reject))
            c++;
    return c;
}

static void elect(net_t *net, uint32_t id) {
    tick(net, id, 25); /* past any randomized election timeout */
    assert_int_equal(rn_raft_role(net->r[id]), RN_RAFT_LEADER);
}

static void propose(net_t *net, uint32_t id, const char *data) {
    uint64_t index = 0, term = 0;
    assert_int_equal(rn_raft_propose(net->r[id], data, (uint32_t)strlen(data), &index, &term),
                     RN_OK);
    pump(net);
}

/* ---- ticks and elections ---- */

static void test_tick_starts_prevote(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    net.cut[1] = 1; /* see the pre-vote go out without answers */
    for (int t = 0; t < 25 && rn_raft_role(net.r[1]) == RN_RAFT_FOLLOWER; t++) tick(&net, 1, 1);
    assert_int_equal(rn_raft_role(net.r[1]), RN_RAFT_PRECANDIDATE);
    assert_int_equal(rn_raft_term(net.r[1]), 0); /* pre-vote never bumps the term */
    assert_int_equal(seen_count(&net, RN_RAFT_MSG_PREVOTE, 1, -1), 2);
    assert_int_equal(net.seen[0].term, 1);
    net_free(&net);
}

static void test_election_with_prevote(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    assert_int_equal(rn_raft_term(net.r[1]), 1);
    assert_true(seen_count(&net, RN_RAFT_MSG_PREVOTE_RESP, 0, 0) >= 1);
    assert_true(seen_count(&net, RN_RAFT_MSG_VOTE_RESP, 0, 0) >= 1);
    assert_int_equal(rn_raft_leader(net.r[2]), 1);
    assert_int_equal(rn_raft_commit(net.r[1]), 1); /* the leader's no-op */
    net_free(&net);
}

/* ---- pre-vote handler ---- */

static rn_raft_msg_t msg(uint8_t type, rn_raft_id_t from, rn_raft_id_t to, uint64_t term) {
    rn_raft_msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

/* Steps one message into r and returns the first answer in its ready. */
static rn_raft_msg_t step_answer(rn_raft_t *r, const rn_raft_msg_t *m, rn_raft_ready_t *out) {
    rn_raft_step(r, m);
    rn_raft_ready_t rd;
    rn_raft_msg_t ans;
    memset(&ans, 0, sizeof(ans));
    if (rn_raft_ready(r, &rd)) {
        if (rd.msgs_n) ans = rd.msgs[0];
        if (out) *out = rd;
        rn_raft_advance(r, &rd);
    }
    return ans;
}

static void test_prevote_handler(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_PREVOTE, 1, 2, 1);
    rn_raft_msg_t a = step_answer(r, &m, NULL);
    assert_int_equal(a.type, RN_RAFT_MSG_PREVOTE_RESP);
    assert_int_equal(a.reject, 0);
    assert_int_equal(a.term, 1);
    assert_int_equal(rn_raft_term(r), 0); /* granting a pre-vote changes nothing */
    m.term = 0;                           /* not a future term */
    a = step_answer(r, &m, NULL);
    assert_int_equal(a.reject, 1);
    rn_raft_destroy(r);
}

static void test_prevote_ignored_in_lease(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_PREVOTE, 3, 2, 5);
    m.index = 10;
    m.log_term = 4;
    rn_raft_ready_t rd;
    rn_raft_msg_t a = step_answer(net.r[2], &m, &rd);
    assert_int_equal(a.type, 0); /* a live leader: the disruptive node gets no answer */
    assert_int_equal(rn_raft_term(net.r[2]), 1);
    net_free(&net);
}

/* ---- vote handler ---- */

static void test_vote_persisted_with_answer(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_VOTE, 1, 2, 3);
    rn_raft_ready_t rd;
    rn_raft_msg_t a = step_answer(r, &m, &rd);
    assert_int_equal(a.type, RN_RAFT_MSG_VOTE_RESP);
    assert_int_equal(a.reject, 0);
    /* the vote to persist is in the same ready as the answer, which the
       driver sends only after persisting */
    assert_true(rd.state_changed);
    assert_int_equal(rd.term, 3);
    assert_int_equal(rd.vote, 1);
    m.from = 3; /* another candidate, same term */
    a = step_answer(r, &m, NULL);
    assert_int_equal(a.reject, 1);
    rn_raft_destroy(r);
}

static void test_vote_rejects_shorter_log(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    propose(&net, 1, "x");
    rn_raft_msg_t m = msg(RN_RAFT_MSG_VOTE, 3, 2, 9);
    m.index = 1; /* candidate's log ends before ours (2 entries of term 1) */
    m.log_term = 1;
    m.transfer = 1; /* bypass the lease */
    rn_raft_msg_t a = step_answer(net.r[2], &m, NULL);
    assert_int_equal(a.type, RN_RAFT_MSG_VOTE_RESP);
    assert_int_equal(a.reject, 1);
    assert_int_equal(rn_raft_term(net.r[2]), 9);
    net_free(&net);
}

/* A candidate of a stale term learns the newer term (seed 18661: members
   with different configs otherwise never told it, and no leader emerged). */
static void test_vote_stale_term_answered(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t v = msg(RN_RAFT_MSG_VOTE, 3, 2, 5);
    step_answer(r, &v, NULL);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_VOTE, 1, 2, 3);
    rn_raft_msg_t a = step_answer(r, &m, NULL);
    assert_int_equal(a.type, RN_RAFT_MSG_VOTE_RESP);
    assert_int_equal(a.reject, 1);
    assert_int_equal(a.term, 5);
    rn_raft_destroy(r);
}

/* A vote it refuses does not restart a follower's election timer (seed
   7786 of the simulator: two candidates with lagging logs took turns
   raising the term, and the node that would win never timed out). */
static void test_refused_vote_keeps_election_timer(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_entry_t e[2] = {{1, 1, RN_RAFT_ENTRY_NOOP, 0, NULL}, {1, 2, 0, 1, (uint8_t *)"o"}};
    rn_raft_opts_t o;
    rn_raft_opts_default(&o, 2, 7);
    o.election_ticks = 10; /* a timeout of 10 to 19 ticks */
    o.heartbeat_ticks = 2;
    rn_raft_boot_t b = {1, 0, NULL, cfg, e, 2};
    rn_raft_t *r = NULL;
    assert_int_equal(rn_raft_create(&o, &b, &r), RN_OK);
    int campaigned = 0;
    for (uint64_t term = 2; term <= 4 && !campaigned; term++) {
        for (int t = 0; t < 9; t++) {
            rn_raft_tick(r);
            rn_raft_ready_t rd;
            while (rn_raft_ready(r, &rd)) {
                for (uint32_t k = 0; k < rd.msgs_n; k++)
                    campaigned |= rd.msgs[k].type == RN_RAFT_MSG_PREVOTE;
                rn_raft_advance(r, &rd);
            }
        }
        rn_raft_msg_t m = msg(RN_RAFT_MSG_VOTE, 3, 2, term + 10);
        m.index = 1; /* its log ends before ours: refused */
        m.log_term = 1;
        rn_raft_msg_t a = step_answer(r, &m, NULL);
        assert_int_equal(a.reject, 1);
    }
    assert_true(campaigned); /* within 19 ticks, whatever the refusals */
    rn_raft_destroy(r);
}

/* ---- vote answers ---- */

static void test_vote_resp_rejections_end_candidacy(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    net.cut[1] = 1;
    for (int t = 0; t < 25 && rn_raft_role(net.r[1]) != RN_RAFT_PRECANDIDATE; t++) tick(&net, 1, 1);
    uint64_t term = rn_raft_term(net.r[1]) + 1;
    rn_raft_msg_t m = msg(RN_RAFT_MSG_PREVOTE_RESP, 2, 1, term);
    m.reject = 1;
    rn_raft_step(net.r[1], &m);
    m.from = 3;
    rn_raft_step(net.r[1], &m);
    assert_int_equal(rn_raft_role(net.r[1]), RN_RAFT_FOLLOWER);
    net_free(&net);
}

/* ---- append handler ---- */

static void test_append_accept_and_conflict(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_entry_t e[3] = {
        {1, 1, 0, 1, (uint8_t *)"a"}, {1, 2, 0, 1, (uint8_t *)"b"}, {1, 3, 0, 1, (uint8_t *)"c"}};
    rn_raft_msg_t m = msg(RN_RAFT_MSG_APPEND, 1, 2, 1);
    m.entries = e;
    m.entries_n = 3;
    m.commit = 1;
    rn_raft_ready_t rd;
    rn_raft_msg_t a = step_answer(r, &m, &rd);
    assert_int_equal(a.type, RN_RAFT_MSG_APPEND_RESP);
    assert_int_equal(a.reject, 0);
    assert_int_equal(a.index, 3);
    assert_int_equal(rd.entries_n, 3); /* persisted with the answer */
    assert_int_equal(rn_raft_commit(r), 1);
    /* a new leader overwrites index 2 onward */
    rn_raft_entry_t e2[1] = {{2, 2, 0, 1, (uint8_t *)"z"}};
    m = msg(RN_RAFT_MSG_APPEND, 3, 2, 2);
    m.index = 1;
    m.log_term = 1;
    m.entries = e2;
    m.entries_n = 1;
    a = step_answer(r, &m, &rd);
    assert_int_equal(a.index, 2);
    assert_int_equal(rn_raft_last_index(r), 2); /* index 3 cut */
    assert_int_equal(rn_raft_term_at(r, 2), 2);
    assert_int_equal(rd.entries[0].index, 2);
    rn_raft_destroy(r);
}

static void test_append_mismatch_rejects_with_hint(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_APPEND, 1, 2, 1);
    m.index = 5;
    m.log_term = 1;
    rn_raft_msg_t a = step_answer(r, &m, NULL);
    assert_int_equal(a.reject, 1);
    assert_int_equal(a.index, 5);
    assert_int_equal(a.hint, 0);
    rn_raft_destroy(r);
}

static void test_append_stale_term_rejected(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t v = msg(RN_RAFT_MSG_VOTE, 3, 2, 5);
    step_answer(r, &v, NULL);
    rn_raft_entry_t e[1] = {{1, 1, 0, 1, (uint8_t *)"a"}};
    rn_raft_msg_t m = msg(RN_RAFT_MSG_APPEND, 1, 2, 1);
    m.entries = e;
    m.entries_n = 1;
    rn_raft_msg_t a = step_answer(r, &m, NULL);
    assert_int_equal(a.type, RN_RAFT_MSG_APPEND_RESP);
    assert_int_equal(a.reject, 1);
    assert_int_equal(a.term, 5); /* tells the stale leader the news */
    assert_int_equal(rn_raft_last_index(r), 0);
    rn_raft_destroy(r);
}

/* ---- append answers and the commit rule ---- */

static void drain(rn_raft_t *r) {
    rn_raft_ready_t rd;
    while (rn_raft_ready(r, &rd)) rn_raft_advance(r, &rd);
}

static void test_commit_only_current_term(void **state) {
    (void)state;
    /* node 2 of 5 holds index 2 of term 1, never committed */
    rn_raft_config_t cfg = config_of(5, 0);
    rn_raft_entry_t e[2] = {{1, 1, RN_RAFT_ENTRY_NOOP, 0, NULL}, {1, 2, 0, 1, (uint8_t *)"o"}};
    rn_raft_opts_t o;
    rn_raft_opts_default(&o, 2, 1);
    rn_raft_boot_t b = {1, 1, NULL, cfg, e, 2};
    rn_raft_t *r = NULL;
    assert_int_equal(rn_raft_create(&o, &b, &r), RN_OK);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_TIMEOUT_NOW, 1, 2, 1);
    rn_raft_step(r, &m);
    drain(r);
    for (rn_raft_id_t v = 3; v <= 4; v++) {
        m = msg(RN_RAFT_MSG_VOTE_RESP, v, 2, 2);
        rn_raft_step(r, &m);
    }
    assert_int_equal(rn_raft_role(r), RN_RAFT_LEADER);
    drain(r); /* the no-op of term 2 is index 3 */
    assert_int_equal(rn_raft_term_at(r, 3), 2);
    for (rn_raft_id_t v = 3; v <= 4; v++) { /* a quorum holds index 2 */
        m = msg(RN_RAFT_MSG_APPEND_RESP, v, 2, 2);
        m.index = 2;
        rn_raft_step(r, &m);
    }
    assert_int_equal(rn_raft_commit(r), 0); /* but it is of term 1: not by counting */
    for (rn_raft_id_t v = 3; v <= 4; v++) {
        m = msg(RN_RAFT_MSG_APPEND_RESP, v, 2, 2);
        m.index = 3;
        rn_raft_step(r, &m);
    }
    assert_int_equal(rn_raft_commit(r), 3); /* the no-op commits, and index 2 with it */
    drain(r);
    rn_raft_destroy(r);
}

static void test_append_resp_reject_probes_back(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    net.cut[3] = 1;
    for (int i = 0; i < 5; i++) propose(&net, 1, "x");
    net.cut[3] = 0;
    net.seen_n = 0;
    /* node 3 says it lacks the previous entry and holds only index 1 */
    rn_raft_msg_t m = msg(RN_RAFT_MSG_APPEND_RESP, 3, 1, rn_raft_term(net.r[1]));
    m.reject = 1;
    m.index = rn_raft_last_index(net.r[1]);
    m.hint = 1;
    rn_raft_step(net.r[1], &m);
    pump(&net);
    assert_true(net.seen_n >= 1);
    assert_int_equal(net.seen[0].type, RN_RAFT_MSG_APPEND);
    assert_int_equal(net.seen[0].to, 3);
    assert_int_equal(net.seen[0].index, 1); /* probes from the hint */
    assert_int_equal(rn_raft_last_index(net.r[3]), rn_raft_last_index(net.r[1]));
    tick(&net, 1, 3);
    assert_int_equal(rn_raft_commit(net.r[3]), rn_raft_commit(net.r[1]));
    net_free(&net);
}

/* A follower slower than the quorum hears of the commit when its own
   acknowledgement arrives, not at the next heartbeat. */
static void test_slow_follower_told_commit_on_its_ack(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    rn_raft_t *leader = net.r[1];
    uint64_t index = 0, term = 0;
    assert_int_equal(rn_raft_propose(leader, "x", 1, &index, &term), RN_OK);
    rn_raft_ready_t rd;
    assert_true(rn_raft_ready(leader, &rd));
    rn_raft_msg_t acks[N_MAX + 1];
    for (uint32_t k = 0; k < rd.msgs_n; k++) { /* the entry reaches both followers */
        rn_raft_id_t to = rd.msgs[k].to;
        acks[to] = step_answer(net.r[to], &rd.msgs[k], NULL);
        assert_int_equal(acks[to].type, RN_RAFT_MSG_APPEND_RESP);
        assert_int_equal(acks[to].index, index);
    }
    rn_raft_advance(leader, &rd);
    rn_raft_step(leader, &acks[2]); /* node 2's ack commits it */
    assert_int_equal(rn_raft_commit(leader), index);
    drain(leader); /* what went to node 3 then could not carry it: node 3 had not acked */
    rn_raft_step(leader, &acks[3]);
    assert_true(rn_raft_ready(leader, &rd));
    uint32_t told = 0;
    for (uint32_t k = 0; k < rd.msgs_n; k++)
        if (rd.msgs[k].to == 3 && rd.msgs[k].type == RN_RAFT_MSG_APPEND &&
            rd.msgs[k].commit == index)
            told++;
    rn_raft_advance(leader, &rd);
    assert_int_equal(told, 1);
    net_free(&net);
}

/* ---- snapshot handler ---- */

static void test_snapshot_install(void **state) {
    (void)state;
    rn_raft_config_t cfg = config_of(3, 0);
    rn_raft_t *r = node_new(2, &cfg);
    rn_raft_msg_t m = msg(RN_RAFT_MSG_SNAPSHOT, 1, 2, 3);
    m.snapshot.index = 10;
    m.snapshot.term = 2;
    m.snapshot.config = cfg;
    m.snapshot.data = (uint8_t *)"image";
    m.snapshot.len = 5;
    rn_raft_ready_t rd;
    rn_raft_msg_t a = step_answer(r, &m, &rd);
    assert_non_null(rd.snapshot);
    assert_int_equal(rd.snapshot->index, 10);
    assert_memory_equal(rd.snapshot->data, "image", 5);
    assert_int_equal(a.type, RN_RAFT_MSG_APPEND_RESP);
    assert_int_equal(a.index, 10);
    assert_int_equal(rn_raft_commit(r), 10);
    assert_int_equal(rn_raft_last_index(r), 10);
    rn_raft_destroy(r);
}

static void test_snapshot_sent_to_lagging_follower(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    net.cut[3] = 1;
    for (int i = 0; i < 4; i++) propose(&net, 1, "x");
    assert_int_equal(rn_raft_snapshot_done(net.r[1], rn_raft_applied(net.r[1]), "img", 3), RN_OK);
    net.cut[3] = 0;
    tick(&net, 1, 6);
    assert_true(seen_count(&net, RN_RAFT_MSG_SNAPSHOT, 1, -1) >= 1);
    assert_int_equal(rn_raft_snapshot_index(net.r[3]), rn_raft_snapshot_index(net.r[1]));
    assert_int_equal(rn_raft_commit(net.r[3]), rn_raft_commit(net.r[1]));
    net_free(&net);
}

/* ---- timeout-now and transfer ---- */

static void test_transfer_leadership(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    assert_int_equal(rn_raft_transfer(net.r[1], 3), RN_OK);
    pump(&net);
    assert_true(seen_count(&net, RN_RAFT_MSG_TIMEOUT_NOW, 1, -1) >= 1);
    assert_int_equal(rn_raft_role(net.r[3]), RN_RAFT_LEADER);
    assert_int_equal(rn_raft_role(net.r[1]), RN_RAFT_FOLLOWER);
    assert_int_equal(rn_raft_transfer(net.r[3], 9), RN_ERR_INVALID);
    net_free(&net);
}

/* ---- check-quorum ---- */

static void test_check_quorum_steps_down(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    elect(&net, 1);
    net.cut[1] = 1;
    tick(&net, 1, 25);
    assert_int_not_equal(rn_raft_role(net.r[1]), RN_RAFT_LEADER);
    net_free(&net);
}

/* ---- read index ---- */

static void test_read_index(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    assert_int_equal(rn_raft_read_index(net.r[1], 7), RN_ERR_STALE);
    elect(&net, 1);
    propose(&net, 1, "x");
    net.cut[2] = net.cut[3] = 1; /* no quorum: the read waits */
    assert_int_equal(rn_raft_read_index(net.r[1], 7), RN_OK);
    pump(&net);
    assert_int_equal(net.reads_n, 0);
    net.cut[2] = net.cut[3] = 0;
    assert_int_equal(rn_raft_read_index(net.r[1], 8), RN_OK);
    pump(&net);
    assert_int_equal(net.reads_n, 2); /* the later round confirms both */
    assert_int_equal(net.reads[0].ctx, 7);
    assert_int_equal(net.reads[1].ctx, 8);
    assert_int_equal(net.reads[1].index, rn_raft_commit(net.r[1]));
    net_free(&net);
}

/* ---- membership ---- */

static void test_learner_catches_up_then_promoted(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 0);
    rn_raft_config_t empty;
    memset(&empty, 0, sizeof(empty));
    net.r[4] = node_new(4, &empty);
    net.n = 4;
    elect(&net, 1);
    assert_int_equal(rn_raft_change(net.r[1], RN_RAFT_PROMOTE, 4), RN_ERR_INVALID);
    assert_int_equal(rn_raft_change(net.r[1], RN_RAFT_ADD_LEARNER, 4), RN_OK);
    assert_int_equal(rn_raft_change(net.r[1], RN_RAFT_REMOVE, 2), RN_ERR_AGAIN); /* one at a time */
    pump(&net);
    tick(&net, 1, 3);
    assert_true(rn_raft_config_has_learner(rn_raft_config(net.r[4]), 4));
    assert_int_equal(rn_raft_last_index(net.r[4]), rn_raft_last_index(net.r[1]));
    assert_int_equal(rn_raft_change(net.r[1], RN_RAFT_PROMOTE, 4), RN_OK);
    pump(&net);
    tick(&net, 1, 3);
    assert_true(rn_raft_config_has_voter(rn_raft_config(net.r[2]), 4));
    assert_int_equal(rn_raft_config(net.r[1])->voters_n, 4);
    assert_int_equal(rn_raft_change(net.r[1], RN_RAFT_REMOVE, 2), RN_OK);
    pump(&net);
    assert_int_equal(rn_raft_config(net.r[1])->voters_n, 3);
    net_free(&net);
}

static void test_learner_never_campaigns(void **state) {
    (void)state;
    net_t net;
    net_init(&net, 3, 1);
    net.cut[4] = 1;
    tick(&net, 4, 60);
    assert_int_equal(rn_raft_role(net.r[4]), RN_RAFT_FOLLOWER);
    assert_int_equal(seen_count(&net, RN_RAFT_MSG_PREVOTE, 4, -1), 0);
    net_free(&net);
}

/* ---- codec ---- */

static void test_msg_codec_round_trip(void **state) {
    (void)state;
    rn_raft_entry_t e[2] = {{3, 8, RN_RAFT_ENTRY_NORMAL, 2, (uint8_t *)"hi"},
                            {3, 9, RN_RAFT_ENTRY_NOOP, 0, NULL}};
    rn_raft_msg_t m = msg(RN_RAFT_MSG_APPEND, 1, 2, 3);
    m.index = 7;
    m.log_term = 2;
    m.commit = 6;
    m.read_seq = 11;
    m.entries = e;
    m.entries_n = 2;
    uint8_t buf[512];
    size_t len = rn_raft_msg_encode(&m, buf, sizeof(buf));
    assert_true(len <= rn_raft_msg_size(&m));
    rn_raft_msg_t d;
    rn_raft_entry_t de[RN_RAFT_APPEND_ENTRIES_MAX];
    assert_int_equal(rn_raft_msg_decode(buf, len, &d, de, RN_RAFT_APPEND_ENTRIES_MAX), RN_OK);
    assert_int_equal(d.entries_n, 2);
    assert_int_equal(d.entries[1].index, 9);
    assert_memory_equal(d.entries[0].data, "hi", 2);
    assert_int_equal(d.read_seq, 11);
    for (size_t cut = 0; cut < len; cut++) /* every truncation is refused */
        assert_int_not_equal(rn_raft_msg_decode(buf, cut, &d, de, RN_RAFT_APPEND_ENTRIES_MAX),
                             RN_OK);
    buf[60] = 0xff; /* entries_n far past the limit */
    assert_int_equal(rn_raft_msg_decode(buf, len, &d, de, RN_RAFT_APPEND_ENTRIES_MAX),
                     RN_ERR_CORRUPT);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tick_starts_prevote),
        cmocka_unit_test(test_election_with_prevote),
        cmocka_unit_test(test_prevote_handler),
        cmocka_unit_test(test_prevote_ignored_in_lease),
        cmocka_unit_test(test_vote_persisted_with_answer),
        cmocka_unit_test(test_vote_rejects_shorter_log),
        cmocka_unit_test(test_vote_stale_term_answered),
        cmocka_unit_test(test_refused_vote_keeps_election_timer),
        cmocka_unit_test(test_vote_resp_rejections_end_candidacy),
        cmocka_unit_test(test_append_accept_and_conflict),
        cmocka_unit_test(test_append_mismatch_rejects_with_hint),
        cmocka_unit_test(test_append_stale_term_rejected),
        cmocka_unit_test(test_commit_only_current_term),
        cmocka_unit_test(test_append_resp_reject_probes_back),
        cmocka_unit_test(test_slow_follower_told_commit_on_its_ack),
        cmocka_unit_test(test_snapshot_install),
        cmocka_unit_test(test_snapshot_sent_to_lagging_follower),
        cmocka_unit_test(test_transfer_leadership),
        cmocka_unit_test(test_check_quorum_steps_down),
        cmocka_unit_test(test_read_index),
        cmocka_unit_test(test_learner_catches_up_then_promoted),
        cmocka_unit_test(test_learner_never_campaigns),
        cmocka_unit_test(test_msg_codec_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
