#!/usr/bin/env python3
"""Replication figures, Runnel against Apache Kafka 3.9: three combined nodes
on loopback, topics of replication factor 3 and min.insync.replicas 2.

    tests/bench/replication.py [--target runnel|kafka|both] [--partitions 6]
                               [--duration S | --count N] [--rounds 20]
                               [--session-ms MS] [--topic-config KEY=VALUE ...]

For each target (both: Runnel, then Kafka, with the same clients and the
same parameters), on one cluster:

1. produce: `runnel bench produce` (librdkafka, one producer, acks=all,
   enable.idempotence=true, librdkafka's defaults otherwise) sends records of
   100 B, then of 1 KiB, for --duration seconds (or --count records), each
   size to a topic of its own of --partitions partitions. Printed: the tool's
   own figures, and the steady ones taken from its per-second lines with the
   first second left out (the table's figures): records/s, MB/s (MiB), and
   the median over those seconds of each second's latency p50 and p99
   (produce() to acknowledgement, so at full speed mostly the time in the
   client's queue). Left out because librdkafka 2.0.2 sometimes learns the
   topic only at its one-second topic scan (it names the topic while its
   first metadata request is in flight) and holds the records until then.
   Then the latency of a cluster that keeps up: a confluent-kafka producer
   (acks=all, idempotent) sends --rate records/s of 100 B for --rate-seconds,
   timed once it has had its first acknowledgement: p50, p99, p99.9, max.
2. consume: `runnel bench consume` (one consumer) reads each topic from its
   start: records/s, MB/s, and whether it read every record acknowledged.
   Its client is given queued.min.messages=10000000 and
   queued.max.messages.kbytes=1048576 (both targets): with librdkafka's
   defaults a consumer whose queue holds 100,000 records stops fetching for
   a second, which caps it near 180,000 records/s of 100 B whatever the
   brokers do.
3. CPU: each node's utime + stime (/proc/PID/stat) before and after each
   phase, summed over the three: records per broker CPU-second; the client's
   CPU time (wait4) and how busy the whole machine was, which tells whether
   the client or the brokers were the bottleneck. After these phases, the
   times a controller fenced a broker (none is down, so every fence is a
   healthy broker's under full load: a problem) are counted from the logs.

A warm-up (--warmup records of 1 KiB produced and consumed, not counted)
comes first, so that Kafka's JIT has run. Every topic is measured once
acks=all has answered on each of its partitions (a new topic's follower may
back off a second after its first fetch), which is printed too.

Then, on a fresh cluster of the same target:

4. unavailability after a leader SIGKILL: a confluent-kafka producer (acks=all,
   idempotent, linger.ms 0, reconnect.backoff.max.ms 1000) sends a record every --interval-ms to the one
   partition of a topic; each round SIGKILLs that partition's leader (as
   Metadata names it) and takes the time from the kill to the first
   acknowledgement of a record sent after it; then starts the node again and
   waits until Metadata shows three in-sync replicas before the next round.
   At the end every acknowledged record is read back: lost, duplicated or
   moved records are printed.

Both targets run with their defaults (broker.session.timeout.ms 9000 in
both: a dead leader is fenced, and replaced, about 9 s after its last
heartbeat) unless --session-ms sets it for both (the heartbeat interval then
a third of it, at most 2000 ms). A default that differs: Runnel fsyncs
before it acknowledges (log.flush.interval.messages=1), Kafka never does;
--topic-config flush.messages=1 (or =9223372036854775807) gives both the same.

Every wait has a deadline; the nodes are stopped on the way out, also after
Ctrl-C. Figures only: no timing is judged. Problems are printed for either
target (records not delivered, lost or not read back, a phase that failed, a
round with no acknowledgement in time, a producer failed for good); the exit
code is 1 when Runnel had one (or the run was interrupted), else 0.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figlib  # noqa: E402
import broker as broker_lib  # noqa: E402  (figlib puts tests/interop/lib on the path)
from records import consume_from_start  # noqa: E402
from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

say = figlib.say
NODES = 3
RF = 3
MIN_ISR = 2
WARMUP_SIZE = 1024
CLIENT_TIMEOUT_MS = 30000  # runnel bench --timeout-ms: its every wait for the cluster
PRODUCER_X = ["-a", "all", "-X", "enable.idempotence=true"]
CONSUMER_X = ["-X", "queued.min.messages=10000000", "-X", "queued.max.messages.kbytes=1048576"]
PROGRESS = re.compile(r"([\d.]+) records/s\s+([\d.]+) MB/s(?:\s+latency ms p50 ([\d.]+) "
                      r"p99 ([\d.]+))?")


class PhaseError(Exception):
    """A phase that could not be measured (the reason in the message)."""


# -- the cluster -----------------------------------------------------------------------

def cluster_settings(args):
    if not args.session_ms:
        return {}
    return {"broker.session.timeout.ms": str(args.session_ms),
            "broker.heartbeat.interval.ms": str(min(2000, max(1, args.session_ms // 3)))}


def wait_until(what, fn, timeout, step=0.1):
    """fn()'s first truthy value within timeout seconds; PhaseError if none."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = fn()
        except Exception:  # a node down, a metadata request timed out
            got = None
        if got:
            return got
        if time.monotonic() >= deadline:
            raise PhaseError(f"{what}: not within {timeout:.0f} s")
        time.sleep(step)


