#!/usr/bin/python3
"""Consumer groups under failures, with member processes (librdkafka via
confluent-kafka, each member its own process, started by this file with
--member):

- SIGKILL one member of three over 12 partitions: its partitions move to the
  other two within the session timeout, and every record is consumed;
- restart the broker under a running group: the group re-forms and every
  record is consumed, re-reading at most the uncommitted tail;
- a static member (group.instance.id) killed and restarted within its
  session timeout gets its partitions back with no rebalance of the others;
- figures (printed as TAP diagnostics): time from a member's death to a
  stable group, and from a new member's join to a stable group, 3 members
  over 12 partitions.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))

SESSION_MS = 6000
PARTITIONS = 12
COMMIT_EVERY = 20


# -- a member process -------------------------------------------------------------

def member_main(bootstrap, topic, group, instance):
    """Consumes, commits every COMMIT_EVERY records, prints events as JSON lines."""
    from confluent_kafka import Consumer

    def emit(**ev):
        ev["t"] = time.time()
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()

    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 300, "partition.assignment.strategy": "range",
            "topic.metadata.refresh.interval.ms": 1000}
    if instance != "-":
        conf["group.instance.id"] = instance
    c = Consumer(conf)
    c.subscribe([topic],
                on_assign=lambda _c, parts: emit(ev="assign", parts=[p.partition for p in parts]),
                on_revoke=lambda _c, parts: emit(ev="revoke", parts=[p.partition for p in parts]))
    emit(ev="started")
    uncommitted = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while not stop:
        m = c.poll(0.1)
        if m is None or m.error():
            continue
        emit(ev="rec", v=m.value().decode(), p=m.partition(), o=m.offset())
        uncommitted += 1
        if uncommitted >= COMMIT_EVERY:
            try:
                c.commit(asynchronous=False)
                uncommitted = 0
            except Exception as e:  # a rebalance or a restarting broker
                emit(ev="commit-error", err=str(e))
    c.commit(asynchronous=False) if uncommitted else None
    c.close()


if len(sys.argv) > 1 and sys.argv[1] == "--member":
    member_main(*sys.argv[2:6])
    sys.exit(0)

from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
from confluent_kafka import Producer  # noqa: E402


class Member:
    """A member process and the events it printed."""

    def __init__(self, bootstrap, topic, group, name, instance="-"):
        self.name = name
        self.events = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--member", bootstrap, topic, group,
             instance], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append(ev)

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def assignment(self):
        """The partitions owned now, from the assign/revoke events (eager)."""
        owned = set()
        for ev in self.snapshot():
            if ev["ev"] == "assign":
                owned = set(ev["parts"])
            elif ev["ev"] == "revoke":
                owned -= set(ev["parts"])
        return owned

    def records(self):
        return [ev["v"] for ev in self.snapshot() if ev["ev"] == "rec"]

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)




def produce(bootstrap, topic, first, count):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(first, first + count):
        p.produce(topic, str(i).encode(), partition=i % PARTITIONS)
    p.flush(30)


def wait_split(members, timeout_s):
    """Waits until members' assignments are a partition of the 12 among them
    all (each non-empty); returns the time.time() it happened, or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sets = [m.assignment() for m in members]
        flat = sorted(p for s in sets for p in s)
        if flat == list(range(PARTITIONS)) and all(sets):
            last = max(ev["t"] for m in members for ev in m.snapshot() if ev["ev"] == "assign")
            return last
        time.sleep(0.05)
    return None


def wait_records(members, want, timeout_s, extra=()):
    deadline = time.monotonic() + timeout_s
    got = set()
    while time.monotonic() < deadline:
        got = set(extra)
        for m in members:
            got.update(m.records())
        if got >= want:
            return got
        time.sleep(0.1)
    return got


