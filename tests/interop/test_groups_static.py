#!/usr/bin/python3
"""Static group membership (KIP-345) with librdkafka (confluent-kafka) members:

Two members with `group.instance.id` share a 6-partition topic. One of them
closes (a static member sends no LeaveGroup) and a new process-like consumer
with the same instance id starts within the session timeout. The group must
not rebalance: the other member sees no revoke or assign callback, and the
restarted one gets back exactly the partitions it had; member ids start with
the instance id (DescribeGroups). Run for the follower
and for the leader, with the eager `range` assignor and with
`cooperative-sticky` (whose subscription metadata names the partitions a
member owns, so the restarted member's metadata differs from the stored one).
Then a static member that stays away past its session timeout is removed and
the other member gets every partition.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

from confluent_kafka import Consumer  # noqa: E402
from kafka.admin import KafkaAdminClient  # noqa: E402

PARTITIONS = 6
SESSION_MS = 10000
SETTINGS = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
TIMEOUT_S = 60
QUIET_S = 4  # after the restart: 8 heartbeat intervals with no rebalance


class Member:
    """A static consumer that records its rebalance callbacks."""

    def __init__(self, bootstrap, group, instance, strategy):
        self.events = []
        self.owned = set()
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap, "group.id": group,
            "group.instance.id": instance, "partition.assignment.strategy": strategy,
            "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
            "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        self.incremental = strategy == "cooperative-sticky"

    def subscribe(self, topic):
        self.consumer.subscribe([topic], on_assign=self._assign, on_revoke=self._revoke)

    def _assign(self, consumer, parts):
        self.events.append(("assign", sorted(tp.partition for tp in parts)))
        if not self.incremental:
            self.owned = set()
        self.owned |= {tp.partition for tp in parts}

    def _revoke(self, consumer, parts):
        self.events.append(("revoke", sorted(tp.partition for tp in parts)))
        self.owned -= {tp.partition for tp in parts}

    def poll(self):
        self.consumer.poll(0.05)

    def close(self):
        self.consumer.close()


def poll_until(members, cond, timeout_s=TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for m in members:
            m.poll()
        if cond():
            return True
    return False


def poll_for(members, seconds):
    poll_until(members, lambda: False, seconds)


def stable_pair(bootstrap, topic, group, strategy):
    """Starts a (first, the leader) then b; returns both once the 6
    partitions are split between them and the group has settled."""
    a = Member(bootstrap, group, "static-a", strategy)
    a.subscribe(topic)
    if not poll_until([a], lambda: len(a.owned) == PARTITIONS):
        raise RuntimeError("the first member never got every partition")
    b = Member(bootstrap, group, "static-b", strategy)
    b.subscribe(topic)
    if not poll_until([a, b], lambda: len(a.owned) + len(b.owned) == PARTITIONS
                      and a.owned and b.owned):
        raise RuntimeError(f"no split: a={sorted(a.owned)} b={sorted(b.owned)}")
    poll_for([a, b], 2)  # a cooperative second round, if any
    return a, b


def member_ids(bootstrap, group):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return sorted(m.member_id for m in admin.describe_consumer_groups([group])[0].members)
    finally:
        admin.close()


def test_restart(t, bootstrap, strategy, who):
    topic = f"static-{strategy}-{who}"
    group = f"g-static-{strategy}-{who}"
    create_topic(bootstrap, topic, PARTITIONS)
    a, b = stable_pair(bootstrap, topic, group, strategy)
    leaving, staying = (a, b) if who == "leader" else (b, a)
    instance = "static-a" if leaving is a else "static-b"
    before = sorted(leaving.owned)
    staying_before = sorted(staying.owned)
    staying.events.clear()
    started = time.monotonic()
    leaving.close()
    back = Member(bootstrap, group, instance, strategy)
    back.subscribe(topic)
    try:
        got = poll_until([staying, back], lambda: sorted(back.owned) == before)
        took = time.monotonic() - started
        poll_for([staying, back], QUIET_S)
        t.ok(got, f"{strategy}, {who} restarted: gets its partitions {before} back "
             f"(has {sorted(back.owned)})")
        t.ok(took < SESSION_MS / 1000, f"{strategy}, {who} restarted: back within the session "
             f"timeout ({took:.2f} s)")
        t.eq(staying.events, [], f"{strategy}, {who} restarted: the other member sees no "
             "rebalance callback")
        t.eq(sorted(staying.owned), staying_before,
             f"{strategy}, {who} restarted: the other member keeps its partitions")
        t.eq([e for e in back.events if e[0] == "revoke"], [],
             f"{strategy}, {who} restarted: no revoke on the restarted member")
        ids = member_ids(bootstrap, group)
        t.ok(len(ids) == 2 and ids[0].startswith("static-a-") and ids[1].startswith("static-b-"),
             f"{strategy}, {who} restarted: member ids start with the instance ids ({ids})")
    finally:
        staying.close()
        back.close()


def test_session_expiry(t, bootstrap):
    topic, group = "static-expiry", "g-static-expiry"
    create_topic(bootstrap, topic, PARTITIONS)
    a, b = stable_pair(bootstrap, topic, group, "range")
    b.close()  # no LeaveGroup: only the session timeout removes it
    started = time.monotonic()
    try:
        got = poll_until([a], lambda: len(a.owned) == PARTITIONS, SESSION_MS / 1000 + 20)
        took = time.monotonic() - started
        t.ok(got, f"after the other's session timeout the survivor owns all {PARTITIONS} "
             f"partitions ({took:.1f} s)")
        t.ok(took > SESSION_MS / 1000 - 3, "not before the session timeout (a static member "
             "is not removed on close)")
    finally:
        a.close()


def main():
    t = Tap("static group membership: restart within the session timeout, session expiry")
    with Broker(SETTINGS) as broker:
        for strategy in ("range", "cooperative-sticky"):
            for who in ("follower", "leader"):
                t.run(test_restart, broker.bootstrap, strategy, who,
                      desc=f"restart of the {who}, {strategy}")
        t.run(test_session_expiry, broker.bootstrap)
    t.done()


if __name__ == "__main__":
    main()
