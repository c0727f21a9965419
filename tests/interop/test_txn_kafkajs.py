#!/usr/bin/python3
"""Transactions with kafkajs (2.2.4), as Kafka 3.9 serves them.

tests/interop/js/txn.js runs a kafkajs transactional producer through five
transactions (commit, abort, commit, abort, commit) over two partitions, then
reads the topic with a kafkajs consumer with readUncommitted:false and one
with readUncommitted:true, then sends a group's offsets in transactions
(aborted, committed, aborted) and reads the group's committed offsets after
each. Checked here:

- read_committed reads every committed record once and no aborted one;
- read_uncommitted reads every record, committed and aborted, once;
- sendOffsets commits the group's offsets only with a committed transaction.

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
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from test_kafkajs import JS_DIR, ensure_node_modules  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "txn-kafkajs"
GROUP = "kjs-txn-group"
SETTINGS = {"num.partitions": 1, "transaction.state.log.num.partitions": 5,
            "offsets.topic.num.partitions": 5}


def run_js(bootstrap):
    """txn.js's JSON line, or None and why not."""
    res = subprocess.run(["node", "txn.js", bootstrap, TOPIC, GROUP], cwd=JS_DIR,
                         capture_output=True, text=True, timeout=150,
                         stdin=subprocess.DEVNULL)
    for ln in res.stdout.splitlines():
        try:
            return json.loads(ln), None
        except ValueError:
            pass
    return None, f"exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"


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


def main():
    t = Tap("transactions with kafkajs 2.2.4")
    err = ensure_node_modules()
    if not t.ok(err is None, "kafkajs is installed (npm ci)", err):
        t.done()
    with Broker(SETTINGS) as b:
        create_topic(b.bootstrap, TOPIC, 2)
        time.sleep(1)  # Kafka: the new partitions' logs are online shortly after their metadata
        line, why = run_js(b.bootstrap)
        if t.ok(line is not None and line.get("ok"), "txn.js runs to the end",
                why or (line or {}).get("error")):
            t.run(check, line, desc="what kafkajs read and committed")
    t.done()


if __name__ == "__main__":
    main()
