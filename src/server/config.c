/*
 * config.c: loading, validating and resolving the broker's settings.
 *
 * What it does: applies the four sources in precedence order (defaults, the
 * properties file, the environment, --set), each value checked against its
 * definition the moment it arrives so the error names where it came from;
 * then resolves the settings that depend on each other (retention ms >
 * minutes > hours, listeners and their protocols, log.dirs over log.dir,
 * cores) into typed fields, and the broker-wide defaults of topic settings.
 *
 * What it owns: every string of the rn_config_t it fills.
 *
 * What it must never do: start anything, or keep going past an unknown or
 * invalid setting.
 */
#include "server/config.h"

#include "base/assert.h"
#include "base/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOD "config"

/* Prefixes of Kafka settings accepted and ignored as a family (security
   settings are harmless while every listener must be PLAINTEXT). */
static const char *const ignored_prefixes[] = {
    "ssl.", "sasl.", "confluent.", "kafka.metrics.", "listener.name.", "log4j.", NULL};

typedef struct loader {
    rn_config_t *cfg;
    const rn_config_def_t *defs;
    int def_count;
    char *errmsg;
    size_t errmsg_len;
    char **envp;
    /* controller.quorum.voters was written with ${EACH}: one voter per
       ordinal below REPLICAS (config_template.c). */
    bool voters_per_replica;
} loader_t;

__attribute__((format(printf, 2, 3))) static rn_err_t fail(loader_t *ld, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->errmsg, ld->errmsg_len, fmt, ap);
    va_end(ap);
    return RN_ERR_INVALID;
}

const char *rn_config_origin_name(rn_config_origin_t origin) {
    switch (origin) {
    case RN_CONFIG_ORIGIN_DEFAULT:
        return "default";
    case RN_CONFIG_ORIGIN_FILE:
        return "file";
    case RN_CONFIG_ORIGIN_ENV:
        return "env";
    case RN_CONFIG_ORIGIN_SET:
        return "set";
    }
    return "unknown";
}

static int def_index(const loader_t *ld, const char *name) {
    return rn_config_def_find(ld->defs, ld->def_count, name);
}

static rn_config_entry_t *entry(rn_config_t *cfg, const char *name) {
    int count = 0;
    const rn_config_def_t *defs = rn_config_defs(&count);
    int n = rn_config_def_find(defs, count, name);
    RN_ASSERT(n >= 0); /* callers name settings of the table */
    return &cfg->entries[n];
}

const rn_config_entry_t *rn_config_get(const rn_config_t *cfg, const char *name) {
    int count = 0;
    const rn_config_def_t *defs = rn_config_defs(&count);
    int n = rn_config_def_find(defs, count, name);
    return n < 0 ? NULL : &cfg->entries[n];
}

static bool given(rn_config_t *cfg, const char *name) {
    return entry(cfg, name)->origin != RN_CONFIG_ORIGIN_DEFAULT;
}

/* Describes what a definition accepts, for error messages. */
static void describe_allowed(const rn_config_def_t *def, char *out, size_t out_len) {
    const char *type = rn_config_type_name(def->type);
    if (def->flags & RN_CONFIG_F_IGNORED) {
        snprintf(out, out_len, "a %s", type);
    } else if (def->type == RN_CONFIG_INT || def->type == RN_CONFIG_LONG) {
        snprintf(out, out_len, "an %s from %" PRId64 " to %" PRId64 "%s", type, def->min, def->max,
                 (def->flags & RN_CONFIG_F_MINUS_ONE) ? ", or -1" : "");
    } else if (def->type == RN_CONFIG_DOUBLE) {
        snprintf(out, out_len, "a number from %g to %g", def->min_double, def->max_double);
    } else if (def->type == RN_CONFIG_BOOL) {
        snprintf(out, out_len, "true or false");
    } else if (def->allowed) {
        size_t used = (size_t)snprintf(out, out_len, "%s",
                                       def->type == RN_CONFIG_LIST ? "a list of: " : "one of: ");
        for (int n = 0; def->allowed[n] && used < out_len; n++)
            used += (size_t)snprintf(out + used, out_len - used, "%s%s", n ? ", " : "",
                                     def->allowed[n]);
    } else {
        snprintf(out, out_len, "a %s", type);
    }
}

