/*
 * offset_index.h: a segment's sparse offset index, Kafka's `.index` format.
 *
 * Owns its entry array (heap, grown up to the configured segment.index.bytes)
 * and knows how many entries the file already holds. Never opens, closes or
 * syncs a file itself: the segment hands it the fd; the index is always
 * rebuildable from the log, so it is written lazily (at sync and roll).
 *
 * File layout: entries back to back, nothing else; entry i at i * 8:
 *
 *   offset size field
 *   ------ ---- -----------------------------------------------------------
 *        0    4 relative offset (int32, big-endian): offset - segment base
 *        4    4 position (int32, big-endian): file position of the batch
 *
 * An entry (o, p) means: the batch holding offset o starts at position p, or
 * o lies in a later batch than the one at p. Entries strictly increase in
 * both fields.
 */
#ifndef RN_STORAGE_OFFSET_INDEX_H
#define RN_STORAGE_OFFSET_INDEX_H

#include "io/io.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_offset_index_entry {
    int32_t rel_offset;
    int32_t position;
} rn_offset_index_entry_t;

typedef struct rn_offset_index {
    int64_t base_offset;
    rn_offset_index_entry_t *entries;
    uint32_t count;
    uint32_t cap;
    uint32_t count_max; /* segment.index.bytes / 8 */
    uint32_t flushed;   /* entries the file holds */
    bool file_stale;    /* the file holds entries past `count`: truncate it */
} rn_offset_index_t;

void rn_offset_index_init(rn_offset_index_t *idx, int64_t base_offset, int64_t bytes_max);
void rn_offset_index_free(rn_offset_index_t *idx);
static inline bool rn_offset_index_full(const rn_offset_index_t *idx) {
    return idx->count >= idx->count_max;
}
/* Adds (offset, position); both must exceed the last entry's. RN_ERR_LIMIT
   when full, RN_ERR_NO_MEMORY if the array cannot grow. */
rn_err_t rn_offset_index_append(rn_offset_index_t *idx, int64_t offset, uint64_t position);
/* Position of the last entry with offset <= target (0 if none). */
uint64_t rn_offset_index_lookup(const rn_offset_index_t *idx, int64_t offset);
/* The last entry, or false when empty. */
bool rn_offset_index_last(const rn_offset_index_t *idx, int64_t *offset, uint64_t *position);
/* Drops entries with offset >= offset (truncation of the log). */
void rn_offset_index_truncate(rn_offset_index_t *idx, int64_t offset);
void rn_offset_index_clear(rn_offset_index_t *idx);
/* Reads the file at path (absent = empty) and checks it: strictly rising,
   positions below seg_bytes. RN_ERR_CORRUPT means "rebuild it". */
rn_err_t rn_offset_index_load(rn_offset_index_t *idx, rn_io_t *io, const char *path,
                              uint64_t seg_bytes);
/* Writes entries not yet in the file (and trims a stale file). No fsync. */
rn_err_t rn_offset_index_flush(rn_offset_index_t *idx, rn_io_t *io, rn_fd_t fd);

#endif
