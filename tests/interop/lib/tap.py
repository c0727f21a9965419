"""A tiny TAP (Test Anything Protocol) reporter for the interop tests.

    t = Tap()
    t.ok(cond, "description")            # one test point
    t.eq(got, want, "description")        # ok with a diff-style diagnostic
    t.run(fn, *args)                      # runs fn(t, *args); an exception is a
                                          # `not ok` with the traceback, not a crash
    t.skip("description", "reason")       # ok N - desc # SKIP reason
    t.diag("text")                        # '# text' lines
    t.done()                              # prints the plan and exits 1 on failure

Output goes to stdout, flushed per line, so tests/run.sh can count `ok` and
`not ok` lines even if the file is killed by a timeout. Other helpers (the
Broker class) register failure hooks here so a failing test point prints the
tail of each live broker's log, and keep their data directories.
"""

import sys
import time
import traceback

_failure_hooks = []
_current = None
_failed_total = 0


def add_failure_hook(fn):
    """Call fn() once after every `not ok` (used to print broker log tails)."""
    _failure_hooks.append(fn)


def remove_failure_hook(fn):
    if fn in _failure_hooks:
        _failure_hooks.remove(fn)


def any_failed():
    """True if any test point in this process failed (or a test raised)."""
    return _failed_total > 0


def current():
    """The most recently created Tap, or None."""
    return _current


def _note_failure():
    global _failed_total
    _failed_total += 1


class Tap:
    def __init__(self, name=None):
        global _current
        self.count = 0
        self.failed = []
        self.started = time.monotonic()
        _current = self
        if name:
            self.diag(name)

    # -- output -----------------------------------------------------------
    @staticmethod
    def _emit(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def diag(self, msg):
        """Print msg as TAP diagnostics ('# ' before every line)."""
        for line in str(msg).splitlines() or [""]:
            self._emit("# " + line)

    # -- test points ------------------------------------------------------
    def ok(self, cond, desc, diag=None):
        """Record one test point; returns bool(cond)."""
        self.count += 1
        desc = " ".join(str(desc).split())
        if cond:
            self._emit(f"ok {self.count} - {desc}")
            return True
        self._emit(f"not ok {self.count} - {desc}")
        if diag is not None:
            self.diag(diag)
        self.failed.append(desc)
        _note_failure()
        for hook in list(_failure_hooks):
            try:
                hook()
            except Exception:  # a hook must never hide the failure itself
                self.diag("failure hook raised:\n" + traceback.format_exc())
        return False

    def eq(self, got, want, desc):
        """ok(got == want) with both values shown on failure (shortened)."""
        def short(v):
            s = repr(v)
            return s if len(s) <= 600 else s[:600] + f"... ({len(s)} chars)"
        return self.ok(got == want, desc, f"got:  {short(got)}\nwant: {short(want)}")

    def skip(self, desc, reason):
        self.count += 1
        self._emit(f"ok {self.count} - {desc} # SKIP {reason}")

    def run(self, fn, *args, desc=None, **kwargs):
        """Run fn(self, *args, **kwargs) as a group of test points.

        An exception inside fn becomes one `not ok` carrying the traceback;
        the file goes on with its next test function. Returns fn's result,
        or None if it raised.
        """
        name = desc or getattr(fn, "__name__", "test")
        t0 = time.monotonic()
        self.diag(f"--- {name}")
        try:
            res = fn(self, *args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit from a helper counts too
            if isinstance(e, SystemExit) and getattr(e, "_tap_signal", False):
                raise
            self.ok(False, f"{name} raised {type(e).__name__}: {e}",
                    traceback.format_exc())
            return None
        finally:
            self.diag(f"--- {name}: {time.monotonic() - t0:.1f}s")
        return res

    def done(self):
        """Print the plan and a summary; exit 1 if anything failed."""
        self._emit(f"1..{self.count}")
        secs = time.monotonic() - self.started
        if self.failed:
            self.diag(f"{len(self.failed)} of {self.count} failed in {secs:.1f}s:")
            for desc in self.failed:
                self.diag("  " + desc)
        else:
            self.diag(f"all {self.count} passed in {secs:.1f}s")
        sys.stdout.flush()
        sys.exit(1 if self.failed or self.count == 0 else 0)
