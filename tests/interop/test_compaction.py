#!/usr/bin/python3
"""Log compaction (cleanup.policy=compact): the latest record per key survives, offsets kept.

A topic with cleanup.policy=compact, small segments (segment.bytes=65536, so
segments close), min.cleanable.dirty.ratio=0.01 and delete.retention.ms=0
takes 100,000 updates over 1,000 keys, every 10th key finally deleted with a
tombstone. The broker's cleaner runs every second (log.cleaner.backoff.ms).
Once it has cleaned (polled: Kafka's cleaner timings differ), a consumer
reads the partition from the start:

- every record keeps the offset it was produced at (gaps, no renumbering);
- below the last segment (the active one is never cleaned) each key appears
  at most once, with the latest value it had below there;
- each key's last record read is its latest update: the latest value for a
  live key, a tombstone (or nothing at all) for a deleted one;
- the log on disk shrank.
"""

import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, target  # noqa: E402
from tap import Tap  # noqa: E402
from waits import wait_for  # noqa: E402

TOPIC = "compacted"
KEYS = 1000
UPDATES = 100_000
SEGMENT_BYTES = 65536
WAIT_S = 120


def segments(b):
    d = os.path.join(b.data_dir, f"{TOPIC}-0")
    out = []
    for path in glob.glob(os.path.join(d, "*.log")):
        name = os.path.basename(path)[:-4]
        if name.isdigit():
            out.append((int(name), os.path.getsize(path)))
    return sorted(out)


def key(k):
    return f"key-{k:04d}".encode()


def produce(b):
    """Produces the updates; returns {offset: (key, value)} as acknowledged."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.size": 16384})
    acked, errors = {}, []

    def done(err, msg):
        if err:
            errors.append(str(err))
        else:
            acked[msg.offset()] = (msg.key(), msg.value())
    for i in range(UPDATES):
        k = i % KEYS
        last_round = i >= UPDATES - KEYS
        v = None if (last_round and k % 10 == 0) else f"v{i:07d}-{k}".encode() * 4
        p.produce(TOPIC, key=key(k), value=v, partition=0, on_delivery=done)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    if left or errors:
        raise RuntimeError(f"produce: {left} unresolved, errors {errors[:3]}")
    return acked


def read_all(b, end):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "compaction-check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got = []
    try:
        c.assign([TopicPartition(TOPIC, 0, 0)])
        idle = 0
        while idle < 20:
            msgs = c.consume(1000, 0.5)
            if not msgs:
                idle += 1
                continue
            idle = 0
            for m in msgs:
                if m.error():
                    raise RuntimeError(str(m.error()))
                got.append((m.offset(), m.key(), m.value()))
            if got and got[-1][0] >= end - 1:
                break
    finally:
        c.close()
    return got


def duplicates_below(got, cutoff):
    seen, dups = set(), 0
    for off, k, _ in got:
        if off >= cutoff:
            break
        dups += k in seen
        seen.add(k)
    return dups


def main():
    t = Tap("log compaction")
    settings = {"num.partitions": 1, "log.cleaner.backoff.ms": "1000"}
    with Broker(settings) as b:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        cfg = {"cleanup.policy": "compact", "segment.bytes": str(SEGMENT_BYTES),
               "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0",
               "min.compaction.lag.ms": "0"}
        admin.create_topics([NewTopic(TOPIC, 1, 1, config=cfg)])[TOPIC].result(60)
        acked = produce(b)
        t.eq(len(acked), UPDATES, f"{UPDATES} updates over {KEYS} keys acknowledged")
        before = segments(b)
        t.ok(len(before) > 10, f"small segments: {len(before)} segment files")
        latest = {}
        for off in sorted(acked):
            latest[acked[off][0]] = (off, acked[off][1])

        def cleaned():
            segs = segments(b)
            return sum(s for _, s in segs) < sum(s for _, s in before) // 4
        t.ok(wait_for(cleaned, WAIT_S), "the cleaner shrank the log to under a quarter",
             f"before {sum(s for _, s in before)} bytes, now {sum(s for _, s in segments(b))}")
        cutoff = segments(b)[-1][0]
        got = read_all(b, UPDATES)
        t.ok(all(acked.get(off) == (k, v) for off, k, v in got),
             "every record read sits at the offset it was produced at, byte for byte")
        t.ok(len(got) < UPDATES // 4, f"{len(got)} records read of {UPDATES} produced")
        t.eq(duplicates_below(got, cutoff), 0,
             f"below the active segment (offset {cutoff}) each key appears at most once")
        last = {}
        for off, k, v in got:
            last[k] = (off, v)
        live = [k for k, (_, v) in latest.items() if v is not None]
        t.ok(all(last.get(k) == latest[k] for k in live),
             f"each of {len(live)} live keys reads back its latest value at its offset")
        deleted = [k for k, (_, v) in latest.items() if v is None]
        t.ok(all(k not in last or last[k][1] is None for k in deleted),
             f"each of {len(deleted)} deleted keys reads back as a tombstone or not at all")

    t.done()


if __name__ == "__main__":
    main()
