#!/usr/bin/env python3
"""Five combined runnel nodes on loopback form one cluster; fenced brokers
show in `runnel cluster describe`.

- every node's Metadata lists the five brokers;
- a topic (5 partitions, replication factor 3) is created through a
  different node with each client: Kafka's kafka-topics.sh (node 1), the
  Java Admin client (node 2), confluent-kafka's AdminClient (node 3) and
  `runnel topic create` (node 4); each shows the same leader, replicas and
  ISR from every node, every replica a live broker, the replicas spread
  over all five brokers; the Java client describes the same placement;
- a broker SIGKILLed (not the active controller) is fenced once
  broker.session.timeout.ms passes: DescribeCluster v2 with
  IncludeFencedBrokers lists it with IsFenced, without it (and v1) it is
  left out, and `runnel cluster describe` (text and --json) through
  another node shows it fenced and the other four unfenced; restarted, it
  shows unfenced again.

Runnel only (the cluster harness starts Runnel nodes). Bounded: about 40 s."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from broker import runnel_bin  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import (CREATORS, check_brokers_listed, create_with,  # noqa: E402
                            describe_cluster, one_leader, placement, settle)

NODES = 5
SESSION_MS = 3000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500"}
PARTITIONS = 5
RF = 3
CLI_TIMEOUT_S = 30


def java_view(said):
    """AdminCreateTopic's PARTITION lines: [(partition, leader, replicas, isr)]."""
    out = []
    for line in said.splitlines():
        f = line.split()
        if len(f) == 8 and f[0] == "PARTITION":
            out.append((int(f[1]), int(f[3]), [int(x) for x in f[5].split(",")],
                        sorted(int(x) for x in f[7].split(","))))
    return sorted(out)


def create_everywhere(t, c):
    """One topic per client, each through another node."""
    live = {n.node_id for n in c.nodes}
    for tool, node in zip(CREATORS, c.nodes):
        name = f"five-from-node{node.node_id}"
        ok, said = create_with(tool, node, name, PARTITIONS, RF)
        t.ok(ok, f"{tool} creates {name} ({PARTITIONS} partitions, RF {RF}) through "
             f"node {node.node_id}", said)
        view = settle(lambda: placement(c.nodes, name, PARTITIONS, RF, live), f"{name} placed")
        spread = sorted({r for p in view or [] for r in p[3]})
        t.ok(view is not None and spread == sorted(live),
             f"{name}: every node shows the same leader, replicas and ISR; replicas live "
             f"brokers, spread over all five ({spread})", view)
        if tool == "the Java Admin client" and view:
            mine = [(p[0], p[2], p[3], sorted(p[4])) for p in view]
            t.eq(java_view(said), mine, f"{name}: the Java client describes the same placement")


def cli_describe(node, *extra):
    r = subprocess.run([runnel_bin(), "cluster", "describe", "-b", node.bootstrap, *extra],
                       capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    return r.returncode, r.stdout, r.stderr


def fenced_by_cli(node):
    """{broker id: fenced} from `runnel cluster describe --json`."""
    rc, out, _ = cli_describe(node, "--json")
    return {b["id"]: b.get("fenced") for b in json.loads(out)["brokers"]} if rc == 0 else None


def state_column(out, broker_id):
    """The STATE cell of one broker's row in the text table."""
    head = next((ln.split() for ln in out.splitlines() if ln.startswith("BROKER")), None)
    for ln in out.splitlines():
        f = ln.split()
        if head and "STATE" in head and f and f[0] == str(broker_id) and len(f) >= len(head) - 1:
            return f[head.index("STATE")]
    return None


def fence_and_back(t, c):
    leader = one_leader(c.nodes)
    victim = next(n for n in reversed(c.nodes) if n.node_id != leader)
    watcher = next(n for n in c.nodes if n is not victim)
    others = {n.node_id: False for n in c.nodes if n is not victim}
    t.eq(fenced_by_cli(watcher), {**others, victim.node_id: False},
         "cluster describe --json: five brokers, none fenced")
    victim.kill()
    killed = time.monotonic()
    seen = settle(lambda: fenced_by_cli(watcher) == {**others, victim.node_id: True},
                  "the killed broker shown fenced", SESSION_MS / 1000 + 15)
    t.diag(f"shown fenced {time.monotonic() - killed:.1f}s after SIGKILL "
           f"(broker.session.timeout.ms={SESSION_MS})")
    t.ok(seen, f"broker {victim.node_id} SIGKILLed past broker.session.timeout.ms: "
         "cluster describe --json shows it fenced, the other four unfenced")
    rc, out, err = cli_describe(watcher)
    t.ok(rc == 0 and state_column(out, victim.node_id) == "fenced" and
         all(state_column(out, i) == "unfenced" for i in others),
         "cluster describe (text): its STATE is fenced, the others' unfenced", out + err)
    err, listed = describe_cluster(watcher, include_fenced=True)
    t.ok(err == 0 and (victim.node_id, True) in [(b[0], b[4]) for b in listed] and
         len(listed) == NODES, "DescribeCluster v2 IncludeFencedBrokers: five brokers, it "
         "with IsFenced", listed)
    err, listed = describe_cluster(watcher, include_fenced=False)
    t.ok(err == 0 and sorted(b[0] for b in listed) == sorted(others) and
         not any(b[4] for b in listed), "without IncludeFencedBrokers: the four unfenced", listed)
    err, listed = describe_cluster(watcher, include_fenced=True, version=1)
    t.ok(err == 0 and sorted(b[0] for b in listed) == sorted(others),
         "DescribeCluster v1: the four unfenced", listed)
    victim.start()
    back = settle(lambda: fenced_by_cli(watcher) == {**others, victim.node_id: False},
                  "the restarted broker shown unfenced")
    t.ok(back, f"restarted, broker {victim.node_id} shows unfenced again")


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        check_brokers_listed(t, c)
        create_everywhere(t, c)
        fence_and_back(t, c)


def main():
    run_scenarios("a five-node Runnel cluster", scenario)


if __name__ == "__main__":
    main()
