#!/usr/bin/env python3
"""Voters named by host names: three runnel nodes whose
controller.quorum.voters name each other `localhost` (looked up on every
connect, off the event loops) form one metadata quorum, take a topic
through a node that does not lead, and elect a new controller after the
active one is SIGKILLed (the survivors look its name up again as they
reconnect). And a voter whose name does not resolve is "not yet": the two
others still form a quorum and take topics, also when the DNS server takes
the query and never answers (each lookup hangs for glibc's whole timeout,
10 s): that case runs the nodes in a mount namespace whose
/etc/resolv.conf names a socket of this test that never answers, so it
needs root and unshare(1), and is skipped without them. Before lookups
left the event loops, those two nodes never became ready.

Runnel only (Kafka's combined nodes need a format step this test does not
do). Bounded: every wait has a deadline; about 15 s in all."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import BrokerError  # noqa: E402
from cluster import Cluster, ClusterNode, run_scenarios  # noqa: E402
from cluster_checks import create_topic, one_leader, settle, topics_on  # noqa: E402

# Two nodes of three start and elect in about 4 s (ASan: 6 s). Before
# lookups left the loops, a silent DNS server kept them from being ready
# for 60 s and more: each lookup of the third voter froze the Raft loop.
READY_S = 30
# A DNS server that takes every query and answers none: a UDP socket on a
# loopback address of its own, never read.
SILENT_DNS = "127.0.53.53"


class NamespacedNode(ClusterNode):
    """A node whose /etc/resolv.conf is `resolv_conf` (a mount namespace)."""
    resolv_conf = None

    def _runnel_cmd(self):
        return (["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"',
                 self.resolv_conf] + super()._runnel_cmd())


def start_all(nodes, ready_s):
    for b in nodes:
        b.start(wait=False)
    deadline = time.monotonic() + ready_s
    for b in nodes:
        b._wait_ready(max(1, deadline - time.monotonic()))


def everyone_sees(nodes, names):
    return settle(lambda: all(names <= topics_on(b) for b in nodes),
                  f"topics {sorted(names)} on every node")


def named_by_localhost(t):
    c = Cluster(3, voter_hosts={1: "localhost", 2: "localhost", 3: "localhost"})
    c.start()
    nodes = c.nodes
    leader = one_leader(nodes)
    t.ok(leader in (1, 2, 3), f"voters named localhost elect one active controller ({leader})")
    follower = next(b for i, b in enumerate(nodes) if i + 1 != leader)
    err = create_topic(follower, "named-peers", 3)
    t.ok(err is None and everyone_sees(nodes, {"named-peers"}),
         f"a topic created through a follower shows on every node ({err})")
    old = nodes[leader - 1]
    old.kill()
    rest = [b for b in nodes if b is not old]
    new_leader = one_leader(rest, other_than=leader)
    t.ok(new_leader not in (None, leader),
         f"after SIGKILL of node {leader} the survivors elect node {new_leader}")
    t.ok(create_topic(rest[0], "after-failover", 3) is None and
         everyone_sees(rest, {"after-failover"}),
         "and take a topic after the failover")
    c.stop()


def unresolvable_voter(t, third="node3.invalid", node_class=ClusterNode):
    # two brokers: no 15 s wait for a third before the internal topics
    c = Cluster(3, settings={"offsets.topic.replication.factor": 2,
                             "transaction.state.log.replication.factor": 2}, node_class=node_class,
                voter_hosts={1: "localhost", 2: "localhost", 3: third})
    two = c.nodes[:2]
    try:
        start_all(two, READY_S)
    except BrokerError as e:
        t.ok(False, f"the two nodes are ready within {READY_S} s", str(e)[:300])
        for b in two:
            b.kill()
        return
    leader = one_leader(two)
    t.ok(leader in (1, 2), f"a voter whose name does not resolve leaves the other two a "
         f"quorum ({leader})")
    t.ok(create_topic(two[0], "two-of-three", 2) is None and everyone_sees(two, {"two-of-three"}),
         "which takes topics")
    t.ok(all(b.running() for b in two), "and neither node gave up on the name")
    for b in two:
        b.stop()


def silent_dns_setup():
    """The silent server's socket and a resolv.conf naming it, or None and
    why this machine cannot run the case."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None, "needs root and unshare(1) for a mount namespace"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((SILENT_DNS, 53))
    except OSError as e:
        sock.close()
        return None, f"cannot bind {SILENT_DNS}:53 ({e})"
    conf = tempfile.NamedTemporaryFile("w", prefix="resolv-", suffix=".conf", delete=False)
    conf.write(f"nameserver {SILENT_DNS}\n")
    conf.close()
    probe = subprocess.run(["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf',
                            conf.name], capture_output=True)
    if probe.returncode != 0:
        sock.close()
        os.unlink(conf.name)
        return None, "no mount namespace here"
    return (sock, conf.name), None


def dns_does_not_answer(t):
    setup, why = silent_dns_setup()
    if not setup:
        t.skip("a voter whose DNS lookups hang", why)
        return
    sock, conf = setup
    NamespacedNode.resolv_conf = conf
    try:
        unresolvable_voter(t, "node3.peers.example", NamespacedNode)
    finally:
        sock.close()
        os.unlink(conf)


def main():
    run_scenarios("voters named by host names", named_by_localhost, unresolvable_voter,
                  dns_does_not_answer,
                  reason="Kafka's combined nodes need a format step")


if __name__ == "__main__":
    main()
