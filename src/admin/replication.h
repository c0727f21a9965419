/*
 * replication.h: the state of replication as one node sees it in the
 * metadata image, for /metrics, /health/ready and /health/restart-safe.
 *
 * What it does: walks every partition of an image once and counts, for one
 * node id, what it leads and how healthy those ISRs are, which of its
 * replicas are out of sync, and which partitions would fall below
 * min.insync.replicas if it stopped now; it names the first few of a list
 * in a line for an HTTP answer.
 *
 * What it owns: nothing; the image is the caller's (a reference held).
 *
 * What it must never do: change the image or read anything but it, so the
 * rules stay pure functions of (image, node id) that a unit test can run.
 */
#ifndef RN_ADMIN_REPLICATION_H
#define RN_ADMIN_REPLICATION_H

#include "metadata/image.h"

#include <stddef.h>
#include <stdint.h>

/* Partitions named in a health answer; past them only the count is given
   (an answer stays a few lines however many partitions a node holds). */
#define RN_ADMIN_HEALTH_PARTITIONS_NAMED 5

/* One node's view, partitions counted (Kafka's broker metric in brackets). */
typedef struct rn_admin_repl_counts {
    uint64_t leader;           /* led by the node (LeaderCount) */
    uint64_t under_replicated; /* led, ISR smaller than the replicas (UnderReplicatedPartitions) */
    uint64_t under_min_isr;    /* led, ISR below min.insync.replicas (UnderMinIsrPartitionCount) */
    uint64_t at_min_isr;       /* led, ISR at min.insync.replicas (AtMinIsrPartitionCount) */
    uint64_t leaderless;       /* a replica here, no leader (OfflinePartitionsCount, here) */
    uint64_t out_of_sync;      /* a replica here, outside the ISR */
} rn_admin_repl_counts_t;

/* Counts img's partitions for node_id into *out. */
void rn_admin_repl_count(const rn_image_t *img, int32_t node_id, rn_admin_repl_counts_t *out);

/* The readiness rule: partitions that have a leader and of which node_id
   is a replica outside the ISR. Returns how many; their first
   RN_ADMIN_HEALTH_PARTITIONS_NAMED go into buf as "t-0, t-1" (", and N
   more" past them), or buf is "" when there are none. cap >= 1. */
uint64_t rn_admin_repl_not_in_sync(const rn_image_t *img, int32_t node_id, char *buf, size_t cap);

/* The restart rule: partitions whose ISR holds node_id and would fall
   below min.insync.replicas without it (a partition whose only replica is
   node_id counts: it is unavailable while the node is down). Returns how
   many; the first RN_ADMIN_HEALTH_PARTITIONS_NAMED go into buf, one line
   each with the reason ("t-0: ISR [1,2] would shrink to 1,
   below min.insync.replicas 2"), then "and N more". cap >= 1. */
uint64_t rn_admin_repl_stop_unsafe(const rn_image_t *img, int32_t node_id, char *buf, size_t cap);

#endif
