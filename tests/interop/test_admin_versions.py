#!/usr/bin/python3
"""The topic administration APIs at their newest versions (raw, flexible
encodings), answered as Kafka 3.9 answers them:

- CreateTopics v5 to v7: the answer carries the partition count, the
  replication factor and every topic setting with its value and source
  (v5+), and the topic id (v7); a topic that exists: TOPIC_ALREADY_EXISTS
  and an empty list of settings; validate_only creates nothing;
- DeleteTopics v4 to v6: by name (v4, v5 with an error message), by topic
  id (v6: the answer names the topic; an unknown id: UNKNOWN_TOPIC_ID);
- CreatePartitions v2 and v3, DeleteRecords v2 and AlterConfigs v2 (the
  flexible encodings) do what the older versions do;
- DescribeConfigs v3 and v4: each setting's type (Kafka's ConfigType), and
  its documentation only when asked for;
- DescribeLogDirs v4 and v5: the log directory with its partitions, total
  and usable bytes; v5 (Kafka 4.x's) says it is not cordoned;
- ApiVersions advertises CreateTopics up to 7, DeleteTopics up to 6,
  CreatePartitions up to 3, DeleteRecords up to 2, AlterConfigs up to 2
  and DescribeConfigs up to 4.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9 (or 4.3,
with KAFKA_JARS naming its jars)."""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, newest  # noqa: E402
from tap import Tap  # noqa: E402
import kwire  # noqa: E402

API_CREATE_TOPICS, API_DELETE_TOPICS, API_DELETE_RECORDS = 19, 20, 21
API_DESCRIBE_CONFIGS, API_ALTER_CONFIGS, API_CREATE_PARTITIONS = 32, 33, 37
API_DESCRIBE_LOG_DIRS = 35
# DescribeLogDirs' newest: Kafka 4.3's (v5: a cordoned flag), Runnel's too.
NEWEST_LOG_DIRS = newest(5, 4, 5)
RESOURCE_TOPIC, RESOURCE_BROKER = 2, 4
TYPE_BOOLEAN, TYPE_STRING, TYPE_INT, TYPE_LONG, TYPE_DOUBLE, TYPE_LIST = 1, 2, 3, 5, 6, 7
TOPIC_ALREADY_EXISTS, UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_ID = 36, 3, 100
SOURCE_TOPIC, SOURCE_DEFAULT = 1, 5  # DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG


def flexible_call(b, api, version, body):
    hdr = kwire.request_header(api, version, 3, "kwire", 2)
    with kwire.Conn(b.bootstrap, timeout_s=30) as c:
        _, resp = c.roundtrip(kwire.frame(hdr + body + kwire.TAGS_NONE), flexible_header=True)
    return kwire.Reader(resp)


def carray(items):
    return kwire.uvarint(len(items) + 1) + b"".join(items)


def create(b, version, name, partitions=2, configs=(), validate_only=False):
    """The one topic's answer: dict of error, message, id, partitions, rf,
    configs {name: (value, read_only, source, sensitive)} or None."""
    cfgs = [kwire.compact_string(k) + kwire.compact_string(v) + kwire.TAGS_NONE
            for k, v in configs]
    topic = (kwire.compact_string(name) + kwire.i32(partitions) + kwire.i16(1) + carray([])
             + carray(cfgs) + kwire.TAGS_NONE)
    r = flexible_call(b, API_CREATE_TOPICS, version,
                      carray([topic]) + kwire.i32(20000) + kwire.i8(1 if validate_only else 0))
    r.i32()  # throttle

    def config(rr):
        c = (rr.compact_string(), rr.compact_string(), rr.i8(), rr.i8(), rr.i8())
        rr.skip_tags()
        return c

    def result(rr):
        out = {"name": rr.compact_string()}
        out["id"] = rr.take(16) if version >= 7 else None
        out["error"], out["message"] = rr.i16(), rr.compact_string()
        out["partitions"], out["rf"] = rr.i32(), rr.i16()
        cs = rr.compact_array(config)
        out["configs"] = None if cs is None else {n: (v, ro, src, s) for n, v, ro, src, s in cs}
        rr.skip_tags()
        return out
    return r.compact_array(result)[0]


