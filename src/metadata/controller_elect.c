/*
 * controller_elect.c: the controller's leader elections (see controller.h):
 * a client's ElectLeaders (preferred or unclean, named partitions or all),
 * the automatic preferred-leader election of an imbalanced cluster, and
 * unclean elections for leaderless partitions whose topic allows them.
 *
 * Pure: reads an image, appends PartitionChangeRecords, does no I/O and
 * reads no clock; the one side effect is the WARN line of an unclean
 * election, written when it is planned. Owns nothing but the reply lists
 * of rn_ctl_plan_elect_leaders, which the caller frees.
 */
#include "base/assert.h"
#include "base/log.h"
#include "metadata/controller_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "controller"

static bool elect_has(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++) {
        if (ids[n] == id) return true;
    }
    return false;
}

int32_t rn_ctl_first_usable(const rn_image_t *img, const rn_image_partition_t *part,
                            const int32_t *isr, int16_t isr_count, int32_t gone, int32_t coming) {
    RN_ASSERT(part->replica_count >= 0 && part->replica_count <= RN_REPLICAS_MAX);
    for (int16_t n = 0; n < part->replica_count; n++) {
        int32_t id = part->replicas[n];
        if (id == gone || (isr && !elect_has(isr, isr_count, id))) continue;
        if (id == coming || rn_image_broker_usable(rn_image_broker(img, id))) return id;
    }
    return -1;
}

static void elect_ids_text(const int32_t *ids, int16_t count, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int16_t n = 0; n < count && len < cap; n++)
        len += (size_t)snprintf(out + len, cap - len, "%s%d", n ? "," : "", ids[n]);
}

void rn_ctl_unclean_elect(const rn_image_topic_t *topic, int32_t index, int32_t leader,
                          rn_md_record_t *rec) {
    const rn_image_partition_t *part = &topic->partitions[index];
    RN_ASSERT(rec->type == RN_MD_PARTITION_CHANGE);
    RN_ASSERT(elect_has(part->replicas, part->replica_count, leader));
    rn_md_partition_change_record_t *pc = &rec->u.partition_change;
    pc->leader = leader;
    pc->isr_count = 1;
    pc->isr[0] = leader;
    char isr[RN_REPLICAS_MAX * 12], was[24] = "none";
    elect_ids_text(part->isr, part->isr_count, isr, sizeof isr);
    if (part->leader >= 0) snprintf(was, sizeof was, "broker %d", part->leader);
    RN_WARN(MOD,
            "unclean leader election for %s-%d: broker %d leads with the ISR [%d], chosen "
            "outside the ISR [%s] (the leader was %s); records that the old ISR held and broker "
            "%d lacks are lost",
            topic->name, index, leader, leader, isr, was, leader);
}

/* ---- one partition ---- */

/* An election's outcome: Kafka's code, and for NONE the new leader. */
typedef struct elect_choice {
    int16_t code;
    int32_t leader;
    bool unclean; /* from outside the ISR: the ISR becomes the leader alone */
} elect_choice_t;

static bool elect_usable_member(const rn_image_t *img, const rn_image_partition_t *part,
                                int32_t id) {
    return id >= 0 && elect_has(part->isr, part->isr_count, id) &&
           rn_image_broker_usable(rn_image_broker(img, id));
}

/* Kafka's preferred election: the preferred replica; else the leader if it
   may stay; else the first usable ISR member. */
static elect_choice_t elect_preferred(const rn_image_t *img, const rn_image_partition_t *part) {
    RN_ASSERT(part->replica_count >= 1);
    int32_t preferred = part->replicas[0];
    if (part->leader == preferred) return (elect_choice_t){RN_KERR_ELECTION_NOT_NEEDED, -1, false};
    int32_t leader = -1;
    if (elect_usable_member(img, part, preferred))
        leader = preferred;
    else if (!elect_usable_member(img, part, part->leader))
        leader = rn_ctl_first_usable(img, part, part->isr, part->isr_count, -1, -1);
    if (leader < 0 || leader == part->leader)
        return (elect_choice_t){RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE, -1, false};
    return (elect_choice_t){RN_KERR_NONE, leader, false};
}

/* Kafka's unclean election, for a partition without a leader: a usable ISR
   member, else the first usable replica. */
