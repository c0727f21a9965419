#!/usr/bin/env python3
"""Three runnel nodes register their brokers with the active controller and
clients see the whole cluster: every node's Metadata lists the three brokers;
topics with 6 partitions and replication factor 3, created through any node
(confluent-kafka's AdminClient, `runnel topic create`, Kafka's
kafka-topics.sh and the Java Admin client), and __consumer_offsets at
offsets.topic.replication.factor, show replicas on the three
brokers and leaders spread over them, from every node; a node
answers ListOffsets for a partition it does not lead with
NOT_LEADER_OR_FOLLOWER; producing and consuming through confluent-kafka
follows the leaders; a broker stopped (SIGSTOP) past broker.session.timeout.ms
is fenced: gone from Metadata, its leaderships moved to ISR members; resumed
(SIGCONT), it is unfenced and listed again; producing and consuming still
works, the moved leaderships included.

Runnel only (the cluster harness runs
Runnel). Bounded: every wait has a deadline; about 30 s in all."""

import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import kafka_request  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import (brokers_on, check_brokers_listed, create_with,  # noqa: E402
                            leader_seen, metadata, placement, settle)
from confluent_kafka import Consumer, Producer  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
SETTLE_S = 20.0
NOT_LEADER_OR_FOLLOWER = 6


def list_offsets_error(node, topic, partition):
    """ListOffsets v1 (latest) for one partition, sent to node: its error."""
    part = struct.pack(">iq", partition, -1)
    body = (struct.pack(">i", -1) + struct.pack(">i", 1) + struct.pack(">h", len(topic)) +
            topic.encode() + struct.pack(">i", 1) + part)
    r = Reader(kafka_request(node.bootstrap, 2, 1, body))
    r.i32()
    r.string()
    r.i32()
    r.i32()
    return r.i16()


def placed_on_all(c, name):
    """From every node: 6 partitions, replicas and ISR on brokers 1-3,
    leaders spread two per broker."""
    def check():
        view = placement(c.nodes, name, 6, 3, {1, 2, 3})
        leaders = sorted(p[2] for p in view or [])
        return leaders if leaders == [1, 1, 2, 2, 3, 3] else None
    return settle(check, f"{name} placed on every broker")


def produce_consume(t, c, name, count=60):
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg.partition())

    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
    for i in range(count):
        p.produce(name, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 6,
                  on_delivery=on_delivery)
    p.flush(30)
    t.ok(len(delivered) == count and not errors,
         f"{count} records produced to the 6 leaders ({len(delivered)} delivered, "
         f"errors {errors[:3]})")
    consumer = Consumer({"bootstrap.servers": c.bootstrap, "group.id": f"g-{name}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([name])
    got = set()
    deadline = time.monotonic() + SETTLE_S
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.add(msg.value())
    consumer.close()
    t.ok(len(got) == count, f"and consumed back from the leaders ({len(got)} of {count})")


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        check_brokers_listed(t, c)
        offsets = metadata(c.node(1), ["__consumer_offsets"])[1].get("__consumer_offsets", [])
        t.ok(offsets and all(sorted(p[3]) == [1, 2, 3] for p in offsets),
             "__consumer_offsets has offsets.topic.replication.factor (3) replicas per "
             "partition, on the three brokers", [p[3] for p in offsets[:3]])

        for name, tool, node in (("spread", "confluent-kafka's AdminClient", c.node(2)),
                                 ("spread-cli", "runnel topic create", c.node(3)),
                                 ("spread-topics-sh", "kafka-topics.sh", c.node(1)),
                                 ("spread-java", "the Java Admin client", c.node(3))):
            ok, said = create_with(tool, node, name, 6, 3)
            t.ok(ok, f"{tool} creates {name} (6 partitions, RF 3) through node "
                 f"{node.node_id}", said)
            leaders = placed_on_all(c, name)
            t.ok(leaders, f"{name}: every node shows replicas and ISR on brokers 1-3, "
                 f"leaders two per broker ({leaders})")

        parts = metadata(c.node(1), ["spread"])[1]["spread"]
        idx, _err, leader, _replicas, _isr = parts[0]
        other = next(n for n in c.nodes if n.node_id != leader)
        t.eq(list_offsets_error(other, "spread", idx), NOT_LEADER_OR_FOLLOWER,
             f"ListOffsets for spread-{idx} on node {other.node_id}, not its leader: "
             f"NOT_LEADER_OR_FOLLOWER")
        t.eq(list_offsets_error(c.node(leader), "spread", idx), 0, "and 0 on its leader")

        produce_consume(t, c, "spread")

        ctl = leader_seen(c.node(1))
        victim = next(n for n in c.nodes if n.node_id != ctl)
        watcher = next(n for n in c.nodes if n is not victim)
        led = [p[0] for p in metadata(watcher, ["spread"])[1]["spread"]
               if p[2] == victim.node_id]
        os.kill(victim.pid, signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            def fenced():
                brokers, topics = metadata(watcher, ["spread"])
                if victim.node_id in brokers:
                    return None
                moved = all(p[2] not in (victim.node_id, -1) and victim.node_id not in p[4]
                            and p[2] in p[4] for p in topics["spread"])
                return moved
            ok = settle(fenced, "the stopped broker fenced", SESSION_MS / 1000 + 15)
            t.diag(f"fenced {time.monotonic() - stopped:.1f}s after SIGSTOP "
                   f"(broker.session.timeout.ms={SESSION_MS})")
            t.ok(ok, f"broker {victim.node_id} stopped past broker.session.timeout.ms: gone "
                 f"from Metadata, the partitions it led ({led}) led by ISR members")
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        back = settle(lambda: victim.node_id in brokers_on(watcher),
                      "the resumed broker listed again")
        t.ok(back, f"resumed (SIGCONT), broker {victim.node_id} is unfenced and listed again")
        # The new leaders stamp and check the bumped leader epoch: clients
        # that name it (Fetch v9+) are served, on the moved partitions too.
        produce_consume(t, c, "spread-cli")


def main():
    run_scenarios("a three-node Runnel cluster", scenario)


if __name__ == "__main__":
    main()
