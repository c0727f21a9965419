/*
 * controller_topics.c: planning CreateTopics, DeleteTopics, CreatePartitions
 * and producer-id blocks, and the placement of new partitions' replicas.
 *
 * Each plan validates item by item against the current image and appends
 * the records of the valid items to the batch; a failing item leaves no
 * records behind (its partial records are rolled back).
 *
 * Placement follows Kafka's replica assignment: the usable brokers are
 * ordered rack by rack (the first broker of each rack, then the second of
 * each, ...), partition p's leader is the broker at (p + start) in that
 * order, so leaders spread evenly, and its followers are the brokers after
 * it, shifted by one more each time the partitions wrap around the list,
 * skipping a rack that already holds a replica while unused racks remain.
 * Kafka draws `start` at random; here it comes from the image's next offset
 * and the batch so far, so a plan is reproducible.
 */
#include "base/assert.h"
#include "metadata/controller_int.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rn_ctl_result_t *result_at(rn_ctl_result_t *first, size_t stride, int32_t index) {
    return (rn_ctl_result_t *)(void *)((char *)first + stride * (size_t)index);
}

/* Flags of items whose name repeats (free them); NULL when out of memory,
   after failing every item. */
static bool *find_repeats_or_fail(const void *items, size_t stride, size_t name_offset,
                                  int32_t count, rn_ctl_result_t *res, size_t res_stride) {
    bool *repeated = malloc((size_t)(count > 0 ? count : 1) * sizeof(bool));
    if (repeated && rn_ctl_find_repeats(items, stride, name_offset, -1, count, repeated))
        return repeated;
    free(repeated);
    for (int32_t n = 0; n < count; n++)
        rn_ctl_result_set(result_at(res, res_stride, n), RN_KERR_UNKNOWN_SERVER_ERROR,
                          "Out of memory.");
    return NULL;
}

/* ---- placement ---- */

void rn_ctl_usable_brokers(const rn_controller_t *ctl, rn_ctl_brokers_t *out) {
    const rn_image_t *img = ctl->image;
    memset(out, 0, sizeof(*out));
    out->registered = rn_image_broker_count(img);
    RN_ASSERT(out->registered <= RN_CTL_BROKERS_MAX);
    if (out->registered == 0 && !ctl->brokers_register) {
        memcpy(out->ids, ctl->brokers, (size_t)ctl->broker_count * sizeof(int32_t));
        out->count = ctl->broker_count;
        return;
    }
    for (int32_t n = 0; n < out->registered; n++) {
        const rn_image_broker_t *broker = rn_image_broker_at(img, n);
        if (!rn_image_broker_usable(broker)) continue;
        out->racks[out->count] = broker->has_rack ? broker->rack : NULL;
        out->ids[out->count++] = broker->id;
    }
}

int16_t rn_ctl_check_replication(const rn_ctl_brokers_t *brokers, int32_t rf,
                                 rn_ctl_result_t *res) {
    if (brokers->count == 0 && brokers->registered > 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICATION_FACTOR,
                          "Unable to replicate the partition %d time(s): All brokers are "
                          "currently fenced.",
                          rf);
        return res->error_code;
    }
    if (rf > brokers->count || rf > RN_REPLICAS_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICATION_FACTOR,
                          "Unable to replicate the partition %d time(s): The target replication "
                          "factor of %d cannot be reached because only %d broker(s) are "
                          "registered.",
                          rf, rf, brokers->count);
        return res->error_code;
    }
    return RN_KERR_NONE;
}

static const char *rack_of(const rn_ctl_brokers_t *brokers, int32_t index) {
    return brokers->racks[index] ? brokers->racks[index] : "";
}

static bool any_rack(const rn_ctl_brokers_t *brokers) {
    for (int32_t n = 0; n < brokers->count; n++) {
        if (brokers->racks[n]) return true;
    }
    return false;
}

/* Broker indexes in rack-alternating order (racks by name, brokers by id);
   returns the number of racks. Brokers without a rack share one. */
