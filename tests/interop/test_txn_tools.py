#!/usr/bin/python3
"""kafka-transactions.sh (Kafka 3.9's TransactionsCommand) against the broker,
as against Kafka 3.9:

- `list` names each transactional id with its coordinator, producer id and
  state; `describe` an open transaction's state and partitions;
  `describe-producers` a partition's producers with the first offset of
  each one's open transaction;
- a transactional batch in a Produce request without a transactional id is
  refused, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, nothing appended;
- a hanging transaction, made on purpose: with
  transaction.partition.verification.enable=false (so the broker does not
  ask the coordinator first, as before KIP-890), a transactional batch of a
  producer id and transactional id no coordinator knows (as after a lost
  coordinator), its CreateTime an hour old; one such in each partition.
  `find-hanging --broker-id` lists them and only them (an open transaction
  its coordinator knows is not hanging); each holds its partition's last
  stable offset;
- `abort --topic --partition --start-offset` ends one, `abort --producer-id
  --producer-epoch --coordinator-epoch` the other (an ABORT marker each,
  with the producer's epoch): `find-hanging` then lists nothing, the last
  stable offsets move on and a read_committed consumer reads past them,
  never their records.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, node_ids  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from kafka_tools import run_tool  # noqa: E402
from tap import Tap  # noqa: E402
from test_txn_markers import ABORT, CTRL, markers_of  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "txn-tools"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5,
            "transaction.partition.verification.enable": "false"}
ATTR_TRANSACTIONAL = 0x10
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
HANGING_PID = 987654  # producer ids no coordinator gave out
HANGING_PID2 = 987655
HANGING_EPOCH2 = 3
HOUR_MS = 3600 * 1000


def tool(bootstrap, *args):
    """kafka-transactions.sh ARGS: (exit code, rows of the table printed:
    each row a list of whitespace-separated cells, the header first), stderr."""
    r = run_tool("transactions", "--bootstrap-server", bootstrap, *args, timeout=90)
    print("\n".join(f"# {' '.join(args)}: {ln}" for ln in r.stdout.splitlines()), flush=True)
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.strip()]
    return r.returncode, rows, r.stderr[-2000:]


def table(rows):
    """The rows as dicts by header name."""
    if not rows:
        return []
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def txn_producer(bootstrap, txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": 60000, "linger.ms": 1})
    p.init_transactions(30)
    return p


def send(p, values, partitions=(0, 1)):
    for i, v in enumerate(values):
        p.produce(TOPIC, value=v.encode(), partition=partitions[i % len(partitions)])
    p.flush(30)


def produce_txn_batch(bootstrap, partition, transactional_id, pid=HANGING_PID, epoch=0):
    """Produce v8 of a transactional batch of the producer, its CreateTime an
    hour ago: (error, base offset, error message)."""
    batch = kwire.record_batch([b"hang-0", b"hang-1"], base_ts=int(time.time() * 1000) - HOUR_MS,
                               producer_id=pid, producer_epoch=epoch, base_sequence=0,
                               attributes=ATTR_TRANSACTIONAL)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, TOPIC, partition, batch, version=8,
                                                       transactional_id=transactional_id))
    (_topic, _p, err, base, _rec_errors, msg), = kwire.parse_produce_errors(body, 8)
    return err, base, msg


def latest(bootstrap, partition, isolation="read_uncommitted"):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tools-latest",
                  "isolation.level": isolation})
    try:
        return c.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)[1]
    finally:
        c.close()


def settled_end(bootstrap, partition, timeout_s=10):
    """The partition's end offset once every transaction in it is complete
    (its markers are written after the commit returns)."""
    deadline = time.monotonic() + timeout_s
    while True:
        end = latest(bootstrap, partition)
        if latest(bootstrap, partition, "read_committed") == end or time.monotonic() > deadline:
            return end
        time.sleep(0.1)


def stable_end(bootstrap, partition):
    """The partition's end offset for read_committed (its last stable offset)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tools-lso",
                  "isolation.level": "read_committed"})
    try:
        return c.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)[1]
    finally:
        c.close()