static bool has_prefix(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* An unknown key: ignored family, known mistake, or a stop. */
static rn_err_t set_unknown(loader_t *ld, const char *key, const char *where) {
    for (int n = 0; ignored_prefixes[n]; n++) {
        if (has_prefix(key, ignored_prefixes[n])) {
            RN_WARN(MOD, "%s: %s is a Kafka setting Runnel ignores", where, key);
            return RN_OK;
        }
    }
    if (has_prefix(key, "zookeeper.")) {
        return fail(ld,
                    "%s: %s: Runnel has no ZooKeeper mode; it runs as KRaft does "
                    "(process.roles, controller.quorum.voters), remove this setting",
                    where, key);
    }
    if (strcmp(key, "authorizer.class.name") == 0) {
        return fail(ld,
                    "%s: %s: ACLs are not supported yet; refusing to start without the "
                    "authorizer asked for",
                    where, key);
    }
    int tc = rn_topic_config_key(key);
    if (tc >= 0 && rn_topic_config_synonym((rn_tc_key_t)tc)) {
        return fail(ld,
                    "%s: unknown broker setting %s: it is a topic setting; the broker-wide "
                    "default is %s",
                    where, key, rn_topic_config_synonym((rn_tc_key_t)tc));
    }
    return fail(ld, "%s: unknown setting %s (see docs/CONFIGURATION.md)", where, key);
}

/* Parses and stores one value of setting n (templates already expanded). */
static rn_err_t set_parsed(loader_t *ld, int n, const char *key, const char *text,
                           rn_config_origin_t origin, const char *where) {
    const rn_config_def_t *def = &ld->defs[n];
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_value_t value;
    if (rn_config_value_parse(def, text, &value, why, sizeof(why)) != RN_OK) {
        char allowed[RN_CONFIG_WHY_BYTES];
        describe_allowed(def, allowed, sizeof(allowed));
        return fail(ld, "%s: invalid value '%s' for %s: %s; allowed: %s", where, text, key, why,
                    allowed);
    }
    char *copy = strdup(text);
    if (!copy) return fail(ld, "out of memory");
    rn_config_entry_t *e = &ld->cfg->entries[n];
    free(e->text);
    e->text = copy;
    e->origin = origin;
    e->value = value;
    if (def->flags & RN_CONFIG_F_IGNORED)
        RN_WARN(MOD, "%s: %s is a Kafka setting Runnel ignores", where, key);
    return RN_OK;
}

/* A value with pod templates: expanded from the environment, then set. */
static rn_err_t set_expanded(loader_t *ld, int n, const char *key, const char *text,
                             rn_config_origin_t origin, const char *where) {
    char why[RN_CONFIG_WHY_BYTES];
    char *value = malloc(RN_CONFIG_VALUE_BYTES_MAX + 1);
    if (!value) return fail(ld, "out of memory");
    rn_err_t err =
        rn_config_template_expand(text, ld->defs[n].type == RN_CONFIG_LIST, ld->envp, value,
                                  RN_CONFIG_VALUE_BYTES_MAX + 1, why, sizeof(why));
    if (err != RN_OK)
        err = fail(ld, "%s: %s=%s: %s", where, key, text, why);
    else
        err = set_parsed(ld, n, key, value, origin, where);
    if (err == RN_OK && strcmp(key, "controller.quorum.voters") == 0)
        ld->voters_per_replica = rn_config_template_repeats(text);
    free(value);
    return err;
}

/* Sets one key from a source; `where` names the source in messages. */
static rn_err_t set_value(loader_t *ld, const char *key, const char *text,
                          rn_config_origin_t origin, const char *where) {
    RN_ASSERT(origin != RN_CONFIG_ORIGIN_DEFAULT);
    int n = def_index(ld, key);
    if (n < 0) return set_unknown(ld, key, where);
    if (strlen(text) > RN_CONFIG_VALUE_BYTES_MAX) {
        return fail(ld, "%s: value of %s is longer than %d bytes", where, key,
                    RN_CONFIG_VALUE_BYTES_MAX);
    }
    if (rn_config_template_has(text)) return set_expanded(ld, n, key, text, origin, where);
    return set_parsed(ld, n, key, text, origin, where);
}

static rn_err_t set_defaults(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    cfg->entries = calloc((size_t)ld->def_count, sizeof(cfg->entries[0]));
    if (!cfg->entries) return fail(ld, "out of memory");
    cfg->entry_count = ld->def_count;
    for (int n = 0; n < ld->def_count; n++) {
        const rn_config_def_t *def = &ld->defs[n];
        rn_config_entry_t *e = &cfg->entries[n];
        char why[RN_CONFIG_WHY_BYTES];
        rn_err_t err = rn_config_value_parse(def, def->default_text, &e->value, why, sizeof(why));
        if (err != RN_OK) RN_ERROR(MOD, "default of %s: %s", def->name, why);
        RN_ASSERT(err == RN_OK); /* every default is valid */
        e->origin = RN_CONFIG_ORIGIN_DEFAULT;
        if (def->default_text) {
            e->text = strdup(def->default_text);
            if (!e->text) return fail(ld, "out of memory");
        }
    }
    return RN_OK;
}

/* ---- properties file ---- */

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

/* Length of the natural line at p (without its terminator); *next is past it. */
static size_t natural_line(const char *p, const char *end, const char **next) {
    const char *q = p;
    while (q < end && *q != '\n' && *q != '\r') q++;
    size_t len = (size_t)(q - p);
    if (q < end && *q == '\r') q++;
    if (q < end && *q == '\n' && (q == p || q[-1] != '\n')) q++;
    *next = q;
    return len;
}

static bool ends_continued(const char *line, size_t len) {
    size_t slashes = 0;
    while (slashes < len && line[len - 1 - slashes] == '\\') slashes++;
    return slashes % 2 == 1;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends code point cp as UTF-8 (at most 3 bytes for \uXXXX). */
static char *put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xE0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* Unescapes [p, end) into out (never longer); returns false on a bad \u. */
static bool unescape(const char *p, const char *end, char *out) {
    while (p < end) {
        char c = *p++;
        if (c != '\\' || p == end) {
            *out++ = c;
            continue;
        }
        c = *p++;
        switch (c) {
        case 't':
            *out++ = '\t';
            break;
        case 'n':
            *out++ = '\n';
            break;
        case 'r':
            *out++ = '\r';
            break;
        case 'f':
            *out++ = '\f';
            break;
        case 'u': {
            unsigned cp = 0;
            for (int n = 0; n < 4; n++) {
                int h = p < end ? hex_value(*p++) : -1;
                if (h < 0) return false;
                cp = cp * 16 + (unsigned)h;
            }
            out = put_utf8(out, cp);
            break;
        }
        default:
            *out++ = c;
            break;
        }
    }
    *out = '\0';
    return true;
}

/* Splits a logical line into key and value (unescaped, NUL-terminated). */
static bool split_line(const char *line, size_t len, char *key, char *value) {
    const char *end = line + len;
    const char *p = line;
    while (p < end && !(is_blank(*p) || *p == '=' || *p == ':'))
        p += (*p == '\\' && p + 1 < end) ? 2 : 1;
    const char *key_end = p;
    while (p < end && is_blank(*p)) p++;
    if (p < end && (*p == '=' || *p == ':')) p++;
    while (p < end && is_blank(*p)) p++;
    return unescape(line, key_end, key) && unescape(p, end, value);
}

/* Joins continued natural lines into buf; returns its length. */
static size_t logical_line(const char **p, const char *end, char *buf, int *line_no) {
    size_t used = 0;
    for (;;) {
        const char *next;
        size_t len = natural_line(*p, end, &next);
        (*line_no)++;
        bool more = ends_continued(*p, len);
        memcpy(buf + used, *p, len - (more ? 1 : 0));
        used += len - (more ? 1 : 0);
        *p = next;
        if (!more || *p >= end) return used;
        while (*p < end && is_blank(**p)) (*p)++;
    }
}

static rn_err_t apply_properties(loader_t *ld, const char *path, const char *text, size_t len) {
    const char *p = text, *end = text + len;
    char *line = malloc(len + 1), *key = malloc(len + 1), *value = malloc(len + 1);
    rn_err_t err = RN_OK;
    int line_no = 0;
    if (!line || !key || !value) err = fail(ld, "out of memory");
    while (err == RN_OK && p < end) {
        while (p < end && is_blank(*p)) p++;
        int first = line_no + 1;
        if (p < end && (*p == '#' || *p == '!' || *p == '\n' || *p == '\r')) {
            const char *next;
            natural_line(p, end, &next);
            p = next;
            line_no++;
            continue;
        }
        size_t n = logical_line(&p, end, line, &line_no);
        char where[RN_CONFIG_KEY_BYTES_MAX + 64];
        snprintf(where, sizeof(where), "%.200s:%d", path, first);
        if (n == 0) continue;
        if (!split_line(line, n, key, value)) {
            err = fail(ld, "%s: malformed \\uXXXX escape", where);
        } else if (strlen(key) == 0 || strlen(key) > RN_CONFIG_KEY_BYTES_MAX) {
            err =
                fail(ld, "%s: a line needs a key of 1 to %d bytes", where, RN_CONFIG_KEY_BYTES_MAX);
        } else {
            err = set_value(ld, key, value, RN_CONFIG_ORIGIN_FILE, where);
        }
    }
    free(line);
    free(key);
    free(value);
    return err;
}

static rn_err_t load_file(loader_t *ld, rn_io_t *io, const char *path) {
    char *text = malloc(RN_CONFIG_FILE_BYTES_MAX + 1);
    if (!text) return fail(ld, "out of memory");
    size_t len = 0;
    rn_err_t err = rn_io_read_small(io, path, text, RN_CONFIG_FILE_BYTES_MAX + 1, &len);
    if (err == RN_OK && len > RN_CONFIG_FILE_BYTES_MAX) err = RN_ERR_TOO_LARGE;
    if (err != RN_OK) {
        free(text);
        snprintf(ld->errmsg, ld->errmsg_len, "cannot read config file %s: %s%s", path,
                 rn_err_name(err), err == RN_ERR_TOO_LARGE ? " (over 1 MiB)" : "");
        return err == RN_ERR_TOO_LARGE ? RN_ERR_INVALID : err;
    }
    err = apply_properties(ld, path, text, len);
    free(text);
    return err;
}

/* ---- environment ---- */

/* Does env suffix (after the prefix) name this key? KEY upper-cased, dots and
   dashes as underscores. */
static bool env_matches(const char *suffix, size_t len, const char *key) {
    size_t n = 0;
    for (; n < len && key[n]; n++) {
        char k = key[n] == '.' || key[n] == '-' ? '_' : (char)toupper((unsigned char)key[n]);
        if (suffix[n] != k) return false;
    }
    return n == len && key[n] == '\0';
}

/* Kubernetes service links: a Service named runnel puts RUNNEL_PORT,
   RUNNEL_SERVICE_HOST, RUNNEL_PORT_9092_TCP_ADDR ... into every pod. */
static bool is_service_link(const char *suffix, size_t len) {
    char name[RN_CONFIG_KEY_BYTES_MAX + 1];
    if (len > RN_CONFIG_KEY_BYTES_MAX) return false;
    memcpy(name, suffix, len);
    name[len] = '\0';
    if (strcmp(name, "PORT") == 0 || has_prefix(name, "SERVICE_HOST") ||
        has_prefix(name, "SERVICE_PORT") || has_prefix(name, "PORT_"))
        return true;
    if (strstr(name, "_SERVICE_HOST") || strstr(name, "_SERVICE_PORT")) return true;
    size_t n = strlen(name);
    if (n >= 5 && strcmp(name + n - 5, "_PORT") == 0) return true;
    const char *port = strstr(name, "_PORT_");
    return port && isdigit((unsigned char)port[6]);
}

/* Remembers an ignored variable's name for the debug line main() writes
   once the log level is known. */
static void note_ignored(rn_config_t *cfg, const char *name, size_t len) {
    size_t used = strlen(cfg->env_ignored), room = sizeof(cfg->env_ignored) - used;
    if (room <= 4) return;
    int n = snprintf(cfg->env_ignored + used, room, "%s%.*s", used ? ", " : "", (int)len, name);
    if (n < 0 || (size_t)n >= room) strcpy(cfg->env_ignored + sizeof(cfg->env_ignored) - 4, "...");
}

static rn_err_t apply_env_prefix(loader_t *ld, const char *prefix) {
    size_t prefix_len = strlen(prefix);
    for (char **env = ld->envp; env && *env; env++) {
        if (!has_prefix(*env, prefix)) continue;
        const char *suffix = *env + prefix_len;
        const char *eq = strchr(suffix, '=');
        if (!eq) continue;
        size_t len = (size_t)(eq - suffix);
        char where[RN_CONFIG_KEY_BYTES_MAX + 32];
        snprintf(where, sizeof(where), "environment %.*s", (int)(eq - *env), *env);
        int found = -1;
        for (int n = 0; n < ld->def_count && found < 0; n++) {
            if (env_matches(suffix, len, ld->defs[n].name)) found = n;
        }
        if (found >= 0) {
            rn_err_t err = set_value(ld, ld->defs[found].name, eq + 1, RN_CONFIG_ORIGIN_ENV, where);
            if (err != RN_OK) return err;
        } else if (is_service_link(suffix, len)) {
            note_ignored(ld->cfg, *env, (size_t)(eq - *env));
        } else {
            char key[RN_CONFIG_KEY_BYTES_MAX + 1];
            size_t n = 0;
            for (; n < len && n < RN_CONFIG_KEY_BYTES_MAX; n++)
                key[n] = suffix[n] == '_' ? '.' : (char)tolower((unsigned char)suffix[n]);
            key[n] = '\0';
            rn_err_t err = set_unknown(ld, key, where);
            if (err != RN_OK) return err;
        }
    }
    return RN_OK;
}

/* ---- command line ---- */

typedef struct args {
    const char *file;
    char **sets; /* borrowed from argv */
    int set_count;
} args_t;

static rn_err_t parse_args(loader_t *ld, int argc, char **argv, args_t *args) {
    args->sets = calloc((size_t)argc + 1, sizeof(char *));
    if (!args->sets) return fail(ld, "out of memory");
    for (int n = 0; n < argc; n++) {
        const char *arg = argv[n];
        const char *value = NULL;
        bool is_set = false;
        if (strcmp(arg, "--config") == 0 || strcmp(arg, "--set") == 0 ||
            strcmp(arg, "--override") == 0) {
            if (n + 1 >= argc) return fail(ld, "%s needs a value", arg);
            is_set = strcmp(arg, "--config") != 0;
            value = argv[++n];
        } else if (has_prefix(arg, "--config=")) {
            value = arg + strlen("--config=");
        } else if (has_prefix(arg, "--set=") || has_prefix(arg, "--override=")) {
            is_set = true;
            value = strchr(arg, '=') + 1;
        } else if (arg[0] == '-') {
            return fail(ld,
                        "unknown option %s (usage: runnel server [--config FILE] "
                        "[--set key=value ...])",
                        arg);
        } else {
            value = arg; /* a properties file, as kafka-server-start.sh takes it */
        }
        if (is_set) {
            if (!strchr(value, '=')) return fail(ld, "--set %s: expected key=value", value);
            args->sets[args->set_count++] = (char *)value;
        } else {
            if (args->file) return fail(ld, "only one config file may be given");
            args->file = value;
        }
    }
    return RN_OK;
}

static rn_err_t apply_sets(loader_t *ld, const args_t *args) {
    for (int n = 0; n < args->set_count; n++) {
        const char *kv = args->sets[n];
        const char *eq = strchr(kv, '=');
        size_t key_len = (size_t)(eq - kv);
        char key[RN_CONFIG_KEY_BYTES_MAX + 1];
        if (key_len == 0 || key_len > RN_CONFIG_KEY_BYTES_MAX)
            return fail(ld, "--set %s: expected key=value", kv);
        memcpy(key, kv, key_len);
        key[key_len] = '\0';
        while (key_len > 0 && isspace((unsigned char)key[key_len - 1])) key[--key_len] = '\0';
        char where[RN_CONFIG_KEY_BYTES_MAX + 16];
        snprintf(where, sizeof(where), "--set %s", key);
        rn_err_t err = set_value(ld, key, eq + 1, RN_CONFIG_ORIGIN_SET, where);
        if (err != RN_OK) return err;
    }
    return RN_OK;
}

/* ---- resolution ---- */

rn_err_t rn_config_listener_parse(const char *text, size_t len, rn_config_listener_t *lis,
                                  char *why, size_t why_len) {
    memset(lis, 0, sizeof(*lis));
    const char *end = text + len;
    const char *sep = NULL;
    for (const char *p = text; p + 3 <= end; p++) {
        if (memcmp(p, "://", 3) == 0) {
            sep = p;
            break;
        }
    }
    if (!sep || sep == text || (size_t)(sep - text) > RN_CONFIG_LISTENER_NAME_BYTES_MAX) {
        snprintf(why, why_len, "expected NAME://host:port");
        return RN_ERR_INVALID;
    }
    for (const char *p = text; p < sep; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
            snprintf(why, why_len, "a listener name has only letters, digits, '_' and '-'");
            return RN_ERR_INVALID;
        }
        lis->name[p - text] = (char)toupper((unsigned char)*p);
    }
    const char *host = sep + 3;
    const char *colon = NULL;
    for (const char *p = end; p > host; p--) {
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    }
    if (!colon) {
        snprintf(why, why_len, "expected NAME://host:port (the port is missing)");
        return RN_ERR_INVALID;
    }
    const char *host_end = colon;
    if (host < host_end && *host == '[' && host_end[-1] == ']') host++, host_end--;
    if ((size_t)(host_end - host) > RN_CONFIG_HOST_BYTES_MAX) {
        snprintf(why, why_len, "host is longer than %d bytes", RN_CONFIG_HOST_BYTES_MAX);
        return RN_ERR_INVALID;
    }
    memcpy(lis->host, host, (size_t)(host_end - host));
    long port = 0;
    const char *p = colon + 1;
    if (p == end) port = -1;
    for (; p < end && port >= 0 && port <= 65535; p++)
        port = isdigit((unsigned char)*p) ? port * 10 + (*p - '0') : -1;
    if (port < 0 || port > 65535) {
        snprintf(why, why_len, "the port must be a number from 0 to 65535");
        return RN_ERR_INVALID;
    }
    lis->port = (uint16_t)port;
    return RN_OK;
}

typedef struct list_ctx {
    loader_t *ld;
    const char *key;
    rn_config_listener_t *out;
    int count;
    rn_err_t err;
} list_ctx_t;

static bool add_listener(void *ctx, const char *item, size_t len) {
    list_ctx_t *lc = ctx;
    char why[RN_CONFIG_WHY_BYTES];
    if (lc->count == RN_CONFIG_LISTENERS_MAX) {
        lc->err = fail(lc->ld, "%s: more than %d listeners", lc->key, RN_CONFIG_LISTENERS_MAX);
        return false;
    }
    rn_config_listener_t *lis = &lc->out[lc->count];
    if (rn_config_listener_parse(item, len, lis, why, sizeof(why)) != RN_OK) {
        lc->err = fail(lc->ld, "invalid value '%.*s' in %s (from %s): %s", (int)len, item, lc->key,
                       rn_config_origin_name(entry(lc->ld->cfg, lc->key)->origin), why);
        return false;
    }
    for (int n = 0; n < lc->count; n++) {
        if (strcmp(lc->out[n].name, lis->name) == 0) {
            lc->err = fail(lc->ld, "%s: listener name %s appears twice", lc->key, lis->name);
            return false;
        }
    }
    lc->count++;
    return true;
}

static rn_err_t parse_listener_list(loader_t *ld, const char *key, rn_config_listener_t *out,
                                    int *count) {
    list_ctx_t lc = {ld, key, out, 0, RN_OK};
    rn_config_list_each(entry(ld->cfg, key)->text, add_listener, &lc);
    *count = lc.count;
    return lc.err;
}

/* Is `name` an item of the list setting `key`? */
static bool list_has(rn_config_t *cfg, const char *key, const char *name, size_t name_len,
                     const char **value, size_t *value_len);

typedef struct find_ctx {
    const char *name;
    size_t name_len;
    bool map; /* items are NAME:VALUE */
    bool found;
    const char *value;
    size_t value_len;
} find_ctx_t;

static bool find_item(void *ctx, const char *item, size_t len) {
    find_ctx_t *fc = ctx;
    size_t key_len = len;
    if (fc->map) {
        const char *colon = memchr(item, ':', len);
        if (!colon) return true;
        key_len = (size_t)(colon - item);
        fc->value = colon + 1;
        fc->value_len = len - key_len - 1;
    }
    if (key_len == fc->name_len && strncasecmp(item, fc->name, key_len) == 0) {
        fc->found = true;
        return false;
    }
    return true;
}

static bool list_has(rn_config_t *cfg, const char *key, const char *name, size_t name_len,
                     const char **value, size_t *value_len) {
    find_ctx_t fc = {name, name_len, value != NULL, false, NULL, 0};
    rn_config_list_each(entry(cfg, key)->text, find_item, &fc);
    if (fc.found && value) {
        *value = fc.value;
        *value_len = fc.value_len;
    }
    return fc.found;
}

/* The security protocol of a listener name: the map, or (as Kafka does when
   the map was not given) PLAINTEXT for controller listeners. */
static rn_err_t check_protocol(loader_t *ld, rn_config_listener_t *lis) {
    rn_config_t *cfg = ld->cfg;
    size_t name_len = strlen(lis->name);
    const char *proto = NULL;
    size_t proto_len = 0;
    lis->controller = list_has(cfg, "controller.listener.names", lis->name, name_len, NULL, NULL);
    if (!list_has(cfg, "listener.security.protocol.map", lis->name, name_len, &proto, &proto_len)) {
        if (lis->controller && !given(cfg, "listener.security.protocol.map")) return RN_OK;
        return fail(ld,
                    "listener %s: no security protocol for it in "
                    "listener.security.protocol.map",
                    lis->name);
    }
    if (proto_len != strlen("PLAINTEXT") || strncasecmp(proto, "PLAINTEXT", proto_len) != 0) {
        return fail(ld,
                    "listener %s: security protocol %.*s is not supported yet; Runnel "
                    "serves PLAINTEXT only",
                    lis->name, (int)proto_len, proto);
    }
    return RN_OK;
}

static bool listener_named(const rn_config_t *cfg, const char *name) {
    for (int n = 0; n < cfg->listener_count; n++)
        if (strcmp(cfg->listeners[n].name, name) == 0) return true;
    return false;
}

/* As Kafka words it: every advertised listener is one of `listeners`. */
static rn_err_t advertised_unknown(loader_t *ld, const char *name) {
    const rn_config_t *cfg = ld->cfg;
    char names[RN_CONFIG_LISTENERS_MAX * (RN_CONFIG_LISTENER_NAME_BYTES_MAX + 2)] = "";
    size_t used = 0;
    for (int n = 0; n < cfg->listener_count; n++)
        used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", used ? "," : "",
                                 cfg->listeners[n].name);
    return fail(ld,
                "advertised.listeners listener names must be equal to or a subset of the ones "
                "defined in listeners. Found %s. The valid options based on the current "
                "configuration are %s",
                name, names);
}

