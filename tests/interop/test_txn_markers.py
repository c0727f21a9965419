#!/usr/bin/env python3
"""Transaction markers, in raw frames, against Kafka 3.9's:

- EndTxn commit writes one COMMIT control batch (transactional and control
  attributes, the producer's id and epoch, no sequence) to every partition
  of the transaction, the group's __consumer_offsets partition of
  AddOffsetsToTxn included; abort writes ABORT;
- a transaction fenced by a second InitProducerId is aborted with the
  bumped epoch;
- WriteTxnMarkers from a client (Kafka 3.9 without an authorizer takes
  it): the marker is written (NONE), an unknown partition is
  UNKNOWN_TOPIC_OR_PARTITION, an epoch older than the producer's
  INVALID_PRODUCER_EPOCH.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_txn_coordinator import Client, until_settled, one  # noqa: E402
from topics import create_topic  # noqa: E402

API_WRITE_TXN_MARKERS = 27
ATTR_TRANSACTIONAL = 0x10
ATTR_CONTROL = 0x20
ABORT, COMMIT = 0, 1
OFFSETS_PARTITIONS = 5

TOPIC = "txn-marks"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": OFFSETS_PARTITIONS}


def java_hash(s):
    h = 0
    for unit in struct.unpack(f">{len(s.encode('utf-16-be')) // 2}H", s.encode("utf-16-be")):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group):
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS


def batches(records):
    """[(base_offset, attributes, producer_id, epoch, base_sequence, marker)]
    of a record set; marker is (type, coordinator_epoch) for a control batch."""
    out, pos = [], 0
    while pos + 61 <= len(records):
        base, length = struct.unpack(">qi", records[pos:pos + 12])
        end = pos + 12 + length
        if end > len(records):
            break
        attrs, = struct.unpack(">h", records[pos + 21:pos + 23])
        pid, epoch, seq = struct.unpack(">qhi", records[pos + 43:pos + 57])
        marker = None
        if attrs & ATTR_CONTROL:
            rec = records[pos + 61:end]
            # length, attributes, ts delta, offset delta, key length 4: the key at 5
            _ver, mtype = struct.unpack(">hh", rec[5:9])
            _vver, cepoch = struct.unpack(">hi", rec[10:16])
            marker = (mtype, cepoch)
        out.append((base, attrs, pid, epoch, seq, marker))
        pos = end
    return out


def read_all(bootstrap, topic, partition):
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.fetch_request(1, [(topic, [(partition, 0, 1 << 20)])]))
    _top, parts = kwire.parse_fetch(body, 11)
    (_t, _p, err, _hw, records), = parts
    assert err == 0, f"fetch error {err}"
    return batches(records or b"")


def markers_of(bootstrap, topic, partition, pid):
    return [(b[1], b[3], b[4], b[5][0]) for b in read_all(bootstrap, topic, partition)
            if b[5] is not None and b[2] == pid]


def wait_markers(bootstrap, topic, partition, pid, count, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while True:
        got = markers_of(bootstrap, topic, partition, pid)
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def write_markers(bootstrap, markers, version=0):
    """WriteTxnMarkers v0: markers is [(pid, epoch, commit, [(topic, [p])])];
    answers {(pid, topic, p): error}."""
    body = kwire.array([kwire.i64(pid) + kwire.i16(ep) + kwire.i8(1 if commit else 0)
                        + kwire.array([kwire.string(t) + kwire.array([kwire.i32(p) for p in ps])
                                       for t, ps in topics])
                        + kwire.i32(0) for pid, ep, commit, topics in markers])
    frame = kwire.frame(kwire.request_header(API_WRITE_TXN_MARKERS, version, 1) + body)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(frame)
    r = kwire.Reader(resp)
    out = {}
    for pid, topics in r.array(lambda x: (x.i64(), x.array(
            lambda y: (y.string(), y.array(lambda z: (z.i32(), z.i16())))))):
        for topic, parts in topics:
            for p, err in parts:
                out[(pid, topic, p)] = err
    return out


CTRL = ATTR_TRANSACTIONAL | ATTR_CONTROL


def coordinators(c, txn_id, group=None):
    """Kafka creates its internal topics on the first FindCoordinator."""
    until_settled(lambda: c.find_coordinator(txn_id))
    if group:
        until_settled(lambda: c.find_coordinator(group, key_type=0))


def commit_and_abort(t, b):
    c = Client(b.bootstrap)
    group = "txn-marks-group"
    gp = offsets_partition(group)
    coordinators(c, "tx-m", group)
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-m"))
    t.eq(one(c.add_partitions("tx-m", pid, epoch, [(TOPIC, [0])])), NONE_, "a transaction on "
         f"{TOPIC}-0")
    t.eq(c.add_offsets("tx-m", pid, epoch, group), NONE_, f"and on __consumer_offsets-{gp}")
    t.eq(c.end_txn("tx-m", pid, epoch, True), NONE_, "EndTxn commit")
    got = wait_markers(b.bootstrap, TOPIC, 0, pid, 1)
    t.eq(got, [(CTRL, epoch, -1, COMMIT)],
         f"{TOPIC}-0 holds one COMMIT control batch of the producer (its epoch, no sequence)")
    got = wait_markers(b.bootstrap, "__consumer_offsets", gp, pid, 1)
    t.eq(got, [(CTRL, epoch, -1, COMMIT)], f"__consumer_offsets-{gp} holds the same COMMIT")
    until_settled(lambda: c.end_txn("tx-m", pid, epoch, True))

    t.eq(one(c.add_partitions("tx-m", pid, epoch, [(TOPIC, [0])])), NONE_, "a second transaction")
    t.eq(c.end_txn("tx-m", pid, epoch, False), NONE_, "EndTxn abort")
    got = wait_markers(b.bootstrap, TOPIC, 0, pid, 2)
    t.eq(got[1:], [(CTRL, epoch, -1, ABORT)], f"{TOPIC}-0 gets an ABORT control batch next")
    c.close()


def fenced_abort(t, b):
    c = Client(b.bootstrap)
    coordinators(c, "tx-f")
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-f"))
    t.eq(one(c.add_partitions("tx-f", pid, epoch, [(TOPIC, [0])])), NONE_, "a transaction")
    before = len(markers_of(b.bootstrap, TOPIC, 0, pid))
    got, _ = until_settled(lambda: c.init_pid("tx-f"))
    t.eq(got, (NONE_, pid, epoch + 2), "a second InitProducerId fences it")
    got = wait_markers(b.bootstrap, TOPIC, 0, pid, before + 1)
    t.eq(got[before:], [(CTRL, epoch + 1, -1, ABORT)],
         "the fenced transaction is aborted with the bumped epoch")
    c.close()


def from_a_client(t, b):
    pid = 7_000_000
    got = write_markers(b.bootstrap, [(pid, 0, True, [(TOPIC, [0]), ("no-such-topic", [0])])])
    t.eq(got, {(pid, TOPIC, 0): NONE_, (pid, "no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION},
         "WriteTxnMarkers from a client: written, and UNKNOWN_TOPIC_OR_PARTITION for a "
         "partition that does not exist")
    t.eq(markers_of(b.bootstrap, TOPIC, 0, pid), [(CTRL, 0, -1, COMMIT)],
         "the client's COMMIT marker is in the log")
    got = write_markers(b.bootstrap, [(pid, 5, False, [(TOPIC, [0])])])
    t.eq(got, {(pid, TOPIC, 0): NONE_}, "a marker with a newer epoch: written")
    got = write_markers(b.bootstrap, [(pid, 3, False, [(TOPIC, [0])])])
    t.eq(got, {(pid, TOPIC, 0): INVALID_PRODUCER_EPOCH},
         "a marker with an epoch older than the producer's: INVALID_PRODUCER_EPOCH")


NONE_ = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_PRODUCER_EPOCH = 47


def main():
    t = Tap("transaction markers")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 1)
        time.sleep(1)  # Kafka: the new partition's log is online shortly after its metadata
        t.run(commit_and_abort, b, desc="commit and abort markers")
        t.run(fenced_abort, b, desc="the abort of a fenced transaction")
        t.run(from_a_client, b, desc="WriteTxnMarkers from a client")
    t.done()


if __name__ == "__main__":
    main()
