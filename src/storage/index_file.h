/*
 * index_file.h: reading and writing the fixed-size entries of an index file
 * (the offset index's 8-byte and the time index's 12-byte entries), shared
 * by both indexes. It knows the file shape only (entries back to back, a
 * whole number of them); what an entry holds and whether it is valid is the
 * caller's, through the callbacks. All file access goes through the seam.
 */
#ifndef RN_STORAGE_INDEX_FILE_H
#define RN_STORAGE_INDEX_FILE_H

#include "io/io.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Takes one entry's bytes; false when the entry is invalid (stops the read). */
typedef bool (*rn_index_file_take_fn)(void *ctx, const uint8_t *entry);
/* Writes entry number `i` into `out` (entry_bytes long). */
typedef void (*rn_index_file_put_fn)(const void *ctx, uint32_t i, uint8_t *out);

/* Reads every entry of path in order; an absent file is empty. *count gets
   the number of entries; RN_ERR_CORRUPT for a partial entry, more than
   count_max entries, or an entry `take` refuses. `reserve(ctx, n)` is called
   once with the entry count before the first take. */
rn_err_t rn_index_file_read(rn_io_t *io, const char *path, size_t entry_bytes, uint32_t count_max,
                            rn_err_t (*reserve)(void *ctx, uint32_t n), rn_index_file_take_fn take,
                            void *ctx, uint32_t *count);

/* Writes entries [from, to) at their places in the file (truncating it to
   `from` entries first when `truncate` is set). */
rn_err_t rn_index_file_write(rn_io_t *io, rn_fd_t fd, size_t entry_bytes, uint32_t from,
                             uint32_t to, bool truncate, rn_index_file_put_fn put, const void *ctx);

#endif
