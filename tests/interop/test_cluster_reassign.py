#!/usr/bin/env python3
"""Reassigning partitions with Kafka's own kafka-reassign-partitions.sh, with
and without a replication throttle, on three Runnel nodes.

A topic of two partitions, replication factor 2, on brokers 1 and 2, holding
about 20 MB. `--execute --throttle 2000000` moves both partitions from broker
1 to broker 3 ([1,2] to [3,2], [2,1] to [2,3]):

- while it moves, `--verify` says the reassignment is still in progress and
  DescribeConfigs shows the throttles the tool set (the brokers' rates, the
  topic's throttled replicas);
- the bytes broker 3 has copied after T seconds (its partition directories
  on disk) stay below rate * T plus a burst, and its /metrics count
  throttled bytes and held time;
- once every replica is in sync, `--verify` reports the move complete and
  clears the throttles without an error (IncrementalAlterConfigs on the
  BROKER resources), broker 3 holds every record (consumed from it alone and
  compared), and broker 1's old copy is gone from disk after the delete
  delay (log.segment.delete.delay.ms, the default of file.delete.delay.ms).

The same move without a throttle finishes too; both durations are printed
(a figure, not an assertion). A throttled move cancelled in progress
(`--cancel`) goes back to the old replicas, and the throttles go with it.

Runnel only. Bounded: every wait has a deadline; about 25 s."""

import json
import os
import re
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import settle  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402
from kafka_tools import run_tool  # noqa: E402

REASSIGN = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
RATE = 2000000  # bytes per second
BURST_S = 1.0  # the limiter's burst (RN_REPL_THROTTLE_BURST_MS)
PARTITIONS = 2
RECORD_BYTES = 10000
RECORDS = 2000  # 20 MB over the two partitions
DELETE_DELAY_MS = 1000
SETTINGS = {"log.segment.delete.delay.ms": str(DELETE_DELAY_MS), "auto.create.topics.enable": "false"}
SETTLE_S = 60.0


def partition_dirs(node, topic):
    return [os.path.join(node.data_dir, f"{topic}-{p}") for p in range(PARTITIONS)]


def dir_bytes(path):
    if not os.path.isdir(path):
        return 0
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if f.endswith(".log"))


def copied(node, topic):
    """Log bytes broker `node` holds of topic's partitions."""
    return sum(dir_bytes(d) for d in partition_dirs(node, topic))


def metric(node, name, labels):
    body = urllib.request.urlopen(f"http://127.0.0.1:{node.admin_port}/metrics",
                                  timeout=5).read().decode()
    m = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", body, re.M)
    return float(m.group(1)) if m else None


def fill(bootstrap, topic):
    """RECORDS records of RECORD_BYTES each, spread over the partitions;
    returns their values by (partition, offset)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20,
                  "batch.size": 1000000, "compression.type": "none"})
    acked = {}

    def on_delivery(err, msg):
        if not err:
            acked[(msg.partition(), msg.offset())] = msg.value()
    for i in range(RECORDS):
        value = (b"%06d-" % i) + os.urandom(RECORD_BYTES // 2).hex().encode()[:RECORD_BYTES - 7]
        p.produce(topic, value=value, partition=i % PARTITIONS, on_delivery=on_delivery)
        p.poll(0)
    p.flush(60)
    return acked


def read_all(bootstrap, topic, want):
    """Every record of the topic read from `bootstrap`, by (partition, offset)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.time()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest",
                  "fetch.max.bytes": 52428800})
    seen = {}
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + 30
        while len(seen) < want and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                seen[(m.partition(), m.offset())] = m.value()
    finally:
        c.close()
    return seen


def reassign(bootstrap, plan_file, *args):
    r = run_tool(REASSIGN, "--bootstrap-server", bootstrap, "--reassignment-json-file",
                 plan_file, *args, timeout=60)
    return r.returncode, r.stdout + r.stderr


