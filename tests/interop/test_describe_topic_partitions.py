#!/usr/bin/python3
"""DescribeTopicPartitions (key 75, Kafka 3.9's admin describe), raw,
answered as Kafka 3.9 answers it:

- the topics asked, sorted by name, each with its id and partitions
  (leader, epoch, replicas, ISR), and what the caller may do with it;
- ResponsePartitionLimit pages the partitions: the answer stops at the
  limit, mid-topic if need be, and names the cursor to go on from; a
  request with that cursor answers the rest;
- a topic asked that does not exist: UNKNOWN_TOPIC_OR_PARTITION, in its
  place by name;
- a cursor naming a topic the request does not ask: INVALID_REQUEST;
- no topics asked: every topic, sorted;
- kafka-topics.sh --describe (which uses it) describes the topics.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kafka_tools  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

API = 75
TOPICS = {"dtp-a": 3, "dtp-b": 2, "dtp-c": 1}
UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST = 3, 42
TOPIC_OPS_ALL = sum(1 << b for b in (3, 4, 5, 6, 7, 8, 10, 11))


def describe(b, names, limit=2000, cursor=None):
    """(top error or None, [(error, name, id, internal, [(partition,
    error, leader)], ops)], next cursor or None)."""
    body = kwire.compact_items([kwire.compact_string(n) + kwire.TAGS_NONE for n in names])
    body += kwire.i32(limit)
    if cursor is None:
        body += kwire.i8(-1)
    else:
        body += kwire.i8(1) + kwire.compact_string(cursor[0]) + kwire.i32(cursor[1]) \
            + kwire.TAGS_NONE
    hdr = kwire.request_header(API, 0, 8, "kwire", 2)
    with kwire.Conn(b.bootstrap) as c:
        _, resp = c.roundtrip(kwire.frame(hdr + body + kwire.TAGS_NONE), flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()

    def ints(rr):
        return rr.compact_array(lambda x: x.i32())

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        rr.i32()  # leader epoch
        ints(rr), ints(rr)  # replicas, ISR
        elr = (ints(rr), ints(rr))  # eligible leader replicas, the last known
        ints(rr)  # offline
        rr.skip_tags()
        return idx, err, leader >= 0, elr

    def topic(rr):
        out = (rr.i16(), rr.compact_string(), rr.take(16), rr.i8(), rr.compact_array(part),
               rr.i32())
        rr.skip_tags()
        return out
    topics = r.compact_array(topic) or []
    nxt = None
    if r.i8() != -1:
        nxt = (r.compact_string(), r.i32())
        r.skip_tags()
    return topics, nxt


def shape(topics):
    return [(e, n, [p[0] for p in ps or []]) for e, n, _i, _int, ps, _o in topics]


def test_pages(t, b):
    for name, count in TOPICS.items():
        create_topic(b.bootstrap, name, count)
    asked = ["dtp-c", "dtp-a", "dtp-b"]
    topics, nxt = describe(b, asked)
    t.eq((shape(topics), nxt), ([(0, "dtp-a", [0, 1, 2]), (0, "dtp-b", [0, 1]), (0, "dtp-c", [0])],
                                None), "three topics asked: all, sorted by name, no cursor")
    t.ok(all(i != bytes(16) and not internal and o == TOPIC_OPS_ALL and
             all(err == 0 and led and elr == ([], []) for _, err, led, elr in ps)
             for _, _, i, internal, ps, o in topics),
         "each with its id, a led partition each (no eligible leader replicas: KIP-966 is "
         "off), every operation allowed")
    topics, nxt = describe(b, asked, limit=4)
    t.eq((shape(topics), nxt), ([(0, "dtp-a", [0, 1, 2]), (0, "dtp-b", [0])], ("dtp-b", 1)),
         "a limit of 4 partitions: stops in dtp-b, the cursor at its partition 1")
    topics, nxt = describe(b, asked, limit=4, cursor=nxt)
    t.eq((shape(topics), nxt), ([(0, "dtp-b", [1]), (0, "dtp-c", [0])], None),
         "from that cursor: the rest")
    topics, nxt = describe(b, asked, limit=3)
    t.eq((shape(topics), nxt), ([(0, "dtp-a", [0, 1, 2])], ("dtp-b", 0)),
         "a limit that ends a topic: the cursor at the next topic's partition 0")
    topics, nxt = describe(b, ["dtp-b", "dtp-zz", "dtp-0"])
    t.eq(shape(topics), [(UNKNOWN_TOPIC_OR_PARTITION, "dtp-0", []), (0, "dtp-b", [0, 1]),
                         (UNKNOWN_TOPIC_OR_PARTITION, "dtp-zz", [])],
         "topics that do not exist: UNKNOWN_TOPIC_OR_PARTITION, in their place by name")
    topics, nxt = describe(b, [])
    names = [n for _, n, *_ in topics]
    t.ok(set(TOPICS) <= set(names) and names == sorted(names) and nxt is None,
         "no topics asked: every topic, sorted", names)


def test_bad_cursor(t, b):
    try:
        topics, nxt = describe(b, ["dtp-a"], cursor=("dtp-b", 0))
        got = ("answered", shape(topics), nxt)
    except (kwire.Closed, kwire.Truncated) as e:
        got = ("closed", type(e).__name__)
    t.eq(got, ("answered", [(INVALID_REQUEST, "dtp-a", [])], None),
         "a cursor naming a topic not asked: each topic asked answers INVALID_REQUEST")


def test_tool(t, b):
    r = kafka_tools.topics(b.bootstrap, "--describe", "--topic", "dtp-a")
    t.ok(r.returncode == 0 and r.stdout.count("Partition:") == 3,
         "kafka-topics.sh --describe shows the topic's three partitions",
         r.stdout + r.stderr)


def main():
    t = Tap("DescribeTopicPartitions")
    with Broker() as b:
        t.run(test_pages, b)
        t.run(test_bad_cursor, b)
        t.run(test_tool, b)
    t.done()


if __name__ == "__main__":
    main()
