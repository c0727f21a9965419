/*
 * ptable.h: the table of live topics and their partitions.
 *
 * A table is immutable once published: an admin change builds a new table
 * (sharing the unchanged partitions, each refcounted) and swaps it in by
 * pointer; the node releases the old one once every loop has started a new
 * turn (a grace period, rn_node_reclaim). A request holds the table it
 * started with (rn_ptable_acquire/release, within one turn), so a topic
 * deleted meanwhile stays valid until that request is done.
 */
#ifndef RN_CLUSTER_PTABLE_H
#define RN_CLUSTER_PTABLE_H

#include "metadata/topic_config.h"
#include "partition/partition.h"
#include "proto/wire.h"

#include <stdatomic.h>

typedef struct rn_topic_rt {
    char *name;
    rn_uuid_t topic_id;
    rn_topic_config_t config; /* as last pushed to the partitions */
    int32_t partition_count;
    rn_partition_t **parts;
    /* The leadership last sent to each partition's owner (written under
       the admin lock, by the reconciliation only). */
    rn_partition_leadership_t *leads;
} rn_topic_rt_t;

typedef struct rn_ptable {
    atomic_int refs;
    int32_t topic_count;
    int32_t bucket_count;   /* power of two */
    rn_topic_rt_t **topics; /* sorted by name, for listing */
    int32_t *buckets;       /* open addressing into topics; -1 empty */
} rn_ptable_t;

/* Builds a table holding a reference to every partition of `topics`. */
rn_ptable_t *rn_ptable_build(rn_topic_rt_t **topics, int32_t topic_count);
rn_ptable_t *rn_ptable_acquire(_Atomic(rn_ptable_t *) *slot);
void rn_ptable_release(rn_ptable_t *table);
/* Installs `table` (taking over the caller's reference) and returns the old
   one, whose reference the caller must retire after a grace period. */
rn_ptable_t *rn_ptable_swap(_Atomic(rn_ptable_t *) *slot, rn_ptable_t *table);

const rn_topic_rt_t *rn_ptable_find(const rn_ptable_t *table, const char *name, size_t len);
const rn_topic_rt_t *rn_ptable_find_id(const rn_ptable_t *table, const rn_uuid_t *id);
rn_partition_t *rn_ptable_partition(const rn_ptable_t *table, rn_str_t topic, int32_t index);

/* A new topic entry (name copied, partitions array of count, all NULL). */
rn_topic_rt_t *rn_topic_rt_new(const char *name, const rn_uuid_t *id, int32_t partition_count);
/* A copy with the same partitions (each referenced) and room for more. */
rn_topic_rt_t *rn_topic_rt_grow(const rn_topic_rt_t *topic, int32_t partition_count);

#endif