static elect_choice_t elect_unclean(const rn_image_t *img, const rn_image_partition_t *part) {
    if (part->leader >= 0) return (elect_choice_t){RN_KERR_ELECTION_NOT_NEEDED, -1, false};
    int32_t leader = rn_ctl_first_usable(img, part, part->isr, part->isr_count, -1, -1);
    if (leader >= 0) return (elect_choice_t){RN_KERR_NONE, leader, false};
    leader = rn_ctl_first_usable(img, part, NULL, 0, -1, -1);
    if (leader < 0) return (elect_choice_t){RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE, -1, false};
    return (elect_choice_t){RN_KERR_NONE, leader, true};
}

static elect_choice_t elect_decide(const rn_image_t *img, const rn_image_topic_t *topic,
                                   int32_t index, int8_t type) {
    RN_ASSERT(index >= 0 && index < topic->partition_count);
    const rn_image_partition_t *part = &topic->partitions[index];
    return type == RN_CTL_ELECT_UNCLEAN ? elect_unclean(img, part) : elect_preferred(img, part);
}

/* The change a NONE choice records (an unclean one says so in the log). */
static rn_md_record_t elect_record(const rn_image_topic_t *topic, int32_t index,
                                   const elect_choice_t *choice) {
    RN_ASSERT(choice->code == RN_KERR_NONE && choice->leader >= 0);
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_PARTITION_CHANGE;
    rec.u.partition_change.topic_id = topic->id;
    rec.u.partition_change.partition = index;
    rec.u.partition_change.leader = choice->leader;
    rec.u.partition_change.isr_count = RN_MD_LIST_NO_CHANGE;
    rec.u.partition_change.replica_count = RN_MD_LIST_NO_CHANGE;
    if (choice->unclean) rn_ctl_unclean_elect(topic, index, choice->leader, &rec);
    return rec;
}

/* ---- ElectLeaders ---- */

/* One walk over what the request names: the first only counts (reply
   lists NULL), the second fills the lists and appends the records. */
typedef struct elect_walk {
    const rn_image_t *img;
    const rn_ctl_elect_request_t *req;
    rn_ctl_elect_reply_t *reply;
    rn_md_batch_t *batch; /* NULL: counting */
    int32_t topics, results, elected;
    size_t name_bytes;
    rn_err_t err;
} elect_walk_t;

static void walk_topic(elect_walk_t *w, const char *name, size_t len) {
    if (w->batch) {
        rn_ctl_elect_topic_result_t *t = &w->reply->topics[w->topics];
        char *at = w->reply->names + w->name_bytes;
        memcpy(at, name, len);
        at[len] = '\0';
        *t = (rn_ctl_elect_topic_result_t){at, w->results, 0};
    }
    w->topics++;
    w->name_bytes += len + 1;
}

static void walk_result(elect_walk_t *w, const rn_image_topic_t *topic, int32_t partition,
                        const elect_choice_t *choice, bool no_topic) {
    if (choice->code == RN_KERR_NONE) w->elected++;
    if (!w->batch) {
        w->results++;
        return;
    }
    w->reply->results[w->results++] = (rn_ctl_elect_result_t){partition, choice->code, no_topic};
    w->reply->topics[w->topics - 1].count++;
    if (choice->code != RN_KERR_NONE || w->err != RN_OK) return;
    rn_md_record_t rec = elect_record(topic, partition, choice);
    w->err = rn_md_batch_add(w->batch, &rec);
}

static void walk_partition(elect_walk_t *w, const rn_image_topic_t *topic, int32_t index,
                           bool listed) {
    if (!topic || index < 0 || index >= topic->partition_count) {
        elect_choice_t unknown = {RN_KERR_UNKNOWN_TOPIC_OR_PARTITION, -1, false};
        walk_result(w, topic, index, &unknown, !topic);
        return;
    }
    elect_choice_t choice = elect_decide(w->img, topic, index, w->req->election_type);
    if (listed || choice.code != RN_KERR_ELECTION_NOT_NEEDED)
        walk_result(w, topic, index, &choice, false);
}

