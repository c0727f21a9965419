#!/usr/bin/env python3
"""Partition data is replicated: three runnel nodes, a topic of replication
factor 3 and min.insync.replicas 2, one idempotent acks=all producer.

- Every acknowledged record is on every replica: once the followers have
  caught up, each partition's log files hold the same bytes on all three
  nodes (followers append the leader's batches as they are).
- The leader of a partition is SIGKILLed while the same producer goes on:
  a new leader is elected from the ISR, and every record acknowledged
  before or after the kill is read back exactly once, at the offset it was
  acknowledged with, in order.
- The killed node starts again and catches up as a follower: its logs end
  up byte for byte the leader's, and the leaders take it back into every
  ISR (AlterPartition).
- Two of the three brokers stop one after the other (SIGTERM: each is
  fenced and leaves the ISR first, the second once the first is out); the
  last one answers an acks=all Produce with NOT_ENOUGH_REPLICAS and
  acknowledges nothing, and its log does not grow.

A second cluster, one partition:

- Its leader is paused (SIGSTOP) past broker.session.timeout.ms while the
  producer goes on: the controller fences it, another ISR member leads and
  acknowledges; resumed (SIGCONT), the old leader learns it lost
  leadership, follows, ends up byte for byte the new leader's log and
  rejoins the ISR; every acknowledged record is read back once.
- A follower's data folder is wiped (a replaced disk) and the node started
  again: it fetches the whole log, rejoins the ISR, nothing is lost.

Runnel only (the cluster harness runs Runnel). Bounded: every wait has a
deadline; about a minute in all."""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import one_leader, settle  # noqa: E402
from confluent_kafka import Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from records import consume_from_start, produce_tracked  # noqa: E402

NODES = 3
TOPIC = "replicated"
PARTITIONS = 3
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
SETTLE_S = 30.0
NOT_ENOUGH_REPLICAS = 19


def log_bytes(node, partition, topic=TOPIC):
    """The concatenated .log segment files of topic-partition on node."""
    d = os.path.join(node.data_dir, f"{topic}-{partition}")
    if not os.path.isdir(d):
        return b""
    out = b""
    for name in sorted(os.listdir(d)):
        if name.endswith(".log"):
            with open(os.path.join(d, name), "rb") as f:
                out += f.read()
    return out


def same_logs(nodes, topic=TOPIC, partitions=PARTITIONS):
    """Whether every partition's log bytes are equal on the nodes given."""
    for p in range(partitions):
        first = log_bytes(nodes[0], p, topic)
        if not first or any(log_bytes(n, p, topic) != first for n in nodes[1:]):
            return False
    return True


def leaders(admin, topic=TOPIC):
    md = admin.list_topics(topic, timeout=10)
    return {p: pm.leader for p, pm in md.topics[topic].partitions.items()}, \
        {p: sorted(pm.isrs) for p, pm in md.topics[topic].partitions.items()}


def values(start, count):
    return [(i % PARTITIONS, b"r-%06d" % i) for i in range(start, start + count)]


def check_read_back(t, bootstrap, acked, what, topic=TOPIC, partitions=PARTITIONS):
    seen, _ = consume_from_start(bootstrap, topic, partitions, f"check-{time.time()}")
    where = {}
    dup = 0
    for value, pos in seen:
        dup += value in where
        where[value] = pos
    lost = [v for v in acked if v not in where]
    moved = [v for v in acked if v in where and where[v] != acked[v]]
    t.ok(not lost and not moved and dup == 0,
         f"{what}: {len(acked)} acknowledged records read back once each at their offsets",
         f"lost {len(lost)} {lost[:3]}, moved {len(moved)} {moved[:3]}, duplicates {dup}")
    in_order = all(seen[i][1][1] < seen[i + 1][1][1] for i in range(len(seen) - 1)
                   if seen[i][1][0] == seen[i + 1][1][0])
    t.ok(in_order, f"{what}: each partition read in offset order")


