/*
 * cleaner.c: the cleaning itself (cleaner.h, step 2): the key map over the
 * dirty part, the producers' last batches, and the rewrite of each group of
 * segments into a new "<base>.log.cleaned" with its indexes.
 *
 * Runs on the cleaner's thread and touches only the job: the pinned old
 * segments (read through their open handles) and the new files. Owns the
 * map and the buffers for the run. Never writes a live segment's file.
 */
#include "storage/cleaner.h"

#include "base/assert.h"
#include "base/buf.h"
#include "base/crc32c.h"
#include "base/log.h"
#include "proto/batch_deflate.h"
#include "proto/batch_inflate.h"
#include "proto/record.h"

#include <stdlib.h>
#include <string.h>

/* ---- the key map: 128-bit key digest -> latest offset ---- */

typedef struct keymap {
    uint64_t *slots; /* 3 words each: digest hi, digest lo, offset + 1 (0: empty) */
    uint64_t cap;    /* slots, a power of two */
    uint64_t used;
    uint64_t limit; /* used at most this (load factor 0.9, as Kafka) */
} keymap_t;

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static void digest(const uint8_t *key, int32_t len, uint64_t *hi, uint64_t *lo) {
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL ^ (uint64_t)len;
    for (int32_t i = 0; i < len; i++) {
        a = (a ^ key[i]) * 0x100000001b3ULL;
        b = (b + key[i]) * 0x9E3779B97F4A7C15ULL;
        b ^= b >> 29;
    }
    *hi = mix64(a);
    *lo = mix64(b ^ a);
}

static rn_err_t keymap_init(keymap_t *map, uint64_t bytes) {
    uint64_t cap = 1024;
    while (cap * 2 * 24 <= bytes) cap *= 2;
    map->slots = calloc(cap * 3, sizeof(uint64_t));
    if (!map->slots) return RN_ERR_NO_MEMORY;
    map->cap = cap;
    map->used = 0;
    map->limit = cap / 10 * 9;
    return RN_OK;
}

static uint64_t *keymap_slot(const keymap_t *map, const uint8_t *key, int32_t len) {
    uint64_t hi, lo;
    digest(key, len, &hi, &lo);
    for (uint64_t i = hi & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
        uint64_t *s = map->slots + 3 * i;
        if (s[2] == 0) {
            s[0] = hi;
            s[1] = lo;
            return s;
        }
        if (s[0] == hi && s[1] == lo) return s;
    }
}

static void keymap_put(keymap_t *map, const uint8_t *key, int32_t len, int64_t offset) {
    uint64_t *s = keymap_slot(map, key, len);
    if (s[2] == 0) map->used++;
    RN_ASSERT(map->used < map->cap);
    s[2] = (uint64_t)offset + 1;
}

/* The latest offset of key, or -1. */
static int64_t keymap_get(const keymap_t *map, const uint8_t *key, int32_t len) {
    uint64_t hi, lo;
    digest(key, len, &hi, &lo);
    for (uint64_t i = hi & (map->cap - 1);; i = (i + 1) & (map->cap - 1)) {
        const uint64_t *s = map->slots + 3 * i;
        if (s[2] == 0) return -1;
        if (s[0] == hi && s[1] == lo) return (int64_t)s[2] - 1;
    }
}

/* ---- the run's state ---- */

typedef struct producer_last {
    int64_t producer_id;
    int64_t base_offset;
} producer_last_t;

typedef struct cleaner {
    rn_clean_job_t *job;
    const rn_clean_params_t *params;
    keymap_t map;
    rn_buf_t batch;   /* the batch read */
    rn_buf_t plain;   /* its records, decompressed */
    rn_buf_t records; /* the kept records, re-encoded */
    rn_buf_t packed;  /* them compressed */
    rn_buf_t out;     /* the new batch */
    rn_batch_inflate_t *inf;
    producer_last_t *last; /* sorted by producer id */
    size_t last_count;
    bool map_full; /* the map stopped at a batch of the dirty part */
} cleaner_t;

static bool throttle(cleaner_t *cl, uint64_t bytes) {
    const rn_clean_params_t *pm = cl->params;
    return pm->throttle ? pm->throttle(pm->throttle_ctx, bytes) : true;
}

