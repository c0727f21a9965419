#!/usr/bin/python3
"""Metadata at its newest versions (raw v8 to v13, the flexible ones from
v9), answered as Kafka 3.9 answers them (v13, Kafka 4.x's, adds only a
top-level error code):

- every version from 4 to the newest names an existing topic the same
  (partitions, leaders); from v10 the answer carries the topic id;
- v12 looks a topic up by its id (the name null): the answer names it;
  an unknown id: UNKNOWN_TOPIC_ID with a null name, never auto-created;
- authorized operations (v8+): asked for, the bitfield of what the
  caller may do with the topic (with no authorizer, everything, also
  for a topic not found); not asked, Kafka's "not asked" value; the
  cluster's (v8 to v10) likewise;
- an unknown name: UNKNOWN_TOPIC_OR_PARTITION when auto-creation is off,
  and INVALID_TOPIC_EXCEPTION for a name no topic may have;
- ApiVersions advertises Metadata up to 13 (Kafka 3.9: 12).

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9 (or 4.3,
with KAFKA_JARS naming its jars)."""

import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, newest  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

TOPIC = "meta-versions"
PARTITIONS = 3
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
UNKNOWN_TOPIC_ID = 100
# The newest version: Kafka 4.3's (Runnel's), or the reference Kafka's.
NEWEST = newest(13, 12, 13)
NOT_ASKED = -2147483648  # the schema's default: authorized operations not requested
# Kafka's ACL operation codes, as bits: READ, WRITE, CREATE, DELETE, ALTER,
# DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS for a topic (3576); CREATE,
# ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
# IDEMPOTENT_WRITE for the cluster (8096).
TOPIC_OPS_ALL = sum(1 << b for b in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPS_ALL = sum(1 << b for b in (5, 7, 8, 9, 10, 11, 12))


def request(version, topics, auto_create=False, cluster_ops=False, topic_ops=False):
    """Metadata v4+ raw: topics None (every topic) or [(name or None, id
    bytes or None)]."""
    flexible = version >= 9
    hdr = kwire.request_header(kwire.API_METADATA, version, 7, "kwire", 2 if flexible else 1)

    def topic(name, tid):
        out = (tid or bytes(16)) if version >= 10 else b""
        if flexible:
            return out + kwire.compact_string(name) + kwire.TAGS_NONE
        return out + kwire.string(name)
    if topics is None:
        body = kwire.uvarint(0) if flexible else kwire.i32(-1)
    elif flexible:
        body = kwire.uvarint(len(topics) + 1) + b"".join(topic(n, i) for n, i in topics)
    else:
        body = kwire.array([topic(n, i) for n, i in topics])
    body += kwire.i8(1 if auto_create else 0)
    if 8 <= version <= 10:
        body += kwire.i8(1 if cluster_ops else 0)
    if version >= 8:
        body += kwire.i8(1 if topic_ops else 0)
    if flexible:
        body += kwire.TAGS_NONE
    return kwire.frame(hdr + body)


def parse(body, version):
    """(brokers, {name or id: topic}, cluster ops) of a v4+ answer; a topic
    is a dict with error, name, id, internal, partitions [(index, error,
    leader)], ops."""
    flexible = version >= 9
    r = kwire.Reader(body)
    r.i32()  # throttle
    string = r.compact_string if flexible else r.string
    arr = r.compact_array if flexible else r.array

    def broker(rr):
        b = (rr.i32(), string(), rr.i32(), string())
        if flexible:
            rr.skip_tags()
        return b

    def ints(rr):
        return arr(lambda x: x.i32())

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        if version >= 7:
            rr.i32()  # leader epoch
        ints(rr), ints(rr)  # replicas, ISR
        if version >= 5:
            ints(rr)  # offline
        if flexible:
            rr.skip_tags()
        return idx, err, leader

    def topic(rr):
        t = {"error": rr.i16(), "name": string()}
        t["id"] = rr.take(16) if version >= 10 else None
        t["internal"] = rr.i8()
        t["partitions"] = sorted(arr(part) or [])
        t["ops"] = rr.i32() if version >= 8 else None
        if flexible:
            rr.skip_tags()
        return t
    brokers = arr(broker)
    string()  # cluster id
    r.i32()  # controller
    topics = arr(topic) or []
    cluster_ops = r.i32() if 8 <= version <= 10 else None
    if version >= 13 and r.i16() != 0:
        raise AssertionError("a top-level error")
    return brokers, topics, cluster_ops


def ask(b, version, topics, **kw):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(request(version, topics, **kw), flexible_header=version >= 9)
    return parse(body, version)


def test_versions(t, b):
    create_topic(b.bootstrap, TOPIC, PARTITIONS)
    seen = {}
    for version in range(4, NEWEST + 1):
        _, topics, _ = ask(b, version, [(TOPIC, None)])
        seen[version] = topics[0] if len(topics) == 1 else None
    parts = {v: [(i, e, leader >= 0) for i, e, leader in s["partitions"]] if s else None
             for v, s in seen.items()}
    want = [(i, 0, True) for i in range(PARTITIONS)]
    t.ok(all(p == want for p in parts.values()),
         f"Metadata v4 to v{NEWEST} by name: the topic's partitions, each with a leader", parts)
    ids = {v: s["id"] for v, s in seen.items() if s and v >= 10}
    tid = ids.get(12)
    t.ok(tid and tid != bytes(16) and set(ids.values()) == {tid},
         f"v10 to v{NEWEST} carry the same topic id, not zero", ids)
    return tid


def test_by_id(t, b, tid):
    for version in range(12, NEWEST + 1):
        _, topics, _ = ask(b, version, [(None, tid)])
        got = topics[0] if len(topics) == 1 else {}
        t.eq((got.get("error"), got.get("name"), got.get("id"), len(got.get("partitions", []))),
             (0, TOPIC, tid, PARTITIONS), f"v{version} by topic id (name null): the topic, named")
    unknown = uuid.uuid4().bytes
    _, topics, _ = ask(b, NEWEST, [(None, unknown)], auto_create=True)
    got = topics[0] if len(topics) == 1 else {}
    t.eq((got.get("error"), got.get("name"), got.get("id"), got.get("partitions")),
         (UNKNOWN_TOPIC_ID, None, unknown, []),
         f"v{NEWEST} by an unknown topic id: UNKNOWN_TOPIC_ID, the name null, the id echoed")


def test_unknown_names(t, b):
    for version in (4, 9, NEWEST):
        _, topics, _ = ask(b, version, [("no-such-topic", None)])
        t.eq([x["error"] for x in topics], [UNKNOWN_TOPIC_OR_PARTITION],
             f"v{version}, an unknown name, auto-creation off: UNKNOWN_TOPIC_OR_PARTITION")
    _, topics, _ = ask(b, 12, [("bad/name", None)])
    t.eq([x["error"] for x in topics], [INVALID_TOPIC_EXCEPTION],
         "v12, a name no topic may have: INVALID_TOPIC_EXCEPTION")


def test_authorized_operations(t, b):
    for version in (8, 10, NEWEST):
        _, topics, cluster = ask(b, version, [(TOPIC, None)], cluster_ops=True, topic_ops=True)
        t.eq(([x["ops"] for x in topics], cluster),
             ([TOPIC_OPS_ALL], CLUSTER_OPS_ALL if version <= 10 else None),
             f"v{version}, operations asked: every topic operation (no authorizer)" +
             (", and every cluster operation" if version <= 10 else ""))
        _, topics, cluster = ask(b, version, [(TOPIC, None)])
        t.eq(([x["ops"] for x in topics], cluster),
             ([NOT_ASKED], NOT_ASKED if version <= 10 else None),
             f"v{version}, not asked: the 'not asked' value")
    _, topics, _ = ask(b, 12, [("no-such-topic", None)], topic_ops=True)
    t.eq([(x["error"], x["ops"]) for x in topics], [(UNKNOWN_TOPIC_OR_PARTITION, TOPIC_OPS_ALL)],
         "an unknown topic, operations asked: its error, and the operations as for any")


def test_advertised(t, b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, version=0))
    versions = kwire.parse_api_versions(body, 0)[1]
    t.eq(versions.get(kwire.API_METADATA, (0, 0))[1], NEWEST,
         f"ApiVersions advertises Metadata up to {NEWEST}")


def main():
    t = Tap(f"Metadata v8 to v{NEWEST}")
    with Broker() as b:
        tid = t.run(test_versions, b)
        if tid:
            t.run(test_by_id, b, tid)
        t.run(test_unknown_names, b)
        t.run(test_authorized_operations, b)
        t.run(test_advertised, b)
    t.done()


if __name__ == "__main__":
    main()
