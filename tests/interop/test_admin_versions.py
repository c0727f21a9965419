#!/usr/bin/python3
"""The topic administration APIs at their newest versions (raw, flexible
encodings), answered as Kafka 3.9 answers them:

- CreateTopics v5 to v7: the answer carries the partition count, the
  replication factor and every topic setting with its value and source
  (v5+), and the topic id (v7); a topic that exists: TOPIC_ALREADY_EXISTS
  and an empty list of settings; validate_only creates nothing;
- DeleteTopics v4 to v6: by name (v4, v5 with an error message), by topic
  id (v6: the answer names the topic; an unknown id: UNKNOWN_TOPIC_ID);
- ApiVersions advertises CreateTopics up to 7 and DeleteTopics up to 6.

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9."""

import os
import sys
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
import kwire  # noqa: E402

API_CREATE_TOPICS, API_DELETE_TOPICS = 19, 20
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


def test_advertised(t, b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, version=0))
    versions = kwire.parse_api_versions(body, 0)[1]
    t.eq((versions.get(API_CREATE_TOPICS, (0, 0))[1], versions.get(API_DELETE_TOPICS, (0, 0))[1]),
         (7, 6), "ApiVersions advertises CreateTopics up to 7 and DeleteTopics up to 6")


def main():
    t = Tap("topic administration at the newest versions")
    with Broker() as b:
        t.run(test_create, b)
        t.run(test_delete, b)
        t.run(test_advertised, b)
    t.done()


if __name__ == "__main__":
    main()
