#!/usr/bin/python3
"""Crash the broker with SIGKILL during an acks=all load; nothing acknowledged is lost.

A confluent-kafka producer (acks=all, no retries, so every record is sent at
most once) keeps a 3-partition topic with small segments under load and
records every acknowledged (partition, offset, value). At KILLS random moments
(seeded; the seed is printed, CRASH_SEED=N replays it) the broker gets
SIGKILL and is restarted on the same data. After each restart, once every
outstanding record is resolved:

- ListOffsets latest of each partition is at least the last acknowledged
  offset + 1;
- reading each partition from its earliest offset gives every offset up to
  latest - 1 exactly once (no hole, no torn tail, reading ends);
- every acknowledged record is at its acknowledged offset with its value, and
  no value is stored twice;
- fetching from random offsets, from the first and last offsets and from both
  sides of segment boundaries (the offset index at work; the newest segments,
  where recovery works, after each kill, and every boundary at the end)
  starts exactly at the requested offset with the stored value;
- the producer keeps appending after recovery.

For RUNNEL_TEST_TARGET=runnel, `runnel log-check` is run on the data
directory after the final clean stop and must pass: no torn tail, every
batch valid, indexes agreeing with the log.
"""

import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, runnel_bin, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

TOPIC = "crash"
PARTITIONS = 3
KILLS = int(os.environ.get("KILLS", "20"))
SEED = int(os.environ.get("CRASH_SEED", str(int(time.time() * 1000) % 1_000_000)))
RATE = 3000          # records per second offered
LOAD_S = (0.1, 1.5)  # load time before each kill, uniform
SEEKS = 4            # random-offset fetches per partition per round
VALUE_PAD = "x" * 80
# Apache Kafka refuses a restarted broker's registration until the killed
# one's session expires (broker.session.timeout.ms, 9 s by default).
KAFKA_ONLY = {"broker.session.timeout.ms": "1500", "broker.heartbeat.interval.ms": "300"}


def make_producer(bootstrap, acked, failed):
    from confluent_kafka import Producer

    def on_delivery(err, msg):
        if err is None:
            acked.append((msg.partition(), msg.offset(), msg.value()))
        else:
            failed.append(str(err))

    return Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": False,
        "message.send.max.retries": 0,  # each record is sent at most once
        "linger.ms": 2,
        "message.timeout.ms": 120000,
        "socket.timeout.ms": 10000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "on_delivery": on_delivery,
    })


def load(producer, round_no, seq0, seconds):
    """Offer RATE records/s for `seconds`; returns the next sequence number."""
    seq = seq0
    t0 = time.monotonic()
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            return seq
        target_seq = seq0 + int(now * RATE)
        while seq < target_seq:
            value = f"r{round_no:03d}-{seq:09d}-{VALUE_PAD}".encode()
            try:
                producer.produce(TOPIC, value=value, partition=seq % PARTITIONS)
                seq += 1
            except BufferError:
                producer.poll(0.01)
        producer.poll(0.002)


def read_partitions(bootstrap):
    """({p: (low, high)}, {p: {offset: value}}, problems) reading everything by assign()."""
    from confluent_kafka import Consumer, TopicPartition, KafkaError
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "crash-check",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 50})
    problems = []
    try:
        marks = {p: c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=20)
                 for p in range(PARTITIONS)}
        stored = {p: {} for p in range(PARTITIONS)}
        c.assign([TopicPartition(TOPIC, p, marks[p][0]) for p in range(PARTITIONS)])
        left = {p for p in range(PARTITIONS) if marks[p][1] > marks[p][0]}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            for msg in c.consume(2000, 0.5):
                if msg.error():
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        problems.append(f"consume error: {msg.error()}")
                    continue
                p, off = msg.partition(), msg.offset()
                if off in stored[p]:
                    problems.append(f"p{p} offset {off} delivered twice")
                stored[p][off] = msg.value()
                if off >= marks[p][1] - 1:
                    left.discard(p)
        if left:
            problems.append(f"partitions {sorted(left)} not read to their end within 60s")
        return marks, stored, problems, c
    except Exception:
        c.close()
        raise


def segment_bases(b, p):
    """Base offsets of partition p's segment files, from their names."""
    d = os.path.join(b.data_dir, f"{TOPIC}-{p}")
    try:
        names = os.listdir(d)
    except OSError:
        return []
    return sorted(int(n[:-4]) for n in names if n.endswith(".log") and n[:-4].isdigit())


def seek_offsets(b, marks, rng, all_segments):
    """{p: [offsets]} to fetch from: random ones, plus both sides of segment
    boundaries (the last two segments', where recovery works, or all)."""
    want = {}
    for p in range(PARTITIONS):
        low, high = marks[p]
        if high <= low:
            continue
        offs = [rng.randrange(low, high) for _ in range(SEEKS)] + [low, high - 1]
        bases = segment_bases(b, p)
        for base in bases if all_segments else bases[-2:]:
            offs += [base - 1, base]
        want[p] = sorted({o for o in offs if low <= o < high})
    return want