static rn_err_t resolve_listeners(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    rn_err_t err = parse_listener_list(ld, "listeners", cfg->listeners, &cfg->listener_count);
    bool broker_listener = false;
    for (int n = 0; err == RN_OK && n < cfg->listener_count; n++) {
        err = check_protocol(ld, &cfg->listeners[n]);
        broker_listener |= !cfg->listeners[n].controller;
        for (int m = 0; err == RN_OK && m < n; m++) {
            if (cfg->listeners[n].port != 0 && cfg->listeners[n].port == cfg->listeners[m].port &&
                strcmp(cfg->listeners[n].host, cfg->listeners[m].host) == 0)
                err = fail(ld, "listeners: %s and %s use the same port %u", cfg->listeners[m].name,
                           cfg->listeners[n].name, cfg->listeners[n].port);
        }
    }
    if (err != RN_OK) return err;
    if (cfg->role_broker && !broker_listener)
        return fail(ld, "listeners: a broker needs a listener not named in "
                        "controller.listener.names");
    int client_listeners = 0;
    for (int n = 0; n < cfg->listener_count; n++) client_listeners += !cfg->listeners[n].controller;
    if (client_listeners > RN_NET_LISTENERS_MAX)
        return fail(ld,
                    "listeners: %d listeners not named in controller.listener.names; a broker "
                    "serves at most %d",
                    client_listeners, RN_NET_LISTENERS_MAX);
    if (entry(cfg, "advertised.listeners")->text == NULL) {
        for (int n = 0; n < cfg->listener_count; n++) {
            if (!cfg->listeners[n].controller)
                cfg->advertised[cfg->advertised_count++] = cfg->listeners[n];
        }
        return RN_OK;
    }
    err = parse_listener_list(ld, "advertised.listeners", cfg->advertised, &cfg->advertised_count);
    for (int n = 0; err == RN_OK && n < cfg->advertised_count; n++) {
        rn_config_listener_t *adv = &cfg->advertised[n];
        if (cfg->role_broker && !listener_named(cfg, adv->name))
            err = advertised_unknown(ld, adv->name);
        else if (strcmp(adv->host, "0.0.0.0") == 0 || strcmp(adv->host, "::") == 0)
            err = fail(ld, "advertised.listeners: %s cannot use the non-routable address %s",
                       adv->name, adv->host);
        else if (adv->port == 0)
            err = fail(ld, "advertised.listeners: %s needs a port", adv->name);
        else
            err = check_protocol(ld, adv);
    }
    return err;
}

