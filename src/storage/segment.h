/*
 * segment.h: one log segment: `<20-digit base>.log` with its `.index` and
 * `.timeindex`, Kafka's file names and formats.
 *
 * A segment owns its file handles and its two in-memory indexes. It is
 * reference counted: the log holds one reference while the segment is part of
 * it, and every read range handed to a fetch holds another (rn_segment_ref /
 * rn_segment_unref, atomic, callable from any thread). Deleting a segment
 * (retention, truncation) unlinks its files at once; the handles close when
 * the last reference goes, so a sendfile in flight still reads valid bytes.
 *
 * Everything except rn_segment_unref runs on the thread that owns the log.
 * Never validates appended bytes (the log did, with batch.c); never decides
 * when to roll or delete (the log and retention do).
 *
 * Log file layout: record batches (batch.h) back to back from position 0;
 * nothing else. Positions fit in int32 (segment.bytes is an int).
 */
#ifndef RN_STORAGE_SEGMENT_H
#define RN_STORAGE_SEGMENT_H

#include "base/limits.h"
#include "io/io.h"
#include "proto/batch.h"
#include "storage/offset_index.h"
#include "storage/time_index.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rn_segment {
    rn_io_t *io;
    int64_t base_offset;
    int64_t next_offset;   /* one past the last offset held */
    uint64_t size_bytes;   /* bytes of whole batches */
    uint64_t synced_bytes; /* bytes known durable */
    rn_fd_t fd;            /* the .log file */
    bool active;           /* still indexed on appends (not sealed); the index
                              files are opened only to write, so a partition
                              costs one open file (the .log) */
    rn_offset_index_t oidx;
    rn_time_index_t tidx;
    int64_t max_timestamp_ms;     /* largest batch max_timestamp; -1 if empty */
    int64_t max_timestamp_offset; /* last offset of the batch that set it */
    int64_t roll_timestamp_ms;    /* first batch's max_timestamp; -1 if empty */
    int64_t created_ms;           /* wall time of the first append (or of the
                                     open that found it non-empty); -1 if empty */
    uint32_t bytes_since_index;
    atomic_int refs;
    bool deleted;
    char path[RN_STORAGE_PATH_BYTES_MAX]; /* "<dir>/<20 digits>", no extension */
} rn_segment_t;

/* Builds "<dir>/<20-digit base><ext>" into out; false if it does not fit. */
bool rn_segment_file_path(char *out, size_t cap, const char *dir, int64_t base_offset,
                          const char *ext);

/* Creates a new empty segment (truncating stale files of the same name); one
   reference, held by the caller. Index files stay open for appends. */
rn_err_t rn_segment_create(rn_io_t *io, const char *dir, int64_t base_offset,
                           int64_t index_bytes_max, rn_segment_t **out);
/* Opens an existing .log; size from the file, indexes empty, next_offset =
   base_offset. The caller (recovery) loads or rebuilds the rest. */
rn_err_t rn_segment_open(rn_io_t *io, const char *dir, int64_t base_offset, int64_t index_bytes_max,
                         rn_segment_t **out);

void rn_segment_ref(rn_segment_t *seg);
/* Drops a reference; the last one closes the files and frees the segment. */
void rn_segment_unref(rn_segment_t *seg);

/* Writes a validated, offset-assigned blob of whole batches at the end with
   one pwrite, then indexes it. No fsync. */
rn_err_t rn_segment_append(rn_segment_t *seg, const uint8_t *blob, size_t len,
                           int32_t index_interval_bytes);
/* Updates next offset, timestamps and indexes for a batch already in the file
   at `position` (append and recovery share it). */
void rn_segment_index_batch(rn_segment_t *seg, const rn_batch_header_t *hdr, uint64_t position,
                            int32_t index_interval_bytes);
/* Writes pending index entries and fdatasyncs the log file if dirty. */
rn_err_t rn_segment_sync(rn_segment_t *seg);
/* Called when the segment stops being active: final time index entry, index
   files written, synced and closed. The log data is synced too. */
rn_err_t rn_segment_seal(rn_segment_t *seg);
/* Opens the index files for appending again (a sealed segment made active by
   truncation). */
rn_err_t rn_segment_unseal(rn_segment_t *seg);

/* A scan of batch headers through a read window (RN_STORAGE_SCAN_WINDOW_BYTES). */
typedef struct rn_segment_cursor {
    rn_segment_t *seg;
    uint64_t win_off;
    size_t win_len;
    uint8_t win[RN_STORAGE_SCAN_WINDOW_BYTES];
} rn_segment_cursor_t;

void rn_segment_cursor_init(rn_segment_cursor_t *cur, rn_segment_t *seg);
/* Header of the batch at pos (< size_bytes). RN_ERR_NOT_FOUND at the end,
   RN_ERR_CORRUPT if the bytes there are not a plausible batch. */
rn_err_t rn_segment_cursor_header(rn_segment_cursor_t *cur, uint64_t pos, rn_batch_header_t *hdr);

/* Position of the first batch whose last offset >= offset (index + scan);
   RN_ERR_NOT_FOUND if none; *hdr gets its header. */
rn_err_t rn_segment_find(rn_segment_t *seg, int64_t offset, uint64_t *pos, rn_batch_header_t *hdr);
/*
 * The file range to serve a fetch at `offset`: whole batches from the one
 * holding offset, at most max_bytes of them but always at least one, none
 * whose last offset >= max_offset. *len == 0 when nothing qualifies.
 */
rn_err_t rn_segment_read(rn_segment_t *seg, int64_t offset, int32_t max_bytes, int64_t max_offset,
                         uint64_t *pos, uint64_t *len);
/* Drops every batch whose last offset >= offset (cut at a batch boundary);
   the file is truncated, indexes too. next_offset becomes the cut point. */
rn_err_t rn_segment_truncate(rn_segment_t *seg, int64_t offset);
/* Truncates the file to `pos` bytes (recovery's cut). The caller has indexed
   only batches wholly before pos. */
rn_err_t rn_segment_truncate_bytes(rn_segment_t *seg, uint64_t pos);
/* A segment for the log cleaner: its .log is "<base>.log.cleaned" (the
   path stays "<dir>/<base>", the name it takes once swapped in); no index
   file until rn_segment_write_index_files. One reference, the caller's. */
rn_err_t rn_segment_create_cleaned(rn_io_t *io, const char *dir, int64_t base_offset,
                                   int64_t index_bytes_max, rn_segment_t **out);
/* Writes both indexes whole to "<path>.index<suffix>" and
   "<path>.timeindex<suffix>" and fsyncs them (the cleaner's new segments). */
rn_err_t rn_segment_write_index_files(rn_segment_t *seg, const char *suffix);
/* Marks a segment gone from the log whose files another segment's took the
   names of (a cleaner swap): nothing is unlinked. */
void rn_segment_forget(rn_segment_t *seg);
/* Unlinks the three files; the handles close with the last reference. */
rn_err_t rn_segment_delete(rn_segment_t *seg);

static inline bool rn_segment_empty(const rn_segment_t *seg) { return seg->size_bytes == 0; }

#endif
