/*
 * log.h: leveled log lines to stderr.
 *
 * One line per call: "<level> <module>: message". The level threshold is set
 * once at start-up (rn_log_set_level) before any loop thread runs, so reading
 * it needs no lock.
 */
#ifndef RN_BASE_LOG_H
#define RN_BASE_LOG_H

typedef enum rn_log_level {
    RN_LOG_DEBUG = 0,
    RN_LOG_INFO,
    RN_LOG_WARN,
    RN_LOG_ERROR,
} rn_log_level_t;

void rn_log_set_level(rn_log_level_t level);
int rn_log_enabled(rn_log_level_t level);
void rn_log(rn_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define RN_DEBUG_LOG(mod, ...)                                                                     \
    (rn_log_enabled(RN_LOG_DEBUG) ? rn_log(RN_LOG_DEBUG, mod, __VA_ARGS__) : (void)0)
#define RN_INFO(mod, ...) rn_log(RN_LOG_INFO, mod, __VA_ARGS__)
#define RN_WARN(mod, ...) rn_log(RN_LOG_WARN, mod, __VA_ARGS__)
#define RN_ERROR(mod, ...) rn_log(RN_LOG_ERROR, mod, __VA_ARGS__)

#endif
