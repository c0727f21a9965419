/*
 * cli_dev.c: `runnel dev cluster`: a local cluster for development. Starts N
 * combined nodes (process.roles=broker,controller) as child `runnel server`
 * processes of this same binary on loopback, prints where they are, waits,
 * and stops them all on Ctrl-C or SIGTERM (SIGKILL after a bounded wait).
 * When a node exits on its own it says which and why and stops the others.
 *
 * Node i (1..N): broker listener 127.0.0.1:<port + 2(i-1)>, controller
 * listener the next port, admin HTTP 127.0.0.1:<admin-port + i-1>, data in
 * DIR/node-<i>, output in DIR/node-<i>.log; controller.quorum.voters lists
 * all N.
 *
 * What it owns: the child processes, until they are reaped. It does no Kafka
 * protocol work. It is a process supervisor above every layer, so it talks to
 * the OS (fork, exec, signals) directly; nothing below src/cli/ may.
 */
#include "base/limits.h"
#include "cli/cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROG "runnel dev cluster"

RN_STATIC_ASSERT(RN_CLI_DEV_NODES_MAX <= RN_RAFT_NODES_MAX, "every dev node is a voter");

typedef struct dev_node {
    int32_t id;
    uint16_t broker_port, controller_port, admin_port;
    char data_dir[RN_CLI_DEV_PATH_BYTES];
    char log_path[RN_CLI_DEV_PATH_BYTES];
    pid_t pid; /* 0 once reaped */
    int status;
} dev_node_t;

typedef struct dev_cluster {
    int64_t node_count, port, admin_port;
    const char *dir;
    rn_cli_list_t sets;
    bool json;
    dev_node_t nodes[RN_CLI_DEV_NODES_MAX];
    char voters[RN_CLI_DEV_NODES_MAX * 32];
    char bootstrap[RN_CLI_DEV_NODES_MAX * 24];
} dev_cluster_t;

/* ---- set-up ---- */

static int dev_plan(const rn_cli_cmd_t *cmd, dev_cluster_t *dc) {
    if (dc->node_count < 1 || dc->node_count > RN_CLI_DEV_NODES_MAX)
        return rn_cli_usage_error(cmd, "--nodes must be from 1 to %d", RN_CLI_DEV_NODES_MAX);
    int64_t top = dc->port + 2 * dc->node_count - 1;
    if (dc->port < 1 || top > 65535)
        return rn_cli_usage_error(cmd, "--port %lld: the %lld nodes need ports %lld to %lld",
                                  (long long)dc->port, (long long)dc->node_count,
                                  (long long)dc->port, (long long)top);
    if (dc->admin_port < 1 || dc->admin_port + dc->node_count - 1 > 65535)
        return rn_cli_usage_error(cmd, "--admin-port must leave room for %lld ports below 65536",
                                  (long long)dc->node_count);
    for (int i = 0; i < dc->sets.count; i++)
        if (!strchr(dc->sets.items[i], '=') || dc->sets.items[i][0] == '=')
            return rn_cli_usage_error(cmd, "--set %s: expected key=value", dc->sets.items[i]);
    size_t vused = 0, bused = 0;
    for (int i = 0; i < (int)dc->node_count; i++) {
        dev_node_t *node = &dc->nodes[i];
        node->id = i + 1;
        node->broker_port = (uint16_t)(dc->port + 2 * i);
        node->controller_port = (uint16_t)(dc->port + 2 * i + 1);
        node->admin_port = (uint16_t)(dc->admin_port + i);
        int a = snprintf(node->data_dir, sizeof node->data_dir, "%s/node-%d", dc->dir, node->id);
        int b =
            snprintf(node->log_path, sizeof node->log_path, "%s/node-%d.log", dc->dir, node->id);
        if (a < 0 || b < 0 || (size_t)b >= sizeof node->log_path)
            return rn_cli_usage_error(cmd, "--dir %s: the path is too long", dc->dir);
        vused +=
            (size_t)snprintf(dc->voters + vused, sizeof dc->voters - vused, "%s%d@127.0.0.1:%u",
                             i ? "," : "", node->id, node->controller_port);
        bused += (size_t)snprintf(dc->bootstrap + bused, sizeof dc->bootstrap - bused,
                                  "%s127.0.0.1:%u", i ? "," : "", node->broker_port);
    }
    return RN_CLI_CONTINUE;
}

/* Can a listener bind 127.0.0.1:port now? As the broker binds: with
   SO_REUSEADDR, so a port in TIME_WAIT counts as free. */
