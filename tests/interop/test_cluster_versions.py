#!/usr/bin/env python3
"""The newest protocol versions on three Runnel nodes.

CreateTopics v7 and DeleteTopics v6 sent to a node that is not the active
controller are forwarded to it and its answer relayed whole: the created
topic's id and every setting (an answer larger than a Raft message, which
the forwarding connection once refused), the deleted topic named from its
id.

Leader discovery hints (KIP-951): a Produce (v10+)
or Fetch (v16+) sent to a broker that does not lead the partition is
answered NOT_LEADER_OR_FOLLOWER together with the partition's current
leader and epoch, and the response names where that leader listens (its
node endpoint, once however many partitions it leads); the client goes
there without asking Metadata first. Older versions carry no hint. A
partition led by the broker asked is served as usual, with no hint.

A topic of three partitions, each on one broker (replication factor 1, so
the three have three different leaders). Runnel only (the cluster harness
runs Runnel). Bounded: about 10 s."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import create_topic, metadata, one_leader, settle  # noqa: E402

NODES = 3
TOPIC = "hinted"
NOT_LEADER_OR_FOLLOWER = 6
API_CREATE_TOPICS, API_DELETE_TOPICS = 19, 20


def leaders(c):
    """{partition: leader} once every partition has one, as node 1 shows."""
    parts = metadata(c.node(1), [TOPIC])[1].get(TOPIC) or []
    got = {idx: leader for idx, err, leader, _r, _i in parts if err == 0 and leader >= 0}
    return got if len(got) == NODES else None


def create_v7(node, name):
    """(error, topic id, settings count) of CreateTopics v7 for one topic of
    one partition, replication factor 3, sent to node."""
    topic = (kwire.compact_string(name) + kwire.i32(1) + kwire.i16(3) + kwire.compact_items([])
             + kwire.compact_items([]) + kwire.TAGS_NONE)
    body = kwire.compact_items([topic]) + kwire.i32(20000) + kwire.i8(0) + kwire.TAGS_NONE
    hdr = kwire.request_header(API_CREATE_TOPICS, 7, 5, "kwire", 2)
    with kwire.Conn(node.bootstrap, timeout_s=30) as c:
        _, resp = c.roundtrip(kwire.frame(hdr + body), flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()  # throttle

    def config(rr):
        rr.compact_string(), rr.compact_string(), rr.i8(), rr.i8(), rr.i8()
        rr.skip_tags()

    def result(rr):
        rr.compact_string()
        tid, err = rr.take(16), rr.i16()
        rr.compact_string(), rr.i32(), rr.i16()  # message, partitions, replication factor
        configs = rr.compact_array(config) or []
        rr.skip_tags()
        return err, tid, len(configs)
    return r.compact_array(result)[0]


def delete_v6_by_id(node, tid):
    """[(name, error)] of DeleteTopics v6 naming one topic by id, sent to node."""
    topic = kwire.compact_string(None) + tid + kwire.TAGS_NONE
    body = kwire.compact_items([topic]) + kwire.i32(20000) + kwire.TAGS_NONE
    hdr = kwire.request_header(API_DELETE_TOPICS, 6, 6, "kwire", 2)
    with kwire.Conn(node.bootstrap, timeout_s=30) as c:
        _, resp = c.roundtrip(kwire.frame(hdr + body), flexible_header=True)
    r = kwire.Reader(resp)
    r.i32()

    def result(rr):
        name = rr.compact_string()
        rr.take(16)
        out = (name, rr.i16())
        rr.compact_string()
        rr.skip_tags()
        return out
    return r.compact_array(result)


def scenario_forwarded(t):
    with Cluster(NODES) as c:
        leader = one_leader([c.node(i) for i in range(1, NODES + 1)])
        t.ok(leader is not None, f"an active controller ({leader})")
        other = c.node(next(i for i in range(1, NODES + 1) if i != leader))
        err, tid, settings = create_v7(other, "forwarded")
        t.ok(err == 0 and tid != bytes(16) and settings > 20,
             f"CreateTopics v7 through node {other.node_id}, not the controller: created, "
             f"its id and every setting relayed ({settings})", (err, settings))
        t.eq(delete_v6_by_id(other, tid), [("forwarded", 0)],
             "DeleteTopics v6 by that id through the same node: deleted, named")


def produce_all(node, version):
    """{partition: (error, current leader or None)} and the endpoints, one
    Produce per partition to `node`."""
    got, endpoints = {}, {}
    with kwire.Conn(node.bootstrap) as c:
        for p in range(NODES):
            _, body = c.roundtrip(kwire.produce_request_flexible(
                1, TOPIC, p, kwire.record_batch([b"x"]), version), flexible_header=True)
            parts, eps = kwire.parse_produce_flexible(body)
            got[p] = (parts[0][2], parts[0][4])
            endpoints.update(eps)
    return got, endpoints


def scenario_hints(t):
    with Cluster(NODES) as c:
        nodes = {i: c.node(i) for i in range(1, NODES + 1)}
        err = create_topic(c.node(1), TOPIC, NODES, 1)
        t.ok(err is None, "a topic of three partitions, replication factor 1", err)
        led = settle(lambda: leaders(c), "a leader for every partition")
        t.ok(led and len(set(led.values())) == NODES, f"three different leaders ({led})")
        if not led or len(set(led.values())) != NODES:
            return
        asked = nodes[led[0]]  # leads partition 0 only
        want_eps = {led[p]: ("127.0.0.1", nodes[led[p]].port) for p in (1, 2)}

        # The leader serves its partition once it has made it (the image
        # comes first): until then a client is told to retry.
        got, eps = settle(lambda: (lambda r: r if r[0][0] == (0, None) else None)(
            produce_all(asked, 10)), "the leader's partition served") or produce_all(asked, 10)
        t.eq(got[0], (0, None), "Produce v10 to the leader: appended, no hint")
        t.ok(all(got[p][0] == NOT_LEADER_OR_FOLLOWER and got[p][1] and got[p][1][0] == led[p]
                 for p in (1, 2)),
             "Produce v10 to another broker: NOT_LEADER_OR_FOLLOWER with the current leader",
             got)
        t.eq(eps, want_eps, "and the response names where each of those leaders listens")
        got, eps = produce_all(asked, 9)
        t.eq((got[1], got[2], eps), ((NOT_LEADER_OR_FOLLOWER, None),
                                     (NOT_LEADER_OR_FOLLOWER, None), {}),
             "Produce v9: the error alone")

        tid = kwire.topic_id(asked.bootstrap, TOPIC)
        with kwire.Conn(asked.bootstrap) as conn:
            _, body = conn.roundtrip(kwire.fetch_request_flexible(
                1, 16, [(tid, [(p, 0) for p in range(NODES)])]), flexible_header=True)
        _, _, parts, eps = kwire.parse_fetch_flexible(body, 16)
        by_part = {p[1]: (p[2], p[5]) for p in parts}
        t.eq(by_part.get(0), (0, None), "Fetch v16 from the leader: served, no hint")
        t.ok(all(by_part.get(p, (0, None))[0] == NOT_LEADER_OR_FOLLOWER and
                 by_part[p][1] and by_part[p][1][0] == led[p] for p in (1, 2)),
             "Fetch v16 from another broker: NOT_LEADER_OR_FOLLOWER with the current leader",
             by_part)
        t.eq(eps, want_eps, "and the response names where each of those leaders listens")
        with kwire.Conn(asked.bootstrap) as conn:
            _, body = conn.roundtrip(kwire.fetch_request_flexible(
                1, 15, [(tid, [(p, 0) for p in range(NODES)])]), flexible_header=True)
        _, _, parts, eps = kwire.parse_fetch_flexible(body, 15)
        t.ok(all(p[5] is None for p in parts) and eps == {}, "Fetch v15: the error alone")


if __name__ == "__main__":
    run_scenarios("the newest versions on a cluster", scenario_forwarded, scenario_hints)
