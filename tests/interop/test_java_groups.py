#!/usr/bin/python3
"""A consumer group of the Java client (kafka-clients 3.9, classic protocol),
which sends the newest versions of the group APIs (FindCoordinator v4 with
batched keys, JoinGroup v9, SyncGroup v5, Heartbeat v4, LeaveGroup v5,
OffsetCommit v9, OffsetFetch v9 for two groups at once, DescribeGroups v5,
ListGroups v5): tests/interop/java/JavaGroupCheck.java runs two members,
the Admin client's views of the group and its offsets, a leaving member and
a static leader's restart; each of its checks is one test point here.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from java_client import compile_java, run_java  # noqa: E402
from tap import Tap  # noqa: E402

CHECKS = {
    "consume": "two members share the topic and read every record once",
    "describe": "DescribeGroups: Stable, two members, READ/DESCRIBE/DELETE operations",
    "list": "ListGroups: the group among the Stable ones",
    "offsets": "OffsetFetch: the committed offsets of two groups in one call",
    "leave": "LeaveGroup: the remaining member gets every partition",
    "static": "a restarted static leader gets its partitions back (skip_assignment)",
}
SETTINGS = {"num.partitions": 1, "group.initial.rebalance.delay.ms": 0}


def main():
    t = Tap("Java client consumer group at the newest group API versions")
    err = compile_java()
    if not t.ok(err is None, "JavaGroupCheck compiles", err):
        t.done()
    with Broker(SETTINGS) as b:
        res = run_java("JavaGroupCheck", b.bootstrap, "java-groups", timeout=300)
        lines = {ln.split()[1].rstrip(":"): ln for ln in res.stdout.splitlines()
                 if ln.startswith(("PASS ", "FAIL "))}
        if res.returncode not in (0, 1) or set(lines) != set(CHECKS):
            t.ok(False, "JavaGroupCheck ran to the end",
                 f"exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        for name, desc in CHECKS.items():
            line = lines.get(name)
            t.ok(line is not None and line.startswith("PASS "), f"Java client: {desc}",
                 line or res.stderr[-2000:])
    t.done()


if __name__ == "__main__":
    main()
