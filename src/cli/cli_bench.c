/* cli_bench.c: `runnel bench` (being written). */
#include "cli/cli_int.h"

int rn_cli_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return rn_cli_fail("runnel bench", "not available yet");
}
