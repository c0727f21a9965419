#!/usr/bin/env python3
"""The controller kill loop: three nodes, a stream of topic creations, and the
active controller SIGKILLed and restarted, round after round.

    tests/bench/cluster_kill_loop.py [--target runnel|kafka] [--rounds 20]
                                     [--plant wipe] [--seed S]

A creation starts every --interval seconds (whatever the earlier ones are
doing), each through a random live node (an AdminClient whose bootstrap is
that node alone, with nothing else in flight). Each round: find the active
controller, SIGKILL it, note the failover time (from the kill to the first
acknowledged creation sent after it), pause the stream, start the node again
and check that no committed metadata was lost: once settled, every node lists
every topic whose creation was acknowledged, and every node lists the same
topics. A check that does not settle within --settle seconds fails the run
(exit 1) with what is missing where; so does a round with no acknowledged
creation within --failover-max seconds. A killed node that dies while it
starts again is started again (up to three times) and the run then exits 1
too, after all its rounds. Timings are printed, never judged.

--plant wipe empties the killed node's data folder before it starts again (a
disk lost with the crash: a refused start, a loss or a node that catches up
from the others shows in the checks).
"""

import argparse
import itertools
import os
import random
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figlib  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

REQUEST_TIMEOUT_S = 5.0
START_ATTEMPTS = 3
STARTS_FAILED = []  # a node that died while starting again: a failure, but the loop goes on


class Stream:
    """Topic creations through random live nodes, one started every
    `interval` seconds whatever the earlier ones are doing (at most
    `inflight` at once), so that requests stuck on a dead node do not hold up
    the next ones; every outcome kept with its send and answer times. Each node
    has a pool of AdminClients (bootstrap: that node alone), each with one
    request at most in flight; requests complete by callback, so no thread
    waits on one."""

    def __init__(self, cluster, interval, inflight, rng):
        self.cluster = cluster
        self.interval = interval
        self.rng = rng
        self.names = itertools.count(1)
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.acked = {}        # name -> (sent, answered, node id)
        self.doubtful = set()  # failed: the outcome is open (the topic may exist)
        self.errors = {}       # error name -> count
        self.live_ids = {n.node_id for n in cluster.nodes}
        self.inflight_max = inflight
        self.inflight = 0
        self.idle = {n.node_id: [] for n in cluster.nodes}  # AdminClients at rest
        self.clients = 0
        self.go = threading.Event()
        self.stop_flag = False
        self.thread = threading.Thread(target=self._dispatch, daemon=True)

    def start(self):
        self.go.set()
        self.thread.start()

    def pause(self, timeout=REQUEST_TIMEOUT_S * 3):
        """Stops new creations and waits for those in flight to end."""
        self.go.clear()
        with self.cond:
            self.cond.wait_for(lambda: self.inflight == 0, timeout)

    def resume(self):
        self.go.set()

    def close(self):
        self.stop_flag = True
        self.go.set()
        self.thread.join(REQUEST_TIMEOUT_S)
        self.pause()

    def set_live(self, ids):
        with self.lock:
            self.live_ids = set(ids)

    def _dispatch(self):
        next_at = time.monotonic()
        while not self.stop_flag:
            if not self.go.wait(0.1):
                next_at = time.monotonic()
                continue
            now = time.monotonic()
            if now < next_at:
                time.sleep(next_at - now)
            next_at = max(next_at + self.interval, time.monotonic())
            with self.cond:
                ids = sorted(self.live_ids)
                if not ids or not self.go.is_set() or self.inflight >= self.inflight_max:
                    continue
                self.inflight += 1
            name = f"kill-loop-{next(self.names):06d}"
            node_id = self.rng.choice(ids)
            client = self._client(node_id)
            sent = time.monotonic()
            fut = client.create_topics([NewTopic(name, 1, 1)],
                                       request_timeout=REQUEST_TIMEOUT_S)[name]
            fut.add_done_callback(lambda f, c=client, n=name, i=node_id, t=sent:
                                  self._done(f, c, n, i, t))

    def _client(self, node_id):
        """An AdminClient of that node with nothing in flight: a node takes
        one request at a time per connection, in order, so a request stuck
        behind a dead controller must not hold up the next one."""
        with self.lock:
            if self.idle[node_id]:
                return self.idle[node_id].pop()
            self.clients += 1
        return AdminClient({"bootstrap.servers": self.cluster.node(node_id).bootstrap,
                            "log_level": 0,
                            "socket.timeout.ms": int(REQUEST_TIMEOUT_S * 1000),
                            "socket.connection.setup.timeout.ms": 2000})

    def _done(self, fut, client, name, node_id, sent):
        answered = time.monotonic()
        err = outcome(fut)
        with self.cond:
            self.idle[node_id].append(client)
            if err is None:
                self.acked[name] = (sent, answered, node_id)
            else:
                self.doubtful.add(name)
                self.errors[err] = self.errors.get(err, 0) + 1
            self.inflight -= 1
            self.cond.notify_all()

    def first_ack_after(self, t0):
        with self.lock:
            times = [a for s, a, _ in self.acked.values() if s >= t0]
        return min(times) if times else None

    def acked_names(self):
        with self.lock:
            return set(self.acked)


