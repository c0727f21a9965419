/*
 * quorum_transport.h: Raft messages between the controllers of a cluster.
 *
 * What it does: sends each message the quorum hands out to its peer over
 * that peer's outbound client (net/client.h), one-way, and turns frames
 * that arrive on the controller listener back into messages. A message that
 * cannot be queued is dropped: Raft resends what matters.
 *
 * Frame: a Kafka request header v1 with Runnel's own API key
 * RN_API_RAFT_MESSAGE (Kafka's keys stay below 100), then
 *
 *   offset size  field
 *   0      1     version = 1
 *   1      2+n   cluster id (int16 length, -1: not known yet)
 *   ...    2+m   the sender's data-folder id (int16 length)
 *   ...          the message, as rn_raft_msg_encode writes it
 *
 * A message naming a cluster other than this node's is dropped with a
 * log line: a node of another cluster must never vote or append here.
 *
 * What it owns: one client per peer and the encoding buffer. Runs on the
 * metadata loop only.
 */
#ifndef RN_CLUSTER_QUORUM_TRANSPORT_H
#define RN_CLUSTER_QUORUM_TRANSPORT_H

#include "base/limits.h"
#include "base/log_limit.h"
#include "metadata/quorum.h"
#include "net/client.h"
#include "raft/raft.h"

#include <stdbool.h>
#include <stdint.h>

#define RN_API_RAFT_MESSAGE 32001

typedef struct rn_qt_peer {
    rn_raft_id_t id;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
    uint16_t port;
    rn_client_t client;
} rn_qt_peer_t;

typedef struct rn_qt {
    rn_loop_t *loop;
    rn_qt_peer_t peers[RN_RAFT_NODES_MAX];
    int peer_count;
    uint8_t *buf; /* one encoded frame body */
    size_t cap;
    const char *cluster_id;   /* borrowed; "" while unknown */
    const char *directory_id; /* borrowed: this node's data folder */
    uint64_t dropped_total;   /* messages not queued (peer backlog full) */
    rn_log_limit_t log_limit;
} rn_qt_t;

void rn_qt_init(rn_qt_t *qt, rn_loop_t *loop, const char *cluster_id, const char *directory_id);
/* Adds (or moves) the peer with Raft id `id`. */
rn_err_t rn_qt_peer_set(rn_qt_t *qt, rn_raft_id_t id, const char *host, uint16_t port);
void rn_qt_close(rn_qt_t *qt);

/* The peer with Raft id `id`, or NULL. */
rn_qt_peer_t *rn_qt_peer(rn_qt_t *qt, rn_raft_id_t id);

/* The quorum's send hook. */
void rn_qt_send(rn_qt_t *qt, const rn_raft_msg_t *msg);

/* Decodes one RN_API_RAFT_MESSAGE request body (the bytes after the request
   header). entries holds RN_RAFT_APPEND_ENTRIES_MAX slots; the message
   borrows from body; from_dir and from_cluster (RN_QUORUM_DIR_BYTES each)
   get the sender's data-folder and cluster ids ("" when it sent none).
   RN_ERR_CORRUPT for bytes that do not decode, RN_ERR_STALE for a message
   of another cluster (decoded all the same, to know who sent it). */
rn_err_t rn_qt_decode(const rn_qt_t *qt, const uint8_t *body, size_t len, rn_raft_msg_t *msg,
                      rn_raft_entry_t *entries, char *from_dir, char *from_cluster);

#endif
