#!/usr/bin/env python3
"""One node with many partitions: the metadata log's size on disk and the
time from a restart to ready, after a clean stop and after a SIGKILL.

    tests/bench/metadata_restart.py [--target runnel|kafka] [--topics 100]
                                    [--partitions 100] [--batch 10]

A single node (tests/interop/lib/broker.py: RUNNEL_BIN, or Kafka 3.9 in
combined KRaft mode) gets --topics topics of --partitions partitions each,
--batch topics per CreateTopics request. Printed: the creation time, the size
of __cluster_metadata-0 (and of the whole data folder), then for a SIGTERM
stop and for a SIGKILL: the time from the new process's start until it
answers ApiVersions and Metadata, until its Metadata lists every partition,
and its VmRSS then. Figures only: nothing is judged.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figlib  # noqa: E402
from broker import Broker  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
import kwire  # noqa: E402

say = figlib.say


def partitions_listed(bootstrap, timeout=10.0):
    with kwire.Conn(bootstrap, timeout) as conn:
        _, body = conn.roundtrip(kwire.metadata_request(5, None, 1), timeout_s=timeout)
    _, _, topics = kwire.parse_metadata_v1(body)
    return sum(len(parts) for name, (err, parts) in topics.items()
               if not name.startswith("__") and err == 0)


def wait_partitions(b, want, t0, timeout):
    """Seconds from t0 until b's Metadata lists `want` partitions, or None."""
    while time.monotonic() - t0 < timeout:
        try:
            if partitions_listed(b.bootstrap) >= want:
                return time.monotonic() - t0
        except Exception:
            pass
        time.sleep(0.05)
    return None


def restart(b, how, want, timeout):
    if how == "SIGKILL":
        b.kill()
    else:
        b.stop()
    t0 = time.monotonic()
    b.start(timeout=timeout)
    ready = time.monotonic() - t0
    listed = wait_partitions(b, want, t0, timeout)
    rss = figlib.rss_kib(b.pid)
    say(f"restart after {how} ({b.target}, {want} partitions): answering after {ready:.2f} s, "
        f"all partitions in Metadata after "
        f"{f'{listed:.2f} s' if listed is not None else 'not within the bound'}, "
        f"RSS {rss / 1024:.0f} MiB")


def run(args):
    want = args.topics * args.partitions
    b = Broker({"num.partitions": "1"}, name=f"{figlib.broker_lib.target()} single node")
    if args.target != b.target:
        raise SystemExit("set RUNNEL_TEST_TARGET=kafka for --target kafka")
    say(f"# {args.target}: one node, {args.topics} topics x {args.partitions} partitions "
        f"= {want}, {args.batch} topics per CreateTopics request")
    b.start(timeout=args.timeout)
    try:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "log_level": 0})
        names = [f"wide-{i:04d}" for i in range(args.topics)]
        t0 = time.monotonic()
        for i in range(0, len(names), args.batch):
            futs = admin.create_topics([NewTopic(n, args.partitions, 1)
                                        for n in names[i:i + args.batch]],
                                       request_timeout=args.timeout)
            for fut in futs.values():
                fut.result(args.timeout)
        created = time.monotonic() - t0
        listed = wait_partitions(b, want, t0, args.timeout)
        say(f"create ({args.target}): {created:.2f} s to the last acknowledgement, "
            f"{listed:.2f} s until Metadata lists all {want} partitions")
        time.sleep(args.idle)
        md = os.path.join(b.data_dir, figlib.METADATA_TOPIC + "-0")
        say(f"metadata log ({args.target}, {want} partitions): __cluster_metadata-0 "
            f"{figlib.du_text(md)}; whole data folder {figlib.du_text(b.data_dir)}; "
            f"RSS {figlib.rss_kib(b.pid) / 1024:.0f} MiB")
        restart(b, "SIGTERM", want, args.timeout)
        restart(b, "SIGKILL", want, args.timeout)
        say(f"metadata log after the restarts ({args.target}): {figlib.du_text(md)}")
        return 0
    finally:
        b.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=("runnel", "kafka"), default="runnel")
    p.add_argument("--topics", type=int, default=100)
    p.add_argument("--partitions", type=int, default=100)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--idle", type=float, default=3.0)
    p.add_argument("--timeout", type=float, default=300.0, help="bound of each wait")
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
