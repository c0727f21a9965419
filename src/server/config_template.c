/*
 * config_template.c: the pod templates in setting values (see config.h,
 * rn_config_template_expand).
 *
 * What it does: replaces ${POD_NAME}, ${ORDINAL}, ${STATEFULSET}, ${SERVICE},
 * ${NAMESPACE}, ${HOST_IP} and ${REPLICAS} with what the pod's environment
 * says (the downward API, or plain values in the pod spec), and repeats an
 * item of a list setting that holds ${EACH} once per replica, so one
 * StatefulSet spec gives every pod its own id, its own stable DNS name and
 * the same voter list. ${ORDINAL+N} is the ordinal plus a decimal N, so two
 * StatefulSets (controllers and brokers) give their pods ids that never
 * collide, and per-pod ports can follow the ordinal. `$${` stands for a
 * literal `${`.
 *
 * What it owns: nothing; it writes into the caller's buffer.
 *
 * What it must never do: read anything but the environment it is handed, or
 * leave a template it does not know in a value.
 */
#include "server/config.h"

#include "base/assert.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A template, the variable it reads and what that variable is, for the
   message when it is missing. */
typedef struct tpl_var {
    const char *name;
    const char *env;
    const char *what;
} tpl_var_t;

static const tpl_var_t tpl_vars[] = {
    {"POD_NAME", "POD_NAME", "the pod's name from metadata.name, else HOSTNAME"},
    {"ORDINAL", "POD_INDEX",
     "the StatefulSet ordinal from the label apps.kubernetes.io/pod-index, else the trailing -N "
     "of POD_NAME or HOSTNAME"},
    {"STATEFULSET", "POD_NAME", "the pod's name without its trailing -N"},
    {"SERVICE", "SERVICE_NAME", "the headless Service's name, the StatefulSet's serviceName"},
    {"NAMESPACE", "POD_NAMESPACE", "the pod's namespace from metadata.namespace"},
    {"HOST_IP", "HOST_IP", "the node's address from status.hostIP"},
    {"REPLICAS", "REPLICAS", "the StatefulSet's replica count"},
    {"EACH", "REPLICAS", "0 to REPLICAS-1, one list item each"},
};

#define TPL_KNOWN                                                                                  \
    "POD_NAME, ORDINAL, ORDINAL+N, STATEFULSET, SERVICE, NAMESPACE, HOST_IP, REPLICAS, EACH"

/* The offset form's prefix: ${ORDINAL+N}. */
#define TPL_OFFSET_PREFIX "ORDINAL+"

/* The output buffer; `full` once something did not fit. */
typedef struct tpl_out {
    char *buf;
    size_t cap; /* bytes, including the NUL */
    size_t used;
    bool full;
} tpl_out_t;

static void tpl_put(tpl_out_t *out, const char *text, size_t len) {
    RN_ASSERT(out->used < out->cap); /* room for the NUL, always */
    if (out->full || out->used + len >= out->cap) {
        out->full = true;
        return;
    }
    memcpy(out->buf + out->used, text, len);
    out->used += len;
    out->buf[out->used] = '\0';
}

/* The value of environment variable `name`, or NULL (unset or empty). */
static const char *tpl_env(char **envp, const char *name) {
    size_t len = strlen(name);
    for (char **env = envp; env && *env; env++) {
        if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
            return (*env)[len + 1] ? *env + len + 1 : NULL;
    }
    return NULL;
}

/* A decimal 0 .. INT32_MAX, all of text; -1 otherwise. */
static long tpl_number(const char *text, size_t len) {
    long value = len ? 0 : -1;
    for (size_t n = 0; n < len && value >= 0; n++) {
        value = isdigit((unsigned char)text[n]) ? value * 10 + (text[n] - '0') : -1;
        if (value > INT32_MAX) value = -1;
    }
    return value;
}

/* The pod's name and where its trailing "-N" starts (NULL: none). */
static const char *tpl_pod_name(char **envp, const char **dash) {
    const char *pod = tpl_env(envp, "POD_NAME");
    if (!pod) pod = tpl_env(envp, "HOSTNAME");
    *dash = pod ? strrchr(pod, '-') : NULL;
    if (*dash && tpl_number(*dash + 1, strlen(*dash + 1)) < 0) *dash = NULL;
    return pod;
}

/* The ordinal: POD_INDEX, else the pod name's suffix; they must agree. */
static rn_err_t tpl_ordinal(char **envp, char *val, size_t val_len, char *why, size_t why_len) {
    const char *dash = NULL;
    const char *pod = tpl_pod_name(envp, &dash);
    const char *index = tpl_env(envp, "POD_INDEX");
    long from_name = dash ? tpl_number(dash + 1, strlen(dash + 1)) : -1;
    long from_index = index ? tpl_number(index, strlen(index)) : -1;
    if (index && from_index < 0) {
        snprintf(why, why_len, "${ORDINAL}: POD_INDEX='%s' is not a number from 0 to 2147483647",
                 index);
        return RN_ERR_INVALID;
    }
    if (from_index >= 0 && from_name >= 0 && from_index != from_name) {
        snprintf(why, why_len, "${ORDINAL}: POD_INDEX=%ld disagrees with the pod name '%s'",
                 from_index, pod);
        return RN_ERR_INVALID;
    }
    long ordinal = from_index >= 0 ? from_index : from_name;
    if (ordinal < 0) {
        snprintf(why, why_len,
                 "${ORDINAL} needs POD_INDEX or a pod name ending in -N (POD_NAME or HOSTNAME, "
                 "as a StatefulSet names its pods), but %s%s%s",
                 pod ? "the pod name is '" : "neither is set", pod ? pod : "", pod ? "'" : "");
        return RN_ERR_INVALID;
    }
    snprintf(val, val_len, "%ld", ordinal);
    return RN_OK;
}