static int32_t rack_alternate(const rn_ctl_brokers_t *brokers, int32_t *order) {
    int32_t rack_first[RN_CTL_BROKERS_MAX]; /* a broker index per distinct rack */
    int32_t racks = 0;
    for (int32_t n = 0; n < brokers->count; n++) {
        int32_t at = 0;
        while (at < racks && strcmp(rack_of(brokers, rack_first[at]), rack_of(brokers, n)) < 0)
            at++;
        if (at < racks && strcmp(rack_of(brokers, rack_first[at]), rack_of(brokers, n)) == 0)
            continue;
        memmove(&rack_first[at + 1], &rack_first[at], (size_t)(racks - at) * sizeof(int32_t));
        rack_first[at] = n;
        racks++;
    }
    int32_t placed = 0;
    for (int32_t round = 0; placed < brokers->count; round++) {
        for (int32_t r = 0; r < racks; r++) {
            int32_t seen = 0; /* the round-th broker of rack r */
            for (int32_t n = 0; n < brokers->count; n++) {
                if (strcmp(rack_of(brokers, n), rack_of(brokers, rack_first[r])) != 0) continue;
                if (seen++ == round) order[placed++] = n;
            }
        }
    }
    return racks;
}

/* Kafka's follower position: j-th follower of the leader at `first`. */
static int32_t follower_index(int32_t first, int32_t shift, int32_t j, int32_t n) {
    return (first + 1 + (shift + j) % (n - 1)) % n;
}

static bool ids_have(const int32_t *ids, int32_t count, int32_t id) {
    for (int32_t n = 0; n < count; n++) {
        if (ids[n] == id) return true;
    }
    return false;
}

/* Replicas of partition p: leader first, then followers (rack-aware when
   racks > 1: a rack gets a second replica only once every rack has one). */
static void place_one(const rn_ctl_brokers_t *brokers, const int32_t *order, int32_t racks,
                      int32_t p, int16_t rf, uint32_t start, int32_t *replicas) {
    int32_t n = brokers->count;
    int32_t first = (int32_t)(((uint32_t)p + start) % (uint32_t)n);
    int32_t shift = (int32_t)((start + (uint32_t)p / (uint32_t)n) % (uint32_t)n);
    replicas[0] = brokers->ids[order[first]];
    const char *used_racks[RN_REPLICAS_MAX] = {rack_of(brokers, order[first])};
    int32_t rack_count = 1;
    int32_t k = 0;
    for (int16_t r = 1; r < rf; r++) {
        for (;; k++) {
            RN_ASSERT(k < n * racks + n); /* some unused broker always fits */
            int32_t at = order[follower_index(first, racks > 1 ? shift * racks : shift, k, n)];
            const char *rack = rack_of(brokers, at);
            bool rack_used = false;
            for (int32_t u = 0; u < rack_count; u++) rack_used |= strcmp(used_racks[u], rack) == 0;
            if ((rack_used && rack_count < racks) || ids_have(replicas, r, brokers->ids[at]))
                continue;
            replicas[r] = brokers->ids[at];
            if (!rack_used) used_racks[rack_count++] = rack;
            k++;
            break;
        }
    }
}

static rn_err_t add_partition_record(rn_md_batch_t *batch, const rn_uuid_t *topic_id,
                                     int32_t partition, const int32_t *replicas, int16_t count) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION;
    rn_md_partition_record_t *p = &rec.u.partition;
    p->topic_id = *topic_id;
    p->partition = partition;
    p->leader = replicas[0];
    p->replica_count = p->isr_count = count;
    memcpy(p->replicas, replicas, (size_t)count * sizeof(int32_t));
    memcpy(p->isr, replicas, (size_t)count * sizeof(int32_t));
    return rn_md_batch_add(batch, &rec);
}

