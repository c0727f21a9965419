#!/usr/bin/python3
"""Transactions with kafkajs (2.2.4) and @platformatic/kafka (1.35), as
Kafka 3.9 serves them.

tests/interop/js/txn.js runs a kafkajs transactional producer through five
transactions (commit, abort, commit, abort, commit) over two partitions, then
reads the topic with a kafkajs consumer with readUncommitted:false and one
with readUncommitted:true, then sends a group's offsets in transactions
(aborted, committed, aborted) and reads the group's committed offsets after
each. Checked here:

- read_committed reads every committed record once and no aborted one;
- read_uncommitted reads every record, committed and aborted, once;
- sendOffsets commits the group's offsets only with a committed transaction.

tests/interop/js/txn-platformatic.mjs does the same with @platformatic/kafka
on a second topic (one aborted transaction: the client filters only the
last aborted transaction of each producer in a fetch answer), its offsets
being the consumer's last record of each partition (Transaction.addConsumer
and addOffset) in an aborted then a committed transaction.

@platformatic/kafka speaks only recent versions of each API (FindCoordinator
4+, OffsetFetch 8+, JoinGroup 6+, ...): where the broker does not serve
one of those this script needs, that part is a TAP skip naming them.

Needs tests/interop/js/node_modules (installed as test_kafkajs.py does).
RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9.
"""

import json
import os
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_kafkajs import JS_DIR, ensure_node_modules  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "txn-kafkajs"
GROUP = "kjs-txn-group"
PKT_TOPIC = "txn-platformatic"
PKT_GROUP = "pkt-txn-group"
# The oldest version of each API @platformatic/kafka 1.35 sends that
# txn-platformatic.mjs uses: api key -> (name, version).
PKT_NEEDS = {0: ("Produce", 7), 1: ("Fetch", 12), 2: ("ListOffsets", 5), 3: ("Metadata", 9),
             8: ("OffsetCommit", 8), 9: ("OffsetFetch", 8), 10: ("FindCoordinator", 4),
             11: ("JoinGroup", 6), 12: ("Heartbeat", 4), 13: ("LeaveGroup", 4),
             14: ("SyncGroup", 4), 22: ("InitProducerId", 3), 24: ("AddPartitionsToTxn", 3),
             25: ("AddOffsetsToTxn", 1), 26: ("EndTxn", 3), 28: ("TxnOffsetCommit", 3)}
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


def run_js(script, bootstrap, topic, group):
    """The script's JSON line, or None and why not."""
    res = subprocess.run(["node", script, bootstrap, topic, group], cwd=JS_DIR,
                         capture_output=True, text=True, timeout=150,
                         stdin=subprocess.DEVNULL)
    for ln in res.stdout.splitlines():
        try:
            return json.loads(ln), None
        except ValueError:
            pass
    return None, f"exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"


def missing_versions(bootstrap, needs):
    """The APIs of `needs` the broker does not serve at the version given."""
    with kwire.Conn(bootstrap, 10) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, 0))
    _, ranges = kwire.parse_api_versions(body, 0)
    return [f"{name} {v}" for key, (name, v) in sorted(needs.items())
            if key not in ranges or not ranges[key][0] <= v <= ranges[key][1]]


def duplicates(records):
    """Values read more than once."""
    return sorted(v for v, n in Counter(r["value"] for r in records).items() if n > 1)


def check(t, line):
    committed, aborted = line["committed"], line["aborted"]
    t.eq((len(committed), len(aborted)), (24, 16),
         "kafkajs commits three transactions and aborts two (8 records each, 2 partitions)")
    rc = line["readCommitted"]
    t.eq(sorted(r["value"] for r in rc), sorted(committed),
         "readUncommitted:false: every committed record, no aborted one")
    t.eq(duplicates(rc), [], "readUncommitted:false: each record once")
    t.eq(sorted({r["partition"] for r in rc}), [0, 1], "from both partitions")
    ru = line["readUncommitted"]
    t.eq(sorted(r["value"] for r in ru), sorted(committed + aborted),
         "readUncommitted:true: the committed and the aborted records")
    t.eq(duplicates(ru), [], "readUncommitted:true: each record once")
    offs = line["offsets"]
    none = {"0": -1, "1": -1}
    t.eq(offs["afterAbort"], none, "sendOffsets in an aborted transaction: no offsets committed")
    t.eq(offs["afterCommit"], {"0": 7, "1": 8},
         "sendOffsets in a committed transaction: the group's offsets are committed")
    t.eq(offs["afterSecondAbort"], {"0": 7, "1": 8},
         "sendOffsets in a later aborted transaction: the committed offsets stay")


def check_platformatic(t, line):
    committed, aborted = line["committed"], line["aborted"]
    t.eq((len(committed), len(aborted)), (16, 8),
         "@platformatic/kafka commits two transactions and aborts one")
    rc = line["readCommitted"]
    t.eq(sorted(r["value"] for r in rc), sorted(committed),
         "READ_COMMITTED: every committed record, no aborted one")
    t.eq(duplicates(rc), [], "READ_COMMITTED: each record once")
    ru = line["readUncommitted"]
    t.eq(sorted(r["value"] for r in ru), sorted(committed + aborted),
         "READ_UNCOMMITTED: the committed and the aborted records")
    t.eq(duplicates(ru), [], "READ_UNCOMMITTED: each record once")
    want = {p: off + 1 for p, off in line["lastRead"].items()}
    t.eq(sorted(want), ["0", "1"], "the group's consumer read both partitions")
    t.eq(line["offsets"]["afterAbort"], {},
         "addOffset in an aborted transaction: no offsets committed")
    t.eq(line["offsets"]["afterCommit"], want,
         "addOffset in a committed transaction: the group's offsets are committed")


def main():
    t = Tap("transactions with kafkajs 2.2.4")
    err = ensure_node_modules()
    if not t.ok(err is None, "kafkajs is installed (npm ci)", err):
        t.done()
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 2)
        create_topic(b.bootstrap, PKT_TOPIC, 2)
        time.sleep(1)  # Kafka: the new partitions' logs are online shortly after their metadata
        line, why = run_js("txn.js", b.bootstrap, TOPIC, GROUP)
        if t.ok(line is not None and line.get("ok"), "txn.js runs to the end",
                why or (line or {}).get("error")):
            t.run(check, line, desc="what kafkajs read and committed")
        missing = missing_versions(b.bootstrap, PKT_NEEDS)
        err = ensure_node_modules("@platformatic/kafka")
        if missing:
            t.skip("@platformatic/kafka transactions",
                   "the broker does not serve the versions it sends: " + ", ".join(missing))
        elif t.ok(err is None, "@platformatic/kafka is installed (npm ci)", err):
            line, why = run_js("txn-platformatic.mjs", b.bootstrap, PKT_TOPIC, PKT_GROUP)
            if t.ok(line is not None and line.get("ok"), "txn-platformatic.mjs runs to the end",
                    why or (line or {}).get("error")):
                t.run(check_platformatic, line, desc="what @platformatic/kafka read and committed")
    t.done()


if __name__ == "__main__":
    main()
