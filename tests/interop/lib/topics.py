"""Topic set-up shared by the interop tests, through confluent-kafka's admin client."""

import glob
import os
import time

from confluent_kafka.admin import AdminClient, NewTopic


def create_topic(bootstrap, name, partitions, timeout_s=30, config=None):
    """Creates a topic (replication 1, topic settings `config`) and waits until
    its metadata lists every partition, as Kafka settles a new topic's leaders
    asynchronously."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(timeout_s)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        md = admin.list_topics(name, timeout=10).topics.get(name)
        if md and not md.error and len(md.partitions) == partitions:
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {name} not ready after {timeout_s}s")


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
