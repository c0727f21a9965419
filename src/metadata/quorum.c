/*
 * quorum.c: the replicated metadata log (see quorum.h): store, driver loop,
 * applying committed batches to the image, and the move of a log written
 * before the quorum (metadata_log.h) into the Raft store.
 */
#include "metadata/quorum.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"
#include "metadata/controller_int.h"
#include "metadata/image_writer.h"
#include "metadata/metadata_log.h"
#include "raft/raft_log_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "quorum"

struct rn_quorum {
    rn_io_t *io;
    rn_quorum_hooks_t hooks;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    rn_raft_store_t *store;
    rn_raft_t *raft;
    rn_image_t *image; /* applied; one reference */
    const rn_topic_config_base_t *base;
    uint64_t applied_index; /* last Raft index applied to the image */
    rn_err_t failed;
    /* The data folder each member spoke from first: a member speaking
       from another one lost its disk, and its votes are refused until it
       is removed and added back. */
    rn_quorum_dirs_t dirs;
    char own_dir[RN_QUORUM_DIR_BYTES];
    rn_raft_id_t dir_proposed[RN_RAFT_NODES_MAX]; /* asked for in dir_proposed_term */
    uint32_t dir_proposed_n;
    uint64_t dir_proposed_term;
    uint64_t votes_refused_total;
    char cluster_id[RN_QUORUM_DIR_BYTES];     /* as the log records it; "" none yet */
    char own_cluster_id[RN_QUORUM_DIR_BYTES]; /* what a first leader records */
    uint64_t cluster_id_proposed_term;
};

/* ---- members' data folders ---- */

static bool quorum_member(const rn_quorum_t *q, rn_raft_id_t id) {
    const rn_raft_config_t *cfg = rn_raft_config(q->raft);
    return rn_raft_config_has_voter(cfg, id) || rn_raft_config_has_learner(cfg, id);
}

/* Whether the log, past what is applied and what recorded the folder held
   for id, holds a configuration that leaves id out. Membership takes effect
   when its entry is appended, folders when they are applied: a node that
   holds the removal (and the re-add) of a wiped member but has not applied
   them yet must not go on holding the old folder against it. A truncation
   that drops the removal restores the hold, as it restores the old
   configuration. */
static bool quorum_removal_pending(const rn_quorum_t *q, const rn_quorum_dir_t *held) {
    uint64_t last = rn_raft_last_index(q->raft);
    uint64_t from = (held->at > q->applied_index ? held->at : q->applied_index) + 1;
    for (uint64_t i = from; i <= last; i++) {
        const rn_raft_entry_t *e = rn_raft_entry_at(q->raft, i);
        rn_raft_config_t cfg;
        if (!e || e->type != RN_RAFT_ENTRY_CONFIG ||
            rn_raft_config_decode(e->data, e->len, &cfg) != RN_OK)
            continue;
        if (!rn_raft_config_has_voter(&cfg, held->id) &&
            !rn_raft_config_has_learner(&cfg, held->id))
            return true;
    }
    return false;
}

/* Whether the sender speaks from another folder than the one the log
   records for it (none recorded: it may be new, so it counts). */
static bool quorum_dir_differs(const rn_quorum_t *q, rn_raft_id_t from, const char *dir) {
    const rn_quorum_dir_t *held = rn_quorum_dirs_get(&q->dirs, from);
    return held && strcmp(held->dir, dir) != 0 && !quorum_removal_pending(q, held);
}

