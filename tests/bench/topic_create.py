#!/usr/bin/env python3
"""Time to create many topics on a three-node cluster, and each node's
resident memory idle before and after, for Runnel or Apache Kafka 3.9.

    tests/bench/topic_create.py [--target runnel|kafka] [--topics 1000]
                                [--rf 3] [--partitions 1] [--batch 50]

One AdminClient (confluent-kafka, bootstrap = every node) sends CreateTopics
requests of --batch topics each, one request after the other, each waited for.
Printed: the time to the last acknowledgement, the time until every node's own
Metadata lists every topic, the metadata log size on each node, and VmRSS of
each node after start and after the topics (each after --idle seconds of
quiet). If the replication factor cannot be placed (INVALID_REPLICATION_FACTOR
on a probe topic), the run says so and goes on with replication factor 1.
Figures only: nothing is judged.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figlib  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

say = figlib.say


def create_batch(admin, names, partitions, rf, timeout):
    """{name: None or error name} for one CreateTopics request."""
    futs = admin.create_topics([NewTopic(n, partitions, rf) for n in names],
                               request_timeout=timeout)
    out = {}
    for name, fut in futs.items():
        try:
            fut.result(timeout + 5)
            out[name] = None
        except Exception as e:
            out[name] = e.args[0].name() if e.args and hasattr(e.args[0], "name") else str(e)
    return out


def rss_line(cluster):
    rss = cluster.rss()
    total = sum(v for v in rss.values() if v)
    return ", ".join(f"node {k} {v / 1024:.0f} MiB" for k, v in sorted(rss.items())) + \
        f" (sum {total / 1024:.0f} MiB)"


def metadata_sizes(cluster):
    return "; ".join(f"node {n.node_id} {figlib.du_text(cluster.metadata_dir(n))}"
                     for n in cluster.nodes)


def wait_visible(cluster, names, timeout):
    """Seconds until every node's Metadata lists every name (None: not in time)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if all(names <= cluster.topics_on(n) for n in cluster.nodes):
                return time.monotonic() - t0
        except Exception:
            pass
        time.sleep(0.1)
    return None


def run(args):
    say(f"# {args.target}: 3 nodes, {args.topics} topics x {args.partitions} partition(s), "
        f"RF {args.rf} asked, {args.batch} topics per CreateTopics request")
    t0 = time.monotonic()
    cluster = figlib.make_cluster(args.target, 3)
    try:
        leader = cluster.wait_controller(60)
        say(f"# cluster up in {time.monotonic() - t0:.1f} s, active controller node {leader}")
        time.sleep(args.idle)
        say(f"RSS idle after start ({args.target}): {rss_line(cluster)}")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 0})
        rf = args.rf
        probe = create_batch(admin, ["rf-probe"], args.partitions, rf, 30)["rf-probe"]
        if probe is not None and rf > 1:
            say(f"# RF {rf} refused ({probe}); going on with RF 1")
            rf = 1
            probe = create_batch(admin, ["rf-probe"], args.partitions, rf, 30)["rf-probe"]
        if probe is not None:
            say(f"# probe topic not created ({probe})")
            return 1
        names = [f"bench-{i:05d}" for i in range(args.topics)]
        errors = {}
        t_start = time.monotonic()
        for i in range(0, len(names), args.batch):
            for name, err in create_batch(admin, names[i:i + args.batch], args.partitions, rf,
                                          args.timeout).items():
                if err:
                    errors[err] = errors.get(err, 0) + 1
        took = time.monotonic() - t_start
        seen = wait_visible(cluster, set(names), args.timeout)
        visible = f"{took + seen:.2f} s" if seen is not None else "not within the bound"
        say(f"create {args.topics} topics RF {rf} ({args.target}): {took:.2f} s to the last "
            f"acknowledgement ({args.topics / took:.0f} topics/s), on every node's Metadata "
            f"after {visible}" + (f"; errors {errors}" if errors else ""))
        time.sleep(args.idle)
        say(f"RSS idle after {args.topics} topics ({args.target}): {rss_line(cluster)}")
        say(f"metadata log ({args.target}, __cluster_metadata-0): {metadata_sizes(cluster)}")
        return 0
    finally:
        cluster.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=("runnel", "kafka"), default="runnel")
    p.add_argument("--topics", type=int, default=1000)
    p.add_argument("--rf", type=int, default=3)
    p.add_argument("--partitions", type=int, default=1)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--idle", type=float, default=5.0, help="seconds of quiet before RSS")
    p.add_argument("--timeout", type=float, default=120.0, help="bound of each wait")
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
