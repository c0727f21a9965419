#!/usr/bin/env python3
"""Three runnel nodes with one controller.quorum.voters form one metadata
quorum: a topic created through any node (forwarded to the active
controller) shows on every node; the active controller SIGKILLed, the others
elect a new one and keep taking changes; the killed node catches up when it
comes back; a whole-cluster SIGKILL and restart keeps every topic; a vote
request from a node that is no voter is logged and changes nothing.

Runnel only (Kafka's combined nodes need a format step this test does not
do). Bounded: every wait has a deadline; about 30 s in all."""

import os
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import Broker, BrokerError, free_port  # noqa: E402
from cluster import run_scenarios  # noqa: E402
from cluster_checks import create_topic, one_leader, settle, topics_on  # noqa: E402

NODES = 3


def cluster():
    ctl_ports = [free_port() for _ in range(NODES)]
    voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(ctl_ports))
    nodes = []
    for i in range(NODES):
        b = Broker(name=f"node{i + 1}")
        b.settings.update({
            "node.id": str(i + 1),
            "listeners": f"PLAINTEXT://127.0.0.1:{b.port},CONTROLLER://127.0.0.1:{ctl_ports[i]}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{b.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.voters": voters,
        })
        nodes.append(b)
    return nodes


def start_all(nodes):
    for b in nodes:
        b.start(wait=False)
    for b in nodes:
        b._wait_ready(60)


def everyone_sees(nodes, names):
    return settle(lambda: all(names <= topics_on(b) for b in nodes),
                  f"topics {sorted(names)} on every node")


def meta_cluster_id(b):
    with open(os.path.join(b.data_dir, "meta.properties")) as f:
        return re.search(r"^cluster\.id=(.*)$", f.read(), re.M).group(1)


def create_topics_frame(name):
    """CreateTopics v4 for one topic, 1 partition, RF 1, as a peer forwards."""
    body = (struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
            + struct.pack(">ihii", 1, 1, 0, 0) + struct.pack(">ib", 5000, 0))
    header = struct.pack(">hhih", 19, 4, 1, 1) + b"c"
    return struct.pack(">i", len(header) + len(body)) + header + body


def waiting_node_survives(t):
    """A node waiting for its quorum gets a CreateTopics on its controller
    listener (a peer forwarding to it as the controller it was)."""
    nodes = cluster()
    lone = nodes[0]
    lone.start(wait=False)
    ctl = int(re.search(r"CONTROLLER://127\.0\.0\.1:(\d+)", lone.settings["listeners"]).group(1))
    deadline = time.monotonic() + 10
    sock = None
    while sock is None and time.monotonic() < deadline:
        try:
            sock = socket.create_connection(("127.0.0.1", ctl), 1)
        except OSError:
            time.sleep(0.1)
    t.ok(sock is not None, "a node waiting for its quorum listens for controllers")
    if sock:
        sock.sendall(create_topics_frame(b"early"))
        time.sleep(1)
        sock.close()
    t.ok(lone.running(), "and a CreateTopics sent there meanwhile leaves it running")
    for b in nodes[1:]:
        b.start(wait=False)
    for b in nodes:
        b._wait_ready(60)
    return nodes


def foreign_folder_refused(t, nodes):
    """A node whose folder belongs to another cluster refuses to start."""
    victim = nodes[2]
    victim.stop()
    other = Broker(name="other-cluster", data_dir=victim.data_dir + "-other")
    other.settings.update({"node.id": str(victim.settings["node.id"])})
    other.start()
    other.stop()
    saved = victim.data_dir
    victim.data_dir = other.data_dir
    victim.settings["log.dirs"] = other.data_dir
    try:
        victim.start(timeout=30)
        refused = False
    except BrokerError as e:
        refused = "belongs to cluster" in str(e) and "empty it to join" in str(e)
    t.ok(refused, "a node whose data folder is of another cluster refuses to start, and says "
         "how to fix it")
    victim.data_dir = saved
    victim.settings["log.dirs"] = saved
    victim.start(timeout=60)


