#!/usr/bin/env python3
"""Producer ids are unique in the cluster, as Kafka's controller makes them:

- three nodes: InitProducerId sent to each node gives ids no other node
  gives (each core takes a block the active controller recorded in the
  metadata log); two idempotent producers initialised through different
  brokers never share an id, so the partition leader never takes one's
  records for the other's duplicates;
- after a whole-cluster restart no id is handed out again;
- one node whose folder holds the `producer_ids` file of a release before
  the metadata log kept them starts its ids above it.

Runnel only (the cluster harness). Raw InitProducerId v1 frames."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker  # noqa: E402
from cluster import Cluster, run_scenarios  # noqa: E402

API_INIT_PRODUCER_ID = 22
ROUNDS = 5


def init_producer_id(bootstrap, corr=1):
    """(error_code, producer_id, epoch) of an idempotent InitProducerId v1."""
    body = kwire.i16(-1) + kwire.i32(60000)  # no transactional id, timeout
    frame = kwire.frame(kwire.request_header(API_INIT_PRODUCER_ID, 1, corr) + body)
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, resp = conn.roundtrip(frame)
    _throttle, err, pid, epoch = struct.unpack(">ihqh", resp[:16])
    return err, pid, epoch


def ids_from(nodes, rounds):
    got = []
    for _ in range(rounds):
        for n in nodes:
            got.append(init_producer_id(n.bootstrap))
    return got


def cluster_unique(t):
    with Cluster(3) as c:
        first = ids_from(c.nodes, ROUNDS)
        ids = [pid for _err, pid, _epoch in first]
        t.ok(all(err == 0 and epoch == 0 and pid >= 0 for err, pid, epoch in first),
             "InitProducerId through each of three nodes: an id, epoch 0", first)
        t.eq(len(set(ids)), len(ids), f"the {len(ids)} ids given by the three nodes are distinct")
        for n in c.nodes:
            n.kill()
        for n in c.nodes:
            n.start(wait=False)
        for n in c.nodes:
            n._wait_ready(60)
        again = [pid for err, pid, _ in ids_from(c.nodes, ROUNDS) if err == 0]
        t.ok(len(again) == len(ids) and min(again) > max(ids),
             "after a whole-cluster SIGKILL and restart every new id is above every earlier one",
             f"before {sorted(ids)}\nafter {sorted(again)}")


def earlier_release_floor(t):
    with Broker() as b:
        b.stop()
        with open(os.path.join(b.data_dir, "producer_ids"), "w") as f:
            f.write("7000\n")
        b.start()
        got = [init_producer_id(b.bootstrap) for _ in range(3)]
        t.ok(all(err == 0 and pid >= 7000 for err, pid, _ in got),
             "a folder whose producer_ids file (an earlier release's) says 7000 hands out ids "
             "from 7000 on", got)


def main():
    run_scenarios("producer ids unique in a cluster", cluster_unique, earlier_release_floor)


if __name__ == "__main__":
    main()
