#!/usr/bin/python3
"""Out of file descriptors: connections are served or closed, never left
hanging.

The broker runs with an open-files limit of 256 (soft and hard, as
`prlimit --nofile=256:256`), so it cannot raise it, and 600 clients each
connect and send ApiVersions at once:

- every connection is answered or closed by the broker within a few
  seconds (about 360 of them used to wait unanswered in the listen queue,
  accepted only when yet another connection arrived);
- the broker serves as many as its descriptors allow;
- while those stay open, a new client is answered or closed at once
  (it used to get nothing for 10 s);
- once they all close, a new client is served;
- the broker says so in its log, a warning rate limited per second, and
  logs at start what its limit allows.

Runnel only: this checks Runnel's own start-up and warning lines, and the
JVM running Kafka holds far more descriptors of its own than the limit.
"""

import os
import resource
import selectors
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

NOFILE = 256
CONNS = 600
SETTLE_S = 8.0


def outcomes(conns, wait_s):
    """For each connection that sent ApiVersions: 'answered' (a whole
    response frame came back), 'closed' (EOF or reset first) or 'hanging'
    (neither within wait_s)."""
    sel = selectors.DefaultSelector()
    state = {}
    for s in conns:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        state[s] = b""
    result = {}
    deadline = time.monotonic() + wait_s
    while len(result) < len(conns) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                result[s] = "closed"
            else:
                state[s] += chunk
                buf = state[s]
                if len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "big"):
                    result[s] = "answered"
                else:
                    continue
            sel.unregister(s)
    sel.close()
    return [result.get(s, "hanging") for s in conns]


def api_versions_served(bootstrap, corr, timeout_s=3.0):
    try:
        with kwire.Conn(bootstrap, timeout_s) as c:
            got, body = c.roundtrip(kwire.api_versions_request(corr, 0))
            err, _ = kwire.parse_api_versions(body, 0)
            return got == corr and err == 0
    except (OSError, kwire.Closed, kwire.Truncated):
        return False


def served_within(bootstrap, wait_s):
    """A new client is served, retried while the broker notices closes."""
    deadline = time.monotonic() + wait_s
    corr = 900
    while True:
        corr += 1
        if api_versions_served(bootstrap, corr, timeout_s=1.0):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def test_exhaustion(t, b):
    time.sleep(0.5)
    mark = os.path.getsize(b.log_path)
    conns = []
    for i in range(CONNS):
        s = kwire.connect(b.bootstrap)
        s.sendall(kwire.api_versions_request(i, 0))
        conns.append(s)
    got = outcomes(conns, SETTLE_S)
    answered, closed, hanging = (got.count(k) for k in ("answered", "closed", "hanging"))
    t.diag(f"{CONNS} connections: {answered} answered, {closed} closed, {hanging} hanging")
    t.eq(hanging, 0, f"each of {CONNS} connections is answered or closed within {SETTLE_S:.0f}s")
    t.ok(answered >= 50, f"the broker serves what its descriptors allow ({answered} answered)")

    extra = kwire.connect(b.bootstrap)
    extra.sendall(kwire.api_versions_request(700, 0))
    started = time.monotonic()
    (extra_got,) = outcomes([extra], 3.0)
    t.ok(extra_got != "hanging", "while they stay open, a new client is answered or closed "
         f"at once ({extra_got} after {time.monotonic() - started:.1f}s)")
    extra.close()

    for s in conns:
        s.close()
    t.ok(served_within(b.bootstrap, 5.0), "once they close, a new client is served")

    with open(b.log_path, "rb") as f:
        f.seek(mark)
        lines = f.read().decode("utf-8", "replace").splitlines()
    warn = [ln for ln in lines if ln.startswith("WARN net:") and "descriptor" in ln]
    t.ok(len(warn) >= 1, "a warning about descriptors is logged", "\n".join(lines[-5:]))
    # RN_LOG_LIMIT_LINES a second, plus the summaries, over the ~10 s above.
    t.ok(len(warn) <= 10 * 12 + 12, f"and rate limited ({len(warn)} lines)")


def test_startup_line(t, b):
    with open(b.log_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    line = next((ln for ln in text.splitlines() if "open-files limit" in ln), None)
    t.ok(line is not None and str(NOFILE) in line,
         "the start-up log says what the open-files limit allows", line)


def main():
    t = Tap("out of file descriptors")
    skip_under_cluster(t, "out of file descriptors", "one broker process under a descriptor limit")
    if target() != "runnel":
        t.skip("descriptor exhaustion", "Runnel's own log lines are checked, and Kafka's JVM "
               f"holds more descriptors of its own than a limit of {NOFILE}")
        t.done()
        return
    with Broker(rlimits={resource.RLIMIT_NOFILE: (NOFILE, NOFILE)}) as b:
        t.run(test_startup_line, b)
        t.run(test_exhaustion, b)
        t.ok(b.running(), "the broker is still running at the end")
    t.done()


if __name__ == "__main__":
    main()
