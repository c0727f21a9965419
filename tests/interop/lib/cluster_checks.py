"""What the cluster interop tests ask of running nodes: waits, Metadata and
DescribeCluster from one node, the active controller a node's log names,
topics created with each client (Kafka's kafka-topics.sh, the Java Admin
client, confluent-kafka, `runnel topic create`), kafka-metadata-quorum.sh,
and whether a topic is placed the same way on every node.

    from cluster_checks import settle, metadata, one_leader, placement
    leader = one_leader(c.nodes)                 # a node id, or None
    brokers, topics = metadata(c.node(2), ["t"])
    view = settle(lambda: placement(c.brokers(), "t", 6, 3, {1, 2, 3}), "t placed")

A node is anything with .bootstrap (host:port of its broker listener),
.log_path and ._log_mark (a broker.Broker or cluster.ClusterNode). Every
wait is bounded.
"""

import os
import re
import socket
import struct
import subprocess
import threading
import time

import kafka_tools
import kwire
import tap
from broker import ensure_kafka_jars, kafka_request, recv_exact, runnel_bin
from confluent_kafka.admin import AdminClient, NewTopic
from java_client import compile_java, run_java
from kwire import Reader

SETTLE_S = 20.0
POLL_S = 0.2
TOOL_TIMEOUT_S = 60
LOG4J = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools-log4j.properties")


def settle(fn, what=None, timeout=SETTLE_S):
    """Calls fn every POLL_S until it returns a true value (returned) or the
    bound passes (None, and a TAP diagnostic naming `what` with fn's last
    value). An exception counts as "not yet": a node may be starting or
    stopped."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - a node still starting or stopped
            last = e
        time.sleep(POLL_S)
    t = tap.current()
    if t is not None and what:
        t.diag(f"{what}: gave up after {timeout:.0f}s, last {last!r}")
    return None


# ---- Metadata v4, by hand (confluent-kafka hides the ISR's order and errors) ----

def metadata(node, topics=None, auto_create=False):
    """Metadata v4 from one node, auto-creating the topics named only when
    asked: ({broker id: (host, port)}, {topic: [(partition, error, leader,
    replicas, isr)]}), partitions sorted; topics None asks for every topic."""
    body = struct.pack(">i", -1) if topics is None else (
        struct.pack(">i", len(topics)) +
        b"".join(struct.pack(">h", len(x)) + x.encode() for x in topics))
    r = Reader(kafka_request(node.bootstrap, 3, 4, body + (b"\x01" if auto_create else b"\x00")))
    r.i32()  # throttle
    brokers = r.array(lambda rr: (rr.i32(), rr.string(), rr.i32(), rr.string())) or []
    r.string()  # cluster id
    r.i32()  # controller id

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        return idx, err, leader, rr.array(Reader.i32) or [], rr.array(Reader.i32) or []

    def topic(rr):
        _err, name, _internal = rr.i16(), rr.string(), rr.i8()
        return name, sorted(rr.array(part) or [])

    return ({b[0]: (b[1], b[2]) for b in brokers}, dict(r.array(topic) or []))


def describe_cluster(node, include_fenced, version=2, timeout=5.0):
    """DescribeCluster (flexible, v0-2) from one node: (error code,
    [(broker id, host, port, rack, is_fenced)]); is_fenced is None below v2."""
    body = b"\x00" + (b"\x01" if version >= 1 else b"")  # no authorized ops; brokers
    if version >= 2:
        body += b"\x01" if include_fenced else b"\x00"
    payload = kwire.request_header(60, version, 11, "runnel-test", 2) + body + kwire.TAGS_NONE
    host, port = node.bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(kwire.frame(payload))
        size = struct.unpack(">i", recv_exact(sock, 4))[0]
        r = Reader(recv_exact(sock, size))
    if r.i32() != 11:
        raise ConnectionError("DescribeCluster: wrong correlation id")
    r.skip_tags()
    r.i32()  # throttle
    err = r.i16()
    r.compact_string()  # error message
    if version >= 1:
        r.i8()  # endpoint type
    r.compact_string()  # cluster id
    r.i32()  # controller id

    def broker(rr):
        b = (rr.i32(), rr.compact_string(), rr.i32(), rr.compact_string(),
             bool(rr.i8()) if version >= 2 else None)
        rr.skip_tags()
        return b
    return err, r.compact_array(broker) or []


def brokers_on(node):
    """The broker ids one node's Metadata lists."""
    return set(metadata(node, [])[0])


def check_brokers_listed(t, c):
    """A test point: every broker node of cluster c lists every broker with
    its advertised host:port in Metadata (once they have registered)."""
    want = {n.node_id: ("127.0.0.1", n.port) for n in c.brokers()}
    ok = settle(lambda: all(metadata(n, [])[0] == want for n in c.brokers()),
                f"{len(want)} brokers on every node")
    return t.ok(ok, f"every node's Metadata lists the {len(want)} brokers with their "
                "advertised host:port")


