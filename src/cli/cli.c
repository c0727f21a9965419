/*
 * cli.c: `runnel <tool>`: picks the tool named by argv[1] and prints the
 * overall help. Each tool lives in its own file (cli_topic.c, cli_produce.c,
 * ...). Owns nothing; never talks to a broker itself.
 */
#include "cli/cli.h"

#include "cli/cli_int.h"

#include <string.h>

typedef struct cli_tool {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the tool name */
} cli_tool_t;

static const cli_tool_t cli_tools[] = {
    {"topic", "create, list, describe, alter and delete topics", rn_cli_topic},
    {"produce", "write lines from stdin or a file as records", rn_cli_produce},
    {"consume", "print records, alone or as part of a consumer group", rn_cli_consume},
    {"group", "list, describe (with lag), reset offsets of and delete consumer groups",
     rn_cli_group},
    {"cluster", "describe the cluster and its metadata quorum; add or remove voters",
     rn_cli_cluster},
    {"bench", "measure produce, consume and end-to-end throughput and latency", rn_cli_bench},
    {"dev", "run a local cluster of several nodes for development", rn_cli_dev},
};

#define CLI_TOOL_COUNT ((int)(sizeof cli_tools / sizeof cli_tools[0]))

static int cli_usage(FILE *out) {
    fprintf(out, "usage: runnel <command> [options]\n\ncommands:\n");
    fprintf(out, "  %-10s %s\n", "server", "run a broker (runnel server --help)");
    for (int i = 0; i < CLI_TOOL_COUNT; i++)
        fprintf(out, "  %-10s %s\n", cli_tools[i].name, cli_tools[i].summary);
    fprintf(out, "\nEvery tool takes -b/--bootstrap HOST:PORT (default localhost:9092), --json,\n"
                 "--timeout-ms MS and --help. Exit codes: 0 ok, 1 operation failed, 2 bad\n"
                 "arguments. See docs/CLI.md.\n");
    return out == stdout ? RN_CLI_EXIT_OK : RN_CLI_EXIT_USAGE;
}

int rn_cli_main(int argc, char **argv) {
    RN_ASSERT(argc >= 1);
    RN_ASSERT(argv != NULL);
    if (argc < 2) return cli_usage(stderr);
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help"))
        return cli_usage(stdout);
    for (int i = 0; i < CLI_TOOL_COUNT; i++)
        if (!strcmp(name, cli_tools[i].name)) return cli_tools[i].run(argc - 1, argv + 1);
    fprintf(stderr, "runnel: unknown command '%s'\n", name);
    return cli_usage(stderr);
}
