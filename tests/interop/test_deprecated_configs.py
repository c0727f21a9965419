#!/usr/bin/python3
"""Deprecated topic settings Kafka 3.9 still accepts, against a live broker:

- message.format.version takes any version Kafka knows ("0.10.0.0", "2.8",
  "3.0-IV1") through AlterConfigs, IncrementalAlterConfigs (SET, DELETE) and
  CreateTopics, DescribeConfigs shows it as set, and it changes nothing
  (batches stay format v2); a value naming no version is INVALID_CONFIG with
  Kafka's message;
- message.downconversion.enable and message.timestamp.difference.max.ms are
  accepted the same way;
- as Kafka, AlterConfigs naming a key twice is INVALID_REQUEST ("Error due to
  duplicate config keys"), which is what a client writing back every
  described setting plus a changed one meets; without the repeat it passes.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, replication_factor  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # noqa: E402

API_ALTER_CONFIGS = 33
API_INCREMENTAL_ALTER_CONFIGS = 44
TOPIC = 2
SET, DELETE = 0, 1
INVALID_CONFIG = 40
INVALID_REQUEST = 42
SOURCE_TOPIC, SOURCE_DEFAULT = 1, 5
SETTLE_S = 10  # for a change made through one broker to show in another's answers
BOGUS = "Invalid value bogus for configuration message.format.version: " \
        "Version bogus is not a valid version"


def _answer(bootstrap, api, body):
    with kwire.Conn(bootstrap) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(api, 0, 1) + body))
    r = kwire.Reader(resp)
    r.i32()  # throttle_time_ms
    (err, msg, _type, _name), = r.array(lambda rr: (rr.i16(), rr.string(), rr.i8(), rr.string()))
    return err, msg


def alter(bootstrap, topic, pairs):
    """AlterConfigs v0 of one topic: (error_code, error_message)."""
    configs = [kwire.string(k) + kwire.string(v) for k, v in pairs]
    body = kwire.array([kwire.i8(TOPIC) + kwire.string(topic) + kwire.array(configs)])
    return _answer(bootstrap, API_ALTER_CONFIGS, body + kwire.i8(0))


def incremental(bootstrap, topic, name, op, value):
    """IncrementalAlterConfigs v0 of one setting: (error_code, error_message)."""
    config = kwire.string(name) + kwire.i8(op) + kwire.string(value)
    body = kwire.array([kwire.i8(TOPIC) + kwire.string(topic) + kwire.array([config])])
    return _answer(bootstrap, API_INCREMENTAL_ALTER_CONFIGS, body + kwire.i8(0))


def describe(admin, topic):
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin.describe_configs([res])[res].result(20)


def shown(admin, topic, name, want):
    """(value, source) of the topic's setting, asked until it is `want` (up
    to SETTLE_S): the broker that answers may have applied a change made
    through another one a moment later, in a cluster as in Kafka."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        entry = describe(admin, topic)[name]
        got = entry.value, int(entry.source)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def shows(t, admin, topic, name, want, desc):
    """One test point: DescribeConfigs gives the setting's (value, source) as
    `want` (asked until it does, see shown())."""
    t.eq(shown(admin, topic, name, want), want, desc)


def test_alter(t, bootstrap, admin):
    topic = "dc-alter"
    create_topic(bootstrap, topic, 1)
    shows(t, admin, topic, "message.format.version", ("3.0-IV1", SOURCE_DEFAULT),
          "message.format.version defaults to 3.0-IV1")
    for version in ("0.10.0.0", "2.8", "3.0-IV1"):
        t.eq(alter(bootstrap, topic, [("message.format.version", version)]), (0, None),
             f"AlterConfigs message.format.version={version} is accepted")
        shows(t, admin, topic, "message.format.version", (version, SOURCE_TOPIC),
              "DescribeConfigs shows it as set on the topic")
    t.eq(alter(bootstrap, topic, [("message.format.version", "bogus")]), (INVALID_CONFIG, BOGUS),
         "AlterConfigs message.format.version=bogus -> INVALID_CONFIG")
    t.eq(incremental(bootstrap, topic, "message.format.version", SET, "0.11.0"), (0, None),
         "IncrementalAlterConfigs SET message.format.version=0.11.0 is accepted")
    shows(t, admin, topic, "message.format.version", ("0.11.0", SOURCE_TOPIC),
          "DescribeConfigs shows it")
    t.eq(incremental(bootstrap, topic, "message.format.version", SET, "bogus"),
         (INVALID_CONFIG, BOGUS), "IncrementalAlterConfigs SET bogus -> INVALID_CONFIG")
    t.eq(incremental(bootstrap, topic, "message.format.version", DELETE, None), (0, None),
         "IncrementalAlterConfigs DELETE message.format.version is accepted")
    shows(t, admin, topic, "message.format.version", ("3.0-IV1", SOURCE_DEFAULT),
          "and the default is back")
    for name, value in (("message.downconversion.enable", "false"),
                        ("message.timestamp.difference.max.ms", "3600000")):
        t.eq(alter(bootstrap, topic, [(name, value)]), (0, None),
             f"AlterConfigs {name}={value} is accepted")
        shows(t, admin, topic, name, (value, SOURCE_TOPIC), "DescribeConfigs shows it")


