/*
 * quorum_dirs.h: which data folder each member of the metadata quorum
 * speaks from, as the log records it (VoterDirectoryRecord), and the
 * `voter-dirs` file that keeps the table across restarts.
 *
 * Each folder is held with the Raft index that recorded it. A member's first
 * recorded folder stands until a configuration that leaves the member out,
 * at a later index, is applied; a record of another folder before that is a
 * message of an old folder proposed late and is ignored. A snapshot at index
 * s stands for everything recorded before s.
 *
 * Owns nothing on the heap; no Raft logic (quorum.c decides what to record
 * and when a folder's hold is lifted).
 */
#ifndef RN_METADATA_QUORUM_DIRS_H
#define RN_METADATA_QUORUM_DIRS_H

#include "base/err.h"
#include "io/io.h"
#include "proto/wire.h"
#include "raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

/* A data folder's directory id (meta.properties), as text. */
#define RN_QUORUM_DIR_BYTES 32

typedef struct rn_quorum_dir {
    rn_raft_id_t id;
    uint64_t at; /* the Raft index that recorded it (0: not known) */
    char dir[RN_QUORUM_DIR_BYTES];
} rn_quorum_dir_t;

typedef struct rn_quorum_dirs {
    rn_quorum_dir_t v[RN_RAFT_NODES_MAX];
    uint32_t n;
    bool changed; /* not yet saved */
} rn_quorum_dirs_t;

/* The folder held for member id, NULL if none. */
const rn_quorum_dir_t *rn_quorum_dirs_get(const rn_quorum_dirs_t *d, rn_raft_id_t id);
/* Records dir for id at index at unless id already has one; true if recorded. */
bool rn_quorum_dirs_learn(rn_quorum_dirs_t *d, rn_raft_id_t id, rn_str_t dir, uint64_t at);
/* A configuration applied at index: forgets the folders recorded before it
   of the members it leaves out. */
void rn_quorum_dirs_config(rn_quorum_dirs_t *d, const rn_raft_config_t *cfg, uint64_t index);
/* A snapshot at index replaces what was recorded before it. */
void rn_quorum_dirs_snapshot(rn_quorum_dirs_t *d, uint64_t index);

/* The file in folder: one line per member, "raft-id folder index" (a file
   of a release that kept no index reads as index 0). */
rn_err_t rn_quorum_dirs_load(rn_quorum_dirs_t *d, rn_io_t *io, const char *folder);
/* Writes the file atomically if the table changed since the last save. */
rn_err_t rn_quorum_dirs_save(rn_quorum_dirs_t *d, rn_io_t *io, const char *folder);

#endif
