/*
 * arena.h: a bump allocator freed in one step.
 *
 * A request decodes into an arena and everything it allocates dies with
 * rn_arena_reset. The arena grows in chunks up to bytes_max; an allocation past
 * that budget returns NULL, which the decoder reports as RN_ERR_NO_MEMORY, so a
 * hostile frame cannot make the broker allocate without bound.
 */
#ifndef RN_BASE_ARENA_H
#define RN_BASE_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct rn_arena_chunk rn_arena_chunk_t;

typedef struct rn_arena {
    rn_arena_chunk_t *head; /* newest chunk first */
    size_t bytes_used;      /* total handed out plus chunk overhead */
    size_t bytes_max;
    atomic_flag busy; /* held by rn_arena_alloc_shared */
} rn_arena_t;

void rn_arena_init(rn_arena_t *arena, size_t bytes_max);
/* Returns zeroed memory aligned for any type, or NULL past the budget. */
void *rn_arena_alloc(rn_arena_t *arena, size_t size);
/* rn_arena_alloc for an arena several threads allocate from at once (the
   ops of one request running on several cores): one at a time. Every
   allocation made while others may run must come through here. */
void *rn_arena_alloc_shared(rn_arena_t *arena, size_t size);
/* Frees every chunk but the first, which is kept for reuse. */
void rn_arena_reset(rn_arena_t *arena);
void rn_arena_free(rn_arena_t *arena);

#endif
