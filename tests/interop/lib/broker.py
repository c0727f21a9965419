"""Start and stop a single-node broker for an interop test.

    from broker import Broker
    with Broker({"num.partitions": 3}) as b:
        ...  b.bootstrap == "127.0.0.1:PORT"

Which broker runs is chosen by the environment:

  RUNNEL_TEST_TARGET=runnel (default)  $RUNNEL_BIN server --set ... (RUNNEL_BIN
                                       defaults to build/release/runnel)
  RUNNEL_TEST_TARGET=kafka             Apache Kafka 3.9 in combined KRaft mode from
                                       the jars of tools/kafka-jars.sh (fetched on
                                       first use), storage formatted first
  RUNNEL_TEST_TARGET=cluster           three combined Runnel nodes on loopback,
                                       every topic replicated (RF 3, min ISR 2):
                                       Broker(...) is then a cluster.ClusterTarget,
                                       with the surface client tests use (bootstrap
                                       lists the three listeners; see cluster.py)

What a test may expect of the target: node_ids() (the brokers Metadata lists)
and replication_factor() (what its topics get: 3 under cluster, else 1). A
test that needs one broker process (its data folder, pid, log, metrics or a
restart of "the broker") calls skip_under_cluster() first.

`settings` are Kafka config names (num.partitions, log.segment.bytes, ...) and
are passed to either broker unchanged. `rlimits` ({resource.RLIMIT_NOFILE:
(soft, hard)}, ...) are set in the broker process before it starts, as
`prlimit` would (the process is still the broker itself, so pid and
/proc/PID/status are its own). The port is a free loopback port picked
at construction and kept across restart(). The data directory is a temporary
directory unless one is given; it is removed at exit unless a test point failed
(or RUNNEL_TEST_KEEP=1). The broker's stdout and stderr go to log_path; when a
test point fails the tail of every live broker's log is printed as TAP
diagnostics.

Every broker this module starts dies with the test process: stop() at exit,
and PR_SET_PDEATHSIG as a backstop if the test is killed outright.
"""

import atexit
import base64
import ctypes
import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import tap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
KAFKA_JARS = os.environ.get("KAFKA_JARS", os.path.join(ROOT, "build", "kafka-jars"))

START_TIMEOUT_S = float(os.environ.get("RUNNEL_TEST_START_TIMEOUT", "90"))
STOP_TIMEOUT_S = 30.0
LOG_TAIL_LINES = 40

_live = []  # brokers started and not yet stopped, for the exit handler


TARGETS = ("runnel", "kafka", "cluster")


def target():
    """'runnel', 'kafka' or 'cluster', from RUNNEL_TEST_TARGET."""
    t = os.environ.get("RUNNEL_TEST_TARGET", "runnel")
    if t not in TARGETS:
        raise ValueError(f"RUNNEL_TEST_TARGET must be one of {', '.join(TARGETS)}, not {t!r}")
    return t


def kafka_version():
    """The reference Kafka's (major, minor) under RUNNEL_TEST_TARGET=kafka
    (from the jar folder KAFKA_JARS names: 3.9 by default, 4.3 with
    KAFKA_VERSION=4.3.1 tools/kafka-jars.sh into another folder), else
    None."""
    if target() != "kafka":
        return None
    try:
        with open(os.path.join(KAFKA_JARS, ".complete")) as f:
            major, minor = f.read().strip().split(".")[:2]
        return int(major), int(minor)
    except (OSError, ValueError):
        return (3, 9)  # what tools/kafka-jars.sh fetches when the folder is not there yet


def newest(runnel, kafka_3_9, kafka_4=None):
    """A version a test expects of the target: Runnel's, or the reference
    Kafka's (3.9's, or 4.x's when given and the jars are 4.x)."""
    version = kafka_version()
    if version is None:
        return runnel
    return kafka_4 if kafka_4 is not None and version >= (4, 0) else kafka_3_9


def node_ids():
    """The broker ids a client test's Broker serves: Metadata lists these."""
    if target() == "cluster":
        import cluster
        return list(range(1, cluster.CLUSTER_TARGET_NODES + 1))
    return [1]


def replication_factor():
    """The replication factor a client test gives its topics: every broker
    holds a replica (3 under cluster, 1 on one node)."""
    return len(node_ids())


# Why a test that starts nodes of its own skips under RUNNEL_TEST_TARGET=cluster.
OWN_NODES = "starts its own nodes: its run is the default target's"


def skip_under_cluster(t, what, why):
    """For a test that is no client test (it needs one broker process, or
    starts nodes of its own): under RUNNEL_TEST_TARGET=cluster, one skipped
    point (`what`, because `why`) and the file ends; otherwise nothing."""
    if target() == "cluster":
        t.skip(what, why)
        t.done()


def runnel_bin():
    path = os.environ.get("RUNNEL_BIN", os.path.join(ROOT, "build", "release", "runnel"))
    return path if os.path.isabs(path) else os.path.join(ROOT, path)


