#!/usr/bin/env python3
"""TxnOffsetCommit in raw frames, against Kafka 3.9's answers:

- offsets for a group whose offsets partition is not in the transaction
  (no AddOffsetsToTxn): INVALID_TXN_STATE (KIP-890);
- a group the coordinator does not know takes generation -1 (as an Empty
  group, whatever the member id); an unknown partition is
  UNKNOWN_TOPIC_OR_PARTITION; a generation given names a member
  (UNKNOWN_MEMBER_ID), of that generation (ILLEGAL_GENERATION);
- the offsets stay invisible to OffsetFetch until the transaction commits
  (UNSTABLE_OFFSET_COMMIT meanwhile with require_stable), and an aborted
  transaction's offsets never show;
- offsets of a transaction open across a broker restart show once it
  commits, and are still there after a SIGKILL and restart.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_txn_coordinator import Client, until_settled  # noqa: E402
from topics import create_topic  # noqa: E402

API_OFFSET_FETCH = 9
API_TXN_OFFSET_COMMIT = 28
NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_MEMBER_ID = 25
INVALID_TXN_STATE = 48
UNSTABLE_OFFSET_COMMIT = 88
TOPIC = "txn-offsets"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


def compact_array(items):
    return kwire.uvarint(len(items) + 1) + b"".join(items)


def txn_commit(c, txn_id, group, pid, epoch, offsets, generation=-1, member=""):
    """TxnOffsetCommit v3: offsets is [(topic, [(partition, offset)])];
    answers {(topic, partition): error}."""
    tags = kwire.TAGS_NONE
    body = (kwire.compact_string(txn_id) + kwire.compact_string(group) + kwire.i64(pid)
            + kwire.i16(epoch) + kwire.i32(generation) + kwire.compact_string(member)
            + kwire.compact_string(None))
    body += compact_array([kwire.compact_string(t) + compact_array(
        [kwire.i32(p) + kwire.i64(o) + kwire.i32(-1) + kwire.compact_string("") + tags
         for p, o in parts]) + tags for t, parts in offsets]) + tags
    c.corr += 1
    frame = kwire.frame(kwire.request_header(API_TXN_OFFSET_COMMIT, 3, c.corr, header_version=2)
                        + body)
    _, resp = c.conn.roundtrip(frame, flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.compact_string()
        for _ in range(r.uvarint() - 1):
            p, err = r.i32(), r.i16()
            r.skip_tags()
            out[(name, p)] = err
        r.skip_tags()
    return out


def committed(c, group, partition=0):
    """The group's committed offset of TOPIC-partition (OffsetFetch v1)."""
    r = c.call(API_OFFSET_FETCH, 1, kwire.string(group)
               + kwire.array([kwire.string(TOPIC) + kwire.array([kwire.i32(partition)])]))
    (_, [(_, offset, _, err)]), = r.array(
        lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i64(), y.string(), y.i16()))))
    assert err == 0, f"OffsetFetch error {err}"
    return offset


