/*
 * describe_topic_partitions.c: DescribeTopicPartitions (key 75, Kafka 3.9's
 * admin describe): the topics asked (or every topic), sorted by name, with
 * their partitions as the image has them, paged by ResponsePartitionLimit
 * (at most max.request.partition.size.limit's 2000): an answer that stops
 * at the limit names the cursor to go on from, mid-topic if need be. A
 * topic asked that does not exist is UNKNOWN_TOPIC_OR_PARTITION in its
 * place; a cursor naming a topic not asked answers INVALID_REQUEST for each
 * topic asked, as Kafka does. No eligible leader replicas (KIP-966): empty.
 */
#include "handlers/handler.h"
#include "proto/gen/describe_topic_partitions_request.h"
#include "proto/gen/describe_topic_partitions_response.h"
#include "cluster/topics.h"
#include "proto/acl_ops.h"

#include <stdlib.h>
#include <string.h>

/* Kafka's max.request.partition.size.limit default. */
#define DTP_PARTITION_LIMIT_MAX 2000

typedef rn_describe_topic_partitions_response_describe_topic_partitions_response_topic_t
    dtp_topic_t;
typedef rn_describe_topic_partitions_response_describe_topic_partitions_response_partition_t
    dtp_part_t;

/* A topic of the answer: its name and, when it exists, the image's. */
typedef struct dtp_entry {
    rn_str_t name;
    const rn_image_topic_t *topic;
} dtp_entry_t;