/* Proposes the record of member id's folder, once per term. */
static void quorum_dir_record(rn_quorum_t *q, rn_raft_id_t id, const char *dir) {
    for (uint32_t i = 0; i < q->dir_proposed_n; i++)
        if (q->dir_proposed[i] == id && q->dir_proposed_term == rn_raft_term(q->raft)) return;
    if (q->dir_proposed_term != rn_raft_term(q->raft)) {
        q->dir_proposed_term = rn_raft_term(q->raft);
        q->dir_proposed_n = 0;
    }
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_md_record_t rec = {.type = RN_MD_VOTER_DIR};
    rec.u.voter_dir.voter_id = (int32_t)id - 1;
    rec.u.voter_dir.directory_id = rn_str_from_cstr(dir);
    uint64_t index = 0, term = 0;
    if (rn_md_batch_add(&batch, &rec) == RN_OK &&
        rn_quorum_propose(q, &batch, &index, &term) == RN_OK &&
        q->dir_proposed_n < RN_RAFT_NODES_MAX)
        q->dir_proposed[q->dir_proposed_n++] = id;
    rn_md_batch_free(&batch);
}

/* The leader has the log record each member's folder, the first time it
   hears from one it has none for; followers learn them as they apply. */
static void quorum_dir_propose(rn_quorum_t *q, rn_raft_id_t id, const char *dir) {
    if (rn_raft_role(q->raft) == RN_RAFT_LEADER && !rn_quorum_dirs_get(&q->dirs, id) &&
        quorum_member(q, id))
        quorum_dir_record(q, id, dir);
}

/* A change of member id: what was proposed for it before no longer
   stands (a member removed and added back in one term needs its new
   folder recorded too). */
static void quorum_dir_unpropose(rn_quorum_t *q, rn_raft_id_t id) {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < q->dir_proposed_n; i++)
        if (q->dir_proposed[i] != id) q->dir_proposed[keep++] = q->dir_proposed[i];
    q->dir_proposed_n = keep;
}

static bool quorum_vote_msg(uint8_t type) {
    return type == RN_RAFT_MSG_PREVOTE || type == RN_RAFT_MSG_PREVOTE_RESP ||
           type == RN_RAFT_MSG_VOTE || type == RN_RAFT_MSG_VOTE_RESP ||
           type == RN_RAFT_MSG_TIMEOUT_NOW;
}

/* A vote message from a member speaking from another folder than the one
   recorded for it: it lost its disk, and with it the votes and entries it
   gave; counting it again could elect a leader that lacks committed entries. */
static bool quorum_refuses(rn_quorum_t *q, const rn_raft_msg_t *msg, const char *from_dir) {
    bool refuse = quorum_vote_msg(msg->type) && quorum_dir_differs(q, msg->from, from_dir);
#if RN_CTL_MUTANT == RN_CTL_MUTANT_WIPED_VOTER_VOTES
    refuse = false; /* planted bug: the folder is not heeded */
#endif
    return refuse;
}

/* ---- entries ---- */

size_t rn_quorum_entry_encode(const rn_md_batch_t *batch, uint8_t *out, size_t cap) {
    size_t need = 4 + batch->buf.len;
    if (need > cap) return need;
    rn_be32_put(out, batch->count);
    if (batch->buf.len) memcpy(out + 4, batch->buf.ptr, batch->buf.len);
    return need;
}

/* The quorum's own records of one entry (or snapshot), at its Raft index. */
typedef struct quorum_learning {
    rn_quorum_t *q;
    uint64_t at;
} quorum_learning_t;

static rn_err_t quorum_learn_record(void *ctx, uint32_t index, const rn_md_record_t *rec) {
    (void)index;
    quorum_learning_t *l = ctx;
    rn_quorum_t *q = l->q;
    rn_str_t id = rec->u.cluster_id.cluster_id;
    if (rec->type == RN_MD_CLUSTER_ID && !q->cluster_id[0] && id.len > 0 &&
        id.len < (int32_t)sizeof q->cluster_id) {
        memcpy(q->cluster_id, id.ptr, (size_t)id.len); /* the first one stands */
        q->cluster_id[id.len] = '\0';
    }
    if (rec->type == RN_MD_VOTER_DIR)
        rn_quorum_dirs_learn(&q->dirs, (rn_raft_id_t)rec->u.voter_dir.voter_id + 1,
                             rec->u.voter_dir.directory_id, l->at);
    return RN_OK;
}

/* Applies the records of the entry (or snapshot) at Raft index at on top of
   the builder; *next is the offset of the first, advanced past the last.
   The quorum's own records (cluster id, member folders) are learned too. */
