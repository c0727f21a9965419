/*
 * identity.c: reads or creates <log.dir>/meta.properties, and reads and
 * writes the folder's last registration, registration.properties (see
 * identity.h).
 */
#include "server/identity.h"
#include "base/assert.h"
#include "base/log.h"
#include "proto/uuid_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENTITY_FILE_BYTES_MAX 4096

/* Kafka's ids are 16 random bytes in URL-safe base64 (22 chars), never
   starting with '-' (command-line tools would take it for an option). */
static void identity_new_id(rn_io_t *io, char *out, size_t cap) {
    RN_ASSERT(cap > RN_UUID_TEXT_CHARS);
    do {
        rn_uuid_t id;
        uint64_t hi = rn_io_random(io), lo = rn_io_random(io);
        memcpy(id.bytes, &hi, 8);
        memcpy(id.bytes + 8, &lo, 8);
        rn_uuid_to_text(&id, out);
    } while (out[0] == '-');
}

/* Copies key's value (up to the end of its line) into out; false if absent. */
static bool identity_value(const char *text, const char *key, char *out, size_t cap) {
    size_t key_len = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n') line++;
        if (strncmp(line, key, key_len) != 0 || line[key_len] != '=') continue;
        const char *value = line + key_len + 1;
        size_t n = strcspn(value, "\r\n");
        if (n >= cap) n = cap - 1;
        memcpy(out, value, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

static rn_err_t identity_write(rn_io_t *io, const char *dir, const rn_config_t *cfg,
                               const rn_identity_t *id) {
    char text[IDENTITY_FILE_BYTES_MAX];
    int n = snprintf(text, sizeof text, "version=1\nnode.id=%d\ncluster.id=%s\ndirectory.id=%s\n",
                     cfg->node_id, id->cluster_id, id->directory_id);
    return rn_io_write_atomic(io, dir, "meta.properties", text, (size_t)n);
}

/* An existing folder: it must be this node's, and of the cluster.id asked
   for when one is; a folder written before directory ids gets one. */
static rn_err_t identity_existing(rn_io_t *io, const rn_config_t *cfg, const char *path,
                                  const char *text, rn_identity_t *id) {
    const char *dir = cfg->log_dirs[0];
    char node[32];
    if (!identity_value(text, "cluster.id", id->cluster_id, sizeof id->cluster_id) ||
        !identity_value(text, "node.id", node, sizeof node)) {
        RN_ERROR("identity", "%s lacks cluster.id or node.id", path);
        return RN_ERR_CORRUPT;
    }
    if (atoi(node) != cfg->node_id) {
        RN_ERROR("identity",
                 "%s belongs to node.id %d, not %d: point log.dirs at node %d's own folder, or "
                 "empty this one to use it as a new folder of node %d",
                 path, atoi(node), cfg->node_id, cfg->node_id, cfg->node_id);
        return RN_ERR_INVALID;
    }
    if (cfg->cluster_id[0] && strcmp(cfg->cluster_id, id->cluster_id) != 0) {
        RN_ERROR("identity",
                 "%s belongs to cluster %s, but cluster.id is %s: point log.dirs at this "
                 "cluster's folder, or empty the folder to join cluster %s as a new node",
                 path, id->cluster_id, cfg->cluster_id, cfg->cluster_id);
        return RN_ERR_INVALID;
    }
    if (identity_value(text, "directory.id", id->directory_id, sizeof id->directory_id))
        return RN_OK;
    identity_new_id(io, id->directory_id, sizeof id->directory_id);
    RN_INFO("identity", "%s: directory id %s", dir, id->directory_id);
    return identity_write(io, dir, cfg, id);
}

rn_err_t rn_identity_load(rn_io_t *io, const rn_config_t *cfg, rn_identity_t *id) {
    const char *dir = cfg->log_dirs[0];
    char path[4096], text[IDENTITY_FILE_BYTES_MAX + 1];
    snprintf(path, sizeof path, "%s/meta.properties", dir);
    size_t len = 0;
    memset(id, 0, sizeof *id);
    rn_err_t err = rn_io_read_small(io, path, text, IDENTITY_FILE_BYTES_MAX, &len);
    if (err == RN_OK) {
        text[len] = '\0';
        return identity_existing(io, cfg, path, text, id);
    }
    if (err != RN_ERR_NOT_FOUND) return err;
    if (cfg->cluster_id[0])
        snprintf(id->cluster_id, sizeof id->cluster_id, "%s", cfg->cluster_id);
    else
        identity_new_id(io, id->cluster_id, sizeof id->cluster_id);
    identity_new_id(io, id->directory_id, sizeof id->directory_id);
    id->provisional = cfg->clustered && !cfg->cluster_id[0];
    RN_INFO("identity", "new data folder %s: cluster id %s%s, directory id %s", dir, id->cluster_id,
            id->provisional ? " (until the quorum names the cluster's)" : "", id->directory_id);
    return identity_write(io, dir, cfg, id);
}

rn_err_t rn_identity_adopt(rn_io_t *io, const rn_config_t *cfg, rn_identity_t *id,
                           const char *cluster_id) {
    snprintf(id->cluster_id, sizeof id->cluster_id, "%s", cluster_id);
    id->provisional = false;
    return identity_write(io, cfg->log_dirs[0], cfg, id);
}

rn_identity_reg_t rn_identity_registration_load(rn_io_t *io, const rn_config_t *cfg) {
    rn_identity_reg_t reg = {-1, false};
    char path[4096], text[IDENTITY_FILE_BYTES_MAX + 1], value[32];
    snprintf(path, sizeof path, "%s/registration.properties", cfg->log_dirs[0]);
    size_t len = 0;
    if (rn_io_read_small(io, path, text, IDENTITY_FILE_BYTES_MAX, &len) != RN_OK) return reg;
    text[len] = '\0';
    if (identity_value(text, "registering", value, sizeof value))
        reg.pending = strcmp(value, "true") == 0;
    if (!identity_value(text, "broker.epoch", value, sizeof value)) return reg;
    char *end = NULL;
    long long epoch = strtoll(value, &end, 10);
    if (end != value && *end == '\0' && epoch >= 0) reg.epoch = (int64_t)epoch;
    return reg;
}

rn_err_t rn_identity_registration_save(rn_io_t *io, const rn_config_t *cfg,
                                       const rn_identity_reg_t *reg) {
    char text[128];
    int n =
        snprintf(text, sizeof text, "node.id=%d\nbroker.epoch=%lld\nregistering=%s\n", cfg->node_id,
                 (long long)(reg->epoch >= 0 ? reg->epoch : -1), reg->pending ? "true" : "false");
    return rn_io_write_atomic(io, cfg->log_dirs[0], "registration.properties", text, (size_t)n);
}
