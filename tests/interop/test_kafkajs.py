#!/usr/bin/python3
"""kafkajs (2.2.4) produces with every codec it supports.

tests/interop/js/produce.js creates one topic per codec (none, gzip, snappy,
lz4, zstd; a replica on every broker of the target) with kafkajs's admin
client and sends keyed records with headers
and timestamps in batches with acks=-1, printing the base offset of every
batch. This file then reads each topic with confluent-kafka by assign() and
checks that every record is at its acknowledged offset, byte for byte (key,
value, headers, CreateTime timestamp), with nothing extra.

Needs tests/interop/js/node_modules: when it is missing this test runs
`npm ci --ignore-scripts` there (the lockfile pins every package; no package
needs a native build). RECORDS=N overrides the records per codec.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
RECORDS = int(os.environ.get("RECORDS", "3000"))
CODECS = os.environ.get("CODECS", "none,gzip,snappy,lz4,zstd").split(",")
PARTITIONS = 3
PREFIX = "kafkajs"
BASE_TIMESTAMP_MS = 1_700_000_000_000


def record_data(i):
    """(key, value, headers, timestamp) of record i, as record() in produce.js."""
    key = None if i % 11 == 0 else b"kjs-%d" % i
    value = bytes((i * 13 + j * 5) & 0xFF for j in range((i * 29) % 200 + 1))
    headers = [("seq", str(i).encode()), ("bin", bytes((i + j * 77) & 0xFF for j in range(i % 4)))]
    return key, value, headers, BASE_TIMESTAMP_MS + 7 * i


def ensure_node_modules(package="kafkajs"):
    """None if js/node_modules has `package` (running npm ci if not), else why not."""
    if os.path.isdir(os.path.join(JS_DIR, "node_modules", package)):
        return None
    if shutil.which("npm") is None:
        return "npm not found"
    res = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                         cwd=JS_DIR, capture_output=True, text=True, timeout=600,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        return f"npm ci failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
    return None


def check_topic(t, bootstrap, codec, sends):
    """Read the codec's topic back with confluent-kafka and compare every record."""
    from confluent_kafka import Consumer, TopicPartition, TIMESTAMP_CREATE_TIME
    topic = f"{PREFIX}-{codec}"
    expected = {}  # (partition, offset) -> record index
    for s in sends:
        base = int(s["baseOffset"])
        for j in range(s["count"]):
            expected[(s["partition"], base + j)] = s["first"] + j
    ends = {p: 0 for p in range(PARTITIONS)}
    for p, off in expected:
        ends[p] = max(ends[p], off + 1)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "kafkajs-check",
                  "enable.auto.commit": False})
    seen, problems = {}, []
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + 60
        while len(seen) < len(expected) and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                problems.append(str(msg.error()))
                continue
            where = (msg.partition(), msg.offset())
            if where not in expected:
                problems.append(f"unexpected record at {where}")
                continue
            if where in seen:
                problems.append(f"record at {where} read twice")
            seen[where] = True
            key, value, headers, ts = record_data(expected[where])
            got = (msg.key(), msg.value(), msg.headers() or [], msg.timestamp())
            if got != (key, value, headers, (TIMESTAMP_CREATE_TIME, ts)):
                problems.append(f"record {expected[where]} at {where} differs: {got!r:.300}")
        lows_highs = [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                      for p in range(PARTITIONS)]
    finally:
        c.close()
    t.eq(len(seen), RECORDS, f"{codec}: every record kafkajs sent is at its acknowledged offset")
    t.ok(not problems, f"{codec}: keys, values, headers and timestamps are byte-exact",
         "\n".join(problems[:5]))
    t.eq([hw for _, hw in lows_highs], [ends[p] for p in range(PARTITIONS)],
         f"{codec}: the latest offsets are the ends of what was sent (nothing extra)")


def main():
    t = Tap("kafkajs 2.2.4")
    err = ensure_node_modules()
    if not t.ok(err is None, "kafkajs and its codecs are installed (npm ci)", err):
        t.done()
    with Broker({"num.partitions": 1}) as b:
        res = subprocess.run(["node", "produce.js", b.bootstrap, PREFIX, str(PARTITIONS),
                              str(RECORDS), ",".join(CODECS), str(replication_factor())],
                             cwd=JS_DIR, capture_output=True,
                             text=True, timeout=300, stdin=subprocess.DEVNULL)
        lines = {}
        for ln in res.stdout.splitlines():
            try:
                obj = json.loads(ln)
                lines[obj["codec"]] = obj
            except (ValueError, KeyError):
                pass
        if res.returncode not in (0, 1) or len(lines) != len(CODECS):
            t.ok(False, "produce.js ran to the end",
                 f"exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        for codec in CODECS:
            line = lines.get(codec, {})
            sent = sum(s["count"] for s in line.get("sends", []))
            ok = t.ok(line.get("ok") and sent == RECORDS,
                      f"{codec}: kafkajs sends {RECORDS} records with acks=-1",
                      line.get("error") or res.stderr[-2000:])
            if ok:
                t.run(check_topic, b.bootstrap, codec, line["sends"],
                      desc=f"read back kafkajs {codec}")
    t.done()


if __name__ == "__main__":
    main()