static rn_err_t quorum_apply_data(rn_quorum_t *q, rn_image_builder_t *b, uint64_t *next,
                                  const uint8_t *data, size_t len, uint64_t at) {
    if (len < 4) return RN_ERR_CORRUPT;
    uint32_t count = rn_be32_get(data);
    if (count > RN_MD_BATCH_RECORDS_MAX) return RN_ERR_CORRUPT;
    rn_md_batch_t batch;
    batch.buf.ptr = (uint8_t *)(uintptr_t)(data + 4);
    batch.buf.len = len - 4;
    batch.buf.cap = len - 4;
    batch.count = count;
    rn_err_t err = rn_image_builder_apply_batch(b, *next, &batch);
    if (err == RN_OK) *next += count;
    quorum_learning_t learning = {q, at};
    if (err == RN_OK)
        err = rn_md_batch_each(batch.buf.ptr, batch.buf.len, count, quorum_learn_record, &learning);
    return err;
}

/* ---- snapshots: the image as batches ---- */

/* Snapshot data: the image's next record offset (u64), then a sequence of
   [u32 len][entry data of that len] whose records rebuild the image. */
static rn_err_t quorum_image_from_snapshot(rn_quorum_t *q, const rn_raft_snapshot_t *snap,
                                           rn_image_t **out) {
    rn_image_t *empty = rn_image_empty(q->base);
    if (!empty) return RN_ERR_NO_MEMORY;
    rn_image_builder_t b;
    rn_err_t err = rn_image_builder_init(&b, empty);
    rn_image_release(empty);
    if (err != RN_OK) return err;
    size_t pos = 8;
    uint64_t next = 0;
    if (snap) rn_quorum_dirs_snapshot(&q->dirs, snap->index);
    if (snap && snap->len < 8) err = RN_ERR_CORRUPT;
    while (err == RN_OK && snap && pos < snap->len) {
        if (snap->len - pos < 4) {
            err = RN_ERR_CORRUPT;
            break;
        }
        uint32_t len = rn_be32_get(snap->data + pos);
        pos += 4;
        if (len > snap->len - pos) {
            err = RN_ERR_CORRUPT;
            break;
        }
        err = quorum_apply_data(q, &b, &next, snap->data + pos, len, snap->index);
        pos += len;
    }
    if (err == RN_OK && snap) {
        uint64_t offset = rn_be64_get(snap->data);
        if (offset < next) err = RN_ERR_CORRUPT;
        if (err == RN_OK) rn_image_builder_set_next_offset(&b, offset);
    }
    if (err == RN_OK) *out = rn_image_builder_finish(&b);
    if (err == RN_OK && !*out) err = RN_ERR_NO_MEMORY;
    if (err != RN_OK) rn_image_builder_abort(&b);
    return err;
}

static void quorum_fail(rn_quorum_t *q, const char *what, rn_err_t err) {
    if (q->failed == RN_OK)
        RN_ERROR(MOD, "%s: %s failed: %s; the node must restart", q->dir, what, rn_err_name(err));
    q->failed = err;
}

typedef struct quorum_snap_buf {
    rn_buf_t buf;
} quorum_snap_buf_t;

static rn_err_t quorum_snap_batch(void *ctx, const rn_md_batch_t *batch) {
    quorum_snap_buf_t *sb = ctx;
    uint8_t len[4];
    rn_be32_put(len, (uint32_t)(4 + batch->buf.len));
    uint8_t count[4];
    rn_be32_put(count, batch->count);
    rn_err_t err = rn_buf_append(&sb->buf, len, 4);
    if (err == RN_OK) err = rn_buf_append(&sb->buf, count, 4);
    if (err == RN_OK) err = rn_buf_append(&sb->buf, batch->buf.ptr, batch->buf.len);
    return err == RN_OK ? RN_OK : RN_ERR_TOO_LARGE;
}

/* The quorum's own records, which the image does not hold (the cluster id,
   the members' folders), as one more batch. */
