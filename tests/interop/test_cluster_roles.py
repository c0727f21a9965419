#!/usr/bin/env python3
"""A broker-only node (process.roles=broker) next to three combined voters.

Nodes 1-3 are the quorum (controller.quorum.voters); node 4 is a broker
only: no controller listener, not a voter. It registers with the active
controller, which makes it a Raft learner and sends it the metadata log on
its broker listener. Checked: node 4 becomes ready; a topic created through
node 1 shows in node 4's Metadata, with broker 4 among the brokers and
leading some partitions; records produced through node 4 to the partitions
it leads are consumed back through it; kafka-metadata-quorum.sh describe
--status through node 4 lists voters 1-3 only, node 4 as an observer.

Runnel only. Bounded: about 30 s."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import target  # noqa: E402
from cluster import Cluster  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from test_cluster_brokers import metadata, wait_for  # noqa: E402
from test_cluster_voters import quorum_tool  # noqa: E402

# A broker-only node learns nothing before it registers, and registers
# with the cluster id it was formatted with (as Kafka's storage format).
CLUSTER_ID = "RnRlc3Ryb2xlc2NsdXN0ZQ"
SETTINGS = {"cluster.id": CLUSTER_ID, "broker.session.timeout.ms": "3000",
            "broker.heartbeat.interval.ms": "500"}
TOPIC = "roles"
PARTITIONS = 8
COUNT = 40


def produce_consume(t, node, parts):
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg.partition())

    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all"})
    for i in range(COUNT):
        p.produce(TOPIC, value=f"v{i}".encode(), partition=parts[i % len(parts)],
                  on_delivery=on_delivery)
    p.flush(30)
    t.ok(len(delivered) == COUNT and not errors,
         f"{COUNT} records produced through node 4 to partitions {parts} "
         f"({len(delivered)} delivered, errors {errors[:3]})")
    consumer = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "g-roles",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, x, 0) for x in parts])
    got = set()
    deadline = time.monotonic() + 20
    while len(got) < COUNT and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.add(msg.value())
    consumer.close()
    t.ok(len(got) == COUNT, f"and consumed back through node 4 ({len(got)} of {COUNT})")


def scenario(t):
    with Cluster(4, settings=SETTINGS, voters=[1, 2, 3],
                 node_settings={4: {"process.roles": "broker"}}) as c:
        n1, n4 = c.node(1), c.node(4)
        t.ok(True, "the broker-only node 4 started and serves")
        admin = AdminClient({"bootstrap.servers": n1.bootstrap})
        wait_for(t, "four brokers registered", lambda: len(metadata(n1, [])[0]) == 4)
        fut = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC]
        fut.result(30)

        def view():
            brokers, topics = metadata(n4, [TOPIC])
            parts = topics.get(TOPIC)
            if 4 not in brokers or not parts or len(parts) != PARTITIONS:
                return None
            return parts if all(p[1] == 0 for p in parts) else None
        parts = wait_for(t, "node 4's Metadata of the topic", view)
        t.ok(parts is not None, "node 4's Metadata has the topic created through node 1, "
             "and broker 4 among the brokers")
        own = [p[0] for p in parts or [] if p[2] == 4]
        t.ok(len(own) > 0, f"broker 4 leads some partitions ({own})")
        if own:
            produce_consume(t, n4, own)
        rc, out = quorum_tool(n4, "--status")
        voters = re.search(r"CurrentVoters:\s*\[(.*)\]", out)
        observers = re.search(r"CurrentObservers:\s*\[(.*)\]", out)
        ids = sorted(int(x) for x in re.findall(r'"id":\s*(\d+)', voters.group(1))) \
            if voters else None
        t.ok(rc == 0 and ids == [1, 2, 3],
             f"kafka-metadata-quorum.sh describe --status: voters are 1-3 ({ids})", out[-600:])
        t.ok(observers is not None and '"id": 4' in observers.group(1).replace('"id":4', '"id": 4'),
             "and node 4 is an observer, not a voter", out[-600:])


def main():
    t = tap.Tap()
    if target() != "runnel":
        t.skip("a four-node Runnel cluster", "the cluster harness runs Runnel only")
    else:
        t.run(scenario)
    t.done()


if __name__ == "__main__":
    main()
