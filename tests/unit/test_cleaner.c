/*
 * test_cleaner.c: the log cleaner over the real file system: the latest
 * record per key kept at its offset, tombstones kept until their delete
 * horizon, a crash at each step of the swap leaving a valid log (the old
 * records or the cleaned ones, never a mix that loses or repeats one), and
 * a corrupt batch stopping the clean with the log as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/crc32c.h"
#include "base/endian.h"
#include "io/io.h"
#include "proto/batch.h"
#include "proto/batch_deflate.h"
#include "proto/batch_inflate.h"
#include "proto/record.h"
#include "storage/checkpoint.h"
#include "storage/cleaner.h"
#include "storage/log.h"
#include "storage/log_check.h"

#include "helpers/batch_build.h"
#include "helpers/tmp_dir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static char root[256];
static char dir[512];

static int setup(void **state) {
    (void)state;
    if (!td_make(root, sizeof root, "rn_test_cleaner_")) return -1;
    snprintf(dir, sizeof dir, "%s/t-0", root);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    td_remove(root);
    return 0;
}

/* One batch of one record: key "k<key>", value "v<n>" or null. */
static size_t one_record(uint8_t *out, int key, int n, bool tombstone) {
    char k[16], v[16];
    int klen = snprintf(k, sizeof k, "k%d", key), vlen = snprintf(v, sizeof v, "v%d", n);
    uint8_t body[64];
    size_t b = 0;
    body[b++] = 0;
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, 0);
    b += bb_put_varint(body + b, klen);
    memcpy(body + b, k, (size_t)klen);
    b += (size_t)klen;
    b += bb_put_varint(body + b, tombstone ? -1 : vlen);
    if (!tombstone) {
        memcpy(body + b, v, (size_t)vlen);
        b += (size_t)vlen;
    }
    b += bb_put_varint(body + b, 0);
    size_t n_len = bb_put_varint(out + 61, (int64_t)b);
    memcpy(out + 61 + n_len, body, b);
    bb_batch_t s = {.records = 1, .first_ts = 1000, .producer_id = -1, .epoch = -1, .seq = -1};
    bb_batch_finish(out, 61 + n_len + b, &s);
    return 61 + n_len + b;
}

static rn_log_t *open_log(void) {
    rn_log_config_t cfg;
    rn_log_config_default(&cfg);
    cfg.segment_bytes = 300; /* a few records a segment */
    cfg.retention_ms = -1;
    rn_log_t *log = NULL;
    assert_int_equal(rn_log_open(rn_io_linux(), dir, &cfg, &log), RN_OK);
    return log;
}

/* Appends n updates over keys 0..keys-1 (update i to key i % keys). */
static void fill(rn_log_t *log, int n, int keys, int tombstone_key) {
    for (int i = 0; i < n; i++) {
        uint8_t buf[128];
        int key = i % keys;
        size_t len = one_record(buf, key, i, key == tombstone_key && i >= n - keys);
        rn_log_append_info_t info;
        assert_int_equal(rn_log_append(log, buf, len, 0, 1000, &info), RN_OK);
    }
    assert_int_equal(rn_log_sync(log), RN_OK);
}

typedef struct rec {
    int64_t offset;
    char key[16];
    char value[16]; /* "" for a tombstone */
} rec_t;

/* Decompresses a batch's records region into plain (which must be empty). */
static void inflate_all(int codec, const uint8_t *in, size_t len, rn_buf_t *plain) {
    rn_batch_inflate_t *inf = rn_batch_inflate_new();
    assert_non_null(inf);
    rn_batch_inflate_begin(inf, codec, in, len);
    for (;;) {
        const uint8_t *chunk;
        size_t n;
        rn_inflate_status_t st = rn_batch_inflate_next(inf, &chunk, &n);
        if (st == RN_INFLATE_END) break;
        assert_int_equal(st, RN_INFLATE_MORE);
        assert_int_equal(rn_buf_append(plain, chunk, n), RN_OK);
    }
    rn_batch_inflate_free(inf);
}