/* node.id, broker.id and node.id=-1 (the host name's trailing ordinal). */
static rn_err_t resolve_node_id(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    rn_config_entry_t *node = entry(cfg, "node.id"), *broker = entry(cfg, "broker.id");
    if (!broker->value.is_null && broker->value.i >= 0) {
        if (node->origin != RN_CONFIG_ORIGIN_DEFAULT && node->value.i != broker->value.i)
            return fail(ld, "node.id=%" PRId64 " and broker.id=%" PRId64 " disagree; set one",
                        node->value.i, broker->value.i);
        cfg->node_id = (int32_t)broker->value.i;
        return RN_OK;
    }
    if (node->value.i >= 0) {
        cfg->node_id = (int32_t)node->value.i;
        return RN_OK;
    }
    const char *host = NULL;
    for (char **env = ld->envp; env && *env && !host; env++) {
        if (has_prefix(*env, "HOSTNAME=")) host = *env + strlen("HOSTNAME=");
    }
    const char *dash = host ? strrchr(host, '-') : NULL;
    char *end = NULL;
    long ordinal = dash && isdigit((unsigned char)dash[1]) ? strtol(dash + 1, &end, 10) : -1;
    if (ordinal < 0 || ordinal > INT32_MAX || (end && *end != '\0'))
        return fail(ld,
                    "node.id=-1 takes the id from the host name's trailing -N (a "
                    "StatefulSet pod), but HOSTNAME is '%s'",
                    host ? host : "");
    cfg->node_id = (int32_t)ordinal;
    return RN_OK;
}