def garbage_raft_message(t, node):
    """A frame with the Raft message key and a body that is not one."""
    ctl = int(re.search(r"CONTROLLER://127\.0\.0\.1:(\d+)", node.settings["listeners"]).group(1))
    header = struct.pack(">hhih", 32001, 0, 1, 1) + b"x"
    body = b"\x01\x00\x02ab\x00\x02cd" + b"\xff" * 40
    with socket.create_connection(("127.0.0.1", ctl), 5) as sock:
        sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        sock.settimeout(5)
        try:
            closed = sock.recv(1) == b""
        except OSError:
            closed = True
    t.ok(closed and node.running(), "a garbled Raft message closes its connection; the node runs on")


def forged_vote(to_node_id, from_node_id, term):
    """A Raft vote request as a peer sends it on the controller listener:
    version 1, no cluster id, a folder id, then the message (raft_msg.c:
    type, reject, transfer, pad, from, to, term, index, log term, commit,
    hint, read seq, entry count; little-endian; Raft ids are node ids + 1)."""
    msg = bytes([3, 0, 0, 0]) + struct.pack("<II", from_node_id + 1, to_node_id + 1)
    msg += struct.pack("<QQQQQQ", term, 1 << 40, term - 1, 0, 0, 0) + struct.pack("<I", 0)
    body = b"\x01\xff\xff" + struct.pack(">h", 6) + b"forged" + msg
    header = struct.pack(">hhih", 32001, 0, 1, 1) + b"x"
    return struct.pack(">i", len(header) + len(body)) + header + body


def vote_from_non_voter(t, nodes):
    """Node 9 is no voter: its vote requests, with a term far ahead, are
    logged by every node and change nothing; the quorum keeps serving."""
    leader = one_leader(nodes)
    for i, b in enumerate(nodes):
        ctl = int(re.search(r"CONTROLLER://127\.0\.0\.1:(\d+)", b.settings["listeners"]).group(1))
        with socket.create_connection(("127.0.0.1", ctl), 5) as sock:
            for _ in range(3):
                sock.sendall(forged_vote(i + 1, 9, 1 << 30))
            time.sleep(0.3)

    def logged():
        return all(re.search(r"node 9 sent a vote message .* but is no voter of this quorum",
                             open(b.log_path, errors="replace").read()) for b in nodes)
    t.ok(settle(logged, "the vote logged", timeout=5),
         "a vote request from a node that is no voter is logged by each node")
    t.ok(all(b.running() for b in nodes) and create_topic(nodes[0], "after-forged-vote") is None
         and one_leader(nodes) == leader,
         f"and the quorum keeps serving under the same active controller ({leader})")


def controller_call(node, api_key, body):
    """A flexible request (header v2) on node's controller listener: the
    response body after its header v1."""
    ctl = int(re.search(r"CONTROLLER://127\.0\.0\.1:(\d+)", node.settings["listeners"]).group(1))
    header = struct.pack(">hhih", api_key, 0, 7, 4) + b"test" + b"\x00"
    frame = header + body
    with socket.create_connection(("127.0.0.1", ctl), 5) as sock:
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        sock.settimeout(10)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data[4 + 4 + 1:]  # length, correlation id, no tagged fields


