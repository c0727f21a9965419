#!/usr/bin/python3
"""Apache Kafka's own command-line tools (3.9) work unchanged against the broker.

- kafka-topics --create (with --config; a replica on every broker of the
  target), a second --create of the same topic fails with "already exists",
  --create --if-not-exists passes, --list, --describe (partition count,
  replication factor, configs, a leader, the replicas and the ISR per
  partition), --describe of a missing topic fails, --alter --partitions,
  --delete (the topic leaves --list).
- kafka-console-producer with parse.key sends keyed lines; confluent-kafka
  reads them back (all present once, in order per partition).
- kafka-console-consumer with --partition and --offset (a number and
  earliest) and --max-messages prints exactly the records at those offsets,
  with keys, offsets and partitions.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, node_ids, replication_factor  # noqa: E402
from kafka_tools import console_consumer, console_producer, run_tool, topics  # noqa: E402
from tap import Tap  # noqa: E402
from topics import wait_listed  # noqa: E402

TOPIC = "tools-main"
OTHER = "tools-other"
PARTITIONS = 3
LINES = 60
RF = replication_factor()


def out(r):
    return f"exit {r.returncode}\nstdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}"


def describe_lines(stdout, topic):
    """(topic summary line, [partition lines]) of kafka-topics --describe."""
    lines = [ln.strip() for ln in stdout.splitlines() if ln.strip()]
    head = next((ln for ln in lines if ln.startswith(f"Topic: {topic}\t")
                 and "PartitionCount:" in ln), "")
    parts = [ln for ln in lines if ln.startswith(f"Topic: {topic}\t") and "Partition:" in ln
             and "PartitionCount:" not in ln]
    return head, parts


def fields(line):
    """'A: x<TAB>B: y' -> {'A': 'x', 'B': 'y'}."""
    res = {}
    for part in line.split("\t"):
        if ":" in part:
            k, v = part.split(":", 1)
            res[k.strip()] = v.strip()
    return res


def test_topics(t, b):
    r = topics(b.bootstrap, "--create", "--topic", TOPIC, "--partitions", str(PARTITIONS),
               "--replication-factor", str(RF), "--config", "retention.ms=3600000")
    t.ok(r.returncode == 0 and f"Created topic {TOPIC}." in r.stdout,
         "kafka-topics --create (3 partitions, retention.ms config)", out(r))
    r = topics(b.bootstrap, "--create", "--topic", OTHER, "--partitions", "1")
    t.ok(r.returncode == 0, "kafka-topics --create a second topic", out(r))
    # Each broker of a cluster learns of a new topic in its own time, and
    # each tool run may ask any of them.
    wait_listed(b.bootstrap, TOPIC, PARTITIONS)
    wait_listed(b.bootstrap, OTHER, 1)

    r = topics(b.bootstrap, "--create", "--topic", TOPIC, "--partitions", str(PARTITIONS))
    t.ok(r.returncode != 0 and "already exists" in r.stdout + r.stderr,
         "kafka-topics --create of an existing topic fails with 'already exists'", out(r))
    r = topics(b.bootstrap, "--create", "--if-not-exists", "--topic", TOPIC, "--partitions",
               str(PARTITIONS))
    t.ok(r.returncode == 0, "kafka-topics --create --if-not-exists of an existing topic passes",
         out(r))

    r = topics(b.bootstrap, "--list")
    listed = set(r.stdout.split())
    t.ok(r.returncode == 0 and {TOPIC, OTHER} <= listed, "kafka-topics --list shows both topics",
         out(r))

    r = topics(b.bootstrap, "--describe", "--topic", TOPIC)
    head, parts = describe_lines(r.stdout, TOPIC)
    hf = fields(head)
    t.ok(r.returncode == 0 and hf.get("PartitionCount") == str(PARTITIONS)
         and hf.get("ReplicationFactor") == str(RF),
         f"kafka-topics --describe: PartitionCount 3, ReplicationFactor {RF}", out(r))
    t.ok("retention.ms=3600000" in hf.get("Configs", ""),
         "kafka-topics --describe shows the retention.ms set at creation", out(r))
    pf = [fields(p) for p in parts]
    ids = [str(x) for x in node_ids()]

    def members(p, key):
        return sorted(p.get(key, "").split(","))
    t.ok(sorted(p.get("Partition") for p in pf) == [str(i) for i in range(PARTITIONS)]
         and all(p.get("Leader") in ids and members(p, "Replicas") == ids and
                 members(p, "Isr") == ids for p in pf),
         f"kafka-topics --describe: each partition led by one of brokers {','.join(ids)}, "
         f"replicas and isr {','.join(ids)}", out(r))

    r = topics(b.bootstrap, "--describe", "--topic", "tools-missing")
    t.ok(r.returncode != 0 and "does not exist" in r.stdout + r.stderr,
         "kafka-topics --describe of a missing topic fails with 'does not exist'", out(r))


def read_all(bootstrap, topic, partitions, expected):
    """{partition: [(offset, key, value)]} read with confluent-kafka by assign()."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tools-check",
                  "enable.auto.commit": False})
    got = {p: [] for p in range(partitions)}
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + 30
        while sum(map(len, got.values())) < expected and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            got[msg.partition()].append((msg.offset(), msg.key().decode(), msg.value().decode()))
    finally:
        c.close()
    return got