def outcome(fut):
    """None when the creation was acknowledged, else the error's name."""
    try:
        fut.result(0)
        return None
    except Exception as e:  # KafkaException or a cancelled future
        if e.args and hasattr(e.args[0], "name"):
            return e.args[0].name()
        return type(e).__name__


def settle(cluster, acked, timeout):
    """Waits until every node lists the same topics and they hold every
    acknowledged one. Returns (ok, {node id: topics} last seen)."""
    deadline = time.monotonic() + timeout
    seen = {}
    while True:
        seen = {}
        for n in cluster.nodes:
            try:
                seen[n.node_id] = cluster.topics_on(n)
            except Exception as e:  # a node still starting
                seen[n.node_id] = e
        sets = [s for s in seen.values() if isinstance(s, set)]
        if len(sets) == len(cluster.nodes) and all(s == sets[0] for s in sets) \
                and acked <= sets[0]:
            return True, seen
        if time.monotonic() >= deadline:
            return False, seen
        time.sleep(0.25)


def describe_failure(seen, acked, doubtful):
    lines = []
    union = set().union(*[s for s in seen.values() if isinstance(s, set)] or [set()])
    for node_id, s in sorted(seen.items()):
        if not isinstance(s, set):
            lines.append(f"  node {node_id}: no topic list ({s!r})")
            continue
        lost = sorted(acked - s)
        behind = sorted((union - s) - acked)
        if lost:
            lines.append(f"  node {node_id}: {len(lost)} acknowledged topics missing, "
                         f"e.g. {lost[:5]}")
        if behind:
            lines.append(f"  node {node_id}: lacks {len(behind)} topics another node lists "
                         f"(not acknowledged), e.g. {behind[:5]}")
        extra = sorted(s - acked - doubtful)
        if extra:
            lines.append(f"  node {node_id}: {len(extra)} topics never asked for: {extra[:5]}")
    nowhere = sorted(acked - union)
    if nowhere:
        lines.append(f"  {len(nowhere)} acknowledged topics on no node at all, e.g. {nowhere[:5]}")
    return "\n".join(lines)


def run(args):
    rng = random.Random(args.seed)
    say = figlib.say
    say(f"# controller kill loop: {args.target}, 3 nodes, {args.rounds} rounds, "
        f"a creation every {args.interval * 1000:.0f} ms, seed {args.seed}"
        + (f", PLANTED: {args.plant}" if args.plant else ""))
    t0 = time.monotonic()
    cluster = figlib.make_cluster(args.target, 3)
    say(f"# cluster up in {time.monotonic() - t0:.1f} s: {cluster.bootstrap}")
    stream = Stream(cluster, args.interval, args.inflight, rng)
    stream.start()
    failovers, elections = [], []
    failed = None
    try:
        for rnd in range(1, args.rounds + 1):
            failed = one_round(args, cluster, stream, rnd, failovers, elections)
            if failed:
                break
    finally:
        stream.close()
        acked = stream.acked_names()
        say(f"# creations acknowledged {len(acked)}, failed {len(stream.doubtful)} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(stream.errors.items())) or 'none'})")
        cluster.stop()
    say(f"failover ({args.target}, kill of the active controller to the next acknowledged "
        f"creation): {figlib.summary(failovers)}")
    say(f"new controller named ({args.target}, kill to another node named active "
        f"controller, {cluster.how_named}): {figlib.summary(elections)}")
    if STARTS_FAILED:
        say(f"{len(STARTS_FAILED)} failed start(s) of a killed node:")
        for line in STARTS_FAILED:
            say(f"  {line}")
    if failed:
        say(f"FAILED: {failed}")
        return 1
    say(f"no committed metadata lost in {args.rounds} rounds")
    return 1 if STARTS_FAILED else 0


