#!/usr/bin/python3
"""Fetch at its newest versions (raw v13 to v18: topics named by their
ids, KIP-516), answered as Kafka 3.9 answers them (v18, Kafka 4.x's, adds
only a follower's high watermark):

- a fetch naming the topic by id reads its records, and the answer names
  the topic by the same id;
- an id no topic has: its partition answers UNKNOWN_TOPIC_ID;
- a fetch session opened at v13 answers an incremental fetch with the
  partition that has new records, named by its topic id, and forgets a
  partition named by topic id;
- v15 names the consumer in the replica state (replica id -1);
- ApiVersions advertises Fetch up to 18 (Kafka 3.9: 17).

Produce v9 to v11 (flexible) appends as before. The leader hints of Fetch
v16 and Produce v10 (KIP-951) need a cluster: test_cluster_versions.py.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9 (or 4.3,
with KAFKA_JARS naming its jars)."""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, newest  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

TOPIC = "fetch-by-id"
UNKNOWN_TOPIC_ID = 100
# Fetch's newest: Kafka 4.3's (v18: a follower's high watermark, nothing
# for a consumer), Runnel's too, or the reference Kafka's.
NEWEST_FETCH = newest(18, 17, 18)
NEWEST_PRODUCE = newest(11, 11, 13)
NOT_LEADER_OR_FOLLOWER = 6


def fetch(b, version, topics, session_id=0, epoch=-1, forgotten=(), conn=None):
    """(top error, session id, [(topic id, partition, error, hw, records)]);
    topics [(id, [(partition, offset)])], forgotten [(id, [partitions])];
    on conn if given (a session lives on its connection's broker thread),
    else on a connection of its own."""
    req = kwire.fetch_request_flexible(4, version, topics, session_id, epoch, forgotten)
    if conn:
        _, resp = conn.roundtrip(req, flexible_header=True)
    else:
        with kwire.Conn(b.bootstrap) as c:
            _, resp = c.roundtrip(req, flexible_header=True)
    top, sid, parts, _ = kwire.parse_fetch_flexible(resp, version)
    return top, sid, [p[:5] for p in parts]


def produce(b, values):
    """Appends to partition 0, asking again while its leadership settles
    (Kafka's NOT_LEADER_OR_FOLLOWER just after creation)."""
    deadline = time.monotonic() + 10
    while True:
        with kwire.Conn(b.bootstrap) as c:
            _, body = c.roundtrip(kwire.produce_request(1, TOPIC, 0, kwire.record_batch(values)))
        err = kwire.parse_produce(body, 7)[0][2]
        if err != NOT_LEADER_OR_FOLLOWER or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert err == 0, f"produce: error {err}"


def test_by_id(t, b):
    create_topic(b.bootstrap, TOPIC, 2)
    produce(b, [b"a", b"b", b"c"])
    tid = kwire.topic_id(b.bootstrap, TOPIC)
    for version in range(13, NEWEST_FETCH + 1):
        top, _, parts = fetch(b, version, [(tid, [(0, 0)])])
        got = [(p[0], p[1], p[2], p[3], bool(p[4])) for p in parts]
        t.eq((top, got), (0, [(tid, 0, 0, 3, True)]),
             f"Fetch v{version} by topic id: the records, the answer naming the same id")
    unknown = uuid.uuid4().bytes
    _, _, parts = fetch(b, 13, [(unknown, [(0, 0)])])
    t.eq([(p[0], p[1], p[2]) for p in parts], [(unknown, 0, UNKNOWN_TOPIC_ID)],
         "an id no topic has: UNKNOWN_TOPIC_ID")
    return tid


def test_session(t, b, tid):
    with kwire.Conn(b.bootstrap) as c:
        top, sid, parts = fetch(b, 13, [(tid, [(0, 3), (1, 0)])], epoch=0, conn=c)
        t.ok(top == 0 and sid > 0 and len(parts) == 2, "v13: a full fetch opens a session",
             (top, sid, parts))
        top, _, parts = fetch(b, 13, [], session_id=sid, epoch=1, conn=c)
        t.eq((top, parts), (0, []), "an incremental fetch with nothing new: no partition")
        produce(b, [b"d"])
        top, _, parts = fetch(b, 13, [], session_id=sid, epoch=2, conn=c)
        t.eq([(p[0], p[1], p[2], p[3]) for p in parts], [(tid, 0, 0, 4)],
             "after a record: the partition, named by its topic id")
        top, _, parts = fetch(b, 13, [(tid, [(0, 4)])], session_id=sid, epoch=3,
                              forgotten=[(tid, [1])], conn=c)
        t.eq((top, [(p[0], p[1]) for p in parts]), (0, []),
             "partition 1 forgotten by topic id, partition 0 at its end: nothing to answer")
        produce(b, [b"e"])
        top, _, parts = fetch(b, 13, [], session_id=sid, epoch=4, conn=c)
        t.eq([(p[0], p[1], p[3]) for p in parts], [(tid, 0, 5)], "the session goes on")


def test_advertised(t, b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, version=0))
    versions = kwire.parse_api_versions(body, 0)[1]
    t.eq((versions.get(kwire.API_FETCH, (0, 0))[1], versions.get(kwire.API_PRODUCE, (0, 0))[1]),
         (NEWEST_FETCH, NEWEST_PRODUCE),
         f"ApiVersions advertises Fetch up to {NEWEST_FETCH} and Produce up to {NEWEST_PRODUCE}")


def test_produce(t, b, tid):
    for version, value in ((9, b"p9"), (10, b"p10"), (11, b"p11")):
        with kwire.Conn(b.bootstrap) as c:
            _, body = c.roundtrip(kwire.produce_request_flexible(
                1, TOPIC, 1, kwire.record_batch([value]), version), flexible_header=True)
        parts, endpoints = kwire.parse_produce_flexible(body)
        t.eq((parts, endpoints), ([(TOPIC, 1, 0, version - 9, None)], {}),
             f"Produce v{version}: appended at offset {version - 9}, no leader hint")
    _, _, parts = fetch(b, 17, [(tid, [(1, 0)])])
    t.eq([p[3] for p in parts], [3], "Fetch v17 reads the three records")


def main():
    t = Tap(f"Fetch v13 to v{NEWEST_FETCH}, Produce v9 to v11")
    with Broker() as b:
        tid = t.run(test_by_id, b)
        if tid:
            t.run(test_session, b, tid)
            t.run(test_produce, b, tid)
        t.run(test_advertised, b)
    t.done()


if __name__ == "__main__":
    main()
