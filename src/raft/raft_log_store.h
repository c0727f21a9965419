/*
 * raft_log_store.h: the Raft node's durable state, through the I/O seam.
 *
 * One directory holds three files:
 *   state     term and vote, replaced atomically (rn_io_write_atomic)
 *   snapshot  the latest snapshot, replaced atomically
 *   log       a header naming the entry just before the first record, then
 *             length + CRC-32C framed entries, appended and synced
 *
 * After a crash at any point, opening the store yields a prefix of what was
 * written to the log and never bytes that were not (a torn or corrupt tail
 * is cut at the first bad record), the last state written atomically (a
 * persisted vote is never forgotten), and the last snapshot.
 *
 * The store does no Raft reasoning: it stores what rn_raft_ready hands it.
 * Every function returns an operating error from the seam (RN_ERR_IO, ...);
 * after any error the caller must treat the node as crashed and reopen.
 */
#ifndef RN_RAFT_RAFT_LOG_STORE_H
#define RN_RAFT_RAFT_LOG_STORE_H

#include "io/io.h"
#include "raft/raft.h"

typedef struct rn_raft_store rn_raft_store_t;

/* Opens (creating if needed) the store in dir, recovering after a crash. */
rn_err_t rn_raft_store_open(rn_io_t *io, const char *dir, rn_raft_store_t **out);
void rn_raft_store_close(rn_raft_store_t *st);

/* What was recovered, for rn_raft_create; valid until boot_release. The
   caller sets boot->config (used only when there is no snapshot). */
void rn_raft_store_boot(const rn_raft_store_t *st, rn_raft_boot_t *boot);
void rn_raft_store_boot_release(rn_raft_store_t *st);

rn_err_t rn_raft_store_save_state(rn_raft_store_t *st, uint64_t term, rn_raft_id_t vote);
/* Cuts the log after entries[0].index - 1, appends the entries, syncs. */
rn_err_t rn_raft_store_append(rn_raft_store_t *st, const rn_raft_entry_t *entries, uint32_t n);
/* Saves the snapshot, then drops the log entries it covers (keeping the ones
   after it only if the log agrees with it at its index). */
rn_err_t rn_raft_store_save_snapshot(rn_raft_store_t *st, const rn_raft_snapshot_t *snap);

uint64_t rn_raft_store_last_index(const rn_raft_store_t *st);
/* Term of the stored entry at index (0: not stored), and the durable term
   and vote: what a restart would recover. */
uint64_t rn_raft_store_term_at(const rn_raft_store_t *st, uint64_t index);
void rn_raft_store_state(const rn_raft_store_t *st, uint64_t *term, rn_raft_id_t *vote);

#endif
