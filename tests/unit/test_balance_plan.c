/*
 * test_balance_plan.c: the balancer's planner on small hand-made clusters:
 * an empty fourth broker gets replicas and leaders (and the figures of that
 * case against the minimum), a drained broker empties, an absent one's
 * replicas are rebuilt elsewhere, racks spread, a broker near the disk
 * ceiling receives nothing, replica and leader caps, the concurrency bound
 * (moves in flight included), the in-sync replica kept, hysteresis (a
 * balanced cluster plans nothing, a converged one plans nothing new), and
 * determinism (the same input twice, the same bytes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "metadata/balance_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024LL * 1024 * 1024)
#define BROKERS 8
#define PARTS 400
#define MOVES 1000

typedef struct cluster {
    rn_bal_broker_t brokers[BROKERS];
    int32_t brokers_n;
    rn_bal_partition_t parts[PARTS];
    int32_t parts_n;
    int32_t topics_n;
    rn_bal_settings_t set;
    rn_bal_move_t moves[MOVES];
    int32_t moves_n;
    rn_bal_report_t rep;
} cluster_t;

static cluster_t *cluster_new(int32_t brokers_n, int64_t cap_bytes) {
    cluster_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->brokers_n = brokers_n;
    c->topics_n = 1;
    for (int32_t b = 0; b < brokers_n; b++) {
        c->brokers[b].id = b + 1;
        c->brokers[b].usable = true;
        c->brokers[b].disk_capacity_bytes = cap_bytes;
    }
    rn_bal_settings_default(&c->set);
    c->set.moves_per_broker_max = MOVES;
    c->set.moves_per_plan_max = MOVES;
    return c;
}

/* A partition of size_bytes on the given brokers, all in sync, led by the first. */
static void add_part(cluster_t *c, int64_t size_bytes, int32_t rf, const int32_t *ids) {
    assert_true(c->parts_n < PARTS);
    rn_bal_partition_t *p = &c->parts[c->parts_n];
    p->partition = c->parts_n++;
    p->replicas_n = p->isr_n = rf;
    for (int32_t i = 0; i < rf; i++) p->replicas[i] = p->isr[i] = ids[i];
    p->leader = ids[0];
    p->size_bytes = size_bytes;
}

/* n partitions of RF rf round-robin over brokers 1..over, leaders rotating. */
static void add_spread(cluster_t *c, int32_t n, int32_t rf, int32_t over, int64_t size_bytes) {
    for (int32_t k = 0; k < n; k++) {
        int32_t ids[RN_REPLICAS_MAX];
        for (int32_t i = 0; i < rf; i++) ids[i] = (k + i) % over + 1;
        add_part(c, size_bytes, rf, ids);
    }
}

static int32_t broker_at(const cluster_t *c, int32_t id) {
    for (int32_t b = 0; b < c->brokers_n; b++)
        if (c->brokers[b].id == id) return b;
    fail_msg("no broker %d", id);
    return -1;
}

/* Disk used: each broker's replicas' sizes. */
static void refresh(cluster_t *c) {
    for (int32_t b = 0; b < c->brokers_n; b++) c->brokers[b].disk_used_bytes = 0;
    for (int32_t p = 0; p < c->parts_n; p++)
        for (int32_t i = 0; i < c->parts[p].replicas_n; i++)
            c->brokers[broker_at(c, c->parts[p].replicas[i])].disk_used_bytes +=
                c->parts[p].size_bytes;
}

static void plan(cluster_t *c) {
    refresh(c);
    rn_bal_input_t in = {c->brokers, c->brokers_n, c->parts,
                         c->parts_n, c->topics_n,  c->rep.goals_unfinished};
    assert_int_equal(rn_bal_plan(&in, &c->set, c->moves, MOVES, &c->moves_n, &c->rep), RN_OK);
    assert_int_equal(c->rep.moves_n, c->moves_n);
}

/* The moves as completed reassignments: in sync, the first replica leads. */
static void apply(cluster_t *c) {
    for (int32_t i = 0; i < c->moves_n; i++) {
        rn_bal_partition_t *p = &c->parts[c->moves[i].part];
        assert_int_equal(c->moves[i].replicas_n, p->replicas_n);
        memcpy(p->replicas, c->moves[i].replicas, sizeof(p->replicas));
        memcpy(p->isr, c->moves[i].replicas, sizeof(p->isr));
        p->leader = p->replicas[0];
        p->moving = false;
    }
    refresh(c);
}

