/* producer_ids.h: durable, never-reused producer id allocation. */
#ifndef RN_CLUSTER_PRODUCER_IDS_H
#define RN_CLUSTER_PRODUCER_IDS_H

#include "cluster/node.h"

/* Any loop thread; takes the node's admin lock. */
rn_err_t rn_producer_ids_next(rn_node_t *node, int64_t *producer_id);

#endif
