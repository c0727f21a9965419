"""Start and stop a cluster of N runnel nodes for an interop test.

    from cluster import Cluster
    with Cluster(3, {"num.partitions": 3}) as c:
        c.bootstrap                # "127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3"
        n2 = c.node(2)
        n2.kill()                  # SIGKILL, as a crash
        n2.start()                 # the same ports and data, waits until ready
        n2.term()                  # SIGTERM, wait (SIGKILL after a bound)
        n2.wipe()                  # its data folder emptied: a replaced disk
        n2.restart()

Each node is a broker.Broker (same start, stop, kill, restart, log and
sanitizer handling, clean-up at exit and PR_SET_PDEATHSIG) with node.id 1..N,
a broker listener, a controller listener and an admin HTTP port, each a free
loopback port picked for it and kept across restarts, its own data folder,
and a log (node.log_path). By default every node is combined
(process.roles=broker,controller) and controller.quorum.voters lists all N.

Settings, lowest precedence first: the cluster's own (ports, ids, voters,
listeners), `settings` shared by every node, `node_settings[id]` for one node
(e.g. {4: {"process.roles": "broker"}} with voters=[1, 2, 3]: node 4 is
broker-only; {1: {"process.roles": "controller"}}: node 1 is controller-only,
it has no broker listener and node.bootstrap is None).

A node is ready when its admin port answers /health/live and its broker port
answers a Metadata request (a starting broker accepts connections but closes
them unanswered until it is registered, unfenced and has its internal
topics), or, for a controller-only node, which serves no broker port, when
its controller listener answers an ApiVersions request; a broker serves once
it has caught up with the metadata quorum, so nodes wait for each other:
start() starts every process before waiting for any, and waits for all at
once, so a node that exits is reported while the others still wait for it. Every wait is
bounded. When a test point fails, the tail of every node's log that has run is
printed as TAP diagnostics, whether the node still runs or not.

The cluster always runs Runnel, whatever RUNNEL_TEST_TARGET says (a Kafka
cluster target can come later); RUNNEL_BIN picks the binary.

Under RUNNEL_TEST_TARGET=cluster a client test's broker.Broker(settings) is
a ClusterTarget: three combined nodes, every topic replicated
(CLUSTER_TARGET_SETTINGS), the test's settings on each node, and Broker's
surface (bootstrap, start, stop, restart, log_tail, ...). The cluster tests
here, which start their own nodes, skip under that target (run_scenarios):
their run is the one of the default target.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

import broker as broker_lib
import tap
from broker import Broker, BrokerError, api_versions_ok, metadata_broker_count, target

NODES_MAX = 9  # voters of one quorum (RN_RAFT_NODES_MAX)
READY_POLL_S = 0.1

# RUNNEL_TEST_TARGET=cluster: the nodes of a client test's broker, and what
# they all get, so that every topic a test creates or auto-creates (and
# __consumer_offsets) has a replica on each node and an acks=all write needs
# a follower besides the leader. A test's own settings come after these.
CLUSTER_TARGET_NODES = 3
CLUSTER_TARGET_SETTINGS = {"default.replication.factor": "3",
                           "offsets.topic.replication.factor": "3",
                           "min.insync.replicas": "2"}
# Settings the cluster gives each node a value of its own: one value for the
# three nodes cannot work, so a test naming one is refused.
PER_NODE_SETTINGS = ("node.id", "process.roles", "listeners", "advertised.listeners",
                     "controller.listener.names", "controller.quorum.voters",
                     "controller.quorum.bootstrap.servers", "log.dirs", "admin.listener")
# What a single broker process has and a cluster target has not.
ONE_PROCESS_ATTRS = ("pid", "proc", "port", "data_dir", "log_path", "returncode", "starts",
                     "extra_env", "rlimits")


def port_accepts(port, timeout=1.0):
    """Does 127.0.0.1:port accept a TCP connection?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def health_live(admin_port, timeout=2.0):
    """Does the admin port answer /health/live with 200?"""
    url = f"http://127.0.0.1:{admin_port}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


