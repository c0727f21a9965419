/*
 * metadata_log.h: the append-only file of metadata batches.
 *
 * What it does: keeps `<dir>/__cluster_metadata-0/00000000000000000000.log`
 * (Kafka's directory name for the metadata partition; the file format is
 * Runnel's), appends batches with a length and CRC-32C frame and fsyncs each
 * append (metadata changes are rare), and at open replays every batch,
 * cutting the file at the first torn or corrupt frame so a crash at any
 * instant leaves a log of whole batches.
 *
 * What it owns: the file handle and its path.
 *
 * What it must never do: hand a record to replay before its whole batch has
 * passed the checksum; append after a failed write without reopening.
 *
 * Frame of one batch (integers big-endian):
 *
 *   offset size  field
 *   0      4     body_len: bytes of records after the header
 *   4      4     crc: CRC-32C of bytes [8, 28 + body_len)
 *   8      1     magic = 1
 *   9      3     reserved, zero
 *   12     4     epoch: the leader epoch that appended it (0 on a single node)
 *   16     8     base_offset: metadata offset of the first record
 *   24     4     record_count
 *   28     body_len  records, as records.h draws them
 *
 * Offsets are dense: a batch's base_offset is the previous batch's base plus
 * its record count, starting at 0.
 */
#ifndef RN_METADATA_METADATA_LOG_H
#define RN_METADATA_METADATA_LOG_H

#include "base/limits.h"
#include "io/io.h"
#include "metadata/records.h"

#include <stdbool.h>
#include <stdint.h>

#define RN_MD_LOG_DIR_NAME "__cluster_metadata-0"
#define RN_MD_LOG_FILE_NAME "00000000000000000000.log"
#define RN_MD_LOG_HEADER_BYTES 28

typedef struct rn_md_log {
    rn_io_t *io;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    char path[RN_STORAGE_PATH_BYTES_MAX];
    rn_fd_t fd;
    uint64_t size;        /* bytes of whole batches */
    uint64_t next_offset; /* offset the next record gets */
    int32_t epoch;
    bool failed;        /* a write failed: the tail is unknown until reopened */
    uint64_t cut_bytes; /* bytes cut from a torn tail at open (for logs and tests) */
} rn_md_log_t;

/* Called per replayed record, in order, with its offset. */
typedef rn_err_t (*rn_md_log_replay_fn)(void *ctx, uint64_t offset, const rn_md_record_t *rec);

/*
 * Opens (creating folders and file as needed) the log under data_dir and
 * replays it through fn. A torn or corrupt tail is cut off and the cut made
 * durable. A batch that passes its checksum but holds a record of an unknown
 * type or version stops the open (RN_ERR_INVALID): a newer version wrote it
 * and cutting would lose data. fn's error stops the open too.
 */
rn_err_t rn_md_log_open(rn_md_log_t *log, rn_io_t *io, const char *data_dir, rn_md_log_replay_fn fn,
                        void *ctx);
/* Appends one batch and fsyncs it; *base_offset gets its first offset. */
rn_err_t rn_md_log_append(rn_md_log_t *log, const rn_md_batch_t *batch, uint64_t *base_offset);
void rn_md_log_close(rn_md_log_t *log);

#endif
