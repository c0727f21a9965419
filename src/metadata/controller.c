/*
 * controller.c: the controller's lifecycle, its persist and apply steps,
 * and the topic operations (create, delete, grow, producer-id blocks).
 *
 * Validation order and messages follow Kafka's KRaft controller
 * (ReplicationControlManager), so clients see the same codes and texts.
 * Config changes live in controller_configs.c.
 */
#include "metadata/controller.h"

#include "base/assert.h"
#include "base/log.h"
#include "metadata/controller_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "controller"

void rn_ctl_result_set(rn_ctl_result_t *res, int16_t code, const char *fmt, ...) {
    res->error_code = code;
    res->message[0] = '\0';
    if (!fmt) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* ---- lifecycle ---- */

typedef struct replay_ctx {
    rn_image_builder_t builder;
} replay_ctx_t;

static rn_err_t replay_record(void *ctx, uint64_t offset, const rn_md_record_t *rec) {
    replay_ctx_t *rc = ctx;
    return rn_image_builder_apply(&rc->builder, offset, rec);
}

static int compare_ids(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void settings_copy(rn_controller_t *ctl, const rn_ctl_settings_t *set) {
    ctl->node_id = set->node_id;
    ctl->num_partitions = set->num_partitions;
    ctl->default_replication_factor = set->default_replication_factor;
    ctl->delete_topic_enable = set->delete_topic_enable;
    if (set->broker_count > 0) {
        RN_ASSERT(set->broker_count <= RN_CTL_BROKERS_MAX);
        memcpy(ctl->brokers, set->broker_ids, (size_t)set->broker_count * sizeof(int32_t));
        ctl->broker_count = set->broker_count;
    } else {
        ctl->brokers[0] = set->node_id;
        ctl->broker_count = 1;
    }
    qsort(ctl->brokers, (size_t)ctl->broker_count, sizeof(int32_t), compare_ids);
}

rn_err_t rn_controller_open(rn_controller_t *ctl, rn_io_t *io, const char *metadata_dir,
                            const rn_topic_config_base_t *base, const rn_ctl_settings_t *set) {
    RN_ASSERT(base != NULL);
    RN_ASSERT(set != NULL);
    memset(ctl, 0, sizeof(*ctl));
    ctl->io = io;
    ctl->base = base;
    settings_copy(ctl, set);
    rn_image_t *empty = rn_image_empty(base);
    if (!empty) return RN_ERR_NO_MEMORY;
    replay_ctx_t rc;
    rn_err_t err = rn_image_builder_init(&rc.builder, empty);
    rn_image_release(empty);
    if (err != RN_OK) return err;
    err = rn_md_log_open(&ctl->log, io, metadata_dir, replay_record, &rc);
    if (err != RN_OK) {
        rn_image_builder_abort(&rc.builder);
        return err;
    }
    ctl->image = rn_image_builder_finish(&rc.builder);
    if (!ctl->image) {
        rn_image_builder_abort(&rc.builder);
        rn_md_log_close(&ctl->log);
        return RN_ERR_NO_MEMORY;
    }
    rn_image_retain(ctl->image);
    rn_image_cell_init(&ctl->cell, ctl->image);
    RN_INFO(MOD, "metadata: %d topics, %lld partitions, next offset %llu",
            rn_image_topic_count(ctl->image), (long long)rn_image_partition_total(ctl->image),
            (unsigned long long)rn_image_next_offset(ctl->image));
    return RN_OK;
}

rn_err_t rn_controller_init(rn_controller_t *ctl, rn_io_t *io, const rn_topic_config_base_t *base,
                            const rn_ctl_settings_t *set, const rn_image_t *img) {
    RN_ASSERT(base != NULL && set != NULL && img != NULL);
    memset(ctl, 0, sizeof(*ctl));
    ctl->io = io;
    ctl->base = base;
    ctl->log.fd = RN_FD_NONE;
    ctl->quorum = true;
    settings_copy(ctl, set);
    ctl->image = (rn_image_t *)(uintptr_t)img;
    rn_image_retain(ctl->image);
    rn_image_retain(ctl->image);
    rn_image_cell_init(&ctl->cell, ctl->image);
    return RN_OK;
}

void rn_controller_close(rn_controller_t *ctl) {
    if (!ctl->image) return;
    rn_image_cell_destroy(&ctl->cell);
    rn_image_release(ctl->image);
    ctl->image = NULL;
    rn_md_log_close(&ctl->log);
}

const rn_image_t *rn_controller_image(const rn_controller_t *ctl) { return ctl->image; }

rn_image_t *rn_controller_acquire(rn_controller_t *ctl) { return rn_image_acquire(&ctl->cell); }

/* ---- steps ---- */

rn_err_t rn_controller_persist(rn_controller_t *ctl, const rn_md_batch_t *batch,
                               uint64_t *base_offset) {
    RN_ASSERT(batch->count > 0);
    RN_ASSERT(!ctl->quorum);
    RN_ASSERT(ctl->log.next_offset == rn_image_next_offset(ctl->image));
    return rn_md_log_append(&ctl->log, batch, base_offset);
}

/* Builds the image the batch leads to, without publishing it. */
static rn_err_t build(rn_controller_t *ctl, uint64_t base_offset, const rn_md_batch_t *batch,
                      rn_image_t **out) {
    rn_image_builder_t b;
    rn_err_t err = rn_image_builder_init(&b, ctl->image);
    if (err == RN_OK) err = rn_image_builder_apply_batch(&b, base_offset, batch);
    if (err == RN_OK) {
        *out = rn_image_builder_finish(&b);
        if (*out) return RN_OK;
        err = RN_ERR_NO_MEMORY;
    }
    rn_image_builder_abort(&b);
    return err;
}

static void publish(rn_controller_t *ctl, rn_image_t *img) {
    rn_image_retain(img);
    rn_image_publish(&ctl->cell, img);
    rn_image_release(ctl->image);
    ctl->image = img;
}

rn_err_t rn_controller_apply(rn_controller_t *ctl, uint64_t base_offset,
                             const rn_md_batch_t *batch) {
    rn_image_t *img = NULL;
    rn_err_t err = build(ctl, base_offset, batch, &img);
    if (err != RN_OK) {
        RN_ERROR(MOD, "applying metadata batch at %llu failed: %s", (unsigned long long)base_offset,
                 rn_err_name(err));
        return err;
    }
    publish(ctl, img);
    return RN_OK;
}

rn_err_t rn_controller_check(rn_controller_t *ctl, const rn_md_batch_t *batch) {
    rn_image_t *img = NULL;
    rn_err_t err = build(ctl, rn_image_next_offset(ctl->image), batch, &img);
    if (err != RN_OK) {
        RN_ERROR(MOD, "refusing a metadata batch that does not apply: %s", rn_err_name(err));
        return err == RN_ERR_NO_MEMORY ? err : RN_ERR_INVALID;
    }
    rn_image_release(img);
    return RN_OK;
}

void rn_controller_adopt(rn_controller_t *ctl, const rn_image_t *img) {
    RN_ASSERT(ctl->quorum);
    if (img == ctl->image) return;
    rn_image_t *own = (rn_image_t *)(uintptr_t)img;
    rn_image_retain(own);
    publish(ctl, own);
}

rn_err_t rn_controller_commit(rn_controller_t *ctl, const rn_md_batch_t *batch) {
    if (batch->count == 0) return RN_OK;
    /* Apply first, in private: a batch that does not apply is a controller
       bug and must never reach the log, where it would stop every restart. */
    uint64_t expected = ctl->log.next_offset;
    rn_image_t *img = NULL;
    rn_err_t err = build(ctl, expected, batch, &img);
    if (err != RN_OK) {
        RN_ERROR(MOD, "refusing a metadata batch that does not apply: %s", rn_err_name(err));
        return err == RN_ERR_NO_MEMORY ? err : RN_ERR_INVALID;
    }
    uint64_t base_offset = 0;
    err = rn_controller_persist(ctl, batch, &base_offset);
    if (err != RN_OK) {
        rn_image_release(img);
        return err;
    }
    RN_ASSERT(base_offset == expected);
    publish(ctl, img);
    return RN_OK;
}

/* ---- names, ids, known brokers ---- */

int16_t rn_ctl_topic_name_check(rn_str_t name, char *message, size_t message_len) {
    message[0] = '\0';
    if (name.len <= 0) {
        snprintf(message, message_len, "Topic name is illegal, it can't be empty");
        return RN_KERR_INVALID_TOPIC_EXCEPTION;
    }
    if ((name.len == 1 && name.ptr[0] == '.') ||
        (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.')) {
        snprintf(message, message_len, "Topic name cannot be \".\" or \"..\"");
        return RN_KERR_INVALID_TOPIC_EXCEPTION;
    }
    if (name.len > RN_TOPIC_NAME_BYTES_MAX) {
        snprintf(message, message_len,
                 "Topic name is illegal, it can't be longer than %d characters, topic name: "
                 "%.*s",
                 RN_TOPIC_NAME_BYTES_MAX, 64, name.ptr);
        return RN_KERR_INVALID_TOPIC_EXCEPTION;
    }
    for (int32_t n = 0; n < name.len; n++) {
        char c = name.ptr[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(message, message_len,
                     "Topic name \"%.*s\" is illegal, it contains a character other than ASCII "
                     "alphanumerics, '.', '_' and '-'",
                     (int)(name.len > 200 ? 200 : name.len), name.ptr);
            return RN_KERR_INVALID_TOPIC_EXCEPTION;
        }
    }
    return RN_KERR_NONE;
}

/* A random topic id as Kafka makes them: not zero, not the metadata topic's
   id (1), and not starting with '-' in base64 (first 6 bits = 62). */
rn_uuid_t rn_ctl_new_topic_id(rn_controller_t *ctl) {
    for (;;) {
        rn_uuid_t id;
        uint64_t hi = rn_io_random(ctl->io), lo = rn_io_random(ctl->io);
        hi = (hi & ~0xF000ull) | 0x4000ull;                         /* version 4 */
        lo = (lo & ~0xC000000000000000ull) | 0x8000000000000000ull; /* IETF variant */
        for (int n = 0; n < 8; n++) {
            id.bytes[n] = (uint8_t)(hi >> (56 - 8 * n));
            id.bytes[8 + n] = (uint8_t)(lo >> (56 - 8 * n));
        }
        if ((id.bytes[0] >> 2) == 62) continue;
        if (!rn_image_topic_by_id(ctl->image, &id)) return id;
    }
}

bool rn_ctl_broker_known(const rn_controller_t *ctl, int32_t id) {
    if (rn_image_broker_count(ctl->image) > 0 || ctl->brokers_register)
        return rn_image_broker(ctl->image, id) != NULL;
    for (int32_t n = 0; n < ctl->broker_count; n++) {
        if (ctl->brokers[n] == id) return true;
    }
    return false;
}

/*
 * Kafka's checks of one manual assignment. *rf is the replication factor of
 * earlier assignments (0: none yet) and gets this one's.
 */
int16_t rn_ctl_check_assignment(const rn_controller_t *ctl, const rn_ctl_assignment_t *a,
                                int32_t *rf, rn_ctl_result_t *res) {
    if (a->broker_count <= 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The manual partition assignment includes an empty replica list.");
        return res->error_code;
    }
    if (a->broker_count > RN_REPLICAS_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICATION_FACTOR,
                          "Replication factor %d is more than this broker's limit of %d.",
                          a->broker_count, RN_REPLICAS_MAX);
        return res->error_code;
    }
    for (int32_t n = 0; n < a->broker_count; n++) {
        for (int32_t m = 0; m < n; m++) {
            if (a->broker_ids[m] == a->broker_ids[n]) {
                rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                                  "The manual partition assignment includes the broker %d more "
                                  "than once.",
                                  a->broker_ids[n]);
                return res->error_code;
            }
        }
        if (!rn_ctl_broker_known(ctl, a->broker_ids[n])) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                              "The manual partition assignment includes broker %d, but no such "
                              "broker is registered.",
                              a->broker_ids[n]);
            return res->error_code;
        }
    }
    if (*rf != 0 && *rf != a->broker_count) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REPLICA_ASSIGNMENT,
                          "The manual partition assignment includes a partition with %d "
                          "replica(s), but this is not consistent with previous partitions, "
                          "which have %d replica(s).",
                          a->broker_count, *rf);
        return res->error_code;
    }
    *rf = a->broker_count;
    return RN_KERR_NONE;
}

