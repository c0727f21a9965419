#!/usr/bin/env python3
"""The k8s scenarios' verifier: an acks=all idempotent producer and a
consumer group on one topic, until told to stop, then a check that every
acknowledged record can be read back.

    verifier.py BOOTSTRAP TOPIC OUT_JSON STOP_FILE [RATE]

Creates TOPIC (3 partitions, 3 replicas, min.insync.replicas 2), produces
RATE records a second (values "n:SEQ", keyed by SEQ) with
enable.idempotence and unbounded retries, and records the wall-clock time of
every acknowledgement and every error the client reports (its name, and
whether it is fatal or retriable). A consumer group member reads the topic
throughout. Once STOP_FILE exists: flush, let the group catch up, then read
every partition from its start to its end with a fresh consumer. OUT_JSON
gets the counts, the records acknowledged but not found (lost), those the
group never saw, the errors and the acknowledgement times; OUT_JSON.progress,
rewritten every second while it runs, the acknowledged and consumed counts.

Run where the brokers' advertised names resolve (test_k8s.py runs it with
the cluster's DNS as its resolver)."""

import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 3
GROUP_CATCHUP_S = 60.0
FINAL_READ_S = 60.0


def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 60
    while True:
        futs = admin.create_topics([NewTopic(topic, PARTITIONS, 3, config={"min.insync.replicas": "2"})])
        try:
            futs[topic].result(timeout=20)
            return
        except KafkaException as e:
            err = e.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def final_read(bootstrap, topic):
    """Every value in every partition, from the start to the end offsets."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verifier-final",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    ends = {}
    for p in range(PARTITIONS):
        _, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=20)
        ends[p] = hi
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen, pos = set(), {p: 0 for p in range(PARTITIONS)}
    deadline = time.monotonic() + FINAL_READ_S
    while any(pos[p] < ends[p] for p in ends) and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        seen.add(m.value().decode())
        pos[m.partition()] = m.offset() + 1
    c.close()
    return seen, ends


def main():
    bootstrap, topic, out, stop_file = sys.argv[1:5]
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 100.0
    create_topic(bootstrap, topic)
    errors = []

    def on_error(err):
        errors.append({"t": time.time(), "name": err.name(), "fatal": err.fatal(),
                       "retriable": err.retriable(), "str": err.str()})

    acks, failed = [], []

    def on_delivery(err, msg):
        if err is not None:
            failed.append({"value": msg.value().decode(), "name": err.name(), "fatal": err.fatal(),
                           "retriable": err.retriable()})
        else:
            acks.append((time.time(), msg.value().decode()))

    prod = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 5, "message.timeout.ms": 600000, "error_cb": on_error,
                     "reconnect.backoff.max.ms": 1000})
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": f"verifier-{topic}",
                     "auto.offset.reset": "earliest", "error_cb": on_error,
                     "session.timeout.ms": 10000, "heartbeat.interval.ms": 1000})
    cons.subscribe([topic])
    group_seen = set()

    def consume(timeout):
        m = cons.poll(timeout)
        if m is not None and not m.error():
            group_seen.add(m.value().decode())

    seq, t0, told = 0, time.monotonic(), 0.0
    while not os.path.exists(stop_file):
        if time.monotonic() - told >= 1.0:  # progress, for the test to wait on
            with open(out + ".progress", "w") as f:
                f.write(f"{len(acks)} {len(group_seen)}\n")
            told = time.monotonic()
        due = int((time.monotonic() - t0) * rate)
        while seq < due:
            try:
                prod.produce(topic, key=str(seq).encode(), value=f"n:{seq}".encode(), on_delivery=on_delivery)
                seq += 1
            except BufferError:
                break
        prod.poll(0)
        consume(0.02)
    remaining = prod.flush(120)
    acked = {v for _, v in acks}
    deadline = time.monotonic() + GROUP_CATCHUP_S
    while not acked <= group_seen and time.monotonic() < deadline:
        consume(0.2)
    cons.close()
    seen, ends = final_read(bootstrap, topic)
    lost = sorted(acked - seen, key=lambda v: int(v[2:]))
    res = {
        "produced": seq, "acked": len(acked), "unflushed": remaining, "failed": failed,
        "lost": lost[:50], "lost_count": len(lost),
        "group_missing": len(acked - group_seen), "group_seen": len(group_seen),
        "read_back": len(seen), "end_offsets": ends, "errors": errors,
        "ack_times": [t for t, _ in acks],
    }
    with open(out + ".tmp", "w") as f:
        json.dump(res, f)
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