static bool dev_port_free(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0 && listen(fd, 1) == 0;
    close(fd);
    return ok;
}

static int dev_check_ports(const dev_cluster_t *dc) {
    for (int i = 0; i < (int)dc->node_count; i++) {
        const dev_node_t *node = &dc->nodes[i];
        const uint16_t ports[3] = {node->broker_port, node->controller_port, node->admin_port};
        static const char *const what[3] = {"broker listener", "controller listener",
                                            "admin HTTP port"};
        for (int k = 0; k < 3; k++) {
            if (!dev_port_free(ports[k]))
                return rn_cli_fail(PROG,
                                   "port %u (node %d's %s) is in use; nothing was started. "
                                   "Stop what listens there or pick other ports with --port "
                                   "and --admin-port",
                                   ports[k], node->id, what[k]);
        }
    }
    return RN_CLI_EXIT_OK;
}

/* mkdir -p */
static bool dev_mkdirs(const char *path) {
    char buf[RN_CLI_DEV_PATH_BYTES];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

/* ---- the children ---- */

/* The child's argv: runnel server --set ... for node, then the user's --set
   items, which win over the cluster's. Strings live in store. */
static void dev_child_argv(const dev_cluster_t *dc, const dev_node_t *node, char **argv,
                           char (*store)[RN_CLI_DEV_PATH_BYTES + 64]) {
    int n = 0, s = 0;
    argv[n++] = "runnel";
    argv[n++] = "server";
#define DEV_SET(...)                                                                               \
    do {                                                                                           \
        snprintf(store[s], sizeof store[s], __VA_ARGS__);                                          \
        argv[n++] = "--set";                                                                       \
        argv[n++] = store[s++];                                                                    \
    } while (0)
    DEV_SET("node.id=%d", node->id);
    DEV_SET("process.roles=broker,controller");
    DEV_SET("listeners=PLAINTEXT://127.0.0.1:%u,CONTROLLER://127.0.0.1:%u", node->broker_port,
            node->controller_port);
    DEV_SET("advertised.listeners=PLAINTEXT://127.0.0.1:%u", node->broker_port);
    DEV_SET("controller.listener.names=CONTROLLER");
    DEV_SET("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    DEV_SET("inter.broker.listener.name=PLAINTEXT");
    DEV_SET("log.dirs=%s", node->data_dir);
    DEV_SET("admin.listener=127.0.0.1:%u", node->admin_port);
    DEV_SET("controller.quorum.voters=%s", dc->voters);
#undef DEV_SET
    for (int i = 0; i < dc->sets.count; i++) {
        argv[n++] = "--set";
        argv[n++] = (char *)dc->sets.items[i];
    }
    argv[n] = NULL;
    RN_ASSERT(s <= RN_CLI_DEV_CHILD_SETS);
}

/* In the child: output to the log, its own process group (so Ctrl-C
   reaches only the supervisor, which stops the nodes in order), death with
   the supervisor, the signal mask of a fresh process, then exec. */
static void dev_child_exec(const char *exe, char **argv, int log_fd, const sigset_t *old_mask) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    execv(exe, argv);
    dprintf(STDERR_FILENO, "%s: cannot run %s: %s\n", PROG, exe, strerror(errno));
    _exit(127);
}

static int dev_spawn(dev_cluster_t *dc, dev_node_t *node, const char *exe,
                     const sigset_t *old_mask) {
    if (!dev_mkdirs(node->data_dir))
        return rn_cli_fail(PROG, "cannot create %s: %s", node->data_dir, strerror(errno));
    int log_fd = open(node->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return rn_cli_fail(PROG, "cannot open %s: %s", node->log_path, strerror(errno));
    char *argv[2 * (RN_CLI_DEV_CHILD_SETS + RN_CLI_REPEAT_MAX) + 3];
    static char store[RN_CLI_DEV_CHILD_SETS][RN_CLI_DEV_PATH_BYTES + 64];
    dev_child_argv(dc, node, argv, store);
    dprintf(log_fd, "==== %s: node %d starting\n", PROG, node->id);
    pid_t pid = fork();
    if (pid == 0) dev_child_exec(exe, argv, log_fd, old_mask);
    int fork_errno = errno;
    close(log_fd);
    if (pid < 0) return rn_cli_fail(PROG, "fork: %s", strerror(fork_errno));
    node->pid = pid;
    return RN_CLI_EXIT_OK;
}

/* ---- output ---- */

static void dev_print(const dev_cluster_t *dc) {
    if (dc->json) {
        rn_cli_json_t js;
        rn_cli_json_init(&js, stdout);
        rn_cli_json_obj(&js, NULL);
        rn_cli_json_str(&js, "bootstrap", dc->bootstrap);
        rn_cli_json_str(&js, "dir", dc->dir);
        rn_cli_json_arr(&js, "nodes");
        for (int i = 0; i < (int)dc->node_count; i++) {
            const dev_node_t *node = &dc->nodes[i];
            rn_cli_json_obj(&js, NULL);
            rn_cli_json_int(&js, "id", node->id);
            rn_cli_json_int(&js, "pid", node->pid);
            rn_cli_json_int(&js, "broker_port", node->broker_port);
            rn_cli_json_int(&js, "controller_port", node->controller_port);
            rn_cli_json_int(&js, "admin_port", node->admin_port);
            rn_cli_json_str(&js, "data_dir", node->data_dir);
            rn_cli_json_str(&js, "log", node->log_path);
            rn_cli_json_end_obj(&js);
        }
        rn_cli_json_end_arr(&js);
        rn_cli_json_end_obj(&js);
        rn_cli_json_done(&js);
    } else {
        printf("bootstrap: %s\n", dc->bootstrap);
        for (int i = 0; i < (int)dc->node_count; i++) {
            const dev_node_t *node = &dc->nodes[i];
            printf("node %d: pid %d, broker 127.0.0.1:%u, controller 127.0.0.1:%u, admin "
                   "http://127.0.0.1:%u, log %s\n",
                   node->id, (int)node->pid, node->broker_port, node->controller_port,
                   node->admin_port, node->log_path);
        }
        printf("%lld nodes running, data in %s. Ctrl-C stops them.\n", (long long)dc->node_count,
               dc->dir);
    }
    fflush(stdout);
}

/* "exited with status 1" or "was killed by signal 9 (Killed)". */
static void dev_describe_status(int status, char *out, size_t out_len) {
    if (WIFEXITED(status))
        snprintf(out, out_len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, out_len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, out_len, "ended with wait status %d", status);
}

/* ---- waiting and stopping ---- */

/* Reaps every child that has ended; returns the first one reaped, or NULL. */
static dev_node_t *dev_reap(dev_cluster_t *dc) {
    dev_node_t *first = NULL;
    for (int i = 0; i < (int)dc->node_count; i++) {
        dev_node_t *node = &dc->nodes[i];
        if (node->pid == 0) continue;
        int status = 0;
        pid_t got = waitpid(node->pid, &status, WNOHANG);
        if (got != node->pid) continue;
        node->pid = 0;
        node->status = status;
        if (!first) first = node;
    }
    return first;
}

static int dev_live(const dev_cluster_t *dc) {
    int live = 0;
    for (int i = 0; i < (int)dc->node_count; i++) live += dc->nodes[i].pid != 0;
    return live;
}

static void dev_signal_all(const dev_cluster_t *dc, int sig) {
    for (int i = 0; i < (int)dc->node_count; i++)
        if (dc->nodes[i].pid != 0) kill(dc->nodes[i].pid, sig);
}

/* SIGTERM to every live node, then wait up to RN_CLI_DEV_STOP_MS for them
   (more stop signals meanwhile change nothing), then SIGKILL. */
static void dev_stop_all(dev_cluster_t *dc, const sigset_t *wait_set) {
    dev_signal_all(dc, SIGTERM);
    int64_t deadline = rn_cli_now_ms() + RN_CLI_DEV_STOP_MS;
    while (dev_live(dc) > 0) {
        int64_t left = deadline - rn_cli_now_ms();
        if (left <= 0) break;
        struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
        sigtimedwait(wait_set, NULL, &ts);
        dev_reap(dc);
    }
    if (dev_live(dc) > 0) {
        rn_cli_warn(PROG, "%d node(s) still running %d ms after SIGTERM; sending SIGKILL",
                    dev_live(dc), RN_CLI_DEV_STOP_MS);
        dev_signal_all(dc, SIGKILL);
        for (int i = 0; i < (int)dc->node_count; i++)
            if (dc->nodes[i].pid != 0) waitpid(dc->nodes[i].pid, &dc->nodes[i].status, 0);
        for (int i = 0; i < (int)dc->node_count; i++) dc->nodes[i].pid = 0;
    }
}

/* Waits for a stop signal or a node's end. Returns the exit code. */
static int dev_supervise(dev_cluster_t *dc, const sigset_t *wait_set) {
    for (;;) {
        int sig = sigwaitinfo(wait_set, NULL);
        if (sig < 0) continue; /* EINTR */
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "%s: %s: stopping the %d nodes\n", PROG,
                    sig == SIGINT ? "interrupted" : "terminated", dev_live(dc));
            dev_stop_all(dc, wait_set);
            fprintf(stderr, "%s: stopped\n", PROG);
            return RN_CLI_EXIT_OK;
        }
        dev_node_t *gone = dev_reap(dc);
        if (!gone) continue;
        char why[96];
        dev_describe_status(gone->status, why, sizeof why);
        fprintf(stderr, "%s: node %d %s (see %s); stopping the others\n", PROG, gone->id, why,
                gone->log_path);
        dev_stop_all(dc, wait_set);
        return RN_CLI_EXIT_FAIL;
    }
}

