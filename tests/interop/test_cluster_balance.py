#!/usr/bin/env python3
"""The balancer on a running cluster, under an acks=all producer whose every
acknowledged record is checked at the end.

Nodes 1-3 combined (the quorum), node 4 broker-only and started later;
balancer.enable=true with a plan every second and up to 20 moves per
broker at once, balancer.absent.timeout.ms 3 s; the producer writes about
1,000 records of 1 KB a second. A topic of 24 partitions, replication factor 3, min.insync.replicas 2.

1. Broker 4 joins: with no command, it takes replicas of the topic (the
   topic's replicas end within 2 of each other on the four brokers) and
   leaderships (of some topic: the leader goal counts every topic's).
2. `runnel cluster scale --brokers 3`: broker 4 is drained and the command
   returns once it holds nothing (`runnel cluster balance` shows it drained
   and empty); Metadata polled throughout never shows a partition with
   fewer than min.insync.replicas in sync.
3. `runnel cluster scale --brokers 4` lets it back; broker 2 is stopped: past
   the absence timeout its replicas are rebuilt on the others; started
   again, it is filled again.
4. Every acknowledged record is read back at its offset.

Bounded: every wait has a deadline; about 20 s in all.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import OWN_NODES, runnel_bin, skip_under_cluster  # noqa: E402
from cluster import Cluster  # noqa: E402
from cluster_checks import LeastIsr, metadata, settle  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from records import TrackedWriter, not_retriable  # noqa: E402

TOPIC = "balanced"
PARTITIONS = 24
MIN_ISR = 2
SETTINGS = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500",
            "replica.lag.time.max.ms": "3000", "balancer.enable": "true",
            "balancer.interval.ms": "1000", "balancer.absent.timeout.ms": "3000",
            "balancer.moves.per.broker.max": "20", "leader.imbalance.check.interval.seconds": "1"}
SETTLE_S = 60.0


def layout(node):
    return {p[0]: (p[2], p[3], p[4]) for p in metadata(node, [TOPIC])[1].get(TOPIC, [])}


def counts(node, topics=(TOPIC,)):
    """{broker: (replicas, leaders)} over topics (None: every topic)."""
    out = {}
    found = metadata(node, list(topics) if topics else None)[1]
    for p in [p for parts in found.values() for p in parts]:
        leader, replicas = p[2], p[3]
        for r in replicas:
            out.setdefault(r, [0, 0])[0] += 1
        if leader >= 0:
            out.setdefault(leader, [0, 0])[1] += 1
    return {b: tuple(v) for b, v in out.items()}


def cli(c, *args, timeout=120):
    return subprocess.run([runnel_bin(), "cluster", *args, "--bootstrap", c.node(1).bootstrap],
                          capture_output=True, text=True, timeout=timeout)


def main():
    t = tap.Tap()
    skip_under_cluster(t, "the balancer", OWN_NODES)
    c = Cluster(4, settings=SETTINGS, voters=[1, 2, 3],
                node_settings={4: {"process.roles": "broker"}})
    try:
        first = c.nodes[:3]
        for node in first:
            node.start(wait=False)
        Cluster._wait_all_ready(first, time.monotonic() + 60)
        one = c.node(1)
        admin = AdminClient({"bootstrap.servers": one.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3,
                                      config={"min.insync.replicas": str(MIN_ISR)})])[TOPIC].result(30)
        settle(lambda: len(layout(one)) == PARTITIONS or None, "the topic", SETTLE_S)
        w = TrackedWriter(one.bootstrap, TOPIC, PARTITIONS, rate=1000)
        w.start()
        time.sleep(2)

        # 1: broker 4 joins.
        c.node(4).start()
        started = time.monotonic()

        def spread():
            n = counts(one)
            reps = [n.get(b, (0, 0))[0] for b in (1, 2, 3, 4)]
            leads = counts(one, None).get(4, (0, 0))[1]
            return n if max(reps) - min(reps) <= 2 and leads > 0 else None
        got = settle(spread, "replicas and leaders on broker 4", SETTLE_S)
        t.ok(got is not None, f"broker 4 takes replicas of the topic and leaderships by itself "
                              f"({counts(one)}, {time.monotonic() - started:.1f} s; every topic: "
                              f"{counts(one, None)})")

        # 2: scale down to 3.
        watch = LeastIsr(one, TOPIC)
        watch.start()
        r = cli(c, "scale", "--brokers", "3")
        t.ok(r.returncode == 0 and "empty after" in r.stdout,
             "runnel cluster scale --brokers 3 returns once broker 4 is empty", r.stdout + r.stderr)
        t.eq(counts(one, None).get(4, (0, 0)), (0, 0),
             "broker 4 holds no replica and leads nothing, of any topic")
        r = cli(c, "balance", "--json")
        shown = json.loads(r.stdout) if r.returncode == 0 else {}
        four = [b for b in shown.get("brokers", []) if b["id"] == 4]
        t.eq([(b["replicas"], b["leaders"], b["drained"]) for b in four], [(0, 0, True)],
             "runnel cluster balance shows broker 4 drained and empty")
        watch.stopping.set()
        watch.join(5)
        t.ok(watch.least is not None and watch.least >= MIN_ISR,
             f"no partition below min.insync.replicas while it drained (least ISR {watch.least})")

        # 3: back to 4; broker 2 gone past the absence timeout, then back.
        r = cli(c, "scale", "--brokers", "4")
        t.ok(r.returncode == 0, "runnel cluster scale --brokers 4", r.stdout + r.stderr)
        c.node(2).term()
        t.ok(settle(lambda: counts(one).get(2, (0, 0))[0] == 0 or None,
                    "broker 2's replicas rebuilt", SETTLE_S),
             "past the absence timeout, broker 2's replicas are rebuilt on the others")
        full = settle(lambda: all(len(isr) == 3 for _, _, isr in layout(one).values()) or None,
                      "full ISRs without broker 2", SETTLE_S)
        t.ok(full, "every partition back to three in-sync replicas without broker 2")
        c.node(2).start()
        t.ok(settle(lambda: counts(one).get(2, (0, 0))[0] > 0 or None, "broker 2 filled",
                    SETTLE_S), f"broker 2 back is filled again ({counts(one)})")

        # 4: nothing acknowledged is lost.
        lost, read = w.lost(one.bootstrap, "balance-check")
        t.ok(len(w.acked) > 1000, f"records acknowledged throughout ({len(w.acked)})")
        t.eq(not_retriable(list(w.failed.values())), [], "no delivery failed for good")
        t.eq(lost[:5], [], f"every acknowledged record read back at its offset "
                           f"({len(w.acked)} acknowledged, {read} read)")
    finally:
        c.stop()
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
