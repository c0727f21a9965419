#!/usr/bin/python3
"""Group administration and the size of __consumer_offsets, against a live
broker:

- kafka-python's admin client lists and describes groups (state, members,
  assignments) and lists committed offsets; offsets of an Empty group are
  reset with a plain commit, which an active group refuses
  (UNKNOWN_MEMBER_ID); DeleteGroups deletes an Empty group and answers
  GROUP_ID_NOT_FOUND and NON_EMPTY_GROUP; OffsetDelete (raw protocol) drops
  an Empty group's offsets and answers GROUP_ID_NOT_FOUND and
  GROUP_SUBSCRIBED_TO_TOPIC;
- 1,000,000 offset commits to a few keys (raw OffsetCommit v2, pipelined)
  leave __consumer_offsets bounded on disk (on every node of a cluster: the
  followers' copies too), and the last offsets read back after a restart.

COMMITS=N changes the number of commits.
"""

import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition  # noqa: E402
import kafka.admin  # noqa: E402
import kafka.errors  # noqa: E402

COMMITS = int(os.environ.get("COMMITS", "1000000"))
KEYS_PER_COMMIT = 4
SEGMENT_BYTES = 1 << 20
BOUND_BYTES = 16 << 20
UNKNOWN_MEMBER_ID = 25
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
GROUP_SUBSCRIBED_TO_TOPIC = 86
API_OFFSET_COMMIT = 8
API_OFFSET_DELETE = 47




