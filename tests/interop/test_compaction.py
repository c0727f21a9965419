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

The internal __consumer_offsets, compacted by the group coordinator itself,
is left alone by the cleaner: with small offsets segments and 1,000 offset
commits its segments close and are dirty, yet no clean of it is logged
while the user topic's is (Runnel only: Kafka's cleaner serves both), and
the group's last commit reads back. /metrics (Runnel only) counts the bytes
the cleaner read and wrote, its cleans, no error, the last clean's duration
and the largest dirty ratio. After a clean stop `runnel log-check` passes the
data directory (the cleaner's gaps and shortened batches are no faults).
"""

import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, free_port, runnel_bin, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402
from topics import segment_files  # noqa: E402
from waits import wait_for  # noqa: E402

TOPIC = "compacted"
KEYS = 1000
UPDATES = 100_000
SEGMENT_BYTES = 65536
WAIT_S = 120


def segments(b, topic=TOPIC):
    return segment_files(b.data_dir, topic)


def key(k):
    return f"key-{k:04d}".encode()


def produce(b, topic=TOPIC, updates=UPDATES, keys=KEYS, extra=None):
    """Produces the updates; returns {offset: (key, value)} as acknowledged."""
    from confluent_kafka import Producer
    conf = {"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
            "batch.size": 16384}
    conf.update(extra or {})
    p = Producer(conf)
    acked, errors = {}, []

    def done(err, msg):
        if err:
            errors.append(str(err))
        else:
            acked[msg.offset()] = (msg.key(), msg.value())
    for i in range(updates):
        k = i % keys
        last_round = i >= updates - keys
        v = None if (last_round and k % 10 == 0) else f"v{i:07d}-{k}".encode() * 4
        p.produce(topic, key=key(k), value=v, partition=0, on_delivery=done)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(120)
    if left or errors:
        raise RuntimeError(f"produce: {left} unresolved, errors {errors[:3]}")
    return acked


def read_all(b, end, topic=TOPIC):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "compaction-check",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
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


def check_compacted(t, got, acked, cutoff, produced, what=""):
    """The TAP points every compacted read must pass (got: (offset, key, value))."""
    t.ok(all(acked.get(off) == (k, v) for off, k, v in got),
         f"{what}every record read sits at the offset it was produced at, byte for byte")
    t.ok(len(got) < produced // 4, f"{what}{len(got)} records read of {produced} produced")
    t.eq(duplicates_below(got, cutoff), 0,
         f"{what}below the active segment (offset {cutoff}) each key appears at most once")
    latest = {}
    for off in sorted(acked):
        latest[acked[off][0]] = (off, acked[off][1])
    last = {}
    for off, k, v in got:
        last[k] = (off, v)
    live = [k for k, (_, v) in latest.items() if v is not None]
    t.ok(all(last.get(k) == latest[k] for k in live),
         f"{what}each of {len(live)} live keys reads back its latest value at its offset")
    deleted = [k for k, (_, v) in latest.items() if v is None]
    t.ok(all(k not in last or last[k][1] is None for k in deleted),
         f"{what}each of {len(deleted)} deleted keys reads back as a tombstone or not at all")


def wait_cleaned(t, b, topic, before, end):
    """Waits until the log shrank to under a quarter and a read from the
    start finds no key twice below the active segment (a clean that began
    while segments were still closing is followed by another); returns the
    last read and the active segment's base."""
    def settled():
        segs = segments(b, topic)
        if sum(s for _, s in segs) >= sum(s for _, s in before) // 4:
            return None
        got = read_all(b, end, topic)
        return (got, segs[-1][0]) if duplicates_below(got, segs[-1][0]) == 0 else None
    res = wait_for(settled, WAIT_S)
    t.ok(res is not None, f"{topic}: the cleaner shrank the log to under a quarter, "
         "each key once below the active segment",
         f"before {sum(s for _, s in before)} bytes, now {sum(s for _, s in segments(b, topic))}")
    return res if res else (read_all(b, end, topic), segments(b, topic)[-1][0])


def commit_offsets(b, count):
    """Commits offsets 1..count one at a time for group "commits"; returns
    the committed offset read back from the coordinator."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "commits",
                  "enable.auto.commit": False})
    try:
        for i in range(1, count + 1):
            c.commit(offsets=[TopicPartition(TOPIC, 0, i)], asynchronous=False)
        return c.committed([TopicPartition(TOPIC, 0)], timeout=30)[0].offset
    finally:
        c.close()


def scrape(admin):
    """{name: value} of the unlabelled samples of /metrics."""
    with urllib.request.urlopen(admin + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        parts = line.split(" ")
        if not line.startswith("#") and len(parts) == 2 and "{" not in parts[0]:
            out[parts[0]] = float(parts[1])
    return out


def check_metrics(t, m, before_bytes):
    cleaned = m.get("runnel_log_cleaner_bytes_cleaned_total", 0)
    written = m.get("runnel_log_cleaner_bytes_written_total", -1)
    t.ok(cleaned >= before_bytes // 2 and 0 < written < cleaned,
         "/metrics: the cleaner's bytes cleaned and written",
         f"cleaned {cleaned}, written {written}, log before {before_bytes}")
    t.ok(m.get("runnel_log_cleaner_cleans_total", 0) >= 1, "/metrics: cleans counted")
    t.eq(m.get("runnel_log_cleaner_errors_total"), 0.0, "/metrics: no cleaner error")
    last = m.get("runnel_log_cleaner_last_clean_seconds", -1)
    t.ok(0 < last < WAIT_S, f"/metrics: the last clean took {last} s")
    ratio = m.get("runnel_log_cleaner_dirty_ratio_max", -1)
    t.ok(0 <= ratio <= 1, f"/metrics: the largest dirty ratio {ratio} is a ratio")


def broker_log(b):
    with open(b.log_path, errors="replace") as f:
        return f.read()


def main():
    t = Tap("log compaction")
    skip_under_cluster(t, "log compaction", "reads one broker's data folder, log and metrics")
    settings = {"num.partitions": 1, "log.cleaner.backoff.ms": "1000",
                "offsets.topic.num.partitions": "1", "offsets.topic.segment.bytes": "16384"}
    admin_port = free_port()
    if target() == "runnel":
        settings["admin.listener"] = f"127.0.0.1:{admin_port}"
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
        t.eq(commit_offsets(b, 1000), 1000, "1,000 offset commits, the last reads back")

        got, cutoff = wait_cleaned(t, b, TOPIC, before, UPDATES)
        check_compacted(t, got, acked, cutoff, UPDATES)
        if target() == "runnel":
            offsets_segs = segments(b, "__consumer_offsets")
            t.ok(len(offsets_segs) > 3,
                 f"__consumer_offsets-0 holds {len(offsets_segs)} segments (closed, dirty)")
            time.sleep(3)  # three cleaner passes after the user topic's clean
            log = broker_log(b)
            t.ok(f"{TOPIC}-0: cleaned" in log, "the cleaner logged its clean of the user topic")
            t.ok("__consumer_offsets-0: cleaned" not in log,
                 "the cleaner never cleaned __consumer_offsets (the coordinator compacts it)")
            check_metrics(t, scrape(f"http://127.0.0.1:{admin_port}"), sum(s for _, s in before))
            b.stop()
            res = subprocess.run([runnel_bin(), "log-check", b.data_dir], capture_output=True,
                                 text=True, timeout=120)
            t.ok(res.returncode == 0, "runnel log-check passes the cleaned logs",
                 res.stdout[-2000:] + res.stderr[-2000:])

    t.done()


if __name__ == "__main__":
    main()
