/*
 * controller_configs.c: planning AlterConfigs and IncrementalAlterConfigs,
 * and the config checks CreateTopics shares.
 *
 * A plan computes each topic's wanted override set (legacy: exactly the
 * entries given; incremental: the current set with SET, DELETE, APPEND and
 * SUBTRACT applied), validates every value, and emits one ConfigRecord per
 * key whose override changes (a null value removes it). A BROKER resource
 * ("<id>" or "" for the cluster default) takes the dynamic broker keys
 * (metadata/dyn_broker.h) with Kafka's checks and messages: a key the
 * broker knows but cannot change at run time is refused, an unknown one
 * is stored as Kafka stores it.
 */
#include "base/assert.h"
#include "metadata/controller_int.h"
#include "metadata/dyn_broker.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rn_err_t rn_ctl_config_record(rn_md_batch_t *batch, int8_t resource_type, rn_str_t resource,
                              rn_str_t key, rn_str_t value) {
    rn_md_record_t rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = RN_MD_CONFIG;
    rec.u.config.resource_type = resource_type;
    rec.u.config.resource_name = resource;
    rec.u.config.key = key;
    rec.u.config.value = value;
    return rn_md_batch_add(batch, &rec);
}

/* A NUL-terminated copy of a borrowed string; NULL for null or no memory. */
static char *str_dup(rn_str_t s) {
    if (s.len < 0) return NULL;
    char *out = malloc((size_t)s.len + 1);
    if (out) rn_md_str_copy(s, out, (size_t)s.len + 1);
    return out;
}

static int16_t check_config_text(const char *key, const char *value, rn_tc_key_t *found,
                                 rn_ctl_result_t *res) {
    rn_tc_key_t k = RN_TC__COUNT;
    char msg[RN_CTL_MESSAGE_BYTES];
    if (rn_topic_config_check(key, value, &k, msg, sizeof(msg)) != RN_OK) {
        rn_ctl_result_set(res, RN_KERR_INVALID_CONFIG, "%s", msg);
        return res->error_code;
    }
    if (found) *found = k;
    return RN_KERR_NONE;
}

int16_t rn_ctl_check_topic_config(rn_str_t key, rn_str_t value, rn_ctl_result_t *res) {
    char name[RN_CONFIG_KEY_BYTES_MAX + 1];
    if (key.len < 0 || key.len > RN_CONFIG_KEY_BYTES_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_CONFIG, "Unknown topic config name: %.*s",
                          key.len > 0 ? 64 : 0, key.ptr ? key.ptr : "");
        return res->error_code;
    }
    rn_md_str_copy(key, name, sizeof(name));
    char *text = str_dup(value);
    if (value.len >= 0 && !text) {
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
        return res->error_code;
    }
    int16_t code = check_config_text(name, text, NULL, res);
    free(text);
    return code;
}

/* The wanted overrides of one topic while a plan computes them. */
typedef struct wanted {
    const char *text[RN_TC__COUNT]; /* borrowed from the image or from own[] */
    char *own[RN_TC__COUNT];
} wanted_t;

static void wanted_free(wanted_t *w) {
    for (int k = 0; k < RN_TC__COUNT; k++) free(w->own[k]);
}

static bool wanted_set(wanted_t *w, rn_tc_key_t k, char *owned) {
    free(w->own[k]);
    w->own[k] = owned;
    w->text[k] = owned;
    return true;
}

/* Builds a list from items not in `skip` and not already taken. */
typedef struct list_edit {
    char *out;
    size_t used;
    const char *skip;
} list_edit_t;

typedef struct find_item {
    const char *item;
    size_t len;
    bool found;
} find_item_t;

static bool match_item(void *ctx, const char *item, size_t len) {
    find_item_t *f = ctx;
    if (len == f->len && memcmp(item, f->item, len) == 0) f->found = true;
    return !f->found;
}

static bool list_contains(const char *list, const char *item, size_t len) {
    find_item_t f = {item, len, false};
    rn_config_list_each(list, match_item, &f);
    return f.found;
}

