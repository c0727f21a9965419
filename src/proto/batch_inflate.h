/*
 * batch_inflate.h: streaming decompression of a record batch's records, for
 * validation only.
 *
 * A compressed batch (gzip, snappy, lz4, zstd) is stored exactly as the
 * producer sent it; to check its records the validator (batch.c) pulls the
 * decompressed bytes through this source one chunk at a time and throws each
 * chunk away once walked. Nothing here keeps the output.
 *
 * Owns one scratch buffer of RN_BATCH_INFLATE_SCRATCH_BYTES and, created on
 * first use of each codec, that codec's decompression context; a source is
 * reused from batch to batch (rn_batch_inflate_begin resets it). Memory is
 * bounded by the scratch, the codec contexts and zstd's window (at most
 * 2^RN_BATCH_ZSTD_WINDOW_LOG_MAX, touched only as output is produced). Total
 * output per batch is capped at RN_BATCH_INFLATED_BYTES_MAX: a stream that
 * inflates past it is refused. Never touches the compressed input.
 *
 * Codecs, as Kafka's clients write them:
 *   gzip    RFC 1952 members (zlib), concatenated members accepted
 *   snappy  Kafka's xerial framing (magic 82 'SNAPPY' 00, two int32
 *           versions, then int32-length-prefixed raw blocks; the Java client)
 *           or one raw snappy block (librdkafka); decoded here, streaming,
 *           with a RN_BATCH_SNAPPY_WINDOW_BYTES history
 *   lz4     LZ4 frame format (lz4frame), as both clients write it
 *   zstd    zstd frames through the streaming API
 */
#ifndef RN_PROTO_BATCH_INFLATE_H
#define RN_PROTO_BATCH_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rn_batch_inflate rn_batch_inflate_t;

/* What rn_batch_inflate_next produced. */
typedef enum rn_inflate_status {
    RN_INFLATE_MORE = 0,  /* a chunk of output is ready */
    RN_INFLATE_END,       /* the compressed stream ended cleanly */
    RN_INFLATE_CORRUPT,   /* the codec refused the bytes (or they stop short) */
    RN_INFLATE_TOO_LARGE, /* the output would pass RN_BATCH_INFLATED_BYTES_MAX */
    RN_INFLATE_NO_MEMORY, /* a codec context or buffer could not be allocated */
} rn_inflate_status_t;

/* A source with its scratch buffer; NULL when out of memory. */
rn_batch_inflate_t *rn_batch_inflate_new(void);
void rn_batch_inflate_free(rn_batch_inflate_t *inf);

/* Starts decompressing `len` bytes at `in` with `codec` (RN_BATCH_COMPRESSION_
   GZIP..ZSTD). The input is borrowed until the stream is done with. */
void rn_batch_inflate_begin(rn_batch_inflate_t *inf, int codec, const uint8_t *in, size_t len);

/*
 * The next chunk of decompressed bytes: on RN_INFLATE_MORE, *out and *n
 * (n > 0) are valid until the next call. Once END or an error is returned,
 * every further call returns it again.
 */
rn_inflate_status_t rn_batch_inflate_next(rn_batch_inflate_t *inf, const uint8_t **out, size_t *n);

/* Decompressed bytes handed out so far in this stream. */
uint64_t rn_batch_inflate_total(const rn_batch_inflate_t *inf);

#endif
