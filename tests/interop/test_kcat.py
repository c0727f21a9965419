#!/usr/bin/python3
"""kcat against a live broker.

- `kcat -L` (and -L -J) shows every broker at its advertised address and the
  topics with their partition counts, each partition led by one of them with
  a replica on each (one broker; three under RUNNEL_TEST_TARGET=cluster).
- 100,000 keyed records produced with `kcat -P -K` into a 3-partition topic come
  back exactly with `kcat -C -e`: every record once, each key in the partition
  librdkafka's partitioner chose for it (CRC32 of the key), offsets 0..n-1 per
  partition, and records in produce order within each partition.

RECORDS=N overrides the record count.
"""

import json
import os
import shutil
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, node_ids, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402
from topics import wait_listed  # noqa: E402

RECORDS = int(os.environ.get("RECORDS", "100000"))
PARTITIONS = 3
KEYS = 997
KCAT_TIMEOUT_S = 180


def kcat(*args, input=None):
    return subprocess.run(["kcat", *args], input=input, capture_output=True,
                          timeout=KCAT_TIMEOUT_S)


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fut = admin.create_topics([NewTopic(topic, partitions, replication_factor())],
                              operation_timeout=30)
    fut[topic].result(timeout=60)
    wait_listed(bootstrap, topic, partitions)  # by every broker (a cluster's, each in its time)
    return True


def record(i):
    key = f"key-{i % KEYS:04d}"
    # Values vary in length and content; no tab or newline (kcat is line based).
    value = f"value-{i:06d}-" + ("abcdefghijklmnopqrstuvwxyz0123456789" * 3)[: 10 + (i * 7) % 90]
    return key, value


def test_metadata(t, b, topic):
    r = kcat("-b", b.bootstrap, "-L")
    out = r.stdout.decode()
    t.ok(r.returncode == 0, "kcat -L exits 0", r.stderr.decode())
    for node, addr in sorted(b.addrs.items()):
        t.ok(f"broker {node} at {addr}" in out, f"kcat -L lists broker {node} at its address", out)
    t.ok(f'topic "{topic}" with {PARTITIONS} partitions' in out,
         f"kcat -L lists {topic} with {PARTITIONS} partitions", out)

    r = kcat("-b", b.bootstrap, "-L", "-J", "-t", topic)
    t.ok(r.returncode == 0, "kcat -L -J -t exits 0", r.stderr.decode())
    meta = json.loads(r.stdout.decode())
    brokers = [(x["id"], x["name"]) for x in meta.get("brokers", [])]
    t.eq(sorted(brokers), sorted(b.addrs.items()), "kcat -L -J: brokers")
    topics = {x["topic"]: x for x in meta.get("topics", [])}
    partitions = topics.get(topic, {}).get("partitions", [])
    parts = sorted(p["partition"] for p in partitions)
    t.eq(parts, list(range(PARTITIONS)), "kcat -L -J: partition ids")
    ids = node_ids()
    leaders = [p["leader"] for p in partitions]
    t.ok(leaders and all(x in ids for x in leaders),
         f"kcat -L -J: every partition led by one of brokers {ids}", leaders)
    replicas = [sorted(r["id"] for r in p.get("replicas", [])) for p in partitions]
    t.eq(replicas, [ids] * PARTITIONS, f"kcat -L -J: every partition has replicas {ids}")
    errs = [p.get("error") for p in partitions if p.get("error")]
    t.eq(errs, [], "kcat -L -J: no partition errors")


def test_roundtrip(t, b, topic):
    lines = []
    for i in range(RECORDS):
        k, v = record(i)
        lines.append(f"{k}\t{v}\n")
    r = kcat("-b", b.bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "enable.idempotence=true",
             "-X", "linger.ms=5", input="".join(lines).encode())
    t.ok(r.returncode == 0, f"kcat -P -K produced {RECORDS} records", r.stderr.decode()[-2000:])

    r = kcat("-b", b.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
             "-f", "%p\t%o\t%k\t%s\n")
    t.ok(r.returncode == 0, "kcat -C -e exits 0", r.stderr.decode()[-2000:])
    out = r.stdout.decode().split("\n")
    if out and out[-1] == "":
        out.pop()
    t.eq(len(out), RECORDS, "kcat -C -e: record count")

    per_part = {p: [] for p in range(PARTITIONS)}
    bad = []
    for line in out:
        fields = line.split("\t")
        if len(fields) != 4:
            bad.append(line)
            continue
        p, o, k, v = int(fields[0]), int(fields[1]), fields[2], fields[3]
        per_part.setdefault(p, []).append((o, k, v))
    t.eq(bad[:5], [], "every consumed line has partition, offset, key, value")

    want = {p: [] for p in range(PARTITIONS)}
    for i in range(RECORDS):
        k, v = record(i)
        want[zlib.crc32(k.encode()) % PARTITIONS].append((k, v))
    for p in range(PARTITIONS):
        got = per_part.get(p, [])
        offsets = [o for o, _, _ in got]
        t.ok(offsets == list(range(len(got))), f"partition {p}: offsets 0..{len(got) - 1} in order",
             f"first offsets {offsets[:10]}")
        kv = [(k, v) for _, k, v in got]
        if kv == want[p]:
            t.ok(True, f"partition {p}: {len(kv)} records exactly as produced, in order")
        else:
            first = next((j for j, (a, c) in enumerate(zip(kv, want[p])) if a != c),
                         min(len(kv), len(want[p])))
            t.ok(False, f"partition {p}: records exactly as produced, in order",
                 f"got {len(kv)}, want {len(want[p])}; first difference at index {first}: "
                 f"got {kv[first:first + 2]}, want {want[p][first:first + 2]}")
    extra = sorted(set(per_part) - set(range(PARTITIONS)))
    t.eq(extra, [], "no records in unexpected partitions")


def main():
    t = Tap("kcat interop")
    if shutil.which("kcat") is None:
        t.ok(False, "kcat installed (scripts/install-deps.sh)")
        t.done()
    topic = "kcat-roundtrip"
    with Broker() as b:
        t.run(lambda t: t.ok(create_topic(b.bootstrap, topic, PARTITIONS),
                             f"AdminClient creates {topic} with {PARTITIONS} partitions"),
              desc="create topic")
        t.run(test_metadata, b, topic)
        t.run(test_roundtrip, b, topic)
    t.done()


if __name__ == "__main__":
    main()
