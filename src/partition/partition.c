/*
 * partition.c: a partition's append path (producer checks, log append), its
 * group-commit completion (sync, high watermark, waiters) and housekeeping.
 * It owns its log and producer state; it never touches sockets or requests.
 */
#include "partition/partition.h"
#include "base/assert.h"
#include "base/log.h"
#include "partition/txns.h"
#include "proto/batch_marker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After the transactions changed (owner core): the first unstable offset. */
static void partition_publish_txns(rn_partition_t *part) {
    atomic_store_explicit(&part->first_unstable, rn_txns_first_unstable(part->txns),
                          memory_order_release);
    atomic_store_explicit(&part->txn_ongoing, rn_txns_ongoing_count(part->txns),
                          memory_order_relaxed);
    atomic_store_explicit(&part->txn_markers_total, rn_txns_markers_seen(part->txns),
                          memory_order_relaxed);
    atomic_store_explicit(&part->txn_aborted_total, rn_txns_aborts_seen(part->txns),
                          memory_order_relaxed);
}

static void partition_publish_offsets(rn_partition_t *part) {
    rn_txns_truncate(part->txns, rn_log_end_offset(part->log)); /* a cut log */
    rn_txns_start_moved(part->txns, rn_log_start_offset(part->log));
    partition_publish_txns(part);
    atomic_store_explicit(&part->log_start, rn_log_start_offset(part->log), memory_order_release);
    atomic_store_explicit(&part->log_end, rn_log_end_offset(part->log), memory_order_release);
    atomic_store_explicit(&part->size_bytes, rn_log_size_bytes(part->log), memory_order_relaxed);
    atomic_store_explicit(&part->segment_count, rn_log_segment_count(part->log),
                          memory_order_relaxed);
}

static int txns_replay_one(void *ctx, const rn_batch_header_t *hdr, const uint8_t *control,
                           size_t control_len) {
    /* A replayed abort's last stable offset: at most its marker's. */
    rn_txns_on_batch(ctx, hdr, control, control_len, hdr->base_offset);
    return 0;
}

/* The transactions as of the producer snapshot's offset (txn.checkpoint),
   then the log after it; without a checkpoint for that offset, the whole
   log (a log of a release before transactions, or an unusable file). */
static rn_err_t partition_txns_load(rn_partition_t *part, int64_t replayed_from) {
    rn_log_t *log = part->log;
    int64_t from = rn_txns_load(part->txns, part->io, part->dir, replayed_from)
                       ? replayed_from
                       : rn_log_start_offset(log);
    if (from < rn_log_end_offset(log)) {
        rn_err_t err = rn_log_scan_batches(log, from, txns_replay_one, part->txns);
        if (err != RN_OK) return err;
    }
    rn_txns_reset_seen(part->txns); /* the counters count from this start */
    partition_publish_txns(part);
    return RN_OK;
}

rn_err_t rn_partition_open(rn_io_t *io, const char *log_dir, const char *topic, int32_t index,
                           const rn_log_config_t *cfg, bool durable, int owner,
                           rn_partition_t **out) {
    RN_ASSERT(strlen(topic) <= RN_TOPIC_NAME_BYTES_MAX);
    RN_ASSERT(index >= 0);
    rn_partition_t *part = calloc(1, sizeof *part);
    if (!part) return RN_ERR_NO_MEMORY;
    snprintf(part->topic, sizeof part->topic, "%s", topic);
    part->index = index;
    part->owner = owner;
    part->io = io;
    part->durable = durable;
    int n = snprintf(part->dir, sizeof part->dir, "%s/%s-%d", log_dir, topic, index);
    RN_ASSERT(n > 0 && (size_t)n < sizeof part->dir);
    rn_err_t err = rn_io_dir_create(io, part->dir);
    if (err == RN_OK) err = rn_log_open(io, part->dir, cfg, &part->log);
    if (err == RN_OK) err = rn_producer_state_create(&part->producers);
    int64_t replayed_from = 0;
    if (err == RN_OK) err = rn_producer_state_load(part->producers, io, part->log, &replayed_from);
    if (err == RN_OK) err = rn_txns_create(&part->txns);
    if (err == RN_OK) err = partition_txns_load(part, replayed_from);
    if (err != RN_OK) {
        rn_txns_free(part->txns);
        if (part->producers) rn_producer_state_free(part->producers);
        if (part->log) rn_log_close(part->log);
        free(part);
        return err;
    }
    atomic_init(&part->refs, 1);
    part->role = RN_PARTITION_LEADER; /* until the image says otherwise */
    for (int slot = 0; slot < RN_REPLICAS_MAX; slot++)
        part->followers[slot] = (rn_partition_follower_t){-1, -1, 0, -1};
    partition_publish_offsets(part);
    /* Everything recovered is durable: recovery only keeps synced bytes or
       bytes that survived, and the next sync covers the rest. */
    atomic_store(&part->high_watermark, rn_log_end_offset(part->log));
    *out = part;
    return RN_OK;
}

