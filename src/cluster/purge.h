/*
 * purge.h: removing a deleted topic's files, later and by themselves.
 *
 * Deleting a topic renames each of its partition directories at once to
 * "<topic>-<partition>.<topic id in hex>-delete" (as Kafka names them), so
 * the name is free for a new topic of the same name, and queues the renamed
 * directory here; its files are removed once file.delete.delay.ms has passed.
 * A retired partition's segments may still be pinned by a fetch being sent:
 * unlinked files stay readable through their descriptors, so removal never
 * waits for readers. Directories left by a stop before their time came are
 * removed at the next start.
 *
 * The queue is guarded by the node's admin lock; nothing here runs on the
 * data path.
 */
#ifndef RN_CLUSTER_PURGE_H
#define RN_CLUSTER_PURGE_H

#include "cluster/node.h"

/* Builds the retired name of a partition directory into out (dir plus
   ".<32 hex digits>-delete"); false if it does not fit. */
bool rn_purge_retired_name(char *out, size_t cap, const char *dir, const rn_uuid_t *topic_id);
/* Whether a directory entry name is a retired partition directory. */
bool rn_purge_is_retired_name(const char *name);
/* Removes a directory of plain files (a partition holds no subfolders). */
rn_err_t rn_purge_remove(rn_io_t *io, const char *dir);
/* Queues `dir` for removal at due_ms; admin_lock held. */
void rn_purge_later(rn_node_t *node, const char *dir, int64_t due_ms);
/* Removes every queued directory whose time has come; admin_lock held. */
void rn_purge_due(rn_node_t *node, int64_t now_ms);
/* Forgets the queue without removing anything (stop: the next start removes
   what is left). */
void rn_purge_drop_all(rn_node_t *node);
/* Removes retired directories under log_dir that a previous run left. */
void rn_purge_leftovers(rn_io_t *io, const char *log_dir);

#endif