def delete(b, version, names=(), ids=()):
    """[(name, id, error, message)] of DeleteTopics v4+."""
    if version >= 6:
        topics = [kwire.compact_string(n) + bytes(16) + kwire.TAGS_NONE for n in names]
        topics += [kwire.compact_string(None) + i + kwire.TAGS_NONE for i in ids]
        body = carray(topics)
    else:
        body = carray([kwire.compact_string(n) for n in names])
    r = flexible_call(b, API_DELETE_TOPICS, version, body + kwire.i32(20000))
    r.i32()

    def result(rr):
        out = (rr.compact_string(), rr.take(16) if version >= 6 else None, rr.i16(),
               rr.compact_string() if version >= 5 else None)
        rr.skip_tags()
        return out
    return r.compact_array(result)


def metadata_names(b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.metadata_request(1, None, version=1))
    return set(kwire.parse_metadata_v1(body)[2])


def gone(b, name, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if name not in metadata_names(b):
            return True
        time.sleep(0.1)
    return False


def test_create(t, b):
    for version in (5, 6, 7):
        name = f"created-v{version}"
        got = create(b, version, name, 3, [("retention.ms", "123456")])
        t.eq((got["error"], got["partitions"], got["rf"]), (0, 3, 1),
             f"CreateTopics v{version}: created, with its partition count and replication factor")
        cfg = got["configs"] or {}
        t.eq(cfg.get("retention.ms"), ("123456", 0, SOURCE_TOPIC, 0),
             f"v{version}: the setting given, its value and source (the topic's)")
        t.eq(cfg.get("cleanup.policy"), ("delete", 0, SOURCE_DEFAULT, 0),
             f"v{version}: a setting not given, its default")
        t.ok(len(cfg) > 20, f"v{version}: every topic setting ({len(cfg)})")
        if version >= 7:
            t.ok(got["id"] and got["id"] != bytes(16), "v7: the topic id")
    again = create(b, 7, "created-v7")
    t.eq((again["error"], again["configs"], again["id"]), (TOPIC_ALREADY_EXISTS, {}, bytes(16)),
         "v7, a topic that exists: TOPIC_ALREADY_EXISTS, no settings, no id")
    check = create(b, 7, "only-validated", validate_only=True)
    t.ok(check["error"] == 0 and check["configs"] and "only-validated" not in metadata_names(b),
         "v7 validate_only: the would-be answer, nothing created")


def test_delete(t, b):
    for version, name in ((4, "created-v5"), (5, "created-v7")):
        got = delete(b, version, [name])
        t.eq([g[:3] for g in got], [(name, None, 0)], f"DeleteTopics v{version} by name")
        t.ok(gone(b, name), f"v{version}: the topic is gone")
    t.eq([g[2:] for g in delete(b, 5, ["no-such-topic"])],
         [(UNKNOWN_TOPIC_OR_PARTITION, "This server does not host this topic-partition.")],
         "v5, an unknown name: UNKNOWN_TOPIC_OR_PARTITION and its message")
    tid = create(b, 7, "by-id", 1)["id"]
    got = delete(b, 6, ids=[tid])
    t.eq([g[:3] for g in got], [("by-id", tid, 0)], "v6 by topic id: the answer names the topic")
    t.ok(gone(b, "by-id"), "v6: the topic is gone")
    unknown = uuid.uuid4().bytes
    got = delete(b, 6, ids=[unknown])
    t.eq(got, [(None, unknown, UNKNOWN_TOPIC_ID, "This server does not host this topic ID.")],
         "v6 by an unknown topic id: UNKNOWN_TOPIC_ID and its message")
    got = delete(b, 6, ["created-v6"])
    t.eq([g[:3] for g in got][0][0::2], ("created-v6", 0), "v6 by name")


def partition_count(b, name):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.metadata_request(1, [name], version=1))
    return len(kwire.parse_metadata_v1(body)[2].get(name, (0, []))[1])


