#!/usr/bin/python3
"""OffsetForLeaderEpoch (raw v3) against a live broker, answered from the
partition's leader-epoch cache as Kafka answers it:

- an empty partition led in epoch 0: epoch 0 ends at offset 0;
- after records: epoch 0 ends at the log end; an epoch newer than the
  partition's, or -1, is unknown (-1/-1) with no error;
- a current leader epoch newer than the partition's: UNKNOWN_LEADER_EPOCH;
  an unknown partition: UNKNOWN_TOPIC_OR_PARTITION;
- the answers stay the same after a clean restart and after a SIGKILL
  (a restart moves the partition to a new leader epoch; epoch 0 still
  ends where its records end).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, skip_under_cluster  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_LEADER_OR_FOLLOWER = 6
UNKNOWN_LEADER_EPOCH = 75
TOPIC = "ofle"


def ask(bootstrap, parts, topic=TOPIC):
    """{partition: (error, epoch, end_offset)} for [(partition, current, requested)];
    asked again while the partition has no leader yet (a topic just created)."""
    deadline = time.monotonic() + 30
    while True:
        with kwire.Conn(bootstrap, timeout_s=30) as conn:
            _, body = conn.roundtrip(kwire.offset_for_leader_epoch_request(1, [(topic, parts)]))
        got = {idx: (err, epoch, end)
               for _, idx, err, epoch, end in kwire.parse_offset_for_leader_epoch_v3(body)}
        if time.monotonic() > deadline or all(g[0] != NOT_LEADER_OR_FOLLOWER
                                              for g in got.values()):
            return got
        time.sleep(0.2)


def produce(bootstrap, values):
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, TOPIC, 0, kwire.record_batch(values)))
    assert kwire.parse_produce(body, 7)[0][2] == 0


def test_answers(t, b):
    create_topic(b.bootstrap, TOPIC, 1)
    t.eq(ask(b.bootstrap, [(0, -1, 0)])[0], (0, 0, 0),
         "an empty partition led in epoch 0: epoch 0 ends at offset 0")
    produce(b.bootstrap, [b"a", b"b", b"c"])
    produce(b.bootstrap, [b"d", b"e"])
    t.eq(ask(b.bootstrap, [(0, 0, 0)])[0], (0, 0, 5),
         "the same naming the current leader epoch 0")
    check_after_records(t, b, "")
    b.restart()
    check_after_records(t, b, " (after a clean restart)")
    b.restart(hard=True)
    check_after_records(t, b, " (after SIGKILL)")


def check_after_records(t, b, when):
    got = ask(b.bootstrap, [(0, -1, 0)])[0]
    t.eq(got, (0, 0, 5), f"after 5 records, epoch 0 ends at the log end{when}")
    t.eq(ask(b.bootstrap, [(0, -1, 7)])[0], (0, -1, -1),
         f"an epoch newer than the partition's: unknown (-1, -1), no error{when}")
    t.eq(ask(b.bootstrap, [(0, -1, -1)])[0], (0, -1, -1),
         f"epoch -1: unknown (-1, -1), no error{when}")
    err = ask(b.bootstrap, [(0, 1000, 0)])[0][0]
    t.eq(err, UNKNOWN_LEADER_EPOCH,
         f"a current leader epoch newer than the partition's: UNKNOWN_LEADER_EPOCH{when}")
    err = ask(b.bootstrap, [(5, -1, 0)])[5][0]
    t.eq(err, UNKNOWN_TOPIC_OR_PARTITION,
         f"a partition the topic does not have: UNKNOWN_TOPIC_OR_PARTITION{when}")


def main():
    t = Tap("OffsetForLeaderEpoch")
    skip_under_cluster(t, "OffsetForLeaderEpoch",
                       "leader epochs across restarts of one broker process")
    with Broker({"auto.create.topics.enable": "false"}) as b:
        t.run(test_answers, b)
    t.done()


if __name__ == "__main__":
    main()
