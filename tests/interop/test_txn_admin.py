#!/usr/bin/env python3
"""DescribeTransactions and ListTransactions in raw frames, against Kafka
3.9's answers: an ongoing transaction's state, timeout, producer and
partitions; TRANSACTIONAL_ID_NOT_FOUND for an unknown id; listing filtered
by state (unknown state names reported back) and by producer id.

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
