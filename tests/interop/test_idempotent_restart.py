#!/usr/bin/python3
"""Restart the broker under an idempotent producer mid-stream: no duplicates, no gaps.

An idempotent confluent-kafka producer (enable.idempotence, acks=all,
5 requests in flight) streams sequence-numbered values into a 4-partition
topic from its own thread while the broker is restarted RESTARTS times at
random moments (seeded, IDEM_SEED=N replays), once with SIGTERM and once
with SIGKILL (a topic each). Afterwards:

- every record was acknowledged (no delivery error, no fatal producer error);
- each partition holds exactly its sequence 0..n-1, in order: no duplicate
  (a retried batch written twice), no gap (a batch lost or skipped);
- the acknowledged offset of record k of a partition is k.
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

PARTITIONS = 4
RESTARTS = int(os.environ.get("RESTARTS", "2"))
SEED = int(os.environ.get("IDEM_SEED", str(int(time.time() * 1000) % 1_000_000)))
RATE = 4000  # records per second offered
# Apache Kafka refuses a restarted broker's registration until the killed
# one's session expires (broker.session.timeout.ms, 9 s by default).
KAFKA_ONLY = {"broker.session.timeout.ms": "1500", "broker.heartbeat.interval.ms": "300"}


class Stream(threading.Thread):
    """Produces p<partition>-<seq> values round-robin until stopped."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.topic = topic
        self.acked = {p: [] for p in range(PARTITIONS)}  # [(seq, offset)]
        self.errors = []
        self.sent = [0] * PARTITIONS
        self.halt = threading.Event()
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 5,
            "message.timeout.ms": 300000,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "error_cb": self.on_error,
        })

    def on_error(self, err):
        if err.fatal():
            self.errors.append(f"fatal producer error: {err}")

    def on_delivery(self, err, msg):
        if err is not None:
            self.errors.append(f"delivery failed: {err}")
            return
        p = msg.partition()
        seq = int(msg.value().decode().split("-")[1])
        self.acked[p].append((seq, msg.offset()))

    def run(self):
        n = 0
        t0 = time.monotonic()
        while not self.halt.is_set():
            due = int((time.monotonic() - t0) * RATE)
            while n < due and not self.halt.is_set():
                p = n % PARTITIONS
                value = f"p{p}-{self.sent[p]:09d}".encode()
                try:
                    self.producer.produce(self.topic, value=value, partition=p,
                                          on_delivery=self.on_delivery)
                except BufferError:
                    self.producer.poll(0.01)
                    continue
                self.sent[p] += 1
                n += 1
            self.producer.poll(0.005)

    def finish(self):
        self.halt.set()
        self.join(30)
        return self.producer.flush(180)


def read_values(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "idem-check",
                  "enable.auto.commit": False})
    got = {p: [] for p in range(PARTITIONS)}
    try:
        marks = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=20)[1]
                 for p in range(PARTITIONS)}
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + 60
        while any(len(got[p]) < marks[p] for p in got) and time.monotonic() < deadline:
            for msg in c.consume(2000, 0.5):
                if not msg.error():
                    got[msg.partition()].append((msg.offset(), msg.value().decode()))
    finally:
        c.close()
    return marks, got


def run_variant(t, b, rng, hard):
    how = "SIGKILL" if hard else "SIGTERM"
    topic = f"idem-{'kill' if hard else 'term'}"
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(60)
    stream = Stream(b.bootstrap, topic)
    stream.start()
    for _ in range(RESTARTS):
        time.sleep(rng.uniform(0.5, 2.0))
        b.restart(hard=hard)
    time.sleep(rng.uniform(0.5, 1.0))
    left = stream.finish()
    sent = sum(stream.sent)
    t.eq(left, 0, f"{how}: the producer resolves every record after {RESTARTS} restarts")
    t.ok(not stream.errors, f"{how}: no delivery error and no fatal producer error",
         "; ".join(stream.errors[:5]))
    acked = sum(len(v) for v in stream.acked.values())
    t.eq(acked, sent, f"{how}: all {sent} records acknowledged")
    bad_offsets = [(p, s, o) for p in stream.acked for s, o in stream.acked[p] if s != o]
    t.ok(not bad_offsets, f"{how}: record k of each partition acknowledged at offset k",
         bad_offsets[:5])

    marks, got = read_values(b.bootstrap, topic)
    for p in range(PARTITIONS):
        values = [v for _, v in got[p]]
        want = [f"p{p}-{k:09d}" for k in range(stream.sent[p])]
        dups = len(values) - len(set(values))
        missing = len(set(want) - set(values))
        t.ok(values == want and marks[p] == len(want),
             f"{how}: partition {p} holds its {len(want)} records once each, in order",
             f"{len(values)} read, latest offset {marks[p]}, {dups} duplicates, "
             f"{missing} missing, first difference at "
             f"{next((i for i, (a, w) in enumerate(zip(values, want)) if a != w), None)}")


def main():
    t = Tap("idempotent producer across broker restarts")
    skip_under_cluster(t, "idempotent producer across broker restarts",
                       "restarts one broker process under the producer")
    t.diag(f"seed {SEED} (IDEM_SEED={SEED} replays it), {RESTARTS} restarts per variant")
    rng = random.Random(SEED)
    settings = {"num.partitions": 1}
    if target() == "kafka":
        settings.update(KAFKA_ONLY)
    with Broker(settings) as b:
        t.run(run_variant, b, rng, False, desc="restarts with SIGTERM")
        t.run(run_variant, b, rng, True, desc="restarts with SIGKILL")
    t.done()


if __name__ == "__main__":
    main()
