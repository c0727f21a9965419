"""Shared by the cluster figure programs of tests/bench/: a three-node cluster of
Runnel or of Apache Kafka 3.9 (KRaft, combined nodes) on loopback, who the
active controller is, a node's topics, per-node RSS and CPU time, the
machine's CPU and disk busy time, and figure printing.

    from figlib import make_cluster
    c = make_cluster("kafka", 3)     # or "runnel"; started, every node ready
    c.active_controller()            # node id or None
    c.topics_on(node)                # the topics that node's own Metadata lists
    c.cpu_seconds()                  # {node id: utime + stime} of the running nodes
    c.stop()

Runnel nodes are tests/interop/lib/cluster.py's (RUNNEL_BIN picks the binary).
Kafka nodes are tests/interop/lib/broker.py's Kafka brokers (jars from
KAFKA_JARS), each given node.id, the same controller.quorum.voters and the
same cluster id, and formatted with it before the first start.

The active controller is asked with DescribeQuorum (API 55) where the node
lists it in ApiVersions (Kafka does; KafkaAdminClient.describeMetadataQuorum and
kafka-metadata-quorum.sh describe --status send the same request); otherwise it
is read from the nodes' logs: the node whose last "active controller: node N"
line ends ", this node", when every live node's log names the same N.

Nothing here decides pass or fail on a timing. Standard library plus
confluent-kafka.
"""

import os
import re
import statistics
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop", "lib"))

import broker as broker_lib  # noqa: E402
import kwire  # noqa: E402
from cluster import Cluster  # noqa: E402

API_DESCRIBE_QUORUM = 55
METADATA_TOPIC = "__cluster_metadata"


class Unsupported(Exception):
    """The node does not answer DescribeQuorum."""


# -- wire look-ups, one node at a time --------------------------------------------

def api_ranges(bootstrap, timeout=3.0):
    with kwire.Conn(bootstrap, timeout) as conn:
        _, body = conn.roundtrip(kwire.api_versions_request(1, 0))
    err, ranges = kwire.parse_api_versions(body, 0)
    if err:
        raise ConnectionError(f"ApiVersions error {err}")
    return ranges


def describe_quorum_leader(bootstrap, timeout=3.0):
    """DescribeQuorum v0 for __cluster_metadata-0: the leader's node id
    (None: no leader now). Unsupported if the node does not list the API."""
    if API_DESCRIBE_QUORUM not in api_ranges(bootstrap, timeout):
        raise Unsupported(bootstrap)
    hdr = kwire.request_header(API_DESCRIBE_QUORUM, 0, 2, "figures", 2)
    part = kwire.i32(0) + kwire.TAGS_NONE
    topic = kwire.compact_string(METADATA_TOPIC) + kwire.uvarint(2) + part + kwire.TAGS_NONE
    body = kwire.uvarint(2) + topic + kwire.TAGS_NONE
    with kwire.Conn(bootstrap, timeout) as conn:
        _, resp = conn.roundtrip(kwire.frame(hdr + body), flexible_header=True)
    r = kwire.Reader(resp)
    if r.i16() != 0:
        return None
    if r.uvarint() < 2:
        return None
    r.compact_string()
    if r.uvarint() < 2:
        return None
    r.i32()  # partition index
    if r.i16() != 0:
        return None
    leader = r.i32()
    return leader if leader >= 0 else None


def topics_on(bootstrap, timeout=5.0):
    """The topic names (internal ones left out) in this node's own Metadata
    answer (v1, all topics), asked on a raw connection so that no client
    moves the question to another node."""
    with kwire.Conn(bootstrap, timeout) as conn:
        _, body = conn.roundtrip(kwire.metadata_request(3, None, 1), timeout_s=timeout)
    _, _, topics = kwire.parse_metadata_v1(body)
    return {t for t in topics if not t.startswith("__")}


def rss_kib(pid):
    """VmRSS of a process in KiB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid):
    """utime + stime of a process and all its threads, in seconds, from
    /proc/PID/stat (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies():
    """(busy, total) clock ticks of every CPU of the machine so far, from
    /proc/stat (idle and iowait are not busy)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    total = sum(values[:8])  # guest times are already in user and nice
    return total - values[3] - values[4], total


def disk_busy_ms():
    """Milliseconds the machine's disks have spent doing I/O so far (the
    io_ticks of /proc/diskstats, summed over whole disks, not partitions)."""
    total = 0
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if re.fullmatch(r"(sd|vd|xvd)[a-z]+|nvme\d+n\d+", fields[2]):
                total += int(fields[12])
    return total


def du_bytes(path, apparent=False):
    """Bytes of the files under path: the blocks they take on disk (as du),
    or with apparent=True their sizes (a preallocated index counts whole)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += st.st_size if apparent else st.st_blocks * 512
    return total


def du_text(path):
    """'X KiB on disk (Y KiB apparent)' of the files under path."""
    return (f"{du_bytes(path) / 1024:.0f} KiB on disk "
            f"({du_bytes(path, apparent=True) / 1024:.0f} KiB apparent)")


