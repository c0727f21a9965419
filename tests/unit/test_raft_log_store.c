/*
 * test_raft_log_store.c: the Raft store's crash safety on the simulated disk.
 * Appends, conflicts, votes and snapshots are interleaved with crashes (that
 * lose unsynced writes and tear the last one) and injected I/O errors; after
 * every restart the store must hold a prefix of what it was asked to write,
 * every write it reported durable, and the last vote it reported persisted.
 */
#include "io/io_sim.h"
#include "raft/raft_log_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MODEL_MAX 4096

/* What the test asked for: model[i] is the term written at index i. */
typedef struct model {
    uint64_t term[MODEL_MAX];
    uint64_t old_term[MODEL_MAX]; /* what an unsynced overwrite replaced */
    uint64_t last;                /* last index asked for */
    uint64_t durable;             /* last index reported durable */
    uint64_t snap;                /* snapshot index reported durable */
    uint64_t vote_term;
    rn_raft_id_t vote;
} model_t;

static rn_raft_store_t *reopen(rn_io_t *io) {
    rn_raft_store_t *st = NULL;
    assert_int_equal(rn_raft_store_open(io, "raft", &st), RN_OK);
    return st;
}

/* Checks what a restart recovered, then makes it the model's truth. */
static void verify(rn_raft_store_t *st, model_t *m) {
    rn_raft_boot_t boot;
    memset(&boot, 0, sizeof(boot));
    rn_raft_store_boot(st, &boot);
    assert_int_equal(boot.term, m->vote_term);
    assert_int_equal(boot.vote, m->vote);
    uint64_t snap = boot.snapshot ? boot.snapshot->index : 0;
    assert_true(snap >= m->snap);
    uint64_t last = snap + boot.entries_n;
    assert_true(last >= m->durable); /* nothing reported durable is lost */
    assert_true(last <= m->last);    /* nothing never written appears */
    for (uint32_t i = 0; i < boot.entries_n; i++) {
        const rn_raft_entry_t *e = &boot.entries[i];
        assert_int_equal(e->index, snap + 1 + i);
        /* a prefix of what was written: the new entry, or past what was
           durable, the one an unsynced overwrite would have replaced */
        if (e->index <= m->durable)
            assert_int_equal(e->term, m->term[e->index]);
        else
            assert_true(e->term == m->term[e->index] || e->term == m->old_term[e->index]);
        assert_int_equal(e->len, 8);
        uint64_t v;
        memcpy(&v, e->data, 8);
        assert_int_equal(v, e->index * 1000 + e->term);
        m->term[e->index] = e->term;
    }
    m->durable = m->last = last;
    m->snap = snap;
    rn_raft_store_boot_release(st);
}

static rn_err_t append_some(rn_sim_t *sim, rn_raft_store_t *st, model_t *m) {
    uint64_t first = m->durable + 1;
    if (m->durable > m->snap + 2 && rn_sim_chance(sim, 300000))
        first = m->snap + 1 + rn_sim_below(sim, m->durable - m->snap); /* a conflict */
    uint32_t n = 1 + (uint32_t)rn_sim_below(sim, 8);
    if (first + n >= MODEL_MAX) return RN_OK;
    uint64_t term = m->term[first - 1] + rn_sim_below(sim, 2) + (first <= m->durable);
    rn_raft_entry_t e[8];
    uint64_t vals[8];
    for (uint32_t i = 0; i < n; i++) {
        e[i].index = first + i;
        e[i].term = term;
        e[i].type = RN_RAFT_ENTRY_NORMAL;
        vals[i] = e[i].index * 1000 + term;
        e[i].data = (uint8_t *)&vals[i];
        e[i].len = 8;
        m->old_term[first + i] = m->term[first + i];
        m->term[first + i] = term;
    }
    rn_err_t err = rn_raft_store_append(st, e, n);
    if (err == RN_OK) {
        m->durable = m->last = first + n - 1;
        return RN_OK;
    }
    if (first + n - 1 > m->last) m->last = first + n - 1;
    if (first <= m->durable) m->durable = first - 1; /* a cut may have reached disk */
    return err;
}