static bool edit_item(void *ctx, const char *item, size_t len) {
    list_edit_t *e = ctx;
    if (!list_contains(e->skip, item, len) && !list_contains(e->out, item, len)) {
        if (e->used) e->out[e->used++] = ',';
        memcpy(e->out + e->used, item, len);
        e->used += len;
        e->out[e->used] = '\0';
    }
    return true;
}

/* APPEND adds the items of `value` missing from `current`; SUBTRACT drops
   the items of `current` found in `value`. Returns an owned string. */
static char *list_edit(const char *current, const char *value, int8_t op) {
    size_t cap = strlen(current) + strlen(value) + 2;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    list_edit_t e = {out, 0, op == RN_CTL_OP_APPEND ? "" : value};
    rn_config_list_each(current, edit_item, &e);
    if (op == RN_CTL_OP_APPEND) rn_config_list_each(value, edit_item, &e);
    return out;
}

/* Does a key appear twice in one resource? (Out of memory counts as yes:
   the resource is refused rather than risk records that contradict.) */
static bool keys_repeated(const rn_ctl_alter_resource_t *r) {
    if (r->alter_count < 2) return false;
    bool *repeated = malloc((size_t)r->alter_count * sizeof(bool));
    bool any = true;
    if (repeated &&
        rn_ctl_find_repeats(r->alters, sizeof(r->alters[0]), offsetof(rn_ctl_alter_t, key), -1,
                            r->alter_count, repeated)) {
        any = false;
        for (int32_t n = 0; n < r->alter_count && !any; n++) any = repeated[n];
    }
    free(repeated);
    return any;
}

/* One incremental operation on the wanted set. */
static int16_t incremental_one(const rn_image_t *img, const rn_ctl_alter_t *a, wanted_t *w,
                               rn_ctl_result_t *res) {
    char key[RN_CONFIG_KEY_BYTES_MAX + 1];
    static const char *const op_names[] = {"SET", "DELETE", "APPEND", "SUBTRACT"};
    if (a->op < RN_CTL_OP_SET || a->op > RN_CTL_OP_SUBTRACT) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Unknown alter config operation %d.",
                          a->op);
        return res->error_code;
    }
    rn_md_str_copy(a->key, key, sizeof(key));
    int k = rn_topic_config_key(key);
    if (k < 0 && a->op == RN_CTL_OP_DELETE) return RN_KERR_NONE;
    if (k < 0 || a->key.len > RN_CONFIG_KEY_BYTES_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_CONFIG, "Unknown topic config name: %s", key);
        return res->error_code;
    }
    if (a->op == RN_CTL_OP_DELETE) return wanted_set(w, (rn_tc_key_t)k, NULL), RN_KERR_NONE;
    bool list_op = a->op == RN_CTL_OP_APPEND || a->op == RN_CTL_OP_SUBTRACT;
    if (list_op && rn_topic_config_def((rn_tc_key_t)k)->type != RN_CONFIG_LIST) {
        rn_ctl_result_set(res, RN_KERR_INVALID_CONFIG,
                          "Can't %s to key %s because its type is not LIST.", op_names[a->op], key);
        return res->error_code;
    }
    char *value = str_dup(a->value);
    if (a->value.len < 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_CONFIG,
                          "Null value not supported for topic configs: %s", key);
        return res->error_code;
    }
    if (value && list_op) {
        const rn_topic_config_base_t *base = rn_image_config_base(img);
        const char *current = w->text[k] ? w->text[k] : base->text[k];
        char *edited = list_edit(current ? current : "", value, a->op);
        free(value);
        value = edited;
    }
    if (!value) {
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
        return res->error_code;
    }
    wanted_set(w, (rn_tc_key_t)k, value);
    return check_config_text(key, value, NULL, res);
}

