#!/usr/bin/env python3
"""Transactions on a cluster of three runnel nodes: __transaction_state is
replicated (transaction.state.log.replication.factor 3, min.isr 2), a
transactional id's coordinator is the leader of its partition, and the
coordinator writes the markers of partitions led by other brokers with
WriteTxnMarkers over the broker-to-broker client.

- A transactional producer writes to a topic whose partitions are led by
  the three brokers: two commits and an abort between them. A
  read_committed consumer bootstrapped to a node that is not the
  coordinator reads each committed record once and no aborted one; a
  read_uncommitted one reads every record.
- send_offsets_to_transaction: the group's offsets are committed with the
  transaction and read back.
- KIP-890 across brokers: a transactional Produce (raw frames) to a
  partition led by a broker that is not the transactional id's coordinator
  is checked with the coordinator (AddPartitionsToTxn v5 verify_only, broker
  to broker): INVALID_TXN_STATE "Partition was not added to the
  transaction" before AddPartitionsToTxn, INVALID_PRODUCER_EPOCH with an
  older epoch, taken once added.
- SIGKILL of the coordinator's broker between transactions: the survivors
  name a new coordinator and the producer commits its next transaction
  there.
- SIGKILL of the coordinator's broker in the middle of a transaction: the
  producer's commit either succeeds or fails (then it aborts, or a new
  producer fences it); once settled that transaction's records are all
  visible to read_committed or none is, and a new producer's
  init_transactions works at the new coordinator and commits.

Runnel only (the cluster harness runs Runnel). Bounded: every wait has a
deadline; about a minute."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import kafka_request  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import metadata, placement, settle  # noqa: E402
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
import kwire  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
TOPIC = "txc"
PARTITIONS = 6
TXN_ID = "txn-on-cluster"
GROUP = "txc-group"
SETTINGS = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500",
            "group.initial.rebalance.delay.ms": "0",
            "transaction.state.log.num.partitions": "6",
            "offsets.topic.num.partitions": "6"}
SETTLE_S = 30.0
TXN_TIMEOUT_S = 30
API_FIND_COORDINATOR = 10
API_INIT_PRODUCER_ID = 22
API_ADD_PARTITIONS = 24
API_END_TXN = 26
NONE = 0
INVALID_PRODUCER_EPOCH = 47
INVALID_TXN_STATE = 48
RETRIABLE = (14, 15, 16, 51)  # load in progress, not available, not coordinator, concurrent


def find_txn_coordinator(node, txn_id):
    """(error code, node id) FindCoordinator v1 for a transactional id."""
    key = txn_id.encode()
    body = struct.pack(">h", len(key)) + key + struct.pack(">b", 1)
    r = Reader(kafka_request(node.bootstrap, API_FIND_COORDINATOR, 1, body))
    r.i32()  # throttle
    err = r.i16()
    r.string()  # message
    return err, r.i32()


def coordinator(nodes, txn_id, not_id=None):
    """The broker every node names, once they agree (and it is not not_id)."""
    def agreed():
        got = [find_txn_coordinator(n, txn_id) for n in nodes]
        ids = {nid for err, nid in got if err == 0}
        if len(ids) == 1 and all(err == 0 for err, _ in got) and not_id not in ids:
            return ids.pop()
        return None
    return settle(agreed, f"one transaction coordinator for {txn_id}", SETTLE_S)


def producer(bootstrap, txn_id):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id,
                  "transaction.timeout.ms": TXN_TIMEOUT_S * 1000, "log_level": 0})
    p.init_transactions(SETTLE_S)
    return p


def send(p, prefix, count=PARTITIONS * 2):
    for i in range(count):
        p.produce(TOPIC, value=f"{prefix}-{i}".encode(), partition=i % PARTITIONS)
    p.flush(SETTLE_S)


def read_all(bootstrap, isolation, expect, timeout=SETTLE_S):
    """Every value of the topic, read from the start until `expect` values
    came (or the bound, or a quiet second after it)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{time.monotonic_ns()}",
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "log_level": 0})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    values = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(values) < expect:
            m = c.poll(0.2)
            if m is not None and not m.error():
                values.append(m.value().decode())
        quiet = time.monotonic() + 1.0  # anything past what was expected
        while time.monotonic() < quiet:
            m = c.poll(0.2)
            if m is not None and not m.error():
                values.append(m.value().decode())
    finally:
        c.close()
    return values


def names(prefix, count=PARTITIONS * 2):
    return {f"{prefix}-{i}" for i in range(count)}


def leaders(node):
    return {leader for _p, _e, leader, _r, _i in metadata(node, [TOPIC])[1][TOPIC]}


def raw_call(bootstrap, api, version, body):
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(api, version, 1) + body))
    r = kwire.Reader(resp)
    r.i32()  # throttle
    return r


