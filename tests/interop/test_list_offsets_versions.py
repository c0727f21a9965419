#!/usr/bin/python3
"""ListOffsets at its newest versions (raw v6 to v11, flexible from v6),
answered as Kafka 3.9 (and 4.3, for v10 and v11) answers them:

- earliest (-2) and latest (-1) as in the older versions;
- max timestamp (-3, v7+, KIP-734): the largest timestamp in the
  partition and the offset of its first record, not its batch's last
  (records within a batch out of timestamp order; a later record with the
  same timestamp does not move it);
- earliest local (-4, v8+, KIP-405): the log start offset (no tiered
  storage); latest tiered (-5, v9+, KIP-1005) and earliest pending upload
  (-6, v11+, KIP-1023): none (-1), as Kafka answers with no tiered storage;
- an empty partition: -3 answers offset -1;
- a special timestamp newer than the request's version (or none at all):
  UNSUPPORTED_VERSION;
- ApiVersions advertises ListOffsets up to 11 (Kafka 3.9: 9).

RUNNEL_TEST_TARGET=kafka runs the same checks against Kafka 3.9 (or 4.3,
with KAFKA_JARS naming its jars)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, newest  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402
import kwire  # noqa: E402

TOPIC = "lo-versions"
EMPTY = "lo-versions-empty"
LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED = -1, -2, -3, -4, -5
EARLIEST_PENDING_UPLOAD = -6
# The newest version: Kafka 4.3's (Runnel's), or the reference Kafka's.
NEWEST = newest(11, 9, 11)
BASE_TS = 1_700_000_000_000
UNSUPPORTED_VERSION = 35


def request(version, topic, timestamp, isolation=0):
    flexible = version >= 6
    hdr = kwire.request_header(kwire.API_LIST_OFFSETS, version, 9, "kwire", 2 if flexible else 1)
    part = kwire.i32(0) + kwire.i32(-1) + kwire.i64(timestamp)  # index, current epoch
    if flexible:
        part += kwire.TAGS_NONE
        tpc = kwire.compact_string(topic) + kwire.uvarint(2) + part + kwire.TAGS_NONE
        body = kwire.i32(-1) + kwire.i8(isolation) + kwire.uvarint(2) + tpc
        if version >= 10:
            body += kwire.i32(5000)  # the timeout for tiered storage
        body += kwire.TAGS_NONE
    else:
        tpc = kwire.string(topic) + kwire.array([part])
        body = kwire.i32(-1) + kwire.i8(isolation) + kwire.array([tpc])
    return kwire.frame(hdr + body)


def ask(b, version, timestamp, topic=TOPIC):
    """(error, timestamp, offset, leader epoch) of partition 0."""
    flexible = version >= 6
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(request(version, topic, timestamp), flexible_header=flexible)
    r = kwire.Reader(body)
    r.i32()  # throttle
    arr = r.compact_array if flexible else r.array

    def part(rr):
        p = (rr.i32(), rr.i16(), rr.i64(), rr.i64(), rr.i32())
        if flexible:
            rr.skip_tags()
        return p

    def topic_(rr):
        (r.compact_string if flexible else r.string)()
        ps = arr(part)
        if flexible:
            rr.skip_tags()
        return ps
    (_, err, ts, offset, epoch), = arr(topic_)[0]
    return err, ts, offset, epoch


def produce(b, deltas):
    values = [b"v%d" % i for i in range(len(deltas))]
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.produce_request(
            1, TOPIC, 0, kwire.record_batch(values, base_ts=BASE_TS, ts_deltas=deltas)))
    assert kwire.parse_produce(body, 7)[0][2] == 0


def test_offsets(t, b):
    create_topic(b.bootstrap, TOPIC, 1)
    create_topic(b.bootstrap, EMPTY, 1)
    t.eq(ask(b, 9, MAX_TIMESTAMP, EMPTY)[:3], (0, -1, -1),
         "an empty partition: max timestamp answers offset -1")
    produce(b, [1000, 3000, 2000])  # offsets 0-2: the largest is offset 1's
    produce(b, [1500, 2500])  # offsets 3-4
    produce(b, [3000])  # offset 5: the same largest timestamp, later
    for version in (6, 7, 8, 9):
        t.eq(ask(b, version, LATEST)[:3], (0, -1, 6), f"v{version} latest: 6")
        t.eq(ask(b, version, EARLIEST)[:3], (0, -1, 0), f"v{version} earliest: 0")
    for version in (7, 8, 9):
        t.eq(ask(b, version, MAX_TIMESTAMP)[:3], (0, BASE_TS + 3000, 1),
             f"v{version} max timestamp: offset 1, the first record that has it")
    t.eq(ask(b, 9, BASE_TS + 2200)[:3], (0, BASE_TS + 3000, 1),
         "v9 by timestamp: the first batch holding a timestamp that recent")
    for version in (8, 9):
        t.eq(ask(b, version, EARLIEST_LOCAL)[:3], (0, -1, 0),
             f"v{version} earliest local: the log start offset")
    t.eq(ask(b, 9, LATEST_TIERED), (0, -1, -1, -1), "v9 latest tiered: none (-1), no epoch")
    if NEWEST >= 11:
        t.eq(ask(b, 10, LATEST), (0, -1, 6, 0), "v10 (a timeout for tiered storage): latest 6")
        t.eq(ask(b, 11, EARLIEST_PENDING_UPLOAD), (0, -1, -1, -1),
             "v11 earliest pending upload: none (-1), no epoch")
    for version, timestamp in ((6, MAX_TIMESTAMP), (7, EARLIEST_LOCAL), (8, LATEST_TIERED),
                               (NEWEST, -7)):
        t.eq(ask(b, version, timestamp), (UNSUPPORTED_VERSION, -1, -1, -1),
             f"v{version} asking {timestamp}, which it does not know: UNSUPPORTED_VERSION, "
             "no leader epoch")


def test_advertised(t, b):
    with kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, version=0))
    versions = kwire.parse_api_versions(body, 0)[1]
    t.eq(versions.get(kwire.API_LIST_OFFSETS, (0, 0))[1], NEWEST,
         f"ApiVersions advertises ListOffsets up to {NEWEST}")


def main():
    t = Tap(f"ListOffsets v6 to v{NEWEST}")
    with Broker() as b:
        t.run(test_offsets, b)
        t.run(test_advertised, b)
    t.done()


if __name__ == "__main__":
    main()