def free_port():
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_kafka_jars():
    """The jar folder of tools/kafka-jars.sh, fetching it if needed."""
    if not os.path.exists(os.path.join(KAFKA_JARS, ".complete")):
        subprocess.run([os.path.join(ROOT, "tools", "kafka-jars.sh")], check=True,
                       stdout=sys.stderr)
    return KAFKA_JARS


def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _preexec(rlimits):
    """preexec_fn: die with the parent, then apply the resource limits."""
    def run():
        _die_with_parent()
        for which, limits in rlimits.items():
            resource.setrlimit(which, limits)
    return run


# -- minimal Kafka wire requests for readiness checks ---------------------

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by broker")
        buf += chunk
    return buf


def kafka_request(addr, api_key, api_version, body=b"", timeout=5.0, corr=7):
    """Send one non-flexible request (header v1) and return the response body
    after the correlation id. Raises on connection errors or a wrong id."""
    client = b"runnel-test"
    header = struct.pack(">hhih", api_key, api_version, corr, len(client)) + client
    frame = header + body
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        if size < 4 or size > 64 << 20:
            raise ConnectionError(f"bad response size {size}")
        resp = recv_exact(s, size)
    got = struct.unpack(">i", resp[:4])[0]
    if got != corr:
        raise ConnectionError(f"correlation id {got}, expected {corr}")
    return resp[4:]


def api_versions_ok(addr, timeout=5.0):
    """ApiVersions v0 round trip: True if error_code == 0 and ranges came back."""
    body = kafka_request(addr, 18, 0, b"", timeout)
    err, count = struct.unpack(">hi", body[:6])
    return err == 0 and count > 0


def metadata_broker_count(addr, timeout=5.0):
    """Metadata v1 asking for no topics: how many brokers the answer lists."""
    body = kafka_request(addr, 3, 1, struct.pack(">i", 0), timeout)
    return struct.unpack(">i", body[:4])[0]


# -- the broker ------------------------------------------------------------

class BrokerError(Exception):
    pass


