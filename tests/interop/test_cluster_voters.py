#!/usr/bin/env python3
"""A voter whose data folder was emptied does not vote as its old self, and
comes back as a voter through RemoveRaftVoter and AddRaftVoter.

Three runnel nodes form a quorum (controller.quorum.voters).

- With controller.quorum.auto.join.enable=false: a follower is stopped, its
  folder wiped, and started again: it catches up from the leader and serves
  (its Metadata has the topics), but the others refuse its votes: with the
  leader then killed, the healthy follower and the wiped node elect nobody.
  The leader back, RemoveRaftVoter and AddRaftVoter (sent to any node,
  forwarded to the active controller) make the wiped node a voter again:
  with the leader killed once more, the two now elect a leader, which takes
  a new topic. Also: DescribeQuorum answers kafka-metadata-quorum.sh
  describe --status and --replication through any node, and bad voter
  requests get Kafka's codes.
- By default (auto-join on): the wiped follower finds the leader among the
  voters, which names it a voter of its former folder; it has that entry
  removed and itself added back from its new folder, by itself, so with the
  leader killed the two elect a leader (a pod whose volume was lost).

Runnel only. Bounded: about 60 s."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from broker import recv_exact  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import (create_topic, leader_seen, one_leader, quorum_tool,  # noqa: E402
                            settle, topics_on)


# ---- AddRaftVoter / RemoveRaftVoter v0 (flexible) by hand ----

def _compact(s):
    return kwire.uvarint(0) if s is None else kwire.compact_string(s)


def _voter_request(api_key, corr, body):
    header = (kwire.i16(api_key) + kwire.i16(0) + kwire.i32(corr) + kwire.string("kwire")
              + kwire.uvarint(0))
    return kwire.frame(header + body)


def add_voter_body(voter_id, host, port, cluster_id=None):
    listener = _compact("CONTROLLER") + _compact(host) + port.to_bytes(2, "big") + kwire.uvarint(0)
    return (_compact(cluster_id) + kwire.i32(30000) + kwire.i32(voter_id) + bytes(16)
            + kwire.uvarint(2) + listener + kwire.uvarint(0))


def remove_voter_body(voter_id, cluster_id=None):
    return _compact(cluster_id) + kwire.i32(voter_id) + bytes(16) + kwire.uvarint(0)


def voter_call(addr, api_key, body, timeout=40.0):
    """Sends one request; returns (error_code, message)."""
    host, port = addr.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(_voter_request(api_key, 9, body))
        size = int.from_bytes(recv_exact(s, 4), "big")
        resp = recv_exact(s, size)
    pos = 4 + 1  # correlation id, empty tagged fields
    pos += 4  # throttle
    code = int.from_bytes(resp[pos:pos + 2], "big", signed=True)
    pos += 2
    n = resp[pos] - 1
    msg = resp[pos + 1:pos + 1 + n].decode() if n >= 0 else None
    return code, msg


def scenario(t):
    with Cluster(3, {"controller.quorum.auto.join.enable": "false"}) as c:
        nodes = [c.node(i) for i in (1, 2, 3)]
        leader = one_leader(nodes)
        t.ok(leader is not None, f"a controller is elected ({leader})")
        t.ok(create_topic(nodes[0], "before-wipe") is None, "a topic is created")

        rc, out = quorum_tool(nodes[0], "--status")
        t.ok(rc == 0 and f"LeaderId:               {leader}" in out and "CurrentVoters" in out,
             "kafka-metadata-quorum.sh describe --status through any node names the leader",
             out[-600:])
        rc, out = quorum_tool(nodes[0], "--replication")
        t.ok(rc == 0 and out.count("Follower") == 2 and out.count("Leader") == 1,
             "describe --replication: one leader and two followers", out[-600:])

        wiped = next(n for n in nodes if n.node_id != leader)
        healthy = next(n for n in nodes if n.node_id not in (leader, wiped.node_id))
        old_leader = nodes[leader - 1]
        wiped.term()
        wiped.wipe()
        wiped.start()
        t.ok(settle(lambda: "before-wipe" in topics_on(wiped), "the wiped node's topics"),
             f"the wiped node {wiped.node_id} catches up from the leader and serves")

        old_leader.kill()
        time.sleep(4)  # several election timeouts
        t.ok(leader_seen(healthy) is None and leader_seen(wiped) is None,
             "leader killed: the healthy node and the wiped one elect nobody")
        with open(healthy.log_path, errors="replace") as f:
            refused = f"node {wiped.node_id} speaks from data folder" in f.read()
        t.ok(refused, "the healthy node says it refuses the wiped node's votes, and why")

        old_leader.start()
        t.ok(one_leader(nodes) is not None, "the old leader back: a controller again")
        addr = healthy.bootstrap
        code, msg = voter_call(addr, 81, remove_voter_body(wiped.node_id))
        t.eq((code, msg), (0, None), "RemoveRaftVoter of the wiped node through any node")
        code, _ = voter_call(addr, 81, remove_voter_body(wiped.node_id))
        t.eq(code, 127, "removing it again: VOTER_NOT_FOUND")
        code, msg = voter_call(addr, 80, add_voter_body(wiped.node_id, "127.0.0.1",
                                                        wiped.controller_port))
        t.eq((code, msg), (0, None), "AddRaftVoter adds it back (learner, then promoted)")
        code, _ = voter_call(addr, 80, add_voter_body(wiped.node_id, "127.0.0.1",
                                                      wiped.controller_port))
        t.eq(code, 126, "adding it again: DUPLICATE_VOTER")
        code, _ = voter_call(addr, 80, add_voter_body(7, "127.0.0.1", 1, cluster_id="x" * 22))
        t.eq(code, 104, "a request naming another cluster: INCONSISTENT_CLUSTER_ID")

        survive_leader_kill(t, nodes, "re-added", "after-readd")


def survive_leader_kill(t, nodes, how, topic):
    """The leader killed: the other two (one of them the node `how` back)
    elect a leader, which takes a new topic."""
    leader = one_leader(nodes)
    nodes[leader - 1].kill()
    rest = [n for n in nodes if n.node_id != leader]
    t.ok(one_leader(rest, other_than=leader) is not None,
         f"with the leader killed, the healthy node and the {how} one elect a leader")
    t.ok(create_topic(rest[0], topic) is None and
         settle(lambda: all(topic in topics_on(n) for n in rest), topic),
         "and the new leader takes a topic")


def scenario_rejoin(t):
    with Cluster(3) as c:
        nodes = [c.node(i) for i in (1, 2, 3)]
        leader = one_leader(nodes)
        t.ok(create_topic(nodes[0], "before-loss") is None, "a topic is created")
        wiped = next(n for n in nodes if n.node_id != leader)
        wiped.term()
        wiped.wipe()
        wiped.start()

        def rejoined():
            with open(wiped.log_path, errors="replace") as f:
                text = f.read()[wiped._log_mark:]
            return ("its voter entry of a former data folder was removed" in text and
                    f"node {wiped.node_id} is a voter of the metadata quorum" in text)
        t.ok(settle(rejoined, "the wiped voter rejoined", timeout=30),
             f"the wiped node {wiped.node_id} has its former folder's entry removed and is a "
             "voter again from its new folder, by itself")
        survive_leader_kill(t, nodes, "rejoined", "after-loss")


def main():
    run_scenarios("a Runnel quorum", scenario, scenario_rejoin,
                  reason="Kafka's static quorum has no such protection")


if __name__ == "__main__":
    main()
