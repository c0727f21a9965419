#!/usr/bin/env python3
"""Dynamic broker configs: the replication throttle rates set, described and
removed on a BROKER resource, as Kafka 3.9 answers (this test runs against
Kafka too, RUNNEL_TEST_TARGET=kafka).

- IncrementalAlterConfigs SET on broker 1 and on the cluster default (""),
  DescribeConfigs showing each with its source (DYNAMIC_BROKER_CONFIG,
  DYNAMIC_DEFAULT_BROKER_CONFIG) and the dynamic levels as synonyms;
- the refusals, with Kafka's codes and messages: a value that is not a long,
  a negative one, a null one, a key the broker cannot change at run time,
  APPEND and SUBTRACT on these non-list keys, a name that is not an
  integer, a broker id other than the one asked;
- the legacy AlterConfigs (the entries given replace the resource's set);
- kafka-configs.sh --entity-type brokers --describe, --alter --add-config and
  --delete-config, and --entity-default.

One broker. Bounded: about 25 s (Kafka: a minute)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import OWN_NODES, Broker, skip_under_cluster  # noqa: E402
from kafka_tools import run_tool  # noqa: E402
from tap import Tap  # noqa: E402

from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

BROKER = 4
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3
INVALID_REQUEST = 42
UNKNOWN_SERVER_ERROR = -1
DYNAMIC_BROKER, DYNAMIC_DEFAULT, DEFAULT = 2, 3, 5
L = "leader.replication.throttled.rate"
F = "follower.replication.throttled.rate"
SETTLE_S = 10


def _answer(bootstrap, api, body):
    with kwire.Conn(bootstrap) as conn:
        _, resp = conn.roundtrip(kwire.frame(kwire.request_header(api, 0, 1) + body))
    r = kwire.Reader(resp)
    r.i32()  # throttle_time_ms
    (err, msg, _type, _name), = r.array(lambda rr: (rr.i16(), rr.string(), rr.i8(), rr.string()))
    return err, msg


def incremental(bootstrap, name, items):
    """IncrementalAlterConfigs v0 of one BROKER resource: (error, message)."""
    configs = [kwire.string(k) + kwire.i8(op) + kwire.string(v) for k, op, v in items]
    body = kwire.array([kwire.i8(BROKER) + kwire.string(name) + kwire.array(configs)])
    return _answer(bootstrap, 44, body + kwire.i8(0))


def legacy(bootstrap, name, pairs):
    """AlterConfigs v0 of one BROKER resource: (error, message)."""
    configs = [kwire.string(k) + kwire.string(v) for k, v in pairs]
    body = kwire.array([kwire.i8(BROKER) + kwire.string(name) + kwire.array(configs)])
    return _answer(bootstrap, 33, body + kwire.i8(0))


def described(admin, key):
    """(value, source) of key on broker 1 (the synonyms, which this client
    keys by name, are checked through kafka-configs.sh)."""
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    e = admin.describe_configs([res])[res].result(20).get(key)
    return None if e is None else (e.value, int(e.source))


def shown(admin, key, want):
    """described() asked until it is `want` (up to SETTLE_S): a broker
    applies a change a moment after it is acknowledged, in Kafka as here."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        got = described(admin, key)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def configs_tool(bootstrap, *args):
    r = run_tool("configs", "--bootstrap-server", bootstrap, "--entity-type", "brokers", *args)
    return r.returncode, r.stdout + r.stderr


def test_set_and_describe(t, bootstrap, admin):
    t.eq(incremental(bootstrap, "1", [(L, SET, "1000")]), (0, None), "SET on broker 1")
    t.eq(incremental(bootstrap, "", [(L, SET, "77"), (F, SET, "2000")]), (0, None),
         "SET on the cluster default")
    t.eq(shown(admin, L, ("1000", DYNAMIC_BROKER)), ("1000", DYNAMIC_BROKER),
         "broker 1's own value, DYNAMIC_BROKER_CONFIG")
    t.eq(shown(admin, F, ("2000", DYNAMIC_DEFAULT)), ("2000", DYNAMIC_DEFAULT),
         "the default's where broker 1 has none, DYNAMIC_DEFAULT_BROKER_CONFIG")
    t.eq(incremental(bootstrap, "1", [(L, DELETE, None)]), (0, None), "DELETE on broker 1")
    t.eq(shown(admin, L, ("77", DYNAMIC_DEFAULT)), ("77", DYNAMIC_DEFAULT), "the default's shows through")
    t.eq(incremental(bootstrap, "1", [("no.such.key", SET, "1")]), (0, None),
         "an unknown key is stored, as Kafka stores it")
    t.eq(incremental(bootstrap, "1", [("no.such.key", DELETE, None)]), (0, None),
         "and deleted")