static int32_t replicas_on(const cluster_t *c, int32_t id) {
    int32_t n = 0;
    for (int32_t p = 0; p < c->parts_n; p++)
        for (int32_t i = 0; i < c->parts[p].replicas_n; i++) n += c->parts[p].replicas[i] == id;
    return n;
}

static bool holds(const rn_bal_move_t *mv, int32_t id) {
    for (int32_t i = 0; i < mv->replicas_n; i++)
        if (mv->replicas[i] == id) return true;
    return false;
}

static int32_t leaders_on(const cluster_t *c, int32_t id) {
    int32_t n = 0;
    for (int32_t p = 0; p < c->parts_n; p++) n += c->parts[p].replicas[0] == id;
    return n;
}

/* Plans and applies until a plan is empty; returns the rounds it took. */
static int32_t converge(cluster_t *c, int32_t *moves, int64_t *bytes) {
    int32_t rounds = 0;
    for (plan(c); c->moves_n > 0; plan(c)) {
        assert_true(++rounds < 200);
        *moves += c->moves_n;
        *bytes += c->rep.bytes;
        apply(c);
    }
    return rounds;
}

/* 3 brokers with 300 partitions RF 3, a 4th empty: it gets its share of
   replicas and of leaders; prints the figures against the minimum. */
static void test_empty_fourth_broker(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 300, 3, 3, GIB);
    int32_t moves = 0;
    int64_t bytes = 0;
    int32_t rounds = converge(c, &moves, &bytes);
    int32_t got = replicas_on(c, 4), fair = 300 * 3 / 4;
    assert_true(got >= fair - fair * c->set.stop_pct / 100 - 1);
    assert_true(got <= fair + fair * c->set.stop_pct / 100 + 1);
    assert_true(leaders_on(c, 4) >= 75 - 2);
    for (int32_t b = 1; b <= 3; b++) assert_true(leaders_on(c, b) <= 75 + 2);
    printf("# empty 4th broker: %d rounds, %d moves, %.0f GiB copied; broker 4 holds %d replicas "
           "(%d leaders); minimum %d replicas, %d GiB\n",
           rounds, moves, (double)bytes / GIB, got, leaders_on(c, 4), fair, fair);
    free(c);
    /* The same at the default bounds: more plans, the same result. */
    c = cluster_new(4, 1024 * GIB);
    add_spread(c, 300, 3, 3, GIB);
    rn_bal_settings_default(&c->set);
    moves = 0;
    bytes = 0;
    rounds = converge(c, &moves, &bytes);
    assert_true(abs(replicas_on(c, 4) - got) <= 1);
    printf("# the same at the default bounds (%d moves per broker, %d per plan): %d rounds, %d "
           "moves, %.0f GiB copied\n",
           c->set.moves_per_broker_max, c->set.moves_per_plan_max, rounds, moves,
           (double)bytes / GIB);
    free(c);
}

/* The default bound: at most 5 moves touch the new broker per plan. */
static void test_bound(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 300, 3, 3, GIB);
    c->set.moves_per_broker_max = 5;
    plan(c);
    assert_int_equal(c->moves_n - c->rep.leader_moves_n, 5);
    assert_true(c->rep.bound_refusals > 0);
    for (int32_t i = 0; i < c->moves_n; i++) assert_true(holds(&c->moves[i], 4));
    /* Two moves in flight onto broker 4 leave room for three. */
    c->parts[0].moving = c->parts[1].moving = true;
    c->parts[0].replicas[2] = c->parts[1].replicas[2] = 4;
    plan(c);
    assert_int_equal(c->moves_n - c->rep.leader_moves_n, 3);
    /* At the bound: nothing, and the report says why. */
    c->set.moves_per_broker_max = 2;
    plan(c);
    assert_int_equal(c->moves_n, 0);
    assert_int_equal(c->rep.idle, RN_BAL_BOUND);
    free(c);
}

static void test_drained_broker_empties(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 40, 2, 4, GIB);
    c->brokers[1].drained = true; /* broker 2 */
    plan(c);
    assert_true(c->moves_n > 0);
    assert_int_equal(c->rep.before[RN_BAL_G_DRAIN], 20);
    assert_int_equal(c->rep.after[RN_BAL_G_DRAIN], 0);
    for (int32_t i = 0; i < c->moves_n; i++) {
        assert_int_equal(c->moves[i].reason, RN_BAL_G_DRAIN);
        assert_int_equal(c->moves[i].bytes, GIB);
        assert_int_not_equal(c->moves[i].replicas[0], 2);
    }
    apply(c);
    assert_int_equal(replicas_on(c, 2), 0);
    free(c);
}