def start_cluster(kind, args):
    """A started cluster and an AdminClient of it, once Metadata lists the
    three brokers."""
    t0 = time.monotonic()
    cluster = figlib.make_cluster(kind, NODES, cluster_settings(args))
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 0})
        wait_until("three brokers in Metadata",
                   lambda: len(admin.list_topics(timeout=5).brokers) == NODES, args.wait_s)
    except BaseException:
        cluster.stop()
        raise
    say(f"# {kind}: 3 nodes up in {time.monotonic() - t0:.1f} s: {cluster.bootstrap}")
    return cluster, admin


def partitions_of(admin, topic):
    """{partition: (leader, sorted ISR)} as Metadata shows them now."""
    t = admin.list_topics(topic, timeout=5).topics.get(topic)
    if t is None or t.error is not None:
        return {}
    return {p: (pm.leader, sorted(pm.isrs)) for p, pm in t.partitions.items()}


def full_isr(admin, topic, partitions):
    """The partitions' state when every one has a leader and RF in-sync
    replicas, else None."""
    parts = partitions_of(admin, topic)
    ok = len(parts) == partitions and all(lead >= 0 and len(isr) == RF
                                          for lead, isr in parts.values())
    return parts if ok else None


def first_acks(bootstrap, topic, partitions, timeout):
    """One acks=all record to every partition, each waited for (PhaseError
    when one is not acknowledged)."""
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                  "message.timeout.ms": int(timeout * 1000), "log_level": 0})
    errors = []
    for k in range(partitions):
        p.produce(topic, value=b"first", partition=k,
                  on_delivery=lambda e, m: errors.append(e.name()) if e else None)
    left = p.flush(timeout)
    if left or errors:
        raise PhaseError(f"{topic}: first acks=all records not acknowledged "
                         f"({left} unanswered, errors {errors})")


def new_topic(args, cluster, admin, topic, partitions):
    """Creates the topic (RF 3, min.insync.replicas 2, --topic-config), waits
    for full ISRs in Metadata and for first_acks: (partitions' state,
    seconds from the creation until acks=all answered on every partition)."""
    t0 = time.monotonic()
    cfg = {"min.insync.replicas": str(MIN_ISR), **args.topic_config}
    admin.create_topics([NewTopic(topic, partitions, RF, config=cfg)])[topic].result(args.wait_s)
    parts = wait_until(f"topic {topic} with full ISRs",
                       lambda: full_isr(admin, topic, partitions), args.wait_s)
    first_acks(cluster.bootstrap, topic, partitions, args.wait_s)
    return parts, time.monotonic() - t0


def leaders_text(parts):
    per = {}
    for lead, _ in parts.values():
        per[lead] = per.get(lead, 0) + 1
    return ", ".join(f"node {k}: {v}" for k, v in sorted(per.items()))


# -- measuring ---------------------------------------------------------------------------