/* Legacy AlterConfigs: the entries given become the whole override set. */
static int16_t legacy_all(const rn_ctl_alter_resource_t *r, wanted_t *w, rn_ctl_result_t *res) {
    memset(w->text, 0, sizeof(w->text));
    for (int32_t n = 0; n < r->alter_count; n++) {
        const rn_ctl_alter_t *a = &r->alters[n];
        char key[RN_CONFIG_KEY_BYTES_MAX + 1];
        rn_md_str_copy(a->key, key, sizeof(key));
        char *value = str_dup(a->value);
        if (a->value.len >= 0 && !value) {
            rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
            return res->error_code;
        }
        rn_tc_key_t k = RN_TC__COUNT;
        int16_t code = a->key.len > RN_CONFIG_KEY_BYTES_MAX
                           ? RN_KERR_INVALID_CONFIG
                           : check_config_text(key, value, &k, res);
        if (code != RN_KERR_NONE) {
            free(value);
            if (res->error_code == RN_KERR_NONE)
                rn_ctl_result_set(res, code, "Unknown topic config name: %.64s", key);
            return res->error_code;
        }
        wanted_set(w, k, value);
    }
    return RN_KERR_NONE;
}

static bool same_text(const char *a, const char *b) {
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static rn_err_t emit_changes(const rn_image_topic_t *topic, const wanted_t *w,
                             rn_md_batch_t *batch) {
    rn_str_t name = {topic->name, (int32_t)topic->name_len};
    for (int k = 0; k < RN_TC__COUNT; k++) {
        if (same_text(topic->overrides[k], w->text[k])) continue;
        rn_str_t key = rn_str_from_cstr(rn_topic_config_def((rn_tc_key_t)k)->name);
        rn_str_t value = w->text[k] ? rn_str_from_cstr(w->text[k]) : rn_str_null();
        rn_err_t err = rn_ctl_config_record(batch, RN_MD_RESOURCE_TOPIC, name, key, value);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}

static void plan_topic_resource(rn_controller_t *ctl, const rn_ctl_alter_resource_t *r,
                                bool incremental, rn_md_batch_t *batch, rn_ctl_result_t *res) {
    const rn_image_topic_t *topic =
        r->resource_name.len > 0
            ? rn_image_topic(ctl->image, r->resource_name.ptr, (size_t)r->resource_name.len)
            : NULL;
    if (!topic) {
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_TOPIC_OR_PARTITION,
                          "The topic '%.*s' does not exist.",
                          r->resource_name.len > 0 ? r->resource_name.len : 0,
                          r->resource_name.ptr ? r->resource_name.ptr : "");
        return;
    }
    wanted_t w;
    memset(&w, 0, sizeof(w));
    memcpy(w.text, topic->overrides, sizeof(w.text));
    int16_t code = RN_KERR_NONE;
    if (incremental) {
        for (int32_t n = 0; n < r->alter_count && code == RN_KERR_NONE; n++)
            code = incremental_one(ctl->image, &r->alters[n], &w, res);
    } else {
        code = legacy_all(r, &w, res);
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    if (code == RN_KERR_NONE && emit_changes(topic, &w, batch) != RN_OK) {
        batch->buf.len = len;
        batch->count = count;
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION, "Too many config changes at once.");
    }
    wanted_free(&w);
}

/* ---- BROKER resources ---- */

/* A key the broker knows but cannot change at run time. */
static bool broker_key_static(const rn_controller_t *ctl, const char *key) {
    if (rn_dyn_key(key) >= 0) return false;
    return !ctl->broker_key_known || ctl->broker_key_known(ctl->broker_key_ctx, key);
}

/* Kafka's "Cannot update these configs dynamically: Set(a, b)" over the
   keys set (not deleted); false when there are none. */
static bool broker_refuse_static(const rn_controller_t *ctl, const rn_ctl_alter_resource_t *r,
                                 rn_ctl_result_t *res) {
    char list[RN_CTL_MESSAGE_BYTES] = "";
    size_t used = 0;
    for (int32_t n = 0; n < r->alter_count; n++) {
        const rn_ctl_alter_t *a = &r->alters[n];
        char key[RN_CONFIG_KEY_BYTES_MAX + 1];
        rn_md_str_copy(a->key, key, sizeof key);
        if (a->op == RN_CTL_OP_DELETE || !broker_key_static(ctl, key)) continue;
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", key);
        used = w > 0 && (size_t)w < sizeof list - used ? used + (size_t)w : used;
    }
    if (used == 0) return false;
    rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST,
                      "Cannot update these configs dynamically: Set(%s)", list);
    return true;
}

