#!/usr/bin/env python3
"""The balancer under load, with the replication verifier's producer, group
and checks (replication_verify.py) on a topic of --partitions partitions:

    tests/bench/balance_verify.py [--partitions 300] [--gb 3] [--rate 2000]

Three combined nodes hold the topic (replication factor 3,
min.insync.replicas 2) and --gb GB of data; an idempotent acks=all producer
(--rate records a second) and a committing consumer group run throughout.

1. Once the group has read the filler, for --baseline seconds nothing
   moves: the produce latencies of that window are the reference.
2. Broker 4 (broker-only) starts: the balancer moves replicas and leaders
   onto it with no command. Printed: the time until the balancer's last
   plan found every goal met with no move in flight, the bytes broker 4
   holds against its fair share (a quarter of all replicas' bytes), and the
   produce latencies while it moved.
3. `runnel cluster scale --brokers 3`: broker 4 drains; Metadata polled
   every 0.2 s must never show a partition with fewer than
   min.insync.replicas in sync.
4. The verifier's checks: every acknowledged record read back at its offset
   with its bytes, once and in order; nothing the group read gone; commits
   never back.

Figures are printed, never judged; a broken check exits 1. Every wait is
bounded.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop", "lib"))
import figlib  # noqa: E402
import replication_verify as rv  # noqa: E402
from broker import runnel_bin  # noqa: E402
from cluster import Cluster  # noqa: E402
from cluster_checks import LeastIsr, metadata  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

say = figlib.say
MIN_ISR = 2


class Timed(rv.Produced):
    """The verifier's producer, keeping each acknowledgement's latency."""

    def __init__(self, bootstrap, rate):
        self.latencies = []  # (monotonic time, seconds)
        super().__init__(bootstrap, rate)

    def _done(self, err, msg):
        super()._done(err, msg)
        if err is None and msg.latency() is not None:
            self.latencies.append((time.monotonic(), msg.latency()))

    def window(self, t0, t1):
        return [lat for at, lat in list(self.latencies) if t0 <= at < t1]


def p99(values):
    if len(values) < 100:
        return float("nan")
    return statistics.quantiles(values, n=100)[98] * 1000


def fill(bootstrap, gb, partitions):
    """Writes gb GB of 10 KB records over the partitions, acks=1, as fast
    as the cluster takes them."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 20,
                  "batch.size": 1 << 20, "queue.buffering.max.kbytes": 1 << 20, "log_level": 0})
    value = os.urandom(10240)
    total, n, t0 = int(gb * 1e9), 0, time.monotonic()
    while n * len(value) < total:
        try:
            p.produce(rv.TOPIC, value=value, partition=n % partitions)
            n += 1
        except BufferError:
            p.poll(0.05)
    left = p.flush(600)
    if left:
        raise RuntimeError(f"{left} filler records unanswered")
    say(f"filled {n * len(value) / 1e9:.2f} GB in {time.monotonic() - t0:.0f} s")
    return n


