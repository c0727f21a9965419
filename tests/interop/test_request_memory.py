#!/usr/bin/python3
"""Memory of requests being read: a length prefix costs nothing, and partly
read frames share one bounded budget (queued.max.request.bytes).

- 1,000 connections each send only the length prefix 100,000,000 and wait:
  the broker's address space and resident memory barely grow (it used to
  allocate each announced frame whole: 95 GB of address space), and a
  normal client is still served.
- The same under an address-space limit of 2 GiB (as `prlimit --as`): the
  broker stays up and serves (it used to abort on a failed allocation).
- With socket.request.max.bytes and queued.max.request.bytes at 16 MiB,
  48 connections each send 3 MiB of a 16,000,000-byte frame: the broker
  holds about the budget, not what was sent, a small request is still
  served at once, a produce larger than the staging buffer waits for
  budget, and is answered once the hogs go away; then 40 produce requests
  of 900 KiB sent at once are all answered (frames waiting for budget
  never wait on each other for ever).

- A positive queued.max.request.bytes below socket.request.max.bytes is
  refused at start, as Kafka refuses it (checked against both).

The memory points are Runnel's only: Kafka's default queued.max.request.bytes
is -1, and it allocates each announced frame whole from its heap.
"""

import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, BrokerError, runnel_bin, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

PREFIX_CONNS = 1000
ANNOUNCED = 100_000_000
MIB = 1024 * 1024
TOPIC = "request-memory"


