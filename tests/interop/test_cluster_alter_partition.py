#!/usr/bin/env python3
"""AlterPartition (v3, KIP-497/841/903) on three combined Runnel nodes, sent
by hand to the controller listeners as a partition leader would: to the
active controller, and to one that is not, which forwards it (a request
forwarded once is never forwarded again: NOT_CONTROLLER there). For a
topic with one partition on the three brokers: the unchanged ISR answers
the partition's state and changes nothing (version 2 too, whose ISR
carries no broker epochs); another broker epoch is the
top-level STALE_BROKER_EPOCH (a request of no topics is answered NONE at
once, as Kafka does); an older leader epoch FENCED_LEADER_EPOCH; a
sender that does not lead INVALID_REQUEST; an unknown topic id
UNKNOWN_TOPIC_ID; the leader's shrink is accepted (partition epoch + 1,
leader epoch kept), and the leader, seeing the dropped follower caught
up, takes it back by itself (every node's Metadata shows the full ISR);
the old partition epoch is then INVALID_UPDATE_VERSION; a fenced broker
(SIGSTOP past broker.session.timeout.ms) leaves the ISR, and taken back by
hand is INELIGIBLE_REPLICA; once it is unfenced its leader takes it back
and every node shows it.

The broker epochs come from each node's log ("registered with broker
epoch N") and the topic id from the active controller's ("created ...
topic id X"): no client API of Runnel's versions shows them. Runnel only
(the cluster harness runs Runnel). Bounded: every wait has a deadline;
about 10 s in all."""

import base64
import os
import re
import signal
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
from broker import recv_exact  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import brokers_on, create_topic, metadata, one_leader, settle  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
TOPIC = "isr"
API_ALTER_PARTITION = 56
FORWARD_CLIENT_ID = "runnel-forward"  # RN_FORWARD_CLIENT_ID: already forwarded once

NONE = 0
NOT_CONTROLLER = 41
INVALID_REQUEST = 42
FENCED_LEADER_EPOCH = 74
STALE_BROKER_EPOCH = 77
INVALID_UPDATE_VERSION = 95
UNKNOWN_TOPIC_ID = 100
INELIGIBLE_REPLICA = 107


# ---- AlterPartition v3, by hand (flexible: compact arrays, tagged fields) ----

def compact_array(items):
    return kwire.uvarint(len(items) + 1) + b"".join(items)


def alter_partition_body(broker_id, broker_epoch, topic_id, partition, leader_epoch,
                         partition_epoch, isr):
    """One partition's change; isr is [(broker id, broker epoch)]."""
    members = [struct.pack(">iq", b, e) + kwire.TAGS_NONE for b, e in isr]
    part = (struct.pack(">ii", partition, leader_epoch) + compact_array(members) +
            struct.pack(">bi", 0, partition_epoch) + kwire.TAGS_NONE)
    topic = topic_id + compact_array([part]) + kwire.TAGS_NONE
    return struct.pack(">iq", broker_id, broker_epoch) + compact_array([topic]) + kwire.TAGS_NONE


def alter_partition_v2_body(broker_id, broker_epoch, topic_id, partition, leader_epoch,
                            partition_epoch, isr):
    """Version 2: the ISR as broker ids alone (no broker epochs)."""
    part = (struct.pack(">ii", partition, leader_epoch) +
            compact_array([struct.pack(">i", b) for b in isr]) +
            struct.pack(">bi", 0, partition_epoch) + kwire.TAGS_NONE)
    topic = topic_id + compact_array([part]) + kwire.TAGS_NONE
    return struct.pack(">iq", broker_id, broker_epoch) + compact_array([topic]) + kwire.TAGS_NONE