void rn_partition_ref(rn_partition_t *part) {
    int refs = atomic_fetch_add_explicit(&part->refs, 1, memory_order_relaxed);
    RN_ASSERT(refs > 0);
}

rn_err_t rn_partition_retire(rn_partition_t *part, const char *retired_dir) {
    RN_ASSERT(!atomic_load(&part->deleted));
    atomic_store(&part->deleted, true);
    return rn_io_rename(part->io, part->dir, retired_dir);
}

void rn_partition_close(rn_partition_t *part) {
    if (!part->log) return;
    RN_ASSERT(part->waiters == NULL);
    if (part->deleted || rn_partition_offline(part)) {
        /* Deleted: its files are going: write nothing, least of all by a
           path a new topic of the same name may own by now. Offline: no
           clean mark, the next open must recover from the disk. */
        rn_log_close_unclean(part->log);
        part->log = NULL;
        return;
    }
    rn_err_t save =
        rn_producer_state_save(part->producers, part->io, part->dir, rn_log_end_offset(part->log));
    if (save == RN_OK)
        save = rn_txns_save(part->txns, part->io, part->dir, rn_log_end_offset(part->log));
    if (save != RN_OK)
        RN_WARN("partition", "%s-%d: producer snapshot: %s", part->topic, part->index,
                rn_err_name(save));
    rn_err_t err = rn_log_close(part->log);
    if (err != RN_OK)
        RN_WARN("partition", "%s-%d: close: %s", part->topic, part->index, rn_err_name(err));
    part->log = NULL;
}

void rn_partition_unref(rn_partition_t *part) {
    if (atomic_fetch_sub_explicit(&part->refs, 1, memory_order_acq_rel) != 1) return;
    rn_partition_close(part);
    rn_producer_state_free(part->producers);
    rn_txns_free(part->txns);
    free(part);
}

/* ---- storage failures ---- */

/* What a storage failure is to a client: disk full, or any other I/O
   failure (an EMFILE is RN_ERR_LIMIT from the seam, but to a producer it is
   a retriable KAFKA_STORAGE_ERROR, not a policy). */
static rn_err_t storage_err(rn_err_t err) { return err == RN_ERR_NO_SPACE ? err : RN_ERR_IO; }

static void fail_waiters(rn_partition_t *part, rn_err_t err) {
    while (part->waiters) {
        rn_partition_waiter_t *waiter = part->waiters;
        part->waiters = waiter->next;
        if (!part->waiters) part->waiters_tail = NULL;
        waiter->done(waiter, err);
    }
}

/* The end nothing may be dropped below: the fsynced end, or what was
   already acknowledged without fsync (durable=false). */
static int64_t durable_end(rn_partition_t *part) {
    int64_t synced = rn_log_synced_offset(part->log), hw = rn_partition_hw(part);
    return synced > hw ? synced : hw;
}

/* After a failed write, roll or fsync: drop what is not durable, forget
   its producer batches, fail every waiter; offline if the drop fails. */