/* One key's checks: a list operation on these non-list keys fails as
   Kafka's does (an unknown server error without a message), a value as
   Kafka's broker checks it. */
static int16_t broker_check_one(const rn_ctl_alter_t *a, bool incremental, rn_ctl_result_t *res) {
    char key[RN_CONFIG_KEY_BYTES_MAX + 1];
    rn_md_str_copy(a->key, key, sizeof key);
    if (a->key.len <= 0 || a->key.len > RN_CONFIG_KEY_BYTES_MAX) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Invalid config name: %.64s", key);
        return res->error_code;
    }
    if (incremental && (a->op < RN_CTL_OP_SET || a->op > RN_CTL_OP_SUBTRACT)) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Unknown alter config operation %d.",
                          a->op);
        return res->error_code;
    }
    if (incremental && (a->op == RN_CTL_OP_APPEND || a->op == RN_CTL_OP_SUBTRACT)) {
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, NULL);
        return res->error_code;
    }
    if (incremental && a->op == RN_CTL_OP_DELETE) return RN_KERR_NONE;
    if (a->value.len < 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Null value not supported for : %s", key);
        return res->error_code;
    }
    int k = rn_dyn_key(key);
    if (k < 0) return RN_KERR_NONE;
    char *text = str_dup(a->value);
    char msg[RN_CTL_MESSAGE_BYTES];
    rn_err_t err = a->value.len >= 0 && !text
                       ? RN_ERR_NO_MEMORY
                       : rn_dyn_check((rn_dyn_key_t)k, text, msg, sizeof msg);
    free(text);
    if (err == RN_OK) return RN_KERR_NONE;
    if (err == RN_ERR_NO_MEMORY)
        rn_ctl_result_set(res, RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
    else
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "%s", msg);
    return res->error_code;
}

/* Whether the resource's entry for key is `value` already (null: none). */
static bool broker_entry_same(const rn_image_t *img, const char *resource, rn_str_t key,
                              rn_str_t value) {
    for (int32_t n = 0; n < rn_image_broker_config_count(img); n++) {
        const rn_image_broker_config_t *bc = rn_image_broker_config_at(img, n);
        if (strcmp(bc->resource, resource) || !rn_str_eq_cstr(key, bc->key)) continue;
        return value.len >= 0 && rn_str_eq_cstr(value, bc->value);
    }
    return value.len < 0;
}

/* Entries the resource's changes add to the image's broker configs. */
static int32_t broker_added(const rn_image_t *img, const rn_ctl_alter_resource_t *r,
                            const char *resource, bool incremental) {
    int32_t added = 0;
    for (int32_t n = 0; n < r->alter_count; n++) {
        const rn_ctl_alter_t *a = &r->alters[n];
        if (incremental && a->op == RN_CTL_OP_DELETE) continue;
        added += broker_entry_same(img, resource, a->key, rn_str_null()); /* none there yet */
    }
    return added;
}

/* Whether the legacy form names key. */
static bool broker_names(const rn_ctl_alter_resource_t *r, const char *key) {
    for (int32_t n = 0; n < r->alter_count; n++)
        if (rn_str_eq_cstr(r->alters[n].key, key)) return true;
    return false;
}

static rn_err_t broker_emit(const rn_controller_t *ctl, const rn_ctl_alter_resource_t *r,
                            const char *resource, bool incremental, rn_md_batch_t *batch) {
    rn_err_t err = RN_OK;
    for (int32_t n = 0; n < r->alter_count && err == RN_OK; n++) {
        const rn_ctl_alter_t *a = &r->alters[n];
        rn_str_t value = incremental && a->op == RN_CTL_OP_DELETE ? rn_str_null() : a->value;
        if (broker_entry_same(ctl->image, resource, a->key, value)) continue;
        err = rn_ctl_config_record(batch, RN_MD_RESOURCE_BROKER, r->resource_name, a->key, value);
    }
    /* Legacy AlterConfigs: the entries given are the whole set. */
    for (int32_t n = 0; !incremental && n < rn_image_broker_config_count(ctl->image); n++) {
        const rn_image_broker_config_t *bc = rn_image_broker_config_at(ctl->image, n);
        if (err != RN_OK || strcmp(bc->resource, resource) || broker_names(r, bc->key)) continue;
        err = rn_ctl_config_record(batch, RN_MD_RESOURCE_BROKER, r->resource_name,
                                   rn_str_from_cstr(bc->key), rn_str_null());
    }
    return err;
}

