/*
 * cli_wire.c: a small blocking Kafka client for the requests librdkafka has
 * no API for (DescribeQuorum, AddRaftVoter, RemoveRaftVoter, and Metadata
 * with racks): one TCP connection to the first bootstrap broker that
 * accepts, requests encoded and responses decoded with the generated codec
 * of src/proto/gen/.
 *
 * Owns the socket of a rn_cli_wire_t until rn_cli_wire_close. Every wait
 * (connect, send, receive) ends by the command's --timeout-ms; every
 * failure is printed as "prog: what: why" and comes back as
 * RN_CLI_EXIT_FAIL. Lives in the CLI process only.
 */
#include "cli/cli_int.h"

#include "proto/gen/api.h"
#include "proto/gen/request_header.h"
#include "proto/gen/response_header.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Waits for fd to be ready for `events` until the deadline. */
static bool wire_wait(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - rn_cli_now_ms();
        if (left <= 0) return false;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

/* Connects to one address without blocking past the deadline; -1 on failure
   with errno set. */
static int wire_connect_addr(const struct addrinfo *ai, int64_t deadline_ms) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) return fd;
    if (errno == EINPROGRESS && wire_wait(fd, POLLOUT, deadline_ms)) {
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0) return fd;
        errno = soerr ? soerr : ETIMEDOUT;
    } else if (errno == EINPROGRESS) {
        errno = ETIMEDOUT;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/* Connects to "host:port"; -1 with why in `why` on failure. */
static int wire_connect_one(const char *hostport, int64_t deadline_ms, char *why, size_t why_size) {
    char host[RN_CLI_HOSTPORT_BYTES];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || colon == hostport || (size_t)(colon - hostport) >= sizeof host) {
        snprintf(why, why_size, "'%s' is not HOST:PORT", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(why, why_size, "%s: %s", hostport, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = wire_connect_addr(ai, deadline_ms);
        if (fd < 0) snprintf(why, why_size, "%s: %s", hostport, strerror(errno));
    }
    freeaddrinfo(res);
    return fd;
}

int rn_cli_wire_open(rn_cli_wire_t *w, const rn_cli_common_t *common, const char *prog) {
    RN_ASSERT(w != NULL && common != NULL && prog != NULL);
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->prog = prog;
    w->common = common;
    int64_t deadline = rn_cli_now_ms() + common->timeout_ms;
    char list[RN_CLI_HOSTPORT_BYTES * 4];
    if (strlen(common->bootstrap) >= sizeof list)
        return rn_cli_fail(prog, "--bootstrap is too long");
    memcpy(list, common->bootstrap, strlen(common->bootstrap) + 1);
    char why[512] = "no address given";
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok && w->fd < 0; tok = strtok_r(NULL, ",", &save))
        w->fd = wire_connect_one(tok, deadline, why, sizeof why);
    if (w->fd < 0)
        return rn_cli_fail(prog, "no answer from the cluster at %s within %lld ms (%s)",
                           common->bootstrap, (long long)common->timeout_ms, why);
    return RN_CLI_EXIT_OK;
}

void rn_cli_wire_close(rn_cli_wire_t *w) {
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

static bool wire_send_all(rn_cli_wire_t *w, const uint8_t *p, size_t len, int64_t deadline_ms) {
    while (len > 0) {
        if (!wire_wait(w->fd, POLLOUT, deadline_ms)) return false;
        ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool wire_recv_all(rn_cli_wire_t *w, uint8_t *p, size_t len, int64_t deadline_ms) {
    while (len > 0) {
        if (!wire_wait(w->fd, POLLIN, deadline_ms)) return false;
        ssize_t n = recv(w->fd, p, len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (n <= 0) {
            if (n == 0) errno = ECONNRESET;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Frames header + body into buf. */
static void wire_encode(rn_cli_wire_t *w, const rn_api_info_t *api, int16_t version,
                        const void *req, rn_buf_t *buf) {
    rn_writer_t wr;
    rn_writer_init(&wr, buf);
    rn_write_int32(&wr, 0); /* size, patched below */
    rn_request_header_t hdr;
    rn_request_header_init(&hdr);
    hdr.request_api_key = api->key;
    hdr.request_api_version = version;
    hdr.correlation_id = ++w->correlation_id;
    hdr.client_id = rn_str_from_cstr("runnel-cli");
    rn_request_header_encode(&wr, rn_api_request_header_version(api, version), &hdr);
    api->request_encode(&wr, version, req);
    RN_ASSERT(wr.err == RN_OK); /* our own request always fits */
    uint32_t size = (uint32_t)(buf->len - 4);
    buf->ptr[0] = (uint8_t)(size >> 24);
    buf->ptr[1] = (uint8_t)(size >> 16);
    buf->ptr[2] = (uint8_t)(size >> 8);
    buf->ptr[3] = (uint8_t)size;
}

/* Reads one response frame into buf (allocated from the arena). */
static int wire_read_frame(rn_cli_wire_t *w, const char *what, rn_arena_t *arena,
                           int64_t deadline_ms, uint8_t **frame, size_t *len) {
    uint8_t sz[4];
    if (!wire_recv_all(w, sz, 4, deadline_ms))
        return rn_cli_fail(w->prog, "%s: no answer from %s within %lld ms (%s)", what,
                           w->common->bootstrap, (long long)w->common->timeout_ms,
                           rn_cli_now_ms() >= deadline_ms ? "timed out" : strerror(errno));
    uint32_t size = (uint32_t)sz[0] << 24 | (uint32_t)sz[1] << 16 | (uint32_t)sz[2] << 8 | sz[3];
    if (size < 4 || size > RN_CLI_RESPONSE_BYTES_MAX)
        return rn_cli_fail(w->prog, "%s: the broker sent a response of %u bytes", what, size);
    *frame = rn_arena_alloc(arena, size);
    if (*frame == NULL) return rn_cli_fail(w->prog, "%s: out of memory", what);
    if (!wire_recv_all(w, *frame, size, deadline_ms))
        return rn_cli_fail(w->prog, "%s: the connection to %s broke mid-response (%s)", what,
                           w->common->bootstrap,
                           rn_cli_now_ms() >= deadline_ms ? "timed out" : strerror(errno));
    *len = size;
    return RN_CLI_EXIT_OK;
}

int rn_cli_wire_call(rn_cli_wire_t *w, int16_t api_key, int16_t version, const void *req,
                     rn_arena_t *arena, void *resp) {
    RN_ASSERT(w->fd >= 0);
    const rn_api_info_t *api = rn_api_info(api_key);
    RN_ASSERT(api != NULL);
    const char *what = api->name;
    int64_t deadline = rn_cli_now_ms() + w->common->timeout_ms;
    rn_buf_t buf;
    rn_buf_init(&buf, RN_CLI_RESPONSE_BYTES_MAX);
    wire_encode(w, api, version, req, &buf);
    bool sent = wire_send_all(w, buf.ptr, buf.len, deadline);
    rn_buf_free(&buf);
    if (!sent)
        return rn_cli_fail(w->prog, "%s: cannot send to %s (%s)", what, w->common->bootstrap,
                           rn_cli_now_ms() >= deadline ? "timed out" : strerror(errno));
    uint8_t *frame = NULL;
    size_t len = 0;
    int rc = wire_read_frame(w, what, arena, deadline, &frame, &len);
    if (rc != RN_CLI_EXIT_OK) return rc;
    rn_reader_t r;
    rn_reader_init(&r, frame, len);
    rn_response_header_t hdr;
    rn_response_header_init(&hdr);
    rn_err_t err =
        rn_response_header_decode(&r, arena, rn_api_response_header_version(api, version), &hdr);
    if (err == RN_OK && hdr.correlation_id != w->correlation_id) err = RN_ERR_CORRUPT;
    if (err == RN_OK) {
        api->response_init(resp);
        err = api->response_decode(&r, arena, version, resp);
    }
    if (err != RN_OK)
        return rn_cli_fail(w->prog, "%s: the broker's response v%d does not decode (%s)", what,
                           version, rn_err_name(err));
    return RN_CLI_EXIT_OK;
}