static rn_err_t resolve_dirs(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    const char *text = entry(cfg, "log.dirs")->text;
    if (text == NULL) text = entry(cfg, "log.dir")->text;
    cfg->log_dirs_text = strdup(text);
    if (!cfg->log_dirs_text) return fail(ld, "out of memory");
    for (char *p = cfg->log_dirs_text; p;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (isspace((unsigned char)*p)) p++;
        size_t len = strlen(p);
        while (len > 0 && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
        if (len > 0) {
            if (cfg->log_dir_count == RN_CONFIG_LOG_DIRS_MAX)
                return fail(ld, "log.dirs: more than %d folders", RN_CONFIG_LOG_DIRS_MAX);
            cfg->log_dirs[cfg->log_dir_count++] = p;
        }
        p = comma ? comma + 1 : NULL;
    }
    if (cfg->log_dir_count == 0) return fail(ld, "log.dirs: no folder given");
    const char *meta = entry(cfg, "metadata.log.dir")->text;
    cfg->metadata_log_dir = meta && meta[0] ? meta : cfg->log_dirs[0];
    return RN_OK;
}

static rn_err_t resolve_admin(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    const char *text = entry(cfg, "admin.listener")->text;
    while (isspace((unsigned char)*text)) text++;
    if (strncasecmp(text, "none", 4) == 0 || text[0] == '\0') return RN_OK;
    char spec[RN_CONFIG_HOST_BYTES_MAX + 32];
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_listener_t lis;
    snprintf(spec, sizeof(spec), "ADMIN://%s", text);
    size_t len = strlen(spec);
    while (len > 0 && isspace((unsigned char)spec[len - 1])) len--;
    if (rn_config_listener_parse(spec, len, &lis, why, sizeof(why)) != RN_OK)
        return fail(ld, "invalid value '%s' for admin.listener: expected host:port or none", text);
    cfg->admin_enabled = true;
    memcpy(cfg->admin_host, lis.host, sizeof(cfg->admin_host));
    cfg->admin_port = lis.port;
    return RN_OK;
}

/* ---- cluster settings ---- */

typedef struct quorum_ctx {
    loader_t *ld;
    rn_err_t err;
} quorum_ctx_t;

static bool add_voter(void *ctx, const char *item, size_t len) {
    quorum_ctx_t *qc = ctx;
    rn_config_t *cfg = qc->ld->cfg;
    char why[RN_CONFIG_WHY_BYTES + RN_CONFIG_HOST_BYTES_MAX];
    if (cfg->voter_count == RN_RAFT_NODES_MAX) {
        qc->err = fail(qc->ld, "controller.quorum.voters: more than %d voters", RN_RAFT_NODES_MAX);
        return false;
    }
    rn_config_voter_t *voter = &cfg->voters[cfg->voter_count];
    if (rn_config_voter_parse(item, len, voter, why, sizeof(why)) != RN_OK) {
        qc->err = fail(qc->ld, "%s", why);
        return false;
    }
    for (int n = 0; n < cfg->voter_count; n++) {
        if (cfg->voters[n].id == voter->id) {
            qc->err = fail(
                qc->ld, "controller.quorum.voters: voter ID %d appears twice (%s:%u and %s:%u)",
                voter->id, cfg->voters[n].host, cfg->voters[n].port, voter->host, voter->port);
            return false;
        }
    }
    cfg->voter_count++;
    return true;
}

static bool add_bootstrap(void *ctx, const char *item, size_t len) {
    quorum_ctx_t *qc = ctx;
    rn_config_t *cfg = qc->ld->cfg;
    char why[RN_CONFIG_WHY_BYTES + RN_CONFIG_HOST_BYTES_MAX];
    if (cfg->quorum_bootstrap_count == RN_CONFIG_QUORUM_BOOTSTRAP_MAX) {
        qc->err = fail(qc->ld, "controller.quorum.bootstrap.servers: more than %d servers",
                       RN_CONFIG_QUORUM_BOOTSTRAP_MAX);
        return false;
    }
    rn_config_endpoint_t *ep = &cfg->quorum_bootstrap[cfg->quorum_bootstrap_count];
    if (rn_config_endpoint_parse(item, len, ep, why, sizeof(why)) != RN_OK) {
        qc->err = fail(qc->ld, "%s", why);
        return false;
    }
    cfg->quorum_bootstrap_count++;
    return true;
}

/* Both lists may be given, as in Kafka: the voters are the static quorum and
   the bootstrap servers are where requests go to find its leader. */
static rn_err_t parse_quorum_lists(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    quorum_ctx_t qc = {ld, RN_OK};
    rn_config_list_each(entry(cfg, "controller.quorum.voters")->text, add_voter, &qc);
    if (qc.err == RN_OK)
        rn_config_list_each(entry(cfg, "controller.quorum.bootstrap.servers")->text, add_bootstrap,
                            &qc);
    cfg->clustered = cfg->voter_count > 0 || cfg->quorum_bootstrap_count > 0;
    return qc.err;
}

typedef struct first_ctx {
    char name[RN_CONFIG_LISTENER_NAME_BYTES_MAX + 1];
    bool found;
} first_ctx_t;

static bool take_first(void *ctx, const char *item, size_t len) {
    first_ctx_t *fc = ctx;
    size_t n = 0;
    for (; n < len && n < RN_CONFIG_LISTENER_NAME_BYTES_MAX; n++)
        fc->name[n] = (char)toupper((unsigned char)item[n]);
    fc->name[n] = '\0';
    fc->found = true;
    return false;
}

/* "{1, 2, 3}": the voter ids, for Kafka's messages. */
static void voter_ids(const rn_config_t *cfg, char *out, size_t out_len) {
    size_t used = (size_t)snprintf(out, out_len, "{");
    for (int n = 0; n < cfg->voter_count && used < out_len; n++)
        used +=
            (size_t)snprintf(out + used, out_len - used, "%s%d", n ? ", " : "", cfg->voters[n].id);
    if (used < out_len) snprintf(out + used, out_len - used, "}");
}

static const rn_config_voter_t *voter_of(const rn_config_t *cfg, int32_t id) {
    for (int n = 0; n < cfg->voter_count; n++)
        if (cfg->voters[n].id == id) return &cfg->voters[n];
    return NULL;
}

/* A broker-only node: not a voter, no controller listener of its own, and
   the controller listener's name known with a protocol. */
static rn_err_t check_broker_only(loader_t *ld, const first_ctx_t *first) {
    rn_config_t *cfg = ld->cfg;
    char ids[RN_RAFT_NODES_MAX * 12 + 4];
    voter_ids(cfg, ids, sizeof(ids));
    if (voter_of(cfg, cfg->node_id))
        return fail(ld,
                    "If process.roles contains just the 'broker' role, the node id %d must not be "
                    "included in the set of voters controller.quorum.voters=%s",
                    cfg->node_id, ids);
    if (!first->found)
        return fail(ld, "controller.listener.names must contain at least one value when running "
                        "KRaft with just the broker role");
    for (int n = 0; n < cfg->listener_count; n++) {
        if (cfg->listeners[n].controller)
            return fail(ld, "controller.listener.names must not contain a value appearing in the "
                            "'listeners' configuration when running KRaft with just the broker "
                            "role");
    }
    rn_config_listener_t *lis = &cfg->controller_listener;
    memcpy(lis->name, first->name, sizeof(lis->name));
    cfg->has_controller_listener = true;
    return check_protocol(ld, lis);
}

typedef struct names_ctx {
    rn_config_t *cfg;
    const char *missing;
    size_t missing_len;
} names_ctx_t;

static bool name_listens(void *ctx, const char *item, size_t len) {
    names_ctx_t *nc = ctx;
    for (int n = 0; n < nc->cfg->listener_count; n++) {
        const char *name = nc->cfg->listeners[n].name;
        if (strlen(name) == len && strncasecmp(name, item, len) == 0) return true;
    }
    nc->missing = item;
    nc->missing_len = len;
    return false;
}

/* Is every name of controller.listener.names one of `listeners`? */
static bool controller_names_listen(rn_config_t *cfg, const char **missing, size_t *missing_len) {
    names_ctx_t nc = {cfg, NULL, 0};
    rn_config_list_each(entry(cfg, "controller.listener.names")->text, name_listens, &nc);
    *missing = nc.missing;
    *missing_len = nc.missing_len;
    return nc.missing == NULL;
}

/* A pod that a StatefulSet scaled past the replica count its voter list was
   written for: the voters come from a ${EACH} template (one per ordinal
   below REPLICAS) and this combined node's id is above all of theirs.
   `kubectl scale` changes the replica count but no pod's environment, so
   such a pod cannot be a voter of the quorum the others formed. */
static bool scaled_past_voters(const loader_t *ld) {
    const rn_config_t *cfg = ld->cfg;
    int32_t highest = -1;
    for (int n = 0; n < cfg->voter_count; n++)
        if (cfg->voters[n].id > highest) highest = cfg->voters[n].id;
    return ld->voters_per_replica && cfg->role_broker && cfg->node_id > highest;
}

/* Such a pod serves as a broker only: it stops listening as a controller
   and registers with the quorum the voters form, as a broker-only node
   would. Growing the quorum itself is a change of every pod's voter list
   (or a dynamic quorum's add-controller), never a side effect of a scale. */
static rn_err_t demote_to_broker(loader_t *ld, const char *ids) {
    rn_config_t *cfg = ld->cfg;
    int kept = 0;
    for (int n = 0; n < cfg->listener_count; n++)
        if (!cfg->listeners[n].controller) cfg->listeners[kept++] = cfg->listeners[n];
    cfg->listener_count = kept;
    cfg->role_controller = false;
    cfg->has_controller_listener = false;
    memset(&cfg->controller_listener, 0, sizeof cfg->controller_listener);
    RN_WARN(MOD,
            "node.id %d is not among the voters controller.quorum.voters=%s, written for "
            "REPLICAS=%d pods: this pod is past the replica count the quorum was formed with "
            "(the StatefulSet was scaled up), so it runs as a broker only and the quorum keeps "
            "its %d voters",
            cfg->node_id, ids, cfg->voter_count, cfg->voter_count);
    first_ctx_t first = {{0}, false};
    rn_config_list_each(entry(cfg, "controller.listener.names")->text, take_first, &first);
    return check_broker_only(ld, &first);
}

/* A controller in a cluster: listens on the controller listener, and when
   the quorum is static, is one of its voters on that listener's port. */
static rn_err_t check_controller(loader_t *ld, const first_ctx_t *first) {
    rn_config_t *cfg = ld->cfg;
    const char *missing = NULL;
    size_t missing_len = 0;
    bool any = false;
    for (int n = 0; n < cfg->listener_count; n++) any |= cfg->listeners[n].controller;
    if (!first->found || !any)
        return fail(ld, "controller.listener.names must contain at least one value appearing in "
                        "the 'listeners' configuration when running the KRaft controller role");
    if (!controller_names_listen(cfg, &missing, &missing_len))
        return fail(ld,
                    "controller.listener.names must only contain values appearing in the "
                    "'listeners' configuration when running the KRaft controller role (%.*s is "
                    "not)",
                    (int)missing_len, missing);
    for (int n = 0; n < cfg->listener_count; n++)
        if (strcmp(cfg->listeners[n].name, first->name) == 0)
            cfg->controller_listener = cfg->listeners[n];
    cfg->has_controller_listener = true;
    if (cfg->voter_count == 0) return RN_OK; /* a dynamic quorum (KIP-853) */
    char ids[RN_RAFT_NODES_MAX * 12 + 4];
    voter_ids(cfg, ids, sizeof(ids));
    const rn_config_voter_t *self = voter_of(cfg, cfg->node_id);
    if (!self && scaled_past_voters(ld)) return demote_to_broker(ld, ids);
    if (!self)
        return fail(ld,
                    "If process.roles contains the 'controller' role, the node id %d must be "
                    "included in the set of voters controller.quorum.voters=%s",
                    cfg->node_id, ids);
    for (int n = 0; n < cfg->listener_count; n++)
        if (cfg->listeners[n].controller && cfg->listeners[n].port == self->port) return RN_OK;
    return fail(ld,
                "controller.quorum.voters: this node's entry %d@%s:%u names port %u, but no "
                "listener of controller.listener.names listens on it (%s is on port %u)",
                self->id, self->host, self->port, self->port, cfg->controller_listener.name,
                cfg->controller_listener.port);
}

/* inter.broker.listener.name: an advertised, non-controller listener.
   Unset, it is PLAINTEXT, as Kafka derives it from
   security.inter.broker.protocol; checked when clustered or given. */
static rn_err_t resolve_inter_broker(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    const char *text = entry(cfg, "inter.broker.listener.name")->text;
    if (!cfg->role_broker || (!cfg->clustered && text == NULL)) return RN_OK;
    rn_config_listener_t want = {.name = "PLAINTEXT"};
    if (text) {
        first_ctx_t first = {{0}, false};
        take_first(&first, text, strlen(text));
        memcpy(want.name, first.name, sizeof(want.name));
    }
    if (check_protocol(ld, &want) != RN_OK)
        return fail(ld,
                    "Listener with name %s defined in inter.broker.listener.name not found in "
                    "listener.security.protocol.map.",
                    want.name);
    char names[RN_CONFIG_LISTENERS_MAX * (RN_CONFIG_LISTENER_NAME_BYTES_MAX + 2)] = "";
    size_t used = 0;
    for (int n = 0; n < cfg->advertised_count; n++) {
        const rn_config_listener_t *adv = &cfg->advertised[n];
        if (adv->controller) continue;
        if (strcmp(adv->name, want.name) == 0) {
            cfg->inter_broker_listener = *adv;
            cfg->has_inter_broker_listener = true;
            return RN_OK;
        }
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
                                 adv->name);
    }
    return fail(ld,
                "inter.broker.listener.name must be a listener name defined in "
                "advertised.listeners. The valid options based on currently configured "
                "listeners are %s",
                names);
}