class Meter:
    """The nodes' CPU seconds, the machine's busy ticks, its disks' busy time
    and the wall clock between its creation and stop()."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.cpu0 = cluster.cpu_seconds()
        self.jiffies0 = figlib.machine_jiffies()
        self.disk0 = figlib.disk_busy_ms()
        self.t0 = time.monotonic()

    def stop(self):
        wall = time.monotonic() - self.t0
        cpu1 = self.cluster.cpu_seconds()
        busy1, total1 = figlib.machine_jiffies()
        busy0, total0 = self.jiffies0
        per = {k: cpu1[k] - self.cpu0[k] for k in cpu1
               if cpu1[k] is not None and self.cpu0.get(k) is not None}
        return {"wall": wall, "broker_cpu": sum(per.values()), "per_node": per,
                "machine_cores": (busy1 - busy0) / max(1, total1 - total0) * os.cpu_count(),
                "disk_busy": (figlib.disk_busy_ms() - self.disk0) / 1000 / wall}


def run_bench(verb, bootstrap, topic, extra, timeout):
    """Runs `runnel bench VERB` to its end (killed after timeout seconds):
    (its JSON summary, its per-second progress lines as (records/s, MB/s,
    p50, p99), its CPU seconds). PhaseError when it fails."""
    cmd = [broker_lib.runnel_bin(), "bench", verb, "-b", bootstrap, "-t", topic, "--json",
           "--timeout-ms", str(CLIENT_TIMEOUT_MS)] + extra
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        pid, status, usage = 0, 0, None
        try:
            while pid == 0 and time.monotonic() - t0 < timeout:
                time.sleep(0.05)
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        finally:
            if pid == 0:  # too long, or interrupted: the client goes too
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                status = -1
        proc.returncode = os.waitstatus_to_exitcode(status) if status != -1 else None
        out.seek(0)
        err.seek(0)
        text, errs = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    summary = next((json.loads(ln) for ln in reversed(text.splitlines())
                    if ln.startswith("{")), None)
    if proc.returncode is None:
        raise PhaseError(f"runnel bench {verb} -t {topic}: still running after {timeout:.0f} s")
    if summary is None or proc.returncode != 0:
        tail = "; ".join(ln for ln in errs.splitlines()[-3:] if ln.strip())
        raise PhaseError(f"runnel bench {verb} -t {topic} exited {proc.returncode}: "
                         f"{tail or 'no summary'}")
    seconds = []
    for ln in errs.splitlines():
        m = PROGRESS.search(ln)
        if m and not ln.lstrip().startswith(tuple("0123456789")):
            seconds.append(tuple(float(x) if x else None for x in m.groups()))
    return summary, seconds, usage.ru_utime + usage.ru_stime


def steady(summary, seconds):
    """(records/s, MB/s, p50, p99) of the progress lines after the first
    second (the medians of p50 and p99); the summary's own figures when
    there are none."""
    rest = seconds[1:]
    if not rest:
        lat = summary["latency_ms"] or {}
        return (summary["records_per_sec"], summary["mb_per_sec"], lat.get("p50"),
                lat.get("p99"))
    return (statistics.mean(s[0] for s in rest), statistics.mean(s[1] for s in rest),
            statistics.median(s[2] for s in rest) if rest[0][2] is not None else None,
            statistics.median(s[3] for s in rest) if rest[0][3] is not None else None)


def cpu_line(figs, key, m, client_cpu, records):
    """Notes and prints where the CPU went during a phase: the brokers', the
    client's, and the rest of the machine's (other processes)."""
    per_node = ", ".join(f"{v:.1f}" for _, v in sorted(m["per_node"].items()))
    per_cpu = records / m["broker_cpu"] if m["broker_cpu"] > 0 else None
    client = client_cpu / m["wall"]
    others = max(0.0, m["machine_cores"] - m["broker_cpu"] / m["wall"] - client)
    figs[f"{key}: records per broker CPU-s"] = per_cpu
    figs[f"{key}: client CPU, cores"] = client
    figs[f"{key}: machine busy, cores"] = m["machine_cores"]
    say(f"  brokers' CPU {m['broker_cpu']:.1f} s (per node {per_node}) = "
        + (f"{per_cpu:,.0f}" if per_cpu else "-") + " records per broker CPU-second; "
        f"client CPU {client_cpu:.1f} s = {client:.2f} cores; machine busy "
        f"{m['machine_cores']:.2f} of {os.cpu_count()} cores over {m['wall']:.1f} s "
        f"({others:.2f} of them other processes); disk busy {m['disk_busy']:.0%} of the time")


# -- a paced producer --------------------------------------------------------------------

class Paced:
    """One confluent-kafka producer (acks=all, idempotent, and conf) on a
    thread of its own, sending `rate` records a second (to `partition`, or
    where the partitioner puts them; those due are sent at least every
    millisecond). Each acknowledged record's send time, acknowledgement time,
    sequence number and offset are kept, in the order acknowledged. A
    producer that fails for good (a fatal error of librdkafka's idempotent
    producer) is replaced by a new one, and the error kept."""

    def __init__(self, bootstrap, topic, rate, size, partition=None, conf=None):
        self.topic = topic
        self.interval = 1.0 / rate
        self.size = size
        self.partition = partition
        self.conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "log_level": 0, **(conf or {})}
        self.producer = Producer(self.conf)
        self.lock = threading.Lock()
        self.acks = []    # (sent, acknowledged, seq, offset), in the order acknowledged
        self.failed = {}  # error name -> count
        self.fatal = []   # the fatal errors, each of which replaced the producer
        self.sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _done(self, err, msg, seq, sent):
        now = time.monotonic()
        with self.lock:
            if err is None:
                self.acks.append((sent, now, seq, msg.offset()))
            else:
                self.failed[err.name()] = self.failed.get(err.name(), 0) + 1

    def _send(self, now):
        seq = self.sent
        value = (b"%012d" % seq).ljust(self.size, b".")
        kw = {} if self.partition is None else {"partition": self.partition}
        try:
            self.producer.produce(self.topic, value=value,
                                  on_delivery=lambda e, m: self._done(e, m, seq, now), **kw)
            self.sent += 1
        except BufferError:
            with self.lock:
                self.failed["local queue full"] = self.failed.get("local queue full", 0) + 1

    def _replace(self, error):
        """After a fatal error: the old producer's records fail (purged), a
        new producer (a new producer id) goes on."""
        with self.lock:
            self.fatal.append(str(error))
        old = self.producer
        try:
            old.purge()
            old.flush(5)
        except Exception:
            pass
        self.producer = Producer(self.conf)

    def _run(self):
        next_at = time.monotonic()
        while not self.stopping.is_set():
            now = time.monotonic()
            try:
                while now >= next_at:
                    self._send(now)
                    next_at += self.interval
                next_at = max(next_at, now - 1.0)  # a stalled thread does not burst for long
                self.producer.poll(max(0.001, next_at - time.monotonic()))
            except KafkaException as e:
                err = e.args[0] if e.args else None
                if err is not None and (err.fatal() or err.code() == KafkaError._FATAL):
                    self._replace(err)
                else:
                    with self.lock:
                        name = err.name() if err is not None else str(e)
                        self.failed[name] = self.failed.get(name, 0) + 1

    def mark(self):
        """A position in the acknowledgements, for first_ack_after."""
        with self.lock:
            return len(self.acks)

    def first_ack_after(self, t0, mark=0):
        """The acknowledgement time of the first record sent at or after t0
        (acknowledged after position mark), or None."""
        with self.lock:
            return next((acked for sent, acked, _, _ in self.acks[mark:] if sent >= t0), None)

    def latencies(self, t0, t1):
        with self.lock:
            return sorted(a - s for s, a, _, _ in self.acks if t0 <= s < t1)

    def stop(self):
        self.stopping.set()
        self.thread.join(5)

    def close(self, flush_s):
        """Stops sending and waits for the records in flight: (failures by
        error, the acknowledgements, fatal errors, records left unanswered)."""
        self.stop()
        left = self.producer.flush(flush_s)
        with self.lock:
            return dict(self.failed), list(self.acks), list(self.fatal), left


def percentile(ordered, q):
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


# -- produce, consume, CPU ------------------------------------------------------------------

def produce_phase(args, cluster, admin, size, figs):
    """`runnel bench produce` of `size`-byte records to a new topic: records
    acknowledged and failed."""
    key = f"produce {size} B"
    parts, ready = new_topic(args, cluster, admin, f"bench-{size}", args.partitions)
    how = ["-n", str(args.count)] if args.count else ["-d", str(args.duration)]
    m = Meter(cluster)
    res, seconds, client_cpu = run_bench("produce", cluster.bootstrap, f"bench-{size}",
                                         ["-s", str(size)] + PRODUCER_X + how, args.phase_s)
    m = m.stop()
    rate, mbs, p50, p99 = steady(res, seconds)
    lat = res["latency_ms"]
    say(f"{key} ({cluster.kind}): steady {rate:,.0f} records/s, {mbs:.2f} MB/s, latency ms p50 "
        f"{p50:.1f} p99 {p99:.1f} (seconds 2 to {len(seconds)}); in all {res['records']:,} "
        f"records in {res['seconds']:.2f} s = {res['records_per_sec']:,.0f} records/s, latency "
        f"ms p50 {lat['p50']:.1f} p99 {lat['p99']:.1f} max {lat['max']:.1f}"
        + (f", first second {seconds[0][0]:,.0f} records/s" if seconds else "")
        + (f"; FAILED {res['failed']:,}" if res["failed"] else ""))
    say(f"  leaders {leaders_text(parts)}; acks=all answered on every partition {ready:.2f} s "
        f"after the creation")
    figs[f"{key}: records/s"] = rate
    figs[f"{key}: MB/s"] = mbs
    figs[f"{key}: latency p50 ms"] = p50
    figs[f"{key}: latency p99 ms"] = p99
    cpu_line(figs, key, m, client_cpu, res["records"])
    return res["records"], res["failed"]


def consume_phase(args, cluster, size, expected, figs):
    """`runnel bench consume` of the whole topic; False when it read
    another number of records than expected."""
    key = f"consume {size} B"
    m = Meter(cluster)
    res, _, client_cpu = run_bench("consume", cluster.bootstrap, f"bench-{size}", CONSUMER_X,
                                   args.phase_s)
    m = m.stop()
    short = res["records"] != expected
    say(f"{key} ({cluster.kind}): {res['records']:,} records in {res['seconds']:.2f} s = "
        f"{res['records_per_sec']:,.0f} records/s, {res['mb_per_sec']:.2f} MB/s"
        + (f"; READ {res['records']:,} OF {expected:,} ACKNOWLEDGED" if short else ""))
    figs[f"{key}: records/s"] = res["records_per_sec"]
    figs[f"{key}: MB/s"] = res["mb_per_sec"]
    cpu_line(figs, key, m, client_cpu, res["records"])
    return not short


def rate_phase(args, cluster, admin, figs):
    """--rate records/s of --rate-size bytes from a Paced producer, timed
    once it has had an acknowledgement; returns the problems seen."""
    key = f"produce {args.rate_size} B at {args.rate:,}/s"
    new_topic(args, cluster, admin, "bench-rate", args.partitions)
    paced = Paced(cluster.bootstrap, "bench-rate", args.rate, args.rate_size,
                  conf={"message.timeout.ms": CLIENT_TIMEOUT_MS})
    try:
        wait_until("a first acknowledgement", lambda: paced.first_ack_after(0), args.wait_s)
        m = Meter(cluster)
        own0 = sum(os.times()[:2])  # this process: the producer's thread, mostly
        t0 = time.monotonic()
        time.sleep(args.rate_seconds)
        t1 = time.monotonic()
        m = m.stop()
        client_cpu = sum(os.times()[:2]) - own0
    finally:
        failed, _, fatal, left = paced.close(CLIENT_TIMEOUT_MS / 1000)
    lat = paced.latencies(t0, t1)
    ms = {q: percentile(lat, q) * 1000 for q in (0.5, 0.99, 0.999, 1.0)} if lat else {}
    say(f"{key} ({cluster.kind}, confluent-kafka): {len(lat):,} records sent in "
        f"{t1 - t0:.1f} s, latency ms p50 {ms.get(0.5, 0):.2f} p99 {ms.get(0.99, 0):.2f} "
        f"p99.9 {ms.get(0.999, 0):.2f} max {ms.get(1.0, 0):.2f}")
    figs[f"{key}: latency p50 ms"] = ms.get(0.5)
    figs[f"{key}: latency p99 ms"] = ms.get(0.99)
    figs[f"{key}: latency p99.9 ms"] = ms.get(0.999)
    cpu_line(figs, key, m, client_cpu, len(lat))
    if failed or fatal or left:
        return [f"{key}: records failed {failed}, fatal errors {fatal[:3]}, unanswered {left}"]
    return []


def warm_up(args, cluster, admin):
    new_topic(args, cluster, admin, "bench-warmup", args.partitions)
    t0 = time.monotonic()
    run_bench("produce", cluster.bootstrap, "bench-warmup",
              ["-s", str(WARMUP_SIZE), "-n", str(args.warmup)] + PRODUCER_X, args.phase_s)
    run_bench("consume", cluster.bootstrap, "bench-warmup", CONSUMER_X, args.phase_s)
    say(f"# warm-up ({cluster.kind}): {args.warmup:,} records of {WARMUP_SIZE} B produced and "
        f"consumed in {time.monotonic() - t0:.1f} s, not counted")


def throughput(args, kind, figs):
    """Phases 1 to 3 on one cluster; returns the problems seen."""
    problems = []
    cluster, admin = start_cluster(kind, args)
    try:
        if args.warmup:
            warm_up(args, cluster, admin)
        if args.rate:  # first, on a calm cluster
            problems += rate_phase(args, cluster, admin, figs)
        for size in args.sizes:
            acked, failed = produce_phase(args, cluster, admin, size, figs)
            if failed:
                problems.append(f"produce {size} B: {failed} records not delivered")
            # the topic also holds first_acks' record of each partition
            if not consume_phase(args, cluster, size, acked + args.partitions, figs):
                problems.append(f"consume {size} B: read another number of records than "
                                "were acknowledged")
        fenced = fences_logged(cluster)
        figs["healthy brokers fenced under load"] = fenced
        say(f"# {kind}: brokers fenced during the phases at full load (none was down): {fenced}")
        if fenced:
            problems.append(f"{fenced} healthy broker(s) fenced under load")
    finally:
        cluster.stop()
    return problems


def fences_logged(cluster):
    """How many times the nodes' logs (this run of each) say a controller
    fenced a broker for its session or as gone: Runnel's 'fencing broker N:'
    lines, Kafka's 'Fencing broker N' (its session timed out)."""
    count = 0
    for node in cluster.nodes:
        try:
            with open(node.log_path, errors="replace") as f:
                f.seek(node._log_mark)
                count += sum(1 for line in f if re.search(r"[Ff]encing broker \d+", line))
        except OSError:
            pass
    return count