/* An absent broker's replicas are rebuilt elsewhere, led by one that
   stayed, and its moves do not count against its bound. */
static void test_absent_broker_rebuilt(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 12, 3, 3, GIB);
    c->brokers[0].absent = true;
    c->brokers[0].usable = false;
    for (int32_t p = 0; p < c->parts_n; p++) { /* broker 1 left the ISR */
        rn_bal_partition_t *part = &c->parts[p];
        part->isr_n = 0;
        for (int32_t i = 0; i < 3; i++)
            if (part->replicas[i] != 1) part->isr[part->isr_n++] = part->replicas[i];
        part->leader = part->isr[0];
    }
    c->set.moves_per_broker_max = 12;
    plan(c);
    assert_int_equal(c->moves_n, 12);
    for (int32_t i = 0; i < c->moves_n; i++) {
        assert_true(holds(&c->moves[i], 4));
        assert_false(holds(&c->moves[i], 1));
        assert_int_not_equal(c->moves[i].replicas[0], 4);
    }
    free(c);
}

static void test_racks_spread(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    c->brokers[0].rack = c->brokers[1].rack = "a";
    c->brokers[2].rack = c->brokers[3].rack = "b";
    for (int32_t k = 0; k < 8; k++) add_part(c, GIB, 2, (int32_t[]){1 + k % 2, 2 - k % 2});
    plan(c);
    assert_int_equal(c->rep.before[RN_BAL_G_RACK], 8);
    assert_int_equal(c->rep.after[RN_BAL_G_RACK], 0);
    apply(c);
    for (int32_t p = 0; p < c->parts_n; p++) {
        int32_t a = c->parts[p].replicas[0], b = c->parts[p].replicas[1];
        assert_true((a <= 2) != (b <= 2));
    }
    /* Spread, then balanced: no move ever puts both replicas in one rack. */
    int32_t moves = 0;
    int64_t bytes = 0;
    converge(c, &moves, &bytes);
    for (int32_t p = 0; p < c->parts_n; p++)
        assert_true((c->parts[p].replicas[0] <= 2) != (c->parts[p].replicas[1] <= 2));
    free(c);
}

/* A new broker whose disk is near the ceiling receives nothing. */
static void test_disk_ceiling(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 300, 3, 3, GIB);
    c->brokers[3].disk_capacity_bytes = 100 * GIB;
    /* Its own files fill 89 %: one more 1 GiB replica would pass 90 %. */
    refresh(c);
    rn_bal_input_t in = {c->brokers, c->brokers_n, c->parts, c->parts_n, c->topics_n, 0};
    c->brokers[3].disk_used_bytes = 89 * GIB + 1;
    assert_int_equal(rn_bal_plan(&in, &c->set, c->moves, MOVES, &c->moves_n, &c->rep), RN_OK);
    for (int32_t i = 0; i < c->moves_n; i++)
        for (int32_t j = 0; j < 3; j++) assert_int_not_equal(c->moves[i].replicas[j], 4);
    /* With room it receives, and never past the ceiling. */
    c->brokers[3].disk_used_bytes = 0;
    assert_int_equal(rn_bal_plan(&in, &c->set, c->moves, MOVES, &c->moves_n, &c->rep), RN_OK);
    int32_t to4 = 0;
    for (int32_t i = 0; i < c->moves_n; i++) to4 += holds(&c->moves[i], 4);
    assert_true(to4 > 0 && to4 <= 90);
    free(c);
}

/* An over-full broker sheds replicas until it is under the ceiling. */
static void test_disk_over_ceiling_sheds(void **state) {
    (void)state;
    cluster_t *c = cluster_new(3, 100 * GIB);
    for (int32_t k = 0; k < 19; k++) add_part(c, 5 * GIB, 1, (int32_t[]){1});
    plan(c);
    assert_int_equal(c->rep.before[RN_BAL_G_DISK_CAP], 1);
    assert_int_equal(c->rep.after[RN_BAL_G_DISK_CAP], 0);
    assert_int_equal(c->moves[0].reason, RN_BAL_G_DISK_CAP);
    free(c);
}

