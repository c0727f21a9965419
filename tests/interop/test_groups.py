#!/usr/bin/python3
"""Consumer groups with real clients against a live broker:

- librdkafka (confluent-kafka) 3 members over a 12-partition topic with each
  of range, roundrobin and cooperative-sticky: every record delivered, the
  final assignment a partition of the 12 among the 3 (4 each), no partition
  owned by two members at once at any point;
- confluent-kafka with manual commits, kafka-python with auto-commit, and
  kafkajs with 2 members: consume part, commit, stop, start again, and resume
  exactly at the committed offsets (nothing skipped, nothing read twice);
- committed offsets survive a broker restart (OffsetFetch after restart;
  under RUNNEL_TEST_TARGET=cluster a restart of every node).

RECORDS=N changes the records per test.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
import kafka  # noqa: E402

RECORDS = int(os.environ.get("RECORDS", "3000"))
JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
SETTINGS = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
TIMEOUT_S = 60




def produce(bootstrap, topic, partitions, count, tag=""):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        p.produce(topic, f"{tag}{i}".encode(), partition=i % partitions)
    left = p.flush(30)
    if left:
        raise RuntimeError(f"{left} records not delivered")


def ck_consumer(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 10000,
            "heartbeat.interval.ms": 500}
    conf.update(extra)
    return Consumer(conf)


# -- assignors -----------------------------------------------------------------

class Owners:
    """Tracks which member owns each partition, from the rebalance callbacks."""

    def __init__(self):
        self.owner = {}
        self.conflicts = []

    def callbacks(self, name, incremental):
        def on_assign(consumer, parts):
            if not incremental:
                for p, o in list(self.owner.items()):
                    if o == name:
                        del self.owner[p]
            for tp in parts:
                other = self.owner.get(tp.partition)
                if other is not None and other != name:
                    self.conflicts.append((tp.partition, other, name))
                self.owner[tp.partition] = name

        def on_revoke(consumer, parts):
            for tp in parts:
                if self.owner.get(tp.partition) == name:
                    del self.owner[tp.partition]
        return on_assign, on_revoke


def test_assignor(t, bootstrap, strategy):
    topic = f"assign-{strategy}"
    create_topic(bootstrap, topic, 12)
    produce(bootstrap, topic, 12, RECORDS)
    incremental = strategy == "cooperative-sticky"
    owners = Owners()
    members = []
    for i in range(3):
        c = ck_consumer(bootstrap, f"g-{strategy}", **{"partition.assignment.strategy": strategy,
                                                       "enable.auto.commit": True})
        on_assign, on_revoke = owners.callbacks(f"m{i}", incremental)
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        members.append(c)
    seen = set()
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            for c in members:
                m = c.poll(0.05)
                if m is not None and not m.error():
                    seen.add((m.partition(), m.offset()))
            sizes = [len(c.assignment()) for c in members]
            if len(seen) >= RECORDS and sizes == [4, 4, 4]:
                break
        t.eq(len(seen), RECORDS, f"{strategy}: every record delivered")
        parts = [sorted(tp.partition for tp in c.assignment()) for c in members]
        flat = sorted(p for ps in parts for p in ps)
        t.eq(flat, list(range(12)), f"{strategy}: the 12 partitions split among the members")
        t.eq(sorted(len(ps) for ps in parts), [4, 4, 4], f"{strategy}: 4 partitions each")
        t.eq(owners.conflicts, [], f"{strategy}: no partition owned by two members at once")
    finally:
        for c in members:
            c.close()


# -- resume at committed offsets ------------------------------------------------

def test_ck_manual_commit(t, bootstrap):
    topic, group = "resume-ck", "g-resume-ck"
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, 3, RECORDS)
    first = set()
    c = ck_consumer(bootstrap, group)
    c.subscribe([topic])
    deadline = time.monotonic() + TIMEOUT_S
    while len(first) < RECORDS // 2 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None or m.error():
            continue
        first.add(m.value())
        c.commit(message=m, asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    c.close()
    positions = {tp.partition: tp.offset for tp in committed}
    t.ok(sum(max(o, 0) for o in positions.values()) == len(first),
         "confluent-kafka: committed offsets add up to the records read",
         f"committed {positions}, read {len(first)}")
    second = set()
    c = ck_consumer(bootstrap, group)
    c.subscribe([topic])
    deadline = time.monotonic() + TIMEOUT_S
    while len(first) + len(second) < RECORDS and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and not m.error():
            second.add(m.value())
    c.close()
    t.eq(len(first & second), 0, "confluent-kafka: nothing read twice after the restart")
    t.eq(len(first | second), RECORDS, "confluent-kafka: nothing skipped after the restart")


def test_kafka_python_autocommit(t, bootstrap):
    topic, group = "resume-kp", "g-resume-kp"
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, 3, RECORDS)

    def consumer():
        c = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=True,
                                auto_commit_interval_ms=200, max_poll_records=100,
                                session_timeout_ms=10000, heartbeat_interval_ms=500)
        c.subscribe([topic])
        return c

    first, second = [], []
    c = consumer()
    deadline = time.monotonic() + TIMEOUT_S
    while len(first) < RECORDS // 2 and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200, max_records=100).values():
            first.extend(r.value for r in recs)
    c.close()  # commits what was consumed (autocommit on close)
    c = consumer()
    deadline = time.monotonic() + TIMEOUT_S
    while len(first) + len(second) < RECORDS and time.monotonic() < deadline:
        for recs in c.poll(timeout_ms=200).values():
            second.extend(r.value for r in recs)
    c.close()
    t.eq(len(set(first) & set(second)), 0, "kafka-python: nothing read twice after the restart")
    t.eq(len(set(first) | set(second)), RECORDS, "kafka-python: nothing skipped after the restart")


KAFKAJS_MEMBERS = r"""
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, topic, group, want] = process.argv.slice(2);
const kafka = new Kafka({ brokers: bootstrap.split(','), clientId: 'groups-test', logLevel: logLevel.NOTHING });
const seen = [];
const members = [0, 1].map(() => kafka.consumer({ groupId: group, sessionTimeout: 10000,
  heartbeatInterval: 500, rebalanceTimeout: 20000 }));
