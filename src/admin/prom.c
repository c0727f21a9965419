/*
 * prom.c: the Prometheus text exposition builder (see prom.h). It owns its
 * growing buffer and nothing else.
 */
#include "admin/prom.h"
#include "base/assert.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rn_prom_init(rn_prom_t *prom) { memset(prom, 0, sizeof *prom); }

void rn_prom_free(rn_prom_t *prom) {
    free(prom->ptr);
    memset(prom, 0, sizeof *prom);
}

char *rn_prom_take(rn_prom_t *prom, size_t *len) {
    char *text = prom->ptr;
    *len = prom->len;
    if (prom->failed) {
        free(text);
        text = NULL;
        *len = 0;
    } else if (!text) {
        text = calloc(1, 1);
    }
    memset(prom, 0, sizeof *prom);
    return text;
}

static bool prom_reserve(rn_prom_t *prom, size_t more) {
    if (prom->failed) return false;
    if (prom->len + more + 1 <= prom->cap) return true;
    size_t cap = prom->cap ? prom->cap : 16384;
    while (cap < prom->len + more + 1) cap *= 2;
    if (cap > RN_ADMIN_METRICS_BYTES_MAX) {
        prom->failed = true;
        return false;
    }
    char *ptr = realloc(prom->ptr, cap);
    if (!ptr) {
        prom->failed = true;
        return false;
    }
    prom->ptr = ptr;
    prom->cap = cap;
    return true;
}

__attribute__((format(printf, 2, 3))) static void prom_printf(rn_prom_t *prom, const char *fmt,
                                                              ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    RN_ASSERT(n >= 0);
    if (!prom_reserve(prom, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(prom->ptr + prom->len, prom->cap - prom->len, fmt, ap);
    va_end(ap);
    prom->len += (size_t)n;
}

void rn_prom_raw(rn_prom_t *prom, const char *text, size_t len) {
    if (!prom_reserve(prom, len)) return;
    memcpy(prom->ptr + prom->len, text, len);
    prom->len += len;
    prom->ptr[prom->len] = '\0';
}

void rn_prom_family(rn_prom_t *prom, const char *name, const char *type, const char *help) {
    RN_ASSERT(strncmp(name, "runnel_", 7) == 0);
    prom_printf(prom, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *prom_open(const char *labels) { return labels && labels[0] ? "{" : ""; }
static const char *prom_close(const char *labels) { return labels && labels[0] ? "}" : ""; }

void rn_prom_u64(rn_prom_t *prom, const char *name, const char *labels, uint64_t value) {
    prom_printf(prom, "%s%s%s%s %" PRIu64 "\n", name, prom_open(labels), labels ? labels : "",
                prom_close(labels), value);
}

void rn_prom_i64(rn_prom_t *prom, const char *name, const char *labels, int64_t value) {
    prom_printf(prom, "%s%s%s%s %" PRId64 "\n", name, prom_open(labels), labels ? labels : "",
                prom_close(labels), value);
}

void rn_prom_f64(rn_prom_t *prom, const char *name, const char *labels, double value) {
    prom_printf(prom, "%s%s%s%s %.6g\n", name, prom_open(labels), labels ? labels : "",
                prom_close(labels), value);
}

void rn_prom_histo(rn_prom_t *prom, const char *name, const char *labels,
                   const rn_histo_snap_t *snap) {
    const char *sep = labels && labels[0] ? "," : "";
    const char *lab = labels ? labels : "";
    uint64_t cumulative = 0;
    for (int i = 0; i < RN_HISTO_BUCKETS; i++) {
        cumulative += snap->buckets[i];
        prom_printf(prom, "%s_bucket{%s%sle=\"%g\"} %" PRIu64 "\n", name, lab, sep,
                    (double)rn_histo_bound_ns(i) / 1e9, cumulative);
    }
    cumulative += snap->buckets[RN_HISTO_BUCKETS];
    prom_printf(prom, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64 "\n", name, lab, sep, cumulative);
    prom_printf(prom, "%s_sum%s%s%s %.9g\n", name, prom_open(labels), lab, prom_close(labels),
                (double)snap->sum_ns / 1e9);
    prom_printf(prom, "%s_count%s%s%s %" PRIu64 "\n", name, prom_open(labels), lab,
                prom_close(labels), cumulative);
}

bool rn_prom_label(char *out, size_t cap, const char *key, const char *value) {
    RN_ASSERT(cap > 0);
    size_t len = strlen(out);
    size_t pos = len;
    const char *pieces[2] = {len ? "," : "", key};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(pieces[i]);
        if (pos + n >= cap) goto full;
        memcpy(out + pos, pieces[i], n);
        pos += n;
    }
    if (pos + 2 >= cap) goto full;
    out[pos++] = '=';
    out[pos++] = '"';
    for (const char *c = value; *c; c++) {
        const char *esc = *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : *c == '\n' ? "\\n" : NULL;
        size_t n = esc ? 2 : 1;
        if (pos + n >= cap) goto full;
        if (esc)
            memcpy(out + pos, esc, 2);
        else
            out[pos] = *c;
        pos += n;
    }
    if (pos + 1 >= cap) goto full;
    out[pos++] = '"';
    out[pos] = '\0';
    return true;
full:
    out[len] = '\0';
    return false;
}
