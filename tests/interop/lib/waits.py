"""Polling until a condition holds, shared by the interop tests."""

import time


def wait_for(cond, seconds):
    """Calls cond every 0.2 s until it returns a true value or `seconds` have
    passed (it is called once more at the end); returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.2)


def wait_value(fn, want, seconds):
    """Calls fn every 0.2 s until it returns `want` or `seconds` have passed;
    returns its last value (for a test point on what a broker shows once a
    change has reached it: in a cluster, each broker in its own time)."""
    deadline = time.monotonic() + seconds
    while True:
        v = fn()
        if v == want or time.monotonic() >= deadline:
            return v
        time.sleep(0.2)