static rn_err_t quorum_snap_own(rn_quorum_t *q, quorum_snap_buf_t *sb) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_err_t err = RN_OK;
    if (q->cluster_id[0]) {
        rn_md_record_t rec = {.type = RN_MD_CLUSTER_ID};
        rec.u.cluster_id.cluster_id = rn_str_from_cstr(q->cluster_id);
        err = rn_md_batch_add(&batch, &rec);
    }
    for (uint32_t i = 0; err == RN_OK && i < q->dirs.n; i++) {
        rn_md_record_t rec = {.type = RN_MD_VOTER_DIR};
        rec.u.voter_dir.voter_id = (int32_t)q->dirs.v[i].id - 1;
        rec.u.voter_dir.directory_id = rn_str_from_cstr(q->dirs.v[i].dir);
        err = rn_md_batch_add(&batch, &rec);
    }
    if (err == RN_OK) err = quorum_snap_batch(sb, &batch);
    rn_md_batch_free(&batch);
    return err;
}

/* The image at the applied index as snapshot data; the raft keeps it and
   drops the log it covers, and the store replaces its snapshot file. A
   snapshot that does not fit is skipped (the log keeps growing; logged). */
static void quorum_snapshot(rn_quorum_t *q, uint64_t index) {
    RN_ASSERT(index == q->applied_index);
    quorum_snap_buf_t sb;
    rn_buf_init(&sb.buf, RN_RAFT_SNAPSHOT_BYTES_MAX);
    uint8_t next[8];
    rn_be64_put(next, rn_image_next_offset(q->image));
    rn_err_t err = rn_buf_append(&sb.buf, next, 8);
    rn_image_write_limits_t limits = {RN_MD_BATCH_RECORDS_MAX, RN_RAFT_ENTRY_BYTES_MAX / 2};
    if (err == RN_OK) err = rn_image_write(q->image, &limits, quorum_snap_batch, &sb);
    if (err == RN_OK && (q->dirs.n > 0 || q->cluster_id[0])) err = quorum_snap_own(q, &sb);
    if (err == RN_OK) err = rn_raft_snapshot_done(q->raft, index, sb.buf.ptr, (uint32_t)sb.buf.len);
    if (err == RN_OK) {
        err = rn_raft_store_save_snapshot(q->store, rn_raft_snapshot(q->raft));
        if (err != RN_OK) quorum_fail(q, "saving a snapshot", err);
    } else {
        RN_WARN(MOD, "%s: no snapshot at %llu: %s", q->dir, (unsigned long long)index,
                rn_err_name(err));
    }
    rn_buf_free(&sb.buf);
}

/* ---- the driver loop ---- */

static rn_err_t quorum_persist(rn_quorum_t *q, const rn_raft_ready_t *rd) {
    rn_err_t err = RN_OK;
    if (rd->snapshot) {
        rn_image_t *img = NULL;
        err = quorum_image_from_snapshot(q, rd->snapshot, &img);
        if (err != RN_OK) {
            quorum_fail(q, "installing a snapshot", err);
            return err;
        }
        err = rn_raft_store_save_snapshot(q->store, rd->snapshot);
        if (err != RN_OK) {
            rn_image_release(img);
            quorum_fail(q, "saving a snapshot", err);
            return err;
        }
        rn_image_release(q->image);
        q->image = img;
        q->applied_index = rd->snapshot->index;
        if (q->hooks.applied) q->hooks.applied(q->hooks.ctx);
    }
    if (rd->state_changed) err = rn_raft_store_save_state(q->store, rd->term, rd->vote);
    if (err == RN_OK && rd->entries_n)
        err = rn_raft_store_append(q->store, rd->entries, rd->entries_n);
    if (err != RN_OK) quorum_fail(q, "persisting the log", err);
    return err;
}

