#!/usr/bin/env python3
"""Many partitions: responses that grow with the broker's state.

A topic with 5,000 partitions is created; a Metadata request for every topic
and one for that topic list all its partitions; a record produced to the last
partition is read back; ListOffsets over all 5,000 partitions answers each;
the broker keeps serving throughout; and with more than 1,024 descriptors
open (a file per partition) the admin HTTP port still answers /health/live,
/health/ready and /metrics (Runnel only: Kafka has no such port).
"""

import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, free_port, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

PARTITIONS = 5000
TOPIC = "wide"


def eventually(fn, timeout_s=90):
    """fn() until it is truthy (Kafka settles a new topic's leaders
    asynchronously; Runnel answers at once), or its last value."""
    deadline = time.time() + timeout_s
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(0.5)


def test_wide_topic(t, b):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])[TOPIC].result(120)
    def all_listed():
        md = admin.list_topics(timeout=60)
        tm = md.topics.get(TOPIC)
        led = tm and sum(1 for p in tm.partitions.values() if p.leader >= 0)
        return led if led == PARTITIONS else None
    t.eq(eventually(all_listed), PARTITIONS,
         f"Metadata for every topic lists the {PARTITIONS} partitions with leaders")
    md = admin.list_topics(topic=TOPIC, timeout=60)
    t.eq(len(md.topics[TOPIC].partitions), PARTITIONS, "Metadata for the topic lists them too")
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
    p.produce(TOPIC, value=b"last", partition=PARTITIONS - 1)
    t.eq(p.flush(30), 0, "a record produced to the last partition is acknowledged")
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "wide-reader",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, PARTITIONS - 1, 0)])
    msg = c.poll(30)
    t.ok(msg is not None and msg.error() is None and msg.value() == b"last",
         "and read back from it")
    tps = [TopicPartition(TOPIC, i, -1) for i in range(PARTITIONS)]

    def all_answered():
        try:
            ends = c.offsets_for_times(tps, timeout=60)
        except Exception:  # Kafka: NOT_LEADER while its partitions load
            return None
        n = sum(1 for tp in ends if tp.error is None)
        return n if n == PARTITIONS else None
    t.eq(eventually(all_answered), PARTITIONS, f"ListOffsets answers all {PARTITIONS} partitions")
    lo, hi = c.get_watermark_offsets(TopicPartition(TOPIC, PARTITIONS - 1), timeout=30)
    t.eq((lo, hi), (0, 1), "the last partition holds exactly one record")
    c.close()


def test_admin_port(t, b, port):
    if target() != "runnel":
        t.skip("the admin port answers with over 1,024 descriptors open", "Runnel only")
        return
    # Idle client connections take the broker's free low descriptors (clients
    # that closed left gaps), so a new admin connection gets one above 1,024.
    host, kport = b.bootstrap.rsplit(":", 1)
    fillers = []
    def low_free():
        used = {int(n) for n in os.listdir(f"/proc/{b.pid}/fd")}
        return [n for n in range(1024) if n not in used]
    while low_free() and len(fillers) < 1024:
        fillers.append(socket.create_connection((host, int(kport)), timeout=10))
        if len(fillers) % 16 == 0:
            time.sleep(0.05)  # let the broker accept them
    time.sleep(0.2)
    fds = len(os.listdir(f"/proc/{b.pid}/fd"))
    t.ok(fds > 1024 and not low_free(),
         f"the broker holds {fds} descriptors, none below 1,024 free (past select()'s reach)",
         f"free below 1024: {low_free()[:10]}")
    try:
        for path in ("/health/live", "/health/ready", "/metrics"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                t.eq(r.status, 200, f"GET {path} answers 200 with {fds} descriptors open")
    finally:
        for f in fillers:
            f.close()


def main():
    t = Tap("many partitions")
    skip_under_cluster(t, "many partitions", "counts one broker process's open descriptors")
    port = free_port()
    with Broker({"admin.listener": f"127.0.0.1:{port}"} if target() == "runnel" else {}) as b:
        t.run(test_wide_topic, b, desc="a 5,000-partition topic")
        t.run(test_admin_port, b, port)
    t.done()


if __name__ == "__main__":
    main()
