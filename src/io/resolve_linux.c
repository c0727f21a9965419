/*
 * resolve_linux.c: name lookups off the event loops (resolve_linux.h).
 *
 * getaddrinfo blocks for as long as the DNS servers take: up to 5 s per try
 * and server when one does not answer. So an event loop never calls it for
 * a name: a lookup is a handle queued to a pool of resolver threads, and
 * the loop polls the handle from a timer. A numeric host (an IPv4 or IPv6
 * literal) needs no lookup and is converted on the caller's thread
 * (AI_NUMERICHOST never touches the network).
 *
 * Why our own threads rather than glibc's getaddrinfo_a: with SIGEV_NONE a
 * lookup that cannot be cancelled (already running) can only be freed by
 * polling it again, which needs a list of abandoned lookups and someone to
 * sweep it; with SIGEV_THREAD glibc runs the notification on a new thread
 * that unblocks every signal, where a SIGTERM meant for the broker's signal
 * thread could land. Here a handle is reference counted (the caller and
 * the pool), so whichever lets go last frees it, and the threads block
 * every signal, as the worker pool's do.
 *
 * Owns the pool: one per process, as the Linux backend itself (io.h), its
 * threads started on demand up to RN_IO_RESOLVE_THREADS_MAX and kept for
 * the life of the process, and a queue of at most RN_IO_RESOLVE_PENDING_MAX
 * lookups. It holds no broker's state, so several brokers in one process
 * share it safely. It must never call back into a loop: results are only
 * ever taken by the loop's own poll.
 */
#include "io/resolve_linux.h"
#include "base/assert.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rn_io_resolve {
    rn_io_resolve_t *next; /* in the pool's queue */
    atomic_int refs;       /* the caller's and the pool's */
    atomic_bool done;      /* err and addrs are set (release) */
    atomic_bool abandoned; /* released by the caller before it ran */
    uint16_t port;
    rn_err_t err;
    rn_io_addrs_t addrs;
    char host[RN_CONFIG_HOST_BYTES_MAX + 1];
};

typedef struct resolve_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    rn_io_resolve_t *head, *tail; /* queued, oldest first */
    int32_t pending;              /* queued or running */
    int32_t threads;
    int32_t idle; /* threads waiting for work */
} resolve_pool_t;

static resolve_pool_t resolve_pool = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .work = PTHREAD_COND_INITIALIZER,
};

/* Copies what getaddrinfo found (at most RN_IO_RESOLVE_ADDRS_MAX). */
static rn_err_t addrs_from(const struct addrinfo *list, rn_io_addrs_t *addrs) {
    addrs->count = 0;
    for (const struct addrinfo *ai = list; ai && addrs->count < RN_IO_RESOLVE_ADDRS_MAX;
         ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof addrs->addr[0].raw) continue;
        rn_io_addr_t *addr = &addrs->addr[addrs->count++];
        memcpy(addr->raw, ai->ai_addr, ai->ai_addrlen);
        addr->len = (uint32_t)ai->ai_addrlen;
    }
    return addrs->count > 0 ? RN_OK : RN_ERR_NOT_FOUND;
}

/* getaddrinfo with flags; blocks unless AI_NUMERICHOST. RN_ERR_AGAIN: the
   host is not numeric (only asked with AI_NUMERICHOST). */
static rn_err_t lookup(const char *host, uint16_t port, int flags, rn_io_addrs_t *addrs) {
    RN_ASSERT(host != NULL || (flags & AI_PASSIVE));
    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | flags;
    char port_str[8];
    snprintf(port_str, sizeof port_str, "%u", (unsigned)port);
    int rc = getaddrinfo(host, port_str, &hints, &list);
    if (rc == EAI_NONAME && (flags & AI_NUMERICHOST)) return RN_ERR_AGAIN;
    if (rc == EAI_MEMORY) return RN_ERR_NO_MEMORY;
    if (rc != 0) return RN_ERR_NOT_FOUND;
    rn_err_t err = addrs_from(list, addrs);
    freeaddrinfo(list);
    return err;
}

