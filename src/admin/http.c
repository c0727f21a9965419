/*
 * http.c: the admin HTTP port on libmicrohttpd.
 *
 * Endpoints: GET /metrics (Prometheus text 0.0.4), /health/started (200
 * once the node's own logs are recovered), /health/live (200 while the
 * process serves this port and, once serving, while every loop turns),
 * /health/ready (200 once the broker is ready, while its
 * storage takes appends and while each of its replicas that has a leader is
 * in the ISR, else 503 with the reason), /health/restart-safe (200 when
 * stopping this node now leaves every partition at min.insync.replicas or
 * above, else 503 naming those that would fall below); any other path is
 * 404, any other method 405.
 *
 * This file is the one documented exception to the I/O seam (io/io.h): a
 * well-kept HTTP library owns this port's sockets and runs its own thread,
 * so the admin port never shares a loop with the data path and the
 * simulator never sees it. What it serves it only reads (admin.h). It owns
 * the daemon; it must never call into a loop's thread-only code.
 */
#include "admin/admin.h"
#include "admin/replication.h"
#include "base/assert.h"
#include "base/log.h"
#include "cluster/metadata_rt.h"
#include "cluster/topics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A health answer's reason: the storage's (a path), or the partitions
   named (replication.h), each with a topic name, an ISR and a few words. */
#define HEALTH_REASON_BYTES                                                                        \
    (RN_STORAGE_PATH_BYTES_MAX + 128 +                                                             \
     RN_ADMIN_HEALTH_PARTITIONS_NAMED * (RN_TOPIC_NAME_BYTES_MAX + 12 * RN_REPLICAS_MAX + 128))

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

/* A 200 whose body is a copy of text. */
static enum MHD_Result http_ok_copy(struct MHD_Connection *mc, const char *text) {
    char *body = strdup(text);
    if (!body) return http_text(mc, MHD_HTTP_OK, "ok\n");
    return http_reply(mc, MHD_HTTP_OK, "text/plain; charset=utf-8", body, strlen(body), true);
}

/* A 503 whose body is head, reason and tail (copied). */
static enum MHD_Result http_unavailable(struct MHD_Connection *mc, const char *head,
                                        const char *reason, const char *tail) {
    size_t cap = strlen(head) + strlen(reason) + strlen(tail) + 1;
    char *body = malloc(cap);
    if (!body) return http_text(mc, MHD_HTTP_SERVICE_UNAVAILABLE, head);
    int n = snprintf(body, cap, "%s%s%s", head, reason, tail);
    RN_ASSERT(n > 0 && (size_t)n < cap);
    return http_reply(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", body,
                      (size_t)n, true);
}

/* Why this node's standing with the controller makes it unready, into buf
   (false: it does not): not registered, fenced, or no answer from the
   controller for longer than broker.session.timeout.ms, after which the
   controller has fenced it if it is up, so this node's metadata image (its
   ISRs, its leaderships) may be stale; a paused process sees this first
   when it resumes. */
static bool ready_standing_bad(rn_node_t *node, char *buf, size_t cap) {
    int64_t answered = atomic_load(&node->controller_answer_ms);
    int64_t silent = rn_io_now_ms(node->io) - answered;
    if (atomic_load(&node->broker_epoch) < 0)
        snprintf(buf, cap, "not registered with the controller");
    else if (answered >= 0 && silent > node->settings.broker_session_timeout_ms)
        snprintf(buf, cap,
                 "no answer from the controller for %lld ms (broker.session.timeout.ms=%lld)",
                 (long long)silent, (long long)node->settings.broker_session_timeout_ms);
    else if (atomic_load(&node->broker_fenced))
        snprintf(buf, cap, "fenced by the controller");
    else
        return false;
    return true;
}

/* Appends "; " and text to the reasons in buf (what fits). */
static void ready_reason_add(char *buf, size_t cap, const char *text) {
    size_t used = strlen(buf);
    if (used + 1 >= cap) return;
    snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", text);
}

/* Ready once the broker serves, while its storage takes appends, while the
   controller holds it registered and unfenced and has answered it within
   the session timeout, and while it is in the ISR of every partition it
   replicates that has a leader (a local fact, from this node's image: a
   node that restarted is ready once it has caught up and its leaders took
   it back). Every reason that holds is listed, the storage's first. */
