#!/usr/bin/python3
"""Incremental fetch sessions (KIP-227), with raw Fetch v11 frames:

- a full fetch with session id 0 and epoch 0 opens a session: a non-zero
  id, every partition answered;
- an incremental fetch with nothing new answers no partition (after
  max_wait), with the session's id;
- records produced show up in the next incremental fetch, which lists
  nothing, and only that partition is answered; once the client moves its
  position the session is quiet again;
- a partition added by an incremental fetch is answered at once; a
  forgotten one no longer is, even with new records;
- a wrong epoch is INVALID_FETCH_SESSION_EPOCH and leaves the session
  usable; an unknown id is FETCH_SESSION_ID_NOT_FOUND;
- epoch -1 closes the session (a full answer with session id 0);
- a deleted topic's partitions in a session are answered with
  UNKNOWN_TOPIC_OR_PARTITION on every incremental fetch;
- a full cache opens no session (id 0, the full answer still given), and
  a replica's fetch evicts one consumer session to open its own;
- the Java consumer (kafka-console-consumer, with sessions) and librdkafka
  (full fetches) read every record of a 200-partition topic produced in
  rounds while they fetch; on Runnel the metrics show incremental fetches.

The cache is small (max.incremental.fetch.session.cache.slots=8): Kafka
splits it into 8 shards of one slot, and one broker core holds 8 / cores
of it, so every test but the last closes its session.

Sessions live on one broker: the topics of the raw tests are led by broker
SESSION_BROKER (under RUNNEL_TEST_TARGET=cluster, replicas placed so), and
their requests go there.
"""

import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, free_port, target  # noqa: E402
from kafka_tools import java_cmd  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic, delete_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka import Consumer, Producer  # noqa: E402

V = 11
SLOTS = 8
UNKNOWN_TOPIC_OR_PARTITION = 3
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71
MAX = 1 << 20
SESSION_BROKER = 1  # leads every partition of the raw tests' topics


class Session:
    """One fetching client on one connection, keeping its session's id and
    epoch as Kafka's FetchSessionHandler does."""

    def __init__(self, conn):
        self.conn = conn
        self.corr = 0
        self.id = 0
        self.epoch = 0

    def fetch(self, topics, session_id=None, epoch=None, forgotten=(), max_wait_ms=0,
              replica_id=-1):
        self.corr += 1
        sid = self.id if session_id is None else session_id
        ep = self.epoch if epoch is None else epoch
        got, body = self.conn.roundtrip(kwire.fetch_request(
            self.corr, topics, V, session_id=sid, session_epoch=ep, forgotten=forgotten,
            max_wait_ms=max_wait_ms, replica_id=replica_id), timeout_s=30)
        assert got == self.corr, f"correlation id {got}, expected {self.corr}"
        top, answered_id, parts = kwire.parse_fetch_session(body, V)
        return top, answered_id, {(n, i): (err, hw, rec) for n, i, err, hw, rec in parts}

    def open(self, topics, replica_id=-1):
        top, sid, parts = self.fetch(topics, session_id=0, epoch=0, replica_id=replica_id)
        self.id, self.epoch = sid, 1
        return top, sid, parts

    def next(self, topics=(), forgotten=(), max_wait_ms=0):
        """An incremental fetch at the session's next epoch."""
        out = self.fetch(list(topics), forgotten=forgotten, max_wait_ms=max_wait_ms)
        if out[0] == 0:
            self.epoch += 1
        return out

    def close(self):
        out = self.fetch([], epoch=-1)
        self.id, self.epoch = 0, 0
        return out


def produce(addr, topic, partition, values):
    with kwire.Conn(addr, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, topic, partition,
                                                       kwire.record_batch(values)))
    assert kwire.parse_produce(body, 7)[0][2] == 0


def records_in(rec):
    return kwire.split_batches(rec or b"")[0] if rec else []