rn_err_t rn_resolve_blocking(const char *host, uint16_t port, int flags, rn_io_addrs_t *addrs) {
    return lookup(host, port, flags & ~AI_NUMERICHOST, addrs);
}

static void resolve_unref(rn_io_resolve_t *res) {
    int before = atomic_fetch_sub_explicit(&res->refs, 1, memory_order_acq_rel);
    RN_ASSERT(before >= 1);
    if (before == 1) free(res);
}

/* Runs one lookup on a resolver thread, unless its caller gave up on it
   while it waited in the queue. */
static void resolve_run(rn_io_resolve_t *res) {
    if (!atomic_load_explicit(&res->abandoned, memory_order_acquire)) {
        res->err = lookup(res->host, res->port, 0, &res->addrs);
        atomic_store_explicit(&res->done, true, memory_order_release);
    }
    resolve_unref(res);
}

static void *resolve_thread(void *arg) {
    resolve_pool_t *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->head) {
            pool->idle++;
            pthread_cond_wait(&pool->work, &pool->lock);
            pool->idle--;
        }
        rn_io_resolve_t *res = pool->head;
        pool->head = res->next;
        if (!pool->head) pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);
        resolve_run(res);
        pthread_mutex_lock(&pool->lock);
        pool->pending--;
    }
    return NULL; /* never: the threads live as long as the process */
}

/* One more resolver thread, blocking every signal (the broker's signal
   thread takes them); lock held. False if none could start. */
static bool pool_grow(resolve_pool_t *pool) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    bool ok = pthread_create(&thread, &attr, resolve_thread, pool) == 0;
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ok) pool->threads++;
    return ok;
}

/* Queues a lookup; a thread is started when none is idle. */
static rn_err_t pool_submit(resolve_pool_t *pool, rn_io_resolve_t *res) {
    pthread_mutex_lock(&pool->lock);
    if (pool->pending >= RN_IO_RESOLVE_PENDING_MAX) {
        pthread_mutex_unlock(&pool->lock);
        return RN_ERR_LIMIT;
    }
    if (pool->idle == 0 && pool->threads < RN_IO_RESOLVE_THREADS_MAX && !pool_grow(pool) &&
        pool->threads == 0) {
        pthread_mutex_unlock(&pool->lock);
        return RN_ERR_NO_MEMORY;
    }
    res->next = NULL;
    if (pool->tail)
        pool->tail->next = res;
    else
        pool->head = res;
    pool->tail = res;
    pool->pending++;
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->lock);
    return RN_OK;
}

rn_err_t rn_resolve_start(const char *host, uint16_t port, rn_io_addrs_t *addrs,
                          rn_io_resolve_t **res) {
    RN_ASSERT(host != NULL);
    *res = NULL;
    size_t len = strlen(host);
    if (len == 0 || len > RN_CONFIG_HOST_BYTES_MAX) return RN_ERR_NOT_FOUND;
    rn_err_t err = lookup(host, port, AI_NUMERICHOST, addrs);
    if (err != RN_ERR_AGAIN) return err;
    rn_io_resolve_t *r = calloc(1, sizeof *r);
    if (!r) return RN_ERR_NO_MEMORY;
    atomic_init(&r->refs, 2);
    atomic_init(&r->done, false);
    atomic_init(&r->abandoned, false);
    r->port = port;
    memcpy(r->host, host, len + 1);
    err = pool_submit(&resolve_pool, r);
    if (err != RN_OK) {
        free(r);
        return err;
    }
    *res = r;
    return RN_ERR_AGAIN;
}

rn_err_t rn_resolve_poll(rn_io_resolve_t *res, rn_io_addrs_t *addrs) {
    RN_ASSERT(res != NULL);
    RN_ASSERT(!atomic_load_explicit(&res->abandoned, memory_order_relaxed));
    if (!atomic_load_explicit(&res->done, memory_order_acquire)) return RN_ERR_AGAIN;
    if (res->err == RN_OK) *addrs = res->addrs;
    return res->err;
}

void rn_resolve_release(rn_io_resolve_t *res) {
    RN_ASSERT(res != NULL);
    atomic_store_explicit(&res->abandoned, true, memory_order_release);
    resolve_unref(res);
}
