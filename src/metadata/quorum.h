/*
 * quorum.h: the replicated metadata log: a Raft node whose log is the
 * metadata log (`__cluster_metadata-0`), and the image its committed records
 * build.
 *
 * What it does: opens the Raft store in the metadata folder (moving a log
 * written by a release before the quorum into it first), runs the Raft
 * driver loop in the safe order (persist, send, apply), applies every
 * committed entry's records to the metadata image, takes and installs
 * snapshots of the image, and accepts proposals of record batches.
 *
 * What it owns: the Raft node and its store, the applied image (one
 * reference) and the snapshot writer's scratch.
 *
 * What it must never do: any I/O except through rn_io_t and the hooks; read
 * a clock (time comes in as ticks); apply an entry before it is committed;
 * carry on after a failed write (it reports the failure and the node must
 * stop and restart from disk). One thread drives a quorum.
 *
 * Entry data of a NORMAL entry is one metadata batch:
 *
 *   offset size  field
 *   0      4     record_count (big-endian)
 *   4      ...   records, as records.h draws a batch body
 *
 * A record's metadata offset is its position among every record applied
 * since the log began, so every node gives it the same offset (the broker
 * epoch of a registration is its record's offset, as in KRaft).
 */
#ifndef RN_METADATA_QUORUM_H
#define RN_METADATA_QUORUM_H

#include "base/limits.h"
#include "io/io.h"
#include "metadata/image.h"
#include "metadata/quorum_dirs.h"
#include "metadata/records.h"
#include "raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rn_quorum rn_quorum_t;

typedef struct rn_quorum_hooks {
    void *ctx;
    /* Sends one message to msg->to; loss is fine (Raft retries). */
    void (*send)(void *ctx, const rn_raft_msg_t *msg);
    /* Committed records changed the image (rn_quorum_image). */
    void (*applied)(void *ctx);
} rn_quorum_hooks_t;

typedef struct rn_quorum_opts {
    rn_io_t *io;
    /* The metadata folder (metadata.log.dir); the log lives in its
       __cluster_metadata-0 subfolder. */
    const char *metadata_dir;
    rn_raft_id_t id;
    /* Voters a new quorum starts with; unused once the store holds state. */
    rn_raft_config_t boot;
    uint32_t election_ticks;
    uint32_t heartbeat_ticks;
    uint32_t snapshot_entries; /* applied entries between snapshots; 0: default */
    uint64_t seed;
    const rn_topic_config_base_t *base; /* borrowed; outlives the quorum */
    const char *directory_id;           /* this data folder's id (NULL: none) */
    /* The id a first leader records for a new cluster (NULL or "": it
       records none, and waits to learn one). */
    const char *cluster_id;
} rn_quorum_opts_t;

/* Opens the store (recovering after a crash) and the Raft node. The image
   holds the snapshot's records; committed entries after it are applied as
   the leader confirms them. */
rn_err_t rn_quorum_open(const rn_quorum_opts_t *opts, const rn_quorum_hooks_t *hooks,
                        rn_quorum_t **out);
void rn_quorum_close(rn_quorum_t *q);

/* Inputs; each runs the driver loop. RN_OK, or the persistence error after
   which the quorum is failed (every later call returns it). */
rn_err_t rn_quorum_tick(rn_quorum_t *q);
/* from_dir is the sender's data-folder id (NULL or "": not known). The
   first folder each member speaks from is recorded (voter-dirs, synced
   before the message counts); a member speaking from another folder lost
   its disk: Raft promised nothing it no longer remembers, so its votes,
   vote requests and leadership hand-offs are refused (RN_ERR_STALE, for the
   caller to log) while its log replication goes on. Removing it from the
   quorum forgets the record; adding it back records its new folder. */
rn_err_t rn_quorum_step(rn_quorum_t *q, const rn_raft_msg_t *msg, const char *from_dir);
/* The cluster id the log records ("" until a first leader recorded one). */
const char *rn_quorum_cluster_id(const rn_quorum_t *q);
/* Vote messages refused so far (a member with another folder). */
uint64_t rn_quorum_votes_refused(const rn_quorum_t *q);
/* Whether msg is a vote message (a vote or pre-vote request or answer, a
   leadership hand-off) from a node that is no voter of the current
   configuration (a removed voter still running with its old one, a node
   configured with other voters, a forged message). rn_quorum_step ignores
   such a message as Raft must (a hand-off, which only a leader sends, it
   drops before Raft sees it); the caller, which knows the peer, says so. */
bool rn_quorum_vote_from_non_voter(const rn_quorum_t *q, const rn_raft_msg_t *msg);
/* Starts an election now (a voter may at any time); a sole voter becomes
   leader at once instead of after an election timeout. */
rn_err_t rn_quorum_campaign(rn_quorum_t *q);
/* Proposes one batch; *index and *term name its entry, committed when
   rn_quorum_committed(q, index, term) says so. RN_ERR_STALE: not the leader
   (or not yet able to propose), RN_ERR_TOO_LARGE: over one entry. */
rn_err_t rn_quorum_propose(rn_quorum_t *q, const rn_md_batch_t *batch, uint64_t *index,
                           uint64_t *term);

/* Proposes one membership change (rn_raft_change): RN_ERR_AGAIN while
   another is uncommitted or a learner to promote still lags, RN_ERR_STALE
   when not the leader, RN_ERR_INVALID when it makes no sense. An added
   member's folder (dir, NULL or "": not known) is recorded right after
   the change, so no message still on its way from the folder it had
   before a removal can be recorded in its place; unknown, it is taken from
   the first message the member sends. */
rn_err_t rn_quorum_change(rn_quorum_t *q, rn_raft_config_op_t op, rn_raft_id_t id, const char *dir);
/* The data folder member id first spoke from ("" when not known). */
const char *rn_quorum_member_dir(const rn_quorum_t *q, rn_raft_id_t id);

/* 1: the entry (index, term) is applied; 0: not yet; -1: it never will be
   (another entry took its index). */
int rn_quorum_outcome(const rn_quorum_t *q, uint64_t index, uint64_t term);

/* The applied image, borrowed until the next input. */
const rn_image_t *rn_quorum_image(const rn_quorum_t *q);
/* Whether this node has applied everything committed that it knows of
   (a leader: its own commit; a follower: the leader's last commit). */
bool rn_quorum_caught_up(const rn_quorum_t *q);
const rn_raft_t *rn_quorum_raft(const rn_quorum_t *q);
rn_err_t rn_quorum_failed(const rn_quorum_t *q);

/* Entry data of a batch, for the tests. */
size_t rn_quorum_entry_encode(const rn_md_batch_t *batch, uint8_t *out, size_t cap);

#endif
