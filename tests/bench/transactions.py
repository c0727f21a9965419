#!/usr/bin/env python3
"""Transactions on a single node, Runnel and Apache Kafka 3.9 in the same run.

    tests/bench/transactions.py [--targets runnel,kafka] [--seconds 10]
                                [--sizes 100,1000] [--record-bytes 1024]
                                [--partitions 2]

For each target in turn (one broker at a time, tests/interop/lib/broker.py:
RUNNEL_BIN, or Kafka 3.9 from KAFKA_JARS) and each transaction size N of
--sizes:

- transactional produce: one confluent-kafka producer (transactional.id,
  linger.ms 5) runs transactions of N records of --record-bytes bytes, spread
  over --partitions partitions, one after the other (begin, produce,
  commit_transaction), for --seconds (at least 3 transactions), after two
  warm-up transactions;
- idempotent produce, the same records: an idempotent producer (no
  transactional.id, same settings) sends as many rounds of N records, each
  round ended by flush() (every record acknowledged, as the commit waits
  for), on a topic of its own. The difference per round is what a
  transaction costs over it: AddPartitionsToTxn, EndTxn and the markers;
- then read_committed consume: one consumer reads the transactional topic
  from the start to its last stable offset (every record committed above),
  and for comparison read_uncommitted the same.

Printed: per target and size, records/s, MiB/s and ms per transaction (or
round), the cost of a transaction, and the consume rates, then a table of
both targets. Runnel fsyncs each record, marker and state record before it
answers; Kafka does not fsync. Figures only: nothing is judged.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "interop", "lib"))

import figlib  # noqa: E402

say = figlib.say
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}
TXN_TOPIC = "bench-txn"
IDEM_TOPIC = "bench-idem"
MIB = 1024 * 1024


def rounds_for(seconds, run_one, minimum=3, most=100000):
    """Runs run_one() until `seconds` have passed (at least `minimum` times):
    (rounds, seconds taken)."""
    start = time.monotonic()
    n = 0
    while n < most and (n < minimum or time.monotonic() - start < seconds):
        run_one()
        n += 1
    return n, time.monotonic() - start


def produce_round(p, topic, size, value, partitions):
    for j in range(size):
        while True:
            try:
                p.produce(topic, value, partition=j % partitions)
                break
            except BufferError:
                p.poll(0.01)
        p.poll(0)


def transactional(bootstrap, args, size, value):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"bench-{size}",
                  "linger.ms": 5})
    p.init_transactions(30)

    def one():
        p.begin_transaction()
        produce_round(p, TXN_TOPIC, size, value, args.partitions)
        p.commit_transaction(60)

    rounds_for(0, one, minimum=2)  # warm-up
    n, took = rounds_for(args.seconds, one)
    p.flush(30)
    return n, took


def idempotent(bootstrap, args, size, value, rounds):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5})

    def one():
        produce_round(p, IDEM_TOPIC, size, value, args.partitions)
        left = p.flush(60)
        assert left == 0, f"{left} records not acknowledged"

    rounds_for(0, one, minimum=2)  # warm-up
    return rounds_for(0, one, minimum=rounds, most=rounds)


def consume_all(bootstrap, isolation, partitions, timeout_s=120):
    """(records, bytes, seconds) a consumer with this isolation level takes
    to read TXN_TOPIC from the start to its end offsets."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{isolation}",
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "fetch.max.bytes": 50 * MIB, "max.partition.fetch.bytes": 10 * MIB})
    ends = {q: c.get_watermark_offsets(TopicPartition(TXN_TOPIC, q), timeout=10)[1]
            for q in range(partitions)}
    c.assign([TopicPartition(TXN_TOPIC, q, 0) for q in range(partitions)])
    records = nbytes = 0
    pos = {q: 0 for q in range(partitions)}
    start = time.monotonic()
    while any(pos[q] < ends[q] for q in pos) and time.monotonic() - start < timeout_s:
        msgs = c.consume(10000, 0.2)
        for m in msgs:
            if m.error():
                continue
            records += 1
            nbytes += len(m.value())
            pos[m.partition()] = m.offset() + 1
        if not msgs:  # past the last records, the markers: the position moves on its own
            for tp in c.position([TopicPartition(TXN_TOPIC, q) for q in range(partitions)]):
                if tp.offset >= 0:
                    pos[tp.partition] = max(pos[tp.partition], tp.offset)
    took = time.monotonic() - start
    c.close()
    return records, nbytes, took


