#!/usr/bin/env python3
"""A dynamic quorum (KIP-853): three nodes given only
controller.quorum.bootstrap.servers (no controller.quorum.voters), started in
a random order, form one cluster: the first bootstrap server forms it alone
once the others answer empty, the others join as observers and are added as
voters through the log. Topics work; a whole-cluster restart keeps the
cluster, its voters and its topics (no node forms again); the first node with
its folder wiped finds the existing quorum, joins it (its old voter entry is
removed, then it is added back) and forms no second cluster;
kafka-metadata-quorum.sh describe --status answers; a broker-only node finds
the leader through the bootstrap servers.

The quorum's state is read with Runnel's own quorum probe (the request the
nodes ask each other with, on the controller listener). Runnel only.
RUNNEL_DYNAMIC_SEED picks the start order. Bounded: about 40 s."""

import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import tap  # noqa: E402
from broker import (OWN_NODES, ensure_kafka_jars, recv_exact, skip_under_cluster,  # noqa: E402
                    target)
from cluster_checks import settle, topics_on  # noqa: E402
from cluster import Cluster, ClusterNode  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

SETTLE_S = 25.0
PROBE_KEY = 32002
LOG4J = os.path.join(os.path.dirname(__file__), "lib", "tools-log4j.properties")
FORMS = "forms a new cluster"


# ---- the quorum probe, by hand (cluster/quorum_bootstrap.h draws it) ----

class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def text(self):
        n = self.take(">h")
        s = self.data[self.pos:self.pos + max(n, 0)].decode()
        self.pos += max(n, 0)
        return s


def probe(port, timeout=2.0):
    """What the node on controller port says: {node, state, term, leader,
    cluster, members: {id: (role, dir)}}."""
    header = struct.pack(">hhih", PROBE_KEY, 0, 7, 4) + b"test"
    body = struct.pack(">bi", 1, -1)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        msg = header + body
        s.sendall(struct.pack(">i", len(msg)) + msg)
        size = struct.unpack(">i", recv_exact(s, 4))[0]
        resp = recv_exact(s, size)
    r = Reader(resp[4:])  # after the correlation id
    assert r.take(">b") == 1
    ans = {"node": r.take(">i"), "state": r.take(">b") != 0, "term": r.take(">q"),
           "leader": r.take(">i"), "cluster": r.text(), "members": {}}
    for _ in range(r.take(">h")):
        mid, role, mdir, _host, _port = r.take(">i"), r.take(">b"), r.text(), r.text(), r.take(">H")
        ans["members"][mid] = (role, mdir)
    return ans


def voters(ans):
    return sorted(i for i, (role, _) in ans["members"].items() if role == 1)


def wait_for(fn):
    """fn's first true value within SETTLE_S (a dynamic quorum settles slower
    than a static one), else None."""
    return settle(fn, timeout=SETTLE_S)


def settled(nodes, want_voters):
    """Every node names the same leader, whose probe lists want_voters as
    voters and the cluster id; returns the leader's answer."""
    answers = [probe(n.controller_port) for n in nodes]
    leaders = {a["leader"] for a in answers}
    if len(leaders) != 1 or -1 in leaders:
        return None
    leader = leaders.pop()
    lead = next(n for n in nodes if n.node_id == leader)
    ans = probe(lead.controller_port)
    return ans if voters(ans) == want_voters and ans["cluster"] else None


def probes(nodes):
    """Every node's answer, for a failure's diagnostics."""
    out = []
    for n in nodes:
        try:
            out.append(f"node {n.node_id}: {probe(n.controller_port)}")
        except Exception as e:  # noqa: BLE001
            out.append(f"node {n.node_id}: {e!r}")
    return "\n".join(out)


def meta(node, key):
    with open(os.path.join(node.data_dir, "meta.properties")) as f:
        for line in f:
            if line.startswith(key + "="):
                return line.strip().split("=", 1)[1]
    return None


def log_has(node, text, since_mark=True):
    with open(node.log_path, errors="replace") as f:
        if since_mark:
            f.seek(node._log_mark)
        return text in f.read()


LAST_ERROR = []


def create(node, name, rf):
    """Creates a topic (retrying for a while: a node just back may still be
    fenced somewhere); the last refusal goes to LAST_ERROR."""
    client = AdminClient({"bootstrap.servers": node.bootstrap})
    deadline = time.monotonic() + 20
    while True:
        try:
            client.create_topics([NewTopic(name, 1, rf)], request_timeout=15)[name].result(20)
            return True
        except Exception as e:  # noqa: BLE001
            LAST_ERROR[:] = [repr(e)]
            if "TOPIC_ALREADY_EXISTS" in repr(e):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(1)