def produce_raw(node, acks):
    """One record produced to partition 0 of TOPIC with acks, on node: its
    error code."""
    batch = kwire.record_batch([b"not-acknowledged"])
    with kwire.Conn(node.bootstrap) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, TOPIC, 0, batch, acks=acks,
                                                       timeout_ms=5000))
    return kwire.parse_produce(body, 7)[0][2]


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(20)
        settle(lambda: len(leaders(admin)[0]) == PARTITIONS or None, "topic shown", SETTLE_S)
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 5})
        acked, failed = {}, {}
        produce_tracked(p, TOPIC, values(0, 3000), acked, failed, 30)
        t.ok(len(acked) == 3000 and not failed, "3000 records acknowledged with acks=all",
             f"acked {len(acked)}, failed {len(failed)}")
        nodes = [c.node(i) for i in range(1, NODES + 1)]
        t.ok(settle(lambda: same_logs(nodes) or None, "logs equal", SETTLE_S),
             "every partition's log holds the same bytes on the three nodes")

        lead, isr = leaders(admin)
        victim = lead[0]
        c.node(victim).kill()
        start = time.monotonic()
        produce_tracked(p, TOPIC, values(3000, 3000), acked, failed, 60)
        t.ok(len(acked) == 6000 and not failed,
             f"leader {victim} SIGKILLed: the producer goes on, 6000 acknowledged",
             f"acked {len(acked)}, failed {len(failed)} in {time.monotonic() - start:.1f}s")
        lead, isr = leaders(admin)
        t.ok(victim not in lead.values() and all(victim not in i for i in isr.values()),
             "the killed broker leads nothing and is in no ISR", f"leaders {lead}, isr {isr}")
        check_read_back(t, c.bootstrap, acked, "after the kill")

        c.node(victim).start()
        t.ok(settle(lambda: same_logs(nodes) or None, "logs equal", SETTLE_S),
             f"node {victim} started again catches up: its logs are the leader's, byte for byte")
        back = settle(lambda: all(len(i) == NODES for i in leaders(admin)[1].values()) or None,
                      "full ISRs", SETTLE_S)
        t.ok(back, f"node {victim} is back in every partition's ISR", f"isr {leaders(admin)[1]}")

        survivor = lead[0]
        others = [n for n in range(1, NODES + 1) if n != survivor]
        shrunk = True
        for k, n in enumerate(others):
            # As an operator rolls a cluster: the next stop once the
            # remaining nodes agree on an active controller again.
            one_leader([c.node(i) for i in [survivor] + others[k:]],
                       other_than=others[k - 1] if k else None)
            c.node(n).term()
            want = sorted([survivor] + others[k + 1:])
            shrunk &= bool(settle(lambda: leaders(admin)[1][0] == want or None,
                                  f"ISR {want}", SETTLE_S))
        t.ok(shrunk, "each stopped broker left partition 0's ISR before the next stopped",
             f"isr {leaders(admin)[1]}")
        end_before = len(log_bytes(c.node(survivor), 0))
        code = produce_raw(c.node(survivor), -1)
        t.ok(code == NOT_ENOUGH_REPLICAS,
             "two of three brokers stopped: acks=all is refused with NOT_ENOUGH_REPLICAS",
             f"error code {code}")
        t.ok(len(log_bytes(c.node(survivor), 0)) == end_before,
             "and nothing was appended for it")
        p.flush(1)


PAUSED = "paused"


def full_isr(admin):
    return all(len(i) == NODES for i in leaders(admin, PAUSED)[1].values()) or None


def live_admin(c, paused):
    """An admin client of the nodes but `paused` (whose silence would hold
    its requests until they time out)."""
    live = [c.node(i).bootstrap for i in range(1, NODES + 1) if i != paused]
    return AdminClient({"bootstrap.servers": ",".join(live)})


def scenario_pause_and_wipe(t):
    with Cluster(NODES, SETTINGS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(PAUSED, 1, 3,
                                      config={"min.insync.replicas": "2"})])[PAUSED].result(20)
        settle(lambda: full_isr(admin), "full ISR", SETTLE_S)
        # A paused leader keeps its connections open: the producer moves on
        # once its request there times out on the client's side
        # (librdkafka's socket.timeout.ms, 60 s by default).
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 5,
                      "request.timeout.ms": 5000, "socket.timeout.ms": 6000})
        acked, failed = {}, {}
        batch = [(0, b"p-%06d" % i) for i in range(500)]
        produce_tracked(p, PAUSED, batch, acked, failed, 30)
        nodes = [c.node(i) for i in range(1, NODES + 1)]
        old = leaders(admin, PAUSED)[0][0]
        os.kill(c.node(old).pid, signal.SIGSTOP)
        try:
            batch = [(0, b"p-%06d" % i) for i in range(500, 1000)]
            produce_tracked(p, PAUSED, batch, acked, failed, 60)
            new = leaders(live_admin(c, old), PAUSED)[0][0]
            t.ok(len(acked) == 1000 and not failed and new != old,
                 f"leader {old} paused past the session timeout: broker {new} leads, "
                 "1000 acknowledged", f"acked {len(acked)}, failed {len(failed)}, leader {new}")
        finally:
            os.kill(c.node(old).pid, signal.SIGCONT)
        t.ok(settle(lambda: same_logs(nodes, PAUSED, 1) or None, "logs equal", SETTLE_S),
             f"resumed, broker {old} follows: its log is the new leader's, byte for byte")
        t.ok(settle(lambda: full_isr(admin), "full ISR", SETTLE_S),
             f"and broker {old} is back in the ISR", f"isr {leaders(admin, PAUSED)[1]}")
        check_read_back(t, c.bootstrap, acked, "after the pause", PAUSED, 1)

        lead = leaders(admin, PAUSED)[0][0]
        wiped = next(i for i in range(1, NODES + 1) if i != lead)
        c.node(wiped).term()
        c.node(wiped).wipe()
        c.node(wiped).start()
        t.ok(settle(lambda: same_logs(nodes, PAUSED, 1) or None, "logs equal", SETTLE_S),
             f"broker {wiped}'s folder wiped: started again, it fetches the whole log")
        t.ok(settle(lambda: full_isr(admin), "full ISR", SETTLE_S),
             f"and rejoins the ISR", f"isr {leaders(admin, PAUSED)[1]}")
        check_read_back(t, c.bootstrap, acked, "after the wipe", PAUSED, 1)
        p.flush(1)


if __name__ == "__main__":
    run_scenarios("replication", scenario, scenario_pause_and_wipe)
