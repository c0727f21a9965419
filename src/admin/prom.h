/*
 * prom.h: building a Prometheus text exposition (format 0.0.4) in memory.
 *
 * A family is announced once (# HELP, # TYPE), then its samples follow.
 * Labels are passed as one preformatted string `a="x",b="y"` built with
 * rn_prom_label (which escapes values). The builder owns its buffer; it
 * grows up to RN_ADMIN_METRICS_BYTES_MAX and past that it stops writing and
 * reports failure. It never touches sockets or broker state.
 */
#ifndef RN_ADMIN_PROM_H
#define RN_ADMIN_PROM_H

#include "base/stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes one /metrics answer may take: 10,000 partitions with a dozen
   series each at ~100 bytes a line is about 12 MiB. */
#define RN_ADMIN_METRICS_BYTES_MAX (64 * 1024 * 1024)
/* Bytes of one label set (topic names are at most 249 bytes; group ids
   are capped when formatted). */
#define RN_PROM_LABELS_BYTES_MAX 1024

typedef struct rn_prom {
    char *ptr;
    size_t len;
    size_t cap;
    bool failed; /* ran out of memory or past the limit: discard */
} rn_prom_t;

void rn_prom_init(rn_prom_t *prom);
void rn_prom_free(rn_prom_t *prom);
/* Hands the text (NUL-terminated) to the caller, who frees it; NULL if
   the builder failed. The builder is empty afterwards. */
char *rn_prom_take(rn_prom_t *prom, size_t *len);

/* Appends text that is already exposition lines. */
void rn_prom_raw(rn_prom_t *prom, const char *text, size_t len);
/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void rn_prom_family(rn_prom_t *prom, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. labels may be NULL or "". */
void rn_prom_u64(rn_prom_t *prom, const char *name, const char *labels, uint64_t value);
void rn_prom_i64(rn_prom_t *prom, const char *name, const char *labels, int64_t value);
/* A gauge that is a fraction or a duration (%.6g). */
void rn_prom_f64(rn_prom_t *prom, const char *name, const char *labels, double value);
/* A histogram's _bucket (cumulative, le in seconds, +Inf last), _sum
   (seconds) and _count lines; _count is the +Inf bucket. */
void rn_prom_histo(rn_prom_t *prom, const char *name, const char *labels,
                   const rn_histo_snap_t *snap);

/* Appends `key="value"` (value escaped: backslash, quote, newline) to the
   label string in out[0..cap), with a comma before it unless out is empty.
   Returns false (out unchanged) if it would not fit. */
bool rn_prom_label(char *out, size_t cap, const char *key, const char *value);

#endif
