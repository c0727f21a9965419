#!/usr/bin/env python3
"""Replication metrics and health on three runnel nodes (src/admin/): a
topic of replication factor 3 and min.insync.replicas 2.

- Settled: on every node /health/ready and /health/restart-safe are 200,
  nothing is under-replicated, out of sync or leaderless, and the nodes'
  runnel_partitions_leader add up to every partition; after acks=all
  traffic the followers' replica fetch counters moved.
- One node (not the active controller) stopped with SIGSTOP, then records
  produced to the partitions the others lead: those leaders shrink it out
  of their ISRs after replica.lag.time.max.ms (1.5 s here;
  runnel_isr_shrinks_total), and the controller fences it after
  broker.session.timeout.ms (3 s), which takes it out of the other ISRs
  and moves the partitions it led. The survivors then show every partition
  of the topic under-replicated and at min ISR, and /health/restart-safe is
  503 on each, naming the topic's partitions (stopping either would leave
  an ISR of 1 < 2).
- Records produced meanwhile; resumed (SIGCONT), the node's first
  /health/ready answer is 503 naming the controller (no answer for longer
  than the session timeout, or fenced): its image is stale until it hears
  from the controller again, so it cannot vouch for its ISRs. It catches
  up: its runnel_replica_max_lag is seen above 0 while it does, its
  /health/ready is 503 ("replicas not in sync") until its leaders take it
  back, then 200; every ISR is full again, under-replicated back to 0 everywhere,
  restart-safe 200 everywhere, runnel_isr_expands_total > 0. (Resumed, the
  node may first ask, as the leader it was, to shrink ISRs it no longer
  leads: the controller refuses, and runnel_isr_updates_failed_total counts
  each refusal the logs show.)

Runnel only (the cluster harness runs Runnel; Kafka has no admin port).
Bounded: every wait has a deadline; about 10 s in all."""

import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import leader_seen, metadata, settle  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NODES = 3
TOPIC = "watched"
PARTITIONS = 3
SESSION_MS = 3000
LAG_MS = 1500
# The transaction log's 50 partitions keep min.insync.replicas 1 here, so
# /health/restart-safe's list (its length bounded) names TOPIC's whole.
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "500",
            "replica.lag.time.max.ms": str(LAG_MS), "transaction.state.log.min.isr": "1"}
SETTLE_S = 30.0
VALUE = b"v" * 1000
BACKLOG = 15000  # records produced while a node is stopped: 5 MB a partition
POLL_S = 0.01
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$")


def http(node, path):
    """(status, body) of a GET on node's admin port."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.admin_port}{path}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(node):
    """{name: value} of node's unlabelled samples."""
    status, text = http(node, "/metrics")
    assert status == 200, f"/metrics answered {status}"
    return {m.group(1): float(m.group(2)) for m in map(SAMPLE_RE.match, text.splitlines()) if m}


def log_count(node, text):
    """Lines of node's log (this run of it) that hold text."""
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        return sum(text in line for line in f)


def total(nodes, name):
    return sum(scrape(n)[name] for n in nodes)


def topic_view(node):
    """[(partition, error, leader, replicas, isr)] of TOPIC on node."""
    return metadata(node, [TOPIC])[1].get(TOPIC) or []


def full_isrs(node):
    view = topic_view(node)
    return len(view) == PARTITIONS and all(
        p[2] >= 0 and sorted(p[4]) == sorted(p[3]) and len(p[3]) == NODES for p in view)


def produce(c, count, partitions=range(PARTITIONS)):
    """count records with acks=all spread over partitions; how many were
    left unacknowledged."""
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 5,
                  "enable.idempotence": True})
    for i in range(count):
        p.produce(TOPIC, value=VALUE, partition=partitions[i % len(partitions)])
        p.poll(0)
    return p.flush(60)


