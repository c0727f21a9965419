/*
 * cli_output.c: how the runnel tools print: error and warning lines on
 * stderr, aligned tables for people, and a small JSON writer for scripts.
 *
 * A table owns copies of its cells until rn_cli_table_free. The JSON writer
 * owns nothing and writes straight to its stream. Nothing here knows about
 * Kafka or exits the process.
 */
#include "cli/cli_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int rn_cli_fail(const char *prog, const char *fmt, ...) {
    RN_ASSERT(prog != NULL);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return RN_CLI_EXIT_FAIL;
}

void rn_cli_warn(const char *prog, const char *fmt, ...) {
    RN_ASSERT(prog != NULL);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: warning: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- tables ---- */

void rn_cli_table_init(rn_cli_table_t *tab, int cols, const char *const *headers) {
    RN_ASSERT(cols > 0 && cols <= RN_CLI_TABLE_COLS_MAX);
    RN_ASSERT(headers != NULL);
    memset(tab, 0, sizeof *tab);
    tab->cols = cols;
    for (int i = 0; i < cols; i++) tab->headers[i] = headers[i];
}

void rn_cli_table_cell(rn_cli_table_t *tab, const char *fmt, ...) {
    RN_ASSERT(tab->cols > 0);
    if (tab->cell_count == tab->cell_cap) {
        int cap = tab->cell_cap ? tab->cell_cap * 2 : 64;
        char **cells = realloc(tab->cells, (size_t)cap * sizeof *cells);
        RN_ASSERT(cells != NULL);
        tab->cells = cells;
        tab->cell_cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *cell = NULL;
    int n = vasprintf(&cell, fmt, ap);
    va_end(ap);
    RN_ASSERT(n >= 0 && cell != NULL);
    tab->cells[tab->cell_count++] = cell;
}

void rn_cli_table_print(const rn_cli_table_t *tab, FILE *out) {
    RN_ASSERT(tab->cols > 0);
    RN_ASSERT(tab->cell_count % tab->cols == 0);
    size_t width[RN_CLI_TABLE_COLS_MAX];
    for (int c = 0; c < tab->cols; c++) width[c] = strlen(tab->headers[c]);
    for (int i = 0; i < tab->cell_count; i++) {
        size_t len = strlen(tab->cells[i]);
        if (len > width[i % tab->cols]) width[i % tab->cols] = len;
    }
    for (int i = -tab->cols; i < tab->cell_count; i++) {
        int c = (i + tab->cols) % tab->cols;
        const char *text = i < 0 ? tab->headers[c] : tab->cells[i];
        if (c + 1 < tab->cols)
            fprintf(out, "%-*s  ", (int)width[c], text);
        else
            fprintf(out, "%s\n", text);
    }
}

void rn_cli_table_free(rn_cli_table_t *tab) {
    for (int i = 0; i < tab->cell_count; i++) free(tab->cells[i]);
    free(tab->cells);
    memset(tab, 0, sizeof *tab);
}

/* ---- JSON ---- */

void rn_cli_json_init(rn_cli_json_t *js, FILE *out) {
    RN_ASSERT(out != NULL);
    memset(js, 0, sizeof *js);
    js->out = out;
}

static void put_escaped(FILE *out, const unsigned char *s, size_t len);

static void begin_value(rn_cli_json_t *js, const char *key) {
    if (js->need_comma[js->depth]) fputc(',', js->out);
    js->need_comma[js->depth] = true;
    if (key) {
        put_escaped(js->out, (const unsigned char *)key, strlen(key));
        fputc(':', js->out);
    }
}

void rn_cli_json_obj(rn_cli_json_t *js, const char *key) {
    RN_ASSERT(js->depth + 1 < RN_CLI_JSON_DEPTH_MAX);
    begin_value(js, key);
    fputc('{', js->out);
    js->need_comma[++js->depth] = false;
}

void rn_cli_json_arr(rn_cli_json_t *js, const char *key) {
    RN_ASSERT(js->depth + 1 < RN_CLI_JSON_DEPTH_MAX);
    begin_value(js, key);
    fputc('[', js->out);
    js->need_comma[++js->depth] = false;
}

void rn_cli_json_end_obj(rn_cli_json_t *js) {
    RN_ASSERT(js->depth > 0);
    js->depth--;
    fputc('}', js->out);
}

void rn_cli_json_end_arr(rn_cli_json_t *js) {
    RN_ASSERT(js->depth > 0);
    js->depth--;
    fputc(']', js->out);
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t left) {
    size_t n = s[0] < 0x80             ? 1
               : (s[0] & 0xE0) == 0xC0 ? 2
               : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (n == 0 || n > left || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4)) return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && s[0] == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
    if (n == 3 && s[0] == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
    if (n == 4 && s[0] == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
    if (n == 4 && s[0] == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
    return n;
}

static void put_escaped(FILE *out, const unsigned char *s, size_t len) {
    fputc('"', out);
    for (size_t i = 0; i < len;) {
        unsigned char ch = s[i];
        size_t n = utf8_len(s + i, len - i);
        if (ch == '"' || ch == '\\') {
            fputc('\\', out);
            fputc(ch, out);
        } else if (ch == '\n') {
            fputs("\\n", out);
        } else if (ch == '\t') {
            fputs("\\t", out);
        } else if (ch == '\r') {
            fputs("\\r", out);
        } else if (ch < 0x20 || ch == 0x7F || n == 0) {
            fprintf(out, "\\u%04x", ch); /* control or invalid byte: as Latin-1 */
            n = 1;
        } else {
            fwrite(s + i, 1, n, out);
        }
        i += n ? n : 1;
    }
    fputc('"', out);
}

void rn_cli_json_str(rn_cli_json_t *js, const char *key, const char *value) {
    if (value == NULL) {
        rn_cli_json_null(js, key);
        return;
    }
    rn_cli_json_bytes(js, key, value, strlen(value));
}

void rn_cli_json_bytes(rn_cli_json_t *js, const char *key, const void *data, size_t len) {
    if (data == NULL) {
        rn_cli_json_null(js, key);
        return;
    }
    begin_value(js, key);
    put_escaped(js->out, data, len);
}

void rn_cli_json_int(rn_cli_json_t *js, const char *key, int64_t value) {
    begin_value(js, key);
    fprintf(js->out, "%lld", (long long)value);
}

void rn_cli_json_num(rn_cli_json_t *js, const char *key, double value) {
    begin_value(js, key);
    fprintf(js->out, "%.3f", value);
}

void rn_cli_json_bool(rn_cli_json_t *js, const char *key, bool value) {
    begin_value(js, key);
    fputs(value ? "true" : "false", js->out);
}

void rn_cli_json_null(rn_cli_json_t *js, const char *key) {
    begin_value(js, key);
    fputs("null", js->out);
}

void rn_cli_json_done(rn_cli_json_t *js) {
    RN_ASSERT(js->depth == 0);
    fputc('\n', js->out);
    js->need_comma[0] = false;
}
