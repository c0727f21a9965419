#!/usr/bin/python3
"""docs/PROTOCOL.md says what a running broker advertises: every API and
version range in its "Served" table is what ApiVersions answers, and no API
of its "Not served yet" table is advertised. Runnel only (the document is
Runnel's)."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from broker import Broker, target  # noqa: E402
from tap import Tap  # noqa: E402
import kwire  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "PROTOCOL.md")


def section(text, title):
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def served(text):
    """{api key: (min, max)} of the Served table."""
    rows = re.findall(r"^\| (\d+) \| \w+ \| (\d+)-(\d+) \|", section(text, "Served"), re.M)
    return {int(k): (int(lo), int(hi)) for k, lo, hi in rows}


def not_served(text):
    """The api keys of the Not served table ("29-31" and "17, 36" forms)."""
    keys = set()
    for cell in re.findall(r"^\| ([\d, -]+) \|", section(text, "Not served yet"), re.M):
        for part in cell.split(","):
            lo, _, hi = part.strip().partition("-")
            keys.update(range(int(lo), int(hi or lo) + 1))
    return keys


def main():
    t = Tap("docs/PROTOCOL.md against ApiVersions")
    if target() != "runnel":
        t.skip("the document against the broker", "it describes Runnel")
        t.done()
    with open(DOC) as f:
        text = f.read()
    doc, absent = served(text), not_served(text)
    with Broker() as b, kwire.Conn(b.bootstrap) as c:
        _, body = c.roundtrip(kwire.api_versions_request(1, 3))
        _, live = kwire.parse_api_versions(body, 3)
    t.ok(len(doc) > 30, f"the Served table lists {len(doc)} APIs")
    t.eq({k: v for k, v in live.items() if k in doc}, doc,
         "each API of the Served table is advertised with the version range it gives")
    t.eq(sorted(set(live) - set(doc)), [], "every API advertised is in the Served table")
    t.eq(sorted(absent & set(live)), [], "no API of the Not served table is advertised")
    t.done()


if __name__ == "__main__":
    main()