static void test_caps(void **state) {
    (void)state;
    cluster_t *c = cluster_new(3, 1024 * GIB);
    for (int32_t k = 0; k < 30; k++) add_part(c, GIB, 2, (int32_t[]){1, 2 + k % 2});
    c->set.replicas_per_broker_max = 25;
    c->set.leaders_per_broker_max = 12;
    plan(c);
    assert_int_equal(c->rep.before[RN_BAL_G_REPLICA_CAP], 1);
    assert_int_equal(c->rep.before[RN_BAL_G_LEADER_CAP], 1);
    assert_int_equal(c->rep.after[RN_BAL_G_REPLICA_CAP], 0);
    assert_int_equal(c->rep.after[RN_BAL_G_LEADER_CAP], 0);
    apply(c);
    for (int32_t b = 1; b <= 3; b++) {
        assert_true(replicas_on(c, b) <= 25);
        assert_true(leaders_on(c, b) <= 12);
    }
    free(c);
}

/* A partition whose only in-sync replica is on the loaded broker keeps it. */
static void test_isr_kept(void **state) {
    (void)state;
    cluster_t *c = cluster_new(3, 1024 * GIB);
    for (int32_t k = 0; k < 20; k++) add_part(c, GIB, 2, (int32_t[]){1, 2});
    for (int32_t p = 0; p < c->parts_n; p++) c->parts[p].isr_n = 1; /* broker 2 lags */
    plan(c);
    assert_true(c->moves_n > 0);
    for (int32_t i = 0; i < c->moves_n; i++) {
        const rn_bal_move_t *mv = &c->moves[i];
        assert_true(mv->replicas[0] == 1 || mv->replicas[1] == 1);
    }
    free(c);
}

/* A balanced cluster plans nothing; one within the start band neither; a
   converged one plans nothing new. */
static void test_hysteresis(void **state) {
    (void)state;
    cluster_t *c = cluster_new(4, 1024 * GIB);
    add_spread(c, 100, 2, 4, GIB);
    plan(c);
    assert_int_equal(c->moves_n, 0);
    assert_int_equal(c->rep.idle, RN_BAL_BALANCED);
    /* Broker 1 at 54 replicas, broker 3 at 46, against a mean of 50 (start
       band 5, stop band 1). */
    for (int32_t p = 0; p < 4; p++)
        c->parts[p * 4 + 1].replicas[1] = c->parts[p * 4 + 1].isr[1] = 1;
    plan(c);
    assert_int_equal(c->moves_n, 0);
    assert_int_equal(c->rep.idle, RN_BAL_HYSTERESIS);
    /* Past the start band: it moves, down to the stop band, then rests. */
    for (int32_t p = 4; p < 8; p++)
        c->parts[p * 4 + 1].replicas[1] = c->parts[p * 4 + 1].isr[1] = 1;
    int32_t moves = 0;
    int64_t bytes = 0;
    converge(c, &moves, &bytes);
    assert_true(moves > 0);
    assert_true(abs(replicas_on(c, 1) - 50) <= 1);
    plan(c);
    assert_int_equal(c->moves_n, 0);
    free(c);
}

static void test_deterministic(void **state) {
    (void)state;
    cluster_t *c = cluster_new(5, 1024 * GIB);
    c->topics_n = 3;
    add_spread(c, 200, 3, 3, GIB);
    for (int32_t p = 0; p < c->parts_n; p++) {
        c->parts[p].topic = p % 3;
        c->parts[p].size_bytes = (p * 7919 % 97) * GIB / 10;
        c->parts[p].bytes_in_per_s = (p * 31 % 17) * 100000;
    }
    c->brokers[2].drained = true;
    plan(c);
    rn_bal_move_t first[MOVES];
    rn_bal_report_t rep = c->rep;
    int32_t n = c->moves_n;
    memcpy(first, c->moves, sizeof(first));
    memset(c->moves, 0xa5, sizeof(c->moves));
    plan(c);
    assert_int_equal(n, c->moves_n);
    assert_true(n > 0);
    assert_memory_equal(first, c->moves, sizeof(rn_bal_move_t) * (size_t)n);
    assert_memory_equal(&rep, &c->rep, sizeof(rep));
    free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_fourth_broker),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_drained_broker_empties),
        cmocka_unit_test(test_absent_broker_rebuilt),
        cmocka_unit_test(test_racks_spread),
        cmocka_unit_test(test_disk_ceiling),
        cmocka_unit_test(test_disk_over_ceiling_sheds),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_isr_kept),
        cmocka_unit_test(test_hysteresis),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