/* REPLICAS as a count, 1 .. INT32_MAX. */
static rn_err_t tpl_replicas(char **envp, long *count, char *why, size_t why_len) {
    const char *text = tpl_env(envp, "REPLICAS");
    *count = text ? tpl_number(text, strlen(text)) : -1;
    if (!text) {
        snprintf(why, why_len,
                 "${REPLICAS} and ${EACH} need the environment variable REPLICAS (%s); it is "
                 "not set",
                 tpl_vars[6].what);
        return RN_ERR_INVALID;
    }
    if (*count < 1) {
        snprintf(why, why_len, "REPLICAS='%s' is not a count from 1 to 2147483647", text);
        return RN_ERR_INVALID;
    }
    return RN_OK;
}

/* ${ORDINAL+N}: the ordinal plus the decimal N in [name, name+len), which
   starts with TPL_OFFSET_PREFIX; the sum must stay a node id. */
static rn_err_t tpl_ordinal_offset(const char *name, size_t len, char **envp, char *val,
                                   size_t val_len, char *why, size_t why_len) {
    size_t skip = strlen(TPL_OFFSET_PREFIX);
    RN_ASSERT(len >= skip && memcmp(name, TPL_OFFSET_PREFIX, skip) == 0);
    long offset = tpl_number(name + skip, len - skip);
    if (offset < 0) {
        snprintf(why, why_len,
                 "${%.*s}: the offset after ORDINAL+ must be a number from 0 to 2147483647",
                 (int)len, name);
        return RN_ERR_INVALID;
    }
    if (tpl_ordinal(envp, val, val_len, why, why_len) != RN_OK) return RN_ERR_INVALID;
    long sum = strtol(val, NULL, 10) + offset;
    if (sum > INT32_MAX) {
        snprintf(why, why_len, "${%.*s}: the ordinal %s plus %ld is above 2147483647", (int)len,
                 name, val, offset);
        return RN_ERR_INVALID;
    }
    snprintf(val, val_len, "%ld", sum);
    return RN_OK;
}

static bool tpl_is_offset(const char *name, size_t len) {
    size_t skip = strlen(TPL_OFFSET_PREFIX);
    return len >= skip && memcmp(name, TPL_OFFSET_PREFIX, skip) == 0;
}

static const tpl_var_t *tpl_find(const char *name, size_t len) {
    for (size_t n = 0; n < sizeof tpl_vars / sizeof tpl_vars[0]; n++) {
        if (strlen(tpl_vars[n].name) == len && memcmp(tpl_vars[n].name, name, len) == 0)
            return &tpl_vars[n];
    }
    return NULL;
}

/* The value of one template into val; each is the ${EACH} of this item
   (-1: not in a repeated item). */
static rn_err_t tpl_value(const tpl_var_t *var, char **envp, long each, char *val, size_t val_len,
                          char *why, size_t why_len) {
    const char *dash = NULL;
    const char *text = NULL;
    long count = 0;
    if (strcmp(var->name, "EACH") == 0) {
        RN_ASSERT(each >= 0); /* the caller repeats items that hold it */
        snprintf(val, val_len, "%ld", each);
        return RN_OK;
    }
    if (strcmp(var->name, "ORDINAL") == 0) return tpl_ordinal(envp, val, val_len, why, why_len);
    if (strcmp(var->name, "REPLICAS") == 0) {
        if (tpl_replicas(envp, &count, why, why_len) != RN_OK) return RN_ERR_INVALID;
        snprintf(val, val_len, "%ld", count);
        return RN_OK;
    }
    if (strcmp(var->name, "POD_NAME") == 0 || strcmp(var->name, "STATEFULSET") == 0) {
        text = tpl_pod_name(envp, &dash);
        if (text && strcmp(var->name, "STATEFULSET") == 0) {
            if (!dash) {
                snprintf(why, why_len,
                         "${STATEFULSET}: the pod name '%s' does not end in -N, as a StatefulSet "
                         "names its pods",
                         text);
                return RN_ERR_INVALID;
            }
            snprintf(val, val_len, "%.*s", (int)(dash - text), text);
            return RN_OK;
        }
    } else {
        text = tpl_env(envp, var->env);
    }
    if (!text) {
        snprintf(why, why_len, "${%s} needs the environment variable %s (%s); it is not set",
                 var->name, var->env, var->what);
        return RN_ERR_INVALID;
    }
    if (strlen(text) >= val_len) {
        snprintf(why, why_len, "${%s}: %s is longer than %zu bytes", var->name, var->env,
                 val_len - 1);
        return RN_ERR_INVALID;
    }
    snprintf(val, val_len, "%s", text);
    return RN_OK;
}

