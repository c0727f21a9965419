/*
 * config_value.h: typed setting definitions and the parser of their values.
 *
 * What it does: describes one setting (name, type, default, bounds, allowed
 * values, doc line, synonym) and turns its text form into a typed value with
 * Kafka's rules (ConfigDef: trimmed text, decimal integers, case-insensitive
 * booleans, comma-separated lists). Shared by the broker settings
 * (server/config.c) and the topic settings (metadata/topic_config.c).
 *
 * What it owns: nothing; definitions are static tables owned by their users.
 *
 * What it must never do: log, allocate, or accept a value outside a
 * definition's bounds.
 */
#ifndef RN_METADATA_CONFIG_VALUE_H
#define RN_METADATA_CONFIG_VALUE_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types; the numbers are Kafka's DescribeConfigs ConfigType. */
typedef enum rn_config_type {
    RN_CONFIG_BOOL = 1,
    RN_CONFIG_STRING = 2,
    RN_CONFIG_INT = 3,
    RN_CONFIG_LONG = 5,
    RN_CONFIG_DOUBLE = 6,
    RN_CONFIG_LIST = 7,
    RN_CONFIG_PASSWORD = 9,
} rn_config_type_t;

/* Where a value came from; the numbers are Kafka's DescribeConfigs ConfigSource. */
typedef enum rn_config_source {
    RN_CONFIG_SOURCE_TOPIC = 1,          /* DYNAMIC_TOPIC_CONFIG: a topic override */
    RN_CONFIG_SOURCE_DYNAMIC_BROKER = 2, /* DYNAMIC_BROKER_CONFIG */
    RN_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
    RN_CONFIG_SOURCE_STATIC_BROKER = 4, /* STATIC_BROKER_CONFIG: file, env or --set */
    RN_CONFIG_SOURCE_DEFAULT = 5,       /* DEFAULT_CONFIG */
} rn_config_source_t;

/* rn_config_def_t.flags */
enum {
    RN_CONFIG_F_NULLABLE = 1u << 0,  /* default may be null (no value) */
    RN_CONFIG_F_SENSITIVE = 1u << 1, /* DescribeConfigs hides the value */
    RN_CONFIG_F_NONEMPTY = 1u << 2,  /* list: at least one item; string: not "" */
    RN_CONFIG_F_MINUS_ONE = 1u << 3, /* int/long: -1 is allowed besides [min, max] */
    RN_CONFIG_F_IGNORED = 1u << 4,   /* accepted for compatibility, has no effect */
};

typedef struct rn_config_def {
    const char *name;
    rn_config_type_t type;
    const char *default_text; /* NULL is a null default */
    int64_t min;              /* int/long: inclusive bounds */
    int64_t max;
    double min_double; /* double: inclusive bounds */
    double max_double;
    /* string: the value must be one of these; list: each item must be. NULL-ended. */
    const char *const *allowed;
    unsigned flags;
    /* Broker setting: the topic setting it is the default of. Topic setting: the
       broker setting that gives its default. NULL when there is none. */
    const char *synonym;
    const char *doc;
} rn_config_def_t;

/*
 * A parsed value. bool: i is 0 or 1. int/long: i. double: d. string with an
 * allowed list: i is the index of the value in it. list with an allowed list:
 * i is a bit mask of the items present (bit n = allowed[n]). Other strings and
 * lists keep only their text; is_null marks a null value.
 */
typedef struct rn_config_value {
    int64_t i;
    double d;
    bool is_null;
} rn_config_value_t;

/* Bytes of a reason written by the parser; callers size their buffers so. */
#define RN_CONFIG_WHY_BYTES 160

/*
 * Parses `text` (NUL-terminated; NULL is a null value) against `def`. On
 * failure returns RN_ERR_INVALID and writes why (e.g. "Value must be at least
 * 14") into why[why_len]. Leading and trailing blanks are ignored, as Kafka
 * trims values.
 */
rn_err_t rn_config_value_parse(const rn_config_def_t *def, const char *text,
                               rn_config_value_t *value, char *why, size_t why_len);

/* The name of a type as Kafka's docs print it ("int", "long", "list", ...). */
const char *rn_config_type_name(rn_config_type_t type);

/*
 * Calls fn once per comma-separated item of a list value, trimmed, skipping
 * empty items; item is NOT NUL-terminated. Stops early when fn returns false.
 */
typedef bool (*rn_config_item_fn)(void *ctx, const char *item, size_t item_len);
void rn_config_list_each(const char *text, rn_config_item_fn fn, void *ctx);

/* Index of the definition named `name` among defs[0 .. count), or -1. */
int rn_config_def_find(const rn_config_def_t *defs, int count, const char *name);

#endif
