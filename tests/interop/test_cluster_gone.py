#!/usr/bin/env python3
"""A broker whose process dies is fenced at once, not at the end of its
session (src/cluster/membership.c): three runnel nodes with a session of
30 s, so that only the closed connections can explain a quick fence.

- A broker that leads partitions (not the active controller) is SIGKILLed:
  the kernel closes its connections; the active controller fences it
  within a few seconds and logs why (its connections closed and none came
  back), its partitions get new leaders, and acks=all produce succeeds on
  every partition again, all well before the 30 s session.
- The active controller itself is SIGKILLed: the node elected in its place
  knows the old leader's connections to it closed, and fences it as soon
  as it leads, not 30 s later.
- controlled.shutdown.enable: a broker SIGTERMed with the default (true)
  asks the controller to fence it before it goes, and the controller fences
  it on that request; with false it goes at once without asking, exit code
  0, and the controller fences it as gone. Either way, with an acks=all
  producer writing to it throughout, its stop leaves no request open (none
  waits on followers that can no longer fetch) and takes well under the
  5 s a stop may wait for them, and the producer loses nothing.
- A broker paused with SIGSTOP keeps its connections open: it is not
  fenced while its session runs (a pause is no death), and it serves again
  when resumed.

Runnel only (the cluster harness runs Runnel). Bounded: every wait has a
deadline; about 45 s in all."""

import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import metadata, settle  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

NODES = 3
TOPIC = "gone"
PARTITIONS = 3
SESSION_MS = 30000
SETTINGS = {"broker.session.timeout.ms": str(SESSION_MS), "broker.heartbeat.interval.ms": "1000"}
# Far below the session: a fence within it can only come from the closed
# connections. (The grace is half a second; an election adds a few.)
FENCE_WITHIN_S = 10.0
PAUSE_S = 4.0
GONE_LINE = r"fencing broker {}: its connections to this controller closed"


def log_text(node):
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        return f.read()


def active_controller(c, other_than=None):
    """The node the running nodes' logs name as active controller, once they
    agree (None if they do not within the bound)."""
    def agreed():
        named = set()
        for node in c.nodes:
            if node.running() and node.node_id != other_than:
                seen = re.findall(r"active controller: node (\d+)", log_text(node))
                named.add(int(seen[-1]) if seen else None)
        if len(named) == 1 and None not in named and named != {other_than}:
            return c.node(named.pop())
        return None
    return settle(agreed, "one active controller", 20)


def leaders(node):
    """{partition: leader} of TOPIC as node's Metadata has it."""
    return {p[0]: p[2] for p in metadata(node, [TOPIC])[1].get(TOPIC) or []}


def full_isrs(node):
    view = metadata(node, [TOPIC])[1].get(TOPIC) or []
    return len(view) == PARTITIONS and all(p[2] >= 0 and len(p[4]) == NODES for p in view)


class Load:
    """An idempotent acks=all producer writing to every partition on a
    thread of its own until finish()."""

    def __init__(self, c):
        self.producer = Producer({"bootstrap.servers": c.bootstrap, "acks": "all",
                                  "linger.ms": 1, "enable.idempotence": True,
                                  "reconnect.backoff.max.ms": 1000, "log_level": 0})
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            self.producer.produce(TOPIC, value=b"load", partition=self.sent % PARTITIONS)
            self.sent += 1
            self.producer.poll(0.001)

    def finish(self, timeout=30):
        """Records left unacknowledged after timeout."""
        self.stopping.set()
        self.thread.join()
        return self.producer.flush(timeout)


def produce_everywhere(c, count=30, timeout=20):
    """count acks=all records over every partition; how many were left
    unacknowledged after timeout."""
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "linger.ms": 0,
                  "enable.idempotence": True, "reconnect.backoff.max.ms": 1000,
                  "log_level": 0})
    for i in range(count):
        p.produce(TOPIC, value=b"v%d" % i, partition=i % PARTITIONS)
    return p.flush(timeout)


def start(c):
    admin = AdminClient({"bootstrap.servers": c.bootstrap, "log_level": 0})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, NODES,
                                  config={"min.insync.replicas": "2"})])[TOPIC].result(20)
    return settle(lambda: full_isrs(c.node(1)), "three in-sync replicas everywhere")


def leading_victim(c, controller):
    """A node other than the controller that leads a partition of TOPIC."""
    led = leaders(controller)
    for node in c.nodes:
        if node is not controller and node.node_id in led.values():
            return node
    return None


def controller_and_victim(t, c):
    """Once the topic is settled: the active controller and a broker other
    than it that leads a partition; (None, None) after a failed point."""
    t.ok(start(c), "the topic has three in-sync replicas on every partition")
    controller = active_controller(c)
    victim = leading_victim(c, controller) if controller else None
    t.ok(victim is not None, "a broker other than the active controller leads a partition")
    return (controller, victim) if victim else (None, None)