def settled(c, t):
    """Every node healthy, as the test starts and again at its end."""
    nodes = c.nodes

    def healthy():
        return all(full_isrs(n) for n in nodes) and all(
            http(n, "/health/ready")[0] == 200 and http(n, "/health/restart-safe")[0] == 200 and
            scrape(n)["runnel_partitions_under_replicated"] == 0 and
            scrape(n)["runnel_replicas_out_of_sync"] == 0 for n in nodes)
    ok = settle(healthy, "every node healthy", SETTLE_S)
    t.ok(ok, "on every node: /health/ready and /health/restart-safe 200, ISRs full, "
         "nothing under-replicated or out of sync")
    return ok


def check_before(t, c):
    if not settled(c, t):
        return
    led = sum(1 for parts in metadata(c.nodes[0])[1].values() for p in parts if p[2] >= 0)
    t.eq(total(c.nodes, "runnel_partitions_leader"), led,
         f"the nodes' runnel_partitions_leader add up to the {led} partitions")
    t.eq(total(c.nodes, "runnel_partitions_leaderless"), 0, "nothing leaderless")
    t.eq(produce(c, 3000), 0, "3000 records acknowledged with acks=all")
    t.ok(total(c.nodes, "runnel_replica_fetch_bytes_total") >= 2 * 3000 * len(VALUE),
         "the followers fetched both copies of the records (runnel_replica_fetch_bytes_total)")
    t.ok(total(c.nodes, "runnel_replica_fetch_requests_total") > 0, "replica fetches counted")


def out_of_isrs(node, victim):
    """Whether node's Metadata shows victim in no ISR of TOPIC, leading none."""
    view = topic_view(node)
    return len(view) == PARTITIONS and all(
        victim.node_id not in p[4] and p[2] not in (-1, victim.node_id) for p in view)


def restart_unsafe(node):
    """node's /health/restart-safe, once it is 503 naming every partition of
    TOPIC as falling below min.insync.replicas 2; else None."""
    status, body = http(node, "/health/restart-safe")
    named = all(f"{TOPIC}-{p}: ISR " in body for p in range(PARTITIONS))
    ok = status == 503 and named and "would shrink to 1, below min.insync.replicas 2" in body
    return body if ok else None


def check_stopped(t, c, victim, led_before):
    survivors = [n for n in c.nodes if n is not victim]
    # Records the stopped follower lacks: its leaders drop it after
    # replica.lag.time.max.ms; the partitions it led move at its fence.
    stopped = time.monotonic()
    others = [p for p, _err, leader, _r, _i in led_before if leader != victim.node_id]
    t.eq(produce(c, 300, others), 0,
         f"300 records acknowledged with acks=all after the stop, on partitions {others} "
         "led by the survivors")
    t.ok(settle(lambda: all(out_of_isrs(n, victim) for n in survivors),
                "the stopped node out of every ISR", SETTLE_S),
         f"node {victim.node_id} stopped: out of every ISR of {TOPIC} and leading none, "
         "on both survivors")
    t.diag(f"out of every ISR and leading none {time.monotonic() - stopped:.1f}s after SIGSTOP")
    t.ok(settle(lambda: total(survivors, "runnel_partitions_at_min_isr") >= PARTITIONS,
                "at min ISR on the survivors", 10),
         f"the survivors' leaders count the {PARTITIONS} partitions at min ISR (2 of 2)")
    t.ok(total(survivors, "runnel_partitions_under_replicated") >= PARTITIONS,
         "and under-replicated")
    t.eq(total(survivors, "runnel_partitions_under_min_isr"), 0, "none under min ISR")
    shrinks = total(survivors, "runnel_isr_shrinks_total")
    t.diag(f"ISR shrinks the survivors' leaders had taken: {shrinks:.0f}")
    t.ok(shrinks > 0, f"leaders shrank the ISR after replica.lag.time.max.ms={LAG_MS} "
         "(runnel_isr_shrinks_total > 0)")
    for n in survivors:
        body = settle(lambda: restart_unsafe(n), f"restart-safe 503 on node {n.node_id}", 10)
        t.ok(body, f"/health/restart-safe on node {n.node_id} is 503 and names the "
             f"{PARTITIONS} partitions that would fall below min.insync.replicas",
             f"last answer {http(n, '/health/restart-safe')}")
        t.eq(http(n, "/health/ready")[0], 200, f"node {n.node_id} stays ready")
    t.eq(produce(c, BACKLOG), 0, f"{BACKLOG} records acknowledged meanwhile")


