#!/usr/bin/python3
"""The classic group APIs at their newest versions, as raw requests, checked
against the same answers from Apache Kafka:

- FindCoordinator v3 (flexible) and v4-v6 (several keys, each with its own
  error; a share-group key, key type 2, while share groups are not served,
  and before v6; an unknown key type);
- JoinGroup v9 (MEMBER_ID_REQUIRED, protocol type and name in the answer),
  SyncGroup v5 (a wrong protocol name is INCONSISTENT_GROUP_PROTOCOL),
  Heartbeat v4, DescribeGroups v5 (authorized operations), ListGroups v5
  (states filter), OffsetCommit v9 (the generation as member epoch),
  OffsetFetch v9 (several groups in one request), LeaveGroup v5 (reason),
  DescribeGroups v6 (Kafka 4's: an unknown group is GROUP_ID_NOT_FOUND);
- OffsetCommit and OffsetFetch v10 (Kafka 4's: topics named by id; an id no
  topic has is UNKNOWN_TOPIC_ID), against Runnel only (Kafka 3.9 serves v9);
- SyncGroup v5 parked for the leader's assignment and ended by a rebalance:
  REBALANCE_IN_PROGRESS naming no protocol (null type and name), as Kafka;
- JoinGroup v9's skip_assignment: a static leader that restarts into a
  Stable group is told it leads, with every member, and not to assign;
  before v9 it is named a follower.

Where Kafka 4.3 answers otherwise than the Kafka 3.9 reference (ListGroups'
types filter: 3.9's classic coordinator lists nothing once a type is named;
DescribeGroups v6, which 3.9 does not serve), the check runs against Runnel
only.
"""

import base64
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, target  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
from kwire import (Conn, Reader, compact_string, frame, i8, i16, i32, i64,  # noqa: E402
                   request_header, uvarint, TAGS_NONE)
import kwire  # noqa: E402

SETTINGS = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
NONE = 0
COORDINATOR_NOT_AVAILABLE = 15
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
GROUP_ID_NOT_FOUND = 69
INVALID_REQUEST_MESSAGE = (
    "This most likely occurs because of a request being malformed by the client library or the "
    "message was sent to an incompatible broker. See the broker logs for more details.")
MEMBER_ID_REQUIRED = 79
UNKNOWN_TOPIC_ID = 100
API_OFFSET_COMMIT, API_OFFSET_FETCH, API_FIND_COORDINATOR = 8, 9, 10
API_JOIN_GROUP, API_HEARTBEAT, API_LEAVE_GROUP, API_SYNC_GROUP = 11, 12, 13, 14
API_DESCRIBE_GROUPS, API_LIST_GROUPS, API_DELETE_GROUPS = 15, 16, 42
INT32_MIN = -2147483648
# READ (3), DESCRIBE (8) and DELETE (6), a group's operations, as Kafka's
# 32-bit field when no authorizer restricts them.
GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)


def carray(items):
    return uvarint(len(items) + 1) + b"".join(items)


def cbytes(b):
    return uvarint(0) if b is None else uvarint(len(b) + 1) + b


def read_cbytes(r):
    n = r.uvarint()
    return None if n == 0 else r.take(n - 1)


def subscription(topic):
    """ConsumerProtocolSubscription v0 naming one topic."""
    return i16(0) + i32(1) + kwire.string(topic) + i32(-1)


def flex_call(addr, api, version, body, corr=1):
    """One flexible request (header v2) and its body (header v1 read off)."""
    with Conn(addr, 20) as c:
        got, resp = c.roundtrip(frame(request_header(api, version, corr, header_version=2) + body),
                                flexible_header=True, timeout_s=20)
    assert got == corr, f"correlation id {got}, expected {corr}"
    return Reader(resp)


# ---------------------------------------------------------------- FindCoordinator

def find_v3(addr, key, key_type=0):
    r = flex_call(addr, API_FIND_COORDINATOR, 3, compact_string(key) + i8(key_type) + TAGS_NONE)
    r.i32()
    return {"error": r.i16(), "message": r.compact_string(), "node": r.i32(),
            "host": r.compact_string(), "port": r.i32()}


