#!/usr/bin/python3
"""The runnel command-line tools against a live broker.

- topic create (partitions, configs), list, describe, alter (configs, grow
  partitions) and delete, in table and --json form;
- produce lines with keys and headers, consume them back as value, kv and
  JSON lines, from the beginning, an offset and a timestamp, with --count;
- group list, describe (members, committed offsets, lag), reset-offsets (dry
  run and --execute, each target) and delete;
- cluster describe;
- bench produce, consume and e2e print their summaries (fields only, never
  timings);
- error paths: unknown topic, an unreachable broker (a closed port, bounded
  by --timeout-ms), bad arguments: messages and exit codes (1 and 2).

The group checks are skipped (TAP # SKIP) only when the broker does not
advertise FindCoordinator or JoinGroup in ApiVersions.

CLI_TESTS=usage,errors,topics,produce_consume,cluster,groups,bench runs only
those parts. RUNNEL_BIN picks the runnel binary (the tools run from it whatever
RUNNEL_TEST_TARGET says the broker is).
"""

import json
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import broker as broker_lib  # noqa: E402
from broker import Broker, node_ids, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402
from topics import wait_listed  # noqa: E402

CLI_TIMEOUT_S = 60
SETTLE_S = 10  # for a change made through one broker to show in another's answers
RF = replication_factor()  # what `topic create` gives (default.replication.factor)
API_FIND_COORDINATOR = 10
API_JOIN_GROUP = 11


def cli(*args, input=None, timeout=CLI_TIMEOUT_S):
    """Runs `runnel ARGS`; returns (exit code, stdout, stderr) as text."""
    r = subprocess.run([broker_lib.runnel_bin(), *args], input=input, capture_output=True,
                       timeout=timeout, text=True)
    return r.returncode, r.stdout, r.stderr


def cli_json(t, desc, *args, input=None):
    """Runs a tool with --json; one test point for exit 0 and valid JSON."""
    rc, out, err = cli(*args, "--json", input=input)
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    t.ok(rc == 0 and doc is not None, f"{desc}: exit 0 and JSON", f"rc={rc}\n{out}\n{err}")
    return doc


def settle_describe(b, topic, done):
    """Asks `topic describe --json` of each broker in turn until done(the
    topic's entry) holds there, up to SETTLE_S in all: a change made through
    one broker reaches the others (in a cluster) in their own time, as in
    Kafka, and a tool asks any of them. No test point."""
    deadline = time.monotonic() + SETTLE_S
    for addr in b.addrs.values():
        while time.monotonic() < deadline:
            rc, out, _ = cli("topic", "describe", topic, "--json", "-b", addr)
            try:
                if rc == 0 and done(json.loads(out)["topics"][0]):
                    break
            except (ValueError, KeyError, IndexError, TypeError):
                pass
            time.sleep(0.2)


def configs_of(entry):
    return {c["name"]: c["value"] for c in (entry.get("configs") or [])}


def advertised_apis(addr):
    """API keys the broker advertises in ApiVersions v0."""
    body = broker_lib.kafka_request(addr, 18, 0, b"")
    err, count = struct.unpack(">hi", body[:6])
    keys = set()
    for i in range(count):
        key, _lo, _hi = struct.unpack(">hhh", body[6 + 6 * i: 12 + 6 * i])
        keys.add(key)
    return keys


# -- usage and help: no broker needed ----------------------------------------

