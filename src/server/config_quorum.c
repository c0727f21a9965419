/*
 * config_quorum.c: the items of the cluster settings, one at a time:
 * `controller.quorum.voters` entries (id@host:port), bootstrap server entries
 * (host:port) and `cluster.id`.
 *
 * What it does: parses and checks one item, writing why it is wrong in
 * Kafka's words (KafkaConfig and QuorumConfig of Kafka 3.9) where Kafka has
 * the check. The checks across settings (this node among the voters, its
 * controller listener) live with the rest of the resolution in config.c.
 *
 * What it owns: nothing; it writes into the caller's structs.
 *
 * What it must never do: resolve host names or touch the OS.
 */
#include "server/config.h"

#include "base/assert.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define VOTER_FORM "each entry should be in the form {id}@{host}:{port}"
#define ENDPOINT_FORM "each entry should be in the form {host}:{port}"

/*
 * "host:port", "[v6]:port" or "v6:port" (the last colon splits, as Kafka
 * splits). `form` ends the messages. Port 0 is refused: nobody can connect
 * to it.
 */
static rn_err_t hostport_parse(const char *text, size_t len, const char *key, const char *form,
                               char *host, uint16_t *port, char *why, size_t why_len) {
    const char *end = text + len;
    const char *colon = NULL;
    for (const char *p = end; p > text && !colon; p--)
        if (p[-1] == ':') colon = p - 1;
    if (!colon || colon + 1 == end) {
        snprintf(why, why_len, "failed to parse the port from '%.*s' in %s; %s", (int)len, text,
                 key, form);
        return RN_ERR_INVALID;
    }
    const char *h = text, *h_end = colon;
    if (h < h_end && *h == '[' && h_end[-1] == ']') h++, h_end--;
    if (h == h_end || (size_t)(h_end - h) > RN_CONFIG_HOST_BYTES_MAX) {
        snprintf(why, why_len, "failed to parse the host name from '%.*s' in %s; %s", (int)len,
                 text, key, form);
        return RN_ERR_INVALID;
    }
    long value = 0;
    for (const char *p = colon + 1; p < end && value >= 0 && value <= 65535; p++)
        value = isdigit((unsigned char)*p) ? value * 10 + (*p - '0') : -1;
    if (value < 1 || value > 65535) {
        snprintf(why, why_len, "port out of range: '%.*s' in %s; the port is 1 to 65535",
                 (int)(end - colon - 1), colon + 1, key);
        return RN_ERR_INVALID;
    }
    memcpy(host, h, (size_t)(h_end - h));
    host[h_end - h] = '\0';
    *port = (uint16_t)value;
    return RN_OK;
}

rn_err_t rn_config_voter_parse(const char *text, size_t len, rn_config_voter_t *voter, char *why,
                               size_t why_len) {
    RN_ASSERT(text != NULL && voter != NULL);
    RN_ASSERT(why != NULL && why_len > 0);
    memset(voter, 0, sizeof(*voter));
    const char *at = memchr(text, '@', len);
    if (!at) {
        snprintf(why, why_len, "invalid entry '%.*s' in controller.quorum.voters; " VOTER_FORM,
                 (int)len, text);
        return RN_ERR_INVALID;
    }
    long long id = at == text ? -1 : 0;
    for (const char *p = text; p < at && id >= 0 && id <= INT32_MAX; p++)
        id = isdigit((unsigned char)*p) ? id * 10 + (*p - '0') : -1;
    if (id < 0 || id > INT32_MAX) {
        snprintf(why, why_len,
                 "failed to parse voter ID as an integer from '%.*s' in controller.quorum.voters "
                 "(a node id, 0 to 2147483647)",
                 (int)(at - text), text);
        return RN_ERR_INVALID;
    }
    voter->id = (int32_t)id;
    return hostport_parse(at + 1, len - (size_t)(at + 1 - text), "controller.quorum.voters",
                          VOTER_FORM, voter->host, &voter->port, why, why_len);
}

rn_err_t rn_config_endpoint_parse(const char *text, size_t len, rn_config_endpoint_t *ep, char *why,
                                  size_t why_len) {
    RN_ASSERT(text != NULL && ep != NULL);
    RN_ASSERT(why != NULL && why_len > 0);
    memset(ep, 0, sizeof(*ep));
    return hostport_parse(text, len, "controller.quorum.bootstrap.servers", ENDPOINT_FORM, ep->host,
                          &ep->port, why, why_len);
}

/* The value of a base64url character, or -1. */
static int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

rn_err_t rn_config_cluster_id_check(const char *text, char *why, size_t why_len) {
    RN_ASSERT(text != NULL);
    RN_ASSERT(why != NULL && why_len > 0);
    size_t len = strlen(text);
    bool zero = true;
    for (size_t n = 0; n < len; n++) {
        int v = base64url_value(text[n]);
        if (v < 0) {
            snprintf(why, why_len, "'%c' is not a base64url character (A-Z a-z 0-9 - _)", text[n]);
            return RN_ERR_INVALID;
        }
        zero &= v == 0;
    }
    if (len != RN_CLUSTER_ID_CHARS) {
        snprintf(why, why_len,
                 "a cluster id is %d base64url characters (16 bytes, as Kafka's Uuid), not %zu",
                 RN_CLUSTER_ID_CHARS, len);
        return RN_ERR_INVALID;
    }
    /* 22 characters carry 132 bits: the last one's low 4 bits are unused. */
    if (base64url_value(text[len - 1]) & 0xf) {
        snprintf(why, why_len,
                 "not a canonical Uuid: the last character must be one of A, Q, g, w");
        return RN_ERR_INVALID;
    }
    if (zero) {
        snprintf(why, why_len, "the all-zero Uuid is reserved");
        return RN_ERR_INVALID;
    }
    return RN_OK;
}
