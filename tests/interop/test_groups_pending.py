#!/usr/bin/python3
"""A pending member id that never comes back holds a rebalance only until its
session timeout:

A JoinGroup v4 with no member id is answered MEMBER_ID_REQUIRED and the id is
kept pending; the join phase waits for it (Kafka's rule). A client that drops
that answer (librdkafka does when the application resubscribes meanwhile)
never joins with it. Here a raw JoinGroup plays that client while a
librdkafka member owns the topic; a second librdkafka member then joins. The
rebalance must complete once the pending id's session timeout (6 s) has run
out, well before the members' rebalance timeout (max.poll.interval.ms, 60 s).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka import Consumer  # noqa: E402

SETTINGS = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
API_JOIN_GROUP = 11
ERR_MEMBER_ID_REQUIRED = 79
SESSION_MS = 6000
REBALANCE_MS = 60000


def consumer(bootstrap, group):
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500,
                     "max.poll.interval.ms": REBALANCE_MS,
                     "partition.assignment.strategy": "range", "enable.auto.commit": False})


def subscription(topic):
    """ConsumerProtocolSubscription v0: version, topics, user data (null)."""
    return kwire.i16(0) + kwire.i32(1) + kwire.string(topic) + kwire.i32(-1)


def join_unknown(bootstrap, group, topic):
    """JoinGroup v4 with no member id; returns (error, member id)."""
    body = (kwire.string(group) + kwire.i32(SESSION_MS) + kwire.i32(REBALANCE_MS) +
            kwire.string("") + kwire.string("consumer") + kwire.i32(1) +
            kwire.string("range") + kwire.nbytes(subscription(topic)))
    with kwire.Conn(kwire.coordinator(bootstrap, group)) as conn:
        conn.send(kwire.frame(kwire.request_header(API_JOIN_GROUP, 4, 1) + body))
        _, resp = conn.recv_response()
    r = kwire.Reader(resp)
    r.i32()  # throttle time
    error = r.i16()
    r.i32()  # generation
    r.string()  # protocol name
    r.string()  # leader
    return error, r.string()


def poll_until(members, cond, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for c in members:
            c.poll(0.05)
        if cond():
            return True
    return False


def test_pending_expiry(t, bootstrap):
    topic, group = "pending-expiry", "g-pending-expiry"
    create_topic(bootstrap, topic, 2)
    a = consumer(bootstrap, group)
    b = consumer(bootstrap, group)
    try:
        a.subscribe([topic])
        t.ok(poll_until([a], lambda: len(a.assignment()) == 2, 60), "the first member owns both "
             "partitions")
        error, member_id = join_unknown(bootstrap, group, topic)
        started = time.monotonic()
        t.eq(error, ERR_MEMBER_ID_REQUIRED, f"a JoinGroup v4 without a member id is asked for "
             f"one ({member_id})")
        b.subscribe([topic])
        split = poll_until([a, b], lambda: len(a.assignment()) == 1 and len(b.assignment()) == 1,
                           REBALANCE_MS / 2000)
        took = time.monotonic() - started
        t.ok(split, f"the rebalance completes after the pending id's session timeout "
             f"({SESSION_MS / 1000:.0f} s), not at the {REBALANCE_MS / 1000:.0f} s rebalance "
             f"timeout (took {took:.1f} s)")
        t.ok(took >= SESSION_MS / 1000 - 1, "it waited for the pending id meanwhile")
    finally:
        a.close()
        b.close()


def main():
    t = Tap("a pending member id holds a rebalance until its session timeout")
    with Broker(SETTINGS) as broker:
        t.run(test_pending_expiry, broker.bootstrap)
    t.done()


if __name__ == "__main__":
    main()