def run_target(target, args):
    os.environ["RUNNEL_TEST_TARGET"] = target
    from broker import Broker
    from topics import create_topic
    value = b"v" * args.record_bytes
    out = {"sizes": {}}
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TXN_TOPIC, args.partitions)
        create_topic(b.bootstrap, IDEM_TOPIC, args.partitions)
        time.sleep(1)
        for size in args.sizes:
            n, took = transactional(b.bootstrap, args, size, value)
            rn, rtook = idempotent(b.bootstrap, args, size, value, n)
            row = {"txns": n, "txn_s": took, "rounds": rn, "idem_s": rtook}
            out["sizes"][size] = row
            recs = n * size
            say(f"{target}: transactions of {size} records of {args.record_bytes} B: {n} in "
                f"{took:.1f} s: {recs / took:,.0f} records/s, "
                f"{recs * args.record_bytes / took / MIB:.1f} MiB/s, "
                f"{took / n * 1000:.1f} ms per transaction")
            say(f"{target}: idempotent, same records: {rn} rounds of {size} in {rtook:.1f} s: "
                f"{rn * size / rtook:,.0f} records/s, {rtook / rn * 1000:.1f} ms per round; "
                f"a transaction costs {(took / n - rtook / rn) * 1000:+.1f} ms "
                f"({(took / n) / (rtook / rn):.2f}x)")
        for isolation in ("read_committed", "read_uncommitted"):
            recs, nbytes, took = consume_all(b.bootstrap, isolation, args.partitions)
            out[isolation] = (recs, nbytes, took)
            say(f"{target}: {isolation} consume of {recs:,} records: {took:.1f} s, "
                f"{recs / took:,.0f} records/s, {nbytes / took / MIB:.1f} MiB/s")
    return out


def table(results, args):
    say("")
    say(f"| | {' | '.join(results)} |")
    say(f"| --- | {' | '.join('---' for _ in results)} |")
    for size in args.sizes:
        cells = []
        for r in results.values():
            row = r["sizes"][size]
            recs = row["txns"] * size
            cells.append(f"{recs / row['txn_s']:,.0f} rec/s, "
                         f"{row['txn_s'] / row['txns'] * 1000:.1f} ms/txn")
        say(f"| transactional produce, {size} x {args.record_bytes} B per transaction | "
            f"{' | '.join(cells)} |")
        cells = []
        for r in results.values():
            row = r["sizes"][size]
            cells.append(f"{row['rounds'] * size / row['idem_s']:,.0f} rec/s, "
                         f"{row['idem_s'] / row['rounds'] * 1000:.1f} ms/round")
        say(f"| idempotent produce, same records, rounds of {size} | {' | '.join(cells)} |")
        cells = []
        for r in results.values():
            row = r["sizes"][size]
            per_txn, per_round = row["txn_s"] / row["txns"], row["idem_s"] / row["rounds"]
            cells.append(f"{(per_txn - per_round) * 1000:+.1f} ms ({per_txn / per_round:.2f}x)")
        say(f"| cost of a transaction of {size} | {' | '.join(cells)} |")
    for isolation in ("read_committed", "read_uncommitted"):
        cells = []
        for r in results.values():
            recs, nbytes, took = r[isolation]
            cells.append(f"{recs / took:,.0f} rec/s, {nbytes / took / MIB:.1f} MiB/s")
        say(f"| {isolation} consume | {' | '.join(cells)} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", default="runnel,kafka")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="how long each transactional run lasts")
    ap.add_argument("--sizes", default="100,1000", help="records per transaction")
    ap.add_argument("--record-bytes", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=2)
    args = ap.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    for target in args.targets.split(","):
        results[target] = run_target(target, args)
    table(results, args)


if __name__ == "__main__":
    main()
