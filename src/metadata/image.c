/*
 * image.c: building, sharing, reading and publishing metadata images.
 *
 * An image keeps its topics three ways: two open-addressing hash tables
 * with linear probing, by name and by id, whose slots point at the same
 * topic objects, and a list sorted by name. A builder copies the tables of
 * its base (sharing every topic), clones a topic the first time a record
 * changes it, and on finish rebuilds the sorted list from the name table
 * and freezes what it built. The name hash treats '.' and '_' alike, so the
 * topics Kafka considers colliding share a probe chain and a collision check
 * costs one lookup.
 */
#include "metadata/image.h"

#include "base/assert.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

#define MOD "metadata"
#define SLOTS_MIN 16
/* The cell packs a pointer (low 48 bits) with a count of acquirers. */
#define CELL_PTR_BITS 48
#define CELL_ONE ((uint64_t)1 << CELL_PTR_BITS)
#define CELL_PTR_MASK (CELL_ONE - 1)

/* The registered brokers, shared between images until a record changes
   them (then the builder copies them once). */
typedef struct rn_image_brokers {
    atomic_long refs;
    int32_t count;
    int32_t cap;
    rn_image_broker_t items[]; /* sorted by id */
} rn_image_brokers_t;

struct rn_image {
    atomic_long refs;
    const rn_topic_config_base_t *base;
    uint64_t next_offset;
    int64_t next_producer_id;
    int64_t partition_total;
    int32_t topic_count;
    rn_image_topic_t **list; /* sorted by name; finished images only */
    uint32_t slot_count;     /* a power of two, at least twice topic_count */
    rn_image_topic_t **by_name;
    rn_image_topic_t **by_id;
    int32_t broker_config_count;
    rn_image_broker_config_t *broker_configs;
    rn_image_brokers_t *brokers; /* NULL: none registered */
    bool brokers_owned;          /* builder only: brokers is this image's own copy */
};

/* ---- topics ---- */

static void topic_release(rn_image_topic_t *topic) {
    long prev = atomic_fetch_sub(&topic->refs, 1);
    RN_ASSERT(prev >= 1);
    if (prev != 1) return;
    for (int key = 0; key < RN_TC__COUNT; key++) free((void *)topic->overrides[key]);
    free(topic->partitions);
    free(topic);
}

static rn_image_topic_t *topic_clone(const rn_image_topic_t *src) {
    rn_image_topic_t *topic = calloc(1, sizeof(*topic));
    if (!topic) return NULL;
    memcpy(topic->name, src->name, sizeof(topic->name));
    topic->name_len = src->name_len;
    topic->id = src->id;
    topic->config = src->config;
    atomic_init(&topic->refs, 1);
    if (src->partition_count > 0) {
        size_t bytes = (size_t)src->partition_count * sizeof(rn_image_partition_t);
        topic->partitions = malloc(bytes);
        if (!topic->partitions) goto fail;
        memcpy(topic->partitions, src->partitions, bytes);
        topic->partition_count = topic->partition_cap = src->partition_count;
    }
    for (int key = 0; key < RN_TC__COUNT; key++) {
        if (!src->overrides[key]) continue;
        topic->overrides[key] = strdup(src->overrides[key]);
        if (!topic->overrides[key]) goto fail;
        topic->override_count++;
    }
    return topic;
fail:
    topic_release(topic);
    return NULL;
}

/* ---- hash tables ---- */

