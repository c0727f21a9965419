/*
 * test_arena.c: the request arena (base/arena.h): zeroed, aligned memory
 * within the budget, NULL past it; and rn_arena_alloc_shared from two
 * threads at once (the ops of one group request on two cores) hands out
 * disjoint pieces and accounts for every one of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/arena.h"

#include <pthread.h>
#include <stdalign.h>
#include <string.h>

#define PIECES 200000
#define PIECE_BYTES 24

static void test_budget(void **state) {
    (void)state;
    rn_arena_t arena;
    rn_arena_init(&arena, 64 * 1024);
    uint8_t *a = rn_arena_alloc(&arena, 100);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % alignof(max_align_t), 0);
    for (int i = 0; i < 100; i++) assert_int_equal(a[i], 0);
    assert_null(rn_arena_alloc(&arena, 128 * 1024));
    rn_arena_free(&arena);
}

static pthread_barrier_t start_together;

typedef struct writer {
    rn_arena_t *arena;
    uint8_t mark;
    uint8_t *pieces[PIECES];
} writer_t;

/* Takes PIECES pieces and fills each with its mark. */
static void *write_pieces(void *arg) {
    writer_t *w = arg;
    pthread_barrier_wait(&start_together);
    for (int i = 0; i < PIECES; i++) {
        w->pieces[i] = rn_arena_alloc_shared(w->arena, PIECE_BYTES);
        if (w->pieces[i]) memset(w->pieces[i], w->mark, PIECE_BYTES);
    }
    return NULL;
}

static void test_shared_from_two_threads(void **state) {
    (void)state;
    rn_arena_t arena;
    rn_arena_init(&arena, 64u * 1024 * 1024);
    static writer_t a, b;
    a = (writer_t){.arena = &arena, .mark = 0xaa};
    b = (writer_t){.arena = &arena, .mark = 0xbb};
    pthread_t ta, tb;
    pthread_barrier_init(&start_together, NULL, 2);
    assert_int_equal(pthread_create(&ta, NULL, write_pieces, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, write_pieces, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&start_together);
    /* Every piece still holds its own thread's mark: none was handed out
       twice or overlapped by another. */
    const writer_t *both[] = {&a, &b};
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < PIECES; i++) {
            assert_non_null(both[w]->pieces[i]);
            for (int k = 0; k < PIECE_BYTES; k++)
                assert_int_equal(both[w]->pieces[i][k], both[w]->mark);
        }
    /* And the books hold every piece (at least its aligned size each). */
    size_t aligned =
        (PIECE_BYTES + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    assert_true(arena.bytes_used >= (size_t)2 * PIECES * aligned);
    rn_arena_free(&arena);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_shared_from_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