def placement(nodes, name, partitions, rf, live):
    """The topic's partitions as every node in `nodes` shows them, if they
    all show the same: `partitions` partitions, no error, `rf` distinct
    replicas each, all in `live` (broker ids), the ISR the replicas, the
    leader one of them. Else None."""
    views = [metadata(n, [name])[1].get(name) for n in nodes]
    first = views[0]
    if not first or len(first) != partitions or any(v != first for v in views):
        return None
    for _idx, err, leader, replicas, isr in first:
        if err or len(set(replicas)) != rf or not set(replicas) <= live:
            return None
        if sorted(isr) != sorted(replicas) or leader not in replicas:
            return None
    return first


# ---- the active controller, as each node's log names it ----

def leader_seen(node):
    """The active controller this node's log (this run of it) named last,
    or None (none named, or "no active controller")."""
    seen = None
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        for line in f:
            m = re.search(r"active controller: node (\d+)|no active controller", line)
            if m:
                seen = int(m.group(1)) if m.group(1) else None
    return seen


def one_leader(nodes, other_than=None, timeout=SETTLE_S):
    """The active controller once every node names the same one (and it is
    not `other_than`); None if they do not within the bound."""
    def ask():
        ids = {leader_seen(n) for n in nodes}
        one = ids.pop() if len(ids) == 1 else None
        return one if one not in (None, other_than) else None
    return settle(ask, "one active controller named by every node", timeout)


# ---- topics through confluent-kafka's AdminClient ----

def admin(node):
    return AdminClient({"bootstrap.servers": node.bootstrap, "socket.timeout.ms": 5000})


def topics_on(node):
    """The names of the topics one node lists (internal ones excluded)."""
    md = admin(node).list_topics(timeout=5)
    return {t for t in md.topics if not t.startswith("__")}


def create_topic(node, name, partitions=1, rf=1):
    """CreateTopics through one node; None, or the Kafka error's name."""
    client = admin(node)  # kept: a destroyed client fails its futures
    futures = client.create_topics([NewTopic(name, partitions, rf)], request_timeout=15)
    try:
        futures[name].result(20)
        return None
    except Exception as e:  # noqa: BLE001 - KafkaException carrying the Kafka error
        return e.args[0].name() if e.args and hasattr(e.args[0], "name") else str(e)


# ---- a topic created with each client ----

def _with_kafka_topics(node, name, partitions, rf):
    r = kafka_tools.topics(node.bootstrap, "--create", "--topic", name, "--partitions",
                           str(partitions), "--replication-factor", str(rf), timeout=TOOL_TIMEOUT_S)
    return r.returncode == 0, (r.stdout + r.stderr).strip()[-600:]


def _with_java_admin(node, name, partitions, rf):
    err = compile_java()
    if err:
        return False, f"javac: {err[-600:]}"
    r = run_java("AdminCreateTopic", node.bootstrap, name, str(partitions), str(rf),
                 heap="256m", timeout=TOOL_TIMEOUT_S)
    return r.returncode == 0 and f"CREATED {name}" in r.stdout, (r.stdout + r.stderr)[-600:]


def _with_confluent(node, name, partitions, rf):
    err = create_topic(node, name, partitions, rf)
    return err is None, str(err)


def _with_runnel_cli(node, name, partitions, rf):
    r = subprocess.run([runnel_bin(), "topic", "create", "-b", node.bootstrap, "--partitions",
                        str(partitions), "--replication-factor", str(rf), name],
                       capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


CREATORS = {
    "kafka-topics.sh": _with_kafka_topics,
    "the Java Admin client": _with_java_admin,
    "confluent-kafka's AdminClient": _with_confluent,
    "runnel topic create": _with_runnel_cli,
}


def create_with(tool, node, name, partitions, rf):
    """Creates a topic through one node with one of CREATORS' clients:
    (succeeded, what the client said)."""
    return CREATORS[tool](node, name, partitions, rf)


# ---- Kafka's own quorum tool ----

def quorum_tool(node, what):
    """kafka-metadata-quorum.sh --bootstrap-server NODE describe WHAT:
    (exit code, stdout + stderr)."""
    jars = ensure_kafka_jars()
    cmd = ["java", f"-Dlog4j.configuration=file:{LOG4J}", "-cp", os.path.join(jars, "*"),
           "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server", node.bootstrap,
           "describe", what]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    return res.returncode, res.stdout + res.stderr


class LeastIsr(threading.Thread):
    """Polls node's Metadata of topic every 0.2 s until stopping is set and
    keeps the smallest ISR seen of any partition (None: no answer yet); a
    failed poll says nothing."""

    def __init__(self, node, topic):
        super().__init__(daemon=True)
        self.node, self.topic = node, topic
        self.least, self.stopping = None, threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                parts = metadata(self.node, [self.topic])[1].get(self.topic, [])
            except Exception:  # noqa: BLE001
                parts = []
            for p in parts:
                self.least = len(p[4]) if self.least is None else min(self.least, len(p[4]))
            time.sleep(0.2)
