/*
 * markers.h: writing transaction markers (partition/partition.h,
 * rn_partition_append_marker) to the partitions this node leads, each on
 * its owner core, each answered once its marker is on every in-sync
 * replica (the partition's high watermark passes it), as Kafka writes
 * markers with acks=all.
 *
 * The one path for both callers: the WriteTxnMarkers handler, and the
 * transaction coordinator writing its own markers to partitions led here.
 *
 * The caller owns the batch and its items until `done`, which runs on the
 * origin core once every item has its outcome.
 */
#ifndef RN_CLUSTER_MARKERS_H
#define RN_CLUSTER_MARKERS_H

#include "cluster/fanout.h"
#include "partition/partition.h"

typedef struct rn_marker_item {
    rn_part_op_t op;              /* internal */
    rn_partition_waiter_t waiter; /* internal */
    const char *topic;            /* NUL-terminated, the caller's */
    int32_t partition;
    rn_partition_marker_t marker;
    /* The outcome: RN_OK; RN_ERR_NOT_FOUND (no such partition here);
       RN_ERR_NOT_LEADER; RN_ERR_FEW_REPLICAS(_AFTER); RN_ERR_STALE (an
       epoch older than the producer's); a storage error. */
    rn_err_t err;
} rn_marker_item_t;

typedef struct rn_markers rn_markers_t;
struct rn_markers {
    rn_fanout_t fan; /* internal */
    rn_ptable_t *table;
    rn_marker_item_t *items;
    int32_t count;
    void (*done)(rn_markers_t *markers); /* on the origin core */
    void *ctx;
};

/* Writes every item's marker; `done` runs later or within this call. */
void rn_markers_write(rn_core_t *origin, rn_markers_t *markers);

#endif
