/*
 * io_sim.c: the simulator backend of io.h (see io_sim.h for the fault
 * model).
 *
 * Owns the whole simulated world: nodes, their files (inodes with a current
 * and a durable image plus the list of unsynced operations), their names,
 * their handles, and the messages in flight. Must never touch the real OS
 * (no clock, no file, no socket) nor keep state outside the rn_sim_t, and
 * must draw every random choice from the world's one PRNG, in a fixed order.
 */
#include "io/io_sim.h"

#include "base/assert.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SIM_PATH_BYTES_MAX 256
#define SIM_FDS_MAX 64
#define SIM_FD_BASE 100 /* handles look unlike small indexes */
#define SIM_WALL_EPOCH_MS 1700000000000LL

typedef struct sim_op {
    uint8_t truncate; /* 0: write */
    uint64_t off;     /* write offset, or new size */
    size_t len;
    uint8_t *data;
} sim_op_t;

typedef struct sim_inode {
    uint8_t *cur;
    size_t cur_len, cur_cap;
    uint8_t *dur;
    size_t dur_len;
    sim_op_t *ops; /* since the last sync, in order */
    uint32_t ops_n, ops_cap;
} sim_inode_t;

typedef struct sim_name {
    char path[SIM_PATH_BYTES_MAX];
    int is_dir;
    int cur; /* inode + 1 in the present namespace, 0: absent */
    int dur; /* inode + 1 in the durable namespace */
} sim_name_t;

typedef struct sim_fd {
    int inode; /* -1: free */
    unsigned flags;
} sim_fd_t;

typedef struct sim_node {
    rn_io_t io;
    rn_sim_t *sim;
    uint32_t id;
    sim_inode_t *inodes;
    uint32_t inodes_n, inodes_cap;
    sim_name_t *names;
    uint32_t names_n, names_cap;
    sim_fd_t fds[SIM_FDS_MAX];
    int64_t clock_base_global, clock_base_local;
    int32_t skew_ppm;
    uint32_t fail_ppm;
    uint32_t aim_skip[RN_SIM_FAULT__COUNT]; /* rn_sim_disk_fail_next */
    uint32_t aim_count[RN_SIM_FAULT__COUNT];
    rn_err_t aim_err[RN_SIM_FAULT__COUNT];
} sim_node_t;

typedef struct sim_msg {
    int64_t at;
    uint64_t seq;
    uint32_t from, to;
    uint8_t *data;
    size_t len;
} sim_msg_t;

struct rn_sim {
    uint64_t rng;
    int64_t now;
    uint32_t nodes_n;
    sim_node_t nodes[RN_SIM_NODES_MAX + 1];
    rn_sim_net_opts_t net;
    uint8_t cut[RN_SIM_NODES_MAX + 1][RN_SIM_NODES_MAX + 1];
    sim_msg_t *msgs;
    uint32_t msgs_n, msgs_cap;
    uint64_t seq;
    rn_sim_stats_t stats;
    struct {
        char name[RN_SIM_NAME_BYTES_MAX + 1];
        char ip[INET6_ADDRSTRLEN];
    } names[RN_SIM_NAMES_MAX];
    uint32_t names_n;
};

static const rn_io_ops_t sim_ops;

static sim_node_t *node_of(rn_io_t *io) {
    RN_ASSERT(io->ops == &sim_ops);
    return (sim_node_t *)io->impl;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    RN_ASSERT(q != NULL); /* the simulator is a test tool: out of memory is fatal */
    return q;
}

/* ---- world ---- */

rn_sim_t *rn_sim_create(uint64_t seed, uint32_t nodes_n) {
    RN_ASSERT(nodes_n >= 1 && nodes_n <= RN_SIM_NODES_MAX);
    rn_sim_t *sim = calloc(1, sizeof(*sim));
    RN_ASSERT(sim != NULL);
    sim->rng = seed;
    sim->nodes_n = nodes_n;
    sim->net.delay_min_ns = 1000000;
    sim->net.delay_max_ns = 5000000;
    for (uint32_t i = 1; i <= nodes_n; i++) {
        sim_node_t *n = &sim->nodes[i];
        n->io.ops = &sim_ops;
        n->io.impl = n;
        n->sim = sim;
        n->id = i;
        for (int f = 0; f < SIM_FDS_MAX; f++) n->fds[f].inode = -1;
    }
    return sim;
}

