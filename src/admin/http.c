/*
 * http.c: the admin HTTP port on libmicrohttpd.
 *
 * Endpoints: GET /metrics (Prometheus text 0.0.4), /health/live (200 while
 * the process runs), /health/ready (200 once the broker is ready and while
 * its storage takes appends, else 503 with the reason); any other path is
 * 404, any other method 405.
 *
 * This file is the one documented exception to the I/O seam (io/io.h): a
 * well-kept HTTP library owns this port's sockets and runs its own thread,
 * so the admin port never shares a loop with the data path and the
 * simulator never sees it. What it serves it only reads (admin.h). It owns
 * the daemon; it must never call into a loop's thread-only code.
 */
#include "admin/admin.h"
#include "base/assert.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rn_admin {
    struct MHD_Daemon *daemon;
    const rn_admin_sources_t *src;
    uint16_t port;
};

static enum MHD_Result http_reply(struct MHD_Connection *mc, unsigned status, const char *type,
                                  char *body, size_t len, bool owned) {
    struct MHD_Response *resp =
        owned ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
              : MHD_create_response_from_buffer(len, body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned) free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(mc, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result http_text(struct MHD_Connection *mc, unsigned status, const char *text) {
    return http_reply(mc, status, "text/plain; charset=utf-8", (char *)(uintptr_t)text,
                      strlen(text), false);
}

/* Ready once the broker serves and while its storage takes appends. */
static enum MHD_Result http_ready(struct MHD_Connection *mc, const rn_admin_t *admin) {
    if (!atomic_load(admin->src->ready))
        return http_text(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    char reason[RN_STORAGE_PATH_BYTES_MAX + 128];
    if (!rn_admin_storage_failing(admin->src->node, reason, sizeof reason))
        return http_text(mc, MHD_HTTP_OK, "ready\n");
    size_t cap = strlen(reason) + 32;
    char *body = malloc(cap);
    if (!body) return http_text(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    int n = snprintf(body, cap, "not ready: %s\n", reason);
    RN_ASSERT(n > 0 && (size_t)n < cap);
    return http_reply(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
                      (size_t)n, true);
}

static enum MHD_Result http_metrics(struct MHD_Connection *mc, const rn_admin_t *admin) {
    size_t len = 0;
    char *text = rn_admin_metrics_render(admin->src, &len);
    if (!text) return http_text(mc, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
    return http_reply(mc, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, true);
}

static enum MHD_Result http_handle(void *ctx, struct MHD_Connection *mc, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **con_cls) {
    (void)version;
    (void)upload_data;
    (void)con_cls;
    const rn_admin_t *admin = ctx;
    if (*upload_data_size != 0) { /* a body we do not want: drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/health/live") == 0 ||
                 strcmp(url, "/health/ready") == 0;
    if (!known) return http_text(mc, MHD_HTTP_NOT_FOUND, "not found\n");
    if (!get) return http_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) return http_metrics(mc, admin);
    if (strcmp(url, "/health/live") == 0) return http_text(mc, MHD_HTTP_OK, "live\n");
    return http_ready(mc, admin);
}

/* host (a name or a literal; "" or 0.0.0.0: every IPv4 address) to a
   socket address. */
static rn_err_t http_resolve(const char *host, uint16_t port, struct sockaddr_storage *addr,
                             bool *ipv6) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (getaddrinfo(host[0] ? host : NULL, service, &hints, &res) != 0 || !res)
        return RN_ERR_INVALID;
    RN_ASSERT(res->ai_addrlen <= sizeof *addr);
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return RN_OK;
}

rn_err_t rn_admin_start(const char *host, uint16_t port, const rn_admin_sources_t *src,
                        rn_admin_t **out) {
    RN_ASSERT(src != NULL && src->ready != NULL);
    struct sockaddr_storage addr;
    bool ipv6 = false;
    if (http_resolve(host, port, &addr, &ipv6) != RN_OK) {
        RN_ERROR("admin", "cannot resolve admin.listener host '%s'", host);
        return RN_ERR_INVALID;
    }
    rn_admin_t *admin = calloc(1, sizeof *admin);
    if (!admin) return RN_ERR_NO_MEMORY;
    admin->src = src;
    /* epoll (or poll), never select(): a broker holds a file per segment, so
       its admin connections get descriptors past select()'s 1,024, which
       libmicrohttpd would refuse, failing the liveness probe of a healthy
       broker. */
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    admin->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, http_handle, admin, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)RN_ADMIN_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RN_ADMIN_IDLE_S, MHD_OPTION_END);
    if (!admin->daemon) {
        RN_ERROR("admin", "cannot serve HTTP on %s:%u", host[0] ? host : "*", (unsigned)port);
        free(admin);
        return RN_ERR_IO;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(admin->daemon, MHD_DAEMON_INFO_BIND_PORT);
    admin->port = info ? info->port : port;
    RN_INFO("admin", "admin HTTP on %s:%u (/metrics, /health/live, /health/ready)",
            host[0] ? host : "*", (unsigned)admin->port);
    *out = admin;
    return RN_OK;
}

uint16_t rn_admin_port(const rn_admin_t *admin) { return admin->port; }

void rn_admin_stop(rn_admin_t *admin) {
    if (!admin) return;
    MHD_stop_daemon(admin->daemon);
    free(admin);
}