def create_partitions(b, version, name, count):
    topic = kwire.compact_string(name) + kwire.i32(count) + kwire.uvarint(0) + kwire.TAGS_NONE
    r = flexible_call(b, API_CREATE_PARTITIONS, version,
                      carray([topic]) + kwire.i32(20000) + kwire.i8(0))
    r.i32()

    def result(rr):
        out = (rr.compact_string(), rr.i16(), rr.compact_string())
        rr.skip_tags()
        return out
    return r.compact_array(result)


def delete_records(b, name, offset):
    part = kwire.i32(0) + kwire.i64(offset) + kwire.TAGS_NONE
    topic = kwire.compact_string(name) + carray([part]) + kwire.TAGS_NONE
    r = flexible_call(b, API_DELETE_RECORDS, 2, carray([topic]) + kwire.i32(20000))
    r.i32()

    def part_(rr):
        out = (rr.i32(), rr.i64(), rr.i16())
        rr.skip_tags()
        return out

    def topic_(rr):
        out = (rr.compact_string(), rr.compact_array(part_))
        rr.skip_tags()
        return out
    return r.compact_array(topic_)


def alter_configs(b, name, key, value):
    cfg = kwire.compact_string(key) + kwire.compact_string(value) + kwire.TAGS_NONE
    res = kwire.i8(RESOURCE_TOPIC) + kwire.compact_string(name) + carray([cfg]) + kwire.TAGS_NONE
    r = flexible_call(b, API_ALTER_CONFIGS, 2, carray([res]) + kwire.i8(0))
    r.i32()

    def result(rr):
        out = (rr.i16(), rr.compact_string(), rr.i8(), rr.compact_string())
        rr.skip_tags()
        return out
    return r.compact_array(result)


def describe_configs(b, version, rtype, name, documentation):
    """{setting: (value, type, documentation)} of one resource (v3+)."""
    flexible = version >= 4
    hdr = kwire.request_header(API_DESCRIBE_CONFIGS, version, 5, "kwire", 2 if flexible else 1)
    if flexible:
        res = kwire.i8(rtype) + kwire.compact_string(name) + kwire.uvarint(0) + kwire.TAGS_NONE
        body = carray([res]) + kwire.i8(0) + kwire.i8(1 if documentation else 0) + kwire.TAGS_NONE
    else:
        res = kwire.i8(rtype) + kwire.string(name) + kwire.i32(-1)
        body = kwire.array([res]) + kwire.i8(0) + kwire.i8(1 if documentation else 0)
    with kwire.Conn(b.bootstrap) as c:
        _, resp = c.roundtrip(kwire.frame(hdr + body), flexible_header=flexible)
    r = kwire.Reader(resp)
    r.i32()
    string = r.compact_string if flexible else r.string
    arr = r.compact_array if flexible else r.array

    def synonym(rr):
        out = (string(), string(), rr.i8())
        if flexible:
            rr.skip_tags()
        return out

    def config(rr):
        cname, value = string(), string()
        rr.i8(), rr.i8(), rr.i8()  # read only, source, sensitive
        arr(synonym)
        out = (cname, value, rr.i8(), string())
        if flexible:
            rr.skip_tags()
        return out

    def result(rr):
        rr.i16(), string(), rr.i8(), string()
        out = arr(config)
        if flexible:
            rr.skip_tags()
        return out
    return {n: (v, ty, doc) for n, v, ty, doc in arr(result)[0]}