void rn_sim_destroy(rn_sim_t *sim) {
    if (!sim) return;
    for (uint32_t i = 1; i <= sim->nodes_n; i++) {
        sim_node_t *n = &sim->nodes[i];
        for (uint32_t k = 0; k < n->inodes_n; k++) {
            sim_inode_t *ino = &n->inodes[k];
            for (uint32_t o = 0; o < ino->ops_n; o++) free(ino->ops[o].data);
            free(ino->ops);
            free(ino->cur);
            free(ino->dur);
        }
        free(n->inodes);
        free(n->names);
    }
    for (uint32_t m = 0; m < sim->msgs_n; m++) free(sim->msgs[m].data);
    free(sim->msgs);
    free(sim);
}

rn_io_t *rn_sim_io(rn_sim_t *sim, uint32_t node) {
    RN_ASSERT(node >= 1 && node <= sim->nodes_n);
    return &sim->nodes[node].io;
}

uint32_t rn_sim_node_of(rn_io_t *io) { return node_of(io)->id; }
const rn_sim_stats_t *rn_sim_stats(const rn_sim_t *sim) { return &sim->stats; }

uint64_t rn_sim_random(rn_sim_t *sim) {
    uint64_t z = (sim->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t rn_sim_below(rn_sim_t *sim, uint64_t n) {
    RN_ASSERT(n > 0);
    return rn_sim_random(sim) % n;
}

int rn_sim_chance(rn_sim_t *sim, uint32_t ppm) {
    if (ppm == 0) return 0;
    return rn_sim_below(sim, 1000000) < ppm;
}

/* ---- time ---- */

int64_t rn_sim_now_ns(const rn_sim_t *sim) { return sim->now; }

void rn_sim_advance(rn_sim_t *sim, int64_t now_ns) {
    RN_ASSERT(now_ns >= sim->now);
    sim->now = now_ns;
}

static int64_t local_at(const sim_node_t *n, int64_t global) {
    int64_t d = global - n->clock_base_global;
    return n->clock_base_local + d + d / 1000000 * n->skew_ppm +
           (d % 1000000) * n->skew_ppm / 1000000;
}

int64_t rn_sim_node_clock_ns(const rn_sim_t *sim, uint32_t node) {
    return local_at(&sim->nodes[node], sim->now);
}

void rn_sim_clock_skew(rn_sim_t *sim, uint32_t node, int32_t skew_ppm) {
    RN_ASSERT(skew_ppm > -500000 && skew_ppm < 500000);
    sim_node_t *n = &sim->nodes[node];
    n->clock_base_local = local_at(n, sim->now);
    n->clock_base_global = sim->now;
    n->skew_ppm = skew_ppm;
}

int64_t rn_sim_global_at(const rn_sim_t *sim, uint32_t node, int64_t local_ns) {
    const sim_node_t *n = &sim->nodes[node];
    int64_t d = local_ns - n->clock_base_local;
    int64_t g = n->clock_base_global + d / (1000000 + n->skew_ppm) * 1000000 +
                (d % (1000000 + n->skew_ppm)) * 1000000 / (1000000 + n->skew_ppm);
    if (g < sim->now) g = sim->now;
    while (local_at(n, g) < local_ns) g++;
    return g;
}

static int64_t op_clock_mono_ns(rn_io_t *io) {
    sim_node_t *n = node_of(io);
    return local_at(n, n->sim->now);
}

static int64_t op_clock_wall_ms(rn_io_t *io) {
    return SIM_WALL_EPOCH_MS + op_clock_mono_ns(io) / 1000000;
}

static uint64_t op_random_u64(rn_io_t *io) { return rn_sim_random(node_of(io)->sim); }

/* ---- network ---- */

void rn_sim_net_set(rn_sim_t *sim, const rn_sim_net_opts_t *opts) {
    RN_ASSERT(opts->delay_min_ns >= 0 && opts->delay_max_ns >= opts->delay_min_ns);
    sim->net = *opts;
}

void rn_sim_link_cut(rn_sim_t *sim, uint32_t from, uint32_t to, int cut) {
    RN_ASSERT(from <= sim->nodes_n && to <= sim->nodes_n);
    sim->cut[from][to] = (uint8_t)(cut != 0);
}

void rn_sim_link_heal_all(rn_sim_t *sim) { memset(sim->cut, 0, sizeof(sim->cut)); }

int rn_sim_link_is_cut(const rn_sim_t *sim, uint32_t from, uint32_t to) {
    return sim->cut[from][to];
}

static void msg_enqueue(rn_sim_t *sim, uint32_t from, uint32_t to, const void *data, size_t len,
                        int stale) {
    if (sim->msgs_n == sim->msgs_cap) {
        sim->msgs_cap = sim->msgs_cap ? sim->msgs_cap * 2 : 64;
        sim->msgs = xrealloc(sim->msgs, sim->msgs_cap * sizeof(*sim->msgs));
    }
    sim_msg_t *m = &sim->msgs[sim->msgs_n++];
    int64_t span = sim->net.delay_max_ns - sim->net.delay_min_ns;
    if (stale) span = 4 * sim->net.delay_max_ns + 50000000; /* a copy that lingers */
    m->at = sim->now + sim->net.delay_min_ns +
            (span ? (int64_t)rn_sim_below(sim, (uint64_t)span + 1) : 0);
    m->seq = sim->seq++;
    m->from = from;
    m->to = to;
    m->len = len;
    m->data = xrealloc(NULL, len ? len : 1);
    memcpy(m->data, data, len);
}

rn_err_t rn_sim_send(rn_io_t *io, uint32_t to, const void *data, size_t len) {
    sim_node_t *n = node_of(io);
    rn_sim_t *sim = n->sim;
    RN_ASSERT(to >= 1 && to <= sim->nodes_n);
    sim->stats.msgs_sent++;
    if (sim->cut[n->id][to]) {
        sim->stats.msgs_cut++;
        return RN_OK;
    }
    if (rn_sim_chance(sim, sim->net.drop_ppm)) {
        sim->stats.msgs_dropped++;
        return RN_OK;
    }
    msg_enqueue(sim, n->id, to, data, len, 0);
    if (rn_sim_chance(sim, sim->net.dup_ppm)) {
        sim->stats.msgs_duplicated++;
        msg_enqueue(sim, n->id, to, data, len, 1);
    }
    return RN_OK;
}

static int64_t msg_earliest(const rn_sim_t *sim, uint32_t *at_index) {
    int64_t best = -1;
    uint64_t best_seq = 0;
    for (uint32_t i = 0; i < sim->msgs_n; i++) {
        const sim_msg_t *m = &sim->msgs[i];
        if (best < 0 || m->at < best || (m->at == best && m->seq < best_seq)) {
            best = m->at;
            best_seq = m->seq;
            *at_index = i;
        }
    }
    return best;
}

int64_t rn_sim_next_delivery(const rn_sim_t *sim) {
    uint32_t i = 0;
    return msg_earliest(sim, &i);
}

static void msg_remove(rn_sim_t *sim, uint32_t i) { sim->msgs[i] = sim->msgs[--sim->msgs_n]; }

int rn_sim_recv(rn_sim_t *sim, uint32_t *to, uint32_t *from, uint8_t **data, size_t *len) {
    for (;;) {
        uint32_t i = 0;
        int64_t at = msg_earliest(sim, &i);
        if (at < 0 || at > sim->now) return 0;
        sim_msg_t m = sim->msgs[i];
        msg_remove(sim, i);
        if (sim->cut[m.from][m.to]) { /* cut while in flight */
            sim->stats.msgs_cut++;
            free(m.data);
            continue;
        }
        *to = m.to;
        *from = m.from;
        *data = m.data;
        *len = m.len;
        return 1;
    }
}

void rn_sim_net_purge(rn_sim_t *sim, uint32_t node) {
    for (uint32_t i = 0; i < sim->msgs_n;) {
        if (sim->msgs[i].to == node) {
            free(sim->msgs[i].data);
            msg_remove(sim, i);
        } else {
            i++;
        }
    }
}

/* ---- disk: names ---- */

static void path_parent(const char *path, char *out) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    memcpy(out, path, n);
    out[n] = 0;
}

static sim_name_t *name_find(sim_node_t *n, const char *path) {
    for (uint32_t i = 0; i < n->names_n; i++)
        if (strcmp(n->names[i].path, path) == 0) return &n->names[i];
    return NULL;
}

static sim_name_t *name_get(sim_node_t *n, const char *path) {
    sim_name_t *nm = name_find(n, path);
    if (nm) return nm;
    RN_ASSERT(strlen(path) < SIM_PATH_BYTES_MAX);
    if (n->names_n == n->names_cap) {
        n->names_cap = n->names_cap ? n->names_cap * 2 : 16;
        n->names = xrealloc(n->names, n->names_cap * sizeof(*n->names));
    }
    nm = &n->names[n->names_n++];
    memset(nm, 0, sizeof(*nm));
    strcpy(nm->path, path);
    return nm;
}

static int dir_exists(sim_node_t *n, const char *path) {
    if (path[0] == 0 || strcmp(path, ".") == 0) return 1;
    sim_name_t *nm = name_find(n, path);
    return nm && nm->is_dir;
}

static int inode_new(sim_node_t *n) {
    if (n->inodes_n == n->inodes_cap) {
        n->inodes_cap = n->inodes_cap ? n->inodes_cap * 2 : 16;
        n->inodes = xrealloc(n->inodes, n->inodes_cap * sizeof(*n->inodes));
    }
    memset(&n->inodes[n->inodes_n], 0, sizeof(sim_inode_t));
    return (int)n->inodes_n++;
}

/* RN_OK, or the error of an aimed fault due on this call. */
static rn_err_t aimed(sim_node_t *n, rn_sim_fault_t kind) {
    if (n->aim_count[kind] == 0) return RN_OK;
    if (n->aim_skip[kind] > 0) {
        n->aim_skip[kind]--;
        return RN_OK;
    }
    n->aim_count[kind]--;
    n->sim->stats.io_errors++;
    return n->aim_err[kind];
}

static int fail_now(sim_node_t *n) {
    if (!rn_sim_chance(n->sim, n->fail_ppm)) return 0;
    n->sim->stats.io_errors++;
    return 1;
}

/* ---- disk: file contents ---- */

static void cur_reserve(sim_inode_t *ino, size_t len) {
    if (len <= ino->cur_cap) return;
    size_t cap = ino->cur_cap ? ino->cur_cap : 256;
    while (cap < len) cap *= 2;
    ino->cur = xrealloc(ino->cur, cap);
    ino->cur_cap = cap;
}

static void cur_resize(sim_inode_t *ino, size_t len) {
    cur_reserve(ino, len);
    if (len > ino->cur_len) memset(ino->cur + ino->cur_len, 0, len - ino->cur_len);
    ino->cur_len = len;
}

static void cur_write(sim_inode_t *ino, uint64_t off, const uint8_t *data, size_t len) {
    if (off + len > ino->cur_len) cur_resize(ino, (size_t)off + len);
    memcpy(ino->cur + off, data, len);
}

static void op_record(sim_inode_t *ino, uint8_t truncate, uint64_t off, const void *data,
                      size_t len) {
    if (ino->ops_n == ino->ops_cap) {
        ino->ops_cap = ino->ops_cap ? ino->ops_cap * 2 : 8;
        ino->ops = xrealloc(ino->ops, ino->ops_cap * sizeof(*ino->ops));
    }
    sim_op_t *op = &ino->ops[ino->ops_n++];
    op->truncate = truncate;
    op->off = off;
    op->len = len;
    op->data = NULL;
    if (len) {
        op->data = xrealloc(NULL, len);
        memcpy(op->data, data, len);
    }
}

static void ops_clear(sim_inode_t *ino) {
    for (uint32_t i = 0; i < ino->ops_n; i++) free(ino->ops[i].data);
    ino->ops_n = 0;
}

static void inode_sync(sim_inode_t *ino) {
    ino->dur = xrealloc(ino->dur, ino->cur_len ? ino->cur_len : 1);
    if (ino->cur_len) memcpy(ino->dur, ino->cur, ino->cur_len);
    ino->dur_len = ino->cur_len;
    ops_clear(ino);
}

/* After a crash: the durable image plus a random prefix of the unsynced
   operations, the next one possibly torn. */
static void inode_crash(rn_sim_t *sim, sim_inode_t *ino) {
    uint32_t keep = ino->ops_n ? (uint32_t)rn_sim_below(sim, ino->ops_n + 1) : 0;
    ino->cur_len = 0;
    cur_resize(ino, ino->dur_len);
    if (ino->dur_len) memcpy(ino->cur, ino->dur, ino->dur_len);
    for (uint32_t i = 0; i < keep; i++) {
        sim_op_t *op = &ino->ops[i];
        if (op->truncate)
            cur_resize(ino, (size_t)op->off);
        else
            cur_write(ino, op->off, op->data, op->len);
    }
    if (keep < ino->ops_n) {
        sim_op_t *op = &ino->ops[keep];
        sim->stats.writes_lost += ino->ops_n - keep;
        if (!op->truncate && op->len > 1 && rn_sim_chance(sim, 500000)) {
            cur_write(ino, op->off, op->data, (size_t)rn_sim_below(sim, op->len));
            sim->stats.writes_torn++;
        }
    }
    inode_sync(ino);
}

void rn_sim_crash(rn_sim_t *sim, uint32_t node) {
    sim_node_t *n = &sim->nodes[node];
    sim->stats.crashes++;
    for (int f = 0; f < SIM_FDS_MAX; f++) n->fds[f].inode = -1;
    for (uint32_t i = 0; i < n->names_n; i++) n->names[i].cur = n->names[i].dur;
    for (uint32_t k = 0; k < n->inodes_n; k++) inode_crash(sim, &n->inodes[k]);
}

void rn_sim_wipe(rn_sim_t *sim, uint32_t node) {
    sim_node_t *n = &sim->nodes[node];
    for (int f = 0; f < SIM_FDS_MAX; f++) n->fds[f].inode = -1;
    for (uint32_t i = 0; i < n->names_n; i++) {
        n->names[i].is_dir = 0;
        n->names[i].cur = n->names[i].dur = 0;
    }
}

void rn_sim_disk_fail(rn_sim_t *sim, uint32_t node, uint32_t ppm) {
    sim->nodes[node].fail_ppm = ppm;
}

void rn_sim_disk_fail_next(rn_sim_t *sim, uint32_t node, rn_sim_fault_t kind, uint32_t skip,
                           uint32_t count, rn_err_t err) {
    RN_ASSERT(node >= 1 && node <= sim->nodes_n);
    RN_ASSERT(kind < RN_SIM_FAULT__COUNT && err != RN_OK);
    sim->nodes[node].aim_skip[kind] = skip;
    sim->nodes[node].aim_count[kind] = count;
    sim->nodes[node].aim_err[kind] = err;
}

uint32_t rn_sim_open_files(const rn_sim_t *sim, uint32_t node) {
    uint32_t count = 0;
    for (int f = 0; f < SIM_FDS_MAX; f++) count += sim->nodes[node].fds[f].inode >= 0;
    return count;
}

/* ---- disk: ops ---- */

static sim_fd_t *fd_get(sim_node_t *n, rn_fd_t fd) {
    int i = fd - SIM_FD_BASE;
    RN_ASSERT(i >= 0 && i < SIM_FDS_MAX && n->fds[i].inode >= 0);
    return &n->fds[i];
}

static rn_err_t op_file_open(rn_io_t *io, const char *path, unsigned flags, rn_fd_t *fd) {
    sim_node_t *n = node_of(io);
    char parent[SIM_PATH_BYTES_MAX];
    if (strlen(path) >= SIM_PATH_BYTES_MAX) return RN_ERR_INVALID;
    if ((flags & (RN_IO_WRITE | RN_IO_CREATE)) && fail_now(n)) return RN_ERR_IO;
    rn_err_t aim = (flags & RN_IO_CREATE) ? aimed(n, RN_SIM_FAULT_CREATE) : RN_OK;
    if (aim != RN_OK) return aim;
    sim_name_t *nm = name_find(n, path);
    if (nm && nm->is_dir) return RN_ERR_INVALID;
    if (nm && nm->cur && (flags & RN_IO_CREATE) && (flags & RN_IO_EXCL)) return RN_ERR_EXISTS;
    if (!nm || !nm->cur) {
        path_parent(path, parent);
        if (!(flags & RN_IO_CREATE) || !dir_exists(n, parent)) return RN_ERR_NOT_FOUND;
        nm = name_get(n, path);
        nm->cur = inode_new(n) + 1;
    }
    int slot = -1;
    for (int f = 0; f < SIM_FDS_MAX && slot < 0; f++)
        if (n->fds[f].inode < 0) slot = f;
    if (slot < 0) return RN_ERR_LIMIT;
    n->fds[slot].inode = nm->cur - 1;
    n->fds[slot].flags = flags;
    sim_inode_t *ino = &n->inodes[nm->cur - 1];
    if ((flags & RN_IO_TRUNC) && ino->cur_len) {
        op_record(ino, 1, 0, NULL, 0);
        cur_resize(ino, 0);
    }
    *fd = slot + SIM_FD_BASE;
    return RN_OK;
}

static void op_file_close(rn_io_t *io, rn_fd_t fd) { fd_get(node_of(io), fd)->inode = -1; }

static rn_err_t op_file_pread(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, uint64_t off,
                              size_t *n_read) {
    sim_node_t *n = node_of(io);
    sim_inode_t *ino = &n->inodes[fd_get(n, fd)->inode];
    size_t have = off >= ino->cur_len ? 0 : ino->cur_len - (size_t)off;
    *n_read = have < len ? have : len;
    if (*n_read) memcpy(buf, ino->cur + off, *n_read);
    return RN_OK;
}

static rn_err_t op_file_pwritev(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                                uint64_t off) {
    sim_node_t *n = node_of(io);
    sim_fd_t *f = fd_get(n, fd);
    RN_ASSERT(f->flags & RN_IO_WRITE);
    if (fail_now(n)) return RN_ERR_IO;
    rn_err_t aim = aimed(n, RN_SIM_FAULT_WRITE);
    if (aim != RN_OK) return aim;
    size_t len = 0;
    for (int i = 0; i < iov_count; i++) len += iov[i].iov_len;
    uint8_t *flat = xrealloc(NULL, len ? len : 1);
    size_t pos = 0;
    for (int i = 0; i < iov_count; i++) {
        memcpy(flat + pos, iov[i].iov_base, iov[i].iov_len);
        pos += iov[i].iov_len;
    }
    sim_inode_t *ino = &n->inodes[f->inode];
    op_record(ino, 0, off, flat, len);
    cur_write(ino, off, flat, len);
    free(flat);
    return RN_OK;
}

static rn_err_t op_file_sync(rn_io_t *io, rn_fd_t fd) {
    sim_node_t *n = node_of(io);
    sim_fd_t *f = fd_get(n, fd);
    if (fail_now(n)) return RN_ERR_IO;
    rn_err_t aim = aimed(n, RN_SIM_FAULT_SYNC);
    if (aim != RN_OK) return aim;
    inode_sync(&n->inodes[f->inode]);
    return RN_OK;
}

static rn_err_t op_file_size(rn_io_t *io, rn_fd_t fd, uint64_t *size) {
    sim_node_t *n = node_of(io);
    *size = n->inodes[fd_get(n, fd)->inode].cur_len;
    return RN_OK;
}

static rn_err_t op_file_truncate(rn_io_t *io, rn_fd_t fd, uint64_t size) {
    sim_node_t *n = node_of(io);
    sim_fd_t *f = fd_get(n, fd);
    if (fail_now(n)) return RN_ERR_IO;
    rn_err_t aim = aimed(n, RN_SIM_FAULT_TRUNCATE);
    if (aim != RN_OK) return aim;
    sim_inode_t *ino = &n->inodes[f->inode];
    op_record(ino, 1, size, NULL, 0);
    cur_resize(ino, (size_t)size);
    return RN_OK;
}

static rn_err_t op_path_rename(rn_io_t *io, const char *from, const char *to) {
    sim_node_t *n = node_of(io);
    if (fail_now(n)) return RN_ERR_IO;
    sim_name_t *src = name_find(n, from);
    if (!src || !src->cur || src->is_dir) return RN_ERR_NOT_FOUND;
    char parent[SIM_PATH_BYTES_MAX];
    path_parent(to, parent);
    if (strlen(to) >= SIM_PATH_BYTES_MAX || !dir_exists(n, parent)) return RN_ERR_NOT_FOUND;
    int inode = src->cur;
    src->cur = 0;
    name_get(n, to)->cur = inode; /* may move the names array: src is stale now */
    return RN_OK;
}

static rn_err_t op_path_unlink(rn_io_t *io, const char *path) {
    sim_name_t *nm = name_find(node_of(io), path);
    if (!nm || !nm->cur || nm->is_dir) return RN_ERR_NOT_FOUND;
    nm->cur = 0;
    return RN_OK;
}

/* Directories are durable as soon as they exist (a simplification: the
   broker creates them once, at start-up). */
static rn_err_t op_dir_create(rn_io_t *io, const char *path) {
    sim_node_t *n = node_of(io);
    if (strlen(path) >= SIM_PATH_BYTES_MAX) return RN_ERR_INVALID;
    sim_name_t *nm = name_find(n, path);
    if (nm && nm->is_dir) return RN_OK;
    if (nm && nm->cur) return RN_ERR_EXISTS;
    char parent[SIM_PATH_BYTES_MAX];
    path_parent(path, parent);
    if (!dir_exists(n, parent)) return RN_ERR_NOT_FOUND;
    nm = name_get(n, path);
    nm->is_dir = 1;
    return RN_OK;
}

static int dir_has_children(sim_node_t *n, const char *path) {
    char parent[SIM_PATH_BYTES_MAX];
    for (uint32_t i = 0; i < n->names_n; i++) {
        if (!n->names[i].cur && !n->names[i].is_dir) continue;
        path_parent(n->names[i].path, parent);
        if (strcmp(parent, path) == 0) return 1;
    }
    return 0;
}

static rn_err_t op_dir_remove(rn_io_t *io, const char *path) {
    sim_node_t *n = node_of(io);
    sim_name_t *nm = name_find(n, path);
    if (!nm || !nm->is_dir) return RN_ERR_NOT_FOUND;
    if (dir_has_children(n, path)) return RN_ERR_INVALID;
    nm->is_dir = 0;
    nm->cur = nm->dur = 0;
    return RN_OK;
}

static rn_err_t op_dir_sync(rn_io_t *io, const char *path) {
    sim_node_t *n = node_of(io);
    if (!dir_exists(n, path)) return RN_ERR_NOT_FOUND;
    if (fail_now(n)) return RN_ERR_IO;
    char parent[SIM_PATH_BYTES_MAX];
    for (uint32_t i = 0; i < n->names_n; i++) {
        path_parent(n->names[i].path, parent);
        if (strcmp(parent, path) == 0) n->names[i].dur = n->names[i].cur;
    }
    return RN_OK;
}

/* The simulated disk has no size: nothing to report. */
static rn_err_t op_fs_space(rn_io_t *io, const char *path, uint64_t *total, uint64_t *usable) {
    (void)io;
    (void)path;
    (void)total;
    (void)usable;
    return RN_ERR_NOT_FOUND;
}

/* The simulated disk has no owners or file systems: nothing to report. */
static rn_err_t op_path_info(rn_io_t *io, const char *path, rn_io_path_info_t *info) {
    (void)io;
    (void)path;
    (void)info;
    return RN_ERR_NOT_FOUND;
}

static rn_err_t op_dir_list(rn_io_t *io, const char *path, rn_io_dir_fn fn, void *ctx) {
    sim_node_t *n = node_of(io);
    if (!dir_exists(n, path)) return RN_ERR_NOT_FOUND;
    char parent[SIM_PATH_BYTES_MAX];
    for (uint32_t i = 0; i < n->names_n; i++) {
        sim_name_t *nm = &n->names[i];
        if (!nm->cur && !nm->is_dir) continue;
        path_parent(nm->path, parent);
        if (strcmp(parent, path) != 0) continue;
        const char *base = nm->path + strlen(parent) + (parent[0] ? 1 : 0);
        if (fn(ctx, base)) break;
    }
    return RN_OK;
}

/* ---- names ---- */

void rn_sim_name_set(rn_sim_t *sim, const char *name, const char *ip) {
    RN_ASSERT(strlen(name) <= RN_SIM_NAME_BYTES_MAX);
    RN_ASSERT(ip == NULL || strlen(ip) < INET6_ADDRSTRLEN);
    uint32_t i = 0;
    while (i < sim->names_n && strcmp(sim->names[i].name, name) != 0) i++;
    if (!ip) {
        if (i < sim->names_n) sim->names[i] = sim->names[--sim->names_n];
        return;
    }
    if (i == sim->names_n) {
        RN_ASSERT(sim->names_n < RN_SIM_NAMES_MAX);
        strcpy(sim->names[sim->names_n++].name, name);
    }
    strcpy(sim->names[i].ip, ip);
}

/* A numeric host as a socket address (no OS involved); false if it is
   not an IPv4 or IPv6 literal. */
static bool sim_numeric(const char *host, uint16_t port, rn_io_addr_t *addr) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    if (inet_pton(AF_INET, host, &in4.sin_addr) == 1) {
        memcpy(addr->raw, &in4, sizeof in4);
        addr->len = sizeof in4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6.sin6_addr) == 1) {
        memcpy(addr->raw, &in6, sizeof in6);
        addr->len = sizeof in6;
        return true;
    }
    return false;
}

