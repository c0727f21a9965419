#!/usr/bin/python3
"""A compacted topic refuses records without a key, as Kafka does.

Kafka's LogValidator refuses, per record batch, any batch holding a record
whose key is null when the topic's cleanup.policy has compact: the
partition answers INVALID_RECORD (87) with, from Produce v8, the batch's
record errors (each keyless record's index in the batch, with "Compacted
topic cannot accept message without key in topic partition <topic>-<p>")
and a message summing them up (checked against Kafka 3.9). Here:

- Produce v8 of one batch holding keyed records and one keyless record to a
  compact topic: INVALID_RECORD, that record error and Kafka's message, nothing
  appended (the log end stays 0);
- a keyless tombstone is refused the same way;
- keyed records, tombstones included, are accepted;
- the same keyless batch to a topic with cleanup.policy=delete is accepted,
  and to one with compact,delete refused;
- confluent-kafka's producer sees INVALID_RECORD, not retriable, for the
  keyless record, and its keyed records in other batches are acknowledged.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402

INVALID_RECORD = 87


def log_end(conn, topic):
    """The log end offset, once the partition answers (Kafka's leader may
    take a moment after creation)."""
    for corr in range(2, 50):
        try:
            return kwire.latest_offset(conn, corr, topic, 0)
        except AssertionError:
            time.sleep(0.2)
    return kwire.latest_offset(conn, 99, topic, 0)


def produce(b, topic, batch):
    with kwire.Conn(kwire.leader(b.bootstrap, topic, 0)) as conn:
        log_end(conn, topic)
        _, body = conn.roundtrip(kwire.produce_request(1, topic, 0, batch, version=8))
        (res,) = kwire.parse_produce_errors(body, 8)
        end = log_end(conn, topic)
    return res, end


def message(topic):
    return f"Compacted topic cannot accept message without key in topic partition {topic}-0"


def summary(topic, index):
    """Kafka's partition message over the batch's record errors (one here)."""
    return ("One or more records have been rejected due to 1 record errors in total, and only "
            f"showing the first three errors at most: [RecordError(batchIndex={index}, "
            f"message='{message(topic)}')]")


def main():
    t = Tap("keyless records on compacted topics")
    with Broker({"num.partitions": 1}) as b:
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        policies = {"ck": "compact", "cd": "compact,delete", "dl": "delete"}
        futs = admin.create_topics([NewTopic(n, 1, replication_factor(),
                                             config={"cleanup.policy": p})
                                    for n, p in policies.items()])
        for f in futs.values():
            f.result(60)
        keyless = kwire.record_batch([b"a", b"b", b"c"], keys=[b"k1", None, b"k3"])
        (_, _, err, _, rec_errors, msg), end = produce(b, "ck", keyless)
        t.eq(err, INVALID_RECORD, "compact: a batch with one keyless record is INVALID_RECORD")
        t.eq(rec_errors, [(1, message("ck"))], "its record error names record 1 and why")
        t.eq(msg, summary("ck", 1), "the partition's error message is Kafka's")
        t.eq(end, 0, "nothing of the batch was appended")
        tomb = kwire.record_batch([None], keys=[None])
        (_, _, err, _, _, msg), end = produce(b, "ck", tomb)
        t.eq((err, end), (INVALID_RECORD, 0), "a keyless tombstone is refused too")
        keyed = kwire.record_batch([b"a", None], keys=[b"k1", b"k2"])
        (_, _, err, base, rec_errors, msg), end = produce(b, "ck", keyed)
        t.eq((err, base, end, rec_errors, msg), (0, 0, 2, [], None),
             "keyed records and a keyed tombstone are accepted")
        (_, _, err, _, _, msg), end = produce(b, "cd", keyless)
        t.eq((err, msg, end), (INVALID_RECORD, summary("cd", 1), 0), "compact,delete refuses it")
        (_, _, err, _, _, _), end = produce(b, "dl", keyless)
        t.eq((err, end), (0, 3), "delete accepts keyless records")

        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": False,
                      "retries": 0})
        res = {}

        def done(err, m):
            res[m.value()] = err
        p.produce("ck", key=b"x", value=b"keyed-1", on_delivery=done)
        p.flush(30)
        p.produce("ck", value=b"keyless", on_delivery=done)
        p.flush(30)
        p.produce("ck", key=b"y", value=b"keyed-2", on_delivery=done)
        p.flush(30)
        bad = res.get(b"keyless")
        t.ok(bad is not None and bad.code() == INVALID_RECORD and not bad.retriable(),
             "confluent-kafka: the keyless record fails with INVALID_RECORD, not retriable",
             repr(bad))
        t.ok(res.get(b"keyed-1") is None and res.get(b"keyed-2") is None and len(res) == 3,
             "confluent-kafka: the keyed records around it are acknowledged", repr(res))
    t.done()


if __name__ == "__main__":
    main()
