#!/usr/bin/python3
"""The classic group APIs at their newest versions, as raw requests, checked
against the same answers from Apache Kafka:

- FindCoordinator v3 (flexible) and v4-v6 (several keys, each with its own
  error; a share-group key, key type 2, while share groups are not served,
  and before v6; an unknown key type).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker  # noqa: E402
from tap import Tap  # noqa: E402
from kwire import (Conn, Reader, compact_string, frame, i8,  # noqa: E402
                   request_header, uvarint, TAGS_NONE)
import kwire  # noqa: E402

SETTINGS = {"group.initial.rebalance.delay.ms": 0, "num.partitions": 1}
NONE = 0
COORDINATOR_NOT_AVAILABLE = 15
INVALID_REQUEST = 42
API_FIND_COORDINATOR = 10
INVALID_REQUEST_MESSAGE = (
    "This most likely occurs because of a request being malformed by the client library or the "
    "message was sent to an incompatible broker. See the broker logs for more details.")


def carray(items):
    return uvarint(len(items) + 1) + b"".join(items)


def flex_call(addr, api, version, body, corr=1):
    """One flexible request (header v2) and its body (header v1 read off)."""
    with Conn(addr, 20) as c:
        got, resp = c.roundtrip(frame(request_header(api, version, corr, header_version=2) + body),
                                flexible_header=True, timeout_s=20)
    assert got == corr, f"correlation id {got}, expected {corr}"
    return Reader(resp)


# ---------------------------------------------------------------- FindCoordinator

def find_v3(addr, key, key_type=0):
    r = flex_call(addr, API_FIND_COORDINATOR, 3, compact_string(key) + i8(key_type) + TAGS_NONE)
    r.i32()
    return {"error": r.i16(), "message": r.compact_string(), "node": r.i32(),
            "host": r.compact_string(), "port": r.i32()}


def find_batched(addr, version, keys, key_type=0):
    body = i8(key_type) + carray([compact_string(k) for k in keys]) + TAGS_NONE
    r = flex_call(addr, API_FIND_COORDINATOR, version, body)
    r.i32()

    def coord(rr):
        c = {"key": rr.compact_string(), "node": rr.i32(), "host": rr.compact_string(),
             "port": rr.i32(), "error": rr.i16(), "message": rr.compact_string()}
        rr.skip_tags()
        return c
    return r.compact_array(coord)


def test_find_coordinator(t, addr):
    host, port = addr.rsplit(":", 1)
    kwire.coordinator(addr, "g-find")  # Kafka creates __consumer_offsets on the first ask
    got = find_v3(addr, "g-find")
    t.eq((got["error"], got["host"], got["port"]), (NONE, host, int(port)),
         "FindCoordinator v3 (flexible): this broker coordinates the group")
    for version in (4, 5, 6):
        got = find_batched(addr, version, ["g-find-a", "g-find-b"])
        t.eq([(c["key"], c["error"], c["host"], c["port"], c["message"]) for c in got],
             [(k, NONE, host, int(port), "") for k in ("g-find-a", "g-find-b")],
             f"FindCoordinator v{version}: two group keys, each answered")
    got = find_batched(addr, 4, [])
    t.eq(got, [], "FindCoordinator v4: no keys, no coordinators")
    got = find_batched(addr, 6, ["g-share:AAAAAAAAAAAAAAAAAAAAAA:0"], key_type=2)
    t.eq([(c["key"], c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [("g-share:AAAAAAAAAAAAAAAAAAAAAA:0", COORDINATOR_NOT_AVAILABLE, -1, "", -1, "")],
         "FindCoordinator v6: a share-group key while share groups are off")
    got = find_batched(addr, 5, ["g-share:AAAAAAAAAAAAAAAAAAAAAA:0"], key_type=2)
    t.eq([(c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [(INVALID_REQUEST, -1, "", -1, "")],
         "FindCoordinator v5: a share-group key before v6 is INVALID_REQUEST")
    got = find_v3(addr, "g-share:AAAAAAAAAAAAAAAAAAAAAA:0", key_type=2)
    t.eq((got["error"], got["message"], got["node"], got["host"], got["port"]),
         (INVALID_REQUEST, INVALID_REQUEST_MESSAGE, -1, "", -1),
         "FindCoordinator v3: a share-group key is INVALID_REQUEST, with Kafka's message")
    got = find_v3(addr, "k", key_type=7)
    t.eq((got["error"], got["message"]), (INVALID_REQUEST, INVALID_REQUEST_MESSAGE),
         "FindCoordinator v3: an unknown key type is INVALID_REQUEST, with Kafka's message")
    got = find_batched(addr, 4, ["k1", "k2"], key_type=7)
    t.eq([(c["key"], c["error"], c["node"], c["host"], c["port"], c["message"]) for c in got],
         [(k, INVALID_REQUEST, -1, "", -1, INVALID_REQUEST_MESSAGE) for k in ("k1", "k2")],
         "FindCoordinator v4: an unknown key type is INVALID_REQUEST for every key")


def main():
    t = Tap("group APIs at their newest versions")
    with Broker(SETTINGS) as b:
        t.run(test_find_coordinator, b.bootstrap)
    t.done()


if __name__ == "__main__":
    main()