def test_usage(t):
    rc, out, _ = cli("--help")
    t.ok(rc == 0 and "topic" in out and "bench" in out and "server" in out,
         "runnel --help lists the tools, exit 0", out)
    meanings = {}  # short option -> {long option: [tools]}
    for tool in (["topic", "create"], ["topic", "list"], ["topic", "describe"],
                 ["topic", "alter"], ["topic", "delete"], ["produce"], ["consume"],
                 ["group", "list"], ["group", "describe"], ["group", "reset-offsets"],
                 ["group", "delete"], ["cluster", "describe"], ["bench", "produce"],
                 ["bench", "consume"], ["bench", "e2e"]):
        rc, out, _ = cli(*tool, "--help")
        t.ok(rc == 0 and out.startswith("usage: runnel " + " ".join(tool)) and "--bootstrap" in out,
             f"runnel {' '.join(tool)} --help: usage on stdout, exit 0", out)
        for short, long in re.findall(r"^\s+-(\w), --([\w-]+)", out, re.M):
            # -p is "partitions": the one to use, or how many (as rpk and kcat)
            long = "partitions" if long == "partition" else long
            meanings.setdefault(short, {}).setdefault(long, []).append(" ".join(tool))
    clashes = {s: m for s, m in meanings.items() if len(m) > 1}
    t.ok(not clashes, "each short option means one thing in every tool", f"{clashes}")
    bad = [
        (["frobnicate"], "unknown command"),
        (["topic"], "missing command"),
        (["topic", "frob"], "unknown command"),
        (["topic", "create"], "missing TOPIC"),
        (["topic", "create", "x", "--partitions", "abc"], "not an integer"),
        (["topic", "create", "x", "--partitions", "0"], "--partitions"),
        (["topic", "create", "x", "--config", "novalue"], "KEY=VALUE"),
        (["topic", "alter", "x"], "nothing to change"),
        (["produce", "x", "--acks", "2"], "--acks"),
        (["produce", "x", "--compression", "brotli"], "--compression"),
        (["consume", "x", "--format", "xml"], "--format"),
        (["consume", "x", "--offset", "soon"], "--offset"),
        (["consume", "x", "--timestamp", "yesterday"], "--timestamp"),
        (["consume", "x", "--group", "g", "--offset", "3"], "--group"),
        (["consume", "x", "--no-such-flag"], "unknown option"),
        (["group", "reset-offsets", "g", "--topic", "x"], "--to-"),
        (["group", "reset-offsets", "g", "--to-earliest", "--to-latest", "--topic", "x"], "one of"),
        (["bench", "produce", "--size", "-1", "--topic", "x"], "--size"),
        (["bench", "produce", "--keys", "zipf", "--topic", "x"], "--keys"),
        (["cluster", "describe", "--timeout-ms", "0"], "--timeout-ms"),
        (["topic", "list", "-X", "no.such.property=1"], "no.such.property"),
    ]
    for args, needle in bad:
        rc, out, err = cli(*args)
        t.ok(rc == 2 and needle in err and out == "",
             f"runnel {' '.join(args)}: exit 2 with '{needle}' on stderr", f"rc={rc}\n{err}")


# -- errors against a broker --------------------------------------------------

def test_errors(t, b):
    bs = ["-b", b.bootstrap]
    for args in (["topic", "describe", "no-such-topic"], ["consume", "no-such-topic", "-e"],
                 ["topic", "alter", "no-such-topic", "--partitions", "4"]):
        rc, out, err = cli(*args, *bs)
        t.ok(rc == 1 and "unknown topic 'no-such-topic'" in err,
             f"runnel {args[0]} {args[1]}: unknown topic is exit 1 with a clear message",
             f"rc={rc}\n{out}\n{err}")
    rc, out, err = cli("produce", "no-such-topic", *bs, input="x\n")
    t.ok(rc == 1 and "unknown topic 'no-such-topic'" in err,
         "produce to an unknown topic: exit 1, unknown topic", f"rc={rc}\n{err}")

    closed = f"127.0.0.1:{broker_lib.free_port()}"
    for args in (["topic", "list"], ["topic", "create", "x"], ["cluster", "describe"],
                 ["consume", "x"], ["group", "list"], ["bench", "produce", "-t", "x"]):
        t0 = time.monotonic()
        rc, out, err = cli(*args, "-b", closed, "--timeout-ms", "1500", input="")
        secs = time.monotonic() - t0
        t.ok(rc == 1 and closed in err and ("cannot reach" in err or "no answer" in err)
             and secs < 15,
             f"runnel {' '.join(args)} against a closed port: exit 1 in {secs:.1f}s, says so",
             f"rc={rc}\n{out}\n{err}")