static int dtp_name_cmp(rn_str_t a, rn_str_t b) {
    size_t la = a.len > 0 ? (size_t)a.len : 0, lb = b.len > 0 ? (size_t)b.len : 0;
    int c = memcmp(a.ptr ? a.ptr : "", b.ptr ? b.ptr : "", la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int dtp_entry_cmp(const void *a, const void *b) {
    return dtp_name_cmp(((const dtp_entry_t *)a)->name, ((const dtp_entry_t *)b)->name);
}

/* The topics of the answer, sorted by name, each once; *count set. */
static dtp_entry_t *dtp_entries(rn_req_t *req, const rn_image_t *img,
                                const rn_describe_topic_partitions_request_t *in, int32_t *count) {
    bool all = in->topics.count <= 0;
    int32_t n = all ? rn_image_topic_count(img) : in->topics.count;
    dtp_entry_t *entries = rn_handler_alloc(req, (size_t)n * sizeof *entries);
    for (int32_t t = 0; t < n; t++) {
        if (all) {
            const rn_image_topic_t *it = rn_image_topic_at(img, t);
            entries[t] = (dtp_entry_t){{it->name, (int32_t)it->name_len}, it};
        } else {
            rn_str_t name = in->topics.items[t].name;
            entries[t] = (dtp_entry_t){
                name, name.len > 0 ? rn_image_topic(img, name.ptr, (size_t)name.len) : NULL};
        }
    }
    qsort(entries, (size_t)n, sizeof *entries, dtp_entry_cmp);
    int32_t kept = 0;
    for (int32_t t = 0; t < n; t++)
        if (kept == 0 || dtp_name_cmp(entries[kept - 1].name, entries[t].name) != 0)
            entries[kept++] = entries[t];
    *count = kept;
    return entries;
}

static void dtp_fill_partition(rn_req_t *req, const rn_image_t *img,
                               const rn_image_partition_t *part, int32_t index, dtp_part_t *out) {
    rn_describe_topic_partitions_response_describe_topic_partitions_response_partition_init(out);
    out->partition_index = index;
    out->leader_id = part->leader;
    out->error_code = part->leader < 0 ? RN_KERR_LEADER_NOT_AVAILABLE : RN_KERR_NONE;
    out->leader_epoch = part->leader_epoch;
    /* The image stays referenced until the response is encoded. */
    out->replica_nodes = (rn_int32_array_t){(int32_t *)part->replicas, part->replica_count};
    out->isr_nodes = (rn_int32_array_t){(int32_t *)part->isr, part->isr_count};
    out->eligible_leader_replicas = (rn_int32_array_t){NULL, 0};
    out->last_known_elr = (rn_int32_array_t){NULL, 0};
    out->offline_replicas = rn_handler_offline_replicas(req, img, part);
}

/* One topic from partition `from`, at most `room` partitions; the number
   added. */
static int32_t dtp_fill_topic(rn_req_t *req, const rn_image_t *img, const dtp_entry_t *e,
                              int32_t from, int32_t room, dtp_topic_t *out) {
    rn_describe_topic_partitions_response_describe_topic_partitions_response_topic_init(out);
    out->name = e->name;
    out->topic_authorized_operations = RN_ACL_OPS_TOPIC_ALL;
    out->partitions.count = 0;
    if (!e->topic) {
        out->error_code = RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    const rn_image_topic_t *it = e->topic;
    out->topic_id = it->id;
    out->is_internal = rn_topics_is_internal(it->name);
    int32_t count = it->partition_count - from;
    if (count > room) count = room;
    if (count < 0) count = 0;
    out->partitions.items = rn_handler_alloc(req, (size_t)count * sizeof *out->partitions.items);
    out->partitions.count = count;
    for (int32_t p = 0; p < count; p++)
        dtp_fill_partition(req, img, &it->partitions[from + p], from + p,
                           &out->partitions.items[p]);
    return count;
}

/* Every topic asked answers `kerr`, with no partitions. */
static void dtp_refuse(rn_req_t *req, const rn_describe_topic_partitions_request_t *in,
                       rn_describe_topic_partitions_response_t *resp, int16_t kerr) {
    int32_t n = in->topics.count > 0 ? in->topics.count : 0;
    resp->topics.items = rn_handler_alloc(req, (size_t)n * sizeof *resp->topics.items);
    resp->topics.count = n;
    for (int32_t t = 0; t < n; t++) {
        dtp_topic_t *out = &resp->topics.items[t];
        rn_describe_topic_partitions_response_describe_topic_partitions_response_topic_init(out);
        out->name = in->topics.items[t].name;
        out->error_code = kerr;
        out->partitions.count = 0;
    }
}

static void dtp_set_cursor(rn_req_t *req, rn_describe_topic_partitions_response_t *resp,
                           rn_str_t topic, int32_t partition) {
    resp->next_cursor = rn_handler_alloc(req, sizeof *resp->next_cursor);
    rn_describe_topic_partitions_response_cursor_init(resp->next_cursor);
    resp->next_cursor->topic_name = topic;
    resp->next_cursor->partition_index = partition;
}

/* Whether the cursor names one of the topics asked (any, when all are). */
static bool dtp_cursor_asked(const rn_describe_topic_partitions_request_t *in) {
    if (!in->cursor || in->topics.count <= 0) return true;
    for (int32_t t = 0; t < in->topics.count; t++)
        if (rn_str_eq(in->topics.items[t].name, in->cursor->topic_name)) return true;
    return false;
}

void rn_handle_describe_topic_partitions(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_topic_partitions_request_t *in = body;
    rn_describe_topic_partitions_response_t *resp = rn_handler_response_new(req);
    rn_image_t *img = rn_topics_image(core->node);
    if (!dtp_cursor_asked(in)) {
        dtp_refuse(req, in, resp, RN_KERR_INVALID_REQUEST);
        rn_handler_respond(req, resp);
        rn_image_release(img);
        return;
    }
    int32_t limit = in->response_partition_limit;
    if (limit > DTP_PARTITION_LIMIT_MAX) limit = DTP_PARTITION_LIMIT_MAX;
    int32_t count = 0;
    dtp_entry_t *entries = dtp_entries(req, img, in, &count);
    resp->topics.items = rn_handler_alloc(req, (size_t)count * sizeof *resp->topics.items);
    resp->topics.count = 0;
    int32_t used = 0;
    for (int32_t t = 0; t < count; t++) {
        const dtp_entry_t *e = &entries[t];
        int32_t from = 0;
        if (in->cursor) {
            int c = dtp_name_cmp(e->name, in->cursor->topic_name);
            if (c < 0) continue; /* before the cursor */
            if (c == 0 && in->cursor->partition_index > 0) from = in->cursor->partition_index;
        }
        if (used >= limit && e->topic) {
            dtp_set_cursor(req, resp, e->name, from);
            break;
        }
        dtp_topic_t *out = &resp->topics.items[resp->topics.count++];
        used += dtp_fill_topic(req, img, e, from, limit - used, out);
        int32_t sent = from + out->partitions.count;
        if (e->topic && sent < e->topic->partition_count) {
            dtp_set_cursor(req, resp, e->name, sent);
            break;
        }
    }
    rn_handler_respond(req, resp);
    rn_image_release(img); /* the response borrowed names and replica lists until encoded */
}