static rn_err_t resolve_cluster_id(loader_t *ld) {
    const char *text = entry(ld->cfg, "cluster.id")->text;
    if (text == NULL) return RN_OK;
    while (isspace((unsigned char)*text)) text++;
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) len--;
    if (len == 0) return RN_OK;
    char id[RN_CLUSTER_ID_CHARS + 2];
    snprintf(id, sizeof(id), "%.*s", (int)len, text);
    char why[RN_CONFIG_WHY_BYTES];
    if (len > RN_CLUSTER_ID_CHARS || rn_config_cluster_id_check(id, why, sizeof(why)) != RN_OK) {
        if (len > RN_CLUSTER_ID_CHARS)
            snprintf(why, sizeof(why), "a cluster id is %d base64url characters, not %zu",
                     RN_CLUSTER_ID_CHARS, len);
        return fail(ld, "invalid value '%.*s' for cluster.id: %s", (int)len, text, why);
    }
    memcpy(ld->cfg->cluster_id, id, RN_CLUSTER_ID_CHARS + 1);
    return RN_OK;
}

/* replica.selector.class: Kafka's two selectors, by their class names. */
static rn_err_t resolve_replica_selector(loader_t *ld) {
    const char *text = entry(ld->cfg, "replica.selector.class")->text;
    ld->cfg->rack_aware_selector = false;
    if (!text || !text[0] || !strcmp(text, "org.apache.kafka.common.replica.LeaderSelector"))
        return RN_OK;
    if (!strcmp(text, "org.apache.kafka.common.replica.RackAwareReplicaSelector")) {
        ld->cfg->rack_aware_selector = true;
        return RN_OK;
    }
    return fail(ld,
                "replica.selector.class %s is not available: Runnel has "
                "org.apache.kafka.common.replica.RackAwareReplicaSelector and "
                "org.apache.kafka.common.replica.LeaderSelector",
                text);
}