rn_err_t rn_ctl_add_partitions(rn_md_batch_t *batch, const rn_uuid_t *topic_id, int32_t first,
                               int32_t count, int16_t replication_factor,
                               const rn_ctl_assignment_t *assignments,
                               const rn_ctl_brokers_t *brokers, uint32_t start) {
    RN_ASSERT(replication_factor >= 1 && replication_factor <= RN_REPLICAS_MAX);
    RN_ASSERT(assignments || replication_factor <= brokers->count);
    int32_t order[RN_CTL_BROKERS_MAX];
    int32_t racks = 1;
    if (!assignments) {
        if (any_rack(brokers))
            racks = rack_alternate(brokers, order);
        else
            for (int32_t n = 0; n < brokers->count; n++) order[n] = n;
    }
    for (int32_t n = 0; n < count; n++) {
        int32_t replicas[RN_REPLICAS_MAX];
        int16_t rf = replication_factor;
        if (assignments) {
            rf = (int16_t)assignments[n].broker_count;
            memcpy(replicas, assignments[n].broker_ids, (size_t)rf * sizeof(int32_t));
        } else {
            place_one(brokers, order, racks, first + n, rf, start, replicas);
        }
        rn_err_t err = add_partition_record(batch, topic_id, first + n, replicas, rf);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}

/* The deterministic start of a placement. */
static uint32_t placement_start(const rn_controller_t *ctl, const rn_md_batch_t *batch) {
    return (uint32_t)(rn_image_next_offset(ctl->image) + batch->count);
}

static int16_t too_many_partitions(rn_ctl_result_t *res) {
    rn_ctl_result_set(res, RN_KERR_INVALID_PARTITIONS,
                      "Number of partitions is more than this broker's limit of %d per topic.",
                      RN_TOPIC_PARTITIONS_MAX);
    return res->error_code;
}

/* A manual assignment: Kafka's checks; fills the result's counts. */
static int16_t check_assignments(rn_controller_t *ctl, const rn_ctl_new_topic_t *t,
                                 rn_ctl_topic_result_t *out) {
    rn_ctl_result_t *res = &out->result;
    if (t->replication_factor != -1) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST,
                          "A manual partition assignment was specified, but replication "
                          "factor was not set to -1.");
        return res->error_code;
    }
    if (t->num_partitions != -1) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST,
                          "A manual partition assignment was specified, but numPartitions "
                          "was not set to -1.");
        return res->error_code;
    }
    if (t->assignment_count > RN_TOPIC_PARTITIONS_MAX) return too_many_partitions(res);
    uint8_t *seen = calloc((size_t)t->assignment_count, 1);
    if (!seen) {
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
        return res->error_code;
    }
    int32_t rf = 0;
    bool gaps = false;
    for (int32_t n = 0; n < t->assignment_count && res->error_code == RN_KERR_NONE; n++) {
        const rn_ctl_assignment_t *a = &t->assignments[n];
        bool in_range = a->partition >= 0 && a->partition < t->assignment_count;
        gaps |= !in_range;
        if (in_range && seen[a->partition]++) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                              "Found multiple manual partition assignments for partition %d",
                              a->partition);
            break;
        }
        rn_ctl_check_assignment(ctl, a, &rf, res);
    }
    free(seen);
    if (res->error_code != RN_KERR_NONE) return res->error_code;
    if (gaps) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "Partitions should be a consecutive 0-based integer sequence");
        return res->error_code;
    }
    out->num_partitions = t->assignment_count;
    out->replication_factor = (int16_t)rf;
    return RN_KERR_NONE;
}

/* Kafka's internal topics, created by the node itself with the configured
   replication factor. */
static bool topic_internal(rn_str_t name) {
    return rn_str_eq(name, rn_str_from_cstr("__consumer_offsets")) ||
           rn_str_eq(name, rn_str_from_cstr("__transaction_state"));
}

/* Checks partitions, replication factor and assignments; fills the result's
   counts. */
static int16_t check_layout(rn_controller_t *ctl, const rn_ctl_new_topic_t *t,
                            rn_ctl_topic_result_t *out) {
    rn_ctl_result_t *res = &out->result;
    if (t->assignment_count > 0) return check_assignments(ctl, t, out);
    if (t->replication_factor < -1 || t->replication_factor == 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICATION_FACTOR,
                          "Replication factor must be larger than 0, or -1 to use the default "
                          "value.");
        return res->error_code;
    }
    if (t->num_partitions < -1 || t->num_partitions == 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_PARTITIONS,
                          "Number of partitions was set to an invalid non-positive value.");
        return res->error_code;
    }
    int32_t parts = t->num_partitions == -1 ? ctl->num_partitions : t->num_partitions;
    int16_t rf =
        t->replication_factor == -1 ? ctl->default_replication_factor : t->replication_factor;
    if (parts > RN_TOPIC_PARTITIONS_MAX) return too_many_partitions(res);
    rn_ctl_brokers_t brokers;
    rn_ctl_usable_brokers(ctl, &brokers);
    if (topic_internal(t->name) && rf > brokers.count && brokers.count > 0)
        rf = (int16_t)brokers.count;
    if (rn_ctl_check_replication(&brokers, rf, res) != RN_KERR_NONE) return res->error_code;
    out->num_partitions = parts;
    out->replication_factor = rf;
    return RN_KERR_NONE;
}

