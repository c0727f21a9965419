#!/usr/bin/env python3
"""Stopping a node of a three-node cluster while work is in flight.

- The active controller is sent SIGTERM while a CreateTopics it was
  forwarded (on its controller listener, as a peer forwards a client's
  request) waits for a commit that cannot come (the other two voters are
  frozen with SIGSTOP): it stops cleanly, exit code 0, and under ASan with
  nothing leaked (the request and its connection are freed).
- A second SIGTERM during a clean stop is logged and ignored, as Kafka's broker does
  (its shutdown hook runs to the end): the stop goes on, the process exits
  0, not by the signal, and says it stopped cleanly.

Runnel only (the cluster harness). Bounded: about 40 s."""

import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, run_scenarios  # noqa: E402
from test_cluster_quorum import create_topics_frame  # noqa: E402

SETTINGS = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500"}
WAIT_S = 20.0


def log_text(node):
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        return f.read()


def wait_log(node, pattern, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, log_text(node))
        if m:
            return m
        time.sleep(0.05)
    return None


def leader_of(c):
    """The node whose log says it is the active controller, once all agree."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        named = set()
        for node in c.nodes:
            seen = re.findall(r"active controller: node (\d+)", log_text(node))
            named.add(int(seen[-1]) if seen else None)
        if len(named) == 1 and None not in named:
            return c.node(named.pop())
        time.sleep(0.1)
    return None


def freeze(nodes, sig):
    for node in nodes:
        if node.running():
            os.kill(node.pid, sig)


def stop_with_request_in_flight(t):
    with Cluster(3, settings=SETTINGS) as c:
        leader = leader_of(c)
        t.ok(leader is not None, "the three nodes name one active controller")
        if leader is None:
            return
        others = [n for n in c.nodes if n is not leader]
        freeze(others, signal.SIGSTOP)
        try:
            sock = socket.create_connection(("127.0.0.1", leader.controller_port), 5)
            sock.sendall(create_topics_frame(b"in-flight"))
            time.sleep(1.0)  # planned and proposed; no majority to commit it
            leader.signal_term()
            code = leader.wait_stopped(WAIT_S)
            sock.close()
        finally:
            freeze(others, signal.SIGCONT)
        t.ok(code == 0, f"the controller SIGTERMed with a forwarded CreateTopics in flight "
             f"exits 0 ({code})", leader.log_tail())
        t.ok("stopped cleanly" in log_text(leader), "and says it stopped cleanly")


def second_sigterm(t):
    with Cluster(3, settings=SETTINGS) as c:
        node = c.node(1)
        others = [n for n in c.nodes if n is not node]
        # With its peers frozen, its stop waits for the controller to fence
        # it (a bounded wait): a window for the second signal.
        freeze(others, signal.SIGSTOP)
        try:
            node.signal_term()
            stopping = wait_log(node, r"signal 15: stopping")
            time.sleep(0.2)
            if node.running():
                os.kill(node.pid, signal.SIGTERM)
            code = node.wait_stopped(WAIT_S)
        finally:
            freeze(others, signal.SIGCONT)
        t.ok(stopping is not None, "the node logs its stop on the first SIGTERM")
        t.ok(code == 0, f"a second SIGTERM during the clean stop does not end it: exit code "
             f"{code} (-15: killed by the signal)", node.log_tail())
        text = log_text(node)
        t.ok("signal 15 again: already stopping cleanly" in text,
             "it logs the second signal as ignored", node.log_tail())
        t.ok("stopped cleanly" in text, "and says it stopped cleanly", node.log_tail())


def main():
    run_scenarios("a three-node Runnel cluster", stop_with_request_in_flight, second_sigterm)


if __name__ == "__main__":
    main()
