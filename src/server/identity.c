/* identity.c: reads or creates <log.dir>/meta.properties. */
#include "server/identity.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDENTITY_FILE_BYTES_MAX 4096

/* Kafka's cluster ids are 16 random bytes in URL-safe base64 (22 chars),
   never starting with '-' (command-line tools would take it for an option). */
static void identity_new_cluster_id(rn_io_t *io, char *out, size_t cap) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    size_t n = cap - 1 < 22 ? cap - 1 : 22;
    for (size_t i = 0; i < n; i++) out[i] = alphabet[rn_io_random(io) % (i == 0 ? 63 : 64)];
    out[n] = '\0';
}

static const char *identity_value(const char *text, const char *key) {
    size_t key_len = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n') line++;
        if (strncmp(line, key, key_len) == 0 && line[key_len] == '=') return line + key_len + 1;
    }
    return NULL;
}

rn_err_t rn_identity_load(rn_io_t *io, const rn_config_t *cfg, char *cluster_id, size_t cap) {
    const char *dir = cfg->log_dirs[0];
    char path[4096], text[IDENTITY_FILE_BYTES_MAX + 1];
    snprintf(path, sizeof path, "%s/meta.properties", dir);
    size_t len = 0;
    rn_err_t err = rn_io_read_small(io, path, text, IDENTITY_FILE_BYTES_MAX, &len);
    if (err == RN_OK) {
        text[len] = '\0';
        const char *id = identity_value(text, "cluster.id");
        const char *node = identity_value(text, "node.id");
        if (!id || !node) {
            RN_ERROR("identity", "%s lacks cluster.id or node.id", path);
            return RN_ERR_CORRUPT;
        }
        if (atoi(node) != cfg->node_id) {
            RN_ERROR("identity", "%s belongs to node.id %d, not %d", path, atoi(node),
                     cfg->node_id);
            return RN_ERR_INVALID;
        }
        size_t n = strcspn(id, "\r\n");
        if (n >= cap) n = cap - 1;
        memcpy(cluster_id, id, n);
        cluster_id[n] = '\0';
        return RN_OK;
    }
    if (err != RN_ERR_NOT_FOUND) return err;
    identity_new_cluster_id(io, cluster_id, cap);
    int n = snprintf(text, sizeof text, "version=1\nnode.id=%d\ncluster.id=%s\n", cfg->node_id,
                     cluster_id);
    RN_INFO("identity", "new data folder %s: cluster id %s", dir, cluster_id);
    return rn_io_write_atomic(io, dir, "meta.properties", text, (size_t)n);
}
