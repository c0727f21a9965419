#!/usr/bin/python3
"""Log compaction of compressed batches: the cleaner decodes, keeps, re-encodes.

One topic per codec (gzip, snappy, lz4, zstd), each with cleanup.policy=compact
and small segments (8 KiB), takes 20,000 updates over 500 keys from confluent-kafka
with that compression.type (every 10th key finally deleted). Once the cleaner
has cleaned it (polled, as in test_compaction.py):

- a confluent-kafka consumer reads from the start every record at the offset
  it was produced at, byte for byte, each key once below the active segment,
  each live key's latest value, each deleted key as a tombstone or not at all;
- kcat reads the same records (offsets, keys, values, tombstones);
- the cleaned segments still hold batches compressed with the topic's codec.
"""

import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker import Broker, skip_under_cluster  # noqa: E402
from tap import Tap  # noqa: E402
from test_compaction import check_compacted, produce, segments, wait_cleaned  # noqa: E402

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
KEYS = 500
UPDATES = 20_000
SEGMENT_BYTES = 8192  # compressed batches are small: a few hundred records a segment


def kcat_read(b, topic):
    """(offset, key, value) of every record, as kcat prints them."""
    r = subprocess.run(["kcat", "-C", "-b", b.bootstrap, "-t", topic, "-p", "0", "-o",
                        "beginning", "-e", "-q", "-f", "%o\\t%K\\t%k\\t%S\\t%s\\n"],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace"))
    got = []
    for line in r.stdout.split(b"\n"):
        if not line:
            continue
        off, klen, k, vlen, v = line.split(b"\t")
        got.append((int(off), None if int(klen) < 0 else k, None if int(vlen) < 0 else v))
    return got


def first_codec(b, topic):
    """The codec bits of the first batch of the first segment file holding one."""
    base = next(base for base, size in segments(b, topic) if size > 0)
    path = os.path.join(b.data_dir, f"{topic}-0", f"{base:020d}.log")
    with open(path, "rb") as f:
        head = f.read(61)
    return struct.unpack(">h", head[21:23])[0] & 7 if len(head) == 61 else None


def main():
    t = Tap("log compaction of compressed batches")
    skip_under_cluster(t, "log compaction of compressed batches",
                       "reads the segment files in one broker's data folder")
    settings = {"num.partitions": 1, "log.cleaner.backoff.ms": "1000"}
    with Broker(settings) as b:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        cfg = {"cleanup.policy": "compact", "segment.bytes": str(SEGMENT_BYTES),
               "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "0",
               "min.compaction.lag.ms": "0"}
        topics = [f"compacted-{c}" for c in CODECS]
        for f in admin.create_topics([NewTopic(tp, 1, 1, config=cfg) for tp in topics]).values():
            f.result(60)
        acked, before = {}, {}
        for codec in CODECS:
            topic = f"compacted-{codec}"
            acked[codec] = produce(b, topic, UPDATES, KEYS, {"compression.type": codec})
            before[codec] = segments(b, topic)
            t.eq(len(acked[codec]), UPDATES, f"{codec}: {UPDATES} updates acknowledged")
        for codec in CODECS:
            topic = f"compacted-{codec}"
            got, cutoff = wait_cleaned(t, b, topic, before[codec], UPDATES)
            check_compacted(t, got, acked[codec], cutoff, UPDATES, f"{codec}: ")
            by_kcat = kcat_read(b, topic)
            t.ok(by_kcat == got, f"{codec}: kcat reads the same {len(by_kcat)} records",
                 f"kcat {len(by_kcat)} records, confluent-kafka {len(got)}")
            t.eq(first_codec(b, topic), CODECS[codec],
                 f"{codec}: the cleaned log's first batch is still {codec}")
    t.done()


if __name__ == "__main__":
    main()
