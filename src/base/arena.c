/* arena.c: chunked bump allocation with a byte budget. */
#include "arena.h"
#include "assert.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_BYTES_MIN 4096

struct rn_arena_chunk {
    rn_arena_chunk_t *next;
    size_t cap;
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

void rn_arena_init(rn_arena_t *arena, size_t bytes_max) {
    RN_ASSERT(bytes_max > 0);
    arena->head = NULL;
    arena->bytes_used = 0;
    arena->bytes_max = bytes_max;
    atomic_flag_clear(&arena->busy);
}

static size_t align_up(size_t n) {
    size_t a = alignof(max_align_t);
    return (n + a - 1) & ~(a - 1);
}

void *rn_arena_alloc(rn_arena_t *arena, size_t size) {
    size = align_up(size ? size : 1);
    rn_arena_chunk_t *chunk = arena->head;
    if (!chunk || chunk->cap - chunk->used < size) {
        size_t cap = size > ARENA_CHUNK_BYTES_MIN ? size : ARENA_CHUNK_BYTES_MIN;
        if (chunk && chunk->cap * 2 > cap) cap = chunk->cap * 2;
        size_t total = sizeof(rn_arena_chunk_t) + cap;
        if (total > arena->bytes_max - arena->bytes_used) {
            cap = size; /* retry with the least that fits */
            total = sizeof(rn_arena_chunk_t) + cap;
            if (total > arena->bytes_max - arena->bytes_used) return NULL;
        }
        chunk = malloc(total);
        if (!chunk) return NULL;
        chunk->cap = cap;
        chunk->used = 0;
        chunk->next = arena->head;
        arena->head = chunk;
        arena->bytes_used += total;
    }
    void *ptr = chunk->data + chunk->used;
    chunk->used += size;
    memset(ptr, 0, size);
    return ptr;
}

void rn_arena_reset(rn_arena_t *arena) {
    rn_arena_chunk_t *keep = arena->head; /* the newest chunk is the largest */
    if (!keep) return;
    for (rn_arena_chunk_t *c = keep->next; c;) {
        rn_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    keep->used = 0;
    arena->bytes_used = sizeof(rn_arena_chunk_t) + keep->cap;
}

void rn_arena_free(rn_arena_t *arena) {
    for (rn_arena_chunk_t *c = arena->head; c;) {
        rn_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    arena->head = NULL;
    arena->bytes_used = 0;
}

void *rn_arena_alloc_shared(rn_arena_t *arena, size_t size) {
    while (atomic_flag_test_and_set_explicit(&arena->busy, memory_order_acquire)) {
        /* another core's op allocates: a bump, over in nanoseconds */
    }
    void *ptr = rn_arena_alloc(arena, size);
    atomic_flag_clear_explicit(&arena->busy, memory_order_release);
    return ptr;
}