/* Reads the batch at pos and checks its header and CRC. */
static rn_err_t read_batch(cleaner_t *cl, rn_segment_t *seg, uint64_t pos,
                           const rn_batch_header_t *hdr) {
    static const rn_batch_limits_t lim = {RN_STORAGE_BATCH_BYTES_CEILING,
                                          RN_BATCH_ALLOW_CONTROL | RN_BATCH_SKIP_RECORDS |
                                              RN_BATCH_ALLOW_COMPACTED};
    size_t size = rn_batch_size(hdr);
    if (rn_batch_check_header(hdr, seg->size_bytes - pos, &lim) != RN_BATCH_OK)
        return RN_ERR_CORRUPT;
    cl->batch.len = 0;
    rn_err_t err = rn_buf_reserve(&cl->batch, size);
    if (err != RN_OK) return err;
    size_t got = 0;
    err = rn_io_file_pread(seg->io, seg->fd, cl->batch.ptr, size, pos, &got);
    if (err != RN_OK) return err;
    if (got != size) return RN_ERR_CORRUPT;
    cl->batch.len = size;
    if (rn_batch_check_body(cl->batch.ptr, hdr, &lim) != RN_BATCH_OK) return RN_ERR_CORRUPT;
    return throttle(cl, size) ? RN_OK : RN_ERR_CLOSED;
}

/* The records of the batch read: [*p, *end), decompressed if need be. */
static rn_err_t batch_records(cleaner_t *cl, const rn_batch_header_t *hdr, const uint8_t **p,
                              const uint8_t **end) {
    const uint8_t *body = cl->batch.ptr + RN_BATCH_HEADER_BYTES;
    size_t len = cl->batch.len - RN_BATCH_HEADER_BYTES;
    if (rn_batch_compression(hdr) == RN_BATCH_COMPRESSION_NONE) {
        *p = body;
        *end = body + len;
        return RN_OK;
    }
    rn_batch_inflate_begin(cl->inf, rn_batch_compression(hdr), body, len);
    cl->plain.len = 0;
    for (;;) {
        const uint8_t *chunk;
        size_t n;
        rn_inflate_status_t st = rn_batch_inflate_next(cl->inf, &chunk, &n);
        if (st == RN_INFLATE_END) break;
        if (st == RN_INFLATE_NO_MEMORY) return RN_ERR_NO_MEMORY;
        if (st != RN_INFLATE_MORE) return RN_ERR_CORRUPT;
        rn_err_t err = rn_buf_append(&cl->plain, chunk, n);
        if (err != RN_OK) return err == RN_ERR_TOO_LARGE ? RN_ERR_CORRUPT : err;
    }
    *p = cl->plain.ptr;
    *end = cl->plain.ptr + cl->plain.len;
    return RN_OK;
}

/* Calls fn for every batch of seg from position 0. */
typedef rn_err_t (*batch_fn)(cleaner_t *cl, rn_segment_t *seg, uint64_t pos,
                             const rn_batch_header_t *hdr, bool *stop);

static rn_err_t each_batch(cleaner_t *cl, rn_segment_t *seg, batch_fn fn) {
    rn_segment_cursor_t *cur = malloc(sizeof(*cur));
    if (!cur) return RN_ERR_NO_MEMORY;
    rn_segment_cursor_init(cur, seg);
    rn_err_t err = RN_OK;
    bool stop = false;
    for (uint64_t pos = 0; pos < seg->size_bytes && !stop;) {
        rn_batch_header_t hdr;
        err = rn_segment_cursor_header(cur, pos, &hdr);
        if (err != RN_OK) break;
        err = fn(cl, seg, pos, &hdr, &stop);
        if (err != RN_OK) break;
        pos += rn_batch_size(&hdr);
    }
    free(cur);
    return err;
}

/* ---- step 1: the map ---- */

static rn_err_t map_batch(cleaner_t *cl, rn_segment_t *seg, uint64_t pos,
                          const rn_batch_header_t *hdr, bool *stop) {
    rn_clean_job_t *job = cl->job;
    if (rn_batch_last_offset(hdr) < job->first_dirty || rn_batch_is_control(hdr)) return RN_OK;
    if (cl->map.used + (uint64_t)hdr->records_count > cl->map.limit) {
        *stop = cl->map_full = true;
        return job->map_end > job->first_dirty ? RN_OK : RN_ERR_LIMIT;
    }
    rn_err_t err = read_batch(cl, seg, pos, hdr);
    const uint8_t *p = NULL, *end = NULL;
    if (err == RN_OK) err = batch_records(cl, hdr, &p, &end);
    for (int32_t i = 0; err == RN_OK && i < hdr->records_count; i++) {
        rn_record_t rec;
        if (!rn_record_next(&p, end, &rec)) return RN_ERR_CORRUPT;
        int64_t offset = hdr->base_offset + rec.offset_delta;
        if (offset >= job->first_dirty && rec.key)
            keymap_put(&cl->map, rec.key, rec.key_len, offset);
    }
    if (err == RN_OK) job->map_end = rn_batch_last_offset(hdr) + 1;
    return err;
}

