#!/usr/bin/python3
"""Deleting a topic frees its name at once and its files and memory by themselves.

- Recreate: a topic deleted and created again at once under the same name
  starts empty: a consumer reading it from the beginning gets only the new
  topic's records, never the deleted one's.
- Rename: right after DeleteTopics the partition directory `<topic>-0` is
  gone and `<topic>-0.<topic id>-delete` holds its files (as Kafka names it).
- Delay: with file.delete.delay.ms=1000 the retired directories of a 2 MiB
  topic disappear by themselves within a few seconds, with no further admin
  request to the broker.
- Many: 2,000 one-partition topics created and deleted: every directory goes
  by itself, and (Runnel's release build only) the broker's RSS falls back to
  within half of what the topics added.
- Restart: a retired directory left by a stop before its delay passed is
  removed at the next start.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, runnel_bin, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402
from waits import wait_for  # noqa: E402

WAIT_S = 20
MANY = 2000
RETIRED = re.compile(r"^(?P<dir>.+-\d+)\.[0-9a-f]{32}-delete$")
# Kafka removes a deleted topic's directories after the broker's
# log.segment.delete.delay.ms whatever the topic's file.delete.delay.ms says
# (Runnel honours the topic's setting, whose default is the broker's); and it
# renames them only once the deletion reaches its log manager, just after the
# DeleteTopics answer.
KAFKA_ONLY = {"log.initial.task.delay.ms": "0", "log.segment.delete.delay.ms": "1000"}
KAFKA_SKIP = "Kafka's removal delay is the broker's log.segment.delete.delay.ms, 1 s here"


def admin_client(b):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": b.bootstrap})


def create(admin, names, **configs):
    from confluent_kafka.admin import NewTopic
    cfg = {k.replace("_", "."): str(v) for k, v in configs.items()}
    for fut in admin.create_topics([NewTopic(n, 1, 1, config=cfg) for n in names]).values():
        fut.result(60)


def delete(admin, names):
    for fut in admin.delete_topics(names).values():
        fut.result(60)


def produce(b, topic, values):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5})
    errors = []
    for v in values:
        p.produce(topic, value=v, on_delivery=lambda err, msg: err and errors.append(str(err)))
        p.poll(0)
    left = p.flush(60)
    if left or errors:
        raise RuntimeError(f"produce to {topic}: {left} unresolved, errors {errors[:3]}")


def read_all(b, topic):
    """Every record of partition 0 from the beginning up to the end."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "delete-check",
                  "enable.auto.commit": False, "enable.partition.eof": True})
    got = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == -191:  # _PARTITION_EOF
                    return got
                continue  # the new topic's leader may still be settling
            got.append(msg.value())
    finally:
        c.close()
    return got


def dirs(b, prefix):
    """Entries of the data folder that belong to topics named prefix*."""
    return sorted(n for n in os.listdir(b.data_dir) if n.startswith(prefix))


def rss_kib(b):
    with open(f"/proc/{b.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def test_recreate(t, b, admin):
    create(admin, ["again"])
    produce(b, "again", [b"old-%d" % i for i in range(50)])
    delete(admin, ["again"])
    create(admin, ["again"])
    produce(b, "again", [b"new-0", b"new-1"])
    t.eq(read_all(b, "again"), [b"new-0", b"new-1"],
         "a topic created again at once holds only its own records")


def test_rename_then_remove(t, b, admin):
    create(admin, ["gone"], file_delete_delay_ms=1000)
    produce(b, "gone", [b"x" * 1000] * 2048)
    delete(admin, ["gone"])
    t.ok(wait_for(lambda: "gone-0" not in dirs(b, "gone"), 5),
         "after DeleteTopics the partition directory name is free", f"{dirs(b, 'gone')}")
    t.ok(wait_for(lambda: not dirs(b, "gone"), WAIT_S),
         "a deleted 2 MiB topic's files go by themselves after file.delete.delay.ms",
         f"still there: {dirs(b, 'gone')}")


def test_default_delay_keeps_retired(t, b, admin):
    if target() != "runnel":
        t.skip("with the default delay the files wait in kept-0.<topic id>-delete", KAFKA_SKIP)
        return None
    create(admin, ["kept"])
    produce(b, "kept", [b"k"] * 10)
    delete(admin, ["kept"])
    now = dirs(b, "kept")
    t.ok(len(now) == 1 and RETIRED.match(now[0]) and RETIRED.match(now[0])["dir"] == "kept-0",
         "with the default delay the files wait in kept-0.<topic id>-delete", f"{now}")
    return now


def test_many(t, b, admin):
    names = [f"many-{i}" for i in range(MANY)]
    before = rss_kib(b) if target() == "runnel" else 0
    for i in range(0, MANY, 500):
        create(admin, names[i:i + 500], file_delete_delay_ms=1000)
    peak = rss_kib(b) if target() == "runnel" else 0
    for i in range(0, MANY, 500):
        delete(admin, names[i:i + 500])
    t.ok(wait_for(lambda: not dirs(b, "many-"), 60),
         f"{MANY} deleted topics' directories all go by themselves",
         f"{len(dirs(b, 'many-'))} left")
    if target() != "runnel":
        t.skip("RSS falls back after deleting topics", "Runnel only (a JVM keeps its heap)")
        return
    if "asan" in os.path.basename(os.path.dirname(runnel_bin())):
        t.skip("RSS falls back after deleting topics", "the sanitizer's allocator keeps freed memory")
        return
    t.ok(wait_for(lambda: rss_kib(b) - before < (peak - before) / 2, WAIT_S),
         f"RSS falls back: within half of what {MANY} topics added",
         f"before {before} KiB, with the topics {peak} KiB, now {rss_kib(b)} KiB")


def test_restart(t, b, retired):
    if not retired:
        t.skip("a retired directory left by a stop goes at the next start", KAFKA_SKIP)
        return
    b.stop()
    t.ok(all(os.path.isdir(os.path.join(b.data_dir, d)) for d in retired),
         "a retired directory outlives a stop before its delay", f"{retired}")
    b.start()
    t.ok(wait_for(lambda: not dirs(b, "kept"), WAIT_S),
         "the next start removes retired directories left behind", f"{dirs(b, 'kept')}")


def main():
    t = Tap()
    skip_under_cluster(t, "topic deletion", "one broker's data folder and memory")
    settings = KAFKA_ONLY if target() == "kafka" else {}
    with Broker(settings) as b:
        admin = admin_client(b)
        t.run(test_recreate, b, admin)
        t.run(test_rename_then_remove, b, admin)
        retired = t.run(test_default_delay_keeps_retired, b, admin)
        t.run(test_many, b, admin)
        t.run(test_restart, b, retired)
    t.done()


if __name__ == "__main__":
    main()
