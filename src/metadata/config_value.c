/*
 * config_value.c: parsing and validating the text form of one setting.
 *
 * Follows Kafka's ConfigDef: values are trimmed, integers are decimal with an
 * optional sign, booleans are true/false in any case, lists are comma
 * separated with blanks around items ignored. The reasons it writes mirror
 * Kafka's ConfigException texts so operators recognise them.
 */
#include "metadata/config_value.h"

#include "base/assert.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bytes of a trimmed copy of a number; longer text is not a number anyway. */
#define NUMBER_TEXT_BYTES 64

const char *rn_config_type_name(rn_config_type_t type) {
    switch (type) {
    case RN_CONFIG_BOOL:
        return "boolean";
    case RN_CONFIG_STRING:
        return "string";
    case RN_CONFIG_INT:
        return "int";
    case RN_CONFIG_LONG:
        return "long";
    case RN_CONFIG_DOUBLE:
        return "double";
    case RN_CONFIG_LIST:
        return "list";
    case RN_CONFIG_PASSWORD:
        return "password";
    }
    return "unknown";
}

/* Copies text without leading and trailing blanks into out; false if too long. */
static bool trim_copy(const char *text, char *out, size_t out_len) {
    while (isspace((unsigned char)*text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    if (len >= out_len) return false;
    memcpy(out, text, len);
    out[len] = '\0';
    return true;
}

static void why_allowed(const rn_config_def_t *def, char *why, size_t why_len) {
    size_t used = (size_t)snprintf(why, why_len, "String must be one of: ");
    for (int n = 0; def->allowed[n] && used < why_len; n++) {
        used +=
            (size_t)snprintf(why + used, why_len - used, "%s%s", n ? ", " : "", def->allowed[n]);
    }
}

static int allowed_index(const rn_config_def_t *def, const char *item, size_t item_len) {
    for (int n = 0; def->allowed[n]; n++) {
        if (strlen(def->allowed[n]) == item_len && memcmp(def->allowed[n], item, item_len) == 0)
            return n;
    }
    return -1;
}

static rn_err_t parse_integer(const rn_config_def_t *def, const char *text,
                              rn_config_value_t *value, char *why, size_t why_len) {
    char num[NUMBER_TEXT_BYTES];
    const char *type = def->type == RN_CONFIG_INT ? "INT" : "LONG";
    if (!trim_copy(text, num, sizeof(num)) || num[0] == '\0') goto not_number;
    const char *digits = num + (num[0] == '-' || num[0] == '+');
    if (*digits == '\0') goto not_number;
    for (const char *c = digits; *c; c++) {
        if (!isdigit((unsigned char)*c)) goto not_number;
    }
    errno = 0;
    long long v = strtoll(num, NULL, 10);
    if (errno == ERANGE) goto not_number;
    if (def->type == RN_CONFIG_INT && (v < INT32_MIN || v > INT32_MAX)) goto not_number;
    value->i = v;
    if ((def->flags & RN_CONFIG_F_MINUS_ONE) && v == -1) return RN_OK;
    if (v < def->min) {
        snprintf(why, why_len, "Value must be at least %lld", (long long)def->min);
        return RN_ERR_INVALID;
    }
    if (v > def->max) {
        snprintf(why, why_len, "Value must be no more than %lld", (long long)def->max);
        return RN_ERR_INVALID;
    }
    return RN_OK;
not_number:
    snprintf(why, why_len, "Not a number of type %s", type);
    return RN_ERR_INVALID;
}

static rn_err_t parse_double(const rn_config_def_t *def, const char *text, rn_config_value_t *value,
                             char *why, size_t why_len) {
    char num[NUMBER_TEXT_BYTES];
    char *end = NULL;
    if (!trim_copy(text, num, sizeof(num)) || num[0] == '\0') goto not_number;
    errno = 0;
    double d = strtod(num, &end);
    if (errno == ERANGE || *end != '\0' || !isfinite(d)) goto not_number;
    value->d = d;
    if (d < def->min_double) {
        snprintf(why, why_len, "Value must be at least %g", def->min_double);
        return RN_ERR_INVALID;
    }
    if (d > def->max_double) {
        snprintf(why, why_len, "Value must be no more than %g", def->max_double);
        return RN_ERR_INVALID;
    }
    return RN_OK;
not_number:
    snprintf(why, why_len, "Not a number of type DOUBLE");
    return RN_ERR_INVALID;
}

static rn_err_t parse_bool(const char *text, rn_config_value_t *value, char *why, size_t why_len) {
    char word[8];
    if (trim_copy(text, word, sizeof(word))) {
        if (strcasecmp(word, "true") == 0) {
            value->i = 1;
            return RN_OK;
        }
        if (strcasecmp(word, "false") == 0) {
            value->i = 0;
            return RN_OK;
        }
    }
    snprintf(why, why_len, "Expected value to be either true or false");
    return RN_ERR_INVALID;
}

static rn_err_t parse_string(const rn_config_def_t *def, const char *text, rn_config_value_t *value,
                             char *why, size_t why_len) {
    while (isspace((unsigned char)*text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    if ((def->flags & RN_CONFIG_F_NONEMPTY) && len == 0) {
        snprintf(why, why_len, "String must be non-empty");
        return RN_ERR_INVALID;
    }
    if (!def->allowed) return RN_OK;
    int n = allowed_index(def, text, len);
    if (n < 0) {
        why_allowed(def, why, why_len);
        return RN_ERR_INVALID;
    }
    value->i = n;
    return RN_OK;
}

typedef struct list_check {
    const rn_config_def_t *def;
    int64_t mask;
    int items;
    bool bad;
} list_check_t;

static bool list_check_item(void *ctx, const char *item, size_t item_len) {
    list_check_t *check = ctx;
    check->items++;
    if (!check->def->allowed) return true;
    int n = allowed_index(check->def, item, item_len);
    if (n < 0) {
        check->bad = true;
        return false;
    }
    RN_ASSERT(n < 63);
    check->mask |= (int64_t)1 << n;
    return true;
}

static rn_err_t parse_list(const rn_config_def_t *def, const char *text, rn_config_value_t *value,
                           char *why, size_t why_len) {
    list_check_t check = {def, 0, 0, false};
    rn_config_list_each(text, list_check_item, &check);
    if (check.bad) {
        why_allowed(def, why, why_len);
        return RN_ERR_INVALID;
    }
    if ((def->flags & RN_CONFIG_F_NONEMPTY) && check.items == 0) {
        snprintf(why, why_len, "Empty list is not allowed");
        return RN_ERR_INVALID;
    }
    value->i = check.mask;
    return RN_OK;
}

rn_err_t rn_config_value_parse(const rn_config_def_t *def, const char *text,
                               rn_config_value_t *value, char *why, size_t why_len) {
    RN_ASSERT(def != NULL);
    RN_ASSERT(why_len > 0);
    memset(value, 0, sizeof(*value));
    why[0] = '\0';
    if (text == NULL) {
        value->is_null = true;
        if (def->flags & RN_CONFIG_F_NULLABLE) return RN_OK;
        snprintf(why, why_len, "Value must not be null");
        return RN_ERR_INVALID;
    }
    switch (def->type) {
    case RN_CONFIG_BOOL:
        return parse_bool(text, value, why, why_len);
    case RN_CONFIG_INT:
    case RN_CONFIG_LONG:
        return parse_integer(def, text, value, why, why_len);
    case RN_CONFIG_DOUBLE:
        return parse_double(def, text, value, why, why_len);
    case RN_CONFIG_STRING:
    case RN_CONFIG_PASSWORD:
        return parse_string(def, text, value, why, why_len);
    case RN_CONFIG_LIST:
        return parse_list(def, text, value, why, why_len);
    }
    RN_UNREACHABLE("unknown config type");
    return RN_ERR_INVALID;
}

void rn_config_list_each(const char *text, rn_config_item_fn fn, void *ctx) {
    if (text == NULL) return;
    const char *p = text;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *start = p;
        while (start < end && isspace((unsigned char)*start)) start++;
        const char *stop = end;
        while (stop > start && isspace((unsigned char)stop[-1])) stop--;
        if (stop > start && !fn(ctx, start, (size_t)(stop - start))) return;
        if (!comma) return;
        p = comma + 1;
    }
}

int rn_config_def_find(const rn_config_def_t *defs, int count, const char *name) {
    RN_ASSERT(name != NULL);
    for (int n = 0; n < count; n++) {
        if (defs[n].name && strcmp(defs[n].name, name) == 0) return n;
    }
    return -1;
}
