/*
 * controller_int.h: helpers shared by the controller's source files; not
 * for use outside src/metadata.
 */
#ifndef RN_METADATA_CONTROLLER_INT_H
#define RN_METADATA_CONTROLLER_INT_H

#include "metadata/controller.h"

#include <stddef.h>

/*
 * Planted bugs for the controller simulator's mutation test (tests/simctl).
 * Exactly one may be chosen at compile time with -DRN_CTL_MUTANT=<n>; 0 (the
 * default) is the correct controller.
 */
#define RN_CTL_MUTANT_NONE 0
#define RN_CTL_MUTANT_FENCE_KEEPS_LEADERS 1 /* a fence leaves the broker's leaderships */
#define RN_CTL_MUTANT_UNFENCE_OUTSIDE_ISR 2 /* unfence elects a replica outside the ISR */
#define RN_CTL_MUTANT_EPOCH_NOT_BUMPED 3    /* a leader change keeps the leader epoch */
#define RN_CTL_MUTANT_LEASE_NEVER_EXPIRES 4 /* a lease, once taken, never expires */
#define RN_CTL_MUTANT_WIPED_VOTER_VOTES 5   /* quorum.c: a wiped voter's votes count */
/* controller_reassign.c: a reassignment completes before its new replicas
   are in sync */
#define RN_CTL_MUTANT_REASSIGN_BEFORE_SYNC 6
#define RN_CTL_MUTANT__COUNT 7
#ifndef RN_CTL_MUTANT
#define RN_CTL_MUTANT RN_CTL_MUTANT_NONE
#endif

__attribute__((format(printf, 3, 4))) void rn_ctl_result_set(rn_ctl_result_t *res, int16_t code,
                                                             const char *fmt, ...);
rn_uuid_t rn_ctl_new_topic_id(rn_controller_t *ctl);
bool rn_ctl_broker_known(const rn_controller_t *ctl, int32_t id);

/* The first replica of part, in replica order, that is in isr (NULL: any
   replica) and usable in img or is `coming` (a broker being unfenced), and
   is not `gone` (a broker leaving); -1 when none (controller_elect.c). */
int32_t rn_ctl_first_usable(const rn_image_t *img, const rn_image_partition_t *part,
                            const int32_t *isr, int16_t isr_count, int32_t gone, int32_t coming);
/* Makes rec, a PartitionChangeRecord of topic's partition index, the unclean
   election of leader (a replica outside the ISR): leader set, the ISR it
   alone. Logs the WARN that names the partition, the old leader and ISR and
   the new leader. */
void rn_ctl_unclean_elect(const rn_image_topic_t *topic, int32_t index, int32_t leader,
                          rn_md_record_t *rec);

/* The brokers replicas may be placed on (placement in controller_topics.c). */
typedef struct rn_ctl_brokers {
    int32_t count;
    int32_t registered; /* brokers registered in the image; 0: the static list is used */
    int32_t ids[RN_CTL_BROKERS_MAX];       /* sorted */
    const char *racks[RN_CTL_BROKERS_MAX]; /* NULL: none; borrowed from the image */
} rn_ctl_brokers_t;

/* The image's registered, unfenced, not shutting down brokers; when none is
   registered at all, the static broker list (a single node before
   registration exists), unless brokers register (then none). */
void rn_ctl_usable_brokers(const rn_controller_t *ctl, rn_ctl_brokers_t *out);
/* INVALID_REPLICATION_FACTOR with Kafka's message when rf replicas cannot be
   placed on the usable brokers. */
int16_t rn_ctl_check_replication(const rn_ctl_brokers_t *brokers, int32_t rf, rn_ctl_result_t *res);
/*
 * Appends PartitionRecords for partitions [first, first + count): as
 * assigned, or placed over `brokers` as Kafka does (rack-alternating broker
 * order, leaders striped from `start`, followers shifted per round).
 * Leader = first replica, ISR = replicas.
 */
rn_err_t rn_ctl_add_partitions(rn_md_batch_t *batch, const rn_uuid_t *topic_id, int32_t first,
                               int32_t count, int16_t replication_factor,
                               const rn_ctl_assignment_t *assignments,
                               const rn_ctl_brokers_t *brokers, uint32_t start);
int16_t rn_ctl_check_assignment(const rn_controller_t *ctl, const rn_ctl_assignment_t *a,
                                int32_t *rf, rn_ctl_result_t *res);
/* Appends one ConfigRecord (value len -1: delete). */
rn_err_t rn_ctl_config_record(rn_md_batch_t *batch, int8_t resource_type, rn_str_t resource,
                              rn_str_t key, rn_str_t value);
/* Checks a topic override as Kafka does; INVALID_CONFIG with its message. */
int16_t rn_ctl_check_topic_config(rn_str_t key, rn_str_t value, rn_ctl_result_t *res);
/*
 * Marks in repeated[0 .. count) the items of a request whose non-null name
 * (an rn_str_t at name_offset in each item, items `stride` bytes apart) is
 * shared with another item; with type_offset >= 0, an int8 at that offset
 * must match too. O(n log n). False when out of memory.
 */
bool rn_ctl_find_repeats(const void *items, size_t stride, size_t name_offset,
                         ptrdiff_t type_offset, int32_t count, bool *repeated);

#endif
