/*
 * quorum_transport.c: Raft messages over the outbound clients (see
 * quorum_transport.h).
 */
#include "cluster/quorum_transport.h"

#include "base/assert.h"
#include "base/endian.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "quorum"
#define QT_ID_BYTES_MAX 64
#define QT_HEADER_BYTES_MAX (1 + 2 + QT_ID_BYTES_MAX + 2 + QT_ID_BYTES_MAX)

void rn_qt_init(rn_qt_t *qt, rn_loop_t *loop, const char *cluster_id, const char *directory_id) {
    memset(qt, 0, sizeof *qt);
    qt->loop = loop;
    qt->cluster_id = cluster_id;
    qt->directory_id = directory_id;
    rn_log_limit_init(&qt->log_limit, RN_LOG_WARN, MOD, "raft messages", RN_LOG_LIMIT_LINES,
                      RN_LOG_LIMIT_WINDOW_MS);
}

rn_qt_peer_t *rn_qt_peer(rn_qt_t *qt, rn_raft_id_t id) {
    for (int i = 0; i < qt->peer_count; i++)
        if (qt->peers[i].id == id) return &qt->peers[i];
    return NULL;
}

rn_err_t rn_qt_peer_set(rn_qt_t *qt, rn_raft_id_t id, const char *host, uint16_t port) {
    rn_qt_peer_t *peer = rn_qt_peer(qt, id);
    if (peer) {
        if (strcmp(peer->host, host) != 0 || peer->port != port) {
            snprintf(peer->host, sizeof peer->host, "%s", host);
            peer->port = port;
            rn_client_set_peer(&peer->client, host, port);
        }
        return RN_OK;
    }
    if (qt->peer_count == RN_RAFT_NODES_MAX) return RN_ERR_LIMIT;
    peer = &qt->peers[qt->peer_count];
    memset(peer, 0, sizeof *peer);
    peer->id = id;
    snprintf(peer->host, sizeof peer->host, "%s", host);
    peer->port = port;
    rn_client_opts_t opts;
    rn_client_opts_default(&opts);
    opts.client_id = RN_FORWARD_CLIENT_ID; /* also carries forwarded requests */
    opts.queue_max = RN_QT_PEER_QUEUE_MAX;
    /* The client's default bound: a forwarded admin answer can be large
       (CreateTopics v5+ lists every setting of every topic created). */
    /* A forwarded request to a controller that is down fails at once (the
       sender asks again, reaching whoever leads by then) rather than
       waiting out its deadline; Raft messages are resent anyway. */
    opts.fail_queued_when_unreachable = true;
    rn_err_t err = rn_client_init(&peer->client, qt->loop, host, port, &opts);
    if (err == RN_OK) qt->peer_count++;
    return err;
}

void rn_qt_close(rn_qt_t *qt) {
    for (int i = 0; i < qt->peer_count; i++) rn_client_close(&qt->peers[i].client);
    qt->peer_count = 0;
    free(qt->buf);
    qt->buf = NULL;
    qt->cap = 0;
}

/* An int16-length id; empty as -1 when null_if_empty. */
static size_t qt_put_id(uint8_t *buf, size_t pos, const char *id, bool null_if_empty) {
    size_t len = strlen(id);
    RN_ASSERT(len <= QT_ID_BYTES_MAX);
    uint16_t wire_len = len || !null_if_empty ? (uint16_t)len : (uint16_t)0xffff;
    buf[pos] = (uint8_t)(wire_len >> 8);
    buf[pos + 1] = (uint8_t)wire_len;
    memcpy(buf + pos + 2, id, len);
    return pos + 2 + len;
}

void rn_qt_send(rn_qt_t *qt, const rn_raft_msg_t *msg) {
    rn_qt_peer_t *peer = rn_qt_peer(qt, msg->to);
    if (!peer) return; /* a member we have no address for: Raft retries */
    size_t need = QT_HEADER_BYTES_MAX + rn_raft_msg_size(msg);
    if (need > qt->cap) {
        uint8_t *grown = realloc(qt->buf, need);
        RN_ASSERT(grown != NULL);
        qt->buf = grown;
        qt->cap = need;
    }
    size_t pos = 0;
    qt->buf[pos++] = 1;
    pos = qt_put_id(qt->buf, pos, qt->cluster_id, true);
    pos = qt_put_id(qt->buf, pos, qt->directory_id, false);
    pos += rn_raft_msg_encode(msg, qt->buf + pos, qt->cap - pos);
    rn_client_call_t call = {
        .api_key = RN_API_RAFT_MESSAGE, .api_version = 0, .body = {qt->buf, pos}, .one_way = true};
    if (rn_client_send(&peer->client, &call) != RN_OK) qt->dropped_total++;
}

rn_err_t rn_qt_decode(const rn_qt_t *qt, const uint8_t *body, size_t len, rn_raft_msg_t *msg,
                      rn_raft_entry_t *entries, char *from_dir, char *from_cluster) {
    if (len < 5 || body[0] != 1) return RN_ERR_CORRUPT;
    uint16_t id_len = rn_be16_get(body + 1);
    size_t pos = 3;
    from_cluster[0] = '\0';
    bool other = false;
    if (id_len != 0xffff) {
        if (id_len >= RN_QUORUM_DIR_BYTES || len - pos < id_len) return RN_ERR_CORRUPT;
        memcpy(from_cluster, body + pos, id_len);
        from_cluster[id_len] = '\0';
        other = qt->cluster_id[0] && strcmp(qt->cluster_id, from_cluster) != 0;
        pos += id_len;
    }
    if (len - pos < 2) return RN_ERR_CORRUPT;
    uint16_t dir_len = rn_be16_get(body + pos);
    pos += 2;
    if (dir_len >= RN_QUORUM_DIR_BYTES || len - pos < dir_len) return RN_ERR_CORRUPT;
    memcpy(from_dir, body + pos, dir_len);
    from_dir[dir_len] = '\0';
    pos += dir_len;
    rn_err_t err =
        rn_raft_msg_decode(body + pos, len - pos, msg, entries, RN_RAFT_APPEND_ENTRIES_MAX);
    return err == RN_OK && other ? RN_ERR_STALE : err;
}