/* ---- repeated names in one request, in O(n log n) ---- */

typedef struct repeat_sort {
    const char *items;
    size_t stride;
    size_t name_offset;
    ptrdiff_t type_offset;
} repeat_sort_t;

static const rn_str_t *item_name(const repeat_sort_t *rs, int32_t index) {
    return (const rn_str_t *)(const void *)(rs->items + rs->stride * (size_t)index +
                                            rs->name_offset);
}

static int item_type(const repeat_sort_t *rs, int32_t index) {
    if (rs->type_offset < 0) return 0;
    return *(const int8_t *)(rs->items + rs->stride * (size_t)index + (size_t)rs->type_offset);
}

static int compare_items(const void *a, const void *b, void *ctx) {
    const repeat_sort_t *rs = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    int tx = item_type(rs, x), ty = item_type(rs, y);
    if (tx != ty) return tx < ty ? -1 : 1;
    const rn_str_t *nx = item_name(rs, x), *ny = item_name(rs, y);
    if (nx->len != ny->len) return nx->len < ny->len ? -1 : 1;
    int c = nx->len > 0 ? memcmp(nx->ptr, ny->ptr, (size_t)nx->len) : 0;
    return c ? c : (x > y) - (x < y);
}

bool rn_ctl_find_repeats(const void *items, size_t stride, size_t name_offset,
                         ptrdiff_t type_offset, int32_t count, bool *repeated) {
    RN_ASSERT(count >= 0);
    memset(repeated, 0, (size_t)count * sizeof(bool));
    if (count < 2) return true;
    int32_t *order = malloc((size_t)count * sizeof(int32_t));
    if (!order) return false;
    for (int32_t n = 0; n < count; n++) order[n] = n;
    repeat_sort_t rs = {items, stride, name_offset, type_offset};
    qsort_r(order, (size_t)count, sizeof(int32_t), compare_items, &rs);
    for (int32_t n = 1; n < count; n++) {
        int32_t a = order[n - 1], b = order[n];
        const rn_str_t *na = item_name(&rs, a), *nb = item_name(&rs, b);
        if (na->len < 0 || item_type(&rs, a) != item_type(&rs, b) || !rn_str_eq(*na, *nb)) continue;
        repeated[a] = repeated[b] = true;
    }
    free(order);
    return true;
}
