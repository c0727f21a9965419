/*
 * purge.c: delayed removal of retired partition directories (see purge.h).
 */
#include "cluster/purge.h"
#include "base/assert.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURGE_SUFFIX "-delete"
#define PURGE_ID_HEX 32

struct rn_node_purge {
    struct rn_node_purge *next;
    int64_t due_ms;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
};

bool rn_purge_retired_name(char *out, size_t cap, const char *dir, const rn_uuid_t *topic_id) {
    char hex[PURGE_ID_HEX + 1];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", topic_id->bytes[i]);
    int n = snprintf(out, cap, "%s.%s" PURGE_SUFFIX, dir, hex);
    return n > 0 && (size_t)n < cap;
}

bool rn_purge_is_retired_name(const char *name) {
    size_t len = strlen(name);
    size_t tail = 1 + PURGE_ID_HEX + strlen(PURGE_SUFFIX);
    if (len <= tail || strcmp(name + len - strlen(PURGE_SUFFIX), PURGE_SUFFIX) != 0) return false;
    const char *id = name + len - tail;
    if (id[0] != '.') return false;
    for (int i = 1; i <= PURGE_ID_HEX; i++)
        if (!strchr("0123456789abcdef", id[i]) || id[i] == '\0') return false;
    return true;
}

void rn_purge_later(rn_node_t *node, const char *dir, int64_t due_ms) {
    struct rn_node_purge *item = calloc(1, sizeof *item);
    RN_ASSERT(item != NULL);
    snprintf(item->dir, sizeof item->dir, "%s", dir);
    item->due_ms = due_ms;
    item->next = node->purge;
    node->purge = item;
}

/* A directory being listed: its files to unlink, or retired folders in it. */
typedef struct purge_dir {
    rn_io_t *io;
    const char *dir;
} purge_dir_t;

static int purge_unlink_one(void *ctx, const char *name) {
    purge_dir_t *pd = ctx;
    char path[RN_STORAGE_PATH_BYTES_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", pd->dir, name);
    rn_io_unlink(pd->io, path);
    return 0;
}

rn_err_t rn_purge_remove(rn_io_t *io, const char *dir) {
    purge_dir_t pd = {io, dir};
    rn_err_t err = rn_io_dir_list(io, dir, purge_unlink_one, &pd);
    if (err == RN_OK) err = rn_io_dir_remove(io, dir);
    return err;
}

static void purge_remove_logged(rn_io_t *io, const char *dir, const char *why) {
    rn_err_t err = rn_purge_remove(io, dir);
    if (err == RN_OK)
        RN_INFO("topics", "removed %s%s", dir, why);
    else
        RN_WARN("topics", "cannot remove %s: %s", dir, rn_err_name(err));
}

void rn_purge_due(rn_node_t *node, int64_t now_ms) {
    struct rn_node_purge **link = &node->purge;
    while (*link) {
        struct rn_node_purge *item = *link;
        if (item->due_ms > now_ms) {
            link = &item->next;
            continue;
        }
        *link = item->next;
        purge_remove_logged(node->io, item->dir, "");
        free(item);
    }
}

void rn_purge_drop_all(rn_node_t *node) {
    while (node->purge) {
        struct rn_node_purge *item = node->purge;
        node->purge = item->next;
        free(item);
    }
}

static int purge_leftover_one(void *ctx, const char *name) {
    purge_dir_t *scan = ctx;
    if (!rn_purge_is_retired_name(name)) return 0;
    char dir[RN_STORAGE_PATH_BYTES_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", scan->dir, name) >= (int)sizeof dir) return 0;
    purge_remove_logged(scan->io, dir, ", left by an earlier run");
    return 0;
}

void rn_purge_leftovers(rn_io_t *io, const char *log_dir) {
    purge_dir_t scan = {io, log_dir};
    rn_io_dir_list(io, log_dir, purge_leftover_one, &scan);
}