def send_alter_partition(addr, body, client_id="runnel-test", version=3, timeout=10.0):
    """Sends it and reads the answer: (top-level error, [(topic id,
    [(partition, error, leader, leader epoch, isr, partition epoch)])])."""
    payload = kwire.request_header(API_ALTER_PARTITION, version, 17, client_id, 2) + body
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(kwire.frame(payload))
        size = struct.unpack(">i", recv_exact(sock, 4))[0]
        r = Reader(recv_exact(sock, size))
    if r.i32() != 17:
        raise ConnectionError("AlterPartition: wrong correlation id")
    r.skip_tags()
    r.i32()  # throttle
    err = r.i16()

    def part(rr):
        p = (rr.i32(), rr.i16(), rr.i32(), rr.i32(), rr.compact_array(Reader.i32) or [])
        rr.i8()  # leader recovery state
        p += (rr.i32(),)
        rr.skip_tags()
        return p

    def topic(rr):
        tid = rr.take(16)
        parts = rr.compact_array(part) or []
        rr.skip_tags()
        return tid, parts

    return err, r.compact_array(topic) or []


def one_partition(answer):
    """The single partition of an answer with no top-level error."""
    err, topics = answer
    if err != NONE or len(topics) != 1 or len(topics[0][1]) != 1:
        return None
    return topics[0][1][0]


# ---- what only the logs say ----

def broker_epoch(node):
    """The broker epoch this node's log (this run) last said it registered with."""
    epoch = None
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        for line in f:
            m = re.search(rf"broker {node.node_id} registered with broker epoch (\d+)", line)
            if m:
                epoch = int(m.group(1))
    return epoch


def topic_id(nodes, name):
    """The id the controller that created the topic logged, as 16 bytes."""
    for node in nodes:
        with open(node.log_path, errors="replace") as f:
            for line in f:
                m = re.search(rf"created {re.escape(name)} with \d+ partition\(s\), topic id (\S+)",
                              line)
                if m:
                    return base64.urlsafe_b64decode(m.group(1) + "==")
    return None