static void partition_rollback(rn_partition_t *part, rn_err_t cause) {
    int64_t end = durable_end(part), was = rn_log_end_offset(part->log);
    /* A follower's failed truncation may have dropped segments already:
       what remains is the most there is to keep. */
    if (end > was) end = was;
    part->storage_cause = cause;
    rn_err_t err = rn_log_rollback(part->log, end);
    if (err == RN_OK) {
        rn_producer_state_truncate(part->producers, end);
        if (rn_partition_hw(part) > end)
            atomic_store_explicit(&part->high_watermark, end, memory_order_release);
        if (was > end)
            RN_DEBUG_LOG("partition", "%s-%d: %s: dropped offsets %lld..%lld", part->topic,
                         part->index, rn_err_name(cause), (long long)end, (long long)was - 1);
    } else {
        atomic_store_explicit(&part->offline, true, memory_order_release);
        RN_ERROR("partition",
                 "%s-%d: offline until restart: after a storage error (%s) the records past "
                 "offset %lld could not be dropped: %s",
                 part->topic, part->index, rn_err_name(cause), (long long)end, rn_err_name(err));
    }
    partition_publish_offsets(part);
    fail_waiters(part, storage_err(cause));
    rn_partition_fail_hw_waiters(part, storage_err(cause));
}

rn_err_t rn_partition_append(rn_partition_t *part, uint8_t *records, size_t len, int64_t now_ms,
                             rn_partition_append_result_t *res) {
    return rn_partition_append_with(part, records, len, now_ms, NULL, res);
}

rn_err_t rn_partition_append_with(rn_partition_t *part, uint8_t *records, size_t len,
                                  int64_t now_ms, struct rn_batch_inflate *inf,
                                  rn_partition_append_result_t *res) {
    return rn_partition_append_flags(part, records, len, 0, now_ms, inf, res);
}

rn_err_t rn_partition_append_flags(rn_partition_t *part, uint8_t *records, size_t len,
                                   uint32_t flags, int64_t now_ms, struct rn_batch_inflate *inf,
                                   rn_partition_append_result_t *res) {
    /* No assertion on `deleted`: the admin path may mark the partition
       between the caller's check and here; the directory was renamed, so
       such a last append lands in the retired files and harms nothing. */
    res->reason = RN_BATCH_OK;
    if (rn_partition_offline(part)) return RN_ERR_IO;
    if (part->role != RN_PARTITION_LEADER) return RN_ERR_NOT_LEADER;
    bool coordinator = (flags & RN_PARTITION_APPEND_COORDINATOR) != 0;
    flags &= ~RN_PARTITION_APPEND_COORDINATOR;
    rn_batch_summary_t sum;
    rn_err_t err = rn_log_validate_with(part->log, records, len, flags, inf, &sum);
    res->reason = sum.reason;
    if (sum.reason == RN_BATCH_NO_KEY) res->keyless = sum.keyless;
    if (err != RN_OK) return err;
    rn_producer_check_t check;
    err = coordinator ? RN_OK
                      : rn_producer_state_check_records(part->producers, records, len, &check);
    if (err == RN_ERR_DUPLICATE) {
        /* A retry of a batch already written: its original offsets. */
        res->base_offset = check.dup_first_offset;
        res->last_offset = check.dup_last_offset;
        res->log_append_time_ms = -1;
        res->log_start_offset = rn_log_start_offset(part->log);
        res->duplicate = true;
        return RN_OK;
    }
    if (err != RN_OK) return err; /* sequence gap, fenced epoch, unknown producer */
    rn_log_append_info_t info;
    err = rn_log_append_valid(part->log, records, len, &sum, part->leader_epoch, now_ms, &info);
    if (err != RN_OK) {
        partition_rollback(part, err);
        return storage_err(err);
    }
    /* Offsets are in the blob now; a full table only loses retry detection. */
    if (rn_producer_state_record_records(part->producers, records, len) != RN_OK)
        RN_WARN("partition", "%s-%d: producer table full", part->topic, part->index);
    rn_txns_on_records(part->txns, records, len, rn_partition_hw(part));
    partition_publish_txns(part);
    res->base_offset = info.first_offset;
    res->last_offset = info.last_offset;
    res->log_append_time_ms = info.log_append_time_ms;
    res->log_start_offset = info.log_start_offset;
    res->duplicate = false;
    rn_stats_add(&part->bytes_in_total, len);
    rn_stats_add(&part->records_in_total, (uint64_t)(info.last_offset - info.first_offset + 1));
    rn_stats_add(&part->size_bytes, len);
    atomic_store_explicit(&part->segment_count, rn_log_segment_count(part->log),
                          memory_order_relaxed);
    atomic_store_explicit(&part->log_end, info.last_offset + 1, memory_order_release);
    if (!part->durable) rn_partition_advance_hw(part);
    return RN_OK;
}

