#!/usr/bin/python3
"""Retention by time and by size, and DeleteRecords, move the log start and free whole segments.

Each topic has one partition and small segments (segment.bytes=65536); the
broker checks retention every 500 ms (log.retention.check.interval.ms).
Segments are counted as the *.log files in <data_dir>/<topic>-0/.

- Time: records with CreateTime two hours old, then fresh ones; setting
  retention.ms to one hour (AlterConfigs) deletes every segment holding only
  old records: ListOffsets earliest becomes the base offset of the segment
  holding the first fresh record, which is now the first segment file;
  fewer segment files; every fresh record still reads back.
- Size: setting retention.bytes deletes the oldest segments while what stays
  is at least retention.bytes (Kafka's rule): retention.bytes <= bytes left <
  retention.bytes + segment.bytes; earliest is the first segment file's base.
- DeleteRecords (Kafka's kafka-delete-records tool) to an offset inside a
  segment: low watermark and earliest become exactly that offset, reading
  from earliest gives that record, segments wholly below it are deleted;
  DeleteRecords to -1 (the high watermark) empties the partition for readers.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, skip_under_cluster, target  # noqa: E402
from kafka_tools import run_tool  # noqa: E402
from tap import Tap  # noqa: E402
from topics import segment_files  # noqa: E402
from waits import wait_for  # noqa: E402

SEGMENT_BYTES = 65536
RECORD_BYTES = 1000
CHECK_MS = 500
WAIT_S = 30
# Apache Kafka starts its retention task only log.initial.task.delay.ms after
# start-up (30 s by default) and removes deleted segment files a minute later.
KAFKA_ONLY = {"log.initial.task.delay.ms": "0", "log.segment.delete.delay.ms": "0"}


def segments(b, topic):
    """[(base_offset, size)] of the partition's segment files, by base offset."""
    return segment_files(b.data_dir, topic)


def value(i):
    return (f"{i:08d}-" + "r" * RECORD_BYTES)[:RECORD_BYTES].encode()


def produce(b, topic, first, count, timestamp_ms=None):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 0,
                  "batch.num.messages": 16})
    errors = []
    for i in range(first, first + count):
        kw = {"timestamp": timestamp_ms} if timestamp_ms else {}
        p.produce(topic, value=value(i), partition=0,
                  on_delivery=lambda err, msg: err and errors.append(str(err)), **kw)
        p.poll(0)
    left = p.flush(60)
    if left or errors:
        raise RuntimeError(f"produce to {topic}: {left} unresolved, errors {errors[:3]}")


def watermarks(b, topic):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "retention-check"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=20)
    finally:
        c.close()