def isr_everywhere(c, want, skip=None):
    """Every node's (but skip's) Metadata shows the partition's ISR as want."""
    def check():
        views = [metadata(n, [TOPIC])[1].get(TOPIC) for n in c.nodes if n is not skip]
        return all(v and v[0][4] == want for v in views)
    return settle(check, f"ISR {want} on every node")


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        ctl_id = one_leader(c.nodes)
        t.ok(ctl_id, f"one active controller: node {ctl_id}")
        t.eq(create_topic(c.node(1), TOPIC, 1, 3), None, f"{TOPIC} created, 1 partition, RF 3")
        view = settle(lambda: metadata(c.node(1), [TOPIC])[1].get(TOPIC), f"{TOPIC} in Metadata")
        _idx, _err, leader, replicas, isr = view[0]
        t.ok(leader in replicas and sorted(isr) == [1, 2, 3],
             f"partition 0: leader {leader}, ISR {isr}")
        tid = settle(lambda: topic_id(c.nodes, TOPIC), "the topic id in a log")
        epochs = {n.node_id: settle(lambda n=n: broker_epoch(n), f"node {n.node_id}'s epoch")
                  for n in c.nodes}
        t.ok(tid and all(e is not None for e in epochs.values()),
             f"topic id and broker epochs from the logs ({epochs})")
        active = c.node(ctl_id)
        other = next(n for n in c.nodes if n.node_id != ctl_id)
        # the follower to drop: neither the leader nor the active controller
        dropped = next(b for b in isr if b not in (leader, ctl_id))
        kept = [b for b in isr if b != dropped]

        def ask(node, isr_ids, leader_epoch=0, partition_epoch=0, sender=leader,
                sender_epoch=None, topic=tid, member_epochs=None, client_id="runnel-test"):
            member_epochs = member_epochs or {}
            body = alter_partition_body(
                sender, epochs[sender] if sender_epoch is None else sender_epoch, topic, 0,
                leader_epoch, partition_epoch,
                [(b, member_epochs.get(b, epochs[b])) for b in isr_ids])
            return send_alter_partition(node.controller_addr, body, client_id)

        for node, how in ((active, "the active controller"),
                          (other, f"node {other.node_id}, forwarding")):
            got = one_partition(ask(node, isr))
            t.eq(got, (0, NONE, leader, 0, isr, 0),
                 f"the unchanged ISR through {how}: NONE and the partition as it stands")

        v2 = alter_partition_v2_body(leader, epochs[leader], tid, 0, 0, 0, isr)
        t.eq(one_partition(send_alter_partition(other.controller_addr, v2, version=2)),
             (0, NONE, leader, 0, isr, 0), "the same as version 2 (no broker epochs)")
        t.eq(ask(active, isr, sender_epoch=epochs[leader] + 1000), (STALE_BROKER_EPOCH, []),
             "another broker epoch: top-level STALE_BROKER_EPOCH, no topics")
        empty = struct.pack(">iq", leader, epochs[leader] + 1000) + compact_array([]) + \
            kwire.TAGS_NONE
        t.eq(send_alter_partition(active.controller_addr, empty), (NONE, []),
             "no topics at all: NONE at once, nothing checked (as Kafka)")
        got = one_partition(ask(other, kept, leader_epoch=-1))
        t.eq(got and got[1], FENCED_LEADER_EPOCH, "an older leader epoch: FENCED_LEADER_EPOCH")
        not_leader = next(b for b in isr if b != leader)
        got = one_partition(ask(active, kept, sender=not_leader))
        t.eq(got and got[1], INVALID_REQUEST,
             f"broker {not_leader}, not the leader: INVALID_REQUEST")
        got = one_partition(ask(active, kept, topic=bytes(15) + b"\x01"))
        t.eq(got and got[1], UNKNOWN_TOPIC_ID, "an unknown topic id: UNKNOWN_TOPIC_ID")
        t.eq(ask(other, kept, client_id=FORWARD_CLIENT_ID), (NOT_CONTROLLER, []),
             f"a forwarded request reaching node {other.node_id}, not the active controller: "
             "top-level NOT_CONTROLLER, not forwarded again")

        got = one_partition(ask(other, kept))
        t.eq(got, (0, NONE, leader, 0, kept, 1),
             f"the leader drops broker {dropped} (forwarded): accepted, partition epoch 1, "
             "leader epoch 0")
        # Broker dropped is caught up and eligible: its leader asks for it
        # back by itself (its own AlterPartition), so the drop is short-lived.
        t.ok(isr_everywhere(c, isr),
             f"the leader takes broker {dropped} back by itself: every node shows the ISR {isr}")
        got = one_partition(ask(active, isr, partition_epoch=1))
        t.eq(got and got[1], INVALID_UPDATE_VERSION,
             "the old partition epoch: INVALID_UPDATE_VERSION")

        victim = c.node(dropped)
        watcher = active
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            fenced = settle(lambda: dropped not in brokers_on(watcher), f"broker {dropped} fenced",
                            SESSION_MS / 1000 + 15)
            t.ok(fenced and isr_everywhere(c, kept, skip=victim),
                 f"broker {dropped} stopped past broker.session.timeout.ms: fenced, out of the ISR")
            now = partition_epoch_now(ask, active, kept)
            got = one_partition(ask(active, isr, partition_epoch=now))
            t.eq(got and got[1], INELIGIBLE_REPLICA,
                 f"the fenced broker {dropped} taken back: INELIGIBLE_REPLICA")
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        back = settle(lambda: dropped in brokers_on(watcher), f"broker {dropped} unfenced")
        t.ok(back, f"resumed, broker {dropped} is unfenced")
        t.ok(isr_everywhere(c, isr),
             f"its leader takes it back into the ISR: every node shows the ISR {isr} again")


def partition_epoch_now(ask, node, isr_ids):
    """The partition's epoch now, found by asking for the ISR it has with
    each epoch in turn: only the right one is answered NONE."""
    for epoch in range(64):
        got = one_partition(ask(node, isr_ids, partition_epoch=epoch))
        if got and got[1] == NONE:
            return got[5]
    return None


def main():
    run_scenarios("AlterPartition on a three-node Runnel cluster", scenario)


if __name__ == "__main__":
    main()