static enum MHD_Result http_ready(struct MHD_Connection *mc, const rn_admin_t *admin) {
    if (!atomic_load(admin->src->ready))
        return http_text(mc, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
    rn_node_t *node = admin->src->node;
    char reasons[HEALTH_REASON_BYTES + 256] = "";
    char reason[HEALTH_REASON_BYTES];
    if (rn_admin_storage_failing(node, reason, sizeof reason))
        ready_reason_add(reasons, sizeof reasons, reason);
    if (ready_standing_bad(node, reason, sizeof reason))
        ready_reason_add(reasons, sizeof reasons, reason);
    rn_image_t *img = rn_topics_image(node);
    uint64_t lagging =
        rn_admin_repl_not_in_sync(img, node->settings.node_id, reason, sizeof reason);
    rn_image_release(img);
    if (lagging > 0) {
        char line[HEALTH_REASON_BYTES + 64];
        snprintf(line, sizeof line, "replicas not in sync: %llu (%s)", (unsigned long long)lagging,
                 reason);
        ready_reason_add(reasons, sizeof reasons, line);
    }
    if (!reasons[0]) return http_text(mc, MHD_HTTP_OK, "ready\n");
    return http_unavailable(mc, "not ready: ", reasons, "\n");
}

/* The start's phase in words, for the probes' bodies. */
static const char *phase_words(int phase) {
    switch (phase) {
    case RN_NODE_RECOVERING:
        return "recovering the data folder's logs";
    case RN_NODE_JOINING:
        return "waiting for the metadata quorum and the broker's registration";
    case RN_NODE_SERVING:
        return "serving";
    default:
        return "stopping";
    }
}

/* Started once the node's own data is open (its logs recovered): what is
   left of a start waits on peers, which no restart would hasten. The
   startup probe, which holds the liveness probe back, asks this, so a long
   recovery is never cut short by a liveness restart. */
static enum MHD_Result http_started(struct MHD_Connection *mc, const rn_admin_t *admin) {
    int phase = atomic_load(&admin->src->node->phase);
    char body[160];
    snprintf(body, sizeof body, "%s: %s\n", phase == RN_NODE_RECOVERING ? "starting" : "started",
             phase_words(phase));
    if (phase == RN_NODE_RECOVERING) return http_unavailable(mc, "", body, "");
    return http_ok_copy(mc, body);
}

/* Live while the process serves this port and, once it serves clients,
   while every loop (each core's, the metadata quorum's) still turns. Never
   asks peers: a lost quorum must not restart every pod. */
static enum MHD_Result http_live(struct MHD_Connection *mc, const rn_admin_t *admin) {
    rn_node_t *node = admin->src->node;
    int phase = atomic_load(&node->phase);
    if (phase != RN_NODE_SERVING) {
        char body[160];
        snprintf(body, sizeof body, "live (%s)\n", phase_words(phase));
        return http_ok_copy(mc, body);
    }
    int64_t now_ms = rn_io_now_ms(node->io);
    char stuck[160] = "";
    for (int i = 0; i <= node->core_count && !stuck[0]; i++) {
        bool md = i == node->core_count;
        if (md && !node->md_rt) break;
        rn_loop_pulse_t *pulse = md ? rn_md_rt_pulse(node->md_rt) : &node->cores[i].pulse;
        int64_t overdue = rn_loop_pulse_overdue_ms(pulse, now_ms);
        if (overdue <= RN_ADMIN_LIVE_STALL_MS) continue;
        if (md)
            snprintf(stuck, sizeof stuck, "the metadata loop has not turned for %lld ms\n",
                     (long long)overdue);
        else
            snprintf(stuck, sizeof stuck, "core %d's loop has not turned for %lld ms\n", i,
                     (long long)overdue);
    }
    if (stuck[0]) return http_unavailable(mc, "not live: ", stuck, "");
    return http_text(mc, MHD_HTTP_OK, "live\n");
}

/* Safe when stopping this node now keeps every partition whose ISR holds
   it at min.insync.replicas or above; a partition with no other replica
   is not (it is unavailable until the node is back). */
static enum MHD_Result http_restart_safe(struct MHD_Connection *mc, const rn_admin_t *admin) {
    if (!atomic_load(admin->src->ready))
        return http_text(mc, MHD_HTTP_SERVICE_UNAVAILABLE,
                         "cannot tell: the broker is not serving (starting or stopping)\n");
    rn_node_t *node = admin->src->node;
    char lines[HEALTH_REASON_BYTES];
    rn_image_t *img = rn_topics_image(node);
    uint64_t unsafe = rn_admin_repl_stop_unsafe(img, node->settings.node_id, lines, sizeof lines);
    rn_image_release(img);
    if (unsafe == 0) return http_text(mc, MHD_HTTP_OK, "safe\n");
    char head[160];
    snprintf(head, sizeof head,
             "not safe: stopping node %d now leaves %llu partition(s) below "
             "min.insync.replicas or unavailable:\n",
             node->settings.node_id, (unsigned long long)unsafe);
    return http_unavailable(mc, head, lines, "");
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
                 strcmp(url, "/health/started") == 0 || strcmp(url, "/health/ready") == 0 ||
                 strcmp(url, "/health/restart-safe") == 0;
    if (!known) return http_text(mc, MHD_HTTP_NOT_FOUND, "not found\n");
    if (!get) return http_text(mc, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") == 0) return http_metrics(mc, admin);
    if (strcmp(url, "/health/live") == 0) return http_live(mc, admin);
    if (strcmp(url, "/health/started") == 0) return http_started(mc, admin);
    if (strcmp(url, "/health/restart-safe") == 0) return http_restart_safe(mc, admin);
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
    RN_INFO("admin",
            "admin HTTP on %s:%u (/metrics, /health/started, /health/live, /health/ready, "
            "/health/restart-safe)",
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