def quorum_tool(node):
    jars = ensure_kafka_jars()
    cmd = ["java", f"-Dlog4j.configuration=file:{LOG4J}", "-cp", os.path.join(jars, "*"),
           "org.apache.kafka.tools.MetadataQuorumCommand", "--bootstrap-server", node.bootstrap,
           "describe", "--status"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return res.returncode, res.stdout + res.stderr


def dynamic_cluster():
    c = Cluster(3)
    servers = ",".join(f"127.0.0.1:{n.controller_port}" for n in c.nodes)
    for node in c.nodes:
        node.settings.pop("controller.quorum.voters", None)
        node.settings["controller.quorum.bootstrap.servers"] = servers
    return c


def start_in_order(c, order, rng):
    for i in order:
        c.node(i).start(wait=False)
        time.sleep(rng.uniform(0, 0.8))
    deadline = time.monotonic() + 30
    Cluster._wait_all_ready([c.node(i) for i in order], deadline)


def scenario(t):
    seed = int(os.environ.get("RUNNEL_DYNAMIC_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    order = [1, 2, 3]
    rng.shuffle(order)
    t.diag(f"seed {seed}: start order {order}")
    c = dynamic_cluster()
    try:
        start_in_order(c, order, rng)
        nodes = [c.node(i) for i in (1, 2, 3)]
        ans = wait_for(lambda: settled(nodes, [1, 2, 3]))
        t.ok(ans is not None, "one leader, and all three nodes are voters", probes(nodes))
        cluster_id = ans["cluster"] if ans else None
        ids = {meta(n, "cluster.id") for n in nodes}
        t.eq(ids, {cluster_id}, "one cluster: every meta.properties names the log's cluster id")
        formed = [n.node_id for n in nodes if log_has(n, FORMS)]
        t.eq(formed, [1], "only the first bootstrap server formed the cluster")
        t.ok(any(log_has(n, "joins as an observer") for n in nodes[1:]),
             "the others joined as observers")

        t.ok(create(nodes[1], "dyn-a", 3) and
             wait_for(lambda: all("dyn-a" in topics_on(n) for n in nodes)),
             "a topic of replication factor 3 is created and every node lists it",
             repr(LAST_ERROR))

        rc, out = quorum_tool(nodes[0])
        t.ok(rc == 0 and re.search(r"CurrentVoters:\s*\[", out) is not None
             and f"LeaderId:               {ans['leader'] if ans else '?'}" in out
             and all(f"127.0.0.1:{n.controller_port}" in out for n in nodes),
             "kafka-metadata-quorum.sh describe --status names the leader and the voters "
             "with their controller listeners", out[-800:])

        c.stop()
        c.start()
        ans = wait_for(lambda: settled(nodes, [1, 2, 3]))
        t.ok(ans is not None and ans["cluster"] == cluster_id,
             "after a whole-cluster restart: the same cluster, all three voters", probes(nodes))
        t.ok(not any(log_has(n, FORMS) for n in nodes), "and no node formed a cluster again")
        t.ok(wait_for(lambda: all("dyn-a" in topics_on(n) for n in nodes)),
             "and the topic is still there")

        first = nodes[0]
        old_dir = meta(first, "directory.id")
        first.term()
        first.wipe()
        first.start()
        new_dir = meta(first, "directory.id")
        # It finds the quorum by its probes, or the leader's log reaches it
        # first (the log still names its id a voter): either way it joins.
        t.ok(not log_has(first, FORMS) and (log_has(first, "found the quorum") or
                                            log_has(first, "received the metadata log before")),
             "the wiped first node finds the existing quorum and forms no cluster")
        t.eq(meta(first, "cluster.id"), cluster_id, "it takes the existing cluster's id")

        def readded():
            a = settled(nodes, [1, 2, 3])
            return a if a and a["members"][1][1] == new_dir else None
        ans = wait_for(readded)
        t.ok(ans is not None and new_dir != old_dir,
             "its old voter entry is replaced: node 1 is a voter of its new folder",
             f"new folder {new_dir}\n{probes(nodes)}")
        t.ok(wait_for(lambda: "dyn-a" in topics_on(first)), "and it serves the topics")
        t.ok(create(nodes[1], "dyn-b", 3) and
             wait_for(lambda: all("dyn-b" in topics_on(n) for n in nodes)),
             "a topic of replication factor 3 created afterwards reaches every node, it too",
             repr(LAST_ERROR))
        broker_only(t, c, cluster_id)
    finally:
        c.stop()


def broker_only(t, c, cluster_id):
    """A broker-only node given the bootstrap servers (and the cluster id, as
    a new broker-only node needs) finds the leader through them, registers,
    receives the log as an observer and serves."""
    taken = {p for n in c.nodes for p in (n.port, n.controller_port, n.admin_port)}
    b = ClusterNode(4, taken)
    servers = c.nodes[0].settings["controller.quorum.bootstrap.servers"]
    b.configure("", None, {"process.roles": "broker", "cluster.id": cluster_id})
    b.settings.pop("controller.quorum.voters", None)
    b.settings["controller.quorum.bootstrap.servers"] = servers
    try:
        b.start(wait=False)
        Cluster._wait_all_ready([b], time.monotonic() + 30)
        nodes = c.nodes
        t.ok(wait_for(lambda: "dyn-a" in topics_on(b)),
             "a broker-only node with the bootstrap servers registers and serves the topics")

        def observer():
            a = settled(nodes, [1, 2, 3])
            return a if a and a["members"].get(4, (None,))[0] == 2 else None
        t.ok(wait_for(observer) is not None, "and the leader lists it as a learner (an observer)",
             probes(nodes))
    finally:
        b.stop()


def main():
    t = tap.Tap()
    skip_under_cluster(t, "a Runnel cluster", OWN_NODES)
    if target() != "runnel":
        t.skip("a Runnel cluster", "the cluster harness runs Runnel only")
    else:
        t.run(scenario)
    t.done()


if __name__ == "__main__":
    main()
