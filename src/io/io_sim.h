/*
 * io_sim.h: the simulator backend of the I/O seam (io.h).
 *
 * One rn_sim_t is a whole simulated world: a global virtual time, one seeded
 * PRNG, an in-memory network between nodes and one in-memory disk per node.
 * Each node gets its own rn_io_t (rn_sim_io); io->impl points at that node's
 * state inside the world. Nothing here reads the real clock, the real disk or
 * global state, so the same seed gives the same run, byte for byte.
 *
 * Fault model:
 *   network  messages are delayed (uniformly, hence reordered), dropped and
 *            duplicated with configurable rates (a duplicate may linger up
 *            to four times the maximum delay plus 50 ms, arriving stale); any directed link can be
 * cut (a message on a cut link is lost, also one already in flight). disk     writes, truncates and
 * namespace changes (create, rename, unlink) live in memory until file_sync / dir_sync make them
 *            durable. rn_sim_crash loses what was not made durable; of the
 *            unsynced writes of a file, a random prefix survives and the
 *            next one may be torn (a prefix of its bytes). I/O errors can be
 *            injected on writes, syncs and opens at a rate.
 *   clock    each node's monotonic clock runs at its own rate (parts per
 *            million of skew) from its own offset.
 *   names    lookups answer at once, from the world's own name table (set
 *            with rn_sim_name_set; a name not in it does not resolve yet),
 *            and numeric hosts (IPv4 or IPv6 literals) convert directly: no
 *            lookup is ever left running, so a run stays deterministic.
 *
 * The stream-socket and poller ops of rn_io_ops_t are not simulated yet: they
 * return RN_ERR_INVALID (and poller_wait returns 0). Raft and its harness use
 * the message-oriented transport below, which is part of this backend.
 */
#ifndef RN_IO_IO_SIM_H
#define RN_IO_IO_SIM_H

#include "io/io.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rn_sim rn_sim_t;

/* Nodes are numbered 1..nodes_n. */
#define RN_SIM_NODES_MAX 16

typedef struct rn_sim_net_opts {
    uint32_t drop_ppm; /* per message, parts per million */
    uint32_t dup_ppm;  /* per message */
    int64_t delay_min_ns;
    int64_t delay_max_ns;
} rn_sim_net_opts_t;

typedef struct rn_sim_stats {
    uint64_t msgs_sent;
    uint64_t msgs_dropped;
    uint64_t msgs_duplicated;
    uint64_t msgs_cut;
    uint64_t crashes;
    uint64_t writes_lost;
    uint64_t writes_torn;
    uint64_t io_errors;
} rn_sim_stats_t;

rn_sim_t *rn_sim_create(uint64_t seed, uint32_t nodes_n);
void rn_sim_destroy(rn_sim_t *sim);
rn_io_t *rn_sim_io(rn_sim_t *sim, uint32_t node);
uint32_t rn_sim_node_of(rn_io_t *io);
const rn_sim_stats_t *rn_sim_stats(const rn_sim_t *sim);

/* The world's PRNG (the same stream random_u64 serves every node). */
uint64_t rn_sim_random(rn_sim_t *sim);
/* A uniform value in [0, n); n > 0. */
uint64_t rn_sim_below(rn_sim_t *sim, uint64_t n);
/* 1 with probability ppm / 1e6. */
int rn_sim_chance(rn_sim_t *sim, uint32_t ppm);

/* ---- time ---- */
int64_t rn_sim_now_ns(const rn_sim_t *sim);         /* global (true) time */
void rn_sim_advance(rn_sim_t *sim, int64_t now_ns); /* never backwards */
/* Sets a node's clock rate skew (ppm, may be negative) keeping its reading
   continuous at the present instant. */
void rn_sim_clock_skew(rn_sim_t *sim, uint32_t node, int32_t skew_ppm);
int64_t rn_sim_node_clock_ns(const rn_sim_t *sim, uint32_t node);
/* The earliest global time at which node's clock reads at least local_ns. */
int64_t rn_sim_global_at(const rn_sim_t *sim, uint32_t node, int64_t local_ns);

/* ---- network (message-oriented) ---- */
void rn_sim_net_set(rn_sim_t *sim, const rn_sim_net_opts_t *opts);
/* Cuts (cut = 1) or heals the directed link from -> to. */
void rn_sim_link_cut(rn_sim_t *sim, uint32_t from, uint32_t to, int cut);
void rn_sim_link_heal_all(rn_sim_t *sim);
int rn_sim_link_is_cut(const rn_sim_t *sim, uint32_t from, uint32_t to);
/* Queues a copy of data from io's node to node `to`, subject to faults. */
rn_err_t rn_sim_send(rn_io_t *io, uint32_t to, const void *data, size_t len);
/* Global time of the next delivery, or -1 if nothing is in flight. */
int64_t rn_sim_next_delivery(const rn_sim_t *sim);
/* Pops the next message due at or before now: sets to/from and hands over
   the bytes (*data is malloc'd; the caller frees). 0 when none is due. */
int rn_sim_recv(rn_sim_t *sim, uint32_t *to, uint32_t *from, uint8_t **data, size_t *len);
/* Drops every message in flight to node (it crashed). */
void rn_sim_net_purge(rn_sim_t *sim, uint32_t node);

/* ---- names ---- */
/* Names the world's lookups know, shared by every node. */
#define RN_SIM_NAMES_MAX 32
#define RN_SIM_NAME_BYTES_MAX 63
/* Publishes name as the numeric address ip (IPv4 or IPv6 literal), or
   withdraws it (ip NULL): later lookups of it fail with RN_ERR_NOT_FOUND. */
void rn_sim_name_set(rn_sim_t *sim, const char *name, const char *ip);

/* ---- disk ---- */
/* Loses node's unsynced writes and namespace changes, maybe tears the last
   surviving write of each file, and closes its handles. */
void rn_sim_crash(rn_sim_t *sim, uint32_t node);
/* Empties node's disk (every file and directory; its handles closed), as
   a replaced or reformatted disk. */
void rn_sim_wipe(rn_sim_t *sim, uint32_t node);
/* I/O errors on writes, syncs, truncates, renames and opens for writing. */
void rn_sim_disk_fail(rn_sim_t *sim, uint32_t node, uint32_t ppm);
/* Aimed faults, for tests of one failure: the next `count` calls of one
   kind on node fail with `err` (RN_ERR_IO, RN_ERR_NO_SPACE, RN_ERR_LIMIT
   for EMFILE, ...) after `skip` more such calls have succeeded. */
typedef enum rn_sim_fault {
    RN_SIM_FAULT_WRITE,    /* file_pwritev */
    RN_SIM_FAULT_SYNC,     /* file_sync */
    RN_SIM_FAULT_CREATE,   /* file_open with RN_IO_CREATE */
    RN_SIM_FAULT_TRUNCATE, /* file_truncate */
    RN_SIM_FAULT__COUNT
} rn_sim_fault_t;
void rn_sim_disk_fail_next(rn_sim_t *sim, uint32_t node, rn_sim_fault_t kind, uint32_t skip,
                           uint32_t count, rn_err_t err);
/* Open handles of node (a leak check). */
uint32_t rn_sim_open_files(const rn_sim_t *sim, uint32_t node);

#endif