rn_err_t rn_partition_append_marker(rn_partition_t *part, const rn_partition_marker_t *marker,
                                    int64_t now_ms, rn_partition_append_result_t *res) {
    uint8_t batch[RN_BATCH_MARKER_BYTES];
    rn_batch_marker_encode(batch, marker->producer_id, marker->producer_epoch, marker->commit,
                           marker->coordinator_epoch, now_ms);
    return rn_partition_append_flags(part, batch, sizeof batch, RN_LOG_APPEND_ALLOW_CONTROL, now_ms,
                                     NULL, res);
}

rn_err_t rn_partition_append_replica(rn_partition_t *part, const uint8_t *records, size_t len,
                                     int64_t now_ms, struct rn_batch_inflate *inf) {
    if (part->role != RN_PARTITION_FOLLOWER) return RN_ERR_NOT_LEADER;
    if (rn_partition_offline(part)) return RN_ERR_IO;
    rn_batch_summary_t sum;
    rn_err_t err =
        rn_log_validate_with(part->log, records, len, RN_LOG_APPEND_ALLOW_CONTROL, inf, &sum);
    if (err != RN_OK) return err;
    rn_log_append_info_t info;
    err = rn_log_append_replica(part->log, records, len, &sum, now_ms, &info);
    if (err == RN_ERR_INVALID) return err; /* out of order: nothing written */
    if (err != RN_OK) {
        partition_rollback(part, err);
        return storage_err(err);
    }
    /* The leader's producer fields, so a new leader here knows every
       producer's last batches and answers retries with their offsets. */
    if (rn_producer_state_record_records(part->producers, records, len) != RN_OK)
        RN_WARN("partition", "%s-%d: producer table full", part->topic, part->index);
    rn_txns_on_records(part->txns, records, len, rn_partition_hw(part));
    partition_publish_txns(part);
    rn_stats_add(&part->bytes_in_total, len);
    rn_stats_add(&part->records_in_total, (uint64_t)sum.records_count);
    rn_stats_add(&part->size_bytes, len);
    atomic_store_explicit(&part->segment_count, rn_log_segment_count(part->log),
                          memory_order_relaxed);
    atomic_store_explicit(&part->log_end, info.last_offset + 1, memory_order_release);
    return RN_OK;
}

rn_err_t rn_partition_truncate(rn_partition_t *part, int64_t offset) {
    RN_ASSERT(part->role != RN_PARTITION_LEADER);
    if (rn_partition_offline(part)) return RN_ERR_IO;
    int64_t was = rn_log_end_offset(part->log);
    rn_err_t err = rn_log_truncate(part->log, offset);
    if (err != RN_OK) {
        partition_rollback(part, err);
        return storage_err(err);
    }
    rn_producer_state_truncate(part->producers, rn_log_end_offset(part->log));
    int64_t end = rn_log_end_offset(part->log);
    if (rn_partition_hw(part) > end)
        atomic_store_explicit(&part->high_watermark, end, memory_order_release);
    partition_publish_offsets(part);
    if (was > end)
        RN_INFO("partition", "%s-%d: truncated to offset %lld (was %lld) to follow the leader",
                part->topic, part->index, (long long)end, (long long)was);
    return RN_OK;
}

/* A follower's log start follows the leader's (retention, DeleteRecords,
   a coordinator's compaction), never past its own end. */
rn_err_t rn_partition_follow_start(rn_partition_t *part, int64_t leader_start) {
    if (part->role != RN_PARTITION_FOLLOWER || rn_partition_offline(part)) return RN_OK;
    int64_t end = rn_log_end_offset(part->log);
    int64_t to = leader_start < end ? leader_start : end;
    if (to <= rn_log_start_offset(part->log)) return RN_OK;
    rn_err_t err = rn_log_delete_records(part->log, to);
    if (err == RN_OK) partition_publish_offsets(part);
    return err;
}