/* Name, collision and existence checks, in Kafka's order. */
static int16_t check_new_name(rn_controller_t *ctl, rn_str_t name, rn_ctl_result_t *res) {
    if (rn_ctl_topic_name_check(name, res->message, sizeof(res->message)) != RN_KERR_NONE) {
        res->error_code = RN_KERR_INVALID_TOPIC_EXCEPTION;
        return res->error_code;
    }
    if (rn_image_topic(ctl->image, name.ptr, (size_t)name.len)) {
        rn_ctl_result_set(res, RN_KERR_TOPIC_ALREADY_EXISTS, "Topic '%.*s' already exists.",
                          name.len, name.ptr);
        return res->error_code;
    }
    const rn_image_topic_t *other =
        rn_image_topic_colliding(ctl->image, name.ptr, (size_t)name.len);
    if (other) {
        rn_ctl_result_set(res, RN_KERR_INVALID_TOPIC_EXCEPTION,
                          "Topic '%.*s' collides with existing topic: %s", name.len, name.ptr,
                          other->name);
        return res->error_code;
    }
    return RN_KERR_NONE;
}

static rn_err_t add_topic_records(rn_controller_t *ctl, const rn_ctl_new_topic_t *t,
                                  const rn_ctl_topic_result_t *out, rn_md_batch_t *batch) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_TOPIC;
    rec.u.topic.topic_id = out->topic_id;
    rec.u.topic.name = t->name;
    rn_ctl_brokers_t brokers;
    rn_ctl_usable_brokers(ctl, &brokers);
    uint32_t start = placement_start(ctl, batch);
    rn_err_t err = rn_md_batch_add(batch, &rec);
    if (err == RN_OK)
        err = rn_ctl_add_partitions(
            batch, &out->topic_id, 0, out->num_partitions, out->replication_factor,
            t->assignment_count > 0 ? t->assignments : NULL, &brokers, start);
    for (int32_t n = 0; err == RN_OK && n < t->config_count; n++)
        err = rn_ctl_config_record(batch, RN_MD_RESOURCE_TOPIC, t->name, t->configs[n].key,
                                   t->configs[n].value);
    return err;
}

/* Assignments may come in any partition order; records need index order. */
static void sort_assignments(const rn_ctl_new_topic_t *t, rn_ctl_assignment_t *sorted) {
    for (int32_t n = 0; n < t->assignment_count; n++)
        sorted[t->assignments[n].partition] = t->assignments[n];
}

static void plan_one_topic(rn_controller_t *ctl, const rn_ctl_new_topic_t *t,
                           int64_t *partitions_planned, rn_md_batch_t *batch,
                           rn_ctl_topic_result_t *out) {
    rn_ctl_result_t *res = &out->result;
    if (check_new_name(ctl, t->name, res) != RN_KERR_NONE) return;
    for (int32_t n = 0; n < t->config_count; n++) {
        if (rn_ctl_check_topic_config(t->configs[n].key, t->configs[n].value, res) != RN_KERR_NONE)
            return;
    }
    if (check_layout(ctl, t, out) != RN_KERR_NONE) return;
    int64_t total = rn_image_partition_total(ctl->image) + *partitions_planned;
    if (total + out->num_partitions > RN_BROKER_PARTITIONS_MAX) {
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                          "Creating %d partition(s) would exceed this broker's limit of %d "
                          "partitions.",
                          out->num_partitions, RN_BROKER_PARTITIONS_MAX);
        return;
    }
    out->topic_id = rn_ctl_new_topic_id(ctl);
    rn_ctl_new_topic_t ordered = *t;
    rn_ctl_assignment_t *sorted = NULL;
    if (t->assignment_count > 0) {
        sorted = calloc((size_t)t->assignment_count, sizeof(*sorted));
        if (!sorted) {
            rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
            return;
        }
        sort_assignments(t, sorted);
        ordered.assignments = sorted;
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    rn_err_t err = add_topic_records(ctl, &ordered, out, batch);
    free(sorted);
    if (err != RN_OK) {
        batch->buf.len = len;
        batch->count = count;
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                          "The request creates more partitions than one metadata batch holds.");
        return;
    }
    *partitions_planned += out->num_partitions;
}