/* Answers at once: a numeric host, else the name table. */
static rn_err_t op_resolve_start(rn_io_t *io, const char *host, uint16_t port, rn_io_addrs_t *addrs,
                                 rn_io_resolve_t **res) {
    rn_sim_t *sim = node_of(io)->sim;
    *res = NULL;
    const char *ip = host;
    if (!sim_numeric(host, port, &addrs->addr[0])) {
        ip = NULL;
        for (uint32_t i = 0; i < sim->names_n && !ip; i++)
            if (strcmp(sim->names[i].name, host) == 0) ip = sim->names[i].ip;
        if (!ip || !sim_numeric(ip, port, &addrs->addr[0])) return RN_ERR_NOT_FOUND;
    }
    addrs->count = 1;
    return RN_OK;
}

/* No lookup is ever left running (see op_resolve_start). */
static rn_err_t op_resolve_poll(rn_io_t *io, rn_io_resolve_t *res, rn_io_addrs_t *addrs) {
    (void)io, (void)addrs;
    RN_ASSERT(res == NULL); /* never handed out */
    return RN_ERR_INVALID;
}

static void op_resolve_release(rn_io_t *io, rn_io_resolve_t *res) {
    (void)io;
    RN_ASSERT(res == NULL); /* never handed out */
}

/* ---- sockets and poller: not simulated yet (see io_sim.h) ---- */

