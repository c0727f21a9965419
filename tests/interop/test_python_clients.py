#!/usr/bin/python3
"""confluent-kafka and kafka-python (Debian's packages, /usr/bin/python3)
against a live broker:

- each client produces records with keys, headers, explicit CreateTime
  timestamps and a codec, and reads them back by assign() byte-exact (and each
  reads the other's records);
- each AdminClient creates, lists, describes configs, alters configs, grows
  partitions and deletes topics, and gets Kafka's error codes on bad requests:
  TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
  INVALID_REPLICATION_FACTOR (one replica more than there are brokers),
  INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION (and, as Kafka, -1 partitions
  on CreateTopics v4+ means num.partitions);
- ListOffsets: earliest, latest (get_watermark_offsets, beginning_offsets,
  end_offsets) and by timestamp (offsets_for_times) are right.

Topics get a replica on every broker of the target (broker.replication_factor).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, node_ids, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402
from topics import wait_listed  # noqa: E402
from waits import wait_for, wait_value  # noqa: E402

from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer,  # noqa: E402
                             TopicPartition, TIMESTAMP_CREATE_TIME)
from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions,  # noqa: E402
                                   NewTopic)
import kafka  # noqa: E402
import kafka.admin  # noqa: E402
import kafka.errors  # noqa: E402
import kafka.structs  # noqa: E402

RECORDS = int(os.environ.get("RECORDS", "2000"))
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
OP_TIMEOUT_S = 30
WAIT_S = 10  # for an admin change to show
DEFAULT_PARTITIONS = 2
RF = replication_factor()

# Kafka error codes (org.apache.kafka.common.protocol.Errors).
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_TOPIC_EXCEPTION = 17
TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37
INVALID_REPLICATION_FACTOR = 38
INVALID_CONFIG = 40


def kp_has_codec(codec):
    """kafka-python needs python3-snappy, python3-lz4, python3-zstandard for codecs."""
    import kafka.codec as kc
    return {"none": True, "gzip": kc.has_gzip(), "snappy": kc.has_snappy(), "lz4": kc.has_lz4(),
            "zstd": kc.has_zstd()}[codec]


# -- records -----------------------------------------------------------------

def make_record(tag, i, base_ms):
    key = f"{tag}-key-{i}".encode()
    # Binary values: every byte value appears, including zero bytes.
    value = bytes((i + j) % 256 for j in range(16 + i % 200))
    headers = [("idx", i.to_bytes(4, "big")), ("tag", tag.encode())]
    return key, value, headers, base_ms + i


def ck_topic_meta(admin, topic):
    md = admin.list_topics(topic=topic, timeout=OP_TIMEOUT_S)
    tm = md.topics.get(topic)
    return tm


def listed(tm):
    """A list_topics entry that lists the topic (not an error), else None."""
    return tm if tm is not None and tm.error is None and tm.partitions else None


def ck_create(admin, topics):
    """Create NewTopic list with confluent-kafka; {name: None or KafkaError}."""
    futs = admin.create_topics(topics, operation_timeout=OP_TIMEOUT_S)
    return {name: _ck_err(fut) for name, fut in futs.items()}


def _ck_err(fut):
    try:
        fut.result(timeout=OP_TIMEOUT_S + 10)
        return None
    except KafkaException as e:
        return e.args[0]


def _code(err):
    return None if err is None else err.code()


def produce_ck(t, bootstrap, topic, parts, tag, base_ms, codec):
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                  "compression.type": codec, "linger.ms": 5})
    acks = {}

    def on_delivery(i, err, msg):
        acks[i] = (err, msg.partition(), msg.offset())

    for i in range(RECORDS):
        key, value, headers, ts = make_record(tag, i, base_ms)
        p.produce(topic, value=value, key=key, headers=headers, timestamp=ts,
                  partition=i % parts,
                  on_delivery=lambda err, msg, i=i: on_delivery(i, err, msg))
        p.poll(0)
    left = p.flush(OP_TIMEOUT_S)
    errs = [(i, a[0]) for i, a in acks.items() if a[0] is not None]
    t.ok(left == 0 and len(acks) == RECORDS and not errs,
         f"confluent-kafka ({codec}) produced {RECORDS} records, all acknowledged",
         f"left {left}, acks {len(acks)}, errors {errs[:5]}")
    wrong = [(i, a[1], a[2]) for i, a in acks.items() if a[0] is None and
             (a[1], a[2]) != (i % parts, i // parts)]
    t.eq(wrong[:5], [], f"confluent-kafka ({codec}) acknowledgements carry the expected offsets")


def produce_kp(t, bootstrap, topic, parts, tag, base_ms, codec):
    p = kafka.KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                            compression_type=None if codec == "none" else codec,
                            linger_ms=5, max_in_flight_requests_per_connection=1,
                            request_timeout_ms=OP_TIMEOUT_S * 1000)
    futs = []
    for i in range(RECORDS):
        key, value, headers, ts = make_record(tag, i, base_ms)
        futs.append(p.send(topic, value=value, key=key, headers=headers, partition=i % parts,
                           timestamp_ms=ts))
    p.flush(OP_TIMEOUT_S)
    bad = []
    for i, f in enumerate(futs):
        try:
            md = f.get(timeout=OP_TIMEOUT_S)
            if (md.partition, md.offset) != (i % parts, i // parts):
                bad.append((i, md.partition, md.offset))
        except Exception as e:  # noqa: BLE001 - report any client error
            bad.append((i, repr(e)))
    p.close(OP_TIMEOUT_S)
    t.eq(bad[:5], [], f"kafka-python ({codec}) produced {RECORDS} records, "
                      f"acknowledged at the expected offsets")


def expected_by_offset(tag, parts, base_ms):
    want = {}
    for i in range(RECORDS):
        key, value, headers, ts = make_record(tag, i, base_ms)
        want[(i % parts, i // parts)] = (key, value, headers, ts)
    return want


def consume_ck(t, bootstrap, topic, parts, tag, base_ms, who):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ck-{topic}",
                  "enable.auto.commit": False, "check.crcs": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(parts)])
    got = {}
    errors = []
    deadline = time.monotonic() + OP_TIMEOUT_S
    while len(got) < RECORDS and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            errors.append(str(msg.error()))
            continue
        ts_type, ts = msg.timestamp()
        hdrs = [(k, v) for k, v in (msg.headers() or [])]
        got[(msg.partition(), msg.offset())] = (msg.key(), msg.value(), hdrs,
                                                ts if ts_type == TIMESTAMP_CREATE_TIME else None)
    c.close()
    check_consumed(t, got, expected_by_offset(tag, parts, base_ms),
                   f"confluent-kafka reads back {who}'s records", errors)


def consume_kp(t, bootstrap, topic, parts, tag, base_ms, who):
    c = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                            enable_auto_commit=False, check_crcs=True,
                            consumer_timeout_ms=OP_TIMEOUT_S * 1000)
    tps = [kafka.structs.TopicPartition(topic, p) for p in range(parts)]
    c.assign(tps)
    for tp in tps:
        c.seek(tp, 0)
    got = {}
    deadline = time.monotonic() + OP_TIMEOUT_S
    while len(got) < RECORDS and time.monotonic() < deadline:
        batch = c.poll(timeout_ms=500)
        for recs in batch.values():
            for r in recs:
                got[(r.partition, r.offset)] = (r.key, r.value, list(r.headers),
                                                r.timestamp if r.timestamp_type == 0 else None)
    c.close()
    check_consumed(t, got, expected_by_offset(tag, parts, base_ms),
                   f"kafka-python reads back {who}'s records", [])


def check_consumed(t, got, want, desc, errors):
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(k for k in set(want) & set(got) if got[k] != want[k])
    diag = (f"consume errors: {errors[:5]}\nmissing {len(missing)} {missing[:5]}\n"
            f"extra {len(extra)} {extra[:5]}\ndiffer {len(differ)} {differ[:3]}")
    if differ:
        k = differ[0]
        diag += f"\nat {k}: got {got[k]!r}\n       want {want[k]!r}"
    t.ok(not missing and not extra and not differ,
         f"{desc}: {len(want)} records with keys, headers, timestamps, byte-exact", diag)


def test_ck_roundtrip(t, b):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    base_ms = int(time.time() * 1000) - RECORDS
    for codec in CODECS:
        topic = f"ck-rt-{codec}"
        t.eq(_code(ck_create(admin, [NewTopic(topic, 4, RF)])[topic]), None, f"create {topic}")
        produce_ck(t, b.bootstrap, topic, 4, "ck", base_ms, codec)
        consume_ck(t, b.bootstrap, topic, 4, "ck", base_ms, f"confluent-kafka {codec}")
        if kp_has_codec(codec):
            consume_kp(t, b.bootstrap, topic, 4, "ck", base_ms, f"confluent-kafka {codec}")
        else:
            t.skip(f"kafka-python reads confluent-kafka {codec}", f"no {codec} module for kafka-python")


def test_kp_roundtrip(t, b):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    base_ms = int(time.time() * 1000) - RECORDS
    for codec in CODECS:
        topic = f"kp-rt-{codec}"
        if not kp_has_codec(codec):
            t.skip(f"kafka-python produces with {codec}", f"no {codec} module for kafka-python")
            continue
        t.eq(_code(ck_create(admin, [NewTopic(topic, 3, RF)])[topic]), None, f"create {topic}")
        produce_kp(t, b.bootstrap, topic, 3, "kp", base_ms, codec)
        consume_kp(t, b.bootstrap, topic, 3, "kp", base_ms, f"kafka-python {codec}")
        consume_ck(t, b.bootstrap, topic, 3, "kp", base_ms, f"kafka-python {codec}")


def test_kp_version_probe(t, b):
    c = kafka.KafkaClient(bootstrap_servers=b.bootstrap)
    try:
        v = c.check_version(timeout=10)
    finally:
        c.close()
    t.ok(v >= (0, 11), f"kafka-python's version probe sees a broker with headers (>= 0.11): {v}")


# -- admin: confluent-kafka ----------------------------------------------------

def ck_describe(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    fut = admin.describe_configs([res])[res]
    return fut.result(timeout=OP_TIMEOUT_S + 10)


def test_ck_admin(t, b):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = "ck-admin"
    errs = ck_create(admin, [NewTopic(topic, 3, RF, config={"retention.ms": "3600000"})])
    t.eq(_code(errs[topic]), None, "confluent-kafka creates a topic with 3 partitions and a config")
    wait_listed(b.bootstrap, topic, 3)  # every broker knows it (a cluster's, each in its time)
    tm = ck_topic_meta(admin, topic)
    t.eq(sorted(tm.partitions) if tm else None, [0, 1, 2], "list_topics shows 3 partitions")
    leaders = [p.leader for p in tm.partitions.values()] if tm else []
    t.ok(len(leaders) == 3 and all(x in node_ids() for x in leaders),
         f"every partition led by one of brokers {node_ids()}", leaders)
    t.eq([sorted(p.replicas) for p in tm.partitions.values()] if tm else None,
         [node_ids()] * 3, f"every partition has replicas {node_ids()}")

    cfg = ck_describe(admin, topic)
    t.eq(cfg.get("retention.ms").value if "retention.ms" in cfg else None, "3600000",
         "describe_configs: retention.ms as created")
    t.eq(cfg.get("cleanup.policy").value if "cleanup.policy" in cfg else None, "delete",
         "describe_configs: cleanup.policy default delete")
    t.ok("segment.bytes" in cfg and "max.message.bytes" in cfg,
         "describe_configs lists segment.bytes and max.message.bytes", sorted(cfg))

    res = ConfigResource(ConfigResource.Type.TOPIC, topic,
                         set_config={"retention.ms": "7200000", "segment.bytes": "1048576"})
    err = _ck_err(admin.alter_configs([res])[res])
    t.eq(_code(err), None, "alter_configs succeeds")
    want = ("7200000", "1048576")
    t.eq(wait_value(lambda: tuple(ck_describe(admin, topic)[k].value
                                  for k in ("retention.ms", "segment.bytes")), want, WAIT_S),
         want, "describe_configs shows the altered values")

    err = _ck_err(admin.create_partitions([NewPartitions(topic, 5)],
                                          operation_timeout=OP_TIMEOUT_S)[topic])
    t.eq(_code(err), None, "create_partitions grows 3 -> 5")
    n = wait_for(lambda: len(ck_topic_meta(admin, topic).partitions) == 5, WAIT_S)
    t.ok(n, "list_topics shows 5 partitions")

    # Bad requests and Kafka's error codes.
    t.eq(_code(ck_create(admin, [NewTopic(topic, 1, RF)])[topic]), TOPIC_ALREADY_EXISTS,
         "create an existing topic -> TOPIC_ALREADY_EXISTS")
    for bad in ("bad name!", "a" * 250, ".."):
        t.eq(_code(ck_create(admin, [NewTopic(bad, 1, RF)])[bad]), INVALID_TOPIC_EXCEPTION,
             f"create topic named {bad[:20]!r} -> INVALID_TOPIC_EXCEPTION")
    t.eq(_code(ck_create(admin, [NewTopic("ck-zero-parts", 0, RF)])["ck-zero-parts"]),
         INVALID_PARTITIONS, "create with 0 partitions -> INVALID_PARTITIONS")
    # As Kafka: -1 partitions (CreateTopics v4+) means the broker's num.partitions.
    t.eq(_code(ck_create(admin, [NewTopic("ck-default-parts", -1, RF)])["ck-default-parts"]),
         None, "create with -1 partitions uses the broker default")
    tm = wait_for(lambda: listed(ck_topic_meta(admin, "ck-default-parts")), WAIT_S)
    t.eq(len(tm.partitions) if tm else None, DEFAULT_PARTITIONS,
         f"... which is num.partitions={DEFAULT_PARTITIONS}")
    t.eq(_code(ck_create(admin, [NewTopic("ck-rf-over", 1, RF + 1)])["ck-rf-over"]),
         INVALID_REPLICATION_FACTOR,
         f"replication factor {RF + 1} on {RF} broker(s) -> INVALID_REPLICATION_FACTOR")
    t.eq(_code(ck_create(admin, [NewTopic("ck-badcfg", 1, RF, config={"retention.ms": "banana"})])
               ["ck-badcfg"]), INVALID_CONFIG, "create with retention.ms=banana -> INVALID_CONFIG")
    t.eq(_code(ck_create(admin, [NewTopic("ck-unkcfg", 1, RF, config={"no.such.config": "1"})])
               ["ck-unkcfg"]), INVALID_CONFIG, "create with an unknown config -> INVALID_CONFIG")
    # Listing every topic asks for no auto-creation (a Metadata request
    # naming the topic would create it on a broker with auto-create on).
    t.ok("ck-badcfg" not in admin.list_topics(timeout=OP_TIMEOUT_S).topics,
         "a failed create leaves no topic behind")
    res = ConfigResource(ConfigResource.Type.TOPIC, topic, set_config={"retention.ms": "x"})
    t.eq(_code(_ck_err(admin.alter_configs([res])[res])), INVALID_CONFIG,
         "alter_configs retention.ms=x -> INVALID_CONFIG")
    err = _ck_err(admin.create_partitions([NewPartitions(topic, 2)],
                                          operation_timeout=OP_TIMEOUT_S)[topic])
    t.eq(_code(err), INVALID_PARTITIONS, "create_partitions 5 -> 2 -> INVALID_PARTITIONS")
    err = _ck_err(admin.create_partitions([NewPartitions("ck-nope", 4)],
                                          operation_timeout=OP_TIMEOUT_S)["ck-nope"])
    t.eq(_code(err), UNKNOWN_TOPIC_OR_PARTITION,
         "create_partitions on an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")
    err = _ck_err(admin.delete_topics(["ck-nope"], operation_timeout=OP_TIMEOUT_S)["ck-nope"])
    t.eq(_code(err), UNKNOWN_TOPIC_OR_PARTITION, "delete an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")
    res = ConfigResource(ConfigResource.Type.TOPIC, "ck-nope")
    t.eq(_code(_ck_err(admin.describe_configs([res])[res])), UNKNOWN_TOPIC_OR_PARTITION,
         "describe_configs of an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")

    err = _ck_err(admin.delete_topics([topic], operation_timeout=OP_TIMEOUT_S)[topic])
    t.eq(_code(err), None, "delete_topics succeeds")
    gone = wait_for(lambda: topic not in admin.list_topics(timeout=OP_TIMEOUT_S).topics, WAIT_S)
    t.ok(gone, "the deleted topic is gone from list_topics")


# -- admin: kafka-python ---------------------------------------------------------

def kp_errno(fn, *args, **kwargs):
    """Run a kafka-python admin call; the Kafka error code it raised, else the response."""
    try:
        return fn(*args, **kwargs)
    except kafka.errors.BrokerResponseError as e:
        return e.errno


def kp_create(admin, name, parts, rf, configs=None):
    """Create one topic; returns its error code (kafka-python raises on errors)."""
    resp = kp_errno(admin.create_topics,
                    [kafka.admin.NewTopic(name, parts, rf, topic_configs=configs or {})],
                    timeout_ms=OP_TIMEOUT_S * 1000)
    return resp if isinstance(resp, int) else resp.topic_errors[0][1]


def kp_describe(admin, topic):
    res = admin.describe_configs([kafka.admin.ConfigResource(kafka.admin.ConfigResourceType.TOPIC,
                                                             topic)])
    error_code, _msg, _type, _name, entries = res[0].resources[0]
    return error_code, {e[0]: e[1] for e in entries}


def test_kp_admin(t, b):
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=b.bootstrap,
                                         request_timeout_ms=OP_TIMEOUT_S * 1000)
    try:
        kp_admin_checks(t, admin, b.bootstrap)
    finally:
        admin.close()


def kp_admin_checks(t, admin, bootstrap):
    topic = "kp-admin"
    t.eq(kp_create(admin, topic, 2, RF, {"retention.ms": "3600000"}), 0,
         "kafka-python creates a topic with 2 partitions and a config")
    wait_listed(bootstrap, topic, 2)
    t.ok(topic in admin.list_topics(), "kafka-python list_topics shows it")
    code, cfg = kp_describe(admin, topic)
    t.eq((code, cfg.get("retention.ms")), (0, "3600000"), "describe_configs: retention.ms")

    res = kafka.admin.ConfigResource(kafka.admin.ConfigResourceType.TOPIC, topic,
                                     configs={"retention.ms": "86400000"})
    resp = admin.alter_configs([res])
    t.eq(resp.resources[0][0], 0, "alter_configs succeeds")
    # Config changes apply asynchronously in KRaft Kafka: allow a moment.
    t.eq(wait_value(lambda: kp_describe(admin, topic)[1].get("retention.ms"), "86400000", WAIT_S),
         "86400000", "describe_configs shows the altered value")

    resp = admin.create_partitions({topic: kafka.admin.NewPartitions(4)},
                                   timeout_ms=OP_TIMEOUT_S * 1000)
    t.eq(resp.topic_errors[0][1], 0, "create_partitions grows 2 -> 4")
    desc = wait_for(lambda: [d for d in admin.describe_topics([topic])
                             if len(d["partitions"]) == 4], WAIT_S)
    t.ok(bool(desc), "describe_topics shows 4 partitions")

    t.eq(kp_create(admin, topic, 1, RF), TOPIC_ALREADY_EXISTS,
         "create an existing topic -> TOPIC_ALREADY_EXISTS")
    t.eq(kp_create(admin, "kp bad/name", 1, RF), INVALID_TOPIC_EXCEPTION,
         "create an invalid name -> INVALID_TOPIC_EXCEPTION")
    t.eq(kp_create(admin, "kp-zero", 0, RF), INVALID_PARTITIONS,
         "create with 0 partitions -> INVALID_PARTITIONS")
    t.eq(kp_create(admin, "kp-neg", -2, RF), INVALID_PARTITIONS,
         "create with -2 partitions -> INVALID_PARTITIONS")
    t.eq(kp_create(admin, "kp-rf-over", 1, RF + 1), INVALID_REPLICATION_FACTOR,
         f"replication factor {RF + 1} on {RF} broker(s) -> INVALID_REPLICATION_FACTOR")
    t.eq(kp_create(admin, "kp-badcfg", 1, RF, {"cleanup.policy": "sometimes"}), INVALID_CONFIG,
         "create with cleanup.policy=sometimes -> INVALID_CONFIG")
    resp = kp_errno(admin.create_partitions, {topic: kafka.admin.NewPartitions(1)},
                    timeout_ms=OP_TIMEOUT_S * 1000)
    t.eq(resp if isinstance(resp, int) else resp.topic_errors[0][1], INVALID_PARTITIONS,
         "shrink partitions 4 -> 1 -> INVALID_PARTITIONS")
    resp = kp_errno(admin.delete_topics, ["kp-nope"], timeout_ms=OP_TIMEOUT_S * 1000)
    t.eq(resp if isinstance(resp, int) else resp.topic_error_codes[0][1],
         UNKNOWN_TOPIC_OR_PARTITION, "delete an unknown topic -> UNKNOWN_TOPIC_OR_PARTITION")

    resp = admin.delete_topics([topic], timeout_ms=OP_TIMEOUT_S * 1000)
    t.eq(resp.topic_error_codes[0][1], 0, "delete_topics succeeds")
    t.ok(wait_for(lambda: topic not in admin.list_topics(), WAIT_S), "the deleted topic is gone")


# -- ListOffsets ---------------------------------------------------------------------

def test_list_offsets(t, b):
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = "list-offsets"
    t.eq(_code(ck_create(admin, [NewTopic(topic, 2, RF)])[topic]), None, f"create {topic}")
    t0 = int(time.time() * 1000) - 600_000
    n = 10
    p = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "linger.ms": 0})
    # Partition 0: timestamps t0, t0+1000, ... ; partition 1 stays empty.
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(), partition=0, timestamp=t0 + 1000 * i)
        p.flush(OP_TIMEOUT_S)  # one batch per record, so per-batch max timestamps differ
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "list-offsets",
                  "enable.auto.commit": False})
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    t.eq(c.get_watermark_offsets(tp0, timeout=OP_TIMEOUT_S), (0, n),
         "get_watermark_offsets (earliest, latest) after 10 records")
    t.eq(c.get_watermark_offsets(tp1, timeout=OP_TIMEOUT_S), (0, 0),
         "get_watermark_offsets of an empty partition")
    cases = [(t0 - 5000, 0, "before the first record"), (t0, 0, "exactly the first"),
             (t0 + 3000, 3, "exactly the fourth"), (t0 + 3500, 4, "between the fourth and fifth"),
             (t0 + 9000, 9, "exactly the last"), (t0 + 9001, -1, "after the last (end: -1)")]
    for ts, want, what in cases:
        res = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=OP_TIMEOUT_S)
        t.eq(res[0].offset, want, f"offsets_for_times {what} -> {want}")
    res = c.offsets_for_times([TopicPartition(topic, 1, t0)], timeout=OP_TIMEOUT_S)
    t.eq(res[0].offset, -1, "offsets_for_times on an empty partition -> -1")
    c.close()

    kc = kafka.KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None,
                             enable_auto_commit=False)
    try:
        ktp0 = kafka.structs.TopicPartition(topic, 0)
        t.eq(kc.beginning_offsets([ktp0])[ktp0], 0, "kafka-python beginning_offsets")
        t.eq(kc.end_offsets([ktp0])[ktp0], n, "kafka-python end_offsets")
        r = kc.offsets_for_times({ktp0: t0 + 2500})[ktp0]
        t.eq((r.offset, r.timestamp) if r else None, (3, t0 + 3000),
             "kafka-python offsets_for_times -> offset and timestamp of the first later record")
        r = kc.offsets_for_times({ktp0: t0 + 99_000})[ktp0]
        t.eq(r, None, "kafka-python offsets_for_times after the last record -> None")
    finally:
        kc.close()


def main():
    t = Tap("confluent-kafka and kafka-python interop")
    with Broker({"num.partitions": DEFAULT_PARTITIONS}) as b:
        t.run(test_kp_version_probe, b)
        t.run(test_ck_roundtrip, b)
        t.run(test_kp_roundtrip, b)
        t.run(test_ck_admin, b)
        t.run(test_kp_admin, b)
        t.run(test_list_offsets, b)
    t.done()


if __name__ == "__main__":
    main()
