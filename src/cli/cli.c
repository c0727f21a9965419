/* cli.c: dispatch of `runnel <tool>`; the tools themselves come next. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int rn_cli_main(int argc, char **argv) {
    FILE *out = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr;
    if (argc >= 2 && out == stderr) fprintf(stderr, "runnel: unknown command '%s'\n", argv[1]);
    fprintf(out, "usage: runnel server [--config FILE] [--set key=value ...]\n");
    return out == stdout ? 0 : 2;
}
