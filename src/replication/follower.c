/*
 * follower.c: a follower's decisions on one partition (see follower.h):
 * the fetch it asks for, and an answer taken: start over, pause, truncate
 * or append. Owner core only; no transport.
 */
#include "replication/follower.h"
#include "base/assert.h"
#include "base/log.h"
#include "proto/kerr.h"

bool rn_follower_may_fetch(const rn_partition_t *part, int32_t leader_id) {
    return part->role == RN_PARTITION_FOLLOWER && part->lead.leader == leader_id &&
           !atomic_load(&part->deleted) && !rn_partition_offline((rn_partition_t *)part);
}

void rn_follower_ask(const rn_partition_t *part, rn_follower_ask_t *out) {
    out->current_leader_epoch = part->lead.leader_epoch;
    out->fetch_offset = rn_log_end_offset(part->log);
    out->last_fetched_epoch = rn_log_latest_epoch(part->log);
    out->log_start_offset = rn_log_start_offset(part->log);
}

/* The leader says the log parts from its own past epoch `epoch`'s end:
   cut at the lower of that and where this log's copy of the epoch ends. */
static rn_err_t follower_truncate(rn_partition_t *part, int32_t div_epoch, int64_t div_end) {
    int32_t epoch = -1;
    int64_t local_end = -1;
    rn_log_epoch_end(part->log, div_epoch, -1, &epoch, &local_end);
    int64_t cut = div_end;
    if (local_end >= 0 && local_end < cut) cut = local_end;
    if (cut < 0) cut = 0;
#if RN_REPL_MUTANT == RN_REPL_MUTANT_NO_TRUNCATE
    /* planted bug: the truncation on a diverging epoch is skipped */
    (void)cut;
    return RN_OK;
#else
    rn_err_t err = rn_partition_truncate(part, cut);
    if (err != RN_OK)
        RN_ERROR("replica", "%s-%d: cannot truncate to %lld: %s", part->topic, part->index,
                 (long long)cut, rn_err_name(err));
    return err;
#endif
}

/* The whole batches at the front of a records blob. */
static size_t whole_batches(const uint8_t *p, size_t len) {
    size_t off = 0;
    while (len - off >= RN_BATCH_HEADER_BYTES) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(p + off, &hdr);
        if (hdr.batch_length < 0 || rn_batch_size(&hdr) > len - off) break;
        off += rn_batch_size(&hdr);
    }
    return off;
}

static rn_follower_outcome_t follower_append(rn_partition_t *part, int32_t leader_id,
                                             const rn_follower_answer_t *in, int64_t wall_ms,
                                             struct rn_batch_inflate *inflate,
                                             rn_follower_result_t *res) {
    size_t len = in->records ? whole_batches(in->records, in->records_len) : 0;
    if (rn_partition_follow_start(part, in->log_start_offset) != RN_OK)
        RN_WARN("replica", "%s-%d: cannot move the log start to the leader's %lld", part->topic,
                part->index, (long long)in->log_start_offset);
    if (len == 0) {
        res->lag = in->high_watermark - rn_log_end_offset(part->log);
        rn_partition_follow_hw(part, in->high_watermark);
        return RN_FOLLOWER_IDLE;
    }
    rn_err_t err = rn_partition_append_replica(part, in->records, len, wall_ms, inflate);
    if (err != RN_OK) {
        RN_WARN("replica", "%s-%d: cannot append what broker %d sent: %s", part->topic, part->index,
                leader_id, rn_err_name(err));
        res->kerr = RN_KERR_KAFKA_STORAGE_ERROR;
        return RN_FOLLOWER_PAUSE;
    }
    res->appended = len;
    res->lag = in->high_watermark - rn_log_end_offset(part->log);
    return RN_FOLLOWER_APPENDED;
}

rn_follower_outcome_t rn_follower_take(rn_partition_t *part, int32_t leader_id,
                                       const rn_follower_answer_t *in, int64_t wall_ms,
                                       struct rn_batch_inflate *inflate,
                                       rn_follower_result_t *res) {
    RN_ASSERT(part->role == RN_PARTITION_FOLLOWER);
    *res = (rn_follower_result_t){.kerr = RN_KERR_NONE};
    /* Asked from below the leader's log start (retention or DeleteRecords
       went past everything this replica has): start over there. */
    if (in->error_code == RN_KERR_OFFSET_OUT_OF_RANGE &&
        in->log_start_offset > rn_log_end_offset(part->log)) {
        if (rn_partition_restart_at(part, in->log_start_offset) == RN_OK)
            return RN_FOLLOWER_RESTARTED;
        res->kerr = RN_KERR_KAFKA_STORAGE_ERROR;
        return RN_FOLLOWER_PAUSE;
    }
    if (in->error_code != RN_KERR_NONE) {
        res->kerr = in->error_code;
        return RN_FOLLOWER_PAUSE;
    }
    if (in->diverging_epoch >= 0 || in->diverging_end >= 0) {
        res->truncated = true;
        if (follower_truncate(part, in->diverging_epoch, in->diverging_end) == RN_OK)
            return RN_FOLLOWER_TRUNCATED;
        res->kerr = RN_KERR_KAFKA_STORAGE_ERROR;
        return RN_FOLLOWER_PAUSE;
    }
    return follower_append(part, leader_id, in, wall_ms, inflate, res);
}