def test_session(t, bootstrap, addr):
    topic = "fs-main"
    create_topic(bootstrap, topic, 3, led_by=SESSION_BROKER)
    produce(addr, topic, 0, [b"a", b"b"])
    with kwire.Conn(addr, timeout_s=30) as conn:
        s = Session(conn)
        top, sid, parts = s.open([(topic, [(p, 0, MAX) for p in range(3)])])
        t.ok(top == 0 and sid != 0, "a full fetch with epoch 0 opens a session", f"{top} {sid}")
        t.eq(sorted(parts), [(topic, p) for p in range(3)], "and answers every partition")
        t.eq(parts[(topic, 0)][1], 2, "partition 0 with its high watermark")
        # The client moves partition 0 past its records.
        top, sid2, parts = s.next([(topic, [(0, 2, MAX)])], max_wait_ms=300)
        t.ok(top == 0 and sid2 == sid, "an incremental fetch keeps the session id",
             f"{top} {sid2}")
        t.eq(parts, {}, "with nothing new it answers no partition")
        top, _, parts = s.next(max_wait_ms=300)
        t.eq((top, parts), (0, {}), "nor the next time")

        produce(addr, topic, 1, [b"x", b"y", b"z"])
        start = time.monotonic()
        top, _, parts = s.next(max_wait_ms=10000)
        took = time.monotonic() - start
        t.eq(sorted(parts), [(topic, 1)], "records produced show up in the next incremental fetch")
        err, hw, rec = parts.get((topic, 1), (None, None, None))
        t.ok(err == 0 and hw == 3 and rec, "with the partition's records and high watermark",
             f"{err} {hw} {len(rec or b'')}")
        t.diag(f"answered in {took:.2f}s")
        # The broker keeps the old position until the client moves it:
        # the same records come again.
        top, _, parts = s.next(max_wait_ms=300)
        t.eq(sorted(parts), [(topic, 1)], "unmoved, the partition is answered again")
        top, _, parts = s.next([(topic, [(1, 3, MAX)])], max_wait_ms=300)
        t.eq(parts, {}, "moved past them, the session is quiet")

        # Forget partition 2: new records there are no longer answered.
        top, _, parts = s.next(forgotten=[(topic, [2])], max_wait_ms=300)
        t.eq((top, parts), (0, {}), "forgetting a partition answers nothing")
        produce(addr, topic, 2, [b"f"])
        top, _, parts = s.next(max_wait_ms=300)
        t.eq((top, parts), (0, {}), "a forgotten partition's new records are not answered")
        top, _, parts = s.next([(topic, [(2, 0, MAX)])], max_wait_ms=300)
        t.eq(sorted(parts), [(topic, 2)], "added back, it is answered at once")
        t.ok(len(records_in(parts[(topic, 2)][2])) == 1, "with its records")

        # A wrong epoch, then the right one.
        top, sid3, parts = s.fetch([], epoch=s.epoch + 5)
        t.eq((top, sid3, parts), (INVALID_FETCH_SESSION_EPOCH, 0, {}),
             "a wrong epoch is INVALID_FETCH_SESSION_EPOCH")
        top, _, parts = s.next([(topic, [(2, 1, MAX)])], max_wait_ms=100)
        t.eq(top, 0, "the session still serves its next epoch")
        top, sid3, parts = s.fetch([], session_id=sid ^ 0x5A5A5, epoch=1)
        t.eq((top, sid3, parts), (FETCH_SESSION_ID_NOT_FOUND, 0, {}),
             "an unknown session is FETCH_SESSION_ID_NOT_FOUND")

        # Epoch -1 closes it: a full fetch without a session.
        old_id, old_epoch = s.id, s.epoch
        top, sid4, parts = s.fetch([(topic, [(0, 2, MAX)])], epoch=-1)
        t.ok(top == 0 and sid4 == 0 and sorted(parts) == [(topic, 0)],
             "epoch -1 is a full fetch answered with session id 0", f"{top} {sid4} {parts}")
        top, _, _ = s.fetch([], session_id=old_id, epoch=old_epoch)
        t.eq(top, FETCH_SESSION_ID_NOT_FOUND, "and the session is gone")


def test_deleted_topic(t, bootstrap, addr):
    live, gone = "fs-live", "fs-gone"
    create_topic(bootstrap, live, 1, led_by=SESSION_BROKER)
    create_topic(bootstrap, gone, 2, led_by=SESSION_BROKER)
    with kwire.Conn(addr, timeout_s=30) as conn:
        s = Session(conn)
        top, sid, parts = s.open([(live, [(0, 0, MAX)]), (gone, [(0, 0, MAX), (1, 0, MAX)])])
        t.ok(top == 0 and sid != 0 and len(parts) == 3, "a session over two topics",
             f"{top} {sid} {parts}")
        delete_topic(bootstrap, gone)
        for n in (1, 2):
            top, _, parts = s.next(max_wait_ms=300)
            t.eq((top, sorted(parts)), (0, [(gone, 0), (gone, 1)]),
                 f"incremental fetch {n}: the deleted topic's partitions are answered")
            t.eq(sorted({(err, hw) for err, hw, _ in parts.values()}),
                 [(UNKNOWN_TOPIC_OR_PARTITION, -1)],
                 f"incremental fetch {n}: with UNKNOWN_TOPIC_OR_PARTITION, offsets -1")
        top, _, parts = s.next(forgotten=[(gone, [0, 1])], max_wait_ms=300)
        t.eq((top, parts), (0, {}), "forgotten, the session is quiet")
        s.close()