def test_refusals(t, bootstrap, admin):
    cases = [
        ("1", [(L, SET, "abc")], (INVALID_REQUEST, f"Invalid value abc for configuration {L}: "
                                                   "Not a number of type LONG")),
        ("1", [(L, SET, "-5")], (INVALID_REQUEST, f"Invalid value -5 for configuration {L}: "
                                                  "Value must be at least 0")),
        ("1", [(L, SET, None)], (INVALID_REQUEST, f"Null value not supported for : {L}")),
        ("1", [("log.dirs", SET, "/x")],
         (INVALID_REQUEST, "Cannot update these configs dynamically: Set(log.dirs)")),
        ("1", [(L, APPEND, "5")], (UNKNOWN_SERVER_ERROR, None)),
        ("1", [(L, SUBTRACT, "5")], (UNKNOWN_SERVER_ERROR, None)),
        ("abc", [(L, SET, "5")], (INVALID_REQUEST, "Node id must be an integer, but it is: abc")),
        ("2", [(L, SET, "5")],
         (INVALID_REQUEST, "Unexpected broker id, expected 1, but received 2")),
    ]
    for name, items, want in cases:
        t.eq(incremental(bootstrap, name, items), want, f"refused: {name!r} {items}")
    t.eq(legacy(bootstrap, "1", [(L, "xyz")]),
         (INVALID_REQUEST, f"Invalid value xyz for configuration {L}: Not a number of type LONG"),
         "AlterConfigs refuses a bad value the same way")
    t.eq(shown(admin, L, ("77", DYNAMIC_DEFAULT)), ("77", DYNAMIC_DEFAULT), "a refusal changes nothing")


def test_legacy(t, bootstrap, admin):
    t.eq(incremental(bootstrap, "1", [(L, SET, "1000")]), (0, None), "broker 1 has a leader rate")
    t.eq(legacy(bootstrap, "1", [(F, "555")]), (0, None), "AlterConfigs of the follower rate")
    t.eq(shown(admin, F, ("555", DYNAMIC_BROKER)), ("555", DYNAMIC_BROKER), "shown as broker 1's own")
    t.eq(shown(admin, L, ("77", DYNAMIC_DEFAULT)), ("77", DYNAMIC_DEFAULT),
         "the legacy form replaced broker 1's set: its leader rate went")


def test_tool(t, bootstrap, admin):
    rc, out = configs_tool(bootstrap, "--entity-name", "1", "--alter", "--add-config",
                           f"{F}=123")
    t.ok(rc == 0 and "Completed updating config for broker 1." in out,
         "kafka-configs.sh --alter --add-config", out[-400:])
    shown(admin, F, ("123", DYNAMIC_BROKER))
    rc, out = configs_tool(bootstrap, "--entity-name", "1", "--describe")
    t.ok(rc == 0 and f"{F}=123 sensitive=false synonyms={{DYNAMIC_BROKER_CONFIG:{F}=123, "
         f"DYNAMIC_DEFAULT_BROKER_CONFIG:{F}=2000}}" in out, "kafka-configs.sh --describe",
         out[-400:])
    rc, out = configs_tool(bootstrap, "--entity-default", "--describe")
    t.ok(rc == 0 and f"{L}=77 sensitive=false" in out and f"{F}=2000 sensitive=false" in out,
         "kafka-configs.sh --entity-default --describe", out[-400:])
    rc, out = configs_tool(bootstrap, "--entity-name", "1", "--alter", "--delete-config", F)
    t.ok(rc == 0, "kafka-configs.sh --alter --delete-config", out[-400:])
    t.eq(shown(admin, F, ("2000", DYNAMIC_DEFAULT)), ("2000", DYNAMIC_DEFAULT), "deleted: the default's again")
    rc, out = configs_tool(bootstrap, "--entity-default", "--alter", "--delete-config",
                           f"{L},{F}")
    t.ok(rc == 0, "the defaults deleted", out[-400:])
    deadline = time.monotonic() + SETTLE_S
    while (got := described(admin, F)) and got[1] != DEFAULT and time.monotonic() < deadline:
        time.sleep(0.1)
    t.ok(got is None or got[1] == DEFAULT, "no dynamic value left", str(got))


def main():
    t = Tap()
    skip_under_cluster(t, "dynamic broker configs", OWN_NODES)
    with Broker() as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for fn in (test_set_and_describe, test_refusals, test_legacy, test_tool):
            t.run(fn, b.bootstrap, admin)
    t.done()


if __name__ == "__main__":
    main()
