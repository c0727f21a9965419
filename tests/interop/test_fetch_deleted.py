#!/usr/bin/python3
"""Fetch of a deleted partition, against a live broker:

- raw Fetch v4 and v11 naming a deleted topic's partitions beside a live
  one: UNKNOWN_TOPIC_OR_PARTITION with offsets -1 and an empty record set
  (length 0, never the null -1 that makes clients drop the whole response),
  the live partition's records intact, at once rather than after max_wait;
- a librdkafka consumer (cooperative-sticky) subscribed to two topics, one
  deleted mid-consumption: no protocol error, the assignment shrinks to the
  other topic, which keeps delivering; a fresh connection is answered.
"""

import logging
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic, delete_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402

UNKNOWN_TOPIC_OR_PARTITION = 3


def produce(bootstrap, topic, partition, values):
    with kwire.Conn(kwire.leader(bootstrap, topic, partition), timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, topic, partition,
                                                       kwire.record_batch(values)))
    assert kwire.parse_produce(body, 7)[0][2] == 0


def test_raw(t, bootstrap):
    create_topic(bootstrap, "fd-live", 1)
    create_topic(bootstrap, "fd-gone", 2)
    produce(bootstrap, "fd-live", 0, [b"live"])
    produce(bootstrap, "fd-gone", 0, [b"gone"])
    live = kwire.leader(bootstrap, "fd-live", 0)
    delete_topic(bootstrap, "fd-gone")
    for version in (4, 11):
        topics = [("fd-gone", [(0, 0, 1 << 20), (1, 0, 1 << 20)]),
                  ("fd-live", [(0, 0, 1 << 20)])]
        # An error answers at once (as Kafka), well before max_wait_ms.
        with kwire.Conn(live, timeout_s=10) as conn:
            _, body = conn.roundtrip(kwire.fetch_request(1, topics, version, max_wait_ms=60000))
        top, parts = kwire.parse_fetch(body, version)
        got = {(name, idx): (err, hw, records) for name, idx, err, hw, records in parts}
        gone = [got[("fd-gone", p)] for p in (0, 1)]
        t.eq([(err, hw) for err, hw, _ in gone], [(UNKNOWN_TOPIC_OR_PARTITION, -1)] * 2,
             f"v{version}: a deleted partition answers UNKNOWN_TOPIC_OR_PARTITION, "
             "high watermark -1")
        t.eq([None if r is None else len(r) for _, _, r in gone], [0, 0],
             f"v{version}: with an empty record set, not a null one")
        err, hw, records = got[("fd-live", 0)]
        t.ok(top == 0 and err == 0 and hw == 1 and
             kwire.split_batches(records or b"") == ([len(records or b"")], 0),
             f"v{version}: the live partition beside it answers its batch",
             f"{top} {got[('fd-live', 0)]}")


class RdkLog(logging.Handler):
    """librdkafka's log lines (a protocol parse failure is logged, not raised)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def close_within(consumer, timeout_s):
    th = threading.Thread(target=consumer.close, daemon=True)
    th.start()
    th.join(timeout_s)
    return not th.is_alive()


def test_consumer(t, bootstrap):
    keep, doomed = "fd-keep", "fd-doomed"
    create_topic(bootstrap, keep, 1)
    create_topic(bootstrap, doomed, 1)
    produce(bootstrap, keep, 0, [b"k%d" % i for i in range(10)])
    produce(bootstrap, doomed, 0, [b"d%d" % i for i in range(10)])
    log = RdkLog()
    logger = logging.getLogger("fetch-deleted")
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    errors = []
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fd-group",
                  "auto.offset.reset": "earliest",
                  "partition.assignment.strategy": "cooperative-sticky",
                  "topic.metadata.refresh.interval.ms": 1000,
                  "error_cb": lambda e: errors.append(str(e))}, logger=logger)
    c.subscribe([keep, doomed])
    seen = {keep: 0, doomed: 0}
    deadline = time.monotonic() + 30
    while sum(seen.values()) < 20 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen[m.topic()] += 1
    t.eq(seen, {keep: 10, doomed: 10}, "the consumer reads both topics")
    delete_topic(bootstrap, doomed)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        c.poll(0.2)
        if [tp.topic for tp in c.assignment()] == [keep]:
            break
    t.eq([tp.topic for tp in c.assignment()], [keep],
         "after the delete the assignment holds only the other topic")
    produce(bootstrap, keep, 0, [b"after"])
    got = None
    deadline = time.monotonic() + 30
    while got is None and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            got = m.value()
    t.eq(got, b"after", "the other topic keeps delivering")
    bad = [line for line in log.lines if "PROTOERR" in line or "MessageSetSize" in line]
    t.eq(bad, [], "librdkafka logged no protocol parse failure")
    t.eq([e for e in errors if "BAD_MSG" in e], [], "and reported no bad message")
    with kwire.Conn(bootstrap, timeout_s=10) as conn:
        _, body = conn.roundtrip(kwire.api_versions_request(1, 3), timeout_s=10)
    t.eq(kwire.parse_api_versions(body, 3)[0], 0, "a fresh connection is answered")
    # librdkafka 2.0's close can hang on a broker handle it keeps referenced
    # after a topic deletion, against Kafka as well: not asserted.
    if not close_within(c, 5):
        t.diag("the consumer's close did not return within 5 s (left behind)")


def main():
    t = Tap("Fetch of a deleted partition")
    with Broker({"num.partitions": 4, "auto.create.topics.enable": "false"}) as b:
        t.run(test_raw, b.bootstrap)
        t.run(test_consumer, b.bootstrap)
    t.done()


if __name__ == "__main__":
    main()