def test_partitions_records_configs(t, b):
    create(b, 7, "grown", 1)
    for version, count in ((2, 2), (3, 3)):
        t.eq(create_partitions(b, version, "grown", count), [("grown", 0, None)],
             f"CreatePartitions v{version} to {count}")
    t.ok(kwire._poll(lambda: partition_count(b, "grown") == 3, "3 partitions", 10),
         "the topic has 3 partitions")
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.produce_request(1, "grown", 0, kwire.record_batch(
            [b"a", b"b", b"c"])))
    t.eq(delete_records(b, "grown", 2), [("grown", [(0, 2, 0)])],
         "DeleteRecords v2: the new low watermark")
    t.eq(alter_configs(b, "grown", "retention.ms", "7777"),
         [(0, None, RESOURCE_TOPIC, "grown")], "AlterConfigs v2")
    for version in (3, 4):
        cfg = describe_configs(b, version, RESOURCE_TOPIC, "grown", False)
        types = {k: cfg.get(k, (None, None))[1] for k in (
            "cleanup.policy", "retention.ms", "min.insync.replicas", "compression.type",
            "unclean.leader.election.enable", "min.cleanable.dirty.ratio")}
        t.eq(types, {"cleanup.policy": TYPE_LIST, "retention.ms": TYPE_LONG,
                     "min.insync.replicas": TYPE_INT, "compression.type": TYPE_STRING,
                     "unclean.leader.election.enable": TYPE_BOOLEAN,
                     "min.cleanable.dirty.ratio": TYPE_DOUBLE},
             f"DescribeConfigs v{version}: each topic setting's type")
        t.eq(cfg.get("retention.ms", (None,))[0], "7777", f"v{version}: the value altered")
        t.ok(all(doc is None for _, _, doc in cfg.values()),
             f"v{version}: no documentation when not asked")
        cfg = describe_configs(b, version, RESOURCE_TOPIC, "grown", True)
        t.ok(cfg and all(doc for _, _, doc in cfg.values()),
             f"v{version}: documentation for every setting when asked")
    broker = describe_configs(b, 4, RESOURCE_BROKER, "1", True)
    t.eq((broker.get("log.retention.ms", (None, None))[1],
          broker.get("num.partitions", (None, None))[1]), (TYPE_LONG, TYPE_INT),
         "DescribeConfigs v4 of the broker: each setting's type")
    t.ok(bool(broker.get("num.partitions", (None, None, None))[2]),
         "v4 of the broker: documentation when asked")


def describe_log_dirs(b, version):
    """[(error, dir, {topic: partitions}, total, usable, cordoned)] of
    DescribeLogDirs v4+ (every topic)."""
    r = flexible_call(b, API_DESCRIBE_LOG_DIRS, version, kwire.uvarint(0))
    r.i32()  # throttle
    r.i16()  # top-level error

    def part(rr):
        idx = rr.i32()
        rr.i64(), rr.i64(), rr.i8()  # size, lag, future
        rr.skip_tags()
        return idx

    def topic(rr):
        out = (rr.compact_string(), rr.compact_array(part))
        rr.skip_tags()
        return out

    def result(rr):
        err, path = rr.i16(), rr.compact_string()
        topics = dict(rr.compact_array(topic) or [])
        total, usable = rr.i64(), rr.i64()
        cordoned = rr.i8() if version >= 5 else None
        rr.skip_tags()
        return err, path, topics, total, usable, cordoned
    return r.compact_array(result)


def test_log_dirs(t, b):
    for version in range(4, NEWEST_LOG_DIRS + 1):
        dirs = describe_log_dirs(b, version)
        t.ok(len(dirs) == 1 and dirs[0][0] == 0 and sorted(dirs[0][2].get("grown", [])) ==
             [0, 1, 2] and 0 < dirs[0][4] <= dirs[0][3],
             f"DescribeLogDirs v{version}: the log directory, its partitions, total and usable "
             "bytes", dirs and dirs[0][:2] + dirs[0][3:])
        if version >= 5:
            t.eq(dirs[0][5], 0, "v5: not cordoned")


def test_advertised(t, b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, version=0))
    versions = kwire.parse_api_versions(body, 0)[1]
    apis = (API_CREATE_TOPICS, API_DELETE_TOPICS, API_CREATE_PARTITIONS, API_DELETE_RECORDS,
            API_ALTER_CONFIGS, API_DESCRIBE_CONFIGS)
    t.eq([versions.get(k, (0, 0))[1] for k in apis], [7, 6, 3, 2, 2, 4],
         "ApiVersions advertises CreateTopics up to 7, DeleteTopics 6, CreatePartitions 3, "
         "DeleteRecords 2, AlterConfigs 2, DescribeConfigs 4")


def main():
    t = Tap("topic administration at the newest versions")
    with Broker() as b:
        t.run(test_create, b)
        t.run(test_delete, b)
        t.run(test_partitions_records_configs, b)
        t.run(test_log_dirs, b)
        t.run(test_advertised, b)
    t.done()


if __name__ == "__main__":
    main()