rn_err_t rn_partition_restart_at(rn_partition_t *part, int64_t offset) {
    RN_ASSERT(part->role == RN_PARTITION_FOLLOWER);
    if (rn_partition_offline(part)) return RN_ERR_IO;
    int64_t was = rn_log_end_offset(part->log);
    rn_err_t err = rn_log_restart_at(part->log, offset);
    if (err != RN_OK) {
        partition_rollback(part, err);
        return storage_err(err);
    }
    rn_producer_state_clear(part->producers);
    atomic_store_explicit(&part->high_watermark, offset, memory_order_release);
    partition_publish_offsets(part);
    RN_INFO("partition",
            "%s-%d: the leader's log starts at %lld, past this one's end %lld: "
            "starting over there",
            part->topic, part->index, (long long)offset, (long long)was);
    return RN_OK;
}

void rn_partition_wait_durable(rn_partition_t *part, rn_partition_waiter_t *waiter) {
    waiter->next = NULL;
    if (part->waiters_tail)
        part->waiters_tail->next = waiter;
    else
        part->waiters = waiter;
    part->waiters_tail = waiter;
}

void rn_partition_flush(rn_partition_t *part) {
    part->sync_err = RN_OK;
    part->sync_ns = -1;
    if (!part->dirty || !part->durable || rn_partition_offline(part)) return;
    int64_t start_ns = rn_io_now_ns(part->io);
    part->sync_err = rn_log_sync(part->log);
    part->sync_ns = rn_io_now_ns(part->io) - start_ns;
}

int64_t rn_partition_sync(rn_partition_t *part) {
    rn_partition_flush(part);
    return rn_partition_sync_done(part);
}

int64_t rn_partition_sync_done(rn_partition_t *part) {
    rn_err_t err = part->sync_err;
    part->dirty = false;
    /* Offline: the log end may still cover bytes a rollback failed to drop;
       nothing moves (its waiters were failed when it went offline). */
    if (rn_partition_offline(part)) return part->sync_ns;
    /* Even a failed sync may have made a prefix durable (sealed segments). */
    int64_t end = part->durable ? rn_log_synced_offset(part->log) : rn_log_end_offset(part->log);
    rn_partition_advance_hw(part); /* a follower's moves with its leader's */
    while (part->waiters && part->waiters->offset_needed < end) {
        rn_partition_waiter_t *waiter = part->waiters;
        part->waiters = waiter->next;
        if (!part->waiters) part->waiters_tail = NULL;
        waiter->done(waiter, RN_OK);
    }
    if (err != RN_OK) {
        /* A full disk is reported once per episode (storage_health.c), not
           per partition and turn. */
        if (err != RN_ERR_NO_SPACE)
            RN_ERROR("partition",
                     "%s-%d: group commit sync failed: %s; dropping what no fsync covered",
                     part->topic, part->index, rn_err_name(err));
        partition_rollback(part, err);
    }
    return part->sync_ns;
}

void rn_partition_housekeep(rn_partition_t *part, int64_t now_ms) {
    if (rn_partition_offline(part)) return; /* its log is not to be written */
    uint32_t deleted = 0;
    rn_err_t err = rn_log_apply_retention(part->log, now_ms, rn_partition_hw(part), &deleted);
    if (err != RN_OK)
        RN_WARN("partition", "%s-%d: retention: %s", part->topic, part->index, rn_err_name(err));
    if (deleted) {
        RN_INFO("partition", "%s-%d: retention deleted %u segment(s); log start %lld", part->topic,
                part->index, deleted, (long long)rn_log_start_offset(part->log));
    }
    partition_publish_offsets(part); /* also refreshes the size metrics */
}

rn_err_t rn_partition_delete_records(rn_partition_t *part, int64_t offset) {
    RN_ASSERT(offset <= rn_partition_hw(part));
    if (rn_partition_offline(part)) return RN_ERR_IO;
    rn_err_t err = rn_log_delete_records(part->log, offset);
    if (err == RN_OK) partition_publish_offsets(part);
    return err;
}