def metric(node, name):
    text = urllib.request.urlopen(f"http://{node.settings['admin.listener']}/metrics",
                                  timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def plans(c):
    """Plans made so far by the voters (only the active one plans)."""
    return sum(metric(c.node(i), "runnel_balancer_plans_total") for i in (1, 2, 3))


def balanced(c):
    """Whether the active controller's last plan found every goal met and
    nothing moves."""
    for i in (1, 2, 3):
        node = c.node(i)
        if metric(node, "runnel_balancer_plans_total") > 0 and \
                metric(node, "runnel_balancer_balanced") == 1 and \
                metric(node, "runnel_balancer_moves_in_flight") == 0:
            return True
    return False


def holds(node, broker):
    """Replicas of the topic on broker, as node's Metadata says."""
    parts = metadata(node, [rv.TOPIC])[1].get(rv.TOPIC, [])
    return sum(broker in p[3] for p in parts)


def run(args):
    rv.TOPIC, rv.GROUP, rv.PARTITIONS = "balanced", "balance-verifier", args.partitions
    settings = {"balancer.enable": "true", "balancer.interval.ms": "2000",
                "leader.imbalance.check.interval.seconds": "5"}
    c = Cluster(4, settings=settings, voters=[1, 2, 3],
                node_settings={4: {"process.roles": "broker"}})
    problems, produced, group, watch = [], None, None, None
    try:
        first = c.nodes[:3]
        for node in first:
            node.start(wait=False)
        Cluster._wait_all_ready(first, time.monotonic() + 120)
        one = c.node(1)
        admin = AdminClient({"bootstrap.servers": one.bootstrap, "log_level": 0})
        admin.create_topics([NewTopic(rv.TOPIC, args.partitions, 3,
                                      config={"min.insync.replicas": str(MIN_ISR)})])[rv.TOPIC].result(60)
        time.sleep(3)
        filled = fill(one.bootstrap, args.gb, args.partitions)
        produced = Timed(one.bootstrap, args.rate)
        group = rv.Group(one.bootstrap, 0.5)
        watch = rv.CommitWatch(one.bootstrap)
        # the group first reads the filler: the reference window starts
        # once it is through (at most --settle seconds)
        warm = time.monotonic() + args.settle
        while time.monotonic() < warm and len(group.read) < filled:
            time.sleep(1)
        base0 = time.monotonic()
        time.sleep(args.baseline)
        base1 = time.monotonic()

        c.node(4).start()
        joined = time.monotonic()
        deadline = joined + args.settle
        while time.monotonic() < deadline and holds(one, 4) == 0:
            time.sleep(0.5)
        seen_plans = plans(c)
        while time.monotonic() < deadline and not (plans(c) > seen_plans and balanced(c)):
            watch.check(group, "balancing")
            time.sleep(1)
        done = time.monotonic()
        if done >= deadline:
            problems.append(f"not balanced within {args.settle} s")
        size4 = figlib.du_bytes(c.node(4).data_dir)
        sizes = [figlib.du_bytes(c.node(i).data_dir) for i in (1, 2, 3)]
        fair = (sum(sizes) + size4) / 4
        base, moving = produced.window(base0, base1), produced.window(joined, done)
        say(f"balanced {done - joined:.1f} s after broker 4 started; broker 4 holds "
            f"{size4 / 1e9:.2f} GB, its fair share {fair / 1e9:.2f} GB "
            f"({size4 / fair:.2f} of it); produce p99 {p99(base):.1f} ms before "
            f"(n={len(base)}), {p99(moving):.1f} ms while moving (n={len(moving)})")

        isr = LeastIsr(one, rv.TOPIC)
        isr.start()
        t0 = time.monotonic()
        r = subprocess.run([runnel_bin(), "cluster", "scale", "--brokers", "3", "--bootstrap",
                            one.bootstrap, "--wait-ms", str(int(args.settle * 1000))],
                           capture_output=True, text=True, timeout=args.settle + 60)
        isr.stopping.set()
        isr.join(5)
        scaled = produced.window(t0, time.monotonic())
        say(f"scale --brokers 3: exit {r.returncode} after {time.monotonic() - t0:.1f} s "
            f"({r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()}); "
            f"least ISR seen {isr.least}; produce p99 {p99(scaled):.1f} ms (n={len(scaled)})")
        if r.returncode != 0:
            problems.append("runnel cluster scale --brokers 3 failed")
        if isr.least is None or isr.least < MIN_ISR:
            problems.append(f"a partition went below min.insync.replicas ({isr.least})")

        left = produced.finish(120)
        group.finish()
        watch.check(group, "the end")
        say(f"{produced.sent:,} records sent, {len(produced.acked):,} acknowledged; failed: "
            f"{produced.failed or 'none'}; {left} unanswered")
        ends = {p: 1 + max([o for (q, o) in produced.acked if q == p] +
                           [o for (q, o) in group.read if q == p] + [-1])
                for p in range(args.partitions)}
        # the filler's 10 KB records are read too; the verifier's are short
        seen = rv.read_all(one.bootstrap, ends, args.settle)
        seen = {k: v for k, v in seen.items() if len(v) < 64}
        group.read = {k: v for k, v in group.read.items() if len(v) < 64}
        rv.check(produced, group, seen, problems)
        problems.extend(watch.problems)
    finally:
        if watch is not None:
            watch.close()
        c.stop()
    for p in problems:
        say(f"PROBLEM: {p}")
    say("FAILED" if problems else "every check held")
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partitions", type=int, default=300)
    ap.add_argument("--gb", type=float, default=3.0)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--baseline", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=900.0)
    sys.exit(run(ap.parse_args()))


if __name__ == "__main__":
    main()
