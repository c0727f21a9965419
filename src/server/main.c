/*
 * main.c: the runnel command. `runnel server` runs a broker; the other
 * subcommands (the operator's tools) live in src/cli/.
 */
#include "base/limits.h"
#include "base/log.h"
#include "cli/cli.h"
#include "io/io.h"
#include "server/broker.h"
#include "server/config.h"
#include "server/log_check_cmd.h"
#include "server/signals.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

static int usage(FILE *out) {
    fprintf(out, "usage: runnel server [--config FILE] [--set key=value ...]\n"
                 "       runnel log-check DATA_DIR...\n"
                 "       runnel <tool> ... (runnel --help lists the tools)\n"
                 "\n"
                 "`server` runs a Kafka-compatible broker. Settings use Kafka's names and come,\n"
                 "lowest precedence first, from defaults, the properties FILE, the environment\n"
                 "(KAFKA_CFG_<KEY> or RUNNEL_<KEY>, dots as underscores) and --set.\n"
                 "See docs/CONFIGURATION.md for every setting.\n");
    return out == stdout ? 0 : 2;
}

/* Request frames of up to a few MiB are allocated and freed at the request
   rate. By default glibc maps each large one afresh and hands freed heap
   tops back to the kernel, so every request faulted its pages in again
   (about 40 % of the bytes of a 1 KiB produce); kept in the heap, they are
   reused while still mapped. */
static void server_malloc_tune(void) {
    mallopt(M_MMAP_THRESHOLD, RN_MALLOC_MMAP_BYTES);
    mallopt(M_TRIM_THRESHOLD, RN_MALLOC_TRIM_BYTES);
}

/* Every connection and every open segment file holds a descriptor, and
   the soft open-files limit is often 1024 where the hard one allows far
   more: take all the hard limit allows. The broker logs at start what it
   leaves room for. */
static void server_fd_limit_raise(void) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    rlim_t was = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
        RN_WARN("server", "cannot raise the open-files limit from %llu to %llu",
                (unsigned long long)was, (unsigned long long)lim.rlim_max);
        return;
    }
    RN_INFO("server", "raised the open-files limit from %llu to %llu", (unsigned long long)was,
            (unsigned long long)lim.rlim_max);
}

static int run_server(int argc, char **argv) {
    server_malloc_tune();
    server_fd_limit_raise();
    rn_config_t cfg;
    char errmsg[512];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    rn_err_t err = rn_config_load_io(&cfg, rn_io_linux(), cpus > 0 ? (int)cpus : 1, argc, argv,
                                     environ, errmsg, sizeof errmsg);
    if (err != RN_OK) {
        fprintf(stderr, "runnel: %s\n", errmsg);
        return 2;
    }
    rn_log_set_level((rn_log_level_t)cfg.log_level);
    if (cfg.env_ignored[0])
        RN_DEBUG_LOG("config", "ignored Kubernetes service-link variables: %s", cfg.env_ignored);
    /* Before any other thread starts: they all inherit the blocked mask. */
    rn_signals_t signals;
    if (rn_signals_start(&signals) != RN_OK) {
        fprintf(stderr, "runnel: cannot start the thread that takes stop signals\n");
        rn_config_free(&cfg);
        return 1;
    }
    rn_broker_t broker;
    err = rn_broker_start(&broker, rn_io_linux(), &cfg);
    if (err != RN_OK) {
        fprintf(stderr, "runnel: the broker did not start (%s); see the log above\n",
                rn_err_name(err));
        rn_config_free(&cfg);
        return 1;
    }
    rn_broker_run_until_signal(&broker, &signals);
    rn_config_free(&cfg);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "server")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout);
        return run_server(argc - 2, argv + 2);
    }
    if (argc >= 2 && !strcmp(argv[1], "log-check")) return rn_log_check_main(argc - 2, argv + 2);
    /* Everything else is an operator's tool (src/cli/), which prints the
       overall help, including `server`, for `runnel --help`. */
    return rn_cli_main(argc, argv);
}