/* Every record of the log, in order, through reads as a fetch does them. */
static int read_all(rn_log_t *log, rec_t *out, int cap) {
    int n = 0;
    int64_t offset = rn_log_start_offset(log);
    while (offset < rn_log_end_offset(log)) {
        rn_log_read_t rd;
        assert_int_equal(rn_log_read(log, offset, 1 << 20, INT64_MAX, &rd), RN_OK);
        if (rd.len == 0) break;
        uint8_t *buf = malloc(rd.len);
        size_t got = 0;
        assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, buf, rd.len, rd.position, &got),
                         RN_OK);
        for (size_t pos = 0; pos < got;) {
            rn_batch_header_t hdr;
            rn_batch_header_parse(buf + pos, &hdr);
            const uint8_t *p = buf + pos + 61, *end = buf + pos + rn_batch_size(&hdr);
            rn_buf_t plain;
            rn_buf_init(&plain, 1 << 20);
            if (rn_batch_compression(&hdr) != RN_BATCH_COMPRESSION_NONE) {
                inflate_all(rn_batch_compression(&hdr), p, (size_t)(end - p), &plain);
                p = plain.ptr;
                end = plain.ptr + plain.len;
            }
            for (int32_t i = 0; i < hdr.records_count; i++) {
                rn_record_t r;
                assert_true(rn_record_next(&p, end, &r));
                assert_true(n < cap);
                out[n].offset = hdr.base_offset + r.offset_delta;
                snprintf(out[n].key, sizeof out[n].key, "%.*s", r.key_len, (const char *)r.key);
                snprintf(out[n].value, sizeof out[n].value, "%.*s",
                         r.value_len > 0 ? r.value_len : 0, r.value ? (const char *)r.value : "");
                n++;
            }
            rn_buf_free(&plain);
            offset = rn_batch_last_offset(&hdr) + 1;
            pos += rn_batch_size(&hdr);
        }
        free(buf);
        rn_log_read_release(&rd);
    }
    return n;
}

/* A clean whose groups hold at most group_bytes of old segments. */
static rn_err_t clean_in_groups(rn_log_t *log, int64_t now_ms, bool commit, int64_t group_bytes) {
    rn_clean_job_t job;
    rn_err_t err = rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job);
    if (err != RN_OK) return err;
    rn_clean_params_t pm = {now_ms, 100, group_bytes, 1 << 20, NULL, NULL};
    err = rn_clean_run(&job, &pm);
    uint32_t swapped = 0;
    if (err == RN_OK && commit) err = rn_log_clean_commit(log, &job, &swapped);
    rn_clean_job_free(&job);
    return err;
}

static rn_err_t clean(rn_log_t *log, int64_t now_ms, bool commit) {
    return clean_in_groups(log, now_ms, commit, 1 << 20);
}

/* Below the active segment, each key once, at its latest offset there. */
static void check_compacted(rn_log_t *log, rec_t *recs, int n) {
    (void)log;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (!strcmp(recs[i].key, recs[j].key)) {
                /* an older copy survives only in the active segment */
                assert_true(recs[i].offset < recs[j].offset);
            }
    for (int i = 1; i < n; i++) assert_true(recs[i].offset > recs[i - 1].offset);
}

static void test_latest_kept(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 200, 10, -1);
    rec_t before[256], after[256];
    int nb = read_all(log, before, 256);
    assert_int_equal(nb, 200);
    assert_int_equal(clean(log, 5000, true), RN_OK);
    int na = read_all(log, after, 256);
    assert_true(na < 40);
    check_compacted(log, after, na);
    /* every kept record is the original at its original offset */
    for (int i = 0; i < na; i++) {
        const rec_t *orig = &before[after[i].offset];
        assert_int_equal(orig->offset, after[i].offset);
        assert_string_equal(orig->key, after[i].key);
        assert_string_equal(orig->value, after[i].value);
    }
    /* each key's last record is its latest update */
    for (int k = 0; k < 10; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        const rec_t *last = NULL;
        for (int i = 0; i < na; i++)
            if (!strcmp(after[i].key, key)) last = &after[i];
        assert_non_null(last);
        assert_int_equal(last->offset, 190 + k);
    }
    /* it survives a reopen */
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log();
    assert_int_equal(read_all(log, before, 256), na);
    rn_log_close_unclean(log);
}

/* A clean that empties whole segments (every record superseded) leaves
   empty sealed segments; a later clean must still reach the segments after
   them. */
