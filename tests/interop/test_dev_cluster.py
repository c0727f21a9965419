#!/usr/bin/python3
"""`runnel dev cluster`: the local cluster command, as processes and ports.

- three nodes start as child `runnel server` processes of the same binary,
  node ids 1..3, each on its broker port, admin port (/health/live) and data
  folder; the printed bootstrap string, pids and log files are right (text and
  --json);
- SIGINT stops every node and the command exits 0;
- a busy port is refused before anything starts (exit 1, the port named);
- a node killed from outside: the command names it and how it ended, stops
  the others and exits 1; so does a node that cannot start (exit status 2);
- bad arguments exit 2;
- lib/cluster.py, the harness for tests of several nodes: distinct ports,
  settings, readiness, kill / start / term / wipe / restart / stop, and a
  node that cannot start.

Forming one quorum is tests/interop/test_cluster_quorum.py's; here only the
processes, ports, folders and stops are checked. Runnel only (the command is
Runnel's); RUNNEL_BIN picks the binary.
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import broker as broker_lib  # noqa: E402
from broker import BrokerError, OWN_NODES, skip_under_cluster  # noqa: E402
import tap  # noqa: E402
from cluster import Cluster  # noqa: E402
from tap import Tap  # noqa: E402
from waits import wait_for  # noqa: E402

START_S = 60    # bound on the nodes coming up
STOP_S = 45     # bound on the command's exit (its own SIGKILL comes at 30 s)
LINES_S = 20    # bound on the start-up lines


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_block(count):
    """A base port with `count` free ports from it."""
    for _ in range(200):
        base = broker_lib.free_port()
        if base + count < 65536 and all(port_free(base + k) for k in range(count)):
            return base
    raise RuntimeError(f"no block of {count} free ports")


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def live(admin_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/health/live", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class DevCluster:
    """One `runnel dev cluster` run: its process, output and layout."""

    def __init__(self, nodes, extra=(), json_out=False):
        self.nodes = nodes
        self.dir = tempfile.mkdtemp(prefix="runnel-dev-cluster-test-")
        self.port = port_block(2 * nodes)
        self.admin_port = port_block(nodes)
        cmd = [broker_lib.runnel_bin(), "dev", "cluster", "--nodes", str(nodes), "--dir",
               self.dir, "--port", str(self.port), "--admin-port", str(self.admin_port),
               *extra]
        if json_out:
            cmd.append("--json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNEL_")}
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env,
                                     preexec_fn=broker_lib._die_with_parent)
        self.out = b""

    def read_until(self, marker, seconds=LINES_S):
        """stdout until `marker` (bytes) appears or the bound passes."""
        deadline = time.monotonic() + seconds
        fd = self.proc.stdout.fileno()
        while marker not in self.out and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                self.out += chunk
        return self.out.decode()

    def wait(self, seconds=STOP_S):
        try:
            rc = self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        err = self.proc.stderr.read().decode()
        return rc, err

    def pids(self):
        pids = {}
        for line in self.out.decode().splitlines():
            if line.startswith("node ") and ": pid " in line:
                node = int(line.split()[1].rstrip(":"))
                pids[node] = int(line.split(": pid ")[1].split(",")[0])
        return pids

    def kill_all(self):
        """Test clean-up: the command and any node still running."""
        for pid in self.pids().values():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        remove_unless_failed(self.dir)


def remove_unless_failed(path):
    """Test folders go, unless a test point failed (or RUNNEL_TEST_KEEP=1)."""
    if tap.any_failed() or os.environ.get("RUNNEL_TEST_KEEP") == "1":
        sys.stderr.write(f"# kept {path}\n")
    else:
        shutil.rmtree(path, ignore_errors=True)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def test_start_and_interrupt(t):
    dc = DevCluster(3)
    try:
        text = dc.read_until(b"Ctrl-C stops them")
        want = ",".join(f"127.0.0.1:{dc.port + 2 * i}" for i in range(3))
        t.ok(f"bootstrap: {want}\n" in text, "prints the bootstrap string", text)
        pids = dc.pids()
        t.eq(sorted(pids), [1, 2, 3], "prints a pid for each node")
        for i in range(1, 4):
            t.ok(f"log {dc.dir}/node-{i}.log" in text, f"prints node {i}'s log file")
        exe = os.path.realpath(broker_lib.runnel_bin())
        for node, pid in sorted(pids.items()):
            # printed right after fork: give the child its exec
            wait_for(lambda: cmdline(pid)[1:2] == [b"server"], START_S)
            args = cmdline(pid)
            t.ok(os.path.realpath(f"/proc/{pid}/exe") == exe and args[1:2] == [b"server"],
                 f"node {node} is `runnel server` of the same binary", args)
            t.ok(f"node.id={node}".encode() in args, f"node {node} runs with node.id={node}")
            voters = ",".join(f"{k + 1}@127.0.0.1:{dc.port + 2 * k + 1}" for k in range(3))
            t.ok(f"controller.quorum.voters={voters}".encode() in args,
                 f"node {node} lists every voter")
            t.ok(os.getpgid(pid) != os.getpgid(dc.proc.pid),
                 f"node {node} runs in its own process group")
        for k in range(3):
            ok = wait_for(lambda: live(dc.admin_port + k) and accepts(dc.port + 2 * k), START_S)
            t.ok(ok, f"node {k + 1}: /health/live on its admin port, broker port accepts")
        for k in range(1, 4):
            meta = os.path.join(dc.dir, f"node-{k}", "meta.properties")
            text_meta = open(meta).read() if os.path.exists(meta) else ""
            t.ok(f"node.id={k}\n" in text_meta, f"node {k}'s data is in DIR/node-{k}", text_meta)
            log = os.path.join(dc.dir, f"node-{k}.log")
            t.ok(os.path.getsize(log) > 0, f"node {k}'s output goes to DIR/node-{k}.log")
        dc.proc.send_signal(signal.SIGINT)
        rc, err = dc.wait()
        t.eq(rc, 0, "SIGINT: the command exits 0")
        t.ok("stopped" in err and "SIGKILL" not in err, "SIGINT: every node stopped cleanly", err)
        t.ok(not any(pid_alive(p) for p in pids.values()), "SIGINT: no node is left running")
    finally:
        dc.kill_all()


def test_json(t):
    dc = DevCluster(1, json_out=True)
    try:
        text = dc.read_until(b"}\n")
        try:
            doc = json.loads(text)
        except ValueError:
            doc = {}
        t.eq(doc.get("bootstrap"), f"127.0.0.1:{dc.port}", "--json: bootstrap")
        nodes = doc.get("nodes", [{}])
        t.ok(len(nodes) == 1 and nodes[0].get("id") == 1 and pid_alive(nodes[0].get("pid", 0))
             and nodes[0].get("controller_port") == dc.port + 1
             and nodes[0].get("admin_port") == dc.admin_port, "--json: the node", text)
        dc.proc.send_signal(signal.SIGTERM)
        rc, err = dc.wait()
        t.eq(rc, 0, "SIGTERM: the command exits 0")
    finally:
        dc.kill_all()


def test_busy_port(t):
    base = port_block(4)
    admin = port_block(2)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", base + 2))
        s.listen(1)
        d = tempfile.mkdtemp(prefix="runnel-dev-cluster-test-")
        target = os.path.join(d, "cluster")
        res = subprocess.run([broker_lib.runnel_bin(), "dev", "cluster", "--nodes", "2", "--dir",
                              target, "--port", str(base), "--admin-port", str(admin)],
                             capture_output=True, text=True, timeout=STOP_S,
                             preexec_fn=broker_lib._die_with_parent)
    t.eq(res.returncode, 1, "a busy port: exit 1")
    t.ok(f"port {base + 2} (node 2's broker listener) is in use" in res.stderr,
         "a busy port: the message names the port, the node and its role", res.stderr)
    t.ok(not os.path.exists(target) and not accepts(base) and not accepts(base + 1),
         "a busy port: nothing was started")
    remove_unless_failed(d)


def test_node_killed(t):
    dc = DevCluster(2)
    try:
        dc.read_until(b"Ctrl-C stops them")
        pids = dc.pids()
        ready = wait_for(lambda: accepts(dc.port) and accepts(dc.port + 2), START_S)
        t.ok(ready and len(pids) == 2, "two nodes up")
        os.kill(pids[2], signal.SIGKILL)
        rc, err = dc.wait()
        t.eq(rc, 1, "a node killed: the command exits 1")
        t.ok("node 2 was killed by signal 9" in err and "stopping the others" in err,
             "a node killed: the command says which and how", err)
        t.ok(wait_for(lambda: not pid_alive(pids[1]), 5), "a node killed: the other is stopped")
    finally:
        dc.kill_all()


def test_node_cannot_start(t):
    dc = DevCluster(2, extra=["--set", "no.such.setting=1"])
    try:
        dc.read_until(b"Ctrl-C stops them")
        rc, err = dc.wait()
        t.eq(rc, 1, "a node that cannot start: exit 1")
        t.ok("exited with status 2" in err, "a node that cannot start: its exit status", err)
        failed = err.split("exited with status 2")[0].split("node ")[-1].strip()
        log = open(os.path.join(dc.dir, f"node-{failed}.log")).read()
        t.ok("no.such.setting" in log, "the node's own message is in its log", log[-2000:])
    finally:
        dc.kill_all()


def test_bad_arguments(t):
    for args, frag in ((["--nodes", "10"], "--nodes must be from 1 to 9"),
                       (["--nodes", "0"], "--nodes must be from 1 to 9"),
                       (["--port", "65535"], "need ports"),
                       (["--set", "novalue"], "expected key=value")):
        res = subprocess.run([broker_lib.runnel_bin(), "dev", "cluster", *args],
                             capture_output=True, text=True, timeout=STOP_S)
        t.ok(res.returncode == 2 and frag in res.stderr, f"{' '.join(args)}: exit 2, says why",
             res.stderr)


def test_cluster_harness(t):
    """lib/cluster.py, the harness cluster tests build on."""
    with Cluster(3, {"num.partitions": 2}) as c:
        ports = [x.port for x in c.nodes]
        every = ports + [x.controller_port for x in c.nodes] + [x.admin_port for x in c.nodes]
        t.eq(len(set(every)), 9, "harness: nine distinct ports")
        t.eq(c.bootstrap, ",".join(f"127.0.0.1:{p}" for p in ports), "harness: bootstrap")
        t.ok(all(x.ready() for x in c.nodes), "harness: every node live and accepting")
        args = cmdline(c.node(3).pid)
        t.ok(b"node.id=3" in args and f"controller.quorum.voters={c.voters}".encode() in args
             and b"num.partitions=2" in args, "harness: node 3's settings", args)
        n2 = c.node(2)
        marker = os.path.join(n2.data_dir, "marker")
        open(marker, "w").close()
        t.eq(n2.kill(), -signal.SIGKILL, "harness: kill() is SIGKILL")
        t.ok(not n2.running() and c.node(1).running(), "harness: only node 2 is down")
        n2.start()
        t.ok(n2.ready() and n2.port == ports[1] and os.path.exists(marker),
             "harness: start() again: same port, same data, ready")
        n3 = c.node(3)
        t.eq(n3.term(), 0, "harness: term() stops cleanly")
        meta = os.path.join(n3.data_dir, "meta.properties")
        n3.wipe()
        t.ok(not os.path.exists(meta), "harness: wipe() empties the data folder")
        n3.restart()
        t.ok(n3.ready() and os.path.exists(meta), "harness: restart() after wipe: a new folder")
        t.eq(c.stop(), {1: 0, 2: 0, 3: 0}, "harness: stop() stops every node with exit 0")
    bad = Cluster(2, node_settings={2: {"no.such.setting": "1"}})
    t0 = time.monotonic()
    try:
        bad.start(timeout=30)
        t.ok(False, "harness: a node that cannot start fails start()")
    except BrokerError as e:
        t.ok("node 2 exited with 2" in str(e) and "no.such.setting" in str(e),
             "harness: a node that cannot start fails start() with its log", str(e))
    t.ok(time.monotonic() - t0 < 30 and not bad.running(),
         "harness: the failure is prompt and leaves nothing running")


def main():
    t = Tap("runnel dev cluster")
    skip_under_cluster(t, "runnel dev cluster", OWN_NODES)
    if broker_lib.target() != "runnel":
        t.skip("runnel dev cluster", "a Runnel command; RUNNEL_TEST_TARGET=kafka has none")
        t.done()
    for fn in (test_bad_arguments, test_busy_port, test_start_and_interrupt, test_json,
               test_node_killed, test_node_cannot_start, test_cluster_harness):
        t.run(fn)
    t.done()


if __name__ == "__main__":
    main()