def readiness_kind(body):
    """A readiness body reduced to its reasons without their details:
    'not ready: no answer from the controller for 3512 ms (...); replicas not
    in sync: 2 (a-0, b-1)' gives 'no answer from the controller; replicas not
    in sync'."""
    text = body.strip().removeprefix("not ready: ")
    return "; ".join(re.split(r":| \(| for \d", r)[0] for r in text.split("; "))


def watch_catch_up(victim, deadline):
    """Polls the resumed node until it is ready and in sync: the readiness
    answers seen (status and body, each change once) and the largest
    runnel_replica_max_lag scraped."""
    seen, lag_max = [], 0.0
    while time.monotonic() < deadline:
        try:
            status, body = http(victim, "/health/ready")
            lag_max = max(lag_max, scrape(victim)["runnel_replica_max_lag"])
        except OSError:
            time.sleep(POLL_S)
            continue
        kind = (status, readiness_kind(body))
        if not seen or seen[-1][:2] != kind:
            seen.append(kind + (body.strip(),))
        if status == 200 and full_isrs(victim):
            break
        time.sleep(POLL_S)
    return seen, lag_max


def check_resumed(t, c, victim, seen, lag_max):
    t.diag(f"/health/ready on node {victim.node_id} after SIGCONT: {[s[2][:90] for s in seen]}")
    controller_reasons = ("no answer from the controller", "fenced by the controller")
    t.ok(seen and seen[0][0] == 503
         and any(r in seen[0][1].split("; ") for r in controller_reasons),
         f"node {victim.node_id} resumed: its first /health/ready is 503 naming its standing "
         "with the controller (its image may be stale)", f"seen {seen}")
    t.ok(any(s[0] == 503 and "replicas not in sync" in s[1].split("; ") for s in seen),
         f"node {victim.node_id} resumed: /health/ready 503 'replicas not in sync' "
         "while it catches up", f"seen {seen}")
    t.ok(seen and seen[-1][0] == 200, f"then /health/ready 200 on node {victim.node_id}")
    t.diag(f"largest runnel_replica_max_lag seen on node {victim.node_id}: {lag_max:.0f}")
    t.ok(lag_max > 0, "runnel_replica_max_lag was above 0 while it caught up")
    if not settled(c, t):
        return
    t.ok(total(c.nodes, "runnel_isr_expands_total") > 0,
         "leaders took it back into their ISRs (runnel_isr_expands_total > 0)")
    t.eq(total(c.nodes, "runnel_replica_max_lag"), 0, "runnel_replica_max_lag 0 once caught up")
    refused = {n.node_id: log_count(n, "ISR change refused") for n in c.nodes}
    t.diag(f"ISR changes refused, by node: {refused}")
    t.eq({n.node_id: scrape(n)["runnel_isr_updates_failed_total"] for n in c.nodes}, refused,
         "runnel_isr_updates_failed_total counts each ISR change refused (one log line each)")


def scenario(t):
    with Cluster(NODES, SETTINGS) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, NODES,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(20)
        check_before(t, c)
        ctl = settle(lambda: leader_seen(c.node(1)), "the active controller", SETTLE_S)
        # Preferably a node that leads some of TOPIC's partitions, not all.
        led_before = topic_view(c.node(ctl))
        candidates = [n for n in c.nodes if n.node_id != ctl]
        victim = next((n for n in candidates
                       if 0 < sum(p[2] == n.node_id for p in led_before) < PARTITIONS),
                      candidates[0])
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            check_stopped(t, c, victim, led_before)
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        resumed = time.monotonic()
        seen, lag_max = watch_catch_up(victim, resumed + SETTLE_S)
        t.diag(f"node {victim.node_id} ready and in sync {time.monotonic() - resumed:.1f}s "
               "after SIGCONT")
        check_resumed(t, c, victim, seen, lag_max)


if __name__ == "__main__":
    run_scenarios("replication metrics and health", scenario)
