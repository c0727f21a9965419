#!/usr/bin/python3
"""Bad input on raw sockets: hand-built frames the broker must survive.

Each case sends bytes with kwire (tests/interop/lib/kwire.py) on a fresh
connection and checks the answer Apache Kafka 3.9 gives (the expected values
below were taken from Kafka itself):

- frames Kafka cannot read (oversized or negative length, an HTTP request,
  garbage, unknown API key, unknown version of a known API, array counts and
  string lengths that are huge or negative where no null is allowed): Kafka
  closes the connection; an error response with the request's correlation id
  is accepted too (the issue allows either);
- a truncated frame then close, and a frame sent one byte at a time;
- ApiVersions at a version the broker does not know: the v0-form answer with
  UNSUPPORTED_VERSION (35) and at least the ApiVersions range;
- Produce with a record batch whose CRC, magic, length or record count lies:
  the partition error Kafka gives (CORRUPT_MESSAGE 2 or INVALID_RECORD 87),
  and nothing appended;
- acks=0 Produce gets no response and the next request on the connection is
  answered with its own correlation id;
- pipelined requests are answered strictly in order.

Against Runnel, every disconnect also leaves a line in the broker's log, or,
past the per-cause rate limit, is counted in a "suppressed K similar lines"
summary line when the limiter's window turns.
After every case the broker process is alive and a fresh client gets an
ApiVersions and a Metadata answer.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

TOPIC = "bad-input"
MAX_FRAME = 104857600  # socket.request.max.bytes (Kafka's default)
VALUES = [b"value-%d" % i for i in range(5)]
LOG_WINDOW_S = 10  # RN_LOG_LIMIT_WINDOW_MS (src/base/limits.h)

# The partition error Kafka 3.9 answers for each lying record batch.
BATCH_CASES = [
    # (description, record_batch() overrides, expected error code)
    ("wrong CRC", {"crc": 0x12345678}, kwire.ERR_CORRUPT_MESSAGE),
    ("magic 1 in a v2 batch", {"magic": 1}, kwire.ERR_INVALID_RECORD),
    ("magic 0 in a v2 batch", {"magic": 0}, kwire.ERR_INVALID_RECORD),
    ("unknown magic 3", {"magic": 3}, kwire.ERR_CORRUPT_MESSAGE),
    ("batch length 100 past the data", {"batch_length_delta": 100}, kwire.ERR_INVALID_RECORD),
    ("batch length 10 short of the data", {"batch_length_delta": -10}, kwire.ERR_CORRUPT_MESSAGE),
    ("batch length below the header size", {"batch_length": 10}, kwire.ERR_CORRUPT_MESSAGE),
    ("negative batch length", {"batch_length": -1}, kwire.ERR_CORRUPT_MESSAGE),
    ("record count 3 more than present", {"record_count": len(VALUES) + 3}, kwire.ERR_INVALID_RECORD),
    ("record count 2 fewer than present", {"record_count": len(VALUES) - 2}, kwire.ERR_INVALID_RECORD),
    ("record count 0", {"record_count": 0}, kwire.ERR_INVALID_RECORD),
    ("negative record count", {"record_count": -1}, kwire.ERR_INVALID_RECORD),
    ("huge record count", {"record_count": 0x7FFFFFFF}, kwire.ERR_INVALID_RECORD),
]


def lying_batch(**kw):
    delta = kw.pop("batch_length_delta", None)
    if delta is not None:
        honest = kwire.record_batch(VALUES)
        kw["batch_length"] = len(honest) - 12 + delta
    return kwire.record_batch(VALUES, **kw)


# ------------------------------------------------------------------ helpers

def healthy(t, b, after):
    """The broker is alive and a fresh client gets ApiVersions and Metadata."""
    ok = b.running()
    detail = "broker process exited"
    if ok:
        try:
            with kwire.Conn(b.bootstrap, 10) as c:
                corr, body = c.roundtrip(kwire.api_versions_request(101, 0))
                err, ranges = kwire.parse_api_versions(body, 0)
                ok = corr == 101 and err == 0 and 18 in ranges
                corr, body = c.roundtrip(kwire.metadata_request(102, [TOPIC]))
                brokers, _, topics = kwire.parse_metadata_v1(body)
                ok = ok and corr == 102 and len(brokers) >= 1 and TOPIC in topics
                detail = f"ranges={len(ranges)} brokers={brokers} topics={topics}"
        except (OSError, kwire.Closed, kwire.Truncated) as e:
            ok, detail = False, f"{type(e).__name__}: {e}"
    t.ok(ok, f"after {after}: broker alive, fresh client gets ApiVersions and Metadata",
         detail)


def log_size(b):
    try:
        return os.path.getsize(b.log_path)
    except OSError:
        return 0


def logged_since(b, mark, timeout_s=3.0):
    """Text the broker logged after byte `mark` (waits for some to appear)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with open(b.log_path, "rb") as f:
            f.seek(mark)
            text = f.read().decode("utf-8", "replace")
        if text.strip() or time.monotonic() >= deadline:
            return text
        time.sleep(0.05)