/* Applies the committed entries of one ready to a new image. */
static rn_err_t quorum_apply(rn_quorum_t *q, const rn_raft_ready_t *rd) {
    if (rd->committed_n == 0) return RN_OK;
    rn_image_builder_t b;
    rn_err_t err = rn_image_builder_init(&b, q->image);
    uint64_t next = rn_image_next_offset(q->image);
    bool changed = false;
    for (uint32_t i = 0; err == RN_OK && i < rd->committed_n; i++) {
        const rn_raft_entry_t *e = &rd->committed[i];
        if (e->index <= q->applied_index) continue;
        RN_ASSERT(e->index == q->applied_index + 1);
        if (e->type == RN_RAFT_ENTRY_NORMAL) {
            err = quorum_apply_data(q, &b, &next, e->data, e->len, e->index);
            changed = true;
        }
        rn_raft_config_t cfg;
        if (e->type == RN_RAFT_ENTRY_CONFIG &&
            rn_raft_config_decode(e->data, e->len, &cfg) == RN_OK)
            rn_quorum_dirs_config(&q->dirs, &cfg, e->index);
        if (err == RN_OK) q->applied_index = e->index;
    }
    rn_image_t *img = err == RN_OK ? rn_image_builder_finish(&b) : NULL;
    if (!img) {
        rn_image_builder_abort(&b);
        /* A committed entry the image refuses: every node would refuse it
           the same way, so carrying on would serve a wrong image. */
        quorum_fail(q, "applying committed metadata", err != RN_OK ? err : RN_ERR_NO_MEMORY);
        return q->failed;
    }
    rn_image_release(q->image);
    q->image = img;
    if (changed && q->hooks.applied) q->hooks.applied(q->hooks.ctx);
    return RN_OK;
}

static rn_err_t quorum_drive(rn_quorum_t *q) {
    rn_raft_ready_t rd;
    while (q->failed == RN_OK && rn_raft_ready(q->raft, &rd)) {
        if (quorum_persist(q, &rd) != RN_OK) break;
        for (uint32_t i = 0; i < rd.msgs_n && q->hooks.send; i++)
            q->hooks.send(q->hooks.ctx, &rd.msgs[i]);
        if (quorum_apply(q, &rd) != RN_OK) break;
        uint64_t want = rd.snapshot_want;
        rn_raft_advance(q->raft, &rd);
        if (want) quorum_snapshot(q, want);
    }
    if (q->failed == RN_OK && rn_quorum_dirs_save(&q->dirs, q->io, q->dir) != RN_OK)
        quorum_fail(q, "saving the members' folders", RN_ERR_IO);
    return q->failed;
}

/* The first leader of a new cluster has its id recorded, once it has
   applied its whole log (so it knows none is recorded yet). */
static void quorum_cluster_id_propose(rn_quorum_t *q) {
    const rn_raft_t *r = q->raft;
    if (q->cluster_id[0] || !q->own_cluster_id[0] || rn_raft_role(r) != RN_RAFT_LEADER ||
        !rn_quorum_caught_up(q) || q->applied_index != rn_raft_last_index(r) ||
        q->cluster_id_proposed_term == rn_raft_term(r))
        return;
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_md_record_t rec = {.type = RN_MD_CLUSTER_ID};
    rec.u.cluster_id.cluster_id = rn_str_from_cstr(q->own_cluster_id);
    uint64_t index = 0, term = 0;
    if (rn_md_batch_add(&batch, &rec) == RN_OK &&
        rn_quorum_propose(q, &batch, &index, &term) == RN_OK)
        q->cluster_id_proposed_term = term;
    rn_md_batch_free(&batch);
}

rn_err_t rn_quorum_tick(rn_quorum_t *q) {
    if (q->failed != RN_OK) return q->failed;
    rn_raft_tick(q->raft);
    rn_err_t err = quorum_drive(q);
    if (err == RN_OK) quorum_cluster_id_propose(q);
    if (q->failed == RN_OK && q->own_dir[0]) quorum_dir_propose(q, rn_raft_id(q->raft), q->own_dir);
    return q->failed;
}

const char *rn_quorum_cluster_id(const rn_quorum_t *q) { return q->cluster_id; }