static void walk_listed(elect_walk_t *w) {
    for (int32_t t = 0; t < w->req->topic_count; t++) {
        const rn_ctl_elect_topic_t *in = &w->req->topics[t];
        size_t len = in->name.len > 0 ? (size_t)in->name.len : 0;
        const rn_image_topic_t *topic = len ? rn_image_topic(w->img, in->name.ptr, len) : NULL;
        walk_topic(w, in->name.ptr, len);
        for (int32_t p = 0; p < in->count; p++) walk_partition(w, topic, in->partitions[p], true);
    }
}

static void walk_all(elect_walk_t *w) {
    for (int32_t t = 0; t < rn_image_topic_count(w->img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(w->img, t);
        walk_topic(w, topic->name, topic->name_len);
        for (int32_t p = 0; p < topic->partition_count; p++) walk_partition(w, topic, p, false);
    }
}

static void elect_walk(elect_walk_t *w) {
    w->topics = w->results = w->elected = 0;
    w->name_bytes = 0;
    if (w->req->topics)
        walk_listed(w);
    else
        walk_all(w);
}

void rn_ctl_elect_reply_free(rn_ctl_elect_reply_t *reply) {
    free(reply->topics);
    free(reply->results);
    free(reply->names);
    reply->topics = NULL;
    reply->results = NULL;
    reply->names = NULL;
    reply->topic_count = reply->result_count = 0;
}

static bool elect_reply_alloc(rn_ctl_elect_reply_t *reply, const elect_walk_t *w) {
    reply->topics = calloc((size_t)w->topics + 1, sizeof(*reply->topics));
    reply->results = calloc((size_t)w->results + 1, sizeof(*reply->results));
    reply->names = malloc(w->name_bytes + 1);
    if (reply->topics && reply->results && reply->names) return true;
    rn_ctl_elect_reply_free(reply);
    return false;
}

rn_err_t rn_ctl_plan_elect_leaders(const rn_image_t *img, const rn_ctl_elect_request_t *req,
                                   rn_ctl_elect_reply_t *reply, rn_md_batch_t *batch) {
    RN_ASSERT(!req->automatic);
    RN_ASSERT(!req->topics || req->topic_count >= 0);
    memset(reply, 0, sizeof(*reply));
    if (req->election_type != RN_CTL_ELECT_PREFERRED &&
        req->election_type != RN_CTL_ELECT_UNCLEAN) {
        rn_ctl_result_set(&reply->result, RN_KERR_INVALID_REQUEST, "Unknown election type %d",
                          (int)req->election_type);
        return RN_OK;
    }
    elect_walk_t w = {.img = img, .req = req, .reply = reply};
    elect_walk(&w);
    if (w.elected > RN_ELECTIONS_MAX) {
        rn_ctl_result_set(&reply->result, RN_KERR_UNKNOWN_SERVER_ERROR,
                          "The request would elect %d leaders; at most %d may change at once.",
                          w.elected, RN_ELECTIONS_MAX);
        return RN_OK;
    }
    if (!elect_reply_alloc(reply, &w)) {
        rn_ctl_result_set(&reply->result, RN_KERR_UNKNOWN_SERVER_ERROR,
                          "Out of memory for the election results.");
        return RN_ERR_NO_MEMORY;
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    w.batch = batch;
    elect_walk(&w);
    reply->topic_count = w.topics;
    reply->result_count = w.results;
    reply->elected = w.elected;
    if (w.err != RN_OK) {
        batch->buf.len = len;
        batch->count = count;
        rn_ctl_elect_reply_free(reply);
        rn_ctl_result_set(&reply->result, RN_KERR_UNKNOWN_SERVER_ERROR,
                          "The elections cannot be recorded: %s.", rn_err_name(w.err));
    }
    return w.err;
}

const char *rn_ctl_elect_message(const rn_ctl_elect_result_t *res, const char *topic, char *buf,
                                 size_t cap) {
    switch (res->error_code) {
    case RN_KERR_NONE:
        return NULL;
    case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
        if (res->no_topic)
            snprintf(buf, cap, "No such topic as %s", topic);
        else
            snprintf(buf, cap, "No such partition as %s-%d", topic, res->partition);
        return buf;
    case RN_KERR_ELECTION_NOT_NEEDED:
        return "Leader election not needed for topic partition.";
    case RN_KERR_PREFERRED_LEADER_NOT_AVAILABLE:
        return "The preferred leader was not available.";
    case RN_KERR_ELIGIBLE_LEADERS_NOT_AVAILABLE:
        return "Eligible topic partition leaders are not available.";
    default:
        return rn_kerr_name(res->error_code);
    }
}

/* ---- automatic elections ---- */

static int32_t balance_find(const rn_ctl_balance_t *out, int32_t count, int32_t id) {
    int32_t lo = 0, hi = count;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (out[mid].broker_id == id) return mid;
        if (out[mid].broker_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int32_t rn_ctl_leader_balance(const rn_image_t *img, rn_ctl_balance_t *out) {
    int32_t count = rn_image_broker_count(img);
    RN_ASSERT(count <= RN_CTL_BROKERS_MAX);
    for (int32_t n = 0; n < count; n++)
        out[n] = (rn_ctl_balance_t){rn_image_broker_at(img, n)->id, 0, 0};
    for (int32_t t = 0; t < rn_image_topic_count(img); t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            int32_t at = balance_find(out, count, part->replicas[0]);
            if (at < 0) continue; /* a replica no longer registered: it cannot lead */
            out[at].preferred++;
            out[at].not_led += part->leader != part->replicas[0];
        }
    }
    return count;
}

bool rn_ctl_imbalanced(const rn_ctl_balance_t *balance, int32_t percentage) {
    RN_ASSERT(balance->not_led >= 0 && balance->not_led <= balance->preferred);
    return balance->not_led > 0 &&
           (int64_t)balance->not_led * 100 > (int64_t)percentage * balance->preferred;
}

/* One more change of an automatic pass, unless max were made already
   (then *more). The record is built only when it goes in: an unclean one
   logs. */
static rn_err_t elect_pass_add(const rn_image_topic_t *topic, int32_t index,
                               const elect_choice_t *choice, int32_t max, rn_md_batch_t *batch,
                               int32_t *elected, bool *more) {
    if (*elected >= max) {
        *more = true;
        return RN_OK;
    }
    rn_md_record_t rec = elect_record(topic, index, choice);
    rn_err_t err = rn_md_batch_add(batch, &rec);
    if (err == RN_OK) (*elected)++;
    return err;
}

rn_err_t rn_ctl_plan_rebalance(const rn_image_t *img, int32_t percentage, int32_t max,
                               rn_md_batch_t *batch, int32_t *elected, bool *more) {
    RN_ASSERT(max > 0 && max <= RN_ELECTIONS_MAX);
    rn_ctl_balance_t balance[RN_CTL_BROKERS_MAX];
    int32_t brokers = rn_ctl_leader_balance(img, balance);
    *elected = 0;
    *more = false;
    rn_err_t err = RN_OK;
    for (int32_t t = 0; t < rn_image_topic_count(img) && err == RN_OK && !*more; t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        for (int32_t p = 0; p < topic->partition_count && err == RN_OK && !*more; p++) {
            const rn_image_partition_t *part = &topic->partitions[p];
            int32_t preferred = part->replicas[0];
            int32_t at = balance_find(balance, brokers, preferred);
            if (at < 0 || part->leader == preferred || !rn_ctl_imbalanced(&balance[at], percentage))
                continue;
            if (!elect_usable_member(img, part, preferred)) continue;
            elect_choice_t choice = {RN_KERR_NONE, preferred, false};
            err = elect_pass_add(topic, p, &choice, max, batch, elected, more);
        }
    }
    return err;
}

rn_err_t rn_ctl_plan_unclean(const rn_image_t *img, int32_t max, rn_md_batch_t *batch,
                             int32_t *elected, bool *more) {
    RN_ASSERT(max > 0 && max <= RN_ELECTIONS_MAX);
    *elected = 0;
    *more = false;
    rn_err_t err = RN_OK;
    for (int32_t t = 0; t < rn_image_topic_count(img) && err == RN_OK && !*more; t++) {
        const rn_image_topic_t *topic = rn_image_topic_at(img, t);
        if (!topic->config.unclean_leader_election_enable) continue;
        for (int32_t p = 0; p < topic->partition_count && err == RN_OK && !*more; p++) {
            elect_choice_t choice = elect_unclean(img, &topic->partitions[p]);
            if (choice.code == RN_KERR_NONE)
                err = elect_pass_add(topic, p, &choice, max, batch, elected, more);
        }
    }
    return err;
}
