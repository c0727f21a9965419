#!/usr/bin/env python3
"""Transactions per second of one transactional producer on a single node,
for Runnel or Apache Kafka 3.9.

    tests/bench/transactions.py [--target runnel|kafka] [--transactions 300]
                                [--records 10] [--partitions 2]

One confluent-kafka producer (transactional.id "bench", linger.ms 1) runs
--transactions transactions one after the other, each --records records of
100 bytes spread over --partitions partitions, then commit_transaction,
after five warm-up transactions. Printed: the total time and the time per
committed transaction (the commit waits for the coordinator's PrepareCommit
record; on Runnel each record and marker is fsynced before it is
acknowledged, on Kafka it is not). Figures only: nothing is judged.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop", "lib"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default="runnel", choices=("runnel", "kafka"))
    ap.add_argument("--transactions", type=int, default=300)
    ap.add_argument("--records", type=int, default=10)
    ap.add_argument("--partitions", type=int, default=2)
    args = ap.parse_args()
    os.environ["RUNNEL_TEST_TARGET"] = args.target
    from broker import Broker
    from confluent_kafka import Producer
    from topics import create_topic
    settings = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
                "offsets.topic.num.partitions": 5}
    with Broker(settings) as b:
        create_topic(b.bootstrap, "bench", args.partitions)
        time.sleep(1)
        p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "bench",
                      "linger.ms": 1})
        p.init_transactions(30)
        for _ in range(5):
            p.begin_transaction()
            p.produce("bench", b"warm", partition=0)
            p.commit_transaction(30)
        start = time.monotonic()
        for _ in range(args.transactions):
            p.begin_transaction()
            for j in range(args.records):
                p.produce("bench", b"v" * 100, partition=j % args.partitions)
            p.commit_transaction(30)
        took = time.monotonic() - start
        print(f"{args.target}: {args.transactions} transactions of {args.records} records over "
              f"{args.partitions} partitions: {took:.2f} s, "
              f"{took / args.transactions * 1000:.1f} ms per transaction")


if __name__ == "__main__":
    main()