/* The quorum settings and the checks across them, with Kafka's meaning.
   Neither voters nor bootstrap servers: the single node, checked as before. */
static rn_err_t resolve_cluster(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    rn_err_t err = parse_quorum_lists(ld);
    if (err == RN_OK) err = resolve_cluster_id(ld);
    if (err != RN_OK) return err;
    if (cfg->broker_heartbeat_interval_ms >= cfg->broker_session_timeout_ms)
        return fail(ld,
                    "broker.heartbeat.interval.ms (%d) must be less than "
                    "broker.session.timeout.ms (%d)",
                    cfg->broker_heartbeat_interval_ms, cfg->broker_session_timeout_ms);
    bool combined = cfg->role_broker && cfg->role_controller;
    if (!cfg->clustered && !combined)
        return fail(ld, "If using process.roles, either controller.quorum.bootstrap.servers must "
                        "contain the set of bootstrap controllers or controller.quorum.voters "
                        "must contain a parseable set of controllers.");
    first_ctx_t first = {{0}, false};
    rn_config_list_each(entry(cfg, "controller.listener.names")->text, take_first, &first);
    if (cfg->clustered && !cfg->role_controller) err = check_broker_only(ld, &first);
    if (cfg->clustered && cfg->role_controller) err = check_controller(ld, &first);
    if (err == RN_OK) err = resolve_inter_broker(ld);
    if (err == RN_OK) err = resolve_replica_selector(ld);
    return err;
}

/* Kafka: a negative result of any of the three means forever (-1). */
static int64_t retention_ms(rn_config_t *cfg) {
    rn_config_entry_t *ms = entry(cfg, "log.retention.ms");
    rn_config_entry_t *minutes = entry(cfg, "log.retention.minutes");
    int64_t v;
    if (!ms->value.is_null)
        v = ms->value.i;
    else if (!minutes->value.is_null)
        v = minutes->value.i * 60 * 1000;
    else
        v = entry(cfg, "log.retention.hours")->value.i * 60 * 60 * 1000;
    return v < 0 ? -1 : v;
}

/* A `ms` setting that, when null, comes from its `hours` sibling. */
static int64_t ms_or_hours(rn_config_t *cfg, const char *ms_key, const char *hours_key) {
    rn_config_entry_t *ms = entry(cfg, ms_key);
    if (!ms->value.is_null) return ms->value.i;
    return entry(cfg, hours_key)->value.i * 60 * 60 * 1000;
}

static int32_t resolve_cores(rn_config_t *cfg, int cpu_count) {
    int64_t cores = entry(cfg, "cores")->value.i;
    if (cores == 0 && given(cfg, "num.io.threads")) cores = entry(cfg, "num.io.threads")->value.i;
    if (cores == 0) cores = cpu_count;
    if (cores < 1) cores = 1;
    if (cores > RN_CORES_MAX) cores = RN_CORES_MAX;
    return (int32_t)cores;
}

/* Sets one topic default from the broker; derived texts live in cfg. */
static rn_err_t topic_default(loader_t *ld, const char *topic_key, const char *text,
                              bool from_broker) {
    int key = rn_topic_config_key(topic_key);
    RN_ASSERT(key >= 0);
    char why[RN_CONFIG_WHY_BYTES];
    rn_config_source_t source =
        from_broker ? RN_CONFIG_SOURCE_STATIC_BROKER : RN_CONFIG_SOURCE_DEFAULT;
    if (rn_topic_config_base_set(&ld->cfg->topic_base, (rn_tc_key_t)key, text, source, why,
                                 sizeof(why)) != RN_OK)
        return fail(ld, "invalid value '%s' as the default of topic setting %s: %s", text,
                    topic_key, why);
    return RN_OK;
}

static rn_err_t derived_default(loader_t *ld, int slot, const char *topic_key, int64_t value,
                                bool from_broker) {
    char *text = ld->cfg->derived_text[slot];
    snprintf(text, sizeof(ld->cfg->derived_text[slot]), "%" PRId64, value);
    return topic_default(ld, topic_key, text, from_broker);
}

static rn_err_t resolve_topic_base(loader_t *ld) {
    rn_config_t *cfg = ld->cfg;
    rn_topic_config_base_init(&cfg->topic_base);
    rn_err_t err = RN_OK;
    for (int n = 0; err == RN_OK && n < ld->def_count; n++) {
        const rn_config_def_t *def = &ld->defs[n];
        const rn_config_entry_t *e = &cfg->entries[n];
        if (!def->synonym || e->text == NULL) continue;
        err = topic_default(ld, def->synonym, e->text, e->origin != RN_CONFIG_ORIGIN_DEFAULT);
    }
    if (err != RN_OK) return err;
    bool given_retention = given(cfg, "log.retention.ms") || given(cfg, "log.retention.minutes") ||
                           given(cfg, "log.retention.hours");
    err = derived_default(ld, 0, "retention.ms", cfg->log_retention_ms, given_retention);
    if (err == RN_OK)
        err = derived_default(ld, 1, "segment.ms", cfg->log_roll_ms,
                              given(cfg, "log.roll.ms") || given(cfg, "log.roll.hours"));
    if (err == RN_OK)
        err = derived_default(ld, 2, "segment.jitter.ms", cfg->log_roll_jitter_ms,
                              given(cfg, "log.roll.jitter.ms") ||
                                  given(cfg, "log.roll.jitter.hours"));
    return err;
}

static int32_t i32(rn_config_t *cfg, const char *name) {
    int64_t v = entry(cfg, name)->value.i;
    RN_ASSERT(v >= INT32_MIN && v <= INT32_MAX);
    return (int32_t)v;
}

static int64_t i64(rn_config_t *cfg, const char *name) { return entry(cfg, name)->value.i; }

