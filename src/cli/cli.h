/*
 * cli.h: the operator's tools, `runnel <tool> ...`, built on librdkafka so
 * they work against any Kafka cluster. The broker itself never calls them.
 */
#ifndef RN_CLI_CLI_H
#define RN_CLI_CLI_H

/* argv[0] is the program, argv[1] the tool name (or --help). Returns the
   process exit code. */
int rn_cli_main(int argc, char **argv);

#endif