def expect_refused(t, b, desc, data, corr=None):
    """Kafka closes the connection; an answer with our correlation id also passes.

    Against Runnel a disconnect must also leave a line in the broker's log
    (the issue: "a clean disconnect with a log line"); Kafka logs these at
    DEBUG, so that check is Runnel's alone.
    """
    outcome = "nothing"
    mark = log_size(b)
    with kwire.Conn(b.bootstrap, 10) as c:
        try:
            c.send(data)
            got, _ = c.recv_response(timeout_s=10)
            outcome = f"response corr={got}"
            passed = corr is not None and got == corr
        except kwire.Closed:
            outcome, passed = "closed", True
        except socket.timeout:
            outcome, passed = "no answer and no close within 10s", False
        except kwire.Truncated as e:
            outcome, passed = f"malformed response: {e}", False
    t.ok(passed, f"{desc}: connection closed (or an error answer)", outcome)
    if target() == "runnel" and outcome == "closed":
        text = logged_since(b, mark)
        if not text.strip():
            # Past its per-cause budget the line is held back and counted in a
            # "suppressed K similar lines" summary when the window turns.
            deadline = time.monotonic() + LOG_WINDOW_S + 2.5
            while "suppressed" not in text and time.monotonic() < deadline:
                time.sleep(0.2)
                text = logged_since(b, mark, 0)
            text = text if "suppressed" in text else ""
        t.ok(text.strip() != "",
             f"{desc}: the broker logs why it closed the connection (or counts it in a summary)")
    healthy(t, b, desc)


def create_topic(b):
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    admin.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with kwire.Conn(b.bootstrap) as c:
            _, body = c.roundtrip(kwire.metadata_request(1, [TOPIC]))
        _, _, topics = kwire.parse_metadata_v1(body)
        err, parts = topics.get(TOPIC, (-1, []))
        if err == 0 and parts and parts[0][2] >= 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {TOPIC} has no leader after 30s")


# ------------------------------------------------------------------ cases