static void test_clean_again_past_empty_segments(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 200, 10, -1);
    assert_int_equal(clean_in_groups(log, 5000, true, 300), RN_OK); /* a group a segment */
    fill(log, 200, 10, -1); /* offsets 200..399, keys again */
    assert_int_equal(clean_in_groups(log, 5000, true, 300), RN_OK);
    rec_t recs[512];
    int n = read_all(log, recs, 512);
    assert_true(n < 40);
    check_compacted(log, recs, n);
    for (int i = 0; i < n; i++) assert_true(recs[i].offset >= 390 - 10); /* old ones gone */
    assert_int_equal(rn_log_close(log), RN_OK); /* the empty segments reopen */
    log = open_log();
    rec_t again[512];
    assert_int_equal(read_all(log, again, 512), n);
    assert_int_equal(again[0].offset, recs[0].offset);
    rn_log_close_unclean(log);
}

/* xerial's snappy stream header, as the Java producer frames snappy. */
static const uint8_t xerial[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};

/* A batch of `count` records compressed with codec at out (snappy in
   xerial framing when `framed`): record j has key "k<(first + j) % keys>"
   and value "v<n + j>" (each long enough to compress). Its size. */
static size_t compressed_batch(uint8_t *out, int codec, bool framed, int first, int keys, int n,
                               int count) {
    rn_buf_t records, packed;
    rn_buf_init(&records, 1 << 20);
    rn_buf_init(&packed, 1 << 20);
    for (int j = 0; j < count; j++) {
        char k[16], v[64];
        int klen = snprintf(k, sizeof k, "k%d", (first + j) % keys);
        int vlen = snprintf(v, sizeof v, "v%d-v%d-v%d-v%d", n + j, n + j, n + j, n + j);
        rn_record_t rec = {.offset_delta = j,
                           .key = (const uint8_t *)k,
                           .key_len = klen,
                           .value = (const uint8_t *)v,
                           .value_len = vlen,
                           .headers = (const uint8_t *)"\0",
                           .headers_len = 1};
        assert_int_equal(rn_record_write(&records, &rec, j), RN_OK);
    }
    assert_int_equal(rn_batch_deflate(codec, NULL, 0, records.ptr, records.len, &packed), RN_OK);
    if (framed) {
        memcpy(out + 61, xerial, sizeof xerial);
        rn_be32_put(out + 61 + sizeof xerial, (uint32_t)packed.len);
        memcpy(out + 61 + sizeof xerial + 4, packed.ptr, packed.len);
        packed.len += sizeof xerial + 4;
    } else {
        memcpy(out + 61, packed.ptr, packed.len);
    }
    bb_batch_t b = {.records = count,
                    .first_ts = 1000,
                    .ts_step = 1,
                    .producer_id = -1,
                    .epoch = -1,
                    .seq = -1,
                    .attributes = codec};
    bb_batch_finish(out, 61 + packed.len, &b);
    size_t size = 61 + packed.len;
    rn_buf_free(&records);
    rn_buf_free(&packed);
    return size;
}

/* rn_batch_deflate's output inflates back to the input, for every codec. */
static void test_deflate_round_trip(void **state) {
    (void)state;
    static const int codecs[] = {RN_BATCH_COMPRESSION_GZIP, RN_BATCH_COMPRESSION_SNAPPY,
                                 RN_BATCH_COMPRESSION_LZ4, RN_BATCH_COMPRESSION_ZSTD};
    uint8_t plain[5000];
    for (size_t i = 0; i < sizeof plain; i++) plain[i] = (uint8_t)("abcab"[i % 5] + i / 997);
    for (size_t c = 0; c < 4; c++) {
        rn_buf_t packed, back;
        rn_buf_init(&packed, 1 << 20);
        rn_buf_init(&back, 1 << 20);
        assert_int_equal(rn_batch_deflate(codecs[c], NULL, 0, plain, sizeof plain, &packed), RN_OK);
        assert_true(packed.len < sizeof plain);
        inflate_all(codecs[c], packed.ptr, packed.len, &back);
        assert_int_equal(back.len, sizeof plain);
        assert_memory_equal(back.ptr, plain, sizeof plain);
        rn_buf_free(&packed);
        rn_buf_free(&back);
    }
    rn_buf_t out;
    rn_buf_init(&out, 1 << 20);
    assert_int_equal(rn_batch_deflate(7, NULL, 0, plain, 10, &out), RN_ERR_INVALID);
    rn_buf_free(&out);
}

/* Codec of the first batch of the log (the cleaned segment's); *framed
   whether its records start with xerial's header. */
