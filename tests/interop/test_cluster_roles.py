#!/usr/bin/env python3
"""Nodes of one role: broker-only (process.roles=broker) and controller-only
(process.roles=controller).

Broker-only: nodes 1-3 are combined and the quorum (controller.quorum.voters);
node 4 is a broker only: no controller listener, not a voter. It registers
with the active controller, which makes it a Raft learner and sends it the
metadata log on its broker listener. Checked: node 4 becomes ready; a topic
created through node 1 shows in node 4's Metadata, with broker 4 among the
brokers and leading some partitions; records produced through node 4 to the
partitions it leads are consumed back through it; kafka-metadata-quorum.sh
describe --status through node 4 lists voters 1-3 only, node 4 as an
observer; a Metadata request through node 4 that may auto-create a topic
creates it (node 4 forwards the creation to the active controller). A
broker-only node 5 with a new folder, started once the other four run,
registers (naming no cluster id: its new folder's is provisional) and
takes the cluster's id.

Controller-only: nodes 1-3 are controller-only voters, nodes 4 and 5
broker-only, so the active controller is always a controller-only node.
Checked: nodes 1-3 serve no broker port and answer on their controller
listener (the harness waits for an ApiVersions there); no Metadata and no
DescribeCluster (fenced brokers included) lists them as brokers; DescribeQuorum
asked of a controller-only node's listener names voters 1-3, a leader among
them, and brokers 4 and 5 as observers; a topic with replication factor 2
created through node 4 is placed on brokers 4 and 5 as both see it,
records produced through the brokers are consumed back, and a topic is
auto-created through node 5. Neither broker could start before a node
forwarded its own creations (__consumer_offsets) to a controller-only
leader.

Runnel only. Bounded: about 40 s."""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import runnel_bin  # noqa: E402
from cluster import Cluster, port_accepts, run_scenarios  # noqa: E402
from cluster_checks import (create_topic, describe_cluster, metadata, placement,  # noqa: E402
                            quorum_tool, settle)
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

# A broker-only node learns nothing before it registers, and registers
# with the cluster id it was formatted with (as Kafka's storage format).
CLUSTER_ID = "RnRlc3Ryb2xlc2NsdXN0ZQ"
SETTINGS = {"cluster.id": CLUSTER_ID, "broker.session.timeout.ms": "3000",
            "broker.heartbeat.interval.ms": "500"}
TOPIC = "roles"
PARTITIONS = 8
COUNT = 40


def produce_consume(t, bootstrap, topic, parts, via):
    delivered, errors = [], []

    def on_delivery(err, msg):
        (errors if err else delivered).append(err or msg.partition())

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for i in range(COUNT):
        p.produce(topic, value=f"v{i}".encode(), partition=parts[i % len(parts)],
                  on_delivery=on_delivery)
    p.flush(30)
    t.ok(len(delivered) == COUNT and not errors,
         f"{COUNT} records produced through {via} to partitions {parts} "
         f"({len(delivered)} delivered, errors {errors[:3]})")
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, x, 0) for x in parts])
    got = set()
    deadline = time.monotonic() + 20
    while len(got) < COUNT and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and not msg.error():
            got.add(msg.value())
    consumer.close()
    t.ok(len(got) == COUNT, f"and consumed back through {via} ({len(got)} of {COUNT})")


def broker_only(t):
    with Cluster(4, settings=SETTINGS, voters=[1, 2, 3],
                 node_settings={4: {"process.roles": "broker"}}) as c:
        n1, n4 = c.node(1), c.node(4)
        t.ok(True, "the broker-only node 4 started and serves")
        settle(lambda: len(metadata(n1, [])[0]) == 4, "four brokers registered")
        err = create_topic(n1, TOPIC, PARTITIONS)
        t.ok(err is None, f"a topic created through node 1 ({err})")

        def view():
            brokers, topics = metadata(n4, [TOPIC])
            parts = topics.get(TOPIC)
            if 4 not in brokers or not parts or len(parts) != PARTITIONS:
                return None
            return parts if all(p[1] == 0 for p in parts) else None
        parts = settle(view, "node 4's Metadata of the topic")
        t.ok(parts is not None, "node 4's Metadata has the topic created through node 1, "
             "and broker 4 among the brokers")
        own = [p[0] for p in parts or [] if p[2] == 4]
        t.ok(len(own) > 0, f"broker 4 leads some partitions ({own})")
        if own:
            produce_consume(t, n4.bootstrap, TOPIC, own, "node 4")
        rc, out = quorum_tool(n4, "--status")
        voters = re.search(r"CurrentVoters:\s*\[(.*)\]", out)
        observers = re.search(r"CurrentObservers:\s*\[(.*)\]", out)
        ids = sorted(int(x) for x in re.findall(r'"id":\s*(\d+)', voters.group(1))) \
            if voters else None
        t.ok(rc == 0 and ids == [1, 2, 3],
             f"kafka-metadata-quorum.sh describe --status: voters are 1-3 ({ids})", out[-600:])
        t.ok(observers is not None and '"id": 4' in observers.group(1).replace('"id":4', '"id": 4'),
             "and node 4 is an observer, not a voter", out[-600:])
        auto_created(t, n4)