# -- topics ---------------------------------------------------------------------

def test_topics(t, b):
    bs = ["-b", b.bootstrap]
    rc, out, err = cli("topic", "create", "cli-orders", "-p", "3", "-c", "retention.ms=3600000", *bs)
    t.ok(rc == 0 and "created topic cli-orders" in out, "topic create: exit 0, says created",
         f"rc={rc}\n{out}\n{err}")
    rc, out, err = cli("topic", "create", "cli-orders", *bs)
    t.ok(rc == 1 and "already exists" in err, "topic create again: exit 1, already exists", err)
    rc, out, err = cli("topic", "create", "cli-orders", "--if-not-exists", *bs)
    t.ok(rc == 0, "topic create --if-not-exists on an existing topic: exit 0", err)
    doc = cli_json(t, "topic create --json", "topic", "create", "cli-json", "-p", "1", *bs)
    t.eq(doc and doc["topics"], [{"name": "cli-json", "ok": True, "error": None, "message": None}],
         "topic create --json reports the topic")

    rc, out, err = cli("topic", "list", *bs)
    rows = [ln.split() for ln in out.splitlines()]
    t.ok(rc == 0 and rows and rows[0] == ["TOPIC", "PARTITIONS", "REPLICATION"]
         and ["cli-orders", "3", str(RF)] in rows, f"topic list: a table with cli-orders 3 {RF}",
         out)
    doc = cli_json(t, "topic list --json", "topic", "list", *bs)
    got = {x["name"]: x for x in (doc or {}).get("topics", [])}
    t.eq(got.get("cli-orders"), {"name": "cli-orders", "partitions": 3, "replication_factor": RF},
         "topic list --json has cli-orders")

    rc, out, err = cli("topic", "describe", "cli-orders", *bs)
    t.ok(rc == 0 and f"TOPIC cli-orders  PARTITIONS 3  REPLICATION {RF}" in out
         and ["PARTITION", "LEADER", "REPLICAS", "ISR", "LOW", "HIGH"] in
         [ln.split() for ln in out.splitlines()],
         "topic describe: header and partition table", f"{out}\n{err}")
    doc = cli_json(t, "topic describe --json", "topic", "describe", "cli-orders", *bs)
    top = doc["topics"][0] if doc else {}
    t.ok(top.get("partition_count") == 3 and [p["partition"] for p in top["partitions"]] == [0, 1, 2]
         and all(p["low"] == 0 and p["high"] == 0 and p["leader"] in node_ids() and
                 sorted(p["isr"]) == node_ids() for p in top["partitions"]),
         "topic describe --json: 3 empty partitions with leader and ISR", doc)
    configs = {c["name"]: c["value"] for c in (top.get("configs") or [])}
    t.eq(configs.get("retention.ms"), "3600000", "topic describe shows retention.ms set at create")

    rc, out, err = cli("topic", "alter", "cli-orders", "-c", "retention.ms=7200000",
                       "-c", "cleanup.policy=delete", *bs)
    t.ok(rc == 0 and "set retention.ms=7200000" in out, "topic alter --config: exit 0",
         f"rc={rc}\n{out}\n{err}")
    settle_describe(b, "cli-orders", lambda x: (configs_of(x).get("retention.ms"),
                                                configs_of(x).get("cleanup.policy")) ==
                    ("7200000", "delete"))
    doc = cli_json(t, "describe after alter", "topic", "describe", "cli-orders", *bs)
    configs = {c["name"]: c["value"] for c in ((doc or {"topics": [{}]})["topics"][0].get("configs") or [])}
    t.ok(configs.get("retention.ms") == "7200000" and configs.get("cleanup.policy") == "delete",
         "alter set both configs", configs)
    rc, out, err = cli("topic", "alter", "cli-orders", "--delete-config", "cleanup.policy", *bs)
    settle_describe(b, "cli-orders", lambda x: "cleanup.policy" not in configs_of(x))
    doc = cli_json(t, "describe after delete-config", "topic", "describe", "cli-orders", *bs)
    configs = {c["name"]: c["value"] for c in ((doc or {"topics": [{}]})["topics"][0].get("configs") or [])}
    t.ok(rc == 0 and "cleanup.policy" not in configs and configs.get("retention.ms") == "7200000",
         "alter --delete-config removes one config and keeps the other", f"{err}\n{configs}")

    rc, out, err = cli("topic", "alter", "cli-orders", "--partitions", "5", *bs)
    t.ok(rc == 0 and "now has 5 partitions" in out, "topic alter --partitions 5: exit 0",
         f"rc={rc}\n{out}\n{err}")
    settle_describe(b, "cli-orders", lambda x: x["partition_count"] == 5)
    doc = cli_json(t, "describe after grow", "topic", "describe", "cli-orders", *bs)
    t.eq(doc and doc["topics"][0]["partition_count"], 5, "the topic now has 5 partitions")
    rc, out, err = cli("topic", "alter", "cli-orders", "--partitions", "2", *bs)
    t.ok(rc == 1 and err, "topic alter to fewer partitions: exit 1 with the broker's reason", err)

    rc, out, err = cli("topic", "delete", "cli-orders", "cli-json", *bs)
    t.ok(rc == 0 and "deleted topic cli-orders" in out, "topic delete: exit 0",
         f"rc={rc}\n{out}\n{err}")
    gone = False
    for _ in range(50):
        rc, out, err = cli("topic", "list", *bs)
        if "cli-orders" not in out:
            gone = True
            break
        time.sleep(0.2)
    t.ok(gone, "the deleted topic leaves the list", out)
    rc, out, err = cli("topic", "delete", "cli-orders", *bs)
    t.ok(rc == 1 and "unknown topic" in err, "delete an absent topic: exit 1, unknown topic", err)
    rc, out, err = cli("topic", "delete", "cli-orders", "--if-exists", *bs)
    t.ok(rc == 0, "delete --if-exists an absent topic: exit 0", err)


