#!/usr/bin/env python3
"""`runnel cluster describe` with the metadata quorum, and `runnel cluster
quorum describe | remove-voter | add-voter`, against three runnel nodes.

describe shows the three brokers (with a rack column) and three voters, one
of them the leader; a follower whose folder was wiped is removed and added
back as a voter with the CLI, and describe shows it a voter again; removing a
node that is no voter is VOTER_NOT_FOUND and exit 1; bad arguments exit 2
before anything is sent.

Runnel only (the cluster harness starts Runnel nodes). Bounded: about 40 s."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import broker as broker_lib  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402
from cluster_checks import settle  # noqa: E402

CLI_TIMEOUT_S = 60
SETTLE_S = 30.0


def cli(*args):
    r = subprocess.run([broker_lib.runnel_bin(), *args], capture_output=True, text=True,
                       timeout=CLI_TIMEOUT_S)
    return r.returncode, r.stdout, r.stderr


def quorum_json(bootstrap):
    rc, out, _ = cli("cluster", "quorum", "describe", "-b", bootstrap, "--json")
    return json.loads(out)["quorum"] if rc == 0 else None


def settled(bootstrap):
    """The quorum once it has a leader and three voters."""
    def ask():
        q = quorum_json(bootstrap)
        return q if q and q["leader"] >= 0 and len(q["voters"]) == 3 else None
    return settle(ask, "a leader and three voters", SETTLE_S)


def check_describe(t, c):
    bs = c.nodes[0].bootstrap
    q = settled(bs)
    t.ok(q is not None, "a leader and three voters", q)
    rc, out, err = cli("cluster", "describe", "-b", bs)
    lines = out.splitlines()
    t.ok(rc == 0 and lines[0].startswith("CLUSTER ") and "RACK" in out,
         "cluster describe: the cluster line and a RACK column", f"rc={rc}\n{out}\n{err}")
    t.ok(all(f"127.0.0.1   {n.port}" in out or f" {n.port} " in out for n in c.nodes),
         "cluster describe: the three brokers' ports", out)
    roles = [ln.split()[1] for ln in lines if ln.split()[:1] and ln.split()[0].isdigit()
             and len(ln.split()) > 1 and ln.split()[1] in ("leader", "follower", "observer")]
    t.eq(sorted(roles), ["follower", "follower", "leader"],
         "cluster describe: one leader and two followers in the quorum table")
    rc, out, err = cli("cluster", "describe", "-b", bs, "--json")
    doc = json.loads(out) if rc == 0 else {}
    ids = sorted(b["id"] for b in doc.get("brokers", []))
    t.eq(ids, [1, 2, 3], "describe --json: three brokers")
    t.ok(all("rack" in b for b in doc.get("brokers", [])), "describe --json: each has a rack",
         doc)
    q = doc.get("quorum") or {}
    voters = q.get("voters", [])
    t.ok(len(voters) == 3 and sum(v["leader"] for v in voters) == 1 and
         q["leader"] in (1, 2, 3) and q["epoch"] > 0 and q["high_watermark"] > 0 and
         doc["cluster_id"],
         "describe --json: cluster id, three voters, one leader, epoch and high watermark", q)
    t.ok(len(voters) == 3 and all(len(v["directory_id"]) == 22 and v["log_end"] >= 0 and "lag" in v
             and "last_fetch_ms" in v for v in voters),
         "describe --json: each voter's directory id, log end, lag and last contact", voters)
    return q["leader"]


def check_errors(t, bs):
    rc, out, err = cli("cluster", "quorum", "remove-voter", "9", "-b", bs)
    t.ok(rc == 1 and "VOTER_NOT_FOUND" in err,
         "remove-voter 9: VOTER_NOT_FOUND, exit 1", f"rc={rc}\n{out}\n{err}")
    for args, why in ((["remove-voter", "x"], "not a node id"),
                      (["add-voter", "2", "--port", "1"], "--host"),
                      (["add-voter", "2", "--host", "h"], "--port")):
        rc, out, err = cli("cluster", "quorum", *args, "-b", bs)
        t.ok(rc == 2 and why in err, f"quorum {' '.join(args)}: exit 2, says {why}",
             f"rc={rc}\n{err}")
    closed = f"127.0.0.1:{broker_lib.free_port()}"
    rc, out, err = cli("cluster", "quorum", "describe", "-b", closed, "--timeout-ms", "1500")
    t.ok(rc == 1 and closed in err and "no answer" in err,
         "quorum describe against a closed port: exit 1, says so", f"rc={rc}\n{err}")


def check_readd(t, c, leader):
    wiped = next(n for n in c.nodes if n.node_id != leader)
    other = next(n for n in c.nodes if n.node_id not in (leader, wiped.node_id))
    bs = other.bootstrap
    wiped.term()
    wiped.wipe()
    wiped.start()
    rc, out, err = cli("cluster", "quorum", "remove-voter", str(wiped.node_id), "-b", bs)
    t.ok(rc == 0 and f"node {wiped.node_id}: removed" in out,
         f"remove-voter {wiped.node_id} (wiped) through another node", f"rc={rc}\n{out}\n{err}")
    q = quorum_json(bs)
    t.ok(q and len(q["voters"]) == 2, "two voters left", q)
    rc, out, err = cli("cluster", "quorum", "add-voter", str(wiped.node_id), "--host",
                       "127.0.0.1", "--port", str(wiped.controller_port), "-b", bs,
                       "--timeout-ms", "30000")
    t.ok(rc == 0 and f"node {wiped.node_id}: added" in out,
         f"add-voter {wiped.node_id} with its controller listener", f"rc={rc}\n{out}\n{err}")
    q = settled(bs)
    t.ok(q is not None and wiped.node_id in [v["id"] for v in q["voters"]],
         "describe shows it a voter again", q)
    rc, out, err = cli("cluster", "quorum", "add-voter", str(wiped.node_id), "--host",
                       "127.0.0.1", "--port", str(wiped.controller_port), "-b", bs)
    t.ok(rc == 1 and "DUPLICATE_VOTER" in err, "adding it again: DUPLICATE_VOTER, exit 1",
         f"rc={rc}\n{err}")


def scenario(t):
    with Cluster(3) as c:
        leader = check_describe(t, c)
        check_errors(t, c.nodes[0].bootstrap)
        check_readd(t, c, leader)


def main():
    run_scenarios("a Runnel cluster", scenario,
                  reason="the cluster harness starts Runnel nodes only")


if __name__ == "__main__":
    main()