static int first_batch_codec(rn_log_t *log, bool *framed) {
    rn_log_read_t rd;
    assert_int_equal(rn_log_read(log, rn_log_start_offset(log), 1 << 20, INT64_MAX, &rd), RN_OK);
    uint8_t raw[61 + 16];
    size_t got = 0;
    assert_int_equal(rn_io_file_pread(rn_io_linux(), rd.fd, raw, sizeof raw, rd.position, &got),
                     RN_OK);
    rn_log_read_release(&rd);
    rn_batch_header_t hdr;
    rn_batch_header_parse(raw, &hdr);
    *framed = memcmp(raw + 61, xerial, 8) == 0;
    return rn_batch_compression(&hdr);
}

/* Compressed batches half superseded: the kept records are rewritten with
   the batch's codec (snappy keeping its framing), values intact, each key's
   latest at its offset. */
static void test_compressed_rewrite(void **state) {
    (void)state;
    static const int codecs[] = {RN_BATCH_COMPRESSION_GZIP, RN_BATCH_COMPRESSION_SNAPPY,
                                 RN_BATCH_COMPRESSION_LZ4, RN_BATCH_COMPRESSION_ZSTD,
                                 RN_BATCH_COMPRESSION_SNAPPY};
    for (size_t c = 0; c < 5; c++) {
        bool framed = c == 4, framed_after = false;
        td_remove(root);
        assert_true(mkdir(root, 0755) == 0);
        rn_log_t *log = open_log();
        /* 8 batches of 6 records over 9 keys: each batch keeps some */
        for (int b = 0; b < 8; b++) {
            uint8_t buf[2048];
            size_t len = compressed_batch(buf, codecs[c], framed, b * 6, 9, b * 6, 6);
            rn_log_append_info_t info;
            assert_int_equal(rn_log_append(log, buf, len, 0, 1000, &info), RN_OK);
        }
        assert_int_equal(rn_log_sync(log), RN_OK);
        rec_t before[64], after[64];
        assert_int_equal(read_all(log, before, 64), 48);
        assert_int_equal(clean(log, 5000, true), RN_OK);
        int n = read_all(log, after, 64);
        assert_true(n < 48);
        check_compacted(log, after, n);
        for (int i = 0; i < n; i++) {
            assert_string_equal(before[after[i].offset].key, after[i].key);
            assert_string_equal(before[after[i].offset].value, after[i].value);
        }
        for (int k = 0; k < 9; k++) { /* the latest of key k: offset 39..47 */
            char key[16];
            snprintf(key, sizeof key, "k%d", k);
            int64_t last = -1;
            for (int i = 0; i < n; i++)
                if (!strcmp(after[i].key, key)) last = after[i].offset;
            assert_int_equal(last, 39 + (k + 9 - 39 % 9) % 9);
        }
        assert_int_equal(first_batch_codec(log, &framed_after), codecs[c]);
        assert_int_equal(framed_after, framed);
        rn_log_close_unclean(log);
    }
}

/* The first dirty offset survives a restart in the checkpoint: a clean
   after it maps only what came since, and finds nothing before that. */
static void test_clean_offset_kept(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 200, 10, -1);
    rn_clean_job_t job;
    assert_int_equal(rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job), RN_OK);
    assert_int_equal(job.first_dirty, 0);
    rn_clean_job_free(&job);
    assert_int_equal(clean(log, 5000, true), RN_OK);
    assert_int_equal(rn_log_close(log), RN_OK);
    log = open_log();
    assert_int_equal(rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job),
                     RN_ERR_NOT_FOUND); /* nothing dirty after the restart */
    int64_t end = rn_log_end_offset(log);
    fill(log, 40, 10, -1);
    assert_int_equal(rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job), RN_OK);
    assert_true(job.first_dirty > 0 && job.first_dirty <= end);
    assert_true(job.clean_bytes > 0);
    rn_clean_job_free(&job);
    rn_log_close_unclean(log);
}

/* A version 2 checkpoint (before the cleaner kept its place) still reads:
   clean offset 0, epochs and offsets as written. */
