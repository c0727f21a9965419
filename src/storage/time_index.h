/*
 * time_index.h: a segment's sparse time index, Kafka's `.timeindex` format.
 *
 * Owns its entry array; never opens or syncs a file (the segment hands it the
 * fd). Written lazily like the offset index and rebuildable from the log.
 *
 * File layout: entries back to back; entry i at i * 12:
 *
 *   offset size field
 *   ------ ---- -----------------------------------------------------------
 *        0    8 timestamp (int64, big-endian): the largest timestamp so far
 *        8    4 relative offset (int32, big-endian) of the batch that first
 *               reached it (its last offset, as Kafka)
 *
 * Timestamps strictly increase; offsets never decrease. An entry (t, o) means
 * every batch wholly before offset o has max timestamp <= t.
 */
#ifndef RN_STORAGE_TIME_INDEX_H
#define RN_STORAGE_TIME_INDEX_H

#include "io/io.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_time_index_entry {
    int64_t timestamp_ms;
    int32_t rel_offset;
} rn_time_index_entry_t;

typedef struct rn_time_index {
    int64_t base_offset;
    rn_time_index_entry_t *entries;
    uint32_t count;
    uint32_t cap;
    uint32_t count_max; /* segment.index.bytes / 12 */
    uint32_t flushed;
    bool file_stale;
} rn_time_index_t;

void rn_time_index_init(rn_time_index_t *tidx, int64_t base_offset, int64_t bytes_max);
void rn_time_index_free(rn_time_index_t *tidx);
static inline bool rn_time_index_full(const rn_time_index_t *tidx) {
    return tidx->count >= tidx->count_max;
}
/* Adds (ts, offset) when ts exceeds the last entry's timestamp; otherwise a
   no-op. RN_ERR_LIMIT when full, RN_ERR_NO_MEMORY if it cannot grow. */
rn_err_t rn_time_index_maybe_append(rn_time_index_t *tidx, int64_t timestamp_ms, int64_t offset);
/* Offset of the last entry with timestamp < ts_ms, or the base offset. */
int64_t rn_time_index_lookup(const rn_time_index_t *tidx, int64_t ts_ms);
bool rn_time_index_last(const rn_time_index_t *tidx, int64_t *timestamp_ms, int64_t *offset);
void rn_time_index_truncate(rn_time_index_t *tidx, int64_t offset);
void rn_time_index_clear(rn_time_index_t *tidx);
/* Reads and checks the file (absent = empty); offsets must stay below
   next_offset. RN_ERR_CORRUPT means "rebuild it". */
rn_err_t rn_time_index_load(rn_time_index_t *tidx, rn_io_t *io, const char *path,
                            int64_t next_offset);
rn_err_t rn_time_index_flush(rn_time_index_t *tidx, rn_io_t *io, rn_fd_t fd);

#endif