# -- produce and consume --------------------------------------------------------

LINES = [f"k{i % 3}:value {i} \u00e9t\u00e9 \"q\"" for i in range(12)]


def test_produce_consume(t, b):
    bs = ["-b", b.bootstrap]
    cli("topic", "create", "cli-pc", "-p", "1", *bs)
    t0_ms = int(time.time() * 1000) - 1000
    rc, out, err = cli("produce", "cli-pc", "-k", ":", "-H", "source=cli", "-H", "n=1",
                       "--acks", "all", "-z", "lz4", *bs, input="\n".join(LINES[:6]) + "\n")
    t.ok(rc == 0 and "6 records delivered" in err, "produce 6 keyed lines: exit 0",
         f"rc={rc}\n{err}")
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"cli-lines-{os.getpid()}.txt")
    with open(path, "w") as f:
        f.write("\n".join(LINES[6:]) + "\n")
    doc = cli_json(t, "produce --file --json", "produce", "--topic", "cli-pc", "--file", path,
                   "-k", ":", "-H", "source=cli", "-H", "n=1", "-z", "zstd", *bs)
    os.unlink(path)
    t.eq(doc, {"topic": "cli-pc", "records": 6, "failed": 0}, "produce --file --json summary")

    rc, out, err = cli("consume", "cli-pc", "--from-beginning", "-e", *bs)
    want_values = [ln.split(":", 1)[1] for ln in LINES]
    t.eq(out.splitlines(), want_values, "consume --format value: every value, in order")
    t.ok(rc == 0 and "12 records" in err, "consume -e exits 0 at the end", err)

    rc, out, err = cli("consume", "cli-pc", "-B", "-e", "--format", "kv", "-k", "=", *bs)
    t.eq(out.splitlines(), [ln.replace(":", "=", 1) for ln in LINES], "consume --format kv")

    rc, out, err = cli("consume", "cli-pc", "-B", "-e", "--format", "json", *bs)
    recs = [json.loads(ln) for ln in out.splitlines()]
    t.eq([(r["topic"], r["partition"], r["offset"], r["key"], r["value"]) for r in recs],
         [("cli-pc", 0, i, ln.split(":")[0], ln.split(":", 1)[1]) for i, ln in enumerate(LINES)],
         "consume --format json: topic, partition, offset, key, value")
    t.ok(all(r["headers"] == [{"key": "source", "value": "cli"}, {"key": "n", "value": "1"}]
             for r in recs), "json lines carry the headers in order", recs[:1])
    t.ok(all(abs(r["timestamp"] - t0_ms) < 120000 for r in recs),
         "json lines carry the produce timestamp", recs[:1])
    rc, out2, err = cli("consume", "cli-pc", "-B", "-e", "--json", *bs)
    t.eq(out2, out, "consume --json is --format json")

    rc, out, err = cli("consume", "cli-pc", "--offset", "10", "-e", *bs)
    t.eq(out.splitlines(), want_values[10:], "consume --offset 10")
    rc, out, err = cli("consume", "cli-pc", "--offset", "-3", "-e", *bs)
    t.eq(out.splitlines(), want_values[9:], "consume --offset -3: the last three")
    rc, out, err = cli("consume", "cli-pc", "-B", "--count", "4", *bs)
    t.ok(rc == 0 and out.splitlines() == want_values[:4], "consume --count 4 stops after four",
         f"rc={rc}\n{out}\n{err}")
    rc, out, err = cli("consume", "cli-pc", "-B", "-n", "2", *bs)
    t.ok(rc == 0 and out.splitlines() == want_values[:2], "consume -n 2 (as bench's -n)",
         f"rc={rc}\n{out}\n{err}")
    rc, out, err = cli("consume", "cli-pc", "--timestamp", str(t0_ms), "-e", *bs)
    t.eq(out.splitlines(), want_values, "consume --timestamp before the first record: all")
    rc, out, err = cli("consume", "cli-pc", "--timestamp", "2999-01-01T00:00:00Z", "-e", *bs)
    t.ok(rc == 0 and out == "", "consume --timestamp in the future: nothing, exit 0", err)
    rc, out, err = cli("consume", "cli-pc", "-e", *bs)
    t.ok(rc == 0 and out == "", "consume without a start reads only new records", out)
    rc, out, err = cli("consume", "cli-pc", "-p", "3", "-e", *bs)
    t.ok(rc == 1 and "no partition 3" in err, "consume -p 3 of a 1-partition topic: exit 1", err)

    # Spread over partitions with the partitioner, then one partition exactly.
    cli("topic", "create", "cli-pc3", "-p", "3", *bs)
    keyed = "".join(f"key{i}:v{i}\n" for i in range(30))
    rc, out, err = cli("produce", "cli-pc3", "-k", ":", *bs, input=keyed)
    rc2, out2, err2 = cli("produce", "cli-pc3", "-p", "2", *bs, input="only-p2\n")
    rc3, out3, err3 = cli("consume", "cli-pc3", "-B", "-e", "--json", *bs)
    recs = [json.loads(ln) for ln in out3.splitlines()]
    t.ok(rc == 0 and rc2 == 0 and len(recs) == 31 and len({r["partition"] for r in recs}) > 1,
         "keyed records spread over partitions; all 31 read back", f"{err}{err2}{err3}")
    t.ok(any(r["value"] == "only-p2" and r["partition"] == 2 for r in recs),
         "produce --partition 2 lands in partition 2", recs[-3:])
    rc, out, err = cli("consume", "cli-pc3", "-p", "2", "-B", "-e", *bs)
    t.ok(rc == 0 and "only-p2" in out.splitlines(), "consume --partition 2", out)


