#!/usr/bin/python3
"""A full disk is refused loudly and recovered from by itself.

The broker's data directory is an 8 MiB tmpfs (the test mounts it: root
only, skipped otherwise) and its admin port is on. A producer (acks=all)
writes 100 records; then a filler file takes every free byte and the
producer sends 300 more (message.timeout.ms 7 s, so its retries go on for
longer than one summary interval); then the filler goes and it sends 100
more.

- While the disk is full: the broker logs an ERROR line when appends start
  being refused, then at most one summary line per 5 s (not one per
  refused append); /metrics shows runnel_log_dirs_failing 1 and
  runnel_appends_refused_total > 0; /health/ready answers 503 with a
  reason naming the full disk; every record the producer reports failed
  failed with a retriable error.
- Once space returns: the next 100 records are all acknowledged (no
  restart, nothing to do), the broker logs that appends succeed again,
  runnel_log_dirs_failing is 0 and /health/ready answers 200.
- A consumer reading the partition sees exactly the acknowledged records,
  each at its acknowledged offset; none reported failed.

Runnel only (the log lines, metrics and readiness are Runnel's).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, free_port, skip_under_cluster, target  # noqa: E402
from records import consume_from_start, not_retriable, produce_tracked  # noqa: E402
from tap import Tap  # noqa: E402

TOPIC = "disk-full"
RECORD_BYTES = 1000
TIMEOUT_MS = 7000
SUMMARY_S = 5


def value(i):
    return (b"%08d-" % i).ljust(RECORD_BYTES, b"d")


def http_get(url):
    """(status, body) of a GET, 5xx answers included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(admin, name):
    _, text = http_get(f"{admin}/metrics")
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def produce(p, first, count, acked, failed):
    """Records first..first+count-1, to partition 0."""
    records = ((0, value(i)) for i in range(first, first + count))
    produce_tracked(p, TOPIC, records, acked, failed, TIMEOUT_MS / 1000 + 30)


def fill(path):
    """Writes zeros to path until the file system is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
    with open(path, "ab", buffering=0) as f:  # the last partial chunk
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


def storage_lines(b):
    with open(b.log_path, errors="replace") as f:
        return [ln.rstrip() for ln in f if ln.startswith(("ERROR storage:", "INFO storage:"))]


def test_disk_full(t, b, admin, mount):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin_client = AdminClient({"bootstrap.servers": b.bootstrap})
    admin_client.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(30)
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                  "batch.num.messages": 20, "message.timeout.ms": TIMEOUT_MS})
    acked, failed = {}, {}
    produce(p, 0, 100, acked, failed)
    t.eq(len(acked), 100, "with room, 100 records are acknowledged")
    t.eq(http_get(f"{admin}/health/ready")[0], 200, "/health/ready is 200 with room")

    filler = os.path.join(mount, "filler")
    fill(filler)
    started = time.monotonic()
    full_acked, full_failed = {}, {}
    produce(p, 100, 300, full_acked, full_failed)
    lasted = time.monotonic() - started
    t.diag(f"disk full: {len(full_acked)} acknowledged, {len(full_failed)} failed "
           f"({sorted(set(e.name() for e in full_failed.values()))}) in {lasted:.1f}s")
    t.ok(len(full_failed) > 0, "with the disk full, records fail")
    bad = not_retriable(full_failed.values())
    t.ok(not bad, "every failure is retriable", f"e.g. {bad[:1]}")

    lines = storage_lines(b)
    t.ok(any(ln.startswith("ERROR storage:") and "disk full" in ln for ln in lines),
         "an ERROR line says appends are refused for a full disk", "\n".join(lines) or "none")
    summaries = [ln for ln in lines if "still refusing" in ln]
    t.ok(summaries, f"a summary line follows while it lasts ({lasted:.0f}s)", "\n".join(lines))
    t.ok(len(lines) <= 2 + lasted / SUMMARY_S,
         f"at most one line per {SUMMARY_S}s, not one per refused append ({len(lines)} lines)",
         "\n".join(lines))
    t.eq(metric(admin, "runnel_log_dirs_failing"), 1.0, "runnel_log_dirs_failing is 1")
    refused = metric(admin, "runnel_appends_refused_total")
    t.ok(refused and refused > 0, f"runnel_appends_refused_total counts refusals ({refused})")
    status, body = http_get(f"{admin}/health/ready")
    t.eq(status, 503, "/health/ready is 503 while the disk is full")
    t.ok("disk full" in body, "its body gives the reason", body)

    os.unlink(filler)
    time.sleep(1.5)  # past the last refusal's quiet time
    more_acked, more_failed = {}, {}
    produce(p, 400, 100, more_acked, more_failed)
    t.eq(len(more_acked), 100, "with room again, 100 more records are acknowledged")
    t.ok(any("appends succeed again" in ln for ln in storage_lines(b)),
         "a line says appends succeed again", "\n".join(storage_lines(b)))
    t.eq(metric(admin, "runnel_log_dirs_failing"), 0.0, "runnel_log_dirs_failing is 0 again")
    t.eq(http_get(f"{admin}/health/ready")[0], 200, "/health/ready is 200 again")

    acked.update(full_acked)
    acked.update(more_acked)
    failed.update(full_failed)
    seen, _ = consume_from_start(b.bootstrap, TOPIC, 1, "disk-full-check")
    values = [v for v, _ in seen]
    t.eq(len(seen), len(acked), "a consumer reads as many records as were acknowledged")
    t.eq(len(set(values) & set(failed)), 0, "no record reported failed is ever read")
    t.eq(sorted(set(values)), sorted(acked), "the records read are exactly the acknowledged ones")
    moved = [(v[:8], o, acked.get(v)) for v, o in seen if acked.get(v) != o]
    t.ok(not moved, "each is read at its acknowledged offset", f"e.g. {moved[:3]}")


def main():
    t = Tap("disk full")
    skip_under_cluster(t, "disk full", "one broker process on a full file system")
    if target() != "runnel":
        t.skip("disk full", "Runnel only")
        t.done()
    mount = tempfile.mkdtemp(prefix="runnel-disk-full-")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount],
                         capture_output=True, text=True)
    if res.returncode != 0:
        os.rmdir(mount)
        t.skip("disk full", f"cannot mount a tmpfs: {res.stderr.strip()}")
        t.done()
    try:
        admin_port = free_port()
        settings = {"num.partitions": 1, "admin.listener": f"127.0.0.1:{admin_port}"}
        with Broker(settings, data_dir=os.path.join(mount, "data")) as b:
            t.run(test_disk_full, b, f"http://127.0.0.1:{admin_port}", mount)
    finally:
        subprocess.run(["umount", mount])
        os.rmdir(mount)
    t.done()


if __name__ == "__main__":
    main()
