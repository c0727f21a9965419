#!/usr/bin/env python3
"""Connection limits: max.connections and connections.max.idle.ms.

- With max.connections open, one more connection is not served (Runnel
  closes it with a log line); once one of them closes, a new connection is
  served again. Checked against Runnel only: Kafka exempts its inter-broker
  listener from the broker-wide limit (KIP-402), and on a one-listener test
  broker that listener is the clients' too.
- A connection idle longer than connections.max.idle.ms is closed by the
  broker; one that keeps sending requests is not.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402
import kwire  # noqa: E402

MAX_CONNECTIONS = 3
IDLE_MS = 1500


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def api_versions_ok(s, corr_id, timeout_s=3.0):
    """True when an ApiVersions request gets its whole answer on s."""
    s.settimeout(timeout_s)
    try:
        s.sendall(kwire.api_versions_request(corr_id))
        size = recv_exact(s, 4)
        body = recv_exact(s, int.from_bytes(size, "big")) if size else None
        return body is not None and int.from_bytes(body[:4], "big", signed=True) == corr_id
    except (OSError, socket.timeout):
        return False


def test_max_connections(t, b):
    time.sleep(1.0)  # let the start-up probe's connection close
    held = [kwire.connect(b.bootstrap, 5) for _ in range(MAX_CONNECTIONS)]
    for i, s in enumerate(held):
        t.ok(api_versions_ok(s, 100 + i), f"connection {i + 1} of {MAX_CONNECTIONS} is served")
    extra = kwire.connect(b.bootstrap, 5)
    t.ok(not api_versions_ok(extra, 200, timeout_s=2.0),
         f"connection {MAX_CONNECTIONS + 1} is not served while {MAX_CONNECTIONS} are open")
    extra.close()
    held.pop().close()
    again = connect_served(b.bootstrap, 300)
    t.ok(again is not None, "after one closes, a new connection is served")
    for s in held + ([again] if again else []):
        s.close()


def connect_served(bootstrap, corr_id, wait_s=5.0):
    """A connection that has had one request answered; retried while the
    broker is still noticing earlier closes (it counts them on its next turn)."""
    deadline = time.time() + wait_s
    while True:
        s = kwire.connect(bootstrap, 5)
        if api_versions_ok(s, corr_id, timeout_s=1.0):
            return s
        s.close()
        if time.time() > deadline:
            return None
        time.sleep(0.2)


def test_idle(t, b):
    idle = connect_served(b.bootstrap, 1)
    busy = connect_served(b.bootstrap, 2)
    t.ok(idle is not None and busy is not None, "both connections served")
    if idle is None or busy is None:
        return
    deadline = time.time() + IDLE_MS / 1000 * 3 + 2
    corr = 10
    closed = False
    while time.time() < deadline and not closed:
        corr += 1
        if not api_versions_ok(busy, corr):
            break
        idle.settimeout(0.3)
        try:
            closed = idle.recv(1) == b""
        except socket.timeout:
            pass
        except OSError:
            closed = True
    t.ok(closed, f"an idle connection is closed after connections.max.idle.ms={IDLE_MS}")
    t.ok(api_versions_ok(busy, 999), "a connection that keeps sending stays open")
    idle.close()
    busy.close()


def main():
    t = Tap("connection limits")
    skip_under_cluster(t, "connection limits", "one broker process's connection limits")
    settings = {"max.connections": MAX_CONNECTIONS, "connections.max.idle.ms": IDLE_MS}
    with Broker(settings) as b:
        if target() == "runnel":
            t.run(test_max_connections, b, desc="max.connections")
        t.run(test_idle, b, desc="connections.max.idle.ms")
    t.done()


if __name__ == "__main__":
    main()