static void test_checkpoint_v2_reads(void **state) {
    (void)state;
    assert_true(mkdir(dir, 0755) == 0);
    const char *body = "runnel-partition-checkpoint 2\nlog_start_offset 5\nrecovery_point 9\n"
                       "clean_shutdown 1\nleader_epochs 1\n3 5\n";
    char text[256], path[700];
    snprintf(text, sizeof text, "%scrc %08x\n", body, rn_crc32c(0, body, strlen(body)));
    snprintf(path, sizeof path, "%s/%s", dir, RN_CHECKPOINT_FILE);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    rn_checkpoint_t cp;
    rn_epoch_cache_t epochs;
    rn_epoch_cache_init(&epochs);
    assert_int_equal(rn_checkpoint_read(rn_io_linux(), dir, &cp, &epochs), RN_OK);
    assert_int_equal(cp.log_start_offset, 5);
    assert_int_equal(cp.recovery_point, 9);
    assert_int_equal(cp.clean_offset, 0);
    assert_true(cp.has_epochs && cp.clean_shutdown);
    assert_int_equal(epochs.n, 1);
    cp.clean_offset = 77; /* written as version 3, read back */
    assert_int_equal(rn_checkpoint_write(rn_io_linux(), dir, &cp, &epochs), RN_OK);
    rn_checkpoint_t back;
    assert_int_equal(rn_checkpoint_read(rn_io_linux(), dir, &back, &epochs), RN_OK);
    assert_int_equal(back.clean_offset, 77);
    assert_int_equal(back.log_start_offset, 5);
    assert_int_equal(epochs.n, 1);
    rn_epoch_cache_free(&epochs);
}

static void count_problem(void *ctx, const char *d, const char *what) {
    (void)d;
    (void)what;
    (*(int *)ctx)++;
}

/* runnel log-check passes a cleaned log (shortened and emptied batches,
   compressed ones rewritten, gaps within and between segments, empty
   segments) and still finds a torn tail in it. */
static void test_log_check_after_clean(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 100, 10, 3);
    for (int b = 0; b < 6; b++) {
        uint8_t buf[2048];
        size_t len = compressed_batch(buf, RN_BATCH_COMPRESSION_ZSTD, false, b * 6, 9, b * 6, 6);
        rn_log_append_info_t info;
        assert_int_equal(rn_log_append(log, buf, len, 0, 1000, &info), RN_OK);
    }
    fill(log, 30, 10, -1);
    assert_int_equal(clean_in_groups(log, 5000, true, 300), RN_OK);
    assert_int_equal(rn_log_close(log), RN_OK);
    int problems = 0;
    rn_log_check_t chk = {.report = count_problem, .ctx = &problems};
    assert_int_equal(rn_log_check_dir(rn_io_linux(), dir, &chk), RN_OK);
    assert_int_equal(chk.problems, 0);
    assert_true(chk.segments > 2);
    char p[700];
    snprintf(p, sizeof p, "%s/00000000000000000000.log", dir);
    FILE *f = fopen(p, "ab"); /* a torn tail is still a fault */
    assert_non_null(f);
    fputs("torn", f);
    fclose(f);
    assert_int_equal(rn_log_check_dir(rn_io_linux(), dir, &chk), RN_OK);
    assert_true(chk.problems > 0);
}

/* Appends n updates of keys "k<first>".."k<first + n - 1>". */
static void append_keys(rn_log_t *log, int first, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t buf[128];
        size_t len = one_record(buf, first + i, i, false);
        rn_log_append_info_t info;
        assert_int_equal(rn_log_append(log, buf, len, 0, 1000, &info), RN_OK);
    }
    assert_int_equal(rn_log_sync(log), RN_OK);
}

/* Records of key in the log. */
static int count_key(rn_log_t *log, const char *key) {
    rec_t recs[256];
    int n = read_all(log, recs, 256), count = 0;
    for (int i = 0; i < n; i++) count += !strcmp(recs[i].key, key);
    return count;
}

static void test_tombstones(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 100, 5, 3);      /* key 3's last update is a tombstone */
    append_keys(log, 100, 20); /* and more so the tombstone's segment closes */
    assert_int_equal(clean(log, 5000, true), RN_OK);
    assert_int_equal(count_key(log, "k3"), 1); /* kept: its horizon (now + 100 ms) is to come */
    assert_int_equal(rn_log_clean_prepare(log, 0, INT64_MAX, &(rn_clean_job_t){0}),
                     RN_ERR_NOT_FOUND);
    rn_clean_job_t job;
    assert_int_equal(rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job),
                     RN_ERR_NOT_FOUND); /* nothing dirty */
    /* a clean before the horizon keeps it; one after drops it */
    append_keys(log, 200, 20);
    assert_int_equal(clean(log, 5050, true), RN_OK);
    assert_int_equal(count_key(log, "k3"), 1);
    append_keys(log, 300, 20);
    assert_int_equal(clean(log, 5200, true), RN_OK);
    assert_int_equal(count_key(log, "k3"), 0);
    rn_log_close_unclean(log);
}

static void file(const char *base, const char *ext, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s%s", dir, base, ext);
}

