/*
 * replicas_rt.h: replication on the node's cores: each core's replica
 * fetchers (replication/fetcher.h) and the leadership the metadata image
 * gives each partition it owns.
 *
 * What it does: takes a partition's leadership on its owner core (its
 * role, ISR and epochs: partition/partition.h) and starts or stops
 * following the leader; wakes parked fetches when a change of ISR moved a
 * high watermark.
 *
 * What it owns: nothing beyond each core's fetchers (rn_core_t.fetchers)
 * and its clients to the other brokers (rn_core_t.peers, cluster/peers.h).
 *
 * What it must never do: run off the partition's owner core.
 */
#ifndef RN_CLUSTER_REPLICAS_RT_H
#define RN_CLUSTER_REPLICAS_RT_H

#include "cluster/node.h"

/* Creates core's fetchers (at start, before its loop runs). */
void rn_replicas_rt_core_init(rn_core_t *core);
/* Closes core's fetchers; on its loop thread while it drains, or once the
   loops have stopped. Idempotent. */
void rn_replicas_rt_core_close(rn_core_t *core);
/* On core's loop as a stop drains it, once its connections are closed:
   what still waits for a high watermark here ends (NOT_LEADER_OR_FOLLOWER,
   heard by nobody). It would wait on followers that can no longer fetch:
   a stop without the controller's fence first leaves this node leader to
   the end. */
void rn_replicas_rt_core_drain(rn_core_t *core);
void rn_replicas_rt_core_free(rn_core_t *core);

/* On part's owner core: the image's leadership; a follower fetches from
   the leader at host:port. */
void rn_replicas_rt_lead(rn_core_t *core, rn_partition_t *part,
                         const rn_partition_leadership_t *lead, const char *host, uint16_t port);

#endif
