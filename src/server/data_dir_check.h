/*
 * data_dir_check.h: the data folder's check at start, before anything is
 * written there: the folder exists or can be made, this process may create,
 * sync and rename files in it, and it has room. A folder that fails stops the
 * start with one line that says what is wrong and what to change (the owner
 * and the process's ids, the Kubernetes setting that fixes it); a network
 * file system is served, with a warning.
 */
#ifndef RN_SERVER_DATA_DIR_CHECK_H
#define RN_SERVER_DATA_DIR_CHECK_H

#include "io/io.h"

#include <stddef.h>

/* RN_OK, or the first failure's error with the line in why. Leaves nothing
   behind in the folder. */
rn_err_t rn_data_dir_check(rn_io_t *io, const char *dir, char *why, size_t why_len);

#endif