(async () => {
  for (const c of members) {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
  }
  let stop;
  const done = new Promise((resolve) => { stop = resolve; });
  for (const c of members) {
    c.run({ autoCommit: false, eachMessage: async ({ partition, message }) => {
      if (seen.length >= Number(want)) return;
      seen.push(message.value.toString());
      await c.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      if (seen.length >= Number(want)) stop();
    } });
  }
  const timer = setTimeout(stop, 60000);
  await done;
  clearTimeout(timer);
  for (const c of members) await c.disconnect();
  console.log(JSON.stringify(seen));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def kafkajs_ready():
    if os.path.isdir(os.path.join(JS_DIR, "node_modules", "kafkajs")):
        return None
    if shutil.which("npm") is None:
        return "npm not found"
    res = subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=JS_DIR,
                         capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    return None if res.returncode == 0 else f"npm ci failed: {res.stderr[-500:]}"


def test_kafkajs_two_members(t, bootstrap, workdir):
    why = kafkajs_ready() if shutil.which("node") else "node not found"
    if why:
        t.skip("kafkajs: 2 members resume at committed offsets", why)
        return
    topic, group = "resume-kjs", "g-resume-kjs"
    count = min(RECORDS, 1000)
    create_topic(bootstrap, topic, 4)
    produce(bootstrap, topic, 4, count)
    script = os.path.join(workdir, "kafkajs_members.js")
    with open(script, "w") as f:
        f.write(KAFKAJS_MEMBERS)
    env = dict(os.environ, NODE_PATH=os.path.join(JS_DIR, "node_modules"))

    def run(want):
        res = subprocess.run(["node", script, bootstrap, topic, group, str(want)], env=env,
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise RuntimeError(f"kafkajs members failed:\n{res.stderr[-2000:]}")
        return json.loads(res.stdout.strip().splitlines()[-1])

    first = run(count // 2)
    second = run(count - len(first))
    t.eq(len(set(first) & set(second)), 0, "kafkajs: nothing read twice after the restart")
    t.eq(len(set(first) | set(second)), count, "kafkajs: nothing skipped after the restart")


def test_offsets_survive_restart(t, broker):
    topic, group = "restart-offsets", "g-restart"
    create_topic(broker.bootstrap, topic, 3)
    produce(broker.bootstrap, topic, 3, 30)
    c = ck_consumer(broker.bootstrap, group)
    want = [TopicPartition(topic, p, 5 + p) for p in range(3)]
    c.commit(offsets=want, asynchronous=False)
    c.close()
    broker.restart()
    c = ck_consumer(broker.bootstrap, group)
    deadline = time.monotonic() + 60
    while True:  # a coordinator still loading answers NOT_COORDINATOR/LOAD_IN_PROGRESS
        try:
            got = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=20)
            break
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    c.close()
    t.eq([(tp.partition, tp.offset) for tp in got], [(p, 5 + p) for p in range(3)],
         "committed offsets read back after a broker restart")


def main():
    t = Tap("consumer groups: assignors and resuming at committed offsets")
    with Broker(SETTINGS) as b:
        for strategy in ("range", "roundrobin", "cooperative-sticky"):
            t.run(test_assignor, b.bootstrap, strategy, desc=f"assignor {strategy}")
        t.run(test_ck_manual_commit, b.bootstrap)
        t.run(test_kafka_python_autocommit, b.bootstrap)
        t.run(test_kafkajs_two_members, b.bootstrap, b._work)
        t.run(test_offsets_survive_restart, b)
    t.done()


if __name__ == "__main__":
    main()