static void mv(const char *base, const char *from, const char *to) {
    char a[700], b[700];
    file(base, from, a, sizeof a);
    file(base, to, b, sizeof b);
    assert_int_equal(rename(a, b), 0);
}

/* Runs a clean without committing, then does the first `steps` steps of the
   swap by hand on the first group (base 0) and "crashes". */
static void crash_at(int steps, rec_t *out, int *n) {
    td_remove(root);
    assert_true(mkdir(root, 0755) == 0);
    rn_log_t *log = open_log();
    fill(log, 60, 4, -1);
    rn_clean_job_t job;
    assert_int_equal(rn_log_clean_prepare(log, rn_log_end_offset(log), INT64_MAX, &job), RN_OK);
    rn_clean_params_t pm = {5000, 100, 1 << 20, 1 << 20, NULL, NULL};
    assert_int_equal(rn_clean_run(&job, &pm), RN_OK);
    assert_true(job.group_count >= 1);
    const char *b0 = "00000000000000000000";
    if (steps >= 1) mv(b0, ".index.cleaned", ".index.swap");
    if (steps >= 2) mv(b0, ".timeindex.cleaned", ".timeindex.swap");
    if (steps >= 3) mv(b0, ".log.cleaned", ".log.swap"); /* committed */
    if (steps >= 4) {
        for (uint32_t k = 1; k < job.groups[0].n; k++) {
            char base[32];
            snprintf(base, sizeof base, "%020lld", (long long)job.segs[k]->base_offset);
            char p[700];
            file(base, ".log", p, sizeof p);
            unlink(p);
            file(base, ".index", p, sizeof p);
            unlink(p);
            file(base, ".timeindex", p, sizeof p);
            unlink(p);
        }
    }
    if (steps >= 5) mv(b0, ".index.swap", ".index");
    if (steps >= 6) mv(b0, ".timeindex.swap", ".timeindex");
    /* the crash: nothing more happens to the files */
    for (uint32_t g = 0; g < job.group_count; g++) {
        if (job.groups[g].seg) rn_segment_unref(job.groups[g].seg);
        job.groups[g].seg = NULL;
    }
    rn_clean_job_free(&job);
    rn_log_close_unclean(log);
    log = open_log();
    *n = read_all(log, out, 256);
    rn_log_close_unclean(log);
}

static void test_crash_at_each_step(void **state) {
    (void)state;
    rec_t recs[256];
    for (int steps = 0; steps <= 6; steps++) {
        int n = 0;
        crash_at(steps, recs, &n);
        if (steps < 3) {
            assert_int_equal(n, 60); /* not committed: the old log whole */
        } else {
            assert_true(n < 60); /* committed: finished at open */
        }
        for (int i = 1; i < n; i++) assert_true(recs[i].offset > recs[i - 1].offset);
        /* every key's latest update is there */
        for (int k = 0; k < 4; k++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", k);
            int64_t last = -1;
            for (int i = 0; i < n; i++)
                if (!strcmp(recs[i].key, key)) last = recs[i].offset;
            assert_int_equal(last, 56 + k);
        }
        char p[700];
        file("00000000000000000000", ".log.swap", p, sizeof p);
        assert_true(access(p, F_OK) != 0);
        file("00000000000000000000", ".log.cleaned", p, sizeof p);
        assert_true(access(p, F_OK) != 0);
    }
}

static void test_corrupt_batch(void **state) {
    (void)state;
    rn_log_t *log = open_log();
    fill(log, 40, 4, -1);
    rec_t before[64], after[64];
    int nb = read_all(log, before, 64);
    /* a flipped byte in the first segment's first record */
    char p[700];
    file("00000000000000000000", ".log", p, sizeof p);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, 70, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 70, SEEK_SET);
    fputc(c ^ 0xFF, f);
    fclose(f);
    assert_int_equal(clean(log, 5000, true), RN_ERR_CORRUPT);
    fseek(f = fopen(p, "r+b"), 70, SEEK_SET);
    fputc(c, f);
    fclose(f);
    int na = read_all(log, after, 64);
    assert_int_equal(na, nb); /* left as it was */
    file("00000000000000000000", ".log.cleaned", p, sizeof p);
    assert_true(access(p, F_OK) != 0);
    rn_log_close_unclean(log);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_again_past_empty_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tombstones, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_check_after_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_offset_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_v2_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deflate_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compressed_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_at_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_batch, setup, teardown),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
