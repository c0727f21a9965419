#!/usr/bin/env python3
"""Partition reassignments under faults, with an acks=all producer running
throughout and every acknowledged record checked at the end.

Four nodes: three combined (the quorum's voters) and broker 4, broker-only.
A topic of 3 partitions, replication factor 3, min.insync.replicas=2, on
brokers 1-3, with an idempotent acks=all producer writing all along.

1. Every partition moves to broker 4 in place of its first replica, and
   broker 4 is SIGKILLed while it copies, then started again: the moves
   complete (ListPartitionReassignments empties), Metadata shows the
   targets with full ISRs, and no broker left off keeps a directory of
   them once log.segment.delete.delay.ms has passed.
2. They move back, and the active controller is SIGKILLed right after it
   accepted them: the new active controller completes them.
3. A move is cancelled before broker 4 can be in sync (it is stopped):
   the replicas go back, broker 4 leaves them, and it is started again.
4. The producer stops: every acknowledged record is read back at its
   offset with its value, and no delivery failed for good.

Bounded: every wait has a deadline; about a minute in all.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import OWN_NODES, skip_under_cluster  # noqa: E402
from cluster import Cluster  # noqa: E402
from cluster_checks import metadata, one_leader, settle  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from records import TrackedWriter, not_retriable  # noqa: E402
from test_reassign import alter, listed  # noqa: E402

TOPIC = "moving"
PARTITIONS = 3
SETTINGS = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500",
            "replica.lag.time.max.ms": "3000", "log.segment.delete.delay.ms": "1000"}
SETTLE_S = 40.0


def layout(node):
    """{partition: (replicas, isr)} of TOPIC on node."""
    return {p[0]: (p[3], p[4]) for p in metadata(node, [TOPIC])[1].get(TOPIC, [])}


def moved(c, node, targets):
    """Whether nothing moves and every partition has its target, in sync."""
    code, moving = listed(c.bootstrap)
    if code != 0 or moving:
        return False
    lay = layout(node)
    return all(lay.get(p, (None, None))[0] == t and sorted(lay[p][1]) == sorted(t)
               for p, t in targets.items())


def dirs_of(node):
    return {d for d in os.listdir(node.data_dir)
            if d.startswith(TOPIC + "-") and not d.endswith("-delete")}


def main():
    t = tap.Tap()
    skip_under_cluster(t, "partition moves under faults", OWN_NODES)
    with Cluster(4, settings=SETTINGS, voters=[1, 2, 3],
                 node_settings={4: {"process.roles": "broker"}}) as c:
        one = c.node(1)
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, replica_assignment=[[1, 2, 3], [2, 3, 1], [3, 1, 2]],
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(30)
        settle(lambda: len(layout(one)) == PARTITIONS or None, "the topic", SETTLE_S)
        w = TrackedWriter(c.bootstrap, TOPIC, PARTITIONS)
        w.start()
        time.sleep(2)

        # 1: onto broker 4, killed while it copies.
        there = {0: [4, 2, 3], 1: [4, 3, 1], 2: [4, 1, 2]}
        _, _, res, _ = alter(c.bootstrap, {TOPIC: [(p, r) for p, r in there.items()]})
        t.eq(sorted(x[0] for x in res.values()), [0, 0, 0], "the moves onto broker 4 accepted")
        four = c.node(4)
        four.kill()
        time.sleep(1)
        code, moving = listed(c.bootstrap)
        t.eq(sorted(moving), [(TOPIC, p) for p in range(PARTITIONS)], "listed while moving")
        t.eq(moving.get((TOPIC, 0), ([], [], []))[1:], ([4], [1]), "adding 4, removing 1")
        four.start()
        t.ok(settle(lambda: moved(c, one, there) or None, "the moves done", SETTLE_S),
             "the moves complete after broker 4 comes back")
        t.ok(settle(lambda: all(f"{TOPIC}-{p}" not in dirs_of(c.node(b))
                                for p, b in ((0, 1), (1, 2), (2, 3))) or None,
                    "the old copies gone", SETTLE_S),
             "the replicas moved away are removed from disk")
        t.eq(dirs_of(four), {f"{TOPIC}-{p}" for p in range(PARTITIONS)}, "broker 4 holds all three")

        # 2: back, the active controller killed as it accepts them.
        back = {0: [1, 2, 3], 1: [2, 3, 1], 2: [3, 1, 2]}
        active = one_leader([c.node(i) for i in (1, 2, 3)])
        _, _, res, _ = alter(c.bootstrap, {TOPIC: [(p, r) for p, r in back.items()]})
        t.eq(sorted(x[0] for x in res.values()), [0, 0, 0], "the moves back accepted")
        c.node(active).kill()
        c.node(active).start()
        t.ok(settle(lambda: moved(c, one, back) or None, "the moves back done", SETTLE_S),
             f"the moves back complete after the active controller ({active}) was killed")

        # 3: a cancel before the new replica is in sync.
        four.term()
        _, _, res, _ = alter(c.bootstrap, {TOPIC: [(0, [4, 2, 3])]})
        t.eq(res[(TOPIC, 0)][0], 0, "a move onto a stopped broker accepted")
        time.sleep(1)
        t.eq(sorted(listed(c.bootstrap)[1]), [(TOPIC, 0)], "it waits for broker 4")
        _, _, res, _ = alter(c.bootstrap, {TOPIC: [(0, None)]})
        t.eq(res[(TOPIC, 0)][0], 0, "cancelled")
        t.ok(settle(lambda: (not listed(c.bootstrap)[1]
                             and sorted(layout(one)[0][0]) == [1, 2, 3]) or None,
                    "the cancel", SETTLE_S), "the replicas go back to 1, 2, 3")
        four.start()

        # 4: every acknowledged record is there.
        time.sleep(1)
        lost, read = w.lost(c.bootstrap, "moves-check")
        t.ok(len(w.acked) > 1000, f"records acknowledged throughout ({len(w.acked)})")
        t.eq(not_retriable(list(w.failed.values())), [], "no delivery failed for good")
        t.eq(lost[:5], [], f"every acknowledged record read back at its offset "
                           f"({len(w.acked)} acknowledged, {read} read)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