# -- cluster ----------------------------------------------------------------------

def test_cluster(t, b):
    rc, out, err = cli("cluster", "describe", "-b", b.bootstrap)
    ports = [addr.rsplit(":", 1)[1] for _, addr in sorted(b.addrs.items())]
    t.ok(rc == 0 and "CLUSTER " in out and "127.0.0.1" in out and all(p in out for p in ports),
         "cluster describe: id and every broker's address", f"{out}\n{err}")
    doc = cli_json(t, "cluster describe --json", "cluster", "describe", "-b", b.bootstrap)
    # fenced: false from a broker that answers DescribeCluster v2 (Runnel),
    # null where only Metadata tells (Kafka 3.9)
    want = [[{"id": node, "host": "127.0.0.1", "port": int(addr.rsplit(":", 1)[1]),
              "rack": None, "fenced": fenced} for node, addr in sorted(b.addrs.items())]
            for fenced in (False, None)]
    t.ok(doc and doc["cluster_id"] and doc["controller"] in node_ids() and
         sorted(doc["brokers"], key=lambda x: x["id"]) in want,
         f"cluster describe --json: cluster id, a controller among {node_ids()}, "
         f"{len(node_ids())} unfenced broker(s)", doc)


# -- groups -------------------------------------------------------------------------

def group_offsets(t, b, group):
    doc = cli_json(t, f"group describe {group} --json", "group", "describe", group,
                   "-b", b.bootstrap)
    return {(p["topic"], p["partition"]): p for p in (doc or {}).get("partitions", [])}, doc