def bad_member_requests(t, nodes):
    """A BrokerRegistration naming another cluster and a BrokerHeartbeat of
    a stale broker epoch, sent to the active controller: Kafka's errors, a
    log line each, and the quorum keeps serving."""
    leader = one_leader(nodes)
    ctl = nodes[leader - 1]
    name, host = b"PLAINTEXT", b"127.0.0.1"
    listener = (bytes([len(name) + 1]) + name + bytes([len(host) + 1]) + host +
                struct.pack(">Hh", 9092, 0) + b"\x00")
    other = b"AAAAAAAAAAAAAAAAAAAAAA"
    reg = (struct.pack(">i", 7) + bytes([len(other) + 1]) + other + bytes(range(16)) +
           b"\x02" + listener + b"\x01" + b"\x00" + b"\x00")  # features none, rack null
    body = controller_call(ctl, 62, reg)
    _throttle, code = struct.unpack(">ih", body[:6])
    t.eq(code, 104, "a registration naming another cluster: INCONSISTENT_CLUSTER_ID")
    hb = struct.pack(">iqq??", 1, 123456789, 0, False, False) + b"\x00"
    body = controller_call(ctl, 63, hb)
    _throttle, code = struct.unpack(">ih", body[:6])
    t.eq(code, 77, "a heartbeat of broker 1 naming a stale broker epoch: STALE_BROKER_EPOCH")

    def logged():
        log = open(ctl.log_path, errors="replace").read()
        return (re.search(r"the registration of broker 7 refused: INCONSISTENT_CLUSTER_ID: it names "
                          r"cluster AAAA", log) and
                re.search(r"a heartbeat of broker 1 refused: STALE_BROKER_EPOCH", log))
    t.ok(settle(logged, "the refusals logged", timeout=5),
         "the active controller logs both refusals with the reason")
    t.ok(create_topic(nodes[0], "after-bad-members") is None and one_leader(nodes) == leader,
         f"and the quorum keeps serving under the same active controller ({leader})")


def scenario(t):
    nodes = waiting_node_survives(t)
    garbage_raft_message(t, nodes[0])
    vote_from_non_voter(t, nodes)
    bad_member_requests(t, nodes)
    one_id = settle(lambda: len({meta_cluster_id(b) for b in nodes}) == 1, "one cluster id")
    t.ok(one_id, "every node's meta.properties names the one cluster id the quorum chose: "
         f"{sorted({meta_cluster_id(b) for b in nodes})}")
    foreign_folder_refused(t, nodes)

    leader = one_leader(nodes)
    t.ok(leader in (1, 2, 3), f"every node names the same active controller ({leader})")
    follower = next(b for i, b in enumerate(nodes) if i + 1 != leader)
    err = create_topic(follower, "made-on-follower", 3)
    t.ok(err is None, f"CreateTopics through a node that does not lead ({follower.name}) "
         f"succeeds ({err})")
    t.ok(everyone_sees(nodes, {"made-on-follower"}), "the topic shows on every node")
    t.ok(create_topic(nodes[leader - 1], "made-on-follower", 3) == "TOPIC_ALREADY_EXISTS",
           "creating it again through the leader: TOPIC_ALREADY_EXISTS")

    old = nodes[leader - 1]
    old.kill()
    rest = [b for b in nodes if b is not old]
    new_leader = one_leader(rest, other_than=leader)
    t.ok(new_leader not in (None, leader), f"after SIGKILL of node {leader} a new controller "
           f"({new_leader}) is elected")
    t.ok(create_topic(rest[0], "after-failover", 3) is None and
         everyone_sees(rest, {"after-failover"}),
         "a topic created after the failover shows on the survivors")
    old.start(wait=False)
    old._wait_ready(60)
    t.ok(everyone_sees([old], {"made-on-follower", "after-failover"}),
           "the killed node catches up when it comes back")

    for b in nodes:
        b.kill()
    start_all(nodes)
    t.ok(one_leader(nodes) is not None, "after a whole-cluster SIGKILL a controller is elected")
    t.ok(everyone_sees(nodes, {"made-on-follower", "after-failover"}),
           "and every node still has every topic")
    err = create_topic(nodes[0], "after-restart", 3)
    t.ok(err is None and everyone_sees(nodes, {"after-restart"}), "and takes new topics",
         f"CreateTopics: {err}")
    for b in nodes:
        b.stop()


def main():
    run_scenarios("a three-node Runnel cluster", scenario,
                  reason="Kafka's combined nodes need a format step")


if __name__ == "__main__":
    main()