# -- unavailability after a leader SIGKILL ---------------------------------------------

def read_back(bootstrap, topic, acks, timeout):
    """Every acknowledged record looked for in partition 0 read from its
    start: (lost, duplicated, at another offset)."""
    seen, _ = consume_from_start(bootstrap, topic, 1, f"bench-check-{time.time()}", timeout)
    where, dup = {}, 0
    for value, (_, offset) in seen:
        if not value[:12].isdigit():
            continue  # first_acks' record
        seq = int(value[:12])
        dup += seq in where
        where[seq] = offset
    lost = sum(1 for _, _, seq, _ in acks if seq not in where)
    moved = sum(1 for _, _, seq, off in acks if seq in where and where[seq] != off)
    return lost, dup, moved


def failover_round(args, cluster, admin, paced, topic, rnd):
    """One kill and restart: (unavailable, new leader in Metadata or None,
    node ready, back in the ISR) in seconds and whether the node killed was
    the active controller too; or what went wrong."""
    try:
        lead = wait_until("partition 0 with three in-sync replicas",
                          lambda: full_isr(admin, topic, 1), args.wait_s)[0][0]
        mark, t_mark = paced.mark(), time.monotonic()
        wait_until("an acknowledgement before the kill",
                   lambda: paced.first_ack_after(t_mark, mark), args.failover_max)
    except PhaseError as e:
        return str(e)
    time.sleep(args.before)
    controller = cluster.active_controller()
    victim = cluster.node(lead)
    mark, t_kill = paced.mark(), time.monotonic()
    victim.kill()
    ack, moved = None, None
    while ack is None and time.monotonic() < t_kill + args.failover_max:
        if moved is None:
            try:
                if partitions_of(admin, topic).get(0, (-1, None))[0] not in (-1, lead):
                    moved = time.monotonic() - t_kill
            except Exception:
                pass
        ack = paced.first_ack_after(t_kill, mark)
        time.sleep(0.02)
    if ack is None:
        return f"no acknowledgement within {args.failover_max:.0f} s of killing node {lead}"
    t_start = time.monotonic()
    try:
        cluster.start_node(victim, timeout=args.wait_s)
        ready = time.monotonic() - t_start
        wait_until("the ISR full again", lambda: full_isr(admin, topic, 1), args.wait_s)
    except (PhaseError, broker_lib.BrokerError) as e:
        return f"node {lead} after its kill: {str(e).splitlines()[0]}"
    back = time.monotonic() - t_start
    say(f"round {rnd:2d} ({cluster.kind}): killed node {lead}"
        + (" (also the active controller)" if controller == lead else "")
        + f": unavailable {ack - t_kill:5.2f} s, new leader in Metadata after "
        + (f"{moved:5.2f} s" if moved is not None else "    ? s")
        + f"; restarted, ready in {ready:4.1f} s, back in the ISR {back:4.1f} s after its start")
    return ack - t_kill, moved, ready, back, controller == lead


