#!/usr/bin/python3
"""Fetch size limits (KIP-74), against a live broker:

- raw Fetch v4 and v11 over many partitions, each holding more than 1 MiB:
  the record bytes of the response stay within the request's max_bytes and
  each partition's within its partition_max_bytes, also after the request
  parked on min_bytes; the first batch of the first non-empty partition is
  sent whole even when it is larger than both limits; a later partition
  sends the whole batches that fit and not the one that does not; the
  broker's fetch.max.bytes caps a larger max_bytes;
- a librdkafka consumer with a small fetch.max.bytes and a large
  max.partition.fetch.bytes reads every full partition without errors.

A broker may end a record set with part of a batch (Kafka cuts at the byte
limit; Runnel sends whole batches only), so "whole batches" are counted
apart from the record set's size.

A Fetch's limits are one broker's: every partition of the topics here is led
by broker LEADER (under RUNNEL_TEST_TARGET=cluster, replicas placed so), and
the raw requests go there.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING  # noqa: E402

MIB = 1 << 20
WIDE = "fetch-wide"
WIDE_PARTS = 8
BATCHES = 10            # per partition
RECORDS = 8             # per batch
VALUE_BYTES = 16000     # a batch is about 128 KB; a partition about 1.3 MB
BIG = "fetch-big"
BIG_VALUE_BYTES = 500000
BIG_RECORDS = 3         # one batch of about 1.5 MB, past 1 MiB limits
BROKER_FETCH_MAX = 4 * MIB
LEADER = 1  # leads every partition of WIDE and BIG


def produce(conn, topic, partition, batch, corr):
    _, body = conn.roundtrip(kwire.produce_request(corr, topic, partition, batch), timeout_s=30)
    res = kwire.parse_produce(body, 7)
    if res[0][2] != 0:
        raise RuntimeError(f"produce to {topic}-{partition}: error {res[0][2]}")


def fill(bootstrap, addr):
    create_topic(bootstrap, WIDE, WIDE_PARTS, led_by=LEADER)
    create_topic(bootstrap, BIG, 3, config={"max.message.bytes": str(4 * MIB)}, led_by=LEADER)
    corr = 1
    with kwire.Conn(addr, timeout_s=30) as conn:
        for p in range(WIDE_PARTS):
            for b in range(BATCHES):
                values = [bytes([65 + p]) * VALUE_BYTES for _ in range(RECORDS)]
                produce(conn, WIDE, p, kwire.record_batch(values), corr)
                corr += 1
        for p in range(2):  # partition 2 stays empty
            values = [b"b" * BIG_VALUE_BYTES for _ in range(BIG_RECORDS)]
            produce(conn, BIG, p, kwire.record_batch(values), corr)
            corr += 1


def fetch(addr, version, topics, **kw):
    with kwire.Conn(addr, timeout_s=30) as conn:
        corr, body = conn.roundtrip(kwire.fetch_request(5, topics, version, **kw))
    top, parts = kwire.parse_fetch(body, version)
    assert corr == 5 and top == 0, (corr, top)
    out = {}
    for name, idx, err, _hw, records in parts:
        assert err == 0, (name, idx, err)
        out[(name, idx)] = records or b""
    return out


def sizes(parts):
    """{(topic, partition): (record set bytes, [whole batch sizes])}"""
    return {k: (len(v), kwire.split_batches(v)[0]) for k, v in parts.items()}


def wide_request(pmax):
    return [(WIDE, [(p, 0, pmax) for p in range(WIDE_PARTS)])]


def test_max_bytes(t, addr, version):
    got = sizes(fetch(addr, version, wide_request(20_000_000), max_bytes=MIB))
    total = sum(n for n, _ in got.values())
    t.ok(total <= MIB, f"v{version}: max_bytes 1 MiB over {WIDE_PARTS} full partitions "
         "answers at most 1 MiB of records", f"{total} bytes: {got}")
    first = got[(WIDE, 0)]
    t.ok(len(first[1]) >= 1, f"v{version}: the first partition holds whole batches",
         f"{first}")


def test_partition_max_bytes(t, addr, version):
    pmax = 300_000
    got = sizes(fetch(addr, version, wide_request(pmax), max_bytes=20 * MIB))
    over = {k: v for k, v in got.items() if v[0] > pmax}
    t.eq(over, {}, f"v{version}: no partition answers more than partition_max_bytes {pmax}")
    t.ok(all(len(b) >= 1 for _, b in got.values()),
         f"v{version}: every partition holds whole batches within its limit", f"{got}")
    small = [(WIDE, [(0, 0, MIB), (1, 0, 1000)])]
    got = sizes(fetch(addr, version, small, max_bytes=20 * MIB))
    n, whole = got[(WIDE, 1)]
    t.ok(n <= 1000 and not whole,
         f"v{version}: a later partition's batch larger than its partition_max_bytes is not sent",
         f"{got}")


def test_fill(t, addr, version):
    order = [(WIDE, [(0, 0, 300_000), (1, 0, MIB)])]
    got = sizes(fetch(addr, version, order, max_bytes=MIB))
    total = sum(n for n, _ in got.values())
    t.ok(total <= MIB and len(got[(WIDE, 1)][1]) >= 1,
         f"v{version}: a partition whose range passes what max_bytes has left sends "
         "the whole batches that fit", f"{total} bytes: {got}")


def test_first_batch(t, addr, version):
    order = [(BIG, [(2, 0, MIB), (0, 0, MIB), (1, 0, MIB)])]
    got = sizes(fetch(addr, version, order, max_bytes=MIB))
    n, whole = got[(BIG, 0)]
    t.ok(len(whole) == 1 and whole[0] > MIB and n == whole[0],
         f"v{version}: the first non-empty partition's first batch comes whole past both limits",
         f"{got}")
    n, whole = got[(BIG, 1)]
    t.ok(n == 0, f"v{version}: the next partition's batch, past max_bytes, is not sent",
         f"{got}")


def test_broker_cap(t, addr, version):
    got = sizes(fetch(addr, version, wide_request(20_000_000), max_bytes=64 * MIB))
    total = sum(n for n, _ in got.values())
    t.ok(0 < total <= BROKER_FETCH_MAX, f"v{version}: the broker's fetch.max.bytes "
         f"{BROKER_FETCH_MAX} caps a request's max_bytes of 64 MiB", f"{total} bytes: {got}")


def test_parked(t, addr, version):
    got = sizes(fetch(addr, version, wide_request(20_000_000), max_bytes=MIB,
                      min_bytes=8 * MIB, max_wait_ms=1000))
    total = sum(n for n, _ in got.values())
    t.ok(0 < total <= MIB, f"v{version}: a fetch parked on min_bytes past max_bytes still "
         "answers at most max_bytes", f"{total} bytes: {got}")


def test_librdkafka(t, bootstrap):
    errors = []
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fetch-limits",
                  "enable.auto.commit": False,
                  "max.partition.fetch.bytes": 20_000_000, "fetch.max.bytes": 1_000_000,
                  "receive.message.max.bytes": 1_000_512,
                  "error_cb": lambda e: errors.append(str(e))})
    c.assign([TopicPartition(WIDE, p, OFFSET_BEGINNING) for p in range(WIDE_PARTS)])
    want = WIDE_PARTS * BATCHES * RECORDS
    seen = 0
    deadline = time.monotonic() + 60
    while seen < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            errors.append(str(m.error()))
            continue
        seen += 1
    c.close()
    t.eq(seen, want, "librdkafka with fetch.max.bytes 1 MB reads every full partition")
    t.eq(errors, [], "and reports no error")


def main():
    t = Tap("Fetch size limits")
    with Broker({"num.partitions": 4, "fetch.max.bytes": BROKER_FETCH_MAX}) as b:
        addr = b.addrs[LEADER]
        fill(b.bootstrap, addr)
        for version in (4, 11):
            t.run(test_max_bytes, addr, version)
            t.run(test_partition_max_bytes, addr, version)
            t.run(test_fill, addr, version)
            t.run(test_first_batch, addr, version)
            t.run(test_broker_cap, addr, version)
            t.run(test_parked, addr, version)
        t.run(test_librdkafka, b.bootstrap)
    t.done()


if __name__ == "__main__":
    main()
