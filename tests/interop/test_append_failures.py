#!/usr/bin/python3
"""A broker out of file handles refuses appends honestly.

The broker runs with RLIMIT_NOFILE 256 (prlimit) and idle client connections
use up all but a couple of its handles; a producer (acks=all) then sends 2,000
records of 200 bytes to a topic of 4 partitions (on both cores) with
segment.bytes=65536, so each log must roll about every 300 records: rolling
opens files, and so does the group commit that seals a rolled segment.

- Every record the producer reports failed failed with a retriable error
  (KAFKA_STORAGE_ERROR, retried until message.timeout.ms), never a
  non-retriable one such as POLICY_VIOLATION.
- Some records are acknowledged (those before the first roll or seal that
  cannot open its file) and some fail (so the test did exhaust the handles).
- Once the idle connections close, 200 more records are all acknowledged
  (their group commits succeed: before the fix they exposed the records of
  a failed one).
- A consumer reading the partition from the start sees exactly the
  acknowledged records, each once and at its acknowledged offset: none
  reported failed, none missing.

All of it twice: with a plain producer, and with an idempotent one (the
broker must forget the sequences of the batches it dropped, or their
retries would be answered as duplicates or refused as out of order).

Runnel only: Kafka cannot run with so few handles at all.
"""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, skip_under_cluster, target  # noqa: E402
from records import consume_from_start, not_retriable, produce_tracked  # noqa: E402
from tap import Tap  # noqa: E402

TOPIC = "fd-exhaustion"
NOFILE = 256
PARTITIONS = 4  # on both cores: rolls and group commits race for handles
FREE = 4  # handles left to the broker once the idle connections are open
RECORDS = 2000
RECORD_BYTES = 200
MORE = 200
TIMEOUT_MS = 8000


def value(i):
    return (b"%08d-" % i).ljust(RECORD_BYTES, b"v")


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def hog(b, free):
    """Idle connections until the broker has only `free` handles left."""
    socks = []
    while open_fds(b.pid) < NOFILE - free:
        socks.append(socket.create_connection(("127.0.0.1", b.port), timeout=5))
        time.sleep(0.002)
    time.sleep(0.3)
    return socks


def produce(p, first, count, acked, failed):
    """Records first..first+count-1, spread over the partitions."""
    records = ((i % PARTITIONS, value(i)) for i in range(first, first + count))
    produce_tracked(p, TOPIC, records, acked, failed, TIMEOUT_MS / 1000 + 30)


def test_fd_exhaustion(t, b, idempotent):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config={"segment.bytes": "65536"})])[TOPIC].result(30)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.num.messages": 50, "message.timeout.ms": TIMEOUT_MS,
                  "enable.idempotence": idempotent})
    p.list_topics(TOPIC, timeout=10)  # its connections exist before the handles run out
    resource.prlimit(b.pid, resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    socks = hog(b, FREE)
    t.diag(f"{len(socks)} idle connections; broker has {open_fds(b.pid)} of {NOFILE} handles")
    acked, failed = {}, {}
    produce(p, 0, RECORDS, acked, failed)
    for s in socks:
        s.close()
    t.diag(f"acknowledged {len(acked)}, failed {len(failed)}: "
           f"{sorted(set(e.name() for e in failed.values()))}")
    t.ok(acked and failed, "with handles exhausted some records are acknowledged, some fail")
    bad = not_retriable(failed.values())
    t.ok(not bad, "every failure is retriable (no POLICY_VIOLATION)",
         f"{len(bad)} not retriable, e.g. {bad[0] if bad else None}")

    time.sleep(0.5)  # the broker notices the closed connections
    more_acked, more_failed = {}, {}
    produce(p, RECORDS, MORE, more_acked, more_failed)
    t.eq(len(more_acked), MORE, "with handles back, every new record is acknowledged")
    acked.update(more_acked)

    seen, high = consume_from_start(b.bootstrap, TOPIC, PARTITIONS, "fd-check")
    values = [v for v, _ in seen]
    t.eq(len(seen), len(acked), f"a consumer reads as many records as were acknowledged "
         f"(high watermarks sum to {high})")
    t.eq(len(set(values) & set(failed)), 0, "no record reported failed is ever read")
    t.eq(sorted(set(values)), sorted(acked), "the records read are exactly the acknowledged ones")
    moved = [(v, o, acked.get(v)) for v, o in seen if acked.get(v) != o]
    t.ok(not moved, "each is read at the partition and offset its acknowledgement gave",
         f"{len(moved)} differ, e.g. {moved[:3]}")


def main():
    t = Tap("file handles exhausted")
    skip_under_cluster(t, "file handles exhausted",
                       "exhausts one broker process's file descriptors")
    if target() != "runnel":
        t.skip("fd exhaustion", "Runnel only")
        t.done()
    for idempotent in (False, True):
        with Broker({"num.partitions": 1}) as b:
            t.run(test_fd_exhaustion, b, idempotent,
                  desc=f"fd exhaustion, {'idempotent' if idempotent else 'plain'} producer")
    t.done()


if __name__ == "__main__":
    main()
