/*
 * producer_ids.c: producer ids from blocks the active controller records
 * in the metadata log (see producer_ids.h).
 */
#include "cluster/producer_ids.h"
#include "base/arena.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/topics.h"
#include "proto/gen/allocate_producer_ids_request.h"
#include "proto/gen/allocate_producer_ids_response.h"
#include "proto/gen/api.h"

#include <stdio.h>
#include <stdlib.h>

#define PRODUCER_IDS_FILE "producer_ids"
/* An AllocateProducerIds request or answer: a few fixed fields. */
#define PID_FORWARD_BYTES 64

rn_err_t rn_producer_ids_load_floor(rn_node_t *node) {
    char path[RN_STORAGE_PATH_BYTES_MAX + 32], text[32];
    snprintf(path, sizeof path, "%s/%s", node->settings.log_dir, PRODUCER_IDS_FILE);
    size_t len = 0;
    rn_err_t err = rn_io_read_small(node->io, path, text, sizeof text - 1, &len);
    if (err == RN_ERR_NOT_FOUND) return RN_OK;
    if (err != RN_OK) return err;
    text[len] = '\0';
    char *end = NULL;
    long long floor = strtoll(text, &end, 10);
    if (end == text || floor < 0) return RN_ERR_CORRUPT;
    node->producer_id_floor = floor;
    return RN_OK;
}

static rn_pid_core_t *pid_core(rn_core_t *core) {
    if (!core->pids) {
        core->pids = calloc(1, sizeof *core->pids);
        RN_ASSERT(core->pids != NULL);
        core->pids->core = core;
    }
    return core->pids;
}

/* Hands out ids to the waiters while the block lasts. */
static void pid_serve(rn_pid_core_t *pc) {
    while (pc->head && pc->next < pc->end) {
        rn_pid_waiter_t *w = pc->head;
        pc->head = w->next;
        if (!pc->head) pc->tail = NULL;
        w->ready(w, pc->next++, RN_KERR_NONE);
    }
}

static void pid_fail_all(rn_pid_core_t *pc, int16_t code) {
    while (pc->head) {
        rn_pid_waiter_t *w = pc->head;
        pc->head = w->next;
        if (!pc->head) pc->tail = NULL;
        w->ready(w, -1, code);
    }
}

static void pid_ask(rn_pid_core_t *pc);

/* The active controller's answer to a forwarded request, into the block. */
static void pid_forwarded(rn_pid_core_t *pc) {
    rn_arena_t arena;
    rn_arena_init(&arena, 256);
    rn_reader_t r;
    rn_reader_init(&r, pc->op.forwarded, pc->op.forwarded_len);
    rn_allocate_producer_ids_response_t resp;
    rn_allocate_producer_ids_response_init(&resp);
    rn_err_t err = rn_allocate_producer_ids_response_decode(&r, &arena, 0, &resp);
    pc->block.result.error_code = err != RN_OK ? RN_KERR_UNKNOWN_SERVER_ERROR : resp.error_code;
    pc->block.first = resp.producer_id_start;
    pc->block.count = resp.producer_id_len;
    rn_arena_free(&arena);
    free(pc->op.forwarded);
    pc->op.forwarded = NULL;
}

static void pid_block_arrived(rn_admin_op_t *op) {
    rn_pid_core_t *pc = op->ctx;
    pc->asking = false;
    rn_buf_free(&pc->raw);
    if (op->forwarded) pid_forwarded(pc);
    const rn_ctl_pid_block_t *b = &pc->block;
    if (b->result.error_code == RN_KERR_NONE && b->count > 0 && b->first >= 0) {
        pc->next = b->first;
        pc->end = b->first + b->count;
        pid_serve(pc);
        if (pc->head) pid_ask(pc); /* more waiters than the block held */
        return;
    }
    RN_WARN("producer_ids", "no producer id block: %s %s", rn_kerr_name(b->result.error_code),
            b->result.message);
    /* Clients retry InitProducerId on this code, as while Kafka's
       controller is away. */
    pid_fail_all(pc, RN_KERR_COORDINATOR_NOT_AVAILABLE);
}

/* Asks the active controller for a block: planned here if this node leads,
   else forwarded as AllocateProducerIds. */
static void pid_ask(rn_pid_core_t *pc) {
    rn_node_t *node = pc->core->node;
    pc->asking = true;
    /* The broker epoch is not checked by the controller here. */
    pc->request = (rn_ctl_pid_request_t){node->settings.node_id, -1, node->producer_id_floor};
    rn_allocate_producer_ids_request_t req;
    rn_allocate_producer_ids_request_init(&req);
    req.broker_id = pc->request.broker_id;
    req.broker_epoch = pc->request.broker_epoch;
    rn_buf_init(&pc->raw, PID_FORWARD_BYTES);
    rn_writer_t w;
    rn_writer_init(&w, &pc->raw);
    rn_allocate_producer_ids_request_encode(&w, 0, &req);
    RN_ASSERT(w.err == RN_OK);
    pc->op = (rn_admin_op_t){.kind = RN_ADMIN_ALLOCATE_PRODUCER_IDS,
                             .items = &pc->request,
                             .count = 1,
                             .results = &pc->block,
                             .reply_loop = &pc->core->loop,
                             .done = pid_block_arrived,
                             .ctx = pc,
                             .api_key = RN_API_ALLOCATE_PRODUCER_IDS,
                             .api_version = 0,
                             .raw = rn_slice(pc->raw.ptr, pc->raw.len)};
    rn_topics_submit(node, &pc->op);
}

void rn_producer_ids_take(rn_core_t *core, rn_pid_waiter_t *w) {
    rn_pid_core_t *pc = pid_core(core);
    w->next = NULL;
    if (pc->tail)
        pc->tail->next = w;
    else
        pc->head = w;
    pc->tail = w;
    pid_serve(pc);
    if (pc->head && !pc->asking) pid_ask(pc);
}

void rn_producer_ids_core_free(rn_core_t *core) {
    rn_pid_core_t *pc = core->pids;
    if (!pc) return;
    /* An answer still on its way died with the stopped loops; the waiters'
       requests went with their connections. */
    if (pc->asking) rn_buf_free(&pc->raw);
    free(pc);
    core->pids = NULL;
}