def test_console(t, b):
    lines = [f"key-{i:03d}:value {i} with spaces and = signs" for i in range(LINES)]
    r = console_producer(b.bootstrap, TOPIC, lines, "--property", "parse.key=true",
                         "--property", "key.separator=:")
    t.ok(r.returncode == 0, f"kafka-console-producer sends {LINES} keyed lines", out(r))

    got = read_all(b.bootstrap, TOPIC, PARTITIONS, LINES)
    records = [(k, v) for p in sorted(got) for _, k, v in got[p]]
    want = [tuple(ln.split(":", 1)) for ln in lines]
    t.eq(sorted(records), sorted(want), "every console-producer line is stored once, key and value")
    in_order = all([o for o, _, _ in got[p]] == list(range(len(got[p]))) and
                   [k for _, k, _ in got[p]] == sorted(k for _, k, _ in got[p]) for p in got)
    t.ok(in_order, "per partition, offsets 0..n-1 in the order the lines were sent", got)

    busiest = max(got, key=lambda p: len(got[p]))
    recs = got[busiest]
    n = len(recs)
    props = ["--property", "print.key=true", "--property", "print.offset=true",
             "--property", "print.partition=true"]
    r = console_consumer(b.bootstrap, TOPIC, "--partition", str(busiest), "--offset", "0",
                         *props, max_messages=n)
    want_lines = [f"Partition:{busiest}\tOffset:{o}\t{k}\t{v}" for o, k, v in recs]
    t.eq(r.stdout.splitlines(), want_lines,
         f"kafka-console-consumer --partition {busiest} --offset 0 --max-messages {n} prints "
         "every record of the partition")
    t.ok(r.returncode == 0 and f"Processed a total of {n} messages" in r.stderr,
         "kafka-console-consumer reports the count and exits 0", out(r))

    start, count = 2, min(3, n - 2)
    r = console_consumer(b.bootstrap, TOPIC, "--partition", str(busiest), "--offset", str(start),
                         *props, max_messages=count)
    t.eq(r.stdout.splitlines(), want_lines[start:start + count],
         f"kafka-console-consumer --offset {start} --max-messages {count} starts at offset "
         f"{start}")

    r = console_consumer(b.bootstrap, TOPIC, "--partition", str(busiest), "--offset", "earliest",
                         max_messages=1)
    t.eq(r.stdout.splitlines(), [recs[0][2]],
         "kafka-console-consumer --offset earliest prints the first value")


def test_alter_delete(t, b):
    r = topics(b.bootstrap, "--alter", "--topic", TOPIC, "--partitions", str(PARTITIONS + 1))
    t.ok(r.returncode == 0, "kafka-topics --alter --partitions 4", out(r))
    wait_listed(b.bootstrap, TOPIC, PARTITIONS + 1)
    r = topics(b.bootstrap, "--describe", "--topic", TOPIC)
    head, parts = describe_lines(r.stdout, TOPIC)
    t.ok(fields(head).get("PartitionCount") == str(PARTITIONS + 1) and
         len(parts) == PARTITIONS + 1, "kafka-topics --describe shows 4 partitions", out(r))

    r = topics(b.bootstrap, "--delete", "--topic", OTHER)
    t.ok(r.returncode == 0, "kafka-topics --delete", out(r))
    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    deadline = time.monotonic() + 20
    while OTHER in admin.list_topics(timeout=10).topics and time.monotonic() < deadline:
        time.sleep(0.2)
    r = topics(b.bootstrap, "--list")
    listed = set(r.stdout.split())
    t.ok(r.returncode == 0 and OTHER not in listed and TOPIC in listed,
         "kafka-topics --list no longer shows the deleted topic", out(r))


def test_configs_and_log_dirs(t, b):
    """kafka-configs (IncrementalAlterConfigs, DescribeConfigs) and
    kafka-log-dirs (DescribeLogDirs) on a topic."""
    def configs(*args):
        return run_tool("configs", "--bootstrap-server", b.bootstrap, "--entity-type", "topics",
                        "--entity-name", TOPIC, *args)

    r = configs("--alter", "--add-config", "retention.ms=3600000")
    t.ok(r.returncode == 0, "kafka-configs --alter --add-config retention.ms", out(r))
    deadline = time.monotonic() + 20
    while "retention.ms=3600000" not in configs("--describe").stdout and \
            time.monotonic() < deadline:
        time.sleep(0.5)
    r = configs("--describe")
    t.ok("retention.ms=3600000" in r.stdout, "kafka-configs --describe shows the override", out(r))
    r = configs("--alter", "--add-config", "no.such.setting=1")
    t.ok(r.returncode != 0, "kafka-configs refuses an unknown topic setting", out(r))
    r = configs("--alter", "--delete-config", "retention.ms")
    t.ok(r.returncode == 0, "kafka-configs --alter --delete-config retention.ms", out(r))
    deadline = time.monotonic() + 20
    while "retention.ms=3600000" in configs("--describe").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    r = configs("--describe")
    t.ok(r.returncode == 0 and "retention.ms=3600000" not in r.stdout,
         "kafka-configs --describe no longer shows it", out(r))

    r = run_tool("log-dirs", "--bootstrap-server", b.bootstrap, "--describe",
                 "--topic-list", TOPIC)
    reported = None
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            reported = sorted(p["partition"] for broker in doc["brokers"]
                              for d in broker["logDirs"] for p in d["partitions"])
    want = sorted(f"{TOPIC}-{i}" for i in range(PARTITIONS + 1) for _ in range(RF))
    t.eq(reported, want, "kafka-log-dirs --describe lists every partition of the topic"
                         f" ({RF} replica(s) each)")


def main():
    t = Tap("Kafka's command-line tools")
    with Broker({"num.partitions": 1}) as b:
        for fn in (test_topics, test_console, test_alter_delete, test_configs_and_log_dirs):
            t.run(fn, b)
    t.done()


if __name__ == "__main__":
    main()
