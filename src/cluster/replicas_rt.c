/*
 * replicas_rt.c: replication on the node's cores (see replicas_rt.h).
 */
#include "cluster/replicas_rt.h"
#include "base/assert.h"
#include "replication/fetcher.h"

static void replicas_appended(void *ctx, rn_partition_t *part) { rn_core_mark_dirty(ctx, part); }

void rn_replicas_rt_core_init(rn_core_t *core) {
    rn_fetchers_opts_t opts = {
        .loop = &core->loop,
        .node_id = core->node->settings.node_id,
        .wait_ms = RN_REPLICA_FETCH_WAIT_MS_DEFAULT,
        .partition_bytes = RN_REPLICA_FETCH_PARTITION_BYTES_DEFAULT,
        .response_bytes = RN_REPLICA_FETCH_RESPONSE_BYTES_DEFAULT,
        .backoff_ms = RN_REPLICA_FETCH_BACKOFF_MS_DEFAULT,
        .inflate = core->inflate,
        .appended = replicas_appended,
        .ctx = core,
    };
    core->fetchers = rn_fetchers_new(&opts);
    RN_ASSERT(core->fetchers != NULL);
}

void rn_replicas_rt_core_close(rn_core_t *core) {
    if (core->fetchers) rn_fetchers_close(core->fetchers);
}

void rn_replicas_rt_core_free(rn_core_t *core) {
    rn_fetchers_free(core->fetchers);
    core->fetchers = NULL;
}

void rn_replicas_rt_lead(rn_core_t *core, rn_partition_t *part,
                         const rn_partition_leadership_t *lead, const char *host, uint16_t port) {
    RN_ASSERT(part->owner == core->id);
    int64_t hw = rn_partition_hw(part);
    rn_partition_role_t role = rn_partition_lead(part, lead, core->loop.now_ms);
    if (role == RN_PARTITION_FOLLOWER && host[0])
        rn_fetchers_follow(core->fetchers, part, lead->leader, host, port);
    else
        rn_fetchers_unfollow(core->fetchers, part);
    if (rn_partition_hw(part) != hw) rn_node_poke_all(core->node);
}