# -- clusters ------------------------------------------------------------------------

def _last_leader_line(node):
    """(N, says_this_node) from the last 'active controller' line of the
    node's current run, (None, False) after 'no active controller' or none."""
    seen = (None, False)
    try:
        with open(node.log_path, errors="replace") as f:
            f.seek(node._log_mark)
            for line in f:
                m = re.search(r"active controller: node (\d+)[^\n]*?(, this node)?$|"
                              r"no active controller", line.rstrip("\n"))
                if m:
                    seen = (int(m.group(1)), bool(m.group(2))) if m.group(1) else (None, False)
    except OSError:
        pass
    return seen


class _Base:
    kind = "?"
    how_named = "not yet asked"

    def live(self):
        return [n for n in self.nodes if n.running()]

    def node(self, node_id):
        return next(n for n in self.nodes if n.node_id == node_id)

    def active_controller(self):
        """The active controller's node id, or None (none now, or the nodes
        disagree)."""
        live = self.live()
        for n in live:
            try:
                leader = describe_quorum_leader(n.bootstrap)
                self.how_named = "DescribeQuorum"
                return leader
            except Unsupported:
                break
            except (OSError, ConnectionError, kwire.Truncated, kwire.Closed, struct.error):
                continue
        else:
            return None
        self.how_named = "the nodes' logs"
        named = {_last_leader_line(n)[0] for n in live}
        if len(named) != 1:
            return None
        leader = named.pop()
        if leader is None or leader not in {n.node_id for n in live}:
            return None
        return leader if _last_leader_line(self.node(leader))[1] else None

    def wait_controller(self, timeout, other_than=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader = self.active_controller()
            if leader is not None and leader != other_than:
                return leader
            time.sleep(0.1)
        return None

    def topics_on(self, node):
        return topics_on(node.bootstrap)

    def cpu_seconds(self):
        """{node id: CPU seconds (utime + stime)} of the running nodes."""
        return {n.node_id: cpu_seconds(n.pid) for n in self.live()}

    def rss(self):
        """{node id: RSS KiB} of the running nodes."""
        return {n.node_id: rss_kib(n.pid) for n in self.live()}

    @property
    def bootstrap(self):
        return ",".join(n.bootstrap for n in self.nodes)

    def start_node(self, node, timeout=broker_lib.START_TIMEOUT_S):
        node.start(wait=False)
        node._wait_ready(timeout)

    def stop(self):
        for n in self.live():
            n.proc.terminate()
        for n in self.nodes:
            n.stop()

    def metadata_dir(self, node):
        return os.path.join(node.data_dir, METADATA_TOPIC + "-0")


class RunnelCluster(_Base):
    kind = "runnel"

    def __init__(self, n, settings=None):
        self.inner = Cluster(n, settings)
        self.nodes = self.inner.nodes
        for node in self.nodes:
            node.settings["log.dirs"] = node.data_dir

    def start(self):
        self.inner.start()
        return self


class KafkaNode(broker_lib.Broker):
    """One combined Kafka 3.9 node of a KafkaCluster."""

    def __init__(self, node_id, cluster_id, taken):
        super().__init__(name=f"kafka node {node_id}")
        self.target = "kafka"
        self.node_id = node_id
        self.cluster_id = cluster_id
        while self.port in taken:
            self.port = broker_lib.free_port()
        taken.add(self.port)
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.controller_port = broker_lib.free_port()
        while self.controller_port in taken:
            self.controller_port = broker_lib.free_port()
        taken.add(self.controller_port)


class KafkaCluster(_Base):
    kind = "kafka"

    def __init__(self, n, settings=None):
        import base64
        cid = "-"
        while cid.startswith("-"):
            cid = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        taken = set()
        self.nodes = [KafkaNode(i, cid, taken) for i in range(1, n + 1)]
        voters = ",".join(f"{x.node_id}@127.0.0.1:{x.controller_port}" for x in self.nodes)
        for x in self.nodes:
            x.settings.update({
                "node.id": str(x.node_id),
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{x.port},"
                             f"CONTROLLER://127.0.0.1:{x.controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{x.port}",
            })
            x.settings.update({str(k): str(v) for k, v in (settings or {}).items()})

    def start(self):
        for x in self.nodes:
            if not x.running():
                x.start(wait=False)  # formats first (once), then runs
        for x in self.nodes:
            x._wait_ready(broker_lib.START_TIMEOUT_S)
        return self


def make_cluster(kind, n=3, settings=None):
    """A started cluster of n nodes of `kind` ('runnel' or 'kafka')."""
    cls = {"runnel": RunnelCluster, "kafka": KafkaCluster}[kind]
    return cls(n, settings).start()


# -- printing --------------------------------------------------------------------------

def summary(values):
    """'median X max Y (n=N)' of a list of seconds, in ms."""
    if not values:
        return "n=0"
    return (f"median {statistics.median(values) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms, min {min(values) * 1000:.0f} ms (n={len(values)})")


def say(*args):
    print(*args, flush=True)
