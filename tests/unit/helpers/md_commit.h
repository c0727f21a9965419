/*
 * md_commit.h: for the unit tests of controller decisions: a planned batch
 * applied to the image, as the quorum applies a committed entry. The names
 * start with mc_.
 */
#ifndef RN_TESTS_MD_COMMIT_H
#define RN_TESTS_MD_COMMIT_H

#include "metadata/image.h"
#include "metadata/records.h"

/* Applies batch on top of *img (replaced by the new image) and empties it;
   fails the test if the image refuses it. */
void mc_commit(rn_image_t **img, rn_md_batch_t *batch);

#endif
