#!/usr/bin/env python3
"""DescribeTransactions, ListTransactions and DescribeProducers in raw
frames, against Kafka 3.9's answers: an ongoing transaction's state,
timeout, producer and partitions; TRANSACTIONAL_ID_NOT_FOUND for an unknown
id; listing filtered by state (unknown state names reported back), producer
id and duration; a partition's active producers with the first offset of
their ongoing transaction, and UNKNOWN_TOPIC_OR_PARTITION for a partition
that does not exist.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_txn_coordinator import Client, until_settled, one  # noqa: E402
from topics import create_topic  # noqa: E402

API_DESCRIBE_TRANSACTIONS = 65
API_LIST_TRANSACTIONS = 66
API_DESCRIBE_PRODUCERS = 61
UNKNOWN_TOPIC_OR_PARTITION = 3
NONE = 0
TRANSACTIONAL_ID_NOT_FOUND = 105
TOPIC = "txn-admin"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}
TAGS = kwire.TAGS_NONE


def flexible_call(c, api, version, body):
    c.corr += 1
    frame = kwire.frame(kwire.request_header(api, version, c.corr, header_version=2) + body)
    _, resp = c.conn.roundtrip(frame, flexible_header=True)
    return kwire.Reader(resp)


def describe(c, ids):
    body = kwire.uvarint(len(ids) + 1) + b"".join(kwire.compact_string(i) for i in ids) + TAGS
    r = flexible_call(c, API_DESCRIBE_TRANSACTIONS, 0, body)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        err, tid, state = r.i16(), r.compact_string(), r.compact_string()
        timeout, start, pid, epoch = r.i32(), r.i64(), r.i64(), r.i16()
        topics = {}
        for _ in range(r.uvarint() - 1):
            name = r.compact_string()
            topics[name] = sorted(r.i32() for _ in range(r.uvarint() - 1))
            r.skip_tags()
        r.skip_tags()
        out[tid] = (err, state, timeout, start >= 0, pid, epoch, topics)
    return out


def list_txns(c, states=(), pids=(), duration=-1):
    body = (kwire.uvarint(len(states) + 1) + b"".join(kwire.compact_string(s) for s in states)
            + kwire.uvarint(len(pids) + 1) + b"".join(kwire.i64(p) for p in pids)
            + kwire.i64(duration) + TAGS)
    r = flexible_call(c, API_LIST_TRANSACTIONS, 1, body)
    r.i32()
    err = r.i16()
    unknown = [r.compact_string() for _ in range(r.uvarint() - 1)]
    found = {}
    for _ in range(r.uvarint() - 1):
        tid, pid, state = r.compact_string(), r.i64(), r.compact_string()
        r.skip_tags()
        found[tid] = (pid, state)
    return err, unknown, found


def describe_producers(c, topic, partitions):
    body = (kwire.uvarint(2) + kwire.compact_string(topic) + kwire.uvarint(len(partitions) + 1)
            + b"".join(kwire.i32(p) for p in partitions) + TAGS + TAGS)
    r = flexible_call(c, API_DESCRIBE_PRODUCERS, 0, body)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        r.compact_string()
        for _ in range(r.uvarint() - 1):
            index, err, _msg = r.i32(), r.i16(), r.compact_string()
            producers = []
            for _ in range(r.uvarint() - 1):
                pid, epoch, seq, ts, cepoch, start = r.i64(), r.i32(), r.i32(), r.i64(), r.i32(), r.i64()
                r.skip_tags()
                producers.append((pid, epoch, seq, ts > 0, cepoch, start))
            r.skip_tags()
            out[index] = (err, producers)
        r.skip_tags()
    return out


def tx_produce(bootstrap, txn_id, pid, epoch, seq, partition):
    batch = kwire.record_batch([b"v1", b"v2"], producer_id=pid, producer_epoch=epoch,
                               base_sequence=seq, attributes=0x10)
    body = (kwire.string(txn_id) + kwire.i16(-1) + kwire.i32(10000)
            + kwire.array([kwire.string(TOPIC)
                           + kwire.array([kwire.i32(partition) + kwire.nbytes(batch)])]))
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(0, 7, 1) + body))
    (_, _, err, base, _, _), = kwire.parse_produce_errors(resp, 7)
    return err, base


def admin(t, b):
    c = Client(b.bootstrap)
    until_settled(lambda: c.find_coordinator("tx-d"))
    until_settled(lambda: c.find_coordinator("tx-e"))
    (_, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-d", timeout_ms=45000))
    (_, pid2, epoch2), _ = until_settled(lambda: c.init_pid("tx-e"))
    t.eq(one(c.add_partitions("tx-d", pid, epoch, [(TOPIC, [0, 1])])), NONE, "a transaction")
    got = describe(c, ["tx-d", "tx-e", "tx-unknown"])
    t.eq(got["tx-d"], (NONE, "Ongoing", 45000, True, pid, epoch, {TOPIC: [0, 1]}),
         "DescribeTransactions: an ongoing transaction, its timeout, producer and partitions")
    t.eq(got["tx-e"], (NONE, "Empty", 60000, False, pid2, epoch2, {}),
         "an id with no transaction: Empty")
    t.eq(got["tx-unknown"][0], TRANSACTIONAL_ID_NOT_FOUND,
         "an unknown id: TRANSACTIONAL_ID_NOT_FOUND")
    err, unknown, found = list_txns(c)
    t.ok(err == NONE and found.get("tx-d") == (pid, "Ongoing") and
         found.get("tx-e") == (pid2, "Empty"), "ListTransactions lists both", (err, found))
    err, unknown, found = list_txns(c, states=["Ongoing", "NoSuchState"])
    t.eq((err, unknown, sorted(found)), (NONE, ["NoSuchState"], ["tx-d"]),
         "filtered by state: the ongoing one, and the unknown state name reported")
    err, unknown, found = list_txns(c, pids=[pid2])
    t.eq(sorted(found), ["tx-e"], "filtered by producer id")
    err, unknown, found = list_txns(c, duration=3_600_000)
    t.eq(sorted(found), ["tx-e"],
         "filtered by duration: not the hour-young transaction; an id with none (no start "
         "time) passes, as in Kafka")
    t.eq(tx_produce(b.bootstrap, "tx-d", pid, epoch, 0, 1), (NONE, 0), "a transactional batch")
    t.eq(describe_producers(c, TOPIC, [1, 0, 7]),
         {1: (NONE, [(pid, epoch, 1, True, -1, 0)]), 0: (NONE, []),
          7: (UNKNOWN_TOPIC_OR_PARTITION, [])},
         "DescribeProducers: the producer, its last sequence, its transaction's first offset")
    t.eq(c.end_txn("tx-d", pid, epoch, True), NONE, "the transaction commits")
    deadline = time.monotonic() + 10
    while True:
        (err, producers), = [describe_producers(c, TOPIC, [1])[1]]
        if (producers and producers[0][5] == -1) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    t.eq([(p[0], p[1], p[2], p[5]) for p in producers], [(pid, epoch, 1, -1)],
         "after the commit it has no transaction there")
    c.close()


def main():
    t = Tap("transactions: describe and list")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 2)
        time.sleep(1)  # Kafka: the new partition's log is online shortly after its metadata
        t.run(admin, b, desc="DescribeTransactions and ListTransactions")
    t.done()


if __name__ == "__main__":
    main()