/* FNV-1a over the name with '.' read as '_'. */
static uint64_t hash_name(const char *name, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t n = 0; n < len; n++) {
        uint8_t c = name[n] == '.' ? (uint8_t)'_' : (uint8_t)name[n];
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

static bool same_but_dots(const char *a, const char *b, size_t len) {
    for (size_t n = 0; n < len; n++) {
        char x = a[n] == '.' ? '_' : a[n], y = b[n] == '.' ? '_' : b[n];
        if (x != y) return false;
    }
    return true;
}

static uint64_t hash_id(const rn_uuid_t *id) {
    uint64_t a = 0, b = 0;
    memcpy(&a, id->bytes, 8);
    memcpy(&b, id->bytes + 8, 8);
    return (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
}

static uint64_t home_of(const rn_image_topic_t *topic, bool by_id) {
    return by_id ? hash_id(&topic->id) : hash_name(topic->name, topic->name_len);
}

static uint32_t slot_of_name(const rn_image_t *img, const char *name, size_t len) {
    uint32_t mask = img->slot_count - 1;
    uint32_t i = (uint32_t)hash_name(name, len) & mask;
    for (;;) {
        const rn_image_topic_t *t = img->by_name[i];
        if (!t || (t->name_len == len && memcmp(t->name, name, len) == 0)) return i;
        i = (i + 1) & mask;
    }
}

static uint32_t slot_of_id(const rn_image_t *img, const rn_uuid_t *id) {
    uint32_t mask = img->slot_count - 1;
    uint32_t i = (uint32_t)hash_id(id) & mask;
    for (;;) {
        const rn_image_topic_t *t = img->by_id[i];
        if (!t || memcmp(t->id.bytes, id->bytes, 16) == 0) return i;
        i = (i + 1) & mask;
    }
}

static void table_insert(rn_image_t *img, rn_image_topic_t *topic) {
    uint32_t n = slot_of_name(img, topic->name, topic->name_len);
    RN_ASSERT(img->by_name[n] == NULL);
    img->by_name[n] = topic;
    uint32_t i = slot_of_id(img, &topic->id);
    RN_ASSERT(img->by_id[i] == NULL);
    img->by_id[i] = topic;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void table_remove_slot(rn_image_topic_t **slots, uint32_t mask, uint32_t i, bool by_id) {
    slots[i] = NULL;
    for (uint32_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
        uint32_t k = (uint32_t)home_of(slots[j], by_id) & mask;
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        slots[i] = slots[j];
        slots[j] = NULL;
        i = j;
    }
}

static void table_remove(rn_image_t *img, const rn_image_topic_t *topic) {
    uint32_t mask = img->slot_count - 1;
    table_remove_slot(img->by_name, mask, slot_of_name(img, topic->name, topic->name_len), false);
    table_remove_slot(img->by_id, mask, slot_of_id(img, &topic->id), true);
}

/* Resizes both tables for `want` topics and re-inserts every topic. */
static rn_err_t tables_resize(rn_image_t *img, int32_t want) {
    uint32_t slots = SLOTS_MIN;
    while (slots < (uint32_t)want * 2) slots *= 2;
    rn_image_topic_t **by_name = calloc(slots, sizeof(*by_name));
    rn_image_topic_t **by_id = calloc(slots, sizeof(*by_id));
    if (!by_name || !by_id) {
        free(by_name);
        free(by_id);
        return RN_ERR_NO_MEMORY;
    }
    rn_image_topic_t **old = img->by_name;
    uint32_t old_count = img->slot_count;
    free(img->by_id);
    img->by_name = by_name;
    img->by_id = by_id;
    img->slot_count = slots;
    for (uint32_t n = 0; n < old_count; n++) {
        if (old[n]) table_insert(img, old[n]);
    }
    free(old);
    return RN_OK;
}

/* ---- brokers ---- */

static void brokers_release(rn_image_brokers_t *brokers) {
    if (!brokers) return;
    long prev = atomic_fetch_sub(&brokers->refs, 1);
    RN_ASSERT(prev >= 1);
    if (prev == 1) free(brokers);
}

/* Index of the broker with `id`, or -(insertion point) - 1. */
static int32_t brokers_find(const rn_image_brokers_t *brokers, int32_t id) {
    int32_t lo = 0, hi = brokers ? brokers->count : 0;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int32_t at = brokers->items[mid].id;
        if (at == id) return mid;
        if (at < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -lo - 1;
}

/* The builder's own copy of the broker list, with room for one more. */
static rn_image_brokers_t *brokers_mut(rn_image_t *img) {
    int32_t count = img->brokers ? img->brokers->count : 0;
    if (img->brokers_owned && (count < img->brokers->cap || count == RN_BROKERS_MAX))
        return img->brokers;
    int32_t cap = count < 2 ? 4 : count * 2;
    if (cap > RN_BROKERS_MAX) cap = RN_BROKERS_MAX;
    rn_image_brokers_t *copy = malloc(sizeof(*copy) + (size_t)cap * sizeof(copy->items[0]));
    if (!copy) return NULL;
    atomic_init(&copy->refs, 1);
    copy->count = count;
    copy->cap = cap;
    if (count) memcpy(copy->items, img->brokers->items, (size_t)count * sizeof(copy->items[0]));
    brokers_release(img->brokers);
    img->brokers = copy;
    img->brokers_owned = true;
    return copy;
}

/* ---- images ---- */

static void image_free(rn_image_t *img) {
    brokers_release(img->brokers);
    for (uint32_t n = 0; img->by_name && n < img->slot_count; n++) {
        if (img->by_name[n]) topic_release(img->by_name[n]);
    }
    for (int32_t n = 0; n < img->broker_config_count; n++) {
        free(img->broker_configs[n].resource);
        free(img->broker_configs[n].key);
        free(img->broker_configs[n].value);
    }
    free(img->broker_configs);
    free(img->list);
    free(img->by_name);
    free(img->by_id);
    free(img);
}

rn_image_t *rn_image_empty(const rn_topic_config_base_t *base) {
    RN_ASSERT(base != NULL);
    rn_image_t *img = calloc(1, sizeof(*img));
    if (!img) return NULL;
    atomic_init(&img->refs, 1);
    img->base = base;
    img->list = malloc(sizeof(*img->list));
    if (!img->list || tables_resize(img, 0) != RN_OK) {
        image_free(img);
        return NULL;
    }
    return img;
}

void rn_image_retain(rn_image_t *img) {
    long prev = atomic_fetch_add(&img->refs, 1);
    RN_ASSERT(prev >= 1);
}

void rn_image_release(rn_image_t *img) {
    if (!img) return;
    long prev = atomic_fetch_sub(&img->refs, 1);
    RN_ASSERT(prev >= 1);
    if (prev == 1) image_free(img);
}

const rn_image_topic_t *rn_image_topic(const rn_image_t *img, const char *name, size_t name_len) {
    RN_ASSERT(img != NULL);
    if (name_len > RN_TOPIC_NAME_BYTES_MAX) return NULL;
    return img->by_name[slot_of_name(img, name, name_len)];
}

const rn_image_topic_t *rn_image_topic_colliding(const rn_image_t *img, const char *name,
                                                 size_t name_len) {
    RN_ASSERT(img != NULL);
    if (name_len > RN_TOPIC_NAME_BYTES_MAX) return NULL;
    uint32_t mask = img->slot_count - 1;
    for (uint32_t i = (uint32_t)hash_name(name, name_len) & mask; img->by_name[i];
         i = (i + 1) & mask) {
        const rn_image_topic_t *t = img->by_name[i];
        if (t->name_len == name_len && same_but_dots(t->name, name, name_len) &&
            memcmp(t->name, name, name_len) != 0)
            return t;
    }
    return NULL;
}

const rn_image_topic_t *rn_image_topic_by_id(const rn_image_t *img, const rn_uuid_t *id) {
    RN_ASSERT(img != NULL);
    return img->by_id[slot_of_id(img, id)];
}

int32_t rn_image_topic_count(const rn_image_t *img) { return img->topic_count; }

const rn_image_topic_t *rn_image_topic_at(const rn_image_t *img, int32_t index) {
    RN_ASSERT(index >= 0 && index < img->topic_count);
    return img->list[index];
}

int64_t rn_image_partition_total(const rn_image_t *img) { return img->partition_total; }
uint64_t rn_image_next_offset(const rn_image_t *img) { return img->next_offset; }
int64_t rn_image_next_producer_id(const rn_image_t *img) { return img->next_producer_id; }
const rn_topic_config_base_t *rn_image_config_base(const rn_image_t *img) { return img->base; }
int32_t rn_image_broker_count(const rn_image_t *img) {
    return img->brokers ? img->brokers->count : 0;
}

const rn_image_broker_t *rn_image_broker_at(const rn_image_t *img, int32_t index) {
    RN_ASSERT(index >= 0 && index < rn_image_broker_count(img));
    return &img->brokers->items[index];
}

const rn_image_broker_t *rn_image_broker(const rn_image_t *img, int32_t id) {
    int32_t at = brokers_find(img->brokers, id);
    return at >= 0 ? &img->brokers->items[at] : NULL;
}

const rn_image_endpoint_t *rn_image_broker_endpoint(const rn_image_broker_t *broker,
                                                    const char *listener) {
    if (!broker || broker->endpoint_count == 0) return NULL;
    for (int16_t n = 0; listener[0] && n < broker->endpoint_count; n++)
        if (strcmp(broker->endpoints[n].name, listener) == 0) return &broker->endpoints[n];
    return &broker->endpoints[0];
}

bool rn_image_broker_usable(const rn_image_broker_t *broker) {
    return broker && !broker->fenced && !broker->in_controlled_shutdown;
}

int32_t rn_image_broker_config_count(const rn_image_t *img) { return img->broker_config_count; }

const rn_image_broker_config_t *rn_image_broker_config_at(const rn_image_t *img, int32_t index) {
    RN_ASSERT(index >= 0 && index < img->broker_config_count);
    return &img->broker_configs[index];
}

const char *rn_image_topic_describe(const rn_image_t *img, const rn_image_topic_t *topic,
                                    rn_tc_key_t key, rn_config_source_t *source) {
    return rn_topic_config_describe(img->base, topic->overrides, key, source);
}

/* ---- building ---- */

static rn_err_t copy_broker_configs(rn_image_t *img, const rn_image_t *base) {
    if (base->broker_config_count == 0) return RN_OK;
    img->broker_configs = calloc((size_t)base->broker_config_count, sizeof(*img->broker_configs));
    if (!img->broker_configs) return RN_ERR_NO_MEMORY;
    for (int32_t n = 0; n < base->broker_config_count; n++) {
        const rn_image_broker_config_t *src = &base->broker_configs[n];
        rn_image_broker_config_t *dst = &img->broker_configs[n];
        img->broker_config_count++;
        dst->resource = strdup(src->resource);
        dst->key = strdup(src->key);
        dst->value = strdup(src->value);
        if (!dst->resource || !dst->key || !dst->value) return RN_ERR_NO_MEMORY;
    }
    return RN_OK;
}

rn_err_t rn_image_builder_init(rn_image_builder_t *b, const rn_image_t *base) {
    RN_ASSERT(base != NULL);
    b->img = NULL;
    rn_image_t *img = calloc(1, sizeof(*img));
    if (!img) return RN_ERR_NO_MEMORY;
    atomic_init(&img->refs, 1);
    img->base = base->base;
    img->next_offset = base->next_offset;
    img->next_producer_id = base->next_producer_id;
    img->partition_total = base->partition_total;
    img->by_name = calloc(base->slot_count, sizeof(*img->by_name));
    img->by_id = malloc(base->slot_count * sizeof(*img->by_id));
    img->slot_count = base->slot_count;
    rn_err_t err = img->by_name && img->by_id ? RN_OK : RN_ERR_NO_MEMORY;
    if (err == RN_OK) {
        for (int32_t n = 0; n < base->topic_count; n++) atomic_fetch_add(&base->list[n]->refs, 1);
        img->topic_count = base->topic_count;
        memcpy(img->by_name, base->by_name, base->slot_count * sizeof(*img->by_name));
        memcpy(img->by_id, base->by_id, base->slot_count * sizeof(*img->by_id));
        err = copy_broker_configs(img, base);
    }
    if (base->brokers) {
        atomic_fetch_add(&base->brokers->refs, 1);
        img->brokers = base->brokers;
    }
    if (err != RN_OK) {
        image_free(img);
        return err;
    }
    b->img = img;
    return RN_OK;
}

/* A topic of the image under construction that may be changed in place. */
static rn_image_topic_t *topic_mut(rn_image_t *img, rn_image_topic_t *topic) {
    if (!topic->frozen) return topic;
    rn_image_topic_t *copy = topic_clone(topic);
    if (!copy) return NULL;
    img->by_name[slot_of_name(img, topic->name, topic->name_len)] = copy;
    img->by_id[slot_of_id(img, &topic->id)] = copy;
    topic_release(topic);
    return copy;
}

static rn_err_t apply_topic(rn_image_t *img, const rn_md_topic_record_t *rec) {
    size_t len = (size_t)rec->name.len;
    if (rec->name.len <= 0 || len > RN_TOPIC_NAME_BYTES_MAX) return RN_ERR_CORRUPT;
    if (img->by_name[slot_of_name(img, rec->name.ptr, len)] ||
        img->by_id[slot_of_id(img, &rec->topic_id)])
        return RN_ERR_CORRUPT;
    if (img->topic_count >= RN_TOPICS_MAX) return RN_ERR_LIMIT;
    if ((uint32_t)(img->topic_count + 1) * 2 > img->slot_count &&
        tables_resize(img, img->topic_count + 1) != RN_OK)
        return RN_ERR_NO_MEMORY;
    rn_image_topic_t *topic = calloc(1, sizeof(*topic));
    if (!topic) return RN_ERR_NO_MEMORY;
    atomic_init(&topic->refs, 1);
    memcpy(topic->name, rec->name.ptr, len);
    topic->name_len = len;
    topic->id = rec->topic_id;
    img->topic_count++;
    table_insert(img, topic);
    return RN_OK;
}

/* ---- reassignments ---- */

bool rn_image_partition_moving(const rn_image_partition_t *part) {
    return part->adding_mask != 0 || part->removing_mask != 0;
}

int16_t rn_image_partition_pick(const rn_image_partition_t *part, uint32_t mask, int32_t *ids) {
    RN_ASSERT(part->replica_count >= 0 && part->replica_count <= RN_REPLICAS_MAX);
    int16_t count = 0;
    for (int16_t n = 0; n < part->replica_count; n++)
        if (mask & (1u << n)) ids[count++] = part->replicas[n];
    return count;
}

int16_t rn_image_partition_target(const rn_image_partition_t *part, int32_t *ids) {
    return rn_image_partition_pick(part, ~part->removing_mask, ids);
}

/* The bit of replica id in part's replica list; 0 when it is none. */
static uint32_t replica_bit(const rn_image_partition_t *part, int32_t id) {
    for (int16_t n = 0; n < part->replica_count; n++)
        if (part->replicas[n] == id) return 1u << n;
    return 0;
}

/* A record's lists as masks over part's replicas; false when a member is
   no replica, is named twice, or is both adding and removing. */
static bool moving_masks(rn_image_partition_t *part, const rn_md_moving_t *m) {
    uint32_t adding = 0, removing = 0;
    for (int16_t n = 0; n < m->adding_count; n++) {
        uint32_t bit = replica_bit(part, m->adding[n]);
        if (!bit || (adding & bit)) return false;
        adding |= bit;
    }
    for (int16_t n = 0; n < m->removing_count; n++) {
        uint32_t bit = replica_bit(part, m->removing[n]);
        if (!bit || (removing & bit) || (adding & bit)) return false;
        removing |= bit;
    }
    part->adding_mask = adding;
    part->removing_mask = removing;
    return true;
}

/* The masks of cur carried over to next's replica list, by broker id (a
   replica no longer listed drops out of them). */
static void moving_carry(const rn_image_partition_t *cur, rn_image_partition_t *next) {
    uint32_t adding = 0, removing = 0;
    for (int16_t n = 0; n < cur->replica_count; n++) {
        uint32_t bit = replica_bit(next, cur->replicas[n]);
        if (cur->adding_mask & (1u << n)) adding |= bit;
        if (cur->removing_mask & (1u << n)) removing |= bit;
    }
    next->adding_mask = adding;
    next->removing_mask = removing;
}

static rn_err_t apply_partition(rn_image_t *img, const rn_md_partition_record_t *rec) {
    rn_image_topic_t *found = img->by_id[slot_of_id(img, &rec->topic_id)];
    if (!found || rec->partition < 0 || rec->partition > found->partition_count)
        return RN_ERR_CORRUPT;
    bool grows = rec->partition == found->partition_count;
    if (grows && (found->partition_count >= RN_TOPIC_PARTITIONS_MAX ||
                  img->partition_total >= RN_BROKER_PARTITIONS_MAX))
        return RN_ERR_LIMIT;
    rn_image_topic_t *topic = topic_mut(img, found);
    if (!topic) return RN_ERR_NO_MEMORY;
    if (grows && topic->partition_count == topic->partition_cap) {
        int32_t cap = topic->partition_cap ? topic->partition_cap * 2 : 1;
        rn_image_partition_t *parts = realloc(topic->partitions, (size_t)cap * sizeof(*parts));
        if (!parts) return RN_ERR_NO_MEMORY;
        topic->partitions = parts;
        topic->partition_cap = cap;
    }
    rn_image_partition_t *part = &topic->partitions[rec->partition];
    memset(part, 0, sizeof(*part));
    part->leader = rec->leader;
    part->leader_epoch = rec->leader_epoch;
    part->partition_epoch = rec->partition_epoch;
    part->replica_count = rec->replica_count;
    part->isr_count = rec->isr_count;
    memcpy(part->replicas, rec->replicas, (size_t)rec->replica_count * sizeof(int32_t));
    memcpy(part->isr, rec->isr, (size_t)rec->isr_count * sizeof(int32_t));
    if (!moving_masks(part, &rec->moving)) return RN_ERR_CORRUPT;
    if (grows) {
        topic->partition_count++;
        img->partition_total++;
    }
    return RN_OK;
}

static rn_err_t apply_topic_config(rn_image_t *img, const rn_md_config_record_t *rec) {
    rn_image_topic_t *found = NULL;
    if (rec->resource_name.len > 0 && rec->resource_name.len <= RN_TOPIC_NAME_BYTES_MAX)
        found =
            img->by_name[slot_of_name(img, rec->resource_name.ptr, (size_t)rec->resource_name.len)];
    if (!found) return RN_ERR_CORRUPT;
    char key[RN_CONFIG_KEY_BYTES_MAX + 1];
    rn_md_str_copy(rec->key, key, sizeof(key));
    int k = rn_topic_config_key(key);
    if (k < 0) {
        RN_WARN(MOD, "topic %s: ignoring unknown config %s", found->name, key);
        return RN_OK;
    }
    rn_image_topic_t *topic = topic_mut(img, found);
    if (!topic) return RN_ERR_NO_MEMORY;
    char *value = NULL;
    if (rec->value.len >= 0) {
        value = malloc((size_t)rec->value.len + 1);
        if (!value) return RN_ERR_NO_MEMORY;
        rn_md_str_copy(rec->value, value, (size_t)rec->value.len + 1);
    }
    if (topic->overrides[k]) topic->override_count--;
    free((void *)topic->overrides[k]);
    topic->overrides[k] = value;
    if (value) topic->override_count++;
    return RN_OK;
}

static rn_err_t apply_broker_config(rn_image_t *img, const rn_md_config_record_t *rec) {
    char resource[RN_TOPIC_NAME_BYTES_MAX + 1], key[RN_CONFIG_KEY_BYTES_MAX + 1];
    rn_md_str_copy(rec->resource_name, resource, sizeof(resource));
    rn_md_str_copy(rec->key, key, sizeof(key));
    int32_t at = -1;
    for (int32_t n = 0; n < img->broker_config_count && at < 0; n++) {
        rn_image_broker_config_t *bc = &img->broker_configs[n];
        if (strcmp(bc->resource, resource) == 0 && strcmp(bc->key, key) == 0) at = n;
    }
    if (at >= 0) { /* remove, then maybe add back */
        rn_image_broker_config_t *bc = &img->broker_configs[at];
        free(bc->resource);
        free(bc->key);
        free(bc->value);
        *bc = img->broker_configs[--img->broker_config_count];
    }
    if (rec->value.len < 0) return RN_OK;
    if (img->broker_config_count >= RN_MD_BROKER_CONFIGS_MAX) return RN_ERR_LIMIT;
    rn_image_broker_config_t *grown =
        realloc(img->broker_configs, (size_t)(img->broker_config_count + 1) * sizeof(*grown));
    if (!grown) return RN_ERR_NO_MEMORY;
    img->broker_configs = grown;
    rn_image_broker_config_t *bc = &grown[img->broker_config_count];
    bc->resource = strdup(resource);
    bc->key = strdup(key);
    bc->value = malloc((size_t)rec->value.len + 1);
    img->broker_config_count++;
    if (!bc->resource || !bc->key || !bc->value) return RN_ERR_NO_MEMORY;
    rn_md_str_copy(rec->value, bc->value, (size_t)rec->value.len + 1);
    return RN_OK;
}

static rn_err_t apply_remove_topic(rn_image_t *img, const rn_md_remove_topic_record_t *rec) {
    rn_image_topic_t *topic = img->by_id[slot_of_id(img, &rec->topic_id)];
    if (!topic) return RN_ERR_CORRUPT;
    img->topic_count--;
    table_remove(img, topic);
    img->partition_total -= topic->partition_count;
    topic_release(topic);
    return RN_OK;
}

/* ---- broker records ---- */

static void endpoint_fill(rn_image_endpoint_t *out, const rn_md_endpoint_t *ep) {
    memset(out, 0, sizeof(*out));
    rn_md_str_copy(ep->name, out->name, sizeof(out->name));
    rn_md_str_copy(ep->host, out->host, sizeof(out->host));
    out->port = ep->port;
    out->security_protocol = ep->security_protocol;
}

static void broker_fill(rn_image_broker_t *broker, const rn_md_register_broker_record_t *rec) {
    memset(broker, 0, sizeof(*broker));
    broker->id = rec->broker_id;
    broker->incarnation_id = rec->incarnation_id;
    broker->epoch = rec->broker_epoch;
    RN_ASSERT(rec->endpoint_count >= 0 && rec->endpoint_count <= RN_BROKER_ENDPOINTS_MAX);
    broker->endpoint_count = rec->endpoint_count;
    for (int16_t n = 0; n < rec->endpoint_count; n++)
        endpoint_fill(&broker->endpoints[n], &rec->endpoints[n]);
    broker->has_rack = rec->rack.len >= 0;
    rn_md_str_copy(rec->rack, broker->rack, sizeof(broker->rack));
    broker->fenced = rec->fenced;
    broker->in_controlled_shutdown = rec->in_controlled_shutdown;
    broker->directory_id = rec->directory_id;
}

static rn_err_t apply_register_broker(rn_image_t *img, const rn_md_register_broker_record_t *rec) {
    if (rec->broker_id < 0 || rec->endpoint_count < 0 ||
        rec->endpoint_count > RN_BROKER_ENDPOINTS_MAX)
        return RN_ERR_CORRUPT;
    int32_t at = brokers_find(img->brokers, rec->broker_id);
    if (at < 0 && rn_image_broker_count(img) >= RN_BROKERS_MAX) return RN_ERR_LIMIT;
    rn_image_brokers_t *brokers = brokers_mut(img);
    if (!brokers) return RN_ERR_NO_MEMORY;
    if (at < 0) {
        at = -at - 1;
        memmove(&brokers->items[at + 1], &brokers->items[at],
                (size_t)(brokers->count - at) * sizeof(brokers->items[0]));
        brokers->count++;
    }
    broker_fill(&brokers->items[at], rec);
    return RN_OK;
}

/* The registered broker a record names, to change; NULL (and *err) when it
   is unknown or the epoch is not its registration's. */
static rn_image_broker_t *broker_for_change(rn_image_t *img, int32_t id, int64_t epoch,
                                            int32_t *index, rn_err_t *err) {
    *index = brokers_find(img->brokers, id);
    if (*index < 0 || img->brokers->items[*index].epoch != epoch) {
        *err = RN_ERR_CORRUPT;
        return NULL;
    }
    rn_image_brokers_t *brokers = brokers_mut(img);
    if (!brokers) {
        *err = RN_ERR_NO_MEMORY;
        return NULL;
    }
    return &brokers->items[*index];
}

static rn_err_t apply_broker_record(rn_image_t *img, const rn_md_record_t *rec) {
    bool change = rec->type == RN_MD_BROKER_CHANGE;
    int32_t id = change ? rec->u.broker_change.broker_id : rec->u.broker_epoch.broker_id;
    int64_t epoch = change ? rec->u.broker_change.broker_epoch : rec->u.broker_epoch.broker_epoch;
    int32_t at = 0;
    rn_err_t err = RN_OK;
    rn_image_broker_t *broker = broker_for_change(img, id, epoch, &at, &err);
    if (!broker) return err;
    if (rec->type == RN_MD_UNREGISTER_BROKER) {
        rn_image_brokers_t *brokers = img->brokers;
        memmove(&brokers->items[at], &brokers->items[at + 1],
                (size_t)(brokers->count - at - 1) * sizeof(brokers->items[0]));
        brokers->count--;
    } else if (rec->type == RN_MD_FENCE_BROKER || rec->type == RN_MD_UNFENCE_BROKER) {
        broker->fenced = rec->type == RN_MD_FENCE_BROKER;
    } else {
        RN_ASSERT(change);
        if (rec->u.broker_change.fenced != RN_MD_FLAG_NO_CHANGE)
            broker->fenced = rec->u.broker_change.fenced == 1;
        if (rec->u.broker_change.in_controlled_shutdown != RN_MD_FLAG_NO_CHANGE)
            broker->in_controlled_shutdown = rec->u.broker_change.in_controlled_shutdown == 1;
    }
    return RN_OK;
}

/* ---- partition changes ---- */

static bool ids_contain(const int32_t *ids, int16_t count, int32_t id) {
    for (int16_t n = 0; n < count; n++) {
        if (ids[n] == id) return true;
    }
    return false;
}

/* The partition after the change, or false if it breaks an invariant (ISR
   outside the replicas, a leader outside the ISR, a repeated replica, a
   reassignment's list outside the replicas). */
static bool partition_changed(const rn_image_partition_t *cur,
                              const rn_md_partition_change_record_t *rec,
                              rn_image_partition_t *next) {
    *next = *cur;
    if (rec->replica_count != RN_MD_LIST_NO_CHANGE) {
        next->replica_count = rec->replica_count;
        memcpy(next->replicas, rec->replicas, (size_t)rec->replica_count * sizeof(int32_t));
    }
    if (rec->isr_count != RN_MD_LIST_NO_CHANGE) {
        next->isr_count = rec->isr_count;
        memcpy(next->isr, rec->isr, (size_t)rec->isr_count * sizeof(int32_t));
    }
    if (rec->leader != RN_MD_LEADER_NO_CHANGE) next->leader = rec->leader;
    if (next->replica_count < 1) return false;
    for (int16_t n = 0; n < next->replica_count; n++) {
        if (ids_contain(next->replicas, n, next->replicas[n])) return false;
    }
    for (int16_t n = 0; n < next->isr_count; n++) {
        if (!ids_contain(next->replicas, next->replica_count, next->isr[n])) return false;
        if (ids_contain(next->isr, n, next->isr[n])) return false;
    }
    if (next->leader >= 0 && !ids_contain(next->isr, next->isr_count, next->leader)) return false;
    if (!rec->sets_moving)
        moving_carry(cur, next);
    else if (!moving_masks(next, &rec->moving))
        return false;
    if (next->leader != cur->leader) next->leader_epoch = cur->leader_epoch + 1;
    next->partition_epoch = cur->partition_epoch + 1;
    return true;
}

static rn_err_t apply_partition_change(rn_image_t *img,
                                       const rn_md_partition_change_record_t *rec) {
    rn_image_topic_t *found = img->by_id[slot_of_id(img, &rec->topic_id)];
    if (!found || rec->partition < 0 || rec->partition >= found->partition_count)
        return RN_ERR_CORRUPT;
    rn_image_partition_t next;
    if (!partition_changed(&found->partitions[rec->partition], rec, &next)) return RN_ERR_CORRUPT;
    rn_image_topic_t *topic = topic_mut(img, found);
    if (!topic) return RN_ERR_NO_MEMORY;
    topic->partitions[rec->partition] = next;
    return RN_OK;
}

rn_err_t rn_image_builder_apply(rn_image_builder_t *b, uint64_t offset, const rn_md_record_t *rec) {
    rn_image_t *img = b->img;
    RN_ASSERT(img != NULL);
    RN_ASSERT(offset == img->next_offset);
    rn_err_t err = RN_ERR_CORRUPT;
    switch (rec->type) {
    case RN_MD_TOPIC:
        err = apply_topic(img, &rec->u.topic);
        break;
    case RN_MD_PARTITION:
        err = apply_partition(img, &rec->u.partition);
        break;
    case RN_MD_CONFIG:
        if (rec->u.config.resource_type == RN_MD_RESOURCE_TOPIC)
            err = apply_topic_config(img, &rec->u.config);
        else if (rec->u.config.resource_type == RN_MD_RESOURCE_BROKER)
            err = apply_broker_config(img, &rec->u.config);
        break;
    case RN_MD_REMOVE_TOPIC:
        err = apply_remove_topic(img, &rec->u.remove_topic);
        break;
    case RN_MD_REGISTER_BROKER:
        err = apply_register_broker(img, &rec->u.register_broker);
        break;
    case RN_MD_UNREGISTER_BROKER:
    case RN_MD_FENCE_BROKER:
    case RN_MD_UNFENCE_BROKER:
    case RN_MD_BROKER_CHANGE:
        err = apply_broker_record(img, rec);
        break;
    case RN_MD_PARTITION_CHANGE:
        err = apply_partition_change(img, &rec->u.partition_change);
        break;
    case RN_MD_VOTER_DIR:
    case RN_MD_CLUSTER_ID:
        err = RN_OK; /* the quorum's own (metadata/quorum.c), not the image's */
        break;
    case RN_MD_PRODUCER_IDS:
        if (rec->u.producer_ids.next_producer_id > img->next_producer_id) {
            img->next_producer_id = rec->u.producer_ids.next_producer_id;
            err = RN_OK;
        }
        break;
    }
    if (err == RN_OK) img->next_offset = offset + 1;
    return err;
}

typedef struct batch_apply {
    rn_image_builder_t *b;
    uint64_t base_offset;
} batch_apply_t;

static rn_err_t apply_one(void *ctx, uint32_t index, const rn_md_record_t *rec) {
    batch_apply_t *ba = ctx;
    return rn_image_builder_apply(ba->b, ba->base_offset + index, rec);
}

rn_err_t rn_image_builder_apply_batch(rn_image_builder_t *b, uint64_t base_offset,
                                      const rn_md_batch_t *batch) {
    batch_apply_t ba = {b, base_offset};
    return rn_md_batch_each(batch->buf.ptr, batch->buf.len, batch->count, apply_one, &ba);
}

void rn_image_builder_set_next_offset(rn_image_builder_t *b, uint64_t next_offset) {
    RN_ASSERT(b->img != NULL);
    RN_ASSERT(next_offset >= b->img->next_offset);
    b->img->next_offset = next_offset;
}

static int compare_names(const void *a, const void *b) {
    const rn_image_topic_t *ta = *(rn_image_topic_t *const *)a;
    const rn_image_topic_t *tb = *(rn_image_topic_t *const *)b;
    return strcmp(ta->name, tb->name);
}

rn_image_t *rn_image_builder_finish(rn_image_builder_t *b) {
    rn_image_t *img = b->img;
    RN_ASSERT(img != NULL);
    RN_ASSERT(img->list == NULL);
    img->list = malloc((size_t)(img->topic_count > 0 ? img->topic_count : 1) * sizeof(*img->list));
    if (!img->list) return NULL; /* the builder keeps the image: abort it */
    b->img = NULL;
    img->brokers_owned = false; /* frozen: the next builder copies before changing */
    int32_t at = 0;
    for (uint32_t n = 0; n < img->slot_count; n++) {
        if (img->by_name[n]) img->list[at++] = img->by_name[n];
    }
    RN_ASSERT(at == img->topic_count);
    qsort(img->list, (size_t)img->topic_count, sizeof(*img->list), compare_names);
    for (int32_t n = 0; n < img->topic_count; n++) {
        rn_image_topic_t *topic = img->list[n];
        if (topic->frozen) continue;
        int skipped = rn_topic_config_resolve(img->base, topic->overrides, &topic->config);
        if (skipped)
            RN_WARN(MOD, "topic %s: %d config overrides no longer valid, ignored", topic->name,
                    skipped);
        topic->frozen = true;
    }
    return img;
}

void rn_image_builder_abort(rn_image_builder_t *b) {
    if (b->img) image_free(b->img);
    b->img = NULL;
}

/* ---- publishing ---- */

static rn_image_t *cell_ptr(uint64_t word) {
    return (rn_image_t *)(uintptr_t)(word & CELL_PTR_MASK);
}

static uint64_t cell_pack(rn_image_t *img) {
    uint64_t word = (uint64_t)(uintptr_t)img;
    RN_ASSERT((word & ~CELL_PTR_MASK) == 0); /* user-space pointers fit 48 bits */
    return word;
}

void rn_image_cell_init(rn_image_cell_t *cell, rn_image_t *img) {
    RN_ASSERT(img != NULL);
    atomic_init(&cell->word, cell_pack(img));
}

void rn_image_cell_destroy(rn_image_cell_t *cell) {
    uint64_t word = atomic_exchange(&cell->word, 0);
    RN_ASSERT((word >> CELL_PTR_BITS) == 0); /* no reader mid-acquire */
    rn_image_release(cell_ptr(word));
}

rn_image_t *rn_image_acquire(rn_image_cell_t *cell) {
    /* Announce ourselves: the publisher turns pending announcements into
       references when it swaps the image out, so img cannot be freed here. */
    uint64_t word = atomic_fetch_add(&cell->word, CELL_ONE);
    rn_image_t *img = cell_ptr(word);
    RN_ASSERT(img != NULL);
    atomic_fetch_add(&img->refs, 1);
    uint64_t cur = atomic_load(&cell->word);
    for (;;) {
        if (cell_ptr(cur) != img) {
            /* Swapped out: the publisher already counted our announcement. */
            long prev = atomic_fetch_sub(&img->refs, 1);
            RN_ASSERT(prev > 1);
            break;
        }
        RN_ASSERT((cur >> CELL_PTR_BITS) > 0);
        if (atomic_compare_exchange_weak(&cell->word, &cur, cur - CELL_ONE)) break;
    }
    return img;
}

const rn_image_t *rn_image_cell_peek(rn_image_cell_t *cell) {
    return cell_ptr(atomic_load(&cell->word));
}

void rn_image_publish(rn_image_cell_t *cell, rn_image_t *img) {
    RN_ASSERT(img != NULL);
    uint64_t old = atomic_exchange(&cell->word, cell_pack(img));
    rn_image_t *old_img = cell_ptr(old);
    long pending = (long)(old >> CELL_PTR_BITS);
    if (pending > 0) atomic_fetch_add(&old_img->refs, pending);
    rn_image_release(old_img);
}
