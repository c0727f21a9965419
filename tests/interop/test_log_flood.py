#!/usr/bin/python3
"""A flood of bad requests does not flood the broker's log.

Thousands of connections each send one request the broker must refuse (an
unknown API key, or a frame length past socket.request.max.bytes). Each
refusal closes the connection; its log line is rate limited per cause: at
most a few lines per cause per 10 s window, then one "suppressed K similar
lines (cause)" line when the window turns. Checked against Runnel:

- the lines the flood adds stay within the per-cause, per-window budget
  (they used to be one line per refused request);
- every refusal is accounted for: lines written plus the K of the summary
  lines equal the requests sent, per cause;
- the broker still serves a normal client.

Against Kafka only the last point is checked (Kafka logs these at DEBUG).
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, skip_under_cluster, target  # noqa: E402
from tap import Tap  # noqa: E402

PER_CAUSE = 2000
# RN_LOG_LIMIT_LINES per RN_LOG_LIMIT_WINDOW_MS (src/base/limits.h)
LINES_PER_WINDOW = 5
WINDOW_S = 10
MAX_FRAME = 104857600

CAUSES = {
    # cause named in the summary line: (bytes sent, text of each refusal line)
    "unknown API keys": (kwire.frame(kwire.request_header(999, 0, 7)),
                         "unknown or unserved API key"),
    "bad frame lengths": (kwire.i32(MAX_FRAME + 1) + b"\0" * 16, "frame length"),
}


def send_and_close(bootstrap, data):
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(data)
        # Wait for the broker's close, so the flood does not outrun it and
        # each refusal is one connection the broker has seen whole.
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass


def log_text(b, mark):
    with open(b.log_path, "rb") as f:
        f.seek(mark)
        return f.read().decode("utf-8", "replace")


def suppressed_of(text, cause):
    pat = re.compile(r"suppressed (\d+) similar lines \(" + re.escape(cause) + r"\)")
    return sum(int(m.group(1)) for m in pat.finditer(text))


def healthy(t, b):
    ok, detail = b.running(), "broker process exited"
    if ok:
        try:
            with kwire.Conn(b.bootstrap, 10) as c:
                corr, body = c.roundtrip(kwire.api_versions_request(5, 0))
                err, _ = kwire.parse_api_versions(body, 0)
                ok, detail = corr == 5 and err == 0, f"corr={corr} err={err}"
        except (OSError, kwire.Closed, kwire.Truncated) as e:
            ok, detail = False, f"{type(e).__name__}: {e}"
    t.ok(ok, "after the flood a normal client is served", detail)


def test_flood(t, b):
    time.sleep(1.2)  # let start-up lines and their window pass
    mark = os.path.getsize(b.log_path) if target() == "runnel" else 0
    started = time.monotonic()
    for cause, (data, _) in CAUSES.items():
        for _ in range(PER_CAUSE):
            send_and_close(b.bootstrap, data)
    elapsed = time.monotonic() - started
    t.diag(f"{PER_CAUSE * len(CAUSES)} bad requests in {elapsed:.1f}s")
    healthy(t, b)
    if target() != "runnel":
        t.skip("log volume follows the budget", "Kafka logs refused requests at DEBUG")
        t.skip("every refusal is counted", "Kafka logs refused requests at DEBUG")
        return
    # The summaries of the last windows come from the broker's 1 s sweep
    # once their window has turned.
    time.sleep(WINDOW_S + 2.5)
    text = log_text(b, mark)
    lines = text.splitlines()
    windows = int(elapsed / WINDOW_S) + 3  # windows the flood and the wait can span
    budget = len(CAUSES) * windows * (LINES_PER_WINDOW + 1)
    t.diag(f"{len(lines)} log lines, budget {budget}")
    t.ok(len(lines) <= budget,
         f"{PER_CAUSE * len(CAUSES)} refusals write at most {budget} log lines",
         f"{len(lines)} lines; first ones:\n" + "\n".join(lines[:5]))
    for cause, (_, marker) in CAUSES.items():
        written = sum(1 for ln in lines if marker in ln and "suppressed" not in ln)
        suppressed = suppressed_of(text, cause)
        t.ok(suppressed > 0, f"{cause}: a 'suppressed K similar lines' summary is logged")
        t.eq(written + suppressed, PER_CAUSE,
             f"{cause}: lines written plus lines suppressed = refusals ({PER_CAUSE})")


def main():
    t = Tap("log volume under a flood of bad requests")
    skip_under_cluster(t, "log volume under a flood of bad requests",
                       "counts one broker process's log lines")
    with Broker() as b:
        t.run(test_flood, b)
        t.ok(b.running(), "the broker is still running at the end")
    t.done()


if __name__ == "__main__":
    main()
