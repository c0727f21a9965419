#!/usr/bin/env python3
"""Transactions on a cluster of several brokers are refused for now
(docs/TRANSACTIONS.md, "Not yet": markers do not cross brokers, so a
transaction touching a partition led elsewhere would stay prepared and hold
that partition's last stable offset): three runnel nodes.

- A transactional producer's init_transactions fails with
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as every release before
  transactions answered, and the node that answered says why in its log.
- An idempotent producer (no transactional id) still works.

Runnel only (the cluster harness runs Runnel). Bounded: about 10 s."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402

WHY = "transactions are served by a single node so far"


def log_text(node):
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        return f.read()


def scenario(t):
    with Cluster(3) as c:
        p = Producer({"bootstrap.servers": c.bootstrap, "transactional.id": "txn-on-cluster",
                      "log_level": 0})
        code = None
        try:
            p.init_transactions(20)
        except KafkaException as e:
            code = e.args[0].code()
        t.eq(code, KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
             "init_transactions on three brokers: TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
        t.ok(any(WHY in log_text(n) for n in c.nodes), "a node's log says why")
        listed = c.nodes[0]
        from cluster_checks import metadata
        t.ok("__transaction_state" not in metadata(listed)[1],
             "no __transaction_state on a cluster (it would only add partitions to keep)")
        q = Producer({"bootstrap.servers": c.bootstrap, "enable.idempotence": True,
                      "acks": "all", "log_level": 0})
        q.produce("plain", value=b"v")
        t.eq(q.flush(20), 0, "an idempotent producer still works")


if __name__ == "__main__":
    run_scenarios("transactions on a cluster", scenario)