def read_committed(bootstrap, partition, until, timeout_s=20):
    """Values a read_committed consumer reads from the partition's start,
    until its position reaches `until` or the time is up; and its position."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"tools-rc-{time.time()}",
                  "isolation.level": "read_committed", "enable.auto.commit": False})
    got, pos = [], 0
    try:
        c.assign([TopicPartition(TOPIC, partition, 0)])
        deadline = time.monotonic() + timeout_s
        while pos < until and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is not None and not m.error():
                got.append(m.value().decode())
            pos = max(pos, c.position([TopicPartition(TOPIC, partition)])[0].offset)
    finally:
        c.close()
    return got, pos


def setup(t, b, state):
    done = txn_producer(b.bootstrap, "tools-done")
    done.begin_transaction()
    send(done, ["d-0", "d-1"])
    done.commit_transaction(30)
    end = settled_end(b.bootstrap, 1)
    err, base, _msg = produce_txn_batch(b.bootstrap, 1, None)
    t.eq((err, base, latest(b.bootstrap, 1)), (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, end),
         "a transactional batch without a transactional id: refused, nothing appended")
    err, state["hang_offset"], _msg = produce_txn_batch(b.bootstrap, 1, "tools-ghost")
    t.eq((err, state["hang_offset"]), (0, end),
         "with a transactional id no coordinator knows, unchecked: appended")
    end0 = settled_end(b.bootstrap, 0)
    err, state["hang0"], _msg = produce_txn_batch(b.bootstrap, 0, "tools-ghost2", HANGING_PID2,
                                                  HANGING_EPOCH2)
    t.eq((err, state["hang0"]), (0, end0), "and another producer's in partition 0")
    opened = txn_producer(b.bootstrap, "tools-open")
    opened.begin_transaction()
    send(opened, ["o-0", "o-1", "o-2", "o-3"])
    state["open"] = opened
    t.eq((stable_end(b.bootstrap, 0), stable_end(b.bootstrap, 1)),
         (state["hang0"], state["hang_offset"]),
         "the hanging transactions hold the partitions' last stable offsets")


def listing(t, b, state):
    rc, rows, err = tool(b.bootstrap, "list")
    got = {r["TransactionalId"]: r for r in table(rows)}
    t.eq(rows[0] if rows else None,
         ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], "list: the header")
    t.eq((rc, {k: got[k]["TransactionState"] for k in ("tools-done", "tools-open") if k in got},
          {got[k]["Coordinator"] for k in got}),
         (0, {"tools-done": "CompleteCommit", "tools-open": "Ongoing"}, {str(node_ids()[0])}),
         "list: each id's state, its coordinator this broker")
    state["open_pid"] = got.get("tools-open", {}).get("ProducerId")
    rc, rows, err = tool(b.bootstrap, "describe", "--transactional-id", "tools-open")
    d = table(rows)
    t.eq((rc, rows[0] if rows else None), (0, [
        "CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
        "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs",
        "TopicPartitions"]), "describe: the header")
    t.eq([(r["TransactionalId"], r["ProducerId"], r["TransactionState"],
           r["TransactionTimeoutMs"], sorted(r["TopicPartitions"].split(","))) for r in d],
         [("tools-open", state["open_pid"], "Ongoing", "60000", [f"{TOPIC}-0", f"{TOPIC}-1"])],
         "describe: the open transaction, its timeout and partitions")
    rc, rows, err = tool(b.bootstrap, "describe", "--transactional-id", "tools-none")
    t.ok(rc != 0 and "failed because the ID could not be found" in err,
         "describe of an unknown id fails: the ID could not be found", (rc, err))


def producers(t, b, state):
    rc, rows, err = tool(b.bootstrap, "describe-producers", "--topic", TOPIC, "--partition", "1")
    t.eq((rc, rows[0] if rows else None), (0, [
        "ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
        "CurrentTransactionStartOffset"]), "describe-producers: the header")
    got = {r["ProducerId"]: r for r in table(rows)}
    hanging = got.get(str(HANGING_PID), {})
    t.eq((hanging.get("ProducerEpoch"), hanging.get("LastSequence"),
          hanging.get("CurrentTransactionStartOffset"), hanging.get("LatestCoordinatorEpoch")),
         ("0", "1", str(state["hang_offset"]), "-1"),
         "describe-producers: the hanging producer, its open transaction's first offset")
    opened = got.get(state["open_pid"], {})
    t.ok(int(opened.get("CurrentTransactionStartOffset", -1)) > state["hang_offset"],
         "describe-producers: the open transaction's producer, its first offset after it",
         (state, rows))


def find_hanging(b):
    rc, rows, err = tool(b.bootstrap, "find-hanging", "--broker-id", str(node_ids()[0]))
    return rc, rows, table(rows), err


def hanging(t, b, state):
    rc, rows, found, err = find_hanging(b)
    t.eq((rc, rows[0] if rows else None), (0, [
        "Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset",
        "LastTimestamp", "Duration(min)"]), "find-hanging: the header")
    want = [(TOPIC, "0", str(HANGING_PID2), str(HANGING_EPOCH2), str(state["hang0"])),
            (TOPIC, "1", str(HANGING_PID), "0", str(state["hang_offset"]))]
    t.eq(sorted((r["Topic"], r["Partition"], r["ProducerId"], r["ProducerEpoch"],
                 r["StartOffset"]) for r in found), want,
         "find-hanging --broker-id lists the hanging transactions only")
    t.ok(found and all(59 <= int(r["Duration(min)"]) <= 61 for r in found),
         "their duration: an hour (from their last timestamp)", found)
    rc, rows, err = tool(b.bootstrap, "find-hanging", "--topic", TOPIC,
                         "--max-transaction-timeout", "1")
    t.eq((rc, sorted((r["Partition"], r["ProducerId"]) for r in table(rows))),
         (0, [("0", str(HANGING_PID2)), ("1", str(HANGING_PID))]),
         "find-hanging --topic with --max-transaction-timeout 1: the same ones")


def abort(t, b, state):
    rc, rows, err = tool(b.bootstrap, "abort", "--topic", TOPIC, "--partition", "1",
                         "--start-offset", str(state["hang_offset"]))
    t.ok(rc == 0, "abort --topic --partition --start-offset succeeds", (rc, rows, err))
    t.eq([(m[0], m[1], m[3]) for m in markers_of(b.bootstrap, TOPIC, 1, HANGING_PID)],
         [(CTRL, 0, ABORT)], "an ABORT marker for the hanging producer, its epoch")
    rc, rows, found, err = find_hanging(b)
    t.eq((rc, [(r["Partition"], r["ProducerId"]) for r in found]), (0, [("0", str(HANGING_PID2))]),
         "find-hanging then lists the other one only")
    rc, rows, err = tool(b.bootstrap, "abort", "--topic", TOPIC, "--partition", "0",
                         "--producer-id", str(HANGING_PID2), "--producer-epoch",
                         str(HANGING_EPOCH2), "--coordinator-epoch", "0")
    t.ok(rc == 0, "abort --producer-id --producer-epoch --coordinator-epoch succeeds",
         (rc, rows, err))
    t.eq([(m[0], m[1], m[3]) for m in markers_of(b.bootstrap, TOPIC, 0, HANGING_PID2)],
         [(CTRL, HANGING_EPOCH2, ABORT)], "an ABORT marker for that producer, its epoch")
    rc, rows, found, err = find_hanging(b)
    t.eq((rc, found), (0, []), "find-hanging then lists nothing")
    opened = state["open"]
    opened.commit_transaction(30)
    for partition, hang, want in ((0, state["hang0"], ["d-0", "o-0", "o-2"]),
                                  (1, state["hang_offset"], ["d-1", "o-1", "o-3"])):
        end = stable_end(b.bootstrap, partition)
        got, pos = read_committed(b.bootstrap, partition, end)
        t.ok(end > hang and pos >= end,
             f"partition {partition}: the last stable offset moves on; read_committed reads to it",
             (hang, end, pos))
        t.eq(got, want, f"partition {partition}: read_committed reads the committed records "
                        "around it, none of the hanging ones")


def main():
    t = Tap("kafka-transactions.sh")
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 2)
        time.sleep(1)  # Kafka: the new partitions' logs are online shortly after their metadata
        state = {}
        if t.run(setup, b, state, desc="a committed, an open and a hanging transaction") is None \
                and "open" not in state:
            t.done()
        t.run(listing, b, state, desc="list and describe")
        t.run(producers, b, state, desc="describe-producers")
        t.run(hanging, b, state, desc="find-hanging")
        t.run(abort, b, state, desc="abort")
    t.done()


if __name__ == "__main__":
    main()
