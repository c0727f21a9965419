/*
 * fuzz_batch.c: libFuzzer target for record batch validation. Arbitrary
 * bytes are validated as a produce `records` blob under two limit sets, as
 * given and with every plausible batch's CRC fixed up (to reach the checks
 * behind the CRC);
 * whatever passes is rewritten in place (offsets, epoch, LogAppendTime) on
 * a copy and must still pass, and timestamp lookups must stay in bounds.
 */
#include "proto/batch.h"

#include "base/assert.h"
#include "base/crc32c.h"

#include <stdlib.h>
#include <string.h>

static void exercise_valid(const uint8_t *data, size_t size) {
    uint8_t *copy = malloc(size);
    if (!copy) return;
    memcpy(copy, data, size);
    int64_t next = 1000;
    for (size_t off = 0; off < size;) {
        rn_batch_header_t hdr;
        rn_batch_header_parse(copy + off, &hdr);
        rn_batch_set_base_offset(copy + off, next);
        rn_batch_set_leader_epoch(copy + off, 9);
        rn_batch_set_log_append_time(copy + off, 12345);
        rn_batch_header_parse(copy + off, &hdr);
        if (rn_batch_compression(&hdr) == RN_BATCH_COMPRESSION_NONE) {
            int64_t found = rn_batch_offset_for_timestamp(copy + off, &hdr, 0);
            RN_ASSERT(found == -1 || found >= hdr.base_offset);
        }
        next += (int64_t)hdr.last_offset_delta + 1;
        off += rn_batch_size(&hdr);
    }
    rn_batch_limits_t lim = {0, RN_BATCH_ALLOW_CONTROL};
    rn_batch_summary_t sum;
    RN_ASSERT(rn_batch_validate(copy, size, &lim, &sum) == RN_OK);
    free(copy);
}

/* Recomputes the CRC of every plausible batch so the fuzzer reaches the
   count and record checks behind it. */
static void fix_crcs(uint8_t *p, size_t size) {
    for (size_t off = 0; size - off >= RN_BATCH_HEADER_BYTES;) {
        int32_t len = (int32_t)rn_be32_get(p + off + RN_BATCH_OFF_LENGTH);
        if (len < RN_BATCH_HEADER_BYTES - RN_BATCH_LOG_OVERHEAD) return;
        size_t total = (size_t)len + RN_BATCH_LOG_OVERHEAD;
        if (total > size - off) return;
        uint32_t crc =
            rn_crc32c(0, p + off + RN_BATCH_OFF_ATTRIBUTES, total - RN_BATCH_OFF_ATTRIBUTES);
        rn_be32_put(p + off + RN_BATCH_OFF_CRC, crc);
        off += total;
    }
}

static void check_blob(const uint8_t *data, size_t size) {
    rn_batch_limits_t strict = {1 << 20, 0};
    rn_batch_limits_t loose = {0, RN_BATCH_ALLOW_CONTROL | RN_BATCH_SKIP_RECORDS};
    rn_batch_summary_t sum;
    rn_err_t err = rn_batch_validate(data, size, &strict, &sum);
    RN_ASSERT(sum.bytes_valid <= size);
    RN_ASSERT((err == RN_OK) == (sum.reason == RN_BATCH_OK));
    RN_ASSERT(err != RN_OK || sum.bytes_valid == size);
    rn_batch_summary_t sum2;
    rn_err_t err2 = rn_batch_validate(data, size, &loose, &sum2);
    /* the loose limits accept at least what the strict ones did */
    RN_ASSERT(err != RN_OK || err2 == RN_OK);
    RN_ASSERT(sum2.bytes_valid >= sum.bytes_valid || sum.reason == RN_BATCH_OK);
    if (err == RN_OK && size > 0) exercise_valid(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_blob(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    check_blob(copy, size);
    free(copy);
    return 0;
}
