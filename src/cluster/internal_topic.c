/*
 * internal_topic.c: start-up creation of internal topics (see
 * internal_topic.h): the bounded wait for the brokers their replicas want,
 * then the creation through the active controller; and the replay of a
 * partition's log at a coordinator shard's load.
 */
#include "cluster/internal_topic.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/topics.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes one replay read asks of the log at a time. */
#define REPLAY_READ_BYTES (1024 * 1024)

bool rn_internal_topic_exists(rn_node_t *node, const char *name) {
    rn_ptable_t *table = rn_ptable_acquire(&node->ptable);
    bool exists = rn_ptable_find(table, name, strlen(name));
    rn_ptable_release(table);
    return exists;
}

int16_t rn_internal_topic_replicas(const rn_node_t *node, int16_t replication_factor) {
    int16_t known = node->settings.brokers_expected;
    return known > 0 && known < replication_factor ? known : replication_factor;
}

static int16_t usable_brokers(rn_node_t *node) {
    rn_image_t *img = rn_topics_image(node);
    int16_t n = 0;
    for (int32_t i = 0; i < rn_image_broker_count(img); i++)
        n += rn_image_broker_usable(rn_image_broker_at(img, i));
    rn_image_release(img);
    return n;
}

static void pause_100ms(void) {
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static void wait_brokers(rn_node_t *node, const rn_internal_topic_t *spec) {
    int16_t want = rn_internal_topic_replicas(node, spec->replication_factor);
    /* One bound from the node's start for every internal topic: the
       second does not wait again for brokers that did not come for the
       first. */
    int64_t deadline_ms = node->started_ms + RN_OFFSETS_TOPIC_BROKERS_WAIT_MS;
    bool said = false;
    for (int16_t have; (have = usable_brokers(node)) < want;) {
        if (rn_io_wall_ms(node->io) > deadline_ms) {
            RN_WARN(spec->log_module,
                    "%s gets %d replica(s), not %d: only %d broker(s) registered "
                    "within %d s (%s)",
                    spec->name, have, want, have, RN_OFFSETS_TOPIC_BROKERS_WAIT_MS / 1000,
                    spec->rf_setting);
            return;
        }
        if (!said)
            RN_INFO(spec->log_module,
                    "waiting for %d broker(s) to register before creating %s (%d so far)", want,
                    spec->name, have);
        said = true;
        pause_100ms();
        if (rn_internal_topic_exists(node, spec->name)) return;
    }
}

rn_err_t rn_internal_topic_ensure(rn_node_t *node, const rn_internal_topic_t *spec) {
    rn_ctl_new_topic_t topic = {rn_str_from_cstr(spec->name),
                                spec->partitions,
                                spec->replication_factor,
                                NULL,
                                0,
                                spec->configs,
                                spec->config_count};
    if (!rn_internal_topic_exists(node, spec->name)) wait_brokers(node, spec);
    int64_t deadline_ms = rn_io_now_ms(node->io) + RN_ADMIN_OP_TIMEOUT_MS;
    for (;;) {
        if (rn_internal_topic_exists(node, spec->name)) return RN_OK;
        rn_ctl_topic_result_t result;
        rn_topics_create(node, &topic, 1, &result);
        int16_t kerr = result.result.error_code;
        if (kerr == RN_KERR_NONE || kerr == RN_KERR_TOPIC_ALREADY_EXISTS) {
            if (rn_internal_topic_exists(node, spec->name)) return RN_OK;
        } else if (kerr != RN_KERR_NOT_CONTROLLER || rn_io_now_ms(node->io) > deadline_ms) {
            RN_ERROR(spec->log_module, "cannot create %s: %s (%s)", spec->name, rn_kerr_name(kerr),
                     result.result.message);
            return RN_ERR_IO;
        }
        pause_100ms();
    }
}

/* Replays the whole batches of buf; returns the offset after the last. */
static int64_t replay_batches(rn_partition_t *part, const char *log_module, const uint8_t *buf,
                              size_t len, rn_internal_topic_batch_fn fn, void *ctx) {
    int64_t next = -1;
    size_t pos = 0;
    while (len - pos >= RN_BATCH_HEADER_BYTES) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(buf + pos, &hdr);
        size_t size = rn_batch_size(&hdr);
        if (hdr.batch_length < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD || size > len - pos)
            break;
        rn_err_t err = fn(ctx, &hdr, buf + pos, size);
        if (err != RN_OK)
            RN_WARN(log_module, "%s-%d: skipped a malformed batch at offset %lld: %s", part->topic,
                    part->index, (long long)hdr.base_offset, rn_err_name(err));
        next = rn_batch_last_offset(&hdr) + 1;
        pos += size;
    }
    return next;
}

rn_err_t rn_internal_topic_replay(rn_node_t *node, rn_partition_t *part, const char *log_module,
                                  rn_internal_topic_batch_fn fn, void *ctx) {
    rn_log_t *log = part->log;
    int64_t offset = rn_log_start_offset(log);
    int64_t end = rn_log_end_offset(log);
    uint8_t *buf = NULL;
    rn_err_t err = RN_OK;
    while (offset < end && err == RN_OK) {
        rn_log_read_t rd;
        err = rn_log_read(log, offset, REPLAY_READ_BYTES, end, &rd);
        if (err != RN_OK || rd.len == 0) break;
        buf = realloc(buf, rd.len);
        RN_ASSERT(buf != NULL);
        size_t got = 0;
        err = rn_io_file_pread(node->io, rd.fd, buf, rd.len, rd.position, &got);
        rn_log_read_release(&rd);
        if (err != RN_OK) break;
        int64_t next = replay_batches(part, log_module, buf, got, fn, ctx);
        if (next <= offset) break; /* nothing whole: the log ends here */
        offset = next;
    }
    free(buf);
    return err;
}
