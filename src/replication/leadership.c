/*
 * leadership.c: a partition's leadership from the metadata image (see
 * leadership.h). Pure: reads the image, writes the caller's structs.
 */
#include "replication/leadership.h"
#include "base/assert.h"
#include "replication/throttle.h"

#include <stdio.h>
#include <string.h>

void rn_repl_leadership(const rn_image_t *img, const rn_image_topic_t *it, int32_t p, int32_t self,
                        const char *listener, rn_partition_leadership_t *ld, char *host,
                        size_t host_cap, uint16_t *port) {
    RN_ASSERT(p >= 0 && p < it->partition_count);
    RN_ASSERT(host_cap > 0);
    const rn_image_partition_t *ip = &it->partitions[p];
    memset(ld, 0, sizeof *ld);
    ld->self_id = self;
    ld->leader_epoch = ip->leader_epoch;
    ld->partition_epoch = ip->partition_epoch;
    ld->min_isr = it->config.min_insync_replicas;
    ld->leader = ip->leader;
    ld->replica_count = ip->replica_count;
    ld->isr_count = ip->isr_count;
    memcpy(ld->replicas, ip->replicas, (size_t)ip->replica_count * sizeof(int32_t));
    memcpy(ld->isr, ip->isr, (size_t)ip->isr_count * sizeof(int32_t));
    for (int16_t n = 0; n < ip->replica_count; n++)
        if (rn_image_broker_usable(rn_image_broker(img, ip->replicas[n]))) ld->eligible |= 1u << n;
    ld->adding = ip->adding_mask;
    if (rn_image_partition_moving(ip)) { /* throttles apply to moving replicas alone */
        ld->throttle_leader =
            rn_throttle_listed(it->overrides[RN_TC_LEADER_REPLICATION_THROTTLED_REPLICAS], p, self);
        ld->throttle_follower = rn_throttle_listed(
            it->overrides[RN_TC_FOLLOWER_REPLICATION_THROTTLED_REPLICAS], p, self);
    }
    host[0] = 0;
    *port = 0;
    const rn_image_broker_t *leader =
        ip->leader >= 0 && ip->leader != self ? rn_image_broker(img, ip->leader) : NULL;
    const rn_image_endpoint_t *ep = rn_image_broker_endpoint(leader, listener);
    if (ep) {
        snprintf(host, host_cap, "%s", ep->host);
        *port = ep->port;
    } else if (ip->leader != self) {
        ld->leader = -1; /* a leader nobody can reach is none to follow */
    }
}
