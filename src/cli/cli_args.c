/*
 * cli_args.c: the option parser every runnel tool shares, its --help text,
 * and the verb dispatcher of tools with verbs (`runnel topic create`).
 *
 * Owns nothing: values point into argv. Adds the common options (-b, --timeout-ms,
 * --json, -X, -v, -h) to every command. Never exits the process and never
 * talks to a broker: bad arguments come back as RN_CLI_EXIT_USAGE.
 */
#include "cli/cli_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define COMMON_OPT_COUNT 6

static void common_opts(rn_cli_common_t *common, bool *help, rn_cli_opt_t *opts) {
    const rn_cli_opt_t list[COMMON_OPT_COUNT] = {
        {"bootstrap", 'b', RN_CLI_OPT_STR, &common->bootstrap, "HOST:PORT[,...]",
         "brokers to contact first (default localhost:9092)"},
        {"timeout-ms", 0, RN_CLI_OPT_INT, &common->timeout_ms, "MS",
         "bound on every wait for the cluster (default 10000)"},
        {"json", 0, RN_CLI_OPT_FLAG, &common->json, NULL, "machine-readable JSON output"},
        {"property", 'X', RN_CLI_OPT_LIST, &common->props, "KEY=VALUE",
         "a librdkafka client setting (repeatable)"},
        {"verbose", 'v', RN_CLI_OPT_FLAG, &common->verbose, NULL, "show the client's log lines"},
        {"help", 'h', RN_CLI_OPT_FLAG, help, NULL, "show this help"},
    };
    memcpy(opts, list, sizeof list);
}

bool rn_cli_parse_i64(const char *text, int64_t *value) {
    RN_ASSERT(value != NULL);
    if (text == NULL || *text == '\0') return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return false;
    *value = (int64_t)v;
    return true;
}

bool rn_cli_split_kv(const char *kv, char *key, size_t key_size, const char **value) {
    RN_ASSERT(kv != NULL);
    RN_ASSERT(key_size > 0);
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv || (size_t)(eq - kv) >= key_size) return false;
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    *value = eq + 1;
    return true;
}

static void print_opts(FILE *out, const rn_cli_opt_t *opts, int count) {
    for (int i = 0; i < count; i++) {
        char left[64];
        const rn_cli_opt_t *o = &opts[i];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        if (strlen(left) > 30)
            fprintf(out, "  %s\n  %-30s  %s\n", left, "", o->help);
        else
            fprintf(out, "  %-30s  %s\n", left, o->help);
    }
}

static void print_help(const rn_cli_cmd_t *cmd, const rn_cli_opt_t *common, FILE *out) {
    fprintf(out, "usage: %s [options]%s%s\n\n%s\n", cmd->prog, cmd->args_usage[0] ? " " : "",
            cmd->args_usage, cmd->summary);
    if (cmd->details) fprintf(out, "\n%s", cmd->details);
    if (cmd->opt_count > 0) {
        fprintf(out, "\noptions:\n");
        print_opts(out, cmd->opts, cmd->opt_count);
    }
    fprintf(out, "\ncommon options:\n");
    print_opts(out, common, COMMON_OPT_COUNT);
    fprintf(out, "\nexit codes: 0 ok, 1 operation failed, 2 bad arguments\n");
}

int rn_cli_usage_error(const rn_cli_cmd_t *cmd, const char *fmt, ...) {
    RN_ASSERT(cmd != NULL);
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cmd->prog);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s [options]%s%s\nRun '%s --help' for the options.\n", cmd->prog,
            cmd->args_usage[0] ? " " : "", cmd->args_usage, cmd->prog);
    return RN_CLI_EXIT_USAGE;
}

static const rn_cli_opt_t *find_opt(const rn_cli_cmd_t *cmd, const rn_cli_opt_t *common,
                                    const char *name, size_t name_len, char short_name) {
    for (int set = 0; set < 2; set++) {
        const rn_cli_opt_t *opts = set == 0 ? cmd->opts : common;
        int count = set == 0 ? cmd->opt_count : COMMON_OPT_COUNT;
        for (int i = 0; i < count; i++) {
            if (short_name && opts[i].short_name == short_name) return &opts[i];
            if (!short_name && strlen(opts[i].name) == name_len &&
                !strncmp(opts[i].name, name, name_len))
                return &opts[i];
        }
    }
    return NULL;
}

