#!/usr/bin/env python3
"""Transactions with confluent-kafka (librdkafka), against Kafka 3.9's
behaviour:

- a transactional producer commits, aborts, commits: a read_committed
  consumer reads the committed records once each and never an aborted one;
  a read_uncommitted consumer reads all of them;
- while a transaction is open, a read_committed consumer's end offset (the
  last stable offset, ListOffsets isolation level 1) stays at the
  transaction's first offset and it reads nothing of it; the
  read_uncommitted end is past it;
- consume-transform-produce: send_offsets_to_transaction commits the
  group's offsets with the transaction, never with an aborted one;
- a zombie: a second producer with the same transactional.id fences the
  first, whose open transaction is aborted and whose commit fails;
- a broker restart in the middle of a transaction (the transaction goes on
  and commits) and after commits and aborts, clean and SIGKILL
  (read_committed reads the same).

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, free_port, target  # noqa: E402
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "txn-clients"
PARTITIONS = 2
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


def producer(bootstrap, txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": 60000, "linger.ms": 5})
    p.init_transactions(30)
    return p


def send(p, values):
    for i, v in enumerate(values):
        p.produce(TOPIC, value=v.encode(), partition=i % PARTITIONS)
    p.flush(30)


def read_all(bootstrap, isolation, timeout_s=20):
    """Every value a consumer with this isolation level reads from the start
    until it reaches the end offsets its isolation level gives."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{isolation}-{time.time()}",
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    ends = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)[1]
            for p in range(PARTITIONS)}
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    got, pos = [], {p: 0 for p in range(PARTITIONS)}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(pos[p] < ends[p] for p in range(PARTITIONS)):
        m = c.poll(0.2)
        if m is None:
            for p in range(PARTITIONS):  # past control batches the position moves on its own
                tp = c.position([TopicPartition(TOPIC, p)])[0]
                if tp.offset >= 0:
                    pos[p] = max(pos[p], tp.offset)
            continue
        if m.error():
            continue
        got.append(m.value().decode())
        pos[m.partition()] = m.offset() + 1
    c.close()
    return got, ends


def metrics(b, name):
    """A topic-level transaction metric of TOPIC (Runnel's /metrics); None
    against Kafka."""
    if target() != "runnel":
        return None
    from test_metrics import scrape, value
    samples, _types, _problems = scrape(b.admin)
    return value(samples, name, topic=TOPIC)


def committed_and_aborted(t, b):
    p = producer(b.bootstrap, "tx-clients")
    c1 = [f"c1-{i}" for i in range(10)]
    a1 = [f"a1-{i}" for i in range(10)]
    c2 = [f"c2-{i}" for i in range(6)]
    p.begin_transaction()
    send(p, c1)
    p.commit_transaction(30)
    p.begin_transaction()
    send(p, a1)
    p.abort_transaction(30)
    p.begin_transaction()
    send(p, c2)
    p.commit_transaction(30)
    got, _ = read_all(b.bootstrap, "read_committed")
    t.eq(sorted(got), sorted(c1 + c2),
         "read_committed: every committed record once, no aborted one")
    got, _ = read_all(b.bootstrap, "read_uncommitted")
    t.eq(sorted(got), sorted(c1 + a1 + c2), "read_uncommitted: committed and aborted records")
    if target() == "runnel":
        t.eq((metrics(b, "runnel_topic_txn_markers_total"),
              metrics(b, "runnel_topic_txn_aborted_total"),
              metrics(b, "runnel_topic_transactions_ongoing")), (6.0, 2.0, 0.0),
             "metrics: 6 markers (3 transactions, 2 partitions), 2 aborted, none ongoing")
    return c1 + c2, c1 + a1 + c2


def open_transaction(t, b, committed, everything):
    p = producer(b.bootstrap, "tx-open")
    p.begin_transaction()
    pending = [f"o-{i}" for i in range(4)]
    send(p, pending)
    got, ends_rc = read_all(b.bootstrap, "read_committed", timeout_s=5)
    _, ends_ru = read_all(b.bootstrap, "read_uncommitted", timeout_s=5)
    t.eq(sorted(got), sorted(committed),
         "an open transaction: read_committed reads nothing of it")
    t.ok(all(ends_rc[q] < ends_ru[q] for q in range(PARTITIONS)),
         "its end offsets (the last stable offset) stay below the read_uncommitted ones",
         (ends_rc, ends_ru))
    if target() == "runnel":
        t.eq(metrics(b, "runnel_topic_transactions_ongoing"), 2.0,
             "metrics: the open transaction is ongoing in both partitions")
    p.commit_transaction(30)
    got, _ = read_all(b.bootstrap, "read_committed")
    t.eq(sorted(got), sorted(committed + pending), "once committed, read_committed reads it")
    return committed + pending, everything + pending