def test_cache_full(t, bootstrap, addr):
    topic = "fs-full"
    create_topic(bootstrap, topic, 1, led_by=SESSION_BROKER)
    with kwire.Conn(addr, timeout_s=30) as conn:
        sessions, refused = [], 0
        for _ in range(60):
            s = Session(conn)
            top, sid, parts = s.open([(topic, [(0, 0, MAX)])])
            assert top == 0 and sorted(parts) == [(topic, 0)], (top, parts)
            if sid:
                sessions.append(s)
            else:
                refused += 1
            if refused and len(sessions) == SLOTS:
                break  # every one of Kafka's shards is full
        t.diag(f"{len(sessions)} sessions open, {refused} refused")
        t.ok(refused > 0 and 0 < len(sessions) <= SLOTS,
             "a full cache opens no session (id 0) and still answers the fetch",
             f"{len(sessions)} open, {refused} refused")
        # A replica's session is privileged: it evicts a consumer's.
        r = Session(conn)
        top, rid, _ = r.open([(topic, [(0, 0, MAX)])], replica_id=1)
        t.ok(top == 0 and rid != 0, "a replica's fetch opens a session in the full cache",
             f"{top} {rid}")
        lost = 0
        for s in sessions:
            top, _, _ = s.next()
            lost += top == FETCH_SESSION_ID_NOT_FOUND
        t.eq(lost, 1, "evicting exactly one consumer session")
        for s in sessions + [r]:
            if s.id:
                s.close()


def rdk_consume(bootstrap, topic, want, out):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fs-rdk",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    deadline = time.monotonic() + 60
    while len(out) < want and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            out.append(m.value().decode())
    c.close()


def metric(admins, name):
    """The sum of a metric over the admin ports (one per node), None if absent."""
    total = None
    for admin in admins:
        with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    total = (total or 0) + float(line.split()[1])
    return total


def test_clients(t, b, admins):
    """The Java consumer (sessions) and librdkafka (full fetches) read every
    record of a topic of many partitions, produced in rounds while they
    fetch."""
    topic, partitions, rounds, per_round = "fs-many", 200, 4, 150
    create_topic(b.bootstrap, topic, partitions)
    want = rounds * per_round
    java = subprocess.Popen(
        java_cmd("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server",
                 b.bootstrap, "--topic", topic, "--from-beginning", "--group", "fs-java",
                 "--max-messages", str(want), "--timeout-ms", "60000"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    rdk = []
    th = threading.Thread(target=rdk_consume, args=(b.bootstrap, topic, want, rdk), daemon=True)
    th.start()
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
    sent = []
    for r in range(rounds):
        time.sleep(1)  # the consumers are fetching, quiet, in between
        for i in range(per_round):
            v = f"r{r}-{i}"
            p.produce(topic, v.encode(), partition=(r * per_round + i * 7) % partitions)
            sent.append(v)
        p.flush(30)
    try:
        out, _ = java.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        java.kill()
        out, _ = java.communicate()
    th.join(90)
    got = out.split()
    t.eq((len(got), sorted(got) == sorted(sent)), (want, True),
         f"the Java consumer reads all {want} records over {partitions} partitions")
    t.eq((len(rdk), sorted(rdk) == sorted(sent)), (want, True),
         "librdkafka reads them all too")
    if admins:
        n = metric(admins, "runnel_fetch_incremental_total")
        t.ok(n is not None and n > 0, "the Java consumer fetched incrementally", f"{n}")


def main():
    t = Tap("Incremental fetch sessions")
    settings = {"num.partitions": 1, "auto.create.topics.enable": "false",
                "max.incremental.fetch.session.cache.slots": SLOTS}
    admins = []
    if target() == "runnel":
        admins = [f"127.0.0.1:{free_port()}"]
        settings["admin.listener"] = admins[0]
    with Broker(settings) as b:
        if target() == "cluster":
            admins = b.admin_addrs
        addr = b.addrs[SESSION_BROKER]
        t.run(test_session, b.bootstrap, addr)
        t.run(test_deleted_topic, b.bootstrap, addr)
        t.run(test_cache_full, b.bootstrap, addr)
        t.run(test_clients, b, admins)
    t.done()


if __name__ == "__main__":
    main()