def proc_status_kib(pid):
    """VmSize and VmRSS of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmSize", "VmRSS"):
                out[key] = int(rest.split()[0])
    return out


def open_prefix_conns(b, n):
    """n connections that sent only a length prefix (fewer if the broker
    stops taking them)."""
    conns = []
    try:
        for _ in range(n):
            s = kwire.connect(b.bootstrap)
            conns.append(s)
            s.sendall(kwire.i32(ANNOUNCED))
    except OSError:
        pass
    return conns


def close_all(conns):
    for s in conns:
        try:
            s.close()
        except OSError:
            pass


def served(b, corr=5):
    """ApiVersions and Metadata answered on a fresh connection."""
    if not b.running():
        return False, "broker process exited"
    try:
        with kwire.Conn(b.bootstrap, 10) as c:
            got, body = c.roundtrip(kwire.api_versions_request(corr, 0))
            err, _ = kwire.parse_api_versions(body, 0)
            got2, body = c.roundtrip(kwire.metadata_request(corr + 1, []))
            brokers, _, _ = kwire.parse_metadata_v1(body)
            ok = got == corr and err == 0 and got2 == corr + 1 and len(brokers) >= 1
            return ok, f"corr={got},{got2} err={err} brokers={brokers}"
    except (OSError, kwire.Closed, kwire.Truncated) as e:
        return False, f"{type(e).__name__}: {e}"


def test_prefix_only(t, b):
    time.sleep(0.5)
    before = proc_status_kib(b.pid)
    conns = open_prefix_conns(b, PREFIX_CONNS)
    time.sleep(1.5)  # the broker has read every prefix by now
    after = proc_status_kib(b.pid) if b.running() else None
    ok, detail = served(b)
    close_all(conns)
    t.ok(after is not None, f"{PREFIX_CONNS} prefix-only connections: the broker is alive")
    if after is None:
        return
    grew_size = (after["VmSize"] - before["VmSize"]) // 1024
    grew_rss = (after["VmRSS"] - before["VmRSS"]) // 1024
    t.diag(f"VmSize {before['VmSize'] // 1024} -> {after['VmSize'] // 1024} MiB, "
           f"VmRSS {before['VmRSS'] // 1024} -> {after['VmRSS'] // 1024} MiB")
    t.ok(grew_size < 512, f"{PREFIX_CONNS} prefixes of {ANNOUNCED}: address space grows "
         f"by less than 512 MiB ({grew_size} MiB)")
    t.ok(grew_rss < 160, f"{PREFIX_CONNS} prefixes of {ANNOUNCED}: resident memory grows "
         f"by less than 160 MiB ({grew_rss} MiB)")
    t.ok(ok, "while they wait, a normal client is served", detail)


def test_address_space_limit(t):
    if "asan" in runnel_bin():
        t.skip("prefix-only connections under a 2 GiB address-space limit",
               "ASan reserves terabytes of shadow address space")
        return
    limit = 2 * 1024 * MIB
    with Broker(rlimits={resource.RLIMIT_AS: (limit, limit)}) as b:
        conns = open_prefix_conns(b, PREFIX_CONNS)
        time.sleep(1.5)
        alive = b.running()
        ok, detail = served(b)
        close_all(conns)
        t.ok(alive, f"under a 2 GiB address-space limit, {PREFIX_CONNS} prefix-only "
             f"connections leave the broker running", b.log_tail(5) if not alive else None)
        t.ok(ok, "and a normal client is served", detail)


def push(conns, per_conn, deadline_s):
    """Sends per_conn bytes on each (non-blocking, round robin) until sent or
    the deadline; returns the bytes sent on each."""
    chunk = b"\0" * (256 * 1024)
    sent = [0] * len(conns)
    for s in conns:
        s.setblocking(False)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and any(n < per_conn for n in sent):
        progress = False
        for i, s in enumerate(conns):
            if sent[i] >= per_conn:
                continue
            try:
                n = s.send(chunk[:per_conn - sent[i]])
                sent[i] += n
                progress = progress or n > 0
            except BlockingIOError:
                pass
        if not progress:
            time.sleep(0.01)
    return sent


BUDGET = 16 * MIB
HOGS = 48
HOG_BYTES = 3 * MIB
# Resident growth allowed: the budget, one growth step past it (half a
# frame), the hogs' staging buffers and slack. What the hogs send must be
# well past it, or the point could not fail.
RSS_GROWTH_MAX_MIB = 48
HOGS_SENT_MIN_MIB = 72


def test_budget(t, b):
    create_topic(b.bootstrap, TOPIC, 1)
    time.sleep(0.5)
    before = proc_status_kib(b.pid)
    hogs = [kwire.connect(b.bootstrap) for _ in range(HOGS)]
    for s in hogs:
        s.sendall(kwire.i32(BUDGET - 1000))
    sent = push(hogs, HOG_BYTES, 8.0)
    time.sleep(1.0)
    after = proc_status_kib(b.pid)
    grew_rss = (after["VmRSS"] - before["VmRSS"]) // 1024
    t.diag(f"hogs sent {sum(sent) // MIB} MiB; broker VmRSS {before['VmRSS'] // 1024} -> "
           f"{after['VmRSS'] // 1024} MiB")
    t.ok(sum(sent) >= HOGS_SENT_MIN_MIB * MIB,
         f"the hogs got {sum(sent) // MIB} MiB out (>= {HOGS_SENT_MIN_MIB})")
    t.ok(grew_rss < RSS_GROWTH_MAX_MIB, f"partly read frames hold about the 16 MiB budget, "
         f"not what was sent (resident memory grew {grew_rss} MiB)")
    ok, detail = served(b, 50)
    t.ok(ok, "while the budget is spent, a small request is served", detail)
    big = kwire.connect(b.bootstrap)
    value = b"v" * (300 * 1024)
    big.sendall(kwire.produce_request(60, TOPIC, 0, kwire.record_batch([value])))
    big.settimeout(1.0)
    try:
        early = big.recv(4)
    except socket.timeout:
        early = None
    t.ok(not early, "a 300 KiB produce waits while the budget is spent")
    close_all(hogs)
    c = kwire.Conn.__new__(kwire.Conn)
    c.sock, c.timeout_s, c.buf = big, 10.0, early or b""
    try:
        corr, body = c.recv_response(timeout_s=5)
        (_, _, err, base), = kwire.parse_produce(body, 7)
        outcome = (corr, err)
    except (OSError, kwire.Closed, kwire.Truncated) as e:
        outcome = f"{type(e).__name__}: {e}"
    big.close()
    t.eq(outcome, (60, 0), "once the hogs close, the produce is read and answered")


def test_budget_overload(t, b):
    """More whole requests in flight than the budget holds: every one is
    answered (frames waiting for budget never wait on each other for ever)."""
    conns = [kwire.connect(b.bootstrap) for _ in range(40)]
    value = b"w" * (900 * 1024)
    reqs = [kwire.produce_request(100 + i, TOPIC, 0, kwire.record_batch([value]))
            for i in range(len(conns))]
    # All at once, interleaved, so every frame is partly read when the
    # budget runs out (40 x 900 KiB against 16 MiB).
    sent = [0] * len(conns)
    for s in conns:
        s.setblocking(False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(n < len(r) for n, r in zip(sent, reqs)):
        for i, s in enumerate(conns):
            if sent[i] < len(reqs[i]):
                try:
                    sent[i] += s.send(reqs[i][sent[i]:sent[i] + 64 * 1024])
                except BlockingIOError:
                    pass
        time.sleep(0.001)
    answered = 0
    for i, s in enumerate(conns):
        s.setblocking(True)
        c = kwire.Conn.__new__(kwire.Conn)
        c.sock, c.timeout_s, c.buf = s, 10.0, b""
        try:
            corr, body = c.recv_response(timeout_s=max(0.1, deadline - time.monotonic()))
            (_, _, err, _), = kwire.parse_produce(body, 7)
            answered += corr == 100 + i and err == 0
        except (OSError, kwire.Closed, kwire.Truncated):
            pass
        s.close()
    t.eq(answered, len(conns), f"{len(conns)} produce requests of 900 KiB sent at once against "
         "a 16 MiB budget are all answered")


def test_budget_broker(t):
    if "asan" in runnel_bin():
        # ASan holds freed blocks in quarantine (256 MiB by default), which
        # would count every outgrown frame buffer as resident; keep a little.
        base = os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        os.environ["ASAN_OPTIONS"] = base + ":quarantine_size_mb=8"
    settings = {"socket.request.max.bytes": BUDGET, "queued.max.request.bytes": BUDGET}
    with Broker(settings) as b:
        test_budget(t, b)
        test_budget_overload(t, b)


def test_budget_below_frame_limit(t):
    b = Broker({"queued.max.request.bytes": 1000})
    try:
        b.start(timeout=60)
        started = True
    except BrokerError:
        started = False
    b.stop()
    t.ok(not started, "queued.max.request.bytes below socket.request.max.bytes: the broker "
         "refuses to start")
    t.ok("queued.max.request.bytes must be larger or equal to socket.request.max.bytes"
         in b.log_tail(200), "and says why, in Kafka's words")


def main():
    t = Tap("memory of requests being read")
    skip_under_cluster(t, "memory of requests being read", "one broker process's memory")
    t.run(test_budget_below_frame_limit)
    if target() != "runnel":
        t.skip("request memory", "Kafka (queued.max.request.bytes=-1) allocates each "
               "announced frame whole from its heap")
        t.done()
        return
    with Broker() as b:
        t.run(test_prefix_only, b)
    t.run(test_address_space_limit)
    t.run(test_budget_broker)
    t.done()


if __name__ == "__main__":
    main()