class ClusterNode(Broker):
    """One node of a Cluster: a Broker with a controller and an admin port."""

    def __init__(self, node_id, taken, data_dir=None):
        super().__init__(settings={}, data_dir=data_dir, name=f"node {node_id}")
        self.target = "runnel"  # the cluster harness runs Runnel only, for now
        self.node_id = node_id
        self.port = self._pick(taken, self.port)
        self.controller_port = self._pick(taken)
        self.admin_port = self._pick(taken)
        self.bootstrap = f"127.0.0.1:{self.port}"

    @staticmethod
    def _pick(taken, port=None):
        """A free port no other node of the cluster has taken."""
        while port is None or port in taken:
            port = broker_lib.free_port()
        taken.add(port)
        return port

    def configure(self, voters, shared, own):
        """The node's settings: the cluster's, then shared, then its own."""
        base = {
            "node.id": str(self.node_id),
            "process.roles": "broker,controller",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.quorum.voters": voters,
            "admin.listener": f"127.0.0.1:{self.admin_port}",
            # A few transaction log partitions, as Kafka's own cluster tests
            # keep theirs: fifty on three replicas each would make every
            # cluster here slower to start and to stop.
            "transaction.state.log.num.partitions": "5",
            # Off unless a test is about it: the balancer would move the
            # replicas and leaders other tests place and check (on by
            # default in a real cluster; test_cluster_balance.py turns it on).
            "balancer.enable": "false",
        }
        for extra in (shared, own):
            base.update({str(k): str(v) for k, v in (extra or {}).items()})
        self.roles = {x.strip() for x in base["process.roles"].split(",")}
        if "controller" not in self.roles:
            # a broker-only node has no controller listener of its own
            base["listeners"] = f"PLAINTEXT://127.0.0.1:{self.port}"
        if "broker" not in self.roles:
            # a controller-only node serves its controller listener only
            base["listeners"] = f"CONTROLLER://127.0.0.1:{self.controller_port}"
            for key in ("advertised.listeners", "inter.broker.listener.name"):
                base.pop(key, None)
            self.bootstrap = None
        self.settings = base

    @property
    def controller_addr(self):
        return f"127.0.0.1:{self.controller_port}"

    def is_broker(self):
        return "broker" in self.roles

    # -- readiness --------------------------------------------------------------
    def ready(self):
        if not health_live(self.admin_port):
            return False
        try:
            if self.is_broker():
                return metadata_broker_count(self.bootstrap, timeout=2.0) > 0
            return api_versions_ok(self.controller_addr, timeout=2.0)
        except OSError:
            return False

    def _ready_what(self):
        """What ready() waits for, for a message."""
        return (f"/health/live on {self.admin_port}, " +
                (f"Metadata on broker port {self.port}" if self.is_broker()
                 else f"ApiVersions on controller port {self.controller_port}"))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reap()
                raise BrokerError(f"{self.name} exited with {self.returncode} during start-up"
                                  f"\n{self.log_tail()}")
            if self.ready():
                return
            time.sleep(READY_POLL_S)
        self.kill()
        raise BrokerError(f"{self.name} not ready within {timeout:.0f}s ({self._ready_what()})"
                          f"\n{self.log_tail()}")

    # -- lifecycle ----------------------------------------------------------------
    def term(self, timeout=broker_lib.STOP_TIMEOUT_S):
        """SIGTERM and wait (SIGKILL after timeout); returns the exit code."""
        return self.stop(timeout)

    def signal_term(self):
        """SIGTERM without waiting; wait_stopped() then waits. (A second
        SIGTERM during a node's clean stop may cut it short, so stop(),
        which sends its own, is not the way to wait.)"""
        if self.running():
            self.proc.terminate()

    def wait_stopped(self, timeout=broker_lib.STOP_TIMEOUT_S):
        """After signal_term(): wait, SIGKILL after timeout; the exit code."""
        if self.proc is None or self.returncode is not None:
            return self.returncode
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            t = tap.current()
            if t:
                t.diag(f"{self.name}: no exit {timeout:.0f}s after SIGTERM; SIGKILL")
            self.proc.kill()
        self._reap()
        return self.returncode

    def wipe(self):
        """Empties the data folder, as a replaced disk; the node must be down."""
        if self.running():
            raise BrokerError(f"{self.name}: wipe() needs the node stopped")
        shutil.rmtree(self.data_dir, ignore_errors=True)
        os.makedirs(self.data_dir, exist_ok=True)

    # -- logs: a node that died is the one whose log matters --------------------------
    def _print_log_tail(self):
        t = tap.current()
        if t is None or self.starts == 0:
            return
        state = "running" if self.running() else f"exited {self.returncode}"
        t.diag(f"{self.name} ({state}) log ({self.log_path}), last "
               f"{broker_lib.LOG_TAIL_LINES} lines:")
        t.diag(self.log_tail())