rn_err_t rn_quorum_step(rn_quorum_t *q, const rn_raft_msg_t *msg, const char *from_dir) {
    if (q->failed != RN_OK) return q->failed;
    bool known_dir = from_dir && from_dir[0];
    if (known_dir && quorum_refuses(q, msg, from_dir)) {
        q->votes_refused_total++;
        return RN_ERR_STALE;
    }
    /* A hand-off comes from the leader, a voter; one from a node that is
       none (forged, or a removed voter) would depose this node's leader. */
    if (msg->type == RN_RAFT_MSG_TIMEOUT_NOW &&
        !rn_raft_config_has_voter(rn_raft_config(q->raft), msg->from))
        return RN_OK;
    rn_raft_step(q->raft, msg);
    rn_err_t err = quorum_drive(q);
    if (err == RN_OK && known_dir) quorum_dir_propose(q, msg->from, from_dir);
    return q->failed;
}

uint64_t rn_quorum_votes_refused(const rn_quorum_t *q) { return q->votes_refused_total; }

bool rn_quorum_vote_from_non_voter(const rn_quorum_t *q, const rn_raft_msg_t *msg) {
    return quorum_vote_msg(msg->type) &&
           !rn_raft_config_has_voter(rn_raft_config(q->raft), msg->from);
}

rn_err_t rn_quorum_campaign(rn_quorum_t *q) {
    if (q->failed != RN_OK) return q->failed;
    if (rn_raft_config_has_voter(rn_raft_config(q->raft), rn_raft_id(q->raft)) &&
        rn_raft_role(q->raft) != RN_RAFT_LEADER)
        rn_raft_campaign_now(q->raft);
    return quorum_drive(q);
}

rn_err_t rn_quorum_propose(rn_quorum_t *q, const rn_md_batch_t *batch, uint64_t *index,
                           uint64_t *term) {
    if (q->failed != RN_OK) return q->failed;
    RN_ASSERT(batch->count > 0);
    size_t len = 4 + batch->buf.len;
    if (len > RN_RAFT_ENTRY_BYTES_MAX) return RN_ERR_TOO_LARGE;
    uint8_t *data = malloc(len);
    if (!data) return RN_ERR_NO_MEMORY;
    rn_quorum_entry_encode(batch, data, len);
    rn_err_t err = rn_raft_propose(q->raft, data, (uint32_t)len, index, term);
    free(data);
    if (err != RN_OK) return err;
    return quorum_drive(q);
}

rn_err_t rn_quorum_change(rn_quorum_t *q, rn_raft_config_op_t op, rn_raft_id_t id,
                          const char *dir) {
    if (q->failed != RN_OK) return q->failed;
    rn_err_t err = rn_raft_change(q->raft, op, id);
    if (err != RN_OK) return err;
    quorum_dir_unpropose(q, id);
    if (op == RN_RAFT_ADD_LEARNER && dir && dir[0]) quorum_dir_record(q, id, dir);
    return quorum_drive(q);
}

const char *rn_quorum_member_dir(const rn_quorum_t *q, rn_raft_id_t id) {
    const rn_quorum_dir_t *held = rn_quorum_dirs_get(&q->dirs, id);
    return held ? held->dir : "";
}

int rn_quorum_outcome(const rn_quorum_t *q, uint64_t index, uint64_t term) {
    uint64_t at = rn_raft_term_at(q->raft, index);
    if (at != 0 && at != term) return -1;
    if (at == 0 && index <= rn_raft_snapshot_index(q->raft) && q->applied_index >= index)
        return 1; /* compacted into a snapshot after it was applied here */
    if (at == 0 && index > rn_raft_last_index(q->raft)) return -1;
    return q->applied_index >= index ? 1 : 0;
}

const rn_image_t *rn_quorum_image(const rn_quorum_t *q) { return q->image; }