static rn_err_t op_tcp_listen(rn_io_t *io, const char *host, uint16_t port, rn_fd_t *fd,
                              uint16_t *port_bound) {
    (void)io, (void)host, (void)port, (void)fd, (void)port_bound;
    return RN_ERR_INVALID;
}
static rn_err_t op_tcp_accept(rn_io_t *io, rn_fd_t listen_fd, rn_fd_t *fd) {
    (void)io, (void)listen_fd, (void)fd;
    return RN_ERR_INVALID;
}
static rn_err_t op_sock_peer(rn_io_t *io, rn_fd_t fd, char *host, size_t host_cap, uint16_t *port) {
    (void)io, (void)fd, (void)host, (void)host_cap, (void)port;
    return RN_ERR_INVALID;
}
static rn_err_t op_tcp_connect(rn_io_t *io, const rn_io_addr_t *addr, rn_fd_t *fd) {
    (void)io, (void)addr, (void)fd;
    return RN_ERR_INVALID;
}
static rn_err_t op_sock_read(rn_io_t *io, rn_fd_t fd, void *buf, size_t len, size_t *n) {
    (void)io, (void)fd, (void)buf, (void)len, (void)n;
    return RN_ERR_INVALID;
}
static rn_err_t op_sock_writev(rn_io_t *io, rn_fd_t fd, const struct iovec *iov, int iov_count,
                               size_t *n) {
    (void)io, (void)fd, (void)iov, (void)iov_count, (void)n;
    return RN_ERR_INVALID;
}
static rn_err_t op_sock_sendfile(rn_io_t *io, rn_fd_t fd, rn_fd_t file_fd, uint64_t off, size_t len,
                                 size_t *n) {
    (void)io, (void)fd, (void)file_fd, (void)off, (void)len, (void)n;
    return RN_ERR_INVALID;
}
static void op_sock_close(rn_io_t *io, rn_fd_t fd) { (void)io, (void)fd; }
static rn_err_t op_poller_create(rn_io_t *io, rn_fd_t *poller) {
    (void)io, (void)poller;
    return RN_ERR_INVALID;
}
static void op_poller_close(rn_io_t *io, rn_fd_t poller) { (void)io, (void)poller; }
static rn_err_t op_poller_set(rn_io_t *io, rn_fd_t poller, rn_fd_t fd, uint32_t events, void *ctx) {
    (void)io, (void)poller, (void)fd, (void)events, (void)ctx;
    return RN_ERR_INVALID;
}
static int op_poller_wait(rn_io_t *io, rn_fd_t poller, rn_io_event_t *events, int events_max,
                          int timeout_ms) {
    (void)io, (void)poller, (void)events, (void)events_max, (void)timeout_ms;
    return 0;
}
static rn_err_t op_waker_create(rn_io_t *io, rn_fd_t *fd) {
    (void)io, (void)fd;
    return RN_ERR_INVALID;
}
static void op_waker_signal(rn_io_t *io, rn_fd_t fd) { (void)io, (void)fd; }
static void op_waker_drain(rn_io_t *io, rn_fd_t fd) { (void)io, (void)fd; }
static void op_cpu_yield(rn_io_t *io) { (void)io; }