static rn_err_t save_vote(rn_sim_t *sim, rn_raft_store_t *st, model_t *m) {
    uint64_t term = m->vote_term + 1;
    rn_raft_id_t vote = 1 + (rn_raft_id_t)rn_sim_below(sim, 5);
    rn_err_t err = rn_raft_store_save_state(st, term, vote);
    if (err == RN_OK) {
        m->vote_term = term;
        m->vote = vote;
    }
    return err;
}

static rn_err_t snapshot(rn_sim_t *sim, rn_raft_store_t *st, model_t *m) {
    if (m->durable <= m->snap) return RN_OK;
    rn_raft_snapshot_t s;
    memset(&s, 0, sizeof(s));
    s.index = m->snap + 1 + rn_sim_below(sim, m->durable - m->snap);
    s.term = m->term[s.index];
    s.config.voters_n = 1;
    s.config.voters[0] = 1;
    s.data = (uint8_t *)"state";
    s.len = 5;
    rn_err_t err = rn_raft_store_save_snapshot(st, &s);
    if (err == RN_OK) m->snap = s.index;
    return err;
}

static void test_store_crash_safety(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        rn_sim_t *sim = rn_sim_create(seed, 1);
        rn_io_t *io = rn_sim_io(sim, 1);
        model_t *mp = calloc(1, sizeof(*mp));
        assert_non_null(mp);
#define m (*mp)
        rn_raft_store_t *st = reopen(io);
        for (int step = 0; step < 300; step++) {
            rn_sim_disk_fail(sim, 1, rn_sim_chance(sim, 100000) ? 200000 : 0);
            uint64_t k = rn_sim_below(sim, 100);
            rn_err_t err = k < 70   ? append_some(sim, st, &m)
                           : k < 85 ? save_vote(sim, st, &m)
                                    : snapshot(sim, st, &m);
            if (err != RN_OK || rn_sim_chance(sim, 80000)) { /* errors are fatal: crash */
                rn_raft_store_close(st);
                rn_sim_crash(sim, 1);
                rn_sim_disk_fail(sim, 1, 0);
                st = reopen(io);
                verify(st, &m);
            }
        }
#undef m
        free(mp);
        rn_raft_store_close(st);
        rn_sim_destroy(sim);
    }
}

static void test_store_torn_tail_cut(void **state) {
    (void)state;
    rn_sim_t *sim = rn_sim_create(7, 1);
    rn_io_t *io = rn_sim_io(sim, 1);
    rn_raft_store_t *st = reopen(io);
    uint64_t v = 1 * 1000 + 1;
    rn_raft_entry_t e = {1, 1, RN_RAFT_ENTRY_NORMAL, 8, (uint8_t *)&v};
    assert_int_equal(rn_raft_store_append(st, &e, 1), RN_OK);
    rn_raft_store_close(st);
    /* garbage after the last record, as a torn write leaves */
    rn_fd_t fd;
    assert_int_equal(rn_io_file_open(io, "raft/log", RN_IO_WRITE, &fd), RN_OK);
    uint64_t size = 0;
    rn_io_file_size(io, fd, &size);
    assert_int_equal(rn_io_file_pwrite(io, fd, "\x30\0\0\0junkjunk", 12, size), RN_OK);
    rn_io_file_sync(io, fd);
    rn_io_file_close(io, fd);
    st = reopen(io);
    assert_int_equal(rn_raft_store_last_index(st), 1);
    rn_raft_store_close(st);
    st = reopen(io);
    assert_int_equal(rn_raft_store_last_index(st), 1);
    rn_raft_store_close(st);
    rn_sim_destroy(sim);
}

int main(void) {
    cmocka_set_message_output(CM_OUTPUT_TAP);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_crash_safety),
        cmocka_unit_test(test_store_torn_tail_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
