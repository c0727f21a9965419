/*
 * epoch_cache.h: a partition's leader epochs and the offset each began at
 * (Kafka's leader-epoch cache, KIP-101 and KIP-279): which epoch wrote which
 * part of the log, so a replica or a consumer that lived through a change of
 * leader can find where its log and the leader's part.
 *
 * Entries are kept in order, both the epoch and the start offset strictly
 * increasing. They reach the disk with the partition checkpoint
 * (checkpoint.h); what the log holds past the recovery point is assigned
 * again from the batches recovery scans.
 *
 * Owns its entry array. One thread (the partition's owner) uses a cache.
 */
#ifndef RN_STORAGE_EPOCH_CACHE_H
#define RN_STORAGE_EPOCH_CACHE_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} rn_epoch_entry_t;

typedef struct rn_epoch_cache {
    rn_epoch_entry_t *v;
    uint32_t n, cap;
} rn_epoch_cache_t;

void rn_epoch_cache_init(rn_epoch_cache_t *c);
void rn_epoch_cache_free(rn_epoch_cache_t *c);

/* The newest epoch, -1 when empty. */
int32_t rn_epoch_cache_latest(const rn_epoch_cache_t *c);

/* Epoch began at start_offset: a new newest entry. One that contradicts
   newer entries (a lower epoch, or an offset at or below theirs) replaces
   them, as after a truncation. *changed tells whether anything changed.
   RN_ERR_NO_MEMORY leaves the cache as it was. */
rn_err_t rn_epoch_cache_assign(rn_epoch_cache_t *c, int32_t epoch, int64_t start_offset,
                               bool *changed);
/* The log was cut at end_offset: entries starting there or later go. */
bool rn_epoch_cache_truncate_end(rn_epoch_cache_t *c, int64_t end_offset);
/* The log now starts at start_offset: entries wholly before it go, and the
   one it falls in starts there. */
bool rn_epoch_cache_truncate_start(rn_epoch_cache_t *c, int64_t start_offset);

/* Where epoch `requested` ended, as OffsetForLeaderEpoch answers: the
   newest epoch at or below it and the offset the next epoch began at (the
   log end for the newest). The partition's current epoch counts as begun
   at the log end if no batch of it was written yet. -1/-1: unknown (an
   epoch newer than every known one, or none known). */
void rn_epoch_cache_end_offset(const rn_epoch_cache_t *c, int32_t requested, int32_t current,
                               int64_t log_end, int32_t *epoch, int64_t *end_offset);

#endif