def test_format_unchanged(t, bootstrap, admin):
    topic = "dc-format"
    create_topic(bootstrap, topic, 1)
    t.eq(alter(bootstrap, topic, [("message.format.version", "0.10.0.0")]), (0, None),
         "message.format.version=0.10.0.0 set")
    with kwire.Conn(kwire.leader(bootstrap, topic, 0), timeout_s=20) as conn:
        _, body = conn.roundtrip(kwire.produce_request(1, topic, 0, kwire.record_batch([b"v"])))
        t.eq(kwire.parse_produce(body, 7)[0][2], 0, "a v2 batch is still accepted")
        _, body = conn.roundtrip(kwire.fetch_request(2, [(topic, [(0, 0, 1 << 20)])], 11))
    records = kwire.parse_fetch(body, 11)[1][0][4] or b""
    t.ok(len(records) > 16 and records[16] == 2, "and fetched back as format v2 (magic 2)",
         records[:20].hex())


def test_create(t, bootstrap, admin):
    configs = {"message.format.version": "0.10.0", "message.downconversion.enable": "false",
               "message.timestamp.difference.max.ms": "3600000"}
    topic = NewTopic("dc-create", 1, replication_factor(), config=configs)
    fut = admin.create_topics([topic])["dc-create"]
    fut.result(20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            got = describe(admin, "dc-create")
            break
        except Exception:
            time.sleep(0.2)
    t.eq({k: (got[k].value, int(got[k].source)) for k in configs},
         {k: (v, SOURCE_TOPIC) for k, v in configs.items()},
         "CreateTopics with the deprecated settings: DescribeConfigs shows them")
    fut = admin.create_topics([NewTopic("dc-bogus", 1, replication_factor(),
                                        config={"message.format.version": "bogus"})])["dc-bogus"]
    try:
        fut.result(20)
        got = None
    except Exception as e:
        got = (e.args[0].code(), e.args[0].str())
    t.eq(got, (INVALID_CONFIG, BOGUS), "CreateTopics message.format.version=bogus -> INVALID_CONFIG")


def test_duplicate_keys(t, bootstrap, admin):
    topic = "dc-dup"
    create_topic(bootstrap, topic, 1)
    current = [(k, e.value) for k, e in describe(admin, topic).items() if e.value is not None]
    changed = [("message.format.version", "0.10.0.0")]
    t.eq(alter(bootstrap, topic, current + changed),
         (INVALID_REQUEST, "Error due to duplicate config keys"),
         "AlterConfigs with every described setting plus a repeated one -> INVALID_REQUEST")
    rest = [(k, v) for k, v in current if k != "message.format.version"]
    t.eq(alter(bootstrap, topic, rest + changed), (0, None),
         "every described setting with message.format.version changed, once, is accepted")
    shows(t, admin, topic, "message.format.version", ("0.10.0.0", SOURCE_TOPIC),
          "DescribeConfigs shows the change")


def main():
    t = Tap("deprecated topic settings")
    with Broker({"num.partitions": 4}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        t.run(test_alter, b.bootstrap, admin)
        t.run(test_format_unchanged, b.bootstrap, admin)
        t.run(test_create, b.bootstrap, admin)
        t.run(test_duplicate_keys, b.bootstrap, admin)
    t.done()


if __name__ == "__main__":
    main()