def test_groups(t, b):
    keys = advertised_apis(b.bootstrap.split(",")[0])
    if API_FIND_COORDINATOR not in keys or API_JOIN_GROUP not in keys:
        reason = "broker answers FindCoordinator/JoinGroup with UNSUPPORTED (not advertised)"
        for desc in ("group list", "group describe: members, committed, end, lag",
                     "group reset-offsets: dry run and --execute for each target",
                     "group delete"):
            t.skip(desc, reason)
        return
    bs = ["-b", b.bootstrap]
    cli("topic", "create", "cli-grp", "-p", "2", *bs)
    # Known to every broker before a group uses it: a group leader assigns
    # from one broker's Metadata, and librdkafka assigns no partition of a
    # topic that broker does not know yet (a cluster's brokers learn of a
    # new topic each in its own time, as Kafka's do).
    wait_listed(b.bootstrap, "cli-grp", 2)
    cli("produce", "cli-grp", "-p", "0", *bs, input="".join(f"a{i}\n" for i in range(10)))
    cli("produce", "cli-grp", "-p", "1", *bs, input="".join(f"b{i}\n" for i in range(6)))
    rc, out, err = cli("consume", "cli-grp", "--group", "cli-g1", "-B", "--count", "16", *bs)
    t.ok(rc == 0 and len(out.splitlines()) == 16, "consume --group reads all 16 records",
         f"rc={rc}\n{err}")
    rc, out, err = cli("group", "list", *bs)
    t.ok(rc == 0 and "cli-g1" in out and out.startswith("GROUP"), "group list shows cli-g1", out)
    doc = cli_json(t, "group list --json", "group", "list", *bs)
    t.ok(doc and any(g["group"] == "cli-g1" for g in doc["groups"]),
         "group list --json has cli-g1", doc)

    parts, doc = group_offsets(t, b, "cli-g1")
    t.ok(parts.get(("cli-grp", 0), {}).get("committed") == 10 and
         parts.get(("cli-grp", 1), {}).get("committed") == 6 and doc["total_lag"] == 0,
         "group describe: committed at the end, no lag", doc)

    # A backlog of 4 + 2 records, and a live member while describing.
    cli("produce", "cli-grp", "-p", "0", *bs, input="x\nx\nx\nx\n")
    cli("produce", "cli-grp", "-p", "1", *bs, input="y\ny\n")
    parts, doc = group_offsets(t, b, "cli-g1")
    t.ok(parts[("cli-grp", 0)]["end"] == 14 and parts[("cli-grp", 0)]["lag"] == 4 and
         parts[("cli-grp", 1)]["lag"] == 2 and doc["total_lag"] == 6,
         "group describe: end offsets and lag per partition and total", doc)
    rc, out, err = cli("group", "describe", "cli-g1", *bs)
    t.ok(rc == 0 and "TOTAL LAG 6" in out and "LAG" in out, "group describe table shows lag",
         out)

    member = subprocess.Popen([broker_lib.runnel_bin(), "consume", "cli-grp", "-g", "cli-g2",
                               "-B", *bs], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        doc = None
        for _ in range(100):
            rc, out, err = cli("group", "describe", "cli-g2", "--json", *bs)
            doc = json.loads(out) if rc == 0 else None
            if doc and doc["state"] == "Stable" and doc["members"]:
                break
            time.sleep(0.2)
        m = doc["members"][0] if doc and doc["members"] else {}
        t.ok(m.get("client_id") == "runnel-cli" and
             sorted((a["topic"], a["partition"]) for a in m.get("assignments", [])) ==
             [("cli-grp", 0), ("cli-grp", 1)],
             "group describe: a live member with both partitions assigned", doc)
        rc, out, err = cli("group", "reset-offsets", "cli-g2", "--topic", "cli-grp",
                           "--to-earliest", "--execute", *bs)
        t.ok(rc == 1 and "not empty" in err, "reset-offsets of an active group: exit 1", err)
    finally:
        member.terminate()
        member.wait(30)

    check_reset(t, b)

    rc, out, err = cli("group", "delete", "cli-g1", "cli-g2", *bs)
    t.ok(rc == 0 and "deleted group cli-g1" in out, "group delete: exit 0", f"{out}\n{err}")
    rc, out, err = cli("group", "describe", "cli-g1", *bs)
    rc2, out2, _ = cli("group", "list", *bs)
    t.ok("cli-g1" not in out2, "the deleted group leaves the list", out2)
    rc, out, err = cli("group", "delete", "cli-g1", *bs)
    t.ok(rc == 1 and "cli-g1" in err, "delete an absent group: exit 1", err)


def check_reset(t, b):
    bs = ["-b", b.bootstrap]

    def reset(*args):
        return cli("group", "reset-offsets", "cli-g1", "--topic", "cli-grp", *args, *bs)

    rc, out, err = reset("--to-earliest")
    parts, _ = group_offsets(t, b, "cli-g1")
    t.ok(rc == 0 and "dry run" in out and parts[("cli-grp", 0)]["committed"] == 10,
         "reset-offsets without --execute changes nothing", f"{out}\n{err}")
    doc = cli_json(t, "reset-offsets --to-earliest --json (dry run)", "group", "reset-offsets",
                   "cli-g1", "--topic", "cli-grp", "--to-earliest", *bs)
    t.ok(doc and doc["executed"] is False and
         {(p["partition"], p["current"], p["new"]) for p in doc["partitions"]} ==
         {(0, 10, 0), (1, 6, 0)}, "dry run lists current and new offsets", doc)

    cases = [
        (["--to-earliest"], {0: 0, 1: 0}),
        (["--to-offset", "3"], {0: 3, 1: 3}),
        (["--shift-by", "2"], {0: 5, 1: 5}),
        (["--shift-by", "-100"], {0: 0, 1: 0}),
        (["--to-latest"], {0: 14, 1: 8}),
        (["--to-offset", "1000"], {0: 14, 1: 8}),
        (["--to-datetime", "1970-01-02T00:00:00Z"], {0: 0, 1: 0}),
        (["--to-datetime", "2999-01-01T00:00:00.000+01:00"], {0: 14, 1: 8}),
    ]
    for args, want in cases:
        rc, out, err = reset(*args, "--execute")
        parts, _ = group_offsets(t, b, "cli-g1")
        got = {p: parts.get(("cli-grp", p), {}).get("committed") for p in (0, 1)}
        t.ok(rc == 0 and got == want, f"reset-offsets {' '.join(args)} --execute -> {want}",
             f"rc={rc} got {got}\n{out}\n{err}")
    rc, out, err = cli("group", "reset-offsets", "cli-g1", "--topic", "cli-grp:1",
                       "--to-offset", "2", "--execute", *bs)
    parts, _ = group_offsets(t, b, "cli-g1")
    t.ok(rc == 0 and parts[("cli-grp", 1)]["committed"] == 2 and
         parts[("cli-grp", 0)]["committed"] == 14, "reset-offsets --topic T:1 resets one partition",
         f"{out}\n{err}")
    rc, out, err = cli("consume", "cli-grp", "-g", "cli-g1", "--count", "6", *bs)
    t.eq(out.splitlines(), ["b2", "b3", "b4", "b5", "y", "y"],
         "a consumer of the group resumes from the reset offset")


# -- bench ----------------------------------------------------------------------------

BENCH_FIELDS = ("records", "bytes", "seconds", "records_per_sec", "mb_per_sec", "latency_ms")


def test_bench(t, b):
    bs = ["-b", b.bootstrap]
    doc = cli_json(t, "bench produce", "bench", "produce", "-t", "cli-bench", "--count", "3000",
                   "--size", "200", "--partitions", "2", "--keys", "seq", "--producers", "2",
                   "--acks", "1", "--compression", "lz4", *bs)
    t.ok(doc and all(k in doc for k in BENCH_FIELDS) and doc["records"] == 3000 and
         doc["failed"] == 0 and all(k in doc["latency_ms"] for k in ("p50", "p99", "p999", "max")),
         "bench produce --json: records, throughput and latency percentiles", doc)
    rc, out, err = cli("topic", "describe", "cli-bench", "--json", *bs)
    t.ok(rc == 0 and json.loads(out)["topics"][0]["partition_count"] == 2,
         "bench produce created the topic with 2 partitions", out)
    rc, out, err = cli("bench", "produce", "-t", "cli-bench", "--count", "1000", "--size", "100",
                       "--rate", "5000", "--keys", "random", *bs)
    t.ok(rc == 0 and all(w in out for w in ("records/s", "MB/s", "p50", "p99", "p99.9", "max")),
         "bench produce: a readable summary with p50, p99, p99.9 and max", f"{out}\n{err}")
    doc = cli_json(t, "bench consume", "bench", "consume", "-t", "cli-bench", "--count", "4000", *bs)
    t.ok(doc and doc["records"] == 4000 and doc["bytes"] == 3000 * 200 + 1000 * 100 and
         all(k in doc for k in BENCH_FIELDS), "bench consume --json reads every record", doc)
    doc = cli_json(t, "bench e2e", "bench", "e2e", "-t", "cli-bench-e2e", "--count", "500",
                   "--size", "64", *bs)
    t.ok(doc and doc["records"] == 500 and doc["latency_ms"]["max"] >= doc["latency_ms"]["p50"] >= 0,
         "bench e2e --json: every record back, end-to-end latency percentiles", doc)
    rc, out, err = cli("bench", "produce", "-t", "cli-bench", "--duration", "2", "--size", "50",
                       "--rate", "2000", *bs)
    t.ok(rc == 0 and "records/s" in err and "records/s" in out,
         "bench produce --duration 2: progress lines on stderr, summary on stdout",
         f"{out}\n{err}")


def main():
    only = set(filter(None, os.environ.get("CLI_TESTS", "").split(",")))
    t = Tap("runnel CLI against " + broker_lib.target())
    if not only or "usage" in only:
        t.run(test_usage)
    with Broker({"num.partitions": 1}) as b:
        for name, fn in (("errors", test_errors), ("topics", test_topics),
                         ("produce_consume", test_produce_consume), ("cluster", test_cluster),
                         ("groups", test_groups), ("bench", test_bench)):
            if not only or name in only:
                t.run(fn, b)
    t.done()


if __name__ == "__main__":
    main()