bool rn_quorum_caught_up(const rn_quorum_t *q) {
    const rn_raft_t *r = q->raft;
    if (rn_raft_leader(r) == RN_RAFT_ID_NONE) return false;
    if (rn_raft_role(r) == RN_RAFT_LEADER &&
        rn_raft_term_at(r, rn_raft_commit(r)) != rn_raft_term(r))
        return false; /* a new leader knows its commit once its own entry commits */
    return q->applied_index >= rn_raft_commit(r);
}

const rn_raft_t *rn_quorum_raft(const rn_quorum_t *q) { return q->raft; }

rn_err_t rn_quorum_failed(const rn_quorum_t *q) { return q->failed; }

/* ---- the log of earlier releases ---- */

typedef struct quorum_legacy {
    rn_md_batch_t batch;
    rn_raft_entry_t *entries;
    uint32_t n, cap;
    rn_err_t err;
} quorum_legacy_t;

/* Ends the batch being filled as one entry of term 1. */
static rn_err_t legacy_flush(quorum_legacy_t *lg) {
    if (lg->batch.count == 0) return RN_OK;
    if (lg->n == lg->cap) {
        uint32_t cap = lg->cap ? lg->cap * 2 : 16;
        rn_raft_entry_t *grown = realloc(lg->entries, cap * sizeof *grown);
        if (!grown) return RN_ERR_NO_MEMORY;
        lg->entries = grown;
        lg->cap = cap;
    }
    size_t len = 4 + lg->batch.buf.len;
    uint8_t *data = malloc(len);
    if (!data) return RN_ERR_NO_MEMORY;
    rn_quorum_entry_encode(&lg->batch, data, len);
    lg->entries[lg->n] = (rn_raft_entry_t){1, lg->n + 1, RN_RAFT_ENTRY_NORMAL, (uint32_t)len, data};
    lg->n++;
    rn_md_batch_reset(&lg->batch);
    return RN_OK;
}

static rn_err_t legacy_record(void *ctx, uint64_t offset, const rn_md_record_t *rec) {
    (void)offset;
    quorum_legacy_t *lg = ctx;
    if (lg->batch.buf.len >= RN_RAFT_ENTRY_BYTES_MAX / 2) {
        rn_err_t err = legacy_flush(lg);
        if (err != RN_OK) return err;
    }
    return rn_md_batch_add(&lg->batch, rec);
}

static bool quorum_legacy_present(rn_io_t *io, const char *path) {
    rn_fd_t fd = RN_FD_NONE;
    if (rn_io_file_open(io, path, RN_IO_READ, &fd) != RN_OK) return false;
    rn_io_file_close(io, fd);
    return true;
}

/*
 * A release before the quorum kept the records in one file of its own
 * framing (metadata_log.h). Its records become the first entries (term 1)
 * of the Raft log, then the state file (term 1) marks the move done, then
 * the old file goes. A crash before the mark redoes the move over whatever
 * part of it was written; after it, only the removal.
 */