static const rn_io_ops_t sim_ops = {
    .clock_mono_ns = op_clock_mono_ns,
    .clock_wall_ms = op_clock_wall_ms,
    .random_u64 = op_random_u64,
    .file_open = op_file_open,
    .file_close = op_file_close,
    .file_pread = op_file_pread,
    .file_pwritev = op_file_pwritev,
    .file_sync = op_file_sync,
    .file_size = op_file_size,
    .file_truncate = op_file_truncate,
    .path_rename = op_path_rename,
    .path_unlink = op_path_unlink,
    .dir_create = op_dir_create,
    .dir_remove = op_dir_remove,
    .dir_sync = op_dir_sync,
    .fs_space = op_fs_space,
    .path_info = op_path_info,
    .dir_list = op_dir_list,
    .tcp_listen = op_tcp_listen,
    .tcp_accept = op_tcp_accept,
    .sock_peer = op_sock_peer,
    .tcp_connect = op_tcp_connect,
    .sock_read = op_sock_read,
    .sock_writev = op_sock_writev,
    .sock_sendfile = op_sock_sendfile,
    .sock_close = op_sock_close,
    .resolve_start = op_resolve_start,
    .resolve_poll = op_resolve_poll,
    .resolve_release = op_resolve_release,
    .poller_create = op_poller_create,
    .poller_close = op_poller_close,
    .poller_set = op_poller_set,
    .poller_wait = op_poller_wait,
    .waker_create = op_waker_create,
    .waker_signal = op_waker_signal,
    .waker_drain = op_waker_drain,
    .cpu_yield = op_cpu_yield,
};
