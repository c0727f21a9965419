/*
 * controller_reassign.h: the controller's partition reassignments
 * (AlterPartitionReassignments and ListPartitionReassignments, KIP-455),
 * as Kafka's KRaft controller makes them.
 *
 * What it does: turns a target replica list into a reassignment in
 * progress and finishes it once every target replica is in sync. A
 * reassignment of a partition whose replicas are `orig` to `target` lists
 * target then the replicas of orig it drops (the partition is replicated on
 * both while the new ones catch up), marks target - orig adding and orig -
 * target removing (metadata/image.h), and keeps the ISR as it is. When every
 * target replica is in the ISR (the leaders' AlterPartition put them there)
 * the completion pass leaves the replicas at target, the ISR at its members
 * in target, and, when the leader is dropped, hands leadership to the first
 * target replica in the ISR that may lead. A move therefore never takes a
 * partition below its in-sync replicas: the new copies are complete before
 * an old one goes. A reassignment that only reorders the replicas, or only
 * drops replicas that are all in sync, completes at once. A new target for a
 * partition already moving starts again from its original replicas;
 * cancelling (a null target) goes back to them, the replicas being added
 * leaving the ISR.
 *
 * Pure: reads an image, appends PartitionChangeRecords to a batch, does no
 * I/O and reads no clock. Each plan reads the image as it is before its own
 * records.
 *
 * What it must never do: complete a reassignment while a target replica is
 * out of the ISR; leave a partition with an empty ISR; elect a leader
 * outside the ISR.
 */
#ifndef RN_METADATA_CONTROLLER_REASSIGN_H
#define RN_METADATA_CONTROLLER_REASSIGN_H

#include "metadata/controller.h"

/* One partition of an AlterPartitionReassignments. */
typedef struct rn_ctl_reassign_partition {
    int32_t partition;
    const int32_t *replicas; /* the target; NULL: cancel the one in progress */
    int32_t replica_count;
} rn_ctl_reassign_partition_t;

typedef struct rn_ctl_reassign_topic {
    rn_str_t name;
    const rn_ctl_reassign_partition_t *partitions;
    int32_t count;
} rn_ctl_reassign_topic_t;

/* A client's request, or (automatic) the active controller's own pass that
   completes the reassignments whose targets are in sync. */
typedef struct rn_ctl_reassign_request {
    const rn_ctl_reassign_topic_t *topics;
    int32_t topic_count;
    bool automatic;
} rn_ctl_reassign_request_t;

/* The answer: a request-wide error, then one result per partition named,
   topic by topic in request order (results has the request's partitions'
   count of entries; the caller allocates it). An automatic pass says how
   many it completed and whether more are due. */
typedef struct rn_ctl_reassign_reply {
    rn_ctl_result_t result; /* first: the runtime fails ops through it */
    rn_ctl_result_t *results;
    int32_t completed;
    bool more;
} rn_ctl_reassign_reply_t;

/*
 * Plans a client's reassignments on img. Per partition, in Kafka's codes:
 * UNKNOWN_TOPIC_OR_PARTITION (no such topic or index);
 * NO_REASSIGNMENT_IN_PROGRESS (a cancel with none); INVALID_REPLICA_ASSIGNMENT (an empty target, a
 * broker named twice or not registered, more replicas at once than RN_REPLICAS_MAX, or a change
 * that would leave no in-sync replica). A partition named twice is decided twice on img, as Kafka
 * does. Batch errors (RN_ERR_LIMIT, RN_ERR_TOO_LARGE) are returned with the batch as it was before
 * the call.
 */
rn_err_t rn_ctl_plan_reassign(const rn_image_t *img, const rn_ctl_reassign_request_t *req,
                              rn_ctl_result_t *results, rn_md_batch_t *batch);
/*
 * The completion pass: for each partition whose reassignment has every
 * target replica in the ISR and a leader in the target (the current one, or
 * a usable ISR member), one PartitionChangeRecord finishing it; at most
 * max_changes, *completed of them, *more when some were left for the next
 * pass.
 */
rn_err_t rn_ctl_plan_reassign_progress(const rn_image_t *img, int32_t max_changes,
                                       rn_md_batch_t *batch, int32_t *completed, bool *more);
/* Partitions named over the request's topics. */
int32_t rn_ctl_reassign_partition_total(const rn_ctl_reassign_request_t *req);

#endif
