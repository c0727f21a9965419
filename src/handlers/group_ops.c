/* group_ops.c: routing group requests to their coordinator shard (see group_ops.h). */
#include "handlers/group_ops.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "net/conn.h"
#include "proto/gen/request_header.h"

#include <stdio.h>
#include <string.h>

static void gops_done(rn_fanout_t *fan) {
    rn_gops_t *gops = (rn_gops_t *)fan;
    if (gops->finish) gops->finish(gops);
    rn_ptable_release(gops->table);
    rn_handler_respond(gops->req, gops->resp);
}

void *rn_gops_alloc(rn_req_t *req, size_t bytes) {
    void *ptr = rn_arena_alloc_shared(&req->arena, bytes ? bytes : 1);
    RN_ASSERT(ptr != NULL);
    return ptr;
}

rn_gops_t *rn_gops_begin(rn_core_t *core, rn_req_t *req, void *resp) {
    rn_gops_t *gops = rn_gops_alloc(req, sizeof *gops);
    memset(gops, 0, sizeof *gops);
    gops->req = req;
    gops->resp = resp;
    gops->table = rn_ptable_acquire(&core->node->ptable);
    rn_fanout_begin(&gops->fan, core, gops_done);
    return gops;
}

static void gop_run(rn_part_op_t *op) {
    rn_gop_t *gop = (rn_gop_t *)op;
    rn_node_t *node = rn_part_op_owner(op)->node;
    int32_t partition = gop->partition; /* gop may be gone once it replied */
    rn_group_coord_t *coord = rn_group_shard(node, partition);
    RN_ASSERT(coord != NULL);
    gop->run(gop, coord, node);
    rn_group_shard_done(node, partition);
}

bool rn_gops_send_partition(rn_gops_t *gops, rn_gop_t *gop, int32_t partition,
                            void (*run)(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node)) {
    rn_str_t topic = rn_str_from_cstr(RN_GROUP_OFFSETS_TOPIC);
    rn_partition_t *part = rn_ptable_partition(gops->table, topic, partition);
    if (!part || rn_group_partition_count(gops->fan.origin->node) == 0) return false;
    gop->op.part = part; /* the table holds it until the response */
    gop->gops = gops;
    gop->partition = partition;
    gop->run = run;
    rn_fanout_send(&gops->fan, &gop->op, gop_run);
    return true;
}

bool rn_gops_send(rn_gops_t *gops, rn_gop_t *gop, rn_str_t group_id,
                  void (*run)(rn_gop_t *gop, rn_group_coord_t *coord, rn_node_t *node)) {
    int32_t count = rn_group_partition_count(gops->fan.origin->node);
    if (count == 0) return false;
    return rn_gops_send_partition(gops, gop, rn_group_partition_for(group_id, count), run);
}

void rn_gops_end(rn_gops_t *gops) { rn_fanout_end(&gops->fan); }

void rn_gop_reply(rn_gop_t *gop) { rn_fanout_reply(&gop->op); }

rn_str_t rn_gops_str(rn_req_t *req, const char *cstr) {
    if (!cstr) return rn_str_null();
    size_t len = strlen(cstr);
    char *copy = rn_gops_alloc(req, len + 1);
    memcpy(copy, cstr, len + 1);
    rn_str_t out = {copy, (int32_t)len};
    return out;
}

rn_bytes_t rn_gops_bytes(rn_req_t *req, rn_bytes_t bytes) {
    rn_bytes_t out = {NULL, bytes.len};
    if (bytes.len <= 0) {
        out.ptr = (const uint8_t *)"";
        out.len = bytes.len < 0 ? -1 : 0;
        return out;
    }
    uint8_t *copy = rn_gops_alloc(req, (size_t)bytes.len);
    memcpy(copy, bytes.ptr, (size_t)bytes.len);
    out.ptr = copy;
    return out;
}

rn_str_t rn_gops_client_id(rn_req_t *req) {
    const rn_api_info_t *api = rn_api_info(req->api_key);
    RN_ASSERT(api != NULL);
    rn_reader_t r;
    rn_reader_init(&r, req->frame, req->frame_len);
    rn_request_header_t header;
    rn_request_header_init(&header);
    int16_t version = rn_api_request_header_version(api, req->api_version);
    if (rn_request_header_decode(&r, &req->arena, version, &header) != RN_OK ||
        header.client_id.len < 0)
        return rn_str_from_cstr("");
    return header.client_id;
}

rn_str_t rn_gops_client_host(rn_req_t *req) {
    char host[80];
    snprintf(host, sizeof host, "/%s", req->conn ? req->conn->host : "");
    return rn_gops_str(req, host);
}

rn_str_t rn_gops_topic_name(rn_core_t *core, rn_req_t *req, const rn_uuid_t *id) {
    rn_image_t *img = rn_topics_image(core->node);
    const rn_image_topic_t *it = rn_image_topic_by_id(img, id);
    rn_str_t name = rn_str_null();
    if (it) {
        char *copy = rn_gops_alloc(req, it->name_len + 1);
        memcpy(copy, it->name, it->name_len + 1);
        name = (rn_str_t){copy, (int32_t)it->name_len};
    }
    rn_image_release(img);
    return name;
}

rn_uuid_t rn_gops_topic_id(rn_core_t *core, rn_str_t name) {
    if (name.len < 0) return rn_uuid_zero;
    rn_image_t *img = rn_topics_image(core->node);
    const rn_image_topic_t *it = rn_image_topic(img, name.ptr, (size_t)name.len);
    rn_uuid_t id = it ? it->id : rn_uuid_zero;
    rn_image_release(img);
    return id;
}
