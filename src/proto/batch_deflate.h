/*
 * batch_deflate.h: compressing a record batch's records again, for the log
 * cleaner, which rewrites a compressed batch with the records it keeps in
 * the codec the producer chose (gzip, snappy, lz4, zstd: the libraries that
 * batch_inflate.c decodes with). Owns nothing; the output goes to the
 * caller's buffer. Never on the produce or fetch path.
 */
#ifndef RN_PROTO_BATCH_DEFLATE_H
#define RN_PROTO_BATCH_DEFLATE_H

#include "base/buf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Compresses plain[0, plain_len) with codec (RN_BATCH_COMPRESSION_GZIP..ZSTD)
 * into out (replacing its contents). `original` is the batch's compressed
 * records as stored: snappy keeps the framing it had (xerial or raw).
 * RN_ERR_INVALID for an unknown codec, RN_ERR_TOO_LARGE past out's cap.
 */
rn_err_t rn_batch_deflate(int codec, const uint8_t *original, size_t original_len,
                          const uint8_t *plain, size_t plain_len, rn_buf_t *out);

#endif
