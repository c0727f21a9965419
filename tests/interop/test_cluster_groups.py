#!/usr/bin/env python3
"""Consumer groups on a three-node cluster: a group has one coordinator,
the leader of its __consumer_offsets partition (replicated like any
partition, offsets.topic.replication.factor 3), and it moves with that
leadership.

- Every node shows the new topic; FindCoordinator through each of the
  three nodes names the same broker.
- Two members of one group, each bootstrapped to a different single node,
  join one group: the topic's partitions are split between them, none
  twice.
- Offsets committed through the group survive a SIGKILL of the
  coordinator: the offsets partition's new leader coordinates the group
  and returns the same committed offsets (they never go back), and the
  group commits again there.

Runnel only (the cluster harness runs Runnel). Bounded: every wait has a
deadline; about half a minute."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import kafka_request  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import placement, settle  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
TOPIC = "grouped"
PARTITIONS = 6
GROUP = "g-cluster"
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500",
            "group.initial.rebalance.delay.ms": "0"}
SETTLE_S = 30.0
API_FIND_COORDINATOR = 10


def find_coordinator(node, group):
    """(error code, node id) FindCoordinator v1 answers on node."""
    gid = group.encode()
    body = struct.pack(">h", len(gid)) + gid + struct.pack(">b", 0)
    r = Reader(kafka_request(node.bootstrap, API_FIND_COORDINATOR, 1, body))
    r.i32()  # throttle
    err = r.i16()
    r.string()  # message
    return err, r.i32()


def member(bootstrap, name):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "client.id": name,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([TOPIC])
    return c


def assignments_settle(consumers, timeout):
    """Polls every consumer until their assignments cover the topic once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            c.poll(0.2)
        got = [sorted(tp.partition for tp in c.assignment()) for c in consumers]
        flat = sorted(p for a in got for p in a)
        if flat == list(range(PARTITIONS)) and all(got):
            return got
    return [sorted(tp.partition for tp in c.assignment()) for c in consumers]


def committed(bootstrap, group):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
        return {tp.partition: tp.offset for tp in tps}
    finally:
        c.close()


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])[TOPIC].result(20)
        # A group leader assigns what its metadata shows: every node must
        # know the topic before members join (as Kafka's own tests wait).
        nodes = [c.node(i) for i in range(1, NODES + 1)]
        t.ok(settle(lambda: placement(nodes, TOPIC, PARTITIONS, 3, set(range(1, NODES + 1))),
                    "the topic on every node", SETTLE_S),
             "every node shows the topic's partitions")
        answers = settle(lambda: (lambda a: a if all(e == 0 for e, _ in a) and
                                  len({n for _, n in a}) == 1 else None)(
            [find_coordinator(c.node(i), GROUP) for i in range(1, NODES + 1)]),
            "one coordinator", SETTLE_S)
        t.ok(answers, "FindCoordinator through each node names the same broker",
             f"answers {[find_coordinator(c.node(i), GROUP) for i in range(1, NODES + 1)]}")
        coord = answers[0][1] if answers else None

        others = [i for i in range(1, NODES + 1) if i != coord]
        a = member(c.node(others[0]).bootstrap, "a")
        b = member(c.node(others[1]).bootstrap, "b")
        got = assignments_settle([a, b], SETTLE_S)
        t.ok(sorted(got[0] + got[1]) == list(range(PARTITIONS)) and got[0] and got[1],
             "two members bootstrapped to different nodes share the partitions, none twice",
             f"assignments {got}")
        offsets = [TopicPartition(TOPIC, p, 100 + p) for p in range(PARTITIONS)]
        mine = [tp for tp in offsets if tp.partition in got[0]]
        a.commit(offsets=mine, asynchronous=False)
        theirs = [tp for tp in offsets if tp.partition in got[1]]
        b.commit(offsets=theirs, asynchronous=False)
        a.close()
        b.close()
        before = committed(c.bootstrap, GROUP)
        t.eq(before, {p: 100 + p for p in range(PARTITIONS)}, "the committed offsets read back")

        c.node(coord).kill()
        live = [c.node(i) for i in others]
        moved = settle(lambda: (lambda a: a[0][1] if all(e == 0 for e, _ in a) and
                                len({n for _, n in a}) == 1 and a[0][1] != coord else None)(
            [find_coordinator(n, GROUP) for n in live]), "a new coordinator", SETTLE_S)
        t.ok(moved, f"coordinator {coord} SIGKILLed: the survivors name a new one ({moved})")
        bootstrap = ",".join(n.bootstrap for n in live)
        after = settle(lambda: (lambda o: o if o == before else None)(committed(bootstrap, GROUP)),
                       "offsets there", SETTLE_S)
        t.eq(after, before, "the new coordinator returns the same committed offsets")
        m = member(bootstrap, "c")
        got = assignments_settle([m], SETTLE_S)
        t.eq(got[0], list(range(PARTITIONS)), "a member joins the group at the new coordinator")
        m.commit(offsets=[TopicPartition(TOPIC, 0, 500)], asynchronous=False)
        m.close()
        t.eq(committed(bootstrap, GROUP).get(0), 500, "and commits there")


if __name__ == "__main__":
    run_scenarios("consumer groups on a cluster", scenario)