void rn_controller_plan_create_topics(rn_controller_t *ctl, const rn_ctl_new_topic_t *topics,
                                      int32_t count, rn_md_batch_t *batch,
                                      rn_ctl_topic_result_t *results) {
    RN_ASSERT(count >= 0);
    RN_ASSERT(results != NULL || count == 0);
    int64_t partitions_planned = 0;
    memset(results, 0, (size_t)count * sizeof(*results));
    bool *repeated =
        find_repeats_or_fail(topics, sizeof(topics[0]), offsetof(rn_ctl_new_topic_t, name), count,
                             &results[0].result, sizeof(results[0]));
    for (int32_t n = 0; repeated && n < count; n++) {
        rn_ctl_topic_result_t *out = &results[n];
        if (repeated[n]) {
            rn_ctl_result_set(&out->result, RN_KERR_INVALID_REQUEST, "Duplicate topic name.");
            continue;
        }
        plan_one_topic(ctl, &topics[n], &partitions_planned, batch, out);
    }
    free(repeated);
}

/* ---- DeleteTopics ---- */

/* A set of topics (by address) for one request; false if already present. */
static bool topic_set_add(const rn_image_topic_t **slots, uint32_t mask,
                          const rn_image_topic_t *topic) {
    uint32_t i = (uint32_t)(((uintptr_t)topic >> 4) * 0x9E3779B1u) & mask;
    while (slots[i]) {
        if (slots[i] == topic) return false;
        i = (i + 1) & mask;
    }
    slots[i] = topic;
    return true;
}

static const rn_image_topic_t *
find_delete_target(rn_controller_t *ctl, const rn_ctl_delete_topic_t *t, rn_ctl_result_t *res) {
    const rn_image_topic_t *topic = NULL;
    if (t->name.len >= 0) {
        topic = rn_image_topic(ctl->image, t->name.ptr, (size_t)t->name.len);
        if (!topic)
            rn_ctl_result_set(res, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                              "This server does not host this topic-partition.");
    } else if (rn_uuid_eq(&t->id, &rn_uuid_zero)) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Topic id and name are both missing.");
    } else {
        topic = rn_image_topic_by_id(ctl->image, &t->id);
        if (!topic)
            rn_ctl_result_set(res, RN_KERR_UNKNOWN_TOPIC_ID,
                              "This server does not host this topic ID.");
    }
    return topic;
}

static void plan_one_delete(rn_controller_t *ctl, const rn_ctl_delete_topic_t *t,
                            const rn_image_topic_t **seen, uint32_t mask, rn_md_batch_t *batch,
                            rn_ctl_topic_result_t *out) {
    if (!ctl->delete_topic_enable) {
        rn_ctl_result_set(&out->result, RN_KERR_TOPIC_DELETION_DISABLED,
                          "Topic deletion is disabled.");
        return;
    }
    const rn_image_topic_t *topic = find_delete_target(ctl, t, &out->result);
    if (!topic) return;
    out->topic_id = topic->id;
    out->num_partitions = topic->partition_count;
    if (!topic_set_add(seen, mask, topic)) {
        /* the same topic named again (by id, or by name and by id) */
        rn_ctl_result_set(&out->result, RN_KERR_INVALID_REQUEST, "Duplicate topic id.");
        return;
    }
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_REMOVE_TOPIC;
    rec.u.remove_topic.topic_id = topic->id;
    if (rn_md_batch_add(batch, &rec) != RN_OK)
        rn_ctl_result_set(&out->result, RN_KERR_POLICY_VIOLATION,
                          "Too many topics in one request.");
}