class Broker:
    def __new__(cls, *args, **kwargs):
        # Under RUNNEL_TEST_TARGET=cluster a client test's Broker is a
        # cluster of three (not a Broker, so __init__ is not run again).
        if cls is Broker and target() == "cluster":
            import cluster
            return cluster.ClusterTarget(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, settings=None, data_dir=None, name=None, rlimits=None):
        self.settings = {str(k): str(v) for k, v in (settings or {}).items()}
        self.rlimits = dict(rlimits or {})
        self.target = target()
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.name = name or f"{self.target}@{self.port}"
        self._work = tempfile.mkdtemp(prefix=f"runnel-test-{self.port}-")
        self._own_data = data_dir is None
        self.data_dir = os.path.abspath(data_dir) if data_dir else os.path.join(self._work, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = os.path.join(self._work, "broker.log")
        self.proc = None
        self.returncode = None
        self.starts = 0
        # Variables added to the broker's environment (a pod's, for example).
        self.extra_env = {}
        self._log_file = None
        self._log_mark = 0  # log offset of the current run's first byte
        if self.target == "kafka":
            self.controller_port = free_port()
            # As Kafka's Uuid: never starting with '-', which its tools
            # would read as an option.
            self.cluster_id = "-"
            while self.cluster_id.startswith("-"):
                self.cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        tap.add_failure_hook(self._print_log_tail)
        _register_cleanup(self)

    # -- context manager ---------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._print_log_tail()
        self.stop()
        return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def addrs(self):
        """{node id: host:port} of the brokers a client meets, as under cluster."""
        return {int(self.settings.get("node.id", "1")): self.bootstrap}

    @property
    def data_dirs(self):
        """The data folders of the target's brokers, as under cluster."""
        return [self.data_dir]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # -- commands -----------------------------------------------------------
    def _runnel_cmd(self):
        binary = runnel_bin()
        if not os.access(binary, os.X_OK):
            raise BrokerError(f"runnel binary {binary} not found (build it with make)")
        base = {
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "log.dirs": self.data_dir,
            "admin.listener": "none",
        }
        base.update(self.settings)
        cmd = [binary, "server"]
        for k, v in base.items():
            cmd += ["--set", f"{k}={v}"]
        return cmd

    def _kafka_properties(self):
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": self.data_dir,
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "share.coordinator.state.topic.replication.factor": "1",
        }
        props.update(self.settings)
        path = os.path.join(self._work, "server.properties")
        with open(path, "w") as f:
            for k, v in props.items():
                f.write(f"{k}={v}\n")
        log4j = os.path.join(self._work, "log4j.properties")
        with open(log4j, "w") as f:
            f.write("log4j.rootLogger=INFO, stderr\n"
                    "log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"
                    "log4j.appender.stderr.Target=System.err\n"
                    "log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"
                    "log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
                    "log4j.logger.kafka.request.logger=WARN\n"
                    "log4j.logger.state.change.logger=WARN\n")
        return path, log4j

    def _java(self, log4j, main, *args):
        jars = ensure_kafka_jars()
        return ["java", "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{log4j}", "-cp", os.path.join(jars, "*"),
                main, *args]

    def _kafka_format(self, props, log4j):
        if os.path.exists(os.path.join(self.data_dir, "meta.properties")):
            return
        cmd = self._java(log4j, "kafka.tools.StorageTool", "format", "-t", self.cluster_id,
                         "-c", props, "--ignore-formatted")
        with open(self.log_path, "ab") as log:
            res = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=120)
        if res.returncode != 0:
            raise BrokerError(f"kafka-storage format failed ({res.returncode})\n{self.log_tail()}")

    # -- lifecycle ------------------------------------------------------------
    def start(self, timeout=START_TIMEOUT_S, wait=True):
        """Start the broker and wait until ApiVersions and Metadata answer
        (wait=False: return once the process runs, e.g. to watch start-up)."""
        if self.running():
            raise BrokerError("broker already running")
        if self.target == "kafka":
            props, log4j = self._kafka_properties()
            self._kafka_format(props, log4j)
            cmd = self._java(log4j, "kafka.Kafka", props)
        else:
            cmd = self._runnel_cmd()
        # The test harness's own RUNNEL_* variables are not broker settings;
        # the broker would refuse them as unknown, as it should.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNEL_")}
        env.update(self.extra_env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self._log_file = open(self.log_path, "ab")
        self._log_mark = self._log_file.tell()
        self._log_file.write(f"==== start {self.starts + 1}: {' '.join(cmd)}\n".encode())
        self._log_file.flush()
        self.returncode = None
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, env=env, cwd=self._work,
                                     preexec_fn=_preexec(self.rlimits))
        self.starts += 1
        _live.append(self)
        if wait:
            self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last_err = "no answer yet"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reap()
                raise BrokerError(f"broker exited with {self.returncode} during start-up"
                                  f"\n{self.log_tail()}")
            try:
                if api_versions_ok(self.bootstrap, timeout=2.0) and \
                        metadata_broker_count(self.bootstrap, timeout=2.0) >= 1:
                    return
                last_err = "ApiVersions or Metadata not ready"
            except (OSError, ConnectionError, struct.error) as e:
                last_err = f"{type(e).__name__}: {e}"
            time.sleep(0.1)
        self.kill()
        raise BrokerError(f"broker not ready within {timeout:.0f}s ({last_err})\n{self.log_tail()}")

    def _reap(self):
        if self.proc is None:
            return
        self.returncode = self.proc.wait()
        if self in _live:
            _live.remove(self)
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        self._check_sanitizers()

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, wait (SIGKILL after timeout); returns the exit code."""
        if self.proc is None or self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                tap_obj = tap.current()
                if tap_obj:
                    tap_obj.diag(f"{self.name}: no exit {timeout:.0f}s after SIGTERM; SIGKILL")
                self.proc.kill()
        self._reap()
        return self.returncode

    def kill(self):
        """SIGKILL, as a crash; returns the exit code."""
        if self.proc is None or self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.kill()
        self._reap()
        return self.returncode

    def restart(self, timeout=START_TIMEOUT_S, hard=False):
        """Stop (or kill if hard) and start again on the same port and data dir."""
        self.kill() if hard else self.stop()
        return self.start(timeout)

    # -- logs -------------------------------------------------------------------
    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        text = data.decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])

    def _print_log_tail(self):
        t = tap.current()
        if t is None or not self.running():
            return
        t.diag(f"{self.name} log ({self.log_path}), last {LOG_TAIL_LINES} lines:")
        t.diag(self.log_tail())

    def _check_sanitizers(self):
        """Under ASan/UBSan, a report in this run's log is a failed test point."""
        if self.target != "runnel":
            return
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_mark)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                 "SUMMARY: UndefinedBehaviorSanitizer")
        bad = [ln for ln in text.splitlines() if any(m in ln for m in marks)]
        t = tap.current()
        if bad and t is not None:
            t.ok(False, f"{self.name}: sanitizer report in broker log", "\n".join(bad[:20]))

    def cleanup(self):
        """Kill if running; remove temporary dirs unless a test failed."""
        self.kill()
        tap.remove_failure_hook(self._print_log_tail)
        if tap.any_failed() or os.environ.get("RUNNEL_TEST_KEEP") == "1":
            sys.stderr.write(f"# kept {self.name} files in {self._work}\n")
            return
        shutil.rmtree(self._work, ignore_errors=True)  # a given data_dir stays


_all = []


def _register_cleanup(broker):
    _all.append(broker)


@atexit.register
def _cleanup_all():
    for b in list(_all):
        try:
            b.cleanup()
        except Exception:
            pass


def _on_term(signum, frame):
    # timeout(1) sends SIGTERM: unwind so atexit stops the brokers.
    e = SystemExit(128 + signum)
    e._tap_signal = True
    raise e


signal.signal(signal.SIGTERM, _on_term)

_prev_excepthook = sys.excepthook


def _excepthook(*args):
    # An uncaught exception is a failure too: keep the files to look at.
    tap._note_failure()
    _prev_excepthook(*args)


sys.excepthook = _excepthook
