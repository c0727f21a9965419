/* cli_group.c: `runnel group` (being written). */
#include "cli/cli_int.h"

int rn_cli_group(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return rn_cli_fail("runnel group", "not available yet");
}
