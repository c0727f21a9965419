/* txn_verify.c: a write checked with its transaction coordinator (see txn_verify.h). */
#include "handlers/txn_verify.h"
#include "base/assert.h"
#include "cluster/topics.h"
#include "txn/coordinator.h"

#include <stddef.h>
#include <string.h>

/* Whether the image names this node the leader of shard's partition: the
   coordinator is here. */
static bool coordinator_here(rn_node_t *node, int32_t shard) {
    rn_image_t *img = rn_topics_image(node);
    const rn_image_topic_t *it =
        rn_image_topic(img, RN_TXN_STATE_TOPIC, strlen(RN_TXN_STATE_TOPIC));
    bool here =
        it && shard < it->partition_count && it->partitions[shard].leader == node->settings.node_id;
    rn_image_release(img);
    return here;
}

/* On the coordinator shard's core. */
static void verify_run(rn_part_op_t *op) {
    rn_txn_verify_t *verify = (rn_txn_verify_t *)((char *)op - offsetof(rn_txn_verify_t, op));
    rn_txn_coord_t *coord = rn_txn_shard(rn_part_op_owner(op)->node, verify->shard);
    verify->kerr =
        coord ? rn_txn_verify_partition(coord, verify->txn_id, verify->producer_id,
                                        verify->producer_epoch, verify->topic, verify->partition)
              : RN_KERR_NOT_COORDINATOR;
    rn_fanout_reply(op);
}

static void verify_back(rn_fanout_t *fan) {
    rn_txn_verify_t *verify = (rn_txn_verify_t *)((char *)fan - offsetof(rn_txn_verify_t, fan));
    verify->done(verify);
}

bool rn_txn_verify_start(rn_txn_verify_t *verify, rn_core_t *from, rn_ptable_t *table) {
    RN_ASSERT(verify->done != NULL && verify->txn_id.len >= 0);
    int32_t count = rn_txn_partition_count(from->node);
    if (count == 0) return false;
    verify->shard = rn_txn_partition_for(verify->txn_id, count);
    verify->op.part =
        rn_ptable_partition(table, rn_str_from_cstr(RN_TXN_STATE_TOPIC), verify->shard);
    if (!verify->op.part || !coordinator_here(from->node, verify->shard)) return false;
    verify->kerr = RN_KERR_NONE;
    rn_fanout_begin(&verify->fan, from, verify_back);
    rn_fanout_send(&verify->fan, &verify->op, verify_run);
    rn_fanout_end(&verify->fan);
    return true;
}