static rn_err_t build_map(cleaner_t *cl) {
    rn_clean_job_t *job = cl->job;
    job->map_end = job->first_dirty;
    for (uint32_t i = 0; i < job->count; i++) {
        rn_segment_t *seg = job->segs[i];
        if (seg->next_offset <= job->first_dirty) continue;
        rn_err_t err = each_batch(cl, seg, map_batch);
        if (err != RN_OK) return err;
        if (cl->map_full) break;
        job->map_end = seg->next_offset; /* mapped whole: its gaps too */
    }
    return RN_OK;
}

/* ---- the producers' last batches ---- */

static int cmp_last(const void *a, const void *b) {
    const producer_last_t *x = a, *y = b;
    if (x->producer_id != y->producer_id) return x->producer_id < y->producer_id ? -1 : 1;
    return (x->base_offset > y->base_offset) - (x->base_offset < y->base_offset);
}

static rn_err_t last_batch(cleaner_t *cl, rn_segment_t *seg, uint64_t pos,
                           const rn_batch_header_t *hdr, bool *stop) {
    (void)seg;
    (void)pos;
    (void)stop;
    if (hdr->producer_id < 0) return RN_OK;
    if (cl->last_count % 1024 == 0) {
        producer_last_t *grown =
            realloc(cl->last, (cl->last_count + 1024) * sizeof(producer_last_t));
        if (!grown) return RN_ERR_NO_MEMORY;
        cl->last = grown;
    }
    cl->last[cl->last_count++] = (producer_last_t){hdr->producer_id, hdr->base_offset};
    return RN_OK;
}

/* Keeps one entry per producer: its last batch. */
static rn_err_t find_last_batches(cleaner_t *cl) {
    for (uint32_t i = 0; i < cl->job->count; i++) {
        rn_err_t err = each_batch(cl, cl->job->segs[i], last_batch);
        if (err != RN_OK) return err;
    }
    if (cl->last_count == 0) return RN_OK;
    qsort(cl->last, cl->last_count, sizeof(producer_last_t), cmp_last);
    size_t n = 0;
    for (size_t i = 0; i < cl->last_count; i++) {
        if (n > 0 && cl->last[n - 1].producer_id == cl->last[i].producer_id)
            cl->last[n - 1] = cl->last[i];
        else
            cl->last[n++] = cl->last[i];
    }
    cl->last_count = n;
    return RN_OK;
}

static bool is_last_of_producer(const cleaner_t *cl, const rn_batch_header_t *hdr) {
    if (hdr->producer_id < 0) return false;
    producer_last_t key = {hdr->producer_id, hdr->base_offset};
    return bsearch(&key, cl->last, cl->last_count, sizeof key, cmp_last) != NULL;
}

/* ---- step 2: rewriting ---- */

typedef struct verdict {
    int32_t kept;
    int32_t tombstones_kept;
    int64_t max_timestamp; /* over the kept records */
} verdict_t;

static bool keep_record(const cleaner_t *cl, const rn_batch_header_t *hdr, const rn_record_t *rec) {
    if (!rec->key) return false; /* a compacted log keeps keyed records only */
    int64_t offset = hdr->base_offset + rec->offset_delta;
    int64_t latest = offset < cl->job->map_end ? keymap_get(&cl->map, rec->key, rec->key_len) : -1;
    if (latest > offset) return false;
    if (rec->value_len >= 0) return true;
    bool horizon = (hdr->attributes & RN_BATCH_ATTR_DELETE_HORIZON) != 0;
    return !horizon || cl->params->now_ms < hdr->base_timestamp;
}

/* Re-encodes the kept records into cl->records; timestamps rebased on
   base_ts. */
static rn_err_t rewrite_records(cleaner_t *cl, const rn_batch_header_t *hdr, const uint8_t *p,
                                const uint8_t *end, int64_t base_ts, verdict_t *v) {
    cl->records.len = 0;
    v->kept = v->tombstones_kept = 0;
    v->max_timestamp = -1;
    for (int32_t i = 0; i < hdr->records_count; i++) {
        rn_record_t rec;
        if (!rn_record_next(&p, end, &rec)) return RN_ERR_CORRUPT;
        if (!keep_record(cl, hdr, &rec)) continue;
        int64_t ts = hdr->base_timestamp + rec.timestamp_delta;
        rn_err_t err = rn_record_write(&cl->records, &rec, ts - base_ts);
        if (err != RN_OK) return err;
        v->kept++;
        if (rec.value_len < 0) v->tombstones_kept++;
        if (ts > v->max_timestamp) v->max_timestamp = ts;
    }
    return RN_OK;
}

