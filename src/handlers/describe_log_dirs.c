/*
 * describe_log_dirs.c: DescribeLogDirs (key 35): the one log directory with
 * the size of each requested partition (all when the topic list is null),
 * read on the partitions' owner cores, and (v4+) the size of its file
 * system and the bytes still usable there (unknown, -1, where the I/O
 * backend has none). It is never cordoned (v5).
 */
#include "handlers/part_ops.h"
#include "proto/gen/describe_log_dirs_request.h"
#include "proto/gen/describe_log_dirs_response.h"

typedef rn_describe_log_dirs_response_describe_log_dirs_topic_t ld_topic_t;
typedef rn_describe_log_dirs_response_describe_log_dirs_partition_t ld_partition_t;

static void log_dir_size_run(rn_part_op_t *op) {
    ld_partition_t *out = ((rn_pop_t *)op)->out;
    out->partition_size = (int64_t)rn_log_size_bytes(op->part->log);
    out->offset_lag = 0;
    rn_fanout_reply(op);
}

/* Fills `out` for topic rt, every partition or the listed ones. */
static void log_dirs_topic(rn_pop_batch_t *batch, const rn_topic_rt_t *rt,
                           const rn_int32_array_t *wanted, ld_topic_t *out) {
    rn_req_t *req = batch->req;
    int32_t count = wanted ? (wanted->count > 0 ? wanted->count : 0) : rt->partition_count;
    rn_describe_log_dirs_response_describe_log_dirs_topic_init(out);
    out->name = rn_str_from_cstr(rt->name);
    out->partitions.items = rn_pop_alloc(req, (size_t)count * sizeof *out->partitions.items);
    out->partitions.count = 0;
    for (int32_t i = 0; i < count; i++) {
        int32_t index = wanted ? wanted->items[i] : i;
        ld_partition_t *pout = &out->partitions.items[out->partitions.count];
        rn_describe_log_dirs_response_describe_log_dirs_partition_init(pout);
        pout->partition_index = index;
        /* Unknown partitions are left out, as Kafka does. */
        if (rn_pop_send(batch, out->name, index, NULL, pout, log_dir_size_run))
            out->partitions.count++;
    }
}

void rn_handle_describe_log_dirs(rn_core_t *core, rn_req_t *req, void *body) {
    rn_describe_log_dirs_request_t *in = body;
    rn_describe_log_dirs_response_t *resp = rn_handler_response_new(req);
    rn_pop_batch_t *batch = rn_pop_batch_begin(core, req, resp);
    resp->results.count = 1;
    resp->results.items = rn_pop_alloc(req, sizeof *resp->results.items);
    rn_describe_log_dirs_response_describe_log_dirs_result_t *dir = &resp->results.items[0];
    rn_describe_log_dirs_response_describe_log_dirs_result_init(dir);
    dir->log_dir = rn_str_from_cstr(core->node->settings.log_dir);
    uint64_t total = 0, usable = 0;
    if (rn_io_fs_space(core->node->io, core->node->settings.log_dir, &total, &usable) == RN_OK) {
        dir->total_bytes = (int64_t)total;
        dir->usable_bytes = (int64_t)usable;
    }
    const rn_ptable_t *table = batch->table;
    bool all = in->topics.count < 0;
    int32_t count = all ? table->topic_count : in->topics.count;
    dir->topics.items = rn_pop_alloc(req, (size_t)count * sizeof *dir->topics.items);
    dir->topics.count = 0;
    for (int32_t t = 0; t < count; t++) {
        const rn_topic_rt_t *rt = all ? table->topics[t]
                                      : rn_ptable_find(table, in->topics.items[t].topic.ptr,
                                                       in->topics.items[t].topic.len > 0
                                                           ? (size_t)in->topics.items[t].topic.len
                                                           : 0);
        if (!rt) continue;
        log_dirs_topic(batch, rt, all ? NULL : &in->topics.items[t].partitions,
                       &dir->topics.items[dir->topics.count++]);
    }
    rn_pop_batch_end(batch);
}
