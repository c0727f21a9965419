#!/usr/bin/env python3
"""AlterPartitionReassignments and ListPartitionReassignments (v0) on one
node, over the wire, every refusal with Kafka's code:

- an unknown topic or partition index: UNKNOWN_TOPIC_OR_PARTITION;
- an empty target, a broker named twice, an unregistered broker:
  INVALID_REPLICA_ASSIGNMENT, the message naming the broker;
- a cancel (a null target) with no reassignment in progress:
  NO_REASSIGNMENT_IN_PROGRESS;
- a partition named twice in one request: each entry decided on its own,
  as Kafka does (a no-op accepted, then a cancel with none in progress);
- the partition's own replica list again: accepted, nothing moves, and
  ListPartitionReassignments (every topic, and the topic named) lists
  nothing.

With RUNNEL_TEST_TARGET=kafka the same test passes against Kafka 3.9.
Bounded: a few seconds.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
import tap  # noqa: E402
from broker import Broker, node_ids  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REPLICA_ASSIGNMENT = 39
NO_REASSIGNMENT_IN_PROGRESS = 85
API_ALTER = 45
API_LIST = 46
TOPIC = "moves"


def alter(bootstrap, topics):
    """One AlterPartitionReassignments v0: topics is {name: [(partition,
    replicas or None)]}; returns (code, message, {(topic, partition): (code,
    message)} of each first result, {(topic, partition): [every result]})."""
    tops = []
    for name, parts in topics.items():
        items = []
        for p, replicas in parts:
            ids = (kwire.uvarint(0) if replicas is None
                   else kwire.uvarint(len(replicas) + 1) + b"".join(kwire.i32(r) for r in replicas))
            items.append(kwire.i32(p) + ids + kwire.TAGS_NONE)
        tops.append(kwire.compact_string(name) + kwire.compact_items(items) + kwire.TAGS_NONE)
    body = kwire.i32(30000) + kwire.compact_items(tops) + kwire.TAGS_NONE
    req = kwire.frame(kwire.request_header(API_ALTER, 0, 7, "kwire", 2) + body)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(req, flexible_header=True, timeout_s=30)
    r = kwire.Reader(resp)
    r.i32()  # throttle
    code, message = r.i16(), r.compact_string()
    out = {}

    def part(rd, name):
        p, c, m = rd.i32(), rd.i16(), rd.compact_string()
        rd.skip_tags()
        out.setdefault((name, p), []).append((c, m))

    def topic(rd):
        name = rd.compact_string()
        rd.compact_array(lambda x: part(x, name))
        rd.skip_tags()
    r.compact_array(topic)
    return code, message, {k: v[0] for k, v in out.items()}, out


def listed(bootstrap, topics=None):
    """ListPartitionReassignments v0: (code, {(topic, partition): (replicas,
    adding, removing)})."""
    if topics is None:
        arr = kwire.uvarint(0)
    else:
        arr = kwire.compact_items([kwire.compact_string(t) + kwire.uvarint(1) + kwire.TAGS_NONE
                                   for t in topics])
    body = kwire.i32(30000) + arr + kwire.TAGS_NONE
    req = kwire.frame(kwire.request_header(API_LIST, 0, 8, "kwire", 2) + body)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(req, flexible_header=True, timeout_s=30)
    r = kwire.Reader(resp)
    r.i32()
    code, _ = r.i16(), r.compact_string()
    out = {}

    def ints(rd):
        return rd.compact_array(lambda x: x.i32())

    def part(rd, name):
        p = rd.i32()
        out[(name, p)] = (ints(rd), ints(rd), ints(rd))
        rd.skip_tags()

    def topic(rd):
        name = rd.compact_string()
        rd.compact_array(lambda x: part(x, name))
        rd.skip_tags()
    r.compact_array(topic)
    return code, out


def main():
    t = tap.Tap()
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 2, 1)])[TOPIC].result(30)
        me = node_ids()[0]

        code, _, res, _ = alter(b.bootstrap, {"nope": [(0, [me])], TOPIC: [(5, [me])]})
        t.eq(code, NONE, "a request of refused partitions has no top-level error")
        t.eq(res[("nope", 0)][0], UNKNOWN_TOPIC_OR_PARTITION, "unknown topic")
        t.eq(res[(TOPIC, 5)][0], UNKNOWN_TOPIC_OR_PARTITION, "unknown partition index")

        _, _, res, _ = alter(b.bootstrap, {TOPIC: [(0, [])]})
        t.eq(res[(TOPIC, 0)][0], INVALID_REPLICA_ASSIGNMENT, "an empty target")
        _, _, res, _ = alter(b.bootstrap, {TOPIC: [(0, [me, me])]})
        t.eq(res[(TOPIC, 0)][0], INVALID_REPLICA_ASSIGNMENT, "a broker named twice")
        _, _, res, _ = alter(b.bootstrap, {TOPIC: [(0, [me + 41])]})
        t.eq(res[(TOPIC, 0)][0], INVALID_REPLICA_ASSIGNMENT, "an unregistered broker")
        t.ok(str(me + 41) in (res[(TOPIC, 0)][1] or ""), "the message names the broker")

        _, _, res, _ = alter(b.bootstrap, {TOPIC: [(1, None)]})
        t.eq(res[(TOPIC, 1)][0], NO_REASSIGNMENT_IN_PROGRESS, "a cancel with none in progress")

        _, _, _, every = alter(b.bootstrap, {TOPIC: [(0, [me]), (0, None)]})
        t.eq([c for c, _ in every[(TOPIC, 0)]], [NONE, NO_REASSIGNMENT_IN_PROGRESS],
             "a partition named twice: each entry decided")

        _, _, res, _ = alter(b.bootstrap, {TOPIC: [(0, [me]), (1, [me])]})
        t.eq([res[(TOPIC, p)][0] for p in (0, 1)], [NONE, NONE], "the same replicas: accepted")
        code, moving = listed(b.bootstrap)
        t.eq((code, moving), (NONE, {}), "nothing moves (every topic)")
        code, moving = listed(b.bootstrap, [TOPIC, "nope"])
        t.eq((code, moving), (NONE, {}), "nothing moves (topics named)")
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
