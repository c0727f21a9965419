#!/usr/bin/python3
"""The Java client (kafka-clients 3.9, idempotent by default) against a live broker.

tests/interop/java/JavaClientCheck.java (compiled by lib/java_client.py into
build/interop-java/, recompiled only when a source changed) creates one topic
per codec (a replica on every broker of the target) with the Admin client,
produces RECORDS records with keys (some null), values (some null, all byte
values), headers (repeated keys, null values) and CreateTime timestamps,
then reads every partition from the
beginning with assign() and checks each record byte for byte at the offset it
was acknowledged with. This file then reads the same topics with
confluent-kafka and checks them against the same record definition, so two
clients agree on every byte.

RECORDS=N overrides the records per codec; CODECS=a,b the codec list.
"""

import ctypes
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, replication_factor  # noqa: E402
from java_client import compile_java, run_java  # noqa: E402
from tap import Tap  # noqa: E402

RECORDS = int(os.environ.get("RECORDS", "5000"))
CODECS = os.environ.get("CODECS", "none,gzip,snappy,lz4,zstd").split(",")
PARTITIONS = 3
PREFIX = "java-client"
BASE_TIMESTAMP_MS = 1_700_000_000_000


def record_data(i):
    """(key, value, headers, timestamp) of record i: RecordData.java's definition."""
    key = None if i % 17 == 0 else b"key-%d" % i
    value = None if i % 23 == 0 else bytes((i * 31 + j * 7) & 0xFF for j in range((i * 37) % 300))
    headers = [("seq", i.to_bytes(4, "big")),
               ("bin", bytes((i + j * 101) & 0xFF for j in range(i % 5)))]
    if i % 3 == 0:
        headers.append(("seq", b"again"))
    if i % 7 == 0:
        headers.append(("nothing", None))
    return key, value, headers, BASE_TIMESTAMP_MS + 3 * i


def run_check(bootstrap):
    return run_java("JavaClientCheck", bootstrap, PREFIX, str(PARTITIONS), str(RECORDS),
                    ",".join(CODECS), str(replication_factor()))


def headers_of(msg):
    """msg.headers(), keeping None's reference count right.

    Some confluent-kafka versions (Debian's 1.7.0) return null header values as
    None without taking a reference, so every call costs None one reference
    until the interpreter aborts. Measure what the call did and make up for it.
    """
    before = sys.getrefcount(None)
    headers = msg.headers() or []
    held = sum(1 for _, v in headers if v is None)
    missing = before + held - sys.getrefcount(None)
    for _ in range(max(0, missing)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    return headers


def python_reads(t, bootstrap, codec):
    """confluent-kafka reads the Java client's records back and compares them."""
    from confluent_kafka import Consumer, TopicPartition, TIMESTAMP_CREATE_TIME
    topic = f"{PREFIX}-{codec}"
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "java-client-check-py",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        counts = [0] * PARTITIONS
        expected = [(RECORDS - p + PARTITIONS - 1) // PARTITIONS for p in range(PARTITIONS)]
        eof = set()
        problems = []
        deadline = time.monotonic() + 60
        while len(eof) < PARTITIONS and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    if msg.offset() >= expected[msg.partition()]:
                        eof.add(msg.partition())
                    continue
                problems.append(str(msg.error()))
                break
            p, off = msg.partition(), msg.offset()
            i = off * PARTITIONS + p  # record i went to partition i % P, in order
            key, value, headers, ts = record_data(i)
            got_headers = list(headers_of(msg))
            if off != counts[p]:
                problems.append(f"p{p}: offset {off}, expected {counts[p]}")
            counts[p] = off + 1
            if (msg.key(), msg.value(), got_headers, msg.timestamp()) != \
                    (key, value, headers, (TIMESTAMP_CREATE_TIME, ts)):
                problems.append(f"p{p} offset {off} (record {i}) differs")
        t.eq(counts, expected, f"{codec}: confluent-kafka reads every record the Java client wrote")
        t.ok(not problems, f"{codec}: confluent-kafka sees the same bytes, headers and timestamps",
             "; ".join(problems[:5]))
    finally:
        c.close()


def main():
    t = Tap("Java client (kafka-clients 3.9)")
    err = compile_java()
    if not t.ok(err is None, "JavaClientCheck compiles", err):
        t.done()
    with Broker({"num.partitions": 1}) as b:
        res = run_check(b.bootstrap)
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith(("PASS ", "FAIL "))]
        if res.returncode not in (0, 1) or len(lines) != len(CODECS):
            t.ok(False, "JavaClientCheck ran to the end",
                 f"exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        for codec in CODECS:
            line = next((ln for ln in lines if ln.split()[1].rstrip(":") == codec), None)
            passed = line is not None and line.startswith("PASS ")
            t.ok(passed, f"{codec}: Java client produces {RECORDS} records (idempotent, acks=all) "
                 "and reads them back by assign(), byte-exact", line or res.stderr[-2000:])
            if passed:
                t.run(python_reads, b.bootstrap, codec, desc=f"confluent-kafka reads {codec}")
    t.done()


if __name__ == "__main__":
    main()
