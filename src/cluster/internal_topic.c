/*
 * internal_topic.c: start-up creation of internal topics (see
 * internal_topic.h): the bounded wait for the brokers their replicas want,
 * then the creation through the active controller.
 */
#include "cluster/internal_topic.h"
#include "base/log.h"
#include "cluster/topics.h"

#include <string.h>
#include <time.h>

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