def write_plan(topic, replicas):
    plan = {"version": 1, "partitions": [
        {"topic": topic, "partition": p, "replicas": replicas[p], "log_dirs": ["any"] * len(replicas[p])}
        for p in range(PARTITIONS)]}
    fd, path = tempfile.mkstemp(prefix="reassign-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(plan, f)
    return path


def replicas_of(admin, topic):
    md = admin.list_topics(topic, timeout=10).topics[topic]
    return {p: (list(md.partitions[p].replicas), list(md.partitions[p].isrs))
            for p in md.partitions}


def broker_configs(admin, node_id):
    res = ConfigResource(ConfigResource.Type.BROKER, str(node_id))
    return {k: (v.value, int(v.source)) for k, v in admin.describe_configs([res])[res].result(20).items()}


def topic_configs(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return {k: v.value for k, v in admin.describe_configs([res])[res].result(20).items()}


def new_topic(admin, c, topic):
    admin.create_topics([NewTopic(topic, PARTITIONS, replica_assignment=[[1, 2], [2, 1]])])[topic].result(20)
    acked = fill(c.bootstrap, topic)
    return acked


def wait_verified(c, plan):
    """Runs --verify until it says complete; its last output and the seconds taken."""
    start = time.monotonic()
    out = ""
    while time.monotonic() - start < SETTLE_S:
        rc, out = reassign(c.bootstrap, plan, "--verify")
        if rc == 0 and "is still in progress" not in out and "complete" in out:
            return True, out, time.monotonic() - start
        time.sleep(0.5)
    return False, out, time.monotonic() - start


def throttled_move(t, c, admin):
    topic = "moving"
    acked = new_topic(admin, c, topic)
    t.ok(len(acked) == RECORDS, f"{RECORDS} records of {RECORD_BYTES} bytes acknowledged on [1,2]")
    n1, n3 = c.node(1), c.node(3)
    plan = write_plan(topic, {0: [3, 2], 1: [2, 3]})
    start = time.monotonic()
    rc, out = reassign(c.bootstrap, plan, "--execute", "--throttle", str(RATE))
    t.ok(rc == 0 and "Successfully started partition reassignments" in out,
         "kafka-reassign-partitions.sh --execute --throttle 2000000 starts the move", out[-600:])
    rc, out = reassign(c.bootstrap, plan, "--verify", "--preserve-throttles")
    t.ok("is still in progress" in out, "--verify: the reassignment is still in progress",
         out[-600:])
    cfg = broker_configs(admin, 1)
    t.eq(cfg.get("leader.replication.throttled.rate"), (str(RATE), 2),
         "broker 1 shows leader.replication.throttled.rate as a DYNAMIC_BROKER_CONFIG")
    tc = topic_configs(admin, topic)
    t.ok("3" in (tc.get("follower.replication.throttled.replicas") or ""),
         "the topic lists broker 3's replicas as follower-throttled",
         str(tc.get("follower.replication.throttled.replicas")))
    samples = []
    for _ in range(4):
        time.sleep(1.5)
        samples.append((time.monotonic() - start, copied(n3, topic)))
    t.diag(f"broker 3's copy (s, bytes): {[(round(s, 1), b) for s, b in samples]}")
    over = [(round(s, 1), b) for s, b in samples if b > RATE * (s + BURST_S) + 2 * 1048576]
    t.ok(samples[-1][1] > 0 and not over,
         f"broker 3 copies at the throttle: after T s it holds under {RATE} * (T + 1 s) plus "
         f"one fetch",
         f"samples (s, bytes): {[(round(s, 1), b) for s, b in samples]}")
    held = metric(n3, "runnel_replication_throttled_seconds_total", 'direction="follower"')
    lead_held = max(metric(n, "runnel_replication_throttled_seconds_total", 'direction="leader"')
                    or 0 for n in (c.node(1), c.node(2)))
    t.ok((held or 0) > 0 or lead_held > 0,
         "/metrics counts the time throttled partitions were held back",
         f"follower {held}, leader {lead_held}")
    ok, out, _ = wait_verified(c, plan)
    took = time.monotonic() - start
    t.ok(ok and "Clearing broker-level throttles" in out and "Error" not in out,
         "--verify reports the move complete and clears the throttles", out[-800:])
    cfg = broker_configs(admin, 1)
    t.eq(cfg.get("leader.replication.throttled.rate", (None, 5))[1], 5,
         "broker 1's throttle is gone (DEFAULT_CONFIG again)")
    tc = topic_configs(admin, topic)
    t.ok(not tc.get("leader.replication.throttled.replicas") and
         not tc.get("follower.replication.throttled.replicas"),
         "the topic's throttled replicas are cleared")
    placed = replicas_of(admin, topic)
    t.ok(all(sorted(r) == [2, 3] and sorted(i) == [2, 3] for r, i in placed.values()),
         "both partitions are on brokers 2 and 3, both in sync", str(placed))
    seen = read_all(n3.bootstrap, topic, len(acked))
    t.ok(seen == acked, "every record is on broker 3 (read from it, compared)",
         f"{len(seen)} of {len(acked)}")
    gone = settle(lambda: all(not os.path.isdir(d) for d in partition_dirs(n1, topic))
                  and not [f for f in os.listdir(n1.data_dir) if f.startswith(topic)] or None,
                  "broker 1's copy removed", 10 + DELETE_DELAY_MS / 1000)
    t.ok(gone, "broker 1's old copy is gone from disk after file.delete.delay.ms",
         str(os.listdir(n1.data_dir)))
    t.diag(f"throttled move of {RECORDS * RECORD_BYTES // 1000000} MB at {RATE} B/s: "
           f"{took:.1f} s")
    return took


def unthrottled_move(t, c, admin):
    topic = "free"
    acked = new_topic(admin, c, topic)
    plan = write_plan(topic, {0: [3, 2], 1: [2, 3]})
    start = time.monotonic()
    rc, out = reassign(c.bootstrap, plan, "--execute")
    t.ok(rc == 0, "the same move without a throttle starts", out[-400:])
    ok, out, _ = wait_verified(c, plan)
    took = time.monotonic() - start
    t.ok(ok, "and finishes", out[-400:])
    seen = read_all(c.node(3).bootstrap, topic, len(acked))
    t.ok(seen == acked, "every record is on broker 3", f"{len(seen)} of {len(acked)}")
    t.diag(f"unthrottled move of {RECORDS * RECORD_BYTES // 1000000} MB: {took:.1f} s")
    return took


def cancelled_move(t, c, admin):
    topic = "cancelled"
    new_topic(admin, c, topic)
    plan = write_plan(topic, {0: [3, 2], 1: [2, 3]})
    rc, out = reassign(c.bootstrap, plan, "--execute", "--throttle", "200000")
    t.ok(rc == 0, "a slow throttled move starts", out[-400:])
    time.sleep(1)
    rc, out = reassign(c.bootstrap, plan, "--cancel")
    t.ok(rc == 0 and "Successfully cancelled" in out, "--cancel of the move in progress",
         out[-600:])
    back = settle(lambda: (lambda r: r if all(sorted(x) == [1, 2] for x, _ in r.values())
                           else None)(replicas_of(admin, topic)), "old replicas", 20)
    t.ok(back, "the partitions are back on brokers 1 and 2", str(replicas_of(admin, topic)))
    cfg = broker_configs(admin, 1)
    t.eq(cfg.get("leader.replication.throttled.rate", (None, 5))[1], 5,
         "the cancel clears the broker throttles")


def scenario(t):
    with Cluster(3, SETTINGS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        slow = throttled_move(t, c, admin)
        fast = unthrottled_move(t, c, admin)
        t.diag(f"durations: throttled {slow:.1f} s, unthrottled {fast:.1f} s")
        cancelled_move(t, c, admin)


if __name__ == "__main__":
    run_scenarios("reassignment with throttles", scenario)
