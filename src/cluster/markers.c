/* markers.c: transaction markers to the partitions led here (see markers.h);
   a marker on a __consumer_offsets partition ends its transaction's pending
   offsets in the group coordinator. */
#include "cluster/markers.h"
#include "base/assert.h"
#include "group/coordinator.h"

#include <stddef.h>
#include <string.h>

static void markers_done(rn_fanout_t *fan) {
    rn_markers_t *markers = (rn_markers_t *)((char *)fan - offsetof(rn_markers_t, fan));
    rn_ptable_release(markers->table);
    markers->table = NULL;
    markers->done(markers);
}

static void item_durable(rn_partition_waiter_t *waiter, rn_err_t err) {
    rn_marker_item_t *item =
        (rn_marker_item_t *)((char *)waiter - offsetof(rn_marker_item_t, waiter));
    item->err = err;
    rn_partition_t *part = item->op.part;
    /* A transaction's offsets become the group's once its COMMIT is on
       every in-sync replica of the group's partition (or go at ABORT). */
    if (err == RN_OK && !strcmp(part->topic, RN_GROUP_OFFSETS_TOPIC))
        rn_group_txn_complete(rn_part_op_owner(&item->op)->node, part, item->marker.producer_id,
                              item->marker.commit);
    rn_fanout_reply(&item->op);
}

/* On the partition's owner core. */
static void item_run(rn_part_op_t *op) {
    rn_marker_item_t *item = (rn_marker_item_t *)op;
    rn_partition_t *part = op->part;
    rn_core_t *owner = rn_part_op_owner(op);
    item->err = part->deleted ? RN_ERR_NOT_FOUND : rn_partition_check_acks_all(part);
    rn_partition_append_result_t res;
    if (item->err == RN_OK)
        item->err =
            rn_partition_append_marker(part, &item->marker, rn_io_wall_ms(owner->node->io), &res);
    if (item->err != RN_OK) {
        rn_fanout_reply(op);
        return;
    }
    rn_core_mark_dirty(owner, part);
    item->waiter.offset_needed = res.last_offset;
    item->waiter.done = item_durable;
    rn_partition_wait_hw(part, &item->waiter); /* on every in-sync replica; maybe at once */
}

void rn_markers_write(rn_core_t *origin, rn_markers_t *markers) {
    RN_ASSERT(markers->done != NULL && markers->count >= 0);
    markers->table = rn_ptable_acquire(&origin->node->ptable);
    rn_fanout_begin(&markers->fan, origin, markers_done);
    for (int32_t i = 0; i < markers->count; i++) {
        rn_marker_item_t *item = &markers->items[i];
        rn_str_t topic = rn_str_from_cstr(item->topic);
        rn_partition_t *part = rn_ptable_partition(markers->table, topic, item->partition);
        if (!part) {
            item->err = RN_ERR_NOT_FOUND;
            continue;
        }
        item->op.part = part; /* the table holds it until done */
        rn_fanout_send(&markers->fan, &item->op, item_run);
    }
    rn_fanout_end(&markers->fan);
}
