/*
 * md_commit.h: for the unit tests of controller decisions: a planned batch
 * applied to the image, as the quorum applies a committed entry, and the
 * fixture those tests share (an image, the heartbeat leases, a batch, and
 * brokers joining it). The names start with mc_.
 */
#ifndef RN_TESTS_MD_COMMIT_H
#define RN_TESTS_MD_COMMIT_H

#include "metadata/controller.h"
#include "metadata/image.h"
#include "metadata/records.h"

#include <stdbool.h>

/* Applies batch on top of *img (replaced by the new image) and empties it;
   fails the test if the image refuses it. */
void mc_commit(rn_image_t **img, rn_md_batch_t *batch);

/* The state a controller-decision test plans against. */
typedef struct mc_ctl {
    rn_image_t *img;
    rn_ctl_leases_t leases;
    rn_md_batch_t batch;
} mc_ctl_t;

/* The advertised endpoint every joining broker gives. */
extern const rn_md_endpoint_t mc_endpoint;

/* An empty image (default topic settings), leases started on it at 0 and
   an empty batch; mc_ctl_reset goes back to that image and fresh leases. */
void mc_ctl_init(mc_ctl_t *c);
void mc_ctl_reset(mc_ctl_t *c);
void mc_ctl_free(mc_ctl_t *c);
/* mc_commit of c's batch. */
void mc_ctl_commit(mc_ctl_t *c);
/* Registers broker id (incarnation; at now_ms, past an old lease of
   session_ms a new incarnation replaces a registration), touches its lease
   and, when unfence, unfences it; fails the test if any is refused.
   Returns the broker epoch given. */
int64_t mc_ctl_join(mc_ctl_t *c, int32_t id, uint8_t incarnation, int64_t now_ms,
                    int64_t session_ms, bool unfence);

#endif