def one_round(args, cluster, stream, rnd, failovers, elections):
    """One kill and restart; returns None or what went wrong."""
    say = figlib.say
    stream.resume()
    # steady: a controller named and a creation acknowledged since the resume
    mark = time.monotonic()
    deadline = mark + args.failover_max
    while stream.first_ack_after(mark) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if stream.first_ack_after(mark) is None:
        return f"round {rnd}: no creation acknowledged within {args.failover_max:.0f} s " \
               "before the kill"
    time.sleep(args.before)  # creations in flight and committed around the kill
    leader = cluster.wait_controller(args.failover_max)
    if leader is None:
        return f"round {rnd}: no active controller named within {args.failover_max:.0f} s"
    victim = cluster.node(leader)
    stream.set_live([n.node_id for n in cluster.nodes if n is not victim])
    time.sleep(0.2)  # creations already sent to the victim go out before it dies
    t_kill = time.monotonic()
    victim.kill()
    deadline = t_kill + args.failover_max
    new_leader, t_elected, ack = None, None, None
    while (new_leader is None or ack is None) and time.monotonic() < deadline:
        if new_leader is None:
            found = cluster.active_controller()
            if found is not None and found != leader:
                new_leader, t_elected = found, time.monotonic()
        ack = stream.first_ack_after(t_kill)
        time.sleep(0.02)
    if ack is None:
        return f"round {rnd}: no creation acknowledged within {args.failover_max:.0f} s " \
               f"of killing node {leader}"
    failovers.append(ack - t_kill)
    if t_elected is not None:
        elections.append(t_elected - t_kill)
    # The figure is taken: stop creating while the node is down, so that
    # every round adds about as many topics, whatever a restart takes.
    stream.pause()
    if args.plant == "wipe":
        shutil.rmtree(victim.data_dir, ignore_errors=True)
        os.makedirs(victim.data_dir, exist_ok=True)
    t_start = time.monotonic()
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            cluster.start_node(victim, timeout=args.start_timeout)
            break
        except Exception as e:
            why = str(e).splitlines()[0]
            STARTS_FAILED.append(f"round {rnd}: node {leader}, start {attempt}: {why}")
            say(f"# round {rnd}: node {leader} start {attempt} failed: {why}")
            if attempt == START_ATTEMPTS:
                return f"round {rnd}: node {leader} did not start again in " \
                       f"{START_ATTEMPTS} attempts"
    ready = time.monotonic() - t_start
    stream.set_live([n.node_id for n in cluster.nodes])
    acked = stream.acked_names()
    t_check = time.monotonic()
    ok, seen = settle(cluster, acked, args.settle)
    counts = {k: (len(v) if isinstance(v, set) else "?") for k, v in sorted(seen.items())}
    elected = f"{(t_elected - t_kill) * 1000:5.0f} ms" if t_elected else "    ? ms"
    say(f"round {rnd:2d}: killed node {leader}, node {new_leader} named controller after "
        f"{elected}, failover {(ack - t_kill) * 1000:5.0f} ms, restarted node ready in "
        f"{ready:4.1f} s, "
        f"settled in {time.monotonic() - t_check:4.1f} s, acked {len(acked)}, "
        f"topics per node {counts}")
    if not ok:
        return f"round {rnd}: committed metadata lost or nodes disagree after " \
               f"{args.settle:.0f} s:\n" + describe_failure(seen, acked, stream.doubtful)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=("runnel", "kafka"), default="runnel")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--interval", type=float, default=0.1,
                   help="seconds between two creations started")
    p.add_argument("--inflight", type=int, default=64, help="creations in flight at most")
    p.add_argument("--seed", type=int, default=int(time.time()))
    p.add_argument("--settle", type=float, default=60.0,
                   help="seconds for a restarted node to start and the nodes to agree")
    p.add_argument("--failover-max", type=float, default=60.0)
    p.add_argument("--before", type=float, default=2.0,
                   help="seconds of creations before each kill")
    p.add_argument("--start-timeout", type=float, default=180.0,
                   help="seconds for a killed node to start again")
    p.add_argument("--plant", choices=("wipe",), default=None)
    sys.exit(run(p.parse_args()))


if __name__ == "__main__":
    main()
