/* log.c: leveled log lines and the assertion failure path. */
#include "log.h"
#include "assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static rn_log_level_t log_level_min = RN_LOG_INFO;

void rn_log_set_level(rn_log_level_t level) { log_level_min = level; }

int rn_log_enabled(rn_log_level_t level) { return level >= log_level_min; }

void rn_log(rn_log_level_t level, const char *module, const char *fmt, ...) {
    static const char *const tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < log_level_min) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line keeps lines from different threads whole. */
    fprintf(stderr, "%s %s: %s\n", tags[level], module, line);
}

void rn_assert_fail(const char *cond, const char *file, int line) {
    fprintf(stderr, "ASSERT %s:%d: %s\n", file, line, cond);
    fflush(stderr);
    abort();
}