def seek_checks(c, marks, stored, want):
    """Fetch from each offset in want (all partitions at once); returns problems."""
    from confluent_kafka import TopicPartition
    problems = []
    rounds = max((len(v) for v in want.values()), default=0)
    for i in range(rounds):
        now = {p: offs[i] for p, offs in want.items() if i < len(offs)}
        c.assign([TopicPartition(TOPIC, p, off) for p, off in now.items()])
        got = {}
        deadline = time.monotonic() + 20
        while len(got) < len(now) and time.monotonic() < deadline:
            for msg in c.consume(100, 0.5):
                if msg.error() or msg.partition() in got or msg.partition() not in now:
                    continue
                got[msg.partition()] = (msg.offset(), msg.value())
        for p, off in now.items():
            if got.get(p) != (off, stored[p].get(off)):
                problems.append(f"p{p}: fetch from {off} gave {got.get(p, 'nothing')!r:.120}")
    return problems


def verify(t, b, acked, rng, label, all_segments=False):
    marks, stored, problems, c = read_partitions(b.bootstrap)
    try:
        problems += seek_checks(c, marks, stored, seek_offsets(b, marks, rng, all_segments))
    finally:
        c.close()
    last = {p: -1 for p in range(PARTITIONS)}
    for p, off, _ in acked:
        last[p] = max(last[p], off)
    t.ok(all(marks[p][1] >= last[p] + 1 for p in range(PARTITIONS)),
         f"{label}: latest offset >= last acknowledged + 1 on every partition",
         f"watermarks {marks} last acked {last}")
    holes = {p: (marks[p][1] - marks[p][0]) - len(stored[p]) for p in range(PARTITIONS)}
    t.ok(all(h == 0 for h in holes.values()) and not problems,
         f"{label}: every offset from earliest to latest reads once; fetches from random offsets and segment boundaries agree",
         f"missing per partition {holes}; " + "; ".join(problems[:5]))
    wrong = [(p, off) for p, off, v in acked if stored[p].get(off) != v]
    t.ok(not wrong, f"{label}: all {len(acked)} acknowledged records at their offsets, "
         "byte-exact", f"{len(wrong)} wrong, first {wrong[:5]}")
    seen, dups = set(), 0
    for p in stored:
        for v in stored[p].values():
            dups += v in seen
            seen.add(v)
    t.eq(dups, 0, f"{label}: no value is stored twice")
    return sum(len(s) for s in stored.values())


def log_check(t, b):
    """Runnel only: `runnel log-check DATA_DIR` after a clean stop: every
    batch whole and valid, offsets without gaps, indexes agreeing."""
    if target() != "runnel":
        return
    binary = runnel_bin()
    res = subprocess.run([binary, "log-check", b.data_dir], capture_output=True, text=True,
                         timeout=120)
    t.ok(res.returncode == 0, "runnel log-check passes on the data directory",
         res.stdout[-2000:] + res.stderr[-2000:])


def crash_rounds(t, b, rng):
    acked, failed = [], []
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config={
        "segment.bytes": "131072"})])[TOPIC].result(60)
    producer = make_producer(b.bootstrap, acked, failed)
    seq = 0
    restart_s = []
    for k in range(1, KILLS + 1):
        seq = load(producer, k, seq, rng.uniform(*LOAD_S))
        b.kill()
        t0 = time.monotonic()
        b.start()
        restart_s.append(time.monotonic() - t0)
        left = producer.flush(120)
        t.eq(left, 0, f"kill {k}: every outstanding record resolved after restart")
        stored = verify(t, b, acked, rng, f"kill {k}")
        t.diag(f"kill {k}: {len(acked)} acknowledged, {len(failed)} failed, {stored} stored,"
               f" restart took {restart_s[-1]:.1f}s")
    # The log still takes appends after the last recovery.
    before = len(acked)
    seq = load(producer, KILLS + 1, seq, 0.5)
    t.eq(producer.flush(60), 0, "after the last restart, new records are acknowledged")
    t.ok(len(acked) > before, "the producer appends after recovery")
    verify(t, b, acked, rng, "final", all_segments=True)
    t.ok(len(acked) > KILLS * 100, f"the load was real: {len(acked)} records acknowledged")
    t.diag(f"restart times: max {max(restart_s):.1f}s, mean "
           f"{sum(restart_s) / len(restart_s):.1f}s")


def main():
    t = Tap("crash: SIGKILL during acks=all load")
    skip_under_cluster(t, "crash: SIGKILL during acks=all load",
                       "kills one broker process and checks its data folder")
    t.diag(f"seed {SEED} (CRASH_SEED={SEED} replays it), {KILLS} kills")
    rng = random.Random(SEED)
    settings = {"num.partitions": 1}
    if target() == "kafka":
        settings.update(KAFKA_ONLY)
    with Broker(settings) as b:
        t.run(crash_rounds, b, rng, desc=f"{KILLS} kills")
        if b.running():
            b.stop()
            log_check(t, b)
    t.done()


if __name__ == "__main__":
    main()