static int store_value(const rn_cli_cmd_t *cmd, const rn_cli_opt_t *o, const char *value) {
    switch (o->kind) {
    case RN_CLI_OPT_STR:
        *(const char **)o->target = value;
        return RN_CLI_CONTINUE;
    case RN_CLI_OPT_INT:
        if (!rn_cli_parse_i64(value, (int64_t *)o->target))
            return rn_cli_usage_error(cmd, "--%s: '%s' is not an integer", o->name, value);
        return RN_CLI_CONTINUE;
    case RN_CLI_OPT_LIST: {
        rn_cli_list_t *list = o->target;
        if (list->count >= RN_CLI_REPEAT_MAX)
            return rn_cli_usage_error(cmd, "--%s: more than %d values", o->name, RN_CLI_REPEAT_MAX);
        list->items[list->count++] = value;
        return RN_CLI_CONTINUE;
    }
    case RN_CLI_OPT_FLAG:
        break;
    }
    RN_ASSERT(0 && "flag has no value");
    return RN_CLI_EXIT_USAGE;
}

/* One option at argv[*i]; advances *i past its value. */
static int parse_one(const rn_cli_cmd_t *cmd, const rn_cli_opt_t *common, int argc, char **argv,
                     int *i) {
    const char *arg = argv[*i];
    const char *inline_value = NULL;
    const rn_cli_opt_t *o;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        inline_value = eq ? eq + 1 : NULL;
        o = find_opt(cmd, common, name, len, 0);
    } else {
        o = find_opt(cmd, common, NULL, 0, arg[1]);
        if (o && arg[2] != '\0') inline_value = arg + 2;
    }
    if (o == NULL) return rn_cli_usage_error(cmd, "unknown option '%s'", arg);
    if (o->kind == RN_CLI_OPT_FLAG) {
        if (inline_value) return rn_cli_usage_error(cmd, "--%s takes no value", o->name);
        *(bool *)o->target = true;
        return RN_CLI_CONTINUE;
    }
    if (inline_value == NULL) {
        if (*i + 1 >= argc) return rn_cli_usage_error(cmd, "--%s needs a value", o->name);
        inline_value = argv[++*i];
    }
    return store_value(cmd, o, inline_value);
}

int rn_cli_parse(const rn_cli_cmd_t *cmd, rn_cli_common_t *common, rn_cli_list_t *pos, int argc,
                 char **argv) {
    RN_ASSERT(cmd != NULL && common != NULL && pos != NULL);
    RN_ASSERT(argc >= 1);
    rn_cli_opt_t copts[COMMON_OPT_COUNT];
    bool help = false, only_pos = false;
    common_opts(common, &help, copts);
    if (common->bootstrap == NULL) common->bootstrap = "localhost:9092";
    if (common->timeout_ms == 0) common->timeout_ms = RN_CLI_TIMEOUT_MS_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_pos && !strcmp(arg, "--")) {
            only_pos = true;
        } else if (!only_pos && arg[0] == '-' && arg[1] != '\0') {
            int rc = parse_one(cmd, copts, argc, argv, &i);
            if (rc != RN_CLI_CONTINUE) return rc;
        } else {
            if (pos->count >= RN_CLI_POSITIONAL_MAX)
                return rn_cli_usage_error(cmd, "more than %d arguments", RN_CLI_POSITIONAL_MAX);
            pos->items[pos->count++] = arg;
        }
    }
    if (help) {
        print_help(cmd, copts, stdout);
        return RN_CLI_EXIT_OK;
    }
    if (pos->count < cmd->pos_min) return rn_cli_usage_error(cmd, "missing %s", cmd->args_usage);
    if (pos->count > cmd->pos_max)
        return rn_cli_usage_error(cmd, "unexpected argument '%s'", pos->items[cmd->pos_max]);
    if (common->timeout_ms <= 0 || common->timeout_ms > RN_CLI_TIMEOUT_MS_MAX)
        return rn_cli_usage_error(cmd, "--timeout-ms must be between 1 and %lld",
                                  (long long)RN_CLI_TIMEOUT_MS_MAX);
    return RN_CLI_CONTINUE;
}

static void verbs_usage(const char *prog, const rn_cli_verb_t *verbs, int verb_count, FILE *out) {
    fprintf(out, "usage: runnel %s <command> [options]\n\ncommands:\n", prog);
    for (int i = 0; i < verb_count; i++)
        fprintf(out, "  %-16s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(out, "\nRun 'runnel %s <command> --help' for a command's options.\n", prog);
}

int rn_cli_dispatch(const char *prog, const rn_cli_verb_t *verbs, int verb_count, int argc,
                    char **argv) {
    RN_ASSERT(prog != NULL && verbs != NULL);
    RN_ASSERT(verb_count > 0);
    if (argc < 2) {
        fprintf(stderr, "runnel %s: missing command\n", prog);
        verbs_usage(prog, verbs, verb_count, stderr);
        return RN_CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        verbs_usage(prog, verbs, verb_count, stdout);
        return RN_CLI_EXIT_OK;
    }
    for (int i = 0; i < verb_count; i++)
        if (!strcmp(argv[1], verbs[i].name)) return verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "runnel %s: unknown command '%s'\n", prog, argv[1]);
    verbs_usage(prog, verbs, verb_count, stderr);
    return RN_CLI_EXIT_USAGE;
}
