#!/usr/bin/env python3
"""A leader cut off by a network partition: three runnel nodes, each in a
network namespace of its own (lib/netns.py), a topic of one partition,
replication factor 3, min.insync.replicas 2.

- The partition's leader is isolated (iptables in its namespace: it can
  reach the test, none of the other nodes). An acks=all Produce sent to it
  straight away is never acknowledged: its followers cannot fetch, so its
  high watermark cannot pass the batch (the answer is an error:
  REQUEST_TIMED_OUT, or NOT_LEADER_OR_FOLLOWER once it learns better).
- The majority fences it after broker.session.timeout.ms and another ISR
  member leads; a producer on the majority's side goes on. (A producer
  that knew the old leader keeps retrying there: it still answers, with
  the retriable REQUEST_TIMED_OUT, as a cut-off Kafka leader does.)
- Healed, the old leader learns it lost leadership: the waiting producer
  gets NOT_LEADER_OR_FOLLOWER and moves to the new leader; the old leader
  truncates the batch only it holds, fetches what it missed, ends byte for
  byte the new leader's log and rejoins the ISR. Every acknowledged record
  is read back once, at its offset; the unacknowledged batch is nowhere.

Needs root, ip(8), iptables(8) and network namespaces; skipped without
them. Runnel only. Bounded: every wait has a deadline; about 30 s."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
import netns  # noqa: E402
import tap  # noqa: E402
from broker import OWN_NODES, metadata_broker_count, skip_under_cluster, target  # noqa: E402
from cluster import Cluster, ClusterNode  # noqa: E402
from cluster_checks import settle  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from records import consume_from_start, produce_tracked  # noqa: E402

NODES = 3
TOPIC = "cut"
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
SETTLE_S = 30.0
NOT_ACKNOWLEDGED = b"only-the-cut-off-leader-has-this"


class HostNode(ClusterNode):
    """A node in its own network namespace, listening on its own address."""
    hosts = None

    def configure(self, voters, shared, own):
        super().configure(voters, shared, own)
        ip = self.hosts.addr(self.node_id)
        for key in ("listeners", "advertised.listeners", "admin.listener"):
            if key in self.settings:
                self.settings[key] = self.settings[key].replace("127.0.0.1", ip)
        self.bootstrap = f"{ip}:{self.port}"

    @property
    def controller_addr(self):
        return f"{self.hosts.addr(self.node_id)}:{self.controller_port}"

    def _runnel_cmd(self):
        return self.hosts.wrap(self.node_id, super()._runnel_cmd())

    def ready(self):
        try:
            return metadata_broker_count(self.bootstrap, timeout=2.0) > 0
        except OSError:
            return False


def log_bytes(node):
    d = os.path.join(node.data_dir, f"{TOPIC}-0")
    if not os.path.isdir(d):
        return b""
    return b"".join(open(os.path.join(d, f), "rb").read()
                    for f in sorted(os.listdir(d)) if f.endswith(".log"))


def state(admin):
    pm = admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions[0]
    return pm.leader, sorted(pm.isrs)


def produce_raw(node, value):
    """One record produced with acks=all straight to node: its error code."""
    with kwire.Conn(node.bootstrap, timeout_s=15) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, TOPIC, 0, kwire.record_batch([value]),
                                                       acks=-1, timeout_ms=6000),
                                 timeout_s=15)
    return kwire.parse_produce(body, 7)[0][2]


def scenario(t, hosts):
    HostNode.hosts = hosts
    voter_hosts = {i: hosts.addr(i) for i in range(1, NODES + 1)}
    with Cluster(NODES, SETTINGS, voter_hosts=voter_hosts, node_class=HostNode) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, 1, 3,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(20)
        settle(lambda: len(state(admin)[1]) == NODES or None, "full ISR", SETTLE_S)
        p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 5,
                      "request.timeout.ms": 5000, "socket.timeout.ms": 6000})
        acked, failed = {}, {}
        produce_tracked(p, TOPIC, [(0, b"c-%05d" % i) for i in range(300)], acked, failed, 30)
        t.ok(len(acked) == 300 and not failed, "300 records acknowledged before the cut")
        old, _ = state(admin)
        nodes = [c.node(i) for i in range(1, NODES + 1)]
        hosts.isolate(old)
        start = time.monotonic()
        code = produce_raw(c.node(old), NOT_ACKNOWLEDGED)
        t.ok(code != 0, f"leader {old} cut off: an acks=all Produce to it is not acknowledged",
             f"error code {code} after {time.monotonic() - start:.1f}s")
        majority_bootstrap = ",".join(n.bootstrap for n in nodes if n.node_id != old)
        majority = AdminClient({"bootstrap.servers": majority_bootstrap})
        new = settle(lambda: (lambda s: s[0] if s[0] not in (old, -1) else None)(state(majority)),
                     "a new leader", SETTLE_S)
        t.ok(new, f"the majority fences it: broker {new} leads")
        # The first producer keeps retrying on the old leader, which still
        # answers (REQUEST_TIMED_OUT, retriable): a client on the majority's
        # side goes on meanwhile.
        produce_tracked(p, TOPIC, [(0, b"c-%05d" % i) for i in range(300, 400)], acked, failed, 0)
        q = Producer({"bootstrap.servers": majority_bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 5})
        produce_tracked(q, TOPIC, [(0, b"d-%05d" % i) for i in range(300)], acked, failed, 30)
        t.ok(len([v for v in acked if v.startswith(b"d-")]) == 300 and not failed,
             "a producer on the majority's side: 300 acknowledged by the new leader",
             f"acked {len(acked)}, failed {len(failed)}")

        hosts.heal(old)
        p.flush(60)
        t.ok(len(acked) == 700 and not failed,
             "healed, the old leader answers NOT_LEADER_OR_FOLLOWER and the first producer's "
             "records reach the new leader: 700 acknowledged",
             f"acked {len(acked)}, failed {len(failed)}")
        t.ok(settle(lambda: len(set(log_bytes(n) for n in nodes)) == 1 or None, "logs equal",
                    SETTLE_S),
             f"broker {old} truncates and catches up: the logs are equal byte for byte")
        t.ok(settle(lambda: len(state(admin)[1]) == NODES or None, "full ISR", SETTLE_S),
             f"and broker {old} rejoins the ISR", f"ISR {state(admin)[1]}")
        seen, _ = consume_from_start(c.bootstrap, TOPIC, 1, f"check-{time.time()}")
        where = dict(seen)
        t.ok(all(where.get(v) == pos for v, pos in acked.items()) and len(seen) == len(where),
             "every acknowledged record is read back once, at its offset")
        t.ok(NOT_ACKNOWLEDGED not in where, "the unacknowledged record is nowhere")
        q.flush(1)


def main():
    t = tap.Tap()
    skip_under_cluster(t, "a leader cut off by a network partition", OWN_NODES)
    ok, why = netns.available()
    if target() != "runnel":
        t.skip("a leader cut off by a network partition", "the cluster harness runs Runnel only")
    elif not ok:
        t.skip("a leader cut off by a network partition", why)
    else:
        with netns.Hosts(NODES) as hosts:
            t.run(scenario, hosts)
    t.done()


if __name__ == "__main__":
    main()