def late_broker(t):
    """A broker-only node with a new folder that starts once the cluster's id
    is settled (the first leader recorded it): its own id is provisional
    and a broker-only node hears the cluster's only from the log it gets
    once registered, so it registers naming none and takes the log's."""
    c = Cluster(5, settings=SETTINGS, voters=[1, 2, 3],
                node_settings={4: {"process.roles": "broker"}, 5: {"process.roles": "broker"}})
    try:
        first = c.nodes[:4]
        for node in first:
            node.start(wait=False)
        Cluster._wait_all_ready(first, time.monotonic() + 60)
        settle(lambda: len(metadata(c.node(1), [])[0]) == 4, "four brokers registered")
        five = c.node(5)
        try:
            five.start()
            started = True
        except Exception as e:  # noqa: BLE001: the failed start is the finding
            started = str(e)[-300:]
        t.ok(started is True, "a broker-only node with a new folder joins a running cluster",
             started)
        if started is not True:
            return
        t.ok(settle(lambda: len(metadata(c.node(1), [])[0]) == 5, "five brokers registered"),
             "and registers")
        ids = {}
        for node in (c.node(1), five):
            with open(os.path.join(node.data_dir, "meta.properties")) as f:
                ids[node.node_id] = re.search(r"cluster\.id=(\S+)", f.read()).group(1)
        t.eq(ids[5], ids[1], "and takes the cluster's id into its meta.properties")
    finally:
        c.stop()


def auto_created(t, node):
    """A Metadata request that may create the topic it names, sent to a node
    that is not the active controller: the node forwards the creation."""
    name = f"auto-from-node{node.node_id}"

    def made():
        parts = metadata(node, [name], auto_create=True)[1].get(name)
        return parts if parts and all(p[1] == 0 and p[2] >= 0 for p in parts) else None
    t.ok(settle(made, f"{name} auto-created"),
         f"Metadata with auto-creation through node {node.node_id} (not the active controller) "
         f"creates {name}")


def quorum_on_controller(node):
    """DescribeQuorum asked of a controller listener (runnel cluster quorum
    describe): the quorum once it has a leader, else None."""
    r = subprocess.run([runnel_bin(), "cluster", "quorum", "describe", "-b", node.controller_addr,
                        "--json"], capture_output=True, text=True, timeout=30)
    q = json.loads(r.stdout)["quorum"] if r.returncode == 0 else None
    return q if q and q["leader"] >= 0 else None


def controller_only(t):
    roles = {i: {"process.roles": "controller"} for i in (1, 2, 3)}
    # Two brokers: __consumer_offsets and __transaction_state ask for two
    # replicas, so their creation waits for both (a broker-only node cannot
    # know how many will come).
    roles.update({i: {"process.roles": "broker", "offsets.topic.replication.factor": "2",
                      "transaction.state.log.replication.factor": "2"}
                  for i in (4, 5)})
    with Cluster(5, settings=SETTINGS, voters=[1, 2, 3], node_settings=roles) as c:
        ctls, brokers = c.nodes[:3], c.brokers()
        t.ok([n.node_id for n in brokers] == [4, 5] and all(n.running() for n in ctls),
             "controller-only nodes 1-3 started and answer ApiVersions on their controller "
             "listener")
        t.ok(not any(port_accepts(n.port) for n in ctls),
             "and serve no broker port")
        seen = settle(lambda: all(set(metadata(n, [])[0]) == {4, 5} for n in brokers),
                      "brokers 4 and 5 in Metadata")
        t.ok(seen, "Metadata from nodes 4 and 5 lists brokers 4 and 5 only")
        listed = [describe_cluster(n, include_fenced=True) for n in brokers]
        t.ok(all(err == 0 and sorted(b[0] for b in bs) == [4, 5] for err, bs in listed),
             "DescribeCluster with fenced brokers: 4 and 5 only, no controller-only node", listed)

        q = settle(lambda: quorum_on_controller(c.node(1)), "a quorum with a leader")
        voters = sorted(v["id"] for v in (q or {}).get("voters", []))
        observers = sorted(v["id"] for v in (q or {}).get("observers", []))
        t.ok(voters == [1, 2, 3] and q["leader"] in (1, 2, 3),
             f"DescribeQuorum on node 1's controller listener: voters {voters}, leader "
             f"{q and q['leader']} (a controller-only node)", q)
        t.ok({4, 5} <= set(observers), f"and brokers 4 and 5 observers ({observers})", q)

        name = "controller-only"
        err = create_topic(brokers[0], name, 4, 2)
        t.ok(err is None, f"a topic (4 partitions, RF 2) created through node 4 ({err})")
        view = settle(lambda: placement(brokers, name, 4, 2, {4, 5}), f"{name} placed")
        t.ok(view, "nodes 4 and 5 show it on brokers 4 and 5, the same leaders", view)
        produce_consume(t, c.bootstrap, name, list(range(4)), "nodes 4 and 5")
        auto_created(t, c.node(5))
        offsets = metadata(brokers[0], ["__consumer_offsets"])[1].get("__consumer_offsets", [])
        t.ok(offsets and all(sorted(p[3]) == [4, 5] for p in offsets),
             "__consumer_offsets has offsets.topic.replication.factor (2) replicas per partition",
             [p[3] for p in offsets[:3]])


def main():
    run_scenarios("Runnel clusters with single-role nodes", broker_only, late_broker,
                  controller_only)


if __name__ == "__main__":
    main()
