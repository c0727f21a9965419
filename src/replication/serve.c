/*
 * serve.c: the leader's decisions on one partition of a fetch (see
 * serve.h): epochs, divergence, and a follower's position recorded.
 * Owner core only; no I/O beyond the partition's own calls.
 */
#include "replication/serve.h"
#include "base/assert.h"
#include "proto/kerr.h"

int16_t rn_repl_epoch_kerr(const rn_partition_t *part, int32_t current_leader_epoch) {
    if (current_leader_epoch < 0) return RN_KERR_NONE;
    if (current_leader_epoch < part->leader_epoch) return RN_KERR_FENCED_LEADER_EPOCH;
    if (current_leader_epoch > part->leader_epoch) return RN_KERR_UNKNOWN_LEADER_EPOCH;
    return RN_KERR_NONE;
}

bool rn_repl_diverged(rn_partition_t *part, int32_t last_fetched_epoch, int64_t fetch_offset,
                      int32_t *epoch, int64_t *end) {
    if (last_fetched_epoch < 0) return false;
    *epoch = -1;
    *end = -1;
    rn_log_epoch_end(part->log, last_fetched_epoch, part->leader_epoch, epoch, end);
    if (*epoch >= last_fetched_epoch && *end >= fetch_offset) return false;
    if (*epoch < 0) { /* nothing as old here: all of it from the log start */
        *epoch = 0;
        *end = rn_partition_start(part);
    }
    return true;
}

/* A follower's fetch: its position counts toward the high watermark, and
   it reads up to the leader's durable end. */
static rn_err_t serve_follower(rn_partition_t *part, const rn_repl_fetch_t *in, int64_t now_ms,
                               rn_repl_served_t *out) {
    int64_t end = rn_log_end_offset(part->log);
    if (in->fetch_offset > end || in->fetch_offset < rn_partition_start(part))
        return RN_ERR_OUT_OF_RANGE;
    int64_t hw = rn_partition_hw(part);
    rn_err_t err = rn_partition_follower_fetched(part, in->replica_id, in->fetch_offset, now_ms);
    if (err == RN_ERR_NOT_FOUND) err = RN_ERR_NOT_LEADER; /* no replica of it */
    if (err != RN_OK) return err;
    out->hw_moved = rn_partition_hw(part) != hw;
    /* Up to the durable end: what a failed fsync or a power loss could
       still take from this log must not reach a follower, or the leader
       could write another record at its offset in the same epoch. */
    int64_t durable = rn_partition_durable_end(part);
    out->read_upto = durable > in->fetch_offset ? durable : in->fetch_offset;
    return RN_OK;
}

void rn_repl_serve(rn_partition_t *part, const rn_repl_fetch_t *in, int64_t now_ms,
                   rn_repl_served_t *out) {
    RN_ASSERT(part->log != NULL);
    *out = (rn_repl_served_t){
        .kerr = RN_KERR_NONE, .div_epoch = -1, .div_end = -1, .err = RN_OK, .read_upto = -1};
    out->kerr = rn_repl_epoch_kerr(part, in->current_leader_epoch);
    if (out->kerr != RN_KERR_NONE) return;
    out->diverged = rn_repl_diverged(part, in->last_fetched_epoch, in->fetch_offset,
                                     &out->div_epoch, &out->div_end);
    if (out->diverged || in->replica_id < 0) return;
    out->follower = true;
    out->err = serve_follower(part, in, now_ms, out);
}