def zombie(t, b, committed, everything):
    first = producer(b.bootstrap, "tx-zombie")
    first.begin_transaction()
    zombie_values = [f"z-{i}" for i in range(4)]
    send(first, zombie_values)
    second = producer(b.bootstrap, "tx-zombie")  # fences the first
    fenced = None
    try:
        first.commit_transaction(30)
    except KafkaException as e:
        fenced = e.args[0]
    t.ok(fenced is not None and fenced.fatal(),
         "the zombie's commit fails with a fatal error (fenced)", fenced)
    second.begin_transaction()
    fresh = [f"n-{i}" for i in range(4)]
    send(second, fresh)
    second.commit_transaction(30)
    got, _ = read_all(b.bootstrap, "read_committed")
    t.eq(sorted(got), sorted(committed + fresh),
         "read_committed: the new producer's records, none of the zombie's")
    return committed + fresh, everything + zombie_values + fresh


def restarts(t, b, committed, everything):
    p = producer(b.bootstrap, "tx-restart")
    p.begin_transaction()
    mid = [f"r-{i}" for i in range(4)]
    send(p, mid)
    b.restart()
    p.commit_transaction(60)
    got, _ = read_all(b.bootstrap, "read_committed", timeout_s=30)
    t.eq(sorted(got), sorted(committed + mid),
         "a restart in the middle of a transaction: it goes on and commits")
    committed, everything = committed + mid, everything + mid
    b.restart()
    got, _ = read_all(b.bootstrap, "read_committed", timeout_s=30)
    t.eq(sorted(got), sorted(committed),
         "after another restart read_committed reads the same (aborted ones still skipped)")
    got, _ = read_all(b.bootstrap, "read_uncommitted", timeout_s=30)
    t.eq(sorted(got), sorted(everything), "and read_uncommitted reads everything")
    b.restart(hard=True)
    got, _ = read_all(b.bootstrap, "read_committed", timeout_s=30)
    t.eq(sorted(got), sorted(committed),
         "after a SIGKILL and restart read_committed still skips every aborted record")


def group_offsets(t, b):
    """Consume-transform-produce: offsets sent with the transaction."""
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "txn-ctp",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "isolation.level": "read_committed", "session.timeout.ms": 6000})
    c.subscribe([TOPIC])
    seen, deadline = 0, time.monotonic() + 30
    while seen < 6 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen += 1
    positions = c.position(c.assignment())
    p = producer(b.bootstrap, "tx-ctp")
    p.begin_transaction()
    send(p, ["ctp-0"])
    p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
    want = {tp.partition: tp.offset for tp in positions}
    got = {tp.partition: tp.offset for tp in c.committed(c.assignment(), timeout=10)}
    t.eq(got, want, "send_offsets_to_transaction then commit: the group's committed offsets")
    p.begin_transaction()
    moved = [TopicPartition(TOPIC, tp.partition, tp.offset + 1000) for tp in positions]
    p.send_offsets_to_transaction(moved, c.consumer_group_metadata(), 30)
    p.abort_transaction(30)
    got = {tp.partition: tp.offset for tp in c.committed(c.assignment(), timeout=10)}
    t.eq(got, want, "offsets sent in an aborted transaction are never committed")
    c.close()
    return ["ctp-0"]


def main():
    t = Tap("transactions with confluent-kafka")
    settings = dict(SETTINGS)
    if target() == "runnel":
        settings["admin.listener"] = f"127.0.0.1:{free_port()}"
    with Broker(settings) as b:
        b.admin = "http://" + settings["admin.listener"] if target() == "runnel" else None
        create_topic(b.bootstrap, TOPIC, PARTITIONS)
        state = {}

        def step1(t):
            state["c"], state["e"] = committed_and_aborted(t, b)

        def step2(t):
            state["c"], state["e"] = open_transaction(t, b, state["c"], state["e"])

        def step3(t):
            state["c"], state["e"] = zombie(t, b, state["c"], state["e"])

        def step4(t):
            restarts(t, b, state["c"], state["e"])

        t.run(step1, desc="commit, abort, commit")
        t.run(step2, desc="an open transaction and the last stable offset")
        t.run(step3, desc="a zombie fenced by a second producer")
        t.run(step4, desc="broker restarts mid-transaction and after")
        t.run(group_offsets, b, desc="consume-transform-produce with the group's offsets")
    t.done()


if __name__ == "__main__":
    main()
