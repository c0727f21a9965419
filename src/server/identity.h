/*
 * identity.h: the data folder's identity file, meta.properties, as Kafka
 * writes it (version, node.id, cluster.id). A new folder gets a fresh
 * cluster id; an existing one must carry this node's id, so a data folder
 * is never adopted by another broker by mistake.
 */
#ifndef RN_SERVER_IDENTITY_H
#define RN_SERVER_IDENTITY_H

#include "io/io.h"
#include "server/config.h"

rn_err_t rn_identity_load(rn_io_t *io, const rn_config_t *cfg, char *cluster_id, size_t cap);

#endif