def failover(args, kind, figs):
    """Phase 4 on a fresh cluster; returns the problems seen."""
    problems = []
    rounds = []
    cluster, admin = start_cluster(kind, args)
    paced = None
    try:
        new_topic(args, cluster, admin, "failover", 1)
        # reconnect.backoff.max.ms: librdkafka doubles the wait before it
        # reconnects to a broker up to 10 s after failed connects (the node
        # killed in an earlier round), and keeps it until a connect succeeds;
        # a producer of one partition needs that broker again only when the
        # partition moves there, and then waits out a backoff that measures
        # the client, not the cluster. The same for both targets.
        paced = Paced(cluster.bootstrap, "failover", 1000 / args.interval_ms, 16, partition=0,
                      conf={"linger.ms": 0, "reconnect.backoff.max.ms": 1000,
                            "message.timeout.ms": int(args.failover_max * 2000)})
        for rnd in range(1, args.rounds + 1):
            got = failover_round(args, cluster, admin, paced, "failover", rnd)
            if isinstance(got, str):
                problems.append(f"round {rnd}: {got}")
                say(f"round {rnd:2d} ({kind}): {got}")
                break
            rounds.append(got)
        failed, acks, fatal, left = paced.close(args.failover_max)
        figs["leader SIGKILL: producer fatal errors"] = len(fatal)
        say(f"# {kind}: {paced.sent:,} records sent, one every {args.interval_ms:g} ms; "
            f"{len(acks):,} acknowledged; failed: "
            f"{', '.join(f'{k} {v}' for k, v in sorted(failed.items())) or 'none'}"
            + (f"; {left} never answered" if left else ""))
        for err in fatal:
            say(f"# {kind}: the producer failed for good and was replaced: {err}")
        if failed or left or fatal:
            problems.append(f"failover producer: failed {failed}, unanswered {left}, "
                            f"{len(fatal)} fatal error(s), the first: {fatal[:1]}")
        lost, dup, moved = read_back(cluster.bootstrap, "failover", acks, args.wait_s)
        say(f"read back ({kind}): of {len(acks):,} acknowledged records {lost} lost, {dup} "
            f"duplicated, {moved} at another offset than acknowledged")
        if lost or dup or moved:
            problems.append(f"failover read-back: {lost} lost, {dup} duplicated, {moved} moved")
    finally:
        if paced is not None:
            paced.stop()
        cluster.stop()
    times = [r[0] for r in rounds]
    if times:
        figs["leader SIGKILL: unavailable, median s"] = statistics.median(times)
        figs["leader SIGKILL: unavailable, max s"] = max(times)
        figs["leader SIGKILL: unavailable, min s"] = min(times)
    say(f"unavailability after a leader SIGKILL ({kind}, kill to the next acks=all "
        f"acknowledgement): {figlib.summary(times)}")
    for label, both in (("leader alone", False), ("leader, also active controller", True)):
        part = [r[0] for r in rounds if r[4] == both]
        say(f"  killed the {label}: {figlib.summary(part)}")
        if part:
            figs[f"leader SIGKILL: unavailable, median s, {label}"] = statistics.median(part)
    say(f"  new leader in Metadata after the kill: "
        f"{figlib.summary([r[1] for r in rounds if r[1] is not None])}; killed node ready "
        f"again: {figlib.summary([r[2] for r in rounds])}; back in the ISR after its start: "
        f"{figlib.summary([r[3] for r in rounds])}")
    if rounds:
        figs["leader SIGKILL: node back in the ISR, median s"] = \
            statistics.median(r[3] for r in rounds)
    return problems


