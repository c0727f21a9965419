#!/usr/bin/python3
"""The admin HTTP port (src/admin/) of a live broker:

- /health/started, /health/live and /health/ready answer 200, unknown
  paths 404, POST 405;
- the replication gauges of one node: it leads every partition it holds,
  none under-replicated, under min ISR, leaderless or out of sync, no
  replica lag; /health/restart-safe is 503 (every partition has no other
  replica) and names the first few, GET and HEAD only;
- /metrics is well-formed Prometheus text (HELP and TYPE before samples,
  counters end in _total, histograms have cumulative buckets ending in +Inf
  equal to _count);
- after known traffic the counters moved by the right amounts: records in,
  bytes in equal to the log's size, bytes out after reading everything back,
  Produce and Fetch requests, Fetch errors by code, fsyncs, connections;
- a group that committed offset k on a partition ending at e lags e - k;
- the Grafana dashboard (deploy/grafana/runnel-dashboard.json) is a Grafana
  dashboard and every metric its queries name is one the broker exports;
- /health/ready and /health/started are 503 while a large unclean log is
  recovered, then 200, while /health/live is 200 throughout.

Apache Kafka has no such port: against it (RUNNEL_TEST_TARGET=kafka) the
file is skipped.
"""

import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import (Broker, free_port, kafka_request, runnel_bin, skip_under_cluster,  # noqa: E402
                    target)
from tap import Tap  # noqa: E402

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "runnel-dashboard.json")
RECORDS = 100
VALUE_BYTES = 200
COMMITTED = 40
OP_TIMEOUT_S = 30

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


# -- HTTP and parsing ----------------------------------------------------------