def find_batched(addr, version, keys, key_type=0):
    body = i8(key_type) + carray([compact_string(k) for k in keys]) + TAGS_NONE
    r = flex_call(addr, API_FIND_COORDINATOR, version, body)
    r.i32()

    def coord(rr):
        c = {"key": rr.compact_string(), "node": rr.i32(), "host": rr.compact_string(),
             "port": rr.i32(), "error": rr.i16(), "message": rr.compact_string()}
        rr.skip_tags()
        return c
    return r.compact_array(coord)


def test_find_coordinator(t, addr):
    host, port = addr.rsplit(":", 1)
    kwire.coordinator(addr, "g-find")  # Kafka creates __consumer_offsets on the first ask
    got = find_v3(addr, "g-find")
    t.eq((got["error"], got["message"], got["host"], got["port"]), (NONE, "NONE", host, int(port)),
         "FindCoordinator v3 (flexible): this broker coordinates the group (message NONE)")
    for version in (4, 5, 6):
        got = find_batched(addr, version, ["g-find-a", "g-find-b"])
        t.eq([(c["key"], c["error"], c["host"], c["port"], c["message"]) for c in got],
             [(k, NONE, host, int(port), "") for k in ("g-find-a", "g-find-b")],
             f"FindCoordinator v{version}: two group keys, each answered")
    got = find_batched(addr, 4, [])
    t.eq(got, [], "FindCoordinator v4: no keys, no coordinators")
    got = find_batched(addr, 6, ["g-share:AAAAAAAAAAAAAAAAAAAAAA:0"], key_type=2)
    t.eq([(c["key"], c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [("g-share:AAAAAAAAAAAAAAAAAAAAAA:0", COORDINATOR_NOT_AVAILABLE, -1, "", -1, "")],
         "FindCoordinator v6: a share-group key while share groups are off")
    got = find_batched(addr, 5, ["g-share:AAAAAAAAAAAAAAAAAAAAAA:0"], key_type=2)
    t.eq([(c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [(INVALID_REQUEST, -1, "", -1, "")],
         "FindCoordinator v5: a share-group key before v6 is INVALID_REQUEST")
    got = find_v3(addr, "g-share:AAAAAAAAAAAAAAAAAAAAAA:0", key_type=2)
    t.eq((got["error"], got["message"], got["node"], got["host"], got["port"]),
         (INVALID_REQUEST, INVALID_REQUEST_MESSAGE, -1, "", -1),
         "FindCoordinator v3: a share-group key is INVALID_REQUEST, with Kafka's message")
    got = find_v3(addr, "k", key_type=7)
    t.eq((got["error"], got["message"]), (INVALID_REQUEST, INVALID_REQUEST_MESSAGE),
         "FindCoordinator v3: an unknown key type is INVALID_REQUEST, with Kafka's message")
    got = find_batched(addr, 4, ["k1", "k2"], key_type=7)
    t.eq([(c["key"], c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [(k, INVALID_REQUEST, -1, "", -1, INVALID_REQUEST_MESSAGE) for k in ("k1", "k2")],
         "FindCoordinator v4: an unknown key type is INVALID_REQUEST for every key")


# ---------------------------------------------------------------- the protocol

def join_v(addr, version, group, topic, member_id="", instance=None, reason=None,
           protocols=("range",)):
    body = (compact_string(group) + i32(10000) + i32(30000) + compact_string(member_id) +
            compact_string(instance) + compact_string("consumer") +
            carray([compact_string(p) + cbytes(subscription(topic)) + TAGS_NONE
                    for p in protocols]))
    if version >= 8:
        body += compact_string(reason)
    r = flex_call(addr, API_JOIN_GROUP, version, body + TAGS_NONE)
    r.i32()
    out = {"error": r.i16(), "generation": r.i32()}
    if version >= 7:
        out["protocol_type"], out["protocol_name"] = r.compact_string(), r.compact_string()
    else:
        out["protocol_name"] = r.compact_string()
    out["leader"] = r.compact_string()
    out["skip"] = bool(r.i8()) if version >= 9 else None
    out["member_id"] = r.compact_string()

    def member(rr):
        m = (rr.compact_string(), rr.compact_string())
        read_cbytes(rr)
        rr.skip_tags()
        return m
    out["members"] = sorted(r.compact_array(member) or [])
    return out


def sync_v5_request(group, generation, member_id, assignments=(), instance=None,
                    protocol_name="range"):
    return (compact_string(group) + i32(generation) + compact_string(member_id) +
            compact_string(instance) + compact_string("consumer") +
            compact_string(protocol_name) +
            carray([compact_string(m) + cbytes(a) + TAGS_NONE for m, a in assignments]) +
            TAGS_NONE)


def read_sync_v5(r):
    r.i32()
    return {"error": r.i16(), "protocol_type": r.compact_string(),
            "protocol_name": r.compact_string(), "assignment": read_cbytes(r)}


def sync_v5(addr, group, generation, member_id, assignments=(), instance=None,
            protocol_name="range"):
    body = sync_v5_request(group, generation, member_id, assignments, instance, protocol_name)
    return read_sync_v5(flex_call(addr, API_SYNC_GROUP, 5, body))


def heartbeat_v4(addr, group, generation, member_id, instance=None):
    body = (compact_string(group) + i32(generation) + compact_string(member_id) +
            compact_string(instance) + TAGS_NONE)
    r = flex_call(addr, API_HEARTBEAT, 4, body)
    r.i32()
    return r.i16()


def leave_v5(addr, group, members):
    body = compact_string(group) + carray(
        [compact_string(m) + compact_string(i) + compact_string("done") + TAGS_NONE
         for m, i in members]) + TAGS_NONE
    r = flex_call(addr, API_LEAVE_GROUP, 5, body)
    r.i32()
    top = r.i16()

    def member(rr):
        m = (rr.compact_string(), rr.compact_string(), rr.i16())
        rr.skip_tags()
        return m
    return top, r.compact_array(member)


def describe_v5(addr, groups, include_ops, version=5):
    body = carray([compact_string(g) for g in groups]) + i8(1 if include_ops else 0) + TAGS_NONE
    r = flex_call(addr, API_DESCRIBE_GROUPS, version, body)
    r.i32()

    def member(rr):
        m = {"member_id": rr.compact_string(), "instance": rr.compact_string(),
             "client_id": rr.compact_string(), "client_host": rr.compact_string(),
             "metadata": read_cbytes(rr), "assignment": read_cbytes(rr)}
        rr.skip_tags()
        return m

    def group(rr):
        g = {"error": rr.i16()}
        if version >= 6:
            g["message"] = rr.compact_string()
        g.update({"group_id": rr.compact_string(), "state": rr.compact_string(),
             "protocol_type": rr.compact_string(), "protocol": rr.compact_string(),
             "members": rr.compact_array(member), "ops": rr.i32()})
        rr.skip_tags()
        return g
    return r.compact_array(group)


def list_v5(addr, states=(), types=()):
    body = (carray([compact_string(s) for s in states]) +
            carray([compact_string(s) for s in types]) + TAGS_NONE)
    r = flex_call(addr, API_LIST_GROUPS, 5, body)
    r.i32()
    err = r.i16()

    def group(rr):
        g = (rr.compact_string(), rr.compact_string(), rr.compact_string(), rr.compact_string())
        rr.skip_tags()
        return g
    return err, {g[0]: g[1:] for g in r.compact_array(group)}


def topic_ref(topic, version):
    """A topic as v10 names it (its 16-byte id) or before (its name)."""
    return topic if version >= 10 else compact_string(topic)


def read_topic_ref(r, version):
    return r.take(16) if version >= 10 else r.compact_string()


def commit_v9(addr, group, generation, member_id, topic, offsets, instance=None, version=9):
    """topic: a name, or from v10 a 16-byte id."""
    parts = [i32(p) + i64(o) + i32(-1) + compact_string("m") + TAGS_NONE for p, o in offsets]
    body = (compact_string(group) + i32(generation) + compact_string(member_id) +
            compact_string(instance) +
            carray([topic_ref(topic, version) + carray(parts) + TAGS_NONE]) + TAGS_NONE)
    r = flex_call(addr, API_OFFSET_COMMIT, version, body)
    r.i32()

    def part(rr):
        p = (rr.i32(), rr.i16())
        rr.skip_tags()
        return p

    def topic_(rr):
        name = read_topic_ref(rr, version)
        ps = rr.compact_array(part)
        rr.skip_tags()
        return [(name,) + p for p in ps]
    return sorted(x for ts in r.compact_array(topic_) for x in ts)


def fetch_v9(addr, groups, version=9):
    """groups: [(group_id, member_id, epoch, {topic: [partitions]} or None)];
    a topic is a name, or from v10 a 16-byte id."""
    def group_req(g, member, epoch, topics):
        t = (uvarint(0) if topics is None else carray(
            [topic_ref(n, version) + carray([i32(p) for p in ps]) + TAGS_NONE
             for n, ps in topics.items()]))
        return compact_string(g) + compact_string(member) + i32(epoch) + t + TAGS_NONE
    body = carray([group_req(*g) for g in groups]) + i8(0) + TAGS_NONE
    r = flex_call(addr, API_OFFSET_FETCH, version, body)
    r.i32()

    def part(rr):
        p = (rr.i32(), rr.i64(), rr.i32(), rr.compact_string(), rr.i16())
        rr.skip_tags()
        return p

    def topic_(rr):
        name = read_topic_ref(rr, version)
        ps = rr.compact_array(part)
        rr.skip_tags()
        return [(name,) + p for p in ps]

    def group(rr):
        gid = rr.compact_string()
        ts = rr.compact_array(topic_)
        err = rr.i16()
        rr.skip_tags()
        return gid, err, sorted(x for t in ts for x in t)
    return r.compact_array(group)


def test_protocol(t, addr):
    topic, group = "grpver-t", "g-ver"
    create_topic(addr, topic, 2)
    first = join_v(addr, 9, group, topic, reason="start")
    t.eq((first["error"], first["generation"], first["leader"]), (MEMBER_ID_REQUIRED, -1, ""),
         "JoinGroup v9 without a member id: MEMBER_ID_REQUIRED")
    t.eq((first["protocol_type"], first["protocol_name"], first["skip"]), (None, None, False),
         "JoinGroup v9 error: protocol type and name null")
    member = first["member_id"]
    t.ok(member.startswith("kwire-"), "JoinGroup v9: a member id from the client id", member)
    joined = join_v(addr, 9, group, topic, member_id=member, reason="member id given")
    t.eq((joined["error"], joined["generation"], joined["protocol_type"],
          joined["protocol_name"], joined["leader"], joined["skip"], joined["members"]),
         (NONE, 1, "consumer", "range", member, False, [(member, None)]),
         "JoinGroup v9: generation 1, protocol type and name, the only member leads")
    gen = joined["generation"]
    desc = describe_v5(addr, [group], False)
    t.eq([(d["state"], d["protocol"], [(m["member_id"], m["metadata"], m["assignment"])
                                       for m in d["members"]]) for d in desc],
         [("CompletingRebalance", "", [(member, b"", b"")])],
         "DescribeGroups before the assignment: no protocol, members without metadata")
    bad = sync_v5(addr, group, gen, member, [(member, b"a")], protocol_name="roundrobin")
    t.eq(bad["error"], INCONSISTENT_GROUP_PROTOCOL,
         "SyncGroup v5 naming another protocol: INCONSISTENT_GROUP_PROTOCOL")
    synced = sync_v5(addr, group, gen, member, [(member, b"assignment-1")])
    t.eq(synced, {"error": NONE, "protocol_type": "consumer", "protocol_name": "range",
                  "assignment": b"assignment-1"}, "SyncGroup v5: the leader's assignment")
    t.eq(heartbeat_v4(addr, group, gen, member), NONE, "Heartbeat v4: a stable member")
    t.eq(heartbeat_v4(addr, group, gen + 5, member), ILLEGAL_GENERATION,
         "Heartbeat v4: another generation is ILLEGAL_GENERATION")

    desc = describe_v5(addr, [group, "g-ver-none"], True)
    got = [(d["group_id"], d["error"], d["state"], d["protocol_type"], d["protocol"], d["ops"],
            [(m["member_id"], m["assignment"]) for m in d["members"]]) for d in desc]
    t.eq(got, [(group, NONE, "Stable", "consumer", "range", GROUP_OPERATIONS,
                [(member, b"assignment-1")]),
               ("g-ver-none", NONE, "Dead", "", "", GROUP_OPERATIONS, [])],
         "DescribeGroups v5 with authorized operations: READ, DESCRIBE, DELETE")
    desc = describe_v5(addr, [group], False)
    t.eq([d["ops"] for d in desc], [INT32_MIN],
         "DescribeGroups v5 without authorized operations: INT32_MIN")
    if target() == "kafka":
        t.skip("DescribeGroups v6", "Kafka 3.9 serves DescribeGroups up to v5")
    else:
        desc = describe_v5(addr, [group, "g-ver-none"], False, version=6)
        t.eq([(d["group_id"], d["error"], d["message"], d["state"]) for d in desc],
             [(group, NONE, None, "Stable"),
              ("g-ver-none", GROUP_ID_NOT_FOUND, "Group g-ver-none not found.", "Dead")],
             "DescribeGroups v6: an unknown group is GROUP_ID_NOT_FOUND, with a message")

    err, listed = list_v5(addr)
    t.eq((err, listed.get(group, (None,))[:2]), (NONE, ("consumer", "Stable")),
         "ListGroups v5: the group with its type and state")
    t.diag(f"ListGroups v5 group: {listed.get(group)}")
    err, listed = list_v5(addr, states=["stable"])
    t.ok(group in listed, "ListGroups v5: states filter (any case) keeps a Stable group", listed)
    err, listed = list_v5(addr, states=["Empty"])
    t.ok(group not in listed, "ListGroups v5: states filter drops a Stable group", listed)
    if target() == "kafka":
        t.skip("ListGroups v5 types filter", "Kafka 3.9's classic coordinator lists none")
    else:
        err, listed = list_v5(addr, types=["Classic"])
        t.eq(listed.get(group), ("consumer", "Stable", "classic"),
             "ListGroups v5: types filter classic keeps a classic group")
        err, listed = list_v5(addr, types=["consumer"])
        t.ok(group not in listed, "ListGroups v5: types filter consumer drops it", listed)

    got = commit_v9(addr, group, gen, member, topic, [(0, 5), (1, 7)])
    t.eq(got, [(topic, 0, NONE), (topic, 1, NONE)],
         "OffsetCommit v9: the generation as member epoch")
    got = commit_v9(addr, group, gen + 1, member, topic, [(0, 9)])
    t.eq(got, [(topic, 0, ILLEGAL_GENERATION)],
         "OffsetCommit v9: another epoch of a classic group is ILLEGAL_GENERATION")
    got = commit_v9(addr, group, gen, "nobody", topic, [(0, 9)])
    t.eq(got, [(topic, 0, UNKNOWN_MEMBER_ID)], "OffsetCommit v9: an unknown member")
    got = commit_v9(addr, "g-ver-admin", -1, "", topic, [(1, 3)])
    t.eq(got, [(topic, 1, NONE)], "OffsetCommit v9: an admin commit to a new group")

    got = fetch_v9(addr, [(group, member, gen, {topic: [0, 1]}),
                          ("g-ver-admin", None, -1, None),
                          ("g-ver-none", None, -1, {topic: [0]})])
    t.eq(got, [(group, NONE, [(topic, 0, 5, -1, "m", NONE), (topic, 1, 7, -1, "m", NONE)]),
               ("g-ver-admin", NONE, [(topic, 1, 3, -1, "m", NONE)]),
               ("g-ver-none", NONE, [(topic, 0, -1, -1, "", NONE)])],
         "OffsetFetch v9: three groups in one request, each answered")

    top, members = leave_v5(addr, group, [(member, None), ("nobody", None)])
    t.eq((top, members), (NONE, [(member, None, NONE), ("nobody", None, UNKNOWN_MEMBER_ID)]),
         "LeaveGroup v5 with a reason: each member answered")
    desc = describe_v5(addr, [group], False)
    t.eq(desc[0]["state"], "Empty", "LeaveGroup v5: the group is Empty after its member left")

    got = delete_v2(addr, ["g-ver-admin", "g-ver-unknown"])
    t.eq(sorted(got), [("g-ver-admin", NONE), ("g-ver-unknown", GROUP_ID_NOT_FOUND)],
         "DeleteGroups v2: an empty group deleted, an unknown one GROUP_ID_NOT_FOUND "
         "(in any order, as Kafka answers)")


def delete_v2(addr, groups):
    """[(group, error)] of DeleteGroups v2 (flexible)."""
    r = flex_call(addr, API_DELETE_GROUPS, 2,
                  carray([compact_string(g) for g in groups]) + TAGS_NONE)
    r.i32()  # throttle

    def result(rr):
        out = (rr.compact_string(), rr.i16())
        rr.skip_tags()
        return out
    return r.compact_array(result)


def topic_id_from_log(broker, topic):
    """The topic's id as the broker logged it at creation (Kafka's base64)."""
    with open(broker.log_path) as f:
        m = re.search(r"created %s with \d+ partition\(s\), topic id (\S+)" % re.escape(topic),
                      f.read())
    return base64.urlsafe_b64decode(m.group(1) + "==") if m else None


def test_offsets_by_topic_id(t, broker):
    addr, topic, group = broker.bootstrap, "grpver-ids", "g-ver-ids"
    create_topic(addr, topic, 2)
    tid = topic_id_from_log(broker, topic)
    if not t.ok(tid is not None and len(tid) == 16, "the topic's id from the broker's log"):
        return
    nobody = bytes(range(1, 17))
    got = commit_v9(addr, group, -1, "", tid, [(0, 11), (1, 12)], version=10)
    t.eq(got, [(tid, 0, NONE), (tid, 1, NONE)], "OffsetCommit v10: a commit by topic id")
    got = commit_v9(addr, group, -1, "", nobody, [(0, 13)], version=10)
    t.eq(got, [(nobody, 0, UNKNOWN_TOPIC_ID)], "OffsetCommit v10: an unknown topic id")
    got = fetch_v9(addr, [(group, None, -1, {tid: [0, 1], nobody: [0]})], version=10)
    t.eq(got, [(group, NONE, sorted([(tid, 0, 11, -1, "m", NONE), (tid, 1, 12, -1, "m", NONE),
                                     (nobody, 0, -1, -1, "", UNKNOWN_TOPIC_ID)]))],
         "OffsetFetch v10: offsets by topic id; an unknown id is UNKNOWN_TOPIC_ID")
    got = fetch_v9(addr, [(group, None, -1, None)], version=10)
    t.eq(got, [(group, NONE, [(tid, 0, 11, -1, "m", NONE), (tid, 1, 12, -1, "m", NONE)])],
         "OffsetFetch v10: all of a group's offsets, named by topic id")
    got = fetch_v9(addr, [(group, None, -1, {topic: [0]})])
    t.eq(got, [(group, NONE, [(topic, 0, 11, -1, "m", NONE)])],
         "OffsetFetch v9 reads by name what v10 committed by id")


def join_parked(conn, group, topic, member_id, corr):
    """Sends a JoinGroup v9 on conn without waiting for its answer."""
    body = (compact_string(group) + i32(10000) + i32(30000) + compact_string(member_id) +
            compact_string(None) + compact_string("consumer") +
            carray([compact_string("range") + cbytes(subscription(topic)) + TAGS_NONE]) +
            compact_string(None) + TAGS_NONE)
    conn.send(frame(request_header(API_JOIN_GROUP, 9, corr, header_version=2) + body))


def test_sync_parked_error(t, addr):
    """A follower's SyncGroup v5 waiting for the leader's assignment, ended
    by a new member's join: REBALANCE_IN_PROGRESS, naming no protocol."""
    topic, group = "grpver-p", "g-ver-parked"
    create_topic(addr, topic, 2)
    lead = join_v(addr, 9, group, topic)["member_id"]
    gen = join_v(addr, 9, group, topic, member_id=lead)["generation"]
    sync_v5(addr, group, gen, lead, [(lead, b"x")])
    follower = join_v(addr, 9, group, topic)["member_id"]
    with Conn(addr, 20) as c_follower, Conn(addr, 20) as c_lead, Conn(addr, 20) as c_new:
        join_parked(c_follower, group, topic, follower, 11)  # starts a rebalance
        join_parked(c_lead, group, topic, lead, 12)  # completes it
        f_join = Reader(c_follower.recv_response(True, 20)[1])
        c_lead.recv_response(True, 20)
        f_join.i32()
        err, gen2 = f_join.i16(), f_join.i32()
        t.eq(err, NONE, "a second member joins")
        c_follower.send(frame(request_header(API_SYNC_GROUP, 5, 13, header_version=2) +
                              sync_v5_request(group, gen2, follower)))
        newcomer = join_v(addr, 9, group, topic)["member_id"]
        join_parked(c_new, group, topic, newcomer, 14)  # the follower's sync ends
        got = read_sync_v5(Reader(c_follower.recv_response(True, 20)[1]))
        # The others leave, so the newcomer's join completes (none stays parked).
        leave_v5(addr, group, [(lead, None), (follower, None)])
        done = Reader(c_new.recv_response(True, 20)[1])
        done.i32()
        t.eq(done.i16(), NONE, "the newcomer's join completes once the others left")
    t.eq(got, {"error": REBALANCE_IN_PROGRESS, "protocol_type": None, "protocol_name": None,
               "assignment": b""},
         "SyncGroup v5 waiting, ended by a rebalance: REBALANCE_IN_PROGRESS, no protocol named")


def test_skip_assignment(t, addr):
    topic, group = "grpver-s", "g-ver-static"
    create_topic(addr, topic, 2)
    lead = join_v(addr, 9, group, topic, instance="i-lead")
    t.eq((lead["error"], lead["leader"] == lead["member_id"]), (NONE, True),
         "JoinGroup v9: a static member joins and leads")
    old = lead["member_id"]
    synced = sync_v5(addr, group, lead["generation"], old, [(old, b"mine")], instance="i-lead")
    t.eq(synced["error"], NONE, "SyncGroup v5: the static leader's assignment stored")

    again = join_v(addr, 9, group, topic, instance="i-lead")
    new = again["member_id"]
    t.eq((again["error"], again["generation"], new != old, again["leader"] == new, again["skip"],
          again["members"]),
         (NONE, lead["generation"], True, True, True, [(new, "i-lead")]),
         "JoinGroup v9: a restarted static leader leads, with every member, skip_assignment")
    synced = sync_v5(addr, group, again["generation"], new, [], instance="i-lead")
    t.eq((synced["error"], synced["assignment"]), (NONE, b"mine"),
         "SyncGroup v5 after skip_assignment: the stored assignment")
    t.eq(heartbeat_v4(addr, group, again["generation"], old, "i-lead"), 82,
         "Heartbeat v4 from the replaced member id: FENCED_INSTANCE_ID")

    older = join_v(addr, 8, group, topic, instance="i-lead")
    t.eq((older["error"], older["generation"], older["leader"], older["members"]),
         (NONE, lead["generation"], new, []),
         "JoinGroup v8: a restarted static leader is named a follower (the old leader id)")
    synced = sync_v5(addr, group, older["generation"], older["member_id"], [], instance="i-lead")
    t.eq((synced["error"], synced["assignment"]), (NONE, b"mine"),
         "SyncGroup v5 after a v8 rejoin: the stored assignment")


def main():
    t = Tap("group APIs at their newest versions")
    with Broker(SETTINGS) as b:
        t.run(test_find_coordinator, b.bootstrap)
        t.run(test_protocol, b.bootstrap)
        t.run(test_skip_assignment, b.bootstrap)
        t.run(test_sync_parked_error, b.bootstrap)
        if target() == "runnel":
            t.run(test_offsets_by_topic_id, b)
        else:
            t.skip("OffsetCommit and OffsetFetch v10", "Kafka 3.9 serves them up to v9")
    t.done()


if __name__ == "__main__":
    main()
