"""Topic set-up shared by the interop tests, through confluent-kafka's admin client."""

import glob
import os
import time

import kwire
from broker import node_ids, replication_factor
from confluent_kafka.admin import AdminClient, NewTopic


def create_topic(bootstrap, name, partitions, timeout_s=30, config=None, led_by=None):
    """Creates a topic (a replica on every broker of the target: replication
    1 on one node, 3 under RUNNEL_TEST_TARGET=cluster; topic settings
    `config`) and waits until the Metadata of every broker of `bootstrap`
    lists every partition with a leader: Kafka settles a new topic's leaders
    asynchronously, and in a cluster each node learns of the topic in its
    own time (a group leader that assigned from a node that had not yet
    would assign no partition). `led_by`, a node id: every partition's
    replicas are that node first (the one that leads), then the others, for
    raw requests that must all reach one broker."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if led_by is None:
        topic = NewTopic(name, partitions, replication_factor(), config=config or {})
    else:
        replicas = [led_by] + [x for x in node_ids() if x != led_by]
        topic = NewTopic(name, partitions, replica_assignment=[replicas] * partitions,
                         config=config or {})
    admin.create_topics([topic])[name].result(timeout_s)
    wait_listed(bootstrap, name, partitions, timeout_s)


def wait_listed(bootstrap, name, partitions, timeout_s=30):
    """Waits until the Metadata of every broker of `bootstrap` lists the
    topic's partitions, each with a leader (a topic created by other means)."""
    deadline = time.monotonic() + timeout_s
    for addr in bootstrap.split(","):
        while not listed(addr, name, partitions):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {name} not ready on {addr} after {timeout_s}s")
            time.sleep(0.1)


def delete_topic(bootstrap, name, timeout_s=30):
    """Deletes a topic and waits until no broker of `bootstrap` lists it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([name])[name].result(timeout_s)
    deadline = time.monotonic() + timeout_s
    for addr in bootstrap.split(","):
        while listed(addr, name, None):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {name} still listed by {addr} after {timeout_s}s")
            time.sleep(0.1)


def listed(addr, name, partitions):
    """Does the broker at addr list the topic (partitions None), or list its
    partitions 0..partitions-1, each with a leader?"""
    try:
        _, topics = kwire.metadata_v4(addr, [name])
    except (OSError, kwire.Closed):
        return partitions is None  # not known to be gone
    err, parts = topics.get(name, (-1, []))
    if partitions is None:
        return err != 3  # UNKNOWN_TOPIC_OR_PARTITION
    return err == 0 and [p for p, perr, ld in parts if perr == 0 and ld >= 0] == \
        list(range(partitions))


def segment_files(data_dir, topic, partition=0):
    """[(base_offset, size)] of the partition's segment files (<base>.log), by
    base offset."""
    d = os.path.join(data_dir, f"{topic}-{partition}")
    out = []
    for path in glob.glob(os.path.join(d, "*.log")):
        name = os.path.basename(path)[:-4]
        if name.isdigit():
            out.append((int(name), os.path.getsize(path)))
    return sorted(out)
