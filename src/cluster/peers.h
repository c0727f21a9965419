/*
 * peers.h: a core's clients to the other brokers of the cluster, for the
 * requests one broker sends another on behalf of a coordinator (the
 * transaction coordinator's WriteTxnMarkers). One client (net/client.h) per
 * broker id, made on first use on the core's loop and kept; the address is
 * the broker's first listener in the metadata image, passed at each use so
 * a broker that registers again elsewhere is followed. A connect that
 * fails ends the calls queued for it (RN_ERR_CLOSED): the callers route
 * again, to the leader the image names by then.
 *
 * Owns the clients. Loop thread of its core only. Closing completes every
 * call in flight with RN_ERR_CLOSED (their callers' completions run then);
 * the set is freed once its loop has drained.
 */
#ifndef RN_CLUSTER_PEERS_H
#define RN_CLUSTER_PEERS_H

#include "metadata/image.h"
#include "net/client.h"

typedef struct rn_peers rn_peers_t;

/* Clients to the other brokers, each reached on its endpoint named
   `listener` (inter.broker.listener.name; "": its first), which must
   outlive them. */
rn_peers_t *rn_peers_new(rn_loop_t *loop, const char *listener);
/* The client of broker `id` as img lists it; NULL when the image has no
   such broker, it has no listener, or the set is closed. */
rn_client_t *rn_peers_client(rn_peers_t *p, const rn_image_t *img, int32_t id);
void rn_peers_close(rn_peers_t *p);
void rn_peers_free(rn_peers_t *p);

#endif
