/*
 * leadership.h: a partition's leadership as the metadata image states it,
 * in the form its replica takes (rn_partition_lead): who leads, the
 * replicas and the ISR, the epochs, min.insync.replicas, which replicas may
 * join the ISR, whether a replication throttle applies to it here (its
 * partition moving and listed for this broker: replication/throttle.h),
 * and where the leader is reached.
 *
 * What it owns: nothing; it reads the image. The node's topic runtime
 * (cluster/topics.c) and the replication simulator (tests/simrepl) build
 * every replica's leadership with it.
 */
#ifndef RN_REPLICATION_LEADERSHIP_H
#define RN_REPLICATION_LEADERSHIP_H

#include "metadata/image.h"
#include "partition/partition.h"

#include <stddef.h>
#include <stdint.h>

/* Partition p of topic `it` in img, for replica self: *ld, and the leader's
   endpoint on `listener` (inter.broker.listener.name; "" or one it lacks:
   its first) into host (host_cap bytes; "" when self leads or there is no
   leader) and *port. A leader other than self with no endpoint is none to
   follow: ld->leader is -1 then. */
void rn_repl_leadership(const rn_image_t *img, const rn_image_topic_t *it, int32_t p, int32_t self,
                        const char *listener, rn_partition_leadership_t *ld, char *host,
                        size_t host_cap, uint16_t *port);

#endif
