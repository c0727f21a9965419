#!/usr/bin/env python3
"""Three runnel nodes register their brokers with the active controller and
clients see the whole cluster: every node's Metadata lists the three brokers;
topics with 6 partitions and replication factor 3, created through any node
(confluent-kafka's AdminClient and `runnel topic create`), show replicas on
the three brokers and leaders spread over them, from every node; a node
answers ListOffsets for a partition it does not lead with
NOT_LEADER_OR_FOLLOWER; producing and consuming through confluent-kafka
follows the leaders; a broker stopped (SIGSTOP) past broker.session.timeout.ms
is fenced: gone from Metadata, its leaderships moved to ISR members; resumed
(SIGCONT), it is unfenced and listed again; producing and consuming still
works, the moved leaderships included.

Partition data is not replicated yet: a leadership moved by a fence serves
that broker's own (here empty) log. Runnel only (the cluster harness runs
Runnel). Bounded: every wait has a deadline; about 30 s in all."""

import os
import re
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import kafka_request, runnel_bin, target  # noqa: E402
from cluster import Cluster  # noqa: E402
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
SETTLE_S = 20.0
NOT_LEADER_OR_FOLLOWER = 6


def wait_for(t, what, fn, timeout=SETTLE_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # a node still starting or stopped
            last = e
        time.sleep(0.2)
    t.diag(f"{what}: gave up, last {last!r}")
    return None


def metadata(node, topics=None):
    """Metadata v1 from one node: ({broker id: (host, port)},
    {topic: [(partition, error, leader, replicas, isr)]})."""
    body = struct.pack(">i", -1) if topics is None else (
        struct.pack(">i", len(topics)) +
        b"".join(struct.pack(">h", len(x)) + x.encode() for x in topics))
    r = Reader(kafka_request(node.bootstrap, 3, 1, body))
    brokers = r.array(lambda rr: (rr.i32(), rr.string(), rr.i32(), rr.string())) or []
    r.i32()  # controller id

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        return idx, err, leader, rr.array(Reader.i32) or [], rr.array(Reader.i32) or []

    def topic(rr):
        err, name, _internal = rr.i16(), rr.string(), rr.i8()
        return name, sorted(rr.array(part) or [])

    return ({b[0]: (b[1], b[2]) for b in brokers}, dict(r.array(topic) or []))


def brokers_on(node):
    return set(metadata(node, [])[0])


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


def active_controller(node):
    """The active controller this node's log named last, or None."""
    seen = None
    with open(node.log_path, errors="replace") as f:
        for line in f:
            m = re.search(r"active controller: node (\d+)", line)
            if m:
                seen = int(m.group(1))
    return seen


def placed_on_all(t, c, name):
    """From every node: 6 partitions, replicas and ISR on brokers 1-3,
    leaders spread two per broker."""
    def check():
        views = [metadata(n, [name])[1].get(name) for n in c.nodes]
        if any(not v or len(v) != 6 for v in views):
            return None
        for v in views:
            for _idx, err, leader, replicas, isr in v:
                if err or sorted(replicas) != [1, 2, 3] or sorted(isr) != [1, 2, 3]:
                    return None
                if leader not in replicas:
                    return None
        leaders = sorted(p[2] for p in views[0])
        return leaders if leaders == [1, 1, 2, 2, 3, 3] else None
    return wait_for(t, f"{name} placed on every broker", check)


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
        want = {n.node_id: ("127.0.0.1", n.port) for n in c.nodes}
        ok = wait_for(t, "3 brokers on every node",
                      lambda: all(metadata(n, [])[0] == want for n in c.nodes))
        t.ok(ok, "every node's Metadata lists the 3 brokers with their advertised host:port")

        admin = AdminClient({"bootstrap.servers": c.node(2).bootstrap})
        futures = admin.create_topics([NewTopic("spread", 6, 3)], request_timeout=15)
        futures["spread"].result(20)
        leaders = placed_on_all(t, c, "spread")
        t.ok(leaders, f"a 6-partition RF 3 topic created through node 2 (AdminClient): every "
             f"node shows replicas and ISR on brokers 1-3, leaders two per broker ({leaders})")

        cli = subprocess.run([runnel_bin(), "topic", "create", "-b", c.node(3).bootstrap,
                              "--partitions", "6", "--replication-factor", "3", "spread-cli"],
                             capture_output=True, text=True, timeout=30)
        t.ok(cli.returncode == 0, f"runnel topic create through node 3 ({cli.stdout.strip()} "
             f"{cli.stderr.strip()})")
        t.ok(placed_on_all(t, c, "spread-cli"), "and it is placed on the 3 brokers too")

        parts = metadata(c.node(1), ["spread"])[1]["spread"]
        idx, _err, leader, _replicas, _isr = parts[0]
        other = next(n for n in c.nodes if n.node_id != leader)
        t.eq(list_offsets_error(other, "spread", idx), NOT_LEADER_OR_FOLLOWER,
             f"ListOffsets for spread-{idx} on node {other.node_id}, not its leader: "
             f"NOT_LEADER_OR_FOLLOWER")
        t.eq(list_offsets_error(c.node(leader), "spread", idx), 0, "and 0 on its leader")

        produce_consume(t, c, "spread")

        ctl = active_controller(c.node(1))
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
            ok = wait_for(t, "the stopped broker fenced", fenced, timeout=SESSION_MS / 1000 + 15)
            t.diag(f"fenced {time.monotonic() - stopped:.1f}s after SIGSTOP "
                   f"(broker.session.timeout.ms={SESSION_MS})")
            t.ok(ok, f"broker {victim.node_id} stopped past broker.session.timeout.ms: gone "
                 f"from Metadata, the partitions it led ({led}) led by ISR members")
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        back = wait_for(t, "the resumed broker listed again",
                        lambda: victim.node_id in brokers_on(watcher))
        t.ok(back, f"resumed (SIGCONT), broker {victim.node_id} is unfenced and listed again")
        # The new leaders stamp and check the bumped leader epoch: clients
        # that name it (Fetch v9+) are served, on the moved partitions too.
        produce_consume(t, c, "spread-cli")


def main():
    t = tap.Tap()
    if target() != "runnel":
        t.skip("a three-node Runnel cluster", "the cluster harness runs Runnel only")
    else:
        t.run(scenario)
    t.done()


if __name__ == "__main__":
    main()