def committed_stable(c, group, partition=0):
    """(offset, error) of TOPIC-partition from OffsetFetch v7 with
    require_stable."""
    tags = kwire.TAGS_NONE
    body = (kwire.compact_string(group) + kwire.uvarint(2) + kwire.compact_string(TOPIC)
            + kwire.uvarint(2) + kwire.i32(partition) + tags + kwire.i8(1) + tags)
    c.corr += 1
    frame = kwire.frame(kwire.request_header(API_OFFSET_FETCH, 7, c.corr, header_version=2) + body)
    _, resp = c.conn.roundtrip(frame, flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()
    r.uvarint()
    r.compact_string()
    r.uvarint()
    _p, offset, _epoch, _meta, err = r.i32(), r.i64(), r.i32(), r.compact_string(), r.i16()
    return offset, err


def wait_committed(c, group, want, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while True:
        got = committed(c, group)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def setup(c, txn_id, *groups):
    until_settled(lambda: c.find_coordinator(txn_id))
    for g in groups:
        until_settled(lambda: c.find_coordinator(g, key_type=0))
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid(txn_id))
    return pid, epoch


def checks_and_visibility(t, b):
    c = Client(b.bootstrap)
    pid, epoch = setup(c, "tx-o", "g-new", "g-other")
    t.eq(txn_commit(c, "tx-o", "g-other", pid, epoch, [(TOPIC, [(0, 5)])]),
         {(TOPIC, 0): INVALID_TXN_STATE},
         "offsets of a group not added to the transaction: INVALID_TXN_STATE")
    t.eq(c.add_offsets("tx-o", pid, epoch, "g-new"), NONE, "AddOffsetsToTxn")
    t.eq(txn_commit(c, "tx-o", "g-new", pid, epoch, [(TOPIC, [(0, 5)])], generation=5),
         {(TOPIC, 0): UNKNOWN_MEMBER_ID},
         "a generation for a group with no members: UNKNOWN_MEMBER_ID")
    t.eq(txn_commit(c, "tx-o", "g-new", pid, epoch, [(TOPIC, [(0, 10)]), ("no-such", [(0, 1)])]),
         {(TOPIC, 0): NONE, ("no-such", 0): UNKNOWN_TOPIC_OR_PARTITION},
         "an unknown group takes generation -1; an unknown partition is "
         "UNKNOWN_TOPIC_OR_PARTITION")
    t.eq(txn_commit(c, "tx-o", "g-new", pid, epoch, [(TOPIC, [(0, 11)])], member="nobody"),
         {(TOPIC, 0): NONE}, "generation -1 with any member id")
    t.eq(committed(c, "g-new"), -1, "before the commit OffsetFetch does not see the offsets")
    t.eq(committed_stable(c, "g-new"), (-1, UNSTABLE_OFFSET_COMMIT),
         "OffsetFetch v7 with require_stable: UNSTABLE_OFFSET_COMMIT while they are pending")
    t.eq(c.end_txn("tx-o", pid, epoch, True), NONE, "EndTxn commit")
    t.eq(wait_committed(c, "g-new", 11), 11, "after the commit OffsetFetch sees the last one")
    t.eq(committed_stable(c, "g-new"), (11, NONE), "and require_stable gets it too")
    until_settled(lambda: c.end_txn("tx-o", pid, epoch, True))
    t.eq(c.add_offsets("tx-o", pid, epoch, "g-new"), NONE, "a second transaction")
    t.eq(txn_commit(c, "tx-o", "g-new", pid, epoch, [(TOPIC, [(0, 200)])]), {(TOPIC, 0): NONE},
         "its offsets")
    t.eq(c.end_txn("tx-o", pid, epoch, False), NONE, "EndTxn abort")
    until_settled(lambda: c.end_txn("tx-o", pid, epoch, False))
    t.eq(committed(c, "g-new"), 11, "an aborted transaction's offsets never show")
    c.close()


def across_restart(t, b):
    c = Client(b.bootstrap)
    pid, epoch = setup(c, "tx-r", "g-restart")
    c.add_offsets("tx-r", pid, epoch, "g-restart")
    t.eq(txn_commit(c, "tx-r", "g-restart", pid, epoch, [(TOPIC, [(0, 42)])]), {(TOPIC, 0): NONE},
         "offsets of a transaction left open")
    c.close()
    b.restart()
    c = Client(b.bootstrap)
    got, _ = until_settled(lambda: c.end_txn("tx-r", pid, epoch, True))
    t.eq(got, NONE, "after a restart the transaction commits")
    t.eq(wait_committed(c, "g-restart", 42), 42, "and its offsets show")
    c.close()
    b.restart(hard=True)
    c = Client(b.bootstrap)
    t.eq(wait_committed(c, "g-restart", 42), 42,
         "after a SIGKILL and restart the committed transaction's offsets are still there")
    c.close()


def main():
    t = Tap("transactional offset commits")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 1)
        time.sleep(1)  # Kafka: the new partition's log is online shortly after its metadata
        t.run(checks_and_visibility, b, desc="checks, and offsets shown only on commit")
        t.run(across_restart, b, desc="a transaction's offsets across a restart")
    t.done()


if __name__ == "__main__":
    main()