def test_frames(t, b):
    expect_refused(t, b, "frame length socket.request.max.bytes + 1",
                   kwire.i32(MAX_FRAME + 1) + b"\0" * 64)
    expect_refused(t, b, "frame length 2^31-1", kwire.i32(0x7FFFFFFF) + b"\0" * 64)
    expect_refused(t, b, "negative frame length", kwire.i32(-1) + b"\0" * 64)
    expect_refused(t, b, "an HTTP request", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    expect_refused(t, b, "a frame of garbage bytes", kwire.frame(bytes(range(0x80, 0x100)) * 4))
    expect_refused(t, b, "a frame too short for a request header", kwire.frame(b"\x00\x12"))

    with kwire.Conn(b.bootstrap) as c:
        req = kwire.metadata_request(7, [TOPIC])
        c.send(req[:len(req) // 2])
    healthy(t, b, "a truncated frame then close")

    with kwire.Conn(b.bootstrap) as stuck:
        stuck.send(kwire.i32(1000) + b"\x00\x03\x00\x01")
        healthy(t, b, "a client holding half a frame open (others are still served)")

    with kwire.Conn(b.bootstrap) as c:
        c.send(kwire.i32(1000) + b"\x00\x03\x00\x01")
        time.sleep(0.2)
        c.sock.shutdown(socket.SHUT_WR)
        closed = c.wait_closed(10)
    t.ok(closed, "half a frame then shutdown(SHUT_WR): the broker closes its side")
    healthy(t, b, "half a frame then shutdown")

    with kwire.Conn(b.bootstrap) as c:
        req = kwire.metadata_request(8, [TOPIC])
        for i in range(len(req)):
            c.send(req[i:i + 1])
            if i % 8 == 0:
                time.sleep(0.005)
        corr, body = c.recv_response()
        _, _, topics = kwire.parse_metadata_v1(body)
    t.ok(corr == 8 and TOPIC in topics, "a request sent one byte at a time is answered")


def test_lengths(t, b):
    produce_hdr = kwire.request_header(kwire.API_PRODUCE, 7, 21)
    produce_head = kwire.string(None) + kwire.i16(-1) + kwire.i32(1000)
    expect_refused(t, b, "Produce topic array count -2 (not nullable)",
                   kwire.frame(produce_hdr + produce_head + kwire.i32(-2)), 21)
    expect_refused(t, b, "Produce topic array count 2^31-1",
                   kwire.frame(produce_hdr + produce_head + kwire.i32(0x7FFFFFFF)), 21)
    expect_refused(t, b, "Metadata topic array count 2^31-1",
                   kwire.metadata_request(22, [], topic_count=0x7FFFFFFF), 22)
    md_hdr = kwire.request_header(kwire.API_METADATA, 1, 23)
    expect_refused(t, b, "Metadata topic name length -5 (not nullable)",
                   kwire.frame(md_hdr + kwire.i32(1) + kwire.i16(-5) + b"abc"), 23)
    expect_refused(t, b, "Metadata topic name length 30000 with 2 bytes present",
                   kwire.frame(md_hdr + kwire.i32(1) + kwire.i16(30000) + b"ab"), 23)
    expect_refused(t, b, "client id length 32767 with 3 bytes present",
                   kwire.frame(kwire.i16(18) + kwire.i16(0) + kwire.i32(24) + kwire.i16(0x7FFF)
                               + b"abc"), 24)
    records_huge = (kwire.i32(1) + kwire.string(TOPIC) + kwire.i32(1) + kwire.i32(0)
                    + kwire.i32(0x7FFFFFF0) + b"\0" * 16)
    expect_refused(t, b, "Produce records length 2^31-16 with 16 bytes present",
                   kwire.frame(kwire.request_header(kwire.API_PRODUCE, 7, 25) + produce_head
                               + records_huge), 25)


def test_versions(t, b):
    expect_refused(t, b, "unknown API key 999", kwire.frame(kwire.request_header(999, 0, 31)), 31)
    expect_refused(t, b, "unknown API key -1", kwire.frame(kwire.request_header(-1, 0, 32)), 32)
    expect_refused(t, b, "Metadata v99 (unknown version of a known API)",
                   kwire.frame(kwire.request_header(kwire.API_METADATA, 99, 33) + kwire.i32(-1)), 33)

    # A client newer than the broker sends ApiVersions at its own latest
    # version, with a flexible (v2) header. The answer is in v0 form.
    with kwire.Conn(b.bootstrap) as c:
        req = kwire.frame(kwire.request_header(kwire.API_API_VERSIONS, 99, 34, "newer-client", 2)
                          + kwire.compact_string("newer-client") + kwire.compact_string("9.9")
                          + kwire.TAGS_NONE)
        corr, body = c.roundtrip(req)
        r = kwire.Reader(body)
        err = r.i16()
        items = r.array(lambda rr: (rr.i16(), rr.i16(), rr.i16())) or []
        ranges = {k: (lo, hi) for k, lo, hi in items}
        t.eq(corr, 34, "ApiVersions v99: answered with its correlation id")
        t.eq(err, kwire.ERR_UNSUPPORTED_VERSION, "ApiVersions v99: UNSUPPORTED_VERSION (35)")
        t.ok(ranges.get(18, (1, 0))[0] == 0 and ranges.get(18, (0, 0))[1] >= 3,
             "ApiVersions v99: the answer carries the ApiVersions range 0..>=3", ranges)
        t.eq(r.remaining(), 0, "ApiVersions v99: the answer is exactly the v0 form")
        # The same connection goes on: the client retries at a version it shares.
        # (the ApiVersions response header is never flexible, even at v3)
        corr, body = c.roundtrip(kwire.api_versions_request(35, 3))
        err, ranges = kwire.parse_api_versions(body, 3)
        t.ok(corr == 35 and err == 0 and ranges.get(18, (0, 0))[1] >= 3,
             "ApiVersions v3 on the same connection then succeeds", (corr, err))
        corr, body = c.roundtrip(kwire.api_versions_request(36, 4))
        err, ranges = kwire.parse_api_versions(body, 4)
        t.eq((corr, err, ranges.get(18)), (36, 0, (0, 4)),
             "ApiVersions v4 (Kafka 3.9's newest) succeeds and advertises 0..4")
    healthy(t, b, "ApiVersions v99")


def test_batches(t, b):
    with kwire.Conn(b.bootstrap) as c:
        corr, body = c.roundtrip(kwire.produce_request(40, TOPIC, 0, kwire.record_batch(VALUES)))
        (_, _, err, base), = kwire.parse_produce(body, 7)
        t.ok(corr == 40 and err == 0 and base >= 0, "an honest batch is accepted", (corr, err))
        end = kwire.latest_offset(c, 41, TOPIC, 0)
    corr = 50
    refused_bases = []
    for desc, kw, want in BATCH_CASES:
        for version in (3, 7):
            corr += 1
            outcome = None
            with kwire.Conn(b.bootstrap) as c:
                try:
                    got, body = c.roundtrip(kwire.produce_request(
                        corr, TOPIC, 0, lying_batch(**dict(kw)), version=version))
                    (_, _, err, base), = kwire.parse_produce(body, version)
                    outcome = (got, err)
                    refused_bases.append(base)
                except (kwire.Closed, socket.timeout, kwire.Truncated) as e:
                    outcome = (None, f"{type(e).__name__}: {e}")
            t.eq(outcome, (corr, want), f"Produce v{version}, {desc}: error {want}")
    t.ok(refused_bases and all(x == -1 for x in refused_bases),
         "each refused batch is answered with base offset -1, as Kafka answers", refused_bases)
    with kwire.Conn(b.bootstrap) as c:
        t.eq(kwire.latest_offset(c, 90, TOPIC, 0), end,
             "no lying batch was appended (latest offset unchanged)")
        _, body = c.roundtrip(kwire.produce_request(91, TOPIC, 99, kwire.record_batch(VALUES)))
        (_, _, err, base), = kwire.parse_produce(body, 7)
        t.eq((err, base), (3, -1), "a partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION, "
             "base offset -1")
    healthy(t, b, "lying record batches")


def test_acks0(t, b):
    with kwire.Conn(b.bootstrap) as c:
        before = kwire.latest_offset(c, 100, TOPIC, 0)
        c.send(kwire.produce_request(101, TOPIC, 0, kwire.record_batch(VALUES), acks=0))
        c.send(kwire.produce_request(102, TOPIC, 0, kwire.record_batch(VALUES), version=3,
                                     acks=0))
        corr, body = c.roundtrip(kwire.api_versions_request(103, 0))
        t.eq(corr, 103, "acks=0 Produce gets no response: the next answer is the next request's")
        err, _ = kwire.parse_api_versions(body, 0)
        t.eq(err, 0, "the request after acks=0 Produce is answered normally")
        deadline = time.monotonic() + 10
        after = kwire.latest_offset(c, 104, TOPIC, 0)
        while after < before + 2 * len(VALUES) and time.monotonic() < deadline:
            time.sleep(0.05)
            after = kwire.latest_offset(c, 105, TOPIC, 0)
        t.eq(after - before, 2 * len(VALUES), "both acks=0 batches were appended")
        t.ok(not c.wait_closed(0.3), "the connection stays open after acks=0 Produce")
    healthy(t, b, "acks=0 Produce")


def test_pipelined(t, b):
    reqs, kinds = [], []
    corr = 1000
    for i in range(30):
        corr += 1
        kind = i % 5
        if kind == 0:
            reqs.append(kwire.api_versions_request(corr, i % 4))
        elif kind == 1:
            reqs.append(kwire.metadata_request(corr, [TOPIC]))
        elif kind == 2:
            reqs.append(kwire.produce_request(corr, TOPIC, 0,
                                              kwire.record_batch([b"pipelined-%d" % i])))
        elif kind == 3:
            reqs.append(kwire.list_offsets_request(corr, TOPIC, 0, -2))
        else:
            reqs.append(kwire.produce_request(corr, TOPIC, 0,
                                              kwire.record_batch([b"p%d" % i]), version=3))
        kinds.append((corr, kind))
    got, produced = [], []
    with kwire.Conn(b.bootstrap) as c:
        c.send(b"".join(reqs))  # all in one write: the broker sees them at once
        for corr, kind in kinds:
            r_corr, body = c.recv_response()  # none of these answers is flexible
            got.append(r_corr)
            if kind in (2, 4):
                (_, _, err, base), = kwire.parse_produce(body, 7 if kind == 2 else 3)
                produced.append((err, base))
    t.eq(got, [k[0] for k in kinds], "30 pipelined requests answered strictly in order")
    t.ok(all(e == 0 for e, _ in produced), "pipelined Produce requests all succeed", produced)
    bases = [base for _, base in produced]
    t.eq(bases, sorted(bases), "pipelined Produce requests got increasing offsets in order")
    healthy(t, b, "pipelined requests")


def main():
    t = Tap("bad input on raw sockets")
    skip_under_cluster(t, "bad input on raw sockets",
                       "bad bytes on one broker's sockets, checked on that process")
    with Broker({"num.partitions": 1}) as b:
        create_topic(b)
        healthy(t, b, "start")
        for fn in (test_frames, test_lengths, test_versions, test_batches, test_acks0,
                   test_pipelined):
            t.run(fn, b)
        time.sleep(0.2)
        t.ok(b.running(), "the broker is still running at the end")
    t.done()


if __name__ == "__main__":
    main()
