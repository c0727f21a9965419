/*
 * fuzz_md_records.c: libFuzzer target for the metadata record decoder and
 * the image's apply rules.
 *
 * Input layout: byte 0 is the record count (modulo 32), the rest a batch
 * body ([size u32][record] ...). Each record that decodes must encode again
 * to exactly the bytes it came from (the encoding is canonical; a version 0
 * RegisterBrokerRecord comes back as version 1 with an unknown directory
 * id), and is then
 * applied to an image builder, which may refuse it but must never crash.
 * Owns one image and one batch per input, freed before returning.
 */
#include "base/assert.h"
#include "base/endian.h"
#include "metadata/image.h"
#include "metadata/records.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_ctx {
    const uint8_t *body;
    size_t pos; /* where the next record's size prefix starts */
    rn_image_builder_t builder;
    bool builder_ok;
    uint64_t offset;
} fuzz_ctx_t;

static rn_err_t check_record(void *arg, uint32_t index, const rn_md_record_t *rec) {
    (void)index;
    fuzz_ctx_t *fc = arg;
    uint32_t len = rn_be32_get(fc->body + fc->pos);
    const uint8_t *in = fc->body + fc->pos + 4; /* type, version, body */
    rn_md_batch_t batch;
    rn_md_batch_init(&batch);
    RN_ASSERT(rn_md_batch_add(&batch, rec) == RN_OK);
    const uint8_t *out = batch.buf.ptr + 4;
    if (rec->type == RN_MD_REGISTER_BROKER && in[1] == 0) {
        /* A version 0 registration is written again as version 1: the same
           fields, then the directory id it did not carry, unknown (zero). */
        static const uint8_t unknown_dir[16];
        RN_ASSERT(batch.buf.len == (size_t)len + 4 + sizeof unknown_dir);
        RN_ASSERT(out[0] == in[0] && out[1] == 1);
        RN_ASSERT(memcmp(out + 2, in + 2, len - 2) == 0);
        RN_ASSERT(memcmp(out + len, unknown_dir, sizeof unknown_dir) == 0);
    } else {
        RN_ASSERT(batch.buf.len == (size_t)len + 4);
        RN_ASSERT(memcmp(out, in, len) == 0);
    }
    rn_md_batch_free(&batch);
    fc->pos += 4 + len;
    if (fc->builder_ok && rn_image_builder_apply(&fc->builder, fc->offset, rec) == RN_OK)
        fc->offset++;
    return RN_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static rn_topic_config_base_t base;
    static bool base_ready;
    if (!base_ready) {
        rn_topic_config_base_init(&base);
        base_ready = true;
    }
    if (size < 1) return 0;
    uint32_t count = data[0] % 32;
    size_t len = size - 1;
    /* An exact-size copy, so any overread is caught by ASan. */
    uint8_t *copy = malloc(len ? len : 1);
    RN_ASSERT(copy != NULL);
    if (len) memcpy(copy, data + 1, len);
    rn_image_t *empty = rn_image_empty(&base);
    RN_ASSERT(empty != NULL);
    fuzz_ctx_t fc = {.body = copy};
    fc.builder_ok = rn_image_builder_init(&fc.builder, empty) == RN_OK;
    rn_image_release(empty);
    (void)rn_md_batch_each(copy, len, count, check_record, &fc);
    if (fc.builder_ok) {
        rn_image_t *img = rn_image_builder_finish(&fc.builder);
        if (img)
            rn_image_release(img);
        else
            rn_image_builder_abort(&fc.builder);
    }
    free(copy);
    return 0;
}