static rn_err_t quorum_migrate(rn_quorum_t *q, const char *metadata_dir) {
    char path[RN_STORAGE_PATH_BYTES_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", q->dir, RN_MD_LOG_FILE_NAME);
    if (!quorum_legacy_present(q->io, path)) return RN_OK;
    uint64_t term = 0;
    rn_raft_id_t vote = 0;
    rn_raft_store_state(q->store, &term, &vote);
    rn_err_t err = RN_OK;
    if (term == 0) {
        quorum_legacy_t lg = {0};
        rn_md_batch_init(&lg.batch);
        rn_md_log_t old;
        err = rn_md_log_open(&old, q->io, metadata_dir, legacy_record, &lg);
        if (err == RN_OK) {
            rn_md_log_close(&old);
            err = legacy_flush(&lg);
        }
        if (err == RN_OK && lg.n > 0) err = rn_raft_store_append(q->store, lg.entries, lg.n);
        if (err == RN_OK) err = rn_raft_store_save_state(q->store, 1, RN_RAFT_ID_NONE);
        if (err == RN_OK)
            RN_INFO(MOD, "moved %u metadata batch(es) of %s into the quorum log", lg.n, path);
        for (uint32_t i = 0; i < lg.n; i++) free(lg.entries[i].data);
        free(lg.entries);
        rn_md_batch_free(&lg.batch);
    }
    if (err == RN_OK) err = rn_io_unlink(q->io, path);
    if (err == RN_OK) err = rn_io_dir_sync(q->io, q->dir);
    return err;
}

/* ---- open and close ---- */

static rn_err_t quorum_open_store(rn_quorum_t *q, const rn_quorum_opts_t *opts) {
    int n = snprintf(q->dir, sizeof q->dir, "%s/%s", opts->metadata_dir, RN_MD_LOG_DIR_NAME);
    if (n < 0 || (size_t)n >= sizeof q->dir) return RN_ERR_TOO_LARGE;
    rn_err_t err = rn_io_dir_create(q->io, opts->metadata_dir);
    if (err == RN_OK) err = rn_io_dir_create(q->io, q->dir);
    if (err == RN_OK) err = rn_io_dir_sync(q->io, opts->metadata_dir);
    if (err == RN_OK) err = rn_raft_store_open(q->io, q->dir, &q->store);
    if (err == RN_OK) err = rn_quorum_dirs_load(&q->dirs, q->io, q->dir);
    if (err == RN_OK) err = quorum_migrate(q, opts->metadata_dir);
    if (err == RN_OK) {
        /* Reopen so the boot view includes what the move appended. */
        rn_raft_store_close(q->store);
        q->store = NULL;
        err = rn_raft_store_open(q->io, q->dir, &q->store);
    }
    return err;
}

static rn_err_t quorum_open_raft(rn_quorum_t *q, const rn_quorum_opts_t *opts) {
    rn_raft_boot_t boot;
    rn_raft_store_boot(q->store, &boot);
    boot.config = opts->boot;
    rn_err_t err = quorum_image_from_snapshot(q, boot.snapshot, &q->image);
    if (err == RN_OK && boot.snapshot) q->applied_index = boot.snapshot->index;
    rn_raft_opts_t ro;
    rn_raft_opts_default(&ro, opts->id, opts->seed);
    if (opts->election_ticks) ro.election_ticks = opts->election_ticks;
    if (opts->heartbeat_ticks) ro.heartbeat_ticks = opts->heartbeat_ticks;
    ro.snapshot_entries =
        opts->snapshot_entries ? opts->snapshot_entries : RN_RAFT_SNAPSHOT_ENTRIES_DEFAULT;
    if (err == RN_OK) err = rn_raft_create(&ro, &boot, &q->raft);
    rn_raft_store_boot_release(q->store);
    return err;
}

rn_err_t rn_quorum_open(const rn_quorum_opts_t *opts, const rn_quorum_hooks_t *hooks,
                        rn_quorum_t **out) {
    RN_ASSERT(opts->io != NULL && opts->base != NULL);
    RN_ASSERT(opts->id != RN_RAFT_ID_NONE);
    rn_quorum_t *q = calloc(1, sizeof *q);
    if (!q) return RN_ERR_NO_MEMORY;
    q->io = opts->io;
    q->base = opts->base;
    if (opts->directory_id) snprintf(q->own_dir, sizeof q->own_dir, "%s", opts->directory_id);
    if (opts->cluster_id)
        snprintf(q->own_cluster_id, sizeof q->own_cluster_id, "%s", opts->cluster_id);
    if (hooks) q->hooks = *hooks;
    rn_err_t err = quorum_open_store(q, opts);
    if (err == RN_OK) err = quorum_open_raft(q, opts);
    if (err != RN_OK) {
        RN_ERROR(MOD, "cannot open the metadata log in %s: %s", q->dir, rn_err_name(err));
        rn_quorum_close(q);
        return err;
    }
    *out = q;
    return RN_OK;
}

void rn_quorum_close(rn_quorum_t *q) {
    if (!q) return;
    if (q->raft) rn_raft_destroy(q->raft);
    if (q->store) rn_raft_store_close(q->store);
    if (q->image) rn_image_release(q->image);
    free(q);
}