static void resolve_typed(rn_config_t *cfg) {
    int64_t roles = entry(cfg, "process.roles")->value.i;
    cfg->role_broker = (roles & 1) != 0;
    cfg->role_controller = (roles & 2) != 0;
    cfg->rack = entry(cfg, "broker.rack")->text;
    cfg->socket_request_max_bytes = i32(cfg, "socket.request.max.bytes");
    cfg->max_connections = i32(cfg, "max.connections");
    cfg->connections_max_idle_ms = i64(cfg, "connections.max.idle.ms");
    cfg->fetch_max_bytes = i32(cfg, "fetch.max.bytes");
    cfg->fetch_session_slots = i32(cfg, "max.incremental.fetch.session.cache.slots");
    cfg->fetch_session_eviction_ms = i64(cfg, "min.incremental.fetch.session.eviction.ms");
    cfg->replica_lag_time_max_ms = i64(cfg, "replica.lag.time.max.ms");
    cfg->queued_max_request_bytes = i64(cfg, "queued.max.request.bytes");
    cfg->log_segment_bytes = i32(cfg, "log.segment.bytes");
    cfg->log_roll_ms = ms_or_hours(cfg, "log.roll.ms", "log.roll.hours");
    cfg->log_roll_jitter_ms = ms_or_hours(cfg, "log.roll.jitter.ms", "log.roll.jitter.hours");
    cfg->log_retention_ms = retention_ms(cfg);
    cfg->log_retention_bytes = i64(cfg, "log.retention.bytes");
    cfg->log_retention_check_interval_ms = i64(cfg, "log.retention.check.interval.ms");
    cfg->log_index_interval_bytes = i32(cfg, "log.index.interval.bytes");
    cfg->log_index_size_max_bytes = i32(cfg, "log.index.size.max.bytes");
    cfg->message_max_bytes = i32(cfg, "message.max.bytes");
    cfg->log_message_timestamp_type = (rn_timestamp_type_t)i64(cfg, "log.message.timestamp.type");
    cfg->log_level = (int)i64(cfg, "log.level");
    cfg->log_cleanup_policy = (uint32_t)i64(cfg, "log.cleanup.policy");
    cfg->log_flush_interval_messages = i64(cfg, "log.flush.interval.messages");
    rn_config_entry_t *flush_ms = entry(cfg, "log.flush.interval.ms");
    cfg->log_flush_interval_ms = flush_ms->value.is_null ? INT64_MAX : flush_ms->value.i;
    cfg->durable_acks = cfg->log_flush_interval_messages == 1;
    cfg->num_partitions = i32(cfg, "num.partitions");
    cfg->default_replication_factor = (int16_t)i32(cfg, "default.replication.factor");
    cfg->auto_create_topics_enable = i64(cfg, "auto.create.topics.enable") != 0;
    cfg->delete_topic_enable = i64(cfg, "delete.topic.enable") != 0;
    cfg->quorum_auto_join = i64(cfg, "controller.quorum.auto.join.enable") != 0;
    cfg->min_insync_replicas = i32(cfg, "min.insync.replicas");
    cfg->unclean_leader_election_enable = i64(cfg, "unclean.leader.election.enable") != 0;
    cfg->controlled_shutdown_enable = i64(cfg, "controlled.shutdown.enable") != 0;
    cfg->unclean_leader_election_interval_ms = i64(cfg, "unclean.leader.election.interval.ms");
    int64_t imbalance_s = i64(cfg, "leader.imbalance.check.interval.seconds");
    cfg->leader_imbalance_check_interval_ms = i64(cfg, "auto.leader.rebalance.enable") == 0 ? 0
                                              : imbalance_s > INT64_MAX / 1000 ? INT64_MAX
                                                                               : imbalance_s * 1000;
    cfg->leader_imbalance_per_broker_percentage =
        i32(cfg, "leader.imbalance.per.broker.percentage");
    cfg->balancer_interval_ms =
        i64(cfg, "balancer.enable") == 0 ? 0 : i64(cfg, "balancer.interval.ms");
    cfg->balancer_absent_timeout_ms = i64(cfg, "balancer.absent.timeout.ms");
    cfg->balancer_moves_per_broker_max = i32(cfg, "balancer.moves.per.broker.max");
    cfg->offsets_topic_num_partitions = i32(cfg, "offsets.topic.num.partitions");
    cfg->offsets_topic_replication_factor = (int16_t)i32(cfg, "offsets.topic.replication.factor");
    cfg->transaction_state_log_num_partitions = i32(cfg, "transaction.state.log.num.partitions");
    cfg->transaction_state_log_replication_factor =
        (int16_t)i32(cfg, "transaction.state.log.replication.factor");
    cfg->quorum_election_timeout_ms = i32(cfg, "controller.quorum.election.timeout.ms");
    cfg->quorum_fetch_timeout_ms = i32(cfg, "controller.quorum.fetch.timeout.ms");
    cfg->quorum_request_timeout_ms = i32(cfg, "controller.quorum.request.timeout.ms");
    cfg->broker_session_timeout_ms = i32(cfg, "broker.session.timeout.ms");
    cfg->broker_heartbeat_interval_ms = i32(cfg, "broker.heartbeat.interval.ms");
}

static rn_err_t resolve(loader_t *ld, int cpu_count) {
    rn_config_t *cfg = ld->cfg;
    resolve_typed(cfg);
    cfg->cores = resolve_cores(cfg, cpu_count);
    if (given(cfg, "num.network.threads"))
        RN_WARN(MOD,
                "num.network.threads is ignored: each of the %d cores loops does network "
                "and disk work (set cores)",
                cfg->cores);
    rn_err_t err = resolve_node_id(ld);
    /* As Kafka checks it: a frame of the largest size must fit the budget. */
    if (cfg->queued_max_request_bytes > 0 &&
        cfg->queued_max_request_bytes < cfg->socket_request_max_bytes)
        err = fail(ld,
                   "queued.max.request.bytes must be larger or equal to "
                   "socket.request.max.bytes (%d)",
                   cfg->socket_request_max_bytes);
    if (err == RN_OK) err = resolve_listeners(ld);
    if (err == RN_OK) err = resolve_cluster(ld);
    if (err == RN_OK) err = resolve_dirs(ld);
    if (err == RN_OK) err = resolve_admin(ld);
    if (err == RN_OK) err = resolve_topic_base(ld);
    return err;
}

/* ---- public ---- */

rn_err_t rn_config_load_io(rn_config_t *cfg, rn_io_t *io, int cpu_count, int argc, char **argv,
                           char **envp, char *errmsg, size_t errmsg_len) {
    RN_ASSERT(cfg != NULL);
    RN_ASSERT(errmsg != NULL && errmsg_len > 0);
    memset(cfg, 0, sizeof(*cfg));
    errmsg[0] = '\0';
    loader_t ld = {.cfg = cfg, .errmsg = errmsg, .errmsg_len = errmsg_len, .envp = envp};
    ld.defs = rn_config_defs(&ld.def_count);
    args_t args = {0};
    rn_err_t err = set_defaults(&ld);
    if (err == RN_OK) err = parse_args(&ld, argc, argv, &args);
    if (err == RN_OK && args.file) err = load_file(&ld, io, args.file);
    if (err == RN_OK) err = apply_env_prefix(&ld, "KAFKA_CFG_");
    if (err == RN_OK) err = apply_env_prefix(&ld, "RUNNEL_");
    if (err == RN_OK) err = apply_sets(&ld, &args);
    if (err == RN_OK) err = resolve(&ld, cpu_count);
    free(args.sets);
    if (err != RN_OK) rn_config_free(cfg);
    return err;
}

rn_err_t rn_config_load(rn_config_t *cfg, int argc, char **argv, char **envp, char *errmsg,
                        size_t errmsg_len) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return rn_config_load_io(cfg, rn_io_linux(), cpus > 0 ? (int)cpus : 1, argc, argv, envp, errmsg,
                             errmsg_len);
}

void rn_config_free(rn_config_t *cfg) {
    for (int n = 0; cfg->entries && n < cfg->entry_count; n++) free(cfg->entries[n].text);
    free(cfg->entries);
    free(cfg->log_dirs_text);
    memset(cfg, 0, sizeof(*cfg));
}

bool rn_config_next(const rn_config_t *cfg, int *pos, rn_config_item_t *item) {
    int count = 0;
    const rn_config_def_t *defs = rn_config_defs(&count);
    RN_ASSERT(*pos >= 0);
    while (*pos < count) {
        int n = (*pos)++;
        const rn_config_entry_t *e = &cfg->entries[n];
        if ((defs[n].flags & RN_CONFIG_F_IGNORED) && e->origin == RN_CONFIG_ORIGIN_DEFAULT)
            continue;
        item->def = &defs[n];
        item->origin = e->origin;
        item->source = e->origin == RN_CONFIG_ORIGIN_DEFAULT ? RN_CONFIG_SOURCE_DEFAULT
                                                             : RN_CONFIG_SOURCE_STATIC_BROKER;
        item->sensitive =
            (defs[n].flags & RN_CONFIG_F_SENSITIVE) != 0 || defs[n].type == RN_CONFIG_PASSWORD;
        item->value = item->sensitive ? NULL : e->text;
        item->read_only = true;
        return true;
    }
    return false;
}