def raw_init_pid(bootstrap, txn_id):
    """InitProducerId v1 until the coordinator answers: (error, pid, epoch)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        r = raw_call(bootstrap, API_INIT_PRODUCER_ID, 1, kwire.string(txn_id) + kwire.i32(60000))
        got = (r.i16(), r.i64(), r.i16())
        if got[0] not in RETRIABLE or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def raw_add_partition(bootstrap, txn_id, pid, epoch, partition):
    """AddPartitionsToTxn v2 of one partition of TOPIC: its error."""
    body = kwire.string(txn_id) + kwire.i64(pid) + kwire.i16(epoch)
    body += kwire.array([kwire.string(TOPIC) + kwire.array([kwire.i32(partition)])])
    r = raw_call(bootstrap, API_ADD_PARTITIONS, 2, body)
    (_name, ((_p, err),)), = r.array(lambda x: (x.string(),
                                                x.array(lambda y: (y.i32(), y.i16()))))
    return err


def raw_end_txn(bootstrap, txn_id, pid, epoch, commit):
    body = kwire.string(txn_id) + kwire.i64(pid) + kwire.i16(epoch) + kwire.i8(int(commit))
    return raw_call(bootstrap, API_END_TXN, 2, body).i16()


def raw_tx_produce(bootstrap, txn_id, pid, epoch, seq, partition):
    """A transactional Produce v8 of one batch: (error, message)."""
    batch = kwire.record_batch([b"raw-1", b"raw-2"], producer_id=pid, producer_epoch=epoch,
                               base_sequence=seq, attributes=0x10)
    body = (kwire.string(txn_id) + kwire.i16(-1) + kwire.i32(10000)
            + kwire.array([kwire.string(TOPIC)
                           + kwire.array([kwire.i32(partition) + kwire.nbytes(batch)])]))
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(0, 8, 1) + body))
    (_, _, err, _, _, msg), = kwire.parse_produce_errors(resp, 8)
    return err, msg


def verify_across(t, c, nodes):
    """KIP-890: a produce to a partition led away from the coordinator."""
    txn_id = "txn-verify"
    coord = coordinator(nodes, txn_id)
    views = metadata(nodes[0], [TOPIC])[1][TOPIC]
    away = [(p, leader) for p, _e, leader, _r, _i in views if leader != coord]
    if not coord or not away:
        t.ok(False, f"a partition led away from coordinator {coord}", f"partitions {views}")
        return
    partition, leader = away[0]
    at_coord, at_leader = c.node(coord).bootstrap, c.node(leader).bootstrap
    err, pid, epoch = raw_init_pid(at_coord, txn_id)
    t.eq(err, NONE, f"InitProducerId for {txn_id} at its coordinator {coord}")
    t.eq(raw_tx_produce(at_leader, txn_id, pid, epoch, 0, partition),
         (INVALID_TXN_STATE, "Partition was not added to the transaction"),
         f"a transactional Produce to {TOPIC}-{partition} (led by {leader}) not in the "
         f"transaction: INVALID_TXN_STATE, checked with coordinator {coord}")
    t.eq(raw_add_partition(at_coord, txn_id, pid, epoch, partition), NONE,
         "the partition added at the coordinator")
    t.eq(raw_tx_produce(at_leader, txn_id, pid, epoch - 1 if epoch > 0 else epoch + 1, 0,
                        partition)[0],
         INVALID_PRODUCER_EPOCH, "with another epoch: INVALID_PRODUCER_EPOCH")
    t.eq(raw_tx_produce(at_leader, txn_id, pid, epoch, 0, partition), (NONE, None),
         "then the batch is taken")
    t.eq(raw_end_txn(at_coord, txn_id, pid, epoch, False), NONE, "and aborted")


def commit_settled(p):
    """Commits; on a failure aborts (the coordinator may have fenced the
    transaction). Returns "committed", "aborted" or "failed"."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        try:
            p.commit_transaction(SETTLE_S)
            return "committed"
        except KafkaException as e:
            err = e.args[0]
            if err.retriable():
                continue
            break
    try:
        p.abort_transaction(SETTLE_S)
        return "aborted"
    except KafkaException:
        return "failed"


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        nodes = [c.node(i) for i in range(1, NODES + 1)]
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])[TOPIC].result(20)
        t.ok(settle(lambda: placement(nodes, TOPIC, PARTITIONS, 3, set(range(1, NODES + 1))),
                    "the topic on every node", SETTLE_S),
             "every node shows the topic's partitions")
        t.ok(len(leaders(nodes[0])) > 1, "the topic's partitions have several leaders",
             f"leaders {leaders(nodes[0])}")
        views = metadata(nodes[0])[1]
        state = views.get("__transaction_state") or []
        t.ok(state and all(len(set(r)) == 3 for _p, _e, _l, r, _i in state),
             "__transaction_state exists with three replicas a partition",
             f"partitions {state}")

        coord = coordinator(nodes, TXN_ID)
        t.ok(coord, f"every node names the same transaction coordinator ({coord})")
        others = [n for n in nodes if n.node_id != coord]
        elsewhere = others[0].bootstrap

        # Commit, abort, commit; read through a node that is not the coordinator.
        p = producer(c.bootstrap, TXN_ID)
        p.begin_transaction()
        send(p, "c1")
        p.commit_transaction(SETTLE_S)
        p.begin_transaction()
        send(p, "a1")
        p.abort_transaction(SETTLE_S)
        p.begin_transaction()
        send(p, "c2")
        p.commit_transaction(SETTLE_S)
        want = names("c1") | names("c2")
        got = read_all(elsewhere, "read_committed", len(want))
        t.eq(sorted(got), sorted(want),
             "read_committed through another node: each committed record once, no aborted one")
        got = read_all(elsewhere, "read_uncommitted", len(want) + PARTITIONS * 2)
        t.eq(sorted(got), sorted(want | names("a1")), "read_uncommitted reads every record")

        # Offsets with the transaction.
        g = Consumer({"bootstrap.servers": elsewhere, "group.id": GROUP,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "log_level": 0})
        g.subscribe([TOPIC])
        settle(lambda: g.poll(0.2) is None and len(g.assignment()) == PARTITIONS,
               "the group's assignment", SETTLE_S)
        offsets = [TopicPartition(TOPIC, q, 3) for q in range(PARTITIONS)]
        p.begin_transaction()
        send(p, "o1", PARTITIONS)
        p.send_offsets_to_transaction(offsets, g.consumer_group_metadata(), SETTLE_S)
        p.commit_transaction(SETTLE_S)
        back = settle(lambda: (lambda tps: tps if all(tp.offset == 3 for tp in tps) else None)(
            g.committed([TopicPartition(TOPIC, q) for q in range(PARTITIONS)], timeout=5)),
            "the transaction's offsets", SETTLE_S)
        t.ok(back, "send_offsets_to_transaction: the group's offsets committed with it",
             f"committed {back}")
        g.close()

        verify_across(t, c, nodes)

        # SIGKILL of the coordinator between transactions.
        c.node(coord).kill()
        coord2 = coordinator(others, TXN_ID, not_id=coord)
        t.ok(coord2, f"coordinator {coord} SIGKILLed: the survivors name {coord2}")
        p.begin_transaction()
        send(p, "c3")
        outcome = commit_settled(p)
        t.eq(outcome, "committed", "the next transaction commits at the new coordinator")
        live = ",".join(n.bootstrap for n in others)
        want |= names("c3") | names("o1", PARTITIONS)
        got = read_all(live, "read_committed", len(want))
        t.eq(sorted(got), sorted(want), "read_committed after the failover: every commit once")

        # SIGKILL of the coordinator in the middle of a transaction.
        c.node(coord).start()
        coord3 = coordinator(nodes, TXN_ID)
        t.ok(coord3, f"the killed node is back; the coordinator is {coord3}")
        p.begin_transaction()
        send(p, "m1")
        c.node(coord3).kill()
        survivors = [n for n in nodes if n.node_id != coord3]
        outcome = commit_settled(p)
        t.ok(outcome in ("committed", "aborted", "failed"), f"the commit settles: {outcome}")
        live = ",".join(n.bootstrap for n in survivors)
        coord4 = coordinator(survivors, TXN_ID, not_id=coord3)
        t.ok(coord4, f"coordinator {coord3} SIGKILLed mid-transaction: the survivors name "
                     f"{coord4}")
        q = None
        try:
            q = producer(live, TXN_ID)
        except KafkaException as e:
            t.ok(False, f"a new producer's init_transactions at the new coordinator: {e}")
        if q is not None:
            t.ok(True, "a new producer's init_transactions works at the new coordinator")
            q.begin_transaction()
            send(q, "c4")
            t.eq(commit_settled(q), "committed", "and its transaction commits")
            want |= names("c4")
        got = read_all(live, "read_committed", len(want) + PARTITIONS * 2)
        middle = {v for v in got if v.startswith("m1-")}
        t.ok(middle in (set(), names("m1")),
             "the interrupted transaction is all visible or not at all",
             f"outcome {outcome}, {len(middle)} of {PARTITIONS * 2} visible")
        if outcome == "committed":
            t.eq(middle, names("m1"), "a commit that succeeded is visible")
        t.eq(sorted(v for v in got if not v.startswith("m1-")), sorted(want),
             "every earlier commit is still read once")
        p.flush(1)


if __name__ == "__main__":
    run_scenarios("transactions on a cluster", scenario)