class Cluster:
    def __init__(self, n, settings=None, node_settings=None, voters=None, voter_hosts=None,
                 node_class=None):
        """n nodes with ids 1..n; `voters` (ids, default all) make up
        controller.quorum.voters, each named by its host in `voter_hosts`
        (id to host name; default 127.0.0.1, where every node listens).
        `node_class`: ClusterNode or a subclass of it."""
        if not 1 <= n <= NODES_MAX:
            raise ValueError(f"a cluster has 1 to {NODES_MAX} nodes, not {n}")
        taken = set()
        self.nodes = [(node_class or ClusterNode)(i, taken) for i in range(1, n + 1)]
        voter_ids = list(voters) if voters is not None else [x.node_id for x in self.nodes]
        hosts = voter_hosts or {}
        self.voters = ",".join(f"{x.node_id}@{hosts.get(x.node_id, '127.0.0.1')}:"
                               f"{x.controller_port}"
                               for x in self.nodes if x.node_id in voter_ids)
        for node in self.nodes:
            node.configure(self.voters, settings, (node_settings or {}).get(node.node_id))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for node in self.nodes:
                node._print_log_tail()
        self.stop()
        return False

    def node(self, node_id):
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id}")

    @property
    def bootstrap(self):
        """The broker listeners, comma separated, as clients take them."""
        return ",".join(x.bootstrap for x in self.brokers())

    def brokers(self):
        """The nodes that serve a broker listener (not controller-only)."""
        return [x for x in self.nodes if x.is_broker()]

    def running(self):
        return [x for x in self.nodes if x.running()]

    def start(self, timeout=broker_lib.START_TIMEOUT_S):
        """Starts every node not running, then waits until each is ready
        (one bound for all). A node that fails stops the others."""
        deadline = time.monotonic() + timeout
        started = [x for x in self.nodes if not x.running()]
        for node in started:
            node.start(wait=False)
        try:
            self._wait_all_ready(started, deadline)
        except BrokerError:
            for node in self.nodes:
                node._print_log_tail()
            self.stop()
            raise
        return self

    @staticmethod
    def _wait_all_ready(nodes, deadline):
        """Waits for every node at once: nodes of one quorum wait for each
        other before they serve, so a node that exits must be seen while
        the others still wait for it."""
        waiting = list(nodes)
        while waiting:
            for node in list(waiting):
                if node.proc.poll() is not None:
                    node._reap()
                    raise BrokerError(f"{node.name} exited with {node.returncode} during "
                                      f"start-up\n{node.log_tail()}")
                if node.ready():
                    waiting.remove(node)
            if waiting and time.monotonic() > deadline:
                node = waiting[0]
                raise BrokerError(f"{node.name} not ready in time ({node._ready_what()})\n"
                                  f"{node.log_tail()}")
            time.sleep(READY_POLL_S)

    def stop(self, timeout=broker_lib.STOP_TIMEOUT_S):
        """SIGTERM to every node at once, then waits for each; returns
        {node_id: exit code} of the nodes that were running."""
        live = self.running()
        for node in live:
            node.signal_term()
        return {x.node_id: x.wait_stopped(timeout) for x in live}

    def kill(self):
        """SIGKILL every node, as a power cut."""
        for node in self.nodes:
            node.kill()


