/*
 * topics.c: topic lifecycle on this node (see topics.h).
 */
#include "cluster/topics.h"
#include "base/assert.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool rn_topics_name_valid(rn_str_t name) {
    if (name.len <= 0 || name.len > RN_TOPIC_NAME_BYTES_MAX) return false;
    if ((name.len == 1 && name.ptr[0] == '.') ||
        (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.'))
        return false;
    for (int32_t i = 0; i < name.len; i++) {
        char c = name.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool rn_topics_is_internal(const char *name) {
    return !strcmp(name, "__consumer_offsets") || !strcmp(name, "__transaction_state");
}

static rn_log_config_t topics_log_config(const rn_node_t *node) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    (void)node;
    return cfg;
}

/* Opens partitions [from, to) of topic rt on their owner cores' behalf. */
static rn_err_t topics_open_partitions(rn_node_t *node, rn_topic_rt_t *rt, int32_t from) {
    rn_log_config_t cfg = topics_log_config(node);
    for (int32_t p = from; p < rt->partition_count; p++) {
        int owner = rn_node_owner(node, rt->name, p);
        rn_err_t err = rn_partition_open(node->io, node->settings.log_dir, rt->name, p, &cfg,
                                         node->settings.durable_acks, owner, &rt->parts[p]);
        if (err != RN_OK) {
            RN_ERROR("topics", "%s-%d: cannot open: %s", rt->name, p, rn_err_name(err));
            return err;
        }
    }
    return RN_OK;
}

/* A new table: the current topics (references shared) with `add` replacing
   or joining them and `drop` left out. Caller holds admin_lock. */
static void topics_publish(rn_node_t *node, rn_topic_rt_t *add, const char *drop) {
    rn_ptable_t *cur = atomic_load(&node->ptable);
    int32_t count = cur ? cur->topic_count : 0;
    rn_topic_rt_t **topics = calloc((size_t)count + 1, sizeof *topics);
    RN_ASSERT(topics != NULL);
    int32_t n = 0;
    for (int32_t i = 0; i < count; i++) {
        const rn_topic_rt_t *old = cur->topics[i];
        if ((drop && !strcmp(old->name, drop)) || (add && !strcmp(old->name, add->name))) continue;
        topics[n++] = rn_topic_rt_grow(old, old->partition_count);
    }
    if (add) topics[n++] = add;
    rn_node_publish(node, rn_ptable_build(topics, n));
    free(topics);
}

rn_err_t rn_topics_open_all(rn_node_t *node) {
    pthread_mutex_lock(&node->admin_lock);
    topics_publish(node, NULL, NULL);
    pthread_mutex_unlock(&node->admin_lock);
    return RN_OK;
}

void rn_topics_close_all(rn_node_t *node) {
    pthread_mutex_lock(&node->admin_lock);
    rn_ptable_t *old = rn_ptable_swap(&node->ptable, rn_ptable_build(NULL, 0));
    if (old) rn_ptable_release(old);
    rn_node_reclaim_stopped(node);
    pthread_mutex_unlock(&node->admin_lock);
}

int16_t rn_topics_create(rn_node_t *node, const rn_topic_spec_t *spec, int32_t *out_partitions,
                         char *errmsg, size_t errmsg_len) {
    if (!rn_topics_name_valid(spec->name)) {
        snprintf(errmsg, errmsg_len, "Topic name is invalid");
        return RN_KERR_INVALID_TOPIC_EXCEPTION;
    }
    int32_t partitions = spec->partitions == -1 ? node->settings.num_partitions : spec->partitions;
    if (partitions <= 0 || partitions > RN_TOPIC_PARTITIONS_MAX) {
        snprintf(errmsg, errmsg_len, "Number of partitions must be larger than 0.");
        return RN_KERR_INVALID_PARTITIONS;
    }
    char name[RN_TOPIC_NAME_BYTES_MAX + 1];
    memcpy(name, spec->name.ptr, (size_t)spec->name.len);
    name[spec->name.len] = '\0';
    pthread_mutex_lock(&node->admin_lock);
    rn_ptable_t *cur = atomic_load(&node->ptable);
    int16_t kerr = RN_KERR_NONE;
    if (rn_ptable_find(cur, name, strlen(name))) {
        snprintf(errmsg, errmsg_len, "Topic '%s' already exists.", name);
        kerr = RN_KERR_TOPIC_ALREADY_EXISTS;
    } else if (!spec->validate_only) {
        rn_uuid_t id;
        for (int i = 0; i < 16; i += 8) {
            uint64_t r = rn_io_random(node->io);
            memcpy(id.bytes + i, &r, 8);
        }
        rn_topic_rt_t *rt = rn_topic_rt_new(name, &id, partitions);
        if (topics_open_partitions(node, rt, 0) != RN_OK) {
            kerr = RN_KERR_KAFKA_STORAGE_ERROR;
        } else {
            topics_publish(node, rt, NULL);
            RN_INFO("topics", "created %s with %d partition(s)", name, partitions);
        }
    }
    pthread_mutex_unlock(&node->admin_lock);
    *out_partitions = partitions;
    return kerr;
}

int16_t rn_topics_auto_create(rn_node_t *node, rn_str_t name) {
    if (!node->settings.auto_create_topics) return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    rn_topic_spec_t spec = {name, -1, -1, NULL, NULL, 0, false};
    int32_t partitions;
    char errmsg[RN_TOPICS_ERRMSG_BYTES];
    int16_t kerr = rn_topics_create(node, &spec, &partitions, errmsg, sizeof errmsg);
    return kerr == RN_KERR_TOPIC_ALREADY_EXISTS ? RN_KERR_NONE : kerr;
}
