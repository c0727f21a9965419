#!/usr/bin/env python3
"""Leader discovery hints (KIP-951) on three Runnel nodes: a Produce (v10+)
or Fetch (v16+) sent to a broker that does not lead the partition is
answered NOT_LEADER_OR_FOLLOWER together with the partition's current
leader and epoch, and the response names where that leader listens (its
node endpoint, once however many partitions it leads); the client goes
there without asking Metadata first. Older versions carry no hint. A
partition led by the broker asked is served as usual, with no hint.

A topic of three partitions, each on one broker (replication factor 1, so
the three have three different leaders). Runnel only (the cluster harness
runs Runnel). Bounded: about 5 s."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import create_topic, metadata, settle  # noqa: E402

NODES = 3
TOPIC = "hinted"
NOT_LEADER_OR_FOLLOWER = 6


def leaders(c):
    """{partition: leader} once every partition has one, as node 1 shows."""
    parts = metadata(c.node(1), [TOPIC])[1].get(TOPIC) or []
    got = {idx: leader for idx, err, leader, _r, _i in parts if err == 0 and leader >= 0}
    return got if len(got) == NODES else None


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


def scenario(t):
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

        got, eps = produce_all(asked, 10)
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
    run_scenarios("leader discovery hints", scenario)