def test_sigkill_one_of_three(t, bootstrap, figures):
    topic, group = "failover-kill", "g-kill"
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 0, 1200)
    members = [Member(bootstrap, topic, group, f"m{i}") for i in range(2)]
    try:
        t.ok(wait_split(members, 60) is not None, "two members split the 12 partitions")
        t0 = time.time()
        members.append(Member(bootstrap, topic, group, "m2"))
        stable = wait_split(members, 60)
        t.ok(stable is not None, "a third member joins: three members split the 12 partitions")
        if stable:
            figures.append(f"new member's start to a stable group of 3 over 12 partitions: "
                           f"{stable - t0:.2f}s (process start and client bootstrap included)")
        wait_records(members, {str(i) for i in range(1200)}, 60)
        victim = members.pop(1)
        lost = victim.assignment()
        before = set(victim.records())
        t0 = time.time()
        victim.kill()
        produce(bootstrap, topic, 1200, 1200)
        stable = wait_split(members, SESSION_MS / 1000 + 30)
        t.ok(stable is not None, "SIGKILL of one member: the other two take all 12 partitions")
        if stable:
            t.ok(stable - t0 <= SESSION_MS / 1000 + 5,
                 "its partitions moved within the session timeout (+ a rebalance)",
                 f"{stable - t0:.2f}s")
            figures.append(f"member's death (SIGKILL) to a stable group of 2 over 12 partitions: "
                           f"{stable - t0:.2f}s with session.timeout.ms={SESSION_MS}")
        survivors = set()
        for m in members:
            survivors |= m.assignment()
        t.ok(lost <= survivors, "the dead member's partitions are owned again", f"{sorted(lost)}")
        want = {str(i) for i in range(2400)}
        got = wait_records(members, want, 60, extra=before)
        t.eq(len(want - got), 0, "every record consumed (nothing lost)")
    finally:
        for m in members:
            m.stop()


def test_broker_restart(t, broker):
    topic, group = "failover-restart", "g-restart"
    bootstrap = broker.bootstrap
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 0, 1200)
    members = [Member(bootstrap, topic, group, f"r{i}") for i in range(3)]
    try:
        t.ok(wait_split(members, 60) is not None, "three members split the 12 partitions")
        wait_records(members, {str(i) for i in range(1200)}, 60)
        time.sleep(1)  # let the last commits land
        broker.restart()
        produce(bootstrap, topic, 1200, 1200)
        want = {str(i) for i in range(2400)}
        got = wait_records(members, want, 90)
        t.eq(len(want - got), 0, "after a broker restart the group re-forms and consumes everything")
        reads = [v for m in members for v in m.records()]
        dup = len(reads) - len(set(reads))
        t.ok(dup <= COMMIT_EVERY * PARTITIONS,
             "records read twice stay within the uncommitted tail", f"{dup} duplicates")
    finally:
        for m in members:
            m.stop()


def test_static_rejoin(t, bootstrap):
    topic, group = "failover-static", "g-static"
    create_topic(bootstrap, topic, PARTITIONS)
    members = [Member(bootstrap, topic, group, f"s{i}", instance=f"inst-{i}") for i in range(3)]
    try:
        t.ok(wait_split(members, 60) is not None, "three static members split the 12 partitions")
        time.sleep(1)
        others_before = [len(m.snapshot()) for m in (members[0], members[2])]
        mine = members[1].assignment()
        members[1].kill()
        time.sleep(1)
        members[1] = Member(bootstrap, topic, group, "s1b", instance="inst-1")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not members[1].assignment():
            time.sleep(0.05)
        t.eq(members[1].assignment(), mine, "the restarted static member gets its partitions back")
        time.sleep(2)
        churn = [ev for m, n in zip((members[0], members[2]), others_before)
                 for ev in m.snapshot()[n:] if ev["ev"] in ("assign", "revoke")]
        t.eq(churn, [], "the other members saw no rebalance")
    finally:
        for m in members:
            m.stop()


def main():
    t = Tap("consumer groups: member death, broker restart, static membership")
    figures = []
    with Broker({"group.initial.rebalance.delay.ms": 0}) as b:
        t.run(test_sigkill_one_of_three, b.bootstrap, figures)
        t.run(test_static_rejoin, b.bootstrap)
        t.run(test_broker_restart, b)
    for f in figures:
        t.diag("figure: " + f)
    t.done()


if __name__ == "__main__":
    main()
