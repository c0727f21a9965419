#!/usr/bin/env python3
"""The transaction coordinator, in raw frames, against Kafka 3.9's answers:

- FindCoordinator key type 1 (TRANSACTION) names this broker;
- InitProducerId with a transactional id: a producer id at epoch 0, the same
  id at epoch 1 the next time; INVALID_TRANSACTION_TIMEOUT past
  transaction.max.timeout.ms, INVALID_REQUEST for an empty id;
- AddPartitionsToTxn: an unknown partition fails the request
  (UNKNOWN_TOPIC_OR_PARTITION for it, OPERATION_NOT_ATTEMPTED for the
  rest); an unknown id or producer id INVALID_PRODUCER_ID_MAPPING; a stale
  epoch PRODUCER_FENCED (v2+) or INVALID_PRODUCER_EPOCH (v0-1);
- EndTxn: INVALID_TXN_STATE with no transaction; commit; a retry of the
  commit NONE once complete, an abort of it INVALID_TXN_STATE; a stale
  epoch PRODUCER_FENCED; an unknown id INVALID_PRODUCER_ID_MAPPING;
- AddOffsetsToTxn adds the group's offsets partition;
- a zombie: a second InitProducerId aborts the first producer's ongoing
  transaction (CONCURRENT_TRANSACTIONS until done, then epoch + 2) and the
  first producer's EndTxn is PRODUCER_FENCED;
- transactional Produce: a partition not added is INVALID_TXN_STATE, another
  producer id INVALID_PRODUCER_ID_MAPPING, a fenced producer
  INVALID_PRODUCER_EPOCH (KIP-890 part 1);
- the state survives a broker restart: after a commit the id comes back with
  its producer id, and mid-transaction the transaction is still ongoing (a
  new InitProducerId fences it).

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

API_FIND_COORDINATOR = 10
API_INIT_PRODUCER_ID = 22
API_ADD_PARTITIONS = 24
API_ADD_OFFSETS = 25
API_END_TXN = 26

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
COORDINATOR_LOAD_IN_PROGRESS = 14
COORDINATOR_NOT_AVAILABLE = 15
NOT_COORDINATOR = 16
INVALID_REQUEST = 42
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
INVALID_PRODUCER_ID_MAPPING = 49
INVALID_TRANSACTION_TIMEOUT = 50
CONCURRENT_TRANSACTIONS = 51
OPERATION_NOT_ATTEMPTED = 55
PRODUCER_FENCED = 90
TRANSACTION_ABORTABLE = 120
RETRIABLE = (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
             CONCURRENT_TRANSACTIONS)

TOPIC = "txn-coord"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


class Client:
    """One connection; each call sends a request and returns the parsed answer."""

    def __init__(self, bootstrap):
        self.conn = kwire.Conn(bootstrap, timeout_s=30)
        self.corr = 0

    def close(self):
        self.conn.close()

    def call(self, api, version, body):
        self.corr += 1
        frame = kwire.frame(kwire.request_header(api, version, self.corr) + body)
        corr, resp = self.conn.roundtrip(frame)
        assert corr == self.corr, f"correlation {corr}, expected {self.corr}"
        return kwire.Reader(resp)

    def find_coordinator(self, key, key_type=1):
        r = self.call(API_FIND_COORDINATOR, 1, kwire.string(key) + kwire.i8(key_type))
        r.i32()
        err, _msg, node, host, port = r.i16(), r.string(), r.i32(), r.string(), r.i32()
        return err, node, host, port

    def init_pid(self, txn_id, timeout_ms=60000, version=1):
        r = self.call(API_INIT_PRODUCER_ID, version, kwire.string(txn_id) + kwire.i32(timeout_ms))
        r.i32()
        return r.i16(), r.i64(), r.i16()

    def add_partitions(self, txn_id, pid, epoch, topics, version=2):
        body = kwire.string(txn_id) + kwire.i64(pid) + kwire.i16(epoch)
        body += kwire.array([kwire.string(name) + kwire.array([kwire.i32(p) for p in parts])
                             for name, parts in topics])
        r = self.call(API_ADD_PARTITIONS, version, body)
        r.i32()
        out = {}
        for name, results in r.array(lambda x: (x.string(), x.array(lambda y: (y.i32(), y.i16())))):
            for p, err in results:
                out[(name, p)] = err
        return out

    def add_offsets(self, txn_id, pid, epoch, group, version=2):
        body = kwire.string(txn_id) + kwire.i64(pid) + kwire.i16(epoch) + kwire.string(group)
        r = self.call(API_ADD_OFFSETS, version, body)
        r.i32()
        return r.i16()

    def end_txn(self, txn_id, pid, epoch, commit, version=2):
        body = kwire.string(txn_id) + kwire.i64(pid) + kwire.i16(epoch) + kwire.i8(1 if commit else 0)
        r = self.call(API_END_TXN, version, body)
        r.i32()
        return r.i16()


def until_settled(fn, timeout_s=30):
    """Calls fn until its error (the first element, or itself) is not a
    retriable coordinator error; returns the last answer and the errors seen."""
    deadline = time.monotonic() + timeout_s
    seen = []
    while True:
        got = fn()
        err = got[0] if isinstance(got, tuple) else got
        if err not in RETRIABLE or time.monotonic() > deadline:
            return got, seen
        seen.append(err)
        time.sleep(0.1)


def one(errors):
    """The single error code of an AddPartitionsToTxn answer."""
    codes = set(errors.values())
    return codes.pop() if len(codes) == 1 else sorted(errors.items())


def basics(t, b):
    c = Client(b.bootstrap)
    (err, node, host, port), _ = until_settled(lambda: c.find_coordinator("tx-a"))
    t.ok(err == NONE and port == int(b.bootstrap.split(":")[1]),
         "FindCoordinator key type 1 names this broker", (err, node, host, port))
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-a"))
    t.ok(err == NONE and pid >= 0 and epoch == 0,
         "InitProducerId with a new transactional id: a producer id at epoch 0", (err, pid, epoch))
    got, _ = until_settled(lambda: c.init_pid("tx-a"))
    t.eq(got, (NONE, pid, 1), "InitProducerId again: the same producer id at epoch 1")
    epoch = 1
    t.eq(c.init_pid("tx-a", timeout_ms=900001)[0], INVALID_TRANSACTION_TIMEOUT,
         "a timeout above transaction.max.timeout.ms: INVALID_TRANSACTION_TIMEOUT")
    t.eq(c.init_pid("", timeout_ms=60000)[0], INVALID_REQUEST,
         "an empty transactional id: INVALID_REQUEST")

    got = c.add_partitions("tx-a", pid, epoch, [(TOPIC, [0]), ("no-such-topic", [0])])
    t.eq(got, {(TOPIC, 0): OPERATION_NOT_ATTEMPTED,
               ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION},
         "AddPartitionsToTxn with an unknown topic: UNKNOWN_TOPIC_OR_PARTITION for it, "
         "OPERATION_NOT_ATTEMPTED for the rest")
    t.eq(one(c.add_partitions("tx-nobody", pid, epoch, [(TOPIC, [0])])),
         INVALID_PRODUCER_ID_MAPPING, "AddPartitionsToTxn for an unknown transactional id: "
         "INVALID_PRODUCER_ID_MAPPING")
    t.eq(one(c.add_partitions("tx-a", pid + 1000, epoch, [(TOPIC, [0])])),
         INVALID_PRODUCER_ID_MAPPING, "AddPartitionsToTxn naming another producer id: "
         "INVALID_PRODUCER_ID_MAPPING")
    t.eq(one(c.add_partitions("tx-a", pid, epoch - 1, [(TOPIC, [0])])), PRODUCER_FENCED,
         "AddPartitionsToTxn v2 with a stale epoch: PRODUCER_FENCED")
    t.eq(one(c.add_partitions("tx-a", pid, epoch - 1, [(TOPIC, [0])], version=1)),
         INVALID_PRODUCER_EPOCH, "AddPartitionsToTxn v1 with a stale epoch: INVALID_PRODUCER_EPOCH")
    t.eq(c.end_txn("tx-a", pid, epoch, True), INVALID_TXN_STATE,
         "EndTxn with no transaction: INVALID_TXN_STATE")

    t.eq(one(c.add_partitions("tx-a", pid, epoch, [(TOPIC, [0])])), NONE,
         "AddPartitionsToTxn: the partition joins the transaction")
    t.eq(c.add_offsets("tx-a", pid, epoch, "txn-group"), NONE,
         "AddOffsetsToTxn: the group's offsets partition joins it")
    t.eq(c.add_offsets("tx-a", pid, epoch - 1, "txn-group"), PRODUCER_FENCED,
         "AddOffsetsToTxn v2 with a stale epoch: PRODUCER_FENCED")
    t.eq(c.end_txn("tx-a", pid, epoch - 1, True), PRODUCER_FENCED,
         "EndTxn v2 with a stale epoch: PRODUCER_FENCED")
    t.eq(c.end_txn("tx-a", pid, epoch - 1, True, version=1), INVALID_PRODUCER_EPOCH,
         "EndTxn v1 with a stale epoch: INVALID_PRODUCER_EPOCH")
    t.eq(c.end_txn("tx-nobody", pid, epoch, True), INVALID_PRODUCER_ID_MAPPING,
         "EndTxn for an unknown transactional id: INVALID_PRODUCER_ID_MAPPING")
    t.eq(c.end_txn("tx-a", pid, epoch, True), NONE, "EndTxn commit")
    got, seen = until_settled(lambda: c.end_txn("tx-a", pid, epoch, True))
    t.ok(got == NONE and set(seen) <= {CONCURRENT_TRANSACTIONS},
         "EndTxn commit again: NONE once complete (CONCURRENT_TRANSACTIONS before)", (got, seen))
    t.eq(c.end_txn("tx-a", pid, epoch, False), INVALID_TXN_STATE,
         "EndTxn abort of a committed transaction: INVALID_TXN_STATE")
    c.close()


def zombie(t, b):
    c = Client(b.bootstrap)
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-z"))
    t.eq(one(c.add_partitions("tx-z", pid, epoch, [(TOPIC, [0])])), NONE,
         "the first producer starts a transaction")
    first = c.init_pid("tx-z")
    t.eq(first[0], CONCURRENT_TRANSACTIONS,
         "a second InitProducerId during it: CONCURRENT_TRANSACTIONS (the transaction is aborted)")
    got, _ = until_settled(lambda: c.init_pid("tx-z"))
    t.eq(got, (NONE, pid, epoch + 2),
         "retried: the same producer id at epoch + 2 (one bump fenced, one for the new producer)")
    t.eq(c.end_txn("tx-z", pid, epoch, True), PRODUCER_FENCED,
         "the zombie's EndTxn: PRODUCER_FENCED")
    t.eq(one(c.add_partitions("tx-z", pid, epoch, [(TOPIC, [0])])), PRODUCER_FENCED,
         "the zombie's AddPartitionsToTxn: PRODUCER_FENCED")
    c.close()


def tx_produce(bootstrap, txn_id, pid, epoch, seq, partition=0, version=8):
    """A transactional Produce of one batch: (error_code, error_message)."""
    batch = kwire.record_batch([b"v1", b"v2"], producer_id=pid, producer_epoch=epoch,
                               base_sequence=seq, attributes=0x10)
    body = (kwire.string(txn_id) + kwire.i16(-1) + kwire.i32(10000)
            + kwire.array([kwire.string(TOPIC)
                           + kwire.array([kwire.i32(partition) + kwire.nbytes(batch)])]))
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(0, version, 1) + body))
    (_, _, err, _, _, msg), = kwire.parse_produce_errors(resp, version)
    return err, msg


def add_partitions_v4(c, txns, version=4):
    """The brokers' batched AddPartitionsToTxn: txns is [(id, pid, epoch,
    verify_only, [(topic, [partition])])]; answers (top error, {(id, topic,
    partition): error})."""
    tags = kwire.TAGS_NONE

    def carr(items):
        return kwire.uvarint(len(items) + 1) + b"".join(items)

    body = carr([kwire.compact_string(tid) + kwire.i64(pid) + kwire.i16(epoch)
                 + kwire.i8(1 if verify else 0)
                 + carr([kwire.compact_string(t) + carr([kwire.i32(p) for p in ps]) + tags
                         for t, ps in topics]) + tags
                 for tid, pid, epoch, verify, topics in txns]) + tags
    c.corr += 1
    frame = kwire.frame(kwire.request_header(API_ADD_PARTITIONS, version, c.corr,
                                             header_version=2) + body)
    _, resp = c.conn.roundtrip(frame, flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()
    top = r.i16()
    out = {}
    for _ in range(r.uvarint() - 1):
        tid = r.compact_string()
        for _ in range(r.uvarint() - 1):
            name = r.compact_string()
            for _ in range(r.uvarint() - 1):
                p, err = r.i32(), r.i16()
                r.skip_tags()
                out[(tid, name, p)] = err
            r.skip_tags()
        r.skip_tags()
    return top, out


def batched(t, b):
    c = Client(b.bootstrap)
    (_, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-b1"))
    (_, pid2, epoch2), _ = until_settled(lambda: c.init_pid("tx-b2"))
    top, got = add_partitions_v4(c, [("tx-b1", pid, epoch, False, [(TOPIC, [0])]),
                                     ("tx-b2", pid2, epoch2, True, [(TOPIC, [0])])])
    t.eq((top, got),
         (NONE, {("tx-b1", TOPIC, 0): NONE, ("tx-b2", TOPIC, 0): TRANSACTION_ABORTABLE}),
         "AddPartitionsToTxn v4: one transaction added, one verified (not in it: "
         "TRANSACTION_ABORTABLE)")
    for version in (4, 5):
        top, got = add_partitions_v4(c, [("tx-b1", pid, epoch, True, [(TOPIC, [0])]),
                                         ("tx-b2", pid2, epoch2, True, [(TOPIC, [0])])], version)
        t.eq(got, {("tx-b1", TOPIC, 0): NONE, ("tx-b2", TOPIC, 0): TRANSACTION_ABORTABLE},
             f"v{version} verify_only: in tx-b1's transaction; not in tx-b2's "
             "(TRANSACTION_ABORTABLE)")
    top, got = add_partitions_v4(c, [("tx-b1", pid, epoch + 1, True, [(TOPIC, [0])])])
    t.eq(got, {("tx-b1", TOPIC, 0): PRODUCER_FENCED}, "verify_only with another epoch: fenced")
    top, got = add_partitions_v4(c, [("tx-b2", pid2, epoch2, False,
                                      [(TOPIC, [0]), ("no-such-topic", [0])])])
    t.eq(got, {("tx-b2", TOPIC, 0): OPERATION_NOT_ATTEMPTED,
               ("tx-b2", "no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION},
         "v4 with an unknown topic: UNKNOWN_TOPIC_OR_PARTITION, OPERATION_NOT_ATTEMPTED")
    c.end_txn("tx-b1", pid, epoch, False)
    c.close()


def produce_checks(t, b):
    c = Client(b.bootstrap)
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-p"))
    t.eq(tx_produce(b.bootstrap, "tx-p", pid, epoch, 0),
         (INVALID_TXN_STATE, "Partition was not added to the transaction"),
         "transactional Produce to a partition not in the transaction: INVALID_TXN_STATE")
    t.eq(tx_produce(b.bootstrap, "tx-p", pid, epoch, 0, version=7)[0], INVALID_TXN_STATE,
         "the same with Produce v7")
    t.eq(tx_produce(b.bootstrap, "tx-p", pid + 1000, epoch, 0)[0], INVALID_PRODUCER_ID_MAPPING,
         "with another producer id: INVALID_PRODUCER_ID_MAPPING")
    t.eq(one(c.add_partitions("tx-p", pid, epoch, [(TOPIC, [0])])), NONE, "the partition added")
    t.eq(tx_produce(b.bootstrap, "tx-p", pid, epoch, 0), (NONE, None), "then the batch is taken")
    got, _ = until_settled(lambda: c.init_pid("tx-p"))
    t.eq(got[0], NONE, "a new InitProducerId fences the producer")
    t.eq(tx_produce(b.bootstrap, "tx-p", pid, epoch, 2)[0], INVALID_PRODUCER_EPOCH,
         "the fenced producer's next batch: INVALID_PRODUCER_EPOCH")
    c.close()


def restart(t, b):
    c = Client(b.bootstrap)
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-r"))
    c.add_partitions("tx-r", pid, epoch, [(TOPIC, [0])])
    t.eq(c.end_txn("tx-r", pid, epoch, True), NONE, "a committed transaction before the restart")
    (err, pid2, epoch2), _ = until_settled(lambda: c.init_pid("tx-o"))
    t.eq(one(c.add_partitions("tx-o", pid2, epoch2, [(TOPIC, [0])])), NONE,
         "another id's transaction is ongoing at the restart")
    c.close()
    b.restart()
    c = Client(b.bootstrap)
    got, _ = until_settled(lambda: c.init_pid("tx-r"))
    t.eq(got, (NONE, pid, epoch + 1), "after the restart the id keeps its producer id, epoch + 1")
    got, _ = until_settled(lambda: c.add_partitions("tx-o", pid2, epoch2, [(TOPIC, [0])]))
    t.eq(one(got), NONE, "the ongoing transaction is still ongoing: adding to it works")
    t.eq(c.init_pid("tx-o")[0], CONCURRENT_TRANSACTIONS,
         "and a new InitProducerId fences it (CONCURRENT_TRANSACTIONS while it aborts)")
    got, _ = until_settled(lambda: c.init_pid("tx-o"))
    t.eq(got, (NONE, pid2, epoch2 + 2), "then the id has epoch + 2")
    c.close()


def main():
    t = Tap("transaction coordinator")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 1)
        t.run(basics, b, desc="InitProducerId, AddPartitionsToTxn, EndTxn and their errors")
        t.run(zombie, b, desc="a zombie fenced by a second InitProducerId")
        t.run(produce_checks, b, desc="transactional Produce checks")
        t.run(batched, b, desc="AddPartitionsToTxn v4-5, the brokers' batched form")
        t.run(restart, b, desc="a restart after a commit and mid-transaction")
    t.done()


if __name__ == "__main__":
    main()
