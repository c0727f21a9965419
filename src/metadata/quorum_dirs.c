/*
 * quorum_dirs.c: the members' data folders and their file (see
 * quorum_dirs.h).
 */
#include "metadata/quorum_dirs.h"

#include "base/limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DIRS_FILE "voter-dirs"
#define DIRS_LINE_BYTES_MAX (2 * 20 + RN_QUORUM_DIR_BYTES + 4)
#define DIRS_FILE_BYTES_MAX (RN_RAFT_NODES_MAX * DIRS_LINE_BYTES_MAX)

const rn_quorum_dir_t *rn_quorum_dirs_get(const rn_quorum_dirs_t *d, rn_raft_id_t id) {
    for (uint32_t i = 0; i < d->n; i++)
        if (d->v[i].id == id) return &d->v[i];
    return NULL;
}

bool rn_quorum_dirs_learn(rn_quorum_dirs_t *d, rn_raft_id_t id, rn_str_t dir, uint64_t at) {
    if (rn_quorum_dirs_get(d, id) || d->n == RN_RAFT_NODES_MAX) return false;
    if (id == RN_RAFT_ID_NONE || dir.len <= 0 || dir.len >= RN_QUORUM_DIR_BYTES) return false;
    rn_quorum_dir_t *e = &d->v[d->n++];
    e->id = id;
    e->at = at;
    memcpy(e->dir, dir.ptr, (size_t)dir.len);
    e->dir[dir.len] = '\0';
    d->changed = true;
    return true;
}

void rn_quorum_dirs_config(rn_quorum_dirs_t *d, const rn_raft_config_t *cfg, uint64_t index) {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        const rn_quorum_dir_t *e = &d->v[i];
        bool member =
            rn_raft_config_has_voter(cfg, e->id) || rn_raft_config_has_learner(cfg, e->id);
        if (member || e->at >= index) d->v[keep++] = *e;
    }
    if (keep != d->n) d->changed = true;
    d->n = keep;
}

void rn_quorum_dirs_snapshot(rn_quorum_dirs_t *d, uint64_t index) {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < d->n; i++)
        if (d->v[i].at >= index) d->v[keep++] = d->v[i];
    if (keep != d->n) d->changed = true;
    d->n = keep;
}

rn_err_t rn_quorum_dirs_load(rn_quorum_dirs_t *d, rn_io_t *io, const char *folder) {
    char path[RN_STORAGE_PATH_BYTES_MAX + 32], text[DIRS_FILE_BYTES_MAX + 1];
    snprintf(path, sizeof path, "%s/%s", folder, DIRS_FILE);
    memset(d, 0, sizeof *d);
    size_t len = 0;
    rn_err_t err = rn_io_read_small(io, path, text, DIRS_FILE_BYTES_MAX, &len);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    text[len] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && d->n < RN_RAFT_NODES_MAX;
         line = strtok_r(NULL, "\n", &save)) {
        rn_quorum_dir_t *e = &d->v[d->n];
        unsigned id = 0;
        uint64_t at = 0;
        int got = sscanf(line, "%u %31s %" SCNu64, &id, e->dir, &at);
        if (got < 2 || id == RN_RAFT_ID_NONE) return RN_ERR_CORRUPT;
        e->id = id;
        e->at = got == 3 ? at : 0;
        d->n++;
    }
    return RN_OK;
}

rn_err_t rn_quorum_dirs_save(rn_quorum_dirs_t *d, rn_io_t *io, const char *folder) {
    if (!d->changed) return RN_OK;
    char text[DIRS_FILE_BYTES_MAX];
    size_t len = 0;
    for (uint32_t i = 0; i < d->n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%u %s %" PRIu64 "\n", d->v[i].id,
                                d->v[i].dir, d->v[i].at);
    rn_err_t err = rn_io_write_atomic(io, folder, DIRS_FILE, text, len);
    if (err == RN_OK) d->changed = false;
    return err;
}