static int dev_run(dev_cluster_t *dc) {
    char exe[RN_CLI_DEV_PATH_BYTES];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return rn_cli_fail(PROG, "cannot find this program: %s", strerror(errno));
    exe[len] = '\0';
    int rc = dev_check_ports(dc);
    if (rc != RN_CLI_EXIT_OK) return rc;
    if (!dev_mkdirs(dc->dir))
        return rn_cli_fail(PROG, "cannot create %s: %s", dc->dir, strerror(errno));
    sigset_t wait_set, old_mask;
    sigemptyset(&wait_set);
    sigaddset(&wait_set, SIGINT);
    sigaddset(&wait_set, SIGTERM);
    sigaddset(&wait_set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &wait_set, &old_mask);
    for (int i = 0; i < (int)dc->node_count && rc == RN_CLI_EXIT_OK; i++)
        rc = dev_spawn(dc, &dc->nodes[i], exe, &old_mask);
    if (rc != RN_CLI_EXIT_OK) {
        dev_stop_all(dc, &wait_set);
        return rc;
    }
    dev_print(dc);
    return dev_supervise(dc, &wait_set);
}

static int dev_cluster(int argc, char **argv) {
    static dev_cluster_t dc;
    memset(&dc, 0, sizeof dc);
    dc.node_count = 3;
    dc.port = 9092;
    dc.admin_port = 9644;
    dc.dir = "./runnel-dev-cluster";
    const rn_cli_opt_t opts[] = {
        {"nodes", 0, RN_CLI_OPT_INT, &dc.node_count, "N", "nodes to start, 1 to 9 (default 3)"},
        {"dir", 0, RN_CLI_OPT_STR, &dc.dir, "DIR",
         "folder of the nodes' data and logs (default ./runnel-dev-cluster)"},
        {"port", 0, RN_CLI_OPT_INT, &dc.port, "PORT",
         "node i listens on PORT+2(i-1) (broker) and the next port (controller); default 9092"},
        {"admin-port", 0, RN_CLI_OPT_INT, &dc.admin_port, "PORT",
         "node i serves admin HTTP on PORT+i-1 (default 9644)"},
        {"set", 0, RN_CLI_OPT_LIST, &dc.sets, "KEY=VALUE",
         "a broker setting for every node (repeatable; wins over the cluster's)"},
    };
    const rn_cli_cmd_t cmd = {
        PROG,
        "",
        "Run a local cluster of combined nodes (broker and controller) until Ctrl-C.",
        "Each node is a `runnel server` child process on 127.0.0.1 with its data in\n"
        "DIR/node-<id> and its output in DIR/node-<id>.log. Ctrl-C or SIGTERM stops\n"
        "them all; if one exits on its own, the others are stopped and the exit\n"
        "code is 1. The -b, --timeout-ms and -X options are not used.\n",
        opts,
        (int)(sizeof opts / sizeof opts[0]),
        0,
        0};
    rn_cli_common_t common = {0};
    rn_cli_list_t pos = {0};
    int rc = rn_cli_parse(&cmd, &common, &pos, argc, argv);
    if (rc != RN_CLI_CONTINUE) return rc;
    dc.json = common.json;
    rc = dev_plan(&cmd, &dc);
    if (rc != RN_CLI_CONTINUE) return rc;
    return dev_run(&dc);
}

int rn_cli_dev(int argc, char **argv) {
    static const rn_cli_verb_t verbs[] = {
        {"cluster", "run a local cluster of N nodes until Ctrl-C", dev_cluster},
    };
    return rn_cli_dispatch("dev", verbs, 1, argc, argv);
}