def read_from(b, topic, offset, count):
    """Up to count (offset, value) records from offset, by assign()."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "retention-check",
                  "enable.auto.commit": False, "auto.offset.reset": "error"})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 30
        while len(got) < count and time.monotonic() < deadline:
            for msg in c.consume(min(1000, count - len(got)), 0.5):
                if msg.error():
                    got.append((None, str(msg.error())))
                    return got
                got.append((msg.offset(), msg.value()))
    finally:
        c.close()
    return got


def create(admin, topic, **configs):
    from confluent_kafka.admin import NewTopic
    cfg = {"segment.bytes": str(SEGMENT_BYTES)}
    cfg.update({k.replace("_", "."): str(v) for k, v in configs.items()})
    admin.create_topics([NewTopic(topic, 1, 1, config=cfg)])[topic].result(60)


def set_configs(admin, topic, **configs):
    """AlterConfigs (whole topic config: segment.bytes kept)."""
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    res.set_config("segment.bytes", str(SEGMENT_BYTES))
    for k, v in configs.items():
        res.set_config(k.replace("_", "."), str(v))
    for fut in admin.alter_configs([res]).values():
        fut.result(60)


def check_whole_segments(t, b, topic, label):
    low, _ = watermarks(b, topic)
    segs = segments(b, topic)
    t.ok(segs and segs[0][0] == low,
         f"{label}: earliest offset {low} is the base offset of the first segment file",
         f"segments {segs[:5]}")
    return low, segs


def test_time(t, b, admin):
    topic = "retention-time"
    create(admin, topic)
    old_ts = int(time.time() * 1000) - 2 * 3600 * 1000
    n_old, n_new = 300, 100
    produce(b, topic, 0, n_old, timestamp_ms=old_ts)
    produce(b, topic, n_old, n_new)
    before = segments(b, topic)
    t.ok(len(before) >= 4, f"time: {n_old + n_new} records of 1 KB make several segments",
         before)
    set_configs(admin, topic, retention_ms=3600 * 1000)

    def only_fresh_left():
        segs = segments(b, topic)
        return segs and (len(segs) == 1 or segs[1][0] > n_old) and watermarks(b, topic)[0] > 0
    t.ok(wait_for(only_fresh_left, WAIT_S),
         "time: segments holding only records older than retention.ms are deleted",
         f"before {before}\nafter {segments(b, topic)}")
    low, segs = check_whole_segments(t, b, topic, "time")
    t.ok(0 < low <= n_old, f"time: earliest {low} moved past old records, not past fresh ones")
    t.ok(len(segs) < len(before), f"time: {len(before)} segment files became {len(segs)}")
    got = read_from(b, topic, low, n_old + n_new - low)
    t.eq([o for o, _ in got], list(range(low, n_old + n_new)),
         "time: every record from earliest to the end reads back")
    t.ok(all(v == value(o) for o, v in got if o is not None), "time: byte-exact values")


def test_size(t, b, admin):
    topic = "retention-size"
    create(admin, topic)
    n = 600
    produce(b, topic, 0, n)
    before = segments(b, topic)
    total_before = sum(s for _, s in before)
    retention = 200000
    t.ok(total_before > 2 * retention, f"size: {n} records make {total_before} bytes in "
         f"{len(before)} segments", before)
    set_configs(admin, topic, retention_bytes=retention)

    def small_enough():
        return sum(s for _, s in segments(b, topic)) < retention + SEGMENT_BYTES
    t.ok(wait_for(small_enough, WAIT_S), "size: bytes left < retention.bytes + segment.bytes",
         f"after {segments(b, topic)}")
    low, segs = check_whole_segments(t, b, topic, "size")
    left = sum(s for _, s in segs)
    t.ok(left >= retention, f"size: bytes left {left} >= retention.bytes {retention} "
         "(only segments whose deletion keeps retention.bytes go)")
    t.ok(len(segs) < len(before) and low > 0,
         f"size: {len(before)} segment files became {len(segs)}, earliest {low}")
    _, high = watermarks(b, topic)
    t.eq(high, n, "size: latest offset unchanged")
    got = read_from(b, topic, low, 1)
    t.eq(got, [(low, value(low))], "size: reading from earliest gives the record there")


def delete_records(b, topic, offset):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"version": 1, "partitions": [
            {"topic": topic, "partition": 0, "offset": offset}]}, f)
    try:
        return run_tool("delete-records", "--bootstrap-server", b.bootstrap,
                        "--offset-json-file", f.name, timeout=120)
    finally:
        os.unlink(f.name)


def test_delete_records(t, b, admin):
    topic = "delete-records"
    create(admin, topic)
    n = 400
    produce(b, topic, 0, n)
    before = segments(b, topic)
    # An offset inside the third segment, not on its boundary.
    target_off = before[2][0] + 5 if len(before) > 3 else n // 2
    r = delete_records(b, topic, target_off)
    t.ok(r.returncode == 0 and f"low_watermark: {target_off}" in r.stdout,
         f"kafka-delete-records to offset {target_off} reports it as the low watermark",
         f"exit {r.returncode}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
    low, high = watermarks(b, topic)
    t.eq((low, high), (target_off, n), "DeleteRecords: earliest is exactly the offset, "
         "latest unchanged")
    got = read_from(b, topic, low, 3)
    t.eq(got, [(o, value(o)) for o in range(target_off, target_off + 3)],
         "DeleteRecords: reading from earliest starts at that offset")

    def below_gone():
        segs = segments(b, topic)
        return segs and segs[0][0] <= target_off and (len(segs) == 1 or segs[1][0] > target_off)
    t.ok(wait_for(below_gone, WAIT_S),
         "DeleteRecords: segments wholly below the offset are deleted",
         f"before {before}\nafter {segments(b, topic)}")
    segs = segments(b, topic)
    t.ok(len(segs) < len(before) and segs[0][0] <= target_off,
         f"DeleteRecords: {len(before)} segment files became {len(segs)}, the first holding "
         f"offset {target_off}")

    r = delete_records(b, topic, -1)
    t.ok(r.returncode == 0 and f"low_watermark: {n}" in r.stdout,
         "kafka-delete-records to -1 moves the low watermark to the high watermark",
         f"exit {r.returncode}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}")
    t.eq(watermarks(b, topic), (n, n), "DeleteRecords to -1: earliest == latest")


def main():
    t = Tap("retention and DeleteRecords")
    skip_under_cluster(t, "retention and DeleteRecords",
                       "counts the segment files in one broker's data folder")
    settings = {"num.partitions": 1, "log.retention.check.interval.ms": str(CHECK_MS)}
    if target() == "kafka":
        settings.update(KAFKA_ONLY)
    with Broker(settings) as b:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for fn in (test_time, test_size, test_delete_records):
            t.run(fn, b, admin)
    t.done()


if __name__ == "__main__":
    main()
