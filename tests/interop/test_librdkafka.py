#!/usr/bin/python3
"""librdkafka round trip: rdk_roundtrip.c moves RECORDS records (default
1,000,000 of 100 B) through an 8-partition topic with the idempotent producer
and acks=all, once per codec (none, gzip, snappy, lz4, zstd), and consumes them
by assign(); every record must come back byte-exact with key, headers and
timestamp, and every acknowledgement must carry the expected offset.

Environment: RECORDS, VALUE_BYTES, CODECS (comma-separated), SEED.
The program is compiled here with `cc ... -lrdkafka` into build/interop/.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from broker import ROOT, Broker, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402

RECORDS = int(os.environ.get("RECORDS", "1000000"))
VALUE_BYTES = int(os.environ.get("VALUE_BYTES", "100"))
CODECS = os.environ.get("CODECS", "none,gzip,snappy,lz4,zstd").split(",")
SEED = int(os.environ.get("SEED", "42"))
PARTITIONS = 8
RUN_TIMEOUT_S = 600


def build(t):
    out_dir = os.path.join(ROOT, "build", "interop")
    os.makedirs(out_dir, exist_ok=True)
    exe = os.path.join(out_dir, "rdk_roundtrip")
    src = os.path.join(HERE, "rdk_roundtrip.c")
    r = subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=gnu11", "-Wall", "-Wextra",
                        "-Werror", "-o", exe, src, "-lrdkafka"],
                       capture_output=True, text=True, timeout=120)
    t.ok(r.returncode == 0, "rdk_roundtrip.c compiles against librdkafka", r.stderr)
    return exe if r.returncode == 0 else None


def create_topics(t, bootstrap, topics):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(n, PARTITIONS, replication_factor()) for n in topics],
                               operation_timeout=30)
    for name, fut in futs.items():
        fut.result(timeout=60)
    t.ok(True, f"created {len(topics)} topics with {PARTITIONS} partitions, "
         f"replication factor {replication_factor()}")


def roundtrip(t, exe, bootstrap, codec):
    topic = f"rdk-{codec}"
    cmd = [exe, "-b", bootstrap, "-t", topic, "-p", str(PARTITIONS), "-n", str(RECORDS),
           "-s", str(VALUE_BYTES), "-c", codec, "-S", str(SEED), "-T", str(RUN_TIMEOUT_S - 30)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        t.ok(False, f"{codec}: round trip finished within {RUN_TIMEOUT_S}s", str(e))
        return
    summary = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
    t.diag(r.stdout.strip())
    t.ok(r.returncode == 0,
         f"{codec}: {RECORDS} records x {VALUE_BYTES} B, idempotent acks=all, "
         f"consumed by assign() byte-exact with key, headers, timestamp",
         f"exit {r.returncode}; {summary}\n{r.stderr[-3000:]}")


def main():
    t = Tap("librdkafka interop")
    exe = t.run(build)
    if not exe:
        t.done()
    with Broker() as b:
        t.run(create_topics, b.bootstrap, [f"rdk-{c}" for c in CODECS])
        for codec in CODECS:
            t.run(roundtrip, exe, b.bootstrap, codec, desc=f"roundtrip {codec}")
    t.done()


if __name__ == "__main__":
    main()
