#!/usr/bin/env python3
"""Fetch from a follower (KIP-392): three runnel nodes in racks r1, r2, r3
with replica.selector.class RackAwareReplicaSelector, a topic of one
partition on all three. A consumer naming the rack of a follower
(librdkafka's client.rack) is sent there by the leader (the Fetch answer's
preferred read replica) and reads every record from that follower, up to
the follower's high watermark: the follower's bytes-out counter for the
partition grows, the leader's does not. A consumer without a rack reads
from the leader. A follower answers a consumer fetch of Fetch v11 and up
only (older versions: NOT_LEADER_OR_FOLLOWER, as Kafka).

Runnel only (the cluster harness runs Runnel). Bounded: about 15 s."""

import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import settle  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NODES = 3
TOPIC = "racked"
RECORDS = 500
SETTINGS = {"replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector"}
RACKS = {i: {"broker.rack": f"r{i}"} for i in range(1, NODES + 1)}
NOT_LEADER_OR_FOLLOWER = 6


def bytes_out(node):
    """The partition's runnel_partition_bytes_out_total on node (0 if absent)."""
    url = f"http://127.0.0.1:{node.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    m = re.search(r'^runnel_partition_bytes_out_total\{topic="%s",partition="0"\} (\d+)' % TOPIC,
                  text, re.M)
    return int(m.group(1)) if m else 0


def consume_all(bootstrap, rack):
    conf = {"bootstrap.servers": bootstrap, "group.id": f"rack-{time.time()}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest"}
    if rack:
        conf["client.rack"] = rack
    c = Consumer(conf)
    c.assign([TopicPartition(TOPIC, 0, 0)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < RECORDS and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.close()
    return got


def scenario(t):
    with Cluster(NODES, SETTINGS, node_settings=RACKS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, 3)])[TOPIC].result(20)
        full = settle(lambda: (lambda pm: pm if len(pm.isrs) == NODES else None)(
            admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions[0]), "full ISR", 20)
        leader = full.leader
        follower = next(i for i in range(1, NODES + 1) if i != leader)
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
        for i in range(RECORDS):
            p.produce(TOPIC, value=b"r-%05d" % i, partition=0)
        p.flush(30)
        before = {i: bytes_out(c.node(i)) for i in range(1, NODES + 1)}
        got = consume_all(c.bootstrap, f"r{follower}")
        after = {i: bytes_out(c.node(i)) for i in range(1, NODES + 1)}
        t.eq(len(got), RECORDS, f"a consumer in rack r{follower} reads all {RECORDS} records")
        t.ok(after[follower] > before[follower] and after[leader] == before[leader],
             f"from follower {follower} (its rack), not from leader {leader}",
             f"bytes out before {before}, after {after}")
        got = consume_all(c.bootstrap, None)
        last = {i: bytes_out(c.node(i)) for i in range(1, NODES + 1)}
        t.ok(len(got) == RECORDS and last[leader] > after[leader],
             "a consumer without a rack reads from the leader", f"bytes out {last}")
        old = kwire.fetch_request(1, [(TOPIC, [(0, 0, 1 << 20)])], version=10)
        with kwire.Conn(c.node(follower).bootstrap) as conn:
            _, body = conn.roundtrip(old)
        _, parts = kwire.parse_fetch(body, 10)
        t.eq(parts[0][2] if parts else None, NOT_LEADER_OR_FOLLOWER,
             "a Fetch v10 to the follower: NOT_LEADER_OR_FOLLOWER")


if __name__ == "__main__":
    run_scenarios("fetch from a follower", scenario)