def killed_broker(t):
    with Cluster(NODES, SETTINGS) as c:
        controller, victim = controller_and_victim(t, c)
        if victim is None:
            return
        killed = time.monotonic()
        victim.kill()
        line = settle(lambda: re.search(GONE_LINE.format(victim.node_id), log_text(controller)),
                      "the fence of the killed broker", FENCE_WITHIN_S)
        t.ok(line, f"the active controller fences broker {victim.node_id} as gone within "
             f"{FENCE_WITHIN_S:.0f} s of its SIGKILL (session {SESSION_MS // 1000} s)",
             controller.log_tail())
        moved = settle(lambda: victim.node_id not in leaders(controller).values()
                       and -1 not in leaders(controller).values(),
                       "new leaders", FENCE_WITHIN_S)
        t.ok(moved, f"its partitions have other leaders {time.monotonic() - killed:.1f} s "
             "after the kill")
        left = produce_everywhere(c)
        t.eq(left, 0, "acks=all produce succeeds on every partition again")
        t.ok(time.monotonic() - killed < SESSION_MS / 1000,
             "all of it before the killed broker's session would have run out")


def killed_controller(t):
    with Cluster(NODES, SETTINGS) as c:
        t.ok(start(c), "the topic has three in-sync replicas on every partition")
        controller = active_controller(c)
        if controller is None:
            t.ok(False, "an active controller")
            return
        controller.kill()
        successor = active_controller(c, other_than=controller.node_id)
        t.ok(successor is not None, "another node becomes the active controller")
        if successor is None:
            return
        line = settle(lambda: re.search(GONE_LINE.format(controller.node_id),
                                        log_text(successor)),
                      "the fence of the killed controller's broker", FENCE_WITHIN_S)
        t.ok(line, f"the new active controller fences broker {controller.node_id} as gone "
             f"(the old leader's connections to it closed) within {FENCE_WITHIN_S:.0f} s",
             successor.log_tail())
        t.eq(produce_everywhere(c), 0, "acks=all produce succeeds on every partition again")


def stopped(t, controlled):
    settings = dict(SETTINGS, **{"controlled.shutdown.enable": str(controlled).lower()})
    with Cluster(NODES, settings) as c:
        controller, victim = controller_and_victim(t, c)
        if victim is None:
            return
        load = Load(c)
        time.sleep(1.0)
        began = time.monotonic()
        victim.signal_term()
        code = victim.wait_stopped(30)
        took = time.monotonic() - began
        left = load.finish()
        t.ok("still open at shutdown" not in log_text(victim),
             f"its stop under acks=all load left no request open ({took:.1f} s)",
             victim.log_tail())
        t.eq(left, 0, f"the producer's {load.sent} records were all acknowledged")
        asked = f"broker {victim.node_id}: asking the controller to fence it before it stops"
        t.eq(code, 0, f"controlled.shutdown.enable={str(controlled).lower()}: broker "
             f"{victim.node_id} SIGTERMed exits 0")
        t.eq(asked in log_text(victim), controlled,
             "it asked the controller to fence it first" if controlled
             else "it did not ask the controller to fence it")
        gone = settle(lambda: re.search(GONE_LINE.format(victim.node_id), log_text(controller)),
                      "the fence of the stopped broker", 3 if controlled else FENCE_WITHIN_S)
        t.eq(bool(gone), not controlled,
             "the controller fenced it on its request, not as gone" if controlled
             else f"the controller fenced it as gone within {FENCE_WITHIN_S:.0f} s")
        t.eq(produce_everywhere(c), 0, "acks=all produce succeeds on every partition")


def controlled_shutdown(t):
    stopped(t, True)


def uncontrolled_shutdown(t):
    stopped(t, False)


def paused_broker(t):
    with Cluster(NODES, SETTINGS) as c:
        controller, victim = controller_and_victim(t, c)
        if victim is None:
            return
        led = {p for p, n in leaders(controller).items() if n == victim.node_id}
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            time.sleep(PAUSE_S)
            text = log_text(controller)
            still = {p for p, n in leaders(controller).items() if n == victim.node_id}
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        t.ok(f"fencing broker {victim.node_id}" not in text,
             f"broker {victim.node_id} paused {PAUSE_S:.0f} s (connections open, session "
             f"{SESSION_MS // 1000} s) is not fenced")
        t.eq(still, led, "it still leads its partitions")
        t.eq(produce_everywhere(c), 0, "resumed, acks=all produce succeeds on every partition")


if __name__ == "__main__":
    run_scenarios("a dead broker fenced at once", killed_broker, killed_controller,
                  controlled_shutdown, uncontrolled_shutdown, paused_broker)