/* *added counts the entries this request's earlier resources add, so the
   image never holds more than RN_MD_BROKER_CONFIGS_MAX. */
static void plan_broker_resource(rn_controller_t *ctl, const rn_ctl_alter_resource_t *r,
                                 bool incremental, int32_t *added, rn_md_batch_t *batch,
                                 rn_ctl_result_t *res) {
    char resource[RN_TOPIC_NAME_BYTES_MAX + 1];
    int32_t id = -1;
    rn_md_str_copy(r->resource_name, resource, sizeof resource);
    if (r->resource_name.len < 0 || r->resource_name.len > RN_TOPIC_NAME_BYTES_MAX ||
        !rn_dyn_resource_id(resource, strlen(resource), &id)) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Node id must be an integer, but it is: %s",
                          resource);
        return;
    }
    if (resource[0] && id < 0) {
        rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Invalid negative broker ID.");
        return;
    }
    for (int32_t n = 0; n < r->alter_count; n++)
        if (broker_check_one(&r->alters[n], incremental, res) != RN_KERR_NONE) return;
    if (broker_refuse_static(ctl, r, res)) return;
    int32_t more = broker_added(ctl->image, r, resource, incremental);
    if (rn_image_broker_config_count(ctl->image) + *added + more > RN_MD_BROKER_CONFIGS_MAX) {
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION,
                          "Too many broker configs: at most %d entries over all brokers.",
                          RN_MD_BROKER_CONFIGS_MAX);
        return;
    }
    size_t len = batch->buf.len;
    uint32_t count = batch->count;
    if (broker_emit(ctl, r, resource, incremental, batch) != RN_OK) {
        batch->buf.len = len;
        batch->count = count;
        rn_ctl_result_set(res, RN_KERR_POLICY_VIOLATION, "Too many config changes at once.");
        return;
    }
    *added += more;
}

void rn_controller_plan_alter_configs(rn_controller_t *ctl,
                                      const rn_ctl_alter_resource_t *resources, int32_t count,
                                      bool incremental, rn_md_batch_t *batch,
                                      rn_ctl_result_t *results) {
    RN_ASSERT(count >= 0);
    int32_t broker_added_total = 0;
    bool *repeated = malloc((size_t)(count > 0 ? count : 1) * sizeof(bool));
    if (!repeated ||
        !rn_ctl_find_repeats(resources, sizeof(resources[0]),
                             offsetof(rn_ctl_alter_resource_t, resource_name),
                             offsetof(rn_ctl_alter_resource_t, resource_type), count, repeated)) {
        for (int32_t n = 0; n < count; n++)
            rn_ctl_result_set(&results[n], RN_KERR_UNKNOWN_SERVER_ERROR, "Out of memory.");
        free(repeated);
        return;
    }
    for (int32_t n = 0; n < count; n++) {
        const rn_ctl_alter_resource_t *r = &resources[n];
        rn_ctl_result_t *res = &results[n];
        if (r->checked) continue; /* answered by the broker that took it */
        rn_ctl_result_set(res, RN_KERR_NONE, NULL);
        if (repeated[n]) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Duplicate resource in request.");
        } else if (keys_repeated(r)) {
            rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Error due to duplicate config keys");
        } else if (r->resource_type == RN_MD_RESOURCE_TOPIC) {
            plan_topic_resource(ctl, r, incremental, batch, res);
        } else if (r->resource_type == RN_MD_RESOURCE_BROKER) {
            plan_broker_resource(ctl, r, incremental, &broker_added_total, batch, res);
        } else {
            rn_ctl_result_set(res, RN_KERR_INVALID_REQUEST, "Unsupported resource type %d.",
                              r->resource_type);
        }
    }
    free(repeated);
}
