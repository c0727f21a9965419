/*
 * balance_input.h: what the balancer's planner (balance_plan.h) is given,
 * read off a metadata image and what only the active controller knows
 * (which brokers have been gone past the absence timeout).
 *
 * A broker is drained when its dynamic config `runnel.drain` is true
 * (metadata/dyn_broker.h: set by `runnel cluster drain`, or kafka-configs.sh
 * on the broker's id or the cluster default); an
 * id that replicas name but no registration holds is absent. Partitions of
 * every topic are listed in image order (topic by topic), so a move's
 * index leads back to its topic and partition.
 *
 * Owns the arrays it allocates (rn_bal_view_free); borrows the image's
 * rack strings, so the image must outlive the view. Pure: no I/O, no
 * clock.
 */
#ifndef RN_METADATA_BALANCE_INPUT_H
#define RN_METADATA_BALANCE_INPUT_H

#include "metadata/balance_plan.h"
#include "metadata/image.h"

typedef struct rn_bal_view {
    rn_bal_input_t in;
    rn_bal_broker_t *brokers;
    rn_bal_partition_t *parts;
    const rn_image_topic_t **topic_of; /* per partition: its topic in the image */
} rn_bal_view_t;

/* Whether broker id is drained (its own config, else the cluster default). */
bool rn_bal_drained(const rn_image_t *img, int32_t id);
/* The planner's input from img; absent[0 .. absent_n) are brokers gone past
   the absence timeout. RN_ERR_LIMIT past the planner's bounds,
   RN_ERR_NO_MEMORY. */
rn_err_t rn_bal_view_build(const rn_image_t *img, const int32_t *absent, int32_t absent_n,
                           rn_bal_view_t *view);
void rn_bal_view_free(rn_bal_view_t *view);

#endif