def active_consumer(bootstrap, group, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    c.subscribe([topic])
    deadline = time.monotonic() + 30
    while not c.assignment() and time.monotonic() < deadline:
        c.poll(0.1)
    return c


def commit_plain(bootstrap, group, offsets):
    """A commit outside group membership (generation -1), as offset resets do."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=offsets, asynchronous=False)
        return None
    except KafkaException as e:
        return e.args[0].code()
    finally:
        c.close()


def offset_delete(bootstrap, group, topic, partitions):
    body = (kwire.string(group) + kwire.i32(1) + kwire.string(topic) +
            kwire.i32(len(partitions)) + b"".join(kwire.i32(p) for p in partitions))
    req = kwire.frame(kwire.request_header(API_OFFSET_DELETE, 0, 1) + body)
    with kwire.Conn(kwire.coordinator(bootstrap, group)) as conn:
        _, resp = conn.roundtrip(req)
    r = kwire.Reader(resp)
    top = r.i16()
    r.i32()
    errs = {}
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            p = r.i32()
            errs[p] = r.i16()
    return top, errs


def admin_errors(results):
    return {g: (type(e).errno if e is not None and not isinstance(e, type) else
                getattr(e, "errno", None)) for g, e in results}


def test_admin(t, bootstrap):
    topic = "admin-groups"
    create_topic(bootstrap, topic, 3)
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=bootstrap)
    live = active_consumer(bootstrap, "g-live", topic)
    try:
        err = commit_plain(bootstrap, "g-empty", [TopicPartition(topic, p, 10 + p) for p in range(3)])
        t.eq(err, None, "an offset reset (plain commit) of a new/Empty group works")
        err = commit_plain(bootstrap, "g-live", [TopicPartition(topic, 0, 1)])
        t.eq(err, UNKNOWN_MEMBER_ID, "a plain commit to an active group: UNKNOWN_MEMBER_ID")
        listed = dict(admin.list_consumer_groups())
        t.ok("g-live" in listed and "g-empty" in listed, "ListGroups lists both groups", listed)
        t.eq(listed.get("g-live"), "consumer", "ListGroups: protocol type consumer")
        desc = {d.group: d for d in admin.describe_consumer_groups(["g-live", "g-empty", "g-none"])}
        t.eq(desc["g-live"].state, "Stable", "DescribeGroups: the active group is Stable")
        t.eq(len(desc["g-live"].members), 1, "DescribeGroups: one member")
        asg = desc["g-live"].members[0].member_assignment if desc["g-live"].members else None
        t.eq(sorted(p for _, ps in asg.assignment for p in ps) if asg else None, [0, 1, 2],
             "DescribeGroups: the member's assignment is decodable and complete")
        t.eq(desc["g-live"].protocol, "range", "DescribeGroups: the selected protocol")
        host = desc["g-live"].members[0].client_host if desc["g-live"].members else None
        t.eq(host, "/127.0.0.1", "DescribeGroups: the member's host is its address")
        t.eq(desc["g-empty"].state, "Empty", "DescribeGroups: the reset-only group is Empty")
        t.eq(desc["g-none"].state, "Dead", "DescribeGroups: an unknown group is Dead")
        offs = admin.list_consumer_group_offsets("g-empty")
        t.eq(sorted((tp.partition, om.offset) for tp, om in offs.items()),
             [(0, 10), (1, 11), (2, 12)], "OffsetFetch (all topics) lists the committed offsets")
        top, errs = offset_delete(bootstrap, "g-none", topic, [0])
        t.eq(top, GROUP_ID_NOT_FOUND, "OffsetDelete of an unknown group: GROUP_ID_NOT_FOUND")
        top, errs = offset_delete(bootstrap, "g-live", topic, [0])
        t.eq((top, errs), (0, {0: GROUP_SUBSCRIBED_TO_TOPIC}),
             "OffsetDelete on a subscribed topic: GROUP_SUBSCRIBED_TO_TOPIC")
        top, errs = offset_delete(bootstrap, "g-empty", topic, [1])
        t.eq((top, errs), (0, {1: 0}), "OffsetDelete of an Empty group's offset works")
        offs = admin.list_consumer_group_offsets("g-empty")
        t.eq(sorted(tp.partition for tp in offs), [0, 2], "the deleted offset is gone")
        res = dict(admin.delete_consumer_groups(["g-live", "g-none", "g-empty"]))
        codes = {g: (e.errno if e is not None else 0) for g, e in res.items()}
        t.eq(codes, {"g-live": NON_EMPTY_GROUP, "g-none": GROUP_ID_NOT_FOUND, "g-empty": 0},
             "DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, deleted")
        desc = admin.describe_consumer_groups(["g-empty"])[0]
        t.eq(desc.state, "Dead", "a deleted group is Dead")
        t.eq(admin.list_consumer_group_offsets("g-empty"), {}, "a deleted group has no offsets")
    finally:
        live.close()
        admin.close()


# -- bounded __consumer_offsets ---------------------------------------------------

def offsets_disk(data_dir):
    """(bytes of .log segments, segment count) of every __consumer_offsets partition."""
    total, count = 0, 0
    for d in os.listdir(data_dir):
        if not d.startswith("__consumer_offsets-"):
            continue
        for f in os.listdir(os.path.join(data_dir, d)):
            if f.endswith(".log"):
                total += os.path.getsize(os.path.join(data_dir, d, f))
                count += 1
    return total, count


class CommitTemplate:
    """OffsetCommit v2 frames for one group and topic, KEYS_PER_COMMIT
    partitions all at one offset: built once, then patched per request."""

    def __init__(self, group, topic):
        parts = [kwire.i32(p) + kwire.i64(0) + kwire.string("") for p in range(KEYS_PER_COMMIT)]
        head = kwire.request_header(API_OFFSET_COMMIT, 2, 0)
        body = (kwire.string(group) + kwire.i32(-1) + kwire.string("") + kwire.i64(-1) +
                kwire.i32(1) + kwire.string(topic) + kwire.i32(KEYS_PER_COMMIT))
        self.frame = bytearray(kwire.frame(head + body + b"".join(parts)))
        self.corr_at = 4 + 4
        first = 4 + len(head) + len(body)
        self.offset_at = [first + i * len(parts[0]) + 4 for i in range(KEYS_PER_COMMIT)]
        # Response v2 body: [topics: name, [partition int32, error int16]].
        self.error_at = [4 + 4 + 2 + len(topic) + 4 + i * 6 + 4 for i in range(KEYS_PER_COMMIT)]

    def build(self, corr, offset):
        struct.pack_into(">i", self.frame, self.corr_at, corr)
        for at in self.offset_at:
            struct.pack_into(">q", self.frame, at, offset)
        return bytes(self.frame)

    def errors(self, body):
        return {struct.unpack_from(">h", body, at - 4)[0] for at in self.error_at}


def commit_stream(coordinator, tpl, first, count, errors, window=64):
    """Sends requests first..first+count-1 on one connection, keeping up to
    `window` in flight (the broker's per-connection limit)."""
    with kwire.Conn(coordinator, timeout_s=60) as conn:
        sent = done = 0
        while done < count:
            batch = []
            while sent < count and sent - done < window:
                batch.append(tpl.build(first + sent, first + sent + 1))
                sent += 1
            if batch:
                conn.send(b"".join(batch))
            errors |= tpl.errors(conn.recv_frame())
            done += 1


def commit_many(bootstrap, group, topic, requests, streams=8):
    """`requests` OffsetCommit v2 requests over several connections (so one
    fsync covers many); returns the error codes seen. The last request (the
    highest offset) goes alone at the end."""
    tpl_errors = set()
    coordinator = kwire.coordinator(bootstrap, group)
    per = (requests - 1) // streams
    threads = []
    for i in range(streams):
        tpl = CommitTemplate(group, topic)
        count = per if i < streams - 1 else requests - 1 - per * (streams - 1)
        th = threading.Thread(target=commit_stream,
                              args=(coordinator, tpl, i * per, count, tpl_errors))
        th.start()
        threads.append(th)
    for th in threads:
        th.join()
    last = CommitTemplate(group, topic)
    with kwire.Conn(coordinator, timeout_s=60) as conn:
        conn.send(last.build(requests, requests))
        tpl_errors |= last.errors(conn.recv_frame())
    return tpl_errors


def test_bounded(t, broker):
    topic, group = "bounded-offsets", "g-bounded"
    create_topic(broker.bootstrap, topic, KEYS_PER_COMMIT)
    requests = COMMITS // KEYS_PER_COMMIT
    t0 = time.monotonic()
    errors = commit_many(broker.bootstrap, group, topic, requests)
    took = time.monotonic() - t0
    t.eq(errors, {0}, f"{requests * KEYS_PER_COMMIT} commits to {KEYS_PER_COMMIT} keys accepted")
    t.diag(f"{requests} OffsetCommit requests in {took:.1f}s ({requests / took:.0f}/s)")
    raw = requests * 250
    for i, data_dir in enumerate(broker.data_dirs, 1):
        where = f" of node {i}" if len(broker.data_dirs) > 1 else ""
        deadline = time.monotonic() + 90
        size, segments = offsets_disk(data_dir)
        while size > BOUND_BYTES and time.monotonic() < deadline:
            time.sleep(1)  # Kafka's cleaner runs in the background
            size, segments = offsets_disk(data_dir)
        t.ok(size <= BOUND_BYTES, f"__consumer_offsets stays bounded on the disk{where}",
             f"{size} bytes in {segments} segments (about {raw} bytes written)")
        t.diag(f"__consumer_offsets on the disk{where}: {size} bytes in {segments} segment files")
    broker.restart()
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group})
    deadline = time.monotonic() + 60
    while True:
        try:
            got = c.committed([TopicPartition(topic, p) for p in range(KEYS_PER_COMMIT)], timeout=20)
            break
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    c.close()
    t.eq([tp.offset for tp in got], [requests] * KEYS_PER_COMMIT,
         "the last committed offsets read back after a restart")


def main():
    t = Tap("consumer groups: administration and a bounded __consumer_offsets")
    settings = {"group.initial.rebalance.delay.ms": 0,
                "offsets.topic.segment.bytes": SEGMENT_BYTES}
    with Broker(settings) as b:
        t.run(test_admin, b.bootstrap)
        t.run(test_bounded, b)
    t.done()


if __name__ == "__main__":
    main()