# -- the whole run ------------------------------------------------------------------------

def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"


def print_table(figs, kinds):
    """Every figure of any target, in the order measured, side by side."""
    names = []
    for k in kinds:
        names += [n for n in figs[k] if n not in names]
    if not names:
        return
    width = max(len(n) for n in names)
    head = f"{'figure':<{width}}  " + "  ".join(f"{k:>12}" for k in kinds)
    say("")
    say("# summary (MB = MiB" + ("; ratio = Runnel / Kafka)" if len(kinds) == 2 else ")"))
    say(head + (f"  {'ratio':>7}" if len(kinds) == 2 else ""))
    for name in names:
        vals = [figs[k].get(name) for k in kinds]
        line = f"{name:<{width}}  " + "  ".join(f"{fmt(v):>12}" for v in vals)
        if len(kinds) == 2:
            a, b = vals
            line += f"  {a / b:>7.2f}" if a is not None and b else f"  {'-':>7}"
        say(line)


def run(args):
    kinds = ["runnel", "kafka"] if args.target == "both" else [args.target]
    session = (f"{args.session_ms} ms (--session-ms, for both)" if args.session_ms
               else "9000 ms (the default of both)")
    how = f"{args.count:,} records" if args.count else f"{args.duration} s"
    say(f"# replication: {', then '.join(kinds)}; 3 combined nodes on loopback, RF {RF}, "
        f"min.insync.replicas {MIN_ISR}, {args.partitions} partitions; produce {how} per record "
        f"size ({', '.join(f'{s} B' for s in args.sizes)}) with runnel bench, acks=all, "
        f"idempotent; {args.rounds} leader kills; broker.session.timeout.ms {session}; topic "
        f"config {args.topic_config or 'the defaults'}; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    figs = {k: {} for k in kinds}
    problems = []
    phases = ([] if args.failover_only else [throughput]) + ([failover] if args.rounds else [])
    try:
        for kind in kinds:
            for phase in phases:
                try:
                    problems += [(kind, p) for p in phase(args, kind, figs[kind])]
                except (PhaseError, broker_lib.BrokerError) as e:
                    problems.append((kind, f"{phase.__name__}: {str(e).splitlines()[0]}"))
                    say(f"# {kind}: {phase.__name__} FAILED: {e}")
    except KeyboardInterrupt:
        say("# interrupted")
        problems.append(("the run", "interrupted"))
    print_table(figs, kinds)
    for kind, p in problems:
        say(f"PROBLEM ({kind}): {p}")
    return 1 if any(kind != "kafka" for kind, _ in problems) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=("runnel", "kafka", "both"), default="both")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--duration", type=int, default=6,
                   help="seconds of each produce run (one per record size)")
    p.add_argument("--count", type=int, default=0,
                   help="records of each produce run, instead of --duration")
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                   default=[100, 1024], help="record sizes in bytes, a run each (100,1024)")
    p.add_argument("--warmup", type=int, default=200_000,
                   help="records of 1 KiB produced and consumed first, not counted (0: none)")
    p.add_argument("--rate", type=int, default=10_000,
                   help="records/s of the latency run at a fixed rate (0: none)")
    p.add_argument("--rate-size", type=int, default=100)
    p.add_argument("--rate-seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=20, help="leader kills (0: none)")
    p.add_argument("--failover-only", action="store_true", help="only the leader kills")
    p.add_argument("--interval-ms", type=float, default=5.0,
                   help="time between two records of the producer of the leader kills")
    p.add_argument("--before", type=float, default=0.5,
                   help="seconds of acknowledged records before each kill")
    p.add_argument("--failover-max", type=float, default=60.0,
                   help="bound on the wait for an acknowledgement after a kill")
    p.add_argument("--session-ms", type=int, default=0,
                   help="broker.session.timeout.ms of both targets (default: theirs, 9000)")
    p.add_argument("--topic-config", action="append", default=[], metavar="KEY=VALUE",
                   help="a config of every topic created, both targets (repeatable)")
    p.add_argument("--wait-s", type=float, default=120.0,
                   help="bound on each wait for the cluster (start, topic, ISR, restart)")
    p.add_argument("--phase-s", type=float, default=300.0,
                   help="bound on each run of runnel bench")
    args = p.parse_args()
    args.topic_config = dict(kv.split("=", 1) for kv in args.topic_config)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
