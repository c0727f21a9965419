#!/usr/bin/python3
"""Transactions with the Java client (kafka-clients 3.9):
tests/interop/java/JavaTxnCheck.java commits 10 records, aborts 10 and
commits 5 with a transactional producer, reads them back read_committed (15,
none aborted) and read_uncommitted (25), then has the Admin client describe
the transactional id (CompleteCommit), list the transactions and describe
the partition's producers.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from java_client import compile_java, run_java  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "java-txn"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


def check(t, b):
    err = compile_java()
    t.ok(err is None, "the Java programs compile", err)
    if err:
        return
    create_topic(b.bootstrap, TOPIC, 1)
    res = run_java("JavaTxnCheck", b.bootstrap, TOPIC, timeout=180)
    lines = res.stdout.split("\n")
    t.ok(res.returncode == 0 and "OK" in lines, "JavaTxnCheck runs to the end",
         res.stdout[-2000:] + res.stderr[-2000:])
    t.ok("COMMITTED 15" in lines, "read_committed: the 15 committed records, no aborted one",
         res.stdout[-1000:])
    t.ok("UNCOMMITTED 25" in lines, "read_uncommitted: all 25", res.stdout[-1000:])
    t.ok("STATE CompleteCommit" in lines, "DescribeTransactions: CompleteCommit",
         res.stdout[-1000:])
    t.ok("LISTED yes" in lines, "ListTransactions lists the id", res.stdout[-1000:])
    t.ok("PRODUCERS 1" in lines, "DescribeProducers: the producer", res.stdout[-1000:])


def main():
    t = Tap("transactions with the Java client")
    with Broker(SETTINGS) as b:
        t.run(check, b, desc="commit, abort, commit; Admin describes")
    t.done()


if __name__ == "__main__":
    main()
