#!/usr/bin/env python3
"""A node id registered by a live incarnation, from the same data folder or not.

Nodes 1-3 are combined voters, node 4 a broker only; broker.session.timeout.ms
is 8 s, so a killed node's registration stays live while it starts again.

- The same node restarted after SIGKILL (same data folder, its old lease
  still live), combined or broker-only: it registers again at once; its
  log shows no DUPLICATE_BROKER_REGISTRATION and it serves.
- Another process started with node.id=4 (a folder of its own) while node 4
  runs: the active controller answers DUPLICATE_BROKER_REGISTRATION and the
  process refuses to start at once (well within the session timeout), exit
  code non-zero, saying another process is running node.id=4 and to stop it
  or pick another node.id. Node 4 serves on.
- Voter 3 SIGKILLed and started on an emptied data folder (a replaced disk):
  it caught up on voter 3's controller address, so the live registration is
  its own previous process's: it registers once that registration is fenced
  (its process's connections gone) or its lease runs out, never refused as
  another process, serves, and is a voter again from its new folder.

Runnel only (the cluster harness). Bounded: about 40 s."""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from cluster import Cluster, ClusterNode, run_scenarios  # noqa: E402
from cluster_checks import metadata, settle  # noqa: E402

SESSION_MS = 8000
CLUSTER_ID = "RnRlc3RkdXBsaWNhdGVpZA"
SETTINGS = {"cluster.id": CLUSTER_ID, "broker.session.timeout.ms": str(SESSION_MS),
            "broker.heartbeat.interval.ms": "500"}
REFUSE_S = 5.0  # within the session timeout: at once, not after the lease


def log_since_start(node):
    with open(node.log_path, errors="replace") as f:
        f.seek(node._log_mark)
        return f.read()


def restart_after_kill(t, c, node_id):
    node = c.node(node_id)
    node.kill()
    node.start()  # waits until ready (a broker-only node: its listener takes Raft already)
    settle(lambda: "unfenced: serving clients" in log_since_start(node),
           f"node {node_id} unfenced", timeout=REFUSE_S)
    text = log_since_start(node)
    t.ok("DUPLICATE_BROKER_REGISTRATION" not in text and "registered with broker epoch" in text,
         f"node {node_id} SIGKILLed and started again on its folder, its lease live: it "
         f"registers again at once", text[-1500:])
    listed = settle(lambda: node_id in metadata(node, [])[0], f"node {node_id} in its own Metadata")
    t.ok(listed, "and serves, soon listed in its own Metadata")


def duplicate_refused(t, c):
    taken = {p for n in c.nodes for p in (n.port, n.controller_port, n.admin_port)}
    dup = ClusterNode(4, taken)
    dup.name = "duplicate node 4"
    dup.configure(c.voters, SETTINGS, {"process.roles": "broker"})
    t0 = time.monotonic()
    dup.start(wait=False)
    try:
        code = dup.proc.wait(REFUSE_S)
    except Exception:
        code = None
    took = time.monotonic() - t0
    if code is None:
        dup.kill()
    else:
        dup._reap()
    text = log_since_start(dup)
    t.ok(code not in (None, 0), f"a second process with node.id=4 (a folder of its own) exits "
         f"non-zero ({code}) within {REFUSE_S:.0f} s ({took:.1f} s), not after the "
         f"{SESSION_MS // 1000} s lease", text[-1500:])
    t.ok(re.search(r"another process is running node\.id=4.*Stop that process, or give this "
                   r"node another node\.id", text) is not None,
         "and says another process runs node.id=4: stop it or pick another node.id",
         text[-1500:])
    brokers, _ = metadata(c.node(4), [])
    t.ok(c.node(4).running() and 4 in brokers, "node 4 serves on")


def wiped_voter(t, c):
    node = c.node(3)
    node.kill()
    node.wipe()
    node.start()
    settle(lambda: "added to the quorum as a voter" in log_since_start(node),
           "voter 3 added back", timeout=REFUSE_S)
    text = log_since_start(node)
    t.ok("unfenced: serving clients" in text and "another process is running" not in text,
         "voter 3 SIGKILLed and started on an emptied folder registers once its old registration "
         "is fenced (its process gone) or its lease ran out, and serves", text[-1500:])
    t.ok("its voter entry of a former data folder was removed" in text and
         "added to the quorum as a voter" in text,
         "and is a voter again, from its new folder", text[-1500:])


def scenario(t):
    with Cluster(4, settings=SETTINGS, voters=[1, 2, 3],
                 node_settings={4: {"process.roles": "broker"}}) as c:
        restart_after_kill(t, c, 3)
        restart_after_kill(t, c, 4)
        duplicate_refused(t, c)
        wiped_voter(t, c)


def main():
    run_scenarios("a four-node Runnel cluster", scenario)


if __name__ == "__main__":
    main()
