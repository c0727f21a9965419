#!/usr/bin/env python3
"""Several client listeners: each answer names brokers on the listener the
request came in on.

Three combined nodes, each with two client listeners as a Kubernetes pod
has (INTERNAL, advertised as 127.0.0.1 and used between brokers, and
EXTERNAL, advertised as `localhost` on its own port, as a NodePort or a
load balancer would be) besides the controller listener:

- Metadata, DescribeCluster and FindCoordinator asked on an INTERNAL port
  name every broker at 127.0.0.1 and its INTERNAL port; asked on an
  EXTERNAL port, at localhost and its EXTERNAL port;
- a producer (acks=all) and a consumer group bootstrapped on EXTERNAL
  ports only write and read every record (the replicas fetch from each
  other on INTERNAL, inter.broker.listener.name);
- a node with one listener too many, or an advertised listener that is no
  listener, refuses to start with Kafka's message.

Runnel only (the cluster harness). Bounded: about 20 s."""

import os
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import kafka_request, runnel_bin  # noqa: E402
from cluster import Cluster, ClusterNode, run_scenarios  # noqa: E402
from cluster_checks import describe_cluster, metadata, settle  # noqa: E402
from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kwire import Reader  # noqa: E402

NODES = 3
TOPIC = "two-doors"
RECORDS = 200


class TwoListenerNode(ClusterNode):
    """A node with an INTERNAL and an EXTERNAL listener."""

    def __init__(self, node_id, taken, data_dir=None):
        super().__init__(node_id, taken, data_dir)
        self.external_port = self._pick(taken)
        self.external = f"127.0.0.1:{self.external_port}"

    def configure(self, voters, shared, own):
        mine = {
            "listeners": f"INTERNAL://127.0.0.1:{self.port},"
                         f"EXTERNAL://127.0.0.1:{self.external_port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"INTERNAL://127.0.0.1:{self.port},"
                                    f"EXTERNAL://localhost:{self.external_port}",
            "listener.security.protocol.map":
                "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
        }
        mine.update(own or {})
        super().configure(voters, shared, mine)


class Door:
    """What a client at one listener's address is shown."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap


def find_coordinator(addr, group):
    """FindCoordinator v1 for a group: (error, node id, host, port)."""
    body = struct.pack(">h", len(group)) + group.encode() + b"\x00"
    r = Reader(kafka_request(addr, 10, 1, body))
    r.i32()  # throttle
    err = r.i16()
    r.string()  # message
    return err, r.i32(), r.string(), r.i32()


def scenario(t):
    with Cluster(NODES, {"broker.session.timeout.ms": "4000"},
                 node_class=TwoListenerNode) as c:
        nodes = c.nodes
        want_int = {n.node_id: ("127.0.0.1", n.port) for n in nodes}
        want_ext = {n.node_id: ("localhost", n.external_port) for n in nodes}
        seen_int = settle(lambda: (lambda b: b if len(b) == NODES else None)(
            metadata(Door(nodes[0].bootstrap), [])[0]), "three brokers on INTERNAL")
        t.eq(seen_int, want_int, "Metadata on INTERNAL names every broker at its INTERNAL address")
        seen_ext = metadata(Door(nodes[1].external), [])[0]
        t.eq(seen_ext, want_ext,
             "Metadata on EXTERNAL names every broker at its EXTERNAL address (localhost)")
        err, brokers = describe_cluster(Door(nodes[2].external), False)
        t.eq((err, {b[0]: (b[1], b[2]) for b in brokers}), (0, want_ext),
             "DescribeCluster on EXTERNAL too")

        admin = AdminClient({"bootstrap.servers": ",".join(n.external for n in nodes)})
        admin.create_topics([NewTopic(TOPIC, 3, 3)])[TOPIC].result(20)
        p = Producer({"bootstrap.servers": nodes[0].external, "acks": "all",
                      "enable.idempotence": True})
        acked = []
        for i in range(RECORDS):
            p.produce(TOPIC, value=b"r-%04d" % i,
                      on_delivery=lambda e, m: acked.append(m.value()) if not e else None)
        p.flush(30)
        t.eq(len(acked), RECORDS, "a producer bootstrapped on EXTERNAL: every record acknowledged "
                                  "(acks=all: the followers fetched on INTERNAL)")
        cons = Consumer({"bootstrap.servers": nodes[2].external, "group.id": "outside",
                         "auto.offset.reset": "earliest"})
        cons.subscribe([TOPIC])
        got = set()
        started = time.monotonic()
        for _ in range(300):
            m = cons.poll(0.2)
            if m is not None and not m.error():
                got.add(m.value())
            if len(got) >= RECORDS:
                break
        cons.close()
        t.diag(f"the group read {len(got)} records in {time.monotonic() - started:.1f} s")
        t.eq(len(got), RECORDS, "a consumer group bootstrapped on EXTERNAL reads every record")
        coord = find_coordinator(nodes[0].external, "outside")
        t.ok(coord[0] == 0 and (coord[2], coord[3]) == want_ext.get(coord[1]),
             f"FindCoordinator on EXTERNAL names the coordinator at its EXTERNAL address: {coord}")
        coord = find_coordinator(nodes[0].bootstrap, "outside")
        t.ok(coord[0] == 0 and (coord[2], coord[3]) == want_int.get(coord[1]),
             f"and on INTERNAL at its INTERNAL address: {coord}")
        del p, admin


def start_error(settings):
    with tempfile.TemporaryDirectory() as data:
        cmd = [runnel_bin(), "server", "--set", f"log.dirs={data}", "--set", "admin.listener=none"]
        for k, v in settings.items():
            cmd += ["--set", f"{k}={v}"]
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                             text=True, env={"PATH": os.environ.get("PATH", "/usr/bin")})
    return res.returncode, res.stderr.strip()


def refusals(t):
    code, err = start_error({"listeners": "PLAINTEXT://127.0.0.1:0",
                             "advertised.listeners": "OUTSIDE://h:1",
                             "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,"
                                                               "OUTSIDE:PLAINTEXT"})
    t.ok(code == 2 and "Found OUTSIDE. The valid options based on the current configuration are "
         "PLAINTEXT" in err, f"an advertised listener that is no listener is refused: {err}")
    names = ["A", "B", "C", "D", "E"]
    code, err = start_error({"listeners": ",".join(f"{x}://127.0.0.1:0" for x in names),
                             "listener.security.protocol.map":
                                 ",".join(f"{x}:PLAINTEXT" for x in names)})
    t.ok(code == 2 and "serves at most 4" in err, f"five client listeners are refused: {err}")


if __name__ == "__main__":
    run_scenarios("several client listeners", scenario, refusals)
