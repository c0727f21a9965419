/*
 * identity.h: the data folder's identity file, meta.properties, as Kafka
 * writes it (version, node.id, cluster.id, directory.id). A new folder gets
 * the cluster.id setting or a fresh id, and a fresh directory id; an
 * existing one must carry this node's id (and the cluster.id setting's,
 * when given), so a data folder is never adopted by another broker by
 * mistake. The directory id tells the quorum a voter's folder from a new
 * one: a voter whose folder was emptied comes back with another id and its
 * votes no longer count (metadata/quorum.h).
 */
#ifndef RN_SERVER_IDENTITY_H
#define RN_SERVER_IDENTITY_H

#include "io/io.h"
#include "server/config.h"

#include <stdbool.h>

typedef struct rn_identity {
    char cluster_id[32];
    char directory_id[32];
    /* A new folder of a cluster member with no cluster.id setting: its id is
       its own pick until the quorum's log names the cluster's. */
    bool provisional;
} rn_identity_t;

rn_err_t rn_identity_load(rn_io_t *io, const rn_config_t *cfg, rn_identity_t *id);
/* Rewrites meta.properties with the cluster's id (a provisional one is
   replaced). */
rn_err_t rn_identity_adopt(rn_io_t *io, const rn_config_t *cfg, rn_identity_t *id,
                           const char *cluster_id);

/* registration.properties, beside meta.properties: the broker epoch of the
   last registration this folder made (-1: none), sent as
   PreviousBrokerEpoch at the next start so the active controller knows the
   folder, and so the node, that holds a live registration; and whether a
   registration was under way (sent, its answer not recorded) when the last
   run ended. A missing or unreadable file reads as none. docs/CLUSTER.md. */
typedef struct rn_identity_reg {
    int64_t epoch;
    bool pending;
} rn_identity_reg_t;

rn_identity_reg_t rn_identity_registration_load(rn_io_t *io, const rn_config_t *cfg);
rn_err_t rn_identity_registration_save(rn_io_t *io, const rn_config_t *cfg,
                                       const rn_identity_reg_t *reg);

#endif