/* Writes header + body into cl->out with the new fields and CRC. */
static rn_err_t build_batch(cleaner_t *cl, const rn_batch_header_t *hdr, int16_t attributes,
                            int64_t base_ts, int64_t max_ts, int32_t count, const rn_buf_t *body) {
    cl->out.len = 0;
    rn_err_t err = rn_buf_reserve(&cl->out, RN_BATCH_HEADER_BYTES + body->len);
    if (err != RN_OK) return err;
    uint8_t *b = cl->out.ptr;
    memcpy(b, cl->batch.ptr, RN_BATCH_HEADER_BYTES);
    if (body->len) memcpy(b + RN_BATCH_HEADER_BYTES, body->ptr, body->len);
    cl->out.len = RN_BATCH_HEADER_BYTES + body->len;
    rn_be32_put(b + RN_BATCH_OFF_LENGTH, (uint32_t)(cl->out.len - RN_BATCH_LOG_OVERHEAD));
    b[RN_BATCH_OFF_ATTRIBUTES] = (uint8_t)((uint16_t)attributes >> 8);
    b[RN_BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)attributes;
    rn_be64_put(b + RN_BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
    if (!(hdr->attributes & RN_BATCH_ATTR_LOG_APPEND_TIME))
        rn_be64_put(b + RN_BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
    rn_be32_put(b + RN_BATCH_OFF_RECORDS_COUNT, (uint32_t)count);
    uint32_t crc = rn_crc32c(0, b + RN_BATCH_OFF_ATTRIBUTES, cl->out.len - RN_BATCH_OFF_ATTRIBUTES);
    rn_be32_put(b + RN_BATCH_OFF_CRC, crc);
    return RN_OK;
}

/* Decides a batch: what to write at *blob, *len bytes (the batch as read, a
   rewritten one, or nothing: *len 0). */
static rn_err_t filter_batch(cleaner_t *cl, const rn_batch_header_t *hdr, const uint8_t **blob,
                             size_t *len) {
    *blob = cl->batch.ptr;
    *len = cl->batch.len;
    if (rn_batch_is_control(hdr)) return RN_OK; /* transaction markers: kept as they are */
    const uint8_t *p, *end;
    rn_err_t err = batch_records(cl, hdr, &p, &end);
    bool has_horizon = (hdr->attributes & RN_BATCH_ATTR_DELETE_HORIZON) != 0;
    int64_t horizon = cl->params->now_ms + cl->params->delete_retention_ms;
    verdict_t v;
    if (err == RN_OK) err = rewrite_records(cl, hdr, p, end, hdr->base_timestamp, &v);
    if (err != RN_OK) return err;
    cl->job->records_removed += hdr->records_count - v.kept;
    bool stamp = v.tombstones_kept > 0 && !has_horizon;
    if (v.kept == hdr->records_count && !stamp) return RN_OK;
    if (v.kept == 0 && !is_last_of_producer(cl, hdr)) {
        *len = 0;
        return RN_OK;
    }
    int64_t base_ts = hdr->base_timestamp;
    int16_t attributes = hdr->attributes;
    if (stamp) { /* the first clean that keeps a tombstone starts its clock */
        base_ts = horizon;
        attributes = (int16_t)(attributes | RN_BATCH_ATTR_DELETE_HORIZON);
        err = rewrite_records(cl, hdr, p, end, base_ts, &v);
        if (err != RN_OK) return err;
    }
    const rn_buf_t *body = &cl->records;
    int codec = rn_batch_compression(hdr);
    if (codec != RN_BATCH_COMPRESSION_NONE && v.kept > 0) {
        const uint8_t *src = cl->batch.ptr + RN_BATCH_HEADER_BYTES;
        err = rn_batch_deflate(codec, src, cl->batch.len - RN_BATCH_HEADER_BYTES, cl->records.ptr,
                               cl->records.len, &cl->packed);
        if (err != RN_OK) return err;
        body = &cl->packed;
    }
    int64_t max_ts = v.kept > 0 ? v.max_timestamp : hdr->max_timestamp;
    err = build_batch(cl, hdr, attributes, base_ts, max_ts, v.kept, body);
    if (err != RN_OK) return err;
    *blob = cl->out.ptr;
    *len = cl->out.len;
    return RN_OK;
}

static rn_err_t clean_batch(cleaner_t *cl, rn_segment_t *seg, uint64_t pos,
                            const rn_batch_header_t *hdr, bool *stop) {
    (void)stop;
    rn_err_t err = read_batch(cl, seg, pos, hdr);
    if (err == RN_OK) cl->job->bytes_read += rn_batch_size(hdr);
    const uint8_t *blob = NULL;
    size_t len = 0;
    if (err == RN_OK) err = filter_batch(cl, hdr, &blob, &len);
    if (err != RN_OK || len == 0) return err;
    rn_clean_group_t *group = &cl->job->groups[cl->job->group_count - 1];
    err = rn_segment_append(group->seg, blob, len, cl->job->index_interval_bytes);
    if (err != RN_OK) return err;
    cl->job->bytes_written += len;
    return throttle(cl, len) ? RN_OK : RN_ERR_CLOSED;
}

/* How many segments from i form one group: at most segment.bytes of old
   data, offsets within an int32 of the first base, all below map_end. */
static uint32_t group_size(const rn_clean_job_t *job, uint32_t i, int64_t segment_bytes) {
    uint64_t bytes = job->segs[i]->size_bytes;
    uint32_t n = 1;
    while (i + n < job->count) {
        const rn_segment_t *next = job->segs[i + n];
        if (next->base_offset >= job->map_end) break;
        if (bytes + next->size_bytes > (uint64_t)segment_bytes) break;
        if (next->next_offset - 1 - job->segs[i]->base_offset > INT32_MAX) break;
        bytes += next->size_bytes;
        n++;
    }
    return n;
}

static rn_err_t clean_group(cleaner_t *cl, uint32_t first, uint32_t n) {
    rn_clean_job_t *job = cl->job;
    rn_clean_group_t *group = &job->groups[job->group_count++];
    *group = (rn_clean_group_t){first, n, NULL};
    rn_err_t err = rn_segment_create_cleaned(job->io, job->dir, job->segs[first]->base_offset,
                                             job->index_bytes_max, &group->seg);
    for (uint32_t i = first; err == RN_OK && i < first + n; i++)
        err = each_batch(cl, job->segs[i], clean_batch);
    if (err != RN_OK) return err;
    rn_segment_t *seg = group->seg;
    seg->next_offset = job->segs[first + n - 1]->next_offset; /* gaps are the log's */
    err = rn_io_file_sync(seg->io, seg->fd);
    if (err == RN_OK) {
        seg->synced_bytes = seg->size_bytes;
        err = rn_segment_write_index_files(seg, ".cleaned");
    }
    return err;
}

static rn_err_t clean_segments(cleaner_t *cl) {
    rn_clean_job_t *job = cl->job;
    job->groups = calloc(job->count, sizeof(rn_clean_group_t));
    if (!job->groups) return RN_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < job->count && job->segs[i]->base_offset < job->map_end;) {
        uint32_t n = group_size(job, i, cl->params->segment_bytes);
        rn_err_t err = clean_group(cl, i, n);
        if (err != RN_OK) return err;
        i += n;
    }
    return RN_OK;
}

static void cleaner_free(cleaner_t *cl) {
    free(cl->map.slots);
    rn_buf_free(&cl->batch);
    rn_buf_free(&cl->plain);
    rn_buf_free(&cl->records);
    rn_buf_free(&cl->packed);
    rn_buf_free(&cl->out);
    if (cl->inf) rn_batch_inflate_free(cl->inf);
    free(cl->last);
}

rn_err_t rn_clean_run(rn_clean_job_t *job, const rn_clean_params_t *params) {
    RN_ASSERT(job->count > 0 && job->groups == NULL);
    cleaner_t cl = {.job = job, .params = params};
    rn_buf_init(&cl.batch, RN_STORAGE_BATCH_BYTES_CEILING);
    rn_buf_init(&cl.plain, RN_BATCH_INFLATED_BYTES_MAX);
    rn_buf_init(&cl.records, RN_BATCH_INFLATED_BYTES_MAX + RN_BATCH_HEADER_BYTES);
    rn_buf_init(&cl.packed, RN_STORAGE_BATCH_BYTES_CEILING);
    rn_buf_init(&cl.out, RN_STORAGE_BATCH_BYTES_CEILING);
    cl.inf = rn_batch_inflate_new();
    rn_err_t err = cl.inf ? keymap_init(&cl.map, params->map_bytes) : RN_ERR_NO_MEMORY;
    if (err == RN_OK) err = build_map(&cl);
    if (err == RN_OK) err = find_last_batches(&cl);
    if (err == RN_OK) err = clean_segments(&cl);
    cleaner_free(&cl);
    return err;
}
