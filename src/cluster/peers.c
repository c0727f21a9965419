/* peers.c: a core's clients to the other brokers, by broker id (see
   peers.h). */
#include "cluster/peers.h"
#include "base/assert.h"
#include "base/limits.h"

#include <stdlib.h>
#include <string.h>

typedef struct peer {
    int32_t id;
    rn_client_t client;
} peer_t;

struct rn_peers {
    rn_loop_t *loop;
    const char *listener; /* inter.broker.listener.name ("": the first) */
    peer_t *peers[RN_BROKERS_MAX];
    int32_t count;
    bool closed;
};

rn_peers_t *rn_peers_new(rn_loop_t *loop, const char *listener) {
    rn_peers_t *p = calloc(1, sizeof *p);
    RN_ASSERT(p != NULL);
    p->loop = loop;
    p->listener = listener;
    return p;
}

static peer_t *peer_find(rn_peers_t *p, int32_t id) {
    for (int32_t i = 0; i < p->count; i++)
        if (p->peers[i]->id == id) return p->peers[i];
    return NULL;
}

static peer_t *peer_new(rn_peers_t *p, int32_t id, const rn_image_endpoint_t *ep) {
    if (p->count >= RN_BROKERS_MAX) return NULL;
    peer_t *peer = calloc(1, sizeof *peer);
    RN_ASSERT(peer != NULL);
    peer->id = id;
    rn_client_opts_t opts;
    rn_client_opts_default(&opts);
    opts.client_id = "runnel-broker";
    /* A broker that died leaves its partitions to others: its callers
       would rather ask the new leaders than wait for it to come back. */
    opts.fail_queued_when_unreachable = true;
    rn_err_t err = rn_client_init(&peer->client, p->loop, ep->host, ep->port, &opts);
    RN_ASSERT(err == RN_OK); /* host lengths are bounded by the image's */
    p->peers[p->count++] = peer;
    return peer;
}

rn_client_t *rn_peers_client(rn_peers_t *p, const rn_image_t *img, int32_t id) {
    const rn_image_endpoint_t *ep = rn_image_broker_endpoint(rn_image_broker(img, id), p->listener);
    if (p->closed || !ep) return NULL;
    peer_t *peer = peer_find(p, id);
    if (!peer) {
        peer = peer_new(p, id, ep);
        return peer ? &peer->client : NULL;
    }
    if (strcmp(peer->client.host, ep->host) || peer->client.port != ep->port)
        rn_client_set_peer(&peer->client, ep->host, ep->port);
    return &peer->client;
}

void rn_peers_close(rn_peers_t *p) {
    if (!p) return;
    p->closed = true;
    for (int32_t i = 0; i < p->count; i++) rn_client_close(&p->peers[i]->client);
}

void rn_peers_free(rn_peers_t *p) {
    if (!p) return;
    RN_ASSERT(p->closed);
    for (int32_t i = 0; i < p->count; i++) free(p->peers[i]);
    free(p);
}
