#!/usr/bin/env python3
"""Broker CPU per idle fetch of many partitions, sessionless and with an
incremental fetch session (KIP-227), for Runnel binaries and Apache Kafka 3.9.

    tests/bench/fetch_idle.py [--partitions 5000] [--fetches 300]
                              [--runnel BIN ...] [--kafka]

For each broker (every --runnel binary, then Kafka with --kafka): one topic
of --partitions partitions and no records; one connection sends Fetch v11
requests naming every partition at offset 0 with max_wait_ms 0, one after
the other, each answered before the next:

- full: a full fetch every time (session id 0, epoch -1), as librdkafka does;
- session: one full fetch opening a session (epoch 0), then incremental
  fetches listing nothing (epochs 1, 2, ...), as the Java consumer does once
  its partitions are quiet. A broker that opens no session (id 0) is
  reported so and not measured.

Printed per broker and mode: the broker's CPU time (utime + stime of its
process, from /proc) per fetch, the client's wall time per fetch and the
request and response bytes. Figures only: nothing is judged.
"""

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop", "lib"))

import broker as broker_lib  # noqa: E402
import kwire  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "idle"
V = 11


def cpu_seconds(pid):
    """utime + stime of the process and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fetch(conn, corr, parts, session_id, epoch):
    topics = [(TOPIC, parts)] if parts else []
    req = kwire.fetch_request(corr, topics, V, min_bytes=1, max_wait_ms=0,
                              session_id=session_id, session_epoch=epoch)
    got, body = conn.roundtrip(req, timeout_s=60)
    assert got == corr, (got, corr)
    top, sid, answered = kwire.parse_fetch_session(body, V)
    return top, sid, answered, len(req), len(body)


def measure(pid, fetches, one):
    """(cpu ms per fetch, wall ms per fetch, request bytes, response bytes)."""
    sizes = one(0)  # warm-up, not counted
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    for i in range(fetches):
        sizes = one(i + 1)
    cpu1, t1 = cpu_seconds(pid), time.monotonic()
    return (1000 * (cpu1 - cpu0) / fetches, 1000 * (t1 - t0) / fetches) + sizes


def run_broker(label, partitions, fetches):
    rows = []
    with broker_lib.Broker({"num.partitions": 1, "auto.create.topics.enable": "false"}) as b:
        create_topic(b.bootstrap, TOPIC, partitions, timeout_s=300)
        parts = [(p, 0, 1 << 20) for p in range(partitions)]
        time.sleep(2)  # let start-up work settle
        with kwire.Conn(b.bootstrap, timeout_s=60) as conn:
            def full(i):
                top, _, answered, req, resp = fetch(conn, 10 + i, parts, 0, -1)
                assert top == 0 and len(answered) == partitions, (top, len(answered))
                return req, resp
            rows.append(("full",) + measure(b.pid, fetches, full))

            top, sid, answered, _, _ = fetch(conn, 1, parts, 0, 0)
            if sid == 0:
                rows.append(("session", None, None, None, None))
            else:
                epoch = [1]

                def incremental(i):
                    top, _, answered, req, resp = fetch(conn, 100000 + i, [], sid, epoch[0])
                    epoch[0] += 1
                    assert top == 0 and not answered, (top, len(answered))
                    return req, resp

                # Partitions still coming up (Kafka creates their logs after
                # the metadata lists them) are answered until they settle.
                for _ in range(100):
                    top, _, answered, _, _ = fetch(conn, 3, [], sid, epoch[0])
                    epoch[0] += 1
                    if not answered:
                        break
                    time.sleep(0.1)
                rows.append(("session",) + measure(b.pid, fetches, incremental))
                fetch(conn, 2, [], sid, -1)
    for mode, cpu, wall, req, resp in rows:
        if cpu is None:
            print(f"{label:<28} {mode:<8} no session offered (session id 0)")
        else:
            print(f"{label:<28} {mode:<8} cpu {cpu:7.3f} ms/fetch   wall {wall:7.3f} ms/fetch"
                  f"   request {req:7d} B   response {resp:7d} B")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--partitions", type=int, default=5000)
    ap.add_argument("--fetches", type=int, default=300)
    ap.add_argument("--runnel", action="append", default=[],
                    help="a runnel binary to measure (repeatable; default, without --kafka: "
                    "RUNNEL_BIN or the build)")
    ap.add_argument("--kafka", action="store_true", help="measure Apache Kafka 3.9 too")
    args = ap.parse_args()
    print(f"idle fetch of {args.partitions} partitions, {args.fetches} fetches per mode, "
          f"max_wait_ms 0, one connection")
    for binary in args.runnel or ([] if args.kafka else [broker_lib.runnel_bin()]):
        os.environ["RUNNEL_TEST_TARGET"] = "runnel"
        os.environ["RUNNEL_BIN"] = binary
        run_broker(f"runnel {os.path.relpath(binary)}", args.partitions, args.fetches)
    if args.kafka:
        os.environ["RUNNEL_TEST_TARGET"] = "kafka"
        run_broker("kafka 3.9", args.partitions, args.fetches)


if __name__ == "__main__":
    main()
