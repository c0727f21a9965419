#!/usr/bin/env python3
"""A broker back with an empty data folder (its volume lost) is never elected
leader of data it does not have.

Nodes 1-3 are combined voters, node 4 a broker only. Topic `solo` has one
partition on node 4 alone; topic `trio` one partition on nodes 4, 1 and 2.
Both get acknowledged records; node 4 stops (SIGTERM), so it is the last
in-sync replica of solo-0 and leaves the ISR of trio-0. Its folder is
emptied and it starts again with a new directory id:

- trio-0: node 4 fetches the whole log again and rejoins the ISR, and every
  acknowledged record reads back;
- solo-0: its only copy was on the lost folder. The controller forgets node
  4's membership (ISR empty, no leader) instead of electing it with an empty
  log, so a producer gets an error rather than offsets reused from 0;
- an unclean election, asked for by turning on the topic's
  unclean.leader.election.enable, then makes node 4 lead solo-0 empty: the
  loss is the operator's explicit choice.

Before the controller compared data folders, node 4 led solo-0 again as soon
as it was unfenced, with an empty log. Runnel only (the cluster harness).
Bounded: about 30 s."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import metadata, settle  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402
from records import produce_tracked  # noqa: E402

SETTINGS = {"cluster.id": "THN0Rm9sZGVyVGVzdElkMA",
            "broker.session.timeout.ms": "4000", "broker.heartbeat.interval.ms": "500",
            "unclean.leader.election.interval.ms": "500"}
RECORDS = 100


def partition0(node, topic):
    parts = metadata(node, [topic])[1].get(topic) or []
    return parts[0] if parts else None  # (index, error, leader, replicas, isr)


def read_all(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{topic}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(100):
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg.value())
        if len(got) >= RECORDS:
            break
    c.close()
    return got


def scenario(t):
    with Cluster(4, SETTINGS, node_settings={4: {"process.roles": "broker"}},
                 voters=(1, 2, 3)) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        futs = admin.create_topics([NewTopic("solo", num_partitions=1, replica_assignment=[[4]]),
                                    NewTopic("trio", num_partitions=1, replica_assignment=[[4, 1, 2]])])
        for fut in futs.values():
            fut.result(20)
        one = c.node(1)
        settle(lambda: all((partition0(one, x) or (0, 0, -1))[2] == 4 for x in ("solo", "trio")),
               "node 4 leads both")
        settle(lambda: len(partition0(one, "trio")[4]) == 3, "trio in sync")
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all"})
        acked, failed = {}, {}
        for topic in ("solo", "trio"):
            produce_tracked(p, topic, [(0, b"%s-%03d" % (topic.encode(), i))
                                       for i in range(RECORDS)], acked, failed, 20)
        t.ok(len(acked) == 2 * RECORDS and not failed, f"{2 * RECORDS} records acknowledged",
             f"failed {len(failed)}")

        node4 = c.node(4)
        node4.term()
        settle(lambda: partition0(one, "solo")[2] == -1, "solo-0 leaderless")
        t.eq(partition0(one, "solo")[4], [4], "node 4 stopped: the last member of solo-0's ISR")
        node4.wipe()
        node4.start()

        t.ok(settle(lambda: sorted(partition0(one, "trio")[4]) == [1, 2, 4] or None,
                    "trio back in sync", timeout=30),
             "trio-0: node 4, on an empty folder, fetches the log and rejoins the ISR")
        trio = read_all(c.bootstrap, "trio")
        t.eq(len(trio), RECORDS, "every acknowledged record of trio reads back")

        solo = settle(lambda: partition0(one, "solo") if not partition0(one, "solo")[4] else None,
                      "solo-0's ISR empty", timeout=10)
        t.ok(solo is not None and solo[2] == -1 and solo[4] == [],
             "solo-0: node 4's membership is forgotten (no leader, ISR empty), it does not "
             "lead an empty log", f"{partition0(one, 'solo')}")
        t.eq(node4.running(), True, "node 4 serves its other partitions meanwhile")
        q = Producer({"bootstrap.servers": c.bootstrap, "acks": "all",
                      "message.timeout.ms": 3000})
        late_acked, late_failed = {}, {}
        produce_tracked(q, "solo", [(0, b"late")], late_acked, late_failed, 6)
        t.ok(not late_acked and late_failed,
             "a producer to solo-0 gets an error, never offset 0 of an empty log again",
             f"acked {late_acked}")

        res = ConfigResource("topic", "solo", set_config={"unclean.leader.election.enable": "true"})
        admin.alter_configs([res])[res].result(10)
        led = settle(lambda: partition0(one, "solo") if partition0(one, "solo")[2] == 4 else None,
                     "unclean election", timeout=15)
        t.ok(led is not None and led[4] == [4],
             "an unclean election, asked for, makes node 4 lead solo-0 (empty: the loss is "
             "chosen)", f"{partition0(one, 'solo')}")
        del p, q, admin


if __name__ == "__main__":
    run_scenarios("a broker back with an empty data folder", scenario)
