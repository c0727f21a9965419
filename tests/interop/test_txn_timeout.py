#!/usr/bin/env python3
"""transaction.timeout.ms and transactional.id.expiration.ms, against Kafka
3.9: a transaction left open past its timeout is aborted by the coordinator
itself (an ABORT marker under the next epoch; the last stable offset its
records held moves past it), its producer is fenced
(EndTxn PRODUCER_FENCED), and a new InitProducerId gets the epoch after
that; a transaction within its timeout is left alone. A transactional id
unused past its expiration is forgotten (DescribeTransactions:
TRANSACTIONAL_ID_NOT_FOUND) and comes back with a new producer id; one with
an ongoing transaction is kept. Both cleanup intervals are 200 ms here.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys
import time

from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_txn_admin import describe  # noqa: E402
from test_txn_coordinator import Client, until_settled, one  # noqa: E402
from test_txn_markers import ABORT, CTRL, wait_markers  # noqa: E402
from topics import create_topic  # noqa: E402

NONE = 0
PRODUCER_FENCED = 90
TOPIC = "txn-timeout"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5,
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": 200,
            "transaction.remove.expired.transaction.cleanup.interval.ms": 200,
            "transactional.id.expiration.ms": 3000}
TRANSACTIONAL_ID_NOT_FOUND = 105
ATTR_TRANSACTIONAL = 0x10


def produce_in_txn(bootstrap, txn_id, pid, epoch):
    """One transactional batch of the producer to TOPIC 0: (error, base offset)."""
    batch = kwire.record_batch([b"t-0", b"t-1"], producer_id=pid, producer_epoch=epoch,
                               base_sequence=0, attributes=ATTR_TRANSACTIONAL)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, TOPIC, 0, batch,
                                                       transactional_id=txn_id))
    (_t, _p, err, base), = kwire.parse_produce(body, 7)
    return err, base


def ends(bootstrap):
    """TOPIC 0's end offsets: (read_committed, read_uncommitted)."""
    out = []
    for isolation in ("read_committed", "read_uncommitted"):
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tx-ends",
                      "isolation.level": isolation})
        try:
            out.append(c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=10)[1])
        finally:
            c.close()
    return tuple(out)


def timeouts(t, b):
    c = Client(b.bootstrap)
    until_settled(lambda: c.find_coordinator("tx-t"))
    (err, pid, epoch), _ = until_settled(lambda: c.init_pid("tx-t", timeout_ms=3000))
    t.eq(one(c.add_partitions("tx-t", pid, epoch, [(TOPIC, [0])])), NONE,
         "a transaction with a 3 s timeout")
    err, first = produce_in_txn(b.bootstrap, "tx-t", pid, epoch)
    stable, end = ends(b.bootstrap)
    t.eq((err, stable), (NONE, first),
         "its records hold the last stable offset at their first offset")
    (err, pid2, epoch2), _ = until_settled(lambda: c.init_pid("tx-long", timeout_ms=60000))
    t.eq(one(c.add_partitions("tx-long", pid2, epoch2, [(TOPIC, [0])])), NONE,
         "and one with a 60 s timeout")
    got = wait_markers(b.bootstrap, TOPIC, 0, pid, 1, timeout_s=15)
    t.eq(got, [(CTRL, epoch + 1, -1, ABORT)],
         "past its timeout the coordinator aborts it under the next epoch")
    stable, end = ends(b.bootstrap)
    t.ok(stable == end and stable > first,
         "the last stable offset moves past it (read_committed reads on)", (first, stable, end))
    t.eq(c.end_txn("tx-t", pid, epoch, True), PRODUCER_FENCED,
         "the producer's EndTxn: PRODUCER_FENCED")
    got, _ = until_settled(lambda: c.init_pid("tx-t", timeout_ms=3000))
    t.eq(got, (NONE, pid, epoch + 2), "a new InitProducerId gets the epoch after the fence")
    t.eq(c.end_txn("tx-long", pid2, epoch2, True), NONE,
         "the transaction within its timeout still commits")
    c.close()


def id_expiration(t, b):
    c = Client(b.bootstrap)
    until_settled(lambda: c.find_coordinator("tx-idle"))
    until_settled(lambda: c.find_coordinator("tx-busy"))
    (_, pid, _), _ = until_settled(lambda: c.init_pid("tx-idle"))
    (_, pid2, epoch2), _ = until_settled(lambda: c.init_pid("tx-busy", timeout_ms=60000))
    t.eq(one(c.add_partitions("tx-busy", pid2, epoch2, [(TOPIC, [0])])), NONE,
         "one id with an ongoing transaction")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if describe(c, ["tx-idle"])["tx-idle"][0] == TRANSACTIONAL_ID_NOT_FOUND:
            break
        time.sleep(0.2)
    got = describe(c, ["tx-idle", "tx-busy"])
    t.eq((got["tx-idle"][0], got["tx-busy"][:2]),
         (TRANSACTIONAL_ID_NOT_FOUND, (NONE, "Ongoing")),
         "an id unused past transactional.id.expiration.ms is forgotten; the busy one kept")
    (err, new_pid, epoch), _ = until_settled(lambda: c.init_pid("tx-idle"))
    t.ok(err == NONE and new_pid != pid and epoch == 0,
         "InitProducerId for it again: a new producer id at epoch 0", (err, pid, new_pid, epoch))
    c.end_txn("tx-busy", pid2, epoch2, False)
    c.close()


def main():
    t = Tap("transaction timeouts")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 1)
        time.sleep(1)  # Kafka: the new partition's log is online shortly after its metadata
        t.run(timeouts, b, desc="transaction.timeout.ms")
        t.run(id_expiration, b, desc="transactional.id.expiration.ms")
    t.done()


if __name__ == "__main__":
    main()