/* Expands [item, item+len) once into out; each as in tpl_value. */
static rn_err_t tpl_item(const char *item, size_t len, char **envp, long each, tpl_out_t *out,
                         char *why, size_t why_len) {
    RN_ASSERT(item != NULL && out != NULL);
    RN_ASSERT(each >= -1);
    const char *p = item, *end = item + len;
    while (p < end && !out->full) {
        const char *dollar = memchr(p, '$', (size_t)(end - p));
        if (!dollar) dollar = end;
        tpl_put(out, p, (size_t)(dollar - p));
        p = dollar;
        if (p == end) break;
        if (end - p >= 3 && p[1] == '$' && p[2] == '{') { /* $${: a literal ${ */
            tpl_put(out, "${", 2);
            p += 3;
            continue;
        }
        if (end - p < 2 || p[1] != '{') {
            tpl_put(out, "$", 1);
            p++;
            continue;
        }
        const char *close = memchr(p, '}', (size_t)(end - p));
        if (!close) {
            snprintf(why, why_len, "'%.*s' has no closing '}' (write $${ for a literal ${)",
                     (int)(end - p), p);
            return RN_ERR_INVALID;
        }
        char val[RN_CONFIG_HOST_BYTES_MAX + 1];
        const char *name = p + 2;
        size_t name_len = (size_t)(close - p - 2);
        if (tpl_is_offset(name, name_len)) {
            if (tpl_ordinal_offset(name, name_len, envp, val, sizeof val, why, why_len) != RN_OK)
                return RN_ERR_INVALID;
            tpl_put(out, val, strlen(val));
            p = close + 1;
            continue;
        }
        const tpl_var_t *var = tpl_find(name, name_len);
        if (!var) {
            snprintf(why, why_len,
                     "unknown template %.*s: the templates are %s (write $${ for a literal ${)",
                     (int)(close - p + 1), p, TPL_KNOWN);
            return RN_ERR_INVALID;
        }
        if (tpl_value(var, envp, each, val, sizeof val, why, why_len) != RN_OK)
            return RN_ERR_INVALID;
        tpl_put(out, val, strlen(val));
        p = close + 1;
    }
    return RN_OK;
}

/* Does [item, item+len) hold ${EACH}? (A $${EACH} is literal text.) */
static bool tpl_has_each(const char *item, size_t len) {
    for (size_t n = 0; n + 7 <= len; n++) {
        if (memcmp(item + n, "${EACH}", 7) == 0 && (n == 0 || item[n - 1] != '$')) return true;
    }
    return false;
}

/* A list: each comma-separated item holding ${EACH} is written REPLICAS
   times, separated by commas; the others once. */
static rn_err_t tpl_list(const char *text, char **envp, tpl_out_t *out, char *why, size_t why_len) {
    RN_ASSERT(text != NULL && out != NULL);
    const char *p = text;
    for (bool first = true; !out->full; first = false) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!first) tpl_put(out, ",", 1);
        long count = 1;
        bool repeat = tpl_has_each(p, len);
        if (repeat && tpl_replicas(envp, &count, why, why_len) != RN_OK) return RN_ERR_INVALID;
        for (long each = 0; each < count && !out->full; each++) {
            if (each > 0) tpl_put(out, ",", 1);
            if (tpl_item(p, len, envp, repeat ? each : -1, out, why, why_len) != RN_OK)
                return RN_ERR_INVALID;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return RN_OK;
}

bool rn_config_template_has(const char *text) {
    RN_ASSERT(text != NULL);
    return strstr(text, "${") != NULL;
}

bool rn_config_template_repeats(const char *text) {
    RN_ASSERT(text != NULL);
    return tpl_has_each(text, strlen(text));
}

rn_err_t rn_config_template_expand(const char *text, bool list, char **envp, char *out,
                                   size_t out_len, char *why, size_t why_len) {
    RN_ASSERT(text != NULL && out != NULL && out_len > 0);
    RN_ASSERT(why != NULL && why_len > 0);
    tpl_out_t o = {.buf = out, .cap = out_len, .used = 0, .full = false};
    out[0] = '\0';
    rn_err_t err = RN_OK;
    if (list) {
        err = tpl_list(text, envp, &o, why, why_len);
    } else if (tpl_has_each(text, strlen(text))) {
        snprintf(why, why_len,
                 "${EACH} repeats an item of a list setting (controller.quorum.voters, "
                 "controller.quorum.bootstrap.servers, ...); this setting is not a list");
        err = RN_ERR_INVALID;
    } else {
        err = tpl_item(text, strlen(text), envp, -1, &o, why, why_len);
    }
    if (err == RN_OK && o.full) {
        snprintf(why, why_len, "the value expands to more than %zu bytes", out_len - 1);
        err = RN_ERR_INVALID;
    }
    return err;
}