def http(url, method="GET"):
    """(status, body text) of one request."""
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse(text):
    """{(name, frozenset(labels)): value} and {family: type}, checking the format."""
    samples, types, problems = {}, {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append(line)
            continue
        name, labels = m.group(1), frozenset(LABEL_RE.findall(m.group(3) or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in types and family not in types:
            problems.append("no TYPE before " + line)
        samples[(name, labels)] = float(m.group(4).replace("+Inf", "inf"))
    return samples, types, problems


def value(samples, name, **labels):
    return samples.get((name, frozenset((k, str(v)) for k, v in labels.items())), 0.0)


def scrape(admin):
    status, text = http(admin + "/metrics")
    assert status == 200, f"/metrics answered {status}"
    return parse(text)


# -- traffic -------------------------------------------------------------------

def produce(b, topic):
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
    for i in range(RECORDS):
        p.produce(topic, value=bytes([i % 256]) * VALUE_BYTES, partition=0)
    assert p.flush(OP_TIMEOUT_S) == 0, "records left unflushed"


def consume_all(b, topic):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "metrics-reader",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got, deadline = 0, time.monotonic() + OP_TIMEOUT_S
    while got < RECORDS and time.monotonic() < deadline:
        for m in c.consume(100, timeout=1.0):
            if not m.error():
                got += 1
    c.close()
    return got


def commit(b, group, topic, offset):
    c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    c.close()


def fetch_v4(b, topic, partition, offset):
    """A raw Fetch v4 of one partition; returns its error code."""
    name = topic.encode()
    body = struct.pack(">iiiibi", -1, 0, 0, 1 << 20, 0, 1)
    body += struct.pack(">h", len(name)) + name + struct.pack(">iiqi", 1, partition, offset, 1 << 20)
    resp = kafka_request(b.bootstrap, 1, 4, body)
    # throttle, topics[1], name, partitions[1], index, error_code
    pos = 4 + 4
    tlen = struct.unpack(">h", resp[pos:pos + 2])[0]
    pos += 2 + tlen + 4 + 4
    return struct.unpack(">h", resp[pos:pos + 2])[0]


# -- tests ---------------------------------------------------------------------

def test_endpoints(t, admin):
    t.eq(http(admin + "/health/live")[0], 200, "/health/live is 200")
    t.eq(http(admin + "/health/started")[0], 200, "/health/started is 200")
    t.eq(http(admin + "/health/ready")[0], 200, "/health/ready is 200 once started")
    t.eq(http(admin + "/nope")[0], 404, "an unknown path is 404")
    t.eq(http(admin + "/metrics", "POST")[0], 405, "POST /metrics is 405")
    status, text = http(admin + "/metrics")
    t.eq(status, 200, "/metrics is 200")
    samples, types, problems = parse(text)
    t.eq(problems, [], "every line is a comment or a sample after its TYPE")
    t.ok(all(n.startswith("runnel_") for n in types), "every family has the runnel_ prefix")
    t.eq([n for n, k in types.items() if k == "counter" and not n.endswith("_total")], [],
         "every counter ends in _total")
    t.eq(value(samples, "runnel_ready"), 1.0, "runnel_ready is 1")
    t.eq(value(samples, "runnel_under_replicated_partitions"), 0.0,
         "no under-replicated partitions on one node")
    partitions = value(samples, "runnel_partitions")
    t.ok(partitions > 0, f"the node holds partitions ({partitions:.0f})")
    t.eq(value(samples, "runnel_partitions_leader"), partitions, "and leads every one")
    for name in ("runnel_partitions_under_replicated", "runnel_partitions_under_min_isr",
                 "runnel_partitions_leaderless", "runnel_replicas_out_of_sync",
                 "runnel_replica_max_lag", "runnel_replica_fetch_requests_total",
                 "runnel_isr_shrinks_total"):
        t.eq((value(samples, name), types.get(name) is not None), (0.0, True),
             f"{name} is exported, 0 on one node")
    t.eq(value(samples, "runnel_partitions_at_min_isr"), partitions,
         "every partition is at min ISR (1 of min.insync.replicas 1)")


def test_restart_safe(t, admin):
    status, body = http(admin + "/health/restart-safe")
    t.eq(status, 503, "/health/restart-safe is 503 on a single node")
    t.ok(body.startswith("not safe: stopping node ") and
         "__consumer_offsets-0: no other replica: unavailable until this node is back\n" in body
         and re.search(r"\nand \d+ more\n$", body),
         "it names the partitions with no other replica, the first few, then the count",
         repr(body[:300]))
    t.eq(http(admin + "/health/restart-safe", "HEAD")[0], 503, "HEAD answers the same")
    t.eq(http(admin + "/health/restart-safe", "POST")[0], 405, "POST is 405")
    t.eq(http(admin + "/health/restart-safe/x")[0], 404, "a path below it is 404")


def check_histograms(t, samples, types):
    bad = []
    for family in (n for n, k in types.items() if k == "histogram"):
        series = {}
        for (name, labels), v in samples.items():
            if name == family + "_bucket":
                rest = frozenset(kv for kv in labels if kv[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((float(le.replace("+Inf", "inf")), v))
        for rest, buckets in series.items():
            buckets.sort()
            counts = [v for _, v in buckets]
            if counts != sorted(counts) or buckets[-1][0] != float("inf") or \
                    counts[-1] != samples.get((family + "_count", rest)):
                bad.append((family, sorted(rest)))
    t.eq(bad, [], "histogram buckets are cumulative and +Inf equals _count")


def test_traffic(t, b, admin):
    topic = "metrics-topic"
    a = AdminClient({"bootstrap.servers": b.bootstrap})
    for f in a.create_topics([NewTopic(topic, 2, 1)]).values():
        f.result(OP_TIMEOUT_S)
    before, _, _ = scrape(admin)
    produce(b, topic)
    t.eq(consume_all(b, topic), RECORDS, f"read the {RECORDS} records back")
    t.eq(fetch_v4(b, topic, 0, 10**9), 1, "a fetch far past the end is OFFSET_OUT_OF_RANGE")
    t.eq(fetch_v4(b, "metrics-no-such-topic", 0, 0), 3,
         "a fetch of an unknown topic is UNKNOWN_TOPIC_OR_PARTITION")
    commit(b, "metrics-group", topic, COMMITTED)
    after, types, _ = scrape(admin)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    p0 = {"topic": topic, "partition": 0}
    t.eq(delta("runnel_partition_records_in_total", **p0), RECORDS, "records in moved by N")
    bytes_in = delta("runnel_partition_bytes_in_total", **p0)
    t.ok(bytes_in >= RECORDS * VALUE_BYTES, f"bytes in ({bytes_in:.0f}) cover the values")
    t.eq(value(after, "runnel_partition_log_size_bytes", **p0), bytes_in,
         "the log's size is the bytes appended")
    t.eq(value(after, "runnel_partition_log_segments", **p0), 1.0, "one segment")
    t.eq(delta("runnel_partition_bytes_out_total", **p0), bytes_in,
         "reading everything back sent each batch once")
    t.eq(delta("runnel_partition_records_in_total", topic=topic, partition=1), 0,
         "the other partition saw nothing")
    t.eq(delta("runnel_topic_records_in_total", topic=topic), RECORDS, "topic records in")
    t.eq(delta("runnel_topic_bytes_out_total", topic=topic), bytes_in, "topic bytes out")
    t.ok(delta("runnel_requests_total", api="Produce") >= 1, "Produce requests counted")
    t.ok(delta("runnel_requests_total", api="Fetch") >= 3, "Fetch requests counted")
    t.eq(delta("runnel_request_duration_seconds_count", api="Produce"),
         delta("runnel_requests_total", api="Produce"), "one latency sample per Produce")
    t.eq(delta("runnel_response_errors_total", api="Fetch", error="OFFSET_OUT_OF_RANGE"), 1,
         "one OFFSET_OUT_OF_RANGE counted")
    t.eq(delta("runnel_response_errors_total", api="Fetch", error="UNKNOWN_TOPIC_OR_PARTITION"),
         1, "one UNKNOWN_TOPIC_OR_PARTITION counted")
    t.ok(delta("runnel_fsync_duration_seconds_count") >= 1, "durable acks were fsynced")
    t.ok(delta("runnel_connections_accepted_total") >= 3, "connections accepted counted")
    lag = {"group": "metrics-group", "topic": topic, "partition": 0}
    t.eq(value(after, "runnel_consumer_group_committed_offset", **lag), COMMITTED,
         "the committed offset")
    t.eq(value(after, "runnel_consumer_group_lag", **lag), RECORDS - COMMITTED,
         "lag = end - committed")
    check_histograms(t, after, types)
    return after, types


def test_dashboard(t, samples, types):
    with open(DASHBOARD) as f:
        dash = json.load(f)
    t.ok(isinstance(dash.get("schemaVersion"), int), "the dashboard has a schemaVersion")
    t.ok(isinstance(dash.get("title"), str) and dash["title"], "the dashboard has a title")
    panels = dash.get("panels", [])
    t.ok(len(panels) >= 6, f"the dashboard has panels ({len(panels)})")
    bad = [p.get("title") for p in panels if p.get("type") != "row" and
           not (p.get("title") and p.get("gridPos") and p.get("targets"))]
    t.eq(bad, [], "every panel has a title, a position and targets")
    exprs = [tg.get("expr", "") for p in panels for tg in p.get("targets", [])]
    t.ok(all(exprs), "every target has a Prometheus expression")
    exported = set(types) | {name for name, _ in samples}
    used = {m for e in exprs for m in re.findall(r"\brunnel_[a-zA-Z0-9_]+", e)}
    t.eq(sorted(used - exported), [], "every metric the dashboard queries is exported")
    want = ("runnel_topic_bytes_in_total", "runnel_request_duration_seconds_bucket",
            "runnel_response_errors_total", "runnel_consumer_group_lag",
            "runnel_partition_log_size_bytes", "runnel_fsync_duration_seconds_bucket",
            "runnel_partitions_under_replicated", "runnel_partitions_under_min_isr",
            "runnel_partitions_leaderless", "runnel_isr_shrinks_total",
            "runnel_isr_expands_total", "runnel_replica_max_lag",
            "runnel_replica_fetch_bytes_total")
    t.eq([w for w in want if w not in used], [],
         "throughput, latency, errors, lag, disk, fsync and replication are all shown")


def ready_status(admin):
    try:
        return http(admin + "/health/ready")[0]
    except OSError:
        return None


def test_ready_during_recovery(t):
    port = free_port()
    admin = f"http://127.0.0.1:{port}"
    b = Broker({"admin.listener": f"127.0.0.1:{port}", "num.partitions": 64})
    with b:
        cmd = [runnel_bin(), "bench", "produce", "-b", b.bootstrap, "-t", "big",
               "-n", "200000", "-s", "1000", "-a", "1", "-p", "64"]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        t.eq(res.returncode, 0, "wrote a large log")
        b.kill()  # unclean: the next start recovers every partition
        b.start(wait=False)
        seen, live_ok, deadline = [], True, time.monotonic() + 60
        started_seen, started_body = [], ""
        while time.monotonic() < deadline:
            st = ready_status(admin)
            if st is not None and (not seen or seen[-1] != st):
                seen.append(st)
            if st == 503:
                live_ok &= http(admin + "/health/live")[0] == 200
                started, body = http(admin + "/health/started")
                if not started_seen or started_seen[-1] != started:
                    started_seen.append(started)
                    started_body = started_body or (body if started == 503 else "")
            if st == 200:
                break
            time.sleep(0.002)
        t.diag(f"/health/ready answered, in order: {seen}")
        t.ok(503 in seen, "/health/ready is 503 while recovering")
        t.eq(seen[-1:], [200], "/health/ready turns 200 after recovery")
        t.ok(503 not in seen or seen.index(503) < seen.index(200), "503 came before 200")
        t.ok(live_ok, "/health/live is 200 during recovery")
        t.diag(f"/health/started answered, in order: {started_seen}")
        t.ok(started_seen[:1] == [503] and "recovering" in str(started_body),
             "/health/started is 503 while the logs are recovered (the startup probe waits)",
             f"{started_seen} {started_body!r}")
        t.eq(http(admin + "/health/started")[0], 200, "/health/started is 200 once started")


def main():
    t = Tap("admin HTTP port: metrics and health")
    skip_under_cluster(t, "admin HTTP port: metrics and health",
                       "one node's metrics and health (a cluster's: test_cluster_metrics.py)")
    if target() != "runnel":
        t.skip("admin HTTP port", "Apache Kafka has no admin HTTP port")
        t.done()
    port = free_port()
    admin = f"http://127.0.0.1:{port}"
    with Broker({"admin.listener": f"127.0.0.1:{port}", "num.partitions": 2}) as b:
        t.run(test_endpoints, admin)
        t.run(test_restart_safe, admin)
        res = t.run(test_traffic, b, admin)
        if res:
            t.run(test_dashboard, *res)
    t.run(test_ready_during_recovery)
    t.done()


if __name__ == "__main__":
    main()
