/*
 * producer_ids.c: producer id allocation. Ids are handed out from blocks;
 * the end of the current block is made durable before its first id is
 * used, so a restart never hands out an id twice (it skips the rest of the
 * block instead, as Kafka's controller-allocated blocks do).
 */
#include "cluster/producer_ids.h"
#include "base/log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PRODUCER_IDS_FILE "producer_ids"
#define PRODUCER_IDS_BLOCK 1000

static rn_err_t producer_ids_reserve(rn_node_t *node) {
    char path[RN_STORAGE_PATH_BYTES_MAX + 32], text[32];
    if (node->producer_id_next == 0) {
        snprintf(path, sizeof path, "%s/%s", node->settings.log_dir, PRODUCER_IDS_FILE);
        size_t len = 0;
        rn_err_t err = rn_io_read_small(node->io, path, text, sizeof text - 1, &len);
        if (err != RN_OK && err != RN_ERR_NOT_FOUND) return err;
        text[err == RN_OK ? len : 0] = '\0';
        node->producer_id_next = err == RN_OK ? strtoll(text, NULL, 10) : 0;
        node->producer_id_end = node->producer_id_next;
    }
    int64_t end = node->producer_id_end + PRODUCER_IDS_BLOCK;
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", end);
    rn_err_t err =
        rn_io_write_atomic(node->io, node->settings.log_dir, PRODUCER_IDS_FILE, text, (size_t)n);
    if (err == RN_OK) node->producer_id_end = end;
    return err;
}

rn_err_t rn_producer_ids_next(rn_node_t *node, int64_t *producer_id) {
    pthread_mutex_lock(&node->admin_lock);
    rn_err_t err = RN_OK;
    if (node->producer_id_next >= node->producer_id_end) err = producer_ids_reserve(node);
    if (err == RN_OK) *producer_id = node->producer_id_next++;
    pthread_mutex_unlock(&node->admin_lock);
    if (err != RN_OK) RN_ERROR("producer_ids", "cannot reserve ids: %s", rn_err_name(err));
    return err;
}