void rn_controller_plan_delete_topics(rn_controller_t *ctl, const rn_ctl_delete_topic_t *topics,
                                      int32_t count, rn_md_batch_t *batch,
                                      rn_ctl_topic_result_t *results) {
    RN_ASSERT(count >= 0);
    memset(results, 0, (size_t)count * sizeof(*results));
    uint32_t slots = 16;
    while (slots < (uint32_t)count * 2) slots *= 2;
    const rn_image_topic_t **seen = calloc(slots, sizeof(*seen));
    bool *repeated = seen ? find_repeats_or_fail(topics, sizeof(topics[0]),
                                                 offsetof(rn_ctl_delete_topic_t, name), count,
                                                 &results[0].result, sizeof(results[0]))
                          : NULL;
    for (int32_t n = 0; !repeated && !seen && n < count; n++)
        rn_ctl_result_set(&results[n].result, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
    for (int32_t n = 0; repeated && n < count; n++) {
        if (repeated[n])
            rn_ctl_result_set(&results[n].result, RN_KERR_INVALID_REQUEST, "Duplicate topic name.");
        else
            plan_one_delete(ctl, &topics[n], seen, slots - 1, batch, &results[n]);
    }
    free(repeated);
    free(seen);
}

/* ---- CreatePartitions ---- */

static int16_t check_growth(rn_controller_t *ctl, const rn_ctl_new_partitions_t *t,
                            const rn_image_topic_t *topic, int64_t planned, rn_ctl_result_t *res) {
    if (t->count == topic->partition_count) {
        rn_ctl_result_set(res, RN_KERR_INVALID_PARTITIONS, "Topic already has %d partition(s).",
                          topic->partition_count);
        return res->error_code;
    }
    if (t->count < topic->partition_count) {
        rn_ctl_result_set(res, RN_KERR_INVALID_PARTITIONS,
                          "The topic %s currently has %d partition(s); %d would not be an "
                          "increase.",
                          topic->name, topic->partition_count, t->count);
        return res->error_code;
    }
    int32_t additional = t->count - topic->partition_count;
    if (t->count > RN_TOPIC_PARTITIONS_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_PARTITIONS,
                          "Number of partitions is more than this broker's limit of %d per "
                          "topic.",
                          RN_TOPIC_PARTITIONS_MAX);
        return res->error_code;
    }
    if (rn_image_partition_total(ctl->image) + planned + additional > RN_BROKER_PARTITIONS_MAX) {
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                          "Adding %d partition(s) would exceed this broker's limit of %d "
                          "partitions.",
                          additional, RN_BROKER_PARTITIONS_MAX);
        return res->error_code;
    }
    if (t->assignments && t->assignment_count != additional) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "Attempted to add %d additional partition(s), but only %d "
                          "assignment(s) were specified.",
                          additional, t->assignment_count);
        return res->error_code;
    }
    int32_t rf = topic->partition_count > 0 ? topic->partitions[0].replica_count : 0;
    for (int32_t n = 0; t->assignments && n < t->assignment_count; n++) {
        if (rn_ctl_check_assignment(ctl, &t->assignments[n], &rf, res) != RN_KERR_NONE)
            return res->error_code;
    }
    return RN_KERR_NONE;
}

void rn_controller_plan_create_partitions(rn_controller_t *ctl,
                                          const rn_ctl_new_partitions_t *topics, int32_t count,
                                          rn_md_batch_t *batch, rn_ctl_result_t *results) {
    RN_ASSERT(count >= 0);
    int64_t planned = 0;
    for (int32_t n = 0; n < count; n++) rn_ctl_result_set(&results[n], RN_KERR_NONE, NULL);
    bool *repeated =
        find_repeats_or_fail(topics, sizeof(topics[0]), offsetof(rn_ctl_new_partitions_t, name),
                             count, results, sizeof(results[0]));
    for (int32_t n = 0; repeated && n < count; n++) {
        const rn_ctl_new_partitions_t *t = &topics[n];
        rn_ctl_result_t *res = &results[n];
        if (repeated[n]) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Duplicate topic name.");
            continue;
        }
        const rn_image_topic_t *topic =
            t->name.len > 0 ? rn_image_topic(ctl->image, t->name.ptr, (size_t)t->name.len) : NULL;
        if (!topic) {
            rn_ctl_result_set(res, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                              "This server does not host this topic-partition.");
            continue;
        }
        if (check_growth(ctl, t, topic, planned, res) != RN_KERR_NONE) continue;
        int32_t additional = t->count - topic->partition_count;
        int16_t rf = topic->partition_count > 0 ? topic->partitions[0].replica_count : 1;
        rn_ctl_brokers_t brokers;
        rn_ctl_usable_brokers(ctl, &brokers);
        if (!t->assignments && rn_ctl_check_replication(&brokers, rf, res) != RN_KERR_NONE)
            continue;
        size_t len = batch->buf.len;
        uint32_t records = batch->count;
        if (rn_ctl_add_partitions(batch, &topic->id, topic->partition_count, additional, rf,
                                  t->assignments, &brokers, placement_start(ctl, batch)) != RN_OK) {
            batch->buf.len = len;
            batch->count = records;
            rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                              "The request adds more partitions than one metadata batch holds.");
            continue;
        }
        planned += additional;
    }
    free(repeated);
}