class ClusterTarget:
    """A client test's broker under RUNNEL_TEST_TARGET=cluster (what
    broker.Broker(settings) returns then): a Cluster of CLUSTER_TARGET_NODES
    combined nodes with CLUSTER_TARGET_SETTINGS and then `settings` on each.

    The surface is the part of Broker's that client tests use: bootstrap
    (every broker listener, comma separated), addrs ({node id: its
    listener}), data_dirs (each node's folder), admin_addrs (each node's
    admin HTTP port, host:port), start (every node, then
    until each one's Metadata lists them all), stop, restart and kill (the
    whole cluster), running (every node runs), log_tail (each node's),
    settings, name, _work (a folder for the test's scratch files) and the
    context manager. Each node is a Broker, cleaned up at exit and printing
    its log tail when a test point fails. One process's attributes (pid,
    data_dir, log_path, port, ...) raise AttributeError: a test needing them
    calls broker.skip_under_cluster()."""

    target = "cluster"

    def __init__(self, settings=None, data_dir=None, name=None, rlimits=None):
        if data_dir is not None:
            raise BrokerError("a data folder given: one broker process's; "
                              "RUNNEL_TEST_TARGET=cluster has one per node")
        own = {str(k): str(v) for k, v in (settings or {}).items()}
        clash = sorted(set(own) & set(PER_NODE_SETTINGS))
        if clash:
            raise BrokerError(f"{', '.join(clash)}: set per node by the cluster, "
                              "not by a test under RUNNEL_TEST_TARGET=cluster")
        self.settings = dict(CLUSTER_TARGET_SETTINGS, **own)
        self.cluster = Cluster(CLUSTER_TARGET_NODES, self.settings)
        for node in self.cluster.nodes:
            node.rlimits = dict(rlimits or {})
        self.bootstrap = self.cluster.bootstrap
        self.addrs = {x.node_id: x.bootstrap for x in self.cluster.nodes}
        self.data_dirs = [x.data_dir for x in self.cluster.nodes]
        self.admin_addrs = [f"127.0.0.1:{x.admin_port}" for x in self.cluster.nodes]
        self.name = name or f"cluster@{self.cluster.nodes[0].port}"
        self._work = self.cluster.nodes[0]._work

    def __getattr__(self, name):
        if name in ONE_PROCESS_ATTRS:
            raise AttributeError(f"{name}: one broker process's, and RUNNEL_TEST_TARGET=cluster "
                                 f"runs {CLUSTER_TARGET_NODES} (broker.skip_under_cluster)")
        raise AttributeError(name)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        return self.cluster.__exit__(exc_type, exc, tb)

    def start(self, timeout=broker_lib.START_TIMEOUT_S):
        """Starts every node; returns once each node's Metadata lists all
        of them (a topic of replication factor 3 can then be created)."""
        deadline = time.monotonic() + timeout
        self.cluster.start(timeout)
        waiting = list(self.cluster.nodes)
        while waiting:
            waiting = [x for x in waiting if not self._lists_all(x)]
            if waiting and time.monotonic() > deadline:
                node = waiting[0]
                for x in self.cluster.nodes:
                    x._print_log_tail()
                self.cluster.stop()
                raise BrokerError(f"{node.name}: Metadata does not list the "
                                  f"{CLUSTER_TARGET_NODES} brokers within {timeout:.0f}s")
            time.sleep(READY_POLL_S)
        return self

    @staticmethod
    def _lists_all(node):
        try:
            return metadata_broker_count(node.bootstrap, timeout=2.0) == CLUSTER_TARGET_NODES
        except OSError:
            return False

    def stop(self, timeout=broker_lib.STOP_TIMEOUT_S):
        """SIGTERM to every node; the first non-zero exit code, else 0."""
        codes = self.cluster.stop(timeout)
        return next((c for c in codes.values() if c), 0)

    def kill(self):
        self.cluster.kill()

    def restart(self, timeout=broker_lib.START_TIMEOUT_S, hard=False):
        """Every node stopped (SIGKILLed if hard), then started again on the
        same ports and folders."""
        self.kill() if hard else self.stop()
        return self.start(timeout)

    def running(self):
        return all(x.running() for x in self.cluster.nodes)

    def log_tail(self, lines=broker_lib.LOG_TAIL_LINES):
        return "\n".join(f"---- {x.name} ({x.log_path})\n{x.log_tail(lines)}"
                         for x in self.cluster.nodes)


def run_scenarios(what, *scenarios, reason="the cluster harness runs Runnel only"):
    """A cluster test's main: each scenario (fn(t)) as TAP against Runnel;
    for another RUNNEL_TEST_TARGET one skipped point, `what` for `reason`
    (under cluster: the test starts its own nodes, as under the default)."""
    t = tap.Tap()
    if target() == "cluster":
        t.skip(what, broker_lib.OWN_NODES)
    elif target() != "runnel":
        t.skip(what, reason)
    else:
        for scenario in scenarios:
            t.run(scenario)
    t.done()
