#!/usr/bin/env python3
"""Log cleaner figures: cleaning throughput, and produce latency with and
without a clean running, in one run of one Runnel broker.

    tests/bench/compaction.py [--mb 100] [--keys 10000] [--lag-s 30]

Two topics on one broker: "plain" (cleanup.policy=delete) and "compacted"
(cleanup.policy=compact, 8 MiB segments, min.compaction.lag.ms=--lag-s so
nothing is cleanable while it fills). The compacted topic is filled with
--mb MiB of 1 KiB updates over --keys keys. From then on a probe producer
sends one record to "plain" every 2 ms (acks=all, no linger) and notes each
acknowledgement's latency, until the cleaner has cleaned the compacted
topic and 3 s more have passed. The broker log's "cleaned N bytes ... in T
ms" lines give each clean's bytes and time; with the time each line
appeared they mark the windows when the cleaner ran.

Printed: the cleaning throughput (MiB of log read per second of cleaning,
summed over the cleans), the bytes written, and the probe's p50 / p99 / max
latency outside and inside the cleaning windows. RUNNEL_BIN picks the
binary. Figures only: nothing is judged.
"""

import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop", "lib"))

from broker import Broker  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

CLEANED_RE = re.compile(r"cleaner: compacted-0: cleaned (\d+) bytes into (\d+) in (\d+) ms")
PROBE_EVERY_S = 0.002
VALUE_BYTES = 1024


def fill(b, mb, keys):
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "1", "linger.ms": 5,
                  "batch.size": 262144, "queue.buffering.max.kbytes": 262144})
    value = b"v" * VALUE_BYTES
    count = mb * 1024 * 1024 // VALUE_BYTES
    for i in range(count):
        while True:
            try:
                p.produce("compacted", key=f"key-{i % keys:08d}".encode(), value=value,
                          partition=0)
                break
            except BufferError:
                p.poll(0.01)
        if i % 5000 == 0:
            p.poll(0)
    if p.flush(300):
        raise RuntimeError("fill: records left unacknowledged")
    return count


class LogTail:
    """New clean lines of the broker log, each with the time it was seen."""

    def __init__(self, path):
        self.f = open(path, errors="replace")
        self.f.seek(0, os.SEEK_END)
        self.cleans = []  # (start, end, bytes read, bytes written)

    def poll(self):
        now = time.monotonic()
        for line in self.f.readlines():
            m = CLEANED_RE.search(line)
            if m:
                took = int(m.group(3)) / 1000
                self.cleans.append((now - took, now, int(m.group(1)), int(m.group(2))))


def probe(b, tail, wait_s):
    """Latencies (send time, seconds) of records sent to "plain" until the
    first clean and 3 s after the cleaner last logged one."""
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0})
    samples = []

    def sent(at):
        return lambda err, msg: samples.append((at, time.monotonic() - at)) if not err else None
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        at = time.monotonic()
        p.produce("plain", value=b"p" * 100, partition=0, on_delivery=sent(at))
        p.poll(0)
        tail.poll()
        if tail.cleans and at - tail.cleans[-1][1] > 3:
            break
        time.sleep(max(0.0, PROBE_EVERY_S - (time.monotonic() - at)))
    p.flush(30)
    return samples


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def show(name, lat):
    ms = [x * 1000 for x in lat]
    if not ms:
        print(f"  {name:<24} no samples")
        return
    print(f"  {name:<24} {len(ms):6d} records  p50 {pct(ms, 0.5):7.2f} ms  "
          f"p99 {pct(ms, 0.99):7.2f} ms  max {max(ms):7.2f} ms  "
          f"(mean {statistics.mean(ms):.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=100, help="MiB of updates in the compacted topic")
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--lag-s", type=int, default=30, help="min.compaction.lag.ms, in seconds")
    args = ap.parse_args()
    settings = {"num.partitions": 1, "log.cleaner.backoff.ms": "200"}
    with Broker(settings) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        cfg = {"cleanup.policy": "compact", "segment.bytes": str(8 << 20),
               "min.compaction.lag.ms": str(args.lag_s * 1000),
               "min.cleanable.dirty.ratio": "0.5"}
        futs = admin.create_topics([NewTopic("compacted", 1, 1, config=cfg),
                                    NewTopic("plain", 1, 1)])
        for f in futs.values():
            f.result(60)
        tail = LogTail(b.log_path)
        t0 = time.monotonic()
        count = fill(b, args.mb, args.keys)
        print(f"filled: {count} updates over {args.keys} keys ({args.mb} MiB) in "
              f"{time.monotonic() - t0:.1f} s")
        samples = probe(b, tail, args.lag_s + 120)
        tail.poll()
    if not tail.cleans:
        print("no clean of the compacted topic was logged")
        return 1
    read = sum(c[2] for c in tail.cleans)
    written = sum(c[3] for c in tail.cleans)
    busy = sum(c[1] - c[0] for c in tail.cleans)
    print(f"cleaning: {len(tail.cleans)} clean(s), {read / 2**20:.1f} MiB read into "
          f"{written / 2**20:.2f} MiB in {busy:.2f} s: {read / 2**20 / busy:.1f} MiB/s")
    inside = [lat for at, lat in samples if any(s <= at <= e for s, e, _, _ in tail.cleans)]
    outside = [lat for at, lat in samples
               if not any(s - 0.5 <= at <= e + 0.5 for s, e, _, _ in tail.cleans)]
    print("produce latency of the probe (acks=all, one record every 2 ms):")
    show("without cleaning", outside)
    show("while cleaning", inside)
    return 0


if __name__ == "__main__":
    sys.exit(main())