/* ---- producer ids ---- */

rn_err_t rn_controller_plan_producer_ids(rn_controller_t *ctl, int32_t broker_id,
                                         int64_t broker_epoch, int64_t floor, rn_md_batch_t *batch,
                                         int64_t *first_id) {
    int64_t first = rn_image_next_producer_id(ctl->image);
    if (floor > first) first = floor;
    RN_ASSERT(first >= 0);
    if (first > INT64_MAX - RN_PRODUCER_ID_BLOCK_SIZE) return RN_ERR_LIMIT;
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PRODUCER_IDS;
    rec.u.producer_ids.broker_id = broker_id;
    rec.u.producer_ids.broker_epoch = broker_epoch;
    rec.u.producer_ids.next_producer_id = first + RN_PRODUCER_ID_BLOCK_SIZE;
    rn_err_t err = rn_md_batch_add(batch, &rec);
    if (err == RN_OK) *first_id = first;
    return err;
}

/* ---- one-call operations ---- */

/* After a failed commit, no item succeeded. */
static void fail_successes(rn_ctl_result_t *res, size_t stride, int32_t count, rn_err_t err) {
    for (int32_t n = 0; n < count; n++) {
        rn_ctl_result_t *r = (rn_ctl_result_t *)(void *)((char *)res + stride * (size_t)n);
        if (r->error_code == RN_KERR_NONE)
            rn_ctl_result_set(r, RN_KERR_UNKNOWN_SERVER_ERROR,
                              "Writing the metadata log failed: %s.", rn_err_name(err));
    }
}

void rn_controller_create_topics(rn_controller_t *ctl, const rn_ctl_new_topic_t *topics,
                                 int32_t count, bool validate_only,
                                 rn_ctl_topic_result_t *results) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_controller_plan_create_topics(ctl, topics, count, &batch, results);
    rn_err_t err = validate_only ? RN_OK : rn_controller_commit(ctl, &batch);
    if (err != RN_OK) fail_successes(&results[0].result, sizeof(results[0]), count, err);
    rn_md_batch_free(&batch);
}

void rn_controller_delete_topics(rn_controller_t *ctl, const rn_ctl_delete_topic_t *topics,
                                 int32_t count, rn_ctl_topic_result_t *results) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_controller_plan_delete_topics(ctl, topics, count, &batch, results);
    rn_err_t err = rn_controller_commit(ctl, &batch);
    if (err != RN_OK) fail_successes(&results[0].result, sizeof(results[0]), count, err);
    rn_md_batch_free(&batch);
}

void rn_controller_create_partitions(rn_controller_t *ctl, const rn_ctl_new_partitions_t *topics,
                                     int32_t count, bool validate_only, rn_ctl_result_t *results) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_controller_plan_create_partitions(ctl, topics, count, &batch, results);
    rn_err_t err = validate_only ? RN_OK : rn_controller_commit(ctl, &batch);
    if (err != RN_OK) fail_successes(results, sizeof(results[0]), count, err);
    rn_md_batch_free(&batch);
}

void rn_controller_alter_configs(rn_controller_t *ctl, const rn_ctl_alter_resource_t *resources,
                                 int32_t count, bool incremental, bool validate_only,
                                 rn_ctl_result_t *results) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_controller_plan_alter_configs(ctl, resources, count, incremental, &batch, results);
    rn_err_t err = validate_only ? RN_OK : rn_controller_commit(ctl, &batch);
    if (err != RN_OK) fail_successes(results, sizeof(results[0]), count, err);
    rn_md_batch_free(&batch);
}

rn_err_t rn_controller_allocate_producer_ids(rn_controller_t *ctl, int32_t broker_id,
                                             int64_t broker_epoch, int64_t *first_id,
                                             int32_t *count) {
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    rn_err_t err =
        rn_controller_plan_producer_ids(ctl, broker_id, broker_epoch, 0, &batch, first_id);
    if (err == RN_OK) err = rn_controller_commit(ctl, &batch);
    if (err == RN_OK) *count = RN_PRODUCER_ID_BLOCK_SIZE;
    rn_md_batch_free(&batch);
    return err;
}
